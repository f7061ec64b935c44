/* A deterministic consumer over kconn in assign mode: long-polling Fetch
 * from chosen offsets, every record handed to the listener in offset order.
 * One Fetch carries every assigned partition of every topic, as real
 * clients do: a broker answers one request per connection at a time, so
 * separate long polls on one connection would wait behind each other.
 *
 * As librdkafka does, it asks Metadata for its topics first (their topic
 * ids: Fetch v13 names topics by id, used when the connection negotiated
 * it), again when a Fetch says a topic is unknown; a partition assigned at
 * KCONSUMER_OFFSET_RESET, or answered OFFSET_OUT_OF_RANGE, asks ListOffsets
 * for its position per auto_offset_reset (earliest: the log start; latest:
 * the high watermark) and is not fetched until it is answered. One request
 * at a time: Metadata, then ListOffsets, then Fetch.
 * Group membership drives it from outside (client/group_member.h). */
#ifndef SLUICE_CONSUMER_H
#define SLUICE_CONSUMER_H

#include <stdbool.h>
#include <stdint.h>

#include "client/kcluster.h"
#include "net/kconn.h"

enum {
  CONSUMER_PARTITIONS_MAX = 64,
  CONSUMER_TOPICS_MAX = 8,
  CONSUMER_SESSIONS_MAX = KCLUSTER_BROKERS_MAX,
};

/* An assignment's offset: ask the broker (auto_offset_reset). */
#define KCONSUMER_OFFSET_RESET INT64_MIN

/* Kafka's auto.offset.reset; NONE: an OFFSET_OUT_OF_RANGE partition goes on
 * from its offset unless the listener seeks (and a KCONSUMER_OFFSET_RESET
 * assignment starts from the earliest offset). */
enum kconsumer_reset { KCONSUMER_RESET_NONE, KCONSUMER_RESET_EARLIEST, KCONSUMER_RESET_LATEST };

struct kconsumer_config {
  int32_t max_wait_ms;
  int32_t max_bytes;
  int64_t retry_backoff_ms;
  enum kconsumer_reset auto_offset_reset;
};

struct kconsumer_listener {
  void *ctx;
  void (*polled)(void *ctx, const char *topic, int32_t partition, int64_t offset,
                 struct kbytes key, struct kbytes value);
  /* A partition error (e.g. OFFSET_OUT_OF_RANGE); fetching goes on after the
   * backoff from the same offset unless the listener seeks, or
   * auto_offset_reset moves it. */
  void (*error)(void *ctx, const char *topic, int32_t partition, int error);
  /* Optional: ListOffsets moved a partition to offset (its position now). */
  void (*reset)(void *ctx, const char *topic, int32_t partition, int64_t offset);
};

struct kconsumer;
/* One broker's requests, one after another (ListOffsets, then Fetch; unrouted
 * also Metadata first), each carrying the partitions that broker leads. */
struct kconsumer_session {
  struct kconsumer *c;
  int32_t broker_id;  /* -1: unrouted, the one connection */
  struct kconn *conn; /* the request in flight's */
  bool busy;
  int16_t version; /* the request in flight's */
  env_timer_id retry_timer;
};

struct kconsumer {
  struct env *env;
  struct kconn *conn;
  struct kconsumer_config cfg;
  struct kconsumer_listener listener;
  char topics[CONSUMER_TOPICS_MAX][250];
  int topic_count;
  int8_t topic_of[CONSUMER_PARTITIONS_MAX]; /* index into topics */
  int32_t partitions[CONSUMER_PARTITIONS_MAX];
  int64_t offsets[CONSUMER_PARTITIONS_MAX];         /* next offset to fetch */
  int64_t high_watermarks[CONSUMER_PARTITIONS_MAX]; /* the last Fetch gave; -1: none yet */
  int64_t log_starts[CONSUMER_PARTITIONS_MAX];      /* as last reported; -1: not yet */
  bool resetting[CONSUMER_PARTITIONS_MAX];          /* waits for ListOffsets: not fetched */
  int partition_count;
  struct kuuid topic_ids[CONSUMER_TOPICS_MAX]; /* from Metadata */
  bool metadata_known;                         /* every topic's id */
  /* Unrouted: sessions[0] on conn. Routed (kconsumer_route): one per leader. */
  struct kconsumer_session sessions[CONSUMER_SESSIONS_MAX];
  int session_count;
  struct kcluster *cluster;
  uint64_t leader_moves; /* routed: stale-leader answers that sent it to Metadata */
  bool stopped;
  uint64_t fetches;
  uint64_t metadata_requests, list_offsets_requests;
};

void kconsumer_init(struct kconsumer *c, struct env *env, struct kconn *conn,
                    const struct kconsumer_config *cfg, const struct kconsumer_listener *l);
/* Fetches each partition from its leader by k's metadata, one Fetch per
 * leader broker (conn given to kconsumer_init is then unused and may be
 * NULL); NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH and their kin, or a
 * lost connection, ask k for fresh metadata and the partition goes on from
 * its position on the leader k names then. Call before assigning. */
void kconsumer_route(struct kconsumer *c, struct kcluster *k);
/* Fetches topic's partition from offset on (again from offset, if it was
 * assigned already); KCONSUMER_OFFSET_RESET: from where ListOffsets says. */
void kconsumer_assign(struct kconsumer *c, const char *topic, int32_t partition,
                      int64_t offset);
void kconsumer_start(struct kconsumer *c);
/* Every partition is given up (a group rebalance): the requests in flight
 * are forgotten and nothing is fetched until assigned and started again. */
void kconsumer_unassign_all(struct kconsumer *c);
/* An assigned partition's position (the next offset it fetches); -1 if the
 * partition is not assigned, or waits for ListOffsets. */
int64_t kconsumer_position(const struct kconsumer *c, const char *topic, int32_t partition);
/* The log start offset the broker last reported for it (with data or with
 * an error such as OFFSET_OUT_OF_RANGE); -1 if none yet. */
int64_t kconsumer_log_start(const struct kconsumer *c, const char *topic, int32_t partition);
void kconsumer_stop(struct kconsumer *c);

#endif
