/* The real world's network: non-blocking TCP sockets on epoll
 * (level-triggered), with Kafka's framing done here so the node sees whole
 * frames: each frame is a 4-byte big-endian length, then that many bytes
 * (Kafka protocol guide, "Network"; the size excludes the 4 bytes).
 *
 * Reading: up to 64 KiB per read() into a per-connection buffer, frames
 * copied out of it, so a burst of small requests costs one syscall; a frame
 * too big for that buffer is read straight into its own allocation.
 * Writing: send() only queues (memory parts copied, file parts kept as a
 * dup()ed fd and a range); the loop writes every queued connection before it
 * sleeps, with sendmsg() for runs of memory and sendfile() for file ranges,
 * and watches EPOLLOUT only while bytes stay queued.
 * Budgets (env_net_limits, issue 13): a frame too big for the read buffer
 * reserves its claimed length from queued.max.request.bytes before its body
 * is read, and waits unread while the budget is taken (as Kafka's memory
 * pool mutes a channel, KIP-72); max.connections and max.connections.per.ip
 * are checked at accept, a refused socket closed at once and logged once
 * per burst (the first refusal, then a count when one is accepted again).
 * The node pauses reading a connection (env->read_pause) for its own
 * budgets; a paused connection watches only for its peer going away.
 * Closing: the connection leaves the id table at once and its closed event
 * comes on the next iteration; the struct itself is freed at the end of the
 * iteration, after any epoll event in the current batch that points at it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/assert.h"
#include "os/internal.h"

enum {
  READ_BUF_BYTES = 64 * 1024,
  FRAME_CHUNK_BYTES = 1024 * 1024, /* a big frame's buffer grows by doubling from here */
  OUT_CHUNK_BYTES = 16 * 1024,
  IO_ROUNDS_MAX = 16, /* read or write syscalls per connection per iteration */
  WRITE_IOV_MAX = 64,
  ACCEPT_BATCH_MAX = 64,
  ACCEPT_BACKOFF_MS = 100,
  SEND_IOV_COUNT_MAX = 1 << 20,
  OUT_PARTS_MAX = 1 << 30,
  CONNS_MAX = 1 << 24,
  ADDRS_MAX = 64,
  LISTEN_BACKLOG = 1024,
};
/* Back-pressure: a connection with more than this queued is not read until
 * its peer drains it (a consumer that fetches and never reads). */
#define SEND_QUEUE_PAUSE_BYTES ((size_t)64 << 20)
#define SENDFILE_CHUNK_BYTES   ((size_t)1 << 30)

struct os_listener {
  struct os_handle handle;
  struct os_world *world;
  uint32_t id;
  int fd;
  uint16_t port;
  uint32_t frame_bytes_max;
};

/* One part of a connection's output queue. */
struct out_part {
  struct out_part *next;
  int fd;                 /* >= 0: a file range (the fd of `file`); -1: memory */
  env_file file;          /* the broker's file, referenced (os_disk_send_ref) */
  uint64_t file_offset;   /* file: the next byte to send */
  size_t file_len;        /* file: bytes still to send */
  size_t start, end, cap; /* memory: data[start, end) still to send */
  uint8_t data[];
};

enum conn_state { CONN_CONNECTING = 1, CONN_OPEN, CONN_CLOSED };

struct os_conn {
  struct os_handle handle;
  struct os_world *world;
  env_conn_id id;
  int fd;
  enum conn_state state;
  uint32_t frame_bytes_max;
  uint32_t epoll_mask; /* what epoll watches now */
  bool flush_listed;
  struct os_conn *flush_next, *dead_next;
  struct addrinfo *addrs, *addr_next; /* connecting: the addresses left to try */
  uint8_t *in;                        /* READ_BUF_BYTES, allocated on first read */
  size_t in_start, in_end;
  uint8_t *frame; /* a frame bigger than `in`, being read */
  size_t frame_len, frame_have, frame_cap;
  struct out_part *out_head, *out_tail;
  size_t out_bytes;
  bool node_paused;          /* env->read_pause */
  bool receive_waiting;      /* on the world's receive_waiters */
  struct os_conn *wait_next; /* the world's receive_waiters */
  uint64_t reserved_bytes;   /* its share of receive_reserved_bytes: the frame being read */
  uint64_t addr_key;         /* accepted: its client address in per_addr; 0: not counted */
  char peer_host[64];        /* accepted: the client's numeric address (IPv6 fits) */
};

static int err_now(void) { return os_err_from_errno(errno); }

static bool conn_paused(const struct os_conn *c) {
  return c->out_bytes > SEND_QUEUE_PAUSE_BYTES || c->node_paused || c->receive_waiting;
}

/* Frames already read are held back too while the node or the budget says
 * wait (the send queue's pause only stops reading). */
static bool conn_holds_frames(const struct os_conn *c) {
  return c->node_paused || c->receive_waiting;
}

static void frame_len_put(uint8_t out[4], uint32_t len) {
  out[0] = (uint8_t)(len >> 24);
  out[1] = (uint8_t)(len >> 16);
  out[2] = (uint8_t)(len >> 8);
  out[3] = (uint8_t)len;
}

static uint32_t frame_len_get(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* --- connection lifecycle ---------------------------------------------------- */

static void conn_watch(struct os_conn *c) {
  ASSERT(c->state != CONN_CLOSED && c->fd >= 0);
  uint32_t mask = EPOLLOUT;
  if (c->state == CONN_OPEN) /* paused: still hear the peer leave */
    mask = (conn_paused(c) ? EPOLLRDHUP : EPOLLIN) | (c->out_head ? EPOLLOUT : 0);
  if (mask == c->epoll_mask) return;
  struct epoll_event ev = {.events = mask, .data.ptr = &c->handle};
  int rc = epoll_ctl(c->world->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
  ASSERT(rc == 0);
  c->epoll_mask = mask;
}

/* Adds a fresh fd to epoll; fails only when the kernel is out of watches. */
static int conn_register(struct os_conn *c, uint32_t mask) {
  struct epoll_event ev = {.events = mask, .data.ptr = &c->handle};
  if (epoll_ctl(c->world->epoll_fd, EPOLL_CTL_ADD, c->fd, &ev) != 0) return err_now();
  c->epoll_mask = mask;
  return 0;
}

static struct os_conn *conn_new(struct os_world *w, int fd, enum conn_state state,
                                uint32_t frame_bytes_max) {
  ASSERT(w->conns.count < CONNS_MAX);
  struct os_conn *c = calloc(1, sizeof *c);
  ASSERT(c != NULL);
  c->handle.kind = OS_HANDLE_CONN;
  c->world = w;
  c->id = w->conn_next_id++;
  c->fd = fd;
  c->state = state;
  c->frame_bytes_max = frame_bytes_max;
  os_idmap_put(&w->conns, c->id, c);
  return c;
}

static void out_free_all(struct os_conn *c) {
  struct out_part *p = c->out_head;
  for (int n = 0; p && n < OUT_PARTS_MAX; n++) {
    struct out_part *next = p->next;
    if (p->fd >= 0) os_disk_send_unref(c->world, p->file);
    free(p);
    p = next;
  }
  c->out_head = c->out_tail = NULL;
  ASSERT(c->world->out_bytes_total >= c->out_bytes);
  c->world->out_bytes_total -= c->out_bytes;
  c->out_bytes = 0;
}

/* Frees what conn_end left: nothing in the loop can reach `c` any more. */
static void conn_free(struct os_conn *c) {
  if (c->fd >= 0) close(c->fd);
  out_free_all(c);
  if (c->addrs) freeaddrinfo(c->addrs);
  free(c->in);
  free(c->frame);
  free(c);
}

/* --- budgets ------------------------------------------------------------------ */

static void conn_resume_fired(void *ctx);

struct conn_resume {
  struct os_world *world;
  env_conn_id id;
};

/* Looks at the connection again from the loop (a zero-delay timer, named by
 * id: the connection may be gone by then): frames already in its buffer are
 * parsed, and reading resumes unless it is still paused. */
static void conn_resume_later(struct os_conn *c) {
  struct os_world *w = c->world;
  struct conn_resume *r = malloc(sizeof *r);
  ASSERT(r != NULL);
  *r = (struct conn_resume){w, c->id};
  w->env.timer_start(&w->env, 0, conn_resume_fired, r);
}

static void receive_unwait(struct os_conn *c) {
  struct os_world *w = c->world;
  if (!c->receive_waiting) return;
  struct os_conn **at = &w->receive_waiters, *prev = NULL;
  for (uint32_t n = 0; *at && *at != c && n < CONNS_MAX; n++) {
    prev = *at;
    at = &(*at)->wait_next;
  }
  ASSERT(*at == c);
  *at = c->wait_next;
  if (w->receive_waiters_last == c) w->receive_waiters_last = prev;
  c->wait_next = NULL;
  c->receive_waiting = false;
}

/* Budget came free: every waiter tries again, oldest first. */
static void receive_wake_all(struct os_world *w) {
  struct os_conn *c = w->receive_waiters;
  w->receive_waiters = w->receive_waiters_last = NULL;
  for (uint32_t n = 0; c && n < CONNS_MAX; n++) {
    struct os_conn *next = c->wait_next;
    c->wait_next = NULL;
    c->receive_waiting = false;
    conn_resume_later(c);
    c = next;
  }
}

/* Reserves a big frame's claimed length, or puts the connection on the
 * waiters (false). One frame always fits when nothing is reserved. */
static bool receive_reserve(struct os_conn *c, uint32_t len) {
  struct os_world *w = c->world;
  ASSERT(c->reserved_bytes == 0 && !c->receive_waiting);
  uint64_t max = w->limits.receive_bytes_max;
  if (max != 0 && w->receive_reserved_bytes != 0 && w->receive_reserved_bytes + len > max) {
    c->receive_waiting = true;
    if (w->receive_waiters_last)
      w->receive_waiters_last->wait_next = c;
    else
      w->receive_waiters = c;
    w->receive_waiters_last = c;
    return false;
  }
  c->reserved_bytes = len;
  w->receive_reserved_bytes += len;
  return true;
}

static void receive_release(struct os_conn *c) {
  struct os_world *w = c->world;
  if (c->reserved_bytes == 0) return;
  ASSERT(w->receive_reserved_bytes >= c->reserved_bytes);
  w->receive_reserved_bytes -= c->reserved_bytes;
  c->reserved_bytes = 0;
  receive_wake_all(w);
}

/* Its client address, for max.connections.per.ip: IPv4 as is, IPv6 hashed
 * (FNV-1a; the top bit keeps the two apart, and a key is never 0). */
static uint64_t addr_key_of(const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET)
    return (uint64_t)1 << 32 | ((const struct sockaddr_in *)ss)->sin_addr.s_addr;
  const uint8_t *b = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
  uint64_t h = 14695981039346656037ull;
  for (int i = 0; i < 16; i++) h = (h ^ b[i]) * 1099511628211ull;
  return h | (uint64_t)1 << 63;
}

static uint32_t addr_count(struct os_world *w, uint64_t key) {
  return (uint32_t)(uintptr_t)os_idmap_get(&w->per_addr, key);
}

static void addr_count_set(struct os_world *w, uint64_t key, uint32_t n) {
  if (n == 0)
    os_idmap_remove(&w->per_addr, key);
  else
    os_idmap_put(&w->per_addr, key, (void *)(uintptr_t)n);
}

/* An accepted connection counts against max.connections(.per.ip). */
static void conn_count(struct os_conn *c, uint64_t key) {
  struct os_world *w = c->world;
  c->addr_key = key;
  w->inbound_count++;
  addr_count_set(w, key, addr_count(w, key) + 1);
}

static void conn_uncount(struct os_conn *c) {
  struct os_world *w = c->world;
  if (c->addr_key == 0) return;
  uint32_t n = addr_count(w, c->addr_key);
  ASSERT(n > 0 && w->inbound_count > 0);
  addr_count_set(w, c->addr_key, n - 1);
  w->inbound_count--;
  c->addr_key = 0;
}

/* The connection is over: the socket goes now, the struct at the end of the
 * iteration, and the node hears `kind` (closed, or connected with an error)
 * on the next iteration, never from inside the call that ended it. */
static void conn_end(struct os_conn *c, int err, enum os_event_kind kind) {
  ASSERT(c->state != CONN_CLOSED);
  ASSERT(kind == OS_EVENT_CLOSED || (kind == OS_EVENT_CONNECTED && err != 0));
  struct os_world *w = c->world;
  if (c->fd >= 0) {
    epoll_ctl(w->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
  }
  out_free_all(c);
  receive_unwait(c);
  receive_release(c);
  conn_uncount(c);
  c->state = CONN_CLOSED;
  void *removed = os_idmap_remove(&w->conns, c->id);
  ASSERT(removed == c);
  c->dead_next = w->dead_list;
  w->dead_list = c;
  struct os_event ev = {.kind = kind, .err = err, .conn = c->id};
  os_event_push(w, &ev);
}

static int sock_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  return err == 0 ? 0 : os_err_from_errno(err);
}

static void sock_nodelay(int fd) {
  int one = 1; /* requests and responses are whole frames: do not wait for more */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* --- reading --------------------------------------------------------------- */

static void frames_parse(struct os_conn *c);

static void frame_deliver(struct os_conn *c, uint8_t *data, size_t len) {
  const struct env_net_handler *h = &c->world->handler;
  if (h->frame)
    h->frame(h->ctx, c->id, data, len);
  else
    free(data);
}

/* Copies every whole frame out of the read buffer. Each callback may close
 * this connection; then nothing more is delivered. */
static void frames_parse(struct os_conn *c) {
  for (int n = 0; n <= READ_BUF_BYTES / 4 && c->state == CONN_OPEN && !conn_holds_frames(c);
       n++) {
    size_t avail = c->in_end - c->in_start;
    if (avail < 4) break;
    const uint8_t *p = c->in + c->in_start;
    uint32_t len = frame_len_get(p);
    if (len > INT32_MAX || len > c->frame_bytes_max) {
      conn_end(c, ENV_EINVAL, OS_EVENT_CLOSED); /* a negative or oversized length */
      return;
    }
    if (avail - 4 >= len) {
      uint8_t *data = malloc(len > 0 ? len : 1);
      ASSERT(data != NULL);
      memcpy(data, p + 4, len);
      c->in_start += 4 + (size_t)len;
      frame_deliver(c, data, len);
      continue;
    }
    if (4 + (size_t)len > READ_BUF_BYTES) { /* read the rest straight into its own buffer */
      if (!receive_reserve(c, len)) break;  /* its header waits in the buffer */
      c->frame_len = len;
      c->frame_have = avail - 4;
      c->frame_cap = len < FRAME_CHUNK_BYTES ? len : FRAME_CHUNK_BYTES;
      c->frame = malloc(c->frame_cap);
      ASSERT(c->frame != NULL);
      memcpy(c->frame, p + 4, c->frame_have);
      c->in_start = c->in_end = 0;
    }
    break;
  }
  if (c->in_start == c->in_end) c->in_start = c->in_end = 0;
}

/* Where the next read() goes and how much it may bring. */
static uint8_t *read_target(struct os_conn *c, size_t *want) {
  if (c->frame) {
    if (c->frame_have == c->frame_cap) { /* grow as bytes arrive, not on a header's word */
      c->frame_cap = c->frame_cap > c->frame_len / 2 ? c->frame_len : c->frame_cap * 2;
      uint8_t *grown = realloc(c->frame, c->frame_cap);
      ASSERT(grown != NULL);
      c->frame = grown;
    }
    *want = c->frame_cap - c->frame_have;
    return c->frame + c->frame_have;
  }
  if (!c->in) {
    c->in = malloc(READ_BUF_BYTES);
    ASSERT(c->in != NULL);
  }
  if (c->in_start > 0) {
    memmove(c->in, c->in + c->in_start, c->in_end - c->in_start);
    c->in_end -= c->in_start;
    c->in_start = 0;
  }
  *want = READ_BUF_BYTES - c->in_end;
  return c->in + c->in_end;
}

static void read_done(struct os_conn *c, size_t n) {
  if (!c->frame) {
    c->in_end += n;
    frames_parse(c);
    return;
  }
  c->frame_have += n;
  ASSERT(c->frame_have <= c->frame_len);
  if (c->frame_have < c->frame_len) return;
  uint8_t *data = c->frame;
  size_t len = c->frame_len;
  c->frame = NULL;
  c->frame_len = c->frame_have = c->frame_cap = 0;
  receive_release(c); /* the node holds it now, under its own budget */
  frame_deliver(c, data, len);
}

static void conn_read(struct os_conn *c) {
  for (int round = 0; round < IO_ROUNDS_MAX && c->state == CONN_OPEN && !conn_paused(c);
       round++) {
    size_t want;
    uint8_t *at = read_target(c, &want);
    ASSERT(want > 0);
    ssize_t n = read(c->fd, at, want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) { /* 0: the peer closed; else a reset or another error */
      conn_end(c, n == 0 ? 0 : err_now(), OS_EVENT_CLOSED);
      break;
    }
    read_done(c, (size_t)n);
    if ((size_t)n < want) break; /* drained; epoll says when more comes */
  }
  if (c->state == CONN_OPEN) conn_watch(c); /* a budget may have paused it */
}

static void conn_resume_fired(void *ctx) {
  struct conn_resume r = *(struct conn_resume *)ctx;
  free(ctx);
  struct os_conn *c = os_idmap_get(&r.world->conns, r.id);
  if (!c || c->state != CONN_OPEN) return;
  frames_parse(c);
  if (c->state == CONN_OPEN) conn_watch(c);
}

/* --- writing --------------------------------------------------------------- */

static struct out_part *out_push_new(struct os_conn *c, size_t cap) {
  struct out_part *p = malloc(sizeof *p + cap);
  ASSERT(p != NULL);
  *p = (struct out_part){.fd = -1, .cap = cap};
  if (c->out_tail)
    c->out_tail->next = p;
  else
    c->out_head = p;
  c->out_tail = p;
  return p;
}

static void out_append_mem(struct os_conn *c, const void *src, size_t len) {
  struct out_part *t = c->out_tail;
  size_t room = t && t->fd < 0 ? t->cap - t->end : 0;
  size_t first = room < len ? room : len;
  if (first > 0) {
    memcpy(t->data + t->end, src, first);
    t->end += first;
  }
  if (len > first) {
    size_t rest = len - first;
    struct out_part *p = out_push_new(c, rest > OUT_CHUNK_BYTES ? rest : OUT_CHUNK_BYTES);
    memcpy(p->data, (const uint8_t *)src + first, rest);
    p->end = rest;
  }
  c->out_bytes += len;
  c->world->out_bytes_total += len;
}

/* The reference keeps the segment readable after the log closes (an evicted
 * or deleted segment) or unlinks it, without a descriptor per queued
 * response: however many responses name a file, it costs one. */
static int out_append_file(struct os_conn *c, env_file file, uint64_t offset, size_t len) {
  int fd = os_disk_fd(c->world, file);
  if (fd < 0) return ENV_EINVAL;
  os_disk_send_ref(c->world, file);
  struct out_part *p = out_push_new(c, 0);
  p->fd = fd;
  p->file = file;
  p->file_offset = offset;
  p->file_len = len;
  c->out_bytes += len;
  c->world->out_bytes_total += len;
  return 0;
}

static size_t part_left(const struct out_part *p) {
  return p->fd >= 0 ? p->file_len : p->end - p->start;
}

static void out_consume(struct os_conn *c, size_t n) {
  ASSERT(n <= c->out_bytes && n <= c->world->out_bytes_total);
  c->out_bytes -= n;
  c->world->out_bytes_total -= n;
  for (int k = 0; n > 0 && k < OUT_PARTS_MAX; k++) {
    struct out_part *p = c->out_head;
    ASSERT(p != NULL);
    size_t left = part_left(p);
    if (n < left) {
      if (p->fd >= 0)
        p->file_offset += n, p->file_len -= n;
      else
        p->start += n;
      return;
    }
    n -= left;
    c->out_head = p->next;
    if (!c->out_head) c->out_tail = NULL;
    if (p->fd >= 0) os_disk_send_unref(c->world, p->file);
    free(p);
  }
}

/* One write syscall: a run of memory parts with sendmsg(), or the head's
 * file range with sendfile() (explicit offset: the fd's position is unused). */
static ssize_t write_once(struct os_conn *c) {
  struct out_part *p = c->out_head;
  if (p->fd >= 0) {
    off_t off = (off_t)p->file_offset;
    size_t len = p->file_len < SENDFILE_CHUNK_BYTES ? p->file_len : SENDFILE_CHUNK_BYTES;
    return sendfile(c->fd, p->fd, &off, len);
  }
  struct iovec iov[WRITE_IOV_MAX];
  int n = 0;
  for (; p && p->fd < 0 && n < WRITE_IOV_MAX; p = p->next)
    iov[n++] = (struct iovec){.iov_base = p->data + p->start, .iov_len = p->end - p->start};
  struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n};
  return sendmsg(c->fd, &msg, MSG_NOSIGNAL);
}

static void conn_write(struct os_conn *c) {
  ASSERT(c->state == CONN_OPEN);
  for (int round = 0; round < IO_ROUNDS_MAX && c->out_head; round++) {
    ssize_t n = write_once(c);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) { /* 0: sendfile found the file shorter than the frame promised */
      conn_end(c, n == 0 ? ENV_EIO : err_now(), OS_EVENT_CLOSED);
      return;
    }
    out_consume(c, (size_t)n);
  }
  conn_watch(c);
}

static void flush_add(struct os_conn *c) {
  if (c->flush_listed) return;
  c->flush_listed = true;
  c->flush_next = c->world->flush_list;
  c->world->flush_list = c;
}

void os_net_flush(struct os_world *w) {
  for (int n = 0; w->flush_list && n < CONNS_MAX; n++) {
    struct os_conn *c = w->flush_list;
    w->flush_list = c->flush_next;
    c->flush_listed = false;
    c->flush_next = NULL;
    if (c->state == CONN_OPEN) conn_write(c);
  }
}

void os_net_reap(struct os_world *w) {
  for (int n = 0; w->dead_list && n < CONNS_MAX; n++) {
    struct os_conn *c = w->dead_list;
    w->dead_list = c->dead_next;
    ASSERT(c->state == CONN_CLOSED && !c->flush_listed);
    conn_free(c);
  }
}

/* --- env: send, close ------------------------------------------------------ */

static int send_check(struct os_world *w, const struct env_iov *iov, int iov_count,
                      uint32_t *total_out) {
  if (iov_count < 0 || iov_count > SEND_IOV_COUNT_MAX || (iov_count > 0 && !iov))
    return ENV_EINVAL;
  uint64_t total = 0;
  for (int i = 0; i < iov_count; i++) {
    const struct env_iov *v = &iov[i];
    if (v->kind == ENV_IOV_MEM && !v->base && v->len > 0) return ENV_EINVAL;
    if (v->kind == ENV_IOV_FILE && (os_disk_fd(w, v->file) < 0 || !w->fd_held[v->file] ||
                                    v->offset > INT64_MAX - (uint64_t)v->len))
      return ENV_EINVAL;
    if (v->kind != ENV_IOV_MEM && v->kind != ENV_IOV_FILE) return ENV_EINVAL;
    total += v->len;
    if (total > INT32_MAX) return ENV_EINVAL; /* the length prefix is an int32 */
  }
  *total_out = (uint32_t)total;
  return 0;
}

static int net_send(struct env *env, env_conn_id id, const struct env_iov *iov, int iov_count) {
  struct os_world *w = os_world_of(env);
  struct os_conn *c = os_idmap_get(&w->conns, id);
  if (!c) return ENV_ECONNRESET; /* closed, or never was */
  ASSERT(c->state != CONN_CLOSED);
  uint32_t total;
  int rc = send_check(w, iov, iov_count, &total);
  if (rc != 0) return rc;
  uint8_t header[4];
  frame_len_put(header, total);
  out_append_mem(c, header, sizeof header);
  for (int i = 0; i < iov_count; i++) {
    if (iov[i].len == 0) continue;
    if (iov[i].kind == ENV_IOV_MEM) {
      out_append_mem(c, iov[i].base, iov[i].len);
      continue;
    }
    rc = out_append_file(c, iov[i].file, iov[i].offset, iov[i].len);
    if (rc != 0) { /* half a frame is queued: the stream cannot go on */
      conn_end(c, rc, OS_EVENT_CLOSED);
      return rc;
    }
  }
  flush_add(c);
  if (conn_paused(c)) conn_watch(c); /* stop reading now; writing resumes it */
  return 0;
}

static size_t net_send_queued_bytes(struct env *env, env_conn_id id) {
  struct os_world *w = os_world_of(env);
  if (id == 0) return w->out_bytes_total;
  struct os_conn *c = os_idmap_get(&w->conns, id);
  return c ? c->out_bytes : 0;
}

static void net_read_pause(struct env *env, env_conn_id id, bool paused) {
  struct os_conn *c = os_idmap_get(&os_world_of(env)->conns, id);
  if (!c || c->state != CONN_OPEN || c->node_paused == paused) return;
  c->node_paused = paused;
  conn_watch(c);
  if (!paused) conn_resume_later(c); /* frames it already holds come first */
}

static void net_peer_host(struct env *env, env_conn_id id, char *out, size_t cap) {
  ASSERT(out != NULL && cap > 0);
  struct os_conn *c = os_idmap_get(&os_world_of(env)->conns, id);
  snprintf(out, cap, "%s", c ? c->peer_host : "");
}

static void net_limits_set(struct env *env, const struct env_net_limits *limits) {
  ASSERT(limits != NULL);
  os_world_of(env)->limits = *limits;
}

/* Closes at once without flushing; `closed` (err 0) follows next iteration. */
static void net_close(struct env *env, env_conn_id id) {
  struct os_conn *c = os_idmap_get(&os_world_of(env)->conns, id);
  if (c) conn_end(c, 0, OS_EVENT_CLOSED);
}

/* --- listen, accept ---------------------------------------------------------- */

/* Blocking name resolution (getaddrinfo): acceptable at startup and for the
 * few outbound connections a broker makes; an async resolver can come later. */
static int resolve(const char *host, uint16_t port, bool passive, struct addrinfo **out) {
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
  const char *node = host;
  if (passive) {
    hints.ai_flags |= AI_PASSIVE;
    if (!host || host[0] == '\0' || strcmp(host, "0.0.0.0") == 0) {
      node = NULL; /* every IPv4 address */
      hints.ai_family = AF_INET;
    }
  } else if (!host || host[0] == '\0') {
    return ENV_EINVAL;
  }
  char port_text[8];
  snprintf(port_text, sizeof port_text, "%u", (unsigned)port);
  int rc = getaddrinfo(node, port_text, &hints, out);
  if (rc == 0) return 0;
  if (rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_ADDRFAMILY) return ENV_ENOENT;
  if (rc == EAI_MEMORY) return ENV_ENOMEM;
  if (rc == EAI_SYSTEM) return err_now();
  return ENV_EINVAL;
}

static int listen_socket(const struct addrinfo *ai, int *err_out) {
  int fd =
      socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
  if (fd < 0) {
    *err_out = err_now();
    return -1;
  }
  int one = 1; /* a restarted broker rebinds while old connections sit in TIME_WAIT */
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
    *err_out = err_now();
    close(fd);
    return -1;
  }
  return fd;
}

static uint16_t sock_port(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return 0;
}

static int net_listen(struct env *env, const char *host, uint16_t port,
                      uint32_t frame_bytes_max, uint32_t *listener_out) {
  ASSERT(listener_out != NULL);
  struct os_world *w = os_world_of(env);
  if (w->listener_count >= OS_LISTENERS_MAX) return ENV_EINVAL;
  struct addrinfo *addrs;
  int err = resolve(host, port, true, &addrs);
  if (err != 0) return err;
  int fd = -1;
  err = ENV_ENOENT;
  const struct addrinfo *ai = addrs;
  for (int n = 0; ai && fd < 0 && n < ADDRS_MAX; n++, ai = ai->ai_next)
    fd = listen_socket(ai, &err);
  freeaddrinfo(addrs);
  if (fd < 0) return err;
  struct os_listener *l = calloc(1, sizeof *l);
  ASSERT(l != NULL);
  *l = (struct os_listener){.handle = {OS_HANDLE_LISTENER},
                            .world = w,
                            .fd = fd,
                            .port = sock_port(fd),
                            .frame_bytes_max = frame_bytes_max};
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &l->handle};
  if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    err = err_now();
    close(fd);
    free(l);
    return err;
  }
  l->id = w->listener_count++;
  w->listeners[l->id] = l;
  *listener_out = l->id;
  return 0;
}

static uint16_t net_listener_port(struct env *env, uint32_t listener) {
  struct os_world *w = os_world_of(env);
  return listener < w->listener_count ? w->listeners[listener]->port : 0;
}

static void listener_resume(void *ctx) {
  struct os_listener *l = ctx;
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &l->handle};
  int rc = epoll_ctl(l->world->epoll_fd, EPOLL_CTL_MOD, l->fd, &ev);
  ASSERT(rc == 0);
}

/* Out of fds or memory: the pending connection stays in the backlog and a
 * level-triggered listener would spin, so stop watching it for a while. */
static void listener_back_off(struct os_listener *l, int err) {
  struct os_world *w = l->world;
  if (err == EMFILE || err == ENFILE)
    os_fd_exhausted_log(w, "accept", err);
  else
    env_log(&w->env, ENV_LOG_WARN, "accept on port %u failed (%s); retrying in %d ms",
            (unsigned)l->port, strerror(err), ACCEPT_BACKOFF_MS);
  struct epoll_event ev = {.events = 0, .data.ptr = &l->handle};
  int rc = epoll_ctl(w->epoll_fd, EPOLL_CTL_MOD, l->fd, &ev);
  ASSERT(rc == 0);
  w->env.timer_start(&w->env, ACCEPT_BACKOFF_MS * NS_PER_MS, listener_resume, l);
}

/* Which connection limit a new one from `key` would pass, or NULL. */
static const char *accept_limit(const struct os_world *w, uint64_t key) {
  const struct env_net_limits *lim = &w->limits;
  if (lim->conns_max != 0 && w->inbound_count >= lim->conns_max) return "max.connections";
  if (lim->conns_per_addr_max != 0 &&
      (uint32_t)(uintptr_t)os_idmap_get(&w->per_addr, key) >= lim->conns_per_addr_max)
    return "max.connections.per.ip";
  return NULL;
}

/* Closed at accept; logged for the first of a burst, counted for the rest.
 * The line is written before the close, so a client that sees its
 * connection closed finds the reason in the log already. */
static void accept_refuse(struct os_world *w, struct os_listener *l, int fd, const char *limit,
                          const struct sockaddr_storage *ss) {
  if (w->refused_in_burst++ > 0) {
    close(fd);
    return;
  }
  char host[NI_MAXHOST] = "?";
  getnameinfo((const struct sockaddr *)ss, sizeof *ss, host, sizeof host, NULL, 0,
              NI_NUMERICHOST);
  uint32_t value = strcmp(limit, "max.connections") == 0 ? w->limits.conns_max
                                                         : w->limits.conns_per_addr_max;
  env_log(&w->env, ENV_LOG_WARN,
          "refusing connections on port %u: %s (%u) reached (first from %s; the rest of "
          "this burst is counted, not logged)",
          (unsigned)l->port, limit, value, host);
  close(fd);
}

static void accept_burst_over(struct os_world *w) {
  if (w->refused_in_burst == 0) return;
  env_log(&w->env, ENV_LOG_WARN, "%llu connections were refused at a connection limit",
          (unsigned long long)w->refused_in_burst);
  w->refused_in_burst = 0;
}

/* A descriptor held in reserve, as common servers do: out of descriptors,
 * giving it up lets one more client in (whose requests then make the log
 * shrink its segment cache, log/segment_cache.h) instead of none. */
static void reserve_take(struct os_world *w) {
  if (w->reserve_fd < 0) w->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static bool reserve_spend(struct os_world *w, int err) {
  if ((err != EMFILE && err != ENFILE) || w->reserve_fd < 0) return false;
  os_fd_exhausted_log(w, "accept (the reserve descriptor let this client in)", err);
  close(w->reserve_fd);
  w->reserve_fd = -1;
  return true;
}

static int listener_accept(struct os_world *w, struct os_listener *l) {
  int accepted = 0;
  for (int n = 0; n < ACCEPT_BATCH_MAX; n++) {
    struct sockaddr_storage ss;
    socklen_t ss_len = sizeof ss;
    memset(&ss, 0, sizeof ss);
    int fd = accept4(l->fd, (struct sockaddr *)&ss, &ss_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0 && (errno == EINTR || errno == ECONNABORTED)) continue;
    if (fd < 0 && reserve_spend(w, errno)) continue;
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) listener_back_off(l, errno);
      break;
    }
    bool exempt = l->id < 32 && ((w->limits.exempt_listeners >> l->id) & 1);
    uint64_t key = addr_key_of(&ss);
    const char *limit = exempt ? NULL : accept_limit(w, key);
    if (limit) {
      accept_refuse(w, l, fd, limit, &ss);
      continue;
    }
    accept_burst_over(w);
    reserve_take(w);
    sock_nodelay(fd);
    struct os_conn *c = conn_new(w, fd, CONN_OPEN, l->frame_bytes_max);
    if (!exempt) conn_count(c, key);
    if (getnameinfo((const struct sockaddr *)&ss, ss_len, c->peer_host, sizeof c->peer_host,
                    NULL, 0, NI_NUMERICHOST) != 0)
      c->peer_host[0] = '\0';
    int err = conn_register(c, EPOLLIN);
    if (err != 0) {
      env_log(&w->env, ENV_LOG_WARN, "dropping a connection on port %u: epoll error %d",
              (unsigned)l->port, err);
      os_idmap_remove(&w->conns, c->id);
      conn_uncount(c);
      conn_free(c);
      continue;
    }
    accepted++;
    if (w->handler.accepted) w->handler.accepted(w->handler.ctx, l->id, c->id);
  }
  return accepted;
}

/* --- connect ------------------------------------------------------------------ */

/* Starts a non-blocking connect to the next address that takes one.
 * Returns 0 (in progress; EPOLLOUT tells the outcome) or the last error. */
static int conn_connect_next(struct os_conn *c) {
  int err = ENV_ECONNREFUSED;
  for (int n = 0; c->addr_next && n < ADDRS_MAX; n++) {
    const struct addrinfo *ai = c->addr_next;
    c->addr_next = ai->ai_next;
    if (c->fd >= 0) { /* the previous address failed */
      epoll_ctl(c->world->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
      close(c->fd);
      c->fd = -1;
    }
    int fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      err = err_now();
      continue;
    }
    sock_nodelay(fd);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      err = err_now();
      close(fd);
      continue;
    }
    c->fd = fd; /* even a connect that succeeded at once reports through EPOLLOUT */
    err = conn_register(c, EPOLLOUT);
    if (err == 0) return 0;
    close(fd);
    c->fd = -1;
  }
  return err;
}

static void conn_connect_done(struct os_conn *c) {
  ASSERT(c->state == CONN_CONNECTING);
  int err = sock_error(c->fd);
  if (err != 0) {
    int next = c->addr_next ? conn_connect_next(c) : err;
    if (next != 0) conn_end(c, err, OS_EVENT_CONNECTED);
    return;
  }
  freeaddrinfo(c->addrs);
  c->addrs = c->addr_next = NULL;
  c->state = CONN_OPEN;
  conn_watch(c);
  const struct env_net_handler *h = &c->world->handler;
  if (h->connected) h->connected(h->ctx, c->id, 0);
}

static int net_connect(struct env *env, const char *host, uint16_t port,
                       uint32_t frame_bytes_max, env_conn_id *conn_out) {
  ASSERT(conn_out != NULL);
  struct os_world *w = os_world_of(env);
  struct addrinfo *addrs;
  int err = resolve(host, port, false, &addrs);
  if (err != 0) return err;
  struct os_conn *c = conn_new(w, -1, CONN_CONNECTING, frame_bytes_max);
  c->addrs = c->addr_next = addrs;
  err = conn_connect_next(c);
  if (err != 0) {
    os_idmap_remove(&w->conns, c->id);
    conn_free(c);
    return err;
  }
  *conn_out = c->id;
  return 0;
}

/* --- the loop's side --------------------------------------------------------- */

int os_net_dispatch(struct os_world *w, struct os_handle *h, uint32_t events) {
  if (h->kind == OS_HANDLE_LISTENER) return listener_accept(w, (struct os_listener *)h);
  ASSERT(h->kind == OS_HANDLE_CONN);
  struct os_conn *c = (struct os_conn *)h;
  if (c->state == CONN_CLOSED) return 0; /* closed earlier in this batch */
  if (c->state == CONN_CONNECTING) {
    conn_connect_done(c);
    return 1;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
    if (!conn_paused(c))
      conn_read(c);
    else if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) /* gone while paused */
      conn_end(c, sock_error(c->fd), OS_EVENT_CLOSED);
  }
  if (c->state == CONN_OPEN && (events & EPOLLOUT)) conn_write(c);
  return 1;
}

static void net_handler_set(struct env *env, const struct env_net_handler *handler) {
  ASSERT(handler != NULL);
  os_world_of(env)->handler = *handler;
}

void os_net_init(struct os_world *w) {
  struct env *env = &w->env;
  env->net_handler_set = net_handler_set;
  env->listen = net_listen;
  env->listener_port = net_listener_port;
  env->connect = net_connect;
  env->send = net_send;
  env->send_queued_bytes = net_send_queued_bytes;
  env->peer_host = net_peer_host;
  env->read_pause = net_read_pause;
  env->net_limits_set = net_limits_set;
  env->close = net_close;
  w->conn_next_id = 1;
  w->reserve_fd = -1;
  reserve_take(w);
}

void os_net_free(struct os_world *w) {
  for (int n = 0; w->flush_list && n < CONNS_MAX; n++) {
    w->flush_list->flush_listed = false;
    w->flush_list = w->flush_list->flush_next;
  }
  for (uint32_t i = 0; i < w->conns.cap; i++)
    if (w->conns.keys[i] != 0) conn_free(w->conns.vals[i]);
  os_idmap_free(&w->conns);
  os_idmap_free(&w->per_addr);
  os_net_reap(w);
  for (uint32_t i = 0; i < w->listener_count; i++) {
    close(w->listeners[i]->fd);
    free(w->listeners[i]);
    w->listeners[i] = NULL;
  }
  w->listener_count = 0;
  if (w->reserve_fd >= 0) close(w->reserve_fd);
  w->reserve_fd = -1;
}
