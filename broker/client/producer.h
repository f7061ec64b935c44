/* A deterministic Kafka producer over kconn: records are queued per
 * partition, sent as record batches (magic 2) with one request in flight per
 * partition (so order is kept), retried with backoff on retriable errors and
 * lost connections, and reported one by one: acked with its offset, or
 * failed with the error that ended it. Every record carries the caller's id
 * so a history can trace it.
 *
 * Idempotent by default (KIP-98), as current clients are, whenever acks is
 * not 0: it asks InitProducerId for a producer id first, stamps each batch
 * with the id, the epoch and the base sequence of its first record
 * (sequences count records per partition), and a retry resends the very
 * same batch (the same records, the same sequence), so a broker that stored
 * it already answers with the offset it got then instead of storing it
 * twice. A batch the broker refuses for its sequence or epoch
 * (OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID: it lost what came
 * before; INVALID_PRODUCER_EPOCH, PRODUCER_FENCED) was not stored: as
 * librdkafka does, the producer stops starting batches, lets every batch
 * whose outcome it does not know yet finish under the old epoch (drain),
 * then takes a new epoch (KIP-360: InitProducerId with its id and epoch; a
 * new id after an epoch error) and starts every partition's sequence over
 * at 0, the refused batches first. */
#ifndef SLUICE_PRODUCER_H
#define SLUICE_PRODUCER_H

#include <stdint.h>

#include "client/kcluster.h"
#include "net/kconn.h"
#include "proto/batch_format.h"

enum { PRODUCER_PARTITIONS_MAX = 64, PRODUCER_QUEUE_MAX = 65536, PRODUCER_QUEUE_MIN = 64 };

struct kproducer_config {
  char topic[250];
  int32_t partition_count;
  int16_t acks;              /* 0, 1, -1 */
  int32_t batch_records_max; /* records per batch */
  int32_t retries_max;
  int64_t retry_backoff_ms;
  int32_t timeout_ms; /* the request's timeout_ms */
  enum rb_codec codec;
  bool idempotence_off; /* a producer without idempotence (the default has it) */
  /* Routed (kproducer_route): a request unanswered this long fails its
   * connection, as request.timeout.ms does; 0: timeout_ms + 5 s. */
  int32_t request_timeout_ms;
};

struct kproducer_listener {
  void *ctx;
  void (*acked)(void *ctx, uint64_t id, int32_t partition, int64_t offset);
  void (*failed)(void *ctx, uint64_t id, int32_t partition, int error);
  /* Optional: a record went out again, in its attempt'th request (2, 3...),
   * so a broker may store it more than once unless the producer is
   * idempotent. */
  void (*retried)(void *ctx, uint64_t id, int32_t partition, int32_t attempt);
};

struct kproducer_record {
  uint64_t id;
  int64_t timestamp_ms;
  uint8_t *key; /* owned copies */
  int32_t key_len;
  uint8_t *value;
  int32_t value_len;
  int32_t attempts;
};

struct kproducer;
struct kproducer_call { /* what a response or a retry timer comes back to */
  struct kproducer *p;
  int32_t partition;
};

/* A Produce request in flight: the partitions that went out in it, every
 * one with a batch ready whose leader is the same broker. Kept in the
 * first one's slot (a partition has one batch in flight at most). */
struct kproducer_request {
  struct kproducer *p;
  int32_t count;
  int32_t partitions[PRODUCER_PARTITIONS_MAX];
};

struct kproducer_partition {
  struct kproducer_call call;
  struct kproducer_request request; /* when its batch leads one in flight */
  /* A ring of queue_cap records (a power of two), doubled as it fills up
   * to PRODUCER_QUEUE_MAX: a partition rarely holds more than a few. */
  struct kproducer_record *queue;
  int queue_cap;
  int head;
  int count;
  int in_flight; /* records of the batch in flight (the first ones queued) */
  env_timer_id retry_timer;
  /* The batch being sent: its first batch_count records, kept as they are
   * across its retries; 0 when none is. */
  int batch_count;
  int32_t batch_sequence; /* idempotent: its base sequence and epoch */
  int16_t batch_epoch;
  bool batch_refused;    /* refused for its sequence or epoch: not stored */
  int32_t next_sequence; /* the base sequence of the next new batch */
  /* Routed: the connection the batch in flight went out on (its leader's),
   * and the timer that fails it if no answer comes. */
  struct kconn *sent_on;
  env_timer_id timeout_timer;
};

/* Where the idempotent producer stands with its producer id. */
enum kproducer_pid_state {
  KPRODUCER_PID_NONE,     /* not asked yet, or asking: nothing is sent */
  KPRODUCER_PID_READY,    /* batches go out */
  KPRODUCER_PID_DRAINING, /* a batch was refused: only unknown outcomes resent */
};

struct kproducer {
  struct env *env;
  struct kconn *conn;       /* unrouted: every request goes here */
  struct kcluster *cluster; /* routed: each partition to its leader */
  struct kconn *pid_conn;   /* routed: where InitProducerId went */
  bool pid_rotate;          /* routed: the last InitProducerId failed: ask another broker */
  uint64_t leader_moves;    /* routed: batches retried after a stale-leader answer */
  struct kproducer_config cfg;
  struct kproducer_listener listener;
  struct kproducer_partition partitions[PRODUCER_PARTITIONS_MAX];
  uint64_t requests_sent;
  /* Records queued wait for the end of the event that queued them, so
   * those handed over together go together (linger.ms 0); a pump asked
   * for while one runs waits the same way. */
  env_timer_id linger_timer;
  bool pumping;
  /* Idempotence (KIP-98): the id, its epoch and how to get the next. */
  bool idempotent;
  enum kproducer_pid_state pid_state;
  int64_t producer_id; /* -1 until InitProducerId answers */
  int16_t producer_epoch;
  bool pid_asking;        /* an InitProducerId in flight */
  bool pid_new_id;        /* the next one asks for a new id, not a bump */
  env_timer_id pid_timer; /* its retry after retry_backoff_ms */
  struct kproducer_call pid_call;
  uint64_t epochs_taken; /* InitProducerId answers: the first id, then bumps */
  /* The buffers batches are built in (a builder's records, a Produce's
   * batches), kept for the next request: a malloc, growth and free fewer
   * per batch. */
  struct buf build_records;
  struct buf build_batches[PRODUCER_PARTITIONS_MAX];
};

void kproducer_init(struct kproducer *p, struct env *env, struct kconn *conn,
                    const struct kproducer_config *cfg, const struct kproducer_listener *l);
void kproducer_free(struct kproducer *p);
/* Routes every partition's batches to its leader by k's metadata (conn
 * given to kproducer_init is then unused and may be NULL): a batch answered
 * NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE,
 * FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH, a lost connection or a
 * request timeout asks k for fresh metadata and is retried, after
 * retry_backoff_ms, on the leader it names then. Idempotence keeps each
 * partition's sequence across the move (the new leader has the producer's
 * state from its log), as librdkafka does. InitProducerId goes to any
 * broker, another one after a failure. Call before the first send. */
void kproducer_route(struct kproducer *p, struct kcluster *k);
/* Queues a record (key/value copied; len -1 is null). ENV_ENOMEM if full. */
int kproducer_send(struct kproducer *p, int32_t partition, const void *key, int32_t key_len,
                   const void *value, int32_t value_len, uint64_t id);
/* Records queued or in flight. */
int kproducer_pending(const struct kproducer *p);

#endif
