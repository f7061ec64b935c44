/* The real world (os/): clock, timers, disk and network on a real kernel.
 * Disk tests work in a mkdtemp() directory; network tests use 127.0.0.1 and
 * port 0. The loop is driven with os_world_run_once until the expected
 * callbacks happened, under an iteration bound (no sleeps); a test that needs
 * the I/O thread stuck inside an fsync swaps its sync_fn for one that waits
 * on a pipe. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/assert.h"
#include "env.h"
#include "os/internal.h" /* the I/O thread's ring size and its sync_fn seam */
#include "os/world.h"
#include "testing.h"

enum { ROUNDS_MAX = 100000, RECORDS_MAX = 4096 };

/* Runs the loop until `cond` holds; fails the test after ROUNDS_MAX rounds. */
#define RUN_UNTIL(w, cond)                                                                     \
  do {                                                                                         \
    for (int round_ = 0; round_ < ROUNDS_MAX && !(cond); round_++)                             \
      os_world_run_once((w), 100);                                                             \
    ck_assert_msg((cond), "never happened: %s", #cond);                                        \
  } while (0)

/* --- clock, timers, random ----------------------------------------------------- */

struct timer_log {
  struct env *env;
  int order[256];
  int count;
  env_timer_id cancel_in_callback;
  bool start_in_callback;
};

struct timer_arg {
  struct timer_log *log;
  int tag;
};

static void on_timer(void *ctx) {
  struct timer_arg *a = ctx;
  struct timer_log *log = a->log;
  ck_assert_int_lt(log->count, 256);
  log->order[log->count++] = a->tag;
  if (log->cancel_in_callback) log->env->timer_cancel(log->env, log->cancel_in_callback);
}

START_TEST(timers_fire_in_deadline_order) {
  struct os_world *w = os_world_create(1);
  struct env *env = os_world_env(w);
  struct timer_log log = {.env = env};
  struct timer_arg args[5];
  uint64_t delays_ms[5] = {30, 10, 0, 0, 20};
  env_timer_id last = 0;
  for (int i = 0; i < 5; i++) {
    args[i] = (struct timer_arg){&log, i};
    env_timer_id id = env->timer_start(env, delays_ms[i] * NS_PER_MS, on_timer, &args[i]);
    ck_assert(id > last); /* never 0, never reused */
    last = id;
  }
  RUN_UNTIL(w, log.count == 5);
  int want[5] = {2, 3, 1, 4, 0};
  for (int i = 0; i < 5; i++) ck_assert_int_eq(log.order[i], want[i]);
  os_world_destroy(w);
}
END_TEST

/* Equal delays: whatever the clock's resolution, timers fire in start order. */
START_TEST(timers_equal_delays_fire_in_start_order) {
  struct os_world *w = os_world_create(1);
  struct env *env = os_world_env(w);
  struct timer_log log = {.env = env};
  static struct timer_arg args[200];
  for (int i = 0; i < 200; i++) {
    args[i] = (struct timer_arg){&log, i};
    env->timer_start(env, i < 100 ? 0 : NS_PER_MS, on_timer, &args[i]);
  }
  RUN_UNTIL(w, log.count == 200);
  for (int i = 0; i < 200; i++) ck_assert_int_eq(log.order[i], i);
  os_world_destroy(w);
}
END_TEST

START_TEST(timers_cancel) {
  struct os_world *w = os_world_create(1);
  struct env *env = os_world_env(w);
  struct timer_log log = {.env = env};
  struct timer_arg a = {&log, 1}, b = {&log, 2}, c = {&log, 3};
  env_timer_id ia = env->timer_start(env, 0, on_timer, &a);
  env_timer_id ib = env->timer_start(env, NS_PER_MS, on_timer, &b);
  env->timer_start(env, 2 * NS_PER_MS, on_timer, &c);
  env->timer_cancel(env, ib);
  env->timer_cancel(env, ib);     /* twice: no-op */
  env->timer_cancel(env, 999999); /* unknown: no-op */
  env->timer_cancel(env, 0);
  RUN_UNTIL(w, log.count == 2);
  env->timer_cancel(env, ia); /* already fired: no-op */
  ck_assert_int_eq(log.order[0], 1);
  ck_assert_int_eq(log.order[1], 3);
  ck_assert_int_eq(os_world_run_once(w, 0), 0); /* nothing left */
  os_world_destroy(w);
}
END_TEST

struct chain {
  struct env *env;
  int fired;
  int depth;
};

static void on_chain(void *ctx) {
  struct chain *ch = ctx;
  ch->fired++;
  if (ch->fired < ch->depth) ch->env->timer_start(ch->env, 0, on_chain, ch);
}

/* A callback may start timers (they fire on a later iteration, so a zero
 * delay cannot starve the loop) and cancel others that are due. */
START_TEST(timers_started_and_cancelled_from_callbacks) {
  struct os_world *w = os_world_create(1);
  struct env *env = os_world_env(w);
  struct chain ch = {.env = env, .depth = 5};
  env->timer_start(env, 0, on_chain, &ch);
  int rounds = 0;
  for (; rounds < ROUNDS_MAX && ch.fired < 5; rounds++) {
    int before = ch.fired;
    os_world_run_once(w, 100);
    ck_assert_int_le(ch.fired, before + 1);
  }
  ck_assert_int_eq(ch.fired, 5);

  struct timer_log log = {.env = env};
  struct timer_arg a = {&log, 1}, b = {&log, 2};
  env->timer_start(env, 0, on_timer, &a);
  log.cancel_in_callback = env->timer_start(env, 0, on_timer, &b);
  RUN_UNTIL(w, log.count >= 1);
  ck_assert_int_eq(os_world_run_once(w, 0), 0);
  ck_assert_int_eq(log.count, 1);
  ck_assert_int_eq(log.order[0], 1);
  os_world_destroy(w);
}
END_TEST

START_TEST(clock_and_random) {
  struct os_world *w = os_world_create(7);
  struct env *env = os_world_env(w);
  ck_assert_int_eq(env->node_id, 7);
  uint64_t t0 = env->now_ns(env), t1 = env->now_ns(env);
  ck_assert(t1 >= t0);
  ck_assert(env->wall_ms(env) > INT64_C(1600000000000)); /* after 2020 */
  uint64_t r[8];
  for (int i = 0; i < 8; i++) r[i] = env->random_u64(env);
  for (int i = 1; i < 8; i++) ck_assert(r[i] != r[i - 1]);
  struct os_world *w2 = os_world_create(7); /* seeded from getrandom: different streams */
  ck_assert(os_world_env(w2)->random_u64(os_world_env(w2)) != r[0]);
  os_world_destroy(w2);
  env_log(env, ENV_LOG_DEBUG, "hidden below the threshold %d", 1);
  os_world_set_log_level(w, ENV_LOG_DEBUG);
  env_log(env, ENV_LOG_DEBUG, "test_os: a debug line (%s)", "visible");
  os_world_destroy(w);
}
END_TEST

/* --- disk ------------------------------------------------------------------- */

static char tmp_root[64];

static void tmp_setup(void) {
  snprintf(tmp_root, sizeof tmp_root, "/tmp/sluice-test-os-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmp_root));
}

static void tmp_teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
  ck_assert_int_eq(system(cmd), 0);
}

static const char *tmp_path(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "%s/%s", tmp_root, name);
  return buf;
}

START_TEST(disk_files) {
  struct os_world *w = os_world_create(1);
  struct env *env = os_world_env(w);
  char path[128], path2[128];
  tmp_path(path, sizeof path, "00000000000000000000.log");
  env_file f, g;
  ck_assert_int_eq(env->open(env, path, ENV_O_CREATE | ENV_O_EXCL, &f), 0);
  ck_assert_int_eq(f, 0); /* small ids, lowest first */
  ck_assert_int_eq(env->open(env, path, ENV_O_CREATE | ENV_O_EXCL, &g), ENV_EEXIST);
  ck_assert_int_eq(env->pwrite(env, f, "hello world", 11, 0), 11);
  ck_assert_int_eq(env->pwrite(env, f, "tail", 4, 100), 4);
  ck_assert_int_eq(env->file_size(env, f), 104);
  char buf[200];
  ck_assert_int_eq(env->pread(env, f, buf, 5, 6), 5);
  ck_assert(memcmp(buf, "world", 5) == 0);
  ck_assert_int_eq(env->pread(env, f, buf, sizeof buf, 100), 4); /* short at end of file */
  ck_assert(memcmp(buf, "tail", 4) == 0);
  ck_assert_int_eq(env->pread(env, f, buf, 10, 500), 0);
  ck_assert_int_eq(env->truncate(env, f, 5), 0);
  ck_assert_int_eq(env->file_size(env, f), 5);

  ck_assert_int_eq(env->open(env, path, ENV_O_READONLY, &g), 0);
  ck_assert_int_eq(g, 1);
  ck_assert_int_eq(env->pread(env, g, buf, 5, 0), 5);
  ck_assert(memcmp(buf, "hello", 5) == 0);
  ck_assert_int_lt(env->pwrite(env, g, "x", 1, 0), 0); /* read-only */
  env->file_close(env, f);
  env->file_close(env, f); /* twice: no-op */
  ck_assert_int_lt(env->pread(env, f, buf, 1, 0), 0);
  ck_assert_int_eq(env->file_size(env, 42), ENV_EINVAL);
  ck_assert_int_eq(env->open(env, path, ENV_O_TRUNC, &f), 0);
  ck_assert_int_eq(f, 0); /* the freed slot again */
  ck_assert_int_eq(env->file_size(env, g), 0);

  tmp_path(path2, sizeof path2, "renamed.log");
  ck_assert_int_eq(env->rename(env, path, path2), 0);
  ck_assert_int_eq(env->open(env, path, 0, &f), ENV_ENOENT);
  ck_assert_int_eq(env->unlink(env, path2), 0);
  ck_assert_int_eq(env->unlink(env, path2), ENV_ENOENT);
  ck_assert_int_eq(env->open(env, path, 64, &f), ENV_EINVAL); /* unknown flag */
  env->file_close(env, 0);
  env->file_close(env, g);
  os_world_destroy(w);
}
END_TEST

struct listing {
  char names[16][32];
  bool is_dir[16];
  int count;
};

static void on_entry(void *ctx, const char *name, bool is_dir) {
  struct listing *l = ctx;
  ck_assert_int_lt(l->count, 16);
  snprintf(l->names[l->count], sizeof l->names[0], "%s", name);
  l->is_dir[l->count++] = is_dir;
}

START_TEST(disk_directories) {
  struct os_world *w = os_world_create(1);
  struct env *env = os_world_env(w);
  char path[128];
  const char *files[] = {"t-2", "t-10", "meta.properties", "a"};
  for (int i = 0; i < 4; i++) {
    env_file f;
    ck_assert_int_eq(env->open(env, tmp_path(path, sizeof path, files[i]), ENV_O_CREATE, &f),
                     0);
    env->file_close(env, f);
  }
  ck_assert_int_eq(env->mkdir(env, tmp_path(path, sizeof path, "topic-0")), 0);
  ck_assert_int_eq(env->mkdir(env, path), ENV_EEXIST);
  ck_assert_int_eq(env->dir_sync(env, tmp_root), 0);
  struct listing l = {0};
  ck_assert_int_eq(env->list(env, tmp_root, on_entry, &l), 0);
  const char *want[] = {"a", "meta.properties", "t-10", "t-2", "topic-0"};
  ck_assert_int_eq(l.count, 5);
  for (int i = 0; i < 5; i++) {
    ck_assert_str_eq(l.names[i], want[i]);
    ck_assert(l.is_dir[i] == (i == 4));
  }
  ck_assert_int_eq(env->rmdir(env, path), 0);
  ck_assert_int_eq(env->rmdir(env, path), ENV_ENOENT);
  ck_assert_int_eq(env->list(env, path, on_entry, &l), ENV_ENOENT);
  ck_assert_int_eq(env->dir_sync(env, path), ENV_ENOENT);
  ck_assert_int_eq(env->mkdir(env, tmp_path(path, sizeof path, "no/such/parent")), ENV_ENOENT);
  os_world_destroy(w);
}
END_TEST

/* --- fsync on the I/O thread ------------------------------------------------- */

struct fsync_log {
  int calls;
  int err;
  int sequence; /* the completion's place in the order of all completions */
  bool off_loop_thread;
};

static int fsync_sequence;
static pthread_t loop_thread;

static void on_fsync(void *ctx, int err) {
  struct fsync_log *log = ctx;
  log->calls++;
  log->err = err;
  log->sequence = ++fsync_sequence;
  if (!pthread_equal(pthread_self(), loop_thread)) log->off_loop_thread = true;
}

static struct os_world *fsync_world(void) {
  loop_thread = pthread_self();
  fsync_sequence = 0;
  return os_world_create(1);
}

static env_file file_with_data(struct env *env, const char *name) {
  char path[128];
  env_file f;
  ck_assert_int_eq(env->open(env, tmp_path(path, sizeof path, name), ENV_O_CREATE, &f), 0);
  ck_assert_int_eq(env->pwrite(env, f, "abc", 3, 0), 3);
  return f;
}

/* A sync_fn that holds the I/O thread: it reports each call with a byte on
 * held_entered, then waits for held_release to be closed (a read returning
 * 0), so a test knows the thread is inside an fsync without sleeping. */
static int held_entered[2] = {-1, -1}, held_release[2] = {-1, -1};
static int held_errno; /* what the held fsync returns */

static int sync_held(int fd) {
  (void)fd;
  char c = 'e';
  if (write(held_entered[1], &c, 1) != 1) return EIO;
  while (read(held_release[0], &c, 1) != 0) continue; /* bounded by the test's close */
  return held_errno;
}

static void held_setup(struct os_world *w, int err) {
  ck_assert_int_eq(pipe2(held_entered, O_CLOEXEC), 0);
  ck_assert_int_eq(pipe2(held_release, O_CLOEXEC), 0);
  held_errno = err;
  os_io_sync_fn_set(w, sync_held);
}

/* Blocks until the I/O thread is inside sync_held. */
static void held_wait_entered(void) {
  char c;
  ck_assert_int_eq(read(held_entered[0], &c, 1), 1);
}

static void held_release_all(void) {
  close(held_release[1]);
  held_release[1] = -1;
}

static void held_teardown(void) {
  for (int i = 0; i < 2; i++) {
    if (held_entered[i] >= 0) close(held_entered[i]);
    if (held_release[i] >= 0) close(held_release[i]);
    held_entered[i] = held_release[i] = -1;
  }
}

START_TEST(disk_fsync_completes_later) {
  struct os_world *w = fsync_world();
  struct env *env = os_world_env(w);
  env_file f = file_with_data(env, "f");
  struct fsync_log log = {.err = 99};
  env->fsync(env, f, on_fsync, &log);
  ck_assert_int_eq(log.calls, 0); /* never inside the call */
  ck_assert_uint_eq(os_world_completions_pending(w), 1);
  RUN_UNTIL(w, log.calls == 1);
  ck_assert_int_eq(log.err, 0);
  ck_assert(!log.off_loop_thread);
  ck_assert_uint_eq(os_world_completions_pending(w), 0);
  env->file_close(env, f);
  os_world_destroy(w);
}
END_TEST

struct fsync_from_timer {
  struct env *env;
  env_file file;
  struct fsync_log log;
  bool timer_ran;
};

static void fsync_in_timer(void *ctx) {
  struct fsync_from_timer *t = ctx;
  t->env->fsync(t->env, t->file, on_fsync, &t->log);
  t->timer_ran = true;
}

/* Issued from a callback, the completion waits for a later iteration even
 * when the thread finishes at once. */
START_TEST(disk_fsync_from_a_callback_completes_on_a_later_iteration) {
  struct os_world *w = fsync_world();
  struct env *env = os_world_env(w);
  struct fsync_from_timer t = {.env = env, .file = file_with_data(env, "f")};
  env->timer_start(env, 0, fsync_in_timer, &t);
  for (int i = 0; i < ROUNDS_MAX && !t.timer_ran; i++) {
    os_world_run_once(w, 100);
    ck_assert_int_eq(t.log.calls, 0);
  }
  ck_assert(t.timer_ran);
  ck_assert_int_eq(t.log.calls, 0);
  RUN_UNTIL(w, t.log.calls == 1);
  ck_assert_int_eq(t.log.err, 0);
  env->file_close(env, t.file);
  os_world_destroy(w);
}
END_TEST

/* Across two files and bad ids, and past the ring's bound (the loop waits
 * for a slot; the completions still come from the loop, later). */
START_TEST(disk_fsyncs_complete_in_issue_order) {
  enum { COUNT = 3 * OS_IO_JOBS_MAX };
  struct os_world *w = fsync_world();
  struct env *env = os_world_env(w);
  env_file f = file_with_data(env, "f"), g = file_with_data(env, "g");
  static struct fsync_log many[COUNT];
  memset(many, 0, sizeof many);
  for (int i = 0; i < COUNT; i++) {
    env_file file = i % 500 == 7 ? 77 : i % 2 ? f : g;
    env->fsync(env, file, on_fsync, &many[i]);
  }
  for (int i = 0; i < COUNT; i++) ck_assert_int_eq(many[i].calls, 0);
  RUN_UNTIL(w, many[COUNT - 1].calls == 1);
  for (int i = 0; i < COUNT; i++) {
    ck_assert_int_eq(many[i].calls, 1);
    ck_assert_int_eq(many[i].sequence, i + 1);
    ck_assert_int_eq(many[i].err, i % 500 == 7 ? ENV_EINVAL : 0);
    ck_assert(!many[i].off_loop_thread);
  }
  env->file_close(env, f);
  env->file_close(env, g);
  os_world_destroy(w);
}
END_TEST

START_TEST(disk_fsync_of_a_bad_or_closed_file) {
  struct os_world *w = fsync_world();
  struct env *env = os_world_env(w);
  env_file f = file_with_data(env, "f"), g = file_with_data(env, "g");
  struct fsync_log bad = {.err = 99}, closed = {.err = 99}, racing = {.err = 99};
  env->fsync(env, 77, on_fsync, &bad);
  env->file_close(env, f);
  env->fsync(env, f, on_fsync, &closed);
  env->fsync(env, g, on_fsync, &racing);
  env->file_close(env, g); /* before the thread gets to it: it syncs its own dup() */
  ck_assert_int_eq(bad.calls + closed.calls + racing.calls, 0);
  RUN_UNTIL(w, racing.calls == 1);
  ck_assert_int_eq(bad.err, ENV_EINVAL);
  ck_assert_int_eq(closed.err, ENV_EINVAL);
  ck_assert_int_eq(racing.err, 0);
  ck_assert_int_lt(bad.sequence, closed.sequence);
  ck_assert_int_lt(closed.sequence, racing.sequence);
  os_world_destroy(w);
}
END_TEST

/* The thread's errno becomes the same ENV_E* code as before the thread. */
START_TEST(disk_fsync_errors_are_mapped) {
  const int errnos[] = {EIO, ENOSPC, EDQUOT, EROFS};
  const int want[] = {ENV_EIO, ENV_ENOSPC, ENV_ENOSPC, ENV_EOTHER};
  for (size_t i = 0; i < ARRAY_LEN(errnos); i++) {
    struct os_world *w = fsync_world();
    struct env *env = os_world_env(w);
    held_setup(w, errnos[i]);
    held_release_all(); /* sync_held returns at once */
    env_file f = file_with_data(env, "f");
    struct fsync_log log = {.err = 99};
    env->fsync(env, f, on_fsync, &log);
    RUN_UNTIL(w, log.calls == 1);
    ck_assert_int_eq(log.err, want[i]);
    env->file_close(env, f);
    os_world_destroy(w);
    held_teardown();
  }
}
END_TEST

static void on_timer_count(void *ctx) { (*(int *)ctx)++; }

/* The point of the thread: a slow disk does not hold up timers. */
START_TEST(timers_fire_while_an_fsync_is_held) {
  struct os_world *w = fsync_world();
  struct env *env = os_world_env(w);
  held_setup(w, 0);
  env_file f = file_with_data(env, "f");
  struct fsync_log log = {.err = 99}, after = {.err = 99};
  env->fsync(env, f, on_fsync, &log);
  env->fsync(env, f, on_fsync, &after);
  held_wait_entered();
  int fired = 0;
  for (int i = 0; i < 3; i++)
    env->timer_start(env, (uint64_t)i * NS_PER_MS, on_timer_count, &fired);
  RUN_UNTIL(w, fired == 3);
  ck_assert_int_eq(log.calls + after.calls, 0); /* still inside the first fsync */
  uint64_t p50_us, p99_us, max_us;
  ck_assert_uint_eq(os_world_timer_lateness(w, &p50_us, &p99_us, &max_us), 3);
  held_release_all();
  RUN_UNTIL(w, after.calls == 1);
  ck_assert_int_eq(log.err, 0);
  ck_assert_int_eq(after.err, 0);
  ck_assert_int_lt(log.sequence, after.sequence);
  env->file_close(env, f);
  os_world_destroy(w);
  held_teardown();
}
END_TEST

/* Destroy joins the thread and drops what is queued: no callback, no hang. */
START_TEST(destroy_with_fsyncs_in_flight) {
  static struct fsync_log many[200];
  memset(many, 0, sizeof many);
  struct os_world *w = fsync_world();
  struct env *env = os_world_env(w);
  env_file f = file_with_data(env, "f");
  for (int i = 0; i < 200; i++) env->fsync(env, f, on_fsync, &many[i]);
  os_world_destroy(w); /* the real fdatasync: some ran, some queued */

  w = fsync_world();
  env = os_world_env(w);
  held_setup(w, 0);
  f = file_with_data(env, "g");
  for (int i = 0; i < 200; i++) env->fsync(env, f, on_fsync, &many[i]);
  held_wait_entered();
  held_release_all(); /* destroy may find the thread inside the fsync or past it */
  os_world_destroy(w);
  for (int i = 0; i < 200; i++) ck_assert_int_eq(many[i].calls, 0);
  held_teardown();
}
END_TEST

START_TEST(timer_lateness_counts_every_timer) {
  struct os_world *w = os_world_create(1);
  struct env *env = os_world_env(w);
  uint64_t p50_us = 1, p99_us = 1, max_us = 1;
  ck_assert_uint_eq(os_world_timer_lateness(w, &p50_us, &p99_us, &max_us), 0);
  ck_assert_uint_eq(p50_us + p99_us + max_us, 0);
  int fired = 0;
  for (int i = 0; i < 50; i++)
    env->timer_start(env, (uint64_t)(i % 5) * NS_PER_MS, on_timer_count, &fired);
  env_timer_id cancelled = env->timer_start(env, 0, on_timer_count, &fired);
  env->timer_cancel(env, cancelled); /* never ran: not counted */
  RUN_UNTIL(w, fired == 50);
  ck_assert_uint_eq(os_world_timer_lateness(w, &p50_us, &p99_us, &max_us), 50);
  ck_assert_uint_le(p50_us, p99_us);
  ck_assert_uint_le(p99_us, max_us);
  os_world_destroy(w);
}
END_TEST

/* --- network ------------------------------------------------------------------ */

struct frame_rec {
  env_conn_id conn;
  uint8_t *data;
  size_t len;
};

struct conn_rec {
  env_conn_id conn;
  int err;
  uint32_t listener;
};

struct net_log {
  struct env *env;
  struct conn_rec accepted[64], connected[64], closed[64];
  int accepted_count, connected_count, closed_count;
  struct frame_rec *frames;
  int frame_count;
  bool inside_env_call;
  env_conn_id close_on_frame; /* close this connection when a frame arrives on it */
};

static void on_accepted(void *ctx, uint32_t listener, env_conn_id conn) {
  struct net_log *log = ctx;
  ck_assert_int_lt(log->accepted_count, 64);
  log->accepted[log->accepted_count++] = (struct conn_rec){conn, 0, listener};
}

static void on_connected(void *ctx, env_conn_id conn, int err) {
  struct net_log *log = ctx;
  ck_assert_int_lt(log->connected_count, 64);
  log->connected[log->connected_count++] = (struct conn_rec){conn, err, 0};
}

static void on_frame(void *ctx, env_conn_id conn, uint8_t *data, size_t len) {
  struct net_log *log = ctx;
  ck_assert_int_lt(log->frame_count, RECORDS_MAX);
  ck_assert_ptr_nonnull(data);
  log->frames[log->frame_count++] = (struct frame_rec){conn, data, len};
  if (conn == log->close_on_frame) log->env->close(log->env, conn);
}

static void on_closed(void *ctx, env_conn_id conn, int err) {
  struct net_log *log = ctx;
  ck_assert(!log->inside_env_call);
  ck_assert_int_lt(log->closed_count, 64);
  for (int i = 0; i < log->closed_count; i++) ck_assert(log->closed[i].conn != conn);
  log->closed[log->closed_count++] = (struct conn_rec){conn, err, 0};
}

static struct net_log *net_log_new(struct env *env) {
  struct net_log *log = calloc(1, sizeof *log);
  ck_assert_ptr_nonnull(log);
  log->env = env;
  log->frames = calloc(RECORDS_MAX, sizeof *log->frames);
  ck_assert_ptr_nonnull(log->frames);
  struct env_net_handler h = {.ctx = log,
                              .accepted = on_accepted,
                              .connected = on_connected,
                              .frame = on_frame,
                              .closed = on_closed};
  env->net_handler_set(env, &h);
  return log;
}

static void net_log_free(struct net_log *log) {
  for (int i = 0; i < log->frame_count; i++) free(log->frames[i].data);
  free(log->frames);
  free(log);
}

static int closed_err(const struct net_log *log, env_conn_id conn) {
  for (int i = 0; i < log->closed_count; i++)
    if (log->closed[i].conn == conn) return log->closed[i].err;
  return 1; /* not closed */
}

static int frames_on(const struct net_log *log, env_conn_id conn) {
  int n = 0;
  for (int i = 0; i < log->frame_count; i++) n += log->frames[i].conn == conn;
  return n;
}

/* A connected pair through a listener of this world: client -> server. */
static void connect_pair(struct os_world *w, struct net_log *log, uint32_t listener,
                         env_conn_id *client, env_conn_id *server) {
  struct env *env = os_world_env(w);
  int accepted = log->accepted_count, connected = log->connected_count;
  ck_assert_int_eq(
      env->connect(env, "127.0.0.1", env->listener_port(env, listener), 1 << 30, client), 0);
  RUN_UNTIL(w, log->accepted_count == accepted + 1 && log->connected_count == connected + 1);
  ck_assert(log->connected[connected].conn == *client);
  ck_assert_int_eq(log->connected[connected].err, 0);
  ck_assert_int_eq(log->accepted[accepted].listener, listener);
  *server = log->accepted[accepted].conn;
  ck_assert(*server != *client && *server != 0 && *client != 0);
}

static uint32_t listen_local(struct env *env, uint32_t frame_bytes_max) {
  uint32_t listener = 99;
  ck_assert_int_eq(env->listen(env, "127.0.0.1", 0, frame_bytes_max, &listener), 0);
  ck_assert_int_ne(env->listener_port(env, listener), 0);
  return listener;
}

static int send_mem(struct env *env, env_conn_id conn, const void *data, size_t len) {
  struct env_iov iov = {.kind = ENV_IOV_MEM, .base = data, .len = len};
  return env->send(env, conn, &iov, 1);
}

START_TEST(net_frames_both_ways) {
  struct os_world *w = os_world_create(1);
  struct env *env = os_world_env(w);
  struct net_log *log = net_log_new(env);
  uint32_t l = listen_local(env, 1 << 20);
  env_conn_id client, server;
  connect_pair(w, log, l, &client, &server);

  ck_assert_int_eq(send_mem(env, client, "request-1", 9), 0);
  ck_assert_int_eq(env->send_queued_bytes(env, client), 13); /* queued until the loop writes */
  ck_assert_int_eq(send_mem(env, server, "", 0), 0);         /* an empty frame is a frame */
  RUN_UNTIL(w, log->frame_count == 2);
  for (int i = 0; i < 2; i++) {
    struct frame_rec *f = &log->frames[i];
    if (f->conn == server)
      ck_assert(f->len == 9 && memcmp(f->data, "request-1", 9) == 0);
    else
      ck_assert(f->conn == client && f->len == 0);
  }
  ck_assert_int_eq(env->send_queued_bytes(env, client), 0);

  /* Memory parts and a file range (sendfile) in one frame. */
  char path[128];
  env_file file;
  ck_assert_int_eq(env->open(env, tmp_path(path, sizeof path, "seg.log"), ENV_O_CREATE, &file),
                   0);
  static uint8_t content[100000];
  for (size_t i = 0; i < sizeof content; i++) content[i] = (uint8_t)(i * 7 + 3);
  ck_assert_int_eq(env->pwrite(env, file, content, sizeof content, 0), (int64_t)sizeof content);
  struct env_iov iov[4] = {
      {.kind = ENV_IOV_MEM, .base = "head", .len = 4},
      {.kind = ENV_IOV_FILE, .file = file, .offset = 1000, .len = 90000},
      {.kind = ENV_IOV_MEM, .base = "", .len = 0},
      {.kind = ENV_IOV_MEM, .base = "tail!", .len = 5},
  };
  ck_assert_int_eq(env->send(env, server, iov, 4), 0);
  /* The log may close and unlink a segment once the send is queued. */
  env->file_close(env, file);
  ck_assert_int_eq(env->unlink(env, path), 0);
  RUN_UNTIL(w, log->frame_count == 3);
  struct frame_rec *f = &log->frames[2];
  ck_assert(f->conn == client);
  ck_assert_int_eq(f->len, 4 + 90000 + 5);
  ck_assert(memcmp(f->data, "head", 4) == 0);
  ck_assert(memcmp(f->data + 4, content + 1000, 90000) == 0);
  ck_assert(memcmp(f->data + 90004, "tail!", 5) == 0);

  struct env_iov stale = {.kind = ENV_IOV_FILE, .file = file, .offset = 0, .len = 1};
  ck_assert_int_eq(env->send(env, server, &stale, 1), ENV_EINVAL); /* a closed file */
  ck_assert_int_eq(env->send_queued_bytes(env, server), 0);
  net_log_free(log);
  os_world_destroy(w);
}
END_TEST

START_TEST(net_burst_of_small_frames_in_order) {
  struct os_world *w = os_world_create(1);
  struct env *env = os_world_env(w);
  struct net_log *log = net_log_new(env);
  uint32_t l = listen_local(env, 1 << 20);
  env_conn_id client, server;
  connect_pair(w, log, l, &client, &server);
  for (uint32_t i = 0; i < 1000; i++) {
    char text[32];
    int n = snprintf(text, sizeof text, "frame %u", i);
    ck_assert_int_eq(send_mem(env, client, text, (size_t)n), 0);
  }
  RUN_UNTIL(w, log->frame_count == 1000);
  for (uint32_t i = 0; i < 1000; i++) {
    char text[32];
    int n = snprintf(text, sizeof text, "frame %u", i);
    ck_assert(log->frames[i].conn == server);
    ck_assert_int_eq(log->frames[i].len, n);
    ck_assert(memcmp(log->frames[i].data, text, (size_t)n) == 0);
  }
  net_log_free(log);
  os_world_destroy(w);
}
END_TEST

START_TEST(net_big_frame_arrives_whole) {
  struct os_world *w = os_world_create(1);
  struct env *env = os_world_env(w);
  struct net_log *log = net_log_new(env);
  uint32_t l = listen_local(env, 8 << 20);
  env_conn_id client, server;
  connect_pair(w, log, l, &client, &server);
  size_t len = 5 << 20;
  uint8_t *big = malloc(len);
  ck_assert_ptr_nonnull(big);
  for (size_t i = 0; i < len; i++) big[i] = (uint8_t)(i ^ (i >> 11));
  ck_assert_int_eq(send_mem(env, client, "before", 6), 0);
  ck_assert_int_eq(send_mem(env, client, big, len), 0);
  ck_assert_int_eq(send_mem(env, client, "after", 5), 0);
  RUN_UNTIL(w, log->frame_count == 3);
  ck_assert(log->frames[0].len == 6 && memcmp(log->frames[0].data, "before", 6) == 0);
  ck_assert_int_eq(log->frames[1].len, len);
  ck_assert(memcmp(log->frames[1].data, big, len) == 0);
  ck_assert(log->frames[2].len == 5 && memcmp(log->frames[2].data, "after", 5) == 0);
  free(big);
  net_log_free(log);
  os_world_destroy(w);
}
END_TEST

START_TEST(net_oversized_frame_closes_only_its_connection) {
  struct os_world *w = os_world_create(1);
  struct env *env = os_world_env(w);
  struct net_log *log = net_log_new(env);
  uint32_t l = listen_local(env, 1000);
  env_conn_id bad_client, bad_server, good_client, good_server;
  connect_pair(w, log, l, &bad_client, &bad_server);
  connect_pair(w, log, l, &good_client, &good_server);
  static uint8_t payload[1001];
  ck_assert_int_eq(send_mem(env, bad_client, payload, 1000), 0); /* at the limit: fine */
  ck_assert_int_eq(send_mem(env, bad_client, payload, 1001), 0);
  RUN_UNTIL(w, closed_err(log, bad_server) != 1 && closed_err(log, bad_client) != 1);
  ck_assert_int_eq(closed_err(log, bad_server), ENV_EINVAL);
  ck_assert_int_eq(closed_err(log, bad_client), 0); /* the peer closed */
  ck_assert_int_eq(frames_on(log, bad_server), 1);
  ck_assert_int_eq(env->send(env, bad_server, NULL, 0), ENV_ECONNRESET);

  /* A negative length is malformed too (written by a raw socket: env->send
   * cannot produce one). */
  int raw = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET,
                            .sin_port = htons(env->listener_port(env, l)),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  ck_assert_int_eq(connect(raw, (struct sockaddr *)&sin, sizeof sin), 0);
  ck_assert_int_eq(write(raw,
                         "\xff\xff\xff\xf0"
                         "abcd",
                         8),
                   8);
  RUN_UNTIL(w, log->accepted_count == 3 && closed_err(log, log->accepted[2].conn) != 1);
  ck_assert_int_eq(closed_err(log, log->accepted[2].conn), ENV_EINVAL);
  char eof;
  ck_assert_int_eq(read(raw, &eof, 1), 0); /* the world closed its side */
  close(raw);

  ck_assert_int_eq(send_mem(env, good_client, "ok", 2), 0);
  RUN_UNTIL(w, frames_on(log, good_server) == 1);
  ck_assert_int_eq(send_mem(env, good_server, "still here", 10), 0);
  RUN_UNTIL(w, frames_on(log, good_client) == 1);
  ck_assert_int_eq(closed_err(log, good_server), 1);
  ck_assert_int_eq(closed_err(log, good_client), 1);
  net_log_free(log);
  os_world_destroy(w);
}
END_TEST

START_TEST(net_close_is_delivered_later_on_both_sides) {
  struct os_world *w = os_world_create(1);
  struct env *env = os_world_env(w);
  struct net_log *log = net_log_new(env);
  uint32_t l = listen_local(env, 1 << 20);
  env_conn_id client, server;
  connect_pair(w, log, l, &client, &server);
  log->inside_env_call = true;
  env->close(env, client);
  env->close(env, client); /* twice: no-op */
  env->close(env, 12345);  /* unknown: no-op */
  log->inside_env_call = false;
  ck_assert_int_eq(log->closed_count, 0);
  ck_assert_int_eq(send_mem(env, client, "x", 1), ENV_ECONNRESET);
  RUN_UNTIL(w, log->closed_count == 2);
  ck_assert_int_eq(closed_err(log, client), 0);
  ck_assert_int_eq(closed_err(log, server), 0); /* peer EOF */
  net_log_free(log);
  os_world_destroy(w);
}
END_TEST

/* A frame callback closes its own connection while more frames sit in the
 * same read buffer: nothing more is delivered, closed comes once. */
START_TEST(net_callback_closes_its_connection) {
  struct os_world *w = os_world_create(1);
  struct env *env = os_world_env(w);
  struct net_log *log = net_log_new(env);
  uint32_t l = listen_local(env, 1 << 20);
  env_conn_id client, server, client2, server2;
  connect_pair(w, log, l, &client, &server);
  connect_pair(w, log, l, &client2, &server2);
  log->close_on_frame = server;
  for (int i = 0; i < 10; i++) ck_assert_int_eq(send_mem(env, client, "abc", 3), 0);
  ck_assert_int_eq(send_mem(env, client2, "other", 5), 0);
  RUN_UNTIL(w, closed_err(log, server) != 1 && closed_err(log, client) != 1 &&
                   frames_on(log, server2) == 1);
  ck_assert_int_eq(frames_on(log, server), 1);
  ck_assert_int_eq(closed_err(log, server), 0);
  for (int i = 0; i < 5; i++) os_world_run_once(w, 0);
  ck_assert_int_eq(log->closed_count, 2);
  net_log_free(log);
  os_world_destroy(w); /* closes client2 and server2 without callbacks */
}
END_TEST

START_TEST(net_connect_refused_and_bad_hosts) {
  struct os_world *w = os_world_create(1);
  struct env *env = os_world_env(w);
  struct net_log *log = net_log_new(env);
  /* A port that was free a moment ago: bind, read it, close. */
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  ck_assert_int_eq(bind(s, (struct sockaddr *)&sin, sizeof sin), 0);
  socklen_t sl = sizeof sin;
  ck_assert_int_eq(getsockname(s, (struct sockaddr *)&sin, &sl), 0);
  close(s);
  env_conn_id c = 0;
  int rc = env->connect(env, "127.0.0.1", ntohs(sin.sin_port), 1000, &c);
  if (rc == 0) { /* the usual case: the refusal comes through the loop */
    RUN_UNTIL(w, log->connected_count == 1);
    ck_assert(log->connected[0].conn == c);
    ck_assert_int_eq(log->connected[0].err, ENV_ECONNREFUSED);
  } else {
    ck_assert_int_eq(rc, ENV_ECONNREFUSED);
  }
  for (int i = 0; i < 3; i++) os_world_run_once(w, 0);
  ck_assert_int_eq(log->closed_count, 0); /* a failed connect is not also closed */
  ck_assert_int_lt(env->connect(env, "", 9092, 1000, &c), 0);
  ck_assert_int_lt(env->connect(env, "no-such-host.invalid", 9092, 1000, &c), 0);
  uint32_t l;
  ck_assert_int_lt(env->listen(env, "no-such-host.invalid", 0, 1000, &l), 0);
  ck_assert_int_eq(env->listener_port(env, 7), 0);
  net_log_free(log);
  os_world_destroy(w);
}
END_TEST

START_TEST(net_ipv6_and_any_address) {
  struct os_world *w = os_world_create(1);
  struct env *env = os_world_env(w);
  struct net_log *log = net_log_new(env);
  uint32_t any;
  ck_assert_int_eq(env->listen(env, "", 0, 1000, &any), 0);
  env_conn_id client, server;
  connect_pair(w, log, any, &client, &server);
  uint32_t v6;
  if (env->listen(env, "::1", 0, 1000, &v6) == 0) { /* when the host has IPv6 */
    ck_assert_int_eq(env->connect(env, "::1", env->listener_port(env, v6), 1000, &client), 0);
    RUN_UNTIL(w, log->connected_count == 2);
    ck_assert_int_eq(log->connected[1].err, 0);
  }
  net_log_free(log);
  os_world_destroy(w);
}
END_TEST

/* Frames of every size across the 64 KiB read buffer's edges, including
 * ones too big for it, arrive whole and in order. */
START_TEST(net_mixed_sizes_cross_buffer_edges) {
  struct os_world *w = os_world_create(1);
  struct env *env = os_world_env(w);
  struct net_log *log = net_log_new(env);
  uint32_t l = listen_local(env, 1 << 20);
  env_conn_id client, server;
  connect_pair(w, log, l, &client, &server);
  enum { FRAMES = 3000 };
  static uint8_t pattern[200000];
  for (size_t i = 0; i < sizeof pattern; i++) pattern[i] = (uint8_t)(i * 131 + 17);
  static size_t lens[FRAMES];
  for (int i = 0; i < FRAMES; i++) {
    lens[i] = (size_t)(i * 7919) % 301;
    if (i % 500 == 7) lens[i] = 65536 - 4 + (size_t)(i % 3); /* at the buffer's size */
    if (i % 700 == 3) lens[i] = 150000;
    ck_assert_int_eq(send_mem(env, client, pattern + i % 1000, lens[i]), 0);
  }
  RUN_UNTIL(w, log->frame_count == FRAMES);
  for (int i = 0; i < FRAMES; i++) {
    ck_assert_int_eq(log->frames[i].len, lens[i]);
    ck_assert(memcmp(log->frames[i].data, pattern + i % 1000, lens[i]) == 0);
  }
  net_log_free(log);
  os_world_destroy(w);
}
END_TEST

START_TEST(net_listen_address_in_use) {
  struct os_world *w = os_world_create(1);
  struct env *env = os_world_env(w);
  uint32_t a = listen_local(env, 1000), b;
  ck_assert_int_eq(env->listen(env, "127.0.0.1", env->listener_port(env, a), 1000, &b),
                   ENV_EADDRINUSE);
  os_world_destroy(w);
}
END_TEST

/* Closing drops what is still queued (no flush) and frees it. */
START_TEST(net_close_drops_queued_output) {
  struct os_world *w = os_world_create(1);
  struct env *env = os_world_env(w);
  struct net_log *log = net_log_new(env);
  uint32_t l = listen_local(env, 4 << 20);
  env_conn_id client, server;
  connect_pair(w, log, l, &client, &server);
  static uint8_t big[3 << 20];
  ck_assert_int_eq(send_mem(env, server, big, sizeof big), 0);
  ck_assert_int_eq(env->send_queued_bytes(env, server), 4 + sizeof big);
  env->close(env, server);
  ck_assert_int_eq(env->send_queued_bytes(env, server), 0);
  RUN_UNTIL(w, log->closed_count == 2);
  ck_assert_int_eq(frames_on(log, client), 0);
  net_log_free(log);
  os_world_destroy(w);
}
END_TEST

/* A segment shortened under a queued file part cannot fill the frame it
 * promised: the connection closes with EIO rather than send a short frame. */
START_TEST(net_file_part_shorter_than_promised) {
  struct os_world *w = os_world_create(1);
  struct env *env = os_world_env(w);
  struct net_log *log = net_log_new(env);
  uint32_t l = listen_local(env, 1 << 20);
  env_conn_id client, server;
  connect_pair(w, log, l, &client, &server);
  char path[128];
  env_file file;
  ck_assert_int_eq(env->open(env, tmp_path(path, sizeof path, "short"), ENV_O_CREATE, &file),
                   0);
  static uint8_t data[4096];
  ck_assert_int_eq(env->pwrite(env, file, data, sizeof data, 0), (int64_t)sizeof data);
  struct env_iov iov = {.kind = ENV_IOV_FILE, .file = file, .offset = 0, .len = sizeof data};
  ck_assert_int_eq(env->send(env, server, &iov, 1), 0);
  ck_assert_int_eq(env->truncate(env, file, 100), 0);
  RUN_UNTIL(w, closed_err(log, server) != 1);
  ck_assert_int_eq(closed_err(log, server), ENV_EIO);
  env->file_close(env, file);
  net_log_free(log);
  os_world_destroy(w);
}
END_TEST

/* Back-pressure: while more than 64 MiB wait to go out on a connection, the
 * world does not read its requests; once the peer drains it, it does. */
/* --- budgets (env_net_limits, read_pause: issue 13) ------------------------- */

static int raw_connect(struct env *env, uint32_t listener) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(fd, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET,
                            .sin_port = htons(env->listener_port(env, listener)),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0); /* loopback: at once */
  return fd;
}

/* A frame's 4-byte length claiming `claim`, then `body` zero bytes of it. */
static void raw_send_partial(int fd, uint32_t claim, size_t body) {
  uint8_t head[4] = {(uint8_t)(claim >> 24), (uint8_t)(claim >> 16), (uint8_t)(claim >> 8),
                     (uint8_t)claim};
  ck_assert_int_eq(write(fd, head, 4), 4);
  static const uint8_t zeros[64 * 1024];
  for (size_t sent = 0; sent < body;) {
    size_t n = body - sent < sizeof zeros ? body - sent : sizeof zeros;
    ssize_t k = write(fd, zeros, n);
    ck_assert_int_gt(k, 0);
    sent += (size_t)k;
  }
}

START_TEST(net_receive_budget_admits_one_big_frame_at_a_time) {
  struct os_world *w = os_world_create(1);
  struct env *env = os_world_env(w);
  struct net_log *log = net_log_new(env);
  uint32_t l = listen_local(env, 64 << 20);
  struct env_net_limits lim = {.receive_bytes_max = 1 << 20};
  env->net_limits_set(env, &lim);
  int a = raw_connect(env, l);
  raw_send_partial(a, 8 << 20, 100 * 1024); /* claims 8 MiB: admitted alone */
  RUN_UNTIL(w, w->receive_reserved_bytes == (8u << 20));
  int b = raw_connect(env, l);
  raw_send_partial(b, 2 << 20, 100 * 1024); /* would pass the budget: waits unread */
  RUN_UNTIL(w, w->receive_waiters != NULL);
  int c = raw_connect(env, l); /* small frames are not held back */
  ck_assert_int_eq(write(c, "\0\0\0\3abc", 7), 7);
  RUN_UNTIL(w, log->frame_count == 1);
  ck_assert_int_eq(log->frames[0].len, 3);
  close(a); /* its reservation goes with it, and b tries again */
  RUN_UNTIL(w, w->receive_waiters == NULL && w->receive_reserved_bytes == (2u << 20));
  close(b);
  RUN_UNTIL(w, w->receive_reserved_bytes == 0 && log->closed_count == 2);
  ck_assert_int_eq(log->frame_count, 1); /* no partial frame was delivered */
  close(c);
  net_log_free(log);
  os_world_destroy(w);
}
END_TEST

START_TEST(net_connection_limits_refuse_at_accept) {
  struct os_world *w = os_world_create(1);
  struct env *env = os_world_env(w);
  struct net_log *log = net_log_new(env);
  uint32_t l = listen_local(env, 1 << 20);
  struct env_net_limits lim = {.conns_per_addr_max = 2};
  env->net_limits_set(env, &lim);
  int fds[4];
  for (int i = 0; i < 2; i++) fds[i] = raw_connect(env, l);
  RUN_UNTIL(w, log->accepted_count == 2 && w->inbound_count == 2);
  fds[2] = raw_connect(env, l); /* one more from 127.0.0.1: closed at accept */
  uint8_t byte;
  RUN_UNTIL(w, w->refused_in_burst == 1);
  ck_assert_int_le(read(fds[2], &byte, 1), 0); /* EOF or reset: the broker closed it */
  ck_assert_int_eq(log->accepted_count, 2);    /* the node never heard of it */
  close(fds[2]);
  close(fds[0]);
  RUN_UNTIL(w, log->closed_count == 1 && w->inbound_count == 1);
  fds[3] = raw_connect(env, l); /* room again */
  RUN_UNTIL(w, log->accepted_count == 3);
  ck_assert_int_eq(w->refused_in_burst, 0); /* the burst is over (and was logged) */
  lim = (struct env_net_limits){.conns_max = 2, .exempt_listeners = 0};
  env->net_limits_set(env, &lim);
  fds[0] = raw_connect(env, l);
  RUN_UNTIL(w, w->refused_in_burst == 1); /* max.connections: 2 are open */
  for (int i = 0; i < 4; i++) close(fds[i]);
  net_log_free(log);
  os_world_destroy(w);
}
END_TEST

START_TEST(net_read_pause_holds_frames_until_resumed) {
  struct os_world *w = os_world_create(1);
  struct env *env = os_world_env(w);
  struct net_log *log = net_log_new(env);
  uint32_t l = listen_local(env, 1 << 20);
  env_conn_id client, server, client2, server2;
  connect_pair(w, log, l, &client, &server);
  connect_pair(w, log, l, &client2, &server2);
  env->read_pause(env, server, true);
  ck_assert_int_eq(send_mem(env, client, "held", 4), 0);
  ck_assert_int_eq(send_mem(env, client2, "other", 5), 0);
  RUN_UNTIL(w, frames_on(log, server2) == 1);
  for (int i = 0; i < 20; i++) os_world_run_once(w, 0);
  ck_assert_int_eq(frames_on(log, server), 0); /* paused: not read, not delivered */
  env->read_pause(env, server, false);
  RUN_UNTIL(w, frames_on(log, server) == 1);
  ck_assert_int_eq(send_mem(env, server, "x", 1), 0);
  ck_assert_int_eq(env->send_queued_bytes(env, 0), env->send_queued_bytes(env, server));
  RUN_UNTIL(w, env->send_queued_bytes(env, 0) == 0);
  net_log_free(log);
  os_world_destroy(w);
}
END_TEST

START_TEST(net_back_pressure_pauses_reading) {
  struct os_world *w = os_world_create(1);
  struct env *env = os_world_env(w);
  struct net_log *log = net_log_new(env);
  uint32_t l = listen_local(env, 1 << 20);
  int raw = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET,
                            .sin_port = htons(env->listener_port(env, l)),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  connect(raw, (struct sockaddr *)&sin, sizeof sin); /* EINPROGRESS; loopback completes */
  RUN_UNTIL(w, log->accepted_count == 1);
  env_conn_id server = log->accepted[0].conn;
  char path[128];
  env_file file; /* file parts: 96 MiB queued without 96 MiB of memory */
  ck_assert_int_eq(env->open(env, tmp_path(path, sizeof path, "seg"), ENV_O_CREATE, &file), 0);
  ck_assert_int_eq(env->truncate(env, file, 2 << 20), 0);
  struct env_iov iov = {.kind = ENV_IOV_FILE, .file = file, .offset = 0, .len = 2 << 20};
  for (int i = 0; i < 48; i++) ck_assert_int_eq(env->send(env, server, &iov, 1), 0);
  ck_assert_int_gt(env->send_queued_bytes(env, server), 64 << 20);
  ck_assert_int_eq(write(raw, "\0\0\0\3req", 7), 7);
  for (int i = 0; i < 20; i++) os_world_run_once(w, 0);
  if (env->send_queued_bytes(env, server) > (64u << 20)) ck_assert_int_eq(log->frame_count, 0);
  static uint8_t sink[1 << 16];
  size_t drained = 0;
  for (int i = 0; i < ROUNDS_MAX && log->frame_count == 0; i++) {
    os_world_run_once(w, 0);
    for (int k = 0; k < 64; k++) {
      ssize_t n = read(raw, sink, sizeof sink);
      if (n <= 0) break;
      drained += (size_t)n;
    }
  }
  ck_assert_int_eq(log->frame_count, 1);
  ck_assert(log->frames[0].len == 3 && memcmp(log->frames[0].data, "req", 3) == 0);
  ck_assert_int_le(env->send_queued_bytes(env, server), 64 << 20);
  ck_assert_int_gt(drained, 0);
  close(raw);
  env->file_close(env, file);
  net_log_free(log);
  os_world_destroy(w);
}
END_TEST

struct signal_log {
  int signo;
  int count;
};

static void on_signal(void *ctx, int signo) {
  struct signal_log *s = ctx;
  s->signo = signo;
  s->count++;
}

START_TEST(signals_arrive_through_the_loop) {
  struct os_world *w = os_world_create(1);
  struct signal_log s = {0};
  int signos[] = {SIGUSR1};
  ck_assert_int_eq(os_world_watch_signals(w, signos, 1, on_signal, &s), 0);
  ck_assert_int_eq(os_world_watch_signals(w, signos, 1, on_signal, &s), ENV_EINVAL);
  ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
  RUN_UNTIL(w, s.count == 1);
  ck_assert_int_eq(s.signo, SIGUSR1);
  os_world_destroy(w);
}
END_TEST

static void stop_world(void *ctx) { os_world_stop(ctx); }

START_TEST(run_returns_after_stop) {
  struct os_world *w = os_world_create(1);
  struct env *env = os_world_env(w);
  env->timer_start(env, NS_PER_MS, stop_world, w);
  os_world_run(w);
  ck_assert_int_eq(os_world_run_once(w, 0), 0);
  os_world_destroy(w);
}
END_TEST

static Suite *os_suite(void) {
  Suite *s = suite_create("os");
  TCase *clock = tcase_create("clock");
  tcase_add_test(clock, timers_fire_in_deadline_order);
  tcase_add_test(clock, timers_equal_delays_fire_in_start_order);
  tcase_add_test(clock, timers_cancel);
  tcase_add_test(clock, timers_started_and_cancelled_from_callbacks);
  tcase_add_test(clock, clock_and_random);
  tcase_add_test(clock, signals_arrive_through_the_loop);
  tcase_add_test(clock, run_returns_after_stop);
  tcase_add_test(clock, timer_lateness_counts_every_timer);
  suite_add_tcase(s, clock);
  TCase *disk = tcase_create("disk");
  tcase_add_checked_fixture(disk, tmp_setup, tmp_teardown);
  tcase_add_test(disk, disk_files);
  tcase_add_test(disk, disk_directories);
  suite_add_tcase(s, disk);
  TCase *fsync = tcase_create("fsync");
  tcase_add_checked_fixture(fsync, tmp_setup, tmp_teardown);
  /* Real fsyncs: on a busy disk hundreds of them outlast check's 4 s
   * default (a hang guard only; nothing here measures speed). */
  tcase_set_timeout(fsync, 120);
  tcase_add_test(fsync, disk_fsync_completes_later);
  tcase_add_test(fsync, disk_fsync_from_a_callback_completes_on_a_later_iteration);
  tcase_add_test(fsync, disk_fsyncs_complete_in_issue_order);
  tcase_add_test(fsync, disk_fsync_of_a_bad_or_closed_file);
  tcase_add_test(fsync, disk_fsync_errors_are_mapped);
  tcase_add_test(fsync, timers_fire_while_an_fsync_is_held);
  tcase_add_test(fsync, destroy_with_fsyncs_in_flight);
  suite_add_tcase(s, fsync);
  TCase *net = tcase_create("net");
  tcase_add_checked_fixture(net, tmp_setup, tmp_teardown);
  tcase_set_timeout(net, 120);
  tcase_add_test(net, net_frames_both_ways);
  tcase_add_test(net, net_burst_of_small_frames_in_order);
  tcase_add_test(net, net_big_frame_arrives_whole);
  tcase_add_test(net, net_oversized_frame_closes_only_its_connection);
  tcase_add_test(net, net_close_is_delivered_later_on_both_sides);
  tcase_add_test(net, net_callback_closes_its_connection);
  tcase_add_test(net, net_connect_refused_and_bad_hosts);
  tcase_add_test(net, net_ipv6_and_any_address);
  tcase_add_test(net, net_mixed_sizes_cross_buffer_edges);
  tcase_add_test(net, net_listen_address_in_use);
  tcase_add_test(net, net_close_drops_queued_output);
  tcase_add_test(net, net_file_part_shorter_than_promised);
  tcase_add_test(net, net_back_pressure_pauses_reading);
  tcase_add_test(net, net_receive_budget_admits_one_big_frame_at_a_time);
  tcase_add_test(net, net_connection_limits_refuse_at_accept);
  tcase_add_test(net, net_read_pause_holds_frames_until_resumed);
  suite_add_tcase(s, net);
  return s;
}

TEST_MAIN(os_suite)
