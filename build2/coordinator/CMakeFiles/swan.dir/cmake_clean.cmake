file(REMOVE_RECURSE
  "CMakeFiles/swan.dir/main.c.o"
  "CMakeFiles/swan.dir/main.c.o.d"
  "swan"
  "swan.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/swan.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
