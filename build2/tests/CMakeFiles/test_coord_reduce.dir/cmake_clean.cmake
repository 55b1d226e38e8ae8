file(REMOVE_RECURSE
  "CMakeFiles/test_coord_reduce.dir/unit/test_coord_reduce.c.o"
  "CMakeFiles/test_coord_reduce.dir/unit/test_coord_reduce.c.o.d"
  "test_coord_reduce"
  "test_coord_reduce.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_coord_reduce.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
