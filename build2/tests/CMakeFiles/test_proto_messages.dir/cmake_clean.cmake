file(REMOVE_RECURSE
  "CMakeFiles/test_proto_messages.dir/unit/test_proto_messages.c.o"
  "CMakeFiles/test_proto_messages.dir/unit/test_proto_messages.c.o.d"
  "test_proto_messages"
  "test_proto_messages.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_proto_messages.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
