#include "sim/group_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

enum { OWNERS_MAX = 1 << 16, GENERATIONS_MAX = 4096 };

struct owner {
  int group;
  int32_t generation;
  int stream;
  int client;
};

/* Per group and generation: the streams its assignments covered. */
struct generation {
  int group;
  int32_t generation;
  uint64_t covered;  /* bit s: stream s */
  uint64_t first_ns; /* its first assignment was handed out */
};

struct group_check {
  int groups, streams;
  struct owner *owners;
  int owner_count;
  struct generation *gens;
  int gen_count;
  /* committed-offsets, per group and stream */
  int64_t committed[GROUP_CHECK_GROUPS_MAX][HISTORY_STREAMS_MAX];
  /* (time, offset) of each acknowledged commit, for the OffsetFetch check */
  struct commit_at {
    uint64_t t;
    int64_t offset;
  } * commits[GROUP_CHECK_GROUPS_MAX][HISTORY_STREAMS_MAX];
  int commit_count[GROUP_CHECK_GROUPS_MAX][HISTORY_STREAMS_MAX];
  int commit_cap[GROUP_CHECK_GROUPS_MAX][HISTORY_STREAMS_MAX];
  size_t ownership_violations, commit_violations, stale_violations;
  char ownership_first[256], commit_first[256], stale_first[256];
  uint64_t acks_seen;
  uint64_t commits_seen, fetches_seen;
  /* rebalance timing */
  uint64_t crash_ns[GROUP_CHECK_GROUPS_MAX]; /* 0: none pending */
  int32_t crash_generation[GROUP_CHECK_GROUPS_MAX];
  int32_t generation_max[GROUP_CHECK_GROUPS_MAX];
  uint64_t rebalance_ms[GROUP_CHECK_REBALANCES_MAX];
  int rebalance_group[GROUP_CHECK_REBALANCES_MAX];
  int rebalance_count;
};

struct group_check *group_check_create(int groups, int streams) {
  ASSERT(groups > 0 && groups <= GROUP_CHECK_GROUPS_MAX && streams > 0 &&
         streams <= HISTORY_STREAMS_MAX);
  struct group_check *gc = calloc(1, sizeof *gc);
  ASSERT(gc != NULL);
  gc->groups = groups;
  gc->streams = streams;
  for (int g = 0; g < groups; g++) {
    gc->generation_max[g] = -1;
    for (int s = 0; s < streams; s++) gc->committed[g][s] = -1;
  }
  return gc;
}

void group_check_free(struct group_check *gc) {
  if (!gc) return;
  for (int g = 0; g < gc->groups; g++)
    for (int s = 0; s < gc->streams; s++) free(gc->commits[g][s]);
  free(gc->owners);
  free(gc->gens);
  free(gc);
}

static struct generation *generation_of(struct group_check *gc, int group, int32_t gen) {
  for (int i = gc->gen_count - 1; i >= 0; i--)
    if (gc->gens[i].group == group && gc->gens[i].generation == gen) return &gc->gens[i];
  if (gc->gen_count == GENERATIONS_MAX) return NULL;
  if (gc->gen_count % 64 == 0) {
    gc->gens = realloc(gc->gens, (size_t)(gc->gen_count + 64) * sizeof *gc->gens);
    ASSERT(gc->gens != NULL);
  }
  struct generation *g = &gc->gens[gc->gen_count++];
  *g = (struct generation){.group = group, .generation = gen, .first_ns = UINT64_MAX};
  return g;
}

static void own(struct group_check *gc, int group, int32_t gen, int stream, int client) {
  for (int i = gc->owner_count - 1; i >= 0; i--) {
    const struct owner *o = &gc->owners[i];
    if (o->group != group || o->generation != gen || o->stream != stream) continue;
    if (o->client == client) return;
    if (gc->ownership_violations++ == 0)
      snprintf(gc->ownership_first, sizeof gc->ownership_first,
               "group %d generation %d: stream %d assigned to client %d and client %d", group,
               gen, stream, o->client, client);
    return;
  }
  if (gc->owner_count == OWNERS_MAX) return;
  if (gc->owner_count % 256 == 0) {
    gc->owners = realloc(gc->owners, (size_t)(gc->owner_count + 256) * sizeof *gc->owners);
    ASSERT(gc->owners != NULL);
  }
  gc->owners[gc->owner_count++] = (struct owner){group, gen, stream, client};
}

void group_check_assigned(struct group_check *gc, int group, int32_t generation, int client,
                          int count, const int *streams, uint64_t now_ns) {
  ASSERT(group >= 0 && group < gc->groups);
  struct generation *g = generation_of(gc, group, generation);
  if (g && now_ns < g->first_ns) g->first_ns = now_ns;
  for (int i = 0; i < count; i++) {
    if (streams[i] < 0 || streams[i] >= gc->streams) continue;
    own(gc, group, generation, streams[i], client);
    if (g) g->covered |= 1ull << streams[i];
  }
  if (generation > gc->generation_max[group]) gc->generation_max[group] = generation;
  uint64_t all = gc->streams == 64 ? ~0ull : (1ull << gc->streams) - 1;
  bool pending = gc->crash_ns[group] != 0 && generation > gc->crash_generation[group];
  if (pending && g && (g->covered & all) == all) {
    if (gc->rebalance_count < GROUP_CHECK_REBALANCES_MAX) {
      gc->rebalance_ms[gc->rebalance_count] = (now_ns - gc->crash_ns[group]) / 1000000;
      gc->rebalance_group[gc->rebalance_count++] = group;
    }
    gc->crash_ns[group] = 0;
  }
}

void group_check_acknowledged(struct group_check *gc, int group, int client, const char *what,
                              int32_t generation, uint64_t sent_ns) {
  ASSERT(group >= 0 && group < gc->groups);
  gc->acks_seen++;
  int32_t newer = -1;
  for (int i = 0; i < gc->gen_count; i++) {
    const struct generation *g = &gc->gens[i];
    if (g->group == group && g->generation > generation && g->first_ns < sent_ns &&
        g->generation > newer)
      newer = g->generation;
  }
  if (newer < 0) return;
  if (gc->stale_violations++ == 0)
    snprintf(gc->stale_first, sizeof gc->stale_first,
             "group %d: client %d's %s of generation %d accepted, sent after generation %d "
             "was assigned",
             group, client, what, generation, newer);
}

void group_check_crashed(struct group_check *gc, int group, uint64_t now_ns) {
  ASSERT(group >= 0 && group < gc->groups);
  if (gc->crash_ns[group] != 0) return; /* timed from the first crash */
  gc->crash_ns[group] = now_ns ? now_ns : 1;
  gc->crash_generation[group] = gc->generation_max[group];
}

void group_check_committed(struct group_check *gc, int group, int stream, int64_t offset,
                           uint64_t now_ns) {
  ASSERT(group >= 0 && group < gc->groups && stream >= 0 && stream < gc->streams);
  gc->commits_seen++;
  if (offset < gc->committed[group][stream] && gc->commit_violations++ == 0)
    snprintf(gc->commit_first, sizeof gc->commit_first,
             "group %d stream %d: commit of offset %lld acknowledged after one of %lld", group,
             stream, (long long)offset, (long long)gc->committed[group][stream]);
  if (offset > gc->committed[group][stream]) gc->committed[group][stream] = offset;
  int *n = &gc->commit_count[group][stream], *cap = &gc->commit_cap[group][stream];
  if (*n == *cap) {
    *cap = *cap ? *cap * 2 : 64;
    gc->commits[group][stream] =
        realloc(gc->commits[group][stream], (size_t)*cap * sizeof(struct commit_at));
    ASSERT(gc->commits[group][stream] != NULL);
  }
  gc->commits[group][stream][(*n)++] = (struct commit_at){now_ns, offset};
}

void group_check_fetched(struct group_check *gc, int group, int stream, int64_t offset,
                         uint64_t sent_ns) {
  ASSERT(group >= 0 && group < gc->groups && stream >= 0 && stream < gc->streams);
  gc->fetches_seen++;
  int64_t best = -1;
  for (int i = 0; i < gc->commit_count[group][stream]; i++) {
    const struct commit_at *c = &gc->commits[group][stream][i];
    if (c->t < sent_ns && c->offset > best) best = c->offset;
  }
  if (offset < best && gc->commit_violations++ == 0)
    snprintf(gc->commit_first, sizeof gc->commit_first,
             "group %d stream %d: OffsetFetch answered %lld, below the commit of %lld "
             "acknowledged before it was asked",
             group, stream, (long long)offset, (long long)best);
}

/* group-read: every value of the final read, read by some member of g. */
static void judge_reads(const struct history *h, const int *client_group, int clients,
                        int groups, struct check_result *out) {
  size_t words = (size_t)(h->values_max / 64 + 1);
  uint64_t *final = calloc(words, sizeof *final);
  uint64_t *seen = calloc(words * (size_t)groups, sizeof *seen);
  ASSERT(final != NULL && seen != NULL);
  for (size_t i = 0; i < h->count; i++) {
    const struct history_event *e = &h->events[i];
    if (e->kind != HISTORY_POLL || e->value >= h->values_max) continue;
    if (e->client == h->final_reader) final[e->value / 64] |= 1ull << (e->value % 64);
    int g = e->client > 0 && e->client <= clients ? client_group[e->client] : -1;
    if (g >= 0) seen[(size_t)g * words + e->value / 64] |= 1ull << (e->value % 64);
  }
  *out = (struct check_result){.name = "group-read"};
  uint64_t checked = 0;
  for (int g = 0; g < groups; g++)
    for (uint64_t v = 0; v < h->values_max; v++) {
      if (!(final[v / 64] >> (v % 64) & 1)) continue;
      checked++;
      if (seen[(size_t)g * words + v / 64] >> (v % 64) & 1) continue;
      if (out->violations++ == 0)
        snprintf(out->first, sizeof out->first,
                 "value %llu (in the final read) was read by no member of group %d",
                 (unsigned long long)v, g);
    }
  if (!out->violations)
    snprintf(out->first, sizeof out->first, "%llu values x groups read by a member",
             (unsigned long long)checked);
  free(final);
  free(seen);
}

int group_check_finish(struct group_check *gc, const struct history *h, const int *client_group,
                       int clients, struct check_result *out, int out_max) {
  ASSERT(out_max >= GROUP_CHECKERS);
  out[0] =
      (struct check_result){.name = "group-ownership", .violations = gc->ownership_violations};
  if (gc->ownership_violations)
    snprintf(out[0].first, sizeof out[0].first, "%s", gc->ownership_first);
  else
    snprintf(out[0].first, sizeof out[0].first, "%d assignments in %d generations",
             gc->owner_count, gc->gen_count);
  out[1] =
      (struct check_result){.name = "committed-offsets", .violations = gc->commit_violations};
  if (gc->commit_violations)
    snprintf(out[1].first, sizeof out[1].first, "%s", gc->commit_first);
  else
    snprintf(out[1].first, sizeof out[1].first, "%llu commits, %llu fetched offsets",
             (unsigned long long)gc->commits_seen, (unsigned long long)gc->fetches_seen);
  judge_reads(h, client_group, clients, gc->groups, &out[2]);
  out[3] =
      (struct check_result){.name = "group-generation", .violations = gc->stale_violations};
  if (gc->stale_violations)
    snprintf(out[3].first, sizeof out[3].first, "%s", gc->stale_first);
  else
    snprintf(out[3].first, sizeof out[3].first,
             "%llu heartbeats and commits accepted, none of a stale generation",
             (unsigned long long)gc->acks_seen);
  return GROUP_CHECKERS;
}

void group_check_rebalances(const struct group_check *gc, char *text, size_t cap) {
  text[0] = 0;
  size_t len = 0;
  for (int i = 0; i < gc->rebalance_count && len + 1 < cap; i++)
    len += (size_t)snprintf(text + len, cap - len, "%s%llu ms (group %d)",
                            i ? ", " : "rebalance after a member crash: ",
                            (unsigned long long)gc->rebalance_ms[i], gc->rebalance_group[i]);
  for (int g = 0; g < gc->groups && len + 1 < cap; g++)
    if (gc->crash_ns[g])
      len += (size_t)snprintf(text + len, cap - len,
                              "%sgroup %d: no full generation after its last crash",
                              len ? "; " : "", g);
}
