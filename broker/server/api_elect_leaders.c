/* ElectLeaders (API 43, KIP-183 and KIP-460), versions 0-2, on the client
 * listener (forwarded to the active controller, controller_quorum.h) and on
 * the controller listener (a forwarded call, decided there). v0 elects the
 * preferred replica; v1+ carries the election type, PREFERRED (0) or
 * UNCLEAN (1), and a top-level error. Topics null asks for every partition,
 * whose answer leaves out those that needed no election, as Kafka's
 * controller does. Each partition's error is Kafka's
 * (meta/leader_balance.h). Without a quorum (a single node, the local
 * controller) every partition already has its only replica leading. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "meta/leader_balance.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/controller_quorum.h"
#include "server/handlers.h"
#include "server/server.h"

enum { ELECT_TOPICS_MAX = 1 << 16 };

struct elect_wait {
  struct request *req;
  struct elect_leaders_request m;
  struct meta_elect_leaders in;
};

typedef struct elect_leaders_response_replica_election_result topic_result_t;

static void respond(struct request *req, struct elect_leaders_response *resp) {
  struct wr out;
  response_begin(req, &out);
  elect_leaders_response_encode(&out, req->api_version, resp);
  request_respond(req, &out);
}

/* The topic's entry in the response, added in the order first seen. */
static topic_result_t *topic_entry(struct elect_leaders_response *resp, int32_t cap,
                                   const char *name) {
  for (int32_t i = 0; i < resp->replica_election_results_count; i++) {
    topic_result_t *t = &resp->replica_election_results[i];
    if ((size_t)t->topic.len == strlen(name) && !memcmp(t->topic.ptr, name, strlen(name)))
      return t;
  }
  ASSERT(resp->replica_election_results_count < cap);
  topic_result_t *t = &resp->replica_election_results[resp->replica_election_results_count++];
  elect_leaders_response_replica_election_result_init(t);
  t->topic = kstr_of(name);
  return t;
}

static void partition_add(topic_result_t *t, int32_t partition_id, int16_t code) {
  ASSERT(t->partition_result != NULL);
  struct elect_leaders_response_partition_result *p =
      &t->partition_result[t->partition_result_count++];
  elect_leaders_response_partition_result_init(p);
  p->partition_id = partition_id;
  p->error_code = code;
}

/* A failure of the whole call: at the top (v1+) and on every partition
 * asked, as Kafka answers an error it cannot attribute. */
static void fail_all(struct elect_wait *w, struct elect_leaders_response *resp, int16_t code) {
  struct arena *a = &w->req->arena;
  int32_t n = w->m.topic_partitions_count > 0 ? w->m.topic_partitions_count : 0;
  resp->error_code = code;
  resp->replica_election_results = arena_alloc(a, (size_t)(n + 1) * sizeof(topic_result_t));
  for (int32_t i = 0; i < n; i++) {
    const struct elect_leaders_request_topic_partitions *tp = &w->m.topic_partitions[i];
    topic_result_t *t = &resp->replica_election_results[resp->replica_election_results_count++];
    elect_leaders_response_replica_election_result_init(t);
    t->topic = tp->topic;
    int32_t parts = tp->partitions_count > 0 ? tp->partitions_count : 0;
    t->partition_result = arena_alloc(a, (size_t)(parts + 1) * sizeof *t->partition_result);
    for (int32_t k = 0; k < parts; k++) partition_add(t, tp->partitions[k], code);
  }
}

static void results_respond(struct request *req, const struct meta_elect_result *results,
                            int32_t count) {
  struct arena *a = &req->arena;
  struct elect_leaders_response resp;
  elect_leaders_response_init(&resp);
  resp.replica_election_results = arena_alloc(a, (size_t)(count + 1) * sizeof(topic_result_t));
  for (int32_t i = 0; i < count; i++) {
    topic_result_t *t = topic_entry(&resp, count, results[i].topic);
    if (t->partition_result == NULL) { /* room for every result of the topic */
      int32_t n = 0;
      for (int32_t k = i; k < count; k++) n += !strcmp(results[k].topic, results[i].topic);
      t->topic.ptr = arena_strndup(a, results[i].topic, strlen(results[i].topic));
      t->partition_result = arena_alloc(a, (size_t)(n + 1) * sizeof *t->partition_result);
    }
    partition_add(t, results[i].partition_id, results[i].error_code);
  }
  respond(req, &resp);
}

static void elected(void *ctx, int16_t code, const struct meta_elect_result *results,
                    int32_t count) {
  struct elect_wait *w = ctx;
  struct request *req = w->req;
  ASSERT(req->pending == w);
  struct elect_leaders_response resp;
  elect_leaders_response_init(&resp);
  if (code != KERR_NONE) {
    fail_all(w, &resp, code);
    respond(req, &resp);
    return;
  }
  results_respond(req, results, count);
}

/* The local controller (one node, no quorum): every replica set is this
 * node, so no election is ever needed; decided against the image, nothing
 * committed (a change it would make is not this controller's to make). */
static void local_answer(struct request *req, const struct meta_elect_leaders *in) {
  struct meta_delta scratch;
  meta_delta_init(&scratch);
  struct meta_elect_result *results = NULL;
  int32_t count = 0;
  meta_rule_elect_leaders(req->node->image, in, &scratch, &results, &count);
  for (int32_t i = 0; i < count; i++)
    if (results[i].error_code == KERR_NONE) results[i].error_code = KERR_NOT_CONTROLLER;
  results_respond(req, results, count);
  free(results);
  meta_delta_free(&scratch);
}

static bool request_of(struct elect_wait *w, int16_t version) {
  struct elect_leaders_request *m = &w->m;
  w->in.election_type = version >= 1 ? m->election_type : META_ELECTION_PREFERRED;
  if (m->topic_partitions == NULL || m->topic_partitions_count < 0) {
    w->in.topics = NULL;
    w->in.topic_count = -1;
    return true;
  }
  if (m->topic_partitions_count > ELECT_TOPICS_MAX) return false;
  struct meta_elect_topic *t =
      arena_alloc(&w->req->arena, (size_t)(m->topic_partitions_count + 1) * sizeof *t);
  for (int32_t i = 0; i < m->topic_partitions_count; i++) {
    const struct elect_leaders_request_topic_partitions *tp = &m->topic_partitions[i];
    t[i] = (struct meta_elect_topic){tp->topic, tp->partitions,
                                     tp->partitions_count > 0 ? tp->partitions_count : 0};
  }
  w->in.topics = t;
  w->in.topic_count = m->topic_partitions_count;
  return true;
}

bool handle_elect_leaders(struct request *req) {
  handler_assert_entry(req, API_ELECT_LEADERS);
  struct elect_wait *w = arena_alloc(&req->arena, sizeof *w);
  w->req = req;
  if (!elect_leaders_request_decode(&req->body, req->api_version, &w->m, &req->arena))
    return false;
  struct elect_leaders_response resp;
  elect_leaders_response_init(&resp);
  if (!request_of(w, req->api_version)) {
    fail_all(w, &resp, KERR_INVALID_REQUEST);
    respond(req, &resp);
    return true;
  }
  if (w->in.election_type != META_ELECTION_PREFERRED &&
      w->in.election_type != META_ELECTION_UNCLEAN) {
    fail_all(w, &resp, KERR_INVALID_REQUEST);
    respond(req, &resp);
    return true;
  }
  struct meta_controller *ctl = req->node->controller;
  if (!controller_quorum_is_quorum(ctl)) {
    local_answer(req, &w->in);
    return true;
  }
  int32_t timeout_ms = w->m.timeout_ms > 0 ? w->m.timeout_ms : 0;
  uint64_t deadline_ns = req->received_ns + (uint64_t)timeout_ms * NS_PER_MS;
  req->pending = w; /* answered from elected() */
  if (req->table == &handlers_controller) controller_quorum_next_call_forwarded(ctl);
  controller_quorum_elect_leaders(ctl, &w->in, deadline_ns, elected, w);
  return true;
}
