file(REMOVE_RECURSE
  "CMakeFiles/test_common_atomic_file.dir/unit/test_common_atomic_file.c.o"
  "CMakeFiles/test_common_atomic_file.dir/unit/test_common_atomic_file.c.o.d"
  "test_common_atomic_file"
  "test_common_atomic_file.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_common_atomic_file.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
