file(REMOVE_RECURSE
  "CMakeFiles/test_kernels_metrics.dir/unit/test_kernels_metrics.c.o"
  "CMakeFiles/test_kernels_metrics.dir/unit/test_kernels_metrics.c.o.d"
  "test_kernels_metrics"
  "test_kernels_metrics.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_kernels_metrics.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
