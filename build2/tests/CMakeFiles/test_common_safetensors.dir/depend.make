# Empty dependencies file for test_common_safetensors.
# This may be replaced when dependencies are built.
