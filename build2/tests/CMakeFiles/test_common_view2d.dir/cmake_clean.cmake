file(REMOVE_RECURSE
  "CMakeFiles/test_common_view2d.dir/unit/test_common_view2d.c.o"
  "CMakeFiles/test_common_view2d.dir/unit/test_common_view2d.c.o.d"
  "test_common_view2d"
  "test_common_view2d.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_common_view2d.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
