# Empty dependencies file for swan_hostile_peer.
# This may be replaced when dependencies are built.
