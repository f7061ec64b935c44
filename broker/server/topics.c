/* Topics and their partitions on this node: create, delete, grow, and find
 * them again on start from the partition directories under log.dirs (until
 * the metadata quorum lands, the directories and their partition.metadata
 * files are the node's record of which topics exist). */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "log/atomic_file.h"
#include "log/checkpoint.h"
#include "proto/errors.h"
#include "server/files.h"
#include "server/server.h"

static const char CONFIGS_DIR[] = "topic-configs";

bool topic_name_valid(const char *name, size_t len) {
  if (len == 0 || len > TOPIC_NAME_BYTES_MAX) return false;
  if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
    return false;
  for (size_t i = 0; i < len; i++) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

static int topic_cmp_name(const struct topic *t, const char *name, size_t len) {
  size_t tlen = strlen(t->name);
  int c = memcmp(t->name, name, tlen < len ? tlen : len);
  if (c) return c;
  return tlen < len ? -1 : tlen > len ? 1 : 0;
}

/* Index of the first topic whose name is >= name. */
static int topic_lower_bound(struct node *node, const char *name, size_t len) {
  int lo = 0, hi = node->topic_count;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (topic_cmp_name(node->topics[mid], name, len) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

struct topic *topic_find(struct node *node, const char *name, size_t len) {
  int i = topic_lower_bound(node, name, len);
  if (i < node->topic_count && topic_cmp_name(node->topics[i], name, len) == 0)
    return node->topics[i];
  return NULL;
}

struct topic *topic_find_by_id(struct node *node, struct kuuid id) {
  for (int i = 0; i < node->topic_count; i++)
    if (memcmp(node->topics[i]->id.b, id.b, 16) == 0) return node->topics[i];
  return NULL;
}

struct partition *partition_find(struct node *node, struct kstr topic, int32_t index) {
  if (topic.len <= 0) return NULL;
  struct topic *t = topic_find(node, topic.ptr, (size_t)topic.len);
  if (!t || index < 0 || index >= t->partition_count) return NULL;
  return &t->partitions[index];
}

bool partition_flushes_before_ack(const struct partition *p) {
  return topic_config_i64(&p->topic->config, TC_FLUSH_MESSAGES) == 1;
}

int64_t partition_high_watermark(const struct partition *p) {
  /* One replica: everything appended is replicated. When the topic fsyncs
   * before acknowledging, consumers see only what is on disk, so a power loss
   * cannot take back a record somebody has read. */
  int64_t leo = plog_end_offset(p->log);
  if (!partition_flushes_before_ack(p)) return leo;
#ifdef SLUICE_MUTANT_HW_NOT_CAPPED /* mutant: consumers read past what is on disk */
  return leo;
#endif
  int64_t flushed = plog_recovery_point(p->log);
  return flushed < leo ? flushed : leo;
}

static void log_config_for(const struct node *node, const struct topic_config *tc,
                           struct log_config *out) {
  (void)node;
  out->segment_bytes = topic_config_i64(tc, TC_SEGMENT_BYTES);
  out->roll_ms = topic_config_i64(tc, TC_SEGMENT_MS);
  out->retention_ms = topic_config_i64(tc, TC_RETENTION_MS);
  out->retention_bytes = topic_config_i64(tc, TC_RETENTION_BYTES);
  out->index_interval_bytes = (int32_t)topic_config_i64(tc, TC_INDEX_INTERVAL_BYTES);
  out->index_bytes_max = (int32_t)topic_config_i64(tc, TC_SEGMENT_INDEX_BYTES);
}

static void partition_dir(const struct node *node, const char *topic, int32_t index, char *out,
                          size_t cap) {
  str_fmt(out, cap, "%s/%s-%d", node->cfg.log_dirs, topic, index);
}

static int write_partition_metadata(struct node *node, struct topic *t, int32_t index) {
  char dir[600], path[700], id[23], text[64];
  partition_dir(node, t->name, index, dir, sizeof dir);
  str_fmt(path, sizeof path, "%s/partition.metadata", dir);
  uuid_to_string(t->id, id);
  size_t n = str_fmt(text, sizeof text, "version: 0\ntopic_id: %s\n", id);
  return atomic_file_write(node->env, path, text, n, NULL, NULL);
}

static int write_topic_configs(struct node *node, const struct topic *t) {
  struct buf text;
  buf_init(&text);
  for (int k = 0; k < TC_COUNT; k++) {
    if (t->config.source[k] != CONFIG_SOURCE_DYNAMIC_TOPIC) continue;
    char line[128];
    size_t n =
        str_fmt(line, sizeof line, "%s=%s\n", topic_config_info(k)->name, t->config.values[k]);
    buf_append(&text, line, n);
  }
  char dir[512], name[300];
  str_fmt(dir, sizeof dir, "%s/%s", node->cfg.log_dirs, CONFIGS_DIR);
  str_fmt(name, sizeof name, "%s.properties", t->name);
  char path[900];
  str_fmt(path, sizeof path, "%s/%s", dir, name);
  int rc = node->env->mkdir(node->env, dir);
  if (rc == 0 || rc == ENV_EEXIST) {
    if (text.len == 0) {
      rc = node->env->unlink(node->env, path);
      if (rc == ENV_ENOENT) rc = 0;
    } else {
      rc = atomic_file_write(node->env, path, text.data, text.len, NULL, NULL);
    }
  }
  buf_free(&text);
  return rc;
}

static void read_topic_configs(struct node *node, struct topic *t) {
  char path[900];
  str_fmt(path, sizeof path, "%s/%s/%s.properties", node->cfg.log_dirs, CONFIGS_DIR, t->name);
  struct buf text;
  buf_init(&text);
  if (atomic_file_read(node->env, path, &text) == 0) {
    for (int k = 0; k < TC_COUNT; k++) {
      char value[64], err[256];
      const char *name = topic_config_info(k)->name;
      if (properties_get((const char *)text.data, text.len, name, value, sizeof value) &&
          !topic_config_set(&t->config, name, value, err, sizeof err))
        env_log(node->env, ENV_LOG_WARN, "topic %s: ignoring stored config: %s", t->name, err);
    }
  }
  buf_free(&text);
}

static int partition_open(struct node *node, struct topic *t, int32_t index,
                          int64_t recovery_point, int64_t log_start_offset) {
  char dir[600];
  partition_dir(node, t->name, index, dir, sizeof dir);
  struct log_config lc;
  log_config_for(node, &t->config, &lc);
  struct partition *p = &t->partitions[index];
  memset(p, 0, sizeof *p);
  p->topic = t;
  p->index = index;
  int rc = plog_open(node->env, dir, &lc, recovery_point, log_start_offset, &p->log);
  if (rc != 0) {
    env_log(node->env, ENV_LOG_ERROR, "could not open partition %s: error %d", dir, rc);
    return rc;
  }
  p->leader_epoch = plog_latest_epoch(p->log) < 0 ? 0 : plog_latest_epoch(p->log);
  return 0;
}

static void topics_insert(struct node *node, struct topic *t) {
  ASSERT(node->topic_count < TOPICS_MAX);
  if (node->topic_count == node->topic_cap) {
    int cap = node->topic_cap ? node->topic_cap * 2 : 16;
    struct topic **arr = realloc(node->topics, (size_t)cap * sizeof *arr);
    ASSERT(arr != NULL);
    node->topics = arr;
    node->topic_cap = cap;
  }
  int i = topic_lower_bound(node, t->name, strlen(t->name));
  memmove(&node->topics[i + 1], &node->topics[i],
          (size_t)(node->topic_count - i) * sizeof node->topics[0]);
  node->topics[i] = t;
  node->topic_count++;
}

static void topics_remove(struct node *node, struct topic *t) {
  int i = topic_lower_bound(node, t->name, strlen(t->name));
  ASSERT(i < node->topic_count && node->topics[i] == t);
  memmove(&node->topics[i], &node->topics[i + 1],
          (size_t)(node->topic_count - i - 1) * sizeof node->topics[0]);
  node->topic_count--;
}

static void topic_free(struct topic *t) {
  free(t->partitions);
  free(t);
}

int topic_create(struct node *node, const char *name, int32_t partition_count,
                 const struct topic_config *tc, struct topic **out) {
  size_t len = strlen(name);
  if (!topic_name_valid(name, len)) return KERR_INVALID_TOPIC_EXCEPTION;
  if (topic_find(node, name, len)) return KERR_TOPIC_ALREADY_EXISTS;
  if (partition_count < 1 || partition_count > PARTITIONS_MAX) return KERR_INVALID_PARTITIONS;
  if (node->topic_count >= TOPICS_MAX) return KERR_POLICY_VIOLATION;
  struct topic *t = calloc(1, sizeof *t);
  ASSERT(t != NULL);
  memcpy(t->name, name, len + 1);
  t->id = uuid_random(node->env);
  t->config = *tc;
  t->partitions = calloc((size_t)partition_count, sizeof *t->partitions);
  ASSERT(t->partitions != NULL);
  for (int32_t i = 0; i < partition_count; i++) {
    if (partition_open(node, t, i, 0, 0) != 0 || write_partition_metadata(node, t, i) != 0) {
      for (int32_t j = 0; j <= i; j++)
        if (t->partitions[j].log) plog_delete(t->partitions[j].log);
      topic_free(t);
      return KERR_KAFKA_STORAGE_ERROR;
    }
  }
  t->partition_count = partition_count;
  if (write_topic_configs(node, t) != 0)
    env_log(node->env, ENV_LOG_WARN, "topic %s: could not store its configs", name);
  topics_insert(node, t);
  char id[23];
  uuid_to_string(t->id, id);
  env_log(node->env, ENV_LOG_INFO, "created topic %s with %d partitions, id %s", name,
          partition_count, id);
  *out = t;
  return KERR_NONE;
}

int topic_add_partitions(struct node *node, struct topic *t, int32_t count) {
  if (count <= t->partition_count || count > PARTITIONS_MAX) return KERR_INVALID_PARTITIONS;
  struct partition *parts = realloc(t->partitions, (size_t)count * sizeof *parts);
  ASSERT(parts != NULL);
  t->partitions = parts;
  for (int32_t i = 0; i < t->partition_count; i++) purgatory_list_moved(&parts[i].watches);
  for (int32_t i = t->partition_count; i < count; i++) {
    if (partition_open(node, t, i, 0, 0) != 0 || write_partition_metadata(node, t, i) != 0) {
      t->partition_count = i;
      return KERR_KAFKA_STORAGE_ERROR;
    }
  }
  /* Fix the back pointers: realloc may have moved the array. */
  for (int32_t i = 0; i < count; i++) t->partitions[i].topic = t;
  t->partition_count = count;
  env_log(node->env, ENV_LOG_INFO, "topic %s now has %d partitions", t->name, count);
  return KERR_NONE;
}

int topic_delete(struct node *node, struct topic *t) {
  /* Out of the table first, so the fetches parked on its partitions answer
   * with UNKNOWN_TOPIC errors for them (and data for the rest). */
  topics_remove(node, t);
  for (int32_t i = 0; i < t->partition_count; i++)
    purgatory_gone(&node->purgatory, &t->partitions[i].watches);
  int rc = KERR_NONE;
  for (int32_t i = 0; i < t->partition_count; i++)
    if (plog_delete(t->partitions[i].log) != 0) rc = KERR_KAFKA_STORAGE_ERROR;
  t->partition_count = 0;
  char path[900];
  str_fmt(path, sizeof path, "%s/%s/%s.properties", node->cfg.log_dirs, CONFIGS_DIR, t->name);
  node->env->unlink(node->env, path);
  env_log(node->env, ENV_LOG_INFO, "deleted topic %s", t->name);
  topic_free(t);
  return rc;
}

/* ---- loading on start ---- */

struct dir_scan {
  struct node *node;
  char (*names)[TOPIC_NAME_BYTES_MAX + 1];
  int32_t *indexes;
  int count;
  int cap;
};

/* "<topic>-<partition>" with a valid topic name and a decimal partition. */
static bool parse_partition_dir(const char *name, size_t *topic_len, int32_t *index) {
  const char *dash = strrchr(name, '-');
  if (!dash || dash == name || !dash[1]) return false;
  int64_t v;
  for (const char *p = dash + 1; *p; p++)
    if (*p < '0' || *p > '9') return false;
  if (!str_to_i64(dash + 1, &v) || v >= PARTITIONS_MAX) return false;
  *topic_len = (size_t)(dash - name);
  *index = (int32_t)v;
  return topic_name_valid(name, *topic_len);
}

static void scan_entry(void *ctx, const char *name, bool is_dir) {
  struct dir_scan *s = ctx;
  size_t len;
  int32_t index;
  if (!is_dir || !parse_partition_dir(name, &len, &index)) return;
  if (s->count == s->cap) {
    int cap = s->cap ? s->cap * 2 : 64;
    s->names = realloc(s->names, (size_t)cap * sizeof *s->names);
    s->indexes = realloc(s->indexes, (size_t)cap * sizeof *s->indexes);
    ASSERT(s->names && s->indexes);
    s->cap = cap;
  }
  memcpy(s->names[s->count], name, len);
  s->names[s->count][len] = 0;
  s->indexes[s->count] = index;
  s->count++;
}

struct offsets {
  struct checkpoint_entry *entries;
  int count;
};

static int64_t offsets_lookup(const struct offsets *o, const char *topic, int32_t index) {
  for (int i = 0; i < o->count; i++)
    if (o->entries[i].partition == index && strcmp(o->entries[i].topic, topic) == 0)
      return o->entries[i].offset;
  return 0;
}

static void read_topic_id(struct node *node, struct topic *t) {
  char path[900], value[64];
  str_fmt(path, sizeof path, "%s/%s-0/partition.metadata", node->cfg.log_dirs, t->name);
  struct buf text;
  buf_init(&text);
  if (atomic_file_read(node->env, path, &text) == 0 &&
      properties_get((const char *)text.data, text.len, "topic_id", value, sizeof value) &&
      uuid_from_string(value, &t->id)) {
    buf_free(&text);
    return;
  }
  buf_free(&text);
  t->id = uuid_random(node->env);
  env_log(node->env, ENV_LOG_WARN, "topic %s: no readable partition.metadata; new topic id",
          t->name);
  write_partition_metadata(node, t, 0);
}

/* Recovered data may sit only in the page cache: in fsync-before-ack mode
 * it becomes visible once it is on disk. The partition is named, not
 * pointed to: it may be deleted before the fsync completes. */
struct recovered_flush {
  struct node *node;
  char topic[TOPIC_NAME_BYTES_MAX + 1];
  int32_t index;
};

static void recovered_flushed(void *ctx, int err) {
  struct recovered_flush *f = ctx;
  struct node *node = f->node;
  if (err != 0) env_log(node->env, ENV_LOG_ERROR, "flush after recovery failed: error %d", err);
  struct partition *p = partition_find(node, kstr_of(f->topic), f->index);
  if (err == 0 && p) partition_wake_waiters(node, p);
  free(f);
}

static int load_topic(struct node *node, const char *name, int32_t max_index,
                      const struct offsets *recovery, const struct offsets *starts) {
  struct topic *t = calloc(1, sizeof *t);
  ASSERT(t != NULL);
  str_fmt(t->name, sizeof t->name, "%s", name);
  topic_config_init(&t->config, &node->cfg);
  read_topic_configs(node, t);
  read_topic_id(node, t);
  t->partition_count = max_index + 1;
  t->partitions = calloc((size_t)t->partition_count, sizeof *t->partitions);
  ASSERT(t->partitions != NULL);
  for (int32_t i = 0; i < t->partition_count; i++) {
    int rc = partition_open(node, t, i, offsets_lookup(recovery, name, i),
                            offsets_lookup(starts, name, i));
    if (rc != 0) {
      for (int32_t j = 0; j < i; j++) plog_close(t->partitions[j].log);
      topic_free(t);
      return rc;
    }
    struct partition *p = &t->partitions[i];
    if (partition_flushes_before_ack(p) &&
        plog_recovery_point(p->log) < plog_end_offset(p->log)) {
      struct recovered_flush *f = calloc(1, sizeof *f);
      ASSERT(f != NULL);
      f->node = node;
      str_fmt(f->topic, sizeof f->topic, "%s", name);
      f->index = i;
      plog_flush(p->log, recovered_flushed, f);
    }
  }
  topics_insert(node, t);
  return 0;
}

int topics_load(struct node *node) {
  struct env *env = node->env;
  struct dir_scan scan = {.node = node};
  int rc = env->list(env, node->cfg.log_dirs, scan_entry, &scan);
  if (rc != 0) return rc;
  struct offsets recovery = {0}, starts = {0};
  char path[600];
  str_fmt(path, sizeof path, "%s/recovery-point-offset-checkpoint", node->cfg.log_dirs);
  rc = checkpoint_read(env, path, &recovery.entries, &recovery.count);
  str_fmt(path, sizeof path, "%s/log-start-offset-checkpoint", node->cfg.log_dirs);
  if (rc == 0) rc = checkpoint_read(env, path, &starts.entries, &starts.count);
  /* list() gives names in order, so one topic's partitions are adjacent
   * except that "t-10" sorts before "t-2": find each topic's highest. */
  for (int i = 0; i < scan.count && rc == 0; i++) {
    if (topic_find(node, scan.names[i], strlen(scan.names[i]))) continue;
    int32_t max_index = -1;
    for (int j = i; j < scan.count; j++)
      if (strcmp(scan.names[j], scan.names[i]) == 0 && scan.indexes[j] > max_index)
        max_index = scan.indexes[j];
    rc = load_topic(node, scan.names[i], max_index, &recovery, &starts);
  }
  free(recovery.entries);
  free(starts.entries);
  free(scan.names);
  free(scan.indexes);
  if (rc == 0)
    env_log(env, ENV_LOG_INFO, "loaded %d topics from %s", node->topic_count,
            node->cfg.log_dirs);
  return rc;
}

void topics_close_all(struct node *node) {
  for (int i = 0; i < node->topic_count; i++) {
    struct topic *t = node->topics[i];
    for (int32_t p = 0; p < t->partition_count; p++) plog_close(t->partitions[p].log);
    topic_free(t);
  }
  free(node->topics);
  node->topics = NULL;
  node->topic_count = node->topic_cap = 0;
}
