/* DescribeConfigs (API 32), versions 0-4: a topic's configs (its overrides
 * in the metadata image and the broker defaults they fall back to) and this
 * broker's static configs. */
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/handlers.h"
#include "server/server.h"

enum { RESOURCE_TOPIC = 2, RESOURCE_BROKER = 4 };

typedef struct describe_configs_response_describe_configs_resource_result entry_t;

static bool wanted(const struct describe_configs_request_describe_configs_resource *res,
                   const char *name) {
  if (res->configuration_keys_count < 0) return true;
  for (int32_t i = 0; i < res->configuration_keys_count; i++)
    if (kstr_eq(res->configuration_keys[i], name)) return true;
  return false;
}

static void entry_fill(struct request *req, const struct describe_configs_request *m,
                       entry_t *e, const char *name, const char *value, int source, int type,
                       bool read_only, const char *synonym_name) {
  describe_configs_response_describe_configs_resource_result_init(e);
  e->name = kstr_of(name);
  e->value = kstr_of(arena_strndup(&req->arena, value, strlen(value)));
  e->read_only = read_only;
  e->is_default = source == CONFIG_SOURCE_DEFAULT;
  e->config_source = (int8_t)source;
  e->config_type = (int8_t)type;
  e->synonyms_count = 0;
  if (m->include_synonyms) {
    e->synonyms_count = 1;
    e->synonyms = arena_alloc(&req->arena, sizeof *e->synonyms);
    e->synonyms[0].name = kstr_of(synonym_name ? synonym_name : name);
    e->synonyms[0].value = e->value;
    e->synonyms[0].source = (int8_t)source;
  }
}

/* The topic's overrides come from the metadata image, the rest from this
 * broker's defaults. */
static int16_t
describe_topic(struct request *req, const struct describe_configs_request *m,
               const struct describe_configs_request_describe_configs_resource *res,
               struct describe_configs_response_describe_configs_result *out) {
  const struct meta_image *image = req->node->image;
  ASSERT(image != NULL);
  const struct meta_topic *mt =
      res->resource_name.len > 0
          ? meta_image_topic(image, res->resource_name.ptr, (size_t)res->resource_name.len)
          : NULL;
  if (!mt) return KERR_UNKNOWN_TOPIC_OR_PARTITION;
  struct topic_config *tc = arena_alloc(&req->arena, sizeof *tc); /* the answer points in */
  topic_config_from_image(req->node, mt, tc);
  out->configs = arena_alloc(&req->arena, TC_COUNT * sizeof *out->configs);
  int n = 0;
  for (int k = 0; k < TC_COUNT; k++) {
    const struct topic_config_info *info = topic_config_info(k);
    if (!wanted(res, info->name)) continue;
    int source = tc->source[k];
    entry_fill(req, m, &out->configs[n++], info->name, tc->values[k], source, info->type, false,
               source == CONFIG_SOURCE_STATIC_BROKER ? info->broker_key : NULL);
  }
  ASSERT(n <= TC_COUNT);
  out->configs_count = n;
  return KERR_NONE;
}

struct broker_key {
  const char *name;
  int type;
};

static const struct broker_key broker_keys[] = {
    {"node.id", CONFIG_TYPE_INT},
    {"process.roles", CONFIG_TYPE_LIST},
    {"log.dirs", CONFIG_TYPE_STRING},
    {"num.partitions", CONFIG_TYPE_INT},
    {"default.replication.factor", CONFIG_TYPE_INT},
    {"auto.create.topics.enable", CONFIG_TYPE_BOOLEAN},
    {"delete.topic.enable", CONFIG_TYPE_BOOLEAN},
    {"message.max.bytes", CONFIG_TYPE_INT},
    {"socket.request.max.bytes", CONFIG_TYPE_INT},
    {"log.segment.bytes", CONFIG_TYPE_INT},
    {"log.retention.ms", CONFIG_TYPE_LONG},
    {"log.retention.bytes", CONFIG_TYPE_LONG},
    {"log.retention.check.interval.ms", CONFIG_TYPE_LONG},
    {"log.roll.ms", CONFIG_TYPE_LONG},
    {"log.index.interval.bytes", CONFIG_TYPE_INT},
    {"log.index.size.max.bytes", CONFIG_TYPE_INT},
    {"log.flush.interval.messages", CONFIG_TYPE_LONG},
    {"compression.type", CONFIG_TYPE_STRING},
    {"min.insync.replicas", CONFIG_TYPE_INT},
};

static void broker_value(const struct config *c, const char *name, char *out, size_t cap) {
  if (!strcmp(name, "node.id"))
    str_fmt(out, cap, "%d", c->node_id);
  else if (!strcmp(name, "process.roles"))
    str_fmt(out, cap, "%s", c->process_roles);
  else if (!strcmp(name, "log.dirs"))
    str_fmt(out, cap, "%s", c->log_dirs);
  else if (!strcmp(name, "num.partitions"))
    str_fmt(out, cap, "%d", c->num_partitions);
  else if (!strcmp(name, "default.replication.factor"))
    str_fmt(out, cap, "%d", c->default_replication_factor);
  else if (!strcmp(name, "auto.create.topics.enable"))
    str_fmt(out, cap, "%s", c->auto_create_topics_enable ? "true" : "false");
  else if (!strcmp(name, "delete.topic.enable"))
    str_fmt(out, cap, "%s", c->delete_topic_enable ? "true" : "false");
  else if (!strcmp(name, "message.max.bytes"))
    str_fmt(out, cap, "%d", c->message_max_bytes);
  else if (!strcmp(name, "socket.request.max.bytes"))
    str_fmt(out, cap, "%d", c->socket_request_max_bytes);
  else if (!strcmp(name, "log.segment.bytes"))
    str_fmt(out, cap, "%lld", (long long)c->log_segment_bytes);
  else if (!strcmp(name, "log.retention.ms"))
    str_fmt(out, cap, "%lld", (long long)config_retention_ms(c));
  else if (!strcmp(name, "log.retention.bytes"))
    str_fmt(out, cap, "%lld", (long long)c->log_retention_bytes);
  else if (!strcmp(name, "log.retention.check.interval.ms"))
    str_fmt(out, cap, "%lld", (long long)c->log_retention_check_interval_ms);
  else if (!strcmp(name, "log.roll.ms"))
    str_fmt(out, cap, "%lld", (long long)config_roll_ms(c));
  else if (!strcmp(name, "log.index.interval.bytes"))
    str_fmt(out, cap, "%d", c->log_index_interval_bytes);
  else if (!strcmp(name, "log.index.size.max.bytes"))
    str_fmt(out, cap, "%d", c->log_index_size_max_bytes);
  else if (!strcmp(name, "log.flush.interval.messages"))
    str_fmt(out, cap, "%lld", (long long)c->log_flush_interval_messages);
  else if (!strcmp(name, "compression.type"))
    str_fmt(out, cap, "%s", c->compression_type);
  else if (!strcmp(name, "min.insync.replicas"))
    str_fmt(out, cap, "%d", c->min_insync_replicas);
  else
    out[0] = 0;
}

static int16_t
describe_broker(struct request *req, const struct describe_configs_request *m,
                const struct describe_configs_request_describe_configs_resource *res,
                struct describe_configs_response_describe_configs_result *out) {
  char self[16];
  str_fmt(self, sizeof self, "%d", node_id(req->node));
  if (res->resource_name.len > 0 && !kstr_eq(res->resource_name, self))
    return KERR_INVALID_REQUEST;
  struct config defaults;
  config_defaults(&defaults);
  size_t n_keys = sizeof broker_keys / sizeof broker_keys[0];
  out->configs = arena_alloc(&req->arena, n_keys * sizeof *out->configs);
  int n = 0;
  for (size_t i = 0; i < n_keys; i++) {
    if (!wanted(res, broker_keys[i].name)) continue;
    char value[300], dflt[300];
    broker_value(&req->node->cfg, broker_keys[i].name, value, sizeof value);
    broker_value(&defaults, broker_keys[i].name, dflt, sizeof dflt);
    int source = strcmp(value, dflt) ? CONFIG_SOURCE_STATIC_BROKER : CONFIG_SOURCE_DEFAULT;
    entry_fill(req, m, &out->configs[n++], broker_keys[i].name, value, source,
               broker_keys[i].type, true, NULL);
  }
  out->configs_count = n;
  return KERR_NONE;
}

bool handle_describe_configs(struct request *req) {
  handler_assert_entry(req, API_DESCRIBE_CONFIGS);
  struct describe_configs_request m;
  if (!describe_configs_request_decode(&req->body, req->api_version, &m, &req->arena))
    return false;
  ASSERT(req->pending == NULL);
  int32_t count = m.resources_count > 0 ? m.resources_count : 0;
  struct describe_configs_response resp;
  describe_configs_response_init(&resp);
  resp.results_count = count;
  resp.results = arena_alloc(&req->arena, (size_t)count * sizeof *resp.results);
  for (int32_t i = 0; i < count; i++) {
    const struct describe_configs_request_describe_configs_resource *res = &m.resources[i];
    struct describe_configs_response_describe_configs_result *out = &resp.results[i];
    describe_configs_response_describe_configs_result_init(out);
    out->resource_type = res->resource_type;
    out->resource_name = res->resource_name;
    int16_t err = res->resource_type == RESOURCE_TOPIC    ? describe_topic(req, &m, res, out)
                  : res->resource_type == RESOURCE_BROKER ? describe_broker(req, &m, res, out)
                                                          : KERR_INVALID_REQUEST;
    out->error_code = err;
    if (err != KERR_NONE) out->error_message = kstr_of(kerr_name(err));
  }
  struct wr w;
  response_begin(req, &w);
  describe_configs_response_encode(&w, req->api_version, &resp);
  request_respond(req, &w);
  return true;
}
