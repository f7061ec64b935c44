/* What an operator watches, counted by the broker as it works and written
 * as Prometheus text on request (os/ serves it over HTTP on
 * sluice.metrics.listener; the simulator could read the same figures).
 * Counters only move forward; gauges (partitions led, under-replicated,
 * offline, log sizes, the active controller) are computed when written.
 * Fixed arrays: nothing here allocates while requests run. */
#ifndef SLUICE_SERVER_METRICS_H
#define SLUICE_SERVER_METRICS_H

#include <stdint.h>

#include "base/buf.h"

enum {
  METRICS_API_KEYS = 80, /* Kafka 3.9's keys go to 74 */
  METRICS_LATENCY_BUCKETS = 11,
  /* Consumer group series (committed offset and lag per group and
   * partition) in one scrape; past it they are counted as dropped. */
  METRICS_GROUP_SERIES_MAX = 10000,
};

struct metrics_api {
  uint64_t requests;
  uint64_t latency_us_sum;
  /* Per bucket, not cumulative: one increment per request; the scrape sums
   * them into Prometheus's cumulative le counts. */
  uint64_t latency_buckets[METRICS_LATENCY_BUCKETS];
};

struct metrics {
  struct metrics_api api[METRICS_API_KEYS];
  uint64_t response_bytes;
  uint64_t isr_shrinks;
  uint64_t isr_expands;
};

/* Per topic, kept beside it (struct topic): client traffic only. */
struct metrics_topic {
  uint64_t bytes_in; /* record batches appended from Produce */
  uint64_t messages_in;
  uint64_t bytes_out; /* record bytes sent to consumers */
};

struct node;

void metrics_request_done(struct metrics *m, int16_t api_key, uint64_t latency_ns);
/* The Prometheus text exposition (version 0.0.4) of everything above. */
void metrics_render(const struct node *node, struct buf *out);

#endif
