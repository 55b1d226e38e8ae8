file(REMOVE_RECURSE
  "CMakeFiles/test_coord_journal.dir/unit/test_coord_journal.c.o"
  "CMakeFiles/test_coord_journal.dir/unit/test_coord_journal.c.o.d"
  "test_coord_journal"
  "test_coord_journal.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_coord_journal.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
