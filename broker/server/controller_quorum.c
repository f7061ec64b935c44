/* The Raft-backed controller (controller_quorum.h). */
#include "server/controller_quorum.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "meta/cluster_control.h"
#include "meta/codec.h"
#include "meta/config_control.h"
#include "meta/leader_balance.h"
#include "meta/producer_id_control.h"
#include "meta/reassignment.h"
#include "meta/replication_control.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/metadata_loader.h"
#include "server/quorum_peers.h"
#include "server/raft_node.h"
#include "server/server.h"

enum {
  OPS_MAX = 1 << 20,      /* each belongs to a request: one per connection at most */
  POLL_MS = 50,           /* while a call waits for a leader, a channel or the image */
  SESSION_CHECK_MS = 500, /* the active controller's look at the brokers' sessions */
  /* One change, with its KIP-868 markers: half the in-memory log's bound,
   * so it fits beside the tail kept since the older snapshot (no snapshot
   * may cut a transaction). A broker leading this many partitions cannot
   * re-register or be unfenced in one change. */
  CHANGE_RECORDS_MAX = RAFT_LOG_ENTRIES_MAX / 2,
  FORWARD_TIMEOUT_MS = 30000, /* a forwarded call without a deadline */
  /* The controller channels' request timeout: past the longest a forwarded
   * call waits at the active controller (its deadline, FORWARD_TIMEOUT_MS
   * at most, is checked before it starts; then it commits or fails). */
  CHANNEL_TIMEOUT_MS = FORWARD_TIMEOUT_MS + 15000,
  /* Elections per imbalance check: one change, within the log's bound. */
  REBALANCE_ELECTIONS_MAX = RAFT_LOG_ENTRIES_INITIAL - 10,
};

enum op_kind {
  OP_REGISTER,
  OP_CREATE_TOPICS,
  OP_CREATE_PARTITIONS,
  OP_DELETE_TOPICS,
  OP_PRODUCER_IDS,
  OP_HEARTBEAT,
  OP_ALTER_CONFIGS,
  OP_ALTER_PARTITION,
  OP_ELECT_LEADERS,
  OP_REASSIGN
};

struct op {
  struct op *next;
  enum op_kind kind;
  int32_t count;
  bool validate_only;
  uint64_t deadline_ns;
  bool forwarded; /* it came from another node: never forwarded again */
  union {
    struct meta_broker_registration registration;
    const struct meta_create_topic *create;
    const struct meta_create_partitions *grow;
    const struct meta_delete_topic *remove;
    const struct meta_alter_resource *configs; /* all incremental, or none */
    struct {
      int32_t broker_id;
      int64_t broker_epoch;
    } ids;
    struct meta_heartbeat hb;
    struct meta_alter_partition alter;
    const struct meta_elect_leaders *elect;
    const struct meta_reassign *reassign; /* [count] */
  } in;
  controller_heartbeat_fn hb_done;
  struct meta_heartbeat_result hb_result;
  meta_topics_done_fn topics_done;
  meta_done_fn done;
  meta_producer_ids_fn ids_done;
  controller_alter_partition_fn alter_done;
  struct meta_alter_partition_result alter_result;
  controller_elect_fn elect_done;
  struct meta_elect_result *elect_results; /* [elect_count], malloc'd */
  int32_t elect_count;
  void *ctx;
  struct meta_topic_result *results; /* [count] */
  int16_t code;
  int64_t first_id;
  int64_t end_offset; /* proposed: the change's last entry */
};

struct op_list {
  struct op *head, *tail;
  int32_t count;
};

/* Shared with a forwarded request in flight: its answer finds q NULL once
 * the controller is gone. */
struct flight {
  struct quorum *q;
  int lane; /* enum forward_lane_kind */
};

/* Calls forwarded to the active controller go one at a time, in order,
 * each holding its lane until this node's image shows it; a broker's
 * heartbeat has a lane of its own, as Kafka's brokers send heartbeats on a
 * channel apart from AlterPartition's: behind a call that waits on a slow
 * commit it would miss the broker's session (and get it fenced). */
enum forward_lane_kind { LANE_CALLS, LANE_HEARTBEATS, FORWARD_LANES };

struct forward_lane {
  struct op *op; /* forwarded, not yet answered here */
  struct flight *flight;
  bool answered; /* its answer came: it waits for this node's image */
};

struct quorum {
  struct meta_controller base; /* first: the vtable's ctl is this */
  struct node *node;
  struct env *env;
  struct meta_rules rules;
  struct op_list queue;    /* not started */
  struct op_list inflight; /* proposed here, in offset order */
  /* Active: the leader epoch it leads, and its latest state (one reference). */
  int32_t active_epoch;
  struct meta_image *working;
  struct forward_lane lanes[FORWARD_LANES];
  env_timer_id timer;
  uint64_t timer_due_ns;
  bool pumping, again;
  bool closed;
  bool next_forwarded; /* controller_quorum_next_call_forwarded */
  /* Controller channels to the voters, apart from the quorum's own so that
   * a slow change never times out a Raft request's connection; started at
   * the first forward, stopped with the broker lifecycle. */
  struct quorum_peers peers;
  /* The heartbeats' own connections: the active controller's server
   * answers one request per connection at once, as Kafka's does; on the
   * calls' connections a heartbeat would wait behind a forwarded call's
   * commit (Kafka's broker lifecycle manager has its own channel too). */
  struct quorum_peers beat_peers;
  bool peers_started, peers_stopped;
  /* Active: when each registered broker was last heard of (KIP-631
   * sessions), by broker id; reset when this node becomes active. */
  int32_t session_count;
  struct session {
    int32_t broker_id;
    uint64_t last_ns;
    bool shutting_down;
  } sessions[META_BROKERS_MAX];
  /* Active: when the next leader imbalance check is due (leader_balance.h). */
  uint64_t rebalance_due_ns;
};

static const struct meta_controller_ops quorum_ops;

static struct quorum *quorum_of(struct meta_controller *ctl) {
  ASSERT(ctl != NULL);
  struct quorum *q = (struct quorum *)ctl;
  ASSERT(q->queue.count >= 0 && q->queue.count <= OPS_MAX);
  return q;
}

/* ---- lists ---- */

static void list_push(struct op_list *l, struct op *op) {
  ASSERT(op->next == NULL && l->count < OPS_MAX);
  if (l->tail)
    l->tail->next = op;
  else
    l->head = op;
  l->tail = op;
  l->count++;
}

static void list_push_front(struct op_list *l, struct op *op) {
  ASSERT(op->next == NULL && l->count < OPS_MAX);
  op->next = l->head;
  l->head = op;
  if (!l->tail) l->tail = op;
  l->count++;
}

static struct op *list_pop(struct op_list *l) {
  struct op *op = l->head;
  ASSERT(op != NULL && l->count > 0);
  l->head = op->next;
  if (!l->head) l->tail = NULL;
  l->count--;
  op->next = NULL;
  return op;
}

/* Takes the first op of kind out of l; NULL if there is none. */
static struct op *list_take_kind(struct op_list *l, enum op_kind kind) {
  struct op *prev = NULL;
  int32_t n = 0;
  for (struct op *op = l->head; op != NULL; prev = op, op = op->next, n++) {
    ASSERT(n < l->count);
    if (op->kind != kind) continue;
    if (prev)
      prev->next = op->next;
    else
      l->head = op->next;
    if (l->tail == op) l->tail = prev;
    l->count--;
    op->next = NULL;
    return op;
  }
  return NULL;
}

static bool lanes_busy(const struct quorum *q) {
  for (int i = 0; i < FORWARD_LANES; i++)
    if (q->lanes[i].op != NULL) return true;
  return false;
}

/* ---- answers ---- */

static void op_free(struct op *op) {
  free(op->elect_results);
  free(op->results);
  free(op);
}

static void results_alloc(struct op *op) {
  if (op->results) return;
  op->results = calloc((size_t)(op->count ? op->count : 1), sizeof *op->results);
  ASSERT(op->results != NULL);
}

/* Answers op with what it holds, and frees it. */
static void answer(struct op *op) {
  if (op->kind == OP_REGISTER) {
    op->done(op->ctx, op->code);
  } else if (op->kind == OP_HEARTBEAT) {
    op->hb_result.error_code = op->code;
    op->hb_done(op->ctx, &op->hb_result);
  } else if (op->kind == OP_ALTER_PARTITION) {
    op->alter_result.error_code = op->code;
    op->alter_done(op->ctx, &op->alter_result);
  } else if (op->kind == OP_ELECT_LEADERS) {
    op->elect_done(op->ctx, op->code, op->elect_results, op->elect_count);
  } else if (op->kind == OP_PRODUCER_IDS) {
    bool ok = op->code == KERR_NONE;
    op->ids_done(op->ctx, op->code, ok ? op->first_id : -1,
                 ok ? META_PRODUCER_ID_BLOCK_SIZE : 0);
  } else {
    results_alloc(op);
    op->topics_done(op->ctx, op->results, op->count);
  }
  op_free(op);
}

static void refuse(struct op *op, int16_t code, const char *message) {
  ASSERT(code != KERR_NONE);
  op->code = code;
  if (op->kind != OP_REGISTER && op->kind != OP_PRODUCER_IDS && op->kind != OP_HEARTBEAT &&
      op->kind != OP_ALTER_PARTITION && op->kind != OP_ELECT_LEADERS) {
    free(op->results);
    op->results = NULL;
    results_alloc(op);
    for (int32_t i = 0; i < op->count; i++) {
      op->results[i].error_code = code;
      str_fmt(op->results[i].error_message, sizeof op->results[i].error_message, "%s", message);
    }
  }
  answer(op);
}

static void refuse_list(struct op_list *l, int16_t code, const char *message) {
  for (int32_t n = l->count; n > 0; n--) refuse(list_pop(l), code, message);
  ASSERT(l->head == NULL && l->count == 0);
}

/* ---- leadership ---- */

static void sessions_reset(struct quorum *q);
static uint64_t rebalance_interval_ns(const struct quorum *q);
static void forward_take_back(struct quorum *q);

static int64_t image_offset(const struct quorum *q) { return metadata_loader_offset(q->node); }

/* The epoch this node leads and has read its own LeaderChange of; -1. */
static int32_t active_epoch_now(const struct quorum *q) {
  const struct raft *core = raft_node_core(q->node);
  if (core == NULL || !raft_is_leader(core)) return -1;
  struct raft_quorum_state qs;
  raft_quorum_state(core, &qs);
  int32_t epoch, leader;
  metadata_loader_leader(q->node, &epoch, &leader);
  return epoch == qs.leader_epoch && leader == q->node->cfg.node_id ? epoch : -1;
}

/* KRaft's controller reverts to the committed image when it loses the
 * leadership; what it proposed and did not see applied is answered
 * NOT_CONTROLLER (it may still commit under the next leader: a retry then
 * finds it done). */
static void leadership_follow(struct quorum *q) {
  int32_t epoch = active_epoch_now(q);
  if (epoch == q->active_epoch) return;
  refuse_list(&q->inflight, KERR_NOT_CONTROLLER, "The active controller changed.");
  if (q->working) meta_image_unref(q->working);
  q->working = NULL;
  q->active_epoch = epoch;
  if (epoch >= 0) {
    q->working = q->node->image;
    meta_image_ref(q->working);
    sessions_reset(q);
    q->rebalance_due_ns = q->env->now_ns(q->env) + rebalance_interval_ns(q);
    forward_take_back(q);
    env_log(q->env, ENV_LOG_INFO, "node %d is the active controller in epoch %d at offset %lld",
            q->node->cfg.node_id, epoch, (long long)image_offset(q));
  }
}

/* A node that becomes active takes back the call it forwarded to the old
 * leader and runs it itself: that leader may be down or may be waiting on
 * this node, and would only answer NOT_CONTROLLER once it learns of the
 * new epoch (the channel's timeout is long). Its late answer is dropped. */
static void forward_take_back(struct quorum *q) {
  for (int i = FORWARD_LANES - 1; i >= 0; i--) { /* the calls' first in the queue */
    struct forward_lane *lane = &q->lanes[i];
    if (lane->op == NULL || lane->answered) continue;
    ASSERT(lane->flight != NULL);
    lane->flight->q = NULL;
    lane->flight = NULL;
    struct op *op = lane->op;
    lane->op = NULL;
    free(op->results);
    op->results = NULL;
    list_push_front(&q->queue, op);
  }
}

/* A call forwarded here never waits on a controller that is not active
 * (behind this node's own calls waiting for a leader, whose leader may be
 * the forwarder): the forwarder retries with whoever leads. */
static void refuse_forwarded(struct quorum *q) {
  if (q->active_epoch >= 0) return;
  struct op_list keep = {0}, forwarded = {0};
  for (int32_t n = q->queue.count; n > 0; n--) {
    struct op *op = list_pop(&q->queue);
    list_push(op->forwarded ? &forwarded : &keep, op);
  }
  q->queue = keep;
  refuse_list(&forwarded, KERR_NOT_CONTROLLER, "This node is not the active controller.");
}

static void answer_applied(struct quorum *q) {
  int64_t applied = metadata_loader_landed_offset(q->node);
  for (int32_t n = q->inflight.count; n > 0 && q->inflight.head->end_offset <= applied; n--)
    answer(list_pop(&q->inflight));
}

/* ---- the active controller ---- */

static void rule_run(struct quorum *q, const struct op *op, int32_t i,
                     const struct meta_image *image, struct meta_delta *delta,
                     struct meta_topic_result *r) {
  switch (op->kind) {
  case OP_CREATE_TOPICS:
    meta_rule_create_topic(&q->rules, image, &op->in.create[i], delta, r);
    return;
  case OP_CREATE_PARTITIONS:
    meta_rule_create_partitions(&q->rules, image, &op->in.grow[i], delta, r);
    return;
  case OP_DELETE_TOPICS:
    meta_rule_delete_topic(&q->rules, image, &op->in.remove[i], delta, r);
    return;
  case OP_ALTER_CONFIGS:
    meta_rule_alter_configs(&q->rules, image, &op->in.configs[i], delta, r);
    return;
  case OP_REASSIGN:
    memset(r, 0, sizeof *r);
    r->error_code = meta_rule_reassign(image, &op->in.reassign[i], delta);
    return;
  case OP_REGISTER:
  case OP_PRODUCER_IDS:
  case OP_HEARTBEAT:
  case OP_ALTER_PARTITION:
  case OP_ELECT_LEADERS:
    break;
  }
  UNREACHABLE();
}

/* Topic by topic against the working state, each seeing the earlier ones. */
static void decide_topics(struct quorum *q, struct op *op, struct meta_delta *delta) {
  results_alloc(op);
  struct meta_image *scratch = q->working;
  meta_image_ref(scratch);
  for (int32_t i = 0; i < op->count; i++) {
    int32_t start = delta->count;
    struct meta_topic_result *r = &op->results[i];
    rule_run(q, op, i, scratch, delta, r);
    ASSERT(r->error_code == KERR_NONE || delta->count == start);
    if (op->validate_only) {
      meta_delta_truncate(delta, start);
      memset(&r->topic_id, 0, sizeof r->topic_id); /* nothing was created */
      continue;
    }
    if (delta->count == start) continue;
    struct meta_delta tail = {delta->records + start, delta->count - start,
                              delta->count - start};
    struct meta_image *next;
    int rc = meta_image_build(scratch, &tail, &next);
    ASSERT(rc == 0); /* the rules only write records that apply */
    meta_image_unref(scratch);
    scratch = next;
  }
  meta_image_unref(scratch);
}

/* ---- KIP-631 sessions, on the active controller ---- */

static struct session *session_of(struct quorum *q, int32_t broker_id) {
  for (int32_t i = 0; i < q->session_count; i++)
    if (q->sessions[i].broker_id == broker_id) return &q->sessions[i];
  if (q->session_count == META_BROKERS_MAX) return NULL;
  struct session *s = &q->sessions[q->session_count++];
  *s = (struct session){.broker_id = broker_id, .last_ns = q->env->now_ns(q->env)};
  return s;
}

/* A new active controller gives every broker a full session from now. */
static void sessions_reset(struct quorum *q) {
  q->session_count = 0;
  for (int32_t i = 0; i < q->working->broker_count; i++)
    (void)session_of(q, q->working->brokers[i].id);
}

static struct meta_leader_policy policy_of(const struct quorum *q) {
  struct meta_leader_policy policy = {.unclean_leader_election =
                                          q->node->cfg.unclean_leader_election_enable,
                                      .elr = q->node->cfg.eligible_leader_replicas_enable,
                                      .min_insync_replicas = q->node->cfg.min_insync_replicas};
#ifdef SLUICE_MUTANT_ELR_IGNORED /* mutant: the controller never keeps an ELR */
  policy.elr = false;
#endif
  return policy;
}

/* A broker's heartbeat: its session goes on; a broker that has caught up
 * with the log (its metadata offset has reached its registration record)
 * and does not ask to stay fenced is unfenced; one that asks to shut down
 * is fenced and its leaderships move (KIP-631 controlled shutdown), and is
 * told to go once that is committed. */
static void decide_heartbeat(struct quorum *q, struct op *op, struct meta_delta *delta) {
  const struct meta_heartbeat *hb = &op->in.hb;
  struct meta_heartbeat_result *r = &op->hb_result;
  const struct meta_broker *b = meta_image_broker(q->working, hb->broker_id);
  op->code = b == NULL                      ? KERR_BROKER_ID_NOT_REGISTERED
             : b->epoch != hb->broker_epoch ? KERR_STALE_BROKER_EPOCH
                                            : KERR_NONE;
  if (op->code != KERR_NONE) return;
  struct session *s = session_of(q, hb->broker_id);
  if (s) s->last_ns = q->env->now_ns(q->env);
  struct meta_leader_policy policy = policy_of(q);
  r->is_caught_up = hb->current_metadata_offset >= b->epoch;
  if (hb->want_shut_down) {
    if (s && !s->shutting_down)
      op->code = meta_rule_controlled_shutdown(&policy, q->working, hb->broker_id,
                                               hb->broker_epoch, delta);
    if (s) s->shutting_down = true;
    r->is_fenced = true;
    r->should_shut_down = true; /* answered once the moves are committed */
    return;
  }
  bool fence = hb->want_fence || (b->fenced && !r->is_caught_up);
  op->code = meta_rule_fence_broker(&policy, q->working, hb->broker_id, hb->broker_epoch, fence,
                                    delta);
  r->is_fenced = fence;
}

/* KIP-730. A block asked for on the controller listener is checked as
 * Kafka's controller checks it: an unknown broker, or an epoch that is not
 * its registration's (the request's default -1 included), is
 * STALE_BROKER_EPOCH. This node's own broker asks with the epoch its image
 * holds (-1 before its registration is in it: not checked). */
static void decide_producer_ids(struct quorum *q, struct op *op, struct meta_delta *delta) {
  const struct meta_broker *b = meta_image_broker(q->working, op->in.ids.broker_id);
  if (op->forwarded && (b == NULL || b->epoch != op->in.ids.broker_epoch)) {
    op->code = KERR_STALE_BROKER_EPOCH;
    return;
  }
  op->code = meta_rule_allocate_producer_ids(q->working, op->in.ids.broker_id,
                                             op->in.ids.broker_epoch, delta, &op->first_id);
}

/* KIP-631 registration; a restarted broker's old leaderships move first
 * (meta_rule_reregistration), all in the same change. */
static void decide_registration(struct quorum *q, struct op *op, struct meta_delta *delta) {
  const struct meta_broker_registration *in = &op->in.registration;
  struct meta_leader_policy policy = policy_of(q);
  if (policy.elr && meta_reregistration_unclean(q->working, in->broker_id, in->incarnation_id,
                                                in->previous_broker_epoch))
    env_log(q->env, ENV_LOG_INFO,
            "broker %d registers after an unclean shutdown (previous broker epoch %lld, "
            "registered in %lld): it leaves every ISR and ELR",
            in->broker_id, (long long)in->previous_broker_epoch,
            (long long)meta_image_broker(q->working, in->broker_id)->epoch);
  int32_t moved =
      in->broker_id >= 0
          ? meta_rule_reregistration(&policy, q->working, in->broker_id, in->incarnation_id,
                                     in->previous_broker_epoch, delta)
          : 0;
  op->code = meta_rule_register_broker(q->working, in, delta);
  if (op->code != KERR_NONE) {
    meta_delta_truncate(delta, 0);
    return;
  }
  if (moved > 0)
    env_log(q->env, ENV_LOG_INFO,
            "broker %d registers again (a new incarnation): %d partitions change first",
            in->broker_id, moved);
}

static void decide(struct quorum *q, struct op *op, struct meta_delta *delta) {
  if (op->kind == OP_REGISTER) {
    decide_registration(q, op, delta);
    /* KIP-631: a broker starts fenced, until its heartbeat says it caught up. */
    for (int32_t i = 0; i < delta->count; i++)
      if (delta->records[i].type == META_REGISTER_BROKER_RECORD)
        delta->records[i].register_broker.fenced = true;
    struct session *s =
        op->code == KERR_NONE ? session_of(q, op->in.registration.broker_id) : NULL;
    if (s) *s = (struct session){s->broker_id, q->env->now_ns(q->env), false};
  } else if (op->kind == OP_HEARTBEAT) {
    decide_heartbeat(q, op, delta);
  } else if (op->kind == OP_ALTER_PARTITION) {
    struct meta_leader_policy policy = policy_of(q);
    op->code =
        meta_rule_alter_partition(&policy, q->working, &op->in.alter, delta, &op->alter_result);
  } else if (op->kind == OP_ELECT_LEADERS) {
    op->code = KERR_NONE;
    free(op->elect_results);
    meta_rule_elect_leaders(q->working, op->in.elect, delta, &op->elect_results,
                            &op->elect_count);
  } else if (op->kind == OP_PRODUCER_IDS)
    decide_producer_ids(q, op, delta);
  else
    decide_topics(q, op, delta);
}

static void marker(struct meta_delta *d, enum meta_record_type type) {
  int64_t after = d->count ? d->records[d->count - 1].offset + 1 : 0;
  ASSERT(meta_delta_add(d, type, after) != NULL);
}

/* The change as entries: the records, bracketed by KIP-868 markers when
 * there are several, renumbered from first. */
static void frame_change(const struct meta_delta *delta, int64_t first,
                         struct meta_delta *out) {
  if (delta->count > 1) marker(out, META_BEGIN_TRANSACTION_RECORD);
  for (int32_t i = 0; i < delta->count; i++) {
    struct meta_record *r = meta_delta_add(out, delta->records[i].type, out->count);
    ASSERT(r != NULL);
    *r = delta->records[i];
    r->offset = out->count - 1;
  }
  if (delta->count > 1) marker(out, META_END_TRANSACTION_RECORD);
  for (int32_t i = 0; i < out->count; i++) out->records[i].offset += first;
  /* KIP-631: a broker's epoch is the offset of its registration record. */
  for (int32_t i = 0; i < out->count; i++)
    if (out->records[i].type == META_REGISTER_BROKER_RECORD)
      out->records[i].register_broker.broker_epoch = out->records[i].offset;
}

/* Proposes the change; false (nothing appended) when this node cannot. */
static bool propose(struct quorum *q, struct op *op, const struct meta_delta *delta) {
  const struct raft *core = raft_node_core(q->node);
  ASSERT(delta->count > 0);
  if (core == NULL) return false;
  if (delta->count + 2 > CHANGE_RECORDS_MAX) {
    /* Said here, for every caller: a broker retrying its registration, or a
     * fencing retried each session, would otherwise fail in silence. */
    env_log(q->env, ENV_LOG_ERROR,
            "controller: a change of %d records does not fit the metadata log (at most %d "
            "records per change, %d entries held in memory: RAFT_LOG_ENTRIES_MAX); refused",
            (int)delta->count, (int)CHANGE_RECORDS_MAX, (int)RAFT_LOG_ENTRIES_MAX);
    return false;
  }
  struct meta_delta framed;
  meta_delta_init(&framed);
  frame_change(delta, raft_end_offset(core), &framed);
  ASSERT(framed.count >= 0); /* what the allocations below size by */
  struct buf bytes;
  buf_init(&bytes);
  size_t *at = calloc((size_t)framed.count + 1, sizeof *at);
  const uint8_t **values = calloc((size_t)framed.count, sizeof *values);
  uint32_t *sizes = calloc((size_t)framed.count, sizeof *sizes);
  ASSERT(at != NULL && values != NULL && sizes != NULL);
  bool fits = true;
  for (int32_t i = 0; i < framed.count; i++) {
    at[i] = bytes.len;
    meta_record_encode(&framed.records[i], &bytes);
    sizes[i] = (uint32_t)(bytes.len - at[i]);
    fits = fits && sizes[i] <= RAFT_PAYLOAD_MAX;
  }
  for (int32_t i = 0; i < framed.count; i++) values[i] = bytes.data + at[i];
  int32_t epoch = -1;
  int64_t first = fits ? raft_node_propose(q->node, values, sizes, framed.count, &epoch) : -1;
  bool ok = first >= 0 && epoch == q->active_epoch;
  if (ok) {
    ASSERT(first == framed.records[0].offset);
    struct meta_image *next;
    int rc = meta_image_build(q->working, &framed, &next);
    ASSERT(rc == 0);
    meta_image_unref(q->working);
    q->working = next;
    if (op) op->end_offset = framed.records[framed.count - 1].offset;
  }
  free(at);
  free(values);
  free(sizes);
  buf_free(&bytes);
  meta_delta_free(&framed);
  return ok;
}

/* KIP-631: a broker not heard of for broker.session.timeout.ms is fenced
 * and its leaderships move to the rest of their ISRs. */
static void sessions_expire(struct quorum *q) {
  uint64_t now = q->env->now_ns(q->env);
  uint64_t timeout_ns = (uint64_t)q->node->cfg.broker_session_timeout_ms * NS_PER_MS;
  struct meta_leader_policy policy = policy_of(q);
  for (int32_t i = 0; i < q->working->broker_count && q->active_epoch >= 0; i++) {
    const struct meta_broker *b = &q->working->brokers[i];
    struct session *s = session_of(q, b->id);
    if (b->fenced || s == NULL || s->last_ns + timeout_ns > now) continue;
    struct meta_delta delta;
    meta_delta_init(&delta);
    int32_t id = b->id; /* b is gone once the working image moves */
    int16_t code = meta_rule_fence_broker(&policy, q->working, id, b->epoch, true, &delta);
    ASSERT(code == KERR_NONE);
    env_log(q->env, ENV_LOG_WARN, "broker %d missed its session (%d ms): fenced, %d records",
            id, q->node->cfg.broker_session_timeout_ms, delta.count);
    if (delta.count > 0 && !propose(q, NULL, &delta))
      env_log(q->env, ENV_LOG_ERROR, "fencing broker %d could not be proposed", id);
    s->last_ns = now; /* not again before another session */
    meta_delta_free(&delta);
  }
}

static uint64_t rebalance_interval_ns(const struct quorum *q) {
  int64_t s = q->node->cfg.leader_imbalance_check_interval_seconds;
  ASSERT(s >= 1);
  return s > (int64_t)(UINT64_MAX / 2 / NS_PER_MS / 1000) ? UINT64_MAX / 2
                                                          : (uint64_t)s * 1000 * NS_PER_MS;
}

/* auto.leader.rebalance.enable: every leader.imbalance.check.interval.seconds
 * the active controller gives the leadership back to preferred replicas
 * that are in sync and unfenced, for brokers whose share of such
 * partitions exceeds leader.imbalance.per.broker.percentage (the ZooKeeper
 * controller's rule; Kafka 3.9's KRaft controller, KAFKA-13682, moves every
 * imbalanced partition, as a percentage of 0 does here). */
static void leaders_rebalance(struct quorum *q) {
  const struct config *cfg = &q->node->cfg;
  uint64_t now = q->env->now_ns(q->env);
  if (!cfg->auto_leader_rebalance_enable || now < q->rebalance_due_ns) return;
  q->rebalance_due_ns = now + rebalance_interval_ns(q);
  struct meta_delta delta;
  meta_delta_init(&delta);
  int32_t n = meta_rule_rebalance_leaders(
      q->working, cfg->leader_imbalance_per_broker_percentage, REBALANCE_ELECTIONS_MAX, &delta);
  if (n > 0) {
    env_log(q->env, ENV_LOG_INFO, "leader rebalance: %d partitions back to preferred replicas",
            n);
    if (!propose(q, NULL, &delta))
      env_log(q->env, ENV_LOG_ERROR, "the leader rebalance could not be proposed");
  }
  meta_delta_free(&delta);
}

/* KIP-455: a reassignment completes once its target replicas are all in
 * the ISR; the active controller looks after every change (an ISR
 * expansion through AlterPartition is what usually completes one). */
static void reassignments_progress(struct quorum *q) {
  enum { REASSIGN_COMPLETIONS_MAX = 64 }; /* a change's worth; more on the next look */
  struct meta_delta delta;
  meta_delta_init(&delta);
  int32_t n = meta_rule_reassignments_progress(q->working, &delta, REASSIGN_COMPLETIONS_MAX);
  if (n > 0) {
    env_log(q->env, ENV_LOG_INFO, "%d partition reassignments complete", n);
    if (!propose(q, NULL, &delta))
      env_log(q->env, ENV_LOG_ERROR, "completing reassignments could not be proposed");
  }
  meta_delta_free(&delta);
}

static void run_active(struct quorum *q, struct op *op) {
  struct meta_delta delta;
  meta_delta_init(&delta);
  decide(q, op, &delta);
  if (delta.count == 0) {
    answer(op); /* refused, or validate_only: nothing to commit */
  } else if (propose(q, op, &delta)) {
    list_push(&q->inflight, op);
  } else if (active_epoch_now(q) != q->active_epoch) {
    refuse(op, KERR_NOT_CONTROLLER, "The active controller changed.");
  } else {
    /* Until snapshots trim it, the in-memory log (RAFT_LOG_ENTRIES_MAX
     * entries) bounds what can be proposed. */
    if (delta.count + 2 <= CHANGE_RECORDS_MAX)
      env_log(q->env, ENV_LOG_WARN,
              "controller: the metadata log is full (RAFT_LOG_ENTRIES_MAX, %d entries): a "
              "change of %d records refused until a snapshot trims it",
              (int)RAFT_LOG_ENTRIES_MAX, (int)delta.count);
    refuse(op, KERR_UNKNOWN_SERVER_ERROR,
           "The change does not fit the metadata log (too many records, or the log is "
           "full).");
  }
  meta_delta_free(&delta);
}

/* ---- forwarding to the active controller ---- */

static void pump(struct quorum *q);

static struct kstr kstr_slice(const char *s) { return kstr_of(s); }

struct forward_ctx {
  struct flight *flight;
  int16_t version;
};

static void encode_create_topics(struct wr *w, int16_t v, const void *m) {
  create_topics_request_encode(w, v, m);
}
static void encode_delete_topics(struct wr *w, int16_t v, const void *m) {
  delete_topics_request_encode(w, v, m);
}
static void encode_create_partitions(struct wr *w, int16_t v, const void *m) {
  create_partitions_request_encode(w, v, m);
}
static void encode_registration(struct wr *w, int16_t v, const void *m) {
  broker_registration_request_encode(w, v, m);
}
static void encode_heartbeat(struct wr *w, int16_t v, const void *m) {
  broker_heartbeat_request_encode(w, v, m);
}
static void encode_alter_partition(struct wr *w, int16_t v, const void *m) {
  alter_partition_request_encode(w, v, m);
}

/* AlterPartition v2+ (topic ids); v3 carries each member's broker epoch
 * (KIP-903). */
static int send_alter_partition(struct op *op, struct channel *ch, int16_t v,
                                struct forward_ctx *f, kconn_response_fn fn) {
  const struct meta_alter_partition *in = &op->in.alter;
  struct alter_partition_request r;
  alter_partition_request_init(&r);
  struct alter_partition_request_topic_data t;
  alter_partition_request_topic_data_init(&t);
  struct alter_partition_request_partition_data pd;
  alter_partition_request_partition_data_init(&pd);
  struct alter_partition_request_broker_state states[META_REPLICAS_MAX];
  int32_t isr[META_REPLICAS_MAX];
  for (int32_t i = 0; i < in->isr_count; i++) {
    states[i] =
        (struct alter_partition_request_broker_state){in->isr[i], in->isr_broker_epochs[i]};
    isr[i] = in->isr[i];
  }
  pd.partition_index = in->partition_id;
  pd.leader_epoch = in->leader_epoch;
  pd.partition_epoch = in->partition_epoch;
  pd.new_isr = isr;
  pd.new_isr_count = in->isr_count;
  pd.new_isr_with_epochs = states;
  pd.new_isr_with_epochs_count = in->isr_count;
  t.topic_id = in->topic_id;
  t.partitions = &pd;
  t.partitions_count = 1;
  r.broker_id = in->broker_id;
  r.broker_epoch = in->broker_epoch;
  r.topics = &t;
  r.topics_count = 1;
  return channel_send(ch, API_ALTER_PARTITION, v, encode_alter_partition, &r, fn, f);
}

static bool decode_alter_partition(struct op *op, int16_t v, struct rd *body,
                                   struct arena *arena) {
  struct alter_partition_response r;
  if (!alter_partition_response_decode(body, v, &r, arena)) return false;
  struct meta_alter_partition_result *out = &op->alter_result;
  memset(out, 0, sizeof *out);
  op->code = r.error_code;
  if (r.error_code == KERR_NONE) {
    if (r.topics_count != 1 || r.topics[0].partitions_count != 1) return false;
    const struct alter_partition_response_partition_data *pd = &r.topics[0].partitions[0];
    if (pd->isr_count < 0 || pd->isr_count > META_REPLICAS_MAX) return false;
    op->code = pd->error_code;
    out->leader_id = pd->leader_id;
    out->leader_epoch = pd->leader_epoch;
    out->partition_epoch = pd->partition_epoch;
    out->isr_count = pd->isr_count;
    if (pd->isr_count > 0) /* an error answer's ISR may be an empty, NULL array */
      memcpy(out->isr, pd->isr, (size_t)pd->isr_count * sizeof out->isr[0]);
  }
  return op->code != KERR_NOT_CONTROLLER;
}

static int32_t timeout_ms_of(const struct quorum *q, const struct op *op);

static void encode_elect_leaders(struct wr *w, int16_t v, const void *m) {
  elect_leaders_request_encode(w, v, m);
}

/* ElectLeaders v1+ (the election type) to the active controller; topics
 * null for every partition. */
static int send_elect_leaders(struct quorum *q, struct op *op, struct channel *ch, int16_t v,
                              struct forward_ctx *f, kconn_response_fn fn) {
  const struct meta_elect_leaders *in = op->in.elect;
  struct elect_leaders_request r;
  elect_leaders_request_init(&r);
  r.election_type = in->election_type;
  r.timeout_ms = timeout_ms_of(q, op);
  int32_t n = in->topic_count > 0 ? in->topic_count : 0;
  struct elect_leaders_request_topic_partitions *t = calloc((size_t)n + 1, sizeof *t);
  ASSERT(t != NULL);
  for (int32_t i = 0; i < n; i++) {
    t[i].topic = in->topics[i].name;
    t[i].partitions = (int32_t *)in->topics[i].partitions;
    t[i].partitions_count = in->topics[i].partition_count;
  }
  r.topic_partitions = in->topic_count < 0 ? NULL : t;
  r.topic_partitions_count = in->topic_count < 0 ? -1 : n;
  int rc = channel_send(ch, API_ELECT_LEADERS, v, encode_elect_leaders, &r, fn, f);
  free(t);
  return rc;
}

/* The per-partition results of the answer; false on NOT_CONTROLLER. */
static bool elect_leaders_from(struct op *op, int16_t v, struct rd *body, struct arena *arena) {
  struct elect_leaders_response r;
  if (!elect_leaders_response_decode(body, v, &r, arena)) return false;
  op->code = r.error_code;
  int64_t n = 0;
  for (int32_t i = 0; i < r.replica_election_results_count; i++)
    n += r.replica_election_results[i].partition_result_count > 0
             ? r.replica_election_results[i].partition_result_count
             : 0;
  free(op->elect_results);
  op->elect_results = calloc((size_t)n + 1, sizeof *op->elect_results);
  ASSERT(op->elect_results != NULL);
  op->elect_count = 0;
  for (int32_t i = 0; i < r.replica_election_results_count; i++) {
    const struct elect_leaders_response_replica_election_result *t =
        &r.replica_election_results[i];
    if (t->topic.len < 0 || t->topic.len >= META_TOPIC_NAME_BYTES) return false;
    for (int32_t k = 0; k < t->partition_result_count; k++) {
      struct meta_elect_result *e = &op->elect_results[op->elect_count++];
      str_fmt(e->topic, sizeof e->topic, "%.*s", (int)t->topic.len, t->topic.ptr);
      e->partition_id = t->partition_result[k].partition_id;
      e->error_code = t->partition_result[k].error_code;
    }
  }
  return op->code != KERR_NOT_CONTROLLER;
}

/* Each partition elected here has its new leader in this node's image. */
static bool elect_visible(const struct meta_image *image, const struct op *op) {
  for (int32_t i = 0; i < op->elect_count; i++) {
    const struct meta_elect_result *e = &op->elect_results[i];
    if (e->error_code != KERR_NONE) continue;
    const struct meta_topic *t = meta_image_topic(image, e->topic, strlen(e->topic));
    const struct meta_partition *p = t ? meta_topic_partition(t, e->partition_id) : NULL;
    if (p == NULL) continue; /* deleted since */
    bool preferred = op->in.elect->election_type == META_ELECTION_PREFERRED;
    if (preferred ? p->leader != p->replicas[0] : p->leader == META_NO_LEADER) return false;
  }
  return true;
}

static void encode_producer_ids(struct wr *w, int16_t v, const void *m) {
  allocate_producer_ids_request_encode(w, v, m);
}

static void encode_alter_configs(struct wr *w, int16_t v, const void *m) {
  alter_configs_request_encode(w, v, m);
}
static void encode_incremental_alter_configs(struct wr *w, int16_t v, const void *m) {
  incremental_alter_configs_request_encode(w, v, m);
}

/* The legacy AlterConfigs request of the same resources (no operations). */
static int send_legacy_alter_configs(struct op *op,
                                     const struct incremental_alter_configs_request *r,
                                     int32_t entries, struct channel *ch, int16_t v,
                                     struct forward_ctx *f, kconn_response_fn fn) {
  struct alter_configs_request a;
  alter_configs_request_init(&a);
  struct alter_configs_request_alter_configs_resource *ar =
      calloc((size_t)op->count + 1, sizeof *ar);
  struct alter_configs_request_alterable_config *ac = calloc((size_t)entries + 1, sizeof *ac);
  ASSERT(ar != NULL && ac != NULL);
  for (int32_t i = 0, at = 0; i < op->count; at += r->resources[i].configs_count, i++) {
    const struct incremental_alter_configs_request_alter_configs_resource *res =
        &r->resources[i];
    ar[i].resource_type = res->resource_type;
    ar[i].resource_name = res->resource_name;
    ar[i].configs = &ac[at];
    ar[i].configs_count = res->configs_count;
    for (int32_t k = 0; k < res->configs_count; k++) {
      ac[at + k].name = res->configs[k].name;
      ac[at + k].value = res->configs[k].value;
    }
  }
  a.resources = ar;
  a.resources_count = op->count;
  a.validate_only = op->validate_only;
  int rc = channel_send(ch, API_ALTER_CONFIGS, v, encode_alter_configs, &a, fn, f);
  free(ar);
  free(ac);
  return rc;
}

/* AlterConfigs or IncrementalAlterConfigs (KIP-339), as the call came. */
static int send_alter_configs(struct op *op, struct channel *ch, int16_t v,
                              struct forward_ctx *f, kconn_response_fn fn) {
  struct incremental_alter_configs_request r;
  incremental_alter_configs_request_init(&r);
  int32_t entries = 0;
  for (int32_t i = 0; i < op->count; i++) entries += op->in.configs[i].config_count;
  struct incremental_alter_configs_request_alter_configs_resource *res =
      calloc((size_t)op->count + 1, sizeof *res);
  struct incremental_alter_configs_request_alterable_config *c =
      calloc((size_t)entries + 1, sizeof *c);
  ASSERT(res != NULL && c != NULL);
  int32_t ci = 0;
  for (int32_t i = 0; i < op->count; i++) {
    const struct meta_alter_resource *in = &op->in.configs[i];
    res[i].resource_type = in->resource_type;
    res[i].resource_name = in->resource_name;
    res[i].configs = &c[ci];
    res[i].configs_count = in->config_count;
    for (int32_t k = 0; k < in->config_count; k++, ci++) {
      c[ci].name = in->configs[k].name;
      c[ci].config_operation = in->configs[k].op;
      c[ci].value = in->configs[k].value;
    }
  }
  r.resources = res;
  r.resources_count = op->count;
  r.validate_only = op->validate_only;
  int rc = op->count > 0 && !op->in.configs[0].incremental
               ? send_legacy_alter_configs(op, &r, entries, ch, v, f, fn)
               : channel_send(ch, API_INCREMENTAL_ALTER_CONFIGS, v,
                              encode_incremental_alter_configs, &r, fn, f);
  free(res);
  free(c);
  return rc;
}

static bool topics_from(struct op *op, struct kstr name, struct kuuid id, int16_t code,
                        struct kstr message, int32_t partitions, int16_t rf, int32_t i);

/* The per-resource results of either answer. */
static bool alter_configs_from(struct op *op, int16_t v, struct rd *body, struct arena *arena) {
  bool ok = true;
  if (op->count > 0 && !op->in.configs[0].incremental) {
    struct alter_configs_response a;
    if (!alter_configs_response_decode(body, v, &a, arena) || a.responses_count != op->count)
      return false;
    for (int32_t i = 0; i < a.responses_count; i++)
      ok &= topics_from(op, a.responses[i].resource_name, (struct kuuid){{0}},
                        a.responses[i].error_code, a.responses[i].error_message, 0, 0, i);
    return ok;
  }
  struct incremental_alter_configs_response r;
  if (!incremental_alter_configs_response_decode(body, v, &r, arena) ||
      r.responses_count != op->count)
    return false;
  for (int32_t i = 0; i < r.responses_count; i++)
    ok &= topics_from(op, r.responses[i].resource_name, (struct kuuid){{0}},
                      r.responses[i].error_code, r.responses[i].error_message, 0, 0, i);
  return ok;
}

/* KIP-730: this broker's next block of producer ids, from the active
 * controller. */
static int send_producer_ids(struct op *op, struct channel *ch, int16_t v,
                             struct forward_ctx *f, kconn_response_fn fn) {
  struct allocate_producer_ids_request r;
  allocate_producer_ids_request_init(&r);
  r.broker_id = op->in.ids.broker_id;
  r.broker_epoch = op->in.ids.broker_epoch;
  return channel_send(ch, API_ALLOCATE_PRODUCER_IDS, v, encode_producer_ids, &r, fn, f);
}

/* The block from the answer; false on NOT_CONTROLLER (try the next leader)
 * or a block that is not one. */
static bool producer_ids_from(struct op *op, int16_t v, struct rd *body, struct arena *arena) {
  struct allocate_producer_ids_response r;
  if (!allocate_producer_ids_response_decode(body, v, &r, arena)) return false;
  op->code = r.error_code;
  op->first_id = r.producer_id_start;
  if (r.error_code == KERR_NONE &&
      (r.producer_id_start < 0 || r.producer_id_len != META_PRODUCER_ID_BLOCK_SIZE))
    return false;
  return r.error_code != KERR_NOT_CONTROLLER;
}

static int send_heartbeat(struct op *op, struct channel *ch, int16_t v, struct forward_ctx *f,
                          kconn_response_fn fn) {
  const struct meta_heartbeat *in = &op->in.hb;
  struct broker_heartbeat_request r;
  broker_heartbeat_request_init(&r);
  r.broker_id = in->broker_id;
  r.broker_epoch = in->broker_epoch;
  r.current_metadata_offset = in->current_metadata_offset;
  r.want_fence = in->want_fence;
  r.want_shut_down = in->want_shut_down;
  return channel_send(ch, API_BROKER_HEARTBEAT, v, encode_heartbeat, &r, fn, f);
}

static void encode_reassign(struct wr *w, int16_t v, const void *m) {
  alter_partition_reassignments_request_encode(w, v, m);
}

static int32_t timeout_ms_of(const struct quorum *q, const struct op *op);

/* KIP-455 AlterPartitionReassignments, one topic entry per partition (the
 * answer comes back in the same order). */
static int send_reassign(struct quorum *q, struct op *op, struct channel *ch, int16_t v,
                         struct forward_ctx *f, kconn_response_fn fn) {
  struct alter_partition_reassignments_request r;
  alter_partition_reassignments_request_init(&r);
  struct alter_partition_reassignments_request_reassignable_topic *t =
      calloc((size_t)op->count + 1, sizeof *t);
  struct alter_partition_reassignments_request_reassignable_partition *p =
      calloc((size_t)op->count + 1, sizeof *p);
  ASSERT(t != NULL && p != NULL);
  for (int32_t i = 0; i < op->count; i++) {
    const struct meta_reassign *in = &op->in.reassign[i];
    p[i].partition_index = in->partition_id;
    p[i].replicas = (int32_t *)in->target;
    p[i].replicas_count = in->target_count;
    t[i].name = in->topic;
    t[i].partitions = &p[i];
    t[i].partitions_count = 1;
  }
  r.timeout_ms = timeout_ms_of(q, op);
  r.topics = t;
  r.topics_count = op->count;
  int rc = channel_send(ch, API_ALTER_PARTITION_REASSIGNMENTS, v, encode_reassign, &r, fn, f);
  free(t);
  free(p);
  return rc;
}

static bool reassign_from(struct op *op, int16_t v, struct rd *body, struct arena *arena) {
  struct alter_partition_reassignments_response r;
  if (!alter_partition_reassignments_response_decode(body, v, &r, arena)) return false;
  if (r.error_code == KERR_NOT_CONTROLLER) return false;
  bool ok = true;
  int32_t i = 0;
  for (int32_t k = 0; k < r.responses_count; k++)
    for (int32_t j = 0; j < r.responses[k].partitions_count; j++, i++) {
      const struct alter_partition_reassignments_response_reassignable_partition_response *pr =
          &r.responses[k].partitions[j];
      int16_t code = r.error_code != KERR_NONE ? r.error_code : pr->error_code;
      ok &= topics_from(op, r.responses[k].name, (struct kuuid){{0}}, code, pr->error_message,
                        0, 0, i);
    }
  return ok && i == op->count;
}

static int32_t timeout_ms_of(const struct quorum *q, const struct op *op) {
  if (op->deadline_ns == META_NO_DEADLINE) return FORWARD_TIMEOUT_MS;
  uint64_t now = q->env->now_ns(q->env);
  uint64_t left_ms = op->deadline_ns > now ? (op->deadline_ns - now) / NS_PER_MS : 0;
  return left_ms > INT32_MAX ? INT32_MAX : (int32_t)left_ms;
}

static int send_create_topics(struct quorum *q, struct op *op, struct channel *ch, int16_t v,
                              struct forward_ctx *f, kconn_response_fn fn) {
  struct create_topics_request r;
  create_topics_request_init(&r);
  struct create_topics_request_creatable_topic *t = calloc((size_t)op->count + 1, sizeof *t);
  ASSERT(t != NULL);
  int32_t assignments = 0, configs = 0;
  for (int32_t i = 0; i < op->count; i++) {
    assignments += op->in.create[i].assignment_count;
    configs += op->in.create[i].config_count;
  }
  struct create_topics_request_creatable_replica_assignment *a =
      calloc((size_t)assignments + 1, sizeof *a);
  struct create_topics_request_creatable_topic_config *c =
      calloc((size_t)configs + 1, sizeof *c);
  ASSERT(a != NULL && c != NULL);
  int32_t ai = 0, ci = 0;
  for (int32_t i = 0; i < op->count; i++) {
    const struct meta_create_topic *in = &op->in.create[i];
    create_topics_request_creatable_topic_init(&t[i]);
    t[i].name = in->name;
    t[i].num_partitions = in->assignment_count > 0 ? -1 : in->partition_count;
    t[i].replication_factor = in->assignment_count > 0 ? -1 : in->replication_factor;
    t[i].assignments = &a[ai];
    t[i].assignments_count = in->assignment_count;
    for (int32_t k = 0; k < in->assignment_count; k++, ai++) {
      a[ai].partition_index = in->assignments[k].partition_index;
      a[ai].broker_ids = (int32_t *)in->assignments[k].broker_ids;
      a[ai].broker_ids_count = in->assignments[k].broker_count;
    }
    t[i].configs = &c[ci];
    t[i].configs_count = in->config_count;
    for (int32_t k = 0; k < in->config_count; k++, ci++) {
      c[ci].name = in->configs[k].name;
      c[ci].value = in->configs[k].value;
    }
  }
  r.topics = t;
  r.topics_count = op->count;
  r.timeout_ms = timeout_ms_of(q, op);
  r.validate_only = op->validate_only;
  int rc = channel_send(ch, API_CREATE_TOPICS, v, encode_create_topics, &r, fn, f);
  free(t);
  free(a);
  free(c);
  return rc;
}

static int send_delete_topics(struct quorum *q, struct op *op, struct channel *ch, int16_t v,
                              struct forward_ctx *f, kconn_response_fn fn) {
  struct delete_topics_request r;
  delete_topics_request_init(&r);
  struct delete_topics_request_delete_topic_state *t = calloc((size_t)op->count + 1, sizeof *t);
  struct kstr *names = calloc((size_t)op->count + 1, sizeof *names);
  ASSERT(t != NULL && names != NULL);
  bool by_id = false;
  for (int32_t i = 0; i < op->count; i++) {
    const struct meta_delete_topic *in = &op->in.remove[i];
    t[i].name = in->by_id ? KSTR_NULL : in->name;
    t[i].topic_id = in->by_id ? in->id : (struct kuuid){{0}};
    names[i] = in->name;
    by_id |= in->by_id;
  }
  if (v >= 6) {
    r.topics = t;
    r.topics_count = op->count;
  } else {
    r.topic_names = names;
    r.topic_names_count = op->count;
  }
  r.timeout_ms = timeout_ms_of(q, op);
  int rc = by_id && v < 6
               ? ENV_EINVAL
               : channel_send(ch, API_DELETE_TOPICS, v, encode_delete_topics, &r, fn, f);
  free(t);
  free(names);
  return rc;
}

static int send_create_partitions(struct quorum *q, struct op *op, struct channel *ch,
                                  int16_t v, struct forward_ctx *f, kconn_response_fn fn) {
  struct create_partitions_request r;
  create_partitions_request_init(&r);
  struct create_partitions_request_create_partitions_topic *t =
      calloc((size_t)op->count + 1, sizeof *t);
  int32_t assignments = 0;
  for (int32_t i = 0; i < op->count; i++)
    if (op->in.grow[i].assignment_count > 0) assignments += op->in.grow[i].assignment_count;
  struct create_partitions_request_create_partitions_assignment *a =
      calloc((size_t)assignments + 1, sizeof *a);
  ASSERT(t != NULL && a != NULL);
  int32_t ai = 0;
  for (int32_t i = 0; i < op->count; i++) {
    const struct meta_create_partitions *in = &op->in.grow[i];
    t[i].name = in->name;
    t[i].count = in->count;
    t[i].assignments = in->assignment_count >= 0 ? &a[ai] : NULL;
    t[i].assignments_count = in->assignment_count;
    for (int32_t k = 0; k < in->assignment_count; k++, ai++) {
      a[ai].broker_ids = (int32_t *)in->assignments[k].broker_ids;
      a[ai].broker_ids_count = in->assignments[k].broker_count;
    }
  }
  r.topics = t;
  r.topics_count = op->count;
  r.timeout_ms = timeout_ms_of(q, op);
  r.validate_only = op->validate_only;
  int rc = channel_send(ch, API_CREATE_PARTITIONS, v, encode_create_partitions, &r, fn, f);
  free(t);
  free(a);
  return rc;
}

static int send_registration(struct quorum *q, struct op *op, struct channel *ch, int16_t v,
                             struct forward_ctx *f, kconn_response_fn fn) {
  const struct meta_broker_registration *in = &op->in.registration;
  struct broker_registration_request r;
  broker_registration_request_init(&r);
  struct broker_registration_request_listener l;
  broker_registration_request_listener_init(&l);
  l.name = kstr_slice(in->listener);
  l.host = kstr_slice(in->host);
  l.port = in->port;
  l.security_protocol = 0; /* PLAINTEXT */
  r.broker_id = in->broker_id;
  r.cluster_id = kstr_of(q->node->cluster_id);
  r.incarnation_id = in->incarnation_id;
  r.listeners = &l;
  r.listeners_count = 1;
  r.rack = in->rack[0] ? kstr_slice(in->rack) : KSTR_NULL;
  r.previous_broker_epoch = in->previous_broker_epoch;
  return channel_send(ch, API_BROKER_REGISTRATION, v, encode_registration, &r, fn, f);
}

/* Results from a forwarded answer; false: try again (NOT_CONTROLLER, or an
 * answer that does not decode). */
static bool topics_from(struct op *op, struct kstr name, struct kuuid id, int16_t code,
                        struct kstr message, int32_t partitions, int16_t rf, int32_t i) {
  if (i >= op->count) return false;
  struct meta_topic_result *r = &op->results[i];
  r->error_code = code;
  if (message.len > 0)
    str_fmt(r->error_message, sizeof r->error_message, "%.*s", (int)message.len, message.ptr);
  if (name.len > 0) str_fmt(r->name, sizeof r->name, "%.*s", (int)name.len, name.ptr);
  r->topic_id = id;
  r->partition_count = partitions;
  r->replication_factor = rf;
  return code != KERR_NOT_CONTROLLER;
}

static bool decode_answer(struct op *op, int16_t v, struct rd *body, struct arena *arena) {
  results_alloc(op);
  bool ok = true;
  if (op->kind == OP_CREATE_TOPICS) {
    struct create_topics_response r;
    if (!create_topics_response_decode(body, v, &r, arena) || r.topics_count != op->count)
      return false;
    for (int32_t i = 0; i < r.topics_count; i++) {
      const struct create_topics_response_creatable_topic_result *t = &r.topics[i];
      ok &= topics_from(op, t->name, t->topic_id, t->error_code, t->error_message,
                        t->num_partitions, t->replication_factor, i);
    }
  } else if (op->kind == OP_DELETE_TOPICS) {
    struct delete_topics_response r;
    if (!delete_topics_response_decode(body, v, &r, arena) || r.responses_count != op->count)
      return false;
    for (int32_t i = 0; i < r.responses_count; i++) {
      const struct delete_topics_response_deletable_topic_result *t = &r.responses[i];
      ok &= topics_from(op, t->name, t->topic_id, t->error_code, t->error_message, 0, 0, i);
    }
  } else if (op->kind == OP_CREATE_PARTITIONS) {
    struct create_partitions_response r;
    if (!create_partitions_response_decode(body, v, &r, arena) || r.results_count != op->count)
      return false;
    for (int32_t i = 0; i < r.results_count; i++) {
      const struct create_partitions_response_create_partitions_topic_result *t = &r.results[i];
      ok &= topics_from(op, t->name, (struct kuuid){{0}}, t->error_code, t->error_message,
                        op->in.grow[i].count, 0, i);
    }
  } else if (op->kind == OP_PRODUCER_IDS) {
    ok = producer_ids_from(op, v, body, arena);
  } else if (op->kind == OP_ELECT_LEADERS) {
    ok = elect_leaders_from(op, v, body, arena);
  } else if (op->kind == OP_ALTER_CONFIGS) {
    ok = alter_configs_from(op, v, body, arena);
  } else if (op->kind == OP_ALTER_PARTITION) {
    ok = decode_alter_partition(op, v, body, arena);
  } else if (op->kind == OP_REASSIGN) {
    ok = reassign_from(op, v, body, arena);
  } else if (op->kind == OP_HEARTBEAT) {
    struct broker_heartbeat_response r;
    if (!broker_heartbeat_response_decode(body, v, &r, arena)) return false;
    op->code = r.error_code;
    op->hb_result = (struct meta_heartbeat_result){r.error_code, r.is_caught_up, r.is_fenced,
                                                   r.should_shut_down};
    ok = r.error_code != KERR_NOT_CONTROLLER;
  } else {
    ASSERT(op->kind == OP_REGISTER);
    struct broker_registration_response r;
    if (!broker_registration_response_decode(body, v, &r, arena)) return false;
    op->code = r.error_code;
    ok = r.error_code != KERR_NOT_CONTROLLER;
  }
  return ok;
}

static void forward_answered(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct forward_ctx *fc = ctx;
  struct flight *f = fc->flight;
  int16_t v = fc->version;
  free(fc);
  struct quorum *q = f->q;
  int lane_kind = f->lane;
  if (q == NULL) {
    free(f);
    return; /* the controller closed: the call was answered then */
  }
  ASSERT(lane_kind >= 0 && lane_kind < FORWARD_LANES);
  struct forward_lane *lane = &q->lanes[lane_kind];
  ASSERT(lane->flight == f && lane->op != NULL && !lane->answered);
  free(f);
  lane->flight = NULL;
  struct op *op = lane->op;
  if (err != 0 || !decode_answer(op, v, body, arena)) {
    lane->op = NULL; /* the next leader, after a pause */
    free(op->results);
    op->results = NULL;
    list_push_front(&q->queue, op);
  } else {
    lane->answered = true;
  }
  pump(q);
}

/* A config change is in this node's image once the rule, run against it,
 * has nothing left to change for the resources that succeeded (a resource
 * that fails here now, its topic deleted since, is not waited for). */
static bool alter_configs_visible(const struct quorum *q, const struct op *op) {
  bool visible = true;
  for (int32_t i = 0; i < op->count && visible; i++) {
    if (op->results[i].error_code != KERR_NONE) continue;
    struct meta_delta delta;
    meta_delta_init(&delta);
    struct meta_topic_result r;
    meta_rule_alter_configs(&q->rules, q->node->image, &op->in.configs[i], &delta, &r);
    visible = r.error_code != KERR_NONE || delta.count == 0;
    meta_delta_free(&delta);
  }
  return visible;
}

static bool same_list(const int32_t *a, int32_t a_count, const int32_t *b, int32_t b_count) {
  return a_count == b_count &&
         (a_count <= 0 || memcmp(a, b, (size_t)a_count * sizeof a[0]) == 0);
}

/* A reassignment is in this node's image once its partition shows it (in
 * progress toward the target, done, or cancelled). */
static bool reassign_visible(const struct quorum *q, const struct op *op) {
  for (int32_t i = 0; i < op->count; i++) {
    const struct meta_reassign *in = &op->in.reassign[i];
    if (op->results[i].error_code != KERR_NONE || in->topic.len <= 0) continue;
    const struct meta_topic *t =
        meta_image_topic(q->node->image, in->topic.ptr, (size_t)in->topic.len);
    const struct meta_partition *p = t ? meta_topic_partition(t, in->partition_id) : NULL;
    if (p == NULL) continue;
    int32_t target[META_REPLICAS_MAX], n = 0;
    bool moving = meta_reassignment_target(p, target, &n);
    bool shown = in->target_count < 0
                     ? !moving
                     : (moving && same_list(target, n, in->target, in->target_count)) ||
                           (!moving && same_list(p->replicas, p->replica_count, in->target,
                                                 in->target_count));
    if (!shown) return false;
  }
  return true;
}

/* The forwarded change is in this node's image (or needs not be). */
static bool forwarded_visible(const struct quorum *q, const struct op *op) {
  const struct meta_image *image = q->node->image;
  if (metadata_loader_landed_offset(q->node) < image->offset) return false; /* files to land */
  if (op->kind == OP_HEARTBEAT || op->kind == OP_PRODUCER_IDS) return true;
  if (op->kind == OP_ELECT_LEADERS) return elect_visible(image, op);
  if (op->kind == OP_ALTER_PARTITION) {
    const struct meta_topic *t = meta_image_topic_by_id(image, op->in.alter.topic_id);
    const struct meta_partition *p =
        t ? meta_topic_partition(t, op->in.alter.partition_id) : NULL;
    return op->code != KERR_NONE || p == NULL ||
           p->partition_epoch >= op->alter_result.partition_epoch;
  }
  if (op->kind == OP_REGISTER) {
    const struct meta_broker *b = meta_image_broker(image, op->in.registration.broker_id);
    return op->code != KERR_NONE ||
           (b != NULL && memcmp(&b->incarnation_id, &op->in.registration.incarnation_id,
                                sizeof b->incarnation_id) == 0);
  }
  if (op->validate_only) return true;
  if (op->kind == OP_ALTER_CONFIGS) return alter_configs_visible(q, op);
  if (op->kind == OP_REASSIGN) return reassign_visible(q, op);
  for (int32_t i = 0; i < op->count; i++) {
    const struct meta_topic_result *r = &op->results[i];
    if (r->error_code != KERR_NONE) continue;
    const struct meta_topic *t = meta_image_topic(image, r->name, strlen(r->name));
    if (op->kind == OP_CREATE_TOPICS && t == NULL) return false;
    if (op->kind == OP_DELETE_TOPICS && t != NULL &&
        (meta_uuid_cmp(t->id, r->topic_id) == 0 || !op->in.remove[i].by_id))
      return false;
    if (op->kind == OP_CREATE_PARTITIONS &&
        (t == NULL || t->partition_count < op->in.grow[i].count))
      return false;
  }
  return true;
}

static bool past(const struct quorum *q, uint64_t deadline_ns) {
  return deadline_ns != META_NO_DEADLINE && deadline_ns <= q->env->now_ns(q->env);
}

static void forward_finish(struct quorum *q) {
  for (int i = 0; i < FORWARD_LANES; i++) {
    struct forward_lane *lane = &q->lanes[i];
    struct op *op = lane->op;
    if (op == NULL || !lane->answered) continue;
    /* Past its deadline the answer goes out anyway: the change is
     * committed, this node's image lags. */
    if (!forwarded_visible(q, op) && !past(q, op->deadline_ns)) continue;
    lane->op = NULL;
    lane->answered = false;
    answer(op);
  }
}

/* Sends the head call to the leader; false when it cannot now. */
static void channel_went_up(void *ctx, struct channel *ch) {
  (void)ch;
  pump(ctx);
}

static void channel_went_down(void *ctx, struct channel *ch, int err) {
  (void)ctx, (void)ch, (void)err; /* a forward in flight fails and is retried */
}

static void peers_start(struct quorum *q) {
  if (q->peers_started || q->peers_stopped || raft_node_core(q->node) == NULL) return;
  struct config *cfg = malloc(sizeof *cfg);
  ASSERT(cfg != NULL);
  *cfg = q->node->cfg;
  cfg->controller_quorum_request_timeout_ms = CHANNEL_TIMEOUT_MS;
  struct channel_listener l = {.ctx = q, .up = channel_went_up, .down = channel_went_down};
  quorum_peers_start(&q->peers, &q->node->net, cfg, &l);
  quorum_peers_start(&q->beat_peers, &q->node->net, cfg, &l);
  free(cfg);
  q->peers_started = true;
}

/* Sends op (still in the queue) to the leader in its lane; false when it
 * cannot now. */
static bool forward(struct quorum *q, int32_t leader_id, struct op *op, int lane_kind) {
  ASSERT(lane_kind >= 0 && lane_kind < FORWARD_LANES && q->lanes[lane_kind].op == NULL);
  peers_start(q);
  struct quorum_peers *peers = lane_kind == LANE_HEARTBEATS ? &q->beat_peers : &q->peers;
  struct channel *ch =
      q->peers_started && !q->peers_stopped ? quorum_peers_channel(peers, leader_id) : NULL;
  if (ch == NULL || !channel_is_up(ch)) return false;
  /* By op kind. */
  static const int16_t keys[] = {API_BROKER_REGISTRATION,
                                 API_CREATE_TOPICS,
                                 API_CREATE_PARTITIONS,
                                 API_DELETE_TOPICS,
                                 API_ALLOCATE_PRODUCER_IDS,
                                 API_BROKER_HEARTBEAT,
                                 API_INCREMENTAL_ALTER_CONFIGS,
                                 API_ALTER_PARTITION,
                                 API_ELECT_LEADERS,
                                 API_ALTER_PARTITION_REASSIGNMENTS};
  static const int16_t mins[] = {0, 2, 0, 1, 0, 0, 0, 2, 1, 0},
                       maxs[] = {3, 7, 3, 6, 0, 1, 1, 3, 2, 0};
  int16_t key = keys[op->kind], max = maxs[op->kind];
  if (op->kind == OP_ALTER_CONFIGS && op->count > 0 && !op->in.configs[0].incremental) {
    key = API_ALTER_CONFIGS;
    max = 2;
  }
  int16_t v = channel_version(ch, key, mins[op->kind], max);
  if (v < 0) return false; /* an old peer: maybe the next leader */
  struct flight *f = malloc(sizeof *f);
  struct forward_ctx *fc = malloc(sizeof *fc);
  ASSERT(f != NULL && fc != NULL);
  f->q = q;
  f->lane = lane_kind;
  fc->flight = f;
  fc->version = v;
  int rc;
  if (op->kind == OP_REGISTER)
    rc = send_registration(q, op, ch, v, fc, forward_answered);
  else if (op->kind == OP_CREATE_TOPICS)
    rc = send_create_topics(q, op, ch, v, fc, forward_answered);
  else if (op->kind == OP_CREATE_PARTITIONS)
    rc = send_create_partitions(q, op, ch, v, fc, forward_answered);
  else if (op->kind == OP_HEARTBEAT)
    rc = send_heartbeat(op, ch, v, fc, forward_answered);
  else if (op->kind == OP_ALTER_PARTITION)
    rc = send_alter_partition(op, ch, v, fc, forward_answered);
  else if (op->kind == OP_PRODUCER_IDS)
    rc = send_producer_ids(op, ch, v, fc, forward_answered);
  else if (op->kind == OP_ELECT_LEADERS)
    rc = send_elect_leaders(q, op, ch, v, fc, forward_answered);
  else if (op->kind == OP_ALTER_CONFIGS)
    rc = send_alter_configs(op, ch, v, fc, forward_answered);
  else if (op->kind == OP_REASSIGN)
    rc = send_reassign(q, op, ch, v, fc, forward_answered);
  else
    rc = send_delete_topics(q, op, ch, v, fc, forward_answered);
  if (rc != 0) {
    free(f);
    free(fc);
    return false;
  }
  q->lanes[lane_kind] = (struct forward_lane){.op = op, .flight = f, .answered = false};
  return true;
}

/* ---- the loop ---- */

static void timer_fired(void *ctx) {
  struct quorum *q = ctx;
  q->timer = 0;
  pump(q);
}

static void timer_arm(struct quorum *q, uint64_t delay_ns) {
  uint64_t due = q->env->now_ns(q->env) + delay_ns;
  if (q->timer && q->timer_due_ns <= due) return;
  if (q->timer) q->env->timer_cancel(q->env, q->timer);
  q->timer = q->env->timer_start(q->env, delay_ns, timer_fired, q);
  q->timer_due_ns = due;
}

static int32_t leader_known(const struct quorum *q) {
  const struct raft *core = raft_node_core(q->node);
  if (core == NULL || raft_role(core) == RAFT_RESIGNED) return -1;
  struct raft_quorum_state qs;
  raft_quorum_state(core, &qs);
  return qs.leader_id;
}

/* Starts what can start; false when the head call must wait. */
static bool start_next(struct quorum *q) {
  leadership_follow(q); /* an answer may have stopped the quorum here */
  struct op *op = q->queue.head;
  if (past(q, op->deadline_ns)) {
    refuse(list_pop(&q->queue), KERR_REQUEST_TIMED_OUT,
           "The controller did not reach the request in time.");
    return true;
  }
  if (q->active_epoch >= 0) {
    run_active(q, list_pop(&q->queue));
    return true;
  }
  if (op->forwarded) { /* the forwarder retries with whoever leads */
    refuse(list_pop(&q->queue), KERR_NOT_CONTROLLER, "This node is not the active controller.");
    return true;
  }
  int32_t leader = leader_known(q);
  if (leader < 0 || leader == q->node->cfg.node_id) return false; /* elected, not caught up */
  int lane_kind = op->kind == OP_HEARTBEAT ? LANE_HEARTBEATS : LANE_CALLS;
  if (q->lanes[lane_kind].op != NULL || !forward(q, leader, op, lane_kind)) return false;
  struct op *sent = list_pop(&q->queue);
  ASSERT(sent == op);
  return true;
}

/* This node's heartbeat, forwarded in its own lane even while a call waits
 * in the other (it is in the queue behind it). */
static void heartbeat_start(struct quorum *q) {
  if (q->closed || q->active_epoch >= 0 || q->lanes[LANE_HEARTBEATS].op != NULL) return;
  int32_t leader = leader_known(q);
  if (leader < 0 || leader == q->node->cfg.node_id) return;
  struct op *op = list_take_kind(&q->queue, OP_HEARTBEAT);
  if (op == NULL) return;
  if (op->forwarded || past(q, op->deadline_ns) || !forward(q, leader, op, LANE_HEARTBEATS))
    list_push_front(&q->queue, op); /* start_next refuses or retries it */
}

static void pump_once(struct quorum *q) {
  if (q->closed) { /* calls made after close */
    refuse_list(&q->queue, KERR_NOT_CONTROLLER, "The controller has shut down.");
    return;
  }
  leadership_follow(q);
  if (q->active_epoch >= 0) sessions_expire(q);
  if (q->active_epoch >= 0) leaders_rebalance(q);
  if (q->active_epoch >= 0) reassignments_progress(q);
  refuse_forwarded(q);
  answer_applied(q);
  forward_finish(q);
  heartbeat_start(q);
  for (int32_t n = q->queue.count; n > 0 && !q->closed && q->lanes[LANE_CALLS].op == NULL; n--)
    if (!start_next(q)) break;
}

static void pump(struct quorum *q) {
  if (q->pumping) { /* an answer made a call */
    q->again = true;
    return;
  }
  q->pumping = true;
  int rounds = 0;
  do {
    q->again = false;
    pump_once(q);
  } while (q->again && ++rounds < 64);
  q->pumping = false;
  bool waiting = q->queue.count > 0 || lanes_busy(q);
  if (waiting && !q->closed) timer_arm(q, (uint64_t)POLL_MS * NS_PER_MS);
  /* The active controller watches the sessions. */
  if (!waiting && !q->closed && q->active_epoch >= 0)
    timer_arm(q, (uint64_t)SESSION_CHECK_MS * NS_PER_MS);
}

void controller_quorum_changed(struct meta_controller *ctl) { pump(quorum_of(ctl)); }

static struct op *op_new(enum op_kind kind, int32_t count, uint64_t deadline_ns, void *ctx);
static void enqueue(struct quorum *q, struct op *op);

void controller_quorum_heartbeat(struct meta_controller *ctl, const struct meta_heartbeat *hb,
                                 uint64_t deadline_ns, controller_heartbeat_fn done,
                                 void *ctx) {
  struct quorum *q = quorum_of(ctl);
  ASSERT(ctl->ops == &quorum_ops && hb != NULL && done != NULL);
  struct op *op = op_new(OP_HEARTBEAT, 1, deadline_ns, ctx);
  op->in.hb = *hb;
  op->hb_done = done;
  enqueue(q, op);
}

void controller_quorum_alter_partition(struct meta_controller *ctl,
                                       const struct meta_alter_partition *in,
                                       uint64_t deadline_ns, controller_alter_partition_fn done,
                                       void *ctx) {
  struct quorum *q = quorum_of(ctl);
  ASSERT(ctl->ops == &quorum_ops && in != NULL && done != NULL);
  ASSERT(in->isr_count >= 0 && in->isr_count <= META_REPLICAS_MAX);
  struct op *op = op_new(OP_ALTER_PARTITION, 1, deadline_ns, ctx);
  op->in.alter = *in;
  op->alter_done = done;
  enqueue(q, op);
}

void controller_quorum_alter_configs(struct meta_controller *ctl,
                                     const struct meta_alter_resource *resources, int32_t count,
                                     bool validate_only, uint64_t deadline_ns,
                                     meta_topics_done_fn done, void *ctx) {
  struct quorum *q = quorum_of(ctl);
  ASSERT(ctl->ops == &quorum_ops && (resources != NULL || count == 0) && count >= 0);
  ASSERT(done != NULL);
  for (int32_t i = 1; i < count; i++)
    ASSERT(resources[i].incremental == resources[0].incremental);
  struct op *op = op_new(OP_ALTER_CONFIGS, count, deadline_ns, ctx);
  op->in.configs = resources;
  op->validate_only = validate_only;
  op->topics_done = done;
  enqueue(q, op);
}

void controller_quorum_elect_leaders(struct meta_controller *ctl,
                                     const struct meta_elect_leaders *in, uint64_t deadline_ns,
                                     controller_elect_fn done, void *ctx) {
  struct quorum *q = quorum_of(ctl);
  ASSERT(ctl->ops == &quorum_ops && in != NULL && done != NULL);
  ASSERT(in->topic_count >= -1);
  struct op *op = op_new(OP_ELECT_LEADERS, 1, deadline_ns, ctx);
  op->in.elect = in;
  op->elect_done = done;
  enqueue(q, op);
}

void controller_quorum_reassign(struct meta_controller *ctl, const struct meta_reassign *parts,
                                int32_t count, uint64_t deadline_ns, meta_topics_done_fn done,
                                void *ctx) {
  struct quorum *q = quorum_of(ctl);
  ASSERT(ctl->ops == &quorum_ops && (parts != NULL || count == 0) && count >= 0);
  ASSERT(done != NULL);
  struct op *op = op_new(OP_REASSIGN, count, deadline_ns, ctx);
  op->in.reassign = parts;
  op->topics_done = done;
  enqueue(q, op);
}

void controller_quorum_next_call_forwarded(struct meta_controller *ctl) {
  if (ctl->ops != &quorum_ops) return; /* the local controller has no one to forward to */
  quorum_of(ctl)->next_forwarded = true;
}

void controller_quorum_stop_channels(struct meta_controller *ctl) {
  if (ctl == NULL || ctl->ops != &quorum_ops) return;
  struct quorum *q = quorum_of(ctl);
  if (q->peers_stopped) return;
  q->peers_stopped = true; /* before the forward in flight fails and is queued again */
  if (q->peers_started) quorum_peers_stop(&q->peers);
  if (q->peers_started) quorum_peers_stop(&q->beat_peers);
}

bool controller_quorum_idle(const struct meta_controller *ctl) {
  if (ctl == NULL || ctl->ops != &quorum_ops) return true;
  const struct quorum *q = (const struct quorum *)ctl;
  return q->queue.count == 0 && q->inflight.count == 0 && !lanes_busy(q);
}

bool controller_quorum_is_active(const struct meta_controller *ctl) {
  ASSERT(ctl != NULL);
  return ctl->ops != &quorum_ops || controller_quorum_active(ctl);
}

bool controller_quorum_active(const struct meta_controller *ctl) {
  const struct quorum *q = (const struct quorum *)ctl;
  return q->active_epoch >= 0;
}

/* ---- the vtable ---- */

static struct op *op_new(enum op_kind kind, int32_t count, uint64_t deadline_ns, void *ctx) {
  ASSERT(count >= 0);
  struct op *op = calloc(1, sizeof *op);
  ASSERT(op != NULL);
  op->kind = kind;
  op->count = count;
  op->deadline_ns = deadline_ns;
  op->ctx = ctx;
  op->end_offset = -1;
  return op;
}

/* Never answered inside the call: the next tick runs it. */
static void enqueue(struct quorum *q, struct op *op) {
  op->forwarded = q->next_forwarded;
  q->next_forwarded = false;
  list_push(&q->queue, op);
  timer_arm(q, 0);
}

static void q_register_broker(struct meta_controller *ctl,
                              const struct meta_broker_registration *registration,
                              meta_done_fn done, void *ctx) {
  struct quorum *q = quorum_of(ctl);
  ASSERT(registration != NULL && done != NULL);
  struct op *op = op_new(OP_REGISTER, 1, META_NO_DEADLINE, ctx);
  op->in.registration = *registration;
  op->done = done;
  enqueue(q, op);
}

static void q_create_topics(struct meta_controller *ctl, const struct meta_create_topic *topics,
                            int32_t count, bool validate_only, uint64_t deadline_ns,
                            meta_topics_done_fn done, void *ctx) {
  struct quorum *q = quorum_of(ctl);
  ASSERT((topics != NULL || count == 0) && count >= 0 && done != NULL);
  struct op *op = op_new(OP_CREATE_TOPICS, count, deadline_ns, ctx);
  op->in.create = topics;
  op->validate_only = validate_only;
  op->topics_done = done;
  enqueue(q, op);
}

static void q_create_partitions(struct meta_controller *ctl,
                                const struct meta_create_partitions *topics, int32_t count,
                                bool validate_only, uint64_t deadline_ns,
                                meta_topics_done_fn done, void *ctx) {
  struct quorum *q = quorum_of(ctl);
  ASSERT((topics != NULL || count == 0) && count >= 0 && done != NULL);
  struct op *op = op_new(OP_CREATE_PARTITIONS, count, deadline_ns, ctx);
  op->in.grow = topics;
  op->validate_only = validate_only;
  op->topics_done = done;
  enqueue(q, op);
}

static void q_delete_topics(struct meta_controller *ctl, const struct meta_delete_topic *topics,
                            int32_t count, uint64_t deadline_ns, meta_topics_done_fn done,
                            void *ctx) {
  struct quorum *q = quorum_of(ctl);
  ASSERT((topics != NULL || count == 0) && count >= 0 && done != NULL);
  struct op *op = op_new(OP_DELETE_TOPICS, count, deadline_ns, ctx);
  op->in.remove = topics;
  op->topics_done = done;
  enqueue(q, op);
}

static void q_allocate_producer_ids(struct meta_controller *ctl, int32_t broker_id,
                                    int64_t broker_epoch, meta_producer_ids_fn done,
                                    void *ctx) {
  struct quorum *q = quorum_of(ctl);
  ASSERT(done != NULL);
  struct op *op = op_new(OP_PRODUCER_IDS, 1, META_NO_DEADLINE, ctx);
  op->in.ids.broker_id = broker_id;
  op->in.ids.broker_epoch = broker_epoch;
  op->ids_done = done;
  enqueue(q, op);
}

static void q_close(struct meta_controller *ctl) {
  struct quorum *q = quorum_of(ctl);
  q->closed = true;
  static const char message[] = "The controller has shut down.";
  for (int i = 0; i < FORWARD_LANES; i++) {
    struct forward_lane *lane = &q->lanes[i];
    if (lane->op == NULL) continue;
    if (lane->flight) lane->flight->q = NULL; /* freed when its answer comes */
    struct op *op = lane->op;
    *lane = (struct forward_lane){0};
    refuse(op, KERR_NOT_CONTROLLER, message);
  }
  refuse_list(&q->inflight, KERR_NOT_CONTROLLER, message);
  refuse_list(&q->queue, KERR_NOT_CONTROLLER, message);
}

static void q_destroy(struct meta_controller *ctl) {
  struct quorum *q = quorum_of(ctl);
  controller_quorum_stop_channels(ctl);
  for (int i = 0;
       i < OPS_MAX && (!q->closed || q->queue.count || q->inflight.count || lanes_busy(q)); i++)
    q_close(ctl);
  if (q->timer) q->env->timer_cancel(q->env, q->timer);
  if (q->working) meta_image_unref(q->working);
  free(q);
}

static const struct meta_controller_ops quorum_ops = {
    .register_broker = q_register_broker,
    .create_topics = q_create_topics,
    .create_partitions = q_create_partitions,
    .delete_topics = q_delete_topics,
    .allocate_producer_ids = q_allocate_producer_ids,
    .close = q_close,
    .destroy = q_destroy,
};

int controller_quorum_create(struct node *node, struct meta_controller **out) {
  ASSERT(node != NULL && node->loader != NULL && out != NULL);
  struct quorum *q = calloc(1, sizeof *q);
  ASSERT(q != NULL);
  q->base.ops = &quorum_ops;
  q->node = node;
  q->env = node->env;
  q->rules = (struct meta_rules){.env = node->env, .cfg = &node->cfg};
  q->active_epoch = -1;
  *out = &q->base;
  return 0;
}

bool controller_quorum_is_quorum(const struct meta_controller *ctl) {
  return ctl != NULL && ctl->ops == &quorum_ops;
}
