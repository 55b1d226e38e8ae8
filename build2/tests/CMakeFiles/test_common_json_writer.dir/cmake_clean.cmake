file(REMOVE_RECURSE
  "CMakeFiles/test_common_json_writer.dir/unit/test_common_json_writer.c.o"
  "CMakeFiles/test_common_json_writer.dir/unit/test_common_json_writer.c.o.d"
  "test_common_json_writer"
  "test_common_json_writer.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_common_json_writer.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
