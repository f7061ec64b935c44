/* CreateTopics (API 19), versions 2-7. This node is the whole cluster (until
 * the quorum and replication land), so a replication factor above one cannot
 * be met and is refused the way Kafka refuses it. */
#include <string.h>

#include "base/str.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/handlers.h"
#include "server/server.h"

enum { ERROR_TEXT_BYTES = 256 };

struct create_result {
  struct create_topics_response_creatable_topic_result *r;
  char *message;
};

static int16_t fail(struct request *req,
                    struct create_topics_response_creatable_topic_result *r, int16_t code,
                    const char *text) {
  r->error_code = code;
  r->error_message = kstr_of(arena_strndup(&req->arena, text, strlen(text)));
  return code;
}

static bool duplicate_name(const struct create_topics_request *m, int32_t i) {
  for (int32_t j = 0; j < m->topics_count; j++) {
    struct kstr a = m->topics[i].name, b = m->topics[j].name;
    if (j != i && a.len == b.len && a.len >= 0 && memcmp(a.ptr, b.ptr, (size_t)a.len) == 0)
      return true;
  }
  return false;
}

static void describe_configs(struct request *req, const struct topic_config *tc,
                             struct create_topics_response_creatable_topic_result *r) {
  r->configs_count = TC_COUNT;
  r->configs = arena_alloc(&req->arena, TC_COUNT * sizeof *r->configs);
  for (int k = 0; k < TC_COUNT; k++) {
    create_topics_response_creatable_topic_configs_init(&r->configs[k]);
    r->configs[k].name = kstr_of(topic_config_info(k)->name);
    r->configs[k].value = kstr_of(tc->values[k]);
    r->configs[k].config_source = (int8_t)tc->source[k];
  }
}

static int16_t create_one(struct request *req, const struct create_topics_request *m,
                          const struct create_topics_request_creatable_topic *ct,
                          struct create_topics_response_creatable_topic_result *r) {
  struct node *node = req->node;
  char name[TOPIC_NAME_BYTES_MAX + 1], why[ERROR_TEXT_BYTES];
  if (ct->name.len <= 0 || !topic_name_valid(ct->name.ptr, (size_t)ct->name.len))
    return fail(req, r, KERR_INVALID_TOPIC_EXCEPTION,
                "Topic name is illegal: it may only contain ASCII alphanumerics, '.', '_' "
                "and '-', up to 249 characters");
  memcpy(name, ct->name.ptr, (size_t)ct->name.len);
  name[ct->name.len] = 0;
  if (topic_find(node, name, strlen(name))) {
    str_fmt(why, sizeof why, "Topic '%s' already exists.", name);
    return fail(req, r, KERR_TOPIC_ALREADY_EXISTS, why);
  }
  int32_t partitions = ct->num_partitions;
  int32_t rf = ct->replication_factor;
  if (ct->assignments_count > 0) {
    if (partitions != -1 || rf != -1)
      return fail(req, r, KERR_INVALID_REQUEST,
                  "Both numPartitions or replicationFactor and replicasAssignments were set.");
    for (int32_t i = 0; i < ct->assignments_count; i++) {
      const struct create_topics_request_creatable_replica_assignment *a = &ct->assignments[i];
      if (a->partition_index != i || a->broker_ids_count != 1 ||
          a->broker_ids[0] != node_id(node))
        return fail(req, r, KERR_INVALID_REPLICA_ASSIGNMENT,
                    "Replica assignment names brokers that are not registered.");
    }
    partitions = ct->assignments_count;
    rf = 1;
  }
  if (partitions == -1) partitions = node->cfg.num_partitions;
  if (rf == -1) rf = node->cfg.default_replication_factor;
  if (partitions < 1 || partitions > PARTITIONS_MAX)
    return fail(req, r, KERR_INVALID_PARTITIONS, "Number of partitions must be larger than 0.");
  if (rf < 1)
    return fail(req, r, KERR_INVALID_REPLICATION_FACTOR,
                "Replication factor must be larger than 0.");
  if (rf > 1) {
    str_fmt(why, sizeof why,
            "Unable to replicate the partition %d times: The target replication factor of %d "
            "cannot be reached because only 1 broker(s) are registered.",
            rf, rf);
    return fail(req, r, KERR_INVALID_REPLICATION_FACTOR, why);
  }
  /* In the arena: the response points at its values until it is sent. */
  struct topic_config *tc = arena_alloc(&req->arena, sizeof *tc);
  topic_config_init(tc, &node->cfg);
  for (int32_t i = 0; i < ct->configs_count; i++) {
    const struct create_topics_request_creatable_topic_config *c = &ct->configs[i];
    char key[128], value[128];
    if (c->name.len <= 0 || c->name.len >= (int32_t)sizeof key || c->value.len < 0 ||
        c->value.len >= (int32_t)sizeof value)
      return fail(req, r, KERR_INVALID_CONFIG, "Null or oversized config name or value.");
    memcpy(key, c->name.ptr, (size_t)c->name.len);
    key[c->name.len] = 0;
    memcpy(value, c->value.ptr, (size_t)c->value.len);
    value[c->value.len] = 0;
    if (!topic_config_set(tc, key, value, why, sizeof why))
      return fail(req, r, KERR_INVALID_CONFIG, why);
  }
  r->num_partitions = partitions;
  r->replication_factor = (int16_t)rf;
  if (!m->validate_only) {
    struct topic *t;
    int rc = topic_create(node, name, partitions, tc, &t);
    if (rc != KERR_NONE) return fail(req, r, (int16_t)rc, kerr_name(rc));
    r->topic_id = t->id;
  }
  describe_configs(req, tc, r);
  return KERR_NONE;
}

bool handle_create_topics(struct request *req) {
  struct create_topics_request m;
  if (!create_topics_request_decode(&req->body, req->api_version, &m, &req->arena))
    return false;
  struct create_topics_response resp;
  create_topics_response_init(&resp);
  int32_t count = m.topics_count > 0 ? m.topics_count : 0;
  resp.topics_count = count;
  resp.topics = arena_alloc(&req->arena, (size_t)count * sizeof *resp.topics);
  for (int32_t i = 0; i < count; i++) {
    struct create_topics_response_creatable_topic_result *r = &resp.topics[i];
    create_topics_response_creatable_topic_result_init(r);
    r->name = m.topics[i].name;
    if (duplicate_name(&m, i))
      fail(req, r, KERR_INVALID_REQUEST,
           "Create topics request from client contains multiple topics with the same name.");
    else
      create_one(req, &m, &m.topics[i], r);
    if (r->error_code != KERR_NONE) r->configs_count = -1;
  }
  struct wr w;
  response_begin(req, &w);
  create_topics_response_encode(&w, req->api_version, &resp);
  request_respond(req, &w);
  return true;
}
