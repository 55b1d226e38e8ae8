file(REMOVE_RECURSE
  "CMakeFiles/test_coord_plan.dir/unit/test_coord_plan.c.o"
  "CMakeFiles/test_coord_plan.dir/unit/test_coord_plan.c.o.d"
  "test_coord_plan"
  "test_coord_plan.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_coord_plan.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
