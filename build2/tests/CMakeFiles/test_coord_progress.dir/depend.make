# Empty dependencies file for test_coord_progress.
# This may be replaced when dependencies are built.
