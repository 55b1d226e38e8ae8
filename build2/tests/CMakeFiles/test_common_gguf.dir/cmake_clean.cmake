file(REMOVE_RECURSE
  "CMakeFiles/test_common_gguf.dir/unit/test_common_gguf.c.o"
  "CMakeFiles/test_common_gguf.dir/unit/test_common_gguf.c.o.d"
  "test_common_gguf"
  "test_common_gguf.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_common_gguf.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
