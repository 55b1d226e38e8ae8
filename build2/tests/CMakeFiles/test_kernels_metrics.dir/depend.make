# Empty dependencies file for test_kernels_metrics.
# This may be replaced when dependencies are built.
