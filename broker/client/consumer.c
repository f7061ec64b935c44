#include "client/consumer.h"

#include <string.h>

#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "proto/record_batch.h"

enum {
  FETCH_VERSION_MIN = 4,
  FETCH_VERSION_BY_NAME = 12, /* the last that names topics */
  FETCH_VERSION_MAX = 13,
  FETCH_VERSION_UNNEGOTIATED = 11,
  METADATA_VERSION_MIN = 4, /* allow_auto_topic_creation */
  METADATA_VERSION_MAX = 12,
  LIST_OFFSETS_VERSION_MIN = 1,
  LIST_OFFSETS_VERSION_MAX = 7,
  DECOMPRESSED_BYTES_MAX = 64 * 1024 * 1024,
};

enum { TIMESTAMP_LATEST = -1, TIMESTAMP_EARLIEST = -2 };

/* Where each assigned partition goes in one round of requests (fetch_next):
 * its leader and leader epoch by the cluster's metadata (routed), read once
 * per round rather than once per partition per session and pass. Nothing
 * in a round changes the metadata (only a Metadata answer does), so the
 * requests are the same as if each had looked it up itself. */
struct round {
  int32_t leaders[CONSUMER_PARTITIONS_MAX];
  int32_t epochs[CONSUMER_PARTITIONS_MAX];
};

static void fetch_next(struct kconsumer *c);

void kconsumer_init(struct kconsumer *c, struct env *env, struct kconn *conn,
                    const struct kconsumer_config *cfg, const struct kconsumer_listener *l) {
  memset(c, 0, sizeof *c);
  c->env = env;
  c->conn = conn;
  c->cfg = *cfg;
  c->listener = *l;
  c->sessions[0] = (struct kconsumer_session){.c = c, .broker_id = -1, .conn = conn};
  c->session_count = 1;
}

/* The cluster's metadata changed: the topic ids, and fetching from the
 * leaders it names now. */
static void cluster_updated(void *ctx) {
  struct kconsumer *c = ctx;
  int known = 0;
  for (int t = 0; t < c->topic_count; t++) {
    const struct kcluster_topic *kt = kcluster_topic(c->cluster, c->topics[t]);
    if (!kt || !kt->known) continue;
    c->topic_ids[t] = kt->id;
    known++;
  }
  c->metadata_known = known == c->topic_count;
  fetch_next(c);
}

void kconsumer_route(struct kconsumer *c, struct kcluster *k) {
  ASSERT(k != NULL && c->partition_count == 0 && c->cluster == NULL);
  c->cluster = k;
  c->session_count = 0;
  kcluster_listen(k, &(struct kcluster_listener){.ctx = c, .updated = cluster_updated});
}

/* The session for broker id (routed), made on first use; NULL past the
 * bound. */
static struct kconsumer_session *session_for(struct kconsumer *c, int32_t id) {
  for (int i = 0; i < c->session_count; i++)
    if (c->sessions[i].broker_id == id) return &c->sessions[i];
  if (c->session_count == CONSUMER_SESSIONS_MAX) return NULL;
  struct kconsumer_session *s = &c->sessions[c->session_count++];
  *s = (struct kconsumer_session){.c = c, .broker_id = id};
  return s;
}

/* Whether partition index i is fetched through session s in round r
 * (NULL: unrouted, the one session has them all). */
static bool session_has(const struct kconsumer *c, const struct round *r,
                        const struct kconsumer_session *s, int i) {
  ASSERT(i >= 0 && i < c->partition_count);
  if (!c->cluster) return true;
  ASSERT(r != NULL);
  return r->leaders[i] == s->broker_id;
}

/* Routed: each partition's leader and epoch now, each topic looked up once. */
static void round_read(const struct kconsumer *c, struct round *r) {
  ASSERT(c->cluster != NULL);
  const struct kcluster_topic *kts[CONSUMER_TOPICS_MAX];
  for (int t = 0; t < c->topic_count; t++) kts[t] = kcluster_topic(c->cluster, c->topics[t]);
  for (int i = 0; i < c->partition_count; i++) {
    const struct kcluster_topic *kt = kts[c->topic_of[i]];
    r->leaders[i] = kcluster_topic_leader(kt, c->partitions[i]);
    r->epochs[i] = kcluster_topic_leader_epoch(kt, c->partitions[i]);
  }
}

static int topic_index(struct kconsumer *c, const char *topic, size_t len, bool add) {
  for (int t = 0; t < c->topic_count; t++)
    if (strlen(c->topics[t]) == len && memcmp(c->topics[t], topic, len) == 0) return t;
  if (!add) return -1;
  ASSERT(c->topic_count < CONSUMER_TOPICS_MAX && len < sizeof c->topics[0]);
  memcpy(c->topics[c->topic_count], topic, len);
  c->topics[c->topic_count][len] = 0;
  return c->topic_count++;
}

static int partition_index(const struct kconsumer *c, int topic, int32_t partition) {
  for (int i = 0; i < c->partition_count; i++)
    if (c->topic_of[i] == topic && c->partitions[i] == partition) return i;
  return -1;
}

void kconsumer_assign(struct kconsumer *c, const char *topic, int32_t partition,
                      int64_t offset) {
  int t = topic_index(c, topic, strlen(topic), true);
  if (c->cluster) kcluster_add_topic(c->cluster, topic);
  int i = partition_index(c, t, partition);
  if (i < 0) {
    ASSERT(c->partition_count < CONSUMER_PARTITIONS_MAX);
    i = c->partition_count++;
    c->topic_of[i] = (int8_t)t;
    c->partitions[i] = partition;
    c->log_starts[i] = -1;
    c->high_watermarks[i] = -1; /* no Fetch response yet */
  }
  c->resetting[i] = offset == KCONSUMER_OFFSET_RESET;
  c->offsets[i] = c->resetting[i] ? -1 : offset;
}

/* The index of an assigned partition; -1. */
static int assigned(const struct kconsumer *c, const char *topic, int32_t partition) {
  for (int i = 0; i < c->partition_count; i++)
    if (c->partitions[i] == partition && !strcmp(c->topics[c->topic_of[i]], topic)) return i;
  return -1;
}

int64_t kconsumer_position(const struct kconsumer *c, const char *topic, int32_t partition) {
  int i = assigned(c, topic, partition);
  return i < 0 || c->resetting[i] ? -1 : c->offsets[i];
}

int64_t kconsumer_log_start(const struct kconsumer *c, const char *topic, int32_t partition) {
  int i = assigned(c, topic, partition);
  return i < 0 ? -1 : c->log_starts[i];
}

void kconsumer_start(struct kconsumer *c) {
  c->stopped = false;
  fetch_next(c);
}

void kconsumer_stop(struct kconsumer *c) {
  c->stopped = true;
  for (int i = 0; i < c->session_count; i++) {
    struct kconsumer_session *s = &c->sessions[i];
    if (s->busy) kconn_forget(s->conn, s); /* whichever request it was */
    s->busy = false;
    if (s->retry_timer) c->env->timer_cancel(c->env, s->retry_timer);
    s->retry_timer = 0;
  }
}

void kconsumer_unassign_all(struct kconsumer *c) {
  kconsumer_stop(c);
  c->partition_count = 0;
}

static void retry_fire(void *ctx) {
  struct kconsumer_session *s = ctx;
  s->retry_timer = 0;
  fetch_next(s->c);
}

static void retry_later(struct kconsumer_session *s) {
  struct kconsumer *c = s->c;
  if (c->stopped || s->retry_timer) return;
  s->retry_timer =
      c->env->timer_start(c->env, (uint64_t)c->cfg.retry_backoff_ms * NS_PER_MS, retry_fire, s);
}

/* The leader this session asked may be stale: the cluster's metadata is
 * refreshed (routed), or Metadata is asked again (unrouted). */
static void metadata_stale(struct kconsumer *c) {
  if (!c->cluster) {
    c->metadata_known = false;
    return;
  }
  c->leader_moves++;
  kcluster_refresh(c->cluster);
}

/* Hands over every record at or past the partition's offset, batch by batch
 * (a batch may start before the offset asked for). */
static void deliver(struct kconsumer *c, int index, struct krecords records) {
  struct buf scratch;
  buf_init(&scratch);
  const uint8_t *p = records.ptr;
  size_t left = records.len > 0 ? (size_t)records.len : 0;
  for (size_t n = 0; left > 0 && n < left; n++) {
    size_t size = rb_check_one(p, left);
    if (size == 0) break; /* a partial batch at the end, or corruption: refetch */
    struct rb_iter it;
    struct rb_record rec;
    if (rb_iter_init(&it, p, size, &scratch, DECOMPRESSED_BYTES_MAX) == KERR_NONE) {
      for (int32_t r = 0; r <= it.h.record_count && rb_iter_next(&it, &rec) == 1; r++) {
        if (rec.offset < c->offsets[index]) continue;
        c->offsets[index] = rec.offset + 1;
        c->listener.polled(c->listener.ctx, c->topics[c->topic_of[index]], c->partitions[index],
                           rec.offset, rec.key, rec.value);
      }
      /* Offsets past the last record (compaction gaps) are skipped too. */
      int64_t next = it.h.base_offset + it.h.last_offset_delta + 1;
      if (next > c->offsets[index]) c->offsets[index] = next;
    }
    p += size;
    left -= size;
  }
  buf_free(&scratch);
}

/* The topic a Fetch response names: by id from v13 on. */
static int response_topic(struct kconsumer *c, int16_t version,
                          const struct fetch_response_fetchable_topic_response *tr) {
  if (version >= 13) {
    for (int t = 0; t < c->topic_count && c->metadata_known; t++)
      if (memcmp(c->topic_ids[t].b, tr->topic_id.b, sizeof tr->topic_id.b) == 0) return t;
    return -1;
  }
  return tr->topic.len > 0 ? topic_index(c, tr->topic.ptr, (size_t)tr->topic.len, false) : -1;
}

/* Errors after which a client asks Metadata again: the topic (or its id)
 * is gone or was recreated, or the leader moved. */
static bool stale_metadata(int error) {
  return error == KERR_UNKNOWN_TOPIC_ID || error == KERR_UNKNOWN_TOPIC_OR_PARTITION ||
         error == KERR_NOT_LEADER_OR_FOLLOWER || error == KERR_LEADER_NOT_AVAILABLE ||
         error == KERR_FENCED_LEADER_EPOCH || error == KERR_UNKNOWN_LEADER_EPOCH;
}

static void on_fetch_response(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct kconsumer_session *s = ctx;
  struct kconsumer *c = s->c;
  int16_t version = s->version;
  s->busy = false;
  struct fetch_response resp;
  if (err == 0 && !fetch_response_decode(body, version, &resp, arena)) err = ENV_EINVAL;
  if (err != 0 || resp.error_code != KERR_NONE) {
    if (err < 0 && c->cluster) metadata_stale(c); /* a lost connection: a moved leader? */
    retry_later(s);
    return;
  }
  bool failed = false;
  for (int32_t t = 0; t < resp.responses_count; t++) {
    int topic = response_topic(c, version, &resp.responses[t]);
    for (int32_t j = 0; topic >= 0 && j < resp.responses[t].partitions_count; j++) {
      struct fetch_response_partition_data *pd = &resp.responses[t].partitions[j];
      int index = partition_index(c, topic, pd->partition_index);
      if (index < 0 || c->resetting[index]) continue;
      c->log_starts[index] = pd->log_start_offset;
      if (pd->error_code != KERR_NONE) {
        failed = true;
        if (c->listener.error)
          c->listener.error(c->listener.ctx, c->topics[topic], pd->partition_index,
                            pd->error_code);
        if (stale_metadata(pd->error_code)) metadata_stale(c);
        /* auto.offset.reset: ListOffsets says where to go on. */
        if (pd->error_code == KERR_OFFSET_OUT_OF_RANGE &&
            c->cfg.auto_offset_reset != KCONSUMER_RESET_NONE)
          c->resetting[index] = true;
        continue;
      }
      c->high_watermarks[index] = pd->high_watermark;
#ifdef SLUICE_MUTANT_FETCH_SPLIT_SKIP /* mutant: an empty answer means caught up */
      if (pd->records.len <= 0 && pd->high_watermark > c->offsets[index])
        c->offsets[index] = pd->high_watermark;
#endif
      deliver(c, index, pd->records);
    }
  }
  if (failed)
    retry_later(s);
  else
    fetch_next(c);
}

/* ---- Metadata: the topics' ids (unrouted; routed, kcluster asks) ---- */

static void on_metadata(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct kconsumer_session *s = ctx;
  struct kconsumer *c = s->c;
  s->busy = false;
  struct metadata_response resp;
  if (err == 0 && !metadata_response_decode(body, s->version, &resp, arena)) err = ENV_EINVAL;
  int found = 0;
  for (int32_t i = 0; err == 0 && i < resp.topics_count; i++) {
    const struct metadata_response_metadata_response_topic *mt = &resp.topics[i];
    int t = mt->name.len > 0 ? topic_index(c, mt->name.ptr, (size_t)mt->name.len, false) : -1;
    if (t < 0 || mt->error_code != KERR_NONE) continue;
    c->topic_ids[t] = mt->topic_id;
    found++;
  }
  c->metadata_known = err == 0 && found == c->topic_count;
  if (c->metadata_known)
    fetch_next(c);
  else
    retry_later(s); /* a topic that does not exist (yet): ask again */
}

static void encode_metadata(struct wr *w, int16_t version, const void *msg) {
  metadata_request_encode(w, version, msg);
}

static void ask_metadata(struct kconsumer_session *s, int16_t version) {
  struct kconsumer *c = s->c;
  struct metadata_request_metadata_request_topic topics[CONSUMER_TOPICS_MAX];
  for (int t = 0; t < c->topic_count; t++) {
    metadata_request_metadata_request_topic_init(&topics[t]);
    topics[t].name = kstr_of(c->topics[t]);
  }
  struct metadata_request req;
  metadata_request_init(&req);
  req.topics = topics;
  req.topics_count = c->topic_count;
  req.allow_auto_topic_creation = false; /* a consumer's default */
  s->version = version;
  s->busy = true;
  c->metadata_requests++;
  if (kconn_send(s->conn, API_METADATA, version, encode_metadata, &req, on_metadata, s) != 0) {
    s->busy = false;
    retry_later(s);
  }
}

/* ---- ListOffsets: auto.offset.reset ---- */

static void on_list_offsets(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct kconsumer_session *s = ctx;
  struct kconsumer *c = s->c;
  s->busy = false;
  struct list_offsets_response resp;
  if (err == 0 && !list_offsets_response_decode(body, s->version, &resp, arena))
    err = ENV_EINVAL;
  bool failed = err != 0;
  if (err < 0 && c->cluster) metadata_stale(c);
  for (int32_t t = 0; err == 0 && t < resp.topics_count; t++) {
    struct kstr name = resp.topics[t].name;
    int topic = name.len > 0 ? topic_index(c, name.ptr, (size_t)name.len, false) : -1;
    for (int32_t j = 0; topic >= 0 && j < resp.topics[t].partitions_count; j++) {
      const struct list_offsets_response_list_offsets_partition_response *pr =
          &resp.topics[t].partitions[j];
      int index = partition_index(c, topic, pr->partition_index);
      if (index < 0 || !c->resetting[index]) continue; /* sought meanwhile */
      if (pr->error_code != KERR_NONE || pr->offset < 0) {
        failed = true;
        if (stale_metadata(pr->error_code)) metadata_stale(c);
        continue;
      }
      c->resetting[index] = false;
      c->offsets[index] = pr->offset;
      if (c->listener.reset)
        c->listener.reset(c->listener.ctx, c->topics[topic], pr->partition_index, pr->offset);
    }
  }
  if (failed)
    retry_later(s);
  else
    fetch_next(c);
}

static void encode_list_offsets(struct wr *w, int16_t version, const void *msg) {
  list_offsets_request_encode(w, version, msg);
}

static void ask_offsets(struct kconsumer_session *s, const struct round *r, int16_t version) {
  struct kconsumer *c = s->c;
  struct list_offsets_request_list_offsets_partition parts[CONSUMER_PARTITIONS_MAX];
  struct list_offsets_request_list_offsets_topic topics[CONSUMER_TOPICS_MAX];
  int topic_count = 0, n = 0;
  int64_t timestamp = c->cfg.auto_offset_reset == KCONSUMER_RESET_LATEST ? TIMESTAMP_LATEST
                                                                         : TIMESTAMP_EARLIEST;
  for (int t = 0; t < c->topic_count; t++) {
    struct list_offsets_request_list_offsets_topic *lt = &topics[topic_count];
    list_offsets_request_list_offsets_topic_init(lt);
    lt->name = kstr_of(c->topics[t]);
    lt->partitions = &parts[n];
    for (int i = 0; i < c->partition_count; i++) {
      if (c->topic_of[i] != t || !c->resetting[i] || !session_has(c, r, s, i)) continue;
      list_offsets_request_list_offsets_partition_init(&parts[n]);
      parts[n].partition_index = c->partitions[i];
      parts[n].timestamp = timestamp;
      n++;
      lt->partitions_count++;
    }
    if (lt->partitions_count > 0) topic_count++;
  }
  ASSERT(n > 0);
  struct list_offsets_request req;
  list_offsets_request_init(&req);
  req.replica_id = -1;
  req.topics = topics;
  req.topics_count = topic_count;
  s->version = version;
  s->busy = true;
  c->list_offsets_requests++;
  if (kconn_send(s->conn, API_LIST_OFFSETS, version, encode_list_offsets, &req, on_list_offsets,
                 s) != 0) {
    s->busy = false;
    retry_later(s);
  }
}

static void encode_fetch(struct wr *w, int16_t version, const void *msg) {
  fetch_request_encode(w, version, msg);
}

/* The session's next request: Metadata until every topic's id is known
 * (unrouted, when the broker serves Fetch v13), ListOffsets for its
 * partitions that wait for it, then a Fetch of its others. */
static void session_next(struct kconsumer_session *s, const struct round *r) {
  struct kconsumer *c = s->c;
  if (s->busy || s->retry_timer) return;
  if (c->cluster) s->conn = kcluster_broker_conn(c->cluster, s->broker_id);
  if (!s->conn) return; /* no longer listed: its partitions moved */
  if (!kconn_connected(s->conn)) {
    kconn_connect(s->conn);
    retry_later(s);
    return;
  }
  int16_t version = kconn_version(s->conn, API_FETCH, FETCH_VERSION_MIN, FETCH_VERSION_MAX);
  if (version < 0) version = FETCH_VERSION_UNNEGOTIATED; /* the broker did not say */
  int16_t metadata_version =
      kconn_version(s->conn, API_METADATA, METADATA_VERSION_MIN, METADATA_VERSION_MAX);
  if (!c->cluster && !c->metadata_known && metadata_version >= 0) {
    ask_metadata(s, metadata_version);
    return;
  }
  if (version >= 13 && !c->metadata_known) version = FETCH_VERSION_BY_NAME;
  int resetting = 0, mine = 0;
  for (int i = 0; i < c->partition_count; i++) {
    if (!session_has(c, r, s, i)) continue;
    mine++;
    resetting += c->resetting[i];
  }
  if (mine == 0) return;
  if (resetting > 0) {
    int16_t lv = kconn_version(s->conn, API_LIST_OFFSETS, LIST_OFFSETS_VERSION_MIN,
                               LIST_OFFSETS_VERSION_MAX);
    ask_offsets(s, r, lv >= 0 ? lv : LIST_OFFSETS_VERSION_MIN);
    return;
  }
  /* Its partitions, grouped by topic. The broker fills a response in the
   * order asked until max_bytes, so each Fetch starts one partition further
   * on (KIP-74's rotation): a partition with a large backlog, or one stuck
   * on a batch it cannot read, does not starve the others. */
  struct fetch_request_fetch_partition parts[CONSUMER_PARTITIONS_MAX];
  struct fetch_request_fetch_topic topics[CONSUMER_TOPICS_MAX];
  int order[CONSUMER_TOPICS_MAX]; /* topics in the order their first partition comes */
  int topic_count = 0, n = 0;
  int first = (int)(c->fetches % (uint64_t)c->partition_count);
  for (int k = 0; k < c->partition_count; k++) {
    int i = (first + k) % c->partition_count;
    if (!session_has(c, r, s, i)) continue;
    int t = c->topic_of[i], seen = 0;
    while (seen < topic_count && order[seen] != t) seen++;
    if (seen == topic_count) order[topic_count++] = t;
  }
  for (int j = 0; j < topic_count; j++) {
    int t = order[j];
    fetch_request_fetch_topic_init(&topics[j]);
    topics[j].topic = kstr_of(c->topics[t]);
    if (version >= 13) topics[j].topic_id = c->topic_ids[t];
    topics[j].partitions = &parts[n];
    for (int k = 0; k < c->partition_count; k++) {
      int i = (first + k) % c->partition_count;
      if (c->topic_of[i] != t || !session_has(c, r, s, i)) continue;
      fetch_request_fetch_partition_init(&parts[n]);
      parts[n].partition = c->partitions[i];
      parts[n].fetch_offset = c->offsets[i];
      parts[n].partition_max_bytes = c->cfg.max_bytes;
      if (c->cluster) /* KIP-320: the leader checks our view of its epoch */
        parts[n].current_leader_epoch = r->epochs[i];
      n++;
      topics[j].partitions_count++;
    }
  }
  ASSERT(n == mine && (c->cluster || topic_count == c->topic_count));
  struct fetch_request req;
  fetch_request_init(&req);
  req.replica_id = -1;
  req.max_wait_ms = c->cfg.max_wait_ms;
  req.min_bytes = 1;
  req.max_bytes = c->cfg.max_bytes;
  req.topics = topics;
  req.topics_count = topic_count;
  req.forgotten_topics_data_count = 0;
  s->version = version;
  s->busy = true;
  c->fetches++;
  if (kconn_send(s->conn, API_FETCH, version, encode_fetch, &req, on_fetch_response, s) != 0) {
    s->busy = false;
    retry_later(s);
  }
}

/* Unrouted: the one session. Routed: a session per leader broker of an
 * assigned partition; a partition with no leader known waits for a refresh
 * (the cluster's answer calls back here). */
static void fetch_next(struct kconsumer *c) {
  if (c->stopped || c->partition_count == 0) return;
  if (!c->cluster) {
    session_next(&c->sessions[0], NULL);
    return;
  }
  if (!c->metadata_known) {
    kcluster_refresh(c->cluster);
    return;
  }
  struct round r;
  round_read(c, &r);
  bool leaderless = false;
  for (int i = 0; i < c->partition_count; i++) {
    int32_t leader = r.leaders[i];
    if (leader < 0) {
      leaderless = true;
      continue;
    }
    if (!session_for(c, leader)) leaderless = true; /* past the bound: never here */
  }
  for (int i = 0; i < c->session_count; i++) session_next(&c->sessions[i], &r);
  if (leaderless) kcluster_refresh(c->cluster);
}
