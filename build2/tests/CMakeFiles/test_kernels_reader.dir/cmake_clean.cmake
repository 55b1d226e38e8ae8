file(REMOVE_RECURSE
  "CMakeFiles/test_kernels_reader.dir/unit/test_kernels_reader.c.o"
  "CMakeFiles/test_kernels_reader.dir/unit/test_kernels_reader.c.o.d"
  "test_kernels_reader"
  "test_kernels_reader.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_kernels_reader.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
