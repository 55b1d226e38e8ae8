file(REMOVE_RECURSE
  "CMakeFiles/test_common_fp8.dir/unit/test_common_fp8.c.o"
  "CMakeFiles/test_common_fp8.dir/unit/test_common_fp8.c.o.d"
  "test_common_fp8"
  "test_common_fp8.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_common_fp8.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
