# Empty dependencies file for swan.
# This may be replaced when dependencies are built.
