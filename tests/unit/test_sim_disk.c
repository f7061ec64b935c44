/* The simulated disk (sim/disk.h): what survives a power loss, and each
 * disk fault. */
#include <stdio.h>
#include <string.h>

#include "sim/world.h"
#include "testing.h"

struct fx {
  struct sim_world *w;
  struct sim_node *n;
  struct env *env;
  int fsync_err;
  int fsyncs_done;
};

static struct fx fx;

static void setup_seed(uint64_t seed) {
  fx = (struct fx){0};
  fx.w = sim_world_create(seed);
  fx.n = sim_node_add(fx.w, 1, "n1");
  fx.env = sim_node_env(fx.n);
  ck_assert_int_eq(fx.env->mkdir(fx.env, "/d"), 0);
}

static void setup(void) { setup_seed(1); }
static void teardown(void) { sim_world_destroy(fx.w); }

static env_file open_file(const char *path) {
  env_file f;
  ck_assert_int_eq(fx.env->open(fx.env, path, ENV_O_CREATE, &f), 0);
  return f;
}

static void fill(env_file f, uint64_t off, size_t len, uint8_t byte) {
  uint8_t buf[8192];
  ck_assert_uint_le(len, sizeof buf);
  memset(buf, byte, len);
  ck_assert_int_eq(fx.env->pwrite(fx.env, f, buf, len, off), (int64_t)len);
}

static void fsync_done(void *ctx, int err) {
  (void)ctx;
  fx.fsync_err = err;
  fx.fsyncs_done++;
}

/* fsync and wait for it; returns its error. */
static int sync_file(env_file f) {
  int before = fx.fsyncs_done;
  fx.env->fsync(fx.env, f, fsync_done, NULL);
  for (int i = 0; i < 1000 && fx.fsyncs_done == before; i++) ck_assert(sim_step(fx.w));
  ck_assert_int_eq(fx.fsyncs_done, before + 1);
  return fx.fsync_err;
}

static uint64_t durable_bytes(const char *path) {
  uint64_t cache, durable;
  ck_assert(sim_disk_file_sizes(fx.n, path, &cache, &durable));
  return durable;
}

static void power_cycle(void) {
  sim_node_crash(fx.n);
  sim_node_restart(fx.n);
}

START_TEST(fsynced_bytes_survive_a_power_loss) {
  env_file f = open_file("/d/f");
  fill(f, 0, 4000, 7);
  ck_assert_int_eq(sync_file(f), 0);
  power_cycle();
  ck_assert_int_eq(fx.env->pread(fx.env, f, (uint8_t[1]){0}, 1, 0), ENV_EIO); /* dead fd */
  fx.env->file_close(fx.env, f);
  f = open_file("/d/f");
  ck_assert_int_eq(fx.env->file_size(fx.env, f), 4000);
  uint8_t b[4000];
  ck_assert_int_eq(fx.env->pread(fx.env, f, b, sizeof b, 0), 4000);
  for (int i = 0; i < 4000; i++) ck_assert_int_eq(b[i], 7);
  fx.env->file_close(fx.env, f);
}
END_TEST

/* An fsync writes back what was written before it was issued: an append
 * that lands while it runs needs the next one (what group commit relies
 * on; before, the whole page cache became durable at the completion). */
START_TEST(an_fsync_covers_what_was_written_before_it) {
  env_file f = open_file("/d/f");
  fill(f, 0, 1000, 1);
  int before = fx.fsyncs_done;
  fx.env->fsync(fx.env, f, fsync_done, NULL);
  fill(f, 1000, 500, 2); /* while the fsync runs */
  for (int i = 0; i < 1000 && fx.fsyncs_done == before; i++) ck_assert(sim_step(fx.w));
  ck_assert_int_eq(fx.fsync_err, 0);
  ck_assert_uint_eq(durable_bytes("/d/f"), 1000);
  ck_assert_int_eq(sync_file(f), 0);
  ck_assert_uint_eq(durable_bytes("/d/f"), 1500);
  fx.env->file_close(fx.env, f);
}
END_TEST

/* Unsynced appends: a power loss keeps the durable bytes and a prefix of
 * the rest in whole 512-byte sectors, drawn from the seed. */
START_TEST(unsynced_appends_are_torn_at_sectors) {
  teardown(); /* the fixture's world: each seed gets its own */
  bool seen_short = false, seen_whole = false;
  for (uint64_t seed = 1; seed <= 40; seed++) {
    setup_seed(seed);
    env_file f = open_file("/d/log");
    fill(f, 0, 1000, 1);
    ck_assert_int_eq(sync_file(f), 0);
    fill(f, 1000, 3000, 2);
    power_cycle();
    fx.env->file_close(fx.env, f);
    f = open_file("/d/log");
    int64_t size = fx.env->file_size(fx.env, f);
    ck_assert(size == 4000 || (size >= 1000 && (size - 1000) % 512 == 0));
    seen_short |= size < 4000;
    seen_whole |= size == 4000;
    uint8_t b[4000];
    ck_assert_int_eq(fx.env->pread(fx.env, f, b, (size_t)size, 0), size);
    for (int64_t i = 0; i < size; i++) ck_assert_int_eq(b[i], i < 1000 ? 1 : 2);
    fx.env->file_close(fx.env, f);
    teardown();
  }
  ck_assert(seen_short && seen_whole);
  setup_seed(1); /* for the fixture's teardown */
}
END_TEST

/* Torn-write modes: the file keeps its whole length, the durable bytes are
 * intact, and the unsynced tail is damaged: zeros past whole sectors, or
 * one sector of garbage among sectors that landed. */
START_TEST(torn_writes_leave_zeros_or_garbage) {
  teardown();
  int zeroed = 0, garbage = 0;
  for (uint64_t seed = 1; seed <= 40; seed++) {
    for (int mode = SIM_TORN_ZEROS; mode <= SIM_TORN_GARBAGE; mode++) {
      setup_seed(seed);
      env_file f = open_file("/d/log");
      fill(f, 0, 1000, 1);
      ck_assert_int_eq(sync_file(f), 0);
      fill(f, 1000, 3000, 2);
      sim_disk_set_torn(fx.n, (enum sim_torn)mode);
      power_cycle();
      fx.env->file_close(fx.env, f);
      f = open_file("/d/log");
      ck_assert_int_eq(fx.env->file_size(fx.env, f), 4000);
      uint8_t b[4000];
      ck_assert_int_eq(fx.env->pread(fx.env, f, b, sizeof b, 0), 4000);
      for (int i = 0; i < 1000; i++) ck_assert_int_eq(b[i], 1);
      int bad = 0, first_bad = -1;
      for (int i = 1000; i < 4000; i++)
        if (b[i] != 2) {
          bad++;
          if (first_bad < 0) first_bad = i;
        }
      if (mode == SIM_TORN_ZEROS) {
        ck_assert_int_eq((4000 - first_bad) * (first_bad >= 0), bad); /* zeros to the end */
        ck_assert(first_bad < 0 || (first_bad - 1000) % 512 == 0);
        for (int i = first_bad; i >= 0 && i < 4000; i++) ck_assert_int_eq(b[i], 0);
        zeroed += bad > 0;
      } else {
        ck_assert_int_le(bad, 512); /* one sector, at a sector of the tail */
        ck_assert(bad == 0 || (first_bad - 1000) % 512 < 8);
        garbage += bad > 0;
      }
      struct sim_disk_stats st;
      sim_disk_stats(fx.n, &st);
      ck_assert_uint_eq(st.torn_sectors > 0, bad > 0);
      fx.env->file_close(fx.env, f);
      teardown();
    }
  }
  ck_assert(zeroed > 10 && garbage > 30);
  setup_seed(1); /* for the fixture's teardown */
}
END_TEST

struct seen {
  int writes, fsyncs;
  char path[64];
  uint64_t at_ns, until_ns;
};

static void note(void *ctx, const struct sim_observation *o) {
  struct seen *s = ctx;
  ck_assert_ptr_eq(o->node, fx.n);
  s->writes += o->what == SIM_OBSERVED_WRITE;
  s->fsyncs += o->what == SIM_OBSERVED_FSYNC_START;
  snprintf(s->path, sizeof s->path, "%s", o->path);
  s->at_ns = sim_now_ns(fx.w);
  s->until_ns = o->until_ns;
}

/* The observer hears of each write and each fsync issued, with when the
 * fsync will complete; observing changes nothing in the run. */
START_TEST(the_observer_sees_writes_and_fsyncs) {
  struct seen seen = {0};
  sim_world_set_observer(fx.w, note, &seen);
  env_file f = open_file("/d/f");
  fill(f, 0, 100, 1);
  ck_assert_int_eq(seen.writes, 1);
  ck_assert_str_eq(seen.path, "/d/f");
  ck_assert_uint_eq(seen.until_ns, seen.at_ns);
  int before = fx.fsyncs_done;
  fx.env->fsync(fx.env, f, fsync_done, NULL);
  ck_assert_int_eq(seen.fsyncs, 1);
  ck_assert_uint_gt(seen.until_ns, seen.at_ns);        /* in flight until then */
  ck_assert(!sim_step_until(fx.w, seen.until_ns - 1)); /* nothing due before it */
  ck_assert_int_eq(fx.fsyncs_done, before);
  ck_assert(sim_step_until(fx.w, seen.until_ns));
  ck_assert_int_eq(fx.fsyncs_done, before + 1);
  ck_assert_uint_eq(sim_now_ns(fx.w), seen.until_ns);
  sim_world_set_observer(fx.w, NULL, NULL);
  fill(f, 100, 100, 1);
  ck_assert_int_eq(seen.writes, 1);
  fx.env->file_close(fx.env, f);
}
END_TEST

START_TEST(a_full_disk_refuses_writes_and_changes_nothing) {
  env_file f = open_file("/d/f");
  fill(f, 0, 100, 1);
  sim_disk_set_capacity(fx.n, 150);
  uint8_t b[100] = {0};
  ck_assert_int_eq(fx.env->pwrite(fx.env, f, b, 100, 100), ENV_ENOSPC);
  ck_assert_int_eq(fx.env->file_size(fx.env, f), 100);
  ck_assert_int_eq(fx.env->pwrite(fx.env, f, b, 50, 0), 50); /* no growth: fine */
  ck_assert_uint_eq(sim_disk_used(fx.n), 100);
  sim_disk_clear_faults(fx.n);
  ck_assert_int_eq(fx.env->pwrite(fx.env, f, b, 100, 100), 100);
  fx.env->file_close(fx.env, f);
}
END_TEST

START_TEST(failed_fsyncs_and_writes) {
  env_file f = open_file("/d/f");
  fill(f, 0, 600, 1);
  sim_disk_fail_fsyncs(fx.n, 1);
  ck_assert_int_eq(sync_file(f), ENV_EIO);
  ck_assert_uint_eq(durable_bytes("/d/f"), 0);
  ck_assert_int_eq(sync_file(f), 0); /* one failure only */
  ck_assert_uint_eq(durable_bytes("/d/f"), 600);
  sim_disk_fail_writes(fx.n, 2);
  uint8_t b[10] = {0};
  ck_assert_int_eq(fx.env->pwrite(fx.env, f, b, 10, 600), ENV_EIO);
  ck_assert_int_eq(fx.env->truncate(fx.env, f, 10), ENV_EIO);
  ck_assert_int_eq(fx.env->file_size(fx.env, f), 600);
  ck_assert_int_eq(fx.env->pwrite(fx.env, f, b, 10, 600), 10);
  fx.env->file_close(fx.env, f);
}
END_TEST

/* fsyncgate: after a failed fsync that forgets, those bytes never reach
 * the platter even though a later fsync succeeds. */
START_TEST(a_failed_fsync_can_forget_its_bytes) {
  env_file f = open_file("/d/f");
  fill(f, 0, 512, 1);
  ck_assert_int_eq(sync_file(f), 0);
  sim_disk_set_fsync_error_forgets(fx.n, true);
  sim_disk_fail_fsyncs(fx.n, 1);
  fill(f, 512, 512, 2);
  ck_assert_int_eq(sync_file(f), ENV_EIO);
  fill(f, 1024, 512, 3);
  ck_assert_int_eq(sync_file(f), 0);
  uint8_t b[1536];
  ck_assert_int_eq(fx.env->pread(fx.env, f, b, sizeof b, 0), 1536); /* the cache has it all */
  ck_assert_int_eq(b[600], 2);
  power_cycle();
  fx.env->file_close(fx.env, f);
  f = open_file("/d/f");
  ck_assert_int_eq(fx.env->pread(fx.env, f, b, sizeof b, 0), 1536);
  ck_assert_int_eq(b[0], 1);
  ck_assert_int_eq(b[600], 0); /* forgotten */
  ck_assert_int_eq(b[1100], 3);
  fx.env->file_close(fx.env, f);
}
END_TEST

/* Forgotten bytes stay forgotten through any number of later good fsyncs
 * (the pages are clean: nothing writes them), until they are written
 * again; a truncation below them ends them too. */
START_TEST(forgotten_bytes_stay_forgotten_until_rewritten) {
  env_file f = open_file("/d/f");
  env_file g = open_file("/d/g");
  fill(f, 0, 512, 1);
  fill(g, 0, 512, 1);
  ck_assert_int_eq(sync_file(f), 0);
  ck_assert_int_eq(sync_file(g), 0);
  sim_disk_set_fsync_error_forgets(fx.n, true);
  sim_disk_fail_fsyncs(fx.n, 2);
  fill(f, 512, 1024, 2);
  fill(g, 512, 1024, 2);
  ck_assert_int_eq(sync_file(f), ENV_EIO);
  ck_assert_int_eq(sync_file(g), ENV_EIO);
  for (int round = 0; round < 3; round++) { /* good fsyncs after more appends */
    fill(f, 1536 + 512 * (uint64_t)round, 512, (uint8_t)(3 + round));
    ck_assert_int_eq(sync_file(f), 0);
  }
  fill(f, 1024, 512, 9);                                  /* the second half is dirty again */
  ck_assert_int_eq(fx.env->truncate(fx.env, g, 1024), 0); /* cuts into the range */
  fill(g, 1024, 512, 8);
  ck_assert_int_eq(sync_file(f), 0);
  ck_assert_int_eq(sync_file(g), 0);
  power_cycle();
  fx.env->file_close(fx.env, f);
  fx.env->file_close(fx.env, g);
  f = open_file("/d/f");
  g = open_file("/d/g");
  uint8_t b[3072];
  ck_assert_int_eq(fx.env->pread(fx.env, f, b, sizeof b, 0), 3072);
  ck_assert_int_eq(b[100], 1);
  ck_assert_int_eq(b[600], 0);  /* forgotten, three good fsyncs later */
  ck_assert_int_eq(b[1100], 9); /* written again, then synced */
  ck_assert_int_eq(b[1600], 3);
  ck_assert_int_eq(b[2600], 5);
  ck_assert_int_eq(fx.env->pread(fx.env, g, b, 1536, 0), 1536);
  ck_assert_int_eq(b[600], 0);  /* still forgotten below the cut */
  ck_assert_int_eq(b[1100], 8); /* past the cut: new bytes, synced */
  fx.env->file_close(fx.env, f);
  fx.env->file_close(fx.env, g);
}
END_TEST

START_TEST(bit_flips_at_rest_and_on_read) {
  env_file f = open_file("/d/f");
  fill(f, 0, 100, 0);
  ck_assert(sim_disk_flip_bit(fx.n, "/d/f", 10, 3));
  ck_assert(!sim_disk_flip_bit(fx.n, "/d/f", 100, 0)); /* past the end */
  uint8_t b[100];
  ck_assert_int_eq(fx.env->pread(fx.env, f, b, 100, 0), 100);
  ck_assert_int_eq(b[10], 8);
  ck_assert(sim_disk_flip_bit_on_read(fx.n, "/d/f", 20, 0));
  ck_assert_int_eq(fx.env->pread(fx.env, f, b, 100, 0), 100);
  ck_assert_int_eq(b[20], 1); /* once ... */
  ck_assert_int_eq(fx.env->pread(fx.env, f, b, 100, 0), 100);
  ck_assert_int_eq(b[20], 0); /* ... the stored byte is good */
  fx.env->file_close(fx.env, f);
}
END_TEST

START_TEST(an_fsync_in_flight_at_a_power_loss_fails) {
  env_file f = open_file("/d/f");
  fill(f, 0, 100, 1);
  fx.env->fsync(fx.env, f, fsync_done, NULL);
  sim_node_crash(fx.n);
  ck_assert_int_eq(fx.fsyncs_done, 1);
  ck_assert_int_eq(fx.fsync_err, ENV_EIO); /* heard inside the dying process */
  fx.env->file_close(fx.env, f);
}
END_TEST

/* A process exit is no power loss: what it wrote stays in the page cache. */
START_TEST(a_process_exit_keeps_the_page_cache) {
  env_file f = open_file("/d/f");
  fill(f, 0, 3000, 5);
  sim_node_exit(fx.n);
  sim_node_restart(fx.n);
  f = open_file("/d/f"); /* the old descriptor was closed with the process */
  ck_assert_int_eq(fx.env->file_size(fx.env, f), 3000);
  ck_assert_uint_eq(durable_bytes("/d/f"), 0); /* still not on the platter */
  fx.env->file_close(fx.env, f);
}
END_TEST

START_TEST(a_lost_disk_comes_back_empty) {
  env_file f = open_file("/d/f");
  fill(f, 0, 100, 1);
  ck_assert_int_eq(sync_file(f), 0);
  sim_disk_lose_all(fx.n);
  power_cycle();
  fx.env->file_close(fx.env, f);
  ck_assert_int_eq(fx.env->open(fx.env, "/d/f", 0, &f), ENV_ENOENT);
  ck_assert_int_eq(fx.env->mkdir(fx.env, "/d"), 0);
  ck_assert_uint_eq(sim_disk_used(fx.n), 0);
}
END_TEST

static char listed[8][32];
static int listed_count;

static void on_entry(void *ctx, const char *name, bool is_dir) {
  (void)ctx, (void)is_dir;
  ck_assert_int_lt(listed_count, 8);
  snprintf(listed[listed_count++], sizeof listed[0], "%s", name);
}

START_TEST(names_list_in_order_and_rename_replaces) {
  static const char *const paths[] = {"/d/c", "/d/a", "/d/b"};
  for (int i = 0; i < 3; i++) fx.env->file_close(fx.env, open_file(paths[i]));
  ck_assert_int_eq(fx.env->mkdir(fx.env, "/d/a.dir"), 0);
  fx.env->file_close(fx.env, open_file("/d/a.dir/x")); /* a grandchild: not listed */
  ck_assert_int_eq(fx.env->rename(fx.env, "/d/c", "/d/b"), 0);
  listed_count = 0;
  ck_assert_int_eq(fx.env->list(fx.env, "/d", on_entry, NULL), 0);
  ck_assert_int_eq(listed_count, 3);
  ck_assert_str_eq(listed[0], "a");
  ck_assert_str_eq(listed[1], "a.dir");
  ck_assert_str_eq(listed[2], "b");
  ck_assert_int_eq(fx.env->rmdir(fx.env, "/d/a.dir"), ENV_EINVAL); /* not empty */
  ck_assert_int_eq(fx.env->unlink(fx.env, "/d/c"), ENV_ENOENT);
  env_file f;
  ck_assert_int_eq(fx.env->open(fx.env, "/nope/f", ENV_O_CREATE, &f), ENV_ENOENT);
}
END_TEST

/* A checker resumes its parse of a file only while the file is the same
 * one and was only appended to: anything else moves serial or rewrites. */
static struct sim_disk_file_view view_of(const char *path) {
  struct sim_disk_file_view v;
  ck_assert(sim_disk_view_versioned(fx.n, path, &v));
  return v;
}

START_TEST(a_versioned_view_changes_unless_only_appended_to) {
  env_file f = open_file("/d/f");
  fill(f, 0, 100, 1);
  struct sim_disk_file_view a = view_of("/d/f");
  ck_assert_uint_eq(a.len, 100);
  fill(f, 100, 50, 2); /* an append */
  struct sim_disk_file_view b = view_of("/d/f");
  ck_assert_uint_eq(b.len, 150);
  ck_assert_uint_eq(b.serial, a.serial);
  ck_assert_uint_eq(b.rewrites, a.rewrites);
  ck_assert_uint_eq(b.data[120], 2);
  fill(f, 10, 1, 3); /* an overwrite below the end */
  struct sim_disk_file_view c = view_of("/d/f");
  ck_assert_uint_gt(c.rewrites, b.rewrites);
  ck_assert_int_eq(fx.env->truncate(fx.env, f, 120), 0);
  struct sim_disk_file_view d = view_of("/d/f");
  ck_assert_uint_gt(d.rewrites, c.rewrites);
  ck_assert(sim_disk_flip_bit(fx.n, "/d/f", 5, 0));
  struct sim_disk_file_view e = view_of("/d/f");
  ck_assert_uint_gt(e.rewrites, d.rewrites);
  power_cycle(); /* nothing synced: the page cache is cut back */
  ck_assert_uint_gt(view_of("/d/f").rewrites, e.rewrites);
  fx.env->file_close(fx.env, f);
  ck_assert_int_eq(fx.env->unlink(fx.env, "/d/f"), 0);
  ck_assert(!sim_disk_view_versioned(fx.n, "/d/f", &e));
  fx.env->file_close(fx.env, open_file("/d/f")); /* the same path, another file */
  ck_assert_uint_ne(view_of("/d/f").serial, a.serial);
}
END_TEST

/* Lookups by path remember the file found last: a rename, an unlink or a
 * replacement must still be seen at once. */
START_TEST(lookups_by_path_see_renames_and_unlinks) {
  env_file f = open_file("/d/x");
  fill(f, 0, 10, 1);
  fx.env->file_close(fx.env, f);
  ck_assert_uint_eq(view_of("/d/x").len, 10);
  ck_assert_int_eq(fx.env->rename(fx.env, "/d/x", "/d/y"), 0);
  struct sim_disk_file_view v;
  ck_assert(!sim_disk_view_versioned(fx.n, "/d/x", &v));
  ck_assert_uint_eq(view_of("/d/y").len, 10);
  f = open_file("/d/x");
  fill(f, 0, 20, 2);
  fx.env->file_close(fx.env, f);
  ck_assert_uint_eq(view_of("/d/x").len, 20);
  ck_assert_int_eq(fx.env->rename(fx.env, "/d/x", "/d/y"), 0); /* replaces y */
  ck_assert_uint_eq(view_of("/d/y").len, 20);
  ck_assert_int_eq(fx.env->unlink(fx.env, "/d/y"), 0);
  ck_assert(!sim_disk_view_versioned(fx.n, "/d/y", &v));
  ck_assert(!sim_disk_view_versioned(fx.n, "/d/x", &v));
}
END_TEST

static uint64_t torn_run(uint64_t seed) {
  setup_seed(seed);
  env_file f = open_file("/d/f");
  for (int i = 0; i < 20; i++) {
    fill(f, (uint64_t)i * 1000, 1000, (uint8_t)i);
    if (i % 3 == 0) sync_file(f);
  }
  power_cycle();
  fx.env->file_close(fx.env, f);
  uint64_t hash = sim_trace_hash(fx.w);
  teardown();
  return hash;
}

START_TEST(a_seed_decides_everything) {
  teardown();
  ck_assert_uint_eq(torn_run(5), torn_run(5));
  ck_assert_uint_ne(torn_run(5), torn_run(6));
  setup_seed(1);
}
END_TEST

static Suite *sim_disk_suite(void) {
  Suite *s = suite_create("sim_disk");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, fsynced_bytes_survive_a_power_loss);
  tcase_add_test(tc, an_fsync_covers_what_was_written_before_it);
  tcase_add_test(tc, unsynced_appends_are_torn_at_sectors);
  tcase_add_test(tc, torn_writes_leave_zeros_or_garbage);
  tcase_add_test(tc, the_observer_sees_writes_and_fsyncs);
  tcase_add_test(tc, a_full_disk_refuses_writes_and_changes_nothing);
  tcase_add_test(tc, failed_fsyncs_and_writes);
  tcase_add_test(tc, a_failed_fsync_can_forget_its_bytes);
  tcase_add_test(tc, forgotten_bytes_stay_forgotten_until_rewritten);
  tcase_add_test(tc, bit_flips_at_rest_and_on_read);
  tcase_add_test(tc, an_fsync_in_flight_at_a_power_loss_fails);
  tcase_add_test(tc, a_process_exit_keeps_the_page_cache);
  tcase_add_test(tc, a_lost_disk_comes_back_empty);
  tcase_add_test(tc, names_list_in_order_and_rename_replaces);
  tcase_add_test(tc, a_seed_decides_everything);
  tcase_add_test(tc, a_versioned_view_changes_unless_only_appended_to);
  tcase_add_test(tc, lookups_by_path_see_renames_and_unlinks);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(sim_disk_suite)
