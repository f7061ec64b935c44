/* A scenario file (YAML, docs/scenarios.md): the cluster, the topics, the
 * workload, the fault timeline and what the checkers must find. A bad file
 * is refused with "file:line: what is wrong". The faults: section's grammar
 * is faults/grammar.h. */
#ifndef SLUICE_SIM_SCENARIO_H
#define SLUICE_SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faults/grammar.h"
#include "sim/history.h"

enum {
  SCENARIO_NODES_MAX = 9,
  SCENARIO_CONFIG_MAX = 32,
  SCENARIO_TOPICS_MAX = 8,
  SCENARIO_FAULTS_MAX = 256,
  SCENARIO_NAMES_MAX = 16,
  SCENARIO_TEXT_BYTES = 128,
  SCENARIO_PARTITIONS_MAX = 64, /* over all topics */
  SCENARIO_CLIENTS_MAX = 16,
  SCENARIO_TOPIC_CONFIG_MAX = 4,
  SCENARIO_CODECS_MAX = 8,
  SCENARIO_GROUPS_MAX = 4,
};

/* The consumers' auto.offset.reset. */
enum scenario_reset { RESET_EARLIEST, RESET_LATEST };

/* leader(topic,p) names any topic. */
_Static_assert((int)FAULT_TOPIC_BYTES == (int)SCENARIO_TEXT_BYTES,
               "a fault target holds a topic name");

/* KRaft's process.roles per node. */
enum node_role { ROLE_COMBINED, ROLE_BROKER, ROLE_CONTROLLER, ROLE_COUNT };

struct scenario_kv {
  char key[SCENARIO_TEXT_BYTES];
  char value[SCENARIO_TEXT_BYTES];
};

struct scenario_topic {
  char name[SCENARIO_TEXT_BYTES];
  int32_t partitions;
  int16_t replication_factor;
  /* retention_deletes: true: the broker's retention may delete this topic's
   * oldest segments during the run, so values below the log start offset
   * the final read finds are gone by design, not lost. */
  bool retention_deletes;
  /* Topic-level configs (compression.type, segment.bytes, ...), sent with
   * the CreateTopics that makes it. */
  struct scenario_kv config[SCENARIO_TOPIC_CONFIG_MAX];
  int config_count;
};

/* A consumer group: its members are consumers (client/group_member.h). */
struct scenario_group {
  char name[SCENARIO_TEXT_BYTES];
  int32_t members;
};

struct scenario {
  char name[SCENARIO_TEXT_BYTES];
  char description[1024];
  int64_t duration_ms; /* the safety phase, with faults */
  int64_t liveness_ms; /* faults healed, everything restarted: must converge */
  int32_t nodes;
  enum node_role roles[SCENARIO_NODES_MAX]; /* default: every node combined */
  int roles_listed;                         /* 0: one role for every node */
  struct scenario_kv config[SCENARIO_CONFIG_MAX];
  int config_count;
  struct scenario_topic topics[SCENARIO_TOPICS_MAX];
  int topic_count;
  /* workload */
  int32_t producers;
  int16_t acks;
  int32_t rate_per_s; /* all producers together */
  int32_t value_bytes;
  /* keys: value id v is sent with key "k<v % keys>" (a compacted topic's
   * workload: the compaction checker); 0: no key. */
  int32_t keys;
  /* deletes: with keys, each key lives for this many rounds of `keys`
   * values and its last record is a tombstone (a null value); then fresh
   * keys follow (sim/history.h). 0: no tombstones. */
  int32_t deletes;
  int32_t consumers;
  /* Producers are idempotent (KIP-98) unless `idempotence: false`; acks=0
   * producers never are (Kafka's clients refuse it). */
  bool idempotence_off;
  enum scenario_reset auto_offset_reset; /* the consumers' (the final reader: earliest) */
  /* compression: producer i sends with codecs[i % codec_count] (enum
   * rb_codec values); none when codec_count is 0. */
  int8_t codecs[SCENARIO_CODECS_MAX];
  int codec_count;
  /* Admin clients (after the consumers): Metadata, DescribeConfigs,
   * DescribeCluster, ListOffsets, and topic churn (sim/runner_admin.c). */
  int32_t admins;
  /* admin_ops: all: they also alter configs and administer groups. */
  bool admin_ops_all;
  /* Consumer groups (`group: name`, or `groups: [{name: g1, members: 3}]`):
   * the first groups[0].members consumers are members of groups[0], the
   * next of groups[1]...; consumers past them read in assign mode. */
  struct scenario_group groups[SCENARIO_GROUPS_MAX];
  int group_count;
  bool consumers_listed;      /* workload: consumers: was given */
  int64_t commit_interval_ms; /* auto.commit.interval.ms of the members */
  int32_t session_timeout_ms; /* session.timeout.ms of the members */
  /* Hostile clients next to the workload (`hostile: [slow-reader, ...]`,
   * sim/hostile.h): bits of enum hostile_kind; and the bystander's bound
   * (`bystander_wait: 100ms`; 0: no bystander, no bystander-wait). */
  uint32_t hostile;
  int64_t bystander_wait_ms;
  bool static_members;        /* group.instance.id per member (KIP-345) */
  /* faults */
  struct fault faults[SCENARIO_FAULTS_MAX];
  int fault_count;
  int64_t fault_jitter_us; /* jitter: each scripted fault time + [0, this) */
  /* expectations */
  char must_pass[SCENARIO_NAMES_MAX][32];
  int must_pass_count;
  /* expect: allow: {checker: allowance or [allowances]}: per checker (enum
   * history_checker), what the configuration permits (bits of enum
   * history_allowance); outside it every anomaly fails the run. */
  uint32_t allow[CHECKERS_MAX];
  /* The old list form, `allow: [checker, ...]`, kept for one transition
   * (swarm drawing still fills it): each checker named here takes every
   * allowance it can (scenario_allowance), bounded all the same. */
  char allowed[SCENARIO_NAMES_MAX][32];
  int allowed_count;
  int64_t max_unavailability_ms; /* -1: no bound */
  /* Several nodes: from this time of the safety phase to its end the
   * quorum's leader keeps its epoch (leader-stable); -1: not asked. */
  int64_t leader_stable_after_ms;
};

/* Parses the file; false with "file:line: reason" in err. */
bool scenario_load(const char *path, struct scenario *out, char *err, size_t err_cap);
/* Same, from text (path only names it in errors). */
bool scenario_parse(const char *path, const char *text, size_t len, struct scenario *out,
                    char *err, size_t err_cap);
/* Writes the scenario as YAML that scenario_parse reads back to the same
 * struct (line numbers aside); returns the length it needed (>= cap: cut). */
size_t scenario_format(const struct scenario *s, char *out, size_t cap);
/* "broker,controller", "broker", "controller": process.roles' values. */
const char *node_role_name(enum node_role role);
/* The topic of that name; NULL if the scenario has none. */
const struct scenario_topic *scenario_topic(const struct scenario *s, const char *name);
/* What a checker may find without failing the run: the allowances the
 * scenario grants it (bits of enum history_allowance), the old list form
 * included. */
/* The group of that name; NULL if none. */
const struct scenario_group *scenario_group(const struct scenario *s, const char *name);
/* The consumers that are group members (the first ones). */
int32_t scenario_group_members(const struct scenario *s);
uint32_t scenario_allowance(const struct scenario *s, enum history_checker checker);

#endif
