# Empty dependencies file for test_common_fmt.
# This may be replaced when dependencies are built.
