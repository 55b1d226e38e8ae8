# Empty dependencies file for swan_kernels.
# This may be replaced when dependencies are built.
