file(REMOVE_RECURSE
  "libswan_proto.a"
)
