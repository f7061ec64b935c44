/* kafka-storage.sh format and the start-up check of KRaft mode (KIP-631:
 * a KRaft node never formats itself, so a wrong or empty directory cannot
 * silently start a new cluster). */
#include "server/storage_format.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/buf.h"
#include "base/join.h"
#include "base/str.h"
#include "log/atomic_file.h"
#include "server/files.h"

#define FORMAT_HINT "sluicectl storage format -t $(sluicectl storage random-uuid) -c <config>"

bool storage_kraft_mode(const struct config *cfg) {
  char roles[64];
  bool set = false;
  return config_value(cfg, "process.roles", roles, sizeof roles, &set) && set && roles[0];
}

int storage_dirs(const struct config *cfg, const char *dirs[STORAGE_DIRS_MAX]) {
  const char *meta = config_metadata_log_dir(cfg);
  dirs[0] = meta;
  if (strcmp(meta, cfg->log_dirs) == 0) return 1;
  dirs[1] = cfg->log_dirs;
  return 2;
}

static bool meta_i64(const struct buf *text, const char *key, int64_t *out) {
  char value[32];
  return properties_get((const char *)text->data, text->len, key, value, sizeof value) &&
         str_to_i64(value, out);
}

int storage_meta_read(struct env *env, const char *dir, struct storage_meta *out, char *err,
                      size_t err_cap) {
  char path[ATOMIC_FILE_PATH_BYTES];
  str_fmt(path, sizeof path, "%s/meta.properties", dir);
  memset(out, 0, sizeof *out);
  struct buf text;
  buf_init(&text);
  int rc = atomic_file_read(env, path, &text);
  if (rc == 0 && text.len == 0) rc = ENV_ENOENT;
  if (rc == 0) {
    const char *t = (const char *)text.data;
    out->version = 0; /* v0 files (ZooKeeper mode) have broker.id, no version */
    meta_i64(&text, "version", &out->version);
    bool id = meta_i64(&text, "node.id", &out->node_id) ||
              meta_i64(&text, "broker.id", &out->node_id);
    bool cluster =
        properties_get(t, text.len, "cluster.id", out->cluster_id, sizeof out->cluster_id);
    properties_get(t, text.len, "directory.id", out->directory_id, sizeof out->directory_id);
    if (!id || !cluster || out->version < 0 || out->version > 1) {
      str_fmt(err, err_cap, "%s is malformed (expected version, node.id and cluster.id)", path);
      rc = ENV_EINVAL;
    }
  }
  buf_free(&text);
  return rc;
}

/* ---- format ---- */

struct format_op {
  struct env *env;
  env_file file;
  char dir[CONFIG_STR_MAX];
  struct join *join;
};

struct format_run {
  struct join join;
  env_fsync_fn done;
  void *ctx;
};

static void run_done(void *ctx, int err) {
  struct format_run *run = ctx;
  env_fsync_fn done = run->done;
  void *done_ctx = run->ctx;
  free(run);
  if (done) done(done_ctx, err);
}

static void written(void *ctx, int err) {
  struct format_op *op = ctx;
  op->env->file_close(op->env, op->file);
  if (err == 0) err = op->env->dir_sync(op->env, op->dir);
  struct join *j = op->join;
  free(op);
  join_one(j, err);
}

/* meta.properties goes straight to its name (not through a rename) so that
 * a node started right after the format sees it; a crash before the fsync
 * leaves it missing or empty, which counts as unformatted. */
static int write_meta(struct env *env, const char *dir, const char *body, size_t len,
                      struct join *j) {
  char path[ATOMIC_FILE_PATH_BYTES];
  str_fmt(path, sizeof path, "%s/meta.properties", dir);
  env_file f;
  int rc = env->open(env, path, ENV_O_CREATE | ENV_O_TRUNC, &f);
  if (rc != 0) return rc;
  int64_t n = env->pwrite(env, f, body, len, 0);
  if (n != (int64_t)len) {
    env->file_close(env, f);
    return n < 0 ? (int)n : ENV_EIO;
  }
  struct format_op *op = calloc(1, sizeof *op);
  ASSERT(op != NULL);
  op->env = env;
  op->file = f;
  op->join = j;
  str_fmt(op->dir, sizeof op->dir, "%s", dir);
  join_add(j);
  env->fsync(env, f, written, op);
  return 0;
}

/* Kafka's checks before anything is written (Formatter in 3.9). */
static int format_check(struct env *env, const struct config *cfg, const char *cluster_id,
                        bool ignore_formatted, bool formatted[STORAGE_DIRS_MAX], char *err,
                        size_t err_cap) {
  struct kuuid id;
  if (!uuid_from_string(cluster_id, &id) || uuid_is_zero(id)) {
    str_fmt(err, err_cap,
            "Cluster ID string %s does not appear to be a valid UUID: 22 characters of "
            "URL-safe base64 expected (sluicectl storage random-uuid makes one)",
            cluster_id);
    return ENV_EINVAL;
  }
  if (!storage_kraft_mode(cfg)) {
    str_fmt(err, err_cap,
            "The configuration file appears to be for a legacy cluster (no process.roles). "
            "Formatting is only supported for clusters in KRaft mode.");
    return ENV_EINVAL;
  }
  if (cfg->node_id < 0) {
    str_fmt(err, err_cap, "Missing required configuration \"node.id\" which has no default.");
    return ENV_EINVAL;
  }
  const char *dirs[STORAGE_DIRS_MAX];
  int n = storage_dirs(cfg, dirs);
  for (int i = 0; i < n; i++) {
    int rc = env->mkdir(env, dirs[i]);
    if (rc != 0 && rc != ENV_EEXIST) {
      str_fmt(err, err_cap, "cannot create %s: error %d", dirs[i], rc);
      return rc;
    }
    struct storage_meta meta;
    char why[400];
    rc = storage_meta_read(env, dirs[i], &meta, why, sizeof why);
    formatted[i] = rc != ENV_ENOENT;
    if (formatted[i] && !ignore_formatted) {
      str_fmt(err, err_cap,
              "Log directory %s is already formatted. Use --ignore-formatted to ignore this "
              "directory and format the others.",
              dirs[i]);
      return ENV_EEXIST;
    }
  }
  return 0;
}

int storage_format(struct env *env, const struct config *cfg, const char *cluster_id,
                   bool ignore_formatted, storage_say_fn say, void *say_ctx, char *err,
                   size_t err_cap, env_fsync_fn done, void *done_ctx) {
  ASSERT(env != NULL && cfg != NULL && cluster_id != NULL && err != NULL);
  bool formatted[STORAGE_DIRS_MAX] = {false, false};
  int rc = format_check(env, cfg, cluster_id, ignore_formatted, formatted, err, err_cap);
  if (rc != 0) return rc;
  const char *dirs[STORAGE_DIRS_MAX];
  int n = storage_dirs(cfg, dirs), todo = 0;
  for (int i = 0; i < n; i++) todo += !formatted[i];
  if (todo == 0) {
    if (say) say(say_ctx, "All of the log directories are already formatted.");
    return STORAGE_NOTHING_TO_DO;
  }
  struct format_run *run = calloc(1, sizeof *run);
  ASSERT(run != NULL);
  run->done = done;
  run->ctx = done_ctx;
  join_begin(&run->join, run_done, run);
  for (int i = 0; i < n && rc == 0; i++) {
    if (formatted[i]) continue;
    char line[CONFIG_STR_MAX + 96], directory_id[23], body[256];
    str_fmt(line, sizeof line, "Formatting %s directory %s with metadata.version %s.",
            i == 0 ? "metadata" : "data", dirs[i], STORAGE_METADATA_VERSION);
    if (say) say(say_ctx, line);
    uuid_to_string(uuid_random(env), directory_id);
    size_t len = str_fmt(body, sizeof body,
                         "#\n#Written by sluice storage format\nnode.id=%d\ndirectory.id=%s\n"
                         "version=1\ncluster.id=%s\n",
                         cfg->node_id, directory_id, cluster_id);
    rc = write_meta(env, dirs[i], body, len, &run->join);
    if (rc != 0)
      str_fmt(err, err_cap, "cannot write %s/meta.properties: error %d", dirs[i], rc);
  }
  if (rc != 0) run->done = NULL; /* the caller hears the error from the return */
  join_end(&run->join);
  return rc;
}

/* ---- the start-up check ---- */

int storage_check(struct env *env, const struct config *cfg, char *cluster_id_out,
                  size_t cluster_id_cap, char *err, size_t err_cap) {
  const char *dirs[STORAGE_DIRS_MAX];
  int n = storage_dirs(cfg, dirs);
  cluster_id_out[0] = 0;
  for (int i = 0; i < n; i++) {
    struct storage_meta meta;
    char why[400];
    int rc = storage_meta_read(env, dirs[i], &meta, why, sizeof why);
    if (rc == ENV_ENOENT) {
      str_fmt(err, err_cap,
              "%s is not formatted (no meta.properties); a KRaft node needs its storage "
              "formatted first: " FORMAT_HINT,
              dirs[i]);
      return rc;
    }
    if (rc != 0) {
      str_fmt(err, err_cap, "%s; move it aside and run " FORMAT_HINT, why);
      return rc;
    }
    if (meta.node_id != cfg->node_id) {
      str_fmt(err, err_cap,
              "%s/meta.properties has node.id %lld, but the config says node.id=%d: use this "
              "node's own directory, or format an empty one with " FORMAT_HINT,
              dirs[i], (long long)meta.node_id, cfg->node_id);
      return ENV_EINVAL;
    }
    const char *expected = cluster_id_out[0] ? cluster_id_out : cfg->cluster_id;
    if (expected[0] && strcmp(expected, meta.cluster_id) != 0) {
      str_fmt(err, err_cap,
              "%s/meta.properties has cluster.id %s, but %s is expected: every directory of "
              "a cluster is formatted with the same -t; " FORMAT_HINT,
              dirs[i], meta.cluster_id, expected);
      return ENV_EINVAL;
    }
    str_fmt(cluster_id_out, cluster_id_cap, "%s", meta.cluster_id);
  }
  return 0;
}
