{
  "targets": [
    {
      "target_name": "portico_packet",
      "sources": ["src/packet.c", "src/tcp.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-Wall", "-Wextra", "-O2", "-fvisibility=hidden"],
      "cflags_c": ["-std=gnu11"]
    }
  ]
}
