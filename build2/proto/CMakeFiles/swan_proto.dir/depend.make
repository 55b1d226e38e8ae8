# Empty dependencies file for swan_proto.
# This may be replaced when dependencies are built.
