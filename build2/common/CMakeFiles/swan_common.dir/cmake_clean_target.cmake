file(REMOVE_RECURSE
  "libswan_common.a"
)
