file(REMOVE_RECURSE
  "CMakeFiles/test_common_clock.dir/unit/test_common_clock.c.o"
  "CMakeFiles/test_common_clock.dir/unit/test_common_clock.c.o.d"
  "test_common_clock"
  "test_common_clock.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_common_clock.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
