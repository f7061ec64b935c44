/* The real world's loop: epoll for readiness, then due timers, then the
 * completions queued before this iteration; and the world's log lines.
 * Redis's ae.c is the model: one thread, one loop, small enough to read.
 * The only other thread runs fsyncs (io_thread.c); what it finishes joins
 * the completion queue here, on the loop thread. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "base/assert.h"
#include "os/internal.h"
#include "os/world.h"

enum { EPOLL_BATCH = 256, EVENTS_MAX = 1 << 24, LOG_LINE_BYTES = 4096 };

struct os_signals {
  struct os_handle handle;
  int fd;
  void (*fn)(void *ctx, int signo);
  void *ctx;
};

int os_err_from_errno(int err) {
  switch (err) {
  case EIO:
    return ENV_EIO;
  case ENOSPC:
  case EDQUOT:
    return ENV_ENOSPC;
  case ENOENT:
    return ENV_ENOENT;
  case EEXIST:
    return ENV_EEXIST;
  case EINVAL:
    return ENV_EINVAL;
  case ENOMEM:
    return ENV_ENOMEM;
  case ECONNREFUSED:
    return ENV_ECONNREFUSED;
  case ECONNRESET:
  case EPIPE:
    return ENV_ECONNRESET;
  case ETIMEDOUT:
    return ENV_ETIMEDOUT;
  case EADDRINUSE:
    return ENV_EADDRINUSE;
  case EMFILE:
  case ENFILE:
    return ENV_EMFILE;
  default:
    return ENV_EOTHER;
  }
}

/* --- log ------------------------------------------------------------------ */

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

static void write_all_stderr(const char *s, size_t len) {
  for (int n = 0; len > 0 && n < 64; n++) {
    ssize_t w = write(STDERR_FILENO, s, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return; /* nowhere left to report it */
    s += w;
    len -= (size_t)w;
  }
}

/* Kafka's log4j layout: "[2026-11-22 10:41:56,123] INFO message (node 1)",
 * local time; one write() per line so lines from processes sharing a
 * terminal do not interleave. */
static void world_logv(struct env *env, enum env_log_level level, const char *fmt, va_list ap) {
  struct os_world *w = os_world_of(env);
  if (level < w->log_level || (unsigned)level >= ARRAY_LEN(level_names)) return;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  localtime_r(&ts.tv_sec, &tm);
  char line[LOG_LINE_BYTES];
  size_t n = strftime(line, sizeof line, "[%Y-%m-%d %H:%M:%S", &tm);
  n += (size_t)snprintf(line + n, sizeof line - n, ",%03ld] %s ", ts.tv_nsec / 1000000,
                        level_names[level]);
  size_t room = sizeof line - n - 32; /* keep room for the tail */
  int m = vsnprintf(line + n, room, fmt, ap);
  if (m < 0) m = 0;
  n += (size_t)m < room ? (size_t)m : room - 1;
  if (env->node_id >= 0) /* unknown until server.properties is read */
    n += (size_t)snprintf(line + n, sizeof line - n, " (node %d)", (int)env->node_id);
  line[n++] = '\n';
  ASSERT(n < sizeof line);
  write_all_stderr(line, n);
}

static void panic_to_stderr(const char *file, int line, const char *what) {
  char text[1024];
  int n = snprintf(text, sizeof text, "PANIC %s:%d: %s\n", file, line, what);
  if (n < 0) return;
  write_all_stderr(text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
}

void os_world_set_log_level(struct os_world *w, enum env_log_level level) {
  ASSERT(level >= ENV_LOG_DEBUG && level <= ENV_LOG_ERROR);
  w->log_level = level;
}

/* --- completions ------------------------------------------------------------ */

void os_event_push(struct os_world *w, const struct os_event *ev) {
  ASSERT(ev->kind >= OS_EVENT_FSYNC && ev->kind <= OS_EVENT_CLOSED);
  ASSERT(w->event_count < EVENTS_MAX);
  if (w->event_count == w->event_cap) {
    uint32_t cap = w->event_cap ? w->event_cap * 2 : 64;
    struct os_event *events = malloc(cap * sizeof *events);
    ASSERT(events != NULL);
    for (uint32_t i = 0; i < w->event_count; i++)
      events[i] = w->events[(w->event_head + i) % w->event_cap];
    free(w->events);
    w->events = events;
    w->event_cap = cap;
    w->event_head = 0;
  }
  w->events[(w->event_head + w->event_count) % w->event_cap] = *ev;
  w->event_count++;
}

static void event_deliver(struct os_world *w, const struct os_event *ev) {
  const struct env_net_handler *h = &w->handler;
  switch (ev->kind) {
  case OS_EVENT_FSYNC:
    if (ev->fsync_done) ev->fsync_done(ev->ctx, ev->err);
    break;
  case OS_EVENT_CONNECTED:
    if (h->connected) h->connected(h->ctx, ev->conn, ev->err);
    break;
  case OS_EVENT_CLOSED:
    if (h->closed) h->closed(h->ctx, ev->conn, ev->err);
    break;
  }
}

/* Delivers the first `count` queued completions; the ones their callbacks
 * queue wait for the next iteration. */
static int events_run(struct os_world *w, uint32_t count) {
  ASSERT(count <= w->event_count);
  for (uint32_t i = 0; i < count; i++) {
    struct os_event ev = w->events[w->event_head];
    w->event_head = (w->event_head + 1) % w->event_cap;
    w->event_count--;
    event_deliver(w, &ev);
  }
  return (int)count;
}

/* --- signals ------------------------------------------------------------ */

int os_world_watch_signals(struct os_world *w, const int *signos, int signo_count,
                           void (*fn)(void *ctx, int signo), void *ctx) {
  ASSERT(fn != NULL);
  if (w->signals || signo_count <= 0 || signo_count > 64) return ENV_EINVAL;
  sigset_t mask;
  sigemptyset(&mask);
  for (int i = 0; i < signo_count; i++)
    if (sigaddset(&mask, signos[i]) != 0) return ENV_EINVAL;
  if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0) return os_err_from_errno(errno);
  int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) return os_err_from_errno(errno);
  struct os_signals *s = calloc(1, sizeof *s);
  ASSERT(s != NULL);
  *s = (struct os_signals){.handle = {OS_HANDLE_SIGNALS}, .fd = fd, .fn = fn, .ctx = ctx};
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->handle};
  if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    int err = os_err_from_errno(errno);
    close(fd);
    free(s);
    return err;
  }
  w->signals = s;
  return 0;
}

static int signals_dispatch(struct os_signals *s) {
  int handled = 0;
  for (int n = 0; n < 64; n++) {
    struct signalfd_siginfo info;
    ssize_t r = read(s->fd, &info, sizeof info);
    if (r < 0 && errno == EINTR) continue;
    if (r != (ssize_t)sizeof info) break; /* EAGAIN: drained */
    s->fn(s->ctx, (int)info.ssi_signo);
    handled++;
  }
  return handled;
}

/* --- the loop ------------------------------------------------------------- */

static int loop_wait_ms(struct os_world *w, int timeout_ms, bool work_pending) {
  if (work_pending || w->stop_requested) return 0;
  int timer_ms = os_timers_wait_ms(w);
  if (timer_ms < 0) return timeout_ms < 0 ? -1 : timeout_ms;
  return timeout_ms < 0 || timer_ms < timeout_ms ? timer_ms : timeout_ms;
}

int os_world_run_once(struct os_world *w, int timeout_ms) {
  os_net_flush(w);  /* what the last iteration's callbacks sent, before sleeping */
  os_io_collect(w); /* fsyncs finished since: due this iteration, counted when run */
  uint32_t due_events = w->event_count;
  struct epoll_event ready[EPOLL_BATCH];
  int n = epoll_wait(w->epoll_fd, ready, EPOLL_BATCH, loop_wait_ms(w, timeout_ms, due_events));
  ASSERT(n >= 0 || errno == EINTR);
  int handled = 0;
  for (int i = 0; i < n; i++) {
    struct os_handle *h = ready[i].data.ptr;
    if (h->kind == OS_HANDLE_SIGNALS)
      handled += signals_dispatch(w->signals);
    else if (h->kind == OS_HANDLE_IO)
      handled += os_io_dispatch(w); /* queued behind due_events: run next iteration */
    else
      handled += os_net_dispatch(w, h, ready[i].events);
  }
  handled += os_timers_run_due(w);
  handled += events_run(w, due_events);
  os_net_flush(w);
  os_net_reap(w);
  return handled;
}

void os_world_run(struct os_world *w) {
  while (!w->stop_requested) os_world_run_once(w, -1);
  w->stop_requested = false;
}

void os_world_stop(struct os_world *w) { w->stop_requested = true; }

uint64_t os_world_completions_pending(struct os_world *w) {
  return os_io_outstanding(w) + w->event_count;
}

struct env *os_world_env(struct os_world *w) {
  return &w->env;
}

struct os_world *os_world_create(int32_t node_id) {
  struct os_world *w = calloc(1, sizeof *w);
  ASSERT(w != NULL);
  sl_panic_hook = panic_to_stderr;
  signal(SIGPIPE, SIG_IGN);
  tzset();
  w->env.world = w;
  w->env.node_id = node_id;
  w->env.logv = world_logv;
  w->log_level = ENV_LOG_INFO;
  w->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  ASSERT(w->epoll_fd >= 0);
  os_clock_init(w);
  os_disk_init(w);
  os_io_init(w);
  os_net_init(w);
  return w;
}

void os_world_destroy(struct os_world *w) {
  if (!w) return;
  os_io_free(w); /* first: no job may finish into a world being taken apart */
  os_net_free(w);
  os_disk_free(w);
  os_clock_free(w);
  if (w->signals) {
    close(w->signals->fd);
    free(w->signals);
  }
  free(w->events);
  close(w->epoll_fd);
  free(w);
}
