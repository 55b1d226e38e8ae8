# Empty dependencies file for test_coord_reduce.
# This may be replaced when dependencies are built.
