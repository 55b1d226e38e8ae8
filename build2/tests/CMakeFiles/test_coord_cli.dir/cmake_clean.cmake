file(REMOVE_RECURSE
  "CMakeFiles/test_coord_cli.dir/unit/test_coord_cli.c.o"
  "CMakeFiles/test_coord_cli.dir/unit/test_coord_cli.c.o.d"
  "test_coord_cli"
  "test_coord_cli.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_coord_cli.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
