/* Storage formatting (server/storage_format.h) in the simulated world:
 * kafka-storage.sh format's checks, and the check a KRaft-mode node makes
 * before it starts. */
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "log/atomic_file.h"
#include "server/config.h"
#include "server/storage_format.h"
#include "sim/world.h"
#include "testing.h"

struct rig {
  struct sim_world *w;
  struct sim_node *n;
  struct env *env;
  struct config cfg;
  int done_calls, done_err;
};

static void set(struct config *cfg, const char *key, const char *value) {
  char err[256];
  ck_assert_msg(config_set(cfg, key, value, NULL, err, sizeof err), "%s", err);
}

static void rig_init(struct rig *r, bool kraft) {
  memset(r, 0, sizeof *r);
  r->w = sim_world_create(7);
  r->n = sim_node_add(r->w, 1, "broker1");
  r->env = sim_node_env(r->n);
  config_defaults(&r->cfg);
  set(&r->cfg, "node.id", "1");
  set(&r->cfg, "log.dirs", "/logs");
  set(&r->cfg, "metadata.log.dir", "/meta");
  if (kraft) set(&r->cfg, "process.roles", "broker,controller");
}

static void done(void *ctx, int err) {
  struct rig *r = ctx;
  r->done_calls++;
  r->done_err = err;
}

static int format(struct rig *r, const char *id, bool ignore, char *err, size_t cap) {
  int rc = storage_format(r->env, &r->cfg, id, ignore, NULL, NULL, err, cap, done, r);
  sim_run_until(r->w, sim_now_ns(r->w) + 1000 * NS_PER_MS); /* the fsyncs land */
  return rc;
}

static void meta_text(struct rig *r, const char *dir, struct buf *out) {
  char path[256];
  snprintf(path, sizeof path, "%s/meta.properties", dir);
  buf_init(out);
  ck_assert_int_eq(atomic_file_read(r->env, path, out), 0);
}

START_TEST(format_then_check) {
  struct rig r;
  rig_init(&r, true);
  char err[1024] = "", cluster[64];
  ck_assert_int_eq(storage_check(r.env, &r.cfg, cluster, sizeof cluster, err, sizeof err),
                   ENV_ENOENT);
  ck_assert_msg(strstr(err, "/meta is not formatted") &&
                    strstr(err, "sluicectl storage format -t $(sluicectl storage random-uuid)"),
                "%s", err);
  ck_assert_int_eq(format(&r, STORAGE_TEST_CLUSTER_ID, false, err, sizeof err), 0);
  ck_assert_int_eq(r.done_calls, 1);
  ck_assert_int_eq(r.done_err, 0);
  struct storage_meta meta, data;
  ck_assert_int_eq(storage_meta_read(r.env, "/meta", &meta, err, sizeof err), 0);
  ck_assert_int_eq(storage_meta_read(r.env, "/logs", &data, err, sizeof err), 0);
  ck_assert_int_eq(meta.version, 1);
  ck_assert_int_eq(meta.node_id, 1);
  ck_assert_str_eq(meta.cluster_id, STORAGE_TEST_CLUSTER_ID);
  ck_assert_str_ne(meta.directory_id, data.directory_id);
  ck_assert_int_eq(storage_check(r.env, &r.cfg, cluster, sizeof cluster, err, sizeof err), 0);
  ck_assert_str_eq(cluster, STORAGE_TEST_CLUSTER_ID);
  /* Another node's config on this storage is refused, naming both ids. */
  set(&r.cfg, "node.id", "2");
  ck_assert_int_eq(storage_check(r.env, &r.cfg, cluster, sizeof cluster, err, sizeof err),
                   ENV_EINVAL);
  ck_assert_msg(strstr(err, "has node.id 1, but the config says node.id=2"), "%s", err);
  sim_world_destroy(r.w);
}
END_TEST

START_TEST(formatted_storage_is_never_rewritten) {
  struct rig r;
  rig_init(&r, true);
  char err[1024] = "";
  ck_assert_int_eq(format(&r, STORAGE_TEST_CLUSTER_ID, false, err, sizeof err), 0);
  struct buf before, after;
  meta_text(&r, "/logs", &before);
  ck_assert_int_eq(format(&r, "AAAAAAAAAAAAAAAAAAAAAQ", false, err, sizeof err), ENV_EEXIST);
  ck_assert_str_eq(err, "Log directory /meta is already formatted. Use --ignore-formatted to "
                        "ignore this directory and format the others.");
  ck_assert_int_eq(format(&r, "AAAAAAAAAAAAAAAAAAAAAQ", true, err, sizeof err),
                   STORAGE_NOTHING_TO_DO);
  ck_assert_int_eq(r.done_calls, 1); /* only the first format's */
  meta_text(&r, "/logs", &after);
  ck_assert_int_eq(before.len, after.len);
  ck_assert(memcmp(before.data, after.data, before.len) == 0);
  buf_free(&before);
  buf_free(&after);
  sim_world_destroy(r.w);
}
END_TEST

START_TEST(bad_requests_change_nothing) {
  struct rig r;
  rig_init(&r, true);
  char err[1024] = "";
  ck_assert_int_eq(format(&r, "not-a-uuid", false, err, sizeof err), ENV_EINVAL);
  ck_assert_msg(strstr(err, "does not appear to be a valid UUID"), "%s", err);
  ck_assert_int_eq(format(&r, "AAAAAAAAAAAAAAAAAAAAAA", false, err, sizeof err), ENV_EINVAL);
  struct storage_meta meta;
  ck_assert_int_eq(storage_meta_read(r.env, "/logs", &meta, err, sizeof err), ENV_ENOENT);
  sim_world_destroy(r.w);
  rig_init(&r, false); /* no process.roles: not KRaft mode */
  ck_assert(!storage_kraft_mode(&r.cfg));
  ck_assert_int_eq(format(&r, STORAGE_TEST_CLUSTER_ID, false, err, sizeof err), ENV_EINVAL);
  ck_assert_msg(strstr(err, "KRaft mode"), "%s", err);
  ck_assert_int_eq(r.done_calls, 0);
  sim_world_destroy(r.w);
}
END_TEST

static Suite *storage_suite(void) {
  Suite *s = suite_create("config_storage");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, format_then_check);
  tcase_add_test(tc, formatted_storage_is_never_rewritten);
  tcase_add_test(tc, bad_requests_change_nothing);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(storage_suite)
