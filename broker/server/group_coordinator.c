/* The group coordinator in the node (group_coordinator.h). */
#include "server/group_coordinator.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "group/group_records.h"
#include "proto/errors.h"
#include "proto/record_batch.h"
#include "server/server.h"
#include "server/subsystem.h"

enum {
  TICK_BUSY_MS = 100,   /* sessions and join phases are this precise */
  TICK_IDLE_MS = 60000, /* offsets retention only */
  CREATE_WAIT_MS = 30000,
  LOAD_READ_BYTES = 1 << 20,
  /* A load replays this many batches per turn of the event loop, so a
   * large partition does not stall the node's other work. */
  LOAD_SLICE_BATCHES = 64,
};

int64_t groups_now_ms(const struct node *node) {
  return (int64_t)(node->env->now_ns(node->env) / NS_PER_MS);
}

int64_t groups_wall_ms(const struct node *node) { return node->env->wall_ms(node->env); }

struct group_coordinator *groups_state(struct node *node) {
  ASSERT(node->groups != NULL);
  return &node->groups->gc;
}

bool groups_topic_internal(const char *name, int32_t len) {
  return len == (int32_t)strlen(OFFSETS_TOPIC) && memcmp(name, OFFSETS_TOPIC, (size_t)len) == 0;
}

static struct partition *offsets_partition(struct node *node, int32_t index) {
  return partition_any(node, KSTR_LIT(OFFSETS_TOPIC), index);
}

/* ---- time ---- */

static void tick(void *ctx);

static void tick_arm(struct group_glue *gg, bool fast) {
  struct env *env = gg->node->env;
  if (gg->env_timer) env->timer_cancel(env, gg->env_timer);
  gg->tick_fast = fast;
  uint64_t delay_ms = fast ? TICK_BUSY_MS : TICK_IDLE_MS;
  gg->env_timer = env->timer_start(env, delay_ms * NS_PER_MS, tick, gg);
}

/* Fast while a group is not Empty, slow while groups hold only offsets,
 * none without groups (a node without groups, as every simulated one so
 * far, schedules nothing). */
static void tick_rearm(struct group_glue *gg) {
  struct env *env = gg->node->env;
  bool busy = group_coordinator_busy(&gg->gc);
  if (gg->env_timer && (gg->tick_fast || !busy)) return;
  if (gg->env_timer) env->timer_cancel(env, gg->env_timer);
  gg->env_timer = 0;
  if (busy || gg->gc.group_count > 0) tick_arm(gg, busy);
}

static void tick(void *ctx) {
  struct group_glue *gg = ctx;
  gg->env_timer = 0;
  struct node *node = gg->node;
  group_tick(&gg->gc, groups_now_ms(node), groups_wall_ms(node));
  if (!node->shutting_down) tick_rearm(gg);
}

void groups_kick(struct node *node) {
  if (!node->shutting_down) tick_rearm(node->groups);
}

/* ---- appends to __consumer_offsets ---- */

struct append_flush {
  struct node *node;
  int32_t partition;
  groups_appended_fn done;
  void *ctx;
};

static void append_flushed(void *ctx, int err) {
  struct append_flush *f = ctx;
  if (err == 0) {
    struct partition *p = offsets_partition(f->node, f->partition);
    if (p && partition_hosted(p)) partition_wake_waiters(f->node, p);
  }
  f->done(f->ctx, err == 0 ? KERR_NONE : KERR_NOT_COORDINATOR);
  free(f);
}

static void append_ignored(void *ctx, int16_t error) { (void)ctx, (void)error; }

static int16_t append_to(struct node *node, int32_t partition, const struct kbytes *keys,
                         const struct kbytes *values, int32_t count, groups_appended_fn done,
                         void *ctx, bool *later) {
  ASSERT(count > 0);
  *later = false;
  struct partition *p = offsets_partition(node, partition);
  if (!p || !partition_is_leader(node, p) || plog_offline(p->log)) return KERR_NOT_COORDINATOR;
  int64_t wall_ms = groups_wall_ms(node);
  struct rb_builder b;
  rb_builder_init(&b, 0, wall_ms);
  for (int32_t i = 0; i < count; i++) rb_builder_add(&b, wall_ms, keys[i], values[i], NULL, 0);
  struct buf batch;
  buf_init(&batch);
  int rc = rb_builder_finish(&b, RB_CODEC_NONE, &batch);
  rb_builder_free(&b);
  struct plog_append_info info;
  if (rc == KERR_NONE)
    rc = plog_append(p->log, batch.data, batch.len, p->leader_epoch, wall_ms, &info);
  buf_free(&batch);
  if (rc != 0) {
    env_log(node->env, ENV_LOG_ERROR, "append to %s-%d failed: %d", OFFSETS_TOPIC, partition,
            rc);
    return KERR_NOT_COORDINATOR;
  }
  partition_wake_waiters(node, p);
  if (!partition_flushes_before_ack(p)) return KERR_NONE;
  struct append_flush *f = calloc(1, sizeof *f);
  ASSERT(f != NULL);
  *f = (struct append_flush){node, partition, done ? done : append_ignored, ctx};
  *later = done != NULL;
  plog_flush(p->log, append_flushed, f);
  return KERR_NONE;
}

int16_t groups_append(struct node *node, struct kstr group_id, const struct kbytes *keys,
                      const struct kbytes *values, int32_t count, groups_appended_fn done,
                      void *ctx, bool *later) {
  int32_t partition = group_partition_for(group_id, node->groups->partition_count);
  return append_to(node, partition, keys, values, count, done, ctx, later);
}

struct partition *groups_partition(struct node *node, struct kstr group_id) {
  int32_t index = group_partition_for(group_id, node->groups->partition_count);
  struct partition *p = offsets_partition(node, index);
  return p && partition_is_leader(node, p) ? p : NULL;
}

/* A record nobody waits for (group metadata, tombstones). */
static void append_one(struct node *node, int32_t partition, struct wr *key, struct wr *value) {
  ASSERT(key->file_bytes == 0 && (!value || value->file_bytes == 0));
  struct kbytes k = {key->mem.data, (int32_t)key->mem.len};
  struct kbytes v = value ? (struct kbytes){value->mem.data, (int32_t)value->mem.len}
                          : (struct kbytes){NULL, -1};
  bool later;
  int16_t err = append_to(node, partition, &k, &v, 1, NULL, NULL, &later);
  if (err != KERR_NONE)
    env_log(node->env, ENV_LOG_WARN, "group record not stored: error %d", err);
}

/* ---- waiting for the ISR (groups_await_replicated) ---- */

static bool replicated(struct groups_replication_wait *w, int16_t *error) {
  struct partition *p = groups_partition(w->req->node, w->group_id);
  *error = p ? KERR_NONE : KERR_NOT_COORDINATOR;
  return p == NULL || partition_high_watermark(p) >= w->end;
}

static bool replication_wait_ready(struct waiter *waiter) {
  int16_t error;
  return replicated(waiter->ctx, &error);
}

/* Kafka maps a store its ISR did not take in time to
 * COORDINATOR_NOT_AVAILABLE (the member finds the coordinator again and
 * retries), and a lost leadership to NOT_COORDINATOR. */
static void replication_wait_done(struct waiter *waiter, enum waiter_end why) {
  struct groups_replication_wait *w = waiter->ctx;
  w->req->waiter = NULL;
  w->req->pending = NULL;
  int16_t error;
  bool done = replicated(w, &error);
  if (error == KERR_NONE && (!done || why != WAITER_READY))
    error = KERR_COORDINATOR_NOT_AVAILABLE;
  w->done(w->ctx, error);
}

static const struct waiter_ops replication_wait_ops = {
    .ready = replication_wait_ready,
    .done = replication_wait_done,
};

void groups_await_replicated(struct groups_replication_wait *w, struct request *req,
                             struct kstr group_id, int64_t end, groups_replicated_fn done,
                             void *ctx) {
  ASSERT(w != NULL && req != NULL && done != NULL);
  struct node *node = req->node;
  *w = (struct groups_replication_wait){
      .req = req, .group_id = group_id, .end = end, .done = done, .ctx = ctx};
  int16_t error;
  if (replicated(w, &error) || node->shutting_down || req->conn_id == 0 ||
      purgatory_full(&node->purgatory)) {
    done(ctx, error);
    return;
  }
  struct partition *p = groups_partition(node, group_id);
  ASSERT(p != NULL);
  waiter_init(&w->waiter, &node->purgatory, &replication_wait_ops, w, &w->watch, 1);
  req->waiter = &w->waiter; /* from now on a closing connection cancels it */
  req->pending = ctx;
  waiter_park(&w->waiter, (uint64_t)GROUPS_STORE_TIMEOUT_MS * NS_PER_MS);
  waiter_watch(&w->waiter, &p->watches, WATCH_HIGH_WATERMARK, end);
}

/* ---- the state machine's callbacks ---- */

static void io_join_done(void *ctx, void *token, const struct group_join_result *r) {
  (void)ctx;
  struct request *req = token;
  groups_unpark(req);
  join_group_answer(req, r);
}

static void io_sync_done(void *ctx, void *token, int16_t error, const struct group *g,
                         struct kbytes assignment) {
  (void)ctx;
  struct request *req = token;
  groups_unpark(req);
  sync_group_answer(req, error, g, assignment);
}

static void io_group_changed(void *ctx, const struct group *g) {
  struct group_glue *gg = ctx;
  struct wr k, v;
  wr_init(&k);
  wr_init(&v);
  group_record_metadata_key(&k, kstr_of(g->id));
  group_record_metadata_value(&v, g);
  append_one(gg->node, g->partition, &k, &v);
  wr_free(&k);
  wr_free(&v);
}

static void io_offset_expired(void *ctx, const struct group *g, const struct group_offset *o) {
  struct group_glue *gg = ctx;
  struct wr k;
  wr_init(&k);
  group_record_offset_key(&k, kstr_of(g->id), kstr_of(o->topic), o->partition);
  append_one(gg->node, g->partition, &k, NULL);
  wr_free(&k);
}

/* DeleteGroups and retention: tombstones for what remains, then the group. */
static void io_group_removed(void *ctx, const struct group *g) {
  struct group_glue *gg = ctx;
  for (int32_t i = 0; i < g->offset_count; i++) io_offset_expired(ctx, g, &g->offsets[i]);
  struct wr k;
  wr_init(&k);
  group_record_metadata_key(&k, kstr_of(g->id));
  append_one(gg->node, g->partition, &k, NULL);
  wr_free(&k);
}

static const struct group_io glue_io = {
    .join_done = io_join_done,
    .sync_done = io_sync_done,
    .group_changed = io_group_changed,
    .offset_expired = io_offset_expired,
    .group_removed = io_group_removed,
};

/* ---- parked requests ---- */

struct parked {
  struct kstr group_id; /* in the request's frame */
};

static void parked_cancel(struct request *req) {
  struct parked *pk = req->pending;
  ASSERT(pk != NULL && req->node->groups != NULL);
  group_cancel(&req->node->groups->gc, pk->group_id, req);
  req->pending = NULL;
  req->cancel = NULL;
}

void groups_park(struct request *req, struct kstr group_id) {
  ASSERT(req->pending == NULL && req->cancel == NULL);
  struct parked *pk = arena_alloc(&req->arena, sizeof *pk);
  pk->group_id = group_id;
  req->pending = pk;
  req->cancel = parked_cancel;
}

void groups_unpark(struct request *req) {
  req->pending = NULL;
  req->cancel = NULL;
}

/* ---- loading a partition ---- */

static void load_record(struct group_coordinator *gc, const struct rb_record *rec,
                        int64_t now_ms) {
  struct group_record_key key;
  if (!group_record_key_decode(rec->key, &key) || key.group.len <= 0) return;
  if (key.kind == GROUP_RECORD_METADATA) {
    if (rec->value.len < 0)
      group_load_tombstone(gc, key.group);
    else
      group_record_metadata_load(gc, key.group, rec->value, now_ms);
    return;
  }
  if (rec->value.len < 0) {
    struct group *g = group_find(gc, key.group);
    if (g) group_offset_remove(gc, g, key.topic, key.partition);
    return;
  }
  struct group_record_offset v;
  if (group_record_offset_decode(rec->value, &v))
    (void)group_offset_put(gc, key.group, key.topic, key.partition, v.offset, v.leader_epoch,
                           v.metadata, v.commit_wall_ms);
}

/* The batches of data[0..len), at most *budget of them (spent here):
 * returns the offset after the last one replayed. */
static int64_t load_batches(struct group_coordinator *gc, const uint8_t *data, size_t len,
                            int64_t offset, struct buf *scratch, int64_t now_ms,
                            int32_t *budget) {
  for (size_t at = 0; at<len && * budget> 0; (*budget)--) {
    struct rb_header h;
    size_t size = rb_frame(data + at, len - at, &h);
    if (size == 0) break;
    struct rb_iter it;
    if (rb_iter_init(&it, data + at, size, scratch, 64u << 20) == KERR_NONE) {
      struct rb_record rec;
      for (int32_t k = 0; k <= h.record_count && rb_iter_next(&it, &rec) == 1; k++)
        load_record(gc, &rec, now_ms);
    }
    offset = rb_header_last_offset(&h) + 1;
    at += size;
  }
  return offset;
}

/* One slice of a partition's load: up to LOAD_SLICE_BATCHES batches from
 * its next offset (synchronous reads of the page cache or disk). It reads
 * to the log end, not the high watermark, as Kafka's loader does: a new
 * leader's high watermark can lag the old one's until its followers fetch,
 * and a commit answered by the old leader (covered by its high watermark)
 * must be in the cache before the first answer. Returns 0 (more to read, or
 * done: *done) or an error. */
static int load_slice(struct node *node, struct partition *p, struct offsets_load *ld,
                      bool *done) {
  struct group_coordinator *gc = &node->groups->gc;
  int64_t end = plog_end_offset(p->log);
#ifdef SLUICE_MUTANT_COORDINATOR_UNLOADED /* mutant: answers before reading anything */
  end = ld->offset;
#endif
  struct buf data, scratch;
  buf_init(&data);
  buf_init(&scratch);
  int rc = 0;
  int32_t budget = LOAD_SLICE_BATCHES;
  int64_t now_ms = groups_now_ms(node);
  while (ld->offset < end && budget > 0) {
    struct plog_read_result rr;
    rc = plog_read(p->log, ld->offset, LOAD_READ_BYTES, true, end, &rr);
    if (rc != 0 || rr.len == 0) break;
    buf_reset(&data);
    uint8_t *dst = buf_extend(&data, rr.len);
    int64_t got = node->env->pread(node->env, rr.file, dst, rr.len, rr.file_offset);
    seg_cache_turn_end(&node->logs.segments); /* copied: the segment may close */
    if (got != (int64_t)rr.len) {
      rc = got < 0 ? (int)got : ENV_EIO;
      break;
    }
    int64_t next = load_batches(gc, data.data, data.len, ld->offset, &scratch, now_ms, &budget);
    if (next <= ld->offset) break;
    ld->offset = next;
  }
  buf_free(&data);
  buf_free(&scratch);
  *done = rc == 0 && (ld->offset >= end || budget > 0);
  return rc;
}

static void load_timer_arm(struct group_glue *gg);

/* A load ends: loaded (its groups are served from now on), or abandoned
 * (the leadership moved on; its groups are forgotten). */
static void load_end(struct node *node, struct partition *p, bool loaded, int rc) {
  struct group_glue *gg = node->groups;
  struct offsets_load *ld = &gg->loads[p->index];
  ASSERT(ld->active);
  ld->active = false;
  if (loaded) {
    gg->loaded_epoch[p->index] = ld->epoch;
    groups_kick(node); /* loaded groups' members have sessions, offsets a retention */
  } else {
    group_unload_partition(&gg->gc, p->index);
  }
  env_log(node->env, rc ? ENV_LOG_ERROR : ENV_LOG_INFO, "%s %s-%d up to offset %lld: %d",
          loaded ? "loaded" : "gave up loading", OFFSETS_TOPIC, p->index, (long long)ld->offset,
          rc);
}

/* The load timer: a slice of each partition being loaded, in partition
 * order, then the event loop's other work runs before the next turn. */
static void load_turn(void *ctx) {
  struct group_glue *gg = ctx;
  struct node *node = gg->node;
  gg->load_timer = 0;
  if (node->shutting_down) return;
  struct topic *t = topic_find(node, OFFSETS_TOPIC, strlen(OFFSETS_TOPIC));
  for (int32_t i = 0; i < gg->partition_count; i++) {
    struct offsets_load *ld = &gg->loads[i];
    if (!ld->active) continue;
    struct partition *p = t && i < t->partition_count ? &t->partitions[i] : NULL;
    if (!p || !partition_is_leader(node, p) || p->leader_epoch != ld->epoch ||
        plog_offline(p->log)) {
      if (p)
        load_end(node, p, false, 0);
      else
        ld->active = false;
      continue;
    }
    bool done = false;
    int rc = load_slice(node, p, ld, &done);
    if (rc != 0 || done) load_end(node, p, rc == 0, rc);
  }
  load_timer_arm(gg);
}

static void load_timer_arm(struct group_glue *gg) {
  if (gg->load_timer || gg->node->shutting_down) return;
  bool any = false;
  for (int32_t i = 0; i < gg->partition_count && !any; i++) any = gg->loads[i].active;
  if (any) gg->load_timer = gg->node->env->timer_start(gg->node->env, 0, load_turn, gg);
}

/* The partition's load at its leader epoch begins (the groups it held
 * before are forgotten first: the log says what they are). */
static void load_start(struct node *node, struct partition *p) {
  struct group_glue *gg = node->groups;
  struct offsets_load *ld = &gg->loads[p->index];
  group_unload_partition(&gg->gc, p->index);
  gg->loaded_epoch[p->index] = -1;
  *ld = (struct offsets_load){
      .active = true, .epoch = p->leader_epoch, .offset = plog_start_offset(p->log)};
  load_timer_arm(gg);
}

void groups_leader_ended(struct node *node, struct partition *p) {
  struct group_glue *gg = node->groups;
  if (!gg || p->index >= gg->partition_count) return;
  gg->loads[p->index].active = false;
  gg->loaded_epoch[p->index] = -1;
  group_unload_partition(&gg->gc, p->index);
}

/* ---- finding the coordinator ---- */

static void created(void *ctx, const struct meta_topic_result *results, int32_t count) {
  struct group_glue *gg = ctx;
  gg->creating = false;
  if (count == 1 && results[0].error_code != KERR_NONE &&
      results[0].error_code != KERR_TOPIC_ALREADY_EXISTS)
    env_log(gg->node->env, ENV_LOG_WARN, "%s not created: error %d (%s)", OFFSETS_TOPIC,
            results[0].error_code, results[0].error_message);
}

static int16_t brokers_usable(const struct meta_image *image) {
  int16_t n = 0;
  for (int32_t i = 0; i < image->broker_count; i++) n += !image->brokers[i].fenced;
  return n > 0 ? n : 1;
}

/* Kafka's topic is compacted (cleanup.policy=compact, so no retention by
 * time or size): the log cleaner keeps each group's and each committed
 * offset's latest record, and drops the tombstones that expiry, deletion
 * and empty groups write once delete.retention.ms has passed. */
static const struct meta_config_entry offsets_topic_configs[] = {
    {{"cleanup.policy", 14}, {"compact", 7}},
    {{"compression.type", 16}, {"producer", 8}},
    {{"segment.bytes", 13}, {"104857600", 9}}, /* offsets.topic.segment.bytes */
};

/* Kafka creates the topic when a coordinator is first looked for. The
 * request lives in gg: the controller may read it after this returns. */
static void create_topic(struct node *node) {
  struct group_glue *gg = node->groups;
  if (gg->creating || node->shutting_down) return;
  gg->creating = true;
  int16_t rf = node->cfg.offsets_topic_replication_factor;
  int16_t usable = brokers_usable(node->image);
  gg->create =
      (struct meta_create_topic){.name = {OFFSETS_TOPIC, (int32_t)sizeof OFFSETS_TOPIC - 1},
                                 .partition_count = gg->partition_count,
                                 .replication_factor = rf < usable ? rf : usable,
                                 .configs = offsets_topic_configs,
                                 .config_count = (int32_t)ARRAY_LEN(offsets_topic_configs)};
  uint64_t deadline_ns = node->env->now_ns(node->env) + (uint64_t)CREATE_WAIT_MS * NS_PER_MS;
  node->controller->ops->create_topics(node->controller, &gg->create, 1, false, deadline_ns,
                                       created, gg);
}

/* The partition is loaded at its current leader epoch, or its load is under
 * way (started here): COORDINATOR_LOAD_IN_PROGRESS meanwhile, and the
 * clients retry (Kafka answers so while its loader runs). */
static int16_t ensure_loaded(struct node *node, struct partition *p) {
  struct group_glue *gg = node->groups;
  if (gg->loaded_epoch[p->index] == p->leader_epoch) return KERR_NONE;
  /* Until the leader role begins no log end is settled to load up to. */
  if (p->leader == NULL) return KERR_COORDINATOR_LOAD_IN_PROGRESS;
  const struct offsets_load *ld = &gg->loads[p->index];
  if (!ld->active || ld->epoch != p->leader_epoch) load_start(node, p);
  return KERR_COORDINATOR_LOAD_IN_PROGRESS;
}

int16_t groups_load_all(struct node *node) {
  struct topic *t = topic_find(node, OFFSETS_TOPIC, strlen(OFFSETS_TOPIC));
  int32_t n = t ? t->partition_count : 0;
  if (n > node->groups->partition_count) n = node->groups->partition_count;
  int16_t err = KERR_NONE;
  for (int32_t i = 0; i < n; i++)
    if (partition_is_leader(node, &t->partitions[i]) &&
        ensure_loaded(node, &t->partitions[i]) != KERR_NONE)
      err = KERR_COORDINATOR_LOAD_IN_PROGRESS;
  return err;
}

void groups_leader_began(struct node *node, struct partition *p) {
  if (!node->groups || p->index >= node->groups->partition_count) return;
  (void)ensure_loaded(node, p);
}

int16_t groups_coordinate(struct node *node, struct kstr group_id) {
  struct group_glue *gg = node->groups;
  if (group_id.len <= 0 || group_id.len > GROUP_ID_BYTES_MAX) return KERR_INVALID_GROUP_ID;
  struct topic *t = topic_find(node, OFFSETS_TOPIC, strlen(OFFSETS_TOPIC));
  if (!t) {
    create_topic(node);
    return KERR_COORDINATOR_NOT_AVAILABLE;
  }
  int32_t index = group_partition_for(group_id, gg->partition_count);
  if (index >= t->partition_count) return KERR_COORDINATOR_NOT_AVAILABLE;
  struct partition *p = &t->partitions[index];
  if (!partition_is_leader(node, p)) return KERR_NOT_COORDINATOR;
  return ensure_loaded(node, p);
}

int16_t groups_find(struct node *node, struct kstr group_id, int32_t *node_id_out,
                    struct kstr *host, int32_t *port) {
  int16_t err = groups_coordinate(node, group_id);
  /* The leader is the coordinator while it loads (the load starts here);
   * the group's own requests hear COORDINATOR_LOAD_IN_PROGRESS. */
  if (err == KERR_COORDINATOR_LOAD_IN_PROGRESS) err = KERR_NONE;
  if (err == KERR_NONE) {
    *node_id_out = node_id(node);
    node_endpoint(node, host, port);
    return KERR_NONE;
  }
  if (err != KERR_NOT_COORDINATOR) return err;
  /* Another broker leads the partition: any broker names it, from its
   * metadata, as Kafka's do (clients ask whichever broker they know). */
  struct topic *t = topic_find(node, OFFSETS_TOPIC, strlen(OFFSETS_TOPIC));
  int32_t index = group_partition_for(group_id, node->groups->partition_count);
  int32_t leader = t && index < t->partition_count ? t->partitions[index].leader_id : -1;
  for (int32_t i = 0; leader >= 0 && i < node->image->broker_count; i++) {
    const struct meta_broker *b = &node->image->brokers[i];
    if (b->id != leader || b->fenced) continue;
    *node_id_out = b->id;
    *host = kstr_of(b->host);
    *port = b->port;
    return KERR_NONE;
  }
  return KERR_COORDINATOR_NOT_AVAILABLE; /* no leader now: ask again */
}

/* ---- the subsystem ---- */

static int groups_init(struct node *node) {
  struct group_glue *gg = calloc(1, sizeof *gg);
  ASSERT(gg != NULL);
  gg->node = node;
  gg->partition_count = node->cfg.offsets_topic_num_partitions;
  gg->loaded_epoch = malloc((size_t)gg->partition_count * sizeof *gg->loaded_epoch);
  ASSERT(gg->loaded_epoch != NULL);
  for (int32_t i = 0; i < gg->partition_count; i++) gg->loaded_epoch[i] = -1;
  gg->loads = calloc((size_t)gg->partition_count, sizeof *gg->loads);
  ASSERT(gg->loads != NULL);
  const struct config *cfg = &node->cfg;
  struct group_config gcfg = {
      .session_timeout_min_ms = cfg->group_min_session_timeout_ms,
      .session_timeout_max_ms = cfg->group_max_session_timeout_ms,
      .initial_rebalance_delay_ms = cfg->group_initial_rebalance_delay_ms,
      .size_max = cfg->group_max_size,
      .offsets_retention_ms = (int64_t)cfg->offsets_retention_minutes * 60000,
      .partition_count = gg->partition_count,
  };
  if (gcfg.session_timeout_min_ms > gcfg.session_timeout_max_ms) {
    env_log(node->env, ENV_LOG_ERROR,
            "group.min.session.timeout.ms is above group.max.session.timeout.ms");
    free(gg->loaded_epoch);
    free(gg->loads);
    free(gg);
    return ENV_EINVAL;
  }
  group_coordinator_init(&gg->gc, &gcfg, &glue_io, gg);
  node->groups = gg;
  return 0;
}

static void groups_shutdown(struct node *node) {
  struct group_glue *gg = node->groups;
  if (gg->env_timer) node->env->timer_cancel(node->env, gg->env_timer);
  if (gg->load_timer) node->env->timer_cancel(node->env, gg->load_timer);
  gg->env_timer = gg->load_timer = 0;
  node_subsystem_stopped(node);
}

static void groups_free(struct node *node) {
  struct group_glue *gg = node->groups;
  if (!gg) return;
  if (gg->env_timer) node->env->timer_cancel(node->env, gg->env_timer);
  if (gg->load_timer) node->env->timer_cancel(node->env, gg->load_timer);
  group_coordinator_free(&gg->gc);
  free(gg->loaded_epoch);
  free(gg->loads);
  free(gg);
  node->groups = NULL;
}

const struct subsystem subsystem_groups = {
    .name = "group coordinator",
    .init = groups_init,
    .shutdown = groups_shutdown,
    .free = groups_free,
};
