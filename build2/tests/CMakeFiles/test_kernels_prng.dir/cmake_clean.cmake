file(REMOVE_RECURSE
  "CMakeFiles/test_kernels_prng.dir/unit/test_kernels_prng.c.o"
  "CMakeFiles/test_kernels_prng.dir/unit/test_kernels_prng.c.o.d"
  "test_kernels_prng"
  "test_kernels_prng.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_kernels_prng.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
