/* The first image from what is on disk: list log.dirs once, group the
 * partition directories by topic, and turn each topic into the records a
 * controller would have written for it. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "log/atomic_file.h"
#include "log/epoch_cache.h"
#include "meta/bootstrap.h"
#include "meta/image.h"
#include "meta/replication_control.h"
#include "server/files.h"
#include "server/topic_config.h"

enum { PATH_BYTES = 900, SCAN_ENTRIES_MAX = 1 << 22 };

struct scan_entry {
  char name[META_TOPIC_NAME_BYTES];
  int32_t index;
};

struct scan {
  struct scan_entry *entries;
  int32_t count;
  int32_t cap;
  bool overflow;
};

/* "<topic>-<partition>" with a legal topic name and a decimal partition. */
static bool parse_partition_dir(const char *name, size_t *topic_len, int32_t *index) {
  const char *dash = strrchr(name, '-');
  if (!dash || dash == name || !dash[1]) return false;
  for (const char *p = dash + 1; *p; p++)
    if (*p < '0' || *p > '9') return false;
  int64_t v;
  if (!str_to_i64(dash + 1, &v) || v >= META_PARTITIONS_MAX) return false;
  *topic_len = (size_t)(dash - name);
  *index = (int32_t)v;
  return meta_topic_name_valid(name, *topic_len);
}

static void scan_one(void *ctx, const char *name, bool is_dir) {
  struct scan *s = ctx;
  size_t len;
  int32_t index;
  if (!is_dir || !parse_partition_dir(name, &len, &index)) return;
  /* The metadata log (server/raft_node.c) is not a topic. */
  if (len == sizeof META_LOG_TOPIC - 1 && memcmp(name, META_LOG_TOPIC, len) == 0) return;
  if (s->count == SCAN_ENTRIES_MAX) {
    s->overflow = true;
    return;
  }
  if (s->count == s->cap) {
    int32_t cap = s->cap ? s->cap * 2 : 64;
    struct scan_entry *entries = realloc(s->entries, (size_t)cap * sizeof *entries);
    ASSERT(entries != NULL);
    s->entries = entries;
    s->cap = cap;
  }
  struct scan_entry *e = &s->entries[s->count++];
  memcpy(e->name, name, len);
  e->name[len] = 0;
  e->index = index;
}

/* By topic name, then partition: list() sorts "t-10" before "t-2". */
static int entry_cmp(const void *a, const void *b) {
  const struct scan_entry *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  if (c) return c;
  return x->index < y->index ? -1 : x->index > y->index;
}

static bool read_id_at(struct env *env, const char *log_dirs, const char *topic, int32_t index,
                       struct kuuid *out) {
  char path[PATH_BYTES], value[64];
  str_fmt(path, sizeof path, "%s/%s-%d/partition.metadata", log_dirs, topic, index);
  struct buf text;
  buf_init(&text);
  bool ok =
      atomic_file_read(env, path, &text) == 0 &&
      properties_get((const char *)text.data, text.len, "topic_id", value, sizeof value) &&
      uuid_from_string(value, out) && !uuid_is_zero(*out);
  buf_free(&text);
  return ok;
}

/* Ids seen so far, sorted, to catch two topics claiming one id. */
struct ids {
  struct kuuid *sorted;
  int32_t count;
};

static int32_t ids_lower_bound(const struct ids *ids, struct kuuid id) {
  int32_t lo = 0, hi = ids->count;
  while (lo < hi) {
    int32_t mid = lo + (hi - lo) / 2;
    if (meta_uuid_cmp(ids->sorted[mid], id) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static bool ids_insert(struct ids *ids, struct kuuid id) {
  int32_t i = ids_lower_bound(ids, id);
  if (i < ids->count && meta_uuid_cmp(ids->sorted[i], id) == 0) return false;
  memmove(&ids->sorted[i + 1], &ids->sorted[i], (size_t)(ids->count - i) * sizeof id);
  ids->sorted[i] = id;
  ids->count++;
  return true;
}

/* Partition 0's id, else the first partition's that has one. */
static struct kuuid topic_id(struct env *env, const char *log_dirs,
                             const struct scan_entry *entries, int32_t n, struct ids *ids) {
  struct kuuid id = {{0}};
  bool found = false;
  for (int32_t i = 0; i < n && !found; i++)
    found = read_id_at(env, log_dirs, entries[0].name, entries[i].index, &id);
  if (found && ids_insert(ids, id)) return id;
  env_log(env, ENV_LOG_WARN,
          found ? "topic %s: its id is another topic's; new topic id"
                : "topic %s: no readable partition.metadata; new topic id",
          entries[0].name);
  for (int tries = 0; tries < 16; tries++) {
    id = uuid_random(env);
    if (!uuid_is_zero(id) && ids_insert(ids, id)) return id;
  }
  UNREACHABLE(); /* 16 collisions of 122 random bits: the source is broken */
}

static int32_t leader_epoch(struct env *env, const char *log_dirs, const char *topic,
                            int32_t index) {
  char path[PATH_BYTES];
  str_fmt(path, sizeof path, "%s/%s-%d/leader-epoch-checkpoint", log_dirs, topic, index);
  struct buf text;
  buf_init(&text);
  struct epoch_cache cache;
  epoch_cache_init(&cache);
  int32_t epoch = 0;
  if (atomic_file_read(env, path, &text) == 0 &&
      epoch_cache_parse(&cache, (const char *)text.data, text.len) == 0 &&
      epoch_cache_latest(&cache) > 0)
    epoch = epoch_cache_latest(&cache);
  epoch_cache_free(&cache);
  buf_free(&text);
  ASSERT(epoch >= 0);
  return epoch;
}

static struct meta_record *add(struct meta_delta *delta, enum meta_record_type type) {
  return meta_delta_add(delta, type, delta->count); /* offsets from 0 */
}

static bool config_records(struct env *env, const struct config *cfg, const char *topic,
                           struct meta_delta *delta) {
  char path[PATH_BYTES];
  str_fmt(path, sizeof path, "%s/%s/%s.properties", cfg->log_dirs, META_TOPIC_CONFIGS_DIR,
          topic);
  struct buf text;
  buf_init(&text);
  bool ok = true;
  if (atomic_file_read(env, path, &text) == 0) {
    struct topic_config scratch;
    topic_config_init(&scratch, cfg);
    for (int k = 0; k < TC_COUNT && ok; k++) {
      char value[META_CONFIG_VALUE_BYTES], err[256];
      const char *name = topic_config_info(k)->name;
      if (!properties_get((const char *)text.data, text.len, name, value, sizeof value))
        continue;
      if (!topic_config_set(&scratch, name, value, err, sizeof err)) {
        env_log(env, ENV_LOG_WARN, "topic %s: ignoring stored config: %s", topic, err);
        continue;
      }
      struct meta_record *r = add(delta, META_CONFIG_RECORD);
      ok = r != NULL;
      if (!ok) break;
      r->config.resource_type = META_RESOURCE_TOPIC;
      str_fmt(r->config.resource_name, sizeof r->config.resource_name, "%s", topic);
      str_fmt(r->config.name, sizeof r->config.name, "%s", name);
      str_fmt(r->config.value, sizeof r->config.value, "%s", value);
    }
  }
  buf_free(&text);
  return ok;
}

/* One topic: entries[0..n) are its partition directories, by index. */
static bool topic_records(struct env *env, const struct config *cfg,
                          const struct scan_entry *entries, int32_t n, struct ids *ids,
                          struct meta_delta *delta) {
  ASSERT(n >= 1);
  const char *name = entries[0].name;
  struct meta_record *r = add(delta, META_TOPIC_RECORD);
  if (!r) return false;
  str_fmt(r->topic.name, sizeof r->topic.name, "%s", name);
  r->topic.topic_id = topic_id(env, cfg->log_dirs, entries, n, ids);
  struct kuuid id = r->topic.topic_id;
  /* A missing directory inside the range is an empty partition to create. */
  int32_t count = entries[n - 1].index + 1;
  for (int32_t p = 0, e = 0; p < count; p++) {
    bool on_disk = e < n && entries[e].index == p;
    r = add(delta, META_PARTITION_RECORD);
    if (!r) return false;
    r->partition = (struct meta_partition_record){
        .partition_id = p,
        .topic_id = id,
        .replica_count = 1,
        .replicas = {cfg->node_id},
        .isr_count = 1,
        .isr = {cfg->node_id},
        .leader = cfg->node_id,
        .leader_epoch = on_disk ? leader_epoch(env, cfg->log_dirs, name, p) : 0,
        .partition_epoch = 0,
    };
    if (on_disk) e++;
  }
  return config_records(env, cfg, name, delta);
}

/* The producer id watermark, if any block was ever handed out. */
static int producer_ids_record(struct env *env, const struct config *cfg,
                               struct meta_delta *delta) {
  char path[PATH_BYTES], value[32];
  str_fmt(path, sizeof path, "%s/%s", cfg->log_dirs, META_PRODUCER_IDS_FILE);
  struct buf text;
  buf_init(&text);
  int rc = atomic_file_read(env, path, &text);
  int64_t next = -1;
  if (rc == 0 && (!properties_get((const char *)text.data, text.len, "next_producer_id", value,
                                  sizeof value) ||
                  !str_to_i64(value, &next) || next < 0))
    rc = ENV_EINVAL;
  buf_free(&text);
  if (rc == ENV_ENOENT) return 0;
  if (rc != 0) {
    env_log(env, ENV_LOG_ERROR, "%s is unreadable (error %d): producer ids could be reused",
            path, rc);
    return rc;
  }
  struct meta_record *r = add(delta, META_PRODUCER_IDS_RECORD);
  if (!r) return ENV_ENOSPC;
  r->producer_ids = (struct meta_producer_ids_record){
      .broker_id = cfg->node_id, .broker_epoch = -1, .next_producer_id = next};
  return 0;
}

int meta_bootstrap_from_disk(struct env *env, const struct config *cfg,
                             struct meta_delta *delta) {
  ASSERT(env != NULL && cfg != NULL && delta != NULL && delta->count == 0);
  struct scan s = {0};
  int rc = env->list(env, cfg->log_dirs, scan_one, &s);
  if (rc == 0 && s.overflow) rc = ENV_ENOSPC;
  if (rc == 0 && s.count > 1) qsort(s.entries, (size_t)s.count, sizeof *s.entries, entry_cmp);
  struct ids ids = {.sorted = malloc((size_t)(s.count ? s.count : 1) * sizeof(struct kuuid))};
  ASSERT(ids.sorted != NULL);
  int32_t topics = 0;
  for (int32_t i = 0, j; rc == 0 && i < s.count; i = j) {
    /* Duplicates ("t-01" and "t-1") collapse onto one partition. */
    for (j = i + 1; j < s.count && strcmp(s.entries[j].name, s.entries[i].name) == 0; j++) {
    }
    int32_t n = 0;
    for (int32_t k = i; k < j; k++)
      if (n == 0 || s.entries[i + n - 1].index != s.entries[k].index)
        s.entries[i + n++] = s.entries[k];
    if (!topic_records(env, cfg, &s.entries[i], n, &ids, delta)) rc = ENV_ENOSPC;
    topics++;
  }
  ASSERT(rc != 0 || ids.count == topics);
  free(ids.sorted);
  free(s.entries);
  if (rc == 0) rc = producer_ids_record(env, cfg, delta);
  return rc;
}
