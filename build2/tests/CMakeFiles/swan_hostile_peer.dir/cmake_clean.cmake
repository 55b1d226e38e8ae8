file(REMOVE_RECURSE
  "CMakeFiles/swan_hostile_peer.dir/tools/hostile_peer.c.o"
  "CMakeFiles/swan_hostile_peer.dir/tools/hostile_peer.c.o.d"
  "swan_hostile_peer"
  "swan_hostile_peer.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/swan_hostile_peer.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
