/* The group coordinator in the node (group_coordinator.c): broker/group's
 * state machine fed with env's time, its waiting answers parked as
 * requests, and its state kept in the internal topic __consumer_offsets.
 *
 * The coordinator of a group is the leader of its partition of
 * __consumer_offsets (abs(hashCode(group)) % offsets.topic.num.partitions,
 * as Kafka places it). The topic is created through the controller the
 * first time a coordinator is looked for (offsets.topic.num.partitions,
 * offsets.topic.replication.factor lowered to the brokers there are,
 * cleanup.policy=compact); until it exists the answer is
 * COORDINATOR_NOT_AVAILABLE, and clients ask again. A partition is loaded
 * (its records replayed into the state machine) before its groups are
 * served, again whenever its leader epoch changes: asynchronously, a
 * bounded number of batches per turn of the event loop, its groups
 * answered COORDINATOR_LOAD_IN_PROGRESS meanwhile. */
#ifndef SLUICE_GROUP_COORDINATOR_H
#define SLUICE_GROUP_COORDINATOR_H

#include <stdbool.h>
#include <stdint.h>

#include "group/group.h"
#include "meta/controller.h"
#include "proto/wire.h"
#include "server/purgatory.h"

#define OFFSETS_TOPIC "__consumer_offsets"

struct node;
struct request;
struct partition;

/* A partition's load under way (group_coordinator.c). */
struct offsets_load {
  bool active;
  int32_t epoch;  /* the leader epoch it loads for */
  int64_t offset; /* the next to replay */
};

struct group_glue {
  struct group_coordinator gc;
  int32_t partition_count;
  int32_t *loaded_epoch;           /* [partition_count]: leader epoch loaded, -1: none */
  struct offsets_load *loads;      /* [partition_count] */
  uint64_t load_timer;             /* the next slice of the loads; 0: none */
  bool creating;                   /* the topic's creation is with the controller */
  struct meta_create_topic create; /* what it was asked */
  uint64_t env_timer;              /* the tick; 0: none */
  bool tick_fast;                  /* the timer runs at the busy period */
  struct node *node;
};

/* NONE when this node coordinates the group and its partition is loaded;
 * else COORDINATOR_NOT_AVAILABLE (no topic yet: creation starts),
 * NOT_COORDINATOR, or INVALID_GROUP_ID. */
int16_t groups_coordinate(struct node *node, struct kstr group_id);
struct group_coordinator *groups_state(struct node *node);
/* FindCoordinator's answer: the broker leading the group's partition (this
 * one, loading or not, or another as the metadata says), or
 * COORDINATOR_NOT_AVAILABLE / INVALID_GROUP_ID. */
int16_t groups_find(struct node *node, struct kstr group_id, int32_t *node_id,
                    struct kstr *host, int32_t *port);
/* Starts loading every partition this node leads and has not loaded
 * (ListGroups lists what is there, not only what was asked for since the
 * start): COORDINATOR_LOAD_IN_PROGRESS while any is loading. */
int16_t groups_load_all(struct node *node);
/* The node became the leader of this partition of __consumer_offsets: its
 * load starts now (in slices), before any client asks. */
void groups_leader_began(struct node *node, struct partition *p);
/* The leadership ended: a load under way stops and the partition's groups
 * are forgotten (waiting joins and syncs hear NOT_COORDINATOR), as Kafka's
 * coordinator unloads a partition it resigns. */
void groups_leader_ended(struct node *node, struct partition *p);
int64_t groups_now_ms(const struct node *node);
int64_t groups_wall_ms(const struct node *node);
/* After an operation: time may matter now (the tick speeds up). */
void groups_kick(struct node *node);
/* The request waits for the group (a join or sync): it is answered from the
 * state machine's callback; its connection closing takes it back. */
void groups_park(struct request *req, struct kstr group_id);
/* The request is being answered: no longer parked. */
void groups_unpark(struct request *req);

/* OffsetCommit's append: one batch of records (key, value; value len -1 a
 * tombstone) to the group's partition. done(ctx, error) once it is stored
 * (and fsynced when the topic flushes before acks): at once (*later false)
 * or later. */
typedef void (*groups_appended_fn)(void *ctx, int16_t error);
int16_t groups_append(struct node *node, struct kstr group_id, const struct kbytes *keys,
                      const struct kbytes *values, int32_t count, groups_appended_fn done,
                      void *ctx, bool *later);

/* The group's __consumer_offsets partition while this node leads it;
 * NULL otherwise. */
struct partition *groups_partition(struct node *node, struct kstr group_id);

bool groups_topic_internal(const char *name, int32_t len);

/* Waiting for the ISR of a group's __consumer_offsets partition to hold
 * what was appended up to `end` (Kafka stores commits and groups with
 * acks=-1): done(ctx, error) runs once, with KERR_NONE when the high
 * watermark reaches it, COORDINATOR_NOT_AVAILABLE when it does not within
 * offsets.commit.timeout.ms (5000) or the request goes, NOT_COORDINATOR when
 * this node no longer leads the partition; at once when no wait is needed
 * or possible. The owner's memory (the request's arena) holds it. */
enum { GROUPS_STORE_TIMEOUT_MS = 5000 };
typedef void (*groups_replicated_fn)(void *ctx, int16_t error);
struct groups_replication_wait {
  struct request *req;
  struct kstr group_id; /* lives as long as the request */
  int64_t end;
  groups_replicated_fn done;
  void *ctx;
  struct waiter waiter;
  struct watch watch;
};
void groups_await_replicated(struct groups_replication_wait *w, struct request *req,
                             struct kstr group_id, int64_t end, groups_replicated_fn done,
                             void *ctx);

/* The handlers' answers of waiting requests (api_join_group.c,
 * api_sync_group.c), called from the state machine. */
void join_group_answer(struct request *req, const struct group_join_result *r);
void sync_group_answer(struct request *req, int16_t error, const struct group *g,
                       struct kbytes assignment);

#endif
