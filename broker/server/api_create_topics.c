/* CreateTopics (API 19), versions 2-7: a pending request. Duplicate names
 * are refused here (as KRaft's ControllerApis does); every other topic goes
 * to the controller, which validates it (name, partitions, replication
 * factor against the registered brokers, assignments, configs) and creates
 * it; the answer is sent from the controller's callback, once the new image
 * is published. validate_only checks everything and creates nothing.
 * timeout_ms is KRaft's deadline: an operation the controller has not
 * started by then fails with REQUEST_TIMED_OUT and changes nothing. */
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/controller_quorum.h"
#include "server/handlers.h"
#include "server/server.h"

typedef struct create_topics_response_creatable_topic_result result_t;

struct create_wait {
  struct request *req;
  struct create_topics_request m;
  struct create_topics_response resp;
  struct meta_create_topic *topics; /* sent to the controller */
  int32_t *response_index;          /* where each one's answer goes */
  int32_t count;
};

static bool duplicate_name(const struct create_topics_request *m, int32_t i) {
  for (int32_t j = 0; j < m->topics_count; j++) {
    struct kstr a = m->topics[i].name, b = m->topics[j].name;
    if (j != i && a.len == b.len && a.len >= 0 && memcmp(a.ptr, b.ptr, (size_t)a.len) == 0)
      return true;
  }
  return false;
}

static struct kstr text(struct request *req, const char *s) {
  return kstr_of(arena_strndup(&req->arena, s, strlen(s)));
}

/* The partitions a topic of the request would add: its assignments, else
 * num_partitions, else (-1) num.partitions. */
static int64_t partitions_asked(const struct node *node,
                                const struct create_topics_request_creatable_topic *ct) {
  if (ct->assignments_count > 0) return ct->assignments_count;
  return ct->num_partitions == -1 ? node->cfg.num_partitions : ct->num_partitions;
}

/* Past a partition budget (server/limits.h): POLICY_VIOLATION naming it. */
static bool over_budget(struct request *req,
                        const struct create_topics_request_creatable_topic *ct,
                        int64_t *asked_so_far, result_t *r) {
  char why[256];
  int64_t cluster_now = limits_cluster_partitions(req->node->image);
  int64_t adding = partitions_asked(req->node, ct);
  int16_t code =
      limits_partitions_check(req->node, *asked_so_far, cluster_now, adding, why, sizeof why);
  if (code == KERR_NONE) {
    *asked_so_far += adding > 0 ? adding : 0;
    return false;
  }
  r->error_code = code;
  r->error_message = text(req, why);
  r->configs_count = -1;
  return true;
}

/* The request's topic in the controller's terms (pointing into the frame
 * and the arena, which outlive the call). */
static void to_meta(struct request *req, const struct create_topics_request_creatable_topic *ct,
                    struct meta_create_topic *out) {
  out->name = ct->name;
  out->partition_count = ct->num_partitions;
  out->replication_factor = ct->replication_factor;
  out->assignment_count = ct->assignments_count > 0 ? ct->assignments_count : 0;
  struct meta_assignment *a =
      arena_alloc(&req->arena, (size_t)out->assignment_count * sizeof *a + 1);
  for (int32_t i = 0; i < out->assignment_count; i++) {
    a[i].partition_index = ct->assignments[i].partition_index;
    a[i].broker_ids = ct->assignments[i].broker_ids;
    a[i].broker_count =
        ct->assignments[i].broker_ids_count > 0 ? ct->assignments[i].broker_ids_count : 0;
  }
  out->assignments = a;
  out->config_count = ct->configs_count > 0 ? ct->configs_count : 0;
  struct meta_config_entry *c =
      arena_alloc(&req->arena, (size_t)out->config_count * sizeof *c + 1);
  for (int32_t i = 0; i < out->config_count; i++) {
    c[i].name = ct->configs[i].name;
    c[i].value = ct->configs[i].value;
  }
  out->configs = c;
}

/* CreateTopics v5+ describes the new topic's configs: the image's when it
 * was created, else (validate_only) the defaults with the request's. */
static void describe_configs(struct request *req, const struct meta_create_topic *in,
                             bool validate_only, result_t *r) {
  struct node *node = req->node;
  struct topic_config *tc = arena_alloc(&req->arena, sizeof *tc); /* the response points in */
  const struct meta_topic *mt =
      validate_only ? NULL : meta_image_topic(node->image, in->name.ptr, (size_t)in->name.len);
  if (mt) {
    topic_config_from_image(node, mt, tc);
  } else {
    topic_config_init(tc, &node->cfg);
    for (int32_t i = 0; i < in->config_count; i++) {
      char key[128], value[128], why[256];
      str_fmt(key, sizeof key, "%.*s", (int)in->configs[i].name.len, in->configs[i].name.ptr);
      str_fmt(value, sizeof value, "%.*s", (int)in->configs[i].value.len,
              in->configs[i].value.ptr);
      bool ok = topic_config_set(tc, key, value, why, sizeof why);
      ASSERT(ok); /* the controller accepted it */
    }
  }
  r->configs_count = TC_COUNT;
  r->configs = arena_alloc(&req->arena, TC_COUNT * sizeof *r->configs);
  for (int k = 0; k < TC_COUNT; k++) {
    create_topics_response_creatable_topic_configs_init(&r->configs[k]);
    r->configs[k].name = kstr_of(topic_config_info(k)->name);
    r->configs[k].value = kstr_of(tc->values[k]);
    r->configs[k].config_source = (int8_t)tc->source[k];
  }
}

static void send(struct create_wait *w) {
  struct wr w_out;
  response_begin(w->req, &w_out);
  create_topics_response_encode(&w_out, w->req->api_version, &w->resp);
  request_respond(w->req, &w_out);
}

static void created(void *ctx, const struct meta_topic_result *results, int32_t count) {
  struct create_wait *w = ctx;
  struct request *req = w->req;
  ASSERT(req->pending == w && count == w->count);
  for (int32_t i = 0; i < count; i++) {
    const struct meta_topic_result *res = &results[i];
    result_t *r = &w->resp.topics[w->response_index[i]];
    r->error_code = res->error_code;
    if (res->error_code != KERR_NONE) {
      r->error_message =
          text(req, res->error_message[0] ? res->error_message : kerr_name(res->error_code));
      r->configs_count = -1;
      continue;
    }
    r->topic_id = res->topic_id;
    r->num_partitions = res->partition_count;
    r->replication_factor = res->replication_factor;
    describe_configs(req, &w->topics[i], w->m.validate_only, r);
  }
  send(w); /* frees req, and w in its arena */
}

bool handle_create_topics(struct request *req) {
  handler_assert_entry(req, API_CREATE_TOPICS);
  struct create_wait *w = arena_alloc(&req->arena, sizeof *w);
  if (!create_topics_request_decode(&req->body, req->api_version, &w->m, &req->arena))
    return false;
  ASSERT(req->pending == NULL);
  w->req = req;
  create_topics_response_init(&w->resp);
  int32_t count = w->m.topics_count > 0 ? w->m.topics_count : 0;
  w->resp.topics_count = count;
  w->resp.topics = arena_alloc(&req->arena, (size_t)count * sizeof *w->resp.topics);
  w->topics = arena_alloc(&req->arena, (size_t)count * sizeof *w->topics + 1);
  w->response_index = arena_alloc(&req->arena, (size_t)count * sizeof *w->response_index + 1);
  int64_t asked = 0;
  for (int32_t i = 0; i < count; i++) {
    result_t *r = &w->resp.topics[i];
    create_topics_response_creatable_topic_result_init(r);
    r->name = w->m.topics[i].name;
    if (duplicate_name(&w->m, i)) {
      r->error_code = KERR_INVALID_REQUEST;
      r->error_message =
          KSTR_LIT("Create topics request from client contains multiple topics with the same "
                   "name.");
      r->configs_count = -1;
      continue;
    }
    if (over_budget(req, &w->m.topics[i], &asked, r)) continue;
    to_meta(req, &w->m.topics[i], &w->topics[w->count]);
    w->response_index[w->count++] = i;
  }
  ASSERT(w->count <= count);
  if (w->count == 0) { /* nothing for the controller */
    send(w);
    return true;
  }
  int32_t timeout_ms = w->m.timeout_ms > 0 ? w->m.timeout_ms : 0;
  uint64_t deadline_ns = req->received_ns + (uint64_t)timeout_ms * NS_PER_MS;
  req->pending = w; /* answered from created() */
  struct meta_controller *ctl = req->node->controller;
  if (req->table == &handlers_controller) controller_quorum_next_call_forwarded(ctl);
  ctl->ops->create_topics(ctl, w->topics, w->count, w->m.validate_only, deadline_ns, created,
                          w);
  return true;
}
