/* The group coordinator of Kafka's classic protocol, as a pure state
 * machine: groups, their members and generations, and the committed
 * offsets cached from __consumer_offsets. No I/O: time comes in as
 * arguments (monotonic ms for sessions and rebalances, wall ms for what is
 * stored), randomness too, and answers that wait for a rebalance leave
 * through the io callbacks with the caller's token.
 *
 * States (Kafka's GroupState): Empty (no members; offsets may remain),
 * PreparingRebalance (the join phase: members rejoin until all have, or
 * the rebalance timeout), CompletingRebalance (joined; waiting for the
 * leader's SyncGroup with the assignment), Stable, Dead (removed).
 *
 * KIP-394: a JoinGroup v4+ without a member id is answered
 * MEMBER_ID_REQUIRED with a fresh id, which the member must bring back
 * within its session timeout. KIP-345: a static member (group.instance.id)
 * that rejoins takes its old place under a new member id, fencing the old
 * id (FENCED_INSTANCE_ID), without a rebalance when nothing changed.
 *
 * Bounds: GROUPS_MAX groups, GROUP_MEMBERS_MAX members (and
 * group.max.size), GROUP_OFFSETS_MAX committed offsets per group. */
#ifndef SLUICE_GROUP_H
#define SLUICE_GROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/wire.h"

enum {
  GROUP_ID_BYTES_MAX = 255,
  GROUP_NAME_BYTES_MAX = 255, /* member, instance, client ids, hosts, protocol names */
  GROUP_TOPIC_BYTES_MAX = 249,
  GROUPS_MAX = 4096,
  GROUP_MEMBERS_MAX = 1024,
  GROUP_PROTOCOLS_MAX = 16,
  GROUP_OFFSETS_MAX = 65536,
  GROUP_OFFSET_METADATA_BYTES_MAX = 4096, /* offset.metadata.max.bytes */
  GROUP_MEMBER_METADATA_BYTES_MAX = 1 << 20,
};

enum group_state {
  GROUP_EMPTY,
  GROUP_PREPARING_REBALANCE,
  GROUP_COMPLETING_REBALANCE,
  GROUP_STABLE,
  GROUP_DEAD,
};

struct group_config {
  int32_t session_timeout_min_ms;     /* group.min.session.timeout.ms: 6000 */
  int32_t session_timeout_max_ms;     /* group.max.session.timeout.ms: 1800000 */
  int32_t initial_rebalance_delay_ms; /* group.initial.rebalance.delay.ms: 3000 */
  int32_t size_max;                   /* group.max.size */
  int64_t offsets_retention_ms;       /* offsets.retention.minutes: 7 days */
  int32_t partition_count;            /* offsets.topic.num.partitions: 50 */
};

struct group_protocol {
  char name[GROUP_NAME_BYTES_MAX + 1];
  uint8_t *metadata; /* owned */
  int32_t metadata_len;
};

struct group_member {
  char id[GROUP_NAME_BYTES_MAX + 1];
  char instance_id[GROUP_NAME_BYTES_MAX + 1]; /* "": dynamic member */
  char client_id[GROUP_NAME_BYTES_MAX + 1];
  char client_host[GROUP_NAME_BYTES_MAX + 1];
  int32_t session_timeout_ms;
  int32_t rebalance_timeout_ms;
  struct group_protocol protocols[GROUP_PROTOCOLS_MAX];
  int32_t protocol_count;
  uint8_t *assignment; /* owned; NULL: none yet */
  int32_t assignment_len;
  int64_t heartbeat_deadline_ms;
  bool joined;      /* joined the current rebalance */
  void *join_token; /* its JoinGroup waits (NULL: none, or its connection went) */
  bool syncing;     /* waits for the leader's assignment */
  void *sync_token; /* its SyncGroup */
};

/* A member id handed out with MEMBER_ID_REQUIRED, not yet brought back. */
struct group_pending {
  char id[GROUP_NAME_BYTES_MAX + 1];
  int64_t deadline_ms;
};

struct group_offset {
  char topic[GROUP_TOPIC_BYTES_MAX + 1];
  int32_t partition;
  int64_t offset;
  int32_t leader_epoch; /* -1: unknown */
  char *metadata;       /* owned, never NULL */
  int64_t commit_wall_ms;
};

struct group {
  char id[GROUP_ID_BYTES_MAX + 1];
  int32_t partition; /* of __consumer_offsets */
  enum group_state state;
  int32_t generation;
  char protocol_type[GROUP_NAME_BYTES_MAX + 1]; /* "": none yet (simple commits) */
  char protocol_name[GROUP_NAME_BYTES_MAX + 1]; /* chosen at each generation */
  char leader_id[GROUP_NAME_BYTES_MAX + 1];
  struct group_member **members; /* in join order */
  int32_t member_count;
  struct group_pending *pending;
  int32_t pending_count;
  int64_t rebalance_deadline_ms; /* PreparingRebalance: the join phase ends */
  int64_t initial_delay_ms;      /* a new group's join phase waits until (0: no wait) */
  int64_t state_wall_ms;         /* Kafka's currentStateTimestamp */
  struct group_offset *offsets;  /* sorted by (topic, partition) */
  int32_t offset_count;
  int32_t offset_cap;
};

struct group_join_member {
  struct kstr member_id;
  struct kstr instance_id; /* len -1: null */
  struct kbytes metadata;
};

struct group_join_result {
  int16_t error;
  int32_t generation;
  struct kstr protocol_type;
  struct kstr protocol_name;
  struct kstr leader;
  struct kstr member_id;
  const struct group_join_member *members; /* the leader's only */
  int32_t member_count;
  bool skip_assignment; /* KIP-814: a static leader rejoining a stable group */
};

/* Answers that wait; each is called exactly once per token given, unless
 * group_cancel takes the token back first. Results live during the call. */
struct group_io {
  void (*join_done)(void *ctx, void *token, const struct group_join_result *r);
  void (*sync_done)(void *ctx, void *token, int16_t error, const struct group *g,
                    struct kbytes assignment);
  /* The group has a new generation's assignment (Stable) or became Empty:
   * its GroupMetadata record is due. */
  void (*group_changed)(void *ctx, const struct group *g);
  /* Retention ends these offsets (tombstones due), then maybe the group. */
  void (*offset_expired)(void *ctx, const struct group *g, const struct group_offset *o);
  void (*group_removed)(void *ctx, const struct group *g);
};

struct group_coordinator {
  struct group_config cfg;
  const struct group_io *io;
  void *io_ctx;
  struct group **groups; /* sorted by id */
  int32_t group_count;
  int32_t group_cap;
  int64_t expire_next_ms; /* the next offsets retention check */
};

struct group_protocol_arg {
  struct kstr name;
  struct kbytes metadata;
};

struct group_join_args {
  struct kstr group_id;
  struct kstr member_id;   /* "" for a new member */
  struct kstr instance_id; /* len <= 0: dynamic */
  struct kstr client_id;
  struct kstr client_host;
  struct kstr protocol_type;
  const struct group_protocol_arg *protocols;
  int32_t protocol_count;
  int32_t session_timeout_ms;
  int32_t rebalance_timeout_ms;
  bool require_known_member_id; /* JoinGroup v4+ (KIP-394) */
  uint64_t random[2];           /* for a new member id */
  void *token;
  int64_t now_ms;
  int64_t wall_ms;
};

struct group_sync_args {
  struct kstr group_id;
  struct kstr member_id;
  struct kstr instance_id;
  int32_t generation;
  struct kstr protocol_type; /* v5+; len < 0: not given */
  struct kstr protocol_name;
  const struct group_join_member *assignments; /* the leader's: metadata is the assignment */
  int32_t assignment_count;
  void *token;
  int64_t now_ms;
  int64_t wall_ms;
};

/* Who may commit: a member of the current generation, or anyone with
 * generation -1 in a group without members (simple commits). */
struct group_member_ref {
  struct kstr group_id;
  struct kstr member_id;
  struct kstr instance_id;
  int32_t generation;
  int64_t now_ms;
};

void group_coordinator_init(struct group_coordinator *gc, const struct group_config *cfg,
                            const struct group_io *io, void *io_ctx);
/* Frees everything; waiting tokens are dropped (their owners are gone). */
void group_coordinator_free(struct group_coordinator *gc);

/* Kafka's placement: abs(String.hashCode(group_id)) % partitions. */
int32_t group_partition_for(struct kstr group_id, int32_t partition_count);
const char *group_state_name(enum group_state s);

struct group *group_find(const struct group_coordinator *gc, struct kstr id);
void group_join(struct group_coordinator *gc, const struct group_join_args *a);
void group_sync(struct group_coordinator *gc, const struct group_sync_args *a);
int16_t group_heartbeat(struct group_coordinator *gc, const struct group_member_ref *ref);
/* One member leaves (member id, or instance id alone for KIP-345). */
int16_t group_leave(struct group_coordinator *gc, struct kstr group_id, struct kstr member_id,
                    struct kstr instance_id, int64_t now_ms, int64_t wall_ms);
/* The token's request is gone (its connection closed): no answer is due. */
void group_cancel(struct group_coordinator *gc, struct kstr group_id, void *token);
/* Session expiries, the end of join phases, offsets retention. */
void group_tick(struct group_coordinator *gc, int64_t now_ms, int64_t wall_ms);
/* True while something waits on the clock: a tick is worth scheduling. */
bool group_coordinator_busy(const struct group_coordinator *gc);

/* OffsetCommit: may this member commit? (refreshes its session) */
int16_t group_commit_check(struct group_coordinator *gc, const struct group_member_ref *ref);
/* A commit that is durable (or a record loaded): creates the group if new. */
int16_t group_offset_put(struct group_coordinator *gc, struct kstr group_id, struct kstr topic,
                         int32_t partition, int64_t offset, int32_t leader_epoch,
                         struct kstr metadata, int64_t commit_wall_ms);
const struct group_offset *group_offset_get(const struct group *g, struct kstr topic,
                                            int32_t partition);
bool group_offset_remove(struct group_coordinator *gc, struct group *g, struct kstr topic,
                         int32_t partition);
/* The consumer protocol's subscription of some member names the topic. */
bool group_subscribed_to(const struct group *g, struct kstr topic);
/* DeleteGroups: only an Empty group goes (NON_EMPTY_GROUP otherwise). */
int16_t group_delete(struct group_coordinator *gc, struct kstr group_id);

/* A member of a loaded GroupMetadata record: the protocol it was chosen
 * under carries its subscription. */
struct group_load_member {
  struct kstr member_id;
  struct kstr instance_id; /* len <= 0: dynamic */
  struct kstr client_id;
  struct kstr client_host;
  int32_t session_timeout_ms;
  int32_t rebalance_timeout_ms;
  struct kbytes subscription;
  struct kbytes assignment;
};

struct group_load {
  struct kstr group_id;
  struct kstr protocol_type;
  struct kstr protocol_name; /* len <= 0: none (an Empty group) */
  struct kstr leader;
  int32_t generation;
  int64_t state_wall_ms;
  const struct group_load_member *members;
  int32_t member_count;
  int64_t now_ms; /* the loaded members' sessions start afresh from here */
};

/* Loading __consumer_offsets: a group's latest GroupMetadata record comes
 * back as the group it describes: Empty without members, else Stable with
 * its members, generation, leader and assignments, each member's session
 * timer started afresh, so members that go on heartbeating to the new
 * coordinator keep their assignment without a rebalance (as Kafka's
 * GroupMetadataManager loads a group). A tombstone removes it. */
void group_load_metadata(struct group_coordinator *gc, const struct group_load *l);
void group_load_tombstone(struct group_coordinator *gc, struct kstr group_id);
/* Forget the groups of one partition of __consumer_offsets (it moved, or is
 * reloaded); waiting joins and syncs are answered NOT_COORDINATOR. */
void group_unload_partition(struct group_coordinator *gc, int32_t partition);

#endif
