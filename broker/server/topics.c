/* The node's local log manager: the partition logs this node hosts, kept in
 * step with the metadata image. topics_publish is the controller's
 * publisher: each new image arrives here and local storage is made to match
 * it (logs created for new partitions, removed topics' logs deleted, their
 * partition.metadata and topic-configs files written), as Kafka's broker
 * applies a MetadataDelta to its ReplicaManager (KIP-500). Storage that
 * cannot be made to match is retried on a timer; the image stands.
 *
 * struct topic / struct partition are the local state: keyed to the image's
 * topics by id, in name order, with the leader epoch copied from the image
 * so the data path (Produce, Fetch, ListOffsets) needs no second lookup. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "log/atomic_file.h"
#include "log/checkpoint.h"
#include "log/cleaner.h"
#include "meta/bootstrap.h"
#include "meta/replication_control.h"
#include "proto/errors.h"
#include "server/files.h"
#include "server/replication.h"
#include "server/server.h"

enum {
  STORAGE_RETRY_MS = 1000,
  PATH_BYTES = 900,
  /* Partition logs opened per loop turn when a publish adds many: each is
   * a directory, a segment and a partition.metadata file (about 0.1 ms on
   * a local disk), so a CreateTopics of thousands of partitions leaves
   * other clients' requests a turn every few milliseconds (issue 13). */
  PARTITIONS_OPENED_PER_SLICE = 32,
  /* Publishes waiting for a run of slices: one per metadata change, and
   * the loader commits a change per request at most. */
  SLICE_HOLDS_MAX = 1 << 20
};

bool topic_name_valid(const char *name, size_t len) { return meta_topic_name_valid(name, len); }

/* The files one publish writes, counted down as they land (fsync, rename,
 * directory sync); then the controller hears (meta_publisher). One guard
 * count keeps it from finishing before every write has started. Heap
 * memory of its own: it may land after the node is gone. */
struct publish_landing {
  int pending;
  int err;
  meta_landed_fn landed;
  void *arg;
};

static void landing_one(void *ctx, int err) {
  struct publish_landing *g = ctx;
  ASSERT(g->pending > 0);
  if (err != 0 && g->err == 0) g->err = err;
  if (--g->pending > 0) return;
  g->landed(g->arg, g->err);
  free(g);
}

/* atomic_file_write, counted in g (which may be NULL: nobody waits). */
static int landing_write(struct publish_landing *g, struct env *env, const char *path,
                         const void *data, size_t len) {
  if (!g) return atomic_file_write(env, path, data, len, NULL, NULL);
  g->pending++;
  int rc = atomic_file_write(env, path, data, len, landing_one, g);
  if (rc != 0) g->pending--; /* done is not called when the write did not start */
  ASSERT(g->pending > 0);
  return rc;
}

static int topic_cmp_name(const struct topic *t, const char *name, size_t len) {
  size_t tlen = t->name_len;
  int c = memcmp(t->name, name, tlen < len ? tlen : len);
  if (c) return c;
  return tlen < len ? -1 : tlen > len ? 1 : 0;
}

/* Index of the first topic whose name is >= name. */
static int topic_lower_bound(const struct node *node, const char *name, size_t len) {
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

struct topic *topic_find(const struct node *node, const char *name, size_t len) {
  int i = topic_lower_bound(node, name, len);
  if (i < node->topic_count && topic_cmp_name(node->topics[i], name, len) == 0)
    return node->topics[i];
  return NULL;
}

/* Through the image's id index: local topics are the image's, by name.
 * The answer holds while the image is the same (offsets only grow) and the
 * topic stays in the table (topics_remove forgets it). */
struct topic *topic_find_by_id(struct node *node, struct kuuid id) {
  ASSERT(node->image != NULL);
  struct topic *last = node->topic_by_id_last.topic;
  if (last && node->topic_by_id_last.image_offset == node->image->offset &&
      meta_uuid_cmp(node->topic_by_id_last.id, id) == 0)
    return last;
  const struct meta_topic *mt = meta_image_topic_by_id(node->image, id);
  if (!mt) return NULL;
  struct topic *t = topic_find(node, mt->name, strlen(mt->name));
  if (!t || meta_uuid_cmp(t->id, id) != 0) return NULL;
  node->topic_by_id_last.image_offset = node->image->offset;
  node->topic_by_id_last.id = id;
  node->topic_by_id_last.topic = t;
  return t;
}

struct topic *topic_find_remembered(struct node *node, const char *name, size_t len) {
  struct topic *last = node->topic_by_name_last;
  if (last && last->name_len == len && memcmp(last->name, name, len) == 0) return last;
  struct topic *t = topic_find(node, name, len);
  if (t) node->topic_by_name_last = t;
  return t;
}

struct partition *partition_any(struct node *node, struct kstr topic, int32_t index) {
  if (topic.len <= 0) return NULL;
  struct topic *t = topic_find_remembered(node, topic.ptr, (size_t)topic.len);
  if (!t || index < 0 || index >= t->partition_count) return NULL;
  return &t->partitions[index];
}

struct partition *partition_find(struct node *node, struct kstr topic, int32_t index) {
  struct partition *p = partition_any(node, topic, index);
  return p && partition_hosted(p) ? p : NULL;
}

bool partition_hosted(const struct partition *p) { return p->log != NULL; }

bool partition_is_leader(const struct node *node, const struct partition *p) {
  return p->log != NULL && p->leader_id == node_id(node);
}

/* Copies the image's view of the partition; a new leader or leader epoch
 * is a role change. */
static void partition_follow_image(struct node *node, struct partition *p,
                                   const struct meta_partition *mp) {
  ASSERT(mp->replica_count <= META_REPLICAS_MAX && mp->isr_count <= META_REPLICAS_MAX);
  int32_t old_leader = p->leader_id, old_epoch = p->leader_epoch;
  int32_t old_partition_epoch = p->partition_epoch;
  p->leader_id = mp->leader;
  p->leader_epoch = mp->leader_epoch;
  p->partition_epoch = mp->partition_epoch;
  p->replica_count = mp->replica_count;
  p->isr_count = mp->isr_count;
  memcpy(p->replicas, mp->replicas, (size_t)mp->replica_count * sizeof p->replicas[0]);
  memcpy(p->isr, mp->isr, (size_t)mp->isr_count * sizeof p->isr[0]);
  if (old_leader != p->leader_id || old_epoch != p->leader_epoch)
    partition_role_changed(node, p, old_leader, old_epoch);
  else if (p->leader && old_partition_epoch != p->partition_epoch)
    partition_leader_isr_changed(node, p); /* an ISR change in the same leader epoch */
}

bool partition_flushes_before_ack(const struct partition *p) {
  return topic_config_flush_each(&p->topic->config);
}

int64_t partition_high_watermark(const struct partition *p) {
  ASSERT(p->log != NULL && !(p->leader && p->follower));
  if (p->leader) return partition_leader_high_watermark(p);
  if (p->follower) return replica_follower_high_watermark(p);
  /* No role (a restart before this incarnation's registration is in the
   * image, or no leader): the only replica vouches for what it holds. One
   * of several vouches for nothing past its log start: its log may end in
   * what the ISR never had, e.g. a leader's fsynced tail no follower
   * fetched before a power loss of every replica, which the next leader
   * truncates away. Kafka's restarted replica starts from its
   * replication-offset-checkpoint, which never passes what was
   * committed. */
  if (p->replica_count > 1) return plog_start_offset(p->log);
  return partition_local_end(p);
}

int64_t partition_local_end(const struct partition *p) {
  /* When the topic fsyncs before acknowledging, consumers see only what is
   * on disk, so a power loss cannot take back a record somebody has read. */
  int64_t leo = plog_end_offset(p->log);
  if (!partition_flushes_before_ack(p)) return leo;
#ifdef SLUICE_MUTANT_HW_NOT_CAPPED /* mutant: consumers read past what is on disk */
  return leo;
#endif
  int64_t flushed = plog_recovery_point(p->log);
  return flushed < leo ? flushed : leo;
}

void topic_config_from_image(const struct node *node, const struct meta_topic *mt,
                             struct topic_config *out) {
  ASSERT(node != NULL && mt != NULL && out != NULL);
  topic_config_init(out, &node->cfg);
  for (int32_t i = 0; i < mt->config_count; i++) {
    char err[256];
    /* The controller checked them against the same rules. */
    bool ok = topic_config_set(out, mt->configs[i].name, mt->configs[i].value, err, sizeof err);
    if (!ok) env_log(node->env, ENV_LOG_WARN, "topic %s: ignoring config: %s", mt->name, err);
  }
}

static void log_config_for(struct node *node, const struct topic_config *tc,
                           struct log_config *out) {
  out->cache = &node->logs.segments;
  out->segment_bytes = topic_config_i64(tc, TC_SEGMENT_BYTES);
  out->roll_ms = topic_config_i64(tc, TC_SEGMENT_MS);
  /* cleanup.policy=compact alone: no retention by time or size (Kafka). */
  bool deletes = topic_config_deletes(tc);
  out->retention_ms = deletes ? topic_config_i64(tc, TC_RETENTION_MS) : -1;
  out->retention_bytes = deletes ? topic_config_i64(tc, TC_RETENTION_BYTES) : -1;
  out->index_interval_bytes = (int32_t)topic_config_i64(tc, TC_INDEX_INTERVAL_BYTES);
  out->index_bytes_max = (int32_t)topic_config_i64(tc, TC_SEGMENT_INDEX_BYTES);
}

static void partition_dir(const struct node *node, const char *topic, int32_t index, char *out,
                          size_t cap) {
  str_fmt(out, cap, "%s/%s-%d", node->cfg.log_dirs, topic, index);
}

/* partition.metadata names the topic id (Kafka's layout); written when it
 * is missing or names another id, so a start reads each but rarely writes. */
static int ensure_partition_metadata(struct node *node, struct topic *t, int32_t index,
                                     struct publish_landing *g) {
  char dir[600], path[700], id[23], text[64];
  partition_dir(node, t->name, index, dir, sizeof dir);
  str_fmt(path, sizeof path, "%s/partition.metadata", dir);
  uuid_to_string(t->id, id);
  size_t n = str_fmt(text, sizeof text, "version: 0\ntopic_id: %s\n", id);
  struct buf old;
  buf_init(&old);
  bool same = atomic_file_read(node->env, path, &old) == 0 && old.len == n &&
              memcmp(old.data, text, n) == 0;
  buf_free(&old);
  if (same) return 0;
  return landing_write(g, node->env, path, text, n);
}

static int write_topic_configs(struct node *node, const struct topic *t,
                               struct publish_landing *g) {
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
  str_fmt(dir, sizeof dir, "%s/%s", node->cfg.log_dirs, META_TOPIC_CONFIGS_DIR);
  str_fmt(name, sizeof name, "%s.properties", t->name);
  char path[PATH_BYTES];
  str_fmt(path, sizeof path, "%s/%s", dir, name);
  int rc = node->env->mkdir(node->env, dir);
  if (rc == 0 || rc == ENV_EEXIST) {
    if (text.len == 0) {
      rc = node->env->unlink(node->env, path);
      if (rc == ENV_ENOENT) rc = 0;
    } else {
      rc = landing_write(g, node->env, path, text.data, text.len);
    }
  }
  buf_free(&text);
  return rc;
}

/* A partition this node holds no replica of: no log, no leader yet (the
 * image's fields follow). */
static void partition_init(struct topic *t, int32_t index) {
  struct partition *p = &t->partitions[index];
  memset(p, 0, sizeof *p);
  p->topic = t;
  p->index = index;
  p->leader_id = -1;
  p->leader_epoch = -1;
}

static int partition_open(struct node *node, struct topic *t, int32_t index,
                          int64_t recovery_point, int64_t log_start_offset) {
  char dir[600];
  partition_dir(node, t->name, index, dir, sizeof dir);
  struct log_config lc;
  log_config_for(node, &t->config, &lc);
  partition_init(t, index);
  struct partition *p = &t->partitions[index];
  int rc = plog_open(node->env, dir, &lc, recovery_point, log_start_offset, &p->log);
  if (rc != 0) {
    env_log(node->env, ENV_LOG_ERROR, "could not open partition %s: error %d", dir, rc);
    return rc;
  }
  plog_set_compacted(p->log, topic_config_compacted(&t->config));
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
  int i = topic_lower_bound(node, t->name, t->name_len);
  memmove(&node->topics[i + 1], &node->topics[i],
          (size_t)(node->topic_count - i) * sizeof node->topics[0]);
  node->topics[i] = t;
  node->topic_count++;
}

static void topics_remove(struct node *node, struct topic *t) {
  if (node->topic_by_id_last.topic == t) node->topic_by_id_last.topic = NULL;
  if (node->topic_by_name_last == t) node->topic_by_name_last = NULL;
  int i = topic_lower_bound(node, t->name, t->name_len);
  ASSERT(i < node->topic_count && node->topics[i] == t);
  memmove(&node->topics[i], &node->topics[i + 1],
          (size_t)(node->topic_count - i - 1) * sizeof node->topics[0]);
  node->topic_count--;
}

static void topic_free(struct topic *t) {
  free(t->partitions);
  free(t);
}

int topic_delete(struct node *node, struct topic *t) {
  /* Out of the table first, so the fetches parked on its partitions answer
   * with UNKNOWN_TOPIC errors for them (and data for the rest). */
  topics_remove(node, t);
  for (int32_t i = 0; i < t->partition_count; i++) {
    partition_roles_end(node, &t->partitions[i]);
    purgatory_gone(&node->purgatory, &t->partitions[i].watches);
  }
  int rc = KERR_NONE;
  for (int32_t i = 0; i < t->partition_count; i++)
    if (t->partitions[i].log && plog_delete(t->partitions[i].log) != 0)
      rc = KERR_KAFKA_STORAGE_ERROR;
  t->partition_count = 0;
  char path[PATH_BYTES];
  str_fmt(path, sizeof path, "%s/%s/%s.properties", node->cfg.log_dirs, META_TOPIC_CONFIGS_DIR,
          t->name);
  node->env->unlink(node->env, path);
  env_log(node->env, ENV_LOG_INFO, "deleted topic %s", t->name);
  topic_free(t);
  return rc;
}

/* ---- making local storage match an image ---- */

struct offsets {
  struct checkpoint_entry *entries;
  int count;
};

static int64_t offsets_lookup(const struct offsets *o, const char *topic, int32_t index) {
  if (!o) return 0; /* a new partition starts empty */
  for (int i = 0; i < o->count; i++)
    if (o->entries[i].partition == index && strcmp(o->entries[i].topic, topic) == 0)
      return o->entries[i].offset;
  return 0;
}

/* A flush nobody waits for, whose completion wakes the partition's fetch
 * waiters (in fsync-before-ack mode the high watermark follows the disk).
 * The partition is named, not pointed to: it may be deleted before the
 * fsync completes. */
struct unwaited_flush {
  struct node *node;
  char topic[TOPIC_NAME_BYTES_MAX + 1];
  int32_t index;
};

static void unwaited_flushed(void *ctx, int err) {
  struct unwaited_flush *f = ctx;
  struct node *node = f->node;
  if (err != 0)
    env_log(node->env, ENV_LOG_ERROR, "%s-%d: flush failed: error %d", f->topic, f->index, err);
  struct partition *p = partition_find(node, kstr_of(f->topic), f->index);
  if (err == 0 && p) partition_wake_waiters(node, p);
  free(f);
}

void partition_flush_unwaited(struct node *node, struct partition *p) {
  struct unwaited_flush *f = calloc(1, sizeof *f);
  ASSERT(f != NULL);
  f->node = node;
  str_fmt(f->topic, sizeof f->topic, "%s", p->topic->name);
  f->index = p->index;
  plog_flush(p->log, unwaited_flushed, f);
}

static struct topic *local_topic_add(struct node *node, const struct meta_topic *mt) {
  ASSERT(mt->refs > 0 && !topic_find(node, mt->name, strlen(mt->name)));
  struct topic *t = calloc(1, sizeof *t);
  ASSERT(t != NULL);
  str_fmt(t->name, sizeof t->name, "%s", mt->name);
  t->name_len = strlen(t->name);
  t->id = mt->id;
  topic_config_from_image(node, mt, &t->config);
  topics_insert(node, t);
  return t;
}

/* Adds the image's partitions past the local ones, in order, opening the
 * logs of those this node holds a replica of; a failure stops there (the
 * local partitions stay a prefix of the image's). `recovery` is set at
 * start: the checkpointed offsets. */
static int partitions_open(struct node *node, struct topic *t, const struct meta_topic *mt,
                           const struct offsets *recovery, const struct offsets *starts,
                           struct publish_landing *g, int32_t *budget) {
  ASSERT(t->partition_count <= mt->partition_count);
  if (t->partition_count == mt->partition_count) return 0;
  /* The array always moves (as realloc may, and under ASan always does, so
   * a stale pointer shows in every build): fetch waiters find theirs again
   * by name; the watch lists and followers are told. */
  struct partition *parts = calloc((size_t)mt->partition_count, sizeof *parts);
  ASSERT(parts != NULL);
  if (t->partition_count > 0)
    memcpy(parts, t->partitions, (size_t)t->partition_count * sizeof *parts);
  free(t->partitions);
  t->partitions = parts;
  for (int32_t i = 0; i < t->partition_count; i++) {
    purgatory_list_moved(&parts[i].watches);
    replica_follower_moved(&parts[i]);
  }
  int rc = 0;
  int32_t before = t->partition_count;
  for (int32_t i = before; i < mt->partition_count && rc == 0; i++) {
    if (!meta_partition_has_replica(&mt->partitions[i], node_id(node))) {
      partition_init(t, i);
      partition_follow_image(node, &t->partitions[i], &mt->partitions[i]);
      t->partition_count = i + 1;
      continue;
    }
    if (budget && *budget <= 0) { /* the next slice goes on from here */
      *budget = -1;
      break;
    }
    if (budget) --*budget;
    rc = partition_open(node, t, i, offsets_lookup(recovery, t->name, i),
                        offsets_lookup(starts, t->name, i));
    if (rc == 0 && (rc = ensure_partition_metadata(node, t, i, g)) != 0) {
      if (recovery)
        rc = 0; /* an old log stays usable; the file is rewritten next start */
      else
        plog_close(t->partitions[i].log);
    }
    if (rc != 0) break;
    struct partition *p = &t->partitions[i];
    t->partition_count = i + 1;
    partition_follow_image(node, p, &mt->partitions[i]);
    /* Recovered data may sit only in the page cache: in fsync-before-ack
     * mode it becomes visible once it is on disk. (Also when a later image
     * opens a log that holds data: in KRaft mode the logs open as the
     * metadata log is replayed, not in the first image.) */
    if (partition_flushes_before_ack(p) &&
        plog_recovery_point(p->log) < plog_end_offset(p->log))
      partition_flush_unwaited(node, p);
  }
  if (t->partition_count > before && !recovery && t->partition_count == mt->partition_count)
    env_log(node->env, ENV_LOG_INFO, "topic %s now has %d partitions here", t->name,
            t->partition_count);
  ASSERT(t->partition_count >= before && t->partition_count <= mt->partition_count);
  return rc;
}

/* Local topics the image no longer has (or has under another id) go. */
static int removed_delete(struct node *node) {
  int rc = 0;
  ASSERT(node->image != NULL);
  for (int i = node->topic_count - 1; i >= 0; i--) {
    struct topic *t = node->topics[i];
    const struct meta_topic *mt = meta_image_topic(node->image, t->name, strlen(t->name));
    if (mt && meta_uuid_cmp(mt->id, t->id) == 0) continue;
    if (topic_delete(node, t) != KERR_NONE) rc = ENV_EIO;
  }
  return rc;
}

/* KIP-455: a reassignment moves replicas of a partition that already
 * exists. A replica this node gains opens an empty log (its follower
 * fetches from the log start); one it loses ends its role and deletes its
 * log, as a deleted topic's partition goes (the leader epoch moved on when
 * the controller dropped it, so nobody fetches from it in a current one). */
static int replica_set_follow(struct node *node, struct topic *t, int32_t index,
                              const struct meta_partition *mp, struct publish_landing *g) {
  struct partition *p = &t->partitions[index];
  bool member = meta_partition_has_replica(mp, node_id(node));
  if (member == partition_hosted(p)) return 0;
  if (!member) {
    partition_roles_end(node, p);
    int rc = plog_delete(p->log) != 0 ? ENV_EIO : 0;
    p->log = NULL;
    int64_t all[WATCH_KINDS]; /* the waiters look again: no replica here now */
    for (int k = 0; k < WATCH_KINDS; k++) all[k] = INT64_MAX;
    purgatory_wake(&node->purgatory, &p->watches, all);
    env_log(node->env, ENV_LOG_INFO, "%s-%d: no longer a replica here: log deleted", t->name,
            index);
    return rc;
  }
  ASSERT(p->leader == NULL && p->follower == NULL && p->watches.count == 0);
  int rc = partition_open(node, t, index, 0, 0);
  if (rc == 0) rc = ensure_partition_metadata(node, t, index, g);
  if (rc != 0) {
    if (t->partitions[index].log) plog_close(t->partitions[index].log);
    partition_init(t, index); /* not hosted: retried with the next image */
    return rc;
  }
  env_log(node->env, ENV_LOG_INFO, "%s-%d: a new replica here", t->name, index);
  return 0;
}

/* Walks the image in name order; returns the first storage error. At start
 * (recovery set) that error ends the walk: the node will not start. */
static int reconcile(struct node *node, const struct offsets *recovery,
                     const struct offsets *starts, struct publish_landing *g, int32_t *budget) {
  const struct meta_image *image = node->image;
  ASSERT(image != NULL && (recovery == NULL) == (starts == NULL));
  int rc = removed_delete(node);
  for (int32_t i = 0; i < image->topic_count && !(recovery && rc != 0); i++) {
    const struct meta_topic *mt = image->topics_by_name[i];
    struct topic *t = topic_find(node, mt->name, strlen(mt->name));
    if (!t) t = local_topic_add(node, mt);
    ASSERT(meta_uuid_cmp(t->id, mt->id) == 0);
    int err = partitions_open(node, t, mt, recovery, starts, g, budget);
    if (rc == 0) rc = err;
    for (int32_t p = 0; p < t->partition_count; p++) {
      if (!recovery) {
        err = replica_set_follow(node, t, p, &mt->partitions[p], g);
        if (rc == 0) rc = err;
      }
      partition_follow_image(node, &t->partitions[p], &mt->partitions[p]);
    }
  }
  ASSERT(rc != 0 || node->topic_count == image->topic_count);
  return rc;
}

static void storage_retry(void *ctx);

static void storage_retry_schedule(struct node *node) {
  if (node->storage_retry_timer || node->shutting_down) return;
  node->storage_retry_timer = node->env->timer_start(
      node->env, (uint64_t)STORAGE_RETRY_MS * NS_PER_MS, storage_retry, node);
}

/* ---- slices: opening many logs between other clients' requests ----
 *
 * A publish holds its landing (so the controller does not answer the
 * change yet) and opens at most PARTITIONS_OPENED_PER_SLICE logs; while
 * more are missing, the next slice runs from a zero-delay timer once the
 * files of the previous one are durable, so the loop serves the sockets
 * that are ready in between and the fsyncs never pile up past what the
 * I/O thread keeps up with (past its queue they would run on the loop).
 * Each slice walks the image from the start (opened logs cost nothing),
 * so a publish arriving mid-run joins it: the run ends when local storage
 * matches the latest image, and every held landing is released then with
 * the run's first error. A slice's files are counted against every held
 * landing through a chain landing, so no change is answered before the
 * files of the partitions it added are durable. */

static void slice_next(void *ctx);

static void slices_schedule(struct node *node) {
  if (node->slices.timer || node->shutting_down) return;
  node->slices.timer = node->env->timer_start(node->env, 0, slice_next, node);
}

static void slices_hold(struct node *node, struct publish_landing *g) {
  struct topics_slices *s = &node->slices;
  ASSERT(s->hold_count < SLICE_HOLDS_MAX);
  if (s->hold_count == s->hold_cap) {
    int32_t cap = s->hold_cap ? s->hold_cap * 2 : 8;
    struct publish_landing **arr = realloc(s->holds, (size_t)cap * sizeof *arr);
    ASSERT(arr != NULL);
    s->holds = arr;
    s->hold_cap = cap;
  }
  g->pending++; /* released when the run ends */
  s->holds[s->hold_count++] = g;
}

/* Every held landing, released with err (each may land and free itself). */
static void slices_release(struct node *node, int err) {
  struct topics_slices *s = &node->slices;
  int32_t n = s->hold_count;
  s->hold_count = 0;
  for (int32_t i = 0; i < n; i++) landing_one(s->holds[i], err);
}

/* A shutdown came between two slices: the run ends here and its held
 * publishes land with an error (their changes are not all stored), so
 * nothing that waits for them (the metadata log's apply) holds up the
 * shutdown until topics_close_all. */
static void slices_cut_short(struct node *node) {
  struct topics_slices *s = &node->slices;
  ASSERT(node->shutting_down && s->running && s->inflight == NULL);
  env_log(node->env, ENV_LOG_INFO,
          "shutting down: opening the rest of the partition logs is left for the next start");
  s->running = false;
  s->err = 0;
  slices_release(node, ENV_EIO);
}

/* What one slice writes, counted against each held landing; when it has
 * landed, the next slice may run. node is NULL once the node is gone. */
struct slice_chain {
  struct node *node;
  bool more;
  int32_t count;
  struct publish_landing *held[];
};

static void slices_done(struct node *node, int err);

static void chain_landed(void *arg, int err) {
  struct slice_chain *c = arg;
  struct node *node = c->node;
  for (int32_t i = 0; i < c->count; i++) landing_one(c->held[i], err);
  if (node) {
    ASSERT(node->slices.inflight == c);
    node->slices.inflight = NULL;
    if (c->more && node->shutting_down) {
      slices_cut_short(node);
    } else if (c->more && err != 0) {
      /* A slice's files failed (a full disk): the run ends and is retried
       * after STORAGE_RETRY_MS. Going on at once would open the same logs
       * again and again without the clock moving (swarm seed 804). */
      node->slices.err = 0;
      slices_done(node, err);
    } else if (c->more) {
      slices_schedule(node);
    }
  }
  free(c);
}

static struct publish_landing *chain_new(struct node *node) {
  struct topics_slices *s = &node->slices;
  ASSERT(s->inflight == NULL);
  struct slice_chain *c = malloc(sizeof *c + (size_t)s->hold_count * sizeof c->held[0] + 1);
  struct publish_landing *g = malloc(sizeof *g);
  ASSERT(c != NULL && g != NULL);
  c->node = node;
  c->more = false;
  c->count = s->hold_count;
  for (int32_t i = 0; i < c->count; i++) {
    c->held[i] = s->holds[i];
    c->held[i]->pending++;
  }
  *g = (struct publish_landing){.pending = 1, .landed = chain_landed, .arg = c};
  s->inflight = c;
  return g;
}

/* The run ended: holds released; a storage error is retried later. */
static void slices_done(struct node *node, int err) {
  node->slices.running = false;
  slices_release(node, err);
  if (err == 0) return;
  env_log(node->env, ENV_LOG_ERROR,
          "local storage does not match metadata offset %lld yet: error %d; retrying",
          (long long)node->image->offset, err);
  storage_retry_schedule(node);
}

/* One slice of the run: at most PARTITIONS_OPENED_PER_SLICE logs opened;
 * the next once its files land, or the run ends. */
static void slice_step(struct node *node) {
  struct topics_slices *s = &node->slices;
  ASSERT(s->running && s->timer == 0 && s->inflight == NULL);
  struct publish_landing *g = chain_new(node);
  struct slice_chain *c = s->inflight;
  int32_t budget = PARTITIONS_OPENED_PER_SLICE;
  int rc = reconcile(node, NULL, NULL, g, &budget);
  if (rc != 0 && s->err == 0) s->err = rc;
  /* A storage error ends the run (retried after STORAGE_RETRY_MS): the
   * logs it could not set up would be opened again at once, forever,
   * without the clock moving (swarm seed 804, a full disk). */
  c->more = budget < 0 && !node->shutting_down && rc == 0;
  if (!c->more) { /* the last slice: its landing needs nothing of the node */
    c->node = NULL;
    s->inflight = NULL;
    int err = s->err != 0 ? s->err : budget < 0 ? ENV_EIO : 0; /* cut short by a shutdown */
    s->err = 0;
    slices_done(node, err);
  }
  landing_one(g, 0); /* its guard: errors reach the holds from slices_done */
}

static void slice_next(void *ctx) {
  struct node *node = ctx;
  ASSERT(node->slices.timer != 0 && node->image != NULL);
  node->slices.timer = 0;
  if (node->shutting_down) {
    slices_cut_short(node);
    return;
  }
  slice_step(node);
}

static void storage_retry(void *ctx) {
  struct node *node = ctx;
  ASSERT(node->storage_retry_timer != 0 && node->image != NULL);
  node->storage_retry_timer = 0;
  if (node->shutting_down || node->slices.running) return; /* a run retries at its end */
  node->slices.running = true;
  slice_step(node);
}

/* A later image: held until a run of slices makes storage match it (this
 * one's first slice now, or the one in progress goes on with it). Topics
 * are added and removed at once; only opening logs waits. */
static int publish_sliced(struct node *node, struct publish_landing *g) {
  struct topics_slices *s = &node->slices;
  slices_hold(node, g);
  if (s->running) {
    int32_t none = 0;
    int rc = reconcile(node, NULL, NULL, g, &none);
    if (rc != 0 && s->err == 0) s->err = rc;
    return 0;
  }
  s->running = true;
  slice_step(node);
  return 0;
}

static int name_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The topics a delta creates or changes overrides of, each once, by name. */
static int32_t changed_names(const struct meta_delta *delta, const char **names) {
  int32_t n = 0;
  for (int32_t i = 0; i < delta->count; i++) {
    const struct meta_record *r = &delta->records[i];
    if (r->type == META_TOPIC_RECORD)
      names[n++] = r->topic.name;
    else if (r->type == META_CONFIG_RECORD && r->config.resource_type == META_RESOURCE_TOPIC)
      names[n++] = r->config.resource_name;
  }
  if (n > 1) qsort(names, (size_t)n, sizeof *names, name_cmp);
  int32_t unique = 0;
  for (int32_t i = 0; i < n; i++)
    if (unique == 0 || strcmp(names[unique - 1], names[i]) != 0) names[unique++] = names[i];
  ASSERT(unique <= delta->count);
  return unique;
}

/* New topics and changed overrides: the effective configs, and their file
 * (one write per topic: two writes of one file must not overlap). */
static void configs_follow(struct node *node, const struct meta_delta *delta,
                           struct publish_landing *g) {
  ASSERT(node->image != NULL && delta->count >= 0);
  const char **names = malloc((size_t)(delta->count ? delta->count : 1) * sizeof *names);
  ASSERT(names != NULL);
  int32_t n = changed_names(delta, names);
  for (int32_t i = 0; i < n; i++) {
    const struct meta_topic *mt = meta_image_topic(node->image, names[i], strlen(names[i]));
    struct topic *t = topic_find(node, names[i], strlen(names[i]));
    if (!mt || !t) continue; /* removed again in the same delta */
    topic_config_from_image(node, mt, &t->config);
    if (write_topic_configs(node, t, g) != 0)
      env_log(node->env, ENV_LOG_WARN, "topic %s: could not store its configs", t->name);
  }
  free(names);
}

/* The single-node controller's ProducerIdsRecord lands as the watermark in
 * <log.dirs>/producer-ids (meta/bootstrap.h); the block is handed out only
 * once the file is durable, so no id is used twice across restarts. */
static void producer_ids_follow(struct node *node, const struct meta_delta *delta,
                                struct publish_landing *g) {
  bool changed = false;
  for (int32_t i = 0; i < delta->count; i++)
    changed |= delta->records[i].type == META_PRODUCER_IDS_RECORD;
  if (!changed) return;
  char path[PATH_BYTES], text[96];
  str_fmt(path, sizeof path, "%s/%s", node->cfg.log_dirs, META_PRODUCER_IDS_FILE);
  size_t n = str_fmt(text, sizeof text, "version: 0\nnext_producer_id: %lld\n",
                     (long long)node->image->next_producer_id);
  int rc = landing_write(g, node->env, path, text, n);
  if (rc != 0) {
    env_log(node->env, ENV_LOG_ERROR, "could not write %s: error %d", path, rc);
    g->err = rc; /* the block is not handed out */
  }
}

static void offsets_read(struct node *node, struct offsets *recovery, struct offsets *starts,
                         int *rc) {
  char path[600];
  str_fmt(path, sizeof path, "%s/recovery-point-offset-checkpoint", node->cfg.log_dirs);
  *rc = checkpoint_read(node->env, path, &recovery->entries, &recovery->count);
  str_fmt(path, sizeof path, "%s/log-start-offset-checkpoint", node->cfg.log_dirs);
  if (*rc == 0) *rc = checkpoint_read(node->env, path, &starts->entries, &starts->count);
}

/* The first image is what storage already holds: open (and recover) every
 * log from its checkpointed offsets. Any failure stops the start. */
static int publish_first(struct node *node, struct publish_landing *g) {
  struct offsets recovery = {0}, starts = {0};
  int rc;
  offsets_read(node, &recovery, &starts, &rc);
  if (rc == 0) rc = reconcile(node, &recovery, &starts, g, NULL);
  free(recovery.entries);
  free(starts.entries);
  if (rc == 0)
    env_log(node->env, ENV_LOG_INFO, "loaded %d topics from %s", node->topic_count,
            node->cfg.log_dirs);
  return rc;
}

static void log_changes(struct node *node, const struct meta_delta *delta) {
  for (int32_t i = 0; i < delta->count; i++) {
    const struct meta_record *r = &delta->records[i];
    if (r->type != META_TOPIC_RECORD) continue;
    const struct meta_topic *mt =
        meta_image_topic(node->image, r->topic.name, strlen(r->topic.name));
    if (!mt) continue;
    char id[23];
    uuid_to_string(mt->id, id);
    env_log(node->env, ENV_LOG_INFO, "created topic %s with %d partitions, id %s", mt->name,
            mt->partition_count, id);
  }
}

int topics_publish(void *ctx, struct meta_image *image, const struct meta_delta *delta,
                   meta_landed_fn landed, void *arg) {
  struct node *node = ctx;
  ASSERT(node != NULL && image != NULL && delta != NULL && landed != NULL);
  ASSERT(node->image == NULL || image->offset > node->image->offset);
  bool first = node->image == NULL;
  meta_image_ref(image);
  if (node->image) meta_image_unref(node->image);
  node->image = image;
  struct publish_landing *g = malloc(sizeof *g);
  ASSERT(g != NULL);
  *g = (struct publish_landing){.pending = 1, .landed = landed, .arg = arg};
  int rc;
  if (first) {
    rc = publish_first(node, g);
  } else {
    rc = publish_sliced(node, g);
    configs_follow(node, delta, g);
    producer_ids_follow(node, delta, g);
    log_changes(node, delta);
  }
  landing_one(g, rc); /* the guard count; the last write to land answers */
  ASSERT(rc != 0 || node->topic_count == image->topic_count);
  return rc;
}

void topics_close_all(struct node *node) {
  if (node->storage_retry_timer) node->env->timer_cancel(node->env, node->storage_retry_timer);
  node->storage_retry_timer = 0;
  if (node->slices.timer) node->env->timer_cancel(node->env, node->slices.timer);
  node->slices.timer = 0;
  if (node->slices.inflight) node->slices.inflight->node = NULL; /* it may land later */
  slices_release(node, ENV_EIO); /* a run cut short: those changes are not all stored */
  free(node->slices.holds);
  node->slices = (struct topics_slices){0};
  for (int i = 0; i < node->topic_count; i++) {
    struct topic *t = node->topics[i];
    for (int32_t p = 0; p < t->partition_count; p++) {
      partition_roles_end(node, &t->partitions[p]);
      if (t->partitions[p].log) plog_close(t->partitions[p].log);
    }
    topic_free(t);
  }
  free(node->topics);
  node->topics = NULL;
  node->topic_count = node->topic_cap = 0;
  node->topic_by_id_last.topic = NULL;
  node->topic_by_name_last = NULL;
}
