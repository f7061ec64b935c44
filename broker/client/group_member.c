#include "client/group_member.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"

enum {
  TICK_MS = 50,
  FIND_COORDINATOR_VERSION = 3, /* one key (v4 batches them) */
  JOIN_GROUP_VERSION = 5,       /* KIP-394's round trip, group.instance.id */
  SYNC_GROUP_VERSION = 3,
  HEARTBEAT_VERSION = 3,
  OFFSET_COMMIT_VERSION = 7,
  OFFSET_FETCH_VERSION = 7,
  LEAVE_GROUP_VERSION = 3,
  JOIN_MARGIN_MS = 5000,
  ASSIGNMENT_BYTES_MAX = 1 << 16,
};

static void tick(void *ctx);

void kgroup_init(struct kgroup *g, struct env *env, struct net_dispatch *net,
                 struct kconsumer *consumer, const struct kgroup_config *cfg,
                 const struct kgroup_listener *l) {
  ASSERT(cfg->group_id[0] && cfg->session_timeout_ms > 0 && cfg->heartbeat_interval_ms > 0);
  memset(g, 0, sizeof *g);
  g->env = env;
  g->consumer = consumer;
  kclient_init(&g->kc, net);
  g->cfg = *cfg;
  g->listener = *l;
  g->generation = -1;
  g->phase = KGROUP_IDLE;
}

void kgroup_add_bootstrap(struct kgroup *g, const char *host, uint16_t port) {
  ASSERT(g->bootstrap_count < KGROUP_BOOTSTRAP_MAX &&
         strlen(host) < sizeof g->bootstrap[0].host);
  struct kgroup_endpoint *e = &g->bootstrap[g->bootstrap_count++];
  strcpy(e->host, host);
  e->port = port;
}

void kgroup_subscribe(struct kgroup *g, const char *topic, int32_t partitions) {
  ASSERT(g->topic_count < KGROUP_TOPICS_MAX && strlen(topic) < sizeof g->topics[0]);
  strcpy(g->topics[g->topic_count], topic);
  g->topic_partitions[g->topic_count++] = partitions;
}

static uint64_t now(const struct kgroup *g) { return g->env->now_ns(g->env); }

static void note(struct kgroup *g, const char *what, int error) {
  if (g->listener.note) g->listener.note(g->listener.ctx, what, error);
}

static void arm(struct kgroup *g) {
  if (g->timer || g->phase == KGROUP_STOPPED) return;
  g->timer = g->env->timer_start(g->env, (uint64_t)TICK_MS * NS_PER_MS, tick, g);
}

void kgroup_start(struct kgroup *g) {
  ASSERT(g->topic_count > 0 && g->bootstrap_count > 0);
  g->phase = KGROUP_JOIN;
  arm(g);
}

/* The consumer stops fetching what this member owned (eager rebalancing). */
static void give_up_assignment(struct kgroup *g) {
  kconsumer_unassign_all(g->consumer);
  g->assigned_count = 0;
}

static void backoff(struct kgroup *g) {
  g->not_before_ns = now(g) + (uint64_t)g->cfg.retry_backoff_ms * NS_PER_MS;
}

/* The coordinator moved or went: look for it again, then carry on. */
static void coordinator_lost(struct kgroup *g, const char *why, int error) {
  note(g, why, error);
  g->coordinator_known = false;
  /* A stable member reads its commits back from the next coordinator
   * before it commits again (an application's consumer.committed()), so a
   * commit the failover lost shows in what it answers. */
  if (g->phase == KGROUP_STABLE && g->assigned_count > 0 && g->listener.verified)
    g->verify_due = true;
  backoff(g);
}

/* Join again (from the join phase: the assignment is given up first). */
static void rejoin(struct kgroup *g, const char *why, int error) {
  note(g, why, error);
  g->rebalances++;
  bool forgotten = error == KERR_UNKNOWN_MEMBER_ID || error == KERR_FENCED_INSTANCE_ID;
  /* Java's onJoinPrepare: what was consumed is committed before the
   * partitions are given up (not by a member the group no longer knows). */
  g->join_commit_due = g->phase == KGROUP_STABLE && g->assigned_count > 0 && !forgotten;
  g->join_commit_generation = g->generation;
  if (forgotten) g->member_id[0] = 0;
  if (error == KERR_UNKNOWN_MEMBER_ID || error == KERR_ILLEGAL_GENERATION) g->generation = -1;
  if (!g->join_commit_due) give_up_assignment(g);
  g->phase = KGROUP_JOIN;
}

static struct kstr instance_of(const struct kgroup *g) {
  return g->cfg.instance_id[0] ? kstr_of(g->cfg.instance_id) : KSTR_NULL;
}

static bool coordinator_error(int16_t error) {
  return error == KERR_NOT_COORDINATOR || error == KERR_COORDINATOR_NOT_AVAILABLE;
}

static bool rejoin_error(int16_t error) {
  return error == KERR_REBALANCE_IN_PROGRESS || error == KERR_ILLEGAL_GENERATION ||
         error == KERR_UNKNOWN_MEMBER_ID || error == KERR_FENCED_INSTANCE_ID;
}

/* The common answer path: false (and the member moved on) when the answer
 * was a lost connection or a coordinator error. */
static bool answered(struct kgroup *g, int err, int16_t error, const char *what) {
  g->busy = false;
  if (err != 0) {
    coordinator_lost(g, what, err);
    return false;
  }
  if (coordinator_error(error)) {
    coordinator_lost(g, what, error);
    return false;
  }
  if (error == KERR_COORDINATOR_LOAD_IN_PROGRESS) {
    /* The coordinator is right but still loading its partition: the same
     * request again after retry.backoff.ms, as Kafka's clients do. */
    note(g, what, error);
    g->load_retries++;
    backoff(g);
    return false;
  }
  return true;
}

static int send(struct kgroup *g, struct kconn *conn, int16_t api, int16_t version,
                kconn_encode_fn enc, const void *msg, kconn_response_fn fn,
                int64_t timeout_ms) {
  g->conn = conn;
  g->version = version;
  g->busy = true;
  g->sent_ns = now(g);
  g->deadline_ns = g->sent_ns + (uint64_t)timeout_ms * NS_PER_MS;
  int rc = kconn_send(conn, api, version, enc, msg, fn, g);
  if (rc != 0) {
    g->busy = false;
    backoff(g);
  }
  return rc;
}

/* ---- FindCoordinator ---- */

static void on_find(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct kgroup *g = ctx;
  struct find_coordinator_response resp;
  if (err == 0 && !find_coordinator_response_decode(body, g->version, &resp, arena))
    err = ENV_EINVAL;
  g->busy = false;
  if (err != 0 || resp.error_code != KERR_NONE || resp.host.len <= 0 ||
      resp.host.len >= (int32_t)sizeof g->coordinator.host) {
    g->rotation++;
    note(g, "FindCoordinator failed", err != 0 ? err : resp.error_code);
    backoff(g);
    return;
  }
  memcpy(g->coordinator.host, resp.host.ptr, (size_t)resp.host.len);
  g->coordinator.host[resp.host.len] = 0;
  g->coordinator.port = (uint16_t)resp.port;
  g->coordinator_known = true;
}

static void enc_find(struct wr *w, int16_t v, const void *m) {
  find_coordinator_request_encode(w, v, m);
}

static void find_coordinator(struct kgroup *g) {
  const struct kgroup_endpoint *e = &g->bootstrap[g->rotation % (uint32_t)g->bootstrap_count];
  struct kconn *conn = kclient_conn(&g->kc, e->host, e->port, g->cfg.client_id);
  if (!kconn_connected(conn)) {
    kconn_connect(conn);
    if (conn->id == 0) g->rotation++; /* could not even start */
    return;
  }
  struct find_coordinator_request req;
  find_coordinator_request_init(&req);
  req.key = kstr_of(g->cfg.group_id);
  req.key_type = 0;
  g->coordinator_lookups++;
  if (send(g, conn, API_FIND_COORDINATOR, FIND_COORDINATOR_VERSION, enc_find, &req, on_find,
           g->cfg.request_timeout_ms) != 0)
    g->rotation++;
}

/* ---- JoinGroup ---- */

/* ConsumerProtocolSubscription v0: the topics, no user data. */
static void subscription(const struct kgroup *g, struct wr *w) {
  wr_i16(w, 0);
  wr_i32(w, g->topic_count);
  for (int t = 0; t < g->topic_count; t++) wr_string(w, kstr_of(g->topics[t]), false);
  wr_i32(w, -1);
}

static int member_cmp(const void *a, const void *b) { return strcmp(a, b); }

static void take_members(struct kgroup *g, const struct join_group_response *resp) {
  free(g->members);
  g->members = NULL;
  g->member_count = 0;
  int n = resp->members_count < KGROUP_MEMBERS_MAX ? resp->members_count : KGROUP_MEMBERS_MAX;
  if (n <= 0) return;
  g->members = calloc((size_t)n, sizeof *g->members);
  ASSERT(g->members != NULL);
  for (int i = 0; i < n; i++) {
    struct kstr id = resp->members[i].member_id;
    if (id.len <= 0 || id.len >= KGROUP_ID_BYTES) continue;
    memcpy(g->members[g->member_count], id.ptr, (size_t)id.len);
    g->members[g->member_count++][id.len] = 0;
  }
  qsort(g->members, (size_t)g->member_count, sizeof *g->members, member_cmp);
}

static void on_join(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct kgroup *g = ctx;
  struct join_group_response resp;
  if (err == 0 && !join_group_response_decode(body, g->version, &resp, arena)) err = ENV_EINVAL;
  if (!answered(g, err, err == 0 ? resp.error_code : 0, "JoinGroup")) return;
  if (resp.error_code == KERR_MEMBER_ID_REQUIRED && resp.member_id.len > 0 &&
      resp.member_id.len < KGROUP_ID_BYTES) {
    memcpy(g->member_id, resp.member_id.ptr, (size_t)resp.member_id.len);
    g->member_id[resp.member_id.len] = 0;
    return; /* KIP-394: join again with it at once */
  }
  if (resp.error_code != KERR_NONE) {
    if (resp.error_code == KERR_UNKNOWN_MEMBER_ID) g->member_id[0] = 0;
    note(g, "JoinGroup", resp.error_code);
    backoff(g);
    return;
  }
  g->joins++;
  g->generation = resp.generation_id;
  if (resp.member_id.len > 0 && resp.member_id.len < KGROUP_ID_BYTES) {
    memcpy(g->member_id, resp.member_id.ptr, (size_t)resp.member_id.len);
    g->member_id[resp.member_id.len] = 0;
  }
  g->leader = resp.leader.len == (int32_t)strlen(g->member_id) &&
              memcmp(resp.leader.ptr, g->member_id, strlen(g->member_id)) == 0;
  if (g->leader) take_members(g, &resp);
  g->phase = KGROUP_SYNC;
}

static void enc_join(struct wr *w, int16_t v, const void *m) {
  join_group_request_encode(w, v, m);
}

static void join(struct kgroup *g, struct kconn *conn) {
  give_up_assignment(g);
  struct wr meta;
  wr_init(&meta);
  subscription(g, &meta);
  struct join_group_request_join_group_request_protocol proto;
  join_group_request_join_group_request_protocol_init(&proto);
  proto.name = kstr_of("range");
  proto.metadata = (struct kbytes){meta.mem.data, (int32_t)meta.mem.len};
  struct join_group_request req;
  join_group_request_init(&req);
  req.group_id = kstr_of(g->cfg.group_id);
  req.session_timeout_ms = g->cfg.session_timeout_ms;
  req.rebalance_timeout_ms = g->cfg.rebalance_timeout_ms;
  req.member_id = kstr_of(g->member_id);
  req.group_instance_id = instance_of(g);
  req.protocol_type = kstr_of("consumer");
  req.protocols = &proto;
  req.protocols_count = 1;
  (void)send(g, conn, API_JOIN_GROUP, JOIN_GROUP_VERSION, enc_join, &req, on_join,
             g->cfg.rebalance_timeout_ms + JOIN_MARGIN_MS);
  wr_free(&meta);
}

/* ---- SyncGroup ---- */

void kgroup_range(int32_t partitions, int members, int m, int32_t *first, int32_t *count) {
  ASSERT(members > 0 && m >= 0 && m < members && partitions >= 0);
  int32_t each = partitions / members, extra = partitions % members;
  *first = m * each + (m < extra ? m : extra);
  *count = each + (m < extra ? 1 : 0);
}

/* ConsumerProtocolAssignment v0 for member m. */
static void assignment_for(const struct kgroup *g, int m, struct wr *w) {
  wr_i16(w, 0);
  wr_i32(w, g->topic_count);
  for (int t = 0; t < g->topic_count; t++) {
    int32_t first, count;
    kgroup_range(g->topic_partitions[t], g->member_count, m, &first, &count);
    wr_string(w, kstr_of(g->topics[t]), false);
    wr_i32(w, count);
    for (int32_t p = 0; p < count; p++) wr_i32(w, first + p);
  }
  wr_i32(w, -1);
}

static int topic_of(const struct kgroup *g, struct kstr name) {
  for (int t = 0; t < g->topic_count; t++)
    if (name.len == (int32_t)strlen(g->topics[t]) &&
        !memcmp(name.ptr, g->topics[t], (size_t)name.len))
      return t;
  return -1;
}

/* Reads the assignment; false if it does not parse. */
static bool parse_assignment(struct kgroup *g, struct kbytes a) {
  g->assigned_count = 0;
  if (a.len <= 0) return true; /* nothing for this member */
  struct rd r;
  rd_init(&r, a.ptr, (size_t)a.len);
  (void)rd_i16(&r);
  int32_t topics = rd_array_len(&r, false, 6);
  for (int32_t i = 0; i < topics && !r.err; i++) {
    int t = topic_of(g, rd_string(&r, false));
    int32_t n = rd_array_len(&r, false, 4);
    for (int32_t j = 0; j < n && !r.err; j++) {
      int32_t p = rd_i32(&r);
      if (t < 0 || g->assigned_count == KGROUP_ASSIGNED_MAX) continue;
      g->assigned_topic[g->assigned_count] = (int8_t)t;
      g->assigned_partition[g->assigned_count] = p;
      g->committed[g->assigned_count++] = -1;
    }
  }
  return !r.err;
}

static void on_sync(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct kgroup *g = ctx;
  struct sync_group_response resp;
  if (err == 0 && !sync_group_response_decode(body, g->version, &resp, arena)) err = ENV_EINVAL;
  if (!answered(g, err, err == 0 ? resp.error_code : 0, "SyncGroup")) return;
  if (resp.error_code != KERR_NONE) {
    rejoin(g, "SyncGroup", resp.error_code);
    return;
  }
  if (!parse_assignment(g, resp.assignment)) {
    rejoin(g, "SyncGroup: an assignment that does not parse", KERR_INCONSISTENT_GROUP_PROTOCOL);
    return;
  }
  if (g->listener.assigned)
    g->listener.assigned(g->listener.ctx, g->generation, g->member_id, g->assigned_count,
                         g->assigned_topic, g->assigned_partition);
  g->phase = KGROUP_FETCH_OFFSETS;
}

static void enc_sync(struct wr *w, int16_t v, const void *m) {
  sync_group_request_encode(w, v, m);
}

static void sync(struct kgroup *g, struct kconn *conn) {
  int n = g->leader ? g->member_count : 0;
  struct sync_group_request_sync_group_request_assignment *as =
      n > 0 ? calloc((size_t)n, sizeof *as) : NULL;
  struct wr *ws = n > 0 ? calloc((size_t)n, sizeof *ws) : NULL;
  ASSERT(n == 0 || (as != NULL && ws != NULL));
  for (int m = 0; m < n; m++) {
    wr_init(&ws[m]);
    assignment_for(g, m, &ws[m]);
    sync_group_request_sync_group_request_assignment_init(&as[m]);
    as[m].member_id = kstr_of(g->members[m]);
    as[m].assignment = (struct kbytes){ws[m].mem.data, (int32_t)ws[m].mem.len};
  }
  struct sync_group_request req;
  sync_group_request_init(&req);
  req.group_id = kstr_of(g->cfg.group_id);
  req.generation_id = g->generation;
  req.member_id = kstr_of(g->member_id);
  req.group_instance_id = instance_of(g);
  req.assignments = as;
  req.assignments_count = n;
  (void)send(g, conn, API_SYNC_GROUP, SYNC_GROUP_VERSION, enc_sync, &req, on_sync,
             g->cfg.rebalance_timeout_ms + JOIN_MARGIN_MS);
  for (int m = 0; m < n; m++) wr_free(&ws[m]);
  free(ws);
  free(as);
}

/* ---- OffsetFetch: where the assigned partitions go on ---- */

static int assigned_index(const struct kgroup *g, int t, int32_t p) {
  for (int i = 0; i < g->assigned_count; i++)
    if (g->assigned_topic[i] == t && g->assigned_partition[i] == p) return i;
  return -1;
}

static void on_offsets(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct kgroup *g = ctx;
  struct offset_fetch_response resp;
  if (err == 0 && !offset_fetch_response_decode(body, g->version, &resp, arena))
    err = ENV_EINVAL;
  if (!answered(g, err, err == 0 ? resp.error_code : 0, "OffsetFetch")) return;
  bool failed = resp.error_code != KERR_NONE;
  for (int32_t t = 0; !failed && t < resp.topics_count; t++)
    for (int32_t j = 0; j < resp.topics[t].partitions_count; j++)
      failed |= resp.topics[t].partitions[j].error_code != KERR_NONE;
  if (failed) {
    note(g, "OffsetFetch", resp.error_code);
    if (rejoin_error(resp.error_code)) rejoin(g, "OffsetFetch", resp.error_code);
    backoff(g);
    return;
  }
  for (int32_t t = 0; t < resp.topics_count; t++) {
    int topic = topic_of(g, resp.topics[t].name);
    for (int32_t j = 0; topic >= 0 && j < resp.topics[t].partitions_count; j++) {
      const struct offset_fetch_response_offset_fetch_response_partition *pr =
          &resp.topics[t].partitions[j];
      int i = assigned_index(g, topic, pr->partition_index);
      if (i < 0) continue;
      g->committed[i] = pr->committed_offset >= 0 ? pr->committed_offset : -1;
      if (g->listener.fetched)
        g->listener.fetched(g->listener.ctx, topic, pr->partition_index, g->committed[i],
                            g->sent_ns);
    }
  }
  kconsumer_unassign_all(g->consumer);
  for (int i = 0; i < g->assigned_count; i++)
    kconsumer_assign(g->consumer, g->topics[g->assigned_topic[i]], g->assigned_partition[i],
                     g->committed[i] >= 0 ? g->committed[i] : KCONSUMER_OFFSET_RESET);
  kconsumer_start(g->consumer);
  g->phase = KGROUP_STABLE;
  g->next_heartbeat_ns = now(g) + (uint64_t)g->cfg.heartbeat_interval_ms * NS_PER_MS;
  g->next_commit_ns = now(g) + (uint64_t)g->cfg.commit_interval_ms * NS_PER_MS;
}

static void enc_offsets(struct wr *w, int16_t v, const void *m) {
  offset_fetch_request_encode(w, v, m);
}

/* The commits read back after a coordinator move: only reported (the
 * consumer's positions stand). */
static void on_verify(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct kgroup *g = ctx;
  struct offset_fetch_response resp;
  if (err == 0 && !offset_fetch_response_decode(body, g->version, &resp, arena))
    err = ENV_EINVAL;
  if (!answered(g, err, err == 0 ? resp.error_code : 0, "OffsetFetch (committed)")) return;
  g->verify_due = false;
  if (resp.error_code != KERR_NONE) {
    note(g, "OffsetFetch (committed)", resp.error_code);
    if (rejoin_error(resp.error_code)) rejoin(g, "OffsetFetch (committed)", resp.error_code);
    return;
  }
  for (int32_t t = 0; t < resp.topics_count; t++) {
    int topic = topic_of(g, resp.topics[t].name);
    for (int32_t j = 0; topic >= 0 && j < resp.topics[t].partitions_count; j++) {
      const struct offset_fetch_response_offset_fetch_response_partition *pr =
          &resp.topics[t].partitions[j];
      if (pr->error_code == KERR_NONE && assigned_index(g, topic, pr->partition_index) >= 0)
        g->listener.verified(g->listener.ctx, topic, pr->partition_index,
                             pr->committed_offset >= 0 ? pr->committed_offset : -1, g->sent_ns);
    }
  }
}

static void send_offset_fetch(struct kgroup *g, struct kconn *conn, kconn_response_fn fn);

static void fetch_offsets(struct kgroup *g, struct kconn *conn) {
  if (g->assigned_count == 0) {
    kconsumer_unassign_all(g->consumer);
    g->phase = KGROUP_STABLE;
    g->next_heartbeat_ns = now(g);
    return;
  }
  send_offset_fetch(g, conn, on_offsets);
}

static void send_offset_fetch(struct kgroup *g, struct kconn *conn, kconn_response_fn fn) {
  struct offset_fetch_request_offset_fetch_request_topic topics[KGROUP_TOPICS_MAX];
  int32_t parts[KGROUP_ASSIGNED_MAX];
  int tc = 0, n = 0;
  for (int t = 0; t < g->topic_count; t++) {
    offset_fetch_request_offset_fetch_request_topic_init(&topics[tc]);
    topics[tc].name = kstr_of(g->topics[t]);
    topics[tc].partition_indexes = &parts[n];
    for (int i = 0; i < g->assigned_count; i++)
      if (g->assigned_topic[i] == t)
        parts[n++] = g->assigned_partition[i], topics[tc].partition_indexes_count++;
    if (topics[tc].partition_indexes_count > 0) tc++;
  }
  struct offset_fetch_request req;
  offset_fetch_request_init(&req);
  req.group_id = kstr_of(g->cfg.group_id);
  req.topics = topics;
  req.topics_count = tc;
  req.require_stable = true;
  (void)send(g, conn, API_OFFSET_FETCH, OFFSET_FETCH_VERSION, enc_offsets, &req, fn,
             g->cfg.request_timeout_ms);
}

/* ---- Heartbeat ---- */

static void on_heartbeat(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct kgroup *g = ctx;
  struct heartbeat_response resp;
  if (err == 0 && !heartbeat_response_decode(body, g->version, &resp, arena)) err = ENV_EINVAL;
  if (!answered(g, err, err == 0 ? resp.error_code : 0, "Heartbeat")) return;
  if (rejoin_error(resp.error_code)) {
    rejoin(g, "Heartbeat", resp.error_code);
    return;
  }
  if (resp.error_code != KERR_NONE) note(g, "Heartbeat", resp.error_code);
  if (resp.error_code == KERR_NONE && g->listener.acknowledged)
    g->listener.acknowledged(g->listener.ctx, "Heartbeat", g->generation, g->sent_ns);
  g->next_heartbeat_ns = now(g) + (uint64_t)g->cfg.heartbeat_interval_ms * NS_PER_MS;
}

static void enc_heartbeat(struct wr *w, int16_t v, const void *m) {
  heartbeat_request_encode(w, v, m);
}

static void heartbeat(struct kgroup *g, struct kconn *conn) {
  struct heartbeat_request req;
  heartbeat_request_init(&req);
  req.group_id = kstr_of(g->cfg.group_id);
  req.generation_id = g->generation;
  req.member_id = kstr_of(g->member_id);
  req.group_instance_id = instance_of(g);
  (void)send(g, conn, API_HEARTBEAT, HEARTBEAT_VERSION, enc_heartbeat, &req, on_heartbeat,
             g->cfg.request_timeout_ms);
}

/* ---- OffsetCommit: the consumer's positions ---- */

struct commit_sent {
  int32_t generation;
  int count;
  int8_t topic[KGROUP_ASSIGNED_MAX];
  int32_t partition[KGROUP_ASSIGNED_MAX];
  int64_t offset[KGROUP_ASSIGNED_MAX];
};

/* What the commit in flight carries (one request at a time). */
static struct commit_sent *pending_commit(struct kgroup *g) { return g->commit_in_flight; }

static void on_commit(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct kgroup *g = ctx;
  struct offset_commit_response resp;
  struct commit_sent *sent = pending_commit(g);
  g->commit_in_flight = NULL;
  if (err == 0 && !offset_commit_response_decode(body, g->version, &resp, arena))
    err = ENV_EINVAL;
  int16_t error = KERR_NONE;
  bool any = false;
  for (int32_t t = 0; err == 0 && t < resp.topics_count; t++)
    for (int32_t j = 0; j < resp.topics[t].partitions_count; j++) {
      const struct offset_commit_response_offset_commit_response_partition *pr =
          &resp.topics[t].partitions[j];
      int topic = topic_of(g, resp.topics[t].name);
      if (pr->error_code != KERR_NONE) {
        error = pr->error_code;
        continue;
      }
      any = true;
      for (int k = 0; topic >= 0 && k < sent->count; k++) {
        if (sent->topic[k] != topic || sent->partition[k] != pr->partition_index) continue;
        int i = assigned_index(g, topic, pr->partition_index);
        if (i >= 0 && sent->offset[k] > g->committed[i]) g->committed[i] = sent->offset[k];
        if (g->listener.committed)
          g->listener.committed(g->listener.ctx, sent->generation, topic, pr->partition_index,
                                sent->offset[k]);
      }
    }
  if (any && g->listener.acknowledged)
    g->listener.acknowledged(g->listener.ctx, "OffsetCommit", sent->generation, g->sent_ns);
  free(sent);
  g->commits++;
  if (!answered(g, err, error, "OffsetCommit")) return;
  if (rejoin_error(error)) {
    rejoin(g, "OffsetCommit", error);
    return;
  }
  if (error != KERR_NONE) note(g, "OffsetCommit", error);
}

static void enc_commit(struct wr *w, int16_t v, const void *m) {
  offset_commit_request_encode(w, v, m);
}

/* Commits the positions that moved past the last commit, as a member of
 * generation; false if there are none. */
static bool commit(struct kgroup *g, struct kconn *conn, int32_t generation) {
  struct offset_commit_request_offset_commit_request_topic topics[KGROUP_TOPICS_MAX];
  struct offset_commit_request_offset_commit_request_partition parts[KGROUP_ASSIGNED_MAX];
  struct commit_sent *sent = calloc(1, sizeof *sent);
  ASSERT(sent != NULL);
  sent->generation = generation;
  int tc = 0, n = 0;
  for (int t = 0; t < g->topic_count; t++) {
    offset_commit_request_offset_commit_request_topic_init(&topics[tc]);
    topics[tc].name = kstr_of(g->topics[t]);
    topics[tc].partitions = &parts[n];
    for (int i = 0; i < g->assigned_count; i++) {
      if (g->assigned_topic[i] != t) continue;
      int64_t pos = kconsumer_position(g->consumer, g->topics[t], g->assigned_partition[i]);
      if (pos < 0 || pos <= g->committed[i]) continue;
      offset_commit_request_offset_commit_request_partition_init(&parts[n]);
      parts[n].partition_index = g->assigned_partition[i];
      parts[n].committed_offset = pos;
      parts[n].committed_metadata = kstr_of("");
      sent->topic[sent->count] = (int8_t)t;
      sent->partition[sent->count] = g->assigned_partition[i];
      sent->offset[sent->count++] = pos;
      n++;
      topics[tc].partitions_count++;
    }
    if (topics[tc].partitions_count > 0) tc++;
  }
  if (n == 0) {
    free(sent);
    return false;
  }
  struct offset_commit_request req;
  offset_commit_request_init(&req);
  req.group_id = kstr_of(g->cfg.group_id);
  req.generation_id_or_member_epoch = generation;
  req.member_id = kstr_of(g->member_id);
  req.group_instance_id = instance_of(g);
  req.topics = topics;
  req.topics_count = tc;
  g->commit_in_flight = sent;
  if (send(g, conn, API_OFFSET_COMMIT, OFFSET_COMMIT_VERSION, enc_commit, &req, on_commit,
           g->cfg.request_timeout_ms) != 0) {
    g->commit_in_flight = NULL;
    free(sent);
  }
  return true;
}

/* ---- LeaveGroup ---- */

static void on_leave(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct kgroup *g = ctx;
  (void)body, (void)arena;
  g->busy = false;
  if (err != 0) note(g, "LeaveGroup", err);
  g->phase = KGROUP_STOPPED;
}

static void enc_leave(struct wr *w, int16_t v, const void *m) {
  leave_group_request_encode(w, v, m);
}

static void leave(struct kgroup *g, struct kconn *conn) {
  struct leave_group_request_member_identity who;
  leave_group_request_member_identity_init(&who);
  who.member_id = kstr_of(g->member_id);
  who.group_instance_id = instance_of(g);
  struct leave_group_request req;
  leave_group_request_init(&req);
  req.group_id = kstr_of(g->cfg.group_id);
  req.member_id = kstr_of(g->member_id);
  req.members = &who;
  req.members_count = 1;
  if (send(g, conn, API_LEAVE_GROUP, LEAVE_GROUP_VERSION, enc_leave, &req, on_leave,
           g->cfg.request_timeout_ms) != 0)
    g->phase = KGROUP_STOPPED;
}

/* ---- the loop ---- */

/* The heartbeat first (Java's runs on a thread of its own, and after a
 * pause it is the first to notice), then the commit. */
static void step_stable(struct kgroup *g, struct kconn *conn) {
  uint64_t t = now(g);
  if (g->verify_due && g->assigned_count > 0) {
    send_offset_fetch(g, conn, on_verify);
    return;
  }
  if (t >= g->next_heartbeat_ns) {
    heartbeat(g, conn);
    return;
  }
  if (t >= g->next_commit_ns) {
    g->next_commit_ns = t + (uint64_t)g->cfg.commit_interval_ms * NS_PER_MS;
    (void)commit(g, conn, g->generation);
  }
}

/* Rejoining: the pre-join commit (if due), then JoinGroup. */
static void step_join(struct kgroup *g, struct kconn *conn) {
  if (g->join_commit_due) {
    g->join_commit_due = false;
    if (commit(g, conn, g->join_commit_generation)) return;
  }
  join(g, conn);
}

static void step(struct kgroup *g) {
  if (g->busy) {
    if (now(g) >= g->deadline_ns) { /* request.timeout.ms: give up on it */
      kconn_fail(g->conn, ENV_ETIMEDOUT);
      g->busy = false;
    }
    return;
  }
  if (now(g) < g->not_before_ns || g->phase == KGROUP_IDLE || g->phase == KGROUP_STOPPED)
    return;
  if (!g->coordinator_known) {
    if (g->phase == KGROUP_LEAVING) {
      g->phase = KGROUP_STOPPED;
      return;
    }
    find_coordinator(g);
    return;
  }
  struct kconn *conn =
      kclient_conn(&g->kc, g->coordinator.host, g->coordinator.port, g->cfg.client_id);
  if (!kconn_connected(conn)) {
    if (conn->id == 0 && kconn_connect(conn) != 0)
      coordinator_lost(g, "connect", ENV_ECONNREFUSED);
    return;
  }
  switch (g->phase) {
  case KGROUP_JOIN:
    step_join(g, conn);
    break;
  case KGROUP_SYNC:
    sync(g, conn);
    break;
  case KGROUP_FETCH_OFFSETS:
    fetch_offsets(g, conn);
    break;
  case KGROUP_STABLE:
    step_stable(g, conn);
    break;
  case KGROUP_LEAVING:
    if (g->leave_committed || !commit(g, conn, g->generation)) leave(g, conn);
    g->leave_committed = true;
    break;
  default:
    break;
  }
}

static void tick(void *ctx) {
  struct kgroup *g = ctx;
  g->timer = 0;
  step(g);
  arm(g);
}

void kgroup_close(struct kgroup *g) {
  if (g->phase == KGROUP_STOPPED) return;
  g->phase = g->phase == KGROUP_STABLE && g->member_id[0] ? KGROUP_LEAVING : KGROUP_STOPPED;
  if (g->phase == KGROUP_STOPPED) kconsumer_unassign_all(g->consumer);
  arm(g);
}

void kgroup_crash(struct kgroup *g) {
  g->phase = KGROUP_STOPPED;
  if (g->timer) g->env->timer_cancel(g->env, g->timer);
  g->timer = 0;
  if (g->busy) kconn_forget(g->conn, g);
  g->busy = false;
  kclient_close_all(&g->kc);
}

void kgroup_free(struct kgroup *g) {
  kgroup_crash(g);
  free(g->members);
  free(g->commit_in_flight);
  g->members = NULL;
  g->commit_in_flight = NULL;
}
