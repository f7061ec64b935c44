/* The world, as the broker sees it.
 *
 * Everything under broker/ reaches the operating system only through this
 * vtable: the real world (os/) implements it with epoll, POSIX files and
 * CLOCK_MONOTONIC; the simulated world (sim/) with a virtual clock, network
 * and disk. The broker is a reaction to events the world delivers (a frame
 * arrived, a timer fired, an fsync completed), so the same events in the same
 * order give the same result. Modelled on canonical/raft's struct raft_io,
 * which also owns time and randomness.
 *
 * Errors are negative ENV_E* codes, never aborts. */
#ifndef SLUICE_ENV_H
#define SLUICE_ENV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum env_err {
  ENV_OK = 0,
  ENV_EIO = -5,
  ENV_ENOENT = -2,
  ENV_EEXIST = -17,
  ENV_EINVAL = -22,
  ENV_ENOSPC = -28,
  ENV_ENOMEM = -12,
  ENV_ECONNREFUSED = -111,
  ENV_ECONNRESET = -104,
  ENV_ETIMEDOUT = -110,
  ENV_EADDRINUSE = -98,
  ENV_EMFILE = -24, /* out of descriptors (EMFILE or ENFILE) */
  ENV_EOTHER = -1000,
};

enum env_log_level { ENV_LOG_DEBUG, ENV_LOG_INFO, ENV_LOG_WARN, ENV_LOG_ERROR };

typedef uint64_t env_timer_id; /* 0 is never a valid timer */
typedef uint64_t env_conn_id;  /* 0 is never a valid connection */
typedef int32_t env_file;      /* >= 0 when open */

typedef void (*env_timer_fn)(void *ctx);
typedef void (*env_fsync_fn)(void *ctx, int err);
typedef void (*env_list_fn)(void *ctx, const char *name, bool is_dir);

/* One part of an outgoing frame: bytes in memory, or a range of an open file
 * (a log segment), so the real world can sendfile() fetch responses. */
enum env_iov_kind { ENV_IOV_MEM, ENV_IOV_FILE };
struct env_iov {
  enum env_iov_kind kind;
  const void *base; /* ENV_IOV_MEM */
  env_file file;    /* ENV_IOV_FILE */
  uint64_t offset;  /* ENV_IOV_FILE */
  size_t len;
};

/* What the world tells the node about its connections. The world does Kafka's
 * 4-byte length-prefix framing and the socket buffering; the node sees whole
 * frames. `data` is malloc()ed and owned by the callee from then on. */
struct env_net_handler {
  void *ctx;
  /* A client connected to one of our listeners; `listener` is the id that
   * env->listen returned. */
  void (*accepted)(void *ctx, uint32_t listener, env_conn_id conn);
  /* An outbound connection from env->connect finished (err 0) or failed. */
  void (*connected)(void *ctx, env_conn_id conn, int err);
  void (*frame)(void *ctx, env_conn_id conn, uint8_t *data, size_t len);
  /* The connection is gone (peer closed, reset, oversized or malformed frame,
   * or our own env->close). No more callbacks for it after this one. */
  void (*closed)(void *ctx, env_conn_id conn, int err);
};

/* Budgets the world enforces on the connections it accepts (issue 13), set
 * by the node before it listens. 0 in a field: no limit. */
struct env_net_limits {
  /* queued.max.request.bytes (KIP-72): a frame too big for the world's read
   * buffer reserves its claimed length from this budget before its body is
   * read; past it, the connection waits unread (nothing is dropped) until
   * frames complete or connections close. One frame is always admitted
   * when nothing is reserved, so a frame larger than the budget (but within
   * socket.request.max.bytes) still gets through alone. */
  uint64_t receive_bytes_max;
  uint32_t conns_max;          /* max.connections: accepted ones, every listener */
  uint32_t conns_per_addr_max; /* max.connections.per.ip */
  /* Bit i: listener i (as env->listen returned it) is not limited nor
   * counted: the controller listener, whose clients are the quorum's own
   * nodes (Kafka likewise leaves its inter-broker listener out). */
  uint32_t exempt_listeners;
};

/* Open flags. */
enum { ENV_O_CREATE = 1, ENV_O_EXCL = 2, ENV_O_TRUNC = 4, ENV_O_READONLY = 8 };

struct env {
  void *world; /* the implementation's own state */
  int32_t node_id;

  /* Clock: monotonic nanoseconds (never goes back) and wall-clock
   * milliseconds since the epoch (for record timestamps; may jump). */
  uint64_t (*now_ns)(struct env *env);
  int64_t (*wall_ms)(struct env *env);
  env_timer_id (*timer_start)(struct env *env, uint64_t delay_ns, env_timer_fn fn, void *ctx);
  void (*timer_cancel)(struct env *env, env_timer_id id);

  uint64_t (*random_u64)(struct env *env);

  /* Network. The handler is set once, before listen/connect. */
  void (*net_handler_set)(struct env *env, const struct env_net_handler *handler);
  /* Listen on host:port (port 0 picks a free one; listener_port tells it).
   * Frames longer than frame_bytes_max close the connection. */
  int (*listen)(struct env *env, const char *host, uint16_t port, uint32_t frame_bytes_max,
                uint32_t *listener_out);
  uint16_t (*listener_port)(struct env *env, uint32_t listener);
  int (*connect)(struct env *env, const char *host, uint16_t port, uint32_t frame_bytes_max,
                 env_conn_id *conn_out);
  /* Send one frame; the world prepends the 4-byte length. Memory parts are
   * copied before this returns; file parts may be read later, from the file
   * as it was opened: the log only appends past them, unlinks whole
   * segments, or gives a truncated segment a new file (log/truncate.c), so
   * the bytes a queued send names never change. */
  int (*send)(struct env *env, env_conn_id conn, const struct env_iov *iov, int iov_count);
  /* Bytes queued for this connection and not yet sent (for back-pressure);
   * conn 0 (never a connection): the total over every connection. */
  size_t (*send_queued_bytes)(struct env *env, env_conn_id conn);
  /* Back-pressure from the node: a paused connection is not read and none
   * of its frames already read is delivered until it is resumed. */
  void (*read_pause)(struct env *env, env_conn_id conn, bool paused);
  void (*net_limits_set)(struct env *env, const struct env_net_limits *limits);
  /* The address of the connection's peer as text ("127.0.0.1", "::1"), what
   * Kafka shows as a client's host; "" when the connection is unknown. */
  void (*peer_host)(struct env *env, env_conn_id conn, char *out, size_t cap);
  void (*close)(struct env *env, env_conn_id conn);

  /* Disk. Paths are the node's own (log.dirs and below). A file costs a
   * descriptor from open until file_close; a send naming it (ENV_IOV_FILE)
   * references the same one, so file_close may come before the send is
   * done, and queued sends never cost descriptors of their own. open fails
   * with ENV_EMFILE when the descriptor table is full (log/segment_cache.h
   * then closes idle segments). pread/pwrite reach
   * the page cache synchronously; fsync is asynchronous and its completion is
   * an event, so a crash can land before it. Returns bytes or ENV_E*. */
  int (*open)(struct env *env, const char *path, int flags, env_file *file_out);
  void (*file_close)(struct env *env, env_file file);
  int64_t (*pread)(struct env *env, env_file file, void *buf, size_t len, uint64_t offset);
  int64_t (*pwrite)(struct env *env, env_file file, const void *buf, size_t len,
                    uint64_t offset);
  int64_t (*file_size)(struct env *env, env_file file);
  int (*truncate)(struct env *env, env_file file, uint64_t len);
  /* The world syncs a descriptor of its own: `file` may be closed as soon
   * as this returns, and the sync still covers what was written through it. */
  void (*fsync)(struct env *env, env_file file, env_fsync_fn done, void *ctx);
  int (*rename)(struct env *env, const char *from, const char *to);
  int (*unlink)(struct env *env, const char *path);
  int (*mkdir)(struct env *env, const char *path);
  int (*rmdir)(struct env *env, const char *path);
  /* Calls fn for each entry of dir (not . or ..), in name order. */
  int (*list)(struct env *env, const char *dir, env_list_fn fn, void *ctx);
  /* Make a completed rename/create in dir durable. Synchronous. */
  int (*dir_sync)(struct env *env, const char *dir);

  void (*logv)(struct env *env, enum env_log_level level, const char *fmt, va_list ap);
};

__attribute__((format(printf, 3, 4))) static inline void
env_log(struct env *env, enum env_log_level level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  env->logv(env, level, fmt, ap);
  va_end(ap);
}

#define NS_PER_MS UINT64_C(1000000)
#define NS_PER_S  UINT64_C(1000000000)

#endif
