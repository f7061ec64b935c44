/* The fault grammar: what a scenario's faults: section can say (the actions,
 * their targets, amounts and durations: docs/scenarios.md), how it is read
 * and checked (for sim/scenario.c's parser) and written back as YAML (swarm
 * scenarios are saved for replay). faults/timeline.c applies them. */
#ifndef SLUICE_FAULTS_GRAMMAR_H
#define SLUICE_FAULTS_GRAMMAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
  FAULT_TOPIC_BYTES = 128,
  /* Every scripted fault time gets a seeded delay in [0, jitter) so faults
   * do not land on the clients' 10 ms beat (scenario key jitter:). */
  FAULT_JITTER_DEFAULT_US = 3000,
  FAULT_JITTER_MAX_US = 100000,
  /* An event-triggered fault whose event does not come fires this long
   * after its time. */
  FAULT_WITHIN_DEFAULT_MS = 5000,
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
  FAULT_SEEK,              /* a consumer seeks back 1..amount records on one partition */
  /* KIP-455 through the active controller: the partition of target
   * leader(topic,p) moves its last follower to the next broker (by id,
   * cyclic) that holds no replica of it; the leader stays. */
  FAULT_REASSIGN,
  FAULT_DELETE_RECORDS,    /* DeleteRecords below amount (-1, "hw": the high watermark) to
                              leader(topic,p), from an admin client (KIP-107) */
  FAULT_ACTION_COUNT,
};

/* What an event-triggered fault (when:) waits for, on one broker. */
enum fault_event {
  FAULT_EVENT_NONE,             /* it fires at its time */
  FAULT_EVENT_DURING_FSYNC,     /* an fsync is issued: the fault fires at a seeded
                                   instant before it completes */
  FAULT_EVENT_AFTER_WRITE,      /* a write to a segment file (.log): right after it */
  FAULT_EVENT_DURING_FILE_SEND, /* a frame with file parts (a Fetch response's
                                   records) is sent: before it arrives */
  FAULT_EVENT_COUNT,
};

struct fault_when {
  enum fault_event event;
  int32_t node;      /* the broker watched; 0: the target (node 1 if it is a client) */
  int32_t nth;       /* the nth such event from the fault's time on (1: the first) */
  int64_t within_ms; /* none in this long: the fault fires then anyway */
  /* Only events on this topic's partition files (/logs/<topic>-N/...):
   * "" any. after-write on __consumer_offsets: right after an offset
   * commit's append, before its followers fetch it. */
  char topic[FAULT_TOPIC_BYTES];
};

/* A variant of an action (mode:). */
enum fault_mode {
  FAULT_MODE_NONE,
  FAULT_MODE_TORN_ZEROS,   /* kill: one kept unsynced sector per file reads as zeros */
  FAULT_MODE_TORN_GARBAGE, /* kill: ... as seeded garbage */
  FAULT_MODE_FORGET,       /* fsync-eio: the failed fsync forgets its dirty pages */
  FAULT_MODE_COUNT,
};

/* Targets resolve when the fault fires. */
enum fault_target_kind {
  TARGET_NONE,       /* heal; a missing peer: everyone */
  TARGET_NODE,       /* node N */
  TARGET_LEADER,     /* leader(topic,partition) */
  TARGET_CONTROLLER, /* the active controller */
  TARGET_RANDOM,     /* a node drawn from the seed */
  TARGET_CLIENT,     /* client N: a producer or consumer host */
  /* The KRaft quorum's roles, resolved when the fault fires (several
   * nodes; one node: node 1, and no follower). */
  TARGET_RAFT_LEADER, /* leader: the quorum's current leader (none: skipped) */
  TARGET_FOLLOWER,    /* follower: a voter up that is not the leader, drawn */
  TARGET_CONTROLLERS, /* controllers: every node with the controller role at once */
  /* follower(topic,partition): an ISR member of the partition that is not
   * its leader, one that is not the active controller first (cutting the
   * leader from it leaves the leader's way to the controller open) */
  TARGET_PARTITION_FOLLOWER,
  /* consumer N: the Nth consumer (1-based, the clients after the
   * producers) as a process: kill (it dies, no LeaveGroup: its group sees
   * the session time out), shutdown (LeaveGroup), restart (a new member). */
  TARGET_CONSUMER,
  /* coordinator(group): the broker leading the group's __consumer_offsets
   * partition now (topic holds the group id). */
  TARGET_COORDINATOR,
  /* coordinator-follower(group): an ISR follower of that partition, as
   * follower(topic,p) picks one. */
  TARGET_COORDINATOR_FOLLOWER,
};

struct fault_target {
  enum fault_target_kind kind;
  int32_t id;                    /* node or client number */
  char topic[FAULT_TOPIC_BYTES]; /* leader(topic, partition), follower(...) */
  int32_t partition;
};

struct fault {
  int64_t at_ms;
  enum fault_action action;
  struct fault_target target;
  struct fault_target peer;
  int64_t amount; /* ms, factor, count or ppm, per action */
  int64_t for_ms; /* clog, latency-spike */
  struct fault_when when;
  enum fault_mode mode;
  bool isolate; /* written `isolate`: a partition from everyone (no peer) */
  int line;
};

const char *fault_action_name(enum fault_action action);
const char *fault_event_name(enum fault_event event);
const char *fault_mode_name(enum fault_mode mode);
/* "node 2", "client 1", "leader(t,0)", "controller", "random", "leader",
 * "follower", "controllers", "everyone". */
void fault_target_text(const struct fault_target *t, char *out, size_t cap);
/* Whether an action acts on a broker process (kill, restart, disk...), so
 * its target must be a broker, not a client. */
bool fault_needs_broker(enum fault_action action);

struct fy_node;
struct scenario;
struct yaml_out;
struct yaml_parser;

/* The faults: list (a field reader of the scenario's top level): each
 * fault's keys, what its action needs, and time order. */
bool faults_parse(struct yaml_parser *p, struct scenario *s, struct fy_node *key,
                  struct fy_node *value);
/* The top-level jitter: key: 0 (faults fire exactly at their times), or a
 * bound like 500us or 3ms (at most 100ms). */
bool faults_jitter_parse(struct yaml_parser *p, struct scenario *s, struct fy_node *key,
                         struct fy_node *value);
/* Once the whole scenario is read: every target exists, a peer is not the
 * target, no fault comes after the end of the run. */
bool faults_validate(struct yaml_parser *p, const struct scenario *s);
/* The jitter: line, if it is not the default. */
void faults_jitter_write(struct yaml_out *o, const struct scenario *s);
/* One fault as an item of the faults: list. */
void fault_write(struct yaml_out *o, const struct fault *f);

#endif
