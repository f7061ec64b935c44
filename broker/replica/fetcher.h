/* A replica fetcher: Kafka's ReplicaFetcherThread without a thread. One per
 * source broker (the leader of the partitions it copies), on a peer
 * channel to that broker's client listener. Every partition it follows
 * goes into one Fetch (v12+: ReplicaId, CurrentLeaderEpoch, LastFetchedEpoch,
 * FetchOffset = the follower's log end); the leader's long poll
 * (replica.fetch.wait.max.ms) paces it. One Fetch is in flight at a time
 * (an OffsetForLeaderEpoch may use the other of FETCHER_REQUESTS_MAX slots):
 * the leader answers a connection's requests in order, so a second Fetch
 * would wait behind the first's long poll. No Fetch leaves while a
 * partition's owner says it is settling (its fsync-before-fetch running):
 * sent without it, the Fetch would long-poll and hold it back.
 *
 * Before a partition's first Fetch in a leader epoch the fetcher reconciles
 * it with the leader (KIP-101, KIP-279): OffsetForLeaderEpoch for the
 * follower's latest epoch, and its owner truncates to what the leader holds.
 * The first request slot fetches in a session (KIP-227): a full Fetch
 * (epoch 0) opens it, then each incremental one names only the partitions
 * whose position changed or that joined, and lists those that left (a
 * partition reconciling, backing off or removed is forgotten, so the
 * leader never serves it from a stale position). The leader's answer
 * leaves out partitions with nothing new, so an idle follower costs a few
 * bytes. FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH or a
 * failed request start a new full session. The second slot fetches
 * sessionless (epoch -1).
 *
 * The fetcher knows nothing of the server's partitions: each partition has
 * an owner (an opaque pointer) that the ops below report to, and that says
 * what the partition does next. Part of broker/replica/, which uses base/,
 * proto/, log/ and net/, never server/. */
#ifndef SLUICE_REPLICA_FETCHER_H
#define SLUICE_REPLICA_FETCHER_H

#include <stdbool.h>
#include <stdint.h>

#include "net/channel.h"
#include "proto/wire.h"

enum {
  FETCHER_TOPIC_BYTES_MAX = 249,
  FETCHER_PARTITIONS_MAX = 65536, /* a node hosts fewer (META_PARTITIONS_MAX per topic) */
  FETCHER_VERSION_MIN = 12,       /* LastFetchedEpoch, DivergingEpoch (KIP-595's changes) */
  FETCHER_VERSION_MAX = 13,       /* topic ids */
  FETCHER_OFLE_VERSION_MIN = 3,   /* ReplicaId */
  FETCHER_OFLE_VERSION_MAX = 4,
  FETCHER_REQUESTS_MAX = 2, /* in flight at once (the channel's in_flight_max must allow it) */
  FETCHER_SESSION_SLOT = 1, /* the slot that fetches in a session (KIP-227) */
};

/* Where a follower's replica stands, read just before each request. */
struct fetcher_position {
  int64_t fetch_offset;       /* its log end offset */
  int32_t last_fetched_epoch; /* its latest leader epoch, -1 if none */
  int64_t log_start_offset;
};

/* One partition's part of a Fetch response. */
struct fetcher_partition_data {
  int16_t error_code;
  int64_t high_watermark;
  int64_t log_start_offset;
  int32_t diverging_epoch; /* -1: none */
  int64_t diverging_end_offset;
  const uint8_t *records; /* the leader's batches, as they are; valid during the call */
  size_t records_len;
};

/* What a partition does next, as its owner decides. */
enum fetcher_next {
  FETCHER_FETCH,          /* fetch again at once */
  FETCHER_TRUNCATE,       /* reconcile again (OffsetForLeaderEpoch) first */
  FETCHER_BACKOFF,        /* as before, after replica.fetch.backoff.ms */
  FETCHER_TRUNCATE_LATER, /* reconcile, after replica.fetch.backoff.ms */
};

struct fetcher_ops {
  /* The partition's position; false: not now (a flush in flight, or its log
   * went offline): the owner calls fetcher_wake when it may go on. */
  bool (*position)(void *owner, struct fetcher_position *out);
  /* Optional: the partition's "not now" ends by itself soon (a flush in
   * flight before its next Fetch). No Fetch is sent until it ends, as
   * Kafka's fetcher thread finishes processing an answer (appending and
   * flushing) before it asks again: a Fetch sent meanwhile without it
   * would long-poll and hold it back a whole replica.fetch.wait.max.ms. */
  bool (*settling)(void *owner);
  /* The leader's answer to OffsetForLeaderEpoch, or a DivergingEpoch:
   * `epoch` ended at end_offset on the leader (-1/-1: the leader does not
   * know it). */
  enum fetcher_next (*truncate)(void *owner, int16_t error_code, int32_t epoch,
                                int64_t end_offset);
  enum fetcher_next (*data)(void *owner, const struct fetcher_partition_data *d);
};

struct fetcher_config {
  int32_t replica_id;            /* this node's id */
  int32_t max_wait_ms;           /* replica.fetch.wait.max.ms: 500 */
  int32_t min_bytes;             /* replica.fetch.min.bytes: 1 */
  int32_t partition_max_bytes;   /* replica.fetch.max.bytes: 1 MiB */
  int32_t response_max_bytes;    /* replica.fetch.response.max.bytes: 10 MiB */
  int32_t backoff_ms;            /* replica.fetch.backoff.ms: 1000 */
  struct channel_config channel; /* request timeout: replica.socket.timeout.ms */
};

struct fetcher_stats {
  uint64_t fetches, epoch_requests; /* sent */
  uint64_t records_bytes;           /* handed to owners */
  uint64_t errors;                  /* partition errors and failed requests */
};

enum fetcher_state { FP_TRUNCATING, FP_FETCHING };

struct fetcher_entry {
  struct kuuid topic_id;
  char topic[FETCHER_TOPIC_BYTES_MAX + 1];
  int32_t topic_len; /* strlen(topic), kept: every lookup compares it */
  int32_t partition;
  int32_t leader_epoch; /* CurrentLeaderEpoch */
  void *owner;
  enum fetcher_state state;
  uint64_t delay_until_ns; /* 0: none */
  uint8_t in_request;      /* 0, or the slot (+ 1) of the request in flight it is part of */
  /* KIP-227: in the leader's session, at the position last sent there. */
  bool in_session;
  struct fetcher_position sent;
};

/* A partition that left the session, named in the next incremental Fetch. */
struct fetcher_forgotten {
  struct kuuid topic_id;
  char topic[FETCHER_TOPIC_BYTES_MAX + 1];
  int32_t partition;
};

/* The fetch session (KIP-227) of the first slot. */
struct fetcher_session {
  int32_t id;     /* 0: none yet */
  int32_t epoch;  /* the next request's; 0: a full one (re)opens the session */
  bool sent_full; /* the request in flight is a full one */
  struct fetcher_forgotten *forgotten;
  int32_t forgotten_count, forgotten_cap;
  uint64_t full_fetches, incremental_fetches, resets;
};

/* A request in flight: its callback's context. */
struct fetcher_slot {
  struct fetcher *f;
  uint8_t number; /* 1.. FETCHER_REQUESTS_MAX, as in fetcher_entry.in_request */
  bool busy;
  bool fetching; /* busy with a Fetch (else OffsetForLeaderEpoch) */
};

struct fetcher {
  struct env *env;
  int32_t leader_id;
  struct fetcher_config cfg;
  const struct fetcher_ops *ops;
  struct channel ch;
  struct fetcher_entry *entries; /* sorted by (topic, partition) */
  int32_t count, cap;
  struct fetcher_slot slots[FETCHER_REQUESTS_MAX]; /* Fetch or OffsetForLeaderEpoch */
  bool stopping;
  int dispatching; /* in an owner's callback: must not be destroyed */
  env_timer_id timer;
  struct fetcher_stats stats;
  struct fetcher_session session;
};

struct fetcher *fetcher_create(struct net_dispatch *net, int32_t leader_id, const char *host,
                               uint16_t port, const struct fetcher_config *cfg,
                               const struct fetcher_ops *ops);
/* Stops the channel (a request in flight is dropped) and frees. */
void fetcher_destroy(struct fetcher *f);
/* Starts following a partition in a leader epoch: it reconciles first. */
void fetcher_add(struct fetcher *f, struct kuuid topic_id, struct kstr topic, int32_t partition,
                 int32_t leader_epoch, void *owner);
void fetcher_remove(struct fetcher *f, struct kuuid topic_id, int32_t partition);
int32_t fetcher_count(const struct fetcher *f);
/* A partition whose position said "not now" may go on. */
void fetcher_wake(struct fetcher *f);

#endif
