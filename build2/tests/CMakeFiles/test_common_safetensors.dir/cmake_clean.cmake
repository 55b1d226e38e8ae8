file(REMOVE_RECURSE
  "CMakeFiles/test_common_safetensors.dir/unit/test_common_safetensors.c.o"
  "CMakeFiles/test_common_safetensors.dir/unit/test_common_safetensors.c.o.d"
  "test_common_safetensors"
  "test_common_safetensors.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_common_safetensors.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
