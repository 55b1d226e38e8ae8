file(REMOVE_RECURSE
  "CMakeFiles/swan_kernels.dir/metrics.c.o"
  "CMakeFiles/swan_kernels.dir/metrics.c.o.d"
  "CMakeFiles/swan_kernels.dir/spectral.c.o"
  "CMakeFiles/swan_kernels.dir/spectral.c.o.d"
  "CMakeFiles/swan_kernels.dir/stats.c.o"
  "CMakeFiles/swan_kernels.dir/stats.c.o.d"
  "CMakeFiles/swan_kernels.dir/tensor_reader.c.o"
  "CMakeFiles/swan_kernels.dir/tensor_reader.c.o.d"
  "CMakeFiles/swan_kernels.dir/tile_reader.c.o"
  "CMakeFiles/swan_kernels.dir/tile_reader.c.o.d"
  "libswan_kernels.a"
  "libswan_kernels.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/swan_kernels.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
