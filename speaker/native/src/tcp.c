// Outbound TCP for the BGP speaker: the socket options Node cannot set before connect().
//
// tcpConnect({ address, port, source?, md5Key?, ttl? }, onDone(err, fd)) -> { cancel() }
//   Creates a non-blocking TCP socket for `address` (IPv4 or IPv6 text), sets TCP_MD5SIG
//   (RFC 2385) with `md5Key` (a Buffer of 1..80 octets) for that peer address, IP_TTL or
//   IPV6_UNICAST_HOPS to `ttl` (1..255), binds `source` (port 0), and starts connect(). A uv_poll
//   handle on the libuv loop waits for the socket to become writable (connect done), reads
//   SO_ERROR, and calls onDone once: (null, fd) on success, the fd now owned by the caller (it
//   passes it to `new net.Socket({ fd })`, whose handle closes it); or (Error with .code, -1) on
//   failure, the fd closed here. The poll handle is fully closed (and the fd out of the loop's
//   epoll set) before onDone runs, so libuv's TCP handle can take the fd over.
//   cancel() before completion closes the socket and onDone is never called; after, it is a no-op.
//   Synchronous failures (bad address, setsockopt, bind, an immediate connect error) throw an
//   Error with .code (e.g. "EADDRNOTAVAIL") and leave nothing open.
//
// No privileges are needed: TCP_MD5SIG, IP_TTL and bind to a local address are unprivileged.
// The key is copied into the kernel and never logged or kept here.

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

typedef struct {
  napi_env env;
  uv_poll_t poll;
  int fd;
  int refs;       // the poll handle + the JS cancel function
  int finished;   // poll stopped (completed or cancelled)
  int cancelled;
  int error;      // errno of the connect, 0 on success
  napi_ref callback;
  napi_async_context async_context;
} tcp_dial;

static void dial_release(tcp_dial *d) {
  if (--d->refs == 0) free(d);
}

static napi_value make_error(napi_env env, const char *what, int err) {
  char msg[256];
  const char *name = strerrorname_np(err);
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value code, text, error;
  napi_create_string_utf8(env, name ? name : "EIO", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, code, text, &error);
  return error;
}

static napi_value throw_err(napi_env env, const char *what, int err) {
  napi_throw(env, make_error(env, what, err));
  return NULL;
}

static void on_poll_closed(uv_handle_t *handle) {
  tcp_dial *d = (tcp_dial *)handle->data;
  napi_env env = d->env;
  if (d->cancelled) {
    close(d->fd);
  } else {
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) == napi_ok) {
      napi_value argv[2], cb, global, result;
      if (d->error) {
        close(d->fd);
        argv[0] = make_error(env, "connect", d->error);
        napi_create_int32(env, -1, &argv[1]);
      } else {
        napi_get_null(env, &argv[0]);
        napi_create_int32(env, d->fd, &argv[1]);
      }
      napi_get_global(env, &global);
      if (napi_get_reference_value(env, d->callback, &cb) == napi_ok &&
          napi_make_callback(env, d->async_context, global, cb, 2, argv, &result) == napi_pending_exception) {
        napi_value err;
        napi_get_and_clear_last_exception(env, &err);
        napi_fatal_exception(env, err);
      }
      napi_close_handle_scope(env, scope);
    }
  }
  d->fd = -1;
  napi_delete_reference(env, d->callback);
  napi_async_destroy(env, d->async_context);
  d->callback = NULL;
  d->async_context = NULL;
  dial_release(d);
}

static void finish(tcp_dial *d) {
  if (d->finished) return;
  d->finished = 1;
  uv_poll_stop(&d->poll);  // also removes the fd from the loop's epoll set
  uv_close((uv_handle_t *)&d->poll, on_poll_closed);
}

static void on_writable(uv_poll_t *handle, int status, int events) {
  tcp_dial *d = (tcp_dial *)handle->data;
  (void)events;
  if (d->finished) return;
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err == 0 && status < 0) err = EIO;
  d->error = err;
  finish(d);
}

static napi_value js_cancel(napi_env env, napi_callback_info info) {
  tcp_dial *d;
  napi_get_cb_info(env, info, NULL, NULL, NULL, (void **)&d);
  if (!d->finished) {
    d->cancelled = 1;
    finish(d);
  }
  return NULL;
}

static void finalize_cancel(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  dial_release((tcp_dial *)data);
}

static int get_string(napi_env env, napi_value obj, const char *key, char *out, size_t size) {
  napi_value v;
  napi_valuetype t;
  bool has = false;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok || !has) return 0;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) return 0;
  napi_typeof(env, v, &t);
  if (t != napi_string) return 0;
  size_t n;
  if (napi_get_value_string_utf8(env, v, out, size, &n) != napi_ok) return 0;
  return n > 0 && n < size - 1 ? 1 : 0;
}

static int get_int(napi_env env, napi_value obj, const char *key, int32_t *out) {
  napi_value v;
  napi_valuetype t;
  bool has = false;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok || !has) return 0;
  napi_get_named_property(env, obj, key, &v);
  napi_typeof(env, v, &t);
  if (t != napi_number) return 0;
  return napi_get_value_int32(env, v, out) == napi_ok;
}

// Text address + port -> sockaddr; returns the family or 0.
static int to_sockaddr(const char *text, int port, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, text, &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    in4->sin_port = htons((uint16_t)port);
    *len = sizeof *in4;
    return AF_INET;
  }
  if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    *len = sizeof *in6;
    return AF_INET6;
  }
  return 0;
}

static napi_value js_tcp_connect(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_valuetype t0 = napi_undefined, t1 = napi_undefined;
  if (argc >= 2) {
    napi_typeof(env, argv[0], &t0);
    napi_typeof(env, argv[1], &t1);
  }
  if (t0 != napi_object || t1 != napi_function) {
    napi_throw_type_error(env, NULL, "tcpConnect(options, onDone): options object and function expected");
    return NULL;
  }
  char address[INET6_ADDRSTRLEN + 1], source[INET6_ADDRSTRLEN + 1];
  int32_t port = 0, ttl = 0;
  if (!get_string(env, argv[0], "address", address, sizeof address)) {
    napi_throw_type_error(env, NULL, "tcpConnect: options.address must be an IP address string");
    return NULL;
  }
  if (!get_int(env, argv[0], "port", &port) || port < 1 || port > 65535) {
    napi_throw_range_error(env, NULL, "tcpConnect: options.port must be 1..65535");
    return NULL;
  }
  int has_source = get_string(env, argv[0], "source", source, sizeof source);
  int has_ttl = get_int(env, argv[0], "ttl", &ttl);
  if (has_ttl && (ttl < 1 || ttl > 255)) {
    napi_throw_range_error(env, NULL, "tcpConnect: options.ttl must be 1..255");
    return NULL;
  }
  struct sockaddr_storage peer, local;
  socklen_t peer_len = 0, local_len = 0;
  int family = to_sockaddr(address, port, &peer, &peer_len);
  if (!family) {
    napi_throw_type_error(env, NULL, "tcpConnect: options.address is not an IPv4 or IPv6 address");
    return NULL;
  }
  if (has_source && to_sockaddr(source, 0, &local, &local_len) != family) {
    napi_throw_type_error(env, NULL, "tcpConnect: options.source must be an address of the peer's family");
    return NULL;
  }
  // The key: read straight into the kernel's struct, zeroed again before returning.
  struct tcp_md5sig sig;
  memset(&sig, 0, sizeof sig);
  bool has_key = false;
  napi_has_named_property(env, argv[0], "md5Key", &has_key);
  if (has_key) {
    napi_value v;
    bool is_buffer = false;
    napi_get_named_property(env, argv[0], "md5Key", &v);
    napi_is_buffer(env, v, &is_buffer);
    void *data;
    size_t len = 0;
    if (is_buffer) napi_get_buffer_info(env, v, &data, &len);
    if (!is_buffer || len < 1 || len > TCP_MD5SIG_MAXKEYLEN) {
      napi_throw_range_error(env, NULL, "tcpConnect: options.md5Key must be a Buffer of 1..80 octets");
      return NULL;
    }
    memcpy(sig.tcpm_key, data, len);
    sig.tcpm_keylen = (uint16_t)len;
    memcpy(&sig.tcpm_addr, &peer, peer_len);
  }

  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return throw_err(env, "socket", errno);
  const char *step = NULL;
  if (has_key && setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &sig, sizeof sig) < 0) step = "setsockopt(TCP_MD5SIG)";
  memset(&sig, 0, sizeof sig);
  if (!step && has_ttl) {
    int rc = family == AF_INET ? setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl)
                               : setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl);
    if (rc < 0) step = family == AF_INET ? "setsockopt(IP_TTL)" : "setsockopt(IPV6_UNICAST_HOPS)";
  }
  if (!step && has_source && bind(fd, (struct sockaddr *)&local, local_len) < 0) step = "bind";
  if (!step && connect(fd, (struct sockaddr *)&peer, peer_len) < 0 && errno != EINPROGRESS) step = "connect";
  if (step) {
    int err = errno;
    close(fd);
    return throw_err(env, step, err);
  }

  tcp_dial *d = calloc(1, sizeof *d);
  if (!d) {
    close(fd);
    return throw_err(env, "tcpConnect", ENOMEM);
  }
  d->env = env;
  d->fd = fd;
  d->refs = 2;
  napi_value resource_name, fn, handle;
  napi_create_string_utf8(env, "portico:tcpConnect", NAPI_AUTO_LENGTH, &resource_name);
  napi_create_reference(env, argv[1], 1, &d->callback);
  napi_async_init(env, NULL, resource_name, &d->async_context);
  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  int rc = uv_poll_init(loop, &d->poll, fd);
  if (rc == 0) {
    d->poll.data = d;
    rc = uv_poll_start(&d->poll, UV_WRITABLE, on_writable);
    if (rc != 0) {
      // Initialised but not started: close the handle without calling back.
      d->cancelled = 1;
      d->finished = 1;
      uv_close((uv_handle_t *)&d->poll, on_poll_closed);
      dial_release(d);  // the JS side never gets a cancel function
      napi_throw_error(env, "EIO", uv_strerror(rc));
      return NULL;
    }
  } else {
    close(fd);
    napi_delete_reference(env, d->callback);
    napi_async_destroy(env, d->async_context);
    free(d);
    napi_throw_error(env, "EIO", uv_strerror(rc));
    return NULL;
  }
  napi_create_object(env, &handle);
  napi_create_function(env, "cancel", NAPI_AUTO_LENGTH, js_cancel, d, &fn);
  napi_add_finalizer(env, fn, d, finalize_cancel, NULL, NULL);
  napi_set_named_property(env, handle, "cancel", fn);
  return handle;
}

napi_value portico_tcp_init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "tcpConnect", NAPI_AUTO_LENGTH, js_tcp_connect, NULL, &fn);
  napi_set_named_property(env, exports, "tcpConnect", fn);
  return exports;
}
