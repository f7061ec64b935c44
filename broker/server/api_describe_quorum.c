/* DescribeQuorum (API 55), versions 0-2, on the controller listener
 * (KIP-595, KIP-836): the leader's view of the metadata quorum: its epoch
 * and high watermark, and per voter and observer the log end offset it
 * last validated and when it last fetched. A node that is not the leader
 * answers NOT_LEADER_OR_FOLLOWER for the partition, naming the leader and
 * epoch it knows. The core's times are monotonic: they are turned into
 * wall-clock milliseconds as of now. LastCaughtUpTimestamp is the last
 * fetch of a replica whose log end offset has reached the high watermark
 * (-1 otherwise), an approximation of Kafka's. v2 adds each voter's
 * endpoint, from controller.quorum.voters. */
#include "base/assert.h"
#include "meta/records.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/handlers.h"
#include "server/raft_node.h"
#include "server/server.h"

enum { REPLICAS_MAX = RAFT_VOTERS_MAX + RAFT_OBSERVERS_MAX };

static void send(struct request *req, const struct describe_quorum_response *r) {
  struct wr w;
  response_begin(req, &w);
  describe_quorum_response_encode(&w, req->api_version, r);
  request_respond(req, &w);
}

static void replica_state(const struct raft_replica *rep, int64_t high_watermark,
                          int64_t now_ms, int64_t wall_ms,
                          struct describe_quorum_response_replica_state *out) {
  describe_quorum_response_replica_state_init(out);
  out->replica_id = rep->id;
  out->log_end_offset = rep->log_end_offset;
  out->last_fetch_timestamp = -1;
  out->last_caught_up_timestamp = -1;
  if (rep->last_fetch_ms < 0) return;
  out->last_fetch_timestamp = wall_ms - (now_ms - rep->last_fetch_ms);
  if (rep->log_end_offset >= high_watermark)
    out->last_caught_up_timestamp = out->last_fetch_timestamp;
}

/* The leader's replica states, voters and observers apart. */
static void fill_replicas(struct request *req, const struct raft *core,
                          struct describe_quorum_response_partition_data *p) {
  struct raft_replica reps[REPLICAS_MAX];
  uint32_t n = raft_describe_quorum(core, reps, REPLICAS_MAX);
  ASSERT(n <= REPLICAS_MAX);
  struct env *env = req->node->env;
  int64_t now_ms = (int64_t)(env->now_ns(env) / NS_PER_MS), wall_ms = env->wall_ms(env);
  size_t bytes = (n ? n : 1) * sizeof *p->current_voters;
  p->current_voters = arena_alloc(&req->arena, bytes);
  p->observers = arena_alloc(&req->arena, bytes);
  for (uint32_t i = 0; i < n; i++) {
    struct describe_quorum_response_replica_state *out =
        reps[i].voter ? &p->current_voters[p->current_voters_count++]
                      : &p->observers[p->observers_count++];
    replica_state(&reps[i], p->high_watermark, now_ms, wall_ms, out);
  }
}

/* v2: every voter's controller endpoint. */
static void fill_nodes(struct request *req, struct describe_quorum_response *r) {
  const struct config *cfg = &req->node->cfg;
  r->nodes = arena_alloc(&req->arena, (size_t)(cfg->voter_count + 1) * sizeof *r->nodes);
  for (int i = 0; i < cfg->voter_count; i++) {
    struct describe_quorum_response_node *n = &r->nodes[r->nodes_count++];
    struct describe_quorum_response_listener *l = arena_alloc(&req->arena, sizeof *l);
    describe_quorum_response_node_init(n);
    describe_quorum_response_listener_init(l);
    n->node_id = cfg->voters[i].id;
    l->name = raft_node_listener_name(req->node);
    l->host = kstr_of(cfg->voters[i].host);
    l->port = cfg->voters[i].port;
    n->listeners = l;
    n->listeners_count = 1;
  }
}

static void respond(struct request *req) {
  struct describe_quorum_response r;
  struct describe_quorum_response_topic_data t;
  struct describe_quorum_response_partition_data p;
  describe_quorum_response_init(&r);
  describe_quorum_response_topic_data_init(&t);
  describe_quorum_response_partition_data_init(&p);
  r.topics = &t;
  r.topics_count = 1;
  t.topic_name = KSTR_LIT(META_LOG_TOPIC);
  t.partitions = &p;
  t.partitions_count = 1;
  p.partition_index = META_LOG_PARTITION;
  p.leader_id = RAFT_NO_NODE;
  p.leader_epoch = -1;
  p.high_watermark = -1;
  const struct raft *core = raft_node_core(req->node);
  if (core != NULL) {
    struct raft_quorum_state qs;
    raft_quorum_state(core, &qs);
    p.leader_epoch = qs.leader_epoch;
    p.leader_id = raft_role(core) == RAFT_RESIGNED ? RAFT_NO_NODE : qs.leader_id;
  }
  if (core != NULL && raft_is_leader(core)) {
    p.high_watermark = raft_high_watermark(core);
    fill_replicas(req, core, &p);
  } else {
    p.error_code = KERR_NOT_LEADER_OR_FOLLOWER;
  }
  if (req->api_version >= 2) fill_nodes(req, &r);
  send(req, &r);
}

static void refuse(struct request *req, int16_t error) {
  struct describe_quorum_response r;
  describe_quorum_response_init(&r);
  r.error_code = error;
  send(req, &r);
}

bool handle_describe_quorum(struct request *req) {
  handler_assert_entry(req, API_DESCRIBE_QUORUM);
  struct describe_quorum_request in;
  if (!describe_quorum_request_decode(&req->body, req->api_version, &in, &req->arena))
    return false;
  if (!RAFT_NAMES_ONLY_METADATA_LOG(in, topic_name, partition_index)) {
    refuse(req, KERR_INVALID_REQUEST);
    return true;
  }
  respond(req);
  return true;
}
