
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/wt-security/common/atomic_file.c" "common/CMakeFiles/swan_common.dir/atomic_file.c.o" "gcc" "common/CMakeFiles/swan_common.dir/atomic_file.c.o.d"
  "/work/wt-security/common/checkpoint.c" "common/CMakeFiles/swan_common.dir/checkpoint.c.o" "gcc" "common/CMakeFiles/swan_common.dir/checkpoint.c.o.d"
  "/work/wt-security/common/clock.c" "common/CMakeFiles/swan_common.dir/clock.c.o" "gcc" "common/CMakeFiles/swan_common.dir/clock.c.o.d"
  "/work/wt-security/common/dtype.c" "common/CMakeFiles/swan_common.dir/dtype.c.o" "gcc" "common/CMakeFiles/swan_common.dir/dtype.c.o.d"
  "/work/wt-security/common/error.c" "common/CMakeFiles/swan_common.dir/error.c.o" "gcc" "common/CMakeFiles/swan_common.dir/error.c.o.d"
  "/work/wt-security/common/fmt.c" "common/CMakeFiles/swan_common.dir/fmt.c.o" "gcc" "common/CMakeFiles/swan_common.dir/fmt.c.o.d"
  "/work/wt-security/common/formats/fp8.c" "common/CMakeFiles/swan_common.dir/formats/fp8.c.o" "gcc" "common/CMakeFiles/swan_common.dir/formats/fp8.c.o.d"
  "/work/wt-security/common/formats/gguf.c" "common/CMakeFiles/swan_common.dir/formats/gguf.c.o" "gcc" "common/CMakeFiles/swan_common.dir/formats/gguf.c.o.d"
  "/work/wt-security/common/formats/safetensors.c" "common/CMakeFiles/swan_common.dir/formats/safetensors.c.o" "gcc" "common/CMakeFiles/swan_common.dir/formats/safetensors.c.o.d"
  "/work/wt-security/common/json_writer.c" "common/CMakeFiles/swan_common.dir/json_writer.c.o" "gcc" "common/CMakeFiles/swan_common.dir/json_writer.c.o.d"
  "/work/wt-security/common/prng.c" "common/CMakeFiles/swan_common.dir/prng.c.o" "gcc" "common/CMakeFiles/swan_common.dir/prng.c.o.d"
  "/work/wt-security/common/view2d.c" "common/CMakeFiles/swan_common.dir/view2d.c.o" "gcc" "common/CMakeFiles/swan_common.dir/view2d.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
