file(REMOVE_RECURSE
  "libswan_worker.a"
)
