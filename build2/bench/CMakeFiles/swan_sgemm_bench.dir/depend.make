# Empty dependencies file for swan_sgemm_bench.
# This may be replaced when dependencies are built.
