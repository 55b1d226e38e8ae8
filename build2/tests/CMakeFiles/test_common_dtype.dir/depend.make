# Empty dependencies file for test_common_dtype.
# This may be replaced when dependencies are built.
