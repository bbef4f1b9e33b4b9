// Batched UDP I/O for the DNS server (Linux). A receive thread owned by this addon blocks in
// recvmmsg; datagrams whose answer is in the replay cache are answered from that thread with
// sendmmsg and never reach JavaScript; the others ("misses") are handed to the Node event loop in
// batches (uv_async), where one JS call per batch writes answers into a shared output ArrayBuffer and
// one sendmmsg sends them. See docs/decisions/045-batched-udp.md and 049-native-receive-thread.md.
// The answer policy stays in TypeScript (dns/zone/answer.ts); this is only the socket shell.
//
// Answer replay cache (docs/decisions/048-answer-replay-cache.md): an answer depends only on the
// query's bytes after the ID and on the zone snapshot, so JS may mark a response replayable; the
// next datagram with the same bytes (any ID, any sender) gets that response with its own ID without
// a call into JavaScript. JS calls invalidate() whenever the snapshot changes (the cache is emptied
// under the lock the receive thread looks up under, so no query read after that call gets an older
// answer) and marks nothing while rate limiting is on (RRL is per client). A hit is counted in a
// per-cell replay counter array only the receive thread writes; JS adds it to its own counters.

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <uv.h>

#define BATCH 64
#define IN_SLOT 4096
#define OUT_SLOT 65536
#define ADDR_SLOT 28
#define MAX_ROUNDS 16 // poll mode: batches per readiness event before yielding to the loop
#define NSETS 8 // receive buffer sets: one being filled by the receive thread, the rest queued for JS
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

// One recvmmsg's worth of datagrams. After the receive thread served the hits, the misses are
// compacted to the front (n of them) and the set is queued for the event loop.
typedef struct {
  int n;
  int32_t len[BATCH]; // -1 = truncated (larger than IN_SLOT): JS counts and drops it
  socklen_t alen[BATCH];
  struct sockaddr_in6 addr[BATCH];
  uint8_t data[BATCH * IN_SLOT];
} rset_t;

// Counter cells (Float64Array shared with JS). Each is written by one thread only.
enum {
  C_SEND_ERR_JS = 0, // responses to misses the kernel would not take (event loop)
  C_TRUNC = 1,       // datagrams larger than a receive slot (receive thread)
  C_REPLAYED = 2,    // answers replayed (receive thread)
  C_SEND_ERR_RX = 3, // replayed responses the kernel would not take (receive thread)
  C_STALLS = 4,      // times the receive thread waited for the event loop to free a buffer set
  C_COUNT = 5
};

typedef struct {
  int fd;
  int threaded;      // 1: a receive thread + uv_async; 0: uv_poll on the event loop (see on_poll)
  uv_async_t *async; // separately allocated with slack: headers and runtime libuv may differ in size
  uv_poll_t *poll;
  napi_env env;
  napi_ref cb;
  napi_ref bufs[7];
  napi_async_context actx;
  // Shared with JS (event loop thread only, except counters/rstats as noted above).
  uint8_t *in;
  int32_t *in_len;
  uint8_t *out;
  int32_t *out_len;
  uint8_t *addr;
  double *counters;
  int32_t *tag;  // per slot, set by JS: -1 = do not replay, else the query counter cell it counted in
  double *rstats; // replays per query counter cell (written by the receive thread only)
  size_t nstats;
  // Guarded by lock: the cache, the set queues, stopping.
  pthread_mutex_t lock;
  pthread_cond_t freed;
  cache_t cache; // arena NULL until the first replayable answer
  uint32_t gen;  // bumped by invalidate(); an answer JS built under an older one is not stored
  rset_t *free_sets[NSETS];
  int nfree;
  rset_t *queued[NSETS]; // FIFO of sets with misses for JS
  int qhead, qcount;
  int stopping;
  // Receive thread only.
  pthread_t thread;
  int thread_started;
  struct mmsghdr rmsg[BATCH];
  struct iovec riov[BATCH];
  struct mmsghdr hmsg[BATCH];
  struct iovec hiov[BATCH];
  struct sockaddr_in6 haddr[BATCH];
  uint8_t hit_buf[BATCH][CACHE_RESP];
  // Event loop thread only.
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

// Hash of the key bytes, eight at a time (multiply and fold): a lookup hashes ~50 bytes per query.
static uint32_t key_hash(const uint8_t *p, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = (h ^ w) * 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
    p += 8;
    n -= 8;
  }
  uint64_t w = 0;
  memcpy(&w, p, n);
  h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
  h ^= h >> 29;
  return (uint32_t)h;
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
  uint32_t h = key_hash(q + 2, klen);
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
  e->hash = key_hash(q + 2, klen);
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

// Sends m prepared messages; a datagram the kernel will not take (EAGAIN: send buffer full, or a
// per-destination error) is skipped and counted in cell `err`, as a UDP server must (the client
// retries).
static void send_all(udp_t *u, struct mmsghdr *msgs, int m, int err) {
  int sent = 0;
  while (sent < m) {
    int r = sendmmsg(u->fd, msgs + sent, (unsigned)(m - sent), MSG_DONTWAIT);
    if (r > 0) {
      sent += r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    double v = u->counters[err] + 1;
    __atomic_store(&u->counters[err], &v, __ATOMIC_RELAXED);
    sent++;
  }
}

static void set_msg(struct mmsghdr *m, struct iovec *iov, void *base, size_t len, void *name, socklen_t nl) {
  iov->iov_base = base;
  iov->iov_len = len;
  memset(&m->msg_hdr, 0, sizeof m->msg_hdr);
  m->msg_hdr.msg_name = name;
  m->msg_hdr.msg_namelen = nl;
  m->msg_hdr.msg_iov = iov;
  m->msg_hdr.msg_iovlen = 1;
}

// Counter cells written by one thread and read by another: whole 8-byte stores, never torn.
static void bump(double *cell) {
  double v = *cell + 1;
  __atomic_store(cell, &v, __ATOMIC_RELAXED);
}

// One received batch (n datagrams in set, headers in u->rmsg): replay the hits (sent here), compact
// the misses to the front of the set. Returns the number of misses (also set->n).
static int rx_batch(udp_t *u, rset_t *set, int n) {
  int h = 0, js = 0;
  pthread_mutex_lock(&u->lock);
  for (int i = 0; i < n; i++) {
    uint8_t *q = set->data + (size_t)i * IN_SLOT;
    int trunc = (u->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
    int len = trunc ? -1 : (int)u->rmsg[i].msg_len;
    socklen_t nl = u->rmsg[i].msg_hdr.msg_namelen;
    cache_entry_t *e = len > 0 ? cache_find(&u->cache, q, len) : NULL;
    if (e) {
      uint8_t *r = u->hit_buf[h];
      memcpy(r, entry_resp(e), e->rlen);
      r[0] = q[0];
      r[1] = q[1];
      // Counted before the send: once a client has its answer, a scrape sees it counted.
      bump(&u->rstats[e->stat]);
      bump(&u->counters[C_REPLAYED]);
      memcpy(&u->haddr[h], &set->addr[i], nl < sizeof u->haddr[h] ? nl : sizeof u->haddr[h]);
      set_msg(&u->hmsg[h], &u->hiov[h], r, e->rlen, &u->haddr[h], nl);
      h++;
      continue;
    }
    if (trunc) bump(&u->counters[C_TRUNC]);
    // Compact the misses to the front (j <= i: a move never overwrites an unread datagram).
    int j = js++;
    if (j != i) {
      if (len > 0) memcpy(set->data + (size_t)j * IN_SLOT, q, (size_t)len);
      memcpy(&set->addr[j], &set->addr[i], sizeof set->addr[j]);
    }
    set->len[j] = len;
    set->alen[j] = nl;
  }
  pthread_mutex_unlock(&u->lock);
  if (h > 0) send_all(u, u->hmsg, h, C_SEND_ERR_RX);
  set->n = js;
  return js;
}

static void rx_prepare(udp_t *u, rset_t *set) {
  for (int i = 0; i < BATCH; i++)
    set_msg(&u->rmsg[i], &u->riov[i], set->data + (size_t)i * IN_SLOT, IN_SLOT, &set->addr[i],
            sizeof set->addr[i]);
}

// The receive thread: recvmmsg (blocking until at least one datagram), replay hits, queue misses.
static void *rx_main(void *arg) {
  udp_t *u = (udp_t *)arg;
  pthread_mutex_lock(&u->lock);
  rset_t *set = u->nfree > 0 ? u->free_sets[--u->nfree] : NULL;
  pthread_mutex_unlock(&u->lock);
  if (set) rx_prepare(u, set);
  while (set) {
    int n = recvmmsg(u->fd, u->rmsg, BATCH, MSG_WAITFORONE, NULL);
    if (__atomic_load_n(&u->stopping, __ATOMIC_ACQUIRE)) break;
    if (n <= 0) continue; // EINTR, EAGAIN (receive timeout), a transient error: read again
    if (rx_batch(u, set, n) == 0) { // every datagram replayed: JS is not woken, the set is reused
      for (int i = 0; i < n; i++) u->rmsg[i].msg_hdr.msg_namelen = sizeof set->addr[i];
      continue;
    }
    pthread_mutex_lock(&u->lock);
    u->queued[(u->qhead + u->qcount) % NSETS] = set;
    u->qcount++;
    set = NULL;
    if (u->nfree == 0 && !u->stopping) bump(&u->counters[C_STALLS]);
    while (u->nfree == 0 && !u->stopping) pthread_cond_wait(&u->freed, &u->lock);
    if (!u->stopping) set = u->free_sets[--u->nfree];
    pthread_mutex_unlock(&u->lock);
    uv_async_send(u->async);
    if (set) rx_prepare(u, set);
  }
  if (set) { // stopping: give the set back so it is freed with the others
    pthread_mutex_lock(&u->lock);
    u->free_sets[u->nfree++] = set;
    pthread_mutex_unlock(&u->lock);
  }
  return NULL;
}

// Stops the receive thread and waits for it: shutdown() wakes a recvmmsg blocked on the socket; the
// receive timeout set at start bounds the wait if it does not.
static void rx_stop(udp_t *u) {
  if (!u->thread_started) return;
  pthread_mutex_lock(&u->lock);
  __atomic_store_n(&u->stopping, 1, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&u->freed);
  pthread_mutex_unlock(&u->lock);
  shutdown(u->fd, SHUT_RD);
  pthread_join(u->thread, NULL);
  u->thread_started = 0;
}

static void free_udp(udp_t *u) {
  cache_free(&u->cache);
  for (int i = 0; i < u->nfree; i++) free(u->free_sets[i]);
  for (int i = 0; i < u->qcount; i++) free(u->queued[(u->qhead + i) % NSETS]);
  pthread_mutex_destroy(&u->lock);
  pthread_cond_destroy(&u->freed);
  free(u->async);
  free(u->poll);
  free(u);
}

static void on_close(uv_handle_t *h);

// Stop reading (join the receive thread, or stop polling) and close the libuv handle.
static void close_handle(udp_t *u) {
  if (u->threaded) {
    rx_stop(u);
    uv_close((uv_handle_t *)u->async, on_close);
  } else {
    uv_poll_stop(u->poll);
    uv_close((uv_handle_t *)u->poll, on_close);
  }
}

static void on_close(uv_handle_t *h) {
  udp_t *u = (udp_t *)h->data;
  // Tells Node the environment may finish tearing down (worker threads: the loop must be empty).
  napi_remove_async_cleanup_hook(u->hook);
  if (u->fd >= 0) close(u->fd);
  free_udp(u);
}

// The environment is going away (process exit, worker.terminate()) while the socket is open.
static void on_env_teardown(napi_async_cleanup_hook_handle handle, void *arg) {
  udp_t *u = (udp_t *)arg;
  if (u->closed) return; // stop() already started closing; on_close removes the hook
  u->closed = 1;
  close_handle(u);
}

// The event loop's side of one set of misses: answer them in JavaScript, send, store the replayable
// answers, give the set back. Returns -1 when stop() ran inside the callback (the set is freed).
static int js_set(udp_t *u, rset_t *set) {
  napi_env env = u->env;
  int n = set->n;
  for (int j = 0; j < n; j++) {
    int len = set->len[j];
    if (len > 0) memcpy(u->in + (size_t)j * IN_SLOT, set->data + (size_t)j * IN_SLOT, (size_t)len);
    u->in_len[j] = len;
    u->out_len[j] = 0;
    u->tag[j] = -1;
    memset(u->addr + (size_t)j * ADDR_SLOT, 0, ADDR_SLOT);
    memcpy(u->addr + (size_t)j * ADDR_SLOT, &set->addr[j], set->alen[j] < ADDR_SLOT ? set->alen[j] : ADDR_SLOT);
  }
  // Microtasks run at the end of the callback and may swap the snapshot (invalidate): answers of
  // this batch are then not stored.
  uint32_t gen = u->gen;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) == napi_ok) {
    napi_value cb, recv, argv[1], result;
    napi_get_reference_value(env, u->cb, &cb);
    napi_get_global(env, &recv);
    napi_create_int32(env, n, &argv[0]);
    napi_status st = napi_make_callback(env, u->actx, recv, cb, 1, argv, &result);
    if (st == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
    }
    napi_close_handle_scope(env, scope);
  }
  if (u->closed) { // stop() ran inside the callback: the thread is joined, the set is ours to free
    free(set);
    return -1;
  }
  int m = 0;
  pthread_mutex_lock(&u->lock);
  for (int j = 0; j < n; j++) {
    int32_t len = u->out_len[j];
    if (len <= 0 || len > OUT_SLOT) continue;
    uint8_t *r = u->out + (size_t)j * OUT_SLOT;
    if (u->tag[j] >= 0 && u->gen == gen && (size_t)u->tag[j] < u->nstats)
      cache_put(&u->cache, u->in + (size_t)j * IN_SLOT, u->in_len[j], r, len, u->tag[j]);
    set_msg(&u->smsg[m], &u->siov[m], r, (size_t)len, &set->addr[j], set->alen[j]);
    m++;
  }
  pthread_mutex_unlock(&u->lock);
  send_all(u, u->smsg, m, C_SEND_ERR_JS);
  pthread_mutex_lock(&u->lock);
  u->free_sets[u->nfree++] = set;
  pthread_cond_signal(&u->freed);
  pthread_mutex_unlock(&u->lock);
  return 0;
}

// Threaded mode: the receive thread queued sets of misses.
static void on_async(uv_async_t *handle) {
  udp_t *u = (udp_t *)handle->data;
  while (!u->closed) {
    pthread_mutex_lock(&u->lock);
    rset_t *set = NULL;
    if (u->qcount > 0) {
      set = u->queued[u->qhead];
      u->qhead = (u->qhead + 1) % NSETS;
      u->qcount--;
    }
    pthread_mutex_unlock(&u->lock);
    if (!set || js_set(u, set) < 0) return;
  }
}

// Poll mode (no receive thread; used when nothing can be replayed, i.e. with rate limiting, where a
// thread hop per batch would only add a wake-up): the event loop reads, replays and answers itself.
static void on_poll(uv_poll_t *h, int status, int events) {
  udp_t *u = (udp_t *)h->data;
  for (int round = 0; round < MAX_ROUNDS && !u->closed && status >= 0; round++) {
    pthread_mutex_lock(&u->lock);
    rset_t *set = u->nfree > 0 ? u->free_sets[--u->nfree] : NULL;
    pthread_mutex_unlock(&u->lock);
    if (!set) return;
    rx_prepare(u, set);
    int n = recvmmsg(u->fd, u->rmsg, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0 || rx_batch(u, set, n) == 0) {
      pthread_mutex_lock(&u->lock);
      u->free_sets[u->nfree++] = set;
      pthread_mutex_unlock(&u->lock);
      if (n < BATCH) return;
      continue;
    }
    if (js_set(u, set) < 0 || n < BATCH) return;
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

// start(fd, in, inLen, out, outLen, addr, counters, tag, replayStats, cb, threaded = true)
//   -> external handle. threaded: a receive thread replays and hands misses to the event loop;
//   false: the event loop polls the socket and does everything (rate limiting: nothing to replay).
static napi_value udp_start(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 10) {
    napi_throw_type_error(env, NULL, "portico_udp: start takes 10 arguments");
    return NULL;
  }
  int32_t fd;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  void *p[8];
  size_t sz[8];
  for (int i = 0; i < 8; i++) {
    if (typed_ptr(env, argv[1 + i], &p[i], &sz[i]) != 0) {
      napi_throw_type_error(env, NULL, "portico_udp: expected typed arrays");
      return NULL;
    }
  }
  if (sz[0] < BATCH * IN_SLOT || sz[1] < BATCH * 4 || sz[2] < (size_t)BATCH * OUT_SLOT || sz[3] < BATCH * 4 ||
      sz[4] < BATCH * ADDR_SLOT || sz[5] < C_COUNT * 8 || sz[6] < BATCH * 4 || sz[7] < 8) {
    napi_throw_range_error(env, NULL, "portico_udp: shared buffers too small");
    return NULL;
  }
  bool threaded = true;
  if (argc >= 11) {
    napi_valuetype t;
    if (napi_typeof(env, argv[10], &t) == napi_ok && t == napi_boolean) napi_get_value_bool(env, argv[10], &threaded);
  }
  udp_t *u = calloc(1, sizeof *u);
  if (!u) return throw_errno(env, "calloc");
  u->threaded = threaded;
  u->fd = fd;
  u->env = env;
  u->gen = 1;
  u->in = p[0];
  u->in_len = p[1];
  u->out = p[2];
  u->out_len = p[3];
  u->addr = p[4];
  u->counters = p[5];
  u->tag = p[6];
  u->rstats = p[7];
  u->nstats = sz[7] / sizeof(double);
  pthread_mutex_init(&u->lock, NULL);
  pthread_cond_init(&u->freed, NULL);
  for (int i = 0; i < NSETS; i++) {
    rset_t *set = malloc(sizeof *set);
    if (!set) {
      free_udp(u);
      return throw_errno(env, "malloc");
    }
    u->free_sets[u->nfree++] = set;
  }
  if (threaded) u->async = calloc(1, sizeof(uv_async_t) + 512);
  else u->poll = calloc(1, sizeof(uv_poll_t) + 512);
  if (!u->async && !u->poll) {
    free_udp(u);
    return throw_errno(env, "calloc");
  }
  if (threaded) {
    // The receive thread blocks in recvmmsg; the event loop sends with MSG_DONTWAIT. The timeout
    // only bounds how long stop() can wait for the thread should shutdown() not wake it.
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  uv_loop_t *loop;
  napi_value name;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok ||
      napi_create_string_utf8(env, "portico.dns.udp", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &u->actx) != napi_ok) {
    free_udp(u);
    napi_throw_error(env, NULL, "portico_udp: start: napi setup failed");
    return NULL;
  }
  int rc = threaded ? uv_async_init(loop, u->async, on_async) : uv_poll_init(loop, u->poll, fd);
  if (rc != 0) {
    free_udp(u);
    char msg[128];
    snprintf(msg, sizeof msg, "portico_udp: uv_%s_init: %s", threaded ? "async" : "poll", uv_strerror(rc));
    napi_throw_error(env, NULL, msg);
    return NULL;
  }
  if (threaded) u->async->data = u;
  else u->poll->data = u;
  for (int i = 0; i < 7; i++) CHECK(napi_create_reference(env, argv[1 + i], 1, &u->bufs[i]));
  CHECK(napi_create_reference(env, argv[9], 1, &u->cb));
  CHECK(napi_add_async_cleanup_hook(env, on_env_teardown, u, &u->hook));
  napi_value ext;
  if (!threaded) {
    rc = uv_poll_start(u->poll, UV_READABLE, on_poll);
    if (rc != 0) {
      u->closed = 1;
      uv_close((uv_handle_t *)u->poll, on_close);
      char msg[128];
      snprintf(msg, sizeof msg, "portico_udp: uv_poll_start: %s", uv_strerror(rc));
      napi_throw_error(env, NULL, msg);
      return NULL;
    }
    CHECK(napi_create_external(env, u, finalize_handle, NULL, &ext));
    return ext;
  }
  // Signals stay with Node's threads.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  rc = pthread_create(&u->thread, NULL, rx_main, u);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    u->closed = 1;
    uv_close((uv_handle_t *)u->async, on_close);
    errno = rc;
    return throw_errno(env, "pthread_create");
  }
  u->thread_started = 1;
  pthread_setname_np(u->thread, "portico-udp-rx"); // for top -H, perf, /proc/PID/task
  CHECK(napi_create_external(env, u, finalize_handle, NULL, &ext));
  return ext;
}

// stop(handle): stop the receive thread, release references, close the socket.
static napi_value udp_stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  udp_t *u;
  CHECK(napi_get_value_external(env, argv[0], (void **)&u));
  if (u->closed) return NULL;
  u->closed = 1;
  close_handle(u);
  // Closed now, not when the handle's close callback runs: the port is free once stop() returns.
  close(u->fd);
  u->fd = -1;
  for (int i = 0; i < 7; i++) napi_delete_reference(env, u->bufs[i]);
  napi_delete_reference(env, u->cb);
  napi_async_destroy(env, u->actx);
  return NULL;
}

// invalidate(handle): forget every replayable answer (the zone snapshot changed). Under the lock the
// receive thread looks up under: a datagram it reads after this returns cannot get an older answer.
static napi_value udp_invalidate(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  udp_t *u;
  CHECK(napi_get_value_external(env, argv[0], (void **)&u));
  pthread_mutex_lock(&u->lock);
  u->gen++;
  cache_clear(&u->cache);
  pthread_mutex_unlock(&u->lock);
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
