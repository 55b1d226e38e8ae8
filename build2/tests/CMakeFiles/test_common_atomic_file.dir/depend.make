# Empty dependencies file for test_common_atomic_file.
# This may be replaced when dependencies are built.
