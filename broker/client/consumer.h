/* A deterministic consumer over kconn in assign mode: long-polling Fetch
 * from chosen offsets, every record handed to the listener in offset order.
 * One Fetch carries every assigned partition of every topic, as real
 * clients do: a broker answers one request per connection at a time, so
 * separate long polls on one connection would wait behind each other.
 * Group subscribe arrives with the group coordinator issue. */
#ifndef SLUICE_CONSUMER_H
#define SLUICE_CONSUMER_H

#include <stdbool.h>
#include <stdint.h>

#include "net/kconn.h"

enum { CONSUMER_PARTITIONS_MAX = 64, CONSUMER_TOPICS_MAX = 8 };

struct kconsumer_config {
  int32_t max_wait_ms;
  int32_t max_bytes;
  int64_t retry_backoff_ms;
};

struct kconsumer_listener {
  void *ctx;
  void (*polled)(void *ctx, const char *topic, int32_t partition, int64_t offset,
                 struct kbytes key, struct kbytes value);
  /* A partition error (e.g. OFFSET_OUT_OF_RANGE); fetching goes on after the
   * backoff from the same offset unless the listener seeks. */
  void (*error)(void *ctx, const char *topic, int32_t partition, int error);
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
  int partition_count;
  bool fetching;
  bool stopped;
  env_timer_id retry_timer;
  uint64_t fetches;
};

void kconsumer_init(struct kconsumer *c, struct env *env, struct kconn *conn,
                    const struct kconsumer_config *cfg, const struct kconsumer_listener *l);
/* Fetches topic's partition from offset on (again from offset, if it was
 * assigned already). */
void kconsumer_assign(struct kconsumer *c, const char *topic, int32_t partition,
                      int64_t offset);
void kconsumer_start(struct kconsumer *c);
/* An assigned partition's position (the next offset it fetches); -1 if the
 * partition is not assigned. */
int64_t kconsumer_position(const struct kconsumer *c, const char *topic, int32_t partition);
/* The log start offset the broker last reported for it (with data or with
 * an error such as OFFSET_OUT_OF_RANGE); -1 if none yet. */
int64_t kconsumer_log_start(const struct kconsumer *c, const char *topic, int32_t partition);
void kconsumer_stop(struct kconsumer *c);

#endif
