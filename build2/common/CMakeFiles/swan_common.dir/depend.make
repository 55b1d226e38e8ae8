# Empty dependencies file for swan_common.
# This may be replaced when dependencies are built.
