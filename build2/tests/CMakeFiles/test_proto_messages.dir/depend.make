# Empty dependencies file for test_proto_messages.
# This may be replaced when dependencies are built.
