#include "sim/scenario.h"

#include <ctype.h>
#include <libfyaml.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "sim/history.h"

static const char *const action_names[FAULT_ACTION_COUNT] = {
    [FAULT_KILL] = "kill",
    [FAULT_SHUTDOWN] = "shutdown",
    [FAULT_RESTART] = "restart",
    [FAULT_PAUSE] = "pause",
    [FAULT_RESUME] = "resume",
    [FAULT_PARTITION] = "partition",
    [FAULT_PARTITION_ONE_WAY] = "partition-one-way",
    [FAULT_BRIDGE] = "bridge",
    [FAULT_HEAL] = "heal",
    [FAULT_CLOG] = "clog",
    [FAULT_LATENCY_SPIKE] = "latency-spike",
    [FAULT_RESET] = "reset-connections",
    [FAULT_CLOCK_JUMP] = "clock-jump",
    [FAULT_CLOCK_DRIFT] = "clock-drift",
    [FAULT_DISK_FULL] = "disk-full",
    [FAULT_DISK_FREE] = "disk-free",
    [FAULT_DISK_SLOW] = "slow-disk",
    [FAULT_DISK_CORRUPT] = "corrupt",
    [FAULT_DISK_CORRUPT_READ] = "corrupt-read",
    [FAULT_DISK_EIO] = "disk-eio",
    [FAULT_FSYNC_EIO] = "fsync-eio",
    [FAULT_DISK_LOSS] = "disk-loss",
};

bool fault_needs_broker(enum fault_action a) {
  return a == FAULT_KILL || a == FAULT_SHUTDOWN || a == FAULT_RESTART ||
         (a >= FAULT_DISK_FULL && a <= FAULT_DISK_LOSS);
}

void fault_target_text(const struct fault_target *t, char *out, size_t cap) {
  switch (t->kind) {
  case TARGET_NODE:
    snprintf(out, cap, "node %d", t->id);
    break;
  case TARGET_CLIENT:
    snprintf(out, cap, "client %d", t->id);
    break;
  case TARGET_LEADER:
    snprintf(out, cap, "leader(%s,%d)", t->topic, t->partition);
    break;
  case TARGET_CONTROLLER:
    snprintf(out, cap, "controller");
    break;
  case TARGET_RANDOM:
    snprintf(out, cap, "random");
    break;
  default:
    snprintf(out, cap, "everyone");
    break;
  }
}

const char *fault_action_name(enum fault_action action) {
  return action < FAULT_ACTION_COUNT ? action_names[action] : "?";
}

struct parser {
  const char *path;
  char *err;
  size_t err_cap;
  bool failed;
  /* The list item being read: a topic's or a fault's fields go here. */
  struct scenario_topic *topic;
  struct fault *fault;
};

static int line_of(struct fy_node *n) {
  struct fy_token *t = n ? fy_node_get_scalar_token(n) : NULL;
  const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
  return m ? m->line + 1 : 0;
}

__attribute__((format(printf, 3, 4))) static bool fail(struct parser *p, int line,
                                                       const char *fmt, ...) {
  if (p->failed) return false;
  p->failed = true;
  int n = snprintf(p->err, p->err_cap, "%s:%d: ", p->path, line);
  va_list ap;
  va_start(ap, fmt);
  if (n >= 0 && (size_t)n < p->err_cap) vsnprintf(p->err + n, p->err_cap - (size_t)n, fmt, ap);
  va_end(ap);
  return false;
}

static bool scalar(struct parser *p, struct fy_node *key, struct fy_node *v, char *out,
                   size_t cap) {
  if (!v || !fy_node_is_scalar(v))
    return fail(p, line_of(key), "%s: expected a single value", fy_node_get_scalar0(key));
  const char *s = fy_node_get_scalar0(v);
  if (!s || strlen(s) >= cap)
    return fail(p, line_of(v), "%s: value too long", fy_node_get_scalar0(key));
  strcpy(out, s);
  return true;
}

static bool integer(struct parser *p, struct fy_node *key, struct fy_node *v, int64_t min,
                    int64_t max, int64_t *out) {
  char text[64];
  if (!scalar(p, key, v, text, sizeof text)) return false;
  char *end;
  long long n = strtoll(text, &end, 10);
  if (end == text || *end || n < min || n > max)
    return fail(p, line_of(v), "%s: expected an integer in [%lld, %lld], got \"%s\"",
                fy_node_get_scalar0(key), (long long)min, (long long)max, text);
  *out = n;
  return true;
}

/* "250ms", "10s", "2m" (a bare number is refused: say the unit). */
static bool duration(struct parser *p, struct fy_node *key, struct fy_node *v, int64_t *ms) {
  char text[64];
  if (!scalar(p, key, v, text, sizeof text)) return false;
  char *end;
  long long n = strtoll(text, &end, 10);
  int64_t unit = !strcmp(end, "ms")  ? 1
                 : !strcmp(end, "s") ? 1000
                 : !strcmp(end, "m") ? 60000
                                     : 0;
  if (end == text || unit == 0 || n < -86400000 || n > 86400000)
    return fail(p, line_of(v), "%s: expected a duration like 500ms, 10s or 2m, got \"%s\"",
                fy_node_get_scalar0(key), text);
  *ms = n * unit;
  return true;
}

typedef bool (*field_fn)(struct parser *p, struct scenario *s, struct fy_node *key,
                         struct fy_node *v);

struct field {
  const char *name;
  field_fn fn;
};

static bool each_pair(struct parser *p, struct scenario *s, struct fy_node *map,
                      struct fy_node *owner, const struct field *fields, size_t n,
                      const char *where) {
  if (!map || !fy_node_is_mapping(map))
    return fail(p, line_of(owner), "%s: expected a mapping", where);
  void *it = NULL;
  struct fy_node_pair *pair;
  while (!p->failed && (pair = fy_node_mapping_iterate(map, &it))) {
    struct fy_node *key = fy_node_pair_key(pair), *v = fy_node_pair_value(pair);
    const char *name = fy_node_get_scalar0(key);
    size_t i = 0;
    while (i < n && (!name || strcmp(name, fields[i].name))) i++;
    if (i == n)
      return fail(p, line_of(key), "%s: unknown key \"%s\"", where, name ? name : "?");
    fields[i].fn(p, s, key, v);
  }
  return !p->failed;
}

/* ---- top-level fields ---- */

static bool f_name(struct parser *p, struct scenario *s, struct fy_node *k, struct fy_node *v) {
  return scalar(p, k, v, s->name, sizeof s->name);
}
static bool f_description(struct parser *p, struct scenario *s, struct fy_node *k,
                          struct fy_node *v) {
  return scalar(p, k, v, s->description, sizeof s->description);
}
static bool f_duration(struct parser *p, struct scenario *s, struct fy_node *k,
                       struct fy_node *v) {
  return duration(p, k, v, &s->duration_ms);
}
static bool f_liveness(struct parser *p, struct scenario *s, struct fy_node *k,
                       struct fy_node *v) {
  return duration(p, k, v, &s->liveness_ms);
}

static bool f_nodes(struct parser *p, struct scenario *s, struct fy_node *k,
                    struct fy_node *v) {
  int64_t n;
  if (!integer(p, k, v, 1, SCENARIO_NODES_MAX, &n)) return false;
  s->nodes = (int32_t)n;
  return true;
}

static bool f_config(struct parser *p, struct scenario *s, struct fy_node *k,
                     struct fy_node *v) {
  if (!v || !fy_node_is_mapping(v)) return fail(p, line_of(k), "config: expected a mapping");
  void *it = NULL;
  struct fy_node_pair *pair;
  while ((pair = fy_node_mapping_iterate(v, &it))) {
    if (s->config_count == SCENARIO_CONFIG_MAX)
      return fail(p, line_of(k), "config: more than %d keys", SCENARIO_CONFIG_MAX);
    struct scenario_kv *kv = &s->config[s->config_count++];
    if (!scalar(p, k, fy_node_pair_key(pair), kv->key, sizeof kv->key) ||
        !scalar(p, fy_node_pair_key(pair), fy_node_pair_value(pair), kv->value,
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

static bool role(struct parser *p, struct fy_node *v, enum node_role *out) {
  const char *text = v && fy_node_is_scalar(v) ? fy_node_get_scalar0(v) : NULL;
  for (int r = 0; text && r < ROLE_COUNT; r++)
    if (!strcmp(text, role_names[r])) {
      *out = (enum node_role)r;
      return true;
    }
  return fail(p, line_of(v), "roles: expected combined, broker or controller, got \"%s\"",
              text ? text : "?");
}

/* roles: combined (every node), or a list with one role per node. */
static bool f_roles(struct parser *p, struct scenario *s, struct fy_node *k,
                    struct fy_node *v) {
  if (v && fy_node_is_scalar(v)) {
    enum node_role r;
    if (!role(p, v, &r)) return false;
    for (int i = 0; i < SCENARIO_NODES_MAX; i++) s->roles[i] = r;
    s->roles_listed = 0;
    return true;
  }
  if (!v || !fy_node_is_sequence(v))
    return fail(p, line_of(k), "roles: expected a role or a list of one per node");
  void *it = NULL;
  struct fy_node *item;
  int count = 0;
  while ((item = fy_node_sequence_iterate(v, &it))) {
    if (count == SCENARIO_NODES_MAX) return fail(p, line_of(item), "roles: more than 9");
    if (!role(p, item, &s->roles[count++])) return false;
  }
  s->roles_listed = count;
  return true;
}

static const struct field cluster_fields[] = {
    {"nodes", f_nodes}, {"roles", f_roles}, {"config", f_config}};

static bool f_cluster(struct parser *p, struct scenario *s, struct fy_node *k,
                      struct fy_node *v) {
  return each_pair(p, s, v, k, cluster_fields, ARRAY_LEN(cluster_fields), "cluster");
}

static bool f_topic_name(struct parser *p, struct scenario *s, struct fy_node *k,
                         struct fy_node *v) {
  (void)s;
  return scalar(p, k, v, p->topic->name, sizeof p->topic->name);
}
static bool f_topic_partitions(struct parser *p, struct scenario *s, struct fy_node *k,
                               struct fy_node *v) {
  (void)s;
  int64_t n;
  if (!integer(p, k, v, 1, 64, &n)) return false;
  p->topic->partitions = (int32_t)n;
  return true;
}
static bool f_topic_rf(struct parser *p, struct scenario *s, struct fy_node *k,
                       struct fy_node *v) {
  (void)s;
  int64_t n;
  if (!integer(p, k, v, 1, SCENARIO_NODES_MAX, &n)) return false;
  p->topic->replication_factor = (int16_t)n;
  return true;
}

static const struct field topic_fields[] = {{"name", f_topic_name},
                                            {"partitions", f_topic_partitions},
                                            {"replication_factor", f_topic_rf}};

static bool f_topics(struct parser *p, struct scenario *s, struct fy_node *k,
                     struct fy_node *v) {
  if (!v || !fy_node_is_sequence(v)) return fail(p, line_of(k), "topics: expected a list");
  void *it = NULL;
  struct fy_node *item;
  while (!p->failed && (item = fy_node_sequence_iterate(v, &it))) {
    if (s->topic_count == SCENARIO_TOPICS_MAX)
      return fail(p, line_of(k), "topics: more than %d", SCENARIO_TOPICS_MAX);
    p->topic = &s->topics[s->topic_count++];
    *p->topic = (struct scenario_topic){.partitions = 1, .replication_factor = 1};
    if (!each_pair(p, s, item, k, topic_fields, 3, "topics")) return false;
    if (!p->topic->name[0]) return fail(p, line_of(k), "topics: a topic needs a name");
  }
  return !p->failed;
}

static bool f_producers(struct parser *p, struct scenario *s, struct fy_node *k,
                        struct fy_node *v) {
  int64_t n;
  if (!integer(p, k, v, 0, 64, &n)) return false;
  s->producers = (int32_t)n;
  return true;
}
static bool f_consumers(struct parser *p, struct scenario *s, struct fy_node *k,
                        struct fy_node *v) {
  int64_t n;
  if (!integer(p, k, v, 0, 64, &n)) return false;
  s->consumers = (int32_t)n;
  return true;
}
static bool f_rate(struct parser *p, struct scenario *s, struct fy_node *k, struct fy_node *v) {
  int64_t n;
  if (!integer(p, k, v, 1, 1000000, &n)) return false;
  s->rate_per_s = (int32_t)n;
  return true;
}
static bool f_value_bytes(struct parser *p, struct scenario *s, struct fy_node *k,
                          struct fy_node *v) {
  int64_t n;
  if (!integer(p, k, v, 16, 1 << 20, &n)) return false;
  s->value_bytes = (int32_t)n;
  return true;
}
static bool f_acks(struct parser *p, struct scenario *s, struct fy_node *k, struct fy_node *v) {
  char text[16];
  if (!scalar(p, k, v, text, sizeof text)) return false;
  if (!strcmp(text, "all") || !strcmp(text, "-1"))
    s->acks = -1;
  else if (!strcmp(text, "1"))
    s->acks = 1;
  else if (!strcmp(text, "0"))
    s->acks = 0;
  else
    return fail(p, line_of(v), "acks: expected 0, 1 or all, got \"%s\"", text);
  return true;
}

static const struct field workload_fields[] = {
    {"producers", f_producers}, {"consumers", f_consumers},     {"rate", f_rate},
    {"acks", f_acks},           {"value_bytes", f_value_bytes},
};

static bool f_workload(struct parser *p, struct scenario *s, struct fy_node *k,
                       struct fy_node *v) {
  return each_pair(p, s, v, k, workload_fields, 5, "workload");
}

/* "node 2", "client 1", "leader(topic,0)", "controller", "random". */
static bool target(struct parser *p, struct fy_node *k, struct fy_node *v,
                   struct fault_target *t) {
  const char *what = fy_node_get_scalar0(k);
  char text[SCENARIO_TEXT_BYTES];
  if (!v || !fy_node_is_scalar(v) || strlen(fy_node_get_scalar0(v)) >= sizeof text)
    return fail(p, line_of(k),
                "%s: expected node N, client N, leader(topic,p), "
                "controller or random",
                what);
  strcpy(text, fy_node_get_scalar0(v));
  int id, part;
  char topic[SCENARIO_TEXT_BYTES], rest[4];
  *t = (struct fault_target){.kind = TARGET_NONE};
  if (sscanf(text, "node %d%1s", &id, rest) == 1) {
    t->kind = TARGET_NODE;
    t->id = id;
  } else if (sscanf(text, "client %d%1s", &id, rest) == 1) {
    t->kind = TARGET_CLIENT;
    t->id = id;
  } else if (sscanf(text, "leader(%127[^,],%d)%1s", topic, &part, rest) == 2) {
    t->kind = TARGET_LEADER;
    strcpy(t->topic, topic);
    t->partition = part;
  } else if (!strcmp(text, "controller")) {
    t->kind = TARGET_CONTROLLER;
  } else if (!strcmp(text, "random")) {
    t->kind = TARGET_RANDOM;
  } else {
    return fail(p, line_of(v),
                "%s: \"%s\" is not node N, client N, leader(topic,p), "
                "controller or random",
                what, text);
  }
  return true;
}

static bool f_at(struct parser *p, struct scenario *s, struct fy_node *k, struct fy_node *v) {
  (void)s;
  return duration(p, k, v, &p->fault->at_ms);
}
static bool f_action(struct parser *p, struct scenario *s, struct fy_node *k,
                     struct fy_node *v) {
  (void)s;
  char text[32];
  if (!scalar(p, k, v, text, sizeof text)) return false;
  for (int a = 0; a < FAULT_ACTION_COUNT; a++)
    if (!strcmp(text, action_names[a])) {
      p->fault->action = (enum fault_action)a;
      return true;
    }
  return fail(p, line_of(v), "action: unknown action \"%s\"", text);
}
static bool f_target(struct parser *p, struct scenario *s, struct fy_node *k,
                     struct fy_node *v) {
  (void)s;
  return target(p, k, v, &p->fault->target);
}
static bool f_peer(struct parser *p, struct scenario *s, struct fy_node *k, struct fy_node *v) {
  (void)s;
  return target(p, k, v, &p->fault->peer);
}
/* A count, factor or ppm ("3", "-200"), or a duration ("500ms"). */
static bool f_amount(struct parser *p, struct scenario *s, struct fy_node *k,
                     struct fy_node *v) {
  (void)s;
  const char *text = v && fy_node_is_scalar(v) ? fy_node_get_scalar0(v) : "";
  size_t n = strlen(text);
  if (n > 1 && isalpha((unsigned char)text[n - 1])) return duration(p, k, v, &p->fault->amount);
  return integer(p, k, v, INT32_MIN, INT32_MAX, &p->fault->amount);
}
static bool f_for(struct parser *p, struct scenario *s, struct fy_node *k, struct fy_node *v) {
  (void)s;
  return duration(p, k, v, &p->fault->for_ms);
}

static const struct field fault_fields[] = {{"at", f_at},         {"action", f_action},
                                            {"target", f_target}, {"peer", f_peer},
                                            {"amount", f_amount}, {"for", f_for}};

/* What each action needs besides a time: a target, an amount in a range,
 * a duration (`for`). */
static bool fault_check(struct parser *p, const struct fault *f) {
  enum fault_action a = f->action;
  const char *name = action_names[a];
  bool no_target = a == FAULT_HEAL;
  if (no_target && f->target.kind != TARGET_NONE)
    return fail(p, f->line, "%s: takes no target", name);
  if (!no_target && f->target.kind == TARGET_NONE)
    return fail(p, f->line, "%s: needs a target", name);
  bool takes_peer = a == FAULT_PARTITION || a == FAULT_PARTITION_ONE_WAY || a == FAULT_CLOG ||
                    a == FAULT_LATENCY_SPIKE || a == FAULT_RESET;
  if (!takes_peer && f->peer.kind != TARGET_NONE)
    return fail(p, f->line, "%s: takes no peer", name);
  if (fault_needs_broker(a) && f->target.kind == TARGET_CLIENT)
    return fail(p, f->line, "%s: the target must be a broker, not a client", name);
  bool timed = a == FAULT_CLOG || a == FAULT_LATENCY_SPIKE;
  if (timed != (f->for_ms > 0))
    return fail(p, f->line, timed ? "%s: needs for: (how long)" : "%s: takes no for:", name);
  if ((a == FAULT_DISK_SLOW || a == FAULT_DISK_EIO || a == FAULT_FSYNC_EIO) && f->amount < 1)
    return fail(p, f->line, "%s: amount must be at least 1", name);
  if (a == FAULT_LATENCY_SPIKE && f->amount < 1)
    return fail(p, f->line, "%s: amount: the added latency, e.g. 200ms", name);
  if (a == FAULT_CLOCK_DRIFT && (f->amount < -500000 || f->amount > 500000))
    return fail(p, f->line, "%s: amount in ppm, within +-500000", name);
  if (a == FAULT_CLOCK_JUMP && f->amount == 0)
    return fail(p, f->line, "%s: amount: how far, e.g. -30s or 1h in ms", name);
  return true;
}

static bool f_faults(struct parser *p, struct scenario *s, struct fy_node *k,
                     struct fy_node *v) {
  if (!v || !fy_node_is_sequence(v)) return fail(p, line_of(k), "faults: expected a list");
  void *it = NULL;
  struct fy_node *item;
  int64_t last_at = 0;
  while (!p->failed && (item = fy_node_sequence_iterate(v, &it))) {
    if (s->fault_count == SCENARIO_FAULTS_MAX)
      return fail(p, line_of(k), "faults: more than %d", SCENARIO_FAULTS_MAX);
    p->fault = &s->faults[s->fault_count++];
    *p->fault = (struct fault){.at_ms = -1, .action = FAULT_ACTION_COUNT, .amount = 1};
    struct fy_node *first =
        fy_node_is_mapping(item) ? fy_node_pair_key(fy_node_mapping_get_by_index(item, 0)) : k;
    p->fault->line = line_of(first);
    if (!each_pair(p, s, item, k, fault_fields, ARRAY_LEN(fault_fields), "faults"))
      return false;
    if (p->fault->at_ms < 0) return fail(p, p->fault->line, "faults: each fault needs at:");
    if (p->fault->action == FAULT_ACTION_COUNT)
      return fail(p, p->fault->line, "faults: each fault needs action:");
    if (!fault_check(p, p->fault)) return false;
    if (p->fault->at_ms < last_at)
      return fail(p, p->fault->line, "faults: not in time order (%lldms after %lldms)",
                  (long long)p->fault->at_ms, (long long)last_at);
    last_at = p->fault->at_ms;
  }
  return !p->failed;
}

static bool names(struct parser *p, struct fy_node *k, struct fy_node *v, char (*out)[32],
                  int *count) {
  if (!v || !fy_node_is_sequence(v)) return fail(p, line_of(k), "expected a list of checkers");
  void *it = NULL;
  struct fy_node *item;
  while ((item = fy_node_sequence_iterate(v, &it))) {
    const char *name = fy_node_is_scalar(item) ? fy_node_get_scalar0(item) : NULL;
    size_t i = 0;
    while (name && i < CHECKERS_MAX && strcmp(name, history_checker_names[i])) i++;
    if (!name || i == CHECKERS_MAX)
      return fail(p, line_of(item), "unknown checker \"%s\"", name ? name : "?");
    if (*count == SCENARIO_NAMES_MAX) return fail(p, line_of(item), "too many checkers");
    strcpy(out[(*count)++], name);
  }
  return true;
}

static bool f_must_pass(struct parser *p, struct scenario *s, struct fy_node *k,
                        struct fy_node *v) {
  return names(p, k, v, s->must_pass, &s->must_pass_count);
}
static bool f_allow(struct parser *p, struct scenario *s, struct fy_node *k,
                    struct fy_node *v) {
  return names(p, k, v, s->allowed, &s->allowed_count);
}
static bool f_max_unavail(struct parser *p, struct scenario *s, struct fy_node *k,
                          struct fy_node *v) {
  return duration(p, k, v, &s->max_unavailability_ms);
}

static const struct field expect_fields[] = {
    {"checkers", f_must_pass}, {"allow", f_allow}, {"max_unavailability", f_max_unavail}};

static bool f_expect(struct parser *p, struct scenario *s, struct fy_node *k,
                     struct fy_node *v) {
  return each_pair(p, s, v, k, expect_fields, 3, "expect");
}

static const struct field top_fields[] = {
    {"name", f_name},         {"description", f_description}, {"duration", f_duration},
    {"liveness", f_liveness}, {"cluster", f_cluster},         {"topics", f_topics},
    {"workload", f_workload}, {"faults", f_faults},           {"expect", f_expect},
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
}

static const struct scenario_topic *topic_named(const struct scenario *s, const char *name) {
  for (int i = 0; i < s->topic_count; i++)
    if (!strcmp(s->topics[i].name, name)) return &s->topics[i];
  return NULL;
}

static bool target_exists(struct parser *p, const struct scenario *s, const struct fault *f,
                          const struct fault_target *t) {
  int32_t clients = s->producers + s->consumers;
  if (t->kind == TARGET_NODE && (t->id < 1 || t->id > s->nodes))
    return fail(p, f->line, "target: node %d does not exist (nodes: %d)", t->id, s->nodes);
  if (t->kind == TARGET_CLIENT && (t->id < 1 || t->id > clients))
    return fail(p, f->line, "target: client %d does not exist (clients: %d)", t->id, clients);
  if (t->kind == TARGET_LEADER) {
    const struct scenario_topic *topic = topic_named(s, t->topic);
    if (!topic) return fail(p, f->line, "target: leader(%s,...): no such topic", t->topic);
    if (t->partition < 0 || t->partition >= topic->partitions)
      return fail(p, f->line, "target: leader(%s,%d): the topic has %d partitions", t->topic,
                  t->partition, topic->partitions);
  }
  return true;
}

static bool same_target(const struct fault_target *a, const struct fault_target *b) {
  return a->kind == b->kind && a->id == b->id && a->partition == b->partition &&
         !strcmp(a->topic, b->topic);
}

static bool validate(struct parser *p, struct scenario *s) {
  if (s->roles_listed && s->roles_listed != s->nodes)
    return fail(p, 0, "roles: %d listed for %d nodes", s->roles_listed, s->nodes);
  int32_t partitions = 0;
  for (int i = 0; i < s->topic_count; i++) {
    const struct scenario_topic *t = &s->topics[i];
    partitions += t->partitions;
    if (t->replication_factor > s->nodes)
      return fail(p, 0, "topic %s: replication_factor %d exceeds nodes %d", t->name,
                  t->replication_factor, s->nodes);
    if (topic_named(s, t->name) != t) return fail(p, 0, "topic %s: named twice", t->name);
  }
  if (partitions > SCENARIO_PARTITIONS_MAX)
    return fail(p, 0, "topics: %d partitions in all, at most %d", partitions,
                SCENARIO_PARTITIONS_MAX);
  if (s->producers + s->consumers > SCENARIO_CLIENTS_MAX)
    return fail(p, 0, "workload: %d clients, at most %d", s->producers + s->consumers,
                SCENARIO_CLIENTS_MAX);
  if (s->duration_ms <= 0 || s->liveness_ms <= 0)
    return fail(p, 0, "duration and liveness must be positive");
  for (int i = 0; i < s->fault_count; i++) {
    const struct fault *f = &s->faults[i];
    if (!target_exists(p, s, f, &f->target) || !target_exists(p, s, f, &f->peer)) return false;
    if (f->peer.kind != TARGET_NONE && same_target(&f->peer, &f->target))
      return fail(p, f->line, "%s: the peer is the target", action_names[f->action]);
    if (f->at_ms > s->duration_ms)
      return fail(p, f->line, "at: %lldms is after the end of the run (%lldms)",
                  (long long)f->at_ms, (long long)s->duration_ms);
  }
  if (s->topic_count == 0) return fail(p, 1, "topics: at least one topic is needed");
  return true;
}

bool scenario_parse(const char *path, const char *text, size_t len, struct scenario *out,
                    char *err, size_t err_cap) {
  struct parser p = {.path = path, .err = err, .err_cap = err_cap};
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
    fail(&p, line, "%s", msg);
    if (diag) fy_diag_destroy(diag);
    return false;
  }
  struct fy_node *root = fy_document_root(doc);
  if (!root || !fy_node_is_mapping(root))
    fail(&p, 1, "expected a mapping at the top");
  else
    each_pair(&p, out, root, NULL, top_fields, sizeof top_fields / sizeof top_fields[0],
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

struct out {
  char *p;
  size_t cap, len;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(o->p + (o->len < o->cap ? o->len : o->cap),
                    o->len < o->cap ? o->cap - o->len : 0, fmt, ap);
  va_end(ap);
  if (n > 0) o->len += (size_t)n;
}

static void put_fault(struct out *o, const struct fault *f) {
  char t[SCENARIO_TEXT_BYTES + 32];
  put(o, "  - at: %lldms\n    action: %s\n", (long long)f->at_ms, action_names[f->action]);
  if (f->target.kind != TARGET_NONE) {
    fault_target_text(&f->target, t, sizeof t);
    put(o, "    target: %s\n", t);
  }
  if (f->peer.kind != TARGET_NONE) {
    fault_target_text(&f->peer, t, sizeof t);
    put(o, "    peer: %s\n", t);
  }
  if (f->amount != 1) put(o, "    amount: %lld\n", (long long)f->amount);
  if (f->for_ms > 0) put(o, "    for: %lldms\n", (long long)f->for_ms);
}

static void put_names(struct out *o, const char *key, const char (*names)[32], int count) {
  put(o, "  %s: [", key);
  for (int i = 0; i < count; i++) put(o, "%s%s", i ? ", " : "", names[i]);
  put(o, "]\n");
}

size_t scenario_format(const struct scenario *s, char *out, size_t cap) {
  struct out o = {out, cap, 0};
  put(&o, "name: %s\n", s->name);
  if (s->description[0]) {
    put(&o, "description: \"");
    for (const char *c = s->description; *c; c++) /* YAML double-quoted escapes */
      put(&o, *c == '"' ? "\\\"" : *c == '\\' ? "\\\\" : *c == '\n' ? "\\n" : "%c", *c);
    put(&o, "\"\n");
  }
  put(&o, "duration: %lldms\nliveness: %lldms\n", (long long)s->duration_ms,
      (long long)s->liveness_ms);
  put(&o, "cluster:\n  nodes: %d\n", s->nodes);
  if (s->roles_listed) {
    put(&o, "  roles: [");
    for (int i = 0; i < s->roles_listed; i++)
      put(&o, "%s%s", i ? ", " : "", role_names[s->roles[i]]);
    put(&o, "]\n");
  } else if (s->roles[0] != ROLE_COMBINED) {
    put(&o, "  roles: %s\n", role_names[s->roles[0]]);
  }
  if (s->config_count) put(&o, "  config:\n");
  for (int i = 0; i < s->config_count; i++)
    put(&o, "    %s: \"%s\"\n", s->config[i].key, s->config[i].value);
  put(&o, "topics:\n");
  for (int i = 0; i < s->topic_count; i++)
    put(&o, "  - name: %s\n    partitions: %d\n    replication_factor: %d\n", s->topics[i].name,
        s->topics[i].partitions, s->topics[i].replication_factor);
  put(&o, "workload:\n  producers: %d\n  consumers: %d\n  acks: %s\n  rate: %d\n", s->producers,
      s->consumers,
      s->acks == -1  ? "all"
      : s->acks == 1 ? "1"
                     : "0",
      s->rate_per_s);
  put(&o, "  value_bytes: %d\n", s->value_bytes);
  if (s->fault_count) put(&o, "faults:\n");
  for (int i = 0; i < s->fault_count; i++) put_fault(&o, &s->faults[i]);
  put(&o, "expect:\n");
  put_names(&o, "checkers", s->must_pass, s->must_pass_count);
  put_names(&o, "allow", s->allowed, s->allowed_count);
  if (s->max_unavailability_ms >= 0)
    put(&o, "  max_unavailability: %lldms\n", (long long)s->max_unavailability_ms);
  return o.len;
}
