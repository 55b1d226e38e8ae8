file(REMOVE_RECURSE
  "libswan_kernels.a"
)
