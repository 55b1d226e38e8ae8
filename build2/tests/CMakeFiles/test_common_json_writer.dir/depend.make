# Empty dependencies file for test_common_json_writer.
# This may be replaced when dependencies are built.
