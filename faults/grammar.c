/* The fault grammar: a scenario's faults: section (docs/scenarios.md),
 * read into struct fault with its targets, checked, and written back. */
#include "faults/grammar.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
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
    [FAULT_SEEK] = "seek",
    [FAULT_REASSIGN] = "reassign",
    [FAULT_DELETE_RECORDS] = "delete-records",
};

static const char *const event_names[FAULT_EVENT_COUNT] = {
    [FAULT_EVENT_NONE] = "none",
    [FAULT_EVENT_DURING_FSYNC] = "during-fsync",
    [FAULT_EVENT_AFTER_WRITE] = "after-write",
    [FAULT_EVENT_DURING_FILE_SEND] = "during-file-send",
};

static const char *const mode_names[FAULT_MODE_COUNT] = {
    [FAULT_MODE_NONE] = "none",
    [FAULT_MODE_TORN_ZEROS] = "torn-zeros",
    [FAULT_MODE_TORN_GARBAGE] = "torn-garbage",
    [FAULT_MODE_FORGET] = "forget",
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
  case TARGET_PARTITION_FOLLOWER:
    snprintf(out, cap, "follower(%s,%d)", t->topic, t->partition);
    break;
  case TARGET_CONTROLLER:
    snprintf(out, cap, "controller");
    break;
  case TARGET_RANDOM:
    snprintf(out, cap, "random");
    break;
  case TARGET_RAFT_LEADER:
    snprintf(out, cap, "leader");
    break;
  case TARGET_FOLLOWER:
    snprintf(out, cap, "follower");
    break;
  case TARGET_CONTROLLERS:
    snprintf(out, cap, "controllers");
    break;
  case TARGET_CONSUMER:
    snprintf(out, cap, "consumer %d", t->id);
    break;
  case TARGET_COORDINATOR:
    snprintf(out, cap, "coordinator(%s)", t->topic);
    break;
  case TARGET_COORDINATOR_FOLLOWER:
    snprintf(out, cap, "coordinator-follower(%s)", t->topic);
    break;
  default:
    snprintf(out, cap, "everyone");
    break;
  }
}

const char *fault_action_name(enum fault_action action) {
  return action < FAULT_ACTION_COUNT ? action_names[action] : "?";
}
const char *fault_event_name(enum fault_event event) {
  return event < FAULT_EVENT_COUNT ? event_names[event] : "?";
}
const char *fault_mode_name(enum fault_mode mode) {
  return mode < FAULT_MODE_COUNT ? mode_names[mode] : "?";
}

/* The index of text in names[1..count) (0 is "none", never written); -1. */
static int name_index(const char *const *names, int count, const char *text) {
  for (int i = 1; i < count; i++)
    if (!strcmp(text, names[i])) return i;
  return -1;
}

/* ---- reading ---- */

_Static_assert(FAULT_TOPIC_BYTES == 128, "the %127[^,] below reads FAULT_TOPIC_BYTES - 1");

/* "node 2", "client 1", "leader(topic,0)", "controller", "random", and the
 * quorum's "leader", "follower", "controllers". */
static bool target(struct yaml_parser *p, struct fy_node *k, struct fy_node *v,
                   struct fault_target *t) {
  const char *what = fy_node_get_scalar0(k);
  char text[FAULT_TOPIC_BYTES];
  if (!v || !fy_node_is_scalar(v) || strlen(fy_node_get_scalar0(v)) >= sizeof text)
    return yaml_fail(p, yaml_line(k),
                     "%s: expected node N, client N, consumer N, leader(topic,p), "
                     "follower(topic,p), coordinator(group), coordinator-follower(group), "
                     "controller, random, leader, "
                     "follower or controllers",
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
  } else if (sscanf(text, "consumer %d%1s", &id, rest) == 1) {
    t->kind = TARGET_CONSUMER;
    t->id = id;
  } else if (sscanf(text, "coordinator(%127[^)])%1s", topic, rest) == 1) {
    t->kind = TARGET_COORDINATOR;
    strcpy(t->topic, topic);
  } else if (sscanf(text, "coordinator-follower(%127[^)])%1s", topic, rest) == 1) {
    t->kind = TARGET_COORDINATOR_FOLLOWER;
    strcpy(t->topic, topic);
  } else if (sscanf(text, "leader(%127[^,],%d)%1s", topic, &part, rest) == 2) {
    t->kind = TARGET_LEADER;
    strcpy(t->topic, topic);
    t->partition = part;
  } else if (sscanf(text, "follower(%127[^,],%d)%1s", topic, &part, rest) == 2) {
    t->kind = TARGET_PARTITION_FOLLOWER;
    strcpy(t->topic, topic);
    t->partition = part;
  } else if (!strcmp(text, "controller")) {
    t->kind = TARGET_CONTROLLER;
  } else if (!strcmp(text, "random")) {
    t->kind = TARGET_RANDOM;
  } else if (!strcmp(text, "leader")) {
    t->kind = TARGET_RAFT_LEADER;
  } else if (!strcmp(text, "follower")) {
    t->kind = TARGET_FOLLOWER;
  } else if (!strcmp(text, "controllers")) {
    t->kind = TARGET_CONTROLLERS;
  } else {
    return yaml_fail(p, yaml_line(v),
                     "%s: \"%s\" is not node N, client N, consumer N, leader(topic,p), "
                     "follower(topic,p), coordinator(group), coordinator-follower(group), "
                     "controller, random, leader, "
                     "follower or controllers",
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
  if (!strcmp(text, "isolate")) { /* partition from everyone; written back as partition */
    p->fault->action = FAULT_PARTITION;
    p->fault->isolate = true;
    return true;
  }
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
  if (!strcmp(text, "hw")) { /* delete-records: the high watermark (Kafka's -1) */
    p->fault->amount = -1;
    return true;
  }
  if (n > 1 && isalpha((unsigned char)text[n - 1]))
    return yaml_duration(p, k, v, &p->fault->amount);
  return yaml_integer(p, k, v, INT32_MIN, INT32_MAX, &p->fault->amount);
}
static bool f_for(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                  struct fy_node *v) {
  (void)s;
  return yaml_duration(p, k, v, &p->fault->for_ms);
}

/* when: during-fsync, or when: {event: during-fsync, node: 1, nth: 3, within: 2s}. */
static bool w_event(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                    struct fy_node *v) {
  (void)s;
  char text[32];
  if (!yaml_scalar(p, k, v, text, sizeof text)) return false;
  int e = name_index(event_names, FAULT_EVENT_COUNT, text);
  if (e < 0)
    return yaml_fail(p, yaml_line(v),
                     "when: unknown event \"%s\" (during-fsync, after-write, "
                     "during-file-send)",
                     text);
  p->fault->when.event = (enum fault_event)e;
  return true;
}
static bool w_node(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                   struct fy_node *v) {
  (void)s;
  int64_t n;
  if (!yaml_integer(p, k, v, 1, 64, &n)) return false;
  p->fault->when.node = (int32_t)n;
  return true;
}
static bool w_nth(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                  struct fy_node *v) {
  (void)s;
  int64_t n;
  if (!yaml_integer(p, k, v, 1, 1000000, &n)) return false;
  p->fault->when.nth = (int32_t)n;
  return true;
}
static bool w_within(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                     struct fy_node *v) {
  (void)s;
  if (!yaml_duration(p, k, v, &p->fault->when.within_ms)) return false;
  if (p->fault->when.within_ms <= 0)
    return yaml_fail(p, yaml_line(v), "within: must be positive");
  return true;
}

static bool w_topic(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                    struct fy_node *v) {
  (void)s;
  char *topic = p->fault->when.topic;
  if (!yaml_scalar(p, k, v, topic, FAULT_TOPIC_BYTES)) return false;
  if (!topic[0] || strchr(topic, '/')) return yaml_fail(p, yaml_line(v), "topic: a topic name");
  return true;
}

static const struct yaml_field when_fields[] = {{"event", w_event},
                                                {"node", w_node},
                                                {"nth", w_nth},
                                                {"within", w_within},
                                                {"topic", w_topic}};

static bool f_when(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                   struct fy_node *v) {
  if (v && fy_node_is_scalar(v)) return w_event(p, s, k, v);
  if (!yaml_fields(p, s, v, k, when_fields, ARRAY_LEN(when_fields), "when")) return false;
  if (p->fault->when.event == FAULT_EVENT_NONE)
    return yaml_fail(p, yaml_line(k),
                     "when: needs event: (during-fsync, after-write, "
                     "during-file-send)");
  return true;
}

static bool f_mode(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                   struct fy_node *v) {
  (void)s;
  char text[32];
  if (!yaml_scalar(p, k, v, text, sizeof text)) return false;
  int m = name_index(mode_names, FAULT_MODE_COUNT, text);
  if (m < 0)
    return yaml_fail(p, yaml_line(v),
                     "mode: unknown mode \"%s\" (torn-zeros, torn-garbage, forget)", text);
  p->fault->mode = (enum fault_mode)m;
  return true;
}

static const struct yaml_field fault_fields[] = {
    {"at", f_at},         {"action", f_action}, {"target", f_target}, {"peer", f_peer},
    {"amount", f_amount}, {"for", f_for},       {"when", f_when},     {"mode", f_mode}};

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
  if ((!takes_peer || f->isolate) && f->peer.kind != TARGET_NONE)
    return yaml_fail(p, f->line, "%s: takes no peer", f->isolate ? "isolate" : name);
  if (fault_needs_broker(a) && f->target.kind == TARGET_CLIENT)
    return yaml_fail(p, f->line, "%s: the target must be a broker, not a client", name);
  if (f->target.kind == TARGET_CONSUMER && a != FAULT_KILL && a != FAULT_SHUTDOWN &&
      a != FAULT_RESTART && a != FAULT_PAUSE && a != FAULT_RESUME)
    return yaml_fail(p, f->line,
                     "%s: a consumer N target takes kill, shutdown, restart, pause or resume",
                     name);
  if (f->peer.kind == TARGET_CONSUMER || f->peer.kind == TARGET_COORDINATOR ||
      f->peer.kind == TARGET_COORDINATOR_FOLLOWER)
    return yaml_fail(p, f->line, "%s: peer: consumer N and coordinator(group) are targets only",
                     name);
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
  if (a == FAULT_SEEK && f->target.kind != TARGET_CLIENT)
    return yaml_fail(p, f->line, "%s: the target must be a consumer (client N)", name);
  if (a == FAULT_REASSIGN && f->target.kind != TARGET_LEADER)
    return yaml_fail(p, f->line, "%s: the target names the partition: leader(topic,p)", name);
  if (a == FAULT_DELETE_RECORDS && f->target.kind != TARGET_LEADER)
    return yaml_fail(p, f->line, "%s: the target must be leader(topic,partition)", name);
  if (a == FAULT_DELETE_RECORDS && f->amount < -1)
    return yaml_fail(p, f->line, "%s: amount: an offset, or hw", name);
  if (a == FAULT_SEEK && f->amount < 1)
    return yaml_fail(p, f->line, "%s: amount: how many records back at most, at least 1", name);
  bool torn = f->mode == FAULT_MODE_TORN_ZEROS || f->mode == FAULT_MODE_TORN_GARBAGE;
  if ((torn && a != FAULT_KILL) || (f->mode == FAULT_MODE_FORGET && a != FAULT_FSYNC_EIO))
    return yaml_fail(p, f->line, "%s: takes no mode %s (torn-*: kill; forget: fsync-eio)", name,
                     mode_names[f->mode]);
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
    *f = (struct fault){.at_ms = -1,
                        .action = FAULT_ACTION_COUNT,
                        .amount = 1,
                        .when = {.nth = 1, .within_ms = FAULT_WITHIN_DEFAULT_MS}};
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
  if (t->kind == TARGET_CONSUMER && (t->id < 1 || t->id > s->consumers))
    return yaml_fail(p, f->line, "target: consumer %d does not exist (consumers: %d)", t->id,
                     s->consumers);
  if (t->kind == TARGET_CONSUMER && t->id > scenario_group_members(s))
    return yaml_fail(p, f->line, "target: consumer %d is in no group (groups: %d members)",
                     t->id, scenario_group_members(s));
  if ((t->kind == TARGET_COORDINATOR || t->kind == TARGET_COORDINATOR_FOLLOWER) &&
      !scenario_group(s, t->topic))
    return yaml_fail(p, f->line, "target: coordinator(%s): no such group", t->topic);
  if (t->kind == TARGET_LEADER || t->kind == TARGET_PARTITION_FOLLOWER) {
    const struct scenario_topic *topic = scenario_topic(s, t->topic);
    if (!topic) return yaml_fail(p, f->line, "target: leader(%s,...): no such topic", t->topic);
    if (t->partition < 0 || t->partition >= topic->partitions)
      return yaml_fail(p, f->line, "target: leader(%s,%d): the topic has %d partitions",
                       t->topic, t->partition, topic->partitions);
  }
  return true;
}

/* The quorum's dynamic targets: what they can name. */
static bool quorum_target_ok(struct yaml_parser *p, const struct scenario *s,
                             const struct fault *f) {
  int controllers = 0;
  for (int i = 0; i < s->nodes; i++) controllers += s->roles[i] != ROLE_BROKER;
  if (f->peer.kind == TARGET_CONTROLLERS)
    return yaml_fail(p, f->line, "peer: controllers names several nodes; a peer is one");
  if (f->target.kind == TARGET_CONTROLLERS && f->when.event != FAULT_EVENT_NONE &&
      f->when.node == 0)
    return yaml_fail(p, f->line,
                     "when: a fault on every controller waits for one node's event: name it "
                     "(when: {event: ..., node: N})");
  bool follower = f->target.kind == TARGET_FOLLOWER || f->peer.kind == TARGET_FOLLOWER;
  if (follower && controllers < 2)
    return yaml_fail(p, f->line, "target: follower needs at least 2 controllers (nodes: %d)",
                     s->nodes);
  return true;
}

static bool same_target(const struct fault_target *a, const struct fault_target *b) {
  return a->kind == b->kind && a->id == b->id && a->partition == b->partition &&
         !strcmp(a->topic, b->topic);
}

/* "0", or a bound with its unit: "500us", "3ms". */
bool faults_jitter_parse(struct yaml_parser *p, struct scenario *s, struct fy_node *k,
                         struct fy_node *v) {
  char text[64];
  if (!yaml_scalar(p, k, v, text, sizeof text)) return false;
  char *end;
  long long n = strtoll(text, &end, 10);
  int64_t unit = !strcmp(end, "us") ? 1 : !strcmp(end, "ms") ? 1000 : 0;
  if (end != text && !*end && n == 0) unit = 1; /* a bare 0: off */
  if (end == text || unit == 0 || n < 0 || n * unit > FAULT_JITTER_MAX_US)
    return yaml_fail(p, yaml_line(v),
                     "jitter: expected 0 or a bound like 500us or 3ms (at most %dms), "
                     "got \"%s\"",
                     FAULT_JITTER_MAX_US / 1000, text);
  s->fault_jitter_us = n * unit;
  return true;
}

/* After the whole file is read: targets that exist, a peer that is not the
 * target, and no fault after the end of the run. */
bool faults_validate(struct yaml_parser *p, const struct scenario *s) {
  for (int i = 0; i < s->fault_count; i++) {
    const struct fault *f = &s->faults[i];
    if (!target_exists(p, s, f, &f->target) || !target_exists(p, s, f, &f->peer)) return false;
    if (!quorum_target_ok(p, s, f)) return false;
    if (f->when.node > s->nodes)
      return yaml_fail(p, f->line, "when: node %d does not exist (nodes: %d)", f->when.node,
                       s->nodes);
    if (f->action == FAULT_SEEK && f->target.id <= s->producers)
      return yaml_fail(p, f->line, "seek: client %d is a producer, not a consumer",
                       f->target.id);
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
  if (f->mode != FAULT_MODE_NONE) yaml_put(o, "    mode: %s\n", mode_names[f->mode]);
  const struct fault_when *w = &f->when;
  if (w->event == FAULT_EVENT_NONE) return;
  if (w->node == 0 && w->nth == 1 && w->within_ms == FAULT_WITHIN_DEFAULT_MS && !w->topic[0]) {
    yaml_put(o, "    when: %s\n", event_names[w->event]);
    return;
  }
  yaml_put(o, "    when: {event: %s", event_names[w->event]);
  if (w->node) yaml_put(o, ", node: %d", w->node);
  if (w->nth != 1) yaml_put(o, ", nth: %d", w->nth);
  if (w->within_ms != FAULT_WITHIN_DEFAULT_MS)
    yaml_put(o, ", within: %lldms", (long long)w->within_ms);
  if (w->topic[0]) yaml_put(o, ", topic: %s", w->topic);
  yaml_put(o, "}\n");
}

void faults_jitter_write(struct yaml_out *o, const struct scenario *s) {
  if (s->fault_jitter_us == FAULT_JITTER_DEFAULT_US) return;
  if (s->fault_jitter_us == 0)
    yaml_put(o, "jitter: 0\n");
  else
    yaml_put(o, "jitter: %lldus\n", (long long)s->fault_jitter_us);
}
