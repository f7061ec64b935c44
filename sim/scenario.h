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
  SCENARIO_PARTITIONS_MAX = 64, /* over all topics */
  SCENARIO_CLIENTS_MAX = 16,
};

enum fault_action {
  FAULT_KILL,     /* power loss: unsynced data is lost */
  FAULT_SHUTDOWN, /* clean shutdown */
  FAULT_RESTART,
  FAULT_PAUSE, /* the process stops (SIGSTOP, a GC pause); its clock runs on */
  FAULT_RESUME,
  FAULT_PARTITION,         /* both ways: target from peer (no peer: from everyone) */
  FAULT_PARTITION_ONE_WAY, /* frames from target to peer (or everyone) are held */
  FAULT_BRIDGE,            /* target reaches both halves of the others; they not each other */
  FAULT_HEAL,              /* heal every partition and clog */
  FAULT_CLOG,              /* target <-> peer (or everyone) stall for `for` */
  FAULT_LATENCY_SPIKE,     /* + amount latency to and from target for `for` */
  FAULT_RESET,             /* reset target's connections (to peer, or all) */
  FAULT_CLOCK_JUMP,        /* wall clock jumps by amount (ms, signed) */
  FAULT_CLOCK_DRIFT,       /* clocks run at 1 + amount/10^6 the real rate */
  FAULT_DISK_FULL,         /* capacity = bytes used now */
  FAULT_DISK_FREE,         /* capacity unlimited again */
  FAULT_DISK_SLOW,         /* fsync latency x amount */
  FAULT_DISK_CORRUPT,      /* flip a bit at rest in the target's newest segment */
  FAULT_DISK_CORRUPT_READ, /* the next read of that spot returns a flipped bit */
  FAULT_DISK_EIO,          /* the next `amount` writes fail */
  FAULT_FSYNC_EIO,         /* the next `amount` fsyncs fail */
  FAULT_DISK_LOSS,         /* power loss and an empty disk (a replaced machine) */
  FAULT_ACTION_COUNT,
};

/* Targets resolve when the fault fires. */
enum fault_target_kind {
  TARGET_NONE,       /* heal; a missing peer: everyone */
  TARGET_NODE,       /* node N */
  TARGET_LEADER,     /* leader(topic,partition) */
  TARGET_CONTROLLER, /* the active controller */
  TARGET_RANDOM,     /* a node drawn from the seed */
  TARGET_CLIENT,     /* client N: a producer or consumer host */
};

struct fault_target {
  enum fault_target_kind kind;
  int32_t id;                      /* node or client number */
  char topic[SCENARIO_TEXT_BYTES]; /* leader(topic, partition) */
  int32_t partition;
};

struct fault {
  int64_t at_ms;
  enum fault_action action;
  struct fault_target target;
  struct fault_target peer;
  int64_t amount; /* ms, factor, count or ppm, per action */
  int64_t for_ms; /* clog, latency-spike */
  int line;
};

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
/* Writes the scenario as YAML that scenario_parse reads back to the same
 * struct (line numbers aside); returns the length it needed (>= cap: cut). */
size_t scenario_format(const struct scenario *s, char *out, size_t cap);
const char *fault_action_name(enum fault_action action);
/* "broker,controller", "broker", "controller": process.roles' values. */
const char *node_role_name(enum node_role role);
/* "node 2", "client 1", "leader(t,0)", "controller", "random", "everyone". */
void fault_target_text(const struct fault_target *t, char *out, size_t cap);
/* Whether an action acts on a broker process (kill, restart, disk...), so
 * its target must be a broker, not a client. */
bool fault_needs_broker(enum fault_action action);

#endif
