
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/wt-security/worker/metrics.c" "worker/CMakeFiles/swan_kernels.dir/metrics.c.o" "gcc" "worker/CMakeFiles/swan_kernels.dir/metrics.c.o.d"
  "/work/wt-security/worker/spectral.c" "worker/CMakeFiles/swan_kernels.dir/spectral.c.o" "gcc" "worker/CMakeFiles/swan_kernels.dir/spectral.c.o.d"
  "/work/wt-security/worker/stats.c" "worker/CMakeFiles/swan_kernels.dir/stats.c.o" "gcc" "worker/CMakeFiles/swan_kernels.dir/stats.c.o.d"
  "/work/wt-security/worker/tensor_reader.c" "worker/CMakeFiles/swan_kernels.dir/tensor_reader.c.o" "gcc" "worker/CMakeFiles/swan_kernels.dir/tensor_reader.c.o.d"
  "/work/wt-security/worker/tile_reader.c" "worker/CMakeFiles/swan_kernels.dir/tile_reader.c.o" "gcc" "worker/CMakeFiles/swan_kernels.dir/tile_reader.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/wt-security/build2/common/CMakeFiles/swan_common.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
