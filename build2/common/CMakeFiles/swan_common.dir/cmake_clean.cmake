file(REMOVE_RECURSE
  "CMakeFiles/swan_common.dir/atomic_file.c.o"
  "CMakeFiles/swan_common.dir/atomic_file.c.o.d"
  "CMakeFiles/swan_common.dir/checkpoint.c.o"
  "CMakeFiles/swan_common.dir/checkpoint.c.o.d"
  "CMakeFiles/swan_common.dir/clock.c.o"
  "CMakeFiles/swan_common.dir/clock.c.o.d"
  "CMakeFiles/swan_common.dir/dtype.c.o"
  "CMakeFiles/swan_common.dir/dtype.c.o.d"
  "CMakeFiles/swan_common.dir/error.c.o"
  "CMakeFiles/swan_common.dir/error.c.o.d"
  "CMakeFiles/swan_common.dir/fmt.c.o"
  "CMakeFiles/swan_common.dir/fmt.c.o.d"
  "CMakeFiles/swan_common.dir/formats/fp8.c.o"
  "CMakeFiles/swan_common.dir/formats/fp8.c.o.d"
  "CMakeFiles/swan_common.dir/formats/gguf.c.o"
  "CMakeFiles/swan_common.dir/formats/gguf.c.o.d"
  "CMakeFiles/swan_common.dir/formats/safetensors.c.o"
  "CMakeFiles/swan_common.dir/formats/safetensors.c.o.d"
  "CMakeFiles/swan_common.dir/json_writer.c.o"
  "CMakeFiles/swan_common.dir/json_writer.c.o.d"
  "CMakeFiles/swan_common.dir/prng.c.o"
  "CMakeFiles/swan_common.dir/prng.c.o.d"
  "CMakeFiles/swan_common.dir/view2d.c.o"
  "CMakeFiles/swan_common.dir/view2d.c.o.d"
  "libswan_common.a"
  "libswan_common.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/swan_common.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
