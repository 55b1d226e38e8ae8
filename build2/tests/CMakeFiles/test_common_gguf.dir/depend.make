# Empty dependencies file for test_common_gguf.
# This may be replaced when dependencies are built.
