# Empty dependencies file for test_common_fp8.
# This may be replaced when dependencies are built.
