/* A scenario file: the cluster, topics, workload and expectations, and the
 * YAML readers that faults/grammar.c uses for the faults: section. */
#include "sim/scenario.h"

#include <libfyaml.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "faults/grammar.h"
#include "server/topic_config.h"
#include "sim/history.h"
#include "sim/hostile.h"
#include "sim/scenario_yaml.h"

/* ---- the YAML readers and writer (sim/scenario_yaml.h) ---- */

int yaml_line(struct fy_node *n) {
  struct fy_token *t = n ? fy_node_get_scalar_token(n) : NULL;
  const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
  return m ? m->line + 1 : 0;
}

bool yaml_fail(struct yaml_parser *p, int line, const char *fmt, ...) {
  if (p->failed) return false;
  p->failed = true;
  int n = snprintf(p->err, p->err_cap, "%s:%d: ", p->path, line);
  va_list ap;
  va_start(ap, fmt);
  if (n >= 0 && (size_t)n < p->err_cap) vsnprintf(p->err + n, p->err_cap - (size_t)n, fmt, ap);
  va_end(ap);
  return false;
}

bool yaml_scalar(struct yaml_parser *p, struct fy_node *key, struct fy_node *v, char *out,
                 size_t cap) {
  if (!v || !fy_node_is_scalar(v))
    return yaml_fail(p, yaml_line(key), "%s: expected a single value",
                     fy_node_get_scalar0(key));
  const char *s = fy_node_get_scalar0(v);
  if (!s || strlen(s) >= cap)
    return yaml_fail(p, yaml_line(v), "%s: value too long", fy_node_get_scalar0(key));
  strcpy(out, s);
  return true;
}

bool yaml_integer(struct yaml_parser *p, struct fy_node *key, struct fy_node *v, int64_t min,
                  int64_t max, int64_t *out) {
  char text[64];
  if (!yaml_scalar(p, key, v, text, sizeof text)) return false;
  char *end;
  long long n = strtoll(text, &end, 10);
  if (end == text || *end || n < min || n > max)
    return yaml_fail(p, yaml_line(v), "%s: expected an integer in [%lld, %lld], got \"%s\"",
                     fy_node_get_scalar0(key), (long long)min, (long long)max, text);
  *out = n;
  return true;
}

/* "250ms", "10s", "2m" (a bare number is refused: say the unit). */
bool yaml_duration(struct yaml_parser *p, struct fy_node *key, struct fy_node *v, int64_t *ms) {
  char text[64];
  if (!yaml_scalar(p, key, v, text, sizeof text)) return false;
  char *end;
  long long n = strtoll(text, &end, 10);
  int64_t unit = !strcmp(end, "ms")  ? 1
                 : !strcmp(end, "s") ? 1000
                 : !strcmp(end, "m") ? 60000
                                     : 0;
  if (end == text || unit == 0 || n < -86400000 || n > 86400000)
    return yaml_fail(p, yaml_line(v),
                     "%s: expected a duration like 500ms, 10s or 2m, got \"%s\"",
                     fy_node_get_scalar0(key), text);
  *ms = n * unit;
  return true;
}

bool yaml_fields(struct yaml_parser *p, struct scenario *s, struct fy_node *map,
                 struct fy_node *owner, const struct yaml_field *fields, size_t n,
                 const char *where) {
  if (!map || !fy_node_is_mapping(map))
    return yaml_fail(p, yaml_line(owner), "%s: expected a mapping", where);
  void *it = NULL;
  struct fy_node_pair *pair;
  while (!p->failed && (pair = fy_node_mapping_iterate(map, &it))) {
    struct fy_node *key = fy_node_pair_key(pair), *v = fy_node_pair_value(pair);
    const char *name = fy_node_get_scalar0(key);
    size_t i = 0;
    while (i < n && (!name || strcmp(name, fields[i].name))) i++;
    if (i == n)
      return yaml_fail(p, yaml_line(key), "%s: unknown key \"%s\"", where, name ? name : "?");
    fields[i].fn(p, s, key, v);
  }
  return !p->failed;
}

/* ---- top-level fields ---- */

static bool f_name(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                   struct fy_node *v) {
  return yaml_scalar(p, k, v, s->name, sizeof s->name);
}
static bool f_description(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                          struct fy_node *v) {
  return yaml_scalar(p, k, v, s->description, sizeof s->description);
}
static bool f_duration(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                       struct fy_node *v) {
  return yaml_duration(p, k, v, &s->duration_ms);
}
static bool f_liveness(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                       struct fy_node *v) {
  return yaml_duration(p, k, v, &s->liveness_ms);
}

static bool f_nodes(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                    struct fy_node *v) {
  int64_t n;
  if (!yaml_integer(p, k, v, 1, SCENARIO_NODES_MAX, &n)) return false;
  s->nodes = (int32_t)n;
  return true;
}

static bool f_config(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                     struct fy_node *v) {
  if (!v || !fy_node_is_mapping(v))
    return yaml_fail(p, yaml_line(k), "config: expected a mapping");
  void *it = NULL;
  struct fy_node_pair *pair;
  while ((pair = fy_node_mapping_iterate(v, &it))) {
    if (s->config_count == SCENARIO_CONFIG_MAX)
      return yaml_fail(p, yaml_line(k), "config: more than %d keys", SCENARIO_CONFIG_MAX);
    struct scenario_kv *kv = &s->config[s->config_count++];
    if (!yaml_scalar(p, k, fy_node_pair_key(pair), kv->key, sizeof kv->key) ||
        !yaml_scalar(p, fy_node_pair_key(pair), fy_node_pair_value(pair), kv->value,
                     sizeof kv->value))
      return false;
  }
  return true;
}

static const char *const role_names[ROLE_COUNT] = {
    [ROLE_COMBINED] = "combined", [ROLE_BROKER] = "broker", [ROLE_CONTROLLER] = "controller"};

const char *node_role_name(enum node_role role) {
  static const char *const roles[ROLE_COUNT] = {[ROLE_COMBINED] = "broker,controller",
                                                [ROLE_BROKER] = "broker",
                                                [ROLE_CONTROLLER] = "controller"};
  return role < ROLE_COUNT ? roles[role] : "?";
}

static bool role(struct yaml_parser *p, struct fy_node *v, enum node_role *out) {
  const char *text = v && fy_node_is_scalar(v) ? fy_node_get_scalar0(v) : NULL;
  for (int r = 0; text && r < ROLE_COUNT; r++)
    if (!strcmp(text, role_names[r])) {
      *out = (enum node_role)r;
      return true;
    }
  return yaml_fail(p, yaml_line(v),
                   "roles: expected combined, broker or controller, got \"%s\"",
                   text ? text : "?");
}

/* roles: combined (every node), or a list with one role per node. */
static bool f_roles(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                    struct fy_node *v) {
  if (v && fy_node_is_scalar(v)) {
    enum node_role r;
    if (!role(p, v, &r)) return false;
    for (int i = 0; i < SCENARIO_NODES_MAX; i++) s->roles[i] = r;
    s->roles_listed = 0;
    return true;
  }
  if (!v || !fy_node_is_sequence(v))
    return yaml_fail(p, yaml_line(k), "roles: expected a role or a list of one per node");
  void *it = NULL;
  struct fy_node *item;
  int count = 0;
  while ((item = fy_node_sequence_iterate(v, &it))) {
    if (count == SCENARIO_NODES_MAX) return yaml_fail(p, yaml_line(item), "roles: more than 9");
    if (!role(p, item, &s->roles[count++])) return false;
  }
  s->roles_listed = count;
  return true;
}

static const struct yaml_field cluster_fields[] = {
    {"nodes", f_nodes}, {"roles", f_roles}, {"config", f_config}};

static bool f_cluster(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                      struct fy_node *v) {
  return yaml_fields(p, s, v, k, cluster_fields, ARRAY_LEN(cluster_fields), "cluster");
}

static bool f_topic_name(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                         struct fy_node *v) {
  (void)s;
  return yaml_scalar(p, k, v, p->topic->name, sizeof p->topic->name);
}
static bool f_topic_partitions(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                               struct fy_node *v) {
  (void)s;
  int64_t n;
  if (!yaml_integer(p, k, v, 1, 64, &n)) return false;
  p->topic->partitions = (int32_t)n;
  return true;
}
static bool f_topic_rf(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                       struct fy_node *v) {
  (void)s;
  int64_t n;
  if (!yaml_integer(p, k, v, 1, SCENARIO_NODES_MAX, &n)) return false;
  p->topic->replication_factor = (int16_t)n;
  return true;
}

static bool f_topic_retention(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                              struct fy_node *v) {
  (void)s;
  char text[8];
  if (!yaml_scalar(p, k, v, text, sizeof text)) return false;
  if (strcmp(text, "true") && strcmp(text, "false"))
    return yaml_fail(p, yaml_line(v), "retention_deletes: expected true or false");
  p->topic->retention_deletes = !strcmp(text, "true");
  return true;
}

/* config: {compression.type: zstd, ...}: topic-level keys, checked here. */
static bool f_topic_config(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                           struct fy_node *v) {
  (void)s;
  if (!v || !fy_node_is_mapping(v))
    return yaml_fail(p, yaml_line(k), "config: expected a mapping");
  struct config broker;
  config_defaults(&broker);
  struct topic_config tc;
  topic_config_init(&tc, &broker);
  void *it = NULL;
  struct fy_node_pair *pair;
  struct scenario_topic *t = p->topic;
  while ((pair = fy_node_mapping_iterate(v, &it))) {
    if (t->config_count == SCENARIO_TOPIC_CONFIG_MAX)
      return yaml_fail(p, yaml_line(k), "config: more than %d keys", SCENARIO_TOPIC_CONFIG_MAX);
    struct scenario_kv *kv = &t->config[t->config_count++];
    if (!yaml_scalar(p, k, fy_node_pair_key(pair), kv->key, sizeof kv->key) ||
        !yaml_scalar(p, fy_node_pair_key(pair), fy_node_pair_value(pair), kv->value,
                     sizeof kv->value))
      return false;
    char why[256];
    if (!topic_config_set(&tc, kv->key, kv->value, why, sizeof why))
      return yaml_fail(p, yaml_line(fy_node_pair_key(pair)), "config: %s", why);
  }
  return true;
}

static const struct yaml_field topic_fields[] = {{"name", f_topic_name},
                                                 {"partitions", f_topic_partitions},
                                                 {"replication_factor", f_topic_rf},
                                                 {"retention_deletes", f_topic_retention},
                                                 {"config", f_topic_config}};

static bool f_topics(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                     struct fy_node *v) {
  if (!v || !fy_node_is_sequence(v))
    return yaml_fail(p, yaml_line(k), "topics: expected a list");
  void *it = NULL;
  struct fy_node *item;
  while (!p->failed && (item = fy_node_sequence_iterate(v, &it))) {
    if (s->topic_count == SCENARIO_TOPICS_MAX)
      return yaml_fail(p, yaml_line(k), "topics: more than %d", SCENARIO_TOPICS_MAX);
    p->topic = &s->topics[s->topic_count++];
    *p->topic = (struct scenario_topic){.partitions = 1, .replication_factor = 1};
    if (!yaml_fields(p, s, item, k, topic_fields, ARRAY_LEN(topic_fields), "topics"))
      return false;
    if (!p->topic->name[0]) return yaml_fail(p, yaml_line(k), "topics: a topic needs a name");
  }
  return !p->failed;
}

static bool f_producers(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                        struct fy_node *v) {
  int64_t n;
  if (!yaml_integer(p, k, v, 0, 64, &n)) return false;
  s->producers = (int32_t)n;
  return true;
}
static bool f_consumers(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                        struct fy_node *v) {
  int64_t n;
  if (!yaml_integer(p, k, v, 0, 64, &n)) return false;
  s->consumers = (int32_t)n;
  s->consumers_listed = true;
  return true;
}

static bool group_name(struct yaml_parser *p, struct fy_node *k, struct fy_node *v,
                       struct scenario_group *g) {
  if (!yaml_scalar(p, k, v, g->name, sizeof g->name)) return false;
  if (!g->name[0] || strlen(g->name) > 255)
    return yaml_fail(p, yaml_line(v), "group: a name of 1 to 255 bytes (group.id)");
  return true;
}

/* group: name: every consumer is a member of it. */
static bool f_group(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                    struct fy_node *v) {
  if (s->group_count > 0) return yaml_fail(p, yaml_line(k), "group: and groups: both given");
  struct scenario_group *g = &s->groups[0];
  *g = (struct scenario_group){.members = -1}; /* -1: every consumer */
  if (!group_name(p, k, v, g)) return false;
  s->group_count = 1;
  return true;
}

/* groups: [{name: g1, members: 3}, ...] */
static bool f_groups(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                     struct fy_node *v) {
  if (s->group_count > 0) return yaml_fail(p, yaml_line(k), "group: and groups: both given");
  if (!v || !fy_node_is_sequence(v))
    return yaml_fail(p, yaml_line(k), "groups: expected a list of {name: g, members: N}");
  void *it = NULL;
  struct fy_node *item;
  while ((item = fy_node_sequence_iterate(v, &it))) {
    if (s->group_count == SCENARIO_GROUPS_MAX)
      return yaml_fail(p, yaml_line(k), "groups: more than %d", SCENARIO_GROUPS_MAX);
    struct fy_node *name =
        fy_node_is_mapping(item) ? fy_node_mapping_lookup_by_string(item, "name", 4) : NULL;
    struct fy_node *members =
        fy_node_is_mapping(item) ? fy_node_mapping_lookup_by_string(item, "members", 7) : NULL;
    if (!name || !members || fy_node_mapping_item_count(item) != 2)
      return yaml_fail(p, yaml_line(k), "groups: each entry is {name: g, members: N}");
    struct scenario_group *g = &s->groups[s->group_count];
    int64_t n;
    if (!group_name(p, item, name, g) || !yaml_integer(p, item, members, 1, 16, &n))
      return false;
    g->members = (int32_t)n;
    for (int i = 0; i < s->group_count; i++)
      if (!strcmp(s->groups[i].name, g->name))
        return yaml_fail(p, yaml_line(k), "groups: %s named twice", g->name);
    s->group_count++;
  }
  return s->group_count > 0 || yaml_fail(p, yaml_line(k), "groups: an empty list");
}

static bool f_commit_interval(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                              struct fy_node *v) {
  if (!yaml_duration(p, k, v, &s->commit_interval_ms)) return false;
  if (s->commit_interval_ms < 10 || s->commit_interval_ms > 600000)
    return yaml_fail(p, yaml_line(v), "commit_interval: within 10ms and 10m");
  return true;
}

static bool f_session_timeout(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                              struct fy_node *v) {
  int64_t ms;
  if (!yaml_duration(p, k, v, &ms)) return false;
  if (ms < 1000 || ms > 1800000)
    return yaml_fail(p, yaml_line(v), "session_timeout: within 1s and 30m");
  s->session_timeout_ms = (int32_t)ms;
  return true;
}
static bool f_rate(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                   struct fy_node *v) {
  int64_t n;
  if (!yaml_integer(p, k, v, 1, 1000000, &n)) return false;
  s->rate_per_s = (int32_t)n;
  return true;
}
static bool f_value_bytes(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                          struct fy_node *v) {
  int64_t n;
  if (!yaml_integer(p, k, v, 16, 1 << 20, &n)) return false;
  s->value_bytes = (int32_t)n;
  return true;
}
static bool f_keys(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                   struct fy_node *v) {
  int64_t n;
  if (!yaml_integer(p, k, v, 1, 1 << 16, &n)) return false;
  s->keys = (int32_t)n;
  return true;
}
static bool f_deletes(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                      struct fy_node *v) {
  int64_t n;
  if (!yaml_integer(p, k, v, 2, 1 << 16, &n)) return false;
  s->deletes = (int32_t)n;
  return true;
}
static bool f_acks(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                   struct fy_node *v) {
  char text[16];
  if (!yaml_scalar(p, k, v, text, sizeof text)) return false;
  if (!strcmp(text, "all") || !strcmp(text, "-1"))
    s->acks = -1;
  else if (!strcmp(text, "1"))
    s->acks = 1;
  else if (!strcmp(text, "0"))
    s->acks = 0;
  else
    return yaml_fail(p, yaml_line(v), "acks: expected 0, 1 or all, got \"%s\"", text);
  return true;
}

/* idempotence: false makes the producers Kafka's older kind, which may
 * store a retried batch twice (scenarios that show it). */
static bool f_idempotence(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                          struct fy_node *v) {
  char text[8];
  if (!yaml_scalar(p, k, v, text, sizeof text)) return false;
  if (strcmp(text, "true") && strcmp(text, "false"))
    return yaml_fail(p, yaml_line(v), "idempotence: expected true or false");
  s->idempotence_off = !strcmp(text, "false");
  return true;
}

/* static_members: true gives each member a group.instance.id (KIP-345). */
static bool f_static_members(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                             struct fy_node *v) {
  char text[8];
  if (!yaml_scalar(p, k, v, text, sizeof text)) return false;
  if (strcmp(text, "true") && strcmp(text, "false"))
    return yaml_fail(p, yaml_line(v), "static_members: expected true or false");
  s->static_members = !strcmp(text, "true");
  return true;
}

static bool f_admins(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                     struct fy_node *v) {
  int64_t n;
  if (!yaml_integer(p, k, v, 0, 8, &n)) return false;
  s->admins = (int32_t)n;
  return true;
}

/* admin_ops: all adds the config changes and the group administration
 * (AlterConfigs, IncrementalAlterConfigs, ListGroups, DescribeGroups,
 * OffsetCommit/OffsetFetch/OffsetDelete of an admin's own group,
 * DeleteGroups) to what the admin clients send; basic (the default) keeps
 * what scenarios written before them draw. */
static bool f_admin_ops(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                        struct fy_node *v) {
  char text[8];
  if (!yaml_scalar(p, k, v, text, sizeof text)) return false;
  if (strcmp(text, "basic") && strcmp(text, "all"))
    return yaml_fail(p, yaml_line(v), "admin_ops: expected basic or all");
  s->admin_ops_all = !strcmp(text, "all");
  return true;
}

static const char *const reset_names[] = {
    [RESET_EARLIEST] = "earliest", [RESET_LATEST] = "latest"};
static bool f_reset(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                    struct fy_node *v) {
  char text[16];
  if (!yaml_scalar(p, k, v, text, sizeof text)) return false;
  for (size_t i = 0; i < ARRAY_LEN(reset_names); i++)
    if (!strcmp(text, reset_names[i])) {
      s->auto_offset_reset = (enum scenario_reset)i;
      return true;
    }
  return yaml_fail(p, yaml_line(v),
                   "auto_offset_reset: expected earliest or latest, got \"%s\"", text);
}

/* The producers' codecs, as enum rb_codec numbers them. */
static const char *const codec_names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
static bool codec(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                  struct fy_node *v) {
  char text[16];
  if (!yaml_scalar(p, k, v, text, sizeof text)) return false;
  if (s->codec_count == SCENARIO_CODECS_MAX)
    return yaml_fail(p, yaml_line(v), "compression: more than %d", SCENARIO_CODECS_MAX);
  for (size_t i = 0; i < ARRAY_LEN(codec_names); i++)
    if (!strcmp(text, codec_names[i])) {
      s->codecs[s->codec_count++] = (int8_t)i;
      return true;
    }
  return yaml_fail(p, yaml_line(v),
                   "compression: expected none, gzip, snappy, lz4 or zstd, got \"%s\"", text);
}

/* compression: zstd (every producer), or [none, lz4] (producer i takes
 * entry i modulo the list's length). */
static bool f_compression(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                          struct fy_node *v) {
  s->codec_count = 0;
  if (!v || !fy_node_is_sequence(v)) return codec(p, s, k, v);
  void *it = NULL;
  struct fy_node *item;
  while ((item = fy_node_sequence_iterate(v, &it)))
    if (!codec(p, s, k, item)) return false;
  return s->codec_count > 0 || yaml_fail(p, yaml_line(k), "compression: an empty list");
}

/* hostile: [slow-reader, partition-flood] (sim/hostile.h's kinds). */
static bool hostile_one(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                        struct fy_node *v) {
  char text[32];
  if (!yaml_scalar(p, k, v, text, sizeof text)) return false;
  int kind = hostile_kind_of(text);
  if (kind < 0) {
    char list[160] = "";
    for (int i = 0; i < HOSTILE_KINDS; i++)
      snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
               hostile_kind_names[i]);
    return yaml_fail(p, yaml_line(v), "hostile: unknown kind \"%s\" (known: %s)", text, list);
  }
  s->hostile |= 1u << kind;
  return true;
}
static bool f_hostile(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                      struct fy_node *v) {
  s->hostile = 0;
  if (!v || !fy_node_is_sequence(v)) return hostile_one(p, s, k, v);
  void *it = NULL;
  struct fy_node *item;
  while ((item = fy_node_sequence_iterate(v, &it)))
    if (!hostile_one(p, s, k, item)) return false;
  return s->hostile != 0 || yaml_fail(p, yaml_line(k), "hostile: an empty list");
}
static bool f_bystander_wait(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                             struct fy_node *v) {
  if (!yaml_duration(p, k, v, &s->bystander_wait_ms)) return false;
  if (s->bystander_wait_ms < 1 || s->bystander_wait_ms > 600000)
    return yaml_fail(p, yaml_line(v), "bystander_wait: within 1ms and 10m");
  return true;
}

static const struct yaml_field workload_fields[] = {
    {"hostile", f_hostile},
    {"bystander_wait", f_bystander_wait},
    {"producers", f_producers},
    {"consumers", f_consumers},
    {"rate", f_rate},
    {"acks", f_acks},
    {"value_bytes", f_value_bytes},
    {"idempotence", f_idempotence},
    {"admins", f_admins},
    {"admin_ops", f_admin_ops},
    {"auto_offset_reset", f_reset},
    {"compression", f_compression},
    {"group", f_group},
    {"groups", f_groups},
    {"commit_interval", f_commit_interval},
    {"session_timeout", f_session_timeout},
    {"static_members", f_static_members},
    {"keys", f_keys},
    {"deletes", f_deletes},
};

static bool f_workload(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                       struct fy_node *v) {
  return yaml_fields(p, s, v, k, workload_fields, ARRAY_LEN(workload_fields), "workload");
}

/* A checker's number by name; -1 (and the error) if there is none. */
static int checker(struct yaml_parser *p, struct fy_node *n) {
  const char *name = n && fy_node_is_scalar(n) ? fy_node_get_scalar0(n) : NULL;
  for (int i = 0; name && i < CHECKERS_MAX; i++)
    if (!strcmp(name, history_checker_names[i])) return i;
  yaml_fail(p, yaml_line(n), "unknown checker \"%s\"", name ? name : "?");
  return -1;
}

static bool names(struct yaml_parser *p, struct fy_node *k, struct fy_node *v, char (*out)[32],
                  int *count) {
  if (!v || !fy_node_is_sequence(v))
    return yaml_fail(p, yaml_line(k), "expected a list of checkers");
  void *it = NULL;
  struct fy_node *item;
  while ((item = fy_node_sequence_iterate(v, &it))) {
    int c = checker(p, item);
    if (c < 0) return false;
    if (*count == SCENARIO_NAMES_MAX) return yaml_fail(p, yaml_line(item), "too many checkers");
    strcpy(out[(*count)++], history_checker_names[c]);
  }
  return true;
}

static bool f_must_pass(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                        struct fy_node *v) {
  return names(p, k, v, s->must_pass, &s->must_pass_count);
}

/* "lost-write takes power-loss-tail, corrupt-batch or disk-loss". */
static void takes(uint32_t can, char *out, size_t cap) {
  int n = 0, total = 0;
  for (int a = 0; a < ALLOWANCES; a++) total += (can >> a) & 1;
  size_t len = 0;
  out[0] = 0;
  for (int a = 0; a < ALLOWANCES; a++) {
    if (!((can >> a) & 1)) continue;
    const char *sep = n == 0 ? "" : n == total - 1 ? " or " : ", ";
    int w = snprintf(out + len, cap - len, "%s%s", sep, history_allowance_names[a]);
    if (w < 0 || (size_t)w >= cap - len) break;
    len += (size_t)w;
    n++;
  }
}

/* One allowance of checker c (a scalar). */
static bool allowance(struct yaml_parser *p, int c, struct fy_node *v, uint32_t *out) {
  const char *name = v && fy_node_is_scalar(v) ? fy_node_get_scalar0(v) : NULL;
  uint32_t can = history_allowances_for((enum history_checker)c);
  char list[128];
  takes(can, list, sizeof list);
  if (!can)
    return yaml_fail(p, yaml_line(v), "allow: %s takes no allowance", history_checker_names[c]);
  for (int a = 0; name && a < ALLOWANCES; a++) {
    if (strcmp(name, history_allowance_names[a])) continue;
    if (!((can >> a) & 1))
      return yaml_fail(p, yaml_line(v), "allow: %s does not apply to %s (it takes %s)", name,
                       history_checker_names[c], list);
    *out |= 1u << a;
    return true;
  }
  return yaml_fail(p, yaml_line(v), "allow: %s: unknown allowance \"%s\" (it takes %s)",
                   history_checker_names[c], name ? name : "?", list);
}

/* allow: {checker: allowance or [allowances], ...}; the old list of
 * checker names is still read (see struct scenario). */
static bool f_allow(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                    struct fy_node *v) {
  if (v && fy_node_is_sequence(v)) return names(p, k, v, s->allowed, &s->allowed_count);
  if (!v || !fy_node_is_mapping(v))
    return yaml_fail(p, yaml_line(k),
                     "allow: expected a mapping of checker to allowance, e.g. "
                     "{lost-write: power-loss-tail}");
  void *it = NULL;
  struct fy_node_pair *pair;
  while ((pair = fy_node_mapping_iterate(v, &it))) {
    struct fy_node *name = fy_node_pair_key(pair), *value = fy_node_pair_value(pair);
    int c = checker(p, name);
    if (c < 0) return false;
    if (value && fy_node_is_sequence(value)) {
      void *at = NULL;
      struct fy_node *item;
      while ((item = fy_node_sequence_iterate(value, &at)))
        if (!allowance(p, c, item, &s->allow[c])) return false;
    } else if (!allowance(p, c, value ? value : name, &s->allow[c])) {
      return false;
    }
  }
  return true;
}
static bool f_max_unavail(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                          struct fy_node *v) {
  return yaml_duration(p, k, v, &s->max_unavailability_ms);
}

/* leader_stable_after: 30s: the quorum's leader-stable checker, from then
 * to the end of the safety phase (sim/quorum_check.h). */
static bool f_leader_stable(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                            struct fy_node *v) {
  return yaml_duration(p, k, v, &s->leader_stable_after_ms);
}

static const struct yaml_field expect_fields[] = {{"checkers", f_must_pass},
                                                  {"allow", f_allow},
                                                  {"max_unavailability", f_max_unavail},
                                                  {"leader_stable_after", f_leader_stable}};

static bool f_expect(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                     struct fy_node *v) {
  return yaml_fields(p, s, v, k, expect_fields, ARRAY_LEN(expect_fields), "expect");
}

static const struct yaml_field top_fields[] = {
    {"name", f_name},         {"description", f_description},
    {"duration", f_duration}, {"liveness", f_liveness},
    {"cluster", f_cluster},   {"topics", f_topics},
    {"workload", f_workload}, {"faults", faults_parse},
    {"expect", f_expect},     {"jitter", faults_jitter_parse},
};

static void defaults(struct scenario *s) {
  memset(s, 0, sizeof *s);
  s->duration_ms = 30000;
  s->liveness_ms = 30000;
  s->nodes = 1;
  s->producers = 1;
  s->acks = -1;
  s->rate_per_s = 100;
  s->value_bytes = 100;
  s->consumers = 1;
  s->max_unavailability_ms = -1;
  s->leader_stable_after_ms = -1;
  s->fault_jitter_us = FAULT_JITTER_DEFAULT_US;
  s->commit_interval_ms = 1000;
  s->session_timeout_ms = 6000; /* group.min.session.timeout.ms */
}

const struct scenario_group *scenario_group(const struct scenario *s, const char *name) {
  for (int i = 0; i < s->group_count; i++)
    if (!strcmp(s->groups[i].name, name)) return &s->groups[i];
  return NULL;
}

int32_t scenario_group_members(const struct scenario *s) {
  int32_t n = 0;
  for (int i = 0; i < s->group_count; i++) n += s->groups[i].members;
  return n;
}

/* group: takes every consumer; groups: sets the consumers to their members
 * unless consumers: says more (the rest read in assign mode). */
static bool groups_validate(struct yaml_parser *p, struct scenario *s) {
  if (s->group_count == 1 && s->groups[0].members == -1) {
    if (s->consumers < 1) return yaml_fail(p, 0, "group: needs consumers: 1 or more");
    s->groups[0].members = s->consumers;
    return true;
  }
  int32_t members = scenario_group_members(s);
  if (s->group_count > 0 && !s->consumers_listed) s->consumers = members;
  if (s->consumers < members)
    return yaml_fail(p, 0, "groups: %d members, but consumers: %d", members, s->consumers);
  return true;
}

uint32_t scenario_allowance(const struct scenario *s, enum history_checker checker) {
  uint32_t can = history_allowances_for(checker);
  /* The old list form predates final-read: where it allowed loss, a reader
   * stopped by a flipped bit is how that loss shows. */
  const char *legacy =
      checker == CHECK_FINAL_READ ? "lost-write" : history_checker_names[checker];
  for (int i = 0; i < s->allowed_count; i++)
    if (!strcmp(s->allowed[i], legacy)) return can;
  return s->allow[checker] & can;
}

const struct scenario_topic *scenario_topic(const struct scenario *s, const char *name) {
  for (int i = 0; i < s->topic_count; i++)
    if (!strcmp(s->topics[i].name, name)) return &s->topics[i];
  return NULL;
}

static bool validate(struct yaml_parser *p, struct scenario *s) {
  if (s->roles_listed && s->roles_listed != s->nodes)
    return yaml_fail(p, 0, "roles: %d listed for %d nodes", s->roles_listed, s->nodes);
  int32_t partitions = 0;
  for (int i = 0; i < s->topic_count; i++) {
    const struct scenario_topic *t = &s->topics[i];
    partitions += t->partitions;
    if (t->replication_factor > s->nodes)
      return yaml_fail(p, 0, "topic %s: replication_factor %d exceeds nodes %d", t->name,
                       t->replication_factor, s->nodes);
    if (scenario_topic(s, t->name) != t)
      return yaml_fail(p, 0, "topic %s: named twice", t->name);
  }
  if (partitions > SCENARIO_PARTITIONS_MAX)
    return yaml_fail(p, 0, "topics: %d partitions in all, at most %d", partitions,
                     SCENARIO_PARTITIONS_MAX);
  bool grouped = groups_validate(p, s);
  s->consumers_listed = false; /* parse-time only: a written scenario reads back the same */
  if (!grouped) return false;
  if (s->producers + s->consumers + s->admins > SCENARIO_CLIENTS_MAX)
    return yaml_fail(p, 0, "workload: %d clients, at most %d",
                     s->producers + s->consumers + s->admins, SCENARIO_CLIENTS_MAX);
  if (s->deletes && !s->keys)
    return yaml_fail(p, 0, "workload: deletes needs keys (a tombstone deletes a key)");
  if (s->duration_ms <= 0 || s->liveness_ms <= 0)
    return yaml_fail(p, 0, "duration and liveness must be positive");
  for (int i = 0; i < s->must_pass_count; i++)
    for (int c = 0; c < CHECKERS_MAX; c++)
      if (!strcmp(s->must_pass[i], history_checker_names[c]) &&
          scenario_allowance(s, (enum history_checker)c))
        return yaml_fail(p, 0, "expect: %s is under checkers (must pass) and allowed",
                         s->must_pass[i]);
  /* An allowance is bounded by what the configuration can cause: an
   * idempotent producer's retry is never stored twice (KIP-98). */
  if ((s->allow[CHECK_DUPLICATE] & 1u << ALLOW_RETRIED_SENDS) && !s->idempotence_off &&
      s->acks != 0)
    return yaml_fail(p, 0,
                     "allow: retried-sends does not apply to idempotent producers (they never "
                     "store a retry twice); add workload: idempotence: false");
  if (!faults_validate(p, s)) return false;
  bool clients = s->producers + s->consumers + s->admins > 0;
  if (s->topic_count == 0 && clients)
    return yaml_fail(p, 1, "topics: at least one topic is needed");
  if (s->leader_stable_after_ms > s->duration_ms)
    return yaml_fail(p, 0, "expect: leader_stable_after %lldms is after the end of the run",
                     (long long)s->leader_stable_after_ms);
  return true;
}

bool scenario_parse(const char *path, const char *text, size_t len, struct scenario *out,
                    char *err, size_t err_cap) {
  struct yaml_parser p = {.path = path, .err = err, .err_cap = err_cap};
  defaults(out);
  struct fy_diag_cfg dcfg;
  fy_diag_cfg_default(&dcfg);
  dcfg.fp = NULL;
  dcfg.output_fn = NULL;
  struct fy_diag *diag = fy_diag_create(&dcfg);
  struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG, .diag = diag};
  struct fy_document *doc = fy_document_build_from_string(&cfg, text, len);
  if (!doc) {
    int line = 0;
    const char *msg = "not valid YAML";
    void *it = NULL;
    struct fy_diag_error *e = diag ? fy_diag_errors_iterate(diag, &it) : NULL;
    if (e) {
      line = e->line + 1;
      msg = e->msg;
    }
    yaml_fail(&p, line, "%s", msg);
    if (diag) fy_diag_destroy(diag);
    return false;
  }
  struct fy_node *root = fy_document_root(doc);
  if (!root || !fy_node_is_mapping(root))
    yaml_fail(&p, 1, "expected a mapping at the top");
  else
    yaml_fields(&p, out, root, NULL, top_fields, sizeof top_fields / sizeof top_fields[0],
                "scenario");
  if (!p.failed) validate(&p, out);
  fy_document_destroy(doc);
  if (diag) fy_diag_destroy(diag);
  return !p.failed;
}

bool scenario_load(const char *path, struct scenario *out, char *err, size_t err_cap) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, err_cap, "%s: cannot open", path);
    return false;
  }
  enum { TEXT_MAX = 1 << 20 };
  char *text = malloc(TEXT_MAX);
  ASSERT(text != NULL);
  size_t n = fread(text, 1, TEXT_MAX, f);
  fclose(f);
  bool ok = n < TEXT_MAX;
  if (!ok)
    snprintf(err, err_cap, "%s: larger than 1 MiB", path);
  else
    ok = scenario_parse(path, text, n, out, err, err_cap);
  free(text);
  return ok;
}

/* ---- writing one back (swarm scenarios are saved for replay) ---- */

void yaml_put(struct yaml_out *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(o->p + (o->len < o->cap ? o->len : o->cap),
                    o->len < o->cap ? o->cap - o->len : 0, fmt, ap);
  va_end(ap);
  if (n > 0) o->len += (size_t)n;
}

static void put_names(struct yaml_out *o, const char *key, const char (*names)[32], int count) {
  yaml_put(o, "  %s: [", key);
  for (int i = 0; i < count; i++) yaml_put(o, "%s%s", i ? ", " : "", names[i]);
  yaml_put(o, "]\n");
}

/* allow: {lost-write: [power-loss-tail, corrupt-batch], duplicate: retried-sends}
 * (the old list form is written as what it means). */
static void put_allow(struct yaml_out *o, const struct scenario *s) {
  int written = 0;
  for (int c = 0; c < CHECKERS_MAX; c++) {
    uint32_t bits = scenario_allowance(s, (enum history_checker)c);
    if (!bits) continue;
    int count = 0;
    for (int a = 0; a < ALLOWANCES; a++) count += (bits >> a) & 1;
    yaml_put(o, "%s%s: %s", written++ ? ", " : "  allow: {", history_checker_names[c],
             count > 1 ? "[" : "");
    for (int a = 0, n = 0; a < ALLOWANCES; a++)
      if ((bits >> a) & 1) yaml_put(o, "%s%s", n++ ? ", " : "", history_allowance_names[a]);
    if (count > 1) yaml_put(o, "]");
  }
  if (written) yaml_put(o, "}\n");
}

size_t scenario_format(const struct scenario *s, char *out, size_t cap) {
  struct yaml_out o = {out, cap, 0};
  yaml_put(&o, "name: %s\n", s->name);
  if (s->description[0]) {
    yaml_put(&o, "description: \"");
    for (const char *c = s->description; *c; c++) /* YAML double-quoted escapes */
      yaml_put(&o, *c == '"' ? "\\\"" : *c == '\\' ? "\\\\" : *c == '\n' ? "\\n" : "%c", *c);
    yaml_put(&o, "\"\n");
  }
  yaml_put(&o, "duration: %lldms\nliveness: %lldms\n", (long long)s->duration_ms,
           (long long)s->liveness_ms);
  yaml_put(&o, "cluster:\n  nodes: %d\n", s->nodes);
  if (s->roles_listed) {
    yaml_put(&o, "  roles: [");
    for (int i = 0; i < s->roles_listed; i++)
      yaml_put(&o, "%s%s", i ? ", " : "", role_names[s->roles[i]]);
    yaml_put(&o, "]\n");
  } else if (s->roles[0] != ROLE_COMBINED) {
    yaml_put(&o, "  roles: %s\n", role_names[s->roles[0]]);
  }
  if (s->config_count) yaml_put(&o, "  config:\n");
  for (int i = 0; i < s->config_count; i++)
    yaml_put(&o, "    %s: \"%s\"\n", s->config[i].key, s->config[i].value);
  if (s->topic_count) yaml_put(&o, "topics:\n");
  for (int i = 0; i < s->topic_count; i++) {
    yaml_put(&o, "  - name: %s\n    partitions: %d\n    replication_factor: %d\n",
             s->topics[i].name, s->topics[i].partitions, s->topics[i].replication_factor);
    if (s->topics[i].retention_deletes) yaml_put(&o, "    retention_deletes: true\n");
    for (int c = 0; c < s->topics[i].config_count; c++)
      yaml_put(&o, "%s%s: \"%s\"\n", c ? "      " : "    config:\n      ",
               s->topics[i].config[c].key, s->topics[i].config[c].value);
  }
  yaml_put(&o, "workload:\n  producers: %d\n  consumers: %d\n  acks: %s\n  rate: %d\n",
           s->producers, s->consumers,
           s->acks == -1  ? "all"
           : s->acks == 1 ? "1"
                          : "0",
           s->rate_per_s);
  yaml_put(&o, "  value_bytes: %d\n", s->value_bytes);
  if (s->keys) yaml_put(&o, "  keys: %d\n", s->keys);
  if (s->deletes) yaml_put(&o, "  deletes: %d\n", s->deletes);
  if (s->idempotence_off) yaml_put(&o, "  idempotence: false\n");
  if (s->admins) yaml_put(&o, "  admins: %d\n", s->admins);
  if (s->admins && s->admin_ops_all) yaml_put(&o, "  admin_ops: all\n");
  for (int i = 0; i < s->group_count; i++)
    yaml_put(&o, "%s{name: %s, members: %d}%s", i ? ", " : "  groups: [", s->groups[i].name,
             s->groups[i].members, i == s->group_count - 1 ? "]\n" : "");
  if (s->group_count > 0 && s->commit_interval_ms != 1000)
    yaml_put(&o, "  commit_interval: %lldms\n", (long long)s->commit_interval_ms);
  if (s->group_count > 0 && s->session_timeout_ms != 6000)
    yaml_put(&o, "  session_timeout: %dms\n", s->session_timeout_ms);
  if (s->auto_offset_reset != RESET_EARLIEST)
    yaml_put(&o, "  auto_offset_reset: %s\n", reset_names[s->auto_offset_reset]);
  for (int i = 0; i < s->codec_count; i++)
    yaml_put(&o, "%s%s%s",
             i                    ? ", "
             : s->codec_count > 1 ? "  compression: ["
                                  : "  compression: ",
             codec_names[s->codecs[i]],
             i < s->codec_count - 1 ? ""
             : s->codec_count > 1   ? "]\n"
                                    : "\n");
  for (int k = 0, n = 0; k < HOSTILE_KINDS; k++)
    if (s->hostile >> k & 1)
      yaml_put(&o, "%s%s", n++ ? ", " : "  hostile: [", hostile_kind_names[k]);
  if (s->hostile) yaml_put(&o, "]\n");
  if (s->bystander_wait_ms > 0)
    yaml_put(&o, "  bystander_wait: %lldms\n", (long long)s->bystander_wait_ms);
  faults_jitter_write(&o, s);
  if (s->fault_count) yaml_put(&o, "faults:\n");
  for (int i = 0; i < s->fault_count; i++) fault_write(&o, &s->faults[i]);
  yaml_put(&o, "expect:\n");
  put_names(&o, "checkers", s->must_pass, s->must_pass_count);
  put_allow(&o, s);
  if (s->max_unavailability_ms >= 0)
    yaml_put(&o, "  max_unavailability: %lldms\n", (long long)s->max_unavailability_ms);
  if (s->leader_stable_after_ms >= 0)
    yaml_put(&o, "  leader_stable_after: %lldms\n", (long long)s->leader_stable_after_ms);
  return o.len;
}
