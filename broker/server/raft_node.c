/* The Raft subsystem (raft_node.h): the core's inputs and outputs over
 * env.h.
 *
 * Every input is one of: a peer's request (a handler), a response to one of
 * the core's requests (a channel callback), the one timer firing, a persist
 * that became durable (a storage callback), or a proposal. Each advances the
 * core's clock first (raft_tick with env's monotonic milliseconds), steps
 * the core, and then drains it: raft_ready until it has nothing more, each
 * ready carried out in the order docs/raft.md gives (the persist is started,
 * the messages go out: requests on the channels, responses to the requests
 * they answer), and the timer is armed for raft_deadline_ms. A drain never
 * nests: a callback that fires inside one (a send that fails at once) steps
 * the core and leaves the rest to the running drain's loop. */
#include "server/raft_node.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "meta/records.h"
#include "proto/errors.h"
#include "server/metadata_loader.h"
#include "server/server.h"
#include "server/subsystem.h"

enum { DRAIN_ROUNDS_MAX = 256 };

static int64_t now_ms(const struct raft_node *rn) {
  return (int64_t)(rn->env->now_ns(rn->env) / NS_PER_MS);
}

static bool running(const struct raft_node *rn) { return rn->state == RAFT_NODE_RUNNING; }

/* Time passes for the core before every input, so it acts on the present. */
static void advance_clock(struct raft_node *rn) {
  ASSERT(running(rn));
  raft_tick(&rn->core, now_ms(rn));
}

/* ---- peers' requests waiting for the core's answer ---- */

static struct raft_inbound *inbound_find(struct raft_node *rn, int32_t id) {
  for (int i = 0; i < RAFT_INBOUND_MAX; i++)
    if (rn->inbound[i].req != NULL && rn->inbound[i].id == id) return &rn->inbound[i];
  return NULL;
}

static struct raft_inbound *inbound_free_slot(struct raft_node *rn) {
  for (int i = 0; i < RAFT_INBOUND_MAX; i++)
    if (rn->inbound[i].req == NULL) return &rn->inbound[i];
  return NULL;
}

/* Answers a slot's request with resp and frees the slot first (the answer
 * frees the request; nothing may touch it afterwards). */
static void inbound_answer(struct raft_node *rn, struct raft_inbound *slot,
                           const struct raft_msg *resp) {
  ASSERT(slot->req != NULL && !raft_msg_is_request(resp));
  struct request *req = slot->req;
  raft_respond_fn respond = slot->respond;
  *slot = (struct raft_inbound){0};
  req->pending = NULL;
  rn->stats.requests_served++;
  respond(req, resp);
}

static void inbound_answer_error(struct raft_node *rn, struct raft_inbound *slot,
                                 int16_t error) {
  struct raft_msg req = {.kind = slot->kind, .from = slot->from, .correlation_id = slot->id};
  struct raft_msg resp;
  raft_node_error_response(rn->node, &req, error, &resp);
  inbound_answer(rn, slot, &resp);
}

/* A response the core released: to the request it answers, if that still
 * waits (the adapter may have answered it already). */
static void deliver_response(struct raft_node *rn, const struct raft_msg *m) {
  struct raft_inbound *slot = inbound_find(rn, m->correlation_id);
  if (slot == NULL || slot->from != m->to) return;
  inbound_answer(rn, slot, m);
}

/* Past their deadline, or (kind RAFT_MSG_KINDS: all) of one kind. */
static void inbound_answer_all(struct raft_node *rn, enum raft_msg_kind kind, int64_t before_ms,
                               int16_t error) {
  for (int i = 0; i < RAFT_INBOUND_MAX; i++) {
    struct raft_inbound *slot = &rn->inbound[i];
    if (slot->req == NULL) continue;
    if (kind != RAFT_MSG_KINDS && slot->kind != kind) continue;
    if (slot->deadline_ms >= before_ms) continue;
    if (error == KERR_REQUEST_TIMED_OUT) rn->stats.requests_expired++;
    inbound_answer_error(rn, slot, error);
  }
}

static int64_t inbound_deadline_ms(const struct raft_node *rn) {
  int64_t d = INT64_MAX;
  for (int i = 0; i < RAFT_INBOUND_MAX; i++)
    if (rn->inbound[i].req != NULL && rn->inbound[i].deadline_ms < d)
      d = rn->inbound[i].deadline_ms;
  return d;
}

/* ---- the timer ---- */

static void drain(struct raft_node *rn);

static void timer_stop(struct raft_node *rn) {
  if (rn->timer) rn->env->timer_cancel(rn->env, rn->timer);
  rn->timer = 0;
  rn->timer_due_ms = INT64_MAX;
}

static void timer_fired(void *ctx) {
  struct raft_node *rn = ctx;
  ASSERT(rn->timer != 0 && running(rn));
  rn->timer = 0;
  rn->timer_due_ms = INT64_MAX;
  advance_clock(rn);
  inbound_answer_all(rn, RAFT_MSG_KINDS, now_ms(rn) + 1, KERR_REQUEST_TIMED_OUT);
  drain(rn);
}

/* One timer at the earliest of the core's deadline and the inbound ones. */
static void timer_arm(struct raft_node *rn) {
  int64_t due = raft_deadline_ms(&rn->core);
  int64_t inbound = inbound_deadline_ms(rn);
  if (inbound < due) due = inbound;
  if (rn->timer && due == rn->timer_due_ms) return;
  timer_stop(rn);
  if (due == INT64_MAX) return;
  uint64_t now_ns = rn->env->now_ns(rn->env);
  uint64_t due_ns = (uint64_t)due * NS_PER_MS;
  rn->timer =
      rn->env->timer_start(rn->env, due_ns > now_ns ? due_ns - now_ns : 0, timer_fired, rn);
  rn->timer_due_ms = due;
  ASSERT(rn->timer != 0);
}

/* ---- the core's outputs ---- */

static void note_role(struct raft_node *rn, const struct raft_ready *rd) {
  bool was_leader = rn->role == RAFT_LEADER;
  rn->role = rd->role;
  rn->epoch = rd->epoch;
  rn->leader_id = rd->leader_id;
  env_log(rn->env, ENV_LOG_INFO, "raft: node %d is %s in epoch %d (leader %d)",
          rn->node->cfg.node_id, raft_role_name(rd->role), rd->epoch, rd->leader_id);
  /* A leader that stepped down forgot the fetches it held (long polls):
   * answer them now rather than at their deadline. */
  if (was_leader && rd->role != RAFT_LEADER)
    inbound_answer_all(rn, RAFT_FETCH, INT64_MAX, KERR_NOT_LEADER_OR_FOLLOWER);
}

/* A request that could not go out: a Fetch fails at once with
 * NETWORK_EXCEPTION (the core retries after its backoff, as KRaft does on a
 * failed send); the others are retried by the core's timers. */
static void send_failed(struct raft_node *rn, const struct raft_msg *m) {
  rn->stats.send_failures++;
  if (m->kind != RAFT_FETCH && m->kind != RAFT_FETCH_SNAPSHOT) return;
  struct raft_msg resp;
  raft_node_error_response(rn->node, m, KERR_NETWORK_EXCEPTION, &resp);
  resp.from = m->to;
  resp.to = m->from;
  advance_clock(rn);
  raft_step(&rn->core, &resp);
}

/* KIP-630: an accepted chunk is written before the messages that may ask
 * for the next one. */
static bool snapshot_chunk_written(struct raft_node *rn, const struct raft_snapshot_chunk *c) {
  int rc = raft_snapshot_write_chunk(rn, c);
  if (rc != 0) raft_node_fail(rn, "writing a chunk of a fetched snapshot", rc);
  return rc == 0;
}

static void carry_out(struct raft_node *rn, const struct raft_ready *rd) {
  if (rd->role_changed) note_role(rn, rd);
  if (rd->high_watermark_changed) rn->high_watermark = rd->high_watermark;
  if (rd->role_changed || rd->high_watermark_changed) rn->metadata_dirty = true;
  if (rd->has_snapshot_chunk && !snapshot_chunk_written(rn, &rd->snapshot_chunk)) return;
  if (rd->persist.seq) raft_storage_persist(rn, &rd->persist);
  for (uint32_t i = 0; i < rd->msg_count && running(rn); i++) {
    const struct raft_msg *m = &rd->msgs[i];
    if (!raft_msg_is_request(m)) {
      deliver_response(rn, m);
    } else if (raft_client_send(rn, m)) {
      rn->stats.requests_sent++;
    } else {
      send_failed(rn, m);
    }
  }
}

static void drain(struct raft_node *rn) {
  if (rn->draining || !running(rn)) return;
  rn->draining = true;
  int rounds = 0;
  for (; rounds < DRAIN_ROUNDS_MAX && running(rn) && raft_has_ready(&rn->core); rounds++) {
    raft_ready(&rn->core, &rn->ready);
    carry_out(rn, &rn->ready);
  }
  rn->draining = false;
  ASSERT(rounds < DRAIN_ROUNDS_MAX || !running(rn)); /* each round consumes what it had */
  raft_snapshot_maybe_take(rn);
  if (running(rn)) timer_arm(rn);
  /* The loader reads the newly committed entries once the drain is over, so
   * what it starts (a proposal) drains on its own. */
  if (rn->metadata_dirty && running(rn)) {
    rn->metadata_dirty = false;
    metadata_raft_changed(rn->node);
  }
}

/* ---- inputs ---- */

void raft_node_persisted(struct raft_node *rn, int err) {
  ASSERT(rn->phase == RAFT_PERSIST_IDLE);
  if (err != 0) {
    raft_node_fail(rn, "persisting the quorum state or the metadata log", err);
    return;
  }
  if (rn->state == RAFT_NODE_STOPPING) {
    rn->stop_reported = true;
    node_subsystem_stopped(rn->node);
    return;
  }
  if (!running(rn)) return;
  advance_clock(rn);
  raft_persisted(&rn->core, &rn->persist);
  drain(rn);
}

/* Leader ids a peer names must be voters (or -1): anything else would send
 * the core fetching from a node it has no channel to. */
static int32_t leader_or_none(const struct raft_node *rn, int32_t id) {
  return raft_node_voter(rn->node, id) ? id : RAFT_NO_NODE;
}

static void sanitize_leaders(const struct raft_node *rn, struct raft_msg *m) {
  switch (m->kind) {
  case RAFT_VOTE_RESPONSE:
    m->vote_response.leader_id = leader_or_none(rn, m->vote_response.leader_id);
    break;
  case RAFT_BEGIN_QUORUM_EPOCH_RESPONSE:
  case RAFT_END_QUORUM_EPOCH_RESPONSE:
    m->quorum_epoch_response.leader_id = leader_or_none(rn, m->quorum_epoch_response.leader_id);
    break;
  case RAFT_FETCH_RESPONSE:
    m->fetch_response.current_leader.leader_id =
        leader_or_none(rn, m->fetch_response.current_leader.leader_id);
    break;
  case RAFT_FETCH_SNAPSHOT_RESPONSE:
    m->fetch_snapshot_response.current_leader.leader_id =
        leader_or_none(rn, m->fetch_snapshot_response.current_leader.leader_id);
    break;
  default:
    break;
  }
}

void raft_node_response(struct raft_node *rn, struct raft_outbound *slot, int err,
                        struct raft_msg *m, const struct raft_batch_span *spans) {
  ASSERT(slot->used && slot->rn == rn);
  struct raft_msg sent = {.kind = slot->kind,
                          .from = rn->node->cfg.node_id,
                          .to = slot->to,
                          .correlation_id = slot->correlation_id};
  slot->used = false;
  if (!running(rn)) return;
  if (err != 0) {
    send_failed(rn, &sent);
    drain(rn);
    return;
  }
  rn->stats.responses_received++;
  sanitize_leaders(rn, m);
  if (m->kind == RAFT_FETCH_SNAPSHOT_RESPONSE) /* spans[0]: its bytes */
    raft_snapshot_hold_chunk(rn, m, spans[0].bytes, spans[0].size);
  advance_clock(rn);
  int64_t end_before = raft_end_offset(&rn->core);
  raft_step(&rn->core, m);
  /* The entries the core took from this response: keep the leader's bytes. */
  int64_t end_after = raft_end_offset(&rn->core);
  if (m->kind == RAFT_FETCH_RESPONSE && end_after > end_before &&
      m->fetch_response.records_base_offset == end_before) {
    for (int64_t o = end_before; o < end_after; o++)
      raft_storage_keep(rn, o, m->fetch_response.records[o - end_before].epoch,
                        &spans[o - end_before]);
  }
  drain(rn);
}

void raft_node_request(struct node *node, struct request *req, struct raft_msg *m,
                       raft_respond_fn respond) {
  ASSERT(req->pending == NULL && raft_msg_is_request(m));
  struct raft_node *rn = node->raft;
  struct raft_msg resp;
  int16_t error = KERR_NONE;
  bool from_voter = raft_node_voter(node, m->from) != NULL;
  bool voters_only = m->kind == RAFT_VOTE || m->kind == RAFT_BEGIN_QUORUM_EPOCH ||
                     m->kind == RAFT_END_QUORUM_EPOCH;
  if (rn == NULL || !running(rn))
    error = KERR_BROKER_NOT_AVAILABLE;
  else if (m->from < 0 || m->from == node->cfg.node_id)
    error = KERR_INVALID_REQUEST;
  else if (voters_only && !from_voter) /* before its epoch can move ours (KIP-595) */
    error = KERR_INCONSISTENT_VOTER_SET;
  struct raft_inbound *slot = error == KERR_NONE ? inbound_free_slot(rn) : NULL;
  if (error == KERR_NONE && slot == NULL) error = KERR_REQUEST_TIMED_OUT;
  if (error != KERR_NONE) {
    raft_node_error_response(node, m, error, &resp);
    respond(req, &resp);
    return;
  }
  int32_t id = rn->next_inbound_id++;
  if (rn->next_inbound_id == INT32_MAX) rn->next_inbound_id = 1;
  int64_t wait_ms = m->kind == RAFT_FETCH ? m->fetch.max_wait_ms : 0;
  *slot = (struct raft_inbound){.req = req,
                                .respond = respond,
                                .id = id,
                                .from = m->from,
                                .kind = m->kind,
                                .deadline_ms = now_ms(rn) + wait_ms +
                                               node->cfg.controller_quorum_request_timeout_ms};
  m->to = node->cfg.node_id;
  m->correlation_id = id;
  advance_clock(rn);
  raft_step(&rn->core, m);
  drain(rn);
  /* Answered inside the drain (the request is gone), or it waits. */
  struct raft_inbound *waiting = inbound_find(rn, id);
  if (waiting != NULL) req->pending = waiting;
}

/* ---- queries for the handlers ---- */

static enum raft_msg_kind response_of(enum raft_msg_kind kind) {
  ASSERT(kind == RAFT_VOTE || kind == RAFT_BEGIN_QUORUM_EPOCH ||
         kind == RAFT_END_QUORUM_EPOCH || kind == RAFT_FETCH || kind == RAFT_FETCH_SNAPSHOT);
  return (enum raft_msg_kind)(kind + 1);
}

void raft_node_error_response(const struct node *node, const struct raft_msg *m, int16_t error,
                              struct raft_msg *out) {
  ASSERT(error != KERR_NONE);
  const struct raft *core = raft_node_core(node);
  struct raft_quorum_state qs = {-1, RAFT_NO_NODE, RAFT_NO_NODE};
  if (core != NULL) raft_quorum_state(core, &qs);
  if (core != NULL && raft_role(core) == RAFT_RESIGNED) qs.leader_id = RAFT_NO_NODE;
  struct raft_leader_and_epoch current = {qs.leader_id, qs.leader_epoch};
  memset(out, 0, sizeof *out);
  out->kind = response_of(m->kind);
  out->from = node->cfg.node_id;
  out->to = m->from;
  out->correlation_id = m->correlation_id;
  out->error_code = error;
  switch (out->kind) {
  case RAFT_VOTE_RESPONSE:
    out->vote_response =
        (struct raft_vote_response){current.leader_id, current.leader_epoch, false};
    break;
  case RAFT_FETCH_RESPONSE:
    out->fetch_response.current_leader = current;
    out->fetch_response.high_watermark = out->fetch_response.log_start_offset = -1;
    out->fetch_response.diverging_epoch = (struct raft_epoch_end_offset){-1, -1};
    out->fetch_response.snapshot_id = (struct raft_snapshot_id){-1, -1};
    break;
  case RAFT_FETCH_SNAPSHOT_RESPONSE:
    out->fetch_snapshot_response.current_leader = current;
    out->fetch_snapshot_response.snapshot_id = (struct raft_snapshot_id){-1, -1};
    break;
  default:
    out->quorum_epoch_response =
        (struct raft_quorum_epoch_response){current.leader_id, current.leader_epoch};
  }
}

/* Each record's batch: the cached one when the core still holds that entry
 * (the bytes the leader wrote), else the response's entry encoded now (the
 * core moved on since it produced the response). */
void raft_node_fetch_records(struct node *node, const struct raft_fetch_response *f,
                             struct buf *out) {
  struct raft_node *rn = node->raft;
  ASSERT(rn != NULL && f->record_count <= RAFT_FETCH_RECORDS_MAX);
  for (uint32_t i = 0; i < f->record_count; i++) {
    int64_t o = f->records_base_offset + (int64_t)i;
    bool held = o >= raft_log_start_offset(&rn->core) && o < raft_end_offset(&rn->core) &&
                raft_entry_at(&rn->core, o)->epoch == f->records[i].epoch;
    if (held) {
      const struct raft_cached_batch *b = raft_storage_batch(rn, o);
      buf_append(out, b->bytes, b->size);
    } else {
      raft_records_encode(&f->records[i], o, rn->env->wall_ms(rn->env), rn->voters,
                          rn->voter_count, out);
    }
  }
}

const struct raft *raft_node_core(const struct node *node) {
  const struct raft_node *rn = node->raft;
  return rn != NULL && running(rn) ? &rn->core : NULL;
}

bool raft_node_cluster_id_ok(const struct node *node, struct kstr cluster_id) {
  return cluster_id.len < 0 || kstr_eq(cluster_id, node->cluster_id);
}

const struct config_voter *raft_node_voter(const struct node *node, int32_t id) {
  for (int i = 0; i < node->cfg.voter_count; i++)
    if (node->cfg.voters[i].id == id) return &node->cfg.voters[i];
  return NULL;
}

struct kstr raft_node_listener_name(const struct node *node) {
  const char *names = node->cfg.controller_listener_names;
  const char *comma = strchr(names, ',');
  int32_t len = (int32_t)(comma ? (size_t)(comma - names) : strlen(names));
  return (struct kstr){names, len};
}

bool raft_node_is_metadata_topic(struct kstr name) { return kstr_eq(name, META_LOG_TOPIC); }

struct kuuid raft_node_metadata_topic_id(void) {
  struct kuuid id = {{0}};
  id.b[15] = 1; /* Kafka's Uuid.METADATA_TOPIC_ID: (0, 1) */
  return id;
}

/* ---- failing, starting and stopping ---- */

static void channel_went_up(void *ctx, struct channel *ch) { (void)ctx, (void)ch; }
static void channel_went_down(void *ctx, struct channel *ch, int err) {
  (void)ctx, (void)ch, (void)err; /* requests in flight failed: the core retries */
}

/* Everything that runs stops; the files stay as the last persist left them. */
static void halt(struct raft_node *rn, enum raft_node_state state) {
  rn->state = state;
  timer_stop(rn);
  quorum_peers_stop(&rn->peers);
  inbound_answer_all(rn, RAFT_MSG_KINDS, INT64_MAX, KERR_NOT_LEADER_OR_FOLLOWER);
  ASSERT(inbound_deadline_ms(rn) == INT64_MAX);
}

void raft_node_fail(struct raft_node *rn, const char *what, int err) {
  env_log(rn->env, ENV_LOG_ERROR,
          "raft: %s failed (error %d): the quorum stops on node %d; restart it", what, err,
          rn->node->cfg.node_id);
  bool stopping = rn->state == RAFT_NODE_STOPPING;
  if (rn->state == RAFT_NODE_RUNNING || stopping) halt(rn, RAFT_NODE_FAILED);
  if (stopping && !rn->stop_reported && rn->phase == RAFT_PERSIST_IDLE) {
    rn->stop_reported = true;
    node_subsystem_stopped(rn->node);
  }
}

static void raft_node_free(struct raft_node *rn) {
  if (rn->state != RAFT_NODE_IDLE) halt(rn, RAFT_NODE_FAILED);
  raft_storage_close(rn);
  raft_release(&rn->core);
  free(rn);
}

/* Voter: process.roles has controller and node.id is a voter (Kafka
 * refuses a controller outside controller.quorum.voters); observer: a
 * broker-only node with voters configured. */
static int raft_config_of(const struct node *node, struct raft_config *rc) {
  const struct config *cfg = &node->cfg;
  bool controller = config_has_role(cfg, "controller");
  bool listed = raft_node_voter(node, cfg->node_id) != NULL;
  if (controller != listed) {
    env_log(node->env, ENV_LOG_ERROR,
            controller ? "node.id %d has the controller role but is not in "
                         "controller.quorum.voters"
                       : "node.id %d is in controller.quorum.voters but process.roles has "
                         "no controller",
            cfg->node_id);
    return ENV_EINVAL;
  }
  raft_config_default(rc, cfg->node_id);
  for (int i = 0; i < cfg->voter_count; i++) rc->voters[rc->voter_count++] = cfg->voters[i].id;
  rc->election_timeout_ms = cfg->controller_quorum_election_timeout_ms;
  rc->election_backoff_max_ms = cfg->controller_quorum_election_backoff_max_ms;
  rc->fetch_timeout_ms = cfg->controller_quorum_fetch_timeout_ms;
  rc->request_timeout_ms = cfg->controller_quorum_request_timeout_ms;
  rc->retry_backoff_ms = cfg->controller_quorum_retry_backoff_ms;
  rc->fetch_max_wait_ms = RAFT_FETCH_MAX_WAIT_MS;
  rc->snapshot_chunk_bytes = RAFT_SNAPSHOT_CHUNK_BYTES;
  /* KIP-996: a voter that lost its leader asks for pre-votes before it
   * raises the epoch, so one cut off for long does not depose a healthy
   * leader when it comes back. PreVote is VoteRequest v2 (Kafka 4.0, from
   * Sluice's schema overlay); raft_client.c turns it off while a voter's
   * channel serves only v0-1 (pre-vote only if every voter has it). */
  rc->pre_vote = true;
  rc->random_seed = node->env->random_u64(node->env);
  ASSERT(rc->voter_count == (uint32_t)cfg->voter_count);
  return 0;
}

/* ---- the subsystem (server/subsystem.h) ---- */

static int raft_subsystem_init(struct node *node) {
  ASSERT(node->raft == NULL);
  if (node->cfg.voter_count == 0) return 0; /* no quorum configured */
  struct raft_config rc;
  int err = raft_config_of(node, &rc);
  if (err != 0) return err;
  struct raft_node *rn = calloc(1, sizeof *rn);
  ASSERT(rn != NULL);
  rn->node = node;
  rn->env = node->env;
  rn->timer_due_ms = INT64_MAX;
  rn->next_inbound_id = 1;
  rn->leader_id = RAFT_NO_NODE;
  rn->voter_count = rc.voter_count;
  memcpy(rn->voters, rc.voters, sizeof rn->voters);
  raft_init(&rn->core, &rc);
  err = raft_storage_open(rn);
  if (err != 0) {
    raft_node_free(rn);
    return err;
  }
  node->raft = rn;
  return 0;
}

static int raft_subsystem_start(struct node *node) {
  struct raft_node *rn = node->raft;
  if (rn == NULL) return 0;
  ASSERT(rn->state == RAFT_NODE_IDLE);
  struct channel_listener l = {.ctx = rn, .up = channel_went_up, .down = channel_went_down};
  quorum_peers_start(&rn->peers, &node->net, &node->cfg, &l);
  raft_start(&rn->core, now_ms(rn));
  rn->state = RAFT_NODE_RUNNING;
  drain(rn);
  ASSERT(rn->state == RAFT_NODE_RUNNING);
  return 0;
}

/* A leader resigns first (KIP-595 EndQuorumEpoch: the voters elect at once
 * instead of after a fetch timeout); then the channels close, waiting
 * requests are answered, and the persist in flight lands before the
 * subsystem reports it stopped. */
static void raft_subsystem_shutdown(struct node *node) {
  struct raft_node *rn = node->raft;
  if (rn == NULL || rn->state != RAFT_NODE_RUNNING) {
    node_subsystem_stopped(node);
    return;
  }
  advance_clock(rn);
  raft_resign(&rn->core);
  drain(rn);
  if (rn->state != RAFT_NODE_RUNNING) { /* a storage error while draining */
    rn->stop_reported = true;
    node_subsystem_stopped(node);
    return;
  }
  halt(rn, RAFT_NODE_STOPPING);
  if (rn->phase == RAFT_PERSIST_IDLE) {
    rn->stop_reported = true;
    node_subsystem_stopped(node);
  }
}

static void raft_subsystem_free(struct node *node) {
  if (node->raft == NULL) return;
  raft_node_free(node->raft);
  node->raft = NULL;
}

const struct subsystem subsystem_raft = {
    .name = "raft",
    .init = raft_subsystem_init,
    .start = raft_subsystem_start,
    .shutdown = raft_subsystem_shutdown,
    .free = raft_subsystem_free,
};

/* ---- node.h: status and the test's proposals ---- */

void node_quorum(const struct node *node, struct node_quorum *out) {
  memset(out, 0, sizeof *out);
  out->role = RAFT_UNATTACHED;
  out->epoch = -1;
  out->leader_id = RAFT_NO_NODE;
  const struct raft_node *rn = node->raft;
  if (rn == NULL) return;
  out->configured = true;
  out->running = running(rn);
  out->role = raft_role(&rn->core);
  struct raft_quorum_state qs;
  raft_quorum_state(&rn->core, &qs);
  out->epoch = qs.leader_epoch;
  out->leader_id = out->role == RAFT_RESIGNED ? RAFT_NO_NODE : qs.leader_id;
  out->high_watermark = raft_high_watermark(&rn->core);
  out->end_offset = raft_end_offset(&rn->core);
  out->log_end_offset = rn->log ? plog_end_offset(rn->log) : 0;
  out->requests_sent = rn->stats.requests_sent;
  out->responses_received = rn->stats.responses_received;
  out->requests_served = rn->stats.requests_served;
}

int64_t node_quorum_propose(struct node *node, const void *value, uint32_t size) {
  struct raft_node *rn = node->raft;
  if (rn == NULL || !running(rn) || size > RAFT_PAYLOAD_MAX) return -1;
  advance_clock(rn);
  int64_t offset = raft_propose(&rn->core, value, size);
  drain(rn);
  return offset;
}

int64_t raft_node_propose(struct node *node, const uint8_t *const *values,
                          const uint32_t *sizes, int32_t count, int32_t *epoch_out) {
  struct raft_node *rn = node->raft;
  ASSERT(count > 0 && count < RAFT_LOG_ENTRIES_MAX && epoch_out != NULL);
  if (rn == NULL || !running(rn)) return -1;
  advance_clock(rn);
  const struct raft *core = &rn->core;
  int64_t room =
      RAFT_LOG_ENTRIES_MAX - 1 - (raft_end_offset(core) - raft_log_start_offset(core));
  if (!raft_is_leader(core) || room < count) return -1;
  struct raft_quorum_state qs;
  raft_quorum_state(core, &qs);
  *epoch_out = qs.leader_epoch;
  int64_t first = -1;
  for (int32_t i = 0; i < count; i++) {
    ASSERT(sizes[i] <= RAFT_PAYLOAD_MAX);
    int64_t offset = raft_propose(&rn->core, values[i], sizes[i]);
    ASSERT(offset >= 0 && (first < 0 || offset == first + i)); /* room was checked */
    if (first < 0) first = offset;
  }
  drain(rn);
  return first;
}

const struct channel *node_quorum_channel(const struct node *node, int32_t id) {
  const struct raft_node *rn = node->raft;
  if (rn == NULL) return NULL;
  return quorum_peers_channel_const(&rn->peers, id);
}
