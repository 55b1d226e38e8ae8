# Empty dependencies file for swan_coord.
# This may be replaced when dependencies are built.
