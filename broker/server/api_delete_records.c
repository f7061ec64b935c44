/* DeleteRecords (API 21), versions 0-2 (KIP-107; v2 flexible, KIP-482):
 * moves each partition's log start offset on its leader. Offset -1 means
 * the high watermark; an offset past the high watermark, or negative, is
 * OFFSET_OUT_OF_RANGE; a topic whose cleanup.policy lacks delete gets
 * POLICY_VIOLATION (as Kafka 3.9). Segments wholly below the new start go
 * at once; the start reaches the log-start-offset-checkpoint file.
 *
 * The answer's low watermark is the smallest log start over the live
 * replicas (partition_leader_low_watermark): followers adopt the leader's
 * start from its Fetch responses and report theirs in their next Fetch.
 * As Kafka's DelayedDeleteRecords, the answer waits (up to timeout_ms)
 * until it reaches the offset asked; REQUEST_TIMED_OUT if it does not,
 * NOT_LEADER_OR_FOLLOWER if the leadership went meanwhile. */
#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/handlers.h"
#include "server/replication.h"
#include "server/server.h"

enum { DELETE_RECORDS_HIGH_WATERMARK = -1 };

typedef struct delete_records_response_delete_records_partition_result result_t;

/* A partition whose low watermark has yet to reach `required`. */
struct delete_need {
  struct kstr topic;
  result_t *r;
  int64_t required;
};

struct delete_wait {
  struct request *req;
  struct waiter waiter;
  struct delete_records_response resp;
  struct delete_need *needs; /* [need_count] */
  int32_t need_count;
};

/* The partition while this node leads it; NULL otherwise. */
static struct partition *led(struct request *req, struct kstr topic, int32_t index) {
  struct partition *p = partition_find(req->node, topic, index);
  return p && p->leader && partition_is_leader(req->node, p) ? p : NULL;
}

/* The start offset the leader takes for `offset`. */
static int64_t new_start(const struct partition *p, int64_t offset) {
#ifdef SLUICE_MUTANT_DELETE_RECORDS_PAST_OFFSET /* mutant: one record too many goes */
  if (offset < partition_high_watermark(p)) return offset + 1;
#endif
  (void)p;
  return offset;
}

/* Kafka's Partition.deleteRecordsOnLeader. Sets *required (the offset the
 * low watermark must reach) when the start moved. */
static int16_t delete_on_leader(struct request *req, struct kstr topic, int32_t index,
                                int64_t offset, int64_t *required) {
  *required = -1;
  struct partition *p = partition_any(req->node, topic, index);
  if (p == NULL) return KERR_UNKNOWN_TOPIC_OR_PARTITION;
  if (!partition_hosted(p) || led(req, topic, index) == NULL)
    return KERR_NOT_LEADER_OR_FOLLOWER;
  if (plog_offline(p->log)) return KERR_KAFKA_STORAGE_ERROR;
  if (!topic_config_deletes(&p->topic->config)) return KERR_POLICY_VIOLATION;
  int64_t hw = partition_high_watermark(p);
  if (offset == DELETE_RECORDS_HIGH_WATERMARK) offset = hw;
  if (offset < 0 || offset > hw) return KERR_OFFSET_OUT_OF_RANGE;
  int rc = plog_set_start_offset(p->log, new_start(p, offset));
  ASSERT(rc == 0); /* offset <= hw <= end offset */
  ASSERT(plog_start_offset(p->log) >= offset);
  *required = offset;
  return KERR_NONE;
}

static bool need_settled(struct request *req, const struct delete_need *n) {
  struct partition *p = led(req, n->topic, n->r->partition_index);
  return p == NULL || partition_leader_low_watermark(req->node, p) >= n->required;
}

/* Kafka's DelayedDeleteRecords.onComplete, one partition. */
static void need_answer(struct request *req, const struct delete_need *n) {
  struct partition *p = led(req, n->topic, n->r->partition_index);
  int64_t low = p ? partition_leader_low_watermark(req->node, p) : -1;
  if (p == NULL) {
    n->r->error_code = KERR_NOT_LEADER_OR_FOLLOWER;
  } else if (low >= n->required) {
    n->r->error_code = KERR_NONE;
    n->r->low_watermark = low;
  } else {
    n->r->error_code = KERR_REQUEST_TIMED_OUT;
  }
}

static void delete_respond(struct request *req, struct delete_wait *wait) {
  for (int32_t i = 0; i < wait->need_count; i++) need_answer(req, &wait->needs[i]);
  struct wr w;
  response_begin(req, &w);
  delete_records_response_encode(&w, req->api_version, &wait->resp);
  request_respond(req, &w);
}

static bool needs_settled(struct request *req, const struct delete_wait *wait) {
  for (int32_t i = 0; i < wait->need_count; i++)
    if (!need_settled(req, &wait->needs[i])) return false;
  return true;
}

static bool delete_wait_ready(struct waiter *waiter) {
  struct delete_wait *wait = waiter->ctx;
  ASSERT(wait->req->waiter == waiter);
  return needs_settled(wait->req, wait);
}

static void delete_wait_done(struct waiter *waiter, enum waiter_end why) {
  struct delete_wait *wait = waiter->ctx;
  ASSERT(wait->req->waiter == waiter && !waiter_parked(waiter));
  (void)why; /* each partition's answer says what happened to it */
  wait->req->waiter = NULL;
  delete_respond(wait->req, wait); /* frees req, and wait in its arena */
}

static const struct waiter_ops delete_wait_ops = {
    .ready = delete_wait_ready,
    .done = delete_wait_done,
};

/* Answers now, or parks until every partition's low watermark is there. */
static void delete_finish(struct request *req, struct delete_wait *wait, int32_t timeout_ms) {
  struct node *node = req->node;
  if (wait->need_count == 0 || needs_settled(req, wait) || purgatory_full(&node->purgatory) ||
      node->shutting_down) {
    delete_respond(req, wait);
    return;
  }
  struct watch *watches = arena_alloc(&req->arena, (size_t)wait->need_count * sizeof *watches);
  waiter_init(&wait->waiter, &node->purgatory, &delete_wait_ops, wait, watches,
              wait->need_count);
  req->waiter = &wait->waiter; /* from now on a closing connection cancels it */
  req->pending = wait;
  waiter_park(&wait->waiter, (uint64_t)(timeout_ms > 0 ? timeout_ms : 1) * NS_PER_MS);
  for (int32_t i = 0; i < wait->need_count; i++) {
    const struct delete_need *n = &wait->needs[i];
    struct partition *p = led(req, n->topic, n->r->partition_index);
    if (p) waiter_watch(&wait->waiter, &p->watches, WATCH_LOW_WATERMARK, n->required);
  }
}

/* One topic of the request: results, and a need per moved partition. */
static void delete_topic(struct request *req, struct delete_wait *wait,
                         const struct delete_records_request_delete_records_topic *t,
                         struct delete_records_response_delete_records_topic_result *tr) {
  int32_t pn = t->partitions_count > 0 ? t->partitions_count : 0;
  delete_records_response_delete_records_topic_result_init(tr);
  tr->name = t->name;
  tr->partitions_count = pn;
  tr->partitions = arena_alloc(&req->arena, (size_t)pn * sizeof(result_t) + 1);
  for (int32_t j = 0; j < pn; j++) {
    result_t *r = &tr->partitions[j];
    delete_records_response_delete_records_partition_result_init(r);
    r->partition_index = t->partitions[j].partition_index;
    r->low_watermark = -1;
    int64_t required;
    r->error_code =
        delete_on_leader(req, t->name, r->partition_index, t->partitions[j].offset, &required);
    if (r->error_code != KERR_NONE) continue;
    struct partition *p = led(req, t->name, r->partition_index);
    partition_wake_waiters(req->node, p); /* the low watermark may have moved */
    wait->needs[wait->need_count++] =
        (struct delete_need){.topic = t->name, .r = r, .required = required};
  }
}

bool handle_delete_records(struct request *req) {
  handler_assert_entry(req, API_DELETE_RECORDS);
  struct delete_wait *wait = arena_alloc(&req->arena, sizeof *wait);
  struct delete_records_request m;
  if (!delete_records_request_decode(&req->body, req->api_version, &m, &req->arena))
    return false;
  wait->req = req;
  wait->need_count = 0;
  delete_records_response_init(&wait->resp);
  int32_t tn = m.topics_count > 0 ? m.topics_count : 0;
  int32_t need_cap = 0;
  for (int32_t i = 0; i < tn; i++)
    need_cap += m.topics[i].partitions_count > 0 ? m.topics[i].partitions_count : 0;
  wait->needs = arena_alloc(&req->arena, (size_t)need_cap * sizeof *wait->needs + 1);
  wait->resp.topics_count = tn;
  wait->resp.topics = arena_alloc(&req->arena, (size_t)tn * sizeof *wait->resp.topics + 1);
  for (int32_t i = 0; i < tn; i++) delete_topic(req, wait, &m.topics[i], &wait->resp.topics[i]);
  ASSERT(wait->need_count <= need_cap);
  /* The new starts survive a restart (Kafka checkpoints them later; a
   * crash before would bring deleted records back, never lose others). */
  if (wait->need_count > 0) node_write_checkpoints(req->node);
  delete_finish(req, wait, m.timeout_ms);
  return true;
}
