/* A consumer group member of Kafka's classic protocol, driving a kconsumer:
 * FindCoordinator, JoinGroup (KIP-394: the MEMBER_ID_REQUIRED round trip),
 * SyncGroup with the range assignor run by the leader member, OffsetFetch
 * for the assigned partitions (the consumer then fetches from the committed
 * offsets, or auto_offset_reset where none), Heartbeat, OffsetCommit of the
 * consumer's positions every commit interval, LeaveGroup when stopped
 * cleanly. It uses connections of its own (a coordinator connection, as
 * Kafka's clients do), so a JoinGroup the coordinator holds does not stall
 * the consumer's Fetch.
 *
 * Eager rebalancing: the assignment is given up (the consumer stops
 * fetching) before each JoinGroup; a member told to rejoin by an answer
 * first commits its positions with the generation it had, as Java's
 * consumer auto-commits in onJoinPrepare (the coordinator accepts it while
 * that generation prepares the next, and refuses it once a newer one
 * formed: a paused member that missed a rebalance is a zombie whose
 * heartbeat and commit must be refused). When both are due the heartbeat
 * goes before the commit. NOT_COORDINATOR,
 * COORDINATOR_NOT_AVAILABLE or a lost connection send it back to
 * FindCoordinator, then on where it was (a stable member first reads its
 * commits back, listener.verified); COORDINATOR_LOAD_IN_PROGRESS
 * repeats the request after retry_backoff_ms (the coordinator is right);
 * REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION and UNKNOWN_MEMBER_ID (which
 * also forgets the member id) make it join again.
 *
 * One request in flight at a time; each has a deadline (the rebalance
 * timeout and a margin for JoinGroup, request_timeout_ms otherwise) after
 * which its connection is failed and the coordinator looked for again.
 * The subscription is given with each topic's partition count (the leader
 * assigns those), as every member of a simulated group reads the same
 * topics. */
#ifndef SLUICE_GROUP_MEMBER_H
#define SLUICE_GROUP_MEMBER_H

#include <stdbool.h>
#include <stdint.h>

#include "client/consumer.h"
#include "client/kclient.h"

enum {
  KGROUP_BOOTSTRAP_MAX = 16,
  KGROUP_TOPICS_MAX = CONSUMER_TOPICS_MAX,
  KGROUP_ASSIGNED_MAX = CONSUMER_PARTITIONS_MAX,
  KGROUP_MEMBERS_MAX = 64,
  KGROUP_ID_BYTES = 256,
};

struct kgroup_config {
  char group_id[KGROUP_ID_BYTES];
  char client_id[64];
  char instance_id[64];         /* group.instance.id (KIP-345); "": a dynamic member */
  int32_t session_timeout_ms;   /* session.timeout.ms */
  int32_t rebalance_timeout_ms; /* max.poll.interval.ms */
  int32_t heartbeat_interval_ms;
  int64_t commit_interval_ms; /* auto.commit.interval.ms */
  int64_t retry_backoff_ms;
  int64_t request_timeout_ms;
};

struct kgroup_listener {
  void *ctx;
  /* SyncGroup gave this member its partitions for generation. */
  void (*assigned)(void *ctx, int32_t generation, const char *member_id, int count,
                   const int8_t *topics, const int32_t *partitions);
  /* OffsetFetch answered for an assigned partition (offset -1: none
   * committed), for a request sent at sent_ns. */
  void (*fetched)(void *ctx, int topic, int32_t partition, int64_t offset, uint64_t sent_ns);
  /* After the coordinator was found again, the member read its committed
   * offsets back (consumer.committed()): offset -1 none; sent at sent_ns. */
  void (*verified)(void *ctx, int topic, int32_t partition, int64_t offset, uint64_t sent_ns);
  /* An OffsetCommit of offset was acknowledged. */
  void (*committed)(void *ctx, int32_t generation, int topic, int32_t partition,
                    int64_t offset);
  /* A Heartbeat, or an OffsetCommit of at least one partition, of this
   * generation, sent at sent_ns, was answered NONE. */
  void (*acknowledged)(void *ctx, const char *what, int32_t generation, uint64_t sent_ns);
  /* Something worth a trace line (errors, rejoins). */
  void (*note)(void *ctx, const char *what, int error);
};

enum kgroup_phase {
  KGROUP_IDLE,
  KGROUP_JOIN,
  KGROUP_SYNC,
  KGROUP_FETCH_OFFSETS,
  KGROUP_STABLE,
  KGROUP_LEAVING,
  KGROUP_STOPPED,
};

struct kgroup_endpoint {
  char host[128];
  uint16_t port;
};

struct kgroup {
  struct env *env;
  struct kconsumer *consumer;
  struct kclient kc; /* its own connections */
  struct kgroup_config cfg;
  struct kgroup_listener listener;
  struct kgroup_endpoint bootstrap[KGROUP_BOOTSTRAP_MAX];
  int bootstrap_count;
  uint32_t rotation;
  char topics[KGROUP_TOPICS_MAX][250];
  int32_t topic_partitions[KGROUP_TOPICS_MAX];
  int topic_count;
  enum kgroup_phase phase;
  bool coordinator_known;
  struct kgroup_endpoint coordinator;
  struct kconn *conn; /* the request in flight's */
  bool busy;
  int16_t version;
  uint64_t sent_ns, deadline_ns;
  uint64_t next_heartbeat_ns, next_commit_ns, not_before_ns;
  char member_id[KGROUP_ID_BYTES];
  int32_t generation;
  bool leader;
  /* The leader's: the members of this generation (their ids, sorted). */
  char (*members)[KGROUP_ID_BYTES];
  int member_count;
  /* This generation's assignment, and the offsets last committed. */
  int8_t assigned_topic[KGROUP_ASSIGNED_MAX];
  int32_t assigned_partition[KGROUP_ASSIGNED_MAX];
  int64_t committed[KGROUP_ASSIGNED_MAX];
  int assigned_count;
  void *commit_in_flight; /* what the OffsetCommit in flight carries */
  /* Rejoining: the positions are committed first, with the generation the
   * member had (Java's onJoinPrepare auto-commit). */
  bool join_commit_due;
  bool verify_due; /* the coordinator moved: read the commits back first */
  int32_t join_commit_generation;
  bool leave_committed; /* closing: the last commit went out */
  env_timer_id timer;
  uint64_t joins, commits, rebalances, coordinator_lookups, load_retries;
};

void kgroup_init(struct kgroup *g, struct env *env, struct net_dispatch *net,
                 struct kconsumer *consumer, const struct kgroup_config *cfg,
                 const struct kgroup_listener *l);
void kgroup_add_bootstrap(struct kgroup *g, const char *host, uint16_t port);
void kgroup_subscribe(struct kgroup *g, const char *topic, int32_t partitions);
void kgroup_start(struct kgroup *g);
/* A clean stop: the positions are committed, then LeaveGroup (KIP-345's
 * dynamic member leaves at once, no session timeout); done when phase is
 * KGROUP_STOPPED. */
void kgroup_close(struct kgroup *g);
/* The process dies: nothing more is sent, the connections close. */
void kgroup_crash(struct kgroup *g);
void kgroup_free(struct kgroup *g);

/* The range assignor (Kafka's RangeAssignor): for each topic, members in
 * member id order, partitions in order, the first (partitions % members)
 * members one more. Member m's share of a topic of n partitions: [*first,
 * *first + *count). */
void kgroup_range(int32_t partitions, int members, int m, int32_t *first, int32_t *count);

#endif
