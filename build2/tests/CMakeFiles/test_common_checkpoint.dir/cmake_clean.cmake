file(REMOVE_RECURSE
  "CMakeFiles/test_common_checkpoint.dir/unit/test_common_checkpoint.c.o"
  "CMakeFiles/test_common_checkpoint.dir/unit/test_common_checkpoint.c.o.d"
  "test_common_checkpoint"
  "test_common_checkpoint.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_common_checkpoint.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
