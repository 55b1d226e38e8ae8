
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/wt-security/coordinator/analyze.c" "coordinator/CMakeFiles/swan_coord.dir/analyze.c.o" "gcc" "coordinator/CMakeFiles/swan_coord.dir/analyze.c.o.d"
  "/work/wt-security/coordinator/cli.c" "coordinator/CMakeFiles/swan_coord.dir/cli.c.o" "gcc" "coordinator/CMakeFiles/swan_coord.dir/cli.c.o.d"
  "/work/wt-security/coordinator/cmd_analyze.c" "coordinator/CMakeFiles/swan_coord.dir/cmd_analyze.c.o" "gcc" "coordinator/CMakeFiles/swan_coord.dir/cmd_analyze.c.o.d"
  "/work/wt-security/coordinator/cmd_demo.c" "coordinator/CMakeFiles/swan_coord.dir/cmd_demo.c.o" "gcc" "coordinator/CMakeFiles/swan_coord.dir/cmd_demo.c.o.d"
  "/work/wt-security/coordinator/cmd_inspect.c" "coordinator/CMakeFiles/swan_coord.dir/cmd_inspect.c.o" "gcc" "coordinator/CMakeFiles/swan_coord.dir/cmd_inspect.c.o.d"
  "/work/wt-security/coordinator/cmd_keygen.c" "coordinator/CMakeFiles/swan_coord.dir/cmd_keygen.c.o" "gcc" "coordinator/CMakeFiles/swan_coord.dir/cmd_keygen.c.o.d"
  "/work/wt-security/coordinator/cmd_worker.c" "coordinator/CMakeFiles/swan_coord.dir/cmd_worker.c.o" "gcc" "coordinator/CMakeFiles/swan_coord.dir/cmd_worker.c.o.d"
  "/work/wt-security/coordinator/demo_model.c" "coordinator/CMakeFiles/swan_coord.dir/demo_model.c.o" "gcc" "coordinator/CMakeFiles/swan_coord.dir/demo_model.c.o.d"
  "/work/wt-security/coordinator/inspect.c" "coordinator/CMakeFiles/swan_coord.dir/inspect.c.o" "gcc" "coordinator/CMakeFiles/swan_coord.dir/inspect.c.o.d"
  "/work/wt-security/coordinator/journal/journal.c" "coordinator/CMakeFiles/swan_coord.dir/journal/journal.c.o" "gcc" "coordinator/CMakeFiles/swan_coord.dir/journal/journal.c.o.d"
  "/work/wt-security/coordinator/outputs/manifest.c" "coordinator/CMakeFiles/swan_coord.dir/outputs/manifest.c.o" "gcc" "coordinator/CMakeFiles/swan_coord.dir/outputs/manifest.c.o.d"
  "/work/wt-security/coordinator/plan/plan.c" "coordinator/CMakeFiles/swan_coord.dir/plan/plan.c.o" "gcc" "coordinator/CMakeFiles/swan_coord.dir/plan/plan.c.o.d"
  "/work/wt-security/coordinator/progress.c" "coordinator/CMakeFiles/swan_coord.dir/progress.c.o" "gcc" "coordinator/CMakeFiles/swan_coord.dir/progress.c.o.d"
  "/work/wt-security/coordinator/reduce/reduce.c" "coordinator/CMakeFiles/swan_coord.dir/reduce/reduce.c.o" "gcc" "coordinator/CMakeFiles/swan_coord.dir/reduce/reduce.c.o.d"
  "/work/wt-security/coordinator/schedule/admission.c" "coordinator/CMakeFiles/swan_coord.dir/schedule/admission.c.o" "gcc" "coordinator/CMakeFiles/swan_coord.dir/schedule/admission.c.o.d"
  "/work/wt-security/coordinator/schedule/local_workers.c" "coordinator/CMakeFiles/swan_coord.dir/schedule/local_workers.c.o" "gcc" "coordinator/CMakeFiles/swan_coord.dir/schedule/local_workers.c.o.d"
  "/work/wt-security/coordinator/schedule/scheduler.c" "coordinator/CMakeFiles/swan_coord.dir/schedule/scheduler.c.o" "gcc" "coordinator/CMakeFiles/swan_coord.dir/schedule/scheduler.c.o.d"
  "/work/wt-security/coordinator/schedule/workers_report.c" "coordinator/CMakeFiles/swan_coord.dir/schedule/workers_report.c.o" "gcc" "coordinator/CMakeFiles/swan_coord.dir/schedule/workers_report.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/wt-security/build2/worker/CMakeFiles/swan_worker.dir/DependInfo.cmake"
  "/work/wt-security/build2/proto/CMakeFiles/swan_proto.dir/DependInfo.cmake"
  "/work/wt-security/build2/common/CMakeFiles/swan_common.dir/DependInfo.cmake"
  "/work/wt-security/build2/worker/CMakeFiles/swan_kernels.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
