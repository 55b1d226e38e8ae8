file(REMOVE_RECURSE
  "CMakeFiles/test_coord_manifest.dir/unit/test_coord_manifest.c.o"
  "CMakeFiles/test_coord_manifest.dir/unit/test_coord_manifest.c.o.d"
  "test_coord_manifest"
  "test_coord_manifest.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_coord_manifest.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
