{
  "targets": [
    {
      "target_name": "portico_udp",
      "sources": ["udp.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
