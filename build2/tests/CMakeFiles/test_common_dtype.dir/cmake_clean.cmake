file(REMOVE_RECURSE
  "CMakeFiles/test_common_dtype.dir/unit/test_common_dtype.c.o"
  "CMakeFiles/test_common_dtype.dir/unit/test_common_dtype.c.o.d"
  "test_common_dtype"
  "test_common_dtype.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_common_dtype.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
