file(REMOVE_RECURSE
  "CMakeFiles/swan_kernels_bench.dir/kernels_bench.c.o"
  "CMakeFiles/swan_kernels_bench.dir/kernels_bench.c.o.d"
  "swan_kernels_bench"
  "swan_kernels_bench.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/swan_kernels_bench.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
