/* The real world: broker/env.h implemented with epoll, POSIX files and
 * CLOCK_MONOTONIC, for one node per process.
 *
 * One thread runs one loop (Redis's ae.c is the model): each iteration waits
 * for socket readiness or the next timer, handles the ready sockets, runs the
 * timers that are due, then delivers the completions queued before the
 * iteration began (fsync done, connection closed). A completion is never
 * delivered from inside the env call that caused it, and always on the loop
 * thread. fsyncs run on a second thread, one at a time in the order they
 * were issued, so their completions keep that order.
 *
 * Deviations and details env.h leaves open:
 * - env->connect resolves the host with getaddrinfo(), which blocks; fine for
 *   the few connections a broker opens, to be replaced when it matters.
 *   A connect that fails at once returns the error and makes no callback;
 *   one that fails later delivers connected(err) and no closed.
 * - env->send to a connection that is closed (or was never opened) returns
 *   ENV_ECONNRESET. A write error closes the connection; closed carries it.
 * - Completions still queued when the world is destroyed are dropped.
 * - os_world_create sets SIGPIPE to SIG_IGN: a write to a reset socket must
 *   be an error code, not a dead process. */
#ifndef SLUICE_OS_WORLD_H
#define SLUICE_OS_WORLD_H

#include <stdint.h>

#include "env.h"

struct os_world;

/* Never NULL (aborts when the process cannot get memory, an epoll fd or its
 * I/O thread). */
struct os_world *os_world_create(int32_t node_id);
struct env *os_world_env(struct os_world *w);

/* One loop iteration: waits at most timeout_ms (-1: until an event or the
 * next timer) for I/O, then runs due timers and completions. Returns the
 * number of events handled. */
int os_world_run_once(struct os_world *w, int timeout_ms);
/* Runs until os_world_stop() is called (from a callback or a signal watch). */
void os_world_run(struct os_world *w);
void os_world_stop(struct os_world *w);
/* Waits for the fsync the I/O thread is running (not the queued ones) and
 * joins it, then closes every socket and file it still holds. No callbacks
 * run. */
void os_world_destroy(struct os_world *w);

/* Completions not yet delivered: fsyncs queued, running or finished, and
 * other completions queued. With fsync on its own thread, a caller that
 * needs its writes settled (tests) runs the loop until this is 0 rather
 * than for a guessed number of iterations. */
uint64_t os_world_completions_pending(struct os_world *w);

/* How late timers ran (run time minus due time, CLOCK_MONOTONIC) since the
 * world was created, in microseconds: the 50th and 99th percentiles (from
 * a histogram: a bucket's upper bound, within 12.5%) and the maximum.
 * Returns how many timers ran; with none, the figures are 0. */
uint64_t os_world_timer_lateness(struct os_world *w, uint64_t *p50_us, uint64_t *p99_us,
                                 uint64_t *max_us);

/* How long the I/O thread's fsyncs took (for the metrics endpoint). */
enum { OS_FSYNC_BUCKETS = 10 };
struct os_fsync_stats {
  uint64_t count;
  uint64_t sum_us;
  uint64_t buckets[OS_FSYNC_BUCKETS]; /* cumulative: at most OS_FSYNC_BUCKET_US[i] */
};
extern const uint64_t OS_FSYNC_BUCKET_US[OS_FSYNC_BUCKETS];
void os_world_fsync_stats(struct os_world *w, struct os_fsync_stats *out);

/* Log threshold for env->logv (default ENV_LOG_INFO). */
void os_world_set_log_level(struct os_world *w, enum env_log_level level);

/* Delivers the given signals through the loop (signalfd): blocks them with
 * sigprocmask, then calls fn(ctx, signo) from the loop for each one that
 * arrives. One watch per world. Returns 0 or ENV_E*. */
int os_world_watch_signals(struct os_world *w, const int *signos, int signo_count,
                           void (*fn)(void *ctx, int signo), void *ctx);

#endif
