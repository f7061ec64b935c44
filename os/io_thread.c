/* The real world's I/O thread: fsync off the event loop.
 *
 * fdatasync() takes milliseconds on a real disk; on the loop thread every
 * timer, fetch answer and accept would queue behind it. disk.c hands each
 * fsync (a dup() of the file's fd, so the broker may close the file
 * meanwhile) to this thread through a bounded ring; the thread runs it,
 * counts it finished and signals an eventfd the loop watches; the loop
 * collects finished jobs into its completion queue, which delivers them on
 * its next iteration, on the loop thread, never inside env->fsync.
 *
 * One thread, first in first out: completions come back in the order the
 * fsyncs were issued, for each file and across files, as the simulator
 * delivers them, and a later fsync of a file never completes before an
 * earlier one (whose waiters would otherwise see durability out of order).
 * The broker already batches fsyncs (group commit), so a second thread
 * would mostly queue on the same disk.
 *
 * Shutdown: os_io_free asks the thread to stop, waits for the fsync it is
 * running, joins it and closes the fds of the jobs it never ran; their
 * completions are dropped, as os/world.h documents. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base/assert.h"
#include "os/internal.h"

enum { IO_THREAD_STACK_BYTES = 256 * 1024 };

int os_io_fdatasync(int fd) {
  int rc;
  do rc = fdatasync(fd);
  while (rc != 0 && errno == EINTR);
  return rc == 0 ? 0 : errno;
}

const uint64_t OS_FSYNC_BUCKET_US[OS_FSYNC_BUCKETS] = {100,   500,   1000,   2500,    5000,
                                                       10000, 25000, 100000, 1000000, 10000000};

static uint64_t monotonic_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Runs one job; returns how long its fsync took (0: there was none). */
static uint64_t io_job_run(struct os_io_job *job, os_io_sync_fn sync_fn) {
  if (job->fd < 0) return 0; /* nothing to sync: the loop preset the result */
  uint64_t start_us = monotonic_us();
  int rc = sync_fn(job->fd);
  uint64_t took_us = monotonic_us() - start_us;
  job->err = rc == 0 ? 0 : os_err_from_errno(rc);
  close(job->fd);
  job->fd = -1;
  return took_us > 0 ? took_us : 1;
}

static void stats_add(struct os_fsync_stats *s, uint64_t us) {
  s->count++;
  s->sum_us += us;
  for (int i = 0; i < OS_FSYNC_BUCKETS; i++)
    if (us <= OS_FSYNC_BUCKET_US[i]) s->buckets[i]++;
}

void os_world_fsync_stats(struct os_world *w, struct os_fsync_stats *out) {
  struct os_io *io = w->io;
  *out = (struct os_fsync_stats){0};
  if (io == NULL) return;
  pthread_mutex_lock(&io->mutex);
  *out = io->stats;
  pthread_mutex_unlock(&io->mutex);
}

/* Wakes the loop. A failed write can only be a saturated counter, which
 * leaves the eventfd readable anyway. */
static void io_wake_loop(struct os_io *io) {
  uint64_t one = 1;
  ssize_t r;
  do r = write(io->event_fd, &one, sizeof one);
  while (r < 0 && errno == EINTR);
}

/* The thread's body: runs jobs in ring order until asked to stop. It holds
 * the mutex except while a job runs; the job's slot is its own until
 * `finished` moves past it. */
static void *io_main(void *arg) {
  struct os_io *io = arg;
  pthread_mutex_lock(&io->mutex);
  while (!io->stop) {
    if (io->finished == io->submitted) {
      pthread_cond_wait(&io->work_cond, &io->mutex);
      continue;
    }
    struct os_io_job *job = &io->jobs[io->finished % OS_IO_JOBS_MAX];
    os_io_sync_fn sync_fn = io->sync_fn;
    pthread_mutex_unlock(&io->mutex);
    uint64_t took_us = io_job_run(job, sync_fn);
    pthread_mutex_lock(&io->mutex);
    if (took_us > 0) stats_add(&io->stats, took_us);
    io->finished++;
    pthread_cond_signal(&io->finish_cond);
    io_wake_loop(io);
  }
  pthread_mutex_unlock(&io->mutex);
  return NULL;
}

/* The thread starts with every signal blocked, so SIGTERM and the other
 * signals the loop watches through signalfd are never taken by it. */
static void io_thread_start(struct os_io *io) {
  sigset_t all, old;
  sigfillset(&all);
  int rc = pthread_sigmask(SIG_SETMASK, &all, &old);
  ASSERT(rc == 0);
  pthread_attr_t attr;
  rc = pthread_attr_init(&attr);
  ASSERT(rc == 0);
  rc = pthread_attr_setstacksize(&attr, IO_THREAD_STACK_BYTES);
  ASSERT(rc == 0);
  rc = pthread_create(&io->thread, &attr, io_main, io);
  ASSERT(rc == 0);
  pthread_attr_destroy(&attr);
  rc = pthread_sigmask(SIG_SETMASK, &old, NULL);
  ASSERT(rc == 0);
}

void os_io_init(struct os_world *w) {
  ASSERT(w->io == NULL);
  struct os_io *io = calloc(1, sizeof *io);
  ASSERT(io != NULL);
  io->handle.kind = OS_HANDLE_IO;
  io->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ASSERT(io->event_fd >= 0);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &io->handle};
  int rc = epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, io->event_fd, &ev);
  ASSERT(rc == 0);
  rc = pthread_mutex_init(&io->mutex, NULL);
  rc |= pthread_cond_init(&io->work_cond, NULL);
  rc |= pthread_cond_init(&io->finish_cond, NULL);
  ASSERT(rc == 0);
  io->sync_fn = os_io_fdatasync;
  io_thread_start(io);
  w->io = io;
}

void os_io_free(struct os_world *w) {
  struct os_io *io = w->io;
  if (!io) return;
  pthread_mutex_lock(&io->mutex);
  io->stop = true;
  pthread_cond_signal(&io->work_cond);
  pthread_mutex_unlock(&io->mutex);
  int rc = pthread_join(io->thread, NULL);
  ASSERT(rc == 0);
  ASSERT(io->collected <= io->finished && io->finished <= io->submitted);
  for (uint64_t seq = io->finished; seq < io->submitted; seq++) {
    struct os_io_job *job = &io->jobs[seq % OS_IO_JOBS_MAX];
    if (job->fd >= 0) close(job->fd);
  }
  close(io->event_fd); /* its last fd: this also takes it out of the epoll set */
  pthread_cond_destroy(&io->finish_cond);
  pthread_cond_destroy(&io->work_cond);
  pthread_mutex_destroy(&io->mutex);
  free(io);
  w->io = NULL;
}

/* Back-pressure: with OS_IO_JOBS_MAX fsyncs outstanding, the loop waits for
 * the oldest to finish and collects it, which frees its slot. That costs one
 * fsync's time on the loop (what every fsync cost before the thread), only
 * under that much load; the completions still run on a later iteration. */
static void io_wait_for_slot(struct os_world *w) {
  struct os_io *io = w->io;
  if (io->submitted - io->collected < OS_IO_JOBS_MAX) return;
  pthread_mutex_lock(&io->mutex);
  while (io->finished == io->collected) pthread_cond_wait(&io->finish_cond, &io->mutex);
  pthread_mutex_unlock(&io->mutex);
  os_io_collect(w);
  ASSERT(io->submitted - io->collected < OS_IO_JOBS_MAX);
}

void os_io_submit(struct os_world *w, int fd, int err, env_fsync_fn done, void *ctx) {
  ASSERT(err <= 0 && (fd < 0 || err == 0));
  struct os_io *io = w->io;
  io_wait_for_slot(w);
  pthread_mutex_lock(&io->mutex);
  io->jobs[io->submitted % OS_IO_JOBS_MAX] =
      (struct os_io_job){.fd = fd, .err = err, .done = done, .ctx = ctx};
  io->submitted++;
  pthread_cond_signal(&io->work_cond);
  pthread_mutex_unlock(&io->mutex);
}

uint64_t os_io_in_flight(const struct os_world *w) {
  return w->io->submitted - w->io->collected;
}

int os_io_collect(struct os_world *w) {
  struct os_io *io = w->io;
  if (io->collected == io->submitted) return 0; /* nothing outstanding: skip the lock */
  pthread_mutex_lock(&io->mutex);
  uint64_t finished = io->finished;
  pthread_mutex_unlock(&io->mutex);
  ASSERT(io->collected <= finished && finished - io->collected <= OS_IO_JOBS_MAX);
  int count = (int)(finished - io->collected);
  for (; io->collected < finished; io->collected++) {
    const struct os_io_job *job = &io->jobs[io->collected % OS_IO_JOBS_MAX];
    ASSERT(job->fd < 0);
    struct os_event ev = {
        .kind = OS_EVENT_FSYNC, .err = job->err, .fsync_done = job->done, .ctx = job->ctx};
    os_event_push(w, &ev);
  }
  return count;
}

int os_io_dispatch(struct os_world *w) {
  uint64_t value;
  ssize_t r;
  do r = read(w->io->event_fd, &value, sizeof value);
  while (r < 0 && errno == EINTR);
  ASSERT(r == (ssize_t)sizeof value || (r < 0 && errno == EAGAIN));
  return os_io_collect(w);
}

void os_io_sync_fn_set(struct os_world *w, os_io_sync_fn fn) {
  ASSERT(fn != NULL);
  pthread_mutex_lock(&w->io->mutex);
  w->io->sync_fn = fn;
  pthread_mutex_unlock(&w->io->mutex);
}
