
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/wt-security/proto/curve_keys.c" "proto/CMakeFiles/swan_proto.dir/curve_keys.c.o" "gcc" "proto/CMakeFiles/swan_proto.dir/curve_keys.c.o.d"
  "/work/wt-security/proto/messages.c" "proto/CMakeFiles/swan_proto.dir/messages.c.o" "gcc" "proto/CMakeFiles/swan_proto.dir/messages.c.o.d"
  "/work/wt-security/proto/model_identity.c" "proto/CMakeFiles/swan_proto.dir/model_identity.c.o" "gcc" "proto/CMakeFiles/swan_proto.dir/model_identity.c.o.d"
  "/work/wt-security/proto/transport.c" "proto/CMakeFiles/swan_proto.dir/transport.c.o" "gcc" "proto/CMakeFiles/swan_proto.dir/transport.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/wt-security/build2/common/CMakeFiles/swan_common.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
