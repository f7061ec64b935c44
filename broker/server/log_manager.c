/* The log manager: log.dirs and its meta.properties, the periodic log
 * maintenance (rolls and retention), the log cleaner's schedule, Kafka's
 * offset checkpoint files, and
 * at shutdown an fsync of every log followed by the checkpoints. The logs
 * themselves are opened by the metadata publisher (topics.c) as images
 * arrive, and closed here when the node is freed. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "log/atomic_file.h"
#include "log/checkpoint.h"
#include "log/cleaner.h"
#include "log/producers.h"
#include "server/files.h"
#include "server/server.h"
#include "server/storage_format.h"
#include "server/subsystem.h"

/* meta.properties (Kafka's layout): cluster.id and node.id. In KRaft mode
 * (process.roles set) the directories must have been formatted with
 * sluicectl storage format, as Kafka requires (KIP-631): a node that formats
 * itself could start a second cluster on an emptied disk. Without
 * process.roles (zero-config single node, like ZooKeeper-mode Kafka which
 * wrote meta.properties at its first start) an empty log dir is formatted
 * here. A log dir that belongs to another node is refused either way. */
static int meta_properties_load(struct node *node) {
  struct env *env = node->env;
  if (storage_kraft_mode(&node->cfg)) {
    char err[1024];
    int rc = storage_check(env, &node->cfg, node->cluster_id, sizeof node->cluster_id, err,
                           sizeof err);
    if (rc != 0) env_log(env, ENV_LOG_ERROR, "%s", err);
    return rc;
  }
  char path[512], value[64];
  str_fmt(path, sizeof path, "%s/meta.properties", node->cfg.log_dirs);
  struct buf text;
  buf_init(&text);
  int rc = atomic_file_read(env, path, &text);
  if (rc == 0) {
    const char *t = (const char *)text.data;
    int64_t id = -1;
    if (!properties_get(t, text.len, "cluster.id", node->cluster_id, sizeof node->cluster_id) ||
        ((properties_get(t, text.len, "node.id", value, sizeof value) ||
          properties_get(t, text.len, "broker.id", value, sizeof value)) &&
         !str_to_i64(value, &id))) {
      env_log(env, ENV_LOG_ERROR, "%s is malformed", path);
      rc = ENV_EINVAL;
    } else if (id != node->cfg.node_id) {
      env_log(env, ENV_LOG_ERROR, "%s belongs to node.id %lld, but node.id is %d", path,
              (long long)id, node->cfg.node_id);
      rc = ENV_EINVAL;
    } else if (node->cfg.cluster_id[0] && strcmp(node->cfg.cluster_id, node->cluster_id)) {
      env_log(env, ENV_LOG_ERROR, "%s has cluster.id %s, but the config says %s", path,
              node->cluster_id, node->cfg.cluster_id);
      rc = ENV_EINVAL;
    }
    buf_free(&text);
    return rc;
  }
  buf_free(&text);
  if (rc != ENV_ENOENT) return rc;
  if (node->cfg.cluster_id[0]) {
    str_fmt(node->cluster_id, sizeof node->cluster_id, "%s", node->cfg.cluster_id);
  } else {
    uuid_to_string(uuid_random(env), node->cluster_id);
  }
  char id[23], body[256];
  uuid_to_string(uuid_random(env), id);
  size_t n = str_fmt(body, sizeof body,
                     "#\n#Written by sluice\nnode.id=%d\ndirectory.id=%s\nversion=1\n"
                     "cluster.id=%s\n",
                     node->cfg.node_id, id, node->cluster_id);
  env_log(env, ENV_LOG_INFO, "formatting %s with cluster.id %s", node->cfg.log_dirs,
          node->cluster_id);
  str_fmt(path, sizeof path, "%s/meta.properties", node->cfg.log_dirs);
  return atomic_file_write(env, path, body, n, NULL, NULL);
}

static void maintain(void *ctx);

static void maintain_schedule(struct node *node) {
  uint64_t delay_ns = (uint64_t)node->cfg.log_retention_check_interval_ms * NS_PER_MS;
  node->logs.maintain_timer = node->env->timer_start(node->env, delay_ns, maintain, node);
}

/* Rolls, retention and idle producers (log.retention.check.interval.ms;
 * Kafka checks producer.id.expiration.ms on a timer of its own). */
static void maintain(void *ctx) {
  struct node *node = ctx;
  node->logs.maintain_timer = 0;
  int64_t now_ms = node->env->wall_ms(node->env);
  int deleted = 0;
  for (int i = 0; i < node->topic_count; i++) {
    struct topic *t = node->topics[i];
    for (int32_t p = 0; p < t->partition_count; p++) {
      if (!partition_hosted(&t->partitions[p])) continue;
      deleted += plog_maintain_below(t->partitions[p].log, now_ms,
                                     partition_high_watermark(&t->partitions[p]));
      plog_producers_expire(t->partitions[p].log, now_ms, node->cfg.producer_id_expiration_ms);
    }
  }
  seg_cache_turn_end(&node->logs.segments);
  if (deleted > 0) {
    env_log(node->env, ENV_LOG_INFO, "retention deleted %d segments", deleted);
    node_write_checkpoints(node);
  }
  if (!node->shutting_down) maintain_schedule(node);
}

/* ---- the log cleaner (cleanup.policy=compact, log/cleaner.h) ----
 *
 * One pass at a time over the node's compacted logs (Kafka's default
 * log.cleaner.threads=1), the dirtiest due log first (ties: topic and
 * partition order). A pass runs in steps, one per timer expiry, each
 * reading at most log.cleaner.io.buffer.size bytes of batches (524288;
 * Kafka's I/O buffer of its cleaner threads, here the per-step budget), so
 * other events run between them; a step waiting on the fsync of cleaned
 * files polls every CLEANER_WAIT_MS. With nothing due the cleaner looks
 * again after log.cleaner.backoff.ms (15000). Followers clean their own
 * copies the same way, as Kafka's do. */

enum { CLEANER_WAIT_MS = 10 };

static int64_t broker_i64(const struct node *node, const char *name, int64_t fallback) {
  char v[64];
  bool set = false;
  int64_t n = 0;
  if (config_value(&node->cfg, name, v, sizeof v, &set) && str_to_i64(v, &n)) return n;
  return fallback;
}

static bool cleaner_enabled(const struct node *node) {
  char v[16];
  bool set = false;
  return !config_value(&node->cfg, "log.cleaner.enable", v, sizeof v, &set) ||
         strcmp(v, "false") != 0;
}

static void cleaner_config_of(const struct node *node, const struct topic *t,
                              struct cleaner_config *cc) {
  const struct topic_config *tc = &t->config;
  cc->min_cleanable_ratio = topic_config_double(tc, TC_MIN_CLEANABLE_DIRTY_RATIO);
  cc->min_lag_ms = topic_config_i64(tc, TC_MIN_COMPACTION_LAG_MS);
  cc->max_lag_ms = topic_config_i64(tc, TC_MAX_COMPACTION_LAG_MS);
  cc->delete_retention_ms = topic_config_i64(tc, TC_DELETE_RETENTION_MS);
  cc->map_bytes_max = broker_i64(node, "log.cleaner.dedupe.buffer.size", 134217728);
}

static void clean_tick(void *ctx);

static void clean_schedule(struct node *node, int64_t delay_ms) {
  ASSERT(node->logs.cleaner_timer == 0 && delay_ms >= 0);
  node->logs.cleaner_timer =
      node->env->timer_start(node->env, (uint64_t)delay_ms * NS_PER_MS, clean_tick, node);
}

/* The compacted log most in need of a pass, or NULL. */
static struct partition *clean_pick(struct node *node, int64_t now_ms) {
  struct partition *best = NULL;
  double best_ratio = -1.0;
  for (int i = 0; i < node->topic_count; i++) {
    struct topic *t = node->topics[i];
    bool compacted = topic_config_compacted(&t->config);
    struct cleaner_config cc;
    cleaner_config_of(node, t, &cc);
    for (int32_t p = 0; p < t->partition_count; p++) {
      struct partition *part = &t->partitions[p];
      if (!partition_hosted(part)) continue;
      plog_set_compacted(part->log, compacted); /* AlterConfigs may have changed it */
      if (compacted && plog_cleaner_needs_flush(part->log))
        partition_flush_unwaited(node, part);
      int64_t hw = partition_high_watermark(part);
      if (!compacted || !plog_cleaner_due(part->log, &cc, now_ms, hw)) continue;
      double ratio = plog_cleaner_dirty_ratio(part->log, &cc, now_ms, hw);
      if (ratio > best_ratio) {
        best = part;
        best_ratio = ratio;
      }
    }
  }
  return best;
}

static void clean_tick(void *ctx) {
  struct node *node = ctx;
  struct log_manager *lm = &node->logs;
  lm->cleaner_timer = 0;
  if (node->shutting_down) return;
  int64_t now_ms = node->env->wall_ms(node->env);
  struct partition *p =
      lm->cleaning_topic[0]
          ? partition_find(node, kstr_of(lm->cleaning_topic), lm->cleaning_partition)
          : NULL;
  if (p && (!partition_hosted(p) || !topic_config_compacted(&p->topic->config))) p = NULL;
  if (!p) p = clean_pick(node, now_ms);
  lm->cleaning_topic[0] = 0;
  if (!p) {
    clean_schedule(node, broker_i64(node, "log.cleaner.backoff.ms", 15000));
    return;
  }
  struct cleaner_config cc;
  cleaner_config_of(node, p->topic, &cc);
  int64_t io_bytes = broker_i64(node, "log.cleaner.io.buffer.size", 524288);
  int rc = plog_clean_step(p->log, &cc, now_ms, partition_high_watermark(p),
                           (size_t)(io_bytes > 0 ? io_bytes : 1));
  if (rc == PLOG_CLEAN_MORE || rc == PLOG_CLEAN_WAIT) {
    str_fmt(lm->cleaning_topic, sizeof lm->cleaning_topic, "%s", p->topic->name);
    lm->cleaning_partition = p->index;
  }
  if (rc == PLOG_CLEAN_DONE)
    env_log(node->env, ENV_LOG_INFO, "%s-%d: cleaned; %llu bytes in %d segments",
            p->topic->name, p->index, (unsigned long long)plog_size_bytes(p->log),
            plog_segment_count(p->log));
  int64_t delay_ms = rc == PLOG_CLEAN_MORE || rc == PLOG_CLEAN_DONE ? 0
                     : rc == PLOG_CLEAN_WAIT
                         ? CLEANER_WAIT_MS
                         : broker_i64(node, "log.cleaner.backoff.ms", 15000);
  clean_schedule(node, delay_ms);
}

static void checkpoints_start(struct node *node);

static void marked(void *ctx, int err) {
  struct node *node = ctx;
  if (err != 0) env_log(node->env, ENV_LOG_ERROR, "clean shutdown marker: error %d", err);
  node_subsystem_stopped(node);
}

/* Last: every log flushed and checkpointed, so a broker of a quorum leaves
 * its epoch for the next start to register with (KIP-966). */
static void shutdown_marked_clean(struct node *node) {
  int64_t epoch = node->lifecycle.broker_epoch;
  if (epoch < 0 || clean_shutdown_mark(node, epoch, marked, node) != 0)
    node_subsystem_stopped(node);
}

/* Both checkpoint files landed (renamed into place after their fsync). */
static void checkpoints_landed(void *ctx, int err) {
  struct node *node = ctx;
  struct log_manager *lm = &node->logs;
  if (err != 0) env_log(node->env, ENV_LOG_ERROR, "writing a checkpoint failed: error %d", err);
  ASSERT(!join_busy(&lm->checkpoints));
  if (lm->checkpoints_again) {
    lm->checkpoints_again = false;
    checkpoints_start(node);
  } else if (lm->stopping) {
    lm->stopping = false;
    shutdown_marked_clean(node);
  }
}

static void checkpoint_written(void *ctx, int err) {
  struct node *node = ctx;
  join_one(&node->logs.checkpoints, err);
}

static void write_checkpoint(struct node *node, const char *name, bool recovery) {
  int total = 0;
  for (int i = 0; i < node->topic_count; i++) total += node->topics[i]->partition_count;
  struct checkpoint_entry *entries = calloc((size_t)(total ? total : 1), sizeof *entries);
  ASSERT(entries != NULL);
  int n = 0;
  for (int i = 0; i < node->topic_count; i++) {
    struct topic *t = node->topics[i];
    for (int32_t p = 0; p < t->partition_count; p++) {
      if (!partition_hosted(&t->partitions[p])) continue;
      n++;
      struct checkpoint_entry *e = &entries[n - 1];
      str_fmt(e->topic, sizeof e->topic, "%s", t->name);
      e->partition = p;
      e->offset = recovery ? plog_recovery_point(t->partitions[p].log)
                           : plog_start_offset(t->partitions[p].log);
    }
  }
  char path[600];
  str_fmt(path, sizeof path, "%s/%s", node->cfg.log_dirs, name);
  int rc = checkpoint_write_then(node->env, path, entries, n, checkpoint_written, node);
  free(entries);
  if (rc != 0) checkpoint_written(node, rc); /* done is not called on failure */
}

static void checkpoints_start(struct node *node) {
  struct join *j = &node->logs.checkpoints;
  join_begin(j, checkpoints_landed, node);
  join_add(j);
  write_checkpoint(node, "recovery-point-offset-checkpoint", true);
  join_add(j);
  write_checkpoint(node, "log-start-offset-checkpoint", false);
  join_end(j);
}

/* Kafka's offset checkpoints; one write of each file in flight (they share
 * a .tmp name), so a request while one is in flight runs after it. */
void node_write_checkpoints(struct node *node) {
  if (join_busy(&node->logs.checkpoints)) {
    node->logs.checkpoints_again = true;
    return;
  }
  checkpoints_start(node);
}

/* ---- the subsystem ---- */

static int log_manager_init(struct node *node) {
  struct env *env = node->env;
  node->lifecycle.previous_broker_epoch = -1;
  seg_cache_init(&node->logs.segments, env, node->cfg.open_segments_max);
  int rc = env->mkdir(env, node->cfg.log_dirs);
  if (rc != 0 && rc != ENV_EEXIST) {
    env_log(env, ENV_LOG_ERROR, "cannot create log.dirs %s: error %d", node->cfg.log_dirs, rc);
    return rc;
  }
  rc = meta_properties_load(node);
  if (rc == 0) node->lifecycle.previous_broker_epoch = clean_shutdown_take(node);
  return rc;
}

static int log_manager_start(struct node *node) {
  ASSERT(node->logs.maintain_timer == 0 && node->logs.cleaner_timer == 0);
  maintain_schedule(node);
  if (cleaner_enabled(node)) clean_schedule(node, 0);
  return 0;
}

static void all_flushed(void *ctx, int err) {
  struct node *node = ctx;
  if (err != 0) env_log(node->env, ENV_LOG_ERROR, "flush at shutdown failed: error %d", err);
  /* Everything is on disk: record it; the subsystem stops when it lands. */
  node->logs.stopping = true;
  node_write_checkpoints(node);
}

static void flush_next(struct node *node);

static void log_flushed(void *ctx, int err) {
  struct node *node = ctx;
  node->logs.flushes_in_flight--;
  flush_next(node); /* before join_one: the join must not end while logs are left */
  join_one(&node->logs.flushes, err);
}

/* The next hosted partition after the shutdown's cursor, or NULL. */
static struct partition *flush_cursor_next(struct node *node) {
  struct log_manager *lm = &node->logs;
  for (int n = 0; lm->flush_topic < node->topic_count && n <= node->topic_count; n++) {
    struct topic *t = node->topics[lm->flush_topic];
    while (lm->flush_partition < t->partition_count) {
      struct partition *p = &t->partitions[lm->flush_partition++];
      if (partition_hosted(p)) return p;
    }
    lm->flush_topic++;
    lm->flush_partition = 0;
  }
  return NULL;
}

/* Starts flushes while fewer than the window are in flight: each pins the
 * segments it fsyncs open, so a thousand logs flushed at once would open
 * them all. */
static void flush_next(struct node *node) {
  struct log_manager *lm = &node->logs;
  int window = lm->segments.limit / 2 > 1 ? lm->segments.limit / 2 : 1;
  if (lm->flush_starting || lm->flush_cursor_done) return; /* a completion inside the loop */
  lm->flush_starting = true;
  while (lm->flushes_in_flight < window) {
    struct partition *p = flush_cursor_next(node);
    if (!p) {
      lm->flush_cursor_done = true;
      join_one(&lm->flushes, 0); /* the cursor's hold */
      break;
    }
    lm->flushes_in_flight += 2;
    join_add(&lm->flushes);
    plog_flush(p->log, log_flushed, node);
    join_add(&lm->flushes);
    plog_producers_snapshot(p->log, log_flushed, node);
  }
  lm->flush_starting = false;
}

/* Every log fsynced and its producer state snapshotted at its end offset
 * (so the next start scans no batch headers), then the checkpoints. A
 * snapshot past what the fsync made durable is deleted at the next start. */
static void log_manager_shutdown(struct node *node) {
  struct log_manager *lm = &node->logs;
  ASSERT(node->shutting_down && !join_busy(&lm->flushes));
  if (lm->maintain_timer) node->env->timer_cancel(node->env, lm->maintain_timer);
  lm->maintain_timer = 0;
  lm->flush_topic = 0;
  lm->flush_partition = 0;
  lm->flushes_in_flight = 0;
  lm->flush_starting = false;
  lm->flush_cursor_done = false;
  if (lm->cleaner_timer) node->env->timer_cancel(node->env, lm->cleaner_timer);
  lm->cleaner_timer = 0;
  join_begin(&lm->flushes, all_flushed, node);
  join_add(&lm->flushes); /* held until the window has gone over every log */
  flush_next(node);
  join_end(&lm->flushes);
}

static void log_manager_free(struct node *node) {
  if (node->logs.maintain_timer) node->env->timer_cancel(node->env, node->logs.maintain_timer);
  node->logs.maintain_timer = 0;
  if (node->logs.cleaner_timer) node->env->timer_cancel(node->env, node->logs.cleaner_timer);
  node->logs.cleaner_timer = 0;
  topics_close_all(node);
  ASSERT(node->topic_count == 0);
  seg_cache_free(&node->logs.segments);
}

const struct subsystem subsystem_log_manager = {
    .name = "log manager",
    .init = log_manager_init,
    .start = log_manager_start,
    .shutdown = log_manager_shutdown,
    .free = log_manager_free,
};
