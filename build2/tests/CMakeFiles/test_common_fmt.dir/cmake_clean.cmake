file(REMOVE_RECURSE
  "CMakeFiles/test_common_fmt.dir/unit/test_common_fmt.c.o"
  "CMakeFiles/test_common_fmt.dir/unit/test_common_fmt.c.o.d"
  "test_common_fmt"
  "test_common_fmt.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_common_fmt.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
