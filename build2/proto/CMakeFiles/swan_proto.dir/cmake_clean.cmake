file(REMOVE_RECURSE
  "CMakeFiles/swan_proto.dir/curve_keys.c.o"
  "CMakeFiles/swan_proto.dir/curve_keys.c.o.d"
  "CMakeFiles/swan_proto.dir/messages.c.o"
  "CMakeFiles/swan_proto.dir/messages.c.o.d"
  "CMakeFiles/swan_proto.dir/model_identity.c.o"
  "CMakeFiles/swan_proto.dir/model_identity.c.o.d"
  "CMakeFiles/swan_proto.dir/transport.c.o"
  "CMakeFiles/swan_proto.dir/transport.c.o.d"
  "libswan_proto.a"
  "libswan_proto.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/swan_proto.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
