# Empty dependencies file for test_coord_inspect.
# This may be replaced when dependencies are built.
