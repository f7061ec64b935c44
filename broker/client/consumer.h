/* A deterministic consumer over kconn in assign mode: long-polling Fetch
 * from chosen offsets, every record handed to the listener in offset order.
 * Group subscribe arrives with the group coordinator issue. */
#ifndef SLUICE_CONSUMER_H
#define SLUICE_CONSUMER_H

#include <stdbool.h>
#include <stdint.h>

#include "client/kconn.h"

enum { CONSUMER_PARTITIONS_MAX = 64 };

struct kconsumer_config {
  char topic[250];
  int32_t max_wait_ms;
  int32_t max_bytes;
  int64_t retry_backoff_ms;
};

struct kconsumer_listener {
  void *ctx;
  void (*polled)(void *ctx, int32_t partition, int64_t offset, struct kbytes key,
                 struct kbytes value);
  /* A partition error (e.g. OFFSET_OUT_OF_RANGE); fetching goes on after the
   * backoff from the same offset unless the listener seeks. */
  void (*error)(void *ctx, int32_t partition, int error);
};

struct kconsumer {
  struct env *env;
  struct kconn *conn;
  struct kconsumer_config cfg;
  struct kconsumer_listener listener;
  int32_t partitions[CONSUMER_PARTITIONS_MAX];
  int64_t offsets[CONSUMER_PARTITIONS_MAX]; /* next offset to fetch */
  int64_t high_watermarks[CONSUMER_PARTITIONS_MAX];
  int partition_count;
  bool fetching;
  bool stopped;
  env_timer_id retry_timer;
  uint64_t fetches;
};

void kconsumer_init(struct kconsumer *c, struct env *env, struct kconn *conn,
                    const struct kconsumer_config *cfg, const struct kconsumer_listener *l);
void kconsumer_assign(struct kconsumer *c, int32_t partition, int64_t offset);
void kconsumer_start(struct kconsumer *c);
void kconsumer_stop(struct kconsumer *c);

#endif
