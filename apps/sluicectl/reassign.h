/* What sluicectl's partitions reassign and leader-election share: a list of
 * topic-partitions with their replicas, read from kafka-reassign-
 * partitions.sh's JSON or from Metadata, and written back in that JSON. */
#ifndef SLUICECTL_REASSIGN_H
#define SLUICECTL_REASSIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apps/sluicectl/kcall.h"

enum { PLAN_PARTITIONS_MAX = 4096, PLAN_REPLICAS_MAX = 16, TOPIC_NAME_BYTES_MAX = 250 };

struct plan_partition {
  char topic[TOPIC_NAME_BYTES_MAX];
  int32_t partition;
  int32_t replicas[PLAN_REPLICAS_MAX];
  int replica_count;
};

struct plan {
  struct plan_partition *parts; /* PLAN_PARTITIONS_MAX of them, malloc()ed */
  int count;
};

void plan_init(struct plan *p);
void plan_free(struct plan *p);
/* Sorted by topic, then partition, as Kafka prints them. */
void plan_sort(struct plan *p);
/* {"version":1,"partitions":[...]} with "log_dirs" all "any", on stdout. */
void plan_print(const struct plan *p);
/* The current replicas of `topics` (count names; 0: every topic) from
 * Metadata; false with the error printed (an unknown topic is one). */
bool plan_current(struct kcall *c, const char *const *topics, int count, struct plan *out);
const struct plan_partition *plan_find(const struct plan *p, const char *topic,
                                       int32_t partition);

/* Kafka's name of an error code (buf holds "error code N" for one unknown
 * here). */
const char *error_name(int16_t code, char *buf, size_t cap);

int partitions_cmd(int argc, char **argv);
int leader_election_cmd(int argc, char **argv);

#endif
