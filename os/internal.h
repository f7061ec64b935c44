/* Private to os/: the world's state and the seams between its files
 * (loop.c: the loop, completions, log; clock.c: time, timers, randomness;
 * disk.c: files; net.c: sockets; idmap.c: the id -> object tables). */
#ifndef SLUICE_OS_INTERNAL_H
#define SLUICE_OS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "env.h"

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
enum os_handle_kind { OS_HANDLE_LISTENER = 1, OS_HANDLE_CONN, OS_HANDLE_SIGNALS };
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

  /* loop.c: completions, a ring buffer in queue order. */
  struct os_event *events;
  uint32_t event_head, event_count, event_cap;
  struct os_signals *signals;

  /* disk.c: env_file is an index into fds (-1: free slot). */
  int *fds;
  int32_t fd_cap;
  int32_t fd_free_hint; /* no free slot below this index */

  /* net.c */
  struct env_net_handler handler;
  struct os_listener *listeners[OS_LISTENERS_MAX];
  uint32_t listener_count;
  struct os_idmap conns; /* id -> struct os_conn *, open or connecting only */
  env_conn_id conn_next_id;
  struct os_conn *flush_list; /* connections with output to write before sleeping */
  struct os_conn *dead_list;  /* closed connections, freed at the end of an iteration */
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

/* net.c */
void os_net_init(struct os_world *w);
void os_net_free(struct os_world *w);
int os_net_dispatch(struct os_world *w, struct os_handle *h, uint32_t events);
/* Writes queued output (before the loop sleeps); frees closed connections. */
void os_net_flush(struct os_world *w);
void os_net_reap(struct os_world *w);

#endif
