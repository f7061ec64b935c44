/* Metadata (API 3), versions 0-12, read from the metadata image: the usable
 * (registered, unfenced) brokers, and each topic's partitions with their
 * leader, leader epoch, replicas and ISR. This node names itself the
 * controller: clients reach the controller through any broker (KIP-590).
 *
 * Auto-creation: unknown topics are created when both the request (v4+
 * allow_auto_topic_creation; always before v4) and auto.create.topics.enable
 * allow it. Kafka (KIP-590) asks its controller in the background and
 * answers LEADER_NOT_AVAILABLE at once; librdkafka and kafka-python retry on
 * that after a backoff. Here the request waits for the controller instead (a
 * pending request, at most AUTO_CREATE_WAIT_MS for the call to start) and is
 * answered from the image that holds the new topic, so the client has the
 * topic and its leader in one round trip, which both clients take as any
 * answer. A topic the controller did not create in time, or that is gone
 * again, is LEADER_NOT_AVAILABLE, as in Kafka, and the client asks again;
 * one it refused gets the refusal's code (INVALID_REPLICATION_FACTOR when
 * default.replication.factor exceeds the brokers, as in Kafka).
 *
 * KRaft mode (KIP-631): a broker serves clients once it is registered and
 * unfenced (Kafka only enables request processing once it has caught up
 * with the metadata log). A Metadata request that comes earlier waits in
 * the purgatory for that, at most READY_WAIT_MS, so the client's first
 * answer already lists this broker. */
#include <string.h>

#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/group_coordinator.h"
#include "server/handlers.h"
#include "server/server.h"

enum { AUTO_CREATE_WAIT_MS = 5000, READY_WAIT_MS = 10000 };

typedef struct metadata_response_metadata_response_topic topic_t;
typedef struct metadata_response_metadata_response_partition partition_t;

struct metadata_wait {
  struct request *req;
  struct metadata_request m;
  struct meta_create_topic *create; /* the topics being auto-created */
  int16_t *create_error;            /* the controller's answer for each */
  int32_t create_count;
  struct waiter waiter; /* waiting for broker_ready */
  struct watch watch;
};

static bool usable(const struct meta_image *image, int32_t broker_id) {
  const struct meta_broker *b = meta_image_broker(image, broker_id);
  return b && !b->fenced;
}

static int32_t *ids_copy(struct request *req, const int32_t *ids, int32_t count) {
  ASSERT(count >= 0 && count <= META_REPLICAS_MAX);
  int32_t *out = arena_alloc(&req->arena, (size_t)count * sizeof *out + 1);
  memcpy(out, ids, (size_t)count * sizeof *out);
  return out;
}

static void fill_partition(struct request *req, const struct meta_image *image,
                           const struct meta_partition *mp, partition_t *rp) {
  metadata_response_metadata_response_partition_init(rp);
  rp->partition_index = mp->partition_id;
  rp->leader_epoch = mp->leader_epoch;
  rp->leader_id = mp->leader;
  /* Kafka's answer for a leader that is not (or no longer) a usable broker. */
  if (mp->leader < 0 || !usable(image, mp->leader)) {
    rp->error_code = KERR_LEADER_NOT_AVAILABLE;
    rp->leader_id = -1;
  }
  rp->replica_nodes = ids_copy(req, mp->replicas, mp->replica_count);
  rp->replica_nodes_count = mp->replica_count;
  rp->isr_nodes = ids_copy(req, mp->isr, mp->isr_count);
  rp->isr_nodes_count = mp->isr_count;
  int32_t offline[META_REPLICAS_MAX], n = 0;
  for (int32_t i = 0; i < mp->replica_count; i++)
    if (!usable(image, mp->replicas[i])) offline[n++] = mp->replicas[i];
  rp->offline_replicas = ids_copy(req, offline, n);
  rp->offline_replicas_count = n;
}

static void fill_topic(struct request *req, const struct meta_image *image,
                       const struct meta_topic *mt, topic_t *rt) {
  rt->error_code = KERR_NONE;
  rt->name = kstr_of(mt->name);
  rt->topic_id = mt->id;
  /* Listed, as Kafka lists it, but marked: pattern subscriptions skip it. */
  rt->is_internal = groups_topic_internal(mt->name, (int32_t)strlen(mt->name));
  rt->partitions_count = mt->partition_count;
  rt->partitions =
      arena_alloc(&req->arena, (size_t)mt->partition_count * sizeof *rt->partitions);
  for (int32_t i = 0; i < mt->partition_count; i++)
    fill_partition(req, image, &mt->partitions[i], &rt->partitions[i]);
}

static void fill_brokers(struct request *req, const struct meta_image *image,
                         struct metadata_response *resp) {
  resp->brokers = arena_alloc(&req->arena, (size_t)image->broker_count * sizeof *resp->brokers);
  resp->brokers_count = 0;
  for (int32_t i = 0; i < image->broker_count; i++) {
    const struct meta_broker *b = &image->brokers[i];
    if (b->fenced) continue;
    struct metadata_response_metadata_response_broker *rb =
        &resp->brokers[resp->brokers_count++];
    metadata_response_metadata_response_broker_init(rb);
    rb->node_id = b->id;
    rb->host = kstr_of(b->host);
    rb->port = b->port;
    if (b->rack[0]) rb->rack = kstr_of(b->rack);
  }
}

/* All topics: a null list (v1+), or an empty one in v0. */
static bool all_topics(const struct request *req, const struct metadata_request *m) {
  return m->topics_count < 0 || (req->api_version == 0 && m->topics_count == 0);
}

/* -1 when the topic was not auto-created by this request. */
static int16_t create_answer(const struct metadata_wait *w, struct kstr name) {
  for (int32_t i = 0; w && i < w->create_count; i++)
    if (w->create[i].name.len == name.len &&
        memcmp(w->create[i].name.ptr, name.ptr, (size_t)name.len) == 0)
      return w->create_error[i];
  return -1;
}

static int16_t missing_error(const struct metadata_wait *w, struct kstr name) {
  int16_t code = create_answer(w, name);
  if (code < 0) return KERR_UNKNOWN_TOPIC_OR_PARTITION;
  if (code == KERR_NONE || code == KERR_TOPIC_ALREADY_EXISTS ||
      code == KERR_REQUEST_TIMED_OUT || code == KERR_NOT_CONTROLLER)
    return KERR_LEADER_NOT_AVAILABLE; /* retriable: ask again */
  return code;
}

static void fill_named(struct request *req, const struct meta_image *image,
                       const struct metadata_wait *w,
                       const struct metadata_request_metadata_request_topic *t, topic_t *rt) {
  const struct meta_topic *mt;
  if (req->api_version >= 10 && t->name.len < 0) {
    rt->topic_id = t->topic_id;
    mt = meta_image_topic_by_id(image, t->topic_id);
    if (!mt) rt->error_code = KERR_UNKNOWN_TOPIC_ID;
  } else {
    rt->name = t->name;
    bool valid = t->name.len > 0 && topic_name_valid(t->name.ptr, (size_t)t->name.len);
    mt = valid ? meta_image_topic(image, t->name.ptr, (size_t)t->name.len) : NULL;
    if (!valid)
      rt->error_code = KERR_INVALID_TOPIC_EXCEPTION;
    else if (!mt)
      rt->error_code = missing_error(w, t->name);
  }
  if (mt) fill_topic(req, image, mt, rt);
}

/* The whole answer from one image: the current one when it is sent. */
static void respond(struct request *req, const struct metadata_request *m,
                    const struct metadata_wait *w) {
  struct node *node = req->node;
  const struct meta_image *image = node->image;
  struct metadata_response resp;
  metadata_response_init(&resp);
  fill_brokers(req, image, &resp);
  resp.cluster_id = kstr_of(image->cluster_id);
  resp.controller_id = node_id(node);
  bool all = all_topics(req, m);
  int32_t count = all ? image->topic_count : m->topics_count;
  resp.topics_count = count;
  resp.topics = arena_alloc(&req->arena, (size_t)(count > 0 ? count : 0) * sizeof *resp.topics);
  for (int32_t i = 0; i < count; i++) {
    topic_t *rt = &resp.topics[i];
    metadata_response_metadata_response_topic_init(rt);
    if (all)
      fill_topic(req, image, image->topics_by_name[i], rt);
    else
      fill_named(req, image, w, &m->topics[i], rt);
  }
  struct wr out;
  response_begin(req, &out);
  metadata_response_encode(&out, req->api_version, &resp);
  request_respond(req, &out);
}

static void auto_created(void *ctx, const struct meta_topic_result *results, int32_t count) {
  struct metadata_wait *w = ctx;
  ASSERT(w->req->pending == w && count == w->create_count);
  for (int32_t i = 0; i < count; i++) w->create_error[i] = results[i].error_code;
  respond(w->req, &w->m, w); /* frees the request, and w in its arena */
}

static bool creatable(const struct meta_image *image, const struct metadata_wait *w,
                      struct kstr name) {
  return name.len > 0 && topic_name_valid(name.ptr, (size_t)name.len) &&
         !meta_image_topic(image, name.ptr, (size_t)name.len) && create_answer(w, name) < 0;
}

/* How many topics the request names that could be auto-created (a name
 * named twice counts twice: an upper bound is enough for the budget). */
static int32_t creatable_count(struct request *req, const struct metadata_wait *w) {
  int32_t n = w->m.topics_count > 0 ? w->m.topics_count : 0, wanted = 0;
  for (int32_t i = 0; i < n; i++)
    if (creatable(req->node->image, w, w->m.topics[i].name)) wanted++;
  return wanted;
}

/* The named topics that do not exist and may be created, each once, up to
 * the auto-creation budgets (server/limits.h); the rest are answered
 * UNKNOWN_TOPIC_OR_PARTITION, and a client that asks again later gets them
 * created in a later second. */
static void to_create(struct request *req, struct metadata_wait *w) {
  const struct meta_image *image = req->node->image;
  int32_t n = w->m.topics_count > 0 ? w->m.topics_count : 0;
  w->create = arena_alloc(&req->arena, (size_t)n * sizeof *w->create + 1);
  w->create_error = arena_alloc(&req->arena, (size_t)n * sizeof *w->create_error + 1);
  int32_t allowed = limits_auto_create_take(req->node, creatable_count(req, w));
  const struct config *cfg = &req->node->cfg;
  int64_t room = cfg->cluster_partitions_max - limits_cluster_partitions(image);
  int64_t fit = room > 0 ? room / cfg->num_partitions : 0; /* sluice.cluster.partitions.max */
  if (allowed > fit) allowed = (int32_t)fit;
  for (int32_t i = 0; i < n && w->create_count < allowed; i++) {
    struct kstr name = w->m.topics[i].name;
    if (!creatable(image, w, name)) continue;
    struct meta_create_topic *c = &w->create[w->create_count++];
    *c = (struct meta_create_topic){
        .name = name, .partition_count = -1, .replication_factor = -1};
    w->create_error[w->create_count - 1] = KERR_NONE; /* create_answer finds it now */
  }
  ASSERT(w->create_count <= n && w->create_count <= allowed);
  req->node->limits.auto_created_in_window -= allowed - w->create_count; /* duplicates */
}

static void metadata_go(struct request *req, struct metadata_wait *w);

static bool ready_wait_ready(struct waiter *waiter) {
  struct metadata_wait *w = waiter->ctx;
  return broker_ready(w->req->node);
}

/* Ready, or the wait is over: answered with the image there is. */
static void ready_wait_done(struct waiter *waiter, enum waiter_end why) {
  struct metadata_wait *w = waiter->ctx;
  ASSERT(w->req->waiter == waiter && !waiter_parked(waiter));
  (void)why;
  w->req->waiter = NULL;
  w->req->pending = NULL;
  metadata_go(w->req, w);
}

static const struct waiter_ops ready_wait_ops = {
    .ready = ready_wait_ready,
    .done = ready_wait_done,
};

bool handle_metadata(struct request *req) {
  handler_assert_entry(req, API_METADATA);
  struct node *node = req->node;
  struct metadata_wait *w = arena_alloc(&req->arena, sizeof *w);
  memset(w, 0, sizeof *w);
  if (!metadata_request_decode(&req->body, req->api_version, &w->m, &req->arena)) return false;
  ASSERT(req->pending == NULL && node->image != NULL);
  w->req = req;
  if (!broker_ready(node) && !purgatory_full(&node->purgatory)) {
    waiter_init(&w->waiter, &node->purgatory, &ready_wait_ops, w, &w->watch, 1);
    req->waiter = &w->waiter; /* a closing connection cancels it */
    req->pending = w;
    waiter_park(&w->waiter, (uint64_t)READY_WAIT_MS * NS_PER_MS);
    waiter_watch(&w->waiter, &node->lifecycle.ready_watches, WATCH_HIGH_WATERMARK, 1);
    return true;
  }
  metadata_go(req, w);
  return true;
}

/* What a Metadata request does once this broker serves. */
static void metadata_go(struct request *req, struct metadata_wait *w) {
  struct node *node = req->node;
  bool allow_create = req->api_version < 4 || w->m.allow_auto_topic_creation;
  if (!all_topics(req, &w->m) && allow_create && node->cfg.auto_create_topics_enable)
    to_create(req, w);
  if (w->create_count == 0) {
    respond(req, &w->m, NULL);
    return;
  }
  uint64_t deadline_ns =
      node->env->now_ns(node->env) + (uint64_t)AUTO_CREATE_WAIT_MS * NS_PER_MS;
  req->pending = w; /* answered from auto_created() */
  node->controller->ops->create_topics(node->controller, w->create, w->create_count, false,
                                       deadline_ns, auto_created, w);
}
