
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/wt-security/tests/unit/test_coord_reduce.c" "tests/CMakeFiles/test_coord_reduce.dir/unit/test_coord_reduce.c.o" "gcc" "tests/CMakeFiles/test_coord_reduce.dir/unit/test_coord_reduce.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/wt-security/build2/coordinator/CMakeFiles/swan_coord.dir/DependInfo.cmake"
  "/work/wt-security/build2/worker/CMakeFiles/swan_worker.dir/DependInfo.cmake"
  "/work/wt-security/build2/worker/CMakeFiles/swan_kernels.dir/DependInfo.cmake"
  "/work/wt-security/build2/proto/CMakeFiles/swan_proto.dir/DependInfo.cmake"
  "/work/wt-security/build2/common/CMakeFiles/swan_common.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
