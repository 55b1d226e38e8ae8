file(REMOVE_RECURSE
  "CMakeFiles/test_coord_progress.dir/unit/test_coord_progress.c.o"
  "CMakeFiles/test_coord_progress.dir/unit/test_coord_progress.c.o.d"
  "test_coord_progress"
  "test_coord_progress.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_coord_progress.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
