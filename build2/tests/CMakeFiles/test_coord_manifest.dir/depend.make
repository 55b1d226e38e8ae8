# Empty dependencies file for test_coord_manifest.
# This may be replaced when dependencies are built.
