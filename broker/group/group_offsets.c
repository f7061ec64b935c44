/* Committed offsets of the groups (group.h): who may commit, the cache of
 * __consumer_offsets, retention, deletion and loading. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "group/group.h"
#include "group/group_internal.h"
#include "proto/errors.h"

enum { RETENTION_CHECK_INTERVAL_MS = 600000 }; /* offsets.retention.check.interval.ms */

static int offset_cmp(const struct group_offset *o, struct kstr topic, int32_t partition) {
  size_t n = topic.len > 0 ? (size_t)topic.len : 0, m = strlen(o->topic);
  int c = memcmp(o->topic, topic.ptr ? topic.ptr : "", m < n ? m : n);
  if (c == 0) c = m < n ? -1 : m > n ? 1 : 0;
  if (c == 0) c = o->partition < partition ? -1 : o->partition > partition ? 1 : 0;
  return c;
}

static int32_t offset_index(const struct group *g, struct kstr topic, int32_t partition) {
  int32_t lo = 0, hi = g->offset_count;
  while (lo < hi) {
    int32_t mid = lo + (hi - lo) / 2;
    if (offset_cmp(&g->offsets[mid], topic, partition) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

const struct group_offset *group_offset_get(const struct group *g, struct kstr topic,
                                            int32_t partition) {
  int32_t i = offset_index(g, topic, partition);
  if (i < g->offset_count && offset_cmp(&g->offsets[i], topic, partition) == 0)
    return &g->offsets[i];
  return NULL;
}

int16_t group_commit_check(struct group_coordinator *gc, const struct group_member_ref *ref) {
  if (ref->group_id.len <= 0 || ref->group_id.len > GROUP_ID_BYTES_MAX)
    return KERR_INVALID_GROUP_ID;
  struct group *g = group_find(gc, ref->group_id);
  if (!g) return ref->generation < 0 ? KERR_NONE : KERR_ILLEGAL_GENERATION;
  if (g->state == GROUP_DEAD) return KERR_COORDINATOR_NOT_AVAILABLE;
  if (ref->generation < 0 && g->state == GROUP_EMPTY) return KERR_NONE; /* a simple commit */
  struct group_member *m = NULL;
  for (int32_t i = 0; i < g->member_count; i++)
    if (name_eq(g->members[i]->id, ref->member_id)) m = g->members[i];
  if (ref->instance_id.len > 0)
    for (int32_t i = 0; i < g->member_count; i++)
      if (name_eq(g->members[i]->instance_id, ref->instance_id) && g->members[i] != m)
        return KERR_FENCED_INSTANCE_ID;
  if (!m) return KERR_UNKNOWN_MEMBER_ID;
  if (ref->generation != g->generation) return KERR_ILLEGAL_GENERATION;
  /* Kafka accepts commits of the current generation while it prepares the
   * next one, but not between the join and the assignment. */
  if (g->state == GROUP_COMPLETING_REBALANCE) return KERR_REBALANCE_IN_PROGRESS;
  m->heartbeat_deadline_ms = ref->now_ms + m->session_timeout_ms;
  return KERR_NONE;
}

int16_t group_offset_put(struct group_coordinator *gc, struct kstr group_id, struct kstr topic,
                         int32_t partition, int64_t offset, int32_t leader_epoch,
                         struct kstr metadata, int64_t commit_wall_ms) {
  if (topic.len <= 0 || topic.len > GROUP_TOPIC_BYTES_MAX)
    return KERR_UNKNOWN_TOPIC_OR_PARTITION;
  if (metadata.len > GROUP_OFFSET_METADATA_BYTES_MAX) return KERR_OFFSET_METADATA_TOO_LARGE;
  struct group *g = group_find(gc, group_id);
  if (!g) g = group_create(gc, group_id, commit_wall_ms);
  if (!g) return KERR_COORDINATOR_NOT_AVAILABLE;
  int32_t i = offset_index(g, topic, partition);
  struct group_offset *o;
  if (i < g->offset_count && offset_cmp(&g->offsets[i], topic, partition) == 0) {
    o = &g->offsets[i];
    free(o->metadata);
  } else {
    if (g->offset_count >= GROUP_OFFSETS_MAX) return KERR_COORDINATOR_NOT_AVAILABLE;
    if (g->offset_count == g->offset_cap) {
      int32_t cap = g->offset_cap ? g->offset_cap * 2 : 8;
      struct group_offset *arr = realloc(g->offsets, (size_t)cap * sizeof *arr);
      ASSERT(arr != NULL);
      g->offsets = arr;
      g->offset_cap = cap;
    }
    memmove(&g->offsets[i + 1], &g->offsets[i], (size_t)(g->offset_count - i) * sizeof *o);
    g->offset_count++;
    o = &g->offsets[i];
    memset(o, 0, sizeof *o);
    memcpy(o->topic, topic.ptr, (size_t)topic.len);
    o->partition = partition;
  }
  size_t mlen = metadata.len > 0 ? (size_t)metadata.len : 0;
  o->metadata = malloc(mlen + 1);
  ASSERT(o->metadata != NULL);
  if (mlen) memcpy(o->metadata, metadata.ptr, mlen);
  o->metadata[mlen] = '\0';
  o->offset = offset;
  o->leader_epoch = leader_epoch;
  o->commit_wall_ms = commit_wall_ms;
  ASSERT(group_offset_get(g, topic, partition) == o);
  return KERR_NONE;
}

static void offset_remove_at(struct group *g, int32_t i) {
  ASSERT(i >= 0 && i < g->offset_count);
  free(g->offsets[i].metadata);
  memmove(&g->offsets[i], &g->offsets[i + 1],
          (size_t)(g->offset_count - i - 1) * sizeof *g->offsets);
  g->offset_count--;
}

bool group_offset_remove(struct group_coordinator *gc, struct group *g, struct kstr topic,
                         int32_t partition) {
  (void)gc;
  int32_t i = offset_index(g, topic, partition);
  if (i >= g->offset_count || offset_cmp(&g->offsets[i], topic, partition) != 0) return false;
  offset_remove_at(g, i);
  return true;
}

/* ConsumerProtocolSubscription (versions 0-3, not flexible): version,
 * then the topics as an array of strings. */
static bool subscription_names(struct kbytes metadata, struct kstr topic) {
  struct rd r;
  rd_init(&r, metadata.ptr, metadata.len > 0 ? (size_t)metadata.len : 0);
  int16_t version = rd_i16(&r);
  int32_t n = rd_array_len(&r, false, 2);
  if (r.err || version < 0 || n < 0) return false;
  for (int32_t i = 0; i < n; i++) {
    struct kstr s = rd_string(&r, false);
    if (r.err) return false;
    if (s.len == topic.len && s.len > 0 && memcmp(s.ptr, topic.ptr, (size_t)s.len) == 0)
      return true;
  }
  return false;
}

bool group_subscribed_to(const struct group *g, struct kstr topic) {
  if (strcmp(g->protocol_type, "consumer") != 0 || g->state == GROUP_EMPTY) return false;
  for (int32_t i = 0; i < g->member_count; i++) {
    const struct group_member *m = g->members[i];
    for (int32_t k = 0; k < m->protocol_count; k++)
      if (strcmp(m->protocols[k].name, g->protocol_name) == 0 &&
          subscription_names(
              (struct kbytes){m->protocols[k].metadata, m->protocols[k].metadata_len}, topic))
        return true;
  }
  return false;
}

int16_t group_delete(struct group_coordinator *gc, struct kstr group_id) {
  struct group *g = group_find(gc, group_id);
  if (!g || g->state == GROUP_DEAD) return KERR_GROUP_ID_NOT_FOUND;
  if (g->state != GROUP_EMPTY) return KERR_NON_EMPTY_GROUP;
  ASSERT(g->member_count == 0);
  gc->io->group_removed(gc->io_ctx, g);
  group_destroy(gc, g);
  return KERR_NONE;
}

static bool load_member_valid(const struct group_load_member *lm) {
  return lm->member_id.len > 0 && lm->member_id.len <= GROUP_NAME_BYTES_MAX &&
         lm->instance_id.len <= GROUP_NAME_BYTES_MAX && lm->session_timeout_ms > 0 &&
         lm->rebalance_timeout_ms >= 0 && lm->subscription.len >= 0 &&
         lm->subscription.len <= GROUP_MEMBER_METADATA_BYTES_MAX &&
         lm->assignment.len <= GROUP_MEMBER_METADATA_BYTES_MAX;
}

static uint8_t *bytes_dup(struct kbytes b, int32_t *len) {
  *len = b.len > 0 ? b.len : 0;
  uint8_t *p = malloc((size_t)*len + 1);
  ASSERT(p != NULL);
  if (*len) memcpy(p, b.ptr, (size_t)*len);
  return p;
}

static void load_member(struct group *g, const struct group_load *l,
                        const struct group_load_member *lm) {
  ASSERT(g->member_count < GROUP_MEMBERS_MAX);
  struct group_member *m = calloc(1, sizeof *m);
  ASSERT(m != NULL);
  copy_name(m->id, lm->member_id);
  if (lm->instance_id.len > 0) copy_name(m->instance_id, lm->instance_id);
  copy_name(m->client_id, lm->client_id);
  copy_name(m->client_host, lm->client_host);
  m->session_timeout_ms = lm->session_timeout_ms;
  m->rebalance_timeout_ms = lm->rebalance_timeout_ms;
  m->protocol_count = 1;
  copy_name(m->protocols[0].name, l->protocol_name);
  m->protocols[0].metadata = bytes_dup(lm->subscription, &m->protocols[0].metadata_len);
  if (lm->assignment.len >= 0) m->assignment = bytes_dup(lm->assignment, &m->assignment_len);
  m->heartbeat_deadline_ms = l->now_ms + m->session_timeout_ms;
  g->members[g->member_count++] = m;
}

void group_load_metadata(struct group_coordinator *gc, const struct group_load *l) {
  if (l->group_id.len <= 0 || l->group_id.len > GROUP_ID_BYTES_MAX) return;
  if (l->member_count < 0 || l->member_count > GROUP_MEMBERS_MAX) return;
  bool with_members = l->member_count > 0 && l->protocol_name.len > 0;
  for (int32_t i = 0; with_members && i < l->member_count; i++)
    if (!load_member_valid(&l->members[i])) return; /* a record we cannot trust */
  struct group *g = group_find(gc, l->group_id);
  if (!g) g = group_create(gc, l->group_id, l->state_wall_ms);
  if (!g) return;
  /* Loading replays the partition: the latest record describes the group. */
  group_clear_members(g);
  copy_name(g->protocol_type, l->protocol_type);
  g->generation = l->generation;
  g->state_wall_ms = l->state_wall_ms;
  g->state = with_members ? GROUP_STABLE : GROUP_EMPTY;
  copy_name(g->protocol_name, with_members ? l->protocol_name : KSTR_LIT(""));
  copy_name(g->leader_id, with_members ? l->leader : KSTR_LIT(""));
  if (!with_members) return;
  g->members = calloc((size_t)l->member_count, sizeof *g->members);
  ASSERT(g->members != NULL);
  for (int32_t i = 0; i < l->member_count; i++) load_member(g, l, &l->members[i]);
  ASSERT(g->member_count == l->member_count);
}

void group_load_tombstone(struct group_coordinator *gc, struct kstr group_id) {
  struct group *g = group_find(gc, group_id);
  if (!g) return;
  /* Loading: nothing waits on it. Offsets whose own tombstones are not
   * (yet) read stay with an Empty group, as Kafka's loader keeps them. */
  group_clear_members(g);
  g->state = GROUP_EMPTY;
  g->protocol_name[0] = g->leader_id[0] = '\0';
  if (g->offset_count == 0) group_destroy(gc, g);
}

/* KIP-211: a consumer group's offsets expire together, once the group has
 * been Empty for the retention period; a group without a protocol (simple
 * commits) loses each offset the retention period after its commit. */
static void expire_group(struct group_coordinator *gc, struct group *g, int64_t wall_ms) {
  int64_t keep_ms = gc->cfg.offsets_retention_ms;
  bool whole = g->protocol_type[0] != '\0';
  if (whole && wall_ms - g->state_wall_ms < keep_ms) return;
  for (int32_t i = g->offset_count - 1; i >= 0; i--) {
    const struct group_offset *o = &g->offsets[i];
    if (!whole && wall_ms - o->commit_wall_ms < keep_ms) continue;
    gc->io->offset_expired(gc->io_ctx, g, o);
    offset_remove_at(g, i);
  }
}

void group_expire_offsets(struct group_coordinator *gc, int64_t now_ms, int64_t wall_ms) {
  if (now_ms < gc->expire_next_ms) return;
  gc->expire_next_ms = now_ms + RETENTION_CHECK_INTERVAL_MS;
  for (int32_t i = gc->group_count - 1; i >= 0; i--) {
    struct group *g = gc->groups[i];
    if (g->state != GROUP_EMPTY) continue;
    expire_group(gc, g, wall_ms);
    if (g->offset_count == 0 && g->pending_count == 0) {
      gc->io->group_removed(gc->io_ctx, g);
      group_destroy(gc, g);
    }
  }
}
