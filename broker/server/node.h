/* One Sluice node: the roles a server.properties asks for, tied together.
 * The world (os/ or sim/) creates it, starts it, delivers events to it, and
 * asks it to shut down. */
#ifndef SLUICE_NODE_H
#define SLUICE_NODE_H

#include "env.h"
#include "net/channel.h"
#include "raft/raft.h"
#include "server/config.h"

struct node;
struct meta_image;

/* Opens (and recovers) every partition log under log.dirs. Returns 0 or an
 * ENV_E* code; the reason is logged. `cfg` is copied. */
int node_create(struct env *env, const struct config *cfg, struct node **out);
/* Opens the listeners. */
int node_start(struct node *node);
/* Clean shutdown (SIGTERM): stop accepting, answer nothing new, flush and
 * fsync every segment, write the indexes and checkpoints; then `done`. */
void node_shutdown(struct node *node, void (*done)(void *ctx), void *ctx);
void node_destroy(struct node *node);
/* The metadata quorum on this node (KIP-595), for tests and status. */
struct node_quorum {
  bool configured; /* controller.quorum.voters is set: a voter or an observer */
  bool running;    /* started, not stopped or failed */
  enum raft_role role;
  int32_t epoch;
  int32_t leader_id;      /* -1: none known */
  int64_t high_watermark; /* entries below it are committed */
  int64_t end_offset;     /* the core's log */
  int64_t log_end_offset; /* __cluster_metadata-0 on disk */
  uint64_t requests_sent, responses_received, requests_served;
};
void node_quorum(const struct node *node, struct node_quorum *out);
/* For tests: the leader appends a metadata record value (at most
 * RAFT_PAYLOAD_MAX bytes) to the metadata log; its offset, or -1 (not the
 * leader, or its log is full). */
int64_t node_quorum_propose(struct node *node, const void *value, uint32_t size);
/* This node's channel to quorum voter `id` (controller.quorum.voters), or
 * NULL; for tests and status. */
const struct channel *node_quorum_channel(const struct node *node, int32_t id);
/* The node's current metadata image (read-only, for tests and the
 * simulator's checkers; valid until the node next runs). */
const struct meta_image *node_metadata_image(const struct node *node);
/* The end of the metadata log this node's loader has applied: the offset
 * after the last committed entry read into its image (0: none yet; -1: the
 * node runs no quorum). For the simulator's applied-prefix checker. */
int64_t node_metadata_applied_offset(const struct node *node);
/* The node's controller has no call waiting, forwarded or in flight. */
bool node_controller_idle(const struct node *node);
/* The port a listener got (after port 0 in listeners=). index 0 is the first. */
uint16_t node_listener_port(struct node *node, int index);

/* A partition's log offsets as the node holds them now (read-only, for
 * tests and the simulator's checkers); false if it has no such partition.
 * local_end: what this replica alone vouches for (partition_local_end: its
 * log end, or in fsync-before-ack mode what is on its disk). */
struct node_partition_offsets {
  int64_t log_start, log_end, high_watermark, local_end;
};
bool node_partition_offsets(struct node *node, const char *topic, int32_t partition,
                            struct node_partition_offsets *out);
/* local_end of partitions 0..count-1 of a topic (-1 where the node hosts
 * none): node_partition_offsets' local_end with one topic lookup, for a
 * checker that looks after every simulated event. */
void node_topic_local_ends(struct node *node, const char *topic, int64_t *out, int32_t count);
/* KIP-455 through this node's controller (as an AlterPartitionReassignments
 * reaching it would): false, and done never runs, when the node runs no
 * quorum controller. parts stay valid until done. */
struct meta_reassign;
struct meta_topic_result;
bool node_reassign(struct node *node, const struct meta_reassign *parts, int32_t count,
                   void (*done)(void *ctx, const struct meta_topic_result *results,
                                int32_t count),
                   void *ctx);
/* KIP-320, for the simulator's isr-fetch-epoch checker: whether this node
 * leads the partition and counted a follower's fetch that carried an older
 * leader epoch than its leadership's (which only a fenced fetch served by
 * mistake can do); then which follower and epochs. */
struct node_stale_fetch {
  int32_t replica_id, fetch_epoch, leader_epoch;
};
bool node_partition_stale_fetch(struct node *node, const char *topic, int32_t partition,
                                struct node_stale_fetch *out);
/* How many of the node's partition logs a failed flush took offline
 * (plog_offline): they stay so until the node restarts. */
int node_offline_logs(const struct node *node);
/* The node's metrics as Prometheus text (server/metrics.h), appended to
 * out (a struct buf, base/buf.h). */
struct buf;
void node_metrics_text(const struct node *node, struct buf *out);

#endif
