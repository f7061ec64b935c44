/* The fault grammar: a scenario's faults: section (docs/scenarios.md),
 * read into struct fault with its targets, checked, and written back. */
#include "faults/grammar.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "sim/scenario.h"
#include "sim/scenario_yaml.h"

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

/* ---- reading ---- */

_Static_assert(FAULT_TOPIC_BYTES == 128, "the %127[^,] below reads FAULT_TOPIC_BYTES - 1");

/* "node 2", "client 1", "leader(topic,0)", "controller", "random". */
static bool target(struct yaml_parser *p, struct fy_node *k, struct fy_node *v,
                   struct fault_target *t) {
  const char *what = fy_node_get_scalar0(k);
  char text[FAULT_TOPIC_BYTES];
  if (!v || !fy_node_is_scalar(v) || strlen(fy_node_get_scalar0(v)) >= sizeof text)
    return yaml_fail(p, yaml_line(k),
                     "%s: expected node N, client N, leader(topic,p), "
                     "controller or random",
                     what);
  strcpy(text, fy_node_get_scalar0(v));
  int id, part;
  char topic[FAULT_TOPIC_BYTES], rest[4];
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
    return yaml_fail(p, yaml_line(v),
                     "%s: \"%s\" is not node N, client N, leader(topic,p), "
                     "controller or random",
                     what, text);
  }
  return true;
}

static bool f_at(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                 struct fy_node *v) {
  (void)s;
  return yaml_duration(p, k, v, &p->fault->at_ms);
}
static bool f_action(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                     struct fy_node *v) {
  (void)s;
  char text[32];
  if (!yaml_scalar(p, k, v, text, sizeof text)) return false;
  for (int a = 0; a < FAULT_ACTION_COUNT; a++)
    if (!strcmp(text, action_names[a])) {
      p->fault->action = (enum fault_action)a;
      return true;
    }
  return yaml_fail(p, yaml_line(v), "action: unknown action \"%s\"", text);
}
static bool f_target(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                     struct fy_node *v) {
  (void)s;
  return target(p, k, v, &p->fault->target);
}
static bool f_peer(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                   struct fy_node *v) {
  (void)s;
  return target(p, k, v, &p->fault->peer);
}
/* A count, factor or ppm ("3", "-200"), or a duration ("500ms"). */
static bool f_amount(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                     struct fy_node *v) {
  (void)s;
  const char *text = v && fy_node_is_scalar(v) ? fy_node_get_scalar0(v) : "";
  size_t n = strlen(text);
  if (n > 1 && isalpha((unsigned char)text[n - 1]))
    return yaml_duration(p, k, v, &p->fault->amount);
  return yaml_integer(p, k, v, INT32_MIN, INT32_MAX, &p->fault->amount);
}
static bool f_for(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                  struct fy_node *v) {
  (void)s;
  return yaml_duration(p, k, v, &p->fault->for_ms);
}

static const struct yaml_field fault_fields[] = {{"at", f_at},         {"action", f_action},
                                                 {"target", f_target}, {"peer", f_peer},
                                                 {"amount", f_amount}, {"for", f_for}};

/* What each action needs besides a time: a target, an amount in a range,
 * a duration (`for`). */
static bool fault_check(struct yaml_parser *p, const struct fault *f) {
  enum fault_action a = f->action;
  const char *name = action_names[a];
  bool no_target = a == FAULT_HEAL;
  if (no_target && f->target.kind != TARGET_NONE)
    return yaml_fail(p, f->line, "%s: takes no target", name);
  if (!no_target && f->target.kind == TARGET_NONE)
    return yaml_fail(p, f->line, "%s: needs a target", name);
  bool takes_peer = a == FAULT_PARTITION || a == FAULT_PARTITION_ONE_WAY || a == FAULT_CLOG ||
                    a == FAULT_LATENCY_SPIKE || a == FAULT_RESET;
  if (!takes_peer && f->peer.kind != TARGET_NONE)
    return yaml_fail(p, f->line, "%s: takes no peer", name);
  if (fault_needs_broker(a) && f->target.kind == TARGET_CLIENT)
    return yaml_fail(p, f->line, "%s: the target must be a broker, not a client", name);
  bool timed = a == FAULT_CLOG || a == FAULT_LATENCY_SPIKE;
  if (timed != (f->for_ms > 0))
    return yaml_fail(p, f->line,
                     timed ? "%s: needs for: (how long)" : "%s: takes no for:", name);
  if ((a == FAULT_DISK_SLOW || a == FAULT_DISK_EIO || a == FAULT_FSYNC_EIO) && f->amount < 1)
    return yaml_fail(p, f->line, "%s: amount must be at least 1", name);
  if (a == FAULT_LATENCY_SPIKE && f->amount < 1)
    return yaml_fail(p, f->line, "%s: amount: the added latency, e.g. 200ms", name);
  if (a == FAULT_CLOCK_DRIFT && (f->amount < -500000 || f->amount > 500000))
    return yaml_fail(p, f->line, "%s: amount in ppm, within +-500000", name);
  if (a == FAULT_CLOCK_JUMP && f->amount == 0)
    return yaml_fail(p, f->line, "%s: amount: how far, e.g. -30s or 1h in ms", name);
  return true;
}

bool faults_parse(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                  struct fy_node *v) {
  if (!v || !fy_node_is_sequence(v))
    return yaml_fail(p, yaml_line(k), "faults: expected a list");
  void *it = NULL;
  struct fy_node *item;
  int64_t last_at = 0;
  while (!p->failed && (item = fy_node_sequence_iterate(v, &it))) {
    if (s->fault_count == SCENARIO_FAULTS_MAX)
      return yaml_fail(p, yaml_line(k), "faults: more than %d", SCENARIO_FAULTS_MAX);
    struct fault *f = p->fault = &s->faults[s->fault_count++];
    *f = (struct fault){.at_ms = -1, .action = FAULT_ACTION_COUNT, .amount = 1};
    struct fy_node *first =
        fy_node_is_mapping(item) ? fy_node_pair_key(fy_node_mapping_get_by_index(item, 0)) : k;
    f->line = yaml_line(first);
    if (!yaml_fields(p, s, item, k, fault_fields, ARRAY_LEN(fault_fields), "faults"))
      return false;
    if (f->at_ms < 0) return yaml_fail(p, f->line, "faults: each fault needs at:");
    if (f->action == FAULT_ACTION_COUNT)
      return yaml_fail(p, f->line, "faults: each fault needs action:");
    if (!fault_check(p, f)) return false;
    if (f->at_ms < last_at)
      return yaml_fail(p, f->line, "faults: not in time order (%lldms after %lldms)",
                       (long long)f->at_ms, (long long)last_at);
    last_at = f->at_ms;
  }
  return !p->failed;
}

static bool target_exists(struct yaml_parser *p, const struct scenario *s,
                          const struct fault *f, const struct fault_target *t) {
  int32_t clients = s->producers + s->consumers;
  if (t->kind == TARGET_NODE && (t->id < 1 || t->id > s->nodes))
    return yaml_fail(p, f->line, "target: node %d does not exist (nodes: %d)", t->id, s->nodes);
  if (t->kind == TARGET_CLIENT && (t->id < 1 || t->id > clients))
    return yaml_fail(p, f->line, "target: client %d does not exist (clients: %d)", t->id,
                     clients);
  if (t->kind == TARGET_LEADER) {
    const struct scenario_topic *topic = scenario_topic(s, t->topic);
    if (!topic) return yaml_fail(p, f->line, "target: leader(%s,...): no such topic", t->topic);
    if (t->partition < 0 || t->partition >= topic->partitions)
      return yaml_fail(p, f->line, "target: leader(%s,%d): the topic has %d partitions",
                       t->topic, t->partition, topic->partitions);
  }
  return true;
}

static bool same_target(const struct fault_target *a, const struct fault_target *b) {
  return a->kind == b->kind && a->id == b->id && a->partition == b->partition &&
         !strcmp(a->topic, b->topic);
}

/* After the whole file is read: targets that exist, a peer that is not the
 * target, and no fault after the end of the run. */
bool faults_validate(struct yaml_parser *p, const struct scenario *s) {
  for (int i = 0; i < s->fault_count; i++) {
    const struct fault *f = &s->faults[i];
    if (!target_exists(p, s, f, &f->target) || !target_exists(p, s, f, &f->peer)) return false;
    if (f->peer.kind != TARGET_NONE && same_target(&f->peer, &f->target))
      return yaml_fail(p, f->line, "%s: the peer is the target", action_names[f->action]);
    if (f->at_ms > s->duration_ms)
      return yaml_fail(p, f->line, "at: %lldms is after the end of the run (%lldms)",
                       (long long)f->at_ms, (long long)s->duration_ms);
  }
  return true;
}

/* ---- writing ---- */

void fault_write(struct yaml_out *o, const struct fault *f) {
  char t[FAULT_TOPIC_BYTES + 32];
  yaml_put(o, "  - at: %lldms\n    action: %s\n", (long long)f->at_ms, action_names[f->action]);
  if (f->target.kind != TARGET_NONE) {
    fault_target_text(&f->target, t, sizeof t);
    yaml_put(o, "    target: %s\n", t);
  }
  if (f->peer.kind != TARGET_NONE) {
    fault_target_text(&f->peer, t, sizeof t);
    yaml_put(o, "    peer: %s\n", t);
  }
  if (f->amount != 1) yaml_put(o, "    amount: %lld\n", (long long)f->amount);
  if (f->for_ms > 0) yaml_put(o, "    for: %lldms\n", (long long)f->for_ms);
}
