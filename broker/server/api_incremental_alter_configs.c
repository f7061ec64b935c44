/* IncrementalAlterConfigs (API 44, KIP-339), versions 0-1: SET, DELETE,
 * APPEND and SUBTRACT of topic config overrides, decided by the active
 * controller (meta/config_control.h) and committed as ConfigRecords; any
 * broker takes it and forwards it (Kafka 3.9 forwards it in an Envelope;
 * Sluice's controller listener takes it directly, as CreateTopics). The
 * answer leaves once this node's image shows the change, so a
 * DescribeConfigs that follows sees it. validate_only checks and changes
 * nothing. Broker resources (an id, or "" for every broker) are stored and
 * described as dynamic broker configs; no broker acts on them yet. */
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

typedef struct incremental_alter_configs_response_alter_configs_resource_response result_t;

struct alter_wait {
  struct request *req;
  struct incremental_alter_configs_response resp;
};

static void send(struct alter_wait *w) {
  struct wr out;
  response_begin(w->req, &out);
  incremental_alter_configs_response_encode(&out, w->req->api_version, &w->resp);
  request_respond(w->req, &out);
}

static void altered(void *ctx, const struct meta_topic_result *results, int32_t count) {
  struct alter_wait *w = ctx;
  ASSERT(w->req->pending == w && count == w->resp.responses_count);
  for (int32_t i = 0; i < count; i++) {
    result_t *r = &w->resp.responses[i];
    r->error_code = results[i].error_code;
    r->error_message = results[i].error_code != KERR_NONE && results[i].error_message[0]
                           ? kstr_of(arena_strndup(&w->req->arena, results[i].error_message,
                                                   strlen(results[i].error_message)))
                           : KSTR_NULL;
  }
  send(w);
}

/* The request's entries as the controller's, in the request's arena. */
static struct meta_alter_resource *
resources_of(struct request *req, const struct incremental_alter_configs_request *m) {
  int32_t count = m->resources_count;
  struct meta_alter_resource *res = arena_alloc(&req->arena, (size_t)count * sizeof *res + 1);
  for (int32_t i = 0; i < count; i++) {
    const struct incremental_alter_configs_request_alter_configs_resource *in =
        &m->resources[i];
    int32_t n = in->configs_count > 0 ? in->configs_count : 0;
    struct meta_alter_config *c = arena_alloc(&req->arena, (size_t)n * sizeof *c + 1);
    for (int32_t k = 0; k < n; k++)
      c[k] = (struct meta_alter_config){in->configs[k].name, in->configs[k].value,
                                        in->configs[k].config_operation};
    res[i] = (struct meta_alter_resource){in->resource_type, in->resource_name, c, n, true};
  }
  return res;
}

bool handle_incremental_alter_configs(struct request *req) {
  handler_assert_entry(req, API_INCREMENTAL_ALTER_CONFIGS);
  struct incremental_alter_configs_request m;
  if (!incremental_alter_configs_request_decode(&req->body, req->api_version, &m, &req->arena))
    return false;
  int32_t count = m.resources_count > 0 ? m.resources_count : 0;
  m.resources_count = count;
  struct alter_wait *w = arena_alloc(&req->arena, sizeof *w);
  w->req = req;
  incremental_alter_configs_response_init(&w->resp);
  w->resp.responses = arena_alloc(&req->arena, (size_t)count * sizeof *w->resp.responses + 1);
  w->resp.responses_count = count;
  for (int32_t i = 0; i < count; i++) {
    incremental_alter_configs_response_alter_configs_resource_response_init(
        &w->resp.responses[i]);
    w->resp.responses[i].resource_type = m.resources[i].resource_type;
    w->resp.responses[i].resource_name = m.resources[i].resource_name;
  }
  struct node *node = req->node;
  if (node->loader == NULL || count == 0) { /* the single-node controller has no such call */
    for (int32_t i = 0; i < count; i++) {
      w->resp.responses[i].error_code = KERR_INVALID_REQUEST;
      w->resp.responses[i].error_message =
          KSTR_LIT("Config changes need KRaft mode (controller.quorum.voters) for now.");
    }
    send(w);
    return true;
  }
  req->pending = w;
  struct meta_controller *ctl = node->controller;
  if (req->table == &handlers_controller) controller_quorum_next_call_forwarded(ctl);
  uint64_t deadline_ns = req->received_ns + (uint64_t)ALTER_TIMEOUT_MS * NS_PER_MS;
  controller_quorum_alter_configs(ctl, resources_of(req, &m), count, m.validate_only,
                                  deadline_ns, altered, w);
  return true;
}
