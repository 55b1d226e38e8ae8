# Empty dependencies file for swan_worker.
# This may be replaced when dependencies are built.
