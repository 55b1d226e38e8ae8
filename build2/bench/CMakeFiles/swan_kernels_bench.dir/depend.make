# Empty dependencies file for swan_kernels_bench.
# This may be replaced when dependencies are built.
