file(REMOVE_RECURSE
  "CMakeFiles/swan_sgemm_bench.dir/sgemm_bench.c.o"
  "CMakeFiles/swan_sgemm_bench.dir/sgemm_bench.c.o.d"
  "swan_sgemm_bench"
  "swan_sgemm_bench.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/swan_sgemm_bench.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
