file(REMOVE_RECURSE
  "CMakeFiles/test_coord_demo_model.dir/unit/test_coord_demo_model.c.o"
  "CMakeFiles/test_coord_demo_model.dir/unit/test_coord_demo_model.c.o.d"
  "test_coord_demo_model"
  "test_coord_demo_model.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_coord_demo_model.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
