/* Budgets on what a request may create (limits.c). */
#ifndef SLUICE_LIMITS_H
#define SLUICE_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct node;
struct meta_image;

struct limits_state {
  uint64_t auto_create_window_ns; /* when the current one-second window began; 0: none */
  int32_t auto_created_in_window;
  bool auto_create_refused_logged;
};

/* Every topic's partitions, summed. */
int64_t limits_cluster_partitions(const struct meta_image *image);
/* KERR_NONE, or KERR_POLICY_VIOLATION with `why` naming the config, when
 * `adding` partitions more would pass sluice.create.topics.partitions.max
 * (with request_so_far already asked for by the same request) or
 * sluice.cluster.partitions.max (the cluster holding cluster_now). */
int16_t limits_partitions_check(const struct node *node, int64_t request_so_far,
                                int64_t cluster_now, int64_t adding, char *why, size_t cap);
/* How many of `wanted` topics a Metadata request may auto-create now, within
 * sluice.auto.create.topics.max.per.request and .per.second; counts them. */
int32_t limits_auto_create_take(struct node *node, int32_t wanted);

#endif
