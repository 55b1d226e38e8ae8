# Empty dependencies file for test_kernels_reader.
# This may be replaced when dependencies are built.
