// Batched UDP I/O for the DNS server (Linux): recvmmsg/sendmmsg on a non-blocking socket polled by
// the Node event loop. One JS call per batch of up to BATCH datagrams instead of one per datagram,
// and no per-datagram buffer allocation: queries land in a shared input ArrayBuffer, JS writes
// answers into a shared output ArrayBuffer, this file sends them all with one syscall.
// The answer policy stays in TypeScript (dns/zone/answer.ts); this is only the socket shell.
//
// Answer replay cache (docs/decisions/048-answer-replay-cache.md): an answer depends only on the
// query's bytes after the ID and on the zone snapshot, so JS may mark a response replayable; the
// next datagram with the same bytes (any ID, any sender) gets that response with its own ID without
// a call into JavaScript. JS bumps the generation whenever the snapshot changes (every entry of an
// older generation is a miss) and marks nothing while rate limiting is on (RRL is per client). A
// hit counts in the same per-thread query counter cell JS would have incremented.

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define BATCH 64
#define IN_SLOT 4096
#define OUT_SLOT 65536
#define ADDR_SLOT 28
#define MAX_ROUNDS 16
// The replay cache: an open-addressing index (linear probing) over an append-only arena of entries.
// Exact matching, so no collision between two live keys ever evicts one of them; when the arena or
// the index is full the whole cache is cleared (a flood of distinct names costs misses, never a wrong
// answer). A direct-mapped table used before replayed only ~83% of the bench's ~3,000 distinct
// questions: keys sharing a slot evicted each other.
#define CACHE_INDEX 65536           // index slots, a power of two; at most half are used
#define CACHE_ARENA (4u << 20)      // bytes of entries
#define CACHE_KEY 300               // query bytes after the ID: header rest + QNAME (<= 255) + QTYPE/QCLASS + OPT
#define CACHE_RESP 512              // responses longer than this are not replayed

typedef struct {
  uint32_t hash;
  uint16_t klen;
  uint16_t rlen;
  int32_t stat; // index into the query counters
  // followed by klen key bytes, then rlen response bytes, padded to 8
} cache_entry_t;

typedef struct {
  uint32_t *slot;  // arena offset + 1 of the entry, 0 = empty
  uint32_t *shash; // the entry's hash, checked before its bytes
  uint8_t *arena;
  uint32_t used;   // arena bytes in use
  uint32_t count;  // entries
} cache_t;

typedef struct {
  int fd;
  uv_poll_t *poll; // separately allocated with slack: headers and runtime libuv may differ in size
  napi_env env;
  napi_ref cb;
  napi_ref bufs[7];
  napi_async_context actx;
  uint8_t *in;
  int32_t *in_len;
  uint8_t *out;
  int32_t *out_len;
  uint8_t *addr;
  double *counters; // [0] send errors (EAGAIN etc.), [1] truncated inputs, [2] replayed answers
  int32_t *tag;     // per slot, set by JS: -1 = do not replay, else the query counter cell to bump
  double *stats;    // the thread's query counters (QueryStats.queries)
  size_t nstats;
  cache_t cache;  // arena NULL until the first replayable answer
  uint32_t gen;   // bumped by invalidate(); an answer JS built under an older one is not stored
  int slot_of[BATCH]; // received datagram i -> its index in the JS batch, or -1 when replayed
  uint8_t hit_buf[BATCH][CACHE_RESP];
  struct mmsghdr rmsg[BATCH];
  struct iovec riov[BATCH];
  struct sockaddr_in6 raddr[BATCH];
  struct mmsghdr smsg[BATCH];
  struct iovec siov[BATCH];
  int closed;
  napi_async_cleanup_hook_handle hook;
} udp_t;

static void cache_free(cache_t *c);

#define CHECK(call)                                                                  \
  do {                                                                               \
    if ((call) != napi_ok) {                                                         \
      napi_throw_error(env, NULL, "portico_udp: " #call " failed");                  \
      return NULL;                                                                   \
    }                                                                                \
  } while (0)

static napi_value throw_errno(napi_env env, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(errno));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

// open(address: string, port: number, reusePort: boolean, rcvbuf: number) -> [fd, boundPort]
static napi_value udp_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char host[64];
  size_t hl = 0;
  int32_t port = 0, rcvbuf = 0;
  bool reuse = false;
  CHECK(napi_get_value_string_utf8(env, argv[0], host, sizeof host, &hl));
  CHECK(napi_get_value_int32(env, argv[1], &port));
  CHECK(napi_get_value_bool(env, argv[2], &reuse));
  CHECK(napi_get_value_int32(env, argv[3], &rcvbuf));
  struct sockaddr_storage ss;
  socklen_t sl;
  memset(&ss, 0, sizeof ss);
  int family;
  struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    family = AF_INET;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    sl = sizeof *a4;
  } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
    family = AF_INET6;
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    sl = sizeof *a6;
  } else {
    napi_throw_error(env, NULL, "portico_udp: address must be a literal IPv4 or IPv6 address");
    return NULL;
  }
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket");
  int one = 1;
  if (reuse && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
                setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)) {
    close(fd);
    return throw_errno(env, "setsockopt SO_REUSEPORT");
  }
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf); // best effort
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return throw_errno(env, "bind");
  }
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
    close(fd);
    return throw_errno(env, "getsockname");
  }
  int bound = family == AF_INET ? ntohs(a4->sin_port) : ntohs(a6->sin6_port);
  napi_value res, v;
  CHECK(napi_create_array_with_length(env, 2, &res));
  CHECK(napi_create_int32(env, fd, &v));
  CHECK(napi_set_element(env, res, 0, v));
  CHECK(napi_create_int32(env, bound, &v));
  CHECK(napi_set_element(env, res, 1, v));
  return res;
}

static void on_close(uv_handle_t *h) {
  udp_t *u = (udp_t *)h->data;
  // Tells Node the environment may finish tearing down (worker threads: the loop must be empty).
  napi_remove_async_cleanup_hook(u->hook);
  close(u->fd);
  cache_free(&u->cache);
  free(u->poll);
  free(u);
}

// The environment is going away (process exit, worker.terminate()) while the socket is open.
static void on_env_teardown(napi_async_cleanup_hook_handle handle, void *arg) {
  udp_t *u = (udp_t *)arg;
  if (u->closed) return; // stop() already started closing; on_close removes the hook
  u->closed = 1;
  uv_poll_stop(u->poll);
  uv_close((uv_handle_t *)u->poll, on_close);
}

static uint32_t fnv1a(const uint8_t *p, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

static uint8_t *entry_key(cache_entry_t *e) { return (uint8_t *)(e + 1); }
static uint8_t *entry_resp(cache_entry_t *e) { return (uint8_t *)(e + 1) + e->klen; }

static void cache_clear(cache_t *c) {
  if (!c->arena) return;
  memset(c->slot, 0, CACHE_INDEX * sizeof(uint32_t));
  c->used = 0;
  c->count = 0;
}

static void cache_free(cache_t *c) {
  free(c->slot);
  free(c->shash);
  free(c->arena);
  memset(c, 0, sizeof *c);
}

// The cached response for this query (ID not included in the match), or NULL.
static cache_entry_t *cache_find(cache_t *c, const uint8_t *q, int len) {
  if (!c->arena || len < 12 || len - 2 > CACHE_KEY) return NULL;
  size_t klen = (size_t)len - 2;
  uint32_t h = fnv1a(q + 2, klen);
  for (uint32_t i = h & (CACHE_INDEX - 1);; i = (i + 1) & (CACHE_INDEX - 1)) {
    uint32_t off = c->slot[i];
    if (off == 0) return NULL;
    if (c->shash[i] != h) continue;
    cache_entry_t *e = (cache_entry_t *)(c->arena + off - 1);
    if (e->klen == klen && memcmp(entry_key(e), q + 2, klen) == 0) return e;
  }
}

static void cache_put(cache_t *c, const uint8_t *q, int qlen, const uint8_t *r, int rlen, int32_t stat) {
  if (qlen < 12 || qlen - 2 > CACHE_KEY || rlen < 12 || rlen > CACHE_RESP) return;
  if (!c->arena) {
    c->slot = calloc(CACHE_INDEX, sizeof(uint32_t));
    c->shash = malloc(CACHE_INDEX * sizeof(uint32_t));
    c->arena = malloc(CACHE_ARENA);
    if (!c->slot || !c->shash || !c->arena) {
      cache_free(c); // replay is an optimisation: without memory, JS answers everything
      return;
    }
  }
  if (cache_find(c, q, qlen)) return; // same bytes, same snapshot: same answer
  size_t klen = (size_t)qlen - 2;
  size_t need = (sizeof(cache_entry_t) + klen + (size_t)rlen + 7) & ~(size_t)7;
  if (c->count + 1 > CACHE_INDEX / 2 || c->used + need > CACHE_ARENA) cache_clear(c);
  cache_entry_t *e = (cache_entry_t *)(c->arena + c->used);
  e->hash = fnv1a(q + 2, klen);
  e->klen = (uint16_t)klen;
  e->rlen = (uint16_t)rlen;
  e->stat = stat;
  memcpy(entry_key(e), q + 2, klen);
  memcpy(entry_resp(e), r, (size_t)rlen);
  uint32_t i = e->hash & (CACHE_INDEX - 1);
  while (c->slot[i] != 0) i = (i + 1) & (CACHE_INDEX - 1);
  c->slot[i] = c->used + 1;
  c->shash[i] = e->hash;
  c->used += (uint32_t)need;
  c->count++;
}

static void send_all(udp_t *u, int m) {
  int sent = 0;
  while (sent < m) {
    int r = sendmmsg(u->fd, u->smsg + sent, (unsigned)(m - sent), MSG_DONTWAIT);
    if (r > 0) {
      sent += r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    // EAGAIN (send buffer full) or a per-destination error: skip one datagram and go on, as a
    // UDP server must (the client retries).
    u->counters[0]++;
    sent++;
  }
}

static void add_send(udp_t *u, int m, int i, uint8_t *base, size_t len) {
  u->siov[m].iov_base = base;
  u->siov[m].iov_len = len;
  memset(&u->smsg[m].msg_hdr, 0, sizeof u->smsg[m].msg_hdr);
  u->smsg[m].msg_hdr.msg_name = &u->raddr[i];
  u->smsg[m].msg_hdr.msg_namelen = u->rmsg[i].msg_hdr.msg_namelen;
  u->smsg[m].msg_hdr.msg_iov = &u->siov[m];
  u->smsg[m].msg_hdr.msg_iovlen = 1;
}

static void on_poll(uv_poll_t *h, int status, int events) {
  udp_t *u = (udp_t *)h->data;
  if (u->closed || status < 0) return;
  napi_env env = u->env;
  for (int round = 0; round < MAX_ROUNDS; round++) {
    for (int i = 0; i < BATCH; i++) {
      u->riov[i].iov_base = u->in + (size_t)i * IN_SLOT;
      u->riov[i].iov_len = IN_SLOT;
      memset(&u->rmsg[i].msg_hdr, 0, sizeof u->rmsg[i].msg_hdr);
      u->rmsg[i].msg_hdr.msg_name = &u->raddr[i];
      u->rmsg[i].msg_hdr.msg_namelen = sizeof u->raddr[i];
      u->rmsg[i].msg_hdr.msg_iov = &u->riov[i];
      u->rmsg[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(u->fd, u->rmsg, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) break;
    // Replay hits first; the rest are compacted into the JS batch (slot j of the shared buffers;
    // recvmmsg wrote datagram i into slot i and j <= i, so a move never overwrites an unread one).
    int m = 0, js = 0;
    for (int i = 0; i < n; i++) {
      uint8_t *q = u->in + (size_t)i * IN_SLOT;
      int trunc = (u->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
      int len = trunc ? -1 : (int)u->rmsg[i].msg_len;
      cache_entry_t *e = len > 0 ? cache_find(&u->cache, q, len) : NULL;
      if (e) {
        uint8_t *r = u->hit_buf[i];
        memcpy(r, entry_resp(e), e->rlen);
        r[0] = q[0];
        r[1] = q[1];
        u->stats[e->stat]++;
        u->counters[2]++;
        add_send(u, m++, i, r, e->rlen);
        u->slot_of[i] = -1;
        continue;
      }
      if (trunc) u->counters[1]++;
      int j = js++;
      u->slot_of[i] = j;
      if (j != i) {
        if (len > 0) memcpy(u->in + (size_t)j * IN_SLOT, q, (size_t)len);
      }
      u->in_len[j] = len;
      u->out_len[j] = 0;
      u->tag[j] = -1;
      memset(u->addr + (size_t)j * ADDR_SLOT, 0, ADDR_SLOT);
      memcpy(u->addr + (size_t)j * ADDR_SLOT, &u->raddr[i],
             u->rmsg[i].msg_hdr.msg_namelen < ADDR_SLOT ? u->rmsg[i].msg_hdr.msg_namelen : ADDR_SLOT);
    }
    if (js > 0) {
      napi_handle_scope scope;
      if (napi_open_handle_scope(env, &scope) != napi_ok) return;
      napi_value cb, recv, argv[1], result;
      napi_get_reference_value(env, u->cb, &cb);
      napi_get_global(env, &recv);
      napi_create_int32(env, js, &argv[0]);
      // Microtasks run at the end of the callback and may swap the snapshot (invalidate): answers
      // of this batch are then stored under nothing.
      uint32_t gen = u->gen;
      napi_status st = napi_make_callback(env, u->actx, recv, cb, 1, argv, &result);
      if (st == napi_pending_exception) {
        napi_value err;
        napi_get_and_clear_last_exception(env, &err);
        napi_fatal_exception(env, err);
      }
      napi_close_handle_scope(env, scope);
      if (u->closed) return;
      for (int i = 0; i < n; i++) {
        int j = u->slot_of[i];
        if (j < 0) continue;
        int32_t len = u->out_len[j];
        if (len <= 0 || len > OUT_SLOT) continue;
        uint8_t *r = u->out + (size_t)j * OUT_SLOT;
        if (u->tag[j] >= 0 && u->gen == gen && (size_t)u->tag[j] < u->nstats)
          cache_put(&u->cache, u->in + (size_t)j * IN_SLOT, u->in_len[j], r, len, u->tag[j]);
        add_send(u, m++, i, r, (size_t)len);
      }
    }
    send_all(u, m);
    if (n < BATCH) break;
  }
}

static int typed_ptr(napi_env env, napi_value v, void **data, size_t *bytes) {
  bool is_ab = false;
  napi_is_arraybuffer(env, v, &is_ab);
  if (is_ab) return napi_get_arraybuffer_info(env, v, data, bytes) == napi_ok ? 0 : -1;
  napi_typedarray_type t;
  size_t len, off;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &t, &len, data, &ab, &off) != napi_ok) return -1;
  size_t el = (t == napi_int32_array || t == napi_uint32_array || t == napi_float32_array) ? 4
              : (t == napi_float64_array)                                                  ? 8
                                                                                           : 1;
  *bytes = len * el;
  return 0;
}

static void finalize_handle(napi_env env, void *data, void *hint) {}

// start(fd, in, inLen, out, outLen, addr, counters, tag, stats, cb) -> external handle
static napi_value udp_start(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 10) {
    napi_throw_type_error(env, NULL, "portico_udp: start takes 10 arguments");
    return NULL;
  }
  udp_t *u = calloc(1, sizeof *u);
  if (!u) return throw_errno(env, "calloc");
  int32_t fd;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  u->fd = fd;
  u->env = env;
  u->gen = 1;
  void *p[8];
  size_t sz[8];
  for (int i = 0; i < 8; i++) {
    if (typed_ptr(env, argv[1 + i], &p[i], &sz[i]) != 0) {
      free(u);
      napi_throw_type_error(env, NULL, "portico_udp: expected typed arrays");
      return NULL;
    }
  }
  if (sz[0] < BATCH * IN_SLOT || sz[1] < BATCH * 4 || sz[2] < (size_t)BATCH * OUT_SLOT || sz[3] < BATCH * 4 ||
      sz[4] < BATCH * ADDR_SLOT || sz[5] < 24 || sz[6] < BATCH * 4 || sz[7] < 8) {
    free(u);
    napi_throw_range_error(env, NULL, "portico_udp: shared buffers too small");
    return NULL;
  }
  u->in = p[0];
  u->in_len = p[1];
  u->out = p[2];
  u->out_len = p[3];
  u->addr = p[4];
  u->counters = p[5];
  u->tag = p[6];
  u->stats = p[7];
  u->nstats = sz[7] / sizeof(double);
  for (int i = 0; i < 7; i++) CHECK(napi_create_reference(env, argv[1 + i], 1, &u->bufs[i]));
  CHECK(napi_create_reference(env, argv[9], 1, &u->cb));
  napi_value name;
  CHECK(napi_create_string_utf8(env, "portico.dns.udp", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &u->actx));
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  u->poll = calloc(1, sizeof(uv_poll_t) + 512);
  if (!u->poll) return throw_errno(env, "calloc");
  int rc = uv_poll_init(loop, u->poll, fd);
  if (rc == 0) {
    u->poll->data = u;
    rc = uv_poll_start(u->poll, UV_READABLE, on_poll);
  }
  if (rc != 0) {
    char msg[128];
    snprintf(msg, sizeof msg, "portico_udp: uv_poll: %s", uv_strerror(rc));
    napi_throw_error(env, NULL, msg);
    return NULL;
  }
  CHECK(napi_add_async_cleanup_hook(env, on_env_teardown, u, &u->hook));
  napi_value ext;
  CHECK(napi_create_external(env, u, finalize_handle, NULL, &ext));
  return ext;
}

// stop(handle): stop polling, release references, close the socket.
static napi_value udp_stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  udp_t *u;
  CHECK(napi_get_value_external(env, argv[0], (void **)&u));
  if (u->closed) return NULL;
  u->closed = 1;
  uv_poll_stop(u->poll);
  for (int i = 0; i < 7; i++) napi_delete_reference(env, u->bufs[i]);
  napi_delete_reference(env, u->cb);
  napi_async_destroy(env, u->actx);
  uv_close((uv_handle_t *)u->poll, on_close);
  return NULL;
}

// invalidate(handle): forget every replayable answer (the zone snapshot changed).
static napi_value udp_invalidate(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  udp_t *u;
  CHECK(napi_get_value_external(env, argv[0], (void **)&u));
  u->gen++;
  cache_clear(&u->cache);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, udp_open, NULL, NULL, NULL, napi_default, NULL},
      {"start", NULL, udp_start, NULL, NULL, NULL, napi_default, NULL},
      {"stop", NULL, udp_stop, NULL, NULL, NULL, napi_default, NULL},
      {"invalidate", NULL, udp_invalidate, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 4, props);
  napi_value v;
  napi_create_int32(env, BATCH, &v);
  napi_set_named_property(env, exports, "BATCH", v);
  napi_create_int32(env, IN_SLOT, &v);
  napi_set_named_property(env, exports, "IN_SLOT", v);
  napi_create_int32(env, OUT_SLOT, &v);
  napi_set_named_property(env, exports, "OUT_SLOT", v);
  napi_create_int32(env, ADDR_SLOT, &v);
  napi_set_named_property(env, exports, "ADDR_SLOT", v);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
