/* A deterministic Kafka producer over kconn: records are queued per
 * partition, sent as record batches (magic 2) with one request in flight per
 * partition (so order is kept without idempotence), retried with backoff on
 * retriable errors and lost connections, and reported one by one: acked
 * with its offset, or failed with the error that ended it. Every record
 * carries the caller's id so a history can trace it. */
#ifndef SLUICE_PRODUCER_H
#define SLUICE_PRODUCER_H

#include <stdint.h>

#include "net/kconn.h"
#include "proto/batch_format.h"

enum { PRODUCER_PARTITIONS_MAX = 64, PRODUCER_QUEUE_MAX = 65536 };

struct kproducer_config {
  char topic[250];
  int32_t partition_count;
  int16_t acks;              /* 0, 1, -1 */
  int32_t batch_records_max; /* records per batch */
  int32_t retries_max;
  int64_t retry_backoff_ms;
  int32_t timeout_ms; /* the request's timeout_ms */
  enum rb_codec codec;
};

struct kproducer_listener {
  void *ctx;
  void (*acked)(void *ctx, uint64_t id, int32_t partition, int64_t offset);
  void (*failed)(void *ctx, uint64_t id, int32_t partition, int error);
  /* Optional: a record went out again, in its attempt'th request (2, 3...),
   * so the broker may store it more than once (no idempotence yet). */
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

struct kproducer_partition {
  struct kproducer_call call;
  struct kproducer_record *queue; /* ring of PRODUCER_QUEUE_MAX */
  int head;
  int count;
  int in_flight; /* records of the batch in flight (the first ones queued) */
  env_timer_id retry_timer;
};

struct kproducer {
  struct env *env;
  struct kconn *conn;
  struct kproducer_config cfg;
  struct kproducer_listener listener;
  struct kproducer_partition partitions[PRODUCER_PARTITIONS_MAX];
  uint64_t requests_sent;
};

void kproducer_init(struct kproducer *p, struct env *env, struct kconn *conn,
                    const struct kproducer_config *cfg, const struct kproducer_listener *l);
void kproducer_free(struct kproducer *p);
/* Queues a record (key/value copied; len -1 is null). ENV_ENOMEM if full. */
int kproducer_send(struct kproducer *p, int32_t partition, const void *key, int32_t key_len,
                   const void *value, int32_t value_len, uint64_t id);
/* Records queued or in flight. */
int kproducer_pending(const struct kproducer *p);

#endif
