file(REMOVE_RECURSE
  "libswan_coord.a"
)
