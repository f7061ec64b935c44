/* The replica checkers (sim/replica_check.h). The images are judged when
 * they move; the high watermarks are polled every RC_POLL_MS of virtual
 * time and the disks' batch headers scanned every RC_SCAN_MS, at every new
 * leader epoch and at the end. */
#include "sim/replica_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/endian.h"
#include "meta/image.h"
#include "server/node.h"
#include "sim/disk.h"
#include "sim/scenario.h"
#include "sim/world.h"

enum {
  RC_LOG_MATCHING,
  RC_HW_MONOTONIC,
  RC_LEADER_IN_ISR,
  RC_ACKS_ALL_MIN_ISR,
  RC_PREFERRED_LEADER,
  RC_ISR_FETCH_EPOCH,
  RC_FOLLOWER_HW
};

static const char *const checker_names[REPLICA_CHECKERS] = {
    [RC_LOG_MATCHING] = "replica-log-matching", [RC_HW_MONOTONIC] = "hw-monotonic",
    [RC_LEADER_IN_ISR] = "leader-in-isr",       [RC_ACKS_ALL_MIN_ISR] = "acks-all-min-isr",
    [RC_PREFERRED_LEADER] = "preferred-leader", [RC_ISR_FETCH_EPOCH] = "isr-fetch-epoch",
    [RC_FOLLOWER_HW] = "follower-hw",
};

enum {
  RC_NODES_MAX = 16,
  RC_PARTS_MAX = 256,
  RC_POLL_MS = 100,
  RC_SCAN_MS = 2000,
  RC_SEGMENTS_MAX = 4096,
  RC_BATCHES_MAX = 1 << 22,
  RC_HEADER_BYTES = 61,
  RC_NAME_DIGITS = 20,
  /* follower-hw judges a partition whose leader's end stood still this
   * long: past replica.fetch.wait.max.ms (500) and a fetch round, so each
   * follower's long poll has come back with the final high watermark. */
  RC_FOLLOWER_HW_QUIET_MS = 2000,
};
#define RC_NS_PER_MS 1000000ull

struct rc_part {
  const char *topic;
  int topic_index;
  int32_t unclean_leader; /* an unclean election's leader to note (-1: none) */
  int32_t partition;
  bool strict; /* flush.messages=1: nothing acknowledged may be lost */
  /* cleanup.policy=compact: each replica's cleaner rewrites its own batches
   * (as Kafka's do), so byte-for-byte matching does not apply; not judged
   * by replica-log-matching (a record-level comparison is not built). */
  bool compacted;
  int32_t pepoch, leader, leader_epoch, isr_count;
  int32_t isr[META_REPLICAS_MAX];
  int32_t elr_count; /* KIP-966: a leader may come from here too */
  int32_t elr[META_REPLICAS_MAX];
  int32_t last_known_elr_count; /* and here, when both are empty */
  int32_t last_known_elr[META_REPLICAS_MAX];
  int32_t max_leader_epoch;
  int32_t pending_leader; /* hw-monotonic: the new leader to judge (-1: none) */
  int64_t pending_hw;     /* the highest watermark served before its epoch */
  int64_t hw_max;
  /* follower-hw: the leader's log end and high watermark at the last
   * poll, and since when both stood still (the high watermark can move
   * after the end stopped: an ISR shrink commits what one member lacked). */
  int64_t end_seen, hw_seen;
  uint64_t end_since_ns;
  int32_t min_isr; /* min.insync.replicas */
  /* acks-all-min-isr: the furthest each node's replica ever reached
   * (node_partition_offsets' local_end; -1: never seen). */
  int64_t held[RC_NODES_MAX];
};

struct rc_result {
  uint64_t violations, allowed, checks;
  char first[256];
};

struct rc_batch {
  int64_t base, last;
  uint32_t crc;
};

struct rc_log {
  struct rc_batch *b;
  int64_t count, cap;
  int64_t rising; /* b[0, rising) have strictly rising bases (a sane log's) */
};

struct rc_view {
  const struct rc_batch *b;
  int64_t count;
};

/* What one segment file gave a replica's cached headers. */
struct rc_seg {
  int64_t base;                   /* from its name */
  bool present;                   /* false: listed but gone when looked up */
  bool ended;                     /* a header that cannot be a batch at pos */
  uint64_t serial, rewrites, len; /* the file when last parsed */
  uint64_t pos;                   /* the next header's position */
  int64_t first, count;           /* its headers in the cache's batches */
};

/* One node's replica of one partition as the last scan left it: every
 * batch header of its segments in order, whatever the limit. */
struct rc_cache {
  struct rc_log batches;
  struct rc_seg *segs;
  int32_t seg_count, seg_cap;
  uint64_t updates; /* cache_update calls */
  int64_t stable;   /* batches [0, stable) the last update left as they were */
};

/* Where the last comparison of two replicas stopped, so the next one
 * resumes there when neither log changed below it (rc_pair_resumes). */
struct rc_pair {
  bool valid;
  uint64_t updates_a, updates_b; /* each cache's updates then */
  int64_t x, y, limit;
};

struct rc_segments {
  int64_t bases[RC_SEGMENTS_MAX];
  int count;
};

struct replica_check {
  const struct scenario *sc;
  int nodes, part_count;
  bool unclean;
  /* preferred-leader: judged when the scenario sets a leader imbalance
   * check interval and leaves auto.leader.rebalance.enable on. */
  bool rebalance;
  int32_t imbalance_pct_max; /* leader.imbalance.per.broker.percentage */
  struct rc_part parts[RC_PARTS_MAX];
  /* acks-all-min-isr: the parts of each topic, partitions 0, 1, ... in
   * order from part held_first[g] (held_count[g] of them), for the topics
   * that have one with min.insync.replicas above 1. */
  int held_first[RC_PARTS_MAX], held_count[RC_PARTS_MAX];
  int held_groups;
  int topic_first[SCENARIO_TOPICS_MAX]; /* topic t's partition 0's part; -1: none */
  int64_t image_offset[RC_NODES_MAX];
  uint64_t next_poll_ns, next_scan_ns;
  bool scan_due;
  uint64_t skipped;                  /* image steps of more than one partition epoch */
  uint64_t shrinks, expands;         /* ISR changes seen (the report's words) */
  struct rc_view logs[RC_NODES_MAX]; /* the scan's, in cache */
  struct rc_cache *cache;            /* part k, node i: k * nodes + i */
  struct rc_segments *segs_scratch;
  struct rc_pair *pairs;                /* part k, nodes i < j: (k * nodes + i) * nodes + j */
  struct node *procs_now[RC_NODES_MAX]; /* the last observation's processes */
  /* Whether some part may have a pending_leader (>= 1) or an
   * unclean_leader to note: the loops over the parts run only then. */
  bool pending_any, unclean_any;
  /* acks-all-min-isr: each node's process and disk writes + fsyncs when
   * its replicas were last looked at. */
  struct node *held_proc[RC_NODES_MAX];
  uint64_t held_disk_ops[RC_NODES_MAX];
  struct rc_result results[REPLICA_CHECKERS];
  uint64_t now_ns; /* the last poll's */
};

static const char *config_of(const struct scenario_kv *kv, int count, const char *key) {
  for (int i = 0; i < count; i++)
    if (!strcmp(kv[i].key, key)) return kv[i].value;
  return NULL;
}

static void held_groups_init(struct replica_check *rc);

struct replica_check *replica_check_create(const struct scenario *sc) {
  ASSERT(sc->nodes >= 1 && sc->nodes <= RC_NODES_MAX);
  struct replica_check *rc = calloc(1, sizeof *rc);
  ASSERT(rc != NULL);
  rc->sc = sc;
  rc->nodes = sc->nodes;
  const char *u = config_of(sc->config, sc->config_count, "unclean.leader.election.enable");
  rc->unclean = u && !strcmp(u, "true");
  const char *every =
      config_of(sc->config, sc->config_count, "leader.imbalance.check.interval.seconds");
  const char *on = config_of(sc->config, sc->config_count, "auto.leader.rebalance.enable");
  const char *pct =
      config_of(sc->config, sc->config_count, "leader.imbalance.per.broker.percentage");
  rc->rebalance = every != NULL && !(on && !strcmp(on, "false"));
  rc->imbalance_pct_max = pct ? atoi(pct) : 10;
  const char *flush = config_of(sc->config, sc->config_count, "flush.messages");
  const char *isr = config_of(sc->config, sc->config_count, "min.insync.replicas");
  for (int t = 0; t < sc->topic_count; t++) {
    const char *f =
        config_of(sc->topics[t].config, sc->topics[t].config_count, "flush.messages");
    if (!f) f = flush;
    const char *m =
        config_of(sc->topics[t].config, sc->topics[t].config_count, "min.insync.replicas");
    if (!m) m = isr;
    const char *policy =
        config_of(sc->topics[t].config, sc->topics[t].config_count, "cleanup.policy");
    for (int32_t p = 0; p < sc->topics[t].partitions && rc->part_count < RC_PARTS_MAX; p++)
      rc->parts[rc->part_count++] =
          (struct rc_part){.topic = sc->topics[t].name,
                           .topic_index = t,
                           .unclean_leader = -1,
                           .partition = p,
                           .strict = f && !strcmp(f, "1"),
                           .compacted = policy && strstr(policy, "compact"),
                           .pepoch = -1,
                           .leader = -1,
                           .leader_epoch = -1,
                           .max_leader_epoch = -1,
                           .pending_leader = -1,
                           .hw_max = 0,
                           .end_seen = -1,
                           .hw_seen = -1,
                           .min_isr = m ? atoi(m) : 1};
  }
  for (int t = 0; t < SCENARIO_TOPICS_MAX; t++) rc->topic_first[t] = -1;
  for (int k = rc->part_count - 1; k >= 0; k--) {
    for (int i = 0; i < RC_NODES_MAX; i++) rc->parts[k].held[i] = -1;
    ASSERT(rc->parts[k].topic_index < SCENARIO_TOPICS_MAX);
    rc->topic_first[rc->parts[k].topic_index] = k;
  }
  held_groups_init(rc);
  for (int i = 0; i < RC_NODES_MAX; i++) rc->image_offset[i] = -2;
  rc->pairs =
      calloc((size_t)(rc->part_count ? rc->part_count : 1) * (size_t)(rc->nodes * rc->nodes),
             sizeof *rc->pairs);
  ASSERT(rc->pairs != NULL);
  rc->cache = calloc((size_t)(rc->part_count ? rc->part_count : 1) * (size_t)rc->nodes,
                     sizeof *rc->cache);
  ASSERT(rc->cache != NULL);
  rc->segs_scratch = malloc(sizeof *rc->segs_scratch);
  ASSERT(rc->segs_scratch != NULL);
  return rc;
}

void replica_check_free(struct replica_check *rc) {
  if (!rc) return;
  for (int c = 0; rc->cache && c < rc->part_count * rc->nodes; c++) {
    free(rc->cache[c].batches.b);
    free(rc->cache[c].segs);
  }
  free(rc->segs_scratch);
  free(rc->pairs);
  free(rc->cache);
  free(rc);
}

/* Whether a loss in this partition is one the run allows: an unclean
 * election may happen, or (Kafka's mode) every replica lost its page cache
 * to a power loss. */
static bool loss_allowed(const struct replica_check *rc, const struct rc_part *p,
                         struct sim_node *const *nodes) {
  if (rc->unclean) return true;
  if (p->strict) return false;
  for (int i = 0; i < rc->nodes; i++) {
    struct sim_disk_stats st;
    sim_disk_stats(nodes[i], &st);
    if (st.crashes + st.disks_lost == 0) return false;
  }
  return true;
}

__attribute__((format(printf, 4, 5))) static void verdict(struct replica_check *rc, int checker,
                                                          bool allowed, const char *fmt, ...) {
  struct rc_result *r = &rc->results[checker];
  uint64_t *n = allowed ? &r->allowed : &r->violations;
  bool first = r->violations == 0 && (!allowed || r->allowed == 0);
  (*n)++;
  if (!first) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->first, sizeof r->first, fmt, ap);
  va_end(ap);
}

static bool in_isr(const struct rc_part *p, int32_t id) {
  for (int32_t i = 0; i < p->isr_count; i++)
    if (p->isr[i] == id) return true;
  return false;
}

static bool in_ids(const int32_t *ids, int32_t count, int32_t id) {
  for (int32_t i = 0; i < count; i++)
    if (ids[i] == id) return true;
  return false;
}

/* KIP-966: a leader from the ELR is a clean election too (the change that
 * fences the ISR's last member elects it in the same record), and so is
 * one from the last known ELR once the ISR and the ELR are both empty
 * (every eligible replica shut down uncleanly). */
static bool eligible(const struct rc_part *p, int32_t id) {
  if (in_isr(p, id) || in_ids(p->elr, p->elr_count, id)) return true;
  return p->isr_count == 0 && p->elr_count == 0 &&
         in_ids(p->last_known_elr, p->last_known_elr_count, id);
}

/* ---- images: leader-in-isr, and new leader epochs ---- */

static const struct meta_partition *find(const struct meta_image *image, const char *topic,
                                         int32_t partition) {
  for (int32_t t = 0; t < image->topic_count; t++) {
    const struct meta_topic *mt = image->topics_by_name[t];
    if (strcmp(mt->name, topic) != 0) continue;
    return partition < mt->partition_count ? &mt->partitions[partition] : NULL;
  }
  return NULL;
}

static void judge_step(struct replica_check *rc, struct rc_part *p,
                       const struct meta_partition *mp, int node, int64_t offset,
                       struct sim_node *const *nodes) {
  if (mp->partition_epoch <= p->pepoch) return;
  if (mp->partition_epoch != p->pepoch + 1) {
    rc->skipped++; /* more than one change at once: no previous state to judge by */
  } else if (mp->leader_epoch > p->leader_epoch && mp->leader_epoch > 0 && mp->leader >= 1) {
    rc->results[RC_LEADER_IN_ISR].checks++;
    if (!eligible(p, mp->leader) && rc->unclean) {
      p->unclean_leader = mp->leader;
      rc->unclean_any = true;
    }
    if (!eligible(p, mp->leader))
      verdict(
          rc, RC_LEADER_IN_ISR, rc->unclean,
          "node %d's image at %lld: %s-%d led by %d in epoch %d, outside the ISR (and ELR) of "
          "partition epoch %d",
          node + 1, (long long)offset, p->topic, p->partition, mp->leader, mp->leader_epoch,
          p->pepoch);
  }
  (void)nodes;
  if (p->pepoch >= 0 && mp->isr_count < p->isr_count) rc->shrinks++;
  if (p->pepoch >= 0 && mp->isr_count > p->isr_count) rc->expands++;
  p->pepoch = mp->partition_epoch;
  p->leader = mp->leader;
  p->leader_epoch = mp->leader_epoch;
  p->isr_count = mp->isr_count;
  memcpy(p->isr, mp->isr, sizeof p->isr);
  p->elr_count = mp->elr_count;
  memcpy(p->elr, mp->elr, sizeof p->elr);
  p->last_known_elr_count = mp->last_known_elr_count;
  memcpy(p->last_known_elr, mp->last_known_elr, sizeof p->last_known_elr);
  if (mp->leader_epoch > p->max_leader_epoch) {
    p->max_leader_epoch = mp->leader_epoch;
    p->pending_leader = mp->leader;
    if (p->pending_leader >= 1) rc->pending_any = true;
    p->pending_hw = p->hw_max;
    rc->scan_due = true;
  }
}

static void observe_image(struct replica_check *rc, int node, const struct meta_image *image,
                          struct sim_node *const *nodes) {
  for (int i = 0; i < rc->part_count; i++) {
    const struct meta_partition *mp = find(image, rc->parts[i].topic, rc->parts[i].partition);
    if (mp) judge_step(rc, &rc->parts[i], mp, node, image->offset, nodes);
  }
}

/* ---- high watermarks: hw-monotonic ---- */

/* Whether node i's own image names it leader of p in the newest epoch. */
static bool leads_now(const struct rc_part *p, int i, struct node *const *procs) {
  if (!procs[i]) return false;
  const struct meta_image *image = node_metadata_image(procs[i]);
  const struct meta_partition *mp = image ? find(image, p->topic, p->partition) : NULL;
  return mp && mp->leader == i + 1 && mp->leader_epoch == p->max_leader_epoch;
}

static void judge_new_leader(struct replica_check *rc, struct rc_part *p,
                             struct node *const *procs, struct sim_node *const *nodes) {
  int i = p->pending_leader - 1;
  if (i < 0 || i >= rc->nodes || !leads_now(p, i, procs)) return;
  p->pending_leader = -1;
  struct node_partition_offsets po;
  if (!node_partition_offsets(procs[i], p->topic, p->partition, &po)) return;
  rc->results[RC_HW_MONOTONIC].checks++;
  if (po.log_end < p->pending_hw)
    verdict(rc, RC_HW_MONOTONIC, loss_allowed(rc, p, nodes),
            "%s-%d: new leader %d in epoch %d holds up to %lld, below the high watermark "
            "%lld an earlier leader served",
            p->topic, p->partition, i + 1, p->max_leader_epoch, (long long)po.log_end,
            (long long)p->pending_hw);
}

/* isr-fetch-epoch (KIP-320): every fetch the leader counted toward its
 * ISR and high watermark in this leadership carried its leader epoch. A
 * follower still in an older epoch (its metadata lags a bump with the same
 * leader, KIP-455's reassignments) must be fenced, never counted: it may
 * be a replica the new epoch no longer has in sync. The data checkers do
 * not see it, for it copies the same leader's log. */
static void judge_fetch_epochs(struct replica_check *rc, const struct rc_part *p, int i,
                               struct node *const *procs) {
  struct node_stale_fetch sf;
  rc->results[RC_ISR_FETCH_EPOCH].checks++;
  if (!node_partition_stale_fetch(procs[i], p->topic, p->partition, &sf)) return;
  verdict(rc, RC_ISR_FETCH_EPOCH, false,
          "%s-%d: leader %d in epoch %d counted a fetch of follower %d in epoch %d", p->topic,
          p->partition, i + 1, sf.leader_epoch, sf.replica_id, sf.fetch_epoch);
}

static void poll_hw(struct replica_check *rc, uint64_t now_ns, struct node *const *procs) {
  for (int k = 0; k < rc->part_count; k++) {
    struct rc_part *p = &rc->parts[k];
    int i = p->leader - 1;
    if (i < 0 || i >= rc->nodes || !leads_now(p, i, procs)) continue;
    struct node_partition_offsets po;
    bool known = node_partition_offsets(procs[i], p->topic, p->partition, &po);
    if (known && po.high_watermark > p->hw_max) p->hw_max = po.high_watermark;
    if (known && (po.log_end != p->end_seen || po.high_watermark != p->hw_seen)) {
      p->end_seen = po.log_end;
      p->hw_seen = po.high_watermark;
      p->end_since_ns = now_ns;
    }
    judge_fetch_epochs(rc, p, i, procs);
  }
}

/* ---- acknowledgements: acks-all-min-isr ---- */

/* After every event: how far each replica has reached, ever. A leader
 * answers acks=all once every member of an ISR of at least
 * min.insync.replicas has reported the batch (the high watermark passed
 * it), and each held it then: in its page cache, or in fsync-before-ack
 * mode on its disk (what local_end says). So by the acknowledgement that
 * many replicas must have reached past it at some instant, whatever they
 * lost since; as the maximum ever seen it never undercounts (a replica
 * that held another batch at the offset before a truncation counts too:
 * a miss, never a false alarm). */
/* The parts of topic group g, with one topic lookup. */
static void observe_held_topic(struct replica_check *rc, struct node *proc, int i, int g) {
  int k = rc->held_first[g], n = rc->held_count[g];
  int64_t ends[RC_PARTS_MAX];
  node_topic_local_ends(proc, rc->parts[k].topic, ends, n);
  for (int j = 0; j < n; j++) {
    struct rc_part *p = &rc->parts[k + j];
    if (p->min_isr > 1 && ends[j] > p->held[i]) p->held[i] = ends[j];
  }
}

/* The topic groups observe_held looks at (replica_check_create made the
 * parts of a topic adjacent, partitions 0, 1, ... in order). */
static void held_groups_init(struct replica_check *rc) {
  for (int k = 0; k < rc->part_count;) {
    int n = 0;
    bool wanted = false;
    while (k + n < rc->part_count && rc->parts[k + n].topic_index == rc->parts[k].topic_index) {
      ASSERT(rc->parts[k + n].partition == n);
      wanted = wanted || rc->parts[k + n].min_isr > 1;
      n++;
    }
    if (wanted) {
      rc->held_first[rc->held_groups] = k;
      rc->held_count[rc->held_groups++] = n;
    }
    k += n;
  }
}

static void observe_held(struct replica_check *rc, struct node *const *procs,
                         struct sim_node *const *nodes, int from, int to) {
  for (int i = from; i < to; i++) {
    if (!procs[i]) continue;
    /* A replica reaches further only by a write (its log end) or an fsync
     * (its recovery point) of its process: without one since the last
     * look, nothing of it can have grown. */
    struct sim_disk_stats st;
    sim_disk_stats(nodes[i], &st);
    uint64_t disk_ops = st.writes + st.fsyncs;
    if (procs[i] == rc->held_proc[i] && disk_ops == rc->held_disk_ops[i]) continue;
    rc->held_proc[i] = procs[i];
    rc->held_disk_ops[i] = disk_ops;
    for (int g = 0; g < rc->held_groups; g++) observe_held_topic(rc, procs[i], i, g);
  }
}

void replica_check_ack(struct replica_check *rc, int topic, int32_t partition, int64_t offset) {
  if (offset < 0 || topic < 0 || topic >= SCENARIO_TOPICS_MAX || rc->topic_first[topic] < 0)
    return;
  /* A topic's parts are its partitions in order (held_groups_init). */
  int k = rc->topic_first[topic] + partition;
  if (partition < 0 || k >= rc->part_count || rc->parts[k].topic_index != topic) return;
  struct rc_part *p = &rc->parts[k];
  ASSERT(p->partition == partition);
  if (p->min_isr <= 1) return;
  int32_t holders = 0;
  for (int i = 0; i < rc->nodes; i++) holders += p->held[i] > offset;
  rc->results[RC_ACKS_ALL_MIN_ISR].checks++;
  if (holders < p->min_isr)
    verdict(rc, RC_ACKS_ALL_MIN_ISR, false,
            "%s-%d offset %lld acknowledged (acks=all) when %d replica(s) had reached it, "
            "below min.insync.replicas=%d",
            p->topic, p->partition, (long long)offset, holders, p->min_isr);
}

/* ---- disks: replica-log-matching ---- */

static void keep_segment(void *ctx, const char *name, bool is_dir) {
  struct rc_segments *s = ctx;
  if (is_dir || strlen(name) != RC_NAME_DIGITS + 4 || strcmp(name + RC_NAME_DIGITS, ".log"))
    return;
  int64_t v = 0;
  for (int i = 0; i < RC_NAME_DIGITS; i++) {
    if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - 9) / 10) return;
    v = v * 10 + (name[i] - '0');
  }
  if (s->count < RC_SEGMENTS_MAX) s->bases[s->count++] = v;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static void push(struct rc_log *log, struct rc_batch b) {
  ASSERT(log->count < RC_BATCHES_MAX);
  if (log->count == log->cap) {
    log->cap = log->cap ? log->cap * 2 : 256;
    log->b = realloc(log->b, (size_t)log->cap * sizeof *log->b);
    ASSERT(log->b != NULL);
  }
  if (log->rising == log->count && (log->count == 0 || b.base > log->b[log->count - 1].base))
    log->rising++;
  log->b[log->count++] = b;
}

/* Drops the cache's batches from count on (none if it holds no more). */
static void cache_cut(struct rc_cache *c, int64_t count) {
  ASSERT(count >= 0 && count <= c->batches.count);
  c->batches.count = count;
  if (count < c->batches.rising) c->batches.rising = count;
  if (count < c->stable) c->stable = count;
}

/* Segment i of a cache: made fresh for the file seen now (v NULL: gone
 * since listed, none here). */
static struct rc_seg *seg_fresh(struct rc_cache *c, int32_t i, int64_t base,
                                const struct sim_disk_file_view *v) {
  ASSERT(i <= c->seg_count && i < RC_SEGMENTS_MAX);
  if (i == c->seg_cap) {
    c->seg_cap = c->seg_cap ? c->seg_cap * 2 : 8;
    c->segs = realloc(c->segs, (size_t)c->seg_cap * sizeof *c->segs);
    ASSERT(c->segs != NULL);
  }
  c->seg_count = i + 1;
  c->segs[i] = (struct rc_seg){.base = base,
                               .present = v != NULL,
                               .serial = v ? v->serial : 0,
                               .rewrites = v ? v->rewrites : 0,
                               .first = c->batches.count};
  return &c->segs[i];
}

/* The batch headers of a segment from where its last parse stopped to the
 * file's end; ended at one that cannot be a batch (the log ends there). */
static void seg_parse(struct rc_cache *c, struct rc_seg *g,
                      const struct sim_disk_file_view *v) {
  ASSERT(g->first + g->count == c->batches.count && !g->ended);
  uint64_t pos = g->pos;
  while (pos + RC_HEADER_BYTES <= v->len) {
    const uint8_t *h = v->data + pos;
    int64_t base = (int64_t)be64_get(h);
    int32_t length = (int32_t)be32_get(h + 8), last_delta = (int32_t)be32_get(h + 23);
    if (length < RC_HEADER_BYTES - 12 || h[16] != 2 || last_delta < 0 || base < 0) {
      g->ended = true;
      break;
    }
    push(&c->batches, (struct rc_batch){base, base + last_delta, be32_get(h + 17)});
    g->count++;
    pos += 12 + (uint64_t)length;
  }
  g->pos = pos;
  g->len = v->len;
}

/* Segment i against the file now: kept as parsed (same file, nothing below
 * the end seen changed, nothing appended or the log ended in it), resumed
 * (only appended to), or parsed anew. Everything after a segment that
 * changed is dropped first. */
static const struct rc_seg *seg_update(struct rc_cache *c, int32_t i, int64_t base,
                                       const struct sim_disk_file_view *v) {
  struct rc_seg *g = i < c->seg_count ? &c->segs[i] : NULL;
  bool same =
      g && g->base == base && g->present == (v != NULL) &&
      (!v || (g->serial == v->serial && g->rewrites == v->rewrites && g->len <= v->len));
  if (same && (!v || g->ended || g->len == v->len)) return g;
  if (same) {
    c->seg_count = i + 1;
    cache_cut(c, g->first + g->count);
  } else {
    if (g) cache_cut(c, g->first);
    g = seg_fresh(c, i, base, v);
  }
  if (v) seg_parse(c, g, v);
  return g;
}

/* A replica's batch headers, kept between scans and brought up to date
 * here: before, every scan parsed every header of every segment again (a
 * run's cost grew with the square of its length). The headers found are
 * the same as a parse from scratch's: a file whose serial and rewrites are
 * unchanged only had bytes appended (sim_disk_view_versioned). */
static void cache_update(struct replica_check *rc, struct sim_node *n, const char *topic,
                         int32_t partition, struct rc_cache *c) {
  char dir[300];
  snprintf(dir, sizeof dir, "/logs/%s-%d", topic, partition);
  struct rc_segments *segs = rc->segs_scratch; /* only bases[0..count) are read */
  segs->count = 0;
  struct env *env = sim_node_env(n);
  if (env->list(env, dir, keep_segment, segs) != 0) segs->count = 0;
  qsort(segs->bases, (size_t)segs->count, sizeof *segs->bases, cmp_i64);
  int32_t done = 0;
  c->stable = c->batches.count;
  for (int32_t i = 0; i < segs->count; i++) {
    char path[400];
    snprintf(path, sizeof path, "%s/%020lld.log", dir, (long long)segs->bases[i]);
    struct sim_disk_file_view v;
    bool have = sim_disk_view_versioned(n, path, &v);
    const struct rc_seg *g = seg_update(c, i, segs->bases[i], have ? &v : NULL);
    done = i + 1;
    if (g->ended) break;
  }
  c->seg_count = done;
  cache_cut(c, done ? c->segs[done - 1].first + c->segs[done - 1].count : 0);
  c->updates++;
}

/* The first batch whose base is at or past limit (count: none): bisected
 * in the rising prefix, then one by one past it (a log whose bases fall
 * somewhere is walked as it lies). */
static int64_t first_at(const struct rc_log *log, int64_t limit) {
  int64_t lo = 0, hi = log->rising;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (log->b[mid].base < limit)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < log->rising) return lo;
  while (lo < log->count && log->b[lo].base < limit) lo++;
  return lo;
}

/* The log below limit: the cached headers up to the first at or past it. */
static void scan_log(struct replica_check *rc, struct sim_node *n, const struct rc_part *p,
                     struct rc_cache *c, int64_t limit, struct rc_view *log) {
  cache_update(rc, n, p->topic, p->partition, c);
  int64_t count = first_at(&c->batches, limit);
  *log = (struct rc_view){c->batches.b, count};
}

static int64_t log_end(const struct rc_view *log) {
  return log->count ? log->b[log->count - 1].last + 1 : 0;
}

/* Whether a comparison may resume where the last one stopped: both logs
 * kept every batch below the stop (and the first, which sets where the
 * comparison starts) and the limit did not fall. Then the batches walked
 * before matched and still do below the limit, and a walk from the start
 * would arrive at the same place with nothing to report on the way. */
static bool side_resumes(const struct rc_cache *c, uint64_t updates, int64_t stop,
                         const struct rc_view *v) {
  int64_t need = stop > 1 ? stop : 1;
  bool kept = c->updates == updates || (c->updates == updates + 1 && c->stable >= need);
  return kept && v->count >= stop;
}

static bool rc_pair_resumes(const struct rc_pair *s, const struct rc_cache *ca,
                            const struct rc_cache *cb, const struct rc_view *a,
                            const struct rc_view *b, int64_t limit) {
  return s->valid && limit >= s->limit && side_resumes(ca, s->updates_a, s->x, a) &&
         side_resumes(cb, s->updates_b, s->y, b);
}

/* Nodes i and j below limit: the same batches where both hold them. Each
 * scan resumes where the last stopped (rc_pair_resumes): walking every
 * batch again made the check quadratic in the run's length. */
static void compare(struct replica_check *rc, int k, int i, int j, int64_t limit,
                    struct sim_node *const *nodes) {
  const struct rc_part *p = &rc->parts[k];
  const struct rc_view *a = &rc->logs[i], *b = &rc->logs[j];
  const struct rc_cache *ca = &rc->cache[k * rc->nodes + i];
  const struct rc_cache *cb = &rc->cache[k * rc->nodes + j];
  struct rc_pair *s = &rc->pairs[(k * rc->nodes + i) * rc->nodes + j];
  int64_t x = 0, y = 0;
  if (a->count == 0 || b->count == 0) return;
  if (rc_pair_resumes(s, ca, cb, a, b, limit)) {
    x = s->x;
    y = s->y;
  } else {
    int64_t from = a->b[0].base > b->b[0].base ? a->b[0].base : b->b[0].base;
    while (x < a->count && a->b[x].last < from) x++;
    while (y < b->count && b->b[y].last < from) y++;
  }
  rc->results[RC_LOG_MATCHING].checks++;
  for (; x < a->count && y < b->count; x++, y++) {
    const struct rc_batch *u = &a->b[x], *v = &b->b[y];
    if (u->base >= limit || v->base >= limit) break;
    if (u->base == v->base && u->last == v->last && u->crc == v->crc) continue;
    verdict(rc, RC_LOG_MATCHING, loss_allowed(rc, p, nodes),
            "%s-%d below %lld: node %d holds [%lld, %lld] crc %08x, node %d "
            "[%lld, %lld] crc %08x",
            p->topic, p->partition, (long long)limit, i + 1, (long long)u->base,
            (long long)u->last, u->crc, j + 1, (long long)v->base, (long long)v->last, v->crc);
    break;
  }
  *s = (struct rc_pair){true, ca->updates, cb->updates, x, y, limit};
}

/* to_end: compare whole logs up to the shorter one's end (at the end of
 * the run, after the liveness phase, every divergence must have been
 * reconciled), else up to the high watermarks. */
static void scan(struct replica_check *rc, struct node *const *procs,
                 struct sim_node *const *nodes, bool to_end) {
  for (int k = 0; k < rc->part_count; k++) {
    const struct rc_part *p = &rc->parts[k];
    if (p->compacted) continue;
    int64_t hw[RC_NODES_MAX];
    for (int i = 0; i < rc->nodes; i++) {
      struct node_partition_offsets po;
      hw[i] = -1;
      rc->logs[i] = (struct rc_view){NULL, 0};
      if (!procs[i] || !node_partition_offsets(procs[i], p->topic, p->partition, &po)) continue;
      scan_log(rc, nodes[i], p, &rc->cache[k * rc->nodes + i],
               to_end ? INT64_MAX : po.high_watermark, &rc->logs[i]);
      int64_t end = log_end(&rc->logs[i]);
      hw[i] = !to_end && po.high_watermark < end ? po.high_watermark : end;
    }
    for (int i = 0; i < rc->nodes; i++)
      for (int j = i + 1; j < rc->nodes; j++)
        if (hw[i] > 0 && hw[j] > 0) compare(rc, k, i, j, hw[i] < hw[j] ? hw[i] : hw[j], nodes);
  }
}

/* The polls and scans the clock made due. */
static void observe_due(struct replica_check *rc, uint64_t now_ns, struct node *const *procs,
                        struct sim_node *const *nodes) {
  if (now_ns >= rc->next_poll_ns) {
    rc->next_poll_ns = now_ns + RC_POLL_MS * RC_NS_PER_MS;
    poll_hw(rc, now_ns, procs);
    rc->now_ns = now_ns;
  }
  if (rc->scan_due || now_ns >= rc->next_scan_ns) {
    rc->scan_due = false;
    rc->next_scan_ns = now_ns + RC_SCAN_MS * RC_NS_PER_MS;
    scan(rc, procs, nodes, false);
  }
}

void replica_check_observe(struct replica_check *rc, uint64_t now_ns, struct node *const *procs,
                           struct sim_node *const *nodes) {
  replica_check_observe_node(rc, now_ns, procs, nodes, SIM_LOOK_ALL);
}

/* The nodes an observation told that `changed` moved looks at: [from, to). */
static void look_range(int changed, int nodes, int *from, int *to) {
  ASSERT(changed >= SIM_LOOK_NONE && changed < nodes);
  *from = changed >= 0 ? changed : 0;
  *to = changed >= 0 ? changed + 1 : changed == SIM_LOOK_ALL ? nodes : 0;
}

/* The pending leaders, judged again whatever changed (a new leader epoch
 * may be pending on another node's image). */
static void judge_pending(struct replica_check *rc, struct node *const *procs,
                          struct sim_node *const *nodes) {
  if (!rc->pending_any) return;
  bool left = false;
  for (int k = 0; k < rc->part_count; k++) {
    if (rc->parts[k].pending_leader < 1) continue;
    judge_new_leader(rc, &rc->parts[k], procs, nodes);
    left = left || rc->parts[k].pending_leader >= 1;
  }
  rc->pending_any = left;
}

/* A node not named keeps its process, image and replicas as the last
 * observation judged them. */
void replica_check_observe_node(struct replica_check *rc, uint64_t now_ns,
                                struct node *const *procs, struct sim_node *const *nodes,
                                int changed) {
  int from, to;
  look_range(changed, rc->nodes, &from, &to);
  for (int i = from; i < to; i++) {
    rc->procs_now[i] = procs[i];
    if (!procs[i]) continue;
    const struct meta_image *image = node_metadata_image(procs[i]);
    if (!image || image->offset == rc->image_offset[i]) continue;
    rc->image_offset[i] = image->offset;
    observe_image(rc, i, image, nodes);
  }
  judge_pending(rc, procs, nodes);
  observe_held(rc, procs, nodes, from, to);
  observe_due(rc, now_ns, procs, nodes);
}

bool replica_check_due(const struct replica_check *rc, uint64_t now_ns) {
  return rc->pending_any || rc->unclean_any || now_ns >= rc->next_poll_ns || rc->scan_due ||
         now_ns >= rc->next_scan_ns;
}

bool replica_check_take_unclean(struct replica_check *rc, struct replica_unclean *out) {
  if (!rc->unclean_any) return false;
  bool left = false;
  for (int k = 0; k < rc->part_count; k++) {
    struct rc_part *p = &rc->parts[k];
    struct node_partition_offsets po;
    int i = p->unclean_leader - 1;
    left = left || p->unclean_leader >= 1;
    if (i < 0 || i >= rc->nodes || !rc->procs_now[i]) continue;
    if (!node_partition_offsets(rc->procs_now[i], p->topic, p->partition, &po)) continue;
    *out =
        (struct replica_unclean){p->topic_index, p->partition, p->unclean_leader, po.log_end};
    p->unclean_leader = -1;
    return true;
  }
  rc->unclean_any = left;
  return false;
}

/* ---- preferred-leader ---- */

/* Partitions whose preferred (first) replica is `broker` and does not
 * lead, in percent of those it is preferred for. */
static int64_t imbalance_pct(const struct meta_image *image, int32_t broker) {
  int64_t preferred = 0, off = 0;
  for (int32_t t = 0; t < image->topic_count; t++) {
    const struct meta_topic *mt = image->topics_by_name[t];
    for (int32_t i = 0; i < mt->partition_count; i++) {
      const struct meta_partition *mp = &mt->partitions[i];
      if (mp->replica_count < 1 || mp->replicas[0] != broker) continue;
      preferred++;
      off += mp->leader != broker;
    }
  }
  return preferred ? off * 100 / preferred : 0;
}

/* At the end, every node up and the liveness phase over (the scenario's
 * bound: it must exceed the check interval): no broker is left with more
 * of its preferred partitions led elsewhere than the percentage allows.
 * Judged on the newest image among the nodes. */
static void judge_preferred(struct replica_check *rc, struct node *const *procs) {
  const struct meta_image *newest = NULL;
  for (int i = 0; i < rc->nodes; i++) {
    if (!procs[i]) return; /* not every broker is up: nothing to judge */
    const struct meta_image *image = node_metadata_image(procs[i]);
    if (image && (!newest || image->offset > newest->offset)) newest = image;
  }
  if (!newest) return;
  for (int32_t t = 0; t < newest->topic_count; t++) {
    const struct meta_topic *mt = newest->topics_by_name[t];
    for (int32_t i = 0; i < mt->partition_count; i++) {
      const struct meta_partition *mp = &mt->partitions[i];
      if (mp->replica_count < 1) continue;
      rc->results[RC_PREFERRED_LEADER].checks++;
      int64_t pct = imbalance_pct(newest, mp->replicas[0]);
      if (mp->leader != mp->replicas[0] && pct > rc->imbalance_pct_max)
        verdict(rc, RC_PREFERRED_LEADER, false,
                "image at %lld: %s-%d led by %d, not its preferred replica %d (ISR of %d; "
                "broker %d: %lld%% of its preferred partitions led elsewhere)",
                (long long)newest->offset, mt->name, mp->partition_id, mp->leader,
                mp->replicas[0], mp->isr_count, mp->replicas[0], (long long)pct);
    }
  }
}

/* follower-hw, at the end: a follower whose log reached its leader's end,
 * when that end is committed and it and the high watermark have stood still for
 * RC_FOLLOWER_HW_QUIET_MS, has heard the leader's high watermark (each
 * Fetch answer carries it; an incremental one must, once it moved,
 * KIP-227). */
static void judge_follower_hw(struct replica_check *rc, struct node *const *procs) {
  for (int k = 0; k < rc->part_count; k++) {
    const struct rc_part *p = &rc->parts[k];
    int l = p->leader - 1;
    struct node_partition_offsets lo;
    if (l < 0 || l >= rc->nodes || !leads_now(p, l, procs) ||
        !node_partition_offsets(procs[l], p->topic, p->partition, &lo) ||
        lo.high_watermark != lo.log_end || lo.log_end != p->end_seen ||
        lo.high_watermark != p->hw_seen ||
        rc->now_ns - p->end_since_ns < (uint64_t)RC_FOLLOWER_HW_QUIET_MS * RC_NS_PER_MS)
      continue;
    for (int i = 0; i < rc->nodes; i++) {
      struct node_partition_offsets fo;
      if (i == l || !procs[i] ||
          !node_partition_offsets(procs[i], p->topic, p->partition, &fo) ||
          fo.log_end != lo.log_end)
        continue;
      rc->results[RC_FOLLOWER_HW].checks++;
      if (fo.high_watermark == lo.high_watermark) continue;
      verdict(rc, RC_FOLLOWER_HW, false,
              "%s-%d at the end: follower %d holds the leader's log to %lld but its high "
              "watermark is %lld (local end %lld), the leader's (node %d) %lld",
              p->topic, p->partition, i + 1, (long long)fo.log_end,
              (long long)fo.high_watermark, (long long)fo.local_end, l + 1,
              (long long)lo.high_watermark);
    }
  }
}

int replica_check_finish(struct replica_check *rc, struct node *const *procs,
                         struct sim_node *const *nodes, struct check_result *out, int max) {
  ASSERT(max >= REPLICA_CHECKERS);
  scan(rc, procs, nodes, true);
  if (rc->rebalance) judge_preferred(rc, procs);
  judge_follower_hw(rc, procs);
  for (int c = 0; c < REPLICA_CHECKERS; c++) {
    const struct rc_result *r = &rc->results[c];
    out[c] = (struct check_result){
        .name = checker_names[c], .violations = r->violations, .allowed = r->allowed};
    if (r->violations || r->allowed)
      snprintf(out[c].first, sizeof out[c].first, "%s", r->first);
    else if (c == RC_PREFERRED_LEADER && !rc->rebalance)
      snprintf(out[c].first, sizeof out[c].first,
               "not asked (no leader.imbalance.check.interval.seconds)");
    else
      snprintf(out[c].first, sizeof out[c].first, "%llu judged", (unsigned long long)r->checks);
    if (c == RC_LEADER_IN_ISR) {
      size_t len = strlen(out[c].first);
      snprintf(out[c].first + len, sizeof out[c].first - len,
               "; %llu ISR shrinks, %llu expansions; %llu image steps skipped",
               (unsigned long long)rc->shrinks, (unsigned long long)rc->expands,
               (unsigned long long)rc->skipped);
    }
  }
  return REPLICA_CHECKERS;
}
