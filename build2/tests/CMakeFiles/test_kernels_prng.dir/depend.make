# Empty dependencies file for test_kernels_prng.
# This may be replaced when dependencies are built.
