# Empty dependencies file for test_common_checkpoint.
# This may be replaced when dependencies are built.
