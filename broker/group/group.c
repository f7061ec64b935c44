/* The classic group protocol's state machine (group.h): membership, join
 * and sync phases, generations, sessions. Offsets are in group_offsets.c. */
#include "group/group.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "group/group_internal.h"
#include "proto/errors.h"

const char *group_state_name(enum group_state s) {
  switch (s) {
  case GROUP_EMPTY:
    return "Empty";
  case GROUP_PREPARING_REBALANCE:
    return "PreparingRebalance";
  case GROUP_COMPLETING_REBALANCE:
    return "CompletingRebalance";
  case GROUP_STABLE:
    return "Stable";
  case GROUP_DEAD:
    return "Dead";
  }
  UNREACHABLE();
}

/* Java's String.hashCode over UTF-16 code units, so Kafka's tools place a
 * group on the same partition (GroupMetadataManager.partitionFor). */
static int32_t java_string_hash(struct kstr s) {
  uint32_t h = 0;
  const uint8_t *p = (const uint8_t *)s.ptr;
  int32_t n = s.len > 0 ? s.len : 0;
  for (int32_t i = 0; i < n;) {
    uint32_t c = p[i], extra = 0;
    if (c >= 0xf0 && c < 0xf8)
      c &= 0x07, extra = 3;
    else if (c >= 0xe0)
      c &= 0x0f, extra = 2;
    else if (c >= 0xc0)
      c &= 0x1f, extra = 1;
    i++;
    for (uint32_t k = 0; k < extra && i < n; k++, i++) c = (c << 6) | (p[i] & 0x3f);
    if (c >= 0x10000) { /* a surrogate pair in UTF-16 */
      c -= 0x10000;
      h = 31 * h + (0xd800 + (c >> 10));
      h = 31 * h + (0xdc00 + (c & 0x3ff));
    } else {
      h = 31 * h + c;
    }
  }
  return (int32_t)h;
}

int32_t group_partition_for(struct kstr group_id, int32_t partition_count) {
  ASSERT(partition_count > 0);
  int32_t h = java_string_hash(group_id);
  int32_t a = h == INT32_MIN ? 0 : (h < 0 ? -h : h); /* Kafka's Utils.abs */
  return a % partition_count;
}

/* ---- copies and lookups ---- */

void copy_name(char *dst, struct kstr s) {
  size_t n = s.len > 0 ? (size_t)s.len : 0;
  if (n > GROUP_NAME_BYTES_MAX) n = GROUP_NAME_BYTES_MAX;
  memcpy(dst, s.ptr ? s.ptr : "", n);
  dst[n] = '\0';
}

bool name_eq(const char *name, struct kstr s) {
  size_t n = s.len > 0 ? (size_t)s.len : 0;
  return strlen(name) == n && memcmp(name, s.ptr ? s.ptr : "", n) == 0;
}

static int group_cmp(const char *id, struct kstr s) {
  size_t n = s.len > 0 ? (size_t)s.len : 0, m = strlen(id);
  int c = memcmp(id, s.ptr ? s.ptr : "", m < n ? m : n);
  return c != 0 ? c : (m < n ? -1 : m > n ? 1 : 0);
}

static int32_t group_index(const struct group_coordinator *gc, struct kstr id) {
  int32_t lo = 0, hi = gc->group_count;
  while (lo < hi) {
    int32_t mid = lo + (hi - lo) / 2;
    if (group_cmp(gc->groups[mid]->id, id) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

struct group *group_find(const struct group_coordinator *gc, struct kstr id) {
  int32_t i = group_index(gc, id);
  return i < gc->group_count && group_cmp(gc->groups[i]->id, id) == 0 ? gc->groups[i] : NULL;
}

struct group *group_create(struct group_coordinator *gc, struct kstr id, int64_t wall_ms) {
  ASSERT(id.len > 0 && id.len <= GROUP_ID_BYTES_MAX && !group_find(gc, id));
  if (gc->group_count >= GROUPS_MAX) return NULL;
  if (gc->group_count == gc->group_cap) {
    int32_t cap = gc->group_cap ? gc->group_cap * 2 : 16;
    struct group **arr = realloc(gc->groups, (size_t)cap * sizeof *arr);
    ASSERT(arr != NULL);
    gc->groups = arr;
    gc->group_cap = cap;
  }
  struct group *g = calloc(1, sizeof *g);
  ASSERT(g != NULL);
  memcpy(g->id, id.ptr, (size_t)id.len);
  g->partition = group_partition_for(id, gc->cfg.partition_count);
  g->state = GROUP_EMPTY;
  g->state_wall_ms = wall_ms;
  int32_t i = group_index(gc, id);
  memmove(&gc->groups[i + 1], &gc->groups[i], (size_t)(gc->group_count - i) * sizeof g);
  gc->groups[i] = g;
  gc->group_count++;
  return g;
}

static void member_free(struct group_member *m) {
  for (int32_t i = 0; i < m->protocol_count; i++) free(m->protocols[i].metadata);
  free(m->assignment);
  free(m);
}

void group_clear_members(struct group *g) {
  for (int32_t k = 0; k < g->member_count; k++) {
    ASSERT(!g->members[k]->join_token && !g->members[k]->sync_token);
    member_free(g->members[k]);
  }
  free(g->members);
  g->members = NULL;
  g->member_count = 0;
  free(g->pending);
  g->pending = NULL;
  g->pending_count = 0;
}

/* Removes and frees the group; nothing may wait on it. */
void group_destroy(struct group_coordinator *gc, struct group *g) {
  int32_t i = group_index(gc, (struct kstr){g->id, (int32_t)strlen(g->id)});
  ASSERT(i < gc->group_count && gc->groups[i] == g);
  memmove(&gc->groups[i], &gc->groups[i + 1], (size_t)(gc->group_count - i - 1) * sizeof g);
  gc->group_count--;
  for (int32_t k = 0; k < g->member_count; k++) member_free(g->members[k]);
  free(g->members);
  free(g->pending);
  for (int32_t k = 0; k < g->offset_count; k++) free(g->offsets[k].metadata);
  free(g->offsets);
  free(g);
}

static struct group_member *member_find(const struct group *g, struct kstr id) {
  for (int32_t i = 0; i < g->member_count; i++)
    if (name_eq(g->members[i]->id, id)) return g->members[i];
  return NULL;
}

static struct group_member *member_by_instance(const struct group *g, struct kstr instance) {
  if (instance.len <= 0) return NULL;
  for (int32_t i = 0; i < g->member_count; i++)
    if (name_eq(g->members[i]->instance_id, instance)) return g->members[i];
  return NULL;
}

static int32_t pending_index(const struct group *g, struct kstr id) {
  for (int32_t i = 0; i < g->pending_count; i++)
    if (name_eq(g->pending[i].id, id)) return i;
  return -1;
}

static void pending_remove(struct group *g, int32_t i) {
  ASSERT(i >= 0 && i < g->pending_count);
  g->pending[i] = g->pending[--g->pending_count];
}

/* ---- answers ---- */

static void join_answer_error(struct group_coordinator *gc, void *token, int16_t error,
                              struct kstr member_id) {
  struct group_join_result r = {.error = error,
                                .generation = -1,
                                .protocol_type = KSTR_NULL,
                                .protocol_name = KSTR_NULL,
                                .leader = KSTR_LIT(""),
                                .member_id = member_id};
  if (token) gc->io->join_done(gc->io_ctx, token, &r);
}

static void sync_answer(struct group_coordinator *gc, void *token, int16_t error,
                        const struct group *g, const struct group_member *m) {
  struct kbytes a = {NULL, 0};
  if (error == KERR_NONE && m && m->assignment)
    a = (struct kbytes){m->assignment, m->assignment_len};
  if (token) gc->io->sync_done(gc->io_ctx, token, error, g, a);
}

/* The join answer of a member of a generation that just formed (or is
 * current): the leader gets every member's metadata for the chosen
 * protocol. */
static void join_answer_member(struct group_coordinator *gc, struct group *g,
                               struct group_member *m, void *token, bool skip_assignment) {
  ASSERT(g->state == GROUP_COMPLETING_REBALANCE || g->state == GROUP_STABLE);
  struct group_join_member *list = NULL;
  int32_t count = 0;
  bool leader = strcmp(m->id, g->leader_id) == 0;
  if (leader) {
    list = calloc((size_t)g->member_count + 1, sizeof *list);
    ASSERT(list != NULL);
    for (int32_t i = 0; i < g->member_count; i++) {
      const struct group_member *x = g->members[i];
      const struct group_protocol *p = NULL;
      for (int32_t k = 0; k < x->protocol_count; k++)
        if (strcmp(x->protocols[k].name, g->protocol_name) == 0) p = &x->protocols[k];
      ASSERT(p != NULL); /* the chosen protocol is every member's */
      list[count++] = (struct group_join_member){
          .member_id = kstr_of(x->id),
          .instance_id = x->instance_id[0] ? kstr_of(x->instance_id) : KSTR_NULL,
          .metadata = {p->metadata, p->metadata_len}};
    }
  }
  struct group_join_result r = {.error = KERR_NONE,
                                .generation = g->generation,
                                .protocol_type = kstr_of(g->protocol_type),
                                .protocol_name = kstr_of(g->protocol_name),
                                .leader = kstr_of(g->leader_id),
                                .member_id = kstr_of(m->id),
                                .members = list,
                                .member_count = count,
                                .skip_assignment = skip_assignment};
  if (token) gc->io->join_done(gc->io_ctx, token, &r);
  free(list);
}

/* ---- protocol selection ---- */

static bool member_supports(const struct group_member *m, const char *protocol) {
  for (int32_t i = 0; i < m->protocol_count; i++)
    if (strcmp(m->protocols[i].name, protocol) == 0) return true;
  return false;
}

static bool all_support(const struct group *g, const char *protocol) {
  for (int32_t i = 0; i < g->member_count; i++)
    if (!member_supports(g->members[i], protocol)) return false;
  return true;
}

/* Kafka's selectProtocol: among the protocols every member supports, each
 * member votes for the first it lists; most votes wins (ties: the one the
 * first member lists first, so the choice is deterministic). */
static void select_protocol(struct group *g) {
  ASSERT(g->member_count > 0);
  const struct group_member *first = g->members[0];
  int32_t best_votes = -1;
  g->protocol_name[0] = '\0';
  for (int32_t c = 0; c < first->protocol_count; c++) {
    const char *cand = first->protocols[c].name;
    if (!all_support(g, cand)) continue;
    int32_t votes = 0;
    for (int32_t i = 0; i < g->member_count; i++) {
      const struct group_member *m = g->members[i];
      for (int32_t k = 0; k < m->protocol_count; k++) {
        if (!all_support(g, m->protocols[k].name)) continue;
        votes += strcmp(m->protocols[k].name, cand) == 0;
        break;
      }
    }
    if (votes > best_votes) {
      best_votes = votes;
      str_fmt(g->protocol_name, sizeof g->protocol_name, "%s", cand);
    }
  }
  ASSERT(g->protocol_name[0] != '\0'); /* joins check a common protocol first */
}

/* A joining member's protocols fit the group: the same protocol type, and
 * at least one protocol every other member supports too. */
static bool protocols_fit(const struct group *g, const struct group_join_args *a,
                          const struct group_member *self) {
  if (a->protocol_type.len <= 0 || a->protocol_count <= 0) return false;
  bool others = false;
  for (int32_t i = 0; i < g->member_count; i++) others |= g->members[i] != self;
  if (!others) return true;
  if (!name_eq(g->protocol_type, a->protocol_type)) return false;
  for (int32_t p = 0; p < a->protocol_count; p++) {
    bool everyone = true;
    for (int32_t i = 0; i < g->member_count && everyone; i++) {
      const struct group_member *m = g->members[i];
      if (m == self) continue;
      bool has = false;
      for (int32_t k = 0; k < m->protocol_count; k++)
        has |= name_eq(m->protocols[k].name, a->protocols[p].name);
      everyone = has;
    }
    if (everyone) return true;
  }
  return false;
}

static bool protocols_same(const struct group_member *m, const struct group_join_args *a) {
  if (m->protocol_count != a->protocol_count) return false;
  for (int32_t i = 0; i < a->protocol_count; i++) {
    const struct group_protocol *p = &m->protocols[i];
    const struct group_protocol_arg *q = &a->protocols[i];
    if (!name_eq(p->name, q->name) || p->metadata_len != q->metadata.len) return false;
    if (q->metadata.len > 0 && memcmp(p->metadata, q->metadata.ptr, (size_t)q->metadata.len))
      return false;
  }
  return true;
}

static void member_set_protocols(struct group_member *m, const struct group_join_args *a) {
  ASSERT(a->protocol_count > 0 && a->protocol_count <= GROUP_PROTOCOLS_MAX);
  for (int32_t i = 0; i < m->protocol_count; i++) free(m->protocols[i].metadata);
  m->protocol_count = a->protocol_count;
  for (int32_t i = 0; i < a->protocol_count; i++) {
    struct group_protocol *p = &m->protocols[i];
    copy_name(p->name, a->protocols[i].name);
    p->metadata_len = a->protocols[i].metadata.len > 0 ? a->protocols[i].metadata.len : 0;
    p->metadata = malloc((size_t)p->metadata_len + 1);
    ASSERT(p->metadata != NULL);
    if (p->metadata_len)
      memcpy(p->metadata, a->protocols[i].metadata.ptr, (size_t)p->metadata_len);
  }
  m->session_timeout_ms = a->session_timeout_ms;
  m->rebalance_timeout_ms = a->rebalance_timeout_ms;
  copy_name(m->client_id, a->client_id);
  copy_name(m->client_host, a->client_host);
}

/* ---- the join phase ---- */

static int32_t rebalance_timeout_max(const struct group *g) {
  int32_t t = 0;
  for (int32_t i = 0; i < g->member_count; i++)
    if (g->members[i]->rebalance_timeout_ms > t) t = g->members[i]->rebalance_timeout_ms;
  return t;
}

static bool all_joined(const struct group *g) {
  if (g->pending_count > 0) return false;
  for (int32_t i = 0; i < g->member_count; i++)
    if (!g->members[i]->joined) return false;
  return true;
}

/* Who waits on a SyncGroup of the generation that is ending is told to
 * rejoin. */
static void syncs_end(struct group_coordinator *gc, struct group *g, int16_t error) {
  for (int32_t i = 0; i < g->member_count; i++) {
    struct group_member *m = g->members[i];
    if (!m->syncing) continue;
    void *token = m->sync_token;
    m->syncing = false;
    m->sync_token = NULL;
    sync_answer(gc, token, error, g, NULL);
  }
}

/* Kafka's prepareRebalance: the join phase starts, bounded by the longest
 * rebalance timeout; a new group first waits group.initial.rebalance.
 * delay.ms for more members (KIP-134). */
static void prepare_rebalance(struct group_coordinator *gc, struct group *g, int64_t now_ms,
                              int64_t wall_ms) {
  ASSERT(g->state != GROUP_PREPARING_REBALANCE && g->state != GROUP_DEAD);
  if (g->state == GROUP_COMPLETING_REBALANCE) syncs_end(gc, g, KERR_REBALANCE_IN_PROGRESS);
  bool fresh = g->state == GROUP_EMPTY;
  g->state = GROUP_PREPARING_REBALANCE;
  g->state_wall_ms = wall_ms;
  g->rebalance_deadline_ms = now_ms + rebalance_timeout_max(g);
  g->initial_delay_ms = 0;
  if (fresh && gc->cfg.initial_rebalance_delay_ms > 0) {
    int64_t until = now_ms + gc->cfg.initial_rebalance_delay_ms;
    g->initial_delay_ms = until < g->rebalance_deadline_ms ? until : g->rebalance_deadline_ms;
  }
}

static void member_remove_at(struct group *g, int32_t i) {
  ASSERT(i >= 0 && i < g->member_count);
  struct group_member *m = g->members[i];
  memmove(&g->members[i], &g->members[i + 1],
          (size_t)(g->member_count - i - 1) * sizeof *g->members);
  g->member_count--;
  if (strcmp(g->leader_id, m->id) == 0) g->leader_id[0] = '\0';
  member_free(m);
}

/* Kafka's onCompleteJoin: members that did not rejoin leave (static ones
 * keep their place), the next generation forms, and every joined member
 * is answered. */
static void complete_join(struct group_coordinator *gc, struct group *g, int64_t now_ms,
                          int64_t wall_ms) {
  ASSERT(g->state == GROUP_PREPARING_REBALANCE);
  bool anyone = false;
  for (int32_t i = g->member_count - 1; i >= 0; i--) {
    anyone |= g->members[i]->joined;
    if (!g->members[i]->joined && !g->members[i]->instance_id[0]) member_remove_at(g, i);
  }
  g->initial_delay_ms = 0;
  if (g->member_count > 0 && !anyone) {
    /* Only static members that did not rejoin are left: no generation can
     * form without a leader to hear of it, so the join phase starts over
     * (Kafka waits for them the same way). */
    g->rebalance_deadline_ms = now_ms + rebalance_timeout_max(g);
    return;
  }
  g->generation++; /* ids handed out (KIP-394) may still come back */
  g->state_wall_ms = wall_ms;
  if (g->member_count == 0) {
    g->state = GROUP_EMPTY;
    g->protocol_name[0] = '\0';
    g->leader_id[0] = '\0';
    gc->io->group_changed(gc->io_ctx, g);
    return;
  }
  select_protocol(g);
  /* The leader must be a member that rejoined (a static member kept in
   * its place without rejoining would never hear it leads): the first. */
  const struct group_member *lead = NULL;
  for (int32_t i = g->member_count - 1; i >= 0; i--)
    if (g->members[i]->joined) {
      lead = g->members[i];
      if (strcmp(lead->id, g->leader_id) == 0) break;
    }
  if (lead && strcmp(lead->id, g->leader_id) != 0) {
    for (int32_t i = 0; i < g->member_count; i++)
      if (g->members[i]->joined) {
        lead = g->members[i];
        break;
      }
    str_fmt(g->leader_id, sizeof g->leader_id, "%s", lead->id);
  }
  ASSERT(lead != NULL); /* someone joined, or nobody would be left */
  g->state = GROUP_COMPLETING_REBALANCE;
  for (int32_t i = 0; i < g->member_count; i++) {
    struct group_member *m = g->members[i];
    free(m->assignment);
    m->assignment = NULL;
    m->assignment_len = 0;
    m->heartbeat_deadline_ms = now_ms + m->session_timeout_ms;
    void *token = m->join_token;
    bool joined = m->joined;
    m->joined = false;
    m->join_token = NULL;
    if (joined) join_answer_member(gc, g, m, token, false);
  }
}

static bool join_phase_over(const struct group *g, int64_t now_ms) {
  if (g->state != GROUP_PREPARING_REBALANCE) return false;
  if (g->initial_delay_ms > 0) return now_ms >= g->initial_delay_ms;
  return all_joined(g) || now_ms >= g->rebalance_deadline_ms;
}

void group_maybe_complete_join(struct group_coordinator *gc, struct group *g, int64_t now_ms,
                               int64_t wall_ms) {
  if (join_phase_over(g, now_ms)) complete_join(gc, g, now_ms, wall_ms);
}

static struct group_member *member_add(struct group *g, struct kstr id,
                                       const struct group_join_args *a) {
  ASSERT(g->member_count < GROUP_MEMBERS_MAX);
  struct group_member **arr =
      realloc(g->members, (size_t)(g->member_count + 1) * sizeof *g->members);
  ASSERT(arr != NULL);
  g->members = arr;
  struct group_member *m = calloc(1, sizeof *m);
  ASSERT(m != NULL);
  copy_name(m->id, id);
  if (a->instance_id.len > 0) copy_name(m->instance_id, a->instance_id);
  member_set_protocols(m, a);
  g->members[g->member_count++] = m;
  if (g->member_count == 1) copy_name(g->protocol_type, a->protocol_type);
  return m;
}

/* The member (re)joins the current join phase, which this may start. */
static void member_join(struct group_coordinator *gc, struct group *g, struct group_member *m,
                        const struct group_join_args *a) {
  member_set_protocols(m, a);
  m->joined = true;
  m->join_token = a->token;
  m->heartbeat_deadline_ms = a->now_ms + m->session_timeout_ms;
  if (g->state != GROUP_PREPARING_REBALANCE) {
    prepare_rebalance(gc, g, a->now_ms, a->wall_ms);
  } else if (g->initial_delay_ms > 0) {
    /* KIP-134: each newcomer extends a new group's wait, up to the
     * rebalance timeout. */
    int64_t until = a->now_ms + gc->cfg.initial_rebalance_delay_ms;
    g->initial_delay_ms = until < g->rebalance_deadline_ms ? until : g->rebalance_deadline_ms;
  }
  int64_t deadline = a->now_ms + m->rebalance_timeout_ms;
  if (g->initial_delay_ms == 0 && deadline < g->rebalance_deadline_ms && all_joined(g))
    g->rebalance_deadline_ms = deadline;
  group_maybe_complete_join(gc, g, a->now_ms, a->wall_ms);
}

static void new_member_id(const struct group_join_args *a, char *out, size_t cap) {
  char client[200];
  size_t n = a->client_id.len > 0 ? (size_t)a->client_id.len : 0;
  if (n > sizeof client - 1) n = sizeof client - 1;
  memcpy(client, a->client_id.ptr ? a->client_id.ptr : "", n);
  client[n] = '\0';
  uint64_t r0 = a->random[0], r1 = a->random[1];
  str_fmt(out, cap, "%s-%08x-%04x-%04x-%04x-%012llx", client, (unsigned)(r0 >> 32),
          (unsigned)((r0 >> 16) & 0xffff), (unsigned)(r0 & 0xffff), (unsigned)(r1 >> 48),
          (unsigned long long)(r1 & 0xffffffffffffULL));
}

/* KIP-345: a known instance id under a new member id takes its member's
 * place; the old id is fenced from now on. */
static void static_rejoin(struct group_coordinator *gc, struct group *g, struct group_member *m,
                          const char *new_id, const struct group_join_args *a) {
  void *old_join = m->join_token, *old_sync = m->sync_token;
  bool was_leader = strcmp(g->leader_id, m->id) == 0;
  m->join_token = m->sync_token = NULL;
  m->syncing = false;
  join_answer_error(gc, old_join, KERR_FENCED_INSTANCE_ID, kstr_of(m->id));
  sync_answer(gc, old_sync, KERR_FENCED_INSTANCE_ID, g, NULL);
  str_fmt(m->id, sizeof m->id, "%s", new_id);
  if (was_leader) str_fmt(g->leader_id, sizeof g->leader_id, "%s", new_id);
  bool same = protocols_same(m, a);
  if (same && g->state == GROUP_STABLE) {
    /* Nothing changed: the current generation stands (KIP-345); a leader
     * keeps its assignment (KIP-814's skip_assignment). The record names
     * the new member id, so a coordinator that loads it fences the old. */
    m->heartbeat_deadline_ms = a->now_ms + m->session_timeout_ms;
    gc->io->group_changed(gc->io_ctx, g);
    join_answer_member(gc, g, m, a->token, was_leader);
    return;
  }
  member_join(gc, g, m, a);
}

static void join_new_member(struct group_coordinator *gc, struct group *g,
                            const struct group_join_args *a) {
  char id[GROUP_NAME_BYTES_MAX + 1];
  new_member_id(a, id, sizeof id);
  struct group_member *known = member_by_instance(g, a->instance_id);
  if (known) {
    static_rejoin(gc, g, known, id, a);
    return;
  }
  int32_t size_max =
      gc->cfg.size_max < GROUP_MEMBERS_MAX ? gc->cfg.size_max : GROUP_MEMBERS_MAX;
  if (g->member_count + g->pending_count >= size_max) {
    join_answer_error(gc, a->token, KERR_GROUP_MAX_SIZE_REACHED, KSTR_LIT(""));
    return;
  }
  if (a->require_known_member_id && a->instance_id.len <= 0) {
    /* KIP-394: the id goes back to the member first; it must return with
     * it within its session timeout. */
    struct group_pending *arr =
        realloc(g->pending, (size_t)(g->pending_count + 1) * sizeof *g->pending);
    ASSERT(arr != NULL);
    g->pending = arr;
    struct group_pending *p = &g->pending[g->pending_count++];
    str_fmt(p->id, sizeof p->id, "%s", id);
    p->deadline_ms = a->now_ms + a->session_timeout_ms;
    join_answer_error(gc, a->token, KERR_MEMBER_ID_REQUIRED, kstr_of(p->id));
    return;
  }
  member_join(gc, g, member_add(g, kstr_of(id), a), a);
}

/* A member that names its id. */
static void join_known_member(struct group_coordinator *gc, struct group *g,
                              const struct group_join_args *a) {
  int32_t pi = pending_index(g, a->member_id);
  if (pi >= 0) {
    pending_remove(g, pi);
    member_join(gc, g, member_add(g, a->member_id, a), a);
    return;
  }
  struct group_member *m = member_find(g, a->member_id);
  struct group_member *by_instance = member_by_instance(g, a->instance_id);
  if (by_instance && by_instance != m) {
    join_answer_error(gc, a->token, KERR_FENCED_INSTANCE_ID, a->member_id);
    return;
  }
  if (!m) {
    join_answer_error(gc, a->token, KERR_UNKNOWN_MEMBER_ID, a->member_id);
    return;
  }
  if (m->joined && m->join_token) { /* a second join replaces the first */
    join_answer_error(gc, m->join_token, KERR_REBALANCE_IN_PROGRESS, a->member_id);
    m->join_token = NULL;
  }
  bool leader = strcmp(g->leader_id, m->id) == 0;
  bool same = protocols_same(m, a);
  if ((g->state == GROUP_COMPLETING_REBALANCE && same) ||
      (g->state == GROUP_STABLE && same && !leader)) {
    /* A repeated join of this generation is answered with it. */
    m->heartbeat_deadline_ms = a->now_ms + m->session_timeout_ms;
    join_answer_member(gc, g, m, a->token, false);
    return;
  }
  member_join(gc, g, m, a);
}

void group_join(struct group_coordinator *gc, const struct group_join_args *a) {
  ASSERT(a->token != NULL);
  if (a->group_id.len <= 0 || a->group_id.len > GROUP_ID_BYTES_MAX) {
    join_answer_error(gc, a->token, KERR_INVALID_GROUP_ID, a->member_id);
    return;
  }
  if (a->session_timeout_ms < gc->cfg.session_timeout_min_ms ||
      a->session_timeout_ms > gc->cfg.session_timeout_max_ms) {
    join_answer_error(gc, a->token, KERR_INVALID_SESSION_TIMEOUT, a->member_id);
    return;
  }
  if (a->protocol_count > GROUP_PROTOCOLS_MAX || a->member_id.len > GROUP_NAME_BYTES_MAX ||
      a->instance_id.len > GROUP_NAME_BYTES_MAX) {
    join_answer_error(gc, a->token, KERR_INVALID_REQUEST, a->member_id);
    return;
  }
  struct group *g = group_find(gc, a->group_id);
  bool known = a->member_id.len > 0;
  if (!g && known) {
    join_answer_error(gc, a->token, KERR_UNKNOWN_MEMBER_ID, a->member_id);
    return;
  }
  if (!g) g = group_create(gc, a->group_id, a->wall_ms);
  if (!g) {
    join_answer_error(gc, a->token, KERR_COORDINATOR_NOT_AVAILABLE, a->member_id);
    return;
  }
  const struct group_member *self = known ? member_find(g, a->member_id) : NULL;
  if (!self) self = member_by_instance(g, a->instance_id);
  if (!protocols_fit(g, a, self)) {
    join_answer_error(gc, a->token, KERR_INCONSISTENT_GROUP_PROTOCOL, a->member_id);
    return;
  }
  if (g->member_count == 0) copy_name(g->protocol_type, a->protocol_type);
  if (known)
    join_known_member(gc, g, a);
  else
    join_new_member(gc, g, a);
}

/* ---- sync, heartbeat, leave ---- */

/* The member of this request, or the error that says why not. */
static int16_t member_check(const struct group *g, struct kstr member_id,
                            struct kstr instance_id, struct group_member **out) {
  *out = NULL;
  if (!g || g->state == GROUP_DEAD) return KERR_UNKNOWN_MEMBER_ID;
  struct group_member *by_instance = member_by_instance(g, instance_id);
  struct group_member *m = member_find(g, member_id);
  if (by_instance && by_instance != m) return KERR_FENCED_INSTANCE_ID;
  if (!m) return KERR_UNKNOWN_MEMBER_ID;
  *out = m;
  return KERR_NONE;
}

static void complete_sync(struct group_coordinator *gc, struct group *g,
                          const struct group_sync_args *a) {
  for (int32_t i = 0; i < a->assignment_count; i++) {
    struct group_member *m = member_find(g, a->assignments[i].member_id);
    if (!m) continue; /* Kafka ignores assignments to strangers */
    struct kbytes b = a->assignments[i].metadata;
    free(m->assignment);
    m->assignment_len = b.len > 0 ? b.len : 0;
    m->assignment = malloc((size_t)m->assignment_len + 1);
    ASSERT(m->assignment != NULL);
    if (m->assignment_len) memcpy(m->assignment, b.ptr, (size_t)m->assignment_len);
  }
  g->state = GROUP_STABLE;
  g->state_wall_ms = a->wall_ms;
  gc->io->group_changed(gc->io_ctx, g);
  for (int32_t i = 0; i < g->member_count; i++) {
    struct group_member *m = g->members[i];
    if (!m->syncing) continue;
    void *token = m->sync_token;
    m->syncing = false;
    m->sync_token = NULL;
    sync_answer(gc, token, KERR_NONE, g, m);
  }
}

static int16_t sync_error(const struct group *g, const struct group_sync_args *a,
                          struct group_member **m) {
  int16_t err = member_check(g, a->member_id, a->instance_id, m);
  if (err != KERR_NONE) return err;
  if (a->generation != g->generation) return KERR_ILLEGAL_GENERATION;
  if ((a->protocol_type.len >= 0 && !name_eq(g->protocol_type, a->protocol_type)) ||
      (a->protocol_name.len >= 0 && !name_eq(g->protocol_name, a->protocol_name)))
    return KERR_INCONSISTENT_GROUP_PROTOCOL;
  if (g->state == GROUP_EMPTY) return KERR_UNKNOWN_MEMBER_ID;
  if (g->state == GROUP_PREPARING_REBALANCE) return KERR_REBALANCE_IN_PROGRESS;
  return KERR_NONE;
}

void group_sync(struct group_coordinator *gc, const struct group_sync_args *a) {
  ASSERT(a->token != NULL);
  struct group *g = group_find(gc, a->group_id);
  struct group_member *m;
  int16_t err = sync_error(g, a, &m);
  if (err != KERR_NONE) {
    sync_answer(gc, a->token, err, g, NULL);
    return;
  }
  m->heartbeat_deadline_ms = a->now_ms + m->session_timeout_ms;
  if (g->state == GROUP_STABLE) { /* a repeated sync: the assignment stands */
    sync_answer(gc, a->token, KERR_NONE, g, m);
    return;
  }
  ASSERT(g->state == GROUP_COMPLETING_REBALANCE);
  if (m->syncing && m->sync_token)
    sync_answer(gc, m->sync_token, KERR_REBALANCE_IN_PROGRESS, g, NULL);
  m->syncing = true;
  m->sync_token = a->token;
  if (strcmp(m->id, g->leader_id) == 0) complete_sync(gc, g, a);
}

int16_t group_heartbeat(struct group_coordinator *gc, const struct group_member_ref *ref) {
  struct group *g = group_find(gc, ref->group_id);
  struct group_member *m;
  int16_t err = member_check(g, ref->member_id, ref->instance_id, &m);
  if (err != KERR_NONE) return err;
  if (g->state == GROUP_EMPTY) return KERR_UNKNOWN_MEMBER_ID;
  m->heartbeat_deadline_ms = ref->now_ms + m->session_timeout_ms;
  if (g->state == GROUP_PREPARING_REBALANCE) return KERR_REBALANCE_IN_PROGRESS;
#ifndef SLUICE_MUTANT_GENERATION_CHECK_SKIPPED /* mutant: any generation heartbeats */
  if (ref->generation != g->generation) return KERR_ILLEGAL_GENERATION;
#endif
  return KERR_NONE;
}

/* The member is gone (left, or its session expired): the group rebalances
 * without it. */
static void member_gone(struct group_coordinator *gc, struct group *g, int32_t i,
                        int64_t now_ms, int64_t wall_ms) {
  struct group_member *m = g->members[i];
  void *join = m->join_token, *sync = m->sync_token;
  char id[GROUP_NAME_BYTES_MAX + 1];
  str_fmt(id, sizeof id, "%s", m->id);
  member_remove_at(g, i);
  join_answer_error(gc, join, KERR_UNKNOWN_MEMBER_ID, kstr_of(id));
  sync_answer(gc, sync, KERR_UNKNOWN_MEMBER_ID, g, NULL);
  if (g->state == GROUP_STABLE || g->state == GROUP_COMPLETING_REBALANCE)
    prepare_rebalance(gc, g, now_ms, wall_ms);
  group_maybe_complete_join(gc, g, now_ms, wall_ms);
}

int16_t group_leave(struct group_coordinator *gc, struct kstr group_id, struct kstr member_id,
                    struct kstr instance_id, int64_t now_ms, int64_t wall_ms) {
  struct group *g = group_find(gc, group_id);
  if (!g || g->state == GROUP_DEAD) return KERR_UNKNOWN_MEMBER_ID;
  int32_t pi = pending_index(g, member_id);
  if (member_id.len > 0 && pi >= 0) {
    pending_remove(g, pi);
    group_maybe_complete_join(gc, g, now_ms, wall_ms);
    return KERR_NONE;
  }
  struct group_member *m = NULL;
  if (member_id.len > 0) {
    int16_t err = member_check(g, member_id, instance_id, &m);
    if (err != KERR_NONE) return err;
  } else {
    m = member_by_instance(g, instance_id); /* KIP-345: by instance alone */
    if (!m) return KERR_UNKNOWN_MEMBER_ID;
  }
  for (int32_t i = 0; i < g->member_count; i++)
    if (g->members[i] == m) {
      member_gone(gc, g, i, now_ms, wall_ms);
      break;
    }
  return KERR_NONE;
}

void group_cancel(struct group_coordinator *gc, struct kstr group_id, void *token) {
  struct group *g = group_find(gc, group_id);
  if (!g || !token) return;
  for (int32_t i = 0; i < g->member_count; i++) {
    struct group_member *m = g->members[i];
    if (m->join_token == token) m->join_token = NULL; /* still joined: answered nowhere */
    if (m->sync_token == token) m->sync_token = NULL;
  }
}

/* ---- time ---- */

static void group_expire_sessions(struct group_coordinator *gc, struct group *g, int64_t now_ms,
                                  int64_t wall_ms) {
  for (int32_t i = g->pending_count - 1; i >= 0; i--)
    if (now_ms >= g->pending[i].deadline_ms) pending_remove(g, i);
  /* Members that joined the join phase are bounded by the rebalance
   * timeout, and members awaiting the leader's assignment by the leader's
   * session; the others must heartbeat (answered REBALANCE_IN_PROGRESS
   * while they should rejoin). */
  for (int32_t i = g->member_count - 1; i >= 0 && i < g->member_count; i--) {
    struct group_member *m = g->members[i];
    if (m->joined || m->syncing) continue;
    if (now_ms >= m->heartbeat_deadline_ms) member_gone(gc, g, i, now_ms, wall_ms);
  }
  group_maybe_complete_join(gc, g, now_ms, wall_ms);
}

void group_tick(struct group_coordinator *gc, int64_t now_ms, int64_t wall_ms) {
  for (int32_t i = 0; i < gc->group_count; i++) {
    struct group *g = gc->groups[i];
    if (g->state != GROUP_EMPTY || g->pending_count > 0)
      group_expire_sessions(gc, g, now_ms, wall_ms);
  }
  group_expire_offsets(gc, now_ms, wall_ms);
}

bool group_coordinator_busy(const struct group_coordinator *gc) {
  for (int32_t i = 0; i < gc->group_count; i++)
    if (gc->groups[i]->state != GROUP_EMPTY || gc->groups[i]->pending_count > 0) return true;
  return false;
}

void group_coordinator_init(struct group_coordinator *gc, const struct group_config *cfg,
                            const struct group_io *io, void *io_ctx) {
  ASSERT(cfg->partition_count > 0 &&
         cfg->session_timeout_min_ms <= cfg->session_timeout_max_ms);
  memset(gc, 0, sizeof *gc);
  gc->cfg = *cfg;
  gc->io = io;
  gc->io_ctx = io_ctx;
}

void group_coordinator_free(struct group_coordinator *gc) {
  for (int32_t n = 0; gc->group_count > 0 && n < GROUPS_MAX; n++)
    group_destroy(gc, gc->groups[gc->group_count - 1]);
  ASSERT(gc->group_count == 0);
  free(gc->groups);
  gc->groups = NULL;
  gc->group_cap = 0;
}

void group_unload_partition(struct group_coordinator *gc, int32_t partition) {
  for (int32_t i = gc->group_count - 1; i >= 0; i--) {
    struct group *g = gc->groups[i];
    if (g->partition != partition) continue;
    for (int32_t k = 0; k < g->member_count; k++) {
      struct group_member *m = g->members[k];
      void *join = m->join_token, *sync = m->sync_token;
      m->join_token = m->sync_token = NULL;
      join_answer_error(gc, join, KERR_NOT_COORDINATOR, kstr_of(m->id));
      sync_answer(gc, sync, KERR_NOT_COORDINATOR, g, NULL);
    }
    group_destroy(gc, g);
  }
}
