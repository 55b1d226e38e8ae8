file(REMOVE_RECURSE
  "CMakeFiles/swan_worker.dir/worker_loop.c.o"
  "CMakeFiles/swan_worker.dir/worker_loop.c.o.d"
  "CMakeFiles/swan_worker.dir/worker_procs.c.o"
  "CMakeFiles/swan_worker.dir/worker_procs.c.o.d"
  "libswan_worker.a"
  "libswan_worker.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/swan_worker.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
