/* Preferred and unclean leader elections and the periodic rebalance
 * (leader_balance.h). */
#include "meta/leader_balance.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "meta/elr.h"
#include "proto/errors.h"

static int64_t next_offset(const struct meta_image *image, const struct meta_delta *delta) {
  int64_t last = delta->count ? delta->records[delta->count - 1].offset : image->offset;
  return (last > image->offset ? last : image->offset) + 1;
}

static bool in_list(const int32_t *ids, int32_t count, int32_t id) {
  for (int32_t i = 0; i < count; i++)
    if (ids[i] == id) return true;
  return false;
}

static bool unfenced(const struct meta_image *image, int32_t id) {
  const struct meta_broker *b = meta_image_broker(image, id);
  return b != NULL && !b->fenced;
}

bool meta_preferred_leader_eligible(const struct meta_image *image,
                                    const struct meta_partition *p) {
  ASSERT(image != NULL && p != NULL && p->replica_count >= 1);
  int32_t preferred = p->replicas[0];
#ifdef SLUICE_MUTANT_PREFERRED_NOT_IN_ISR /* mutant: the ISR is not asked */
  return unfenced(image, preferred);
#else
  return in_list(p->isr, p->isr_count, preferred) && unfenced(image, preferred);
#endif
}

static void change_add(const struct meta_image *image, struct meta_delta *delta,
                       const struct meta_topic *topic, const struct meta_partition *p,
                       int32_t leader, int32_t isr_count, const int32_t *isr) {
  struct meta_record *r =
      meta_delta_add(delta, META_PARTITION_CHANGE_RECORD, next_offset(image, delta));
  ASSERT(r != NULL);
  struct meta_partition_change_record *c = &r->partition_change;
  memset(c, 0, sizeof *c);
  c->topic_id = topic->id;
  c->partition_id = p->partition_id;
  c->leader = leader; /* the image bumps the leader epoch (meta/image_build.c) */
  c->replica_count = -1;
  c->isr_count = isr_count;
  if (isr_count > 0) memcpy(c->isr, isr, (size_t)isr_count * sizeof c->isr[0]);
  if (isr_count == 1) meta_elr_clear(p, c); /* KIP-966: a new sole member */
}

static int16_t elect_preferred(const struct meta_image *image, const struct meta_topic *topic,
                               const struct meta_partition *p, struct meta_delta *delta) {
  if (p->leader == p->replicas[0]) return KERR_ELECTION_NOT_NEEDED;
  if (!meta_preferred_leader_eligible(image, p)) return KERR_PREFERRED_LEADER_NOT_AVAILABLE;
  change_add(image, delta, topic, p, p->replicas[0], -1, NULL);
  return KERR_NONE;
}

/* KIP-460: only a partition without a leader gets an unclean election; an
 * in-sync replica that can lead is still preferred over one that may have
 * lost committed data. */
static int16_t elect_unclean(const struct meta_image *image, const struct meta_topic *topic,
                             const struct meta_partition *p, struct meta_delta *delta) {
  if (p->leader != META_NO_LEADER) return KERR_ELECTION_NOT_NEEDED;
  for (int32_t i = 0; i < p->replica_count; i++)
    if (in_list(p->isr, p->isr_count, p->replicas[i]) && unfenced(image, p->replicas[i])) {
      change_add(image, delta, topic, p, p->replicas[i], -1, NULL);
      return KERR_NONE;
    }
  for (int32_t i = 0; i < p->replica_count; i++) /* KIP-966: the ELR holds the committed */
    if (p->isr_count == 0 && in_list(p->elr, p->elr_count, p->replicas[i]) &&
        unfenced(image, p->replicas[i])) {
      change_add(image, delta, topic, p, p->replicas[i], 1, &p->replicas[i]);
      return KERR_NONE;
    }
  for (int32_t i = 0; i < p->replica_count; i++)
    if (unfenced(image, p->replicas[i])) { /* may lose committed data: asked for */
      change_add(image, delta, topic, p, p->replicas[i], 1, &p->replicas[i]);
      return KERR_NONE;
    }
  return KERR_ELIGIBLE_LEADERS_NOT_AVAILABLE;
}

int16_t meta_rule_elect_leader(const struct meta_image *image, int8_t election_type,
                               const struct meta_topic *topic, int32_t partition_id,
                               struct meta_delta *delta) {
  ASSERT(image != NULL && delta != NULL);
  int32_t start = delta->count;
  const struct meta_partition *p = topic ? meta_topic_partition(topic, partition_id) : NULL;
  if (p == NULL || p->replica_count < 1) return KERR_UNKNOWN_TOPIC_OR_PARTITION;
  int16_t code = KERR_INVALID_REQUEST;
  if (election_type == META_ELECTION_PREFERRED) code = elect_preferred(image, topic, p, delta);
  if (election_type == META_ELECTION_UNCLEAN) code = elect_unclean(image, topic, p, delta);
  ASSERT(delta->count == start + (code == KERR_NONE ? 1 : 0));
  return code;
}

int32_t meta_leader_imbalance_percent(const struct meta_image *image, int32_t broker_id) {
  ASSERT(image != NULL);
  int64_t preferred = 0, not_leading = 0;
  for (int32_t t = 0; t < image->topic_count; t++) {
    const struct meta_topic *topic = image->topics_by_id[t];
    for (int32_t i = 0; i < topic->partition_count; i++) {
      const struct meta_partition *p = &topic->partitions[i];
      if (p->replica_count < 1 || p->replicas[0] != broker_id) continue;
      preferred++;
      if (p->leader != broker_id) not_leading++;
    }
  }
  ASSERT(not_leading <= preferred);
  return preferred == 0 ? 0 : (int32_t)(not_leading * 100 / preferred);
}

/* Brokers over the bound, by id (the image keeps them sorted). */
static int32_t imbalanced_brokers(const struct meta_image *image, int32_t percentage_max,
                                  int32_t ids[META_BROKERS_MAX]) {
  int32_t n = 0;
  for (int32_t i = 0; i < image->broker_count; i++)
    if (meta_leader_imbalance_percent(image, image->brokers[i].id) > percentage_max)
      ids[n++] = image->brokers[i].id;
  ASSERT(n <= META_BROKERS_MAX);
  return n;
}

int32_t meta_rule_rebalance_leaders(const struct meta_image *image, int32_t percentage_max,
                                    int32_t elections_max, struct meta_delta *delta) {
  ASSERT(image != NULL && delta != NULL && percentage_max >= 0 && elections_max >= 0);
  int32_t over[META_BROKERS_MAX];
  int32_t over_count = imbalanced_brokers(image, percentage_max, over);
  int32_t elected = 0;
  for (int32_t t = 0; t < image->topic_count && over_count > 0; t++) {
    const struct meta_topic *topic = image->topics_by_id[t];
    for (int32_t i = 0; i < topic->partition_count && elected < elections_max; i++) {
      const struct meta_partition *p = &topic->partitions[i];
      if (p->replica_count < 1 || p->leader == p->replicas[0]) continue;
      if (!in_list(over, over_count, p->replicas[0])) continue;
      if (!meta_preferred_leader_eligible(image, p)) continue;
      change_add(image, delta, topic, p, p->replicas[0], -1, NULL);
      elected++;
    }
  }
  ASSERT(elected <= elections_max);
  return elected;
}

static int64_t asked_count(const struct meta_image *image,
                           const struct meta_elect_leaders *in) {
  int64_t n = 0;
  if (in->topic_count < 0)
    for (int32_t t = 0; t < image->topic_count; t++)
      n += image->topics_by_id[t]->partition_count;
  for (int32_t t = 0; t < in->topic_count; t++)
    n += in->topics[t].partition_count > 0 ? in->topics[t].partition_count : 0;
  return n;
}

static bool seen_before(const struct meta_elect_result *results, int32_t count,
                        const char *topic, int32_t partition_id) {
  for (int32_t i = 0; i < count; i++)
    if (results[i].partition_id == partition_id && !strcmp(results[i].topic, topic))
      return true;
  return false;
}

static void elect_all(const struct meta_image *image, int8_t type, struct meta_delta *delta,
                      struct meta_elect_result *out, int32_t *count) {
  for (int32_t t = 0; t < image->topic_count; t++) {
    const struct meta_topic *topic = image->topics_by_id[t];
    for (int32_t i = 0; i < topic->partition_count; i++) {
      int32_t id = topic->partitions[i].partition_id;
      int16_t code = meta_rule_elect_leader(image, type, topic, id, delta);
      if (code == KERR_ELECTION_NOT_NEEDED) continue;
      struct meta_elect_result *r = &out[(*count)++];
      str_fmt(r->topic, sizeof r->topic, "%s", topic->name);
      r->partition_id = id;
      r->error_code = code;
    }
  }
}

void meta_rule_elect_leaders(const struct meta_image *image,
                             const struct meta_elect_leaders *in, struct meta_delta *delta,
                             struct meta_elect_result **results, int32_t *count) {
  ASSERT(image != NULL && in != NULL && delta != NULL && results != NULL && count != NULL);
  int64_t asked = asked_count(image, in);
  struct meta_elect_result *out = calloc((size_t)asked + 1, sizeof *out);
  ASSERT(out != NULL);
  *count = 0;
  if (in->topic_count < 0) elect_all(image, in->election_type, delta, out, count);
  for (int32_t t = 0; t < in->topic_count; t++) {
    const struct meta_elect_topic *et = &in->topics[t];
    char name[META_TOPIC_NAME_BYTES] = "";
    if (et->name.len > 0 && et->name.len < META_TOPIC_NAME_BYTES)
      str_fmt(name, sizeof name, "%.*s", (int)et->name.len, et->name.ptr);
    const struct meta_topic *topic =
        name[0] ? meta_image_topic(image, name, strlen(name)) : NULL;
    for (int32_t i = 0; i < et->partition_count; i++) {
      if (seen_before(out, *count, name, et->partitions[i])) continue;
      struct meta_elect_result *r = &out[(*count)++];
      str_fmt(r->topic, sizeof r->topic, "%s", name);
      r->partition_id = et->partitions[i];
      r->error_code =
          meta_rule_elect_leader(image, in->election_type, topic, et->partitions[i], delta);
    }
  }
  ASSERT(*count <= asked);
  *results = out;
}
