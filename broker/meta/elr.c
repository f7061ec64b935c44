/* KIP-966's eligible leader replicas (elr.h). */
#include "meta/elr.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

static bool in_list(const int32_t *ids, int32_t count, int32_t id) {
  for (int32_t i = 0; i < count; i++)
    if (ids[i] == id) return true;
  return false;
}

int32_t meta_topic_min_isr(const struct meta_topic *t, int32_t default_min) {
  ASSERT(t != NULL);
  if (default_min < 1) default_min = 1;
  for (int32_t i = 0; i < t->config_count; i++) {
    if (strcmp(t->configs[i].name, "min.insync.replicas") != 0) continue;
    long v = strtol(t->configs[i].value, NULL, 10); /* validated when it was set */
    return v >= 1 && v <= META_REPLICAS_MAX ? (int32_t)v : default_min;
  }
  return default_min;
}

static bool same_list(const int32_t *a, int32_t a_count, const int32_t *b, int32_t b_count) {
  if (a_count != b_count) return false;
  for (int32_t i = 0; i < a_count; i++)
    if (a[i] != b[i]) return false;
  return true;
}

void meta_elr_update(const struct meta_partition *p, int32_t min_isr, const int32_t *target,
                     int32_t count, int32_t unclean, struct meta_partition_change_record *c) {
  ASSERT(p != NULL && c != NULL && min_isr >= 1);
  ASSERT(count >= 0 && count <= META_REPLICAS_MAX);
  int32_t elr[META_REPLICAS_MAX], last[META_REPLICAS_MAX];
  int32_t elr_count = 0, last_count = 0;
  const int32_t *replicas = c->replica_count >= 0 ? c->replicas : p->replicas;
  int32_t replica_count = c->replica_count >= 0 ? c->replica_count : p->replica_count;
  if (min_isr > replica_count) min_isr = replica_count; /* Kafka's effective min ISR */
  /* In replica order, so that records do not depend on how lists grew. */
  for (int32_t i = 0; i < replica_count && count < min_isr; i++) {
    int32_t r = replicas[i];
    if (in_list(target, count, r)) continue;
    bool was_eligible = in_list(p->elr, p->elr_count, r) || in_list(p->isr, p->isr_count, r);
    if (was_eligible && r != unclean)
      elr[elr_count++] = r;
    else if (was_eligible || in_list(p->last_known_elr, p->last_known_elr_count, r))
      last[last_count++] = r;
  }
  ASSERT(elr_count + last_count <= replica_count);
  if (same_list(elr, elr_count, p->elr, p->elr_count) &&
      same_list(last, last_count, p->last_known_elr, p->last_known_elr_count))
    return;
  c->elr_set = true;
  c->elr_count = elr_count;
  memcpy(c->elr, elr, (size_t)elr_count * sizeof elr[0]);
  c->last_known_elr_count = last_count;
  memcpy(c->last_known_elr, last, (size_t)last_count * sizeof last[0]);
}

void meta_elr_clear(const struct meta_partition *p, struct meta_partition_change_record *c) {
  ASSERT(p != NULL && c != NULL);
  if (p->elr_count == 0 && p->last_known_elr_count == 0) return;
  c->elr_set = true;
  c->elr_count = 0;
  c->last_known_elr_count = 0;
}
