/* The admin workload: a client that, every so often (an interval drawn from
 * its own stream), sends one admin request as an operator's tools do:
 * Metadata (all topics, named ones with a bad name and one by id, an
 * unknown topic that auto-creation may make), DescribeConfigs (topics and
 * the broker), DescribeCluster, ListOffsets by timestamp (latest, earliest,
 * max timestamp, a real one), and topic churn on topics of its own that
 * the producers never use (CreateTopics with configs, CreatePartitions,
 * DeleteTopics). One request at a time, on its own connection. On a node
 * with a CONTROLLER listener (controller.quorum.voters set) it also asks
 * DescribeQuorum there, as kafka-metadata-quorum.sh --bootstrap-controller
 * does (KIP-595, KIP-919), through the project's own client
 * (client/quorum_status.h).
 *
 * Its checker, topic-churn: what Metadata reports of the churn topics must
 * agree with what the answers before it said. A topic whose CreateTopics
 * (or CreatePartitions) was answered has the partitions asked; one whose
 * DeleteTopics was answered is gone; with auto.create.topics.enable=false
 * an unknown topic stays unknown. An answer that did not come (a reset
 * connection) or an error that may or may not have changed the topic
 * leaves it unknown until Metadata says; a replaced disk makes everything
 * unknown. Requests are answered in order on one connection and only this
 * client touches its churn topics, so each Metadata answer is judged
 * against exactly what came before it. The same checker judges the configs:
 * a CreateTopics setting a value Kafka refuses (or one Sluice refuses on
 * purpose, topic_config.c) must not succeed, one of only valid settings
 * must not get INVALID_CONFIG, and DescribeConfigs of a churn topic reports
 * the values its answered creation set; and the quorum: DescribeQuorum
 * names a leader among controller.quorum.voters, exactly those voters, an
 * epoch that never goes back, a high watermark that never goes back within
 * an epoch and that the leader's own log end reaches, and the cluster.id. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "client/admin.h"
#include "client/quorum_status.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "sim/disk.h"
#include "sim/runner_internal.h"
#include "sim/world.h"

enum {
  ERROR_TOPIC_DELETION_DISABLED = 73, /* Kafka's; proto/errors.h does not name it */
  CHURN_TOPICS = 4, /* churn-<client>-0..3; the last one is only ever auto-created */
  AUTO_TOPIC = 3,
  CHURN_PARTITIONS_MAX = 3, /* few: every partition holds open files */
  ADMIN_TIMEOUT_MS = 5000,
  RESOURCE_TOPIC = 2,
  RESOURCE_BROKER = 4,
  CHURN_CONFIGS = 3, /* compression.type, segment.bytes, retention.ms */
  EXTRA_CONFIGS_MAX = 3,
  VOTERS_MAX = 16,
};

enum admin_op {
  OP_METADATA_ALL,
  OP_METADATA_NAMED,
  OP_METADATA_AUTO,
  OP_DESCRIBE_CONFIGS,
  OP_DESCRIBE_CLUSTER,
  OP_LIST_OFFSETS,
  OP_CREATE_TOPICS,
  OP_CREATE_PARTITIONS,
  OP_DELETE_TOPICS,
  OP_DESCRIBE_QUORUM, /* drawn only where there is a controller listener */
  /* admin_ops: all (drawn after the others, so that scenarios without it
   * draw exactly as before them) */
  OP_ALTER_CONFIGS,
  OP_INCREMENTAL_ALTER_CONFIGS,
  OP_LIST_GROUPS,
  OP_DESCRIBE_GROUPS,
  OP_OFFSET_COMMIT,
  OP_OFFSET_FETCH,
  OP_OFFSET_DELETE,
  OP_DELETE_GROUPS,
  OP_FIND_COORDINATOR,
  OP_ELECT_LEADERS,
  OP_LIST_REASSIGNMENTS,
  OP_ALTER_REASSIGNMENTS,
  OPS,
};

static const char *const op_names[OPS] = {"Metadata (all topics)",
                                          "Metadata (named)",
                                          "Metadata (auto-create)",
                                          "DescribeConfigs",
                                          "DescribeCluster",
                                          "ListOffsets",
                                          "CreateTopics",
                                          "CreatePartitions",
                                          "DeleteTopics",
                                          "DescribeQuorum",
                                          "AlterConfigs",
                                          "IncrementalAlterConfigs",
                                          "ListGroups",
                                          "DescribeGroups",
                                          "OffsetCommit",
                                          "OffsetFetch",
                                          "OffsetDelete",
                                          "DeleteGroups",
                                          "FindCoordinator",
                                          "ElectLeaders",
                                          "ListPartitionReassignments",
                                          "AlterPartitionReassignments"};

enum churn_state { CHURN_UNKNOWN, CHURN_ABSENT, CHURN_PRESENT };

struct churn {
  char name[32];
  enum churn_state state;
  int32_t partitions; /* when present; -1: not known */
  struct kuuid id;
  bool id_known;
  /* The values its answered creation and config changes set (configs_known:
   * for the keys with key_set; a key without is at its default); unknown
   * after an answer that did not come. */
  bool configs_known;
  bool key_set[CHURN_CONFIGS];
  char configs[CHURN_CONFIGS][24];
  /* A broker restarted after storage errors: until the metadata log lands,
   * the metadata is the directory layout, which a failed write can leave
   * behind what the answers said; one disagreement is then counted within
   * (docs/scenarios.md, known bug), not as a violation. */
  bool suspect;
  /* An answer about it said neither yes nor no (NOT_CONTROLLER, no answer
   * at all): what it asked may still take effect later (KRaft: its record
   * was in the log, uncommitted, and a leader may commit it after a
   * restart; kraft-disk-faults seed 1). One disagreement is then counted
   * within, until an answer about the topic says yes or no (a later
   * record committed: the earlier ones are committed or gone). */
  bool undecided;
};

struct admin {
  struct client *c;
  struct sim_rng rng;
  uint64_t interval_ns;
  uint64_t next_ns;
  bool in_flight;
  enum admin_op op;
  int target;         /* the churn topic the request is about; -1: none */
  int32_t asked;      /* CreateTopics, CreatePartitions: the partitions asked */
  int leader_at_send; /* the quorum's leader when the request went out (-1: none) */
  bool validate_only; /* nothing changes */
  uint64_t disks_lost_seen;
  int16_t incarnation_seen;
  struct churn churn[CHURN_TOPICS];
  struct kuuid workload_ids[SCENARIO_TOPICS_MAX];
  bool workload_id_known[SCENARIO_TOPICS_MAX];
  uint64_t requests, answers, failures;
  /* CreateTopics in flight: whether one of its settings is invalid, and
   * whether all are valid and distinct (INVALID_CONFIG is then wrong). */
  bool sent_invalid, sent_all_valid;
  char sent_configs[CHURN_CONFIGS][24];
  int sent_configs_count;
  /* DescribeQuorum (a KRaft node): controller.quorum.voters, parsed. */
  struct quorum_query qq;
  int voter_ids[VOTERS_MAX];
  char voter_endpoints[VOTERS_MAX][64]; /* host:port */
  int voter_count;
  int32_t quorum_epoch_seen;
  int64_t quorum_hw_seen; /* in quorum_epoch_seen */
  /* admin_ops: all. An alter in flight: its churn topic (-1: a broker),
   * and per churn key whether it is given (legacy: set; incremental: SET
   * or DELETE), deleted, and the value. */
  bool ops_all;
  int alter_target;
  bool alter_given[CHURN_CONFIGS], alter_deleted[CHURN_CONFIGS];
  char alter_values[CHURN_CONFIGS][24];
  /* Its own group (admin-<client>), made by simple commits (generation -1,
   * no members), and one nobody makes (never-<client>). Judged on one node
   * without clock faults (groups_judged): there the answers come from the
   * only coordinator, and no clock jump expires the offsets. */
  char group[32], never_group[32];
  bool groups_judged;
  enum churn_state group_state;
  int64_t group_offsets[SCENARIO_PARTITIONS_MAX]; /* per workload partition */
  int64_t sent_offsets[SCENARIO_PARTITIONS_MAX];
  int group_topic; /* the workload topic a commit, fetch or delete is about */
  bool fetch_all, to_never, list_empty_only, list_no_classic, find_transaction;
  struct kstr find_key; /* FindCoordinator v0-3: the one key (a->group or "") */
};

enum {
  OFFSET_NONE = -1,     /* none committed: OffsetFetch answers -1 */
  OFFSET_UNKNOWN = -2,  /* an answer that did not come */
  OFFSET_NOT_SENT = -3, /* not in the request */
};

static int64_t draw(struct admin *a, int64_t lo, int64_t hi) {
  return lo + (int64_t)sim_rng_below(&a->rng, (uint64_t)(hi - lo + 1));
}

static bool config_says(const struct scenario *sc, const char *key, const char *value) {
  bool found = false;
  for (int i = 0; i < sc->config_count; i++)
    if (!strcmp(sc->config[i].key, key)) found = !strcmp(sc->config[i].value, value);
  return found;
}

/* The cluster config's value for key; NULL: not set. */
static const char *config_of(const struct scenario *sc, const char *key) {
  const char *value = NULL;
  for (int i = 0; i < sc->config_count; i++)
    if (!strcmp(sc->config[i].key, key)) value = sc->config[i].value;
  return value;
}

static bool auto_create(const struct scenario *sc) {
  return !config_says(sc, "auto.create.topics.enable", "false");
}

/* A disagreement about churn topic k (-1: a workload topic). */
static void violation(struct admin *a, int k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void violation(struct admin *a, int k, const char *fmt, ...) {
  struct runner *r = a->c->r;
  char text[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  if (k >= 0 && a->churn[k].suspect) {
    a->churn[k].suspect = false;
    r->admin_allowed++;
    runner_trace(r, "admin %d: within (a restart after storage errors): %s", a->c->number,
                 text);
    return;
  }
  if (k >= 0 && a->churn[k].undecided) {
    a->churn[k].undecided = false;
    r->admin_allowed++;
    runner_trace(r, "admin %d: within (an undecided request took effect later): %s",
                 a->c->number, text);
    return;
  }
  if (r->admin_violations++ == 0)
    snprintf(r->admin_first, sizeof r->admin_first, "client %d: %s", a->c->number, text);
  runner_trace(r, "admin %d: VIOLATION %s", a->c->number, text);
}

/* Nothing known of the admin's own group. */
static void group_forget(struct admin *a) {
  a->group_state = CHURN_UNKNOWN;
  for (int i = 0; i < SCENARIO_PARTITIONS_MAX; i++) a->group_offsets[i] = OFFSET_UNKNOWN;
}

/* A replaced disk took every topic with it (until someone makes it again);
 * without a metadata log (one node, no controller.quorum.voters: the
 * single-node controller), a restart after any storage error may have lost
 * what the answers said. With the log, what was answered was committed
 * there first, and a restart replays it: no allowance. */
static void notice_restarts(struct admin *a) {
  const struct broker *b = &a->c->r->brokers[0];
  const struct scenario *sc = a->c->r->sc;
  const char *voters = config_of(sc, "controller.quorum.voters");
  bool metadata_log = sc->nodes > 1 || (voters && voters[0]);
  struct sim_disk_stats st;
  sim_disk_stats(b->node, &st);
  if (b->incarnation != a->incarnation_seen) {
    /* A power loss may have taken commits in the page cache (0: the
     * first look, before any request). */
    if (a->incarnation_seen != 0) group_forget(a);
    a->incarnation_seen = b->incarnation;
    bool errors = !metadata_log && st.write_errors + st.enospc + st.fsync_errors > 0;
    for (int i = 0; i < CHURN_TOPICS && errors; i++) a->churn[i].suspect = true;
  }
  if (st.disks_lost == a->disks_lost_seen) return;
  a->disks_lost_seen = st.disks_lost;
  group_forget(a);
  for (int i = 0; i < CHURN_TOPICS; i++) a->churn[i].state = CHURN_UNKNOWN;
}

static int churn_index(const struct admin *a, struct kstr name) {
  for (int i = 0; i < CHURN_TOPICS && name.len > 0; i++)
    if (kstr_eq(name, a->churn[i].name)) return i;
  return -1;
}

/* What Metadata says of churn topic i: present with n partitions, or not
 * (n < 0). Judged against what the answers before it said, then taken. */
static void observe(struct admin *a, int i, int32_t n, const struct kuuid *id) {
  struct churn *t = &a->churn[i];
  if (t->state == CHURN_ABSENT && n >= 0)
    violation(a, i, "Metadata reports %s (%d partitions) after its deletion was answered",
              t->name, n);
  else if (t->state == CHURN_PRESENT && n < 0)
    violation(a, i, "Metadata does not know %s after its creation was answered", t->name);
  else if (t->state == CHURN_PRESENT && t->partitions >= 0 && n != t->partitions)
    violation(a, i, "Metadata reports %s with %d partitions; the answers said %d", t->name, n,
              t->partitions);
  if (n < 0 || t->state != CHURN_PRESENT) t->configs_known = false; /* made by whom? */
  t->state = n >= 0 ? CHURN_PRESENT : CHURN_ABSENT;
  t->partitions = n;
  if (id) {
    t->id = *id;
    t->id_known = true;
  }
}

/* ---- the answers ---- */

static void on_metadata(struct admin *a, const struct metadata_response *m) {
  struct runner *r = a->c->r;
  const struct scenario *sc = r->sc;
  bool seen[CHURN_TOPICS] = {false};
  for (int32_t i = 0; i < m->topics_count; i++) {
    const struct metadata_response_metadata_response_topic *t = &m->topics[i];
    int k = churn_index(a, t->name);
    if (k >= 0) {
      seen[k] = true;
      /* This very request may have made it. */
      if (a->op == OP_METADATA_AUTO && k == AUTO_TOPIC && auto_create(sc))
        a->churn[k].state = CHURN_UNKNOWN;
      if (t->error_code == KERR_NONE)
        observe(a, k, t->partitions_count, &t->topic_id);
      else if (t->error_code == KERR_UNKNOWN_TOPIC_OR_PARTITION)
        observe(a, k, -1, NULL);
      else
        a->churn[k].state = CHURN_UNKNOWN; /* LEADER_NOT_AVAILABLE: being made */
      if (a->op == OP_METADATA_AUTO && !auto_create(sc) && t->error_code == KERR_NONE)
        violation(a, k, "%s was auto-created with auto.create.topics.enable=false",
                  a->churn[k].name);
      continue;
    }
    for (int w = 0; w < sc->topic_count; w++) {
      if (t->name.len <= 0 || !kstr_eq(t->name, sc->topics[w].name) ||
          t->error_code != KERR_NONE)
        continue;
      a->workload_ids[w] = t->topic_id;
      a->workload_id_known[w] = true;
      if (t->partitions_count != sc->topics[w].partitions)
        violation(a, -1, "Metadata reports %s with %d partitions, created with %d",
                  sc->topics[w].name, t->partitions_count, sc->topics[w].partitions);
    }
  }
  /* Every topic there is: a churn topic not listed does not exist. */
  for (int k = 0; k < CHURN_TOPICS && a->op == OP_METADATA_ALL; k++)
    if (!seen[k]) observe(a, k, -1, NULL);
  runner_trace(r, "admin %d: %s: %d brokers, %d topics", a->c->number, op_names[a->op],
               m->brokers_count, m->topics_count);
}

static void on_create_topics(struct admin *a, const struct create_topics_response *m) {
  for (int32_t i = 0; i < m->topics_count; i++) {
    const struct create_topics_response_creatable_topic_result *t = &m->topics[i];
    int k = churn_index(a, t->name);
    runner_trace(a->c->r, "admin %d: CreateTopics %.*s%s: error %d, %d partitions",
                 a->c->number, (int)(t->name.len > 0 ? t->name.len : 0), t->name.ptr,
                 a->validate_only ? " (validate only)" : "", t->error_code, t->num_partitions);
    if (k < 0 || t->error_code == KERR_INVALID_REQUEST) continue;
    /* Kafka's answer to the settings, validate-only or not (not a stored
     * state a restart after storage errors may excuse: -1). */
    if (a->sent_invalid && t->error_code == KERR_NONE)
      violation(a, -1, "CreateTopics %s%s accepted an invalid setting", a->churn[k].name,
                a->validate_only ? " (validate only)" : "");
    if (a->sent_all_valid && t->error_code == KERR_INVALID_CONFIG)
      violation(a, -1, "CreateTopics %s%s: INVALID_CONFIG for valid settings", a->churn[k].name,
                a->validate_only ? " (validate only)" : "");
    if (a->validate_only) continue;
    struct churn *c = &a->churn[k];
    if (t->error_code == KERR_NONE) {
      c->configs_known = a->sent_configs_count >= 0;
      for (int n = 0; n < CHURN_CONFIGS; n++) c->key_set[n] = n < a->sent_configs_count;
      memcpy(c->configs, a->sent_configs, sizeof c->configs);
      if (t->num_partitions != a->asked)
        violation(a, k, "CreateTopics %s answered %d partitions, asked %d", c->name,
                  t->num_partitions, a->asked);
      c->state = CHURN_PRESENT;
      c->partitions = a->asked;
      c->id = t->topic_id;
      c->id_known = true;
      c->undecided = false;
    } else if (t->error_code == KERR_TOPIC_ALREADY_EXISTS) {
      /* A create forwarded to a controller that died with its record in
       * the log is retried on the next one, which may have committed that
       * record first: the client's own topic "already exists", as with
       * Kafka's controller failover (controller-kill seed 113). */
      int leader_now = a->c->r->quorum ? runner_raft_leader(a->c->r) : 0;
      if (c->state == CHURN_ABSENT && leader_now == a->leader_at_send && leader_now >= 0)
        violation(a, k, "CreateTopics %s: TOPIC_ALREADY_EXISTS after its deletion was answered",
                  c->name);
      if (c->state != CHURN_PRESENT) c->state = CHURN_UNKNOWN;
      c->undecided = false;
    } else {
      c->state = CHURN_UNKNOWN;
      c->undecided = true;
    }
  }
}

static void on_create_partitions(struct admin *a, const struct create_partitions_response *m) {
  for (int32_t i = 0; i < m->results_count; i++) {
    const struct create_partitions_response_create_partitions_topic_result *t = &m->results[i];
    int k = churn_index(a, t->name);
    runner_trace(a->c->r, "admin %d: CreatePartitions %.*s to %d%s: error %d", a->c->number,
                 (int)(t->name.len > 0 ? t->name.len : 0), t->name.ptr, a->asked,
                 a->validate_only ? " (validate only)" : "", t->error_code);
    if (k < 0 || a->validate_only || t->error_code == KERR_INVALID_REQUEST) continue;
    struct churn *c = &a->churn[k];
    if (t->error_code == KERR_NONE) {
      if (c->state == CHURN_ABSENT)
        violation(a, k, "CreatePartitions %s succeeded after its deletion was answered",
                  c->name);
      c->state = CHURN_PRESENT;
      c->partitions = a->asked;
      c->undecided = false;
    } else if (t->error_code == KERR_UNKNOWN_TOPIC_OR_PARTITION) {
      if (c->state == CHURN_PRESENT)
        violation(a, k, "CreatePartitions %s: unknown topic after its creation was answered",
                  c->name);
      c->state = CHURN_ABSENT;
      c->undecided = false;
    } else if (t->error_code != KERR_INVALID_PARTITIONS) {
      c->state = CHURN_UNKNOWN;
      c->undecided = true;
    }
  }
}

static void on_delete_topics(struct admin *a, const struct delete_topics_response *m) {
  for (int32_t i = 0; i < m->responses_count; i++) {
    const struct delete_topics_response_deletable_topic_result *t = &m->responses[i];
    int k = churn_index(a, t->name);
    runner_trace(a->c->r, "admin %d: DeleteTopics %.*s: error %d", a->c->number,
                 (int)(t->name.len > 0 ? t->name.len : 0), t->name.ptr, t->error_code);
    if (k < 0 || t->error_code == KERR_INVALID_REQUEST) continue;
    struct churn *c = &a->churn[k];
    if (t->error_code == KERR_NONE) {
      if (c->state == CHURN_ABSENT)
        violation(a, k, "DeleteTopics %s succeeded after its deletion was answered", c->name);
      c->state = CHURN_ABSENT;
      c->undecided = false;
    } else if (t->error_code == KERR_UNKNOWN_TOPIC_OR_PARTITION ||
               t->error_code == KERR_UNKNOWN_TOPIC_ID) {
      if (c->state == CHURN_PRESENT)
        violation(a, k, "DeleteTopics %s: unknown after its creation was answered", c->name);
      c->state = CHURN_ABSENT;
      c->undecided = false;
    } else if (t->error_code != ERROR_TOPIC_DELETION_DISABLED) {
      c->state = CHURN_UNKNOWN;
      c->undecided = true;
    }
  }
}

static const char *const churn_config_keys[CHURN_CONFIGS] = {"compression.type",
                                                             "segment.bytes", "retention.ms"};

/* A churn topic's settings, as its answered creation set them: Kafka keeps
 * a topic's configs (KRaft: ConfigRecords, in the metadata log and its
 * snapshots) until the topic is deleted. */
static void
churn_configs_check(struct admin *a,
                    const struct describe_configs_response_describe_configs_result *res) {
  int k = res->resource_type == RESOURCE_TOPIC ? churn_index(a, res->resource_name) : -1;
  if (k < 0 || res->error_code != KERR_NONE) return;
  const struct churn *c = &a->churn[k];
  if (c->state != CHURN_PRESENT || !c->configs_known) return;
  for (int32_t j = 0; j < res->configs_count; j++)
    for (int n = 0; n < CHURN_CONFIGS; n++)
      if (c->key_set[n] && kstr_eq(res->configs[j].name, churn_config_keys[n]) &&
          !kstr_eq(res->configs[j].value, c->configs[n]))
        violation(a, k, "DescribeConfigs %s: %s is %.*s, set to %s", c->name,
                  churn_config_keys[n],
                  (int)(res->configs[j].value.len > 0 ? res->configs[j].value.len : 0),
                  res->configs[j].value.ptr, c->configs[n]);
}

/* The workload topics' compression.type, as the scenario created them. */
static void on_describe_configs(struct admin *a, const struct describe_configs_response *m) {
  const struct scenario *sc = a->c->r->sc;
  for (int32_t i = 0; i < m->results_count; i++) {
    churn_configs_check(a, &m->results[i]);
    const struct describe_configs_response_describe_configs_result *res = &m->results[i];
    runner_trace(a->c->r, "admin %d: DescribeConfigs %d %.*s: error %d, %d configs",
                 a->c->number, res->resource_type,
                 (int)(res->resource_name.len > 0 ? res->resource_name.len : 0),
                 res->resource_name.ptr, res->error_code, res->configs_count);
    const struct scenario_topic *t = NULL;
    for (int w = 0; w < sc->topic_count && res->resource_type == RESOURCE_TOPIC; w++)
      if (res->resource_name.len > 0 && kstr_eq(res->resource_name, sc->topics[w].name))
        t = &sc->topics[w];
    for (int32_t j = 0; t && res->error_code == KERR_NONE && j < res->configs_count; j++)
      for (int k = 0; k < t->config_count; k++)
        if (kstr_eq(res->configs[j].name, t->config[k].key) &&
            !kstr_eq(res->configs[j].value, t->config[k].value))
          violation(a, -1, "DescribeConfigs %s: %s is %.*s, created with %s", t->name,
                    t->config[k].key, (int)res->configs[j].value.len, res->configs[j].value.ptr,
                    t->config[k].value);
  }
}

/* ---- admin_ops: all: config changes ---- */

/* An alter's answer for one resource (AlterConfigs and
 * IncrementalAlterConfigs answer alike): Kafka's verdict on the settings,
 * then what the churn topic's configs are now. */
static void on_altered(struct admin *a, int16_t error, int8_t type, struct kstr name) {
  const char *what = op_names[a->op], *vo = a->validate_only ? " (validate only)" : "";
  char given[3 * 40] = "";
  for (int n = 0, at = 0; n < CHURN_CONFIGS && a->alter_target >= 0; n++)
    if (a->alter_given[n])
      at += snprintf(given + at, sizeof given - (size_t)at, " %s=%s", churn_config_keys[n],
                     a->alter_deleted[n] ? "(delete)" : a->alter_values[n]);
  runner_trace(a->c->r, "admin %d: %s %d %.*s%s:%s error %d", a->c->number, what, type,
               (int)(name.len > 0 ? name.len : 0), name.ptr, vo, given, error);
  if (a->sent_invalid && error == KERR_NONE)
    violation(a, -1, "%s %.*s%s accepted an invalid setting", what,
              (int)(name.len > 0 ? name.len : 0), name.ptr, vo);
  if (a->sent_all_valid && error == KERR_INVALID_CONFIG)
    violation(a, -1, "%s %.*s%s: INVALID_CONFIG for valid settings", what,
              (int)(name.len > 0 ? name.len : 0), name.ptr, vo);
  int k = type == RESOURCE_TOPIC ? churn_index(a, name) : -1;
  if (k < 0 || k != a->alter_target || a->validate_only) return;
  struct churn *c = &a->churn[k];
  if (error == KERR_UNKNOWN_TOPIC_OR_PARTITION && c->state == CHURN_PRESENT)
    violation(a, k, "%s %s: unknown topic after its creation was answered", what, c->name);
  if (error != KERR_NONE) {
    /* Refused settings change nothing; other errors may have. */
    if (error != KERR_INVALID_CONFIG && error != KERR_INVALID_REQUEST) c->configs_known = false;
    return;
  }
  if (c->state == CHURN_ABSENT)
    violation(a, k, "%s %s succeeded after its deletion was answered", what, c->name);
  /* AlterConfigs replaces the whole set (everything is known after it);
   * IncrementalAlterConfigs changes only the keys given. */
  if (a->op == OP_ALTER_CONFIGS) c->configs_known = c->state == CHURN_PRESENT;
  for (int n = 0; n < CHURN_CONFIGS; n++) {
    if (a->op == OP_ALTER_CONFIGS || a->alter_given[n])
      c->key_set[n] = a->alter_given[n] && !a->alter_deleted[n];
    if (a->alter_given[n] && !a->alter_deleted[n])
      memcpy(c->configs[n], a->alter_values[n], sizeof c->configs[n]);
  }
}

/* ---- admin_ops: all: groups ---- */

/* The index of a workload partition among all of them; -1: not one. */
static int part_index(const struct scenario *sc, struct kstr topic, int32_t partition) {
  for (int w = 0, base = 0; w < sc->topic_count; base += sc->topics[w++].partitions)
    if (topic.len > 0 && kstr_eq(topic, sc->topics[w].name))
      return partition >= 0 && partition < sc->topics[w].partitions ? base + partition : -1;
  return -1;
}

static bool any_offset(const struct admin *a) {
  for (int i = 0; i < SCENARIO_PARTITIONS_MAX; i++)
    if (a->group_offsets[i] >= 0) return true;
  return false;
}

/* Kafka's answers meaning "not written": the request may be sent again. */
static bool not_coordinated(int16_t error) {
  return error == KERR_NOT_COORDINATOR || error == KERR_COORDINATOR_NOT_AVAILABLE ||
         error == KERR_COORDINATOR_LOAD_IN_PROGRESS;
}

static void on_offset_commit(struct admin *a, const struct offset_commit_response *m) {
  const struct scenario *sc = a->c->r->sc;
  for (int32_t i = 0; i < m->topics_count; i++)
    for (int32_t j = 0; j < m->topics[i].partitions_count; j++) {
      const struct offset_commit_response_offset_commit_response_partition *p =
          &m->topics[i].partitions[j];
      int x = part_index(sc, m->topics[i].name, p->partition_index);
      runner_trace(a->c->r, "admin %d: OffsetCommit %s %.*s-%d: error %d", a->c->number,
                   a->group, (int)m->topics[i].name.len, m->topics[i].name.ptr,
                   p->partition_index, p->error_code);
      if (x < 0 || a->sent_offsets[x] == OFFSET_NOT_SENT) {
        violation(a, -1, "OffsetCommit %s: an answer for %.*s-%d, not committed", a->group,
                  (int)m->topics[i].name.len, m->topics[i].name.ptr, p->partition_index);
        continue;
      }
      if (p->error_code == KERR_NONE) {
        a->group_offsets[x] = a->sent_offsets[x];
        a->group_state = CHURN_PRESENT;
      } else if (!not_coordinated(p->error_code)) {
        a->group_offsets[x] = OFFSET_UNKNOWN;
        if (a->group_state != CHURN_PRESENT) a->group_state = CHURN_UNKNOWN;
      }
    }
  if (!a->groups_judged) group_forget(a);
}

/* One partition OffsetFetch answered: what the answered commits and
 * deletions said it holds. */
static void fetched_one(struct admin *a, struct kstr topic, int32_t partition, int64_t offset,
                        int16_t error) {
  int x = part_index(a->c->r->sc, topic, partition);
  if (x < 0 || error != KERR_NONE) return;
  int64_t known = a->group_offsets[x];
  if (known != OFFSET_UNKNOWN && offset != known)
    violation(a, -1, "OffsetFetch %s %.*s-%d: offset %lld, the answers said %lld", a->group,
              (int)topic.len, topic.ptr, partition, (long long)offset, (long long)known);
  a->group_offsets[x] = offset < 0 ? OFFSET_NONE : offset;
}

static void on_offset_fetch(struct admin *a, int16_t version,
                            const struct offset_fetch_response *m) {
  runner_trace(a->c->r, "admin %d: OffsetFetch %s v%d%s: error %d, %d topics", a->c->number,
               a->group, version, a->fetch_all ? " (all)" : "", m->error_code, m->topics_count);
  if (!a->groups_judged || m->error_code != KERR_NONE) return;
  bool listed[SCENARIO_PARTITIONS_MAX] = {false};
  for (int32_t i = 0; i < m->topics_count; i++)
    for (int32_t j = 0; j < m->topics[i].partitions_count; j++) {
      const struct offset_fetch_response_offset_fetch_response_partition *p =
          &m->topics[i].partitions[j];
      int x = part_index(a->c->r->sc, m->topics[i].name, p->partition_index);
      if (x >= 0) listed[x] = true;
      fetched_one(a, m->topics[i].name, p->partition_index, p->committed_offset, p->error_code);
    }
  /* All of them: a partition not listed has nothing committed. */
  for (int x = 0; a->fetch_all && x < SCENARIO_PARTITIONS_MAX; x++) {
    if (listed[x]) continue;
    if (a->group_offsets[x] >= 0)
      violation(a, -1, "OffsetFetch %s (all): partition %d missing, committed at %lld",
                a->group, x, (long long)a->group_offsets[x]);
    a->group_offsets[x] = OFFSET_NONE;
  }
}

static void on_offset_delete(struct admin *a, const struct offset_delete_response *m) {
  const char *g = a->to_never ? a->never_group : a->group;
  runner_trace(a->c->r, "admin %d: OffsetDelete %s: error %d", a->c->number, g, m->error_code);
  if (a->to_never) {
    if (m->error_code == KERR_NONE)
      violation(a, -1, "OffsetDelete %s: a group nobody made exists", g);
    return;
  }
  if (a->groups_judged && m->error_code == KERR_GROUP_ID_NOT_FOUND &&
      a->group_state == CHURN_PRESENT)
    violation(a, -1, "OffsetDelete %s: GROUP_ID_NOT_FOUND after a commit was answered", g);
  if (a->groups_judged && m->error_code == KERR_NONE && a->group_state == CHURN_ABSENT)
    violation(a, -1, "OffsetDelete %s: the group exists after its deletion was answered", g);
  for (int32_t i = 0; m->error_code == KERR_NONE && i < m->topics_count; i++)
    for (int32_t j = 0; j < m->topics[i].partitions_count; j++) {
      int x = part_index(a->c->r->sc, m->topics[i].name,
                         m->topics[i].partitions[j].partition_index);
      int16_t e = m->topics[i].partitions[j].error_code;
      if (x >= 0 && e == KERR_NONE) a->group_offsets[x] = OFFSET_NONE;
      /* The coordinator forgets an offset before its tombstone is written
       * (as Kafka's does): after any error it may be gone. */
      if (x >= 0 && e != KERR_NONE) a->group_offsets[x] = OFFSET_UNKNOWN;
      if (e != KERR_NONE)
        runner_trace(a->c->r, "admin %d: OffsetDelete %s %.*s-%d: error %d", a->c->number, g,
                     (int)m->topics[i].name.len, m->topics[i].name.ptr,
                     m->topics[i].partitions[j].partition_index, e);
      /* The group has no members, so it subscribes to nothing (KIP-496). */
      if (e == KERR_GROUP_SUBSCRIBED_TO_TOPIC)
        violation(a, -1, "OffsetDelete %s: GROUP_SUBSCRIBED_TO_TOPIC without members", g);
    }
  if (!a->groups_judged) group_forget(a);
}

static void on_delete_groups(struct admin *a, const struct delete_groups_response *m) {
  for (int32_t i = 0; i < m->results_count; i++) {
    const struct delete_groups_response_deletable_group_result *r = &m->results[i];
    runner_trace(a->c->r, "admin %d: DeleteGroups %.*s: error %d", a->c->number,
                 (int)(r->group_id.len > 0 ? r->group_id.len : 0), r->group_id.ptr,
                 r->error_code);
    if (kstr_eq(r->group_id, a->never_group)) {
      if (r->error_code == KERR_NONE)
        violation(a, -1, "DeleteGroups %s: a group nobody made was deleted", a->never_group);
      continue;
    }
    if (!kstr_eq(r->group_id, a->group)) continue;
    if (a->groups_judged && r->error_code == KERR_NONE && a->group_state == CHURN_ABSENT)
      violation(a, -1, "DeleteGroups %s succeeded after its deletion was answered", a->group);
    if (a->groups_judged && r->error_code == KERR_GROUP_ID_NOT_FOUND &&
        a->group_state == CHURN_PRESENT)
      violation(a, -1, "DeleteGroups %s: GROUP_ID_NOT_FOUND after a commit was answered",
                a->group);
    if (r->error_code == KERR_NON_EMPTY_GROUP)
      violation(a, -1, "DeleteGroups %s: NON_EMPTY_GROUP for a group without members",
                a->group);
    if (r->error_code == KERR_NONE || r->error_code == KERR_GROUP_ID_NOT_FOUND) {
      a->group_state = CHURN_ABSENT;
      for (int x = 0; x < SCENARIO_PARTITIONS_MAX; x++) a->group_offsets[x] = OFFSET_NONE;
    } else if (!not_coordinated(r->error_code)) {
      group_forget(a);
    }
  }
  if (!a->groups_judged) group_forget(a);
}

static bool is_scenario_group(const struct admin *a, struct kstr name) {
  for (int g = 0; g < a->c->r->sc->group_count; g++)
    if (kstr_eq(name, a->c->r->sc->groups[g].name)) return true;
  return false;
}

/* Another admin client's own group ("admin-<n>"). */
static bool admin_group(struct kstr name) {
  return name.len > 6 && !memcmp(name.ptr, "admin-", 6);
}

static void on_list_groups(struct admin *a, int16_t version,
                           const struct list_groups_response *m) {
  runner_trace(a->c->r, "admin %d: ListGroups v%d: error %d, %d groups", a->c->number, version,
               m->error_code, m->groups_count);
  if (m->error_code != KERR_NONE) return;
  if (a->list_no_classic && m->groups_count > 0)
    violation(a, -1, "ListGroups: %d groups with a types filter without classic",
              m->groups_count);
  bool seen = false;
  for (int32_t i = 0; i < m->groups_count; i++) {
    const struct list_groups_response_listed_group *g = &m->groups[i];
    int len = g->group_id.len > 0 ? g->group_id.len : 0;
    bool own = kstr_eq(g->group_id, a->group);
    seen |= own;
    if (!is_scenario_group(a, g->group_id) && !admin_group(g->group_id))
      violation(a, -1, "ListGroups: %.*s, a group nobody made", len, g->group_id.ptr);
    else if (is_scenario_group(a, g->group_id) && !kstr_eq(g->protocol_type, "consumer"))
      violation(a, -1, "ListGroups: %.*s has protocol type %.*s", len, g->group_id.ptr,
                (int)(g->protocol_type.len > 0 ? g->protocol_type.len : 0),
                g->protocol_type.ptr);
    else if (own && g->protocol_type.len > 0)
      violation(a, -1, "ListGroups: %s (simple commits only) has a protocol type", a->group);
    if (a->list_empty_only && version >= 4 && !kstr_eq(g->group_state, "Empty"))
      violation(a, -1, "ListGroups: %.*s is %.*s, asked for Empty groups", len, g->group_id.ptr,
                (int)(g->group_state.len > 0 ? g->group_state.len : 0), g->group_state.ptr);
  }
  if (!a->groups_judged || a->list_no_classic) return;
  if (seen && a->group_state == CHURN_ABSENT)
    violation(a, -1, "ListGroups lists %s after its deletion was answered", a->group);
  /* With an offset it is kept (Empty, no members) until they expire. */
  if (!seen && a->group_state == CHURN_PRESENT && any_offset(a))
    violation(a, -1, "ListGroups does not list %s, which holds committed offsets", a->group);
}

static void on_described_group(struct admin *a,
                               const struct describe_groups_response_described_group *d) {
  struct kstr id = d->group_id, state = d->group_state;
  int len = id.len > 0 ? id.len : 0, slen = state.len > 0 ? state.len : 0;
  runner_trace(a->c->r, "admin %d: DescribeGroups %.*s: error %d, %.*s, %d members",
               a->c->number, len, id.ptr, d->error_code, slen, state.ptr, d->members_count);
  if (d->error_code != KERR_NONE) return;
  bool dead = kstr_eq(state, "Dead");
  if (kstr_eq(id, a->never_group) && (!dead || d->members_count != 0))
    violation(a, -1, "DescribeGroups %.*s: %.*s with %d members, a group nobody made", len,
              id.ptr, slen, state.ptr, d->members_count);
  if (kstr_eq(id, a->group) && a->groups_judged) {
    if (a->group_state == CHURN_ABSENT && !dead)
      violation(a, -1, "DescribeGroups %s: %.*s after its deletion was answered", a->group,
                slen, state.ptr);
    if (a->group_state == CHURN_PRESENT && any_offset(a) &&
        (!kstr_eq(state, "Empty") || d->members_count != 0))
      violation(a, -1, "DescribeGroups %s: %.*s with %d members, a group of simple commits",
                a->group, slen, state.ptr, d->members_count);
  }
  /* A consumer group (the scenario's): consumers' protocol type, and once
   * Stable the range assignor its members all offer and members. */
  if (is_scenario_group(a, id) && !dead && !kstr_eq(d->protocol_type, "consumer"))
    violation(a, -1, "DescribeGroups %.*s: protocol type %.*s", len, id.ptr,
              (int)(d->protocol_type.len > 0 ? d->protocol_type.len : 0), d->protocol_type.ptr);
  if (is_scenario_group(a, id) && kstr_eq(state, "Stable") &&
      (!kstr_eq(d->protocol_data, "range") || d->members_count < 1))
    violation(a, -1, "DescribeGroups %.*s: Stable with protocol %.*s and %d members", len,
              id.ptr, (int)(d->protocol_data.len > 0 ? d->protocol_data.len : 0),
              d->protocol_data.ptr, d->members_count);
}

/* One key's coordinator: a broker of the cluster; a transactional id
 * must not be empty (INVALID_REQUEST). */
static void found_one(struct admin *a, struct kstr key, int16_t error, int32_t node_id,
                      int32_t port) {
  int len = key.len > 0 ? key.len : 0;
  runner_trace(a->c->r, "admin %d: FindCoordinator %s %.*s: error %d, node %d", a->c->number,
               a->find_transaction ? "transaction" : "group", len, key.ptr, error, node_id);
  if (error == KERR_NONE && (node_id < 1 || node_id > a->c->r->sc->nodes || port <= 0))
    violation(a, -1, "FindCoordinator %.*s: node %d port %d, not a broker of the cluster", len,
              key.ptr, node_id, port);
  if (error == KERR_NONE && a->find_transaction && len == 0)
    violation(a, -1, "FindCoordinator: a coordinator for an empty transactional id");
}

static void on_find_coordinator(struct admin *a, const struct find_coordinator_response *m) {
  if (m->coordinators_count <= 0) /* v0-3: one key */
    found_one(a, a->find_key, m->error_code, m->node_id, m->port);
  for (int32_t i = 0; i < m->coordinators_count; i++)
    found_one(a, m->coordinators[i].key, m->coordinators[i].error_code,
              m->coordinators[i].node_id, m->coordinators[i].port);
}

/* The answers of admin_ops: all; false: not one of them. */
static bool answered_more(struct admin *a, int16_t version, const void *response) {
  switch (a->op) {
  case OP_ALTER_CONFIGS: {
    const struct alter_configs_response *m = response;
    for (int32_t i = 0; i < m->responses_count; i++)
      on_altered(a, m->responses[i].error_code, m->responses[i].resource_type,
                 m->responses[i].resource_name);
    return true;
  }
  case OP_INCREMENTAL_ALTER_CONFIGS: {
    const struct incremental_alter_configs_response *m = response;
    for (int32_t i = 0; i < m->responses_count; i++)
      on_altered(a, m->responses[i].error_code, m->responses[i].resource_type,
                 m->responses[i].resource_name);
    return true;
  }
  case OP_LIST_GROUPS:
    on_list_groups(a, version, response);
    return true;
  case OP_DESCRIBE_GROUPS: {
    const struct describe_groups_response *m = response;
    for (int32_t i = 0; i < m->groups_count; i++) on_described_group(a, &m->groups[i]);
    return true;
  }
  case OP_OFFSET_COMMIT:
    on_offset_commit(a, response);
    return true;
  case OP_OFFSET_FETCH:
    on_offset_fetch(a, version, response);
    return true;
  case OP_OFFSET_DELETE:
    on_offset_delete(a, response);
    return true;
  case OP_DELETE_GROUPS:
    on_delete_groups(a, response);
    return true;
  case OP_FIND_COORDINATOR:
    on_find_coordinator(a, response);
    return true;
  case OP_ELECT_LEADERS:
  case OP_LIST_REASSIGNMENTS:
  case OP_ALTER_REASSIGNMENTS:
    /* Their effects are judged where they land: leader-in-isr, the
     * replica checkers, the final read. */
    return true;
  default:
    return false;
  }
}

/* No answer to one of them: what it changed is not known. */
static void failed_more(struct admin *a) {
  if ((a->op == OP_ALTER_CONFIGS || a->op == OP_INCREMENTAL_ALTER_CONFIGS) &&
      a->alter_target >= 0 && !a->validate_only)
    a->churn[a->alter_target].configs_known = false;
  if (a->op == OP_OFFSET_COMMIT || a->op == OP_DELETE_GROUPS ||
      (a->op == OP_OFFSET_DELETE && !a->to_never))
    group_forget(a);
}

static void settle(struct admin *a) {
  a->in_flight = false;
  a->next_ns = sim_now_ns(a->c->r->w) + a->interval_ns;
  notice_restarts(a);
}

static void answered(void *ctx, int err, int16_t version, const void *response) {
  struct admin *a = ctx;
  settle(a);
  if (err != 0) { /* no answer: whatever it asked may or may not have happened */
    a->failures++;
    if (a->target >= 0 && !a->validate_only) {
      a->churn[a->target].state = CHURN_UNKNOWN;
      a->churn[a->target].configs_known = false;
      a->churn[a->target].undecided = true;
    }
    if (a->op == OP_METADATA_AUTO) a->churn[AUTO_TOPIC].state = CHURN_UNKNOWN;
    failed_more(a);
    runner_trace(a->c->r, "admin %d: %s v%d failed: error %d", a->c->number, op_names[a->op],
                 version, err);
    return;
  }
  a->answers++;
  if (answered_more(a, version, response)) return;
  switch (a->op) {
  case OP_METADATA_ALL:
  case OP_METADATA_NAMED:
  case OP_METADATA_AUTO:
    on_metadata(a, response);
    break;
  case OP_CREATE_TOPICS:
    on_create_topics(a, response);
    break;
  case OP_CREATE_PARTITIONS:
    on_create_partitions(a, response);
    break;
  case OP_DELETE_TOPICS:
    on_delete_topics(a, response);
    break;
  case OP_DESCRIBE_CONFIGS:
    on_describe_configs(a, response);
    break;
  case OP_DESCRIBE_CLUSTER: {
    const struct describe_cluster_response *m = response;
    runner_trace(a->c->r, "admin %d: DescribeCluster v%d: error %d, %d brokers, controller %d",
                 a->c->number, version, m->error_code, m->brokers_count, m->controller_id);
    break;
  }
  case OP_LIST_OFFSETS: {
    const struct list_offsets_response *m = response;
    for (int32_t i = 0; i < m->topics_count; i++)
      for (int32_t j = 0; j < m->topics[i].partitions_count; j++)
        runner_trace(a->c->r, "admin %d: ListOffsets %.*s-%d: error %d, offset %lld",
                     a->c->number, (int)m->topics[i].name.len, m->topics[i].name.ptr,
                     m->topics[i].partitions[j].partition_index,
                     m->topics[i].partitions[j].error_code,
                     (long long)m->topics[i].partitions[j].offset);
    break;
  }
  default: /* DescribeQuorum: quorum_answered; the others: answered_more */
    UNREACHABLE();
  }
}

/* ---- DescribeQuorum ---- */

static int voter_index(const struct admin *a, int32_t id) {
  for (int i = 0; i < a->voter_count; i++)
    if (a->voter_ids[i] == id) return i;
  return -1;
}

/* An endpoint v2 names ("CONTROLLER://host:port") is the one
 * controller.quorum.voters gives that voter. */
static bool endpoint_matches(const char *endpoint, const char *host_port) {
  const char *sep = strstr(endpoint, "://");
  return !endpoint[0] || (sep && !strcmp(sep + 3, host_port));
}

static void check_voters(struct admin *a, const struct quorum_status *s) {
  if (s->voter_count != a->voter_count)
    violation(a, -1, "DescribeQuorum: %d voters, controller.quorum.voters has %d",
              s->voter_count, a->voter_count);
  for (int i = 0; i < s->voter_count; i++) {
    const struct quorum_replica *v = &s->voters[i];
    int k = voter_index(a, v->id);
    if (k < 0)
      violation(a, -1, "DescribeQuorum: voter %d is not in controller.quorum.voters", v->id);
    else if (!endpoint_matches(v->endpoint, a->voter_endpoints[k]))
      violation(a, -1, "DescribeQuorum: voter %d at %s, configured at %s", v->id, v->endpoint,
                a->voter_endpoints[k]);
    /* The leader's own log holds everything committed. */
    if (v->id == s->leader_id && v->log_end_offset < s->high_watermark)
      violation(a, -1,
                "DescribeQuorum: leader %d's log ends at %lld, below the high watermark %lld",
                v->id, (long long)v->log_end_offset, (long long)s->high_watermark);
  }
}

static void check_quorum(struct admin *a, const struct quorum_status *s) {
  const char *cluster_id = config_of(a->c->r->sc, "cluster.id");
  if (s->cluster_id[0] && cluster_id && strcmp(s->cluster_id, cluster_id))
    violation(a, -1, "DescribeCluster on the controller listener: cluster id %s, configured %s",
              s->cluster_id, cluster_id);
  if (s->leader_id >= 0 && voter_index(a, s->leader_id) < 0)
    violation(a, -1, "DescribeQuorum: leader %d is not a voter", s->leader_id);
  check_voters(a, s);
  /* KIP-595: epochs only grow (they are durable in quorum-state); the high
   * watermark of one leader's epoch only grows. */
  if (s->leader_epoch < a->quorum_epoch_seen)
    violation(a, -1, "DescribeQuorum: epoch %d after epoch %d", s->leader_epoch,
              a->quorum_epoch_seen);
  else if (s->leader_epoch == a->quorum_epoch_seen && s->high_watermark < a->quorum_hw_seen)
    violation(a, -1, "DescribeQuorum: high watermark %lld after %lld in epoch %d",
              (long long)s->high_watermark, (long long)a->quorum_hw_seen, s->leader_epoch);
  if (s->leader_epoch > a->quorum_epoch_seen ||
      (s->leader_epoch == a->quorum_epoch_seen && s->high_watermark > a->quorum_hw_seen)) {
    a->quorum_epoch_seen = s->leader_epoch;
    a->quorum_hw_seen = s->high_watermark;
  }
}

static void quorum_answered(void *ctx, int err, const struct quorum_status *s,
                            const char *why) {
  struct admin *a = ctx;
  settle(a);
  if (err != 0) {
    a->failures++;
    runner_trace(a->c->r, "admin %d: DescribeQuorum failed: error %d %s", a->c->number, err,
                 why);
    return;
  }
  a->answers++;
  check_quorum(a, s);
  struct buf text; /* what kafka-metadata-quorum.sh describe --status prints */
  buf_init(&text);
  quorum_status_text(s, &text);
  for (size_t i = 0; i < text.len; i++)
    if (text.data[i] == '\n') text.data[i] = ';';
  runner_trace(a->c->r, "admin %d: DescribeQuorum: %.*s", a->c->number, (int)text.len,
               (const char *)text.data);
  buf_free(&text);
}

/* controller.quorum.voters ("1@host:port,..."): the ids and endpoints. */
static void parse_voters(struct admin *a, const char *voters) {
  for (const char *p = voters; p && *p && a->voter_count < VOTERS_MAX;) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    const char *at = memchr(p, '@', n);
    if (at) {
      a->voter_ids[a->voter_count] = atoi(p);
      snprintf(a->voter_endpoints[a->voter_count], sizeof a->voter_endpoints[0], "%.*s",
               (int)(n - (size_t)(at + 1 - p)), at + 1);
      a->voter_count++;
    }
    p = comma ? comma + 1 : NULL;
  }
}

/* ---- the requests ---- */

static int send(struct admin *a, int16_t api_key, int16_t min, int16_t max, const void *req) {
  return kadmin_request(a->c->conn, api_key, min, max, req, answered, a);
}

static int metadata(struct admin *a) {
  const struct scenario *sc = a->c->r->sc;
  struct metadata_request_metadata_request_topic topics[SCENARIO_TOPICS_MAX + CHURN_TOPICS + 2];
  struct metadata_request req;
  metadata_request_init(&req);
  req.topics = topics;
  int n = 0;
  if (a->op == OP_METADATA_ALL) {
    req.topics_count = -1; /* null: every topic */
  } else if (a->op == OP_METADATA_AUTO) {
    metadata_request_metadata_request_topic_init(&topics[n]);
    topics[n++].name = kstr_of(a->churn[AUTO_TOPIC].name);
    req.allow_auto_topic_creation = true;
  } else {
    for (int w = 0; w < sc->topic_count; w++) {
      metadata_request_metadata_request_topic_init(&topics[n]);
      if (a->workload_id_known[w] && draw(a, 0, 1)) { /* by id (v10+) */
        topics[n].name = (struct kstr){NULL, -1};
        topics[n++].topic_id = a->workload_ids[w];
      } else {
        topics[n++].name = kstr_of(sc->topics[w].name);
      }
    }
    for (int k = 0; k < AUTO_TOPIC; k++) {
      metadata_request_metadata_request_topic_init(&topics[n]);
      topics[n++].name = kstr_of(a->churn[k].name);
    }
    metadata_request_metadata_request_topic_init(&topics[n]);
    topics[n++].name = KSTR_LIT("not a topic!"); /* INVALID_TOPIC_EXCEPTION */
    req.allow_auto_topic_creation = false;
  }
  if (req.topics_count >= 0) req.topics_count = n;
  /* Mostly the newest; sometimes an old one (v1: a null list is every topic;
   * v3: before allow_auto_topic_creation, unknown topics are created). By id
   * needs v10. */
  int16_t max = 12;
  if (a->op != OP_METADATA_NAMED && draw(a, 0, 3) == 0) max = a->op == OP_METADATA_AUTO ? 3 : 1;
  return send(a, API_METADATA, 1, max, &req);
}

static int describe_configs(struct admin *a) {
  const struct scenario *sc = a->c->r->sc;
  struct describe_configs_request_describe_configs_resource res[SCENARIO_TOPICS_MAX + 3];
  struct kstr keys[] = {KSTR_LIT("compression.type"), KSTR_LIT("retention.ms"),
                        KSTR_LIT("segment.bytes"), KSTR_LIT("log.dirs"),
                        KSTR_LIT("num.partitions")};
  int n = 0;
  char self[16];
  snprintf(self, sizeof self, "%d", 1);
  for (int w = 0; w < sc->topic_count; w++) {
    res[n] = (struct describe_configs_request_describe_configs_resource){
        RESOURCE_TOPIC, kstr_of(sc->topics[w].name), NULL, -1};
    if (draw(a, 0, 2) == 0) { /* some keys only */
      res[n].configuration_keys = keys;
      res[n].configuration_keys_count = 3;
    }
    n++;
  }
  int k = (int)draw(a, 0, CHURN_TOPICS - 1); /* perhaps gone: UNKNOWN_TOPIC_OR_PARTITION */
  res[n++] = (struct describe_configs_request_describe_configs_resource){
      RESOURCE_TOPIC, kstr_of(a->churn[k].name), NULL, -1};
  res[n] = (struct describe_configs_request_describe_configs_resource){
      RESOURCE_BROKER, draw(a, 0, 3) ? kstr_of(self) : KSTR_LIT(""), NULL, -1};
  if (draw(a, 0, 2) == 0) {
    res[n].configuration_keys = keys + 2;
    res[n].configuration_keys_count = 3;
  }
  n++;
  if (draw(a, 0, 3) == 0) /* another broker's, or a kind this broker does not describe */
    res[n++] = (struct describe_configs_request_describe_configs_resource){
        (int8_t)(draw(a, 0, 1) ? RESOURCE_BROKER : 8), KSTR_LIT("7"), NULL, -1};
  struct describe_configs_request req;
  describe_configs_request_init(&req);
  req.resources = res;
  req.resources_count = n;
  req.include_synonyms = draw(a, 0, 1);
  req.include_documentation = draw(a, 0, 1); /* v3+: the types and documentation too */
  return send(a, API_DESCRIBE_CONFIGS, 0, draw(a, 0, 3) ? 4 : 0, &req);
}

static int describe_cluster(struct admin *a) {
  struct describe_cluster_request req;
  describe_cluster_request_init(&req);
  req.endpoint_type = (int8_t)(draw(a, 0, 4) ? 1 : 2); /* 2: controllers, refused here */
  return send(a, API_DESCRIBE_CLUSTER, 0, draw(a, 0, 3) ? 1 : 0, &req);
}

/* Latest, earliest, the max timestamp, or a time in the last half minute. */
static int list_offsets(struct admin *a) {
  const struct scenario *sc = a->c->r->sc;
  struct env *env = sim_node_env(a->c->node);
  int64_t kind = draw(a, 0, 3);
  int64_t ts = kind == 0   ? -1
               : kind == 1 ? -2
               : kind == 2 ? -3
                           : env->wall_ms(env) - draw(a, 0, 30000);
  struct list_offsets_request_list_offsets_partition parts[SCENARIO_PARTITIONS_MAX];
  struct list_offsets_request_list_offsets_topic topics[SCENARIO_TOPICS_MAX];
  int n = 0;
  for (int w = 0; w < sc->topic_count; w++) {
    list_offsets_request_list_offsets_topic_init(&topics[w]);
    topics[w].name = kstr_of(sc->topics[w].name);
    topics[w].partitions = &parts[n];
    for (int32_t p = 0; p < sc->topics[w].partitions; p++) {
      list_offsets_request_list_offsets_partition_init(&parts[n]);
      parts[n].partition_index = p;
      parts[n++].timestamp = ts;
      topics[w].partitions_count++;
    }
  }
  struct list_offsets_request req;
  list_offsets_request_init(&req);
  req.replica_id = -1;
  req.isolation_level = (int8_t)draw(a, 0, 1);
  req.topics = topics;
  req.topics_count = sc->topic_count;
  return send(a, API_LIST_OFFSETS, 1, ts == -3 ? 7 : draw(a, 0, 1) ? 7 : 1, &req);
}

/* Topic settings beyond the three drawn ones, each with Kafka's verdict
 * (its validators: ranges, lists, types; an unknown name is INVALID_CONFIG
 * too) or Sluice's deliberate refusal (topic_config.c: LogAppendTime,
 * tiered storage): valid false means INVALID_CONFIG. */
static const struct {
  const char *key, *value;
  bool valid;
} extras[] = {
    {"cleanup.policy", "delete", true},
    {"message.timestamp.type", "CreateTime", true},
    {"min.insync.replicas", "1", true},
    {"unclean.leader.election.enable", "false", true},
    {"max.message.bytes", "1048588", true},
    {"cleanup.policy", "compact", true}, /* the log cleaner (log/cleaner.h) */
    {"segment.bytes", "0", false},
    {"retention.ms", "soon", false},
    {"flush.messages", "yes", false},
    {"colour", "red", false},
    {"compression.gzip.level", "9", true},
    {"compression.gzip.level", "-1", true},
    {"compression.gzip.level", "0", false},
    {"compression.lz4.level", "17", true},
    {"compression.lz4.level", "18", false},
    {"compression.zstd.level", "-5", true},
    {"compression.zstd.level", "23", false},
    {"delete.retention.ms", "0", true},
    {"delete.retention.ms", "-1", false},
    {"file.delete.delay.ms", "1000", true},
    {"flush.messages", "0", false},
    {"flush.ms", "1000", true},
    {"follower.replication.throttled.replicas", "*", true},
    {"index.interval.bytes", "-1", false},
    {"leader.replication.throttled.replicas", "", true},
    {"local.retention.bytes", "-2", true},
    {"local.retention.bytes", "-3", false},
    {"local.retention.ms", "-2", true},
    {"max.compaction.lag.ms", "0", false},
    {"message.downconversion.enable", "maybe", false},
    {"message.downconversion.enable", "false", true},
    {"message.format.version", "3.0-IV1", true},
    {"message.timestamp.after.max.ms", "3600000", true},
    {"message.timestamp.before.max.ms", "-1", false},
    {"message.timestamp.difference.max.ms", "1000", true},
    {"message.timestamp.type", "LogAppendTime", false}, /* Sluice: CreateTime only */
    {"min.cleanable.dirty.ratio", "0.25", true},
    {"min.cleanable.dirty.ratio", "1.5", false},
    {"min.cleanable.dirty.ratio", "half", false},
    {"min.compaction.lag.ms", "0", true},
    {"min.insync.replicas", "0", false},
    {"preallocate", "true", true},
    {"remote.log.copy.disable", "false", true},
    {"remote.log.delete.on.disable", "false", true},
    {"remote.storage.enable", "true", false}, /* no tiered storage here */
    {"remote.storage.enable", "false", true},
    {"retention.bytes", "1048576", true},
    {"retention.bytes", "many", false},
    {"segment.index.bytes", "3", false},
    {"segment.index.bytes", "4096", true},
    {"segment.jitter.ms", "0", true},
    {"segment.ms", "0", false},
    {"segment.ms", "600000", true},
    {"cleanup.policy", "shred", false},
    {"compression.type", "brotli", false},
    {"unclean.leader.election.enable", "TRUE", true}, /* booleans: any case */
};

static int create_topics(struct admin *a) {
  static const char *const codecs[] = {"producer", "uncompressed", "gzip",
                                       "snappy",   "lz4",          "zstd"};
  struct churn *t = &a->churn[a->target];
  struct create_topics_request_creatable_topic_config cfg[CHURN_CONFIGS + EXTRA_CONFIGS_MAX];
  char segment[24], retention[24];
  snprintf(segment, sizeof segment, "%lld", (long long)draw(a, 16, 256) * 1024);
  snprintf(retention, sizeof retention, "%lld", (long long)draw(a, 1, 600) * 1000);
  const char *values[CHURN_CONFIGS] = {codecs[draw(a, 0, 5)], segment, retention};
  for (int i = 0; i < CHURN_CONFIGS; i++)
    cfg[i] = (struct create_topics_request_creatable_topic_config){
        kstr_of(churn_config_keys[i]), kstr_of(values[i])};
  struct create_topics_request_creatable_topic topics[2];
  create_topics_request_creatable_topic_init(&topics[0]);
  topics[0].name = kstr_of(t->name);
  topics[0].num_partitions = a->asked;
  topics[0].replication_factor = 1;
  topics[0].configs = cfg;
  topics[0].configs_count = (int32_t)draw(a, 0, CHURN_CONFIGS);
  a->sent_configs_count = topics[0].configs_count;
  for (int i = 0; i < topics[0].configs_count; i++)
    snprintf(a->sent_configs[i], sizeof a->sent_configs[i], "%s", values[i]);
  a->sent_invalid = false;
  a->sent_all_valid = true;
  int more = draw(a, 0, 2) == 0 ? (int)draw(a, 1, EXTRA_CONFIGS_MAX) : 0;
  for (int x = 0; x < more; x++) {
    int64_t e = draw(a, 0, (int64_t)ARRAY_LEN(extras) - 1);
    a->sent_invalid |= !extras[e].valid;
    a->sent_all_valid &= extras[e].valid;
    cfg[topics[0].configs_count++] = (struct create_topics_request_creatable_topic_config){
        kstr_of(extras[e].key), kstr_of(extras[e].value)};
  }
  /* A key given twice: which value counts is not judged. */
  for (int i = 0; i < topics[0].configs_count; i++)
    for (int j = 0; j < i; j++)
      if (cfg[i].name.len == cfg[j].name.len &&
          !memcmp(cfg[i].name.ptr, cfg[j].name.ptr, (size_t)cfg[i].name.len)) {
        a->sent_invalid = a->sent_all_valid = false;
        a->sent_configs_count = -1;
      }
  topics[1] = topics[0];
  struct create_topics_request req;
  create_topics_request_init(&req);
  req.topics = topics;
  req.topics_count = draw(a, 0, 9) ? 1 : 2; /* twice: INVALID_REQUEST for both */
  req.timeout_ms = ADMIN_TIMEOUT_MS;
  req.validate_only = a->validate_only;
  return send(a, API_CREATE_TOPICS, 2, 7, &req);
}

static int create_partitions(struct admin *a) {
  struct create_partitions_request_create_partitions_topic topic = {
      kstr_of(a->churn[a->target].name), a->asked, NULL, -1};
  struct create_partitions_request req;
  create_partitions_request_init(&req);
  req.topics = &topic;
  req.topics_count = 1;
  req.timeout_ms = ADMIN_TIMEOUT_MS;
  req.validate_only = a->validate_only;
  return send(a, API_CREATE_PARTITIONS, 0, 3, &req);
}

static int delete_topics(struct admin *a) {
  struct churn *t = &a->churn[a->target];
  struct delete_topics_request_delete_topic_state by[1];
  by[0] = (struct delete_topics_request_delete_topic_state){kstr_of(t->name), {{0}}};
  if (t->id_known && draw(a, 0, 2) == 0) /* by id (v6) */
    by[0] = (struct delete_topics_request_delete_topic_state){{NULL, -1}, t->id};
  struct kstr names[1] = {kstr_of(t->name)};
  struct delete_topics_request req;
  delete_topics_request_init(&req);
  req.topics = by;
  req.topics_count = 1;
  req.topic_names = names;
  req.topic_names_count = 1;
  req.timeout_ms = ADMIN_TIMEOUT_MS;
  return send(a, API_DELETE_TOPICS, 1, draw(a, 0, 1) ? 6 : 5, &req);
}

static int describe_quorum(struct admin *a) {
  const struct runner *r = a->c->r;
  quorum_query_start(&a->qq, &a->c->kc, sim_node_host(r->brokers[0].node), CONTROLLER_PORT,
                     quorum_answered, a);
  return 0;
}

/* ---- admin_ops: all: the requests ---- */

/* Broker settings (a broker's id, or "" for every broker: dynamic broker
 * configs), each with Kafka's verdict. */
static const struct {
  const char *key, *value;
  bool valid;
} broker_extras[] = {
    {"message.max.bytes", "1048588", true},
    {"log.retention.check.interval.ms", "300000", true},
    {"log.retention.check.interval.ms", "0", false},
    {"message.max.bytes", "lots", false},
    {"colour", "red", false},
};

enum { OP_SET = 0, OP_DELETE = 1, OP_APPEND = 2, OP_SUBTRACT = 3 }; /* KIP-339 */

/* The churn keys' entries: each given or not, an incremental one SET or
 * DELETE, the values drawn as CreateTopics draws them. */
static int churn_entries(struct admin *a, bool incremental,
                         struct incremental_alter_configs_request_alterable_config *cfg) {
  static const char *const codecs[] = {"producer", "uncompressed", "gzip",
                                       "snappy",   "lz4",          "zstd"};
  snprintf(a->alter_values[0], sizeof a->alter_values[0], "%s", codecs[draw(a, 0, 5)]);
  snprintf(a->alter_values[1], sizeof a->alter_values[1], "%lld",
           (long long)draw(a, 16, 256) * 1024);
  snprintf(a->alter_values[2], sizeof a->alter_values[2], "%lld",
           (long long)draw(a, 1, 600) * 1000);
  int n = 0;
  for (int i = 0; i < CHURN_CONFIGS; i++) {
    a->alter_given[i] = draw(a, 0, 1);
    a->alter_deleted[i] = a->alter_given[i] && incremental && draw(a, 0, 3) == 0;
    if (!a->alter_given[i]) continue;
    cfg[n++] = (struct incremental_alter_configs_request_alterable_config){
        kstr_of(churn_config_keys[i]), (int8_t)(a->alter_deleted[i] ? OP_DELETE : OP_SET),
        a->alter_deleted[i] ? KSTR_NULL : kstr_of(a->alter_values[i])};
  }
  return n;
}

/* Kafka refuses a key given twice (INVALID_REQUEST). */
static void
judge_duplicates(struct admin *a,
                 const struct incremental_alter_configs_request_alterable_config *cfg, int n) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < i; j++)
      if (cfg[i].name.len == cfg[j].name.len &&
          !memcmp(cfg[i].name.ptr, cfg[j].name.ptr, (size_t)cfg[i].name.len)) {
        a->sent_invalid = true;
        a->sent_all_valid = false;
      }
}

/* A churn topic's settings (or a broker's), sometimes with settings
 * Kafka refuses, sent as AlterConfigs or IncrementalAlterConfigs. */
static int alter_configs(struct admin *a, bool incremental) {
  struct incremental_alter_configs_request_alterable_config cfg[CHURN_CONFIGS + 2];
  a->alter_target = draw(a, 0, 3) == 0 ? -1 : (int)draw(a, 0, AUTO_TOPIC - 1);
  a->validate_only = draw(a, 0, 5) == 0;
  a->sent_invalid = false;
  a->sent_all_valid = true;
  int n = 0;
  if (a->alter_target >= 0) {
    n = churn_entries(a, incremental, cfg);
    if (draw(a, 0, 2) == 0) {
      int64_t e = draw(a, 0, (int64_t)ARRAY_LEN(extras) - 1);
      a->sent_invalid |= !extras[e].valid;
      a->sent_all_valid &= extras[e].valid;
      cfg[n++] = (struct incremental_alter_configs_request_alterable_config){
          kstr_of(extras[e].key), OP_SET, kstr_of(extras[e].value)};
    }
    if (incremental && draw(a, 0, 3) == 0) { /* a list's edit, or one on a number */
      bool list = draw(a, 0, 1);
      a->sent_invalid |= !list;
      a->sent_all_valid &= list;
      cfg[n++] = (struct incremental_alter_configs_request_alterable_config){
          list ? KSTR_LIT("cleanup.policy") : KSTR_LIT("flush.ms"),
          (int8_t)(draw(a, 0, 1) ? OP_APPEND : OP_SUBTRACT),
          list ? KSTR_LIT("compact") : KSTR_LIT("1")};
    }
  } else {
    int64_t e = draw(a, 0, (int64_t)ARRAY_LEN(broker_extras) - 1);
    a->sent_invalid = !broker_extras[e].valid;
    a->sent_all_valid = broker_extras[e].valid;
    cfg[n++] = (struct incremental_alter_configs_request_alterable_config){
        kstr_of(broker_extras[e].key), OP_SET, kstr_of(broker_extras[e].value)};
  }
  judge_duplicates(a, cfg, n);
  struct kstr name = a->alter_target >= 0 ? kstr_of(a->churn[a->alter_target].name)
                     : draw(a, 0, 1)      ? KSTR_LIT("1")
                                          : KSTR_LIT("");
  int8_t type = a->alter_target >= 0 ? RESOURCE_TOPIC : RESOURCE_BROKER;
  if (incremental) {
    struct incremental_alter_configs_request_alter_configs_resource res = {type, name, cfg, n};
    struct incremental_alter_configs_request req;
    incremental_alter_configs_request_init(&req);
    req.resources = &res;
    req.resources_count = 1;
    req.validate_only = a->validate_only;
    return send(a, API_INCREMENTAL_ALTER_CONFIGS, 0, 1, &req);
  }
  struct alter_configs_request_alterable_config legacy[CHURN_CONFIGS + 2];
  for (int i = 0; i < n; i++)
    legacy[i] = (struct alter_configs_request_alterable_config){cfg[i].name, cfg[i].value};
  struct alter_configs_request_alter_configs_resource res = {type, name, legacy, n};
  struct alter_configs_request req;
  alter_configs_request_init(&req);
  req.resources = &res;
  req.resources_count = 1;
  req.validate_only = a->validate_only;
  return send(a, API_ALTER_CONFIGS, 0, 2, &req);
}

/* Every group this node coordinates; sometimes only the Empty ones
 * (v4+, KIP-518) or only a type Sluice has none of (v5+, KIP-848). */
static int list_groups(struct admin *a) {
  struct kstr empty = KSTR_LIT("Empty"), consumer = KSTR_LIT("consumer");
  struct list_groups_request req;
  list_groups_request_init(&req);
  int16_t max = (int16_t)draw(a, 0, 5);
  a->list_empty_only = max >= 4 && draw(a, 0, 2) == 0;
  a->list_no_classic = max >= 5 && draw(a, 0, 3) == 0;
  if (a->list_empty_only) {
    req.states_filter = &empty;
    req.states_filter_count = 1;
  }
  if (a->list_no_classic) {
    req.types_filter = &consumer;
    req.types_filter_count = 1;
  }
  return send(a, API_LIST_GROUPS, 0, max, &req);
}

static int describe_groups(struct admin *a) {
  const struct scenario *sc = a->c->r->sc;
  struct kstr names[SCENARIO_GROUPS_MAX + 2];
  int n = 0;
  names[n++] = kstr_of(a->group);
  names[n++] = kstr_of(a->never_group);
  for (int g = 0; g < sc->group_count; g++) names[n++] = kstr_of(sc->groups[g].name);
  struct describe_groups_request req;
  describe_groups_request_init(&req);
  req.groups = names;
  req.groups_count = n;
  req.include_authorized_operations = draw(a, 0, 1);
  return send(a, API_DESCRIBE_GROUPS, 0, (int16_t)draw(a, 0, 5), &req);
}

/* The first partition of a workload topic drawn, and each other one by a
 * coin; what the request holds goes to sent_offsets. */
static int draw_partitions(struct admin *a, int32_t *parts) {
  const struct scenario *sc = a->c->r->sc;
  a->group_topic = (int)draw(a, 0, sc->topic_count - 1);
  const struct scenario_topic *t = &sc->topics[a->group_topic];
  int n = 0;
  for (int x = 0; x < SCENARIO_PARTITIONS_MAX; x++) a->sent_offsets[x] = OFFSET_NOT_SENT;
  for (int32_t p = 0; p < t->partitions; p++)
    if (p == 0 || draw(a, 0, 1)) parts[n++] = p;
  return n;
}

/* A simple commit (generation -1, no member: kafka-consumer-groups.sh
 * --reset-offsets does this) to the admin's own group. */
static int offset_commit(struct admin *a) {
  const struct scenario *sc = a->c->r->sc;
  int32_t chosen[SCENARIO_PARTITIONS_MAX];
  int n = draw_partitions(a, chosen);
  struct offset_commit_request_offset_commit_request_partition parts[SCENARIO_PARTITIONS_MAX];
  for (int i = 0; i < n; i++) {
    offset_commit_request_offset_commit_request_partition_init(&parts[i]);
    parts[i].partition_index = chosen[i];
    parts[i].committed_offset = draw(a, 0, 1000);
    parts[i].committed_metadata = KSTR_LIT("admin");
    int x = part_index(sc, kstr_of(sc->topics[a->group_topic].name), chosen[i]);
    a->sent_offsets[x] = parts[i].committed_offset;
  }
  struct offset_commit_request_offset_commit_request_topic topic;
  offset_commit_request_offset_commit_request_topic_init(&topic);
  topic.name = kstr_of(sc->topics[a->group_topic].name);
  topic.partitions = parts;
  topic.partitions_count = n;
  struct offset_commit_request req;
  offset_commit_request_init(&req);
  req.group_id = kstr_of(a->group);
  req.generation_id_or_member_epoch = -1;
  req.member_id = KSTR_LIT("");
  req.topics = &topic;
  req.topics_count = 1;
  return send(a, API_OFFSET_COMMIT, 2, (int16_t)draw(a, 2, 8), &req);
}

/* The group's offsets of a workload topic, or all of them (v2+: null). */
static int offset_fetch(struct admin *a) {
  const struct scenario *sc = a->c->r->sc;
  int32_t parts[SCENARIO_PARTITIONS_MAX];
  int n = draw_partitions(a, parts);
  int16_t max = (int16_t)draw(a, 1, 7);
  a->fetch_all = max >= 2 && draw(a, 0, 2) == 0;
  struct offset_fetch_request_offset_fetch_request_topic topic;
  offset_fetch_request_offset_fetch_request_topic_init(&topic);
  topic.name = kstr_of(sc->topics[a->group_topic].name);
  topic.partition_indexes = parts;
  topic.partition_indexes_count = n;
  struct offset_fetch_request req;
  offset_fetch_request_init(&req);
  req.group_id = kstr_of(a->group);
  req.topics = a->fetch_all ? NULL : &topic;
  req.topics_count = a->fetch_all ? -1 : 1;
  req.require_stable = draw(a, 0, 1);
  return send(a, API_OFFSET_FETCH, a->fetch_all ? 2 : 1, max, &req);
}

/* Some of the group's offsets of a workload topic (KIP-496), now and then
 * of a group nobody made. */
static int offset_delete(struct admin *a) {
  const struct scenario *sc = a->c->r->sc;
  int32_t chosen[SCENARIO_PARTITIONS_MAX];
  int n = draw_partitions(a, chosen);
  a->to_never = draw(a, 0, 4) == 0;
  struct offset_delete_request_offset_delete_request_partition parts[SCENARIO_PARTITIONS_MAX];
  for (int i = 0; i < n; i++) parts[i].partition_index = chosen[i];
  struct offset_delete_request_offset_delete_request_topic topic = {
      kstr_of(sc->topics[a->group_topic].name), parts, n};
  struct offset_delete_request req;
  offset_delete_request_init(&req);
  req.group_id = kstr_of(a->to_never ? a->never_group : a->group);
  req.topics = &topic;
  req.topics_count = 1;
  return send(a, API_OFFSET_DELETE, 0, 0, &req);
}

static int delete_groups(struct admin *a) {
  struct kstr names[2] = {kstr_of(a->group), kstr_of(a->never_group)};
  struct delete_groups_request req;
  delete_groups_request_init(&req);
  req.groups_names = names;
  req.groups_names_count = draw(a, 0, 2) == 0 ? 2 : 1;
  return send(a, API_DELETE_GROUPS, 0, (int16_t)draw(a, 0, 2), &req);
}

/* Where its groups are coordinated (v4+: several keys at once, KIP-699),
 * now and then for a transactional id, sometimes an empty one. */
static int find_coordinator(struct admin *a) {
  const struct scenario *sc = a->c->r->sc;
  struct kstr keys[SCENARIO_GROUPS_MAX + 1];
  int n = 0;
  keys[n++] = kstr_of(a->group);
  for (int g = 0; g < sc->group_count; g++) keys[n++] = kstr_of(sc->groups[g].name);
  a->find_transaction = draw(a, 0, 4) == 0;
  if (a->find_transaction) keys[0] = draw(a, 0, 1) ? KSTR_LIT("") : kstr_of(a->group);
  struct find_coordinator_request req;
  find_coordinator_request_init(&req);
  req.key_type = (int8_t)(a->find_transaction ? 1 : 0);
  int16_t max = (int16_t)draw(a, a->find_transaction ? 1 : 0, 4);
  a->find_key = keys[0];
  req.key = keys[0];
  req.coordinator_keys = keys;
  req.coordinator_keys_count = n;
  return send(a, API_FIND_COORDINATOR, a->find_transaction ? 1 : 0, max, &req);
}

/* A partition of the first workload topic (else of a churn topic), drawn. */
static struct kstr drawn_partition(struct admin *a, int32_t *partition) {
  const struct scenario *sc = a->c->r->sc;
  if (sc->topic_count == 0) {
    *partition = 0;
    return kstr_of(a->churn[0].name);
  }
  *partition = (int32_t)draw(a, 0, sc->topics[0].partitions - 1);
  return kstr_of(sc->topics[0].name);
}

/* A preferred leader election (KIP-460's type 0; never unclean, which
 * would be allowed to lose data) of one partition, through any broker (it
 * forwards to the active controller). */
static int elect_leaders(struct admin *a) {
  int32_t partition;
  struct elect_leaders_request_topic_partitions tp;
  elect_leaders_request_topic_partitions_init(&tp);
  tp.topic = drawn_partition(a, &partition);
  tp.partitions = &partition;
  tp.partitions_count = 1;
  struct elect_leaders_request req;
  elect_leaders_request_init(&req);
  req.election_type = 0;
  req.topic_partitions = &tp;
  req.topic_partitions_count = 1;
  req.timeout_ms = ADMIN_TIMEOUT_MS;
  return send(a, API_ELECT_LEADERS, 0, (int16_t)draw(a, 0, 2), &req);
}

static int list_reassignments(struct admin *a) {
  struct list_partition_reassignments_request req;
  list_partition_reassignments_request_init(&req);
  req.topics_count = -1; /* null: every reassignment in progress */
  req.timeout_ms = ADMIN_TIMEOUT_MS;
  return send(a, API_LIST_PARTITION_REASSIGNMENTS, 0, 0, &req);
}

/* KIP-455: cancel a partition's reassignment (replicas null; usually none
 * is in progress: NO_REASSIGNMENT_IN_PROGRESS), now and then with an empty
 * replica list (INVALID_REPLICA_ASSIGNMENT). A move itself is the
 * `reassign` fault's. */
static int alter_reassignments(struct admin *a) {
  struct alter_partition_reassignments_request_reassignable_partition rp;
  alter_partition_reassignments_request_reassignable_partition_init(&rp);
  struct alter_partition_reassignments_request_reassignable_topic topic;
  alter_partition_reassignments_request_reassignable_topic_init(&topic);
  topic.name = drawn_partition(a, &rp.partition_index);
  int32_t none[1] = {0};
  bool empty = draw(a, 0, 3) == 0;
  rp.replicas = empty ? none : NULL;
  rp.replicas_count = empty ? 0 : -1;
  topic.partitions = &rp;
  topic.partitions_count = 1;
  struct alter_partition_reassignments_request req;
  alter_partition_reassignments_request_init(&req);
  req.timeout_ms = ADMIN_TIMEOUT_MS;
  req.topics = &topic;
  req.topics_count = 1;
  return send(a, API_ALTER_PARTITION_REASSIGNMENTS, 0, 0, &req);
}

/* The requests of admin_ops: all. */
static int request_more(struct admin *a) {
  switch (a->op) {
  case OP_ALTER_CONFIGS:
    return alter_configs(a, false);
  case OP_INCREMENTAL_ALTER_CONFIGS:
    return alter_configs(a, true);
  case OP_LIST_GROUPS:
    return list_groups(a);
  case OP_DESCRIBE_GROUPS:
    return describe_groups(a);
  case OP_OFFSET_COMMIT:
    return offset_commit(a);
  case OP_OFFSET_FETCH:
    return offset_fetch(a);
  case OP_OFFSET_DELETE:
    return offset_delete(a);
  case OP_DELETE_GROUPS:
    return delete_groups(a);
  case OP_FIND_COORDINATOR:
    return find_coordinator(a);
  case OP_ELECT_LEADERS:
    return elect_leaders(a);
  case OP_LIST_REASSIGNMENTS:
    return list_reassignments(a);
  case OP_ALTER_REASSIGNMENTS:
    return alter_reassignments(a);
  default:
    UNREACHABLE();
  }
}

static void next_request(struct admin *a) {
  /* DescribeQuorum only where the node has a CONTROLLER listener (the
   * other scenarios draw exactly as before it existed). */
  int64_t base = a->voter_count > 0 ? OP_DESCRIBE_QUORUM : OP_DESCRIBE_QUORUM - 1;
  int64_t x = draw(a, 0, a->ops_all ? base + (OPS - 1 - OP_DESCRIBE_QUORUM) : base);
  a->op = x <= base ? (enum admin_op)x : (enum admin_op)(OP_DESCRIBE_QUORUM + (x - base));
  a->target = -1;
  a->validate_only = false;
  a->leader_at_send = a->c->r->quorum ? runner_raft_leader(a->c->r) : 0;
  if (a->op == OP_CREATE_TOPICS || a->op == OP_CREATE_PARTITIONS || a->op == OP_DELETE_TOPICS) {
    a->target = (int)draw(a, 0, a->op == OP_CREATE_TOPICS ? AUTO_TOPIC - 1 : CHURN_TOPICS - 1);
    a->validate_only = a->op != OP_DELETE_TOPICS && draw(a, 0, 5) == 0;
    int32_t now = a->churn[a->target].partitions;
    a->asked = a->op == OP_CREATE_TOPICS ? (int32_t)draw(a, 1, 3)
               : now > 0 && now < CHURN_PARTITIONS_MAX
                   ? now + 1
                   : (int32_t)draw(a, 1, CHURN_PARTITIONS_MAX);
  }
  int rc;
  switch (a->op) {
  case OP_METADATA_ALL:
  case OP_METADATA_NAMED:
  case OP_METADATA_AUTO:
    rc = metadata(a);
    break;
  case OP_DESCRIBE_CONFIGS:
    rc = describe_configs(a);
    break;
  case OP_DESCRIBE_CLUSTER:
    rc = describe_cluster(a);
    break;
  case OP_LIST_OFFSETS:
    rc = list_offsets(a);
    break;
  case OP_CREATE_TOPICS:
    rc = create_topics(a);
    break;
  case OP_CREATE_PARTITIONS:
    rc = create_partitions(a);
    break;
  case OP_DESCRIBE_QUORUM:
    rc = describe_quorum(a);
    break;
  case OP_DELETE_TOPICS:
    rc = delete_topics(a);
    break;
  default:
    rc = request_more(a);
    break;
  }
  if (rc == 0) {
    a->in_flight = true;
    a->requests++;
  }
}

/* ---- the client ---- */

struct admin *admin_create(struct client *c) {
  struct admin *a = calloc(1, sizeof *a);
  ASSERT(a != NULL);
  a->c = c;
  a->rng = sim_rng_fork_id(sim_world_rng(c->r->w), "client.admin", (uint64_t)c->number);
  a->interval_ns = (uint64_t)draw(a, 50, 500) * NS_PER_MS;
  for (int k = 0; k < CHURN_TOPICS; k++) {
    snprintf(a->churn[k].name, sizeof a->churn[k].name, "churn-%d-%d", c->number, k);
    a->churn[k].state = CHURN_ABSENT; /* a fresh disk */
    a->churn[k].partitions = -1;
  }
  a->quorum_epoch_seen = -1;
  a->quorum_hw_seen = -1;
  const struct scenario *sc = c->r->sc;
  a->ops_all = sc->admin_ops_all;
  snprintf(a->group, sizeof a->group, "admin-%d", c->number);
  snprintf(a->never_group, sizeof a->never_group, "never-%d", c->number);
  a->groups_judged = sc->nodes == 1;
  for (int i = 0; i < sc->fault_count; i++)
    if (sc->faults[i].action == FAULT_CLOCK_JUMP || sc->faults[i].action == FAULT_CLOCK_DRIFT)
      a->groups_judged = false; /* a jump may expire the offsets (KIP-211) */
  group_forget(a);
  if (a->groups_judged) { /* a fresh disk */
    a->group_state = CHURN_ABSENT;
    for (int i = 0; i < SCENARIO_PARTITIONS_MAX; i++) a->group_offsets[i] = OFFSET_NONE;
  }
  if (c->r->sc->nodes == 1) parse_voters(a, config_of(c->r->sc, "controller.quorum.voters"));
  return a;
}

void admin_tick(struct admin *a) {
  struct runner *r = a->c->r;
  if (a->in_flight || !r->producing || sim_now_ns(r->w) < a->next_ns) return;
  if (!kconn_connected(a->c->conn)) {
    kconn_connect(a->c->conn);
    return;
  }
  notice_restarts(a);
  next_request(a);
}

void admin_free(struct admin *a) { free(a); }
