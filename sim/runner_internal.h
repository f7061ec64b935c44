/* The scenario runner's state, shared by runner.c (brokers, clients,
 * phases) and faults/timeline.c (the fault timeline). */
#ifndef SLUICE_SIM_RUNNER_INTERNAL_H
#define SLUICE_SIM_RUNNER_INTERNAL_H

#include "client/consumer.h"
#include "client/group_member.h"
#include "client/kclient.h"
#include "client/kcluster.h"
#include "client/producer.h"
#include "reports/report.h"
#include "sim/prng.h"
#include "sim/quorum_check.h"
#include "sim/runner.h"
#include "sim/world.h"

enum {
  TICK_MS = 10,
  BROKER_PORT = SIM_BROKER_PORT,
  CONTROLLER_PORT = SIM_CONTROLLER_PORT,
  CLIENT_ID_BASE = 100,
  QUORUM_WORKLOAD_ID = 99, /* the sim node that proposes to the Raft leader */
  QUORUM_PROPOSE_MS = 500,
  /* The core keeps 512 entries and the nodes take no snapshots yet: the
   * workload stops proposing past this end offset. */
  QUORUM_LOG_ENTRIES_MAX = 400,
  RUNNER_LEADER_CHANGES_MAX = 4096,
  CREATE_WAIT_MS = 10000, /* several nodes: topics wait this long at most for every broker */
};

struct client;
struct admin;
struct group_check;

struct broker {
  struct sim_node *node;
  struct node *proc; /* NULL while down */
  bool shutting_down;
  int16_t incarnation; /* processes started so far: the history's incarnation */
  /* The disk's power losses and whole-disk losses when a process last
   * started. A start after they changed, or one that finds a flipped bit in
   * a log, notes a cut for the stream (what the disk kept, sim/oracle.h;
   * node 0: none), recorded with the log end offset once the process is up. */
  uint64_t losses_seen, disks_lost_seen;
  struct history_cut cuts[HISTORY_STREAMS_MAX];
};

/* What a producer's or consumer's callback needs: its client and topic. */
struct topic_ctx {
  struct client *c;
  int topic;
};

struct runner {
  const struct scenario *sc;
  const struct run_options *opts;
  struct sim_world *w;
  struct sim_rng fault_rng;
  struct broker brokers[SCENARIO_NODES_MAX];
  struct client *clients[SCENARIO_CLIENTS_MAX + 1]; /* + the final reader */
  int client_count;
  /* Streams: topic t's partition p is history stream stream_base[t] + p. */
  int stream_base[SCENARIO_TOPICS_MAX];
  int stream_count;
  char labels[HISTORY_STREAMS_MAX][HISTORY_LABEL_BYTES];
  struct history hist;
  struct report_fault applied[SCENARIO_FAULTS_MAX + 1];
  int applied_count;
  uint64_t next_value;
  char *value; /* the value being sent: value_cap bytes */
  size_t value_cap;
  bool producing;
  uint64_t sent, acked, failed, polled;
  /* Several nodes: the KRaft quorum, judged by sim/quorum_check.h after
   * every event; the workload host proposes a record to whoever leads. */
  bool quorum;
  struct quorum_check *qc;
  /* Whether each node is cut off from a voter majority, as of the net's
   * cut_changes count cut_changes_seen (recomputed only when it moves,
   * not after every event). */
  bool cut_off_known;
  uint64_t cut_changes_seen;
  bool cut_off_now[SCENARIO_NODES_MAX];
  /* The after-event hook's last full look: the views it judged and the
   * world's outside count then (a client's event after it changed none). */
  struct quorum_view views_seen[SCENARIO_NODES_MAX];
  uint64_t outside_seen;
  struct replica_check *rc; /* runs with clients on a cluster */
  struct sim_node *workload;
  uint64_t proposals;
  /* Several nodes with clients: the broker each stream lives on, as an
   * image last said (its leader, else its first replica; -1: not known
   * yet), so an event names that broker's process incarnation; and the
   * node a leader(topic,p) target resolved to last (a restart after the
   * kill finds no leader). */
  int stream_host[HISTORY_STREAMS_MAX];
  /* Each stream's leader by the active controller's image (-2: not seen
   * yet), its changes (reports/report.h), the image offset last read. */
  int32_t stream_leader[HISTORY_STREAMS_MAX];
  struct report_leader leader_changes[RUNNER_LEADER_CHANGES_MAX];
  int leader_change_count;
  int64_t leaders_image_offset;
  struct sim_node *last_leader_target;
  struct sim_node *last_follower_target;
  uint32_t stream_replicas[HISTORY_STREAMS_MAX];
  /* bit i: broker i holds a replica */    /* what follower(t,p) named last */
  struct sim_node *last_controller_target; /* the node `controller`/`leader` named last */
  /* fenced-broker-excluded: fences committed, answers judged, violations */
  uint64_t fence_checks, fence_violations;
  int fenced_max;                                 /* the most brokers one image had fenced */
  int64_t fence_image_offset[SCENARIO_NODES_MAX]; /* the image last judged */
  /* per node, per broker id: the broker epoch it was last seen unfenced in */
  int64_t unfenced_epoch[SCENARIO_NODES_MAX][SCENARIO_NODES_MAX];
  char fence_first[256];
  /* topic-churn, the admin clients' checker (sim/runner_admin.c) */
  uint64_t admin_violations, admin_allowed;
  char admin_first[256];
  /* consumer groups (sim/runner_groups.c) */
  struct group_check *gc;                   /* NULL: no groups */
  struct sim_node *last_coordinator_target; /* what coordinator(group) named last */
  struct hostile *hostile;                  /* NULL: none (sim/hostile.h) */
};

struct client {
  struct runner *r;
  int number; /* 1-based: producers first, then consumers */
  bool is_producer;
  struct admin *admin; /* an admin client (after the consumers); NULL: not one */
  struct sim_node *node;
  struct net_dispatch net; /* the client host's network handler */
  struct kclient kc;
  /* Several nodes: the cluster's metadata (bootstrap: every broker), the
   * producers and consumer routed by it; conn (topic creation, admin
   * calls) moves to another broker when its own is lost. */
  bool routed;
  struct kcluster cluster;
  struct kconn *conn;
  struct topic_ctx topic_ctx[SCENARIO_TOPICS_MAX];
  struct kproducer producers[SCENARIO_TOPICS_MAX]; /* one per topic */
  struct kconsumer consumer;                       /* every partition of every topic */
  int topics_ready;                                /* created (or found) in order */
  bool create_in_flight;
  bool consuming;
  double send_credit;
  uint64_t next_stream; /* round robin over every partition of every topic */
  int16_t incarnation;  /* the broker process its connection reached */
  /* A group member (sim/runner_groups.c): its group's index (-1: assign
   * mode), its membership, and whether its process is down. */
  int group_index;
  struct kgroup *group;
  bool crashed;
};

__attribute__((format(printf, 2, 3))) void runner_trace(struct runner *r, const char *fmt, ...);
void broker_kill(struct runner *r, int index);
void broker_shutdown(struct runner *r, int index);
void broker_restart(struct runner *r, int index);
/* The node that leads the KRaft quorum now (the highest epoch's leader
 * among the processes up); -1: none. */
int runner_raft_leader(const struct runner *r);
/* A voter up that follows the leader, drawn with rng; -1: none. */
int runner_raft_follower(struct runner *r, struct sim_rng *rng);
/* Whether node index has the controller role (a voter). */
bool runner_is_controller(const struct runner *r, int index);
/* The node that leads topic's partition by the image of the active
 * controller (else any broker up); -1: none. */
int runner_partition_leader(const struct runner *r, const char *topic, int32_t partition);
/* An ISR member of the partition up that is not its leader, by the same
 * image: one that is not the active controller first, else the first in
 * ISR order; -1: none. */
int runner_partition_follower(const struct runner *r, const char *topic, int32_t partition);
/* The broker index of a node; -1 for a client host. */
int broker_index(const struct runner *r, const struct sim_node *n);
/* The admin workload (sim/runner_admin.c): one request at a time, every
 * so often, while the producers send; topic-churn judges the answers. */
struct admin *admin_create(struct client *c);
void admin_tick(struct admin *a);
void admin_free(struct admin *a);

/* A consumer moves to offset on topic number `topic`'s partition (the
 * fetch in flight is forgotten); a recorded seek. */
void client_seek(struct client *c, int topic, int32_t partition, int64_t offset);
/* A recorded seek of consumer c to offset on a stream (a group member's
 * committed offset). */
void runner_record_seek(struct client *c, int stream, int64_t offset);
/* An answered DeleteRecords: stream's records below offset may go. */
void runner_record_delete(struct client *c, int stream, int64_t offset);
/* sim/runner_delete_records.c: the action delete-records, to node index broker. */
void runner_delete_records(struct runner *r, const struct fault *f, int broker);

/* Consumer groups (sim/runner_groups.c). */
int runner_group_of(const struct runner *r, int number); /* client number's group; -1 */
void runner_group_start(struct client *c);
void runner_group_restart(struct client *c);
/* The broker index leading the group's __consumer_offsets partition; -1. */
int runner_group_coordinator(const struct runner *r, const char *group);
/* An ISR follower of that partition (runner_partition_follower); -1. */
int runner_group_coordinator_follower(const struct runner *r, const char *group);
struct sim_node *runner_consumer_node(struct runner *r, int n);
void runner_consumer_fault(struct runner *r, enum fault_action a, int n);
/* The reassign fault (sim/runner_reassign.c). */
void runner_reassign(struct runner *r, const char *topic, int32_t partition);
/* A bit flipped at rest on node n while its process runs: a log the
 * process has not opened yet (a KRaft node opens its logs once the
 * metadata log is replayed) will be recovered with the flip in it. */
void runner_note_flip(struct runner *r, struct sim_node *n);
void runner_groups_end_faults(struct runner *r);
void runner_groups_judge(struct runner *r, struct run_report *out);
void runner_groups_free(struct runner *r);

#endif
