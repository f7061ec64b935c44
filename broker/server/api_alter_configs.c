/* AlterConfigs (API 33, versions 0-2) and IncrementalAlterConfigs (API 44,
 * versions 0-1, KIP-339): config overrides decided by the active controller
 * (meta/config_control.h) and committed as ConfigRecords; any broker takes
 * them and forwards them (Kafka 3.9 forwards them in an Envelope; Sluice's
 * controller listener takes them directly, as CreateTopics). The answer
 * leaves once this node's image shows the change, so a DescribeConfigs that
 * follows sees it; validate_only checks and changes nothing.
 *
 * The two differ only in what an entry means: AlterConfigs is the legacy
 * whole-set form (a topic's overrides become exactly the entries given; a
 * null value is INVALID_REQUEST), IncrementalAlterConfigs says SET, DELETE,
 * APPEND or SUBTRACT per entry. Their responses have the same fields, so one
 * wait and one answer path serve both. Broker resources (an id, or "" for
 * every broker) are stored and described as dynamic broker configs; no
 * broker acts on them yet. */
#include <string.h>

#include "base/assert.h"
#include "meta/config_control.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/controller_quorum.h"
#include "server/handlers.h"
#include "server/server.h"

enum { ALTER_TIMEOUT_MS = 30000 }; /* the request has none: Kafka's request.timeout.ms */

/* One resource's answer, as both responses carry it. */
struct alter_result {
  int16_t error_code;
  struct kstr error_message;
  int8_t resource_type;
  struct kstr resource_name;
};

struct alter_wait {
  struct request *req;
  struct alter_result *results;
  int32_t count;
};

static void send_legacy(struct alter_wait *w) {
  struct alter_configs_response resp;
  alter_configs_response_init(&resp);
  resp.responses = arena_alloc(&w->req->arena, (size_t)w->count * sizeof *resp.responses + 1);
  resp.responses_count = w->count;
  for (int32_t i = 0; i < w->count; i++) {
    alter_configs_response_alter_configs_resource_response_init(&resp.responses[i]);
    const struct alter_result *r = &w->results[i];
    resp.responses[i].error_code = r->error_code;
    resp.responses[i].error_message = r->error_message;
    resp.responses[i].resource_type = r->resource_type;
    resp.responses[i].resource_name = r->resource_name;
  }
  struct wr out;
  response_begin(w->req, &out);
  alter_configs_response_encode(&out, w->req->api_version, &resp);
  request_respond(w->req, &out);
}

static void send_incremental(struct alter_wait *w) {
  struct incremental_alter_configs_response resp;
  incremental_alter_configs_response_init(&resp);
  resp.responses = arena_alloc(&w->req->arena, (size_t)w->count * sizeof *resp.responses + 1);
  resp.responses_count = w->count;
  for (int32_t i = 0; i < w->count; i++) {
    incremental_alter_configs_response_alter_configs_resource_response_init(&resp.responses[i]);
    const struct alter_result *r = &w->results[i];
    resp.responses[i].error_code = r->error_code;
    resp.responses[i].error_message = r->error_message;
    resp.responses[i].resource_type = r->resource_type;
    resp.responses[i].resource_name = r->resource_name;
  }
  struct wr out;
  response_begin(w->req, &out);
  incremental_alter_configs_response_encode(&out, w->req->api_version, &resp);
  request_respond(w->req, &out);
}

static void send(struct alter_wait *w) {
  ASSERT(w->req->api_key == API_ALTER_CONFIGS ||
         w->req->api_key == API_INCREMENTAL_ALTER_CONFIGS);
  if (w->req->api_key == API_ALTER_CONFIGS)
    send_legacy(w);
  else
    send_incremental(w);
}

static void altered(void *ctx, const struct meta_topic_result *results, int32_t count) {
  struct alter_wait *w = ctx;
  ASSERT(w->req->pending == w && count == w->count);
  for (int32_t i = 0; i < count; i++) {
    struct alter_result *r = &w->results[i];
    r->error_code = results[i].error_code;
    r->error_message = results[i].error_code != KERR_NONE && results[i].error_message[0]
                           ? kstr_of(arena_strndup(&w->req->arena, results[i].error_message,
                                                   strlen(results[i].error_message)))
                           : KSTR_NULL;
  }
  send(w);
}

/* Sends the resources to the controller; answers at once where there is
 * none to send them to. res[i] names results[i]'s resource. */
static void alter_submit(struct request *req, struct meta_alter_resource *res, int32_t count,
                         bool validate_only) {
  ASSERT(count >= 0);
  struct alter_wait *w = arena_alloc(&req->arena, sizeof *w);
  w->req = req;
  w->count = count;
  w->results = arena_alloc(&req->arena, (size_t)count * sizeof *w->results + 1);
  for (int32_t i = 0; i < count; i++)
    w->results[i] = (struct alter_result){.error_code = KERR_NONE,
                                          .error_message = KSTR_NULL,
                                          .resource_type = res[i].resource_type,
                                          .resource_name = res[i].resource_name};
  struct node *node = req->node;
  if (node->loader == NULL || count == 0) { /* the single-node controller has no such call */
    for (int32_t i = 0; i < count; i++) {
      w->results[i].error_code = KERR_INVALID_REQUEST;
      w->results[i].error_message =
          KSTR_LIT("Config changes need KRaft mode (controller.quorum.voters) for now.");
    }
    send(w);
    return;
  }
  req->pending = w;
  struct meta_controller *ctl = node->controller;
  if (req->table == &handlers_controller) controller_quorum_next_call_forwarded(ctl);
  uint64_t deadline_ns = req->received_ns + (uint64_t)ALTER_TIMEOUT_MS * NS_PER_MS;
  controller_quorum_alter_configs(ctl, res, count, validate_only, deadline_ns, altered, w);
}

bool handle_alter_configs(struct request *req) {
  handler_assert_entry(req, API_ALTER_CONFIGS);
  struct alter_configs_request m;
  if (!alter_configs_request_decode(&req->body, req->api_version, &m, &req->arena))
    return false;
  int32_t count = m.resources_count > 0 ? m.resources_count : 0;
  struct meta_alter_resource *res = arena_alloc(&req->arena, (size_t)count * sizeof *res + 1);
  for (int32_t i = 0; i < count; i++) {
    const struct alter_configs_request_alter_configs_resource *in = &m.resources[i];
    int32_t n = in->configs_count > 0 ? in->configs_count : 0;
    struct meta_alter_config *c = arena_alloc(&req->arena, (size_t)n * sizeof *c + 1);
    for (int32_t k = 0; k < n; k++)
      c[k] = (struct meta_alter_config){in->configs[k].name, in->configs[k].value,
                                        META_CONFIG_OP_SET};
    res[i] = (struct meta_alter_resource){in->resource_type, in->resource_name, c, n, false};
  }
  alter_submit(req, res, count, m.validate_only);
  return true;
}

bool handle_incremental_alter_configs(struct request *req) {
  handler_assert_entry(req, API_INCREMENTAL_ALTER_CONFIGS);
  struct incremental_alter_configs_request m;
  if (!incremental_alter_configs_request_decode(&req->body, req->api_version, &m, &req->arena))
    return false;
  int32_t count = m.resources_count > 0 ? m.resources_count : 0;
  struct meta_alter_resource *res = arena_alloc(&req->arena, (size_t)count * sizeof *res + 1);
  for (int32_t i = 0; i < count; i++) {
    const struct incremental_alter_configs_request_alter_configs_resource *in = &m.resources[i];
    int32_t n = in->configs_count > 0 ? in->configs_count : 0;
    struct meta_alter_config *c = arena_alloc(&req->arena, (size_t)n * sizeof *c + 1);
    for (int32_t k = 0; k < n; k++)
      c[k] = (struct meta_alter_config){in->configs[k].name, in->configs[k].value,
                                        in->configs[k].config_operation};
    res[i] = (struct meta_alter_resource){in->resource_type, in->resource_name, c, n, true};
  }
  alter_submit(req, res, count, m.validate_only);
  return true;
}
