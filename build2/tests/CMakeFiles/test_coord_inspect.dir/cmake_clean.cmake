file(REMOVE_RECURSE
  "CMakeFiles/test_coord_inspect.dir/unit/test_coord_inspect.c.o"
  "CMakeFiles/test_coord_inspect.dir/unit/test_coord_inspect.c.o.d"
  "test_coord_inspect"
  "test_coord_inspect.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_coord_inspect.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
