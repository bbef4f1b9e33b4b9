// Raw sockets for the speaker, in plain N-API (node_api.h) so one build loads in every Node
// version that speaks N-API 8; needs CAP_NET_RAW only.
//
// open(ifname, ethertype, onFrame(frame)) -> { ifname, ifindex, mac, send(frame), close() }
//   AF_PACKET: whole Ethernet frames of one ethertype on one interface (ARP is not an IP
//   protocol, so an IP raw socket cannot carry it).
// openIcmp6(ifname, types[], onMessage(msg, source, hopLimit))
//   -> { ifname, ifindex, send(dest16, msg), join(group16), leave(group16), close() }
//   An IPPROTO_ICMPV6 raw socket bound to one interface, passing only the ICMPv6 `types`, with
//   hop limit 255 for unicast and multicast (NDP receivers drop anything else), the received hop
//   limit reported (IPV6_RECVHOPLIMIT) so the caller can enforce RFC 4861 7.1.1, and multicast
//   group membership (IPV6_ADD_MEMBERSHIP). The kernel computes the ICMPv6 checksum.
// openLinkMonitor(onChange()) -> { close() }
//   A NETLINK_ROUTE socket on the link and IPv4/IPv6 address groups: calls back (no arguments)
//   after each burst of changes, so the speaker rescans its links without a child process.
//   (raw-socket 1.8 would do some of this, but its nan 2.19 does not compile for Node 24 and a
//   Node 20 build cannot load there.)
//
// Lifetime. One heap block (raw_sock) is shared by the uv_poll handle and the JS methods. It is
// freed when all let go: the handle in its uv_close callback, each method in its GC finalizer.
// The fd is closed only in the uv_close callback, never before, so libuv never polls a closed
// (or reused) descriptor. close() called from inside
// onFrame is safe: the receive loop checks `closing` after every callback.

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif
#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

// At most this many frames per poll wakeup, so a flood cannot starve the event loop; the poll
// is level-triggered and fires again for the rest.
#define MAX_FRAMES_PER_WAKEUP 64
#define FRAME_BUFFER 65536

enum sock_kind { KIND_PACKET, KIND_ICMP6, KIND_NETLINK };

typedef struct {
  enum sock_kind kind;
  napi_env env;
  uv_poll_t poll;
  int fd;
  int ifindex;
  int refs;      // the poll handle + one per JS method
  int closing;   // close requested; no more callbacks
  napi_ref callback;
  napi_ref receiver;
  napi_async_context async_context;
  unsigned char buffer[FRAME_BUFFER];
} raw_sock;

static void release(raw_sock *s) {
  // refs only changes on the JS thread (methods, finalizers, uv callbacks).
  if (--s->refs == 0) free(s);
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, err == EPERM || err == EACCES ? "EPERM" : NULL, msg);
  return NULL;
}

static void on_handle_closed(uv_handle_t *handle) {
  raw_sock *s = (raw_sock *)handle->data;
  close(s->fd);
  s->fd = -1;
  if (s->callback) napi_delete_reference(s->env, s->callback);
  if (s->receiver) napi_delete_reference(s->env, s->receiver);
  if (s->async_context) napi_async_destroy(s->env, s->async_context);
  s->callback = NULL;
  s->receiver = NULL;
  s->async_context = NULL;
  release(s);
}

static void begin_close(raw_sock *s) {
  if (s->closing) return;
  s->closing = 1;
  uv_poll_stop(&s->poll);
  uv_close((uv_handle_t *)&s->poll, on_handle_closed);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  raw_sock *s = (raw_sock *)handle->data;
  (void)events;
  if (s->closing) return;
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (status < 0) {
    // A poll error on a packet socket (e.g. the interface vanished). Stop polling; the JS side
    // learns about it from send() failing or a rescan.
    uv_poll_stop(&s->poll);
    napi_close_handle_scope(env, scope);
    return;
  }
  if (s->kind == KIND_NETLINK) {
    // Link/address notifications: the content does not matter (the caller rescans), only that
    // something changed. Drain everything, then call back once. ENOBUFS (we fell behind) is a
    // change too.
    int changed = 0;
    for (int i = 0; i < 1024; i++) {
      ssize_t n = recv(s->fd, s->buffer, sizeof s->buffer, MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == ENOBUFS) {
        changed = 1;
        continue;
      }
      if (n <= 0) break;
      changed = 1;
    }
    if (changed) {
      napi_value cb, recv_obj, result;
      if (napi_get_reference_value(env, s->callback, &cb) == napi_ok &&
          napi_get_reference_value(env, s->receiver, &recv_obj) == napi_ok &&
          napi_make_callback(env, s->async_context, recv_obj, cb, 0, NULL, &result) == napi_pending_exception) {
        napi_value err;
        napi_get_and_clear_last_exception(env, &err);
        napi_fatal_exception(env, err);
      }
    }
    napi_close_handle_scope(env, scope);
    return;
  }
  for (int i = 0; i < MAX_FRAMES_PER_WAKEUP && !s->closing; i++) {
    struct sockaddr_in6 from;
    char control[CMSG_SPACE(sizeof(int)) + 64];
    struct iovec iov = {.iov_base = s->buffer, .iov_len = sizeof s->buffer};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (s->kind == KIND_ICMP6) {
      mh.msg_name = &from;
      mh.msg_namelen = sizeof from;
      mh.msg_control = control;
      mh.msg_controllen = sizeof control;
    }
    ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // EAGAIN: drained. Other errors: wait for the next wakeup.
    }
    size_t len = (size_t)n;
    if (mh.msg_flags & MSG_TRUNC) continue;  // larger than 64 KiB: not ours to parse
    napi_handle_scope inner;
    if (napi_open_handle_scope(env, &inner) != napi_ok) break;
    napi_value argv[3], cb, recv_obj, result;
    size_t argc = 1;
    void *data;
    napi_status st = napi_create_buffer_copy(env, len, s->buffer, &data, &argv[0]);
    if (st == napi_ok && s->kind == KIND_ICMP6) {
      int hop_limit = -1;
      for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) memcpy(&hop_limit, CMSG_DATA(c), sizeof hop_limit);
      }
      char text[INET6_ADDRSTRLEN] = "";
      inet_ntop(AF_INET6, &from.sin6_addr, text, sizeof text);
      napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &argv[1]);
      napi_create_int32(env, hop_limit, &argv[2]);
      argc = 3;
    }
    if (st == napi_ok && napi_get_reference_value(env, s->callback, &cb) == napi_ok &&
        napi_get_reference_value(env, s->receiver, &recv_obj) == napi_ok) {
      st = napi_make_callback(env, s->async_context, recv_obj, cb, argc, argv, &result);
      if (st == napi_pending_exception) {
        napi_value err;
        napi_get_and_clear_last_exception(env, &err);
        napi_fatal_exception(env, err);  // -> process 'uncaughtException', like any callback
      }
    }
    napi_close_handle_scope(env, inner);
  }
  napi_close_handle_scope(env, scope);
}

static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  raw_sock *s;
  napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&s);
  if (s->closing) {
    napi_throw_error(env, "ECLOSED", "packet socket is closed");
    return NULL;
  }
  bool is_buffer = false;
  if (argc < 1 || napi_is_buffer(env, argv[0], &is_buffer) != napi_ok || !is_buffer) {
    napi_throw_type_error(env, NULL, "send(frame): frame must be a Buffer");
    return NULL;
  }
  void *data;
  size_t len;
  napi_get_buffer_info(env, argv[0], &data, &len);
  if (len < 14 || len > 65535) {
    napi_throw_range_error(env, NULL, "send(frame): frame must be 14..65535 bytes");
    return NULL;
  }
  ssize_t n;
  do {
    n = send(s->fd, data, len, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, "send", errno);
  return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  raw_sock *s;
  napi_get_cb_info(env, info, NULL, NULL, NULL, (void **)&s);
  begin_close(s);
  return NULL;
}

static void finalize_fn(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  release((raw_sock *)data);
}

static napi_value start_socket(napi_env env, enum sock_kind kind, int fd, const char *ifname,
                               unsigned int ifindex, napi_value callback);

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "open(ifname, ethertype, onFrame) needs 3 arguments");
    return NULL;
  }
  char ifname[IFNAMSIZ + 1];
  size_t ifname_len = 0;
  if (napi_get_value_string_utf8(env, argv[0], ifname, sizeof ifname, &ifname_len) != napi_ok ||
      ifname_len == 0 || ifname_len >= IFNAMSIZ) {
    napi_throw_type_error(env, NULL, "open: ifname must be a non-empty string shorter than 16 bytes");
    return NULL;
  }
  uint32_t ethertype = 0;
  if (napi_get_value_uint32(env, argv[1], &ethertype) != napi_ok || ethertype == 0 || ethertype > 0xffff) {
    napi_throw_type_error(env, NULL, "open: ethertype must be an integer 1..0xffff");
    return NULL;
  }
  napi_valuetype cb_type;
  napi_typeof(env, argv[2], &cb_type);
  if (cb_type != napi_function) {
    napi_throw_type_error(env, NULL, "open: onFrame must be a function");
    return NULL;
  }

  unsigned int ifindex = if_nametoindex(ifname);
  if (ifindex == 0) return throw_errno(env, "open: no such interface", errno ? errno : ENODEV);

  // Protocol 0 at socket() so nothing is queued before bind() narrows it to one interface and
  // one ethertype (otherwise frames from every interface could slip in first).
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "open: socket(AF_PACKET) (needs CAP_NET_RAW)", errno);
  int one = 1;
  // Best effort: kernels before 4.20 lack it; then our own sends loop back and the JS side
  // filters them by source MAC.
  setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons((uint16_t)ethertype);
  sll.sll_ifindex = (int)ifindex;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "open: bind", err);
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, ifname, ifname_len);
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "open: SIOCGIFHWADDR", err);
  }
  char mac[18];
  const unsigned char *hw = (const unsigned char *)ifr.ifr_hwaddr.sa_data;
  snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", hw[0], hw[1], hw[2], hw[3], hw[4], hw[5]);

  napi_value obj = start_socket(env, KIND_PACKET, fd, ifname, ifindex, argv[2]);
  if (!obj) return NULL;
  napi_value v;
  napi_create_string_utf8(env, mac, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "mac", v);
  return obj;
}

static void add_method(napi_env env, napi_value obj, const char *name, napi_callback fn, raw_sock *s) {
  napi_value f;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, s, &f);
  s->refs++;
  napi_add_finalizer(env, f, s, finalize_fn, NULL, NULL);
  napi_set_named_property(env, obj, name, f);
}

static napi_value js_icmp6_send(napi_env env, napi_callback_info info);
static napi_value js_icmp6_join(napi_env env, napi_callback_info info);
static napi_value js_icmp6_leave(napi_env env, napi_callback_info info);

// Wraps an open, bound fd in the shared poll machinery and builds the JS object. Takes ownership
// of fd (closes it on failure).
static napi_value start_socket(napi_env env, enum sock_kind kind, int fd, const char *ifname,
                               unsigned int ifindex, napi_value callback) {
  raw_sock *s = calloc(1, sizeof *s);
  if (!s) {
    close(fd);
    napi_throw_error(env, NULL, "open: out of memory");
    return NULL;
  }
  s->kind = kind;
  s->env = env;
  s->fd = fd;
  s->ifindex = (int)ifindex;
  s->refs = 1;  // the poll handle
  s->poll.data = s;

  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  int rc = uv_poll_init_socket(loop, &s->poll, fd);
  if (rc != 0) {
    close(fd);
    free(s);
    napi_throw_error(env, NULL, uv_strerror(rc));
    return NULL;
  }

  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_create_uint32(env, ifindex, &v);
  napi_set_named_property(env, obj, "ifindex", v);
  napi_create_string_utf8(env, ifname, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "ifname", v);
  if (kind == KIND_PACKET) {
    add_method(env, obj, "send", js_send, s);
  } else if (kind == KIND_ICMP6) {
    add_method(env, obj, "send", js_icmp6_send, s);
    add_method(env, obj, "join", js_icmp6_join, s);
    add_method(env, obj, "leave", js_icmp6_leave, s);
  }
  add_method(env, obj, "close", js_close, s);

  // The callback and its receiver stay alive until close: the socket may be the only thing
  // holding them. napi_make_callback needs an object receiver and an async context.
  napi_create_reference(env, callback, 1, &s->callback);
  napi_create_reference(env, obj, 1, &s->receiver);
  napi_value resource_name;
  napi_create_string_utf8(env, kind == KIND_PACKET  ? "portico.packet"
                               : kind == KIND_ICMP6 ? "portico.icmp6"
                                                    : "portico.netlink",
                          NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, obj, resource_name, &s->async_context);

  rc = uv_poll_start(&s->poll, UV_READABLE, on_readable);
  if (rc != 0) {
    begin_close(s);
    napi_throw_error(env, NULL, uv_strerror(rc));
    return NULL;
  }
  return obj;
}

// ---- ICMPv6 ----

static int get_addr16(napi_env env, napi_value v, struct in6_addr *out) {
  bool is_buffer = false;
  void *data;
  size_t len;
  if (napi_is_buffer(env, v, &is_buffer) != napi_ok || !is_buffer) return 0;
  napi_get_buffer_info(env, v, &data, &len);
  if (len != 16) return 0;
  memcpy(out, data, 16);
  return 1;
}

static napi_value js_icmp6_send(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  raw_sock *s;
  napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&s);
  if (s->closing) {
    napi_throw_error(env, "ECLOSED", "ICMPv6 socket is closed");
    return NULL;
  }
  struct sockaddr_in6 to;
  memset(&to, 0, sizeof to);
  to.sin6_family = AF_INET6;
  bool is_buffer = false;
  if (argc < 2 || !get_addr16(env, argv[0], &to.sin6_addr) || napi_is_buffer(env, argv[1], &is_buffer) != napi_ok ||
      !is_buffer) {
    napi_throw_type_error(env, NULL, "send(destination: 16-byte Buffer, message: Buffer, source?: 16-byte Buffer)");
    return NULL;
  }
  // Link-local and multicast destinations are ambiguous without a zone: this interface.
  to.sin6_scope_id = (uint32_t)s->ifindex;
  void *data;
  size_t len;
  napi_get_buffer_info(env, argv[1], &data, &len);
  if (len < 4 || len > 1280) {
    napi_throw_range_error(env, NULL, "send: message must be 4..1280 bytes");
    return NULL;
  }
  // Optional source address (IPV6_PKTINFO): an NA for a VIP leaves *from* the VIP, as it would
  // from a host that has the address configured; some resolvers (ndisc6) insist on it. The
  // socket has IPV6_FREEBIND so the kernel accepts a source that is not configured here.
  union {
    char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
    struct cmsghdr align;
  } control;
  struct iovec iov = {.iov_base = data, .iov_len = len};
  struct msghdr mh = {.msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov, .msg_iovlen = 1};
  napi_valuetype t = napi_undefined;
  if (argc >= 3) napi_typeof(env, argv[2], &t);
  if (t != napi_undefined && t != napi_null) {
    struct in6_pktinfo pi;
    memset(&pi, 0, sizeof pi);
    if (!get_addr16(env, argv[2], &pi.ipi6_addr)) {
      napi_throw_type_error(env, NULL, "send: source must be a 16-byte Buffer");
      return NULL;
    }
    pi.ipi6_ifindex = (unsigned int)s->ifindex;
    memset(&control, 0, sizeof control);
    mh.msg_control = control.buf;
    mh.msg_controllen = sizeof control.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof pi);
    memcpy(CMSG_DATA(c), &pi, sizeof pi);
  }
  ssize_t n;
  do {
    n = sendmsg(s->fd, &mh, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, "send", errno);
  return NULL;
}

static napi_value membership(napi_env env, napi_callback_info info, int option) {
  size_t argc = 1;
  napi_value argv[1];
  raw_sock *s;
  napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&s);
  if (s->closing) {
    napi_throw_error(env, "ECLOSED", "ICMPv6 socket is closed");
    return NULL;
  }
  struct ipv6_mreq mreq;
  memset(&mreq, 0, sizeof mreq);
  if (argc < 1 || !get_addr16(env, argv[0], &mreq.ipv6mr_multiaddr)) {
    napi_throw_type_error(env, NULL, "join/leave(group: 16-byte Buffer)");
    return NULL;
  }
  mreq.ipv6mr_interface = (unsigned int)s->ifindex;
  if (setsockopt(s->fd, IPPROTO_IPV6, option, &mreq, sizeof mreq) < 0) {
    return throw_errno(env, option == IPV6_ADD_MEMBERSHIP ? "join" : "leave", errno);
  }
  return NULL;
}

static napi_value js_icmp6_join(napi_env env, napi_callback_info info) {
  return membership(env, info, IPV6_ADD_MEMBERSHIP);
}

static napi_value js_icmp6_leave(napi_env env, napi_callback_info info) {
  return membership(env, info, IPV6_DROP_MEMBERSHIP);
}

static napi_value js_open_icmp6(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "openIcmp6(ifname, types, onMessage) needs 3 arguments");
    return NULL;
  }
  char ifname[IFNAMSIZ + 1];
  size_t ifname_len = 0;
  if (napi_get_value_string_utf8(env, argv[0], ifname, sizeof ifname, &ifname_len) != napi_ok ||
      ifname_len == 0 || ifname_len >= IFNAMSIZ) {
    napi_throw_type_error(env, NULL, "openIcmp6: ifname must be a non-empty string shorter than 16 bytes");
    return NULL;
  }
  bool is_array = false;
  napi_is_array(env, argv[1], &is_array);
  napi_valuetype cb_type;
  napi_typeof(env, argv[2], &cb_type);
  if (!is_array || cb_type != napi_function) {
    napi_throw_type_error(env, NULL, "openIcmp6: types must be an array of numbers and onMessage a function");
    return NULL;
  }
  struct icmp6_filter filter;
  ICMP6_FILTER_SETBLOCKALL(&filter);
  uint32_t count = 0;
  napi_get_array_length(env, argv[1], &count);
  for (uint32_t i = 0; i < count; i++) {
    napi_value e;
    uint32_t type;
    napi_get_element(env, argv[1], i, &e);
    if (napi_get_value_uint32(env, e, &type) != napi_ok || type > 255) {
      napi_throw_type_error(env, NULL, "openIcmp6: ICMPv6 types are 0..255");
      return NULL;
    }
    ICMP6_FILTER_SETPASS(type, &filter);
  }
  unsigned int ifindex = if_nametoindex(ifname);
  if (ifindex == 0) return throw_errno(env, "openIcmp6: no such interface", errno ? errno : ENODEV);

  int fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
  if (fd < 0) return throw_errno(env, "openIcmp6: socket(AF_INET6, SOCK_RAW) (needs CAP_NET_RAW)", errno);
  int one = 1, zero = 0, hops = 255, idx = (int)ifindex;
  struct {
    int level, option;
    const void *value;
    socklen_t len;
    const char *what;
  } opts[] = {
      {SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)ifname_len + 1, "SO_BINDTODEVICE"},
      {IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter, "ICMP6_FILTER"},
      {IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof one, "IPV6_RECVHOPLIMIT"},
      {IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof hops, "IPV6_UNICAST_HOPS"},
      {IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops, "IPV6_MULTICAST_HOPS"},
      {IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof idx, "IPV6_MULTICAST_IF"},
      {IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &zero, sizeof zero, "IPV6_MULTICAST_LOOP"},
      {IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof one, "IPV6_FREEBIND"},
  };
  for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
    if (setsockopt(fd, opts[i].level, opts[i].option, opts[i].value, opts[i].len) < 0) {
      int err = errno;
      close(fd);
      char what[96];
      snprintf(what, sizeof what, "openIcmp6: setsockopt %s", opts[i].what);
      return throw_errno(env, what, err);
    }
  }
  return start_socket(env, KIND_ICMP6, fd, ifname, ifindex, argv[2]);
}

// ---- netlink link/address monitor ----

static napi_value js_open_link_monitor(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_valuetype cb_type = napi_undefined;
  if (argc >= 1) napi_typeof(env, argv[0], &cb_type);
  if (cb_type != napi_function) {
    napi_throw_type_error(env, NULL, "openLinkMonitor(onChange): onChange must be a function");
    return NULL;
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return throw_errno(env, "openLinkMonitor: socket(AF_NETLINK)", errno);
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "openLinkMonitor: bind", err);
  }
  return start_socket(env, KIND_NETLINK, fd, "", 0, argv[0]);
}

// speaker/native/src/tcp.c: tcpConnect (TCP MD5, TTL and source address before connect).
napi_value portico_tcp_init(napi_env env, napi_value exports);

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "open", NAPI_AUTO_LENGTH, js_open, NULL, &fn);
  napi_set_named_property(env, exports, "open", fn);
  napi_create_function(env, "openIcmp6", NAPI_AUTO_LENGTH, js_open_icmp6, NULL, &fn);
  napi_set_named_property(env, exports, "openIcmp6", fn);
  napi_create_function(env, "openLinkMonitor", NAPI_AUTO_LENGTH, js_open_link_monitor, NULL, &fn);
  napi_set_named_property(env, exports, "openLinkMonitor", fn);
  return portico_tcp_init(env, exports);
}
