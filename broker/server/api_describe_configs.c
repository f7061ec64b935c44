/* DescribeConfigs (API 32), versions 0-4: every Kafka 3.9 topic config of a
 * topic (its overrides in the metadata image, else the broker synonym or
 * Kafka's default) and every broker config of this broker (a dynamic
 * override in the image for it or for every broker, else server.properties
 * or the default), from the config catalog (server/config_catalog.h). */
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/handlers.h"
#include "server/server.h"

enum { RESOURCE_TOPIC = 2, RESOURCE_BROKER = 4 };
/* Kafka's ConfigSource values of dynamic broker configs (ConfigRecords of
 * resource type broker, set through AlterConfigs). */
enum { SOURCE_DYNAMIC_BROKER = 2, SOURCE_DYNAMIC_DEFAULT_BROKER = 3 };

typedef struct describe_configs_response_describe_configs_resource_result entry_t;

static bool wanted(const struct describe_configs_request_describe_configs_resource *res,
                   const char *name) {
  if (res->configuration_keys_count < 0) return true;
  for (int32_t i = 0; i < res->configuration_keys_count; i++)
    if (kstr_eq(res->configuration_keys[i], name)) return true;
  return false;
}

/* value NULL: Kafka's null (a config without a default, or a password,
 * which DescribeConfigs never reveals). */
static void entry_fill(struct request *req, const struct describe_configs_request *m,
                       entry_t *e, const struct config_def *def, const char *value, int source,
                       const char *synonym_name) {
  describe_configs_response_describe_configs_resource_result_init(e);
  bool sensitive = (def->flags & CONFIG_SENSITIVE) != 0;
  if (sensitive) value = NULL;
  e->name = kstr_of(def->name);
  e->value = value ? kstr_of(arena_strndup(&req->arena, value, strlen(value))) : KSTR_NULL;
  /* Topic configs change through AlterConfigs; broker configs too are
   * stored dynamically (meta/config_control.h) but Sluice acts on none of
   * those yet: they are described as read-only. */
  e->read_only = def->scope == CONFIG_SCOPE_BROKER;
  e->is_default = source == CONFIG_SOURCE_DEFAULT;
  e->is_sensitive = sensitive;
  e->config_source = (int8_t)source;
  e->config_type = (int8_t)def->type;
  e->documentation = KSTR_NULL;
  e->synonyms_count = 0;
  if (m->include_synonyms) {
    e->synonyms_count = 1;
    e->synonyms = arena_alloc(&req->arena, sizeof *e->synonyms);
    e->synonyms[0].name = kstr_of(synonym_name ? synonym_name : def->name);
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
    const struct config_def *info = topic_config_info(k);
    if (!wanted(res, info->name)) continue;
    int source = tc->source[k];
    entry_fill(req, m, &out->configs[n++], info, tc->values[k], source,
               source == CONFIG_SOURCE_STATIC_BROKER ? info->synonym : NULL);
  }
  ASSERT(n <= TC_COUNT);
  out->configs_count = n;
  return KERR_NONE;
}

static int16_t
describe_broker(struct request *req, const struct describe_configs_request *m,
                const struct describe_configs_request_describe_configs_resource *res,
                struct describe_configs_response_describe_configs_result *out) {
  char self[16];
  str_fmt(self, sizeof self, "%d", node_id(req->node));
  if (res->resource_name.len > 0 && !kstr_eq(res->resource_name, self))
    return KERR_INVALID_REQUEST;
  int total = config_catalog_count();
  out->configs = arena_alloc(&req->arena, (size_t)total * sizeof *out->configs);
  int n = 0;
  for (int i = TC_COUNT; i < total; i++) { /* the broker configs follow the topic ones */
    const struct config_def *def = config_catalog_at(i);
    ASSERT(def->scope == CONFIG_SCOPE_BROKER);
    if (!wanted(res, def->name)) continue;
    /* A dynamic override for this broker, else for every broker, else
     * server.properties or the default (Kafka's order of precedence). */
    const char *own = meta_image_broker_config(req->node->image, self, def->name);
    const char *all = meta_image_broker_config(req->node->image, "", def->name);
    if (own || all) {
      entry_fill(req, m, &out->configs[n++], def, own ? own : all,
                 own ? SOURCE_DYNAMIC_BROKER : SOURCE_DYNAMIC_DEFAULT_BROKER, NULL);
      continue;
    }
    char value[CONFIG_STORED_VALUE_BYTES + 64];
    bool set = false;
    bool has = config_value(&req->node->cfg, def->name, value, sizeof value, &set);
    entry_fill(req, m, &out->configs[n++], def, has ? value : NULL,
               set ? CONFIG_SOURCE_STATIC_BROKER : CONFIG_SOURCE_DEFAULT, NULL);
  }
  ASSERT(n <= total);
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
