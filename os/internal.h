/* Private to os/: the world's state and the seams between its files
 * (loop.c: the loop, completions, log; clock.c: time, timers, randomness;
 * disk.c: files; io_thread.c: the thread that runs fsyncs; net.c: sockets;
 * idmap.c: the id -> object tables). */
#ifndef SLUICE_OS_INTERNAL_H
#define SLUICE_OS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "env.h"
#include "os/world.h"

/* A table from a nonzero u64 id to a pointer: open addressing, linear
 * probing, backward-shift deletion. */
struct os_idmap {
  uint64_t *keys; /* 0: empty slot */
  void **vals;
  uint32_t cap; /* a power of two, or 0 before the first put */
  uint32_t count;
};
void *os_idmap_get(const struct os_idmap *m, uint64_t key);
void os_idmap_put(struct os_idmap *m, uint64_t key, void *val);
void *os_idmap_remove(struct os_idmap *m, uint64_t key);
void os_idmap_free(struct os_idmap *m);

/* What epoll_event.data.ptr points at. */
enum os_handle_kind { OS_HANDLE_LISTENER = 1, OS_HANDLE_CONN, OS_HANDLE_SIGNALS, OS_HANDLE_IO };
struct os_handle {
  enum os_handle_kind kind;
};

/* A completion, delivered by the loop on the iteration after it was queued. */
enum os_event_kind { OS_EVENT_FSYNC = 1, OS_EVENT_CONNECTED, OS_EVENT_CLOSED };
struct os_event {
  enum os_event_kind kind;
  int err;
  env_conn_id conn;        /* CONNECTED, CLOSED */
  env_fsync_fn fsync_done; /* FSYNC */
  void *ctx;               /* FSYNC */
};

struct os_timer {
  uint64_t deadline_ns;
  env_timer_id id; /* also the tie-break: ids grow in start order */
  env_timer_fn fn;
  void *ctx;
  uint32_t heap_index;
};

/* Timer lateness (fire time - deadline) in microseconds, log-linear: values
 * below 8 have a bucket each, then every power of two is split into 8
 * buckets (an upper bound within 12.5%) up to 2^32; the last bucket takes
 * the rest. */
enum { OS_LATENESS_SUB_BITS = 3, OS_LATENESS_OCTAVES_MAX = 32 };
#define OS_LATENESS_BUCKETS                                                                    \
  ((OS_LATENESS_OCTAVES_MAX - OS_LATENESS_SUB_BITS + 1) << OS_LATENESS_SUB_BITS)
struct os_lateness {
  uint64_t counts[OS_LATENESS_BUCKETS];
  uint64_t count;
  uint64_t max_us;
};

/* io_thread.c: fsyncs run on one I/O thread, in the order they were issued.
 * A job is a slot in a ring, named by its sequence number (slot = seq %
 * OS_IO_JOBS_MAX): submitted by the loop, finished by the thread, collected
 * by the loop into the completion queue, which frees the slot. */
enum { OS_IO_JOBS_MAX = 1024 };
struct os_io_job {
  int fd;  /* a dup() owned by the job, closed by whoever finishes it; -1: none */
  int err; /* 0 or ENV_E*: the fsync's result, or preset when fd is -1 */
  env_fsync_fn done;
  void *ctx;
};

/* The call the I/O thread makes for one job: 0 or an errno value. A seam for
 * tests, which swap in one that blocks until they release it. */
typedef int (*os_io_sync_fn)(int fd);

struct os_io {
  struct os_handle handle; /* OS_HANDLE_IO: the eventfd the thread signals */
  int event_fd;
  pthread_t thread;
  pthread_mutex_t mutex;      /* guards submitted, finished, stop, sync_fn */
  pthread_cond_t work_cond;   /* the thread waits for a job or stop */
  pthread_cond_t finish_cond; /* the loop waits for a free slot (ring full) */
  bool stop;
  os_io_sync_fn sync_fn;
  /* collected <= finished <= submitted <= collected + OS_IO_JOBS_MAX.
   * `collected` is the loop's alone; slots in [collected, finished) belong
   * to the loop, [finished, submitted) to the thread. */
  uint64_t submitted, finished, collected;
  struct os_io_job jobs[OS_IO_JOBS_MAX];
  struct os_fsync_stats stats; /* under mutex: the thread adds, the metrics read */
};

struct os_conn;
struct os_listener;
struct os_signals;

enum { OS_LISTENERS_MAX = 32 };

struct os_world {
  struct env env;
  int epoll_fd;
  bool stop_requested;
  enum env_log_level log_level;

  /* clock.c: a binary min-heap on (deadline_ns, id); `timers` maps id -> timer. */
  struct os_timer **heap;
  uint32_t heap_count, heap_cap;
  struct os_idmap timers;
  env_timer_id timer_next_id;
  uint64_t rng[4]; /* xoshiro256** */
  struct os_lateness lateness;

  /* loop.c: completions, a ring buffer in queue order. */
  struct os_event *events;
  uint32_t event_head, event_count, event_cap;
  struct os_signals *signals;

  /* disk.c: env_file is an index into fds (-1: free slot). A slot lives
   * while the broker holds it (fd_held) or a queued send reads it
   * (fd_sends): a queued fetch response references the file instead of
   * holding a descriptor of its own. */
  int *fds;
  bool *fd_held;
  int32_t *fd_sends;
  int32_t fd_cap;
  int32_t fd_free_hint; /* no free slot below this index */
  bool fd_exhausted_logged;
  uint64_t fd_exhausted_log_ns;
  uint64_t fd_exhausted_count;
  uint64_t io_dups_max; /* fsyncs queued with a dup() at once (disk.c) */
  int reserve_fd;       /* net.c: held so an accept at EMFILE still succeeds; -1 if spent */
  struct os_io *io;

  /* net.c */
  struct env_net_handler handler;
  struct os_listener *listeners[OS_LISTENERS_MAX];
  uint32_t listener_count;
  struct os_idmap conns; /* id -> struct os_conn *, open or connecting only */
  env_conn_id conn_next_id;
  struct os_conn *flush_list; /* connections with output to write before sleeping */
  struct os_conn *dead_list;  /* closed connections, freed at the end of an iteration */
  /* net.c's budgets (env_net_limits, issue 13). */
  struct env_net_limits limits;
  uint64_t receive_reserved_bytes; /* claimed lengths of the big frames being read */
  struct os_conn *receive_waiters; /* connections waiting for that budget, oldest first */
  struct os_conn *receive_waiters_last;
  size_t out_bytes_total;    /* every connection's queued output */
  uint32_t inbound_count;    /* accepted connections open */
  struct os_idmap per_addr;  /* client address key -> open accepted connections */
  uint64_t refused_in_burst; /* refused since the last accepted connection */
};

static inline struct os_world *os_world_of(struct env *env) { return env->world; }

/* loop.c */
void os_event_push(struct os_world *w, const struct os_event *ev);
int os_err_from_errno(int err);

/* clock.c */
void os_clock_init(struct os_world *w);
void os_clock_free(struct os_world *w);
/* Milliseconds until the next timer (rounded up), or -1 without timers. */
int os_timers_wait_ms(struct os_world *w);
/* Runs the timers due now (not those started by the callbacks it runs). */
int os_timers_run_due(struct os_world *w);

/* disk.c */
void os_disk_init(struct os_world *w);
void os_disk_free(struct os_world *w);
/* The OS fd behind an env_file, or -1. */
int os_disk_fd(struct os_world *w, env_file file);
/* A queued send takes and drops a reference on a file the broker holds. */
void os_disk_send_ref(struct os_world *w, env_file file);
void os_disk_send_unref(struct os_world *w, env_file file);
/* Out of descriptors (EMFILE/ENFILE) at `what`: a WARN naming the cause, at
 * most once a minute (the rest are counted in the next one). */
void os_fd_exhausted_log(struct os_world *w, const char *what, int err);

/* io_thread.c. init starts the thread; free stops and joins it after its
 * current job and drops the jobs still queued (their completions never run). */
void os_io_init(struct os_world *w);
void os_io_free(struct os_world *w);
/* Queues an fsync of fd (which the job then owns; -1 queues `err` as the
 * result). Its completion reaches the world's queue through os_io_collect. */
void os_io_submit(struct os_world *w, int fd, int err, env_fsync_fn done, void *ctx);
/* Jobs submitted and not yet collected (the loop's own count). */
uint64_t os_io_in_flight(const struct os_world *w);
/* Moves finished jobs into the completion queue; returns how many. */
int os_io_collect(struct os_world *w);
/* Jobs submitted and not yet collected (the loop's own count: no lock). */
static inline uint64_t os_io_outstanding(const struct os_world *w) {
  return w->io->submitted - w->io->collected;
}
/* The eventfd is readable: clears it and collects. */
int os_io_dispatch(struct os_world *w);
void os_io_sync_fn_set(struct os_world *w, os_io_sync_fn fn);
/* fdatasync(), retried on EINTR: 0 or an errno value (the default sync_fn). */
int os_io_fdatasync(int fd);

/* net.c */
void os_net_init(struct os_world *w);
void os_net_free(struct os_world *w);
int os_net_dispatch(struct os_world *w, struct os_handle *h, uint32_t events);
/* Writes queued output (before the loop sleeps); frees closed connections. */
void os_net_flush(struct os_world *w);
void os_net_reap(struct os_world *w);

#endif
