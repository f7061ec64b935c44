/* A scenario file (YAML, docs/scenarios.md): the cluster, the topics, the
 * workload, the fault timeline and what the checkers must find. A bad file
 * is refused with "file:line: what is wrong". */
#ifndef SLUICE_SIM_SCENARIO_H
#define SLUICE_SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
  SCENARIO_NODES_MAX = 9,
  SCENARIO_CONFIG_MAX = 32,
  SCENARIO_TOPICS_MAX = 8,
  SCENARIO_FAULTS_MAX = 256,
  SCENARIO_NAMES_MAX = 8,
  SCENARIO_TEXT_BYTES = 128,
};

enum fault_action {
  FAULT_KILL,     /* power loss: unsynced data is lost */
  FAULT_SHUTDOWN, /* clean shutdown */
  FAULT_RESTART,
  FAULT_PAUSE,
  FAULT_RESUME,
  FAULT_PARTITION,    /* isolate the target from every other node and client */
  FAULT_HEAL,         /* heal every partition */
  FAULT_CLOCK_JUMP,   /* wall clock jumps by `amount_ms` */
  FAULT_DISK_FULL,    /* capacity = bytes used now */
  FAULT_DISK_FREE,    /* capacity unlimited again */
  FAULT_DISK_SLOW,    /* fsync latency x amount */
  FAULT_DISK_CORRUPT, /* flip a bit in the target's newest segment */
  FAULT_DISK_EIO,     /* the next `amount` writes fail */
  FAULT_ACTION_COUNT,
};

/* Targets resolve when the fault fires. */
enum fault_target_kind {
  TARGET_NODE,       /* node N */
  TARGET_LEADER,     /* leader(topic,partition) */
  TARGET_CONTROLLER, /* the active controller */
  TARGET_RANDOM,     /* a node drawn from the seed */
  TARGET_CLIENT,     /* client N: a producer or consumer host */
  TARGET_NONE,       /* heal */
};

struct fault {
  int64_t at_ms;
  enum fault_action action;
  enum fault_target_kind target;
  int32_t target_id;               /* node or client number */
  char topic[SCENARIO_TEXT_BYTES]; /* leader(topic, partition) */
  int32_t partition;
  int64_t amount; /* ms, factor or count, per action */
  int line;
};

struct scenario_kv {
  char key[SCENARIO_TEXT_BYTES];
  char value[SCENARIO_TEXT_BYTES];
};

struct scenario_topic {
  char name[SCENARIO_TEXT_BYTES];
  int32_t partitions;
  int16_t replication_factor;
};

struct scenario {
  char name[SCENARIO_TEXT_BYTES];
  char description[1024];
  int64_t duration_ms; /* the safety phase, with faults */
  int64_t liveness_ms; /* faults healed, everything restarted: must converge */
  int32_t nodes;
  struct scenario_kv config[SCENARIO_CONFIG_MAX];
  int config_count;
  struct scenario_topic topics[SCENARIO_TOPICS_MAX];
  int topic_count;
  /* workload */
  int32_t producers;
  int16_t acks;
  int32_t rate_per_s; /* all producers together */
  int32_t value_bytes;
  int32_t consumers;
  /* faults */
  struct fault faults[SCENARIO_FAULTS_MAX];
  int fault_count;
  /* expectations */
  char must_pass[SCENARIO_NAMES_MAX][32];
  int must_pass_count;
  char allowed[SCENARIO_NAMES_MAX][32];
  int allowed_count;
  int64_t max_unavailability_ms; /* -1: no bound */
};

/* Parses the file; false with "file:line: reason" in err. */
bool scenario_load(const char *path, struct scenario *out, char *err, size_t err_cap);
/* Same, from text (path only names it in errors). */
bool scenario_parse(const char *path, const char *text, size_t len, struct scenario *out,
                    char *err, size_t err_cap);
const char *fault_action_name(enum fault_action action);

#endif
