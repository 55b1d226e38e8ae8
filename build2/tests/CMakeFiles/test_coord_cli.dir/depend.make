# Empty dependencies file for test_coord_cli.
# This may be replaced when dependencies are built.
