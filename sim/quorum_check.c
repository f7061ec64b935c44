/* The quorum checkers (sim/quorum_check.h). Each node's log is mirrored as
 * (epoch, payload hash, previous entry) per offset; an observation that
 * finds the node's epoch, role, end, high watermark and last epoch
 * unchanged stops there, otherwise only the entries that moved are looked
 * at: the scan for a rewritten tail walks back from the common end and
 * stops at the first entry that still matches. */
#include "sim/quorum_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "raft/raft.h"
#include "sim/world.h"

enum {
  QC_ELECTION_SAFETY,
  QC_EPOCH_MONOTONIC,
  QC_LEADER_APPEND_ONLY,
  QC_LOG_MATCHING,
  QC_COMMITTED_KEPT,
  QC_MINORITY_PROGRESS,
  QC_CHECK_QUORUM,
  QC_LEADER_STABLE,
  QC_CONVERGED,
  QC_APPLIED_PREFIX,
};

static const char *const checker_names[QUORUM_CHECKERS] = {
    [QC_ELECTION_SAFETY] = "election-safety",
    [QC_EPOCH_MONOTONIC] = "epoch-monotonic",
    [QC_LEADER_APPEND_ONLY] = "leader-append-only",
    [QC_LOG_MATCHING] = "log-matching",
    [QC_COMMITTED_KEPT] = "committed-kept",
    [QC_MINORITY_PROGRESS] = "minority-progress",
    [QC_CHECK_QUORUM] = "check-quorum",
    [QC_LEADER_STABLE] = "leader-stable",
    [QC_CONVERGED] = "quorum-converged",
    [QC_APPLIED_PREFIX] = "applied-prefix",
};

enum {
  QC_OFFSETS_MAX = 1 << 20, /* no run writes this many entries */
  QC_EPOCHS_MAX = 1 << 20,
  QC_SAME_OFFSET_MAX = 64, /* distinct epochs seen at one offset */
  QC_NODES_MAX = 16,
};

struct qc_entry {
  int32_t epoch;
  uint64_t hash;
};

/* What was seen at one (offset, epoch): the entry and the one before it
 * (prev_epoch -1: not known, the entry followed a snapshot). */
struct qc_seen {
  int32_t epoch, prev_epoch;
  uint64_t hash, prev_hash;
};

struct qc_offset {
  struct qc_seen *seen;
  uint32_t count, cap;
};

struct qc_node {
  bool up, ever_up;
  int32_t epoch, last_epoch;
  enum raft_role role;
  int64_t start, end, hw;
  struct qc_entry *log; /* [0, end): valid from start */
  int64_t log_cap;
  int32_t durable_epoch_at_end; /* -1: none noted */
  int32_t max_led_epoch;
  bool cut_off, leader_cut_reported;
  int64_t cut_bound;
  uint64_t cut_since_ns;
};

struct qc_result {
  uint64_t violations;
  char first[256];
};

struct quorum_check {
  struct quorum_check_config cfg;
  struct qc_node nodes[QC_NODES_MAX];
  int32_t *leaders; /* by epoch: the leader's id, 0: none seen */
  int64_t leaders_cap;
  struct qc_offset *offsets; /* log-matching, by offset */
  int64_t offsets_cap;
  struct qc_entry *committed; /* [0, committed_end) */
  int64_t committed_cap, committed_end;
  uint64_t applied_checks; /* quorum_check_applied calls */
  int64_t applied_max;     /* the furthest any node applied */
  int32_t stable_epoch;    /* leader-stable: the first leader's epoch in the window */
  int32_t stable_seen;     /* the last leader's epoch seen in it */
  bool faults_ended;
  uint64_t lost_ns;
  bool lost_pending;
  int32_t lost_epoch;
  /* quorum_check_leader's answer, found again only after a node went up or
   * down or changed its role or epoch (leader_stale). */
  int leader;
  bool leader_stale;
  uint32_t cut_mask; /* bit i: nodes[i].cut_off (the nodes a look at no node visits) */
  uint64_t elections_ms[QUORUM_ELECTIONS_MAX];
  int election_count;
  struct qc_result results[QUORUM_CHECKERS];
};

__attribute__((format(printf, 3, 4))) static void violation(struct quorum_check *q, int checker,
                                                            const char *fmt, ...) {
  struct qc_result *r = &q->results[checker];
  if (r->violations++ > 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->first, sizeof r->first, fmt, ap);
  va_end(ap);
}

/* Grows *p (elem bytes each) to hold index `need`, zeroing the new part. */
static void grow(void **p, int64_t *cap, int64_t need, size_t elem, int64_t max) {
  ASSERT(need >= 0 && need < max);
  if (need < *cap) return;
  int64_t n = *cap ? *cap : 64;
  while (n <= need) n *= 2;
  void *np = realloc(*p, (size_t)n * elem);
  ASSERT(np != NULL);
  memset((char *)np + (size_t)*cap * elem, 0, (size_t)(n - *cap) * elem);
  *p = np;
  *cap = n;
}

static uint64_t entry_hash(const struct raft_entry *e) {
  uint64_t h = 1469598103934665603ull;
  uint8_t head[3] = {e->type, (uint8_t)(e->size >> 8), (uint8_t)e->size};
  for (int i = 0; i < 3; i++) h = (h ^ head[i]) * 1099511628211ull;
  for (uint16_t i = 0; i < e->size && i < RAFT_PAYLOAD_MAX; i++)
    h = (h ^ e->payload[i]) * 1099511628211ull;
  return h;
}

static struct qc_entry entry_of(const struct raft *core, int64_t offset) {
  const struct raft_entry *e = raft_entry_at(core, offset);
  ASSERT(e != NULL);
  return (struct qc_entry){e->epoch, entry_hash(e)};
}

static bool same(struct qc_entry a, struct qc_entry b) {
  return a.epoch == b.epoch && a.hash == b.hash;
}

struct quorum_check *quorum_check_create(const struct quorum_check_config *cfg) {
  ASSERT(cfg->nodes >= 1 && cfg->nodes <= QC_NODES_MAX);
  struct quorum_check *q = calloc(1, sizeof *q);
  ASSERT(q != NULL);
  q->cfg = *cfg;
  q->stable_epoch = -1;
  q->leader = -1;
  for (int i = 0; i < cfg->nodes; i++) {
    q->nodes[i].durable_epoch_at_end = -1;
    q->nodes[i].max_led_epoch = -1;
  }
  return q;
}

void quorum_check_free(struct quorum_check *q) {
  if (!q) return;
  for (int i = 0; i < q->cfg.nodes; i++) free(q->nodes[i].log);
  for (int64_t o = 0; o < q->offsets_cap; o++) free(q->offsets[o].seen);
  free(q->offsets);
  free(q->leaders);
  free(q->committed);
  free(q);
}

/* ---- per entry: log-matching and committed-kept ---- */

static void match_entry(struct quorum_check *q, int id, int64_t offset, struct qc_entry e,
                        const struct qc_entry *prev) {
  grow((void **)&q->offsets, &q->offsets_cap, offset, sizeof *q->offsets, QC_OFFSETS_MAX);
  struct qc_offset *at = &q->offsets[offset];
  for (uint32_t i = 0; i < at->count; i++) {
    struct qc_seen *s = &at->seen[i];
    if (s->epoch != e.epoch) continue;
    if (s->hash != e.hash)
      violation(q, QC_LOG_MATCHING, "node %d holds another entry at offset %lld epoch %d", id,
                (long long)offset, e.epoch);
    else if (prev && s->prev_epoch >= 0 &&
             (s->prev_epoch != prev->epoch || s->prev_hash != prev->hash))
      violation(q, QC_LOG_MATCHING,
                "node %d: offset %lld epoch %d follows epoch %d at %lld, another log's "
                "follows epoch %d",
                id, (long long)offset, e.epoch, prev->epoch, (long long)offset - 1,
                s->prev_epoch);
    else if (prev && s->prev_epoch < 0) {
      s->prev_epoch = prev->epoch;
      s->prev_hash = prev->hash;
    }
    return;
  }
  ASSERT(at->count < QC_SAME_OFFSET_MAX);
  if (at->count == at->cap) {
    at->cap = at->cap ? at->cap * 2 : 2;
    at->seen = realloc(at->seen, at->cap * sizeof *at->seen);
    ASSERT(at->seen != NULL);
  }
  at->seen[at->count++] = (struct qc_seen){.epoch = e.epoch,
                                           .hash = e.hash,
                                           .prev_epoch = prev ? prev->epoch : -1,
                                           .prev_hash = prev ? prev->hash : 0};
}

/* Node n's entry at offset, which is below its high watermark: committed. */
static void commit_entry(struct quorum_check *q, int id, int64_t offset, struct qc_entry e) {
  if (offset < q->committed_end) {
    struct qc_entry c = q->committed[offset];
    if (!same(c, e))
      violation(q, QC_COMMITTED_KEPT,
                "node %d's high watermark covers offset %lld epoch %d, committed with "
                "epoch %d (another entry)",
                id, (long long)offset, e.epoch, c.epoch);
    return;
  }
  ASSERT(offset == q->committed_end);
  grow((void **)&q->committed, &q->committed_cap, offset, sizeof *q->committed, QC_OFFSETS_MAX);
  q->committed[offset] = e;
  q->committed_end = offset + 1;
}

/* A leader holds every committed entry (leader completeness). */
static void leader_complete(struct quorum_check *q, int id, const struct qc_node *n) {
  if (n->end < q->committed_end) {
    violation(q, QC_COMMITTED_KEPT,
              "node %d leads epoch %d with a log ending at %lld, below the committed %lld", id,
              n->epoch, (long long)n->end, (long long)q->committed_end);
    return;
  }
  for (int64_t o = n->start; o < q->committed_end; o++)
    if (!same(n->log[o], q->committed[o])) {
      violation(q, QC_COMMITTED_KEPT,
                "node %d leads epoch %d without the committed entry at offset %lld (epoch %d; "
                "it holds epoch %d)",
                id, n->epoch, (long long)o, q->committed[o].epoch, n->log[o].epoch);
      return;
    }
}

/* ---- per node ---- */

static void node_came_up(struct quorum_check *q, int id, struct qc_node *n, int32_t epoch,
                         const struct raft *core) {
  if (n->ever_up && epoch < n->durable_epoch_at_end)
    violation(q, QC_EPOCH_MONOTONIC,
              "node %d restarted at epoch %d, below the %d its quorum-state file held", id,
              epoch, n->durable_epoch_at_end);
  if (epoch < n->max_led_epoch)
    violation(q, QC_EPOCH_MONOTONIC, "node %d restarted at epoch %d after leading epoch %d", id,
              epoch, n->max_led_epoch);
  n->up = n->ever_up = true;
  q->leader_stale = true;
  n->start = raft_log_start_offset(core);
  n->end = n->start;
  n->hw = 0;
  n->epoch = epoch;
  n->role = RAFT_UNATTACHED;
  n->last_epoch = -2; /* forces the first look */
}

/* The lowest offset whose entry differs from the mirror, scanning back from
 * the common end to the first entry that still matches. */
static int64_t changed_from(const struct qc_node *n, const struct raft *core, int64_t start,
                            int64_t end) {
  int64_t common = n->end < end ? n->end : end;
  int64_t from = common;
  for (int64_t o = common - 1; o >= start && o >= n->start; o--) {
    if (same(n->log[o], entry_of(core, o))) break;
    from = o;
  }
  return from;
}

/* Mirrors node n's log from the core; returns the lowest offset that moved. */
static int64_t observe_log(struct quorum_check *q, int id, struct qc_node *n,
                           const struct raft *core, int64_t start, int64_t end, bool leads_on) {
  int64_t from = changed_from(n, core, start, end);
  if (leads_on && (end < n->end || from < n->end))
    violation(q, QC_LEADER_APPEND_ONLY,
              "node %d, leader of epoch %d, changed its log from offset %lld (end %lld -> "
              "%lld)",
              id, n->epoch, (long long)(from < end ? from : end), (long long)n->end,
              (long long)end);
  if (from < start) from = start;
  if (end > 0) grow((void **)&n->log, &n->log_cap, end - 1, sizeof *n->log, QC_OFFSETS_MAX);
  for (int64_t o = from; o < end; o++) {
    struct qc_entry e = entry_of(core, o);
    n->log[o] = e;
    match_entry(q, id, o, e, o > start ? &n->log[o - 1] : NULL);
  }
  n->start = start;
  n->end = end;
  return from;
}

static void observe_commit(struct quorum_check *q, int id, struct qc_node *n, int64_t hw,
                           int64_t changed) {
  int64_t from = n->hw < changed ? n->hw : changed;
  if (from < n->start) from = n->start;
  if (from > q->committed_end) from = q->committed_end; /* gaps: a snapshot's end */
  if (from < n->start) return;                          /* below its snapshot: not held */
  for (int64_t o = from; o < hw; o++) commit_entry(q, id, o, n->log[o]);
  n->hw = hw;
}

static void observe_leader(struct quorum_check *q, int id, struct qc_node *n, bool was_leader,
                           uint64_t now_ns) {
  grow((void **)&q->leaders, &q->leaders_cap, n->epoch, sizeof *q->leaders, QC_EPOCHS_MAX);
  int32_t *l = &q->leaders[n->epoch];
  if (*l != 0 && *l != id)
    violation(q, QC_ELECTION_SAFETY, "nodes %d and %d both led epoch %d", *l, id, n->epoch);
  *l = id;
  if (n->epoch > n->max_led_epoch) n->max_led_epoch = n->epoch;
  if (!was_leader) leader_complete(q, id, n);
  if (q->lost_pending && n->epoch > q->lost_epoch) {
    q->lost_pending = false;
    if (q->election_count < QUORUM_ELECTIONS_MAX)
      q->elections_ms[q->election_count++] = (now_ns - q->lost_ns) / 1000000;
  }
  if (q->cfg.leader_stable_from_ns && now_ns >= q->cfg.leader_stable_from_ns &&
      !q->faults_ended) {
    if (q->stable_epoch < 0) q->stable_epoch = q->stable_seen = n->epoch;
    if (n->epoch != q->stable_seen) { /* once per new epoch */
      q->stable_seen = n->epoch;
      violation(q, QC_LEADER_STABLE,
                "node %d leads epoch %d; the leader of epoch %d led when the window began", id,
                n->epoch, q->stable_epoch);
    }
  }
}

/* The majority-th largest log end among the voters (as last seen). */
static int64_t majority_end(const struct quorum_check *q, const struct quorum_view *views) {
  int64_t ends[QC_NODES_MAX];
  int count = 0;
  for (int i = 0; i < q->cfg.nodes; i++) {
    if (!views[i].voter) continue;
    int j = count++;
    for (; j > 0 && ends[j - 1] < q->nodes[i].end; j--) ends[j] = ends[j - 1];
    ends[j] = q->nodes[i].end;
  }
  return count ? ends[count / 2] : 0;
}

static void set_cut_off(struct quorum_check *q, int i, bool cut) {
  q->nodes[i].cut_off = cut;
  q->cut_mask = cut ? q->cut_mask | 1u << i : q->cut_mask & ~(1u << i);
}

static void observe_cut(struct quorum_check *q, int id, struct qc_node *n,
                        const struct quorum_view *views, bool cut, bool paused,
                        uint64_t now_ns) {
  if (cut && !n->cut_off) {
    n->cut_bound = majority_end(q, views);
    if (n->hw > n->cut_bound) n->cut_bound = n->hw;
    n->cut_since_ns = now_ns;
    n->leader_cut_reported = false;
  }
  set_cut_off(q, id - 1, cut);
  if (!cut) return;
  if (paused)
    n->cut_since_ns = now_ns; /* a stopped leader cannot resign: its bound starts at resume */
  if (n->hw > n->cut_bound)
    violation(q, QC_MINORITY_PROGRESS,
              "node %d, cut off from a majority, committed up to %lld (a majority held %lld)",
              id, (long long)n->hw, (long long)n->cut_bound);
  uint64_t bound_ns = (uint64_t)q->cfg.fetch_timeout_ms * 2 * 1000000;
  if (n->role == RAFT_LEADER && now_ns - n->cut_since_ns > bound_ns &&
      !n->leader_cut_reported) {
    n->leader_cut_reported = true;
    violation(q, QC_CHECK_QUORUM,
              "node %d still leads epoch %d %llu ms after being cut off (at %llu ms)", id,
              n->epoch, (unsigned long long)((now_ns - n->cut_since_ns) / 1000000),
              (unsigned long long)(now_ns / 1000000));
  }
}

static void observe_node(struct quorum_check *q, int i, const struct quorum_view *views,
                         uint64_t now_ns) {
  struct qc_node *n = &q->nodes[i];
  const struct raft *core = views[i].core;
  int id = i + 1;
  if (!core) {
    q->leader_stale = q->leader_stale || n->up;
    n->up = false;
    set_cut_off(q, i, false);
    return;
  }
  struct raft_quorum_state qs;
  raft_quorum_state(core, &qs);
  if (!n->up) node_came_up(q, id, n, qs.leader_epoch, core);
  enum raft_role role = raft_role(core);
  int64_t start = raft_log_start_offset(core), end = raft_end_offset(core);
  int64_t hw = raft_high_watermark(core);
  int32_t last_epoch = raft_last_fetched_epoch(core);
  bool moved = qs.leader_epoch != n->epoch || role != n->role || start != n->start ||
               end != n->end || hw != n->hw || last_epoch != n->last_epoch;
  if (moved) {
    if (qs.leader_epoch < n->epoch)
      violation(q, QC_EPOCH_MONOTONIC, "node %d went back from epoch %d to %d", id, n->epoch,
                qs.leader_epoch);
    bool leads_on =
        role == RAFT_LEADER && n->role == RAFT_LEADER && qs.leader_epoch == n->epoch;
    int64_t changed = observe_log(q, id, n, core, start, end, leads_on);
    bool was_leader = leads_on;
    q->leader_stale = q->leader_stale || qs.leader_epoch != n->epoch || role != n->role;
    n->epoch = qs.leader_epoch;
    n->role = role;
    n->last_epoch = last_epoch;
    observe_commit(q, id, n, hw, changed);
    if (role == RAFT_LEADER) observe_leader(q, id, n, was_leader, now_ns);
  }
  bool cut = views[i].cut_off && views[i].voter;
  if (cut || n->cut_off) /* else observe_cut would find nothing to do */
    observe_cut(q, id, n, views, cut, views[i].paused, now_ns);
}

void quorum_check_observe(struct quorum_check *q, uint64_t now_ns,
                          const struct quorum_view *views) {
  for (int i = 0; i < q->cfg.nodes; i++) observe_node(q, i, views, now_ns);
}

/* On an unchanged core observe_node finds nothing moved, and observe_cut
 * does nothing for a node that is not cut off: so after one node's event
 * only it and the nodes cut off are visited, in index order as a loop over
 * every node would (the first violation's text depends on it). */
void quorum_check_observe_node(struct quorum_check *q, uint64_t now_ns,
                               const struct quorum_view *views, int changed) {
  ASSERT(changed >= SIM_LOOK_NONE && changed < q->cfg.nodes);
  if (changed == SIM_LOOK_ALL) {
    quorum_check_observe(q, now_ns, views);
    return;
  }
  uint32_t todo = q->cut_mask | (changed >= 0 ? 1u << changed : 0);
  while (todo) {
    int i = __builtin_ctz(todo);
    todo &= todo - 1;
    struct qc_node *n = &q->nodes[i];
    if (i == changed) {
      observe_node(q, i, views, now_ns);
      continue;
    }
    if (!views[i].core || !n->cut_off) continue;
    ASSERT(n->up && views[i].cut_off && views[i].voter);
    observe_cut(q, i + 1, n, views, true, views[i].paused, now_ns);
  }
}

void quorum_check_process_ended(struct quorum_check *q, int index, int32_t durable_epoch) {
  ASSERT(index >= 0 && index < q->cfg.nodes);
  struct qc_node *n = &q->nodes[index];
  if (durable_epoch < n->max_led_epoch)
    violation(q, QC_EPOCH_MONOTONIC,
              "node %d's quorum-state file holds epoch %d after it led epoch %d", index + 1,
              durable_epoch, n->max_led_epoch);
  n->durable_epoch_at_end = durable_epoch;
  n->up = false;
  q->leader_stale = true;
  set_cut_off(q, index, false);
}

int quorum_check_leader(struct quorum_check *q) {
  if (!q->leader_stale) return q->leader;
  int leader = -1;
  int32_t epoch = -1;
  for (int i = 0; i < q->cfg.nodes; i++) {
    const struct qc_node *n = &q->nodes[i];
    if (!n->up || n->role != RAFT_LEADER || n->epoch <= epoch) continue;
    epoch = n->epoch;
    leader = i;
  }
  q->leader = leader;
  q->leader_stale = false;
  return leader;
}

void quorum_check_leader_lost(struct quorum_check *q, uint64_t now_ns) {
  int32_t epoch = -1;
  for (int i = 0; i < q->cfg.nodes; i++)
    if (q->nodes[i].epoch > epoch) epoch = q->nodes[i].epoch;
  q->lost_ns = now_ns;
  q->lost_epoch = epoch;
  q->lost_pending = true;
}

void quorum_check_applied(struct quorum_check *q, int index, int64_t applied_offset) {
  ASSERT(index >= 0 && index < q->cfg.nodes);
  q->applied_checks++;
  if (applied_offset > q->applied_max) q->applied_max = applied_offset;
  if (applied_offset > q->committed_end)
    violation(q, QC_APPLIED_PREFIX,
              "node %d applied the metadata log up to %lld, past the committed %lld", index + 1,
              (long long)applied_offset, (long long)q->committed_end);
}

void quorum_check_faults_ended(struct quorum_check *q, uint64_t now_ns) {
  (void)now_ns;
  q->faults_ended = true;
}

/* ---- the end ---- */

/* One leader agreed by every node that is up, every log the same and all
 * of it committed; else false with why (when why is not NULL). */
static bool agreed(const struct quorum_check *q, const struct quorum_view *views, char *why,
                   size_t why_bytes) {
  int leader = -1;
  for (int i = 0; i < q->cfg.nodes; i++)
    if (views[i].core && raft_role(views[i].core) == RAFT_LEADER) {
      if (leader >= 0) {
        if (why)
          snprintf(why, why_bytes, "nodes %d and %d both lead at the end", leader + 1, i + 1);
        return false;
      }
      leader = i;
    }
  if (leader < 0) {
    if (why) snprintf(why, why_bytes, "no leader at the end of the liveness phase");
    return false;
  }
  const struct qc_node *l = &q->nodes[leader];
  for (int i = 0; i < q->cfg.nodes; i++) {
    const struct qc_node *n = &q->nodes[i];
    if (!views[i].core) continue;
    struct raft_quorum_state qs;
    raft_quorum_state(views[i].core, &qs);
    if (qs.leader_epoch != l->epoch || qs.leader_id != leader + 1 || n->end != l->end ||
        n->hw != l->end) {
      if (why)
        snprintf(why, why_bytes,
                 "node %d: epoch %d leader %d end %lld high watermark %lld; the leader (node "
                 "%d): epoch %d end %lld",
                 i + 1, qs.leader_epoch, qs.leader_id, (long long)n->end, (long long)n->hw,
                 leader + 1, l->epoch, (long long)l->end);
      return false;
    }
    for (int64_t o = n->start > l->start ? n->start : l->start; o < n->end; o++)
      if (!same(n->log[o], l->log[o])) {
        if (why)
          snprintf(why, why_bytes, "node %d's entry at offset %lld differs from the leader's",
                   i + 1, (long long)o);
        return false;
      }
  }
  return true;
}

bool quorum_check_settled(const struct quorum_check *q, const struct quorum_view *views) {
  return agreed(q, views, NULL, 0);
}

static void converged(struct quorum_check *q, const struct quorum_view *views) {
  char why[256];
  if (!agreed(q, views, why, sizeof why)) violation(q, QC_CONVERGED, "%s", why);
}

int quorum_check_finish(struct quorum_check *q, const struct quorum_view *views,
                        struct check_result *out, int max) {
  converged(q, views);
  int count = 0;
  for (int c = 0; c < QUORUM_CHECKERS && count < max; c++) {
    struct check_result *r = &out[count++];
    *r =
        (struct check_result){.name = checker_names[c], .violations = q->results[c].violations};
    snprintf(r->first, sizeof r->first, "%s", q->results[c].first);
    if (c == QC_LEADER_STABLE && !q->cfg.leader_stable_from_ns && !r->violations)
      snprintf(r->first, sizeof r->first, "not asked (expect: leader_stable_after)");
    if (c == QC_APPLIED_PREFIX && !r->violations && q->applied_checks == 0)
      snprintf(r->first, sizeof r->first, "not fed: no node reported an applied offset");
    else if (c == QC_APPLIED_PREFIX && !r->violations)
      snprintf(r->first, sizeof r->first, "%llu observations, applied up to %lld",
               (unsigned long long)q->applied_checks, (long long)q->applied_max);
    if (c == QC_COMMITTED_KEPT && !r->violations)
      snprintf(r->first, sizeof r->first, "%lld entries committed",
               (long long)q->committed_end);
  }
  return count;
}

int quorum_check_elections(const struct quorum_check *q, uint64_t *ms, int max) {
  int n = q->election_count < max ? q->election_count : max;
  memcpy(ms, q->elections_ms, (size_t)n * sizeof *ms);
  return n;
}
