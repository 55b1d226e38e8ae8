file(REMOVE_RECURSE
  "CMakeFiles/test_coord_workers_report.dir/unit/test_coord_workers_report.c.o"
  "CMakeFiles/test_coord_workers_report.dir/unit/test_coord_workers_report.c.o.d"
  "test_coord_workers_report"
  "test_coord_workers_report.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_coord_workers_report.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
