/* The KRaft quorum (KIP-595) between real nodes in the simulated world:
 * three combined nodes (voters 1, 2, 3) and a broker-only observer elect a
 * leader, replicate the metadata log, survive the leader's crash and a
 * partition that isolates it, and do it the same way twice for one seed.
 * The quorum-state file's format has its own case. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "meta/codec.h"
#include "meta/image.h"
#include "raft/raft.h"
#include "server/node.h"
#include "server/quorum_state.h"
#include "server/storage_format.h"
#include "sim/disk.h"
#include "sim/net.h"
#include "sim/prng.h"
#include "sim/quorum_check.h"
#include "sim/runner.h"
#include "sim/scenario.h"
#include "sim/world.h"
#include "testing.h"

enum {
  VOTERS = 3,
  NODES = VOTERS + 1, /* node 4: a broker-only observer */
  OBSERVER = VOTERS,
  STEP_MS = 10,
  ELECTION_BOUND_MS = 15000, /* virtual: fetch timeout 2 s, election timeout 1-2 s, backoff */
  SEEDS = 16,
};

struct cluster {
  struct sim_world *w;
  struct sim_node *sim[NODES];
  struct node *node[NODES]; /* NULL while down */
  int next_record;
};

static void run_ms(struct cluster *c, uint64_t ms) {
  sim_run_until(c->w, sim_now_ns(c->w) + ms * NS_PER_MS);
}

static uint64_t now_ms(const struct cluster *c) { return sim_now_ns(c->w) / NS_PER_MS; }

/* Voters 1-3 combined, node 4 a broker: the layout's server.properties as
 * sluice-sim writes them (sim/runner.h), parsed by the broker's parser. */
static struct sim_cluster layout(void) {
  struct sim_cluster l = {.nodes = NODES};
  for (int i = 0; i < NODES; i++) l.roles[i] = i == OBSERVER ? ROLE_BROKER : ROLE_COMBINED;
  return l;
}

static void node_up(struct cluster *c, int i) {
  ck_assert_ptr_null(c->node[i]);
  struct sim_cluster l = layout();
  char text[8192], err[256];
  size_t len = sim_node_properties(&l, i, text, sizeof text);
  struct config cfg;
  config_defaults(&cfg);
  ck_assert_msg(config_parse(&cfg, text, len, sim_node_env(c->sim[i]), err, sizeof err), "%s",
                err);
  ck_assert_int_eq(cfg.node_id, i + 1);
  char value[256];
  ck_assert_int_ge(storage_format(sim_node_env(c->sim[i]), &cfg, cfg.cluster_id, true, NULL,
                                  NULL, value, sizeof value, NULL, NULL),
                   0);
  ck_assert_int_eq(node_create(sim_node_env(c->sim[i]), &cfg, &c->node[i]), 0);
  ck_assert_int_eq(node_start(c->node[i]), 0);
}

/* Power loss, as sim/runner.c does it: the world first, then the process. */
static void node_kill(struct cluster *c, int i) {
  ck_assert_ptr_nonnull(c->node[i]);
  sim_node_crash(c->sim[i]);
  node_destroy(c->node[i]);
  c->node[i] = NULL;
}

static void node_restart(struct cluster *c, int i) {
  sim_node_restart(c->sim[i]);
  node_up(c, i);
}

static void cluster_setup(struct cluster *c, uint64_t seed) {
  memset(c, 0, sizeof *c);
  c->w = sim_world_create(seed);
  sim_world_set_verbose(c->w, getenv("QUORUM_VERBOSE") != NULL); /* the nodes' logs */
  struct sim_cluster l = layout();
  for (int i = 0; i < NODES; i++) {
    char host[32];
    c->sim[i] = sim_node_add(c->w, i + 1, sim_node_host_name(l.roles[i], i, host, sizeof host));
  }
  for (int i = 0; i < NODES; i++) node_up(c, i);
}

/* Each machine loses power first: its writes in flight fail into the live
 * node, which lets go of them (a destroyed world drops their events). */
static void cluster_teardown(struct cluster *c) {
  for (int i = 0; i < NODES; i++) {
    if (c->node[i]) sim_node_crash(c->sim[i]);
    node_destroy(c->node[i]);
  }
  sim_world_destroy(c->w);
}

static struct node_quorum status(const struct cluster *c, int i) {
  struct node_quorum q;
  ck_assert_ptr_nonnull(c->node[i]);
  node_quorum(c->node[i], &q);
  ck_assert(q.configured);
  return q;
}

/* The nodes in mask (bit i: node i+1) that are up agree on one epoch and one
 * leader among them, which leads: its index, else -1. */
static int agreed_leader(const struct cluster *c, unsigned mask) {
  int leader = -1;
  int32_t epoch = -1, leader_id = -1;
  for (int i = 0; i < NODES; i++) {
    if (!(mask & (1u << i)) || c->node[i] == NULL) continue;
    struct node_quorum q = status(c, i);
    if (q.leader_id < 0 || (epoch >= 0 && (q.epoch != epoch || q.leader_id != leader_id)))
      return -1;
    epoch = q.epoch;
    leader_id = q.leader_id;
    if (q.role == RAFT_LEADER) leader = i;
  }
  return leader >= 0 && leader_id == leader + 1 ? leader : -1;
}

/* Runs until the nodes in mask agree on a leader (in an epoch above
 * min_epoch): its index; fails past the bound. */
static int wait_leader(struct cluster *c, unsigned mask, int32_t min_epoch) {
  for (int t = 0; t <= ELECTION_BOUND_MS; t += STEP_MS) {
    int l = agreed_leader(c, mask);
    if (l >= 0 && status(c, l).epoch > min_epoch) return l;
    run_ms(c, STEP_MS);
  }
  ck_abort_msg("no leader agreed within %d ms", ELECTION_BOUND_MS);
  return -1;
}

/* A real metadata record value: a TopicRecord. */
static int64_t propose(struct cluster *c, int i) {
  struct meta_record r;
  memset(&r, 0, sizeof r);
  r.type = META_TOPIC_RECORD;
  snprintf(r.topic.name, sizeof r.topic.name, "topic-%d", c->next_record);
  r.topic.topic_id.b[0] = (uint8_t)(c->next_record + 1);
  c->next_record++;
  struct buf value;
  buf_init(&value);
  meta_record_encode(&r, &value);
  int64_t offset = node_quorum_propose(c->node[i], value.data, (uint32_t)value.len);
  buf_free(&value);
  return offset;
}

/* Runs until every node in mask that is up has a high watermark of at least hw. */
static void wait_committed(struct cluster *c, unsigned mask, int64_t hw) {
  for (int t = 0; t <= ELECTION_BOUND_MS; t += STEP_MS) {
    bool all = true;
    for (int i = 0; i < NODES; i++)
      if ((mask & (1u << i)) && c->node[i] && status(c, i).high_watermark < hw) all = false;
    if (all) return;
    run_ms(c, STEP_MS);
  }
  ck_abort_msg("high watermark %lld not reached", (long long)hw);
}

/* Node i's metadata log as its disk holds it: every segment in order (the
 * loader's snapshots, KIP-630, delete the older ones), split into its
 * batches, one entry each. */
#define LOG_DIR "/logs/__cluster_metadata-0"

enum { LOG_ENTRIES_MAX = 4096, LOG_SEGMENTS_MAX = 64, BATCH_HEADER_BYTES = 61 };

struct log_view {
  struct buf bytes;
  int64_t start; /* the first entry's offset */
  int64_t count;
  size_t at[LOG_ENTRIES_MAX + 1]; /* entry k is bytes [at[k], at[k + 1]) */
};

struct names {
  int count;
  char name[LOG_SEGMENTS_MAX][64];
};

static void name_seen(void *ctx, const char *name, bool is_dir) {
  struct names *n = ctx;
  size_t len = strlen(name);
  if (is_dir || len < 4 || strcmp(name + len - 4, ".log") != 0) return;
  ck_assert_int_lt(n->count, LOG_SEGMENTS_MAX);
  ck_assert_uint_lt(len, sizeof n->name[0]);
  memcpy(n->name[n->count++], name, len + 1);
}

static int cmp_name(const void *a, const void *b) { return strcmp(a, b); }

static uint64_t be_get(const uint8_t *p, int bytes) {
  uint64_t v = 0;
  for (int k = 0; k < bytes; k++) v = v << 8 | p[k];
  return v;
}

static void append_file(struct env *env, const char *path, struct buf *out) {
  env_file f;
  ck_assert_int_eq(env->open(env, path, ENV_O_READONLY, &f), 0);
  int64_t size = env->file_size(env, f);
  ck_assert_int_ge(size, 0);
  uint8_t *p = buf_extend(out, (size_t)size + 1);
  ck_assert_int_eq(env->pread(env, f, p, (size_t)size, 0), size);
  out->len -= 1; /* buf_extend took the spare byte too */
  env->file_close(env, f);
}

static void read_log(struct cluster *c, int i, struct log_view *v) {
  struct env *env = sim_node_env(c->sim[i]);
  struct names n = {0};
  ck_assert_int_eq(env->list(env, LOG_DIR, name_seen, &n), 0);
  ck_assert_int_gt(n.count, 0);
  qsort(n.name, (size_t)n.count, sizeof n.name[0], cmp_name); /* 20 digits: offset order */
  buf_reset(&v->bytes);
  for (int k = 0; k < n.count; k++) {
    char path[128];
    snprintf(path, sizeof path, "%s/%s", LOG_DIR, n.name[k]);
    append_file(env, path, &v->bytes);
  }
  v->count = 0;
  v->start = -1;
  size_t at = 0;
  while (at + BATCH_HEADER_BYTES <= v->bytes.len) {
    int64_t base = (int64_t)be_get(v->bytes.data + at, 8);
    if (v->start < 0) v->start = base;
    ck_assert_msg(base == v->start + v->count, "node %d: entry %lld where %lld should be",
                  i + 1, (long long)base, (long long)(v->start + v->count));
    ck_assert_int_lt(v->count, LOG_ENTRIES_MAX);
    v->at[v->count++] = at;
    at += 12 + (size_t)be_get(v->bytes.data + at + 8, 4);
  }
  ck_assert_uint_le(at, v->bytes.len);
  v->at[v->count] = at;
  /* No entry: nothing written yet, or a snapshot trimmed the whole log
   * (its only segment is empty and named by the offset it starts at). */
  if (v->start < 0) v->start = n.count > 0 ? strtoll(n.name[0], NULL, 10) : 0;
}

static struct log_view *log_view_new(void) {
  struct log_view *v = calloc(1, sizeof *v);
  ck_assert_ptr_nonnull(v);
  buf_init(&v->bytes);
  return v;
}

static void log_view_free(struct log_view *v) {
  buf_free(&v->bytes);
  free(v);
}

static bool entry_equal(const struct log_view *a, const struct log_view *b, int64_t offset) {
  int64_t x = offset - a->start, y = offset - b->start;
  ck_assert(x >= 0 && x < a->count && y >= 0 && y < b->count);
  size_t len = a->at[x + 1] - a->at[x];
  return len == b->at[y + 1] - b->at[y] &&
         memcmp(a->bytes.data + a->at[x], b->bytes.data + b->at[y], len) == 0;
}

/* Every node in mask holds the same metadata log, byte for byte, of
 * `entries` entries: the same entries where their logs overlap (a node
 * that snapshotted later keeps more of the front). */
static void logs_equal(struct cluster *c, unsigned mask, int64_t entries) {
  struct log_view *first = log_view_new(), *other = log_view_new();
  int first_node = -1;
  for (int i = 0; i < NODES; i++) {
    if (!(mask & (1u << i))) continue;
    ck_assert_int_eq(status(c, i).log_end_offset, entries);
    read_log(c, i, first_node < 0 ? first : other);
    if (first_node < 0) {
      ck_assert_int_eq(first->start + first->count, entries);
      first_node = i;
      continue;
    }
    ck_assert_int_eq(other->start + other->count, entries);
    int64_t from = first->start > other->start ? first->start : other->start;
    for (int64_t o = from; o < entries; o++)
      ck_assert_msg(entry_equal(first, other, o),
                    "node %d's metadata log differs from node %d's at offset %lld", i + 1,
                    first_node + 1, (long long)o);
  }
  log_view_free(first);
  log_view_free(other);
}

static const unsigned ALL = (1u << NODES) - 1;

/* Runs until every node agrees on a leader and holds its whole log,
 * committed: the leader's index. */
static int wait_converged(struct cluster *c) {
  for (int t = 0; t <= ELECTION_BOUND_MS; t += STEP_MS) {
    int l = agreed_leader(c, ALL);
    bool same = l >= 0;
    int64_t end = same ? status(c, l).end_offset : -1;
    for (int i = 0; i < NODES && same; i++) {
      struct node_quorum q = status(c, i);
      same = q.log_end_offset == end && q.high_watermark == end;
    }
    if (same) return l;
    run_ms(c, STEP_MS);
  }
  ck_abort_msg("the nodes did not converge within %d ms", ELECTION_BOUND_MS);
  return -1;
}
static const unsigned VOTER_MASK = (1u << VOTERS) - 1;

/* Runs until the brokers' registrations (KIP-631, through the Raft-backed
 * controller) are committed and read everywhere: every node that is up is
 * registered and unfenced in its own image, its controller waits on
 * nothing, and every image is at the leader's last entry, committed. */
static void settle(struct cluster *c) {
  for (int t = 0; t <= ELECTION_BOUND_MS; t += STEP_MS) {
    int l = agreed_leader(c, ALL);
    bool done = l >= 0;
    int64_t end = done ? status(c, l).end_offset : -1;
    for (int i = 0; i < NODES && done; i++) {
      if (!c->node[i]) continue;
      const struct meta_image *image = node_metadata_image(c->node[i]);
      done = node_controller_idle(c->node[i]) && status(c, i).high_watermark == end &&
             image->offset == end - 1 && meta_image_broker(image, i + 1) != NULL &&
             !meta_image_broker(image, i + 1)->fenced;
    }
    if (done) return;
    run_ms(c, STEP_MS);
  }
  ck_abort_msg("the registrations did not settle within %d ms", ELECTION_BOUND_MS);
}

static void agree_then_commit(struct cluster *c, int leader, int records, int64_t *end) {
  settle(c);
  int64_t offset = -1;
  for (int k = 0; k < records; k++) {
    offset = propose(c, leader);
    ck_assert_int_ge(offset, 0);
  }
  *end = offset + 1;
  wait_committed(c, ALL, *end);
}

/* ---- election and replication ---- */

static uint64_t elect_and_replicate(uint64_t seed) {
  struct cluster c;
  cluster_setup(&c, seed);
  int leader = wait_leader(&c, VOTER_MASK, 0);
  struct node_quorum observer = status(&c, OBSERVER);
  ck_assert_int_eq(observer.role == RAFT_OBSERVER, 1);
  int64_t end;
  agree_then_commit(&c, leader, 5, &end);
  ck_assert_int_eq(propose(&c, (leader + 1) % VOTERS), -1); /* only the leader appends */
  run_ms(&c, 1000);
  ck_assert_int_eq(agreed_leader(&c, ALL), leader);
  logs_equal(&c, ALL, end);
  for (int i = 0; i < VOTERS; i++) {
    struct node_quorum q = status(&c, i);
    ck_assert_int_gt(q.requests_sent + q.requests_served, 10); /* Fetch long polls flow */
  }
  uint64_t hash = sim_trace_hash(c.w);
  cluster_teardown(&c);
  return hash;
}

START_TEST(three_voters_elect_and_replicate) { elect_and_replicate(11); }
END_TEST

START_TEST(same_seed_same_run) {
  uint64_t a = elect_and_replicate(5), b = elect_and_replicate(5), d = elect_and_replicate(6);
  ck_assert_uint_eq(a, b);
  ck_assert_uint_ne(a, d);
}
END_TEST

/* ---- the leader dies ---- */

/* Kills the leader after a few committed records: the others elect a new
 * one; nothing committed is lost; the old leader restarts from its disk and
 * follows. Returns the virtual milliseconds from the crash to the new
 * leader agreed by the two survivors. */
static uint64_t leader_kill(uint64_t seed, uint64_t *hash) {
  struct cluster c;
  cluster_setup(&c, seed);
  int old = wait_leader(&c, VOTER_MASK, 0);
  int32_t old_epoch = status(&c, old).epoch;
  int64_t end;
  agree_then_commit(&c, old, 3, &end);
  node_kill(&c, old);
  uint64_t killed_ms = now_ms(&c);
  unsigned survivors = VOTER_MASK & ~(1u << old);
  int leader = wait_leader(&c, survivors, old_epoch);
  uint64_t elected_ms = now_ms(&c) - killed_ms;
  ck_assert_int_ne(leader, old);
  ck_assert_int_ge(status(&c, leader).high_watermark, end); /* nothing committed lost */
  int64_t end2;
  agree_then_commit(&c, leader, 2, &end2);
  run_ms(&c, 3000);
  node_restart(&c, old);
  wait_committed(&c, ALL, end2);
  for (int t = 0; t < 5000 && agreed_leader(&c, ALL) != leader; t += STEP_MS)
    run_ms(&c, STEP_MS);
  ck_assert_int_eq(agreed_leader(&c, ALL), leader);
  ck_assert_int_eq(status(&c, old).role, RAFT_FOLLOWER);
  run_ms(&c, 1000);
  logs_equal(&c, ALL, status(&c, leader).end_offset);
  *hash = sim_trace_hash(c.w);
  cluster_teardown(&c);
  return elected_ms;
}

static void shutdown_done(void *ctx) { *(bool *)ctx = true; }

/* A clean shutdown, as sim/runner.c does it: the node stops, then the
 * process exits (the machine and its page cache stay). */
static void node_stop(struct cluster *c, int i) {
  bool done = false;
  node_shutdown(c->node[i], shutdown_done, &done);
  for (int n = 0; n < 1000000 && !done; n++)
    if (!sim_step(c->w)) break;
  ck_assert(done);
  node_destroy(c->node[i]);
  c->node[i] = NULL;
  sim_node_exit(c->sim[i]);
}

/* KIP-595: a leader that shuts down resigns with EndQuorumEpoch, so the
 * others elect at once instead of after a fetch timeout; then the whole
 * cluster stops and restarts from its disks with nothing lost. */
START_TEST(a_leader_resigns_at_shutdown_and_the_cluster_restarts) {
  struct cluster c;
  cluster_setup(&c, 300);
  int old = wait_leader(&c, VOTER_MASK, 0);
  int32_t old_epoch = status(&c, old).epoch;
  int64_t end;
  agree_then_commit(&c, old, 4, &end);
  node_stop(&c, old);
  uint64_t stopped_ms = now_ms(&c);
  int leader = wait_leader(&c, VOTER_MASK & ~(1u << old), old_epoch);
  uint64_t elected_ms = now_ms(&c) - stopped_ms;
  ck_assert_uint_lt(elected_ms, 500); /* well inside a fetch timeout (2 s) */
  ck_assert_int_ge(status(&c, leader).high_watermark, end);
  for (int i = 0; i < NODES; i++)
    if (c.node[i]) node_stop(&c, i);
  for (int i = 0; i < NODES; i++) node_restart(&c, i);
  int again = wait_leader(&c, ALL, status(&c, 0).epoch);
  settle(&c); /* the brokers register again */
  again = agreed_leader(&c, ALL);
  int64_t more = propose(&c, again);
  ck_assert_int_gt(more, end); /* after the old records and a LeaderChange */
  wait_committed(&c, ALL, more + 1);
  run_ms(&c, 1000);
  logs_equal(&c, ALL, more + 1);
  cluster_teardown(&c);
}
END_TEST

/* KIP-595: an fsync that fails stops the quorum on that node (fail-stop);
 * the other two keep committing, and the node rejoins after a restart. */
START_TEST(a_failed_fsync_stops_the_quorum_on_that_node) {
  struct cluster c;
  cluster_setup(&c, 400);
  int leader = wait_leader(&c, VOTER_MASK, 0);
  int victim = (leader + 1) % VOTERS;
  int64_t end;
  agree_then_commit(&c, leader, 2, &end);
  sim_disk_fail_fsyncs(c.sim[victim], 1);
  int64_t offset = propose(&c, leader);
  run_ms(&c, 2000);
  ck_assert(!status(&c, victim).running);
  ck_assert_int_eq(status(&c, victim).high_watermark, end); /* never acknowledged */
  wait_committed(&c, ALL & ~(1u << victim), offset + 1);
  node_kill(&c, victim);
  node_restart(&c, victim);
  wait_committed(&c, ALL, offset + 1);
  ck_assert(status(&c, victim).running);
  settle(&c); /* the victim registers again */
  run_ms(&c, 1000);
  logs_equal(&c, ALL, status(&c, agreed_leader(&c, ALL)).end_offset);
  cluster_teardown(&c);
}
END_TEST

/* ---- random faults ---- */

/* What leaders reported committed, entry by entry (the bytes of entries
 * that a snapshot took before the test saw them are not known). */
struct committed {
  struct buf bytes;
  int64_t end;
  bool known[LOG_ENTRIES_MAX];
  size_t at[LOG_ENTRIES_MAX], len[LOG_ENTRIES_MAX];
};

/* The newest snapshot of node i's metadata log (KIP-630 file names); its
 * end offset, or 0 when there is none. */
static void snapshot_seen(void *ctx, const char *name, bool is_dir) {
  struct names *n = ctx;
  size_t len = strlen(name);
  if (is_dir || len != 20 + 1 + 10 + strlen(".checkpoint") ||
      strcmp(name + 31, ".checkpoint") != 0)
    return;
  ck_assert_int_lt(n->count, LOG_SEGMENTS_MAX);
  memcpy(n->name[n->count++], name, len + 1);
}

static int64_t newest_snapshot(struct cluster *c, int i, int32_t *epoch) {
  struct env *env = sim_node_env(c->sim[i]);
  struct names n = {0};
  ck_assert_int_eq(env->list(env, LOG_DIR, snapshot_seen, &n), 0);
  if (n.count == 0) return 0;
  qsort(n.name, (size_t)n.count, sizeof n.name[0], cmp_name);
  const char *last = n.name[n.count - 1];
  *epoch = (int32_t)strtol(last + 21, NULL, 10);
  return strtoll(last, NULL, 10);
}

/* What node i's log holds below `below` is what leaders reported committed:
 * the same bytes where the log still has the entry, and below the log's
 * start a snapshot that reaches it, ending at a committed entry of the
 * snapshot's epoch. */
static void committed_held(struct cluster *c, int i, const struct committed *k,
                           const struct log_view *v, int64_t below, uint64_t seed) {
  if (v->start > 0) {
    int32_t epoch = -1;
    int64_t end = newest_snapshot(c, i, &epoch);
    ck_assert_msg(end >= v->start,
                  "seed %llu: node %d's log starts at %lld, its snapshot at %lld",
                  (unsigned long long)seed, i + 1, (long long)v->start, (long long)end);
    if (end <= k->end && end > 0 && k->known[end - 1])
      ck_assert_msg(be_get(k->bytes.data + k->at[end - 1] + 12, 4) == (uint64_t)epoch,
                    "seed %llu: node %d's snapshot at %lld has epoch %d",
                    (unsigned long long)seed, i + 1, (long long)end, epoch);
  }
  int64_t top = below < k->end ? below : k->end;
  for (int64_t o = v->start; o < top; o++) {
    if (!k->known[o]) continue;
    int64_t x = o - v->start;
    ck_assert_int_lt(x, v->count);
    size_t len = v->at[x + 1] - v->at[x];
    ck_assert_msg(len == k->len[o] &&
                      memcmp(v->bytes.data + v->at[x], k->bytes.data + k->at[o], len) == 0,
                  "seed %llu: committed entry %lld changed", (unsigned long long)seed,
                  (long long)o);
  }
}

/* Entries [k->end, hw) that the leader's log holds are now known committed. */
static void committed_grow(struct committed *k, const struct log_view *v, int64_t hw) {
  for (int64_t o = k->end; o < hw; o++) {
    ck_assert_int_lt(o, LOG_ENTRIES_MAX);
    int64_t x = o - v->start;
    if (x < 0 || x >= v->count) continue;
    k->known[o] = true;
    k->at[o] = k->bytes.len;
    k->len[o] = v->at[x + 1] - v->at[x];
    buf_append(&k->bytes, v->bytes.data + v->at[x], k->len[o]);
  }
  if (hw > k->end) k->end = hw;
}

/* Crashes (power losses that tear what was not fsynced) and restarts of
 * one voter at a time, partitions that isolate one, slow disks, proposals
 * to whoever leads, for a minute of virtual time. What any
 * leader ever reported committed stays, byte for byte, at the front of
 * every log; once the faults end one leader emerges and every log is the
 * same. */
static void chaos(uint64_t seed) {
  struct cluster c;
  cluster_setup(&c, seed);
  struct sim_rng rng;
  sim_rng_seed(&rng, seed);
  for (int i = 0; i < VOTERS; i++) { /* power losses tear the unsynced tail */
    sim_disk_set_torn(c.sim[i], (enum sim_torn)((seed + (uint64_t)i) % 3));
    sim_disk_set_fsync_slowdown(c.sim[i], 1 + (uint32_t)sim_rng_below(&rng, 20));
  }
  struct committed *k = calloc(1, sizeof *k);
  ck_assert_ptr_nonnull(k);
  buf_init(&k->bytes);
  struct log_view *now = log_view_new();
  int down = -1;
  for (int step = 0; step < 300; step++) {
    run_ms(&c, 200);
    int leader = agreed_leader(&c, VOTER_MASK);
    if (leader >= 0 && sim_rng_chance(&rng, 600000)) propose(&c, leader);
    if (leader >= 0) { /* what it says is committed never changes */
      /* A new leader's may lag; and a follower just elected may know entries
       * are committed before its own copy of them is written. */
      struct node_quorum lq = status(&c, leader);
      int64_t hw =
          lq.high_watermark < lq.log_end_offset ? lq.high_watermark : lq.log_end_offset;
      read_log(&c, leader, now);
      committed_held(&c, leader, k, now, hw, seed);
      committed_grow(k, now, hw);
    }
    uint64_t dice = sim_rng_below(&rng, 100);
    if (dice < 4 && down < 0) {
      down = (int)sim_rng_below(&rng, VOTERS);
      node_kill(&c, down);
    } else if (dice < 10 && down >= 0) {
      node_restart(&c, down);
      down = -1;
    } else if (dice < 13) {
      sim_net_isolate(c.w, c.sim[sim_rng_below(&rng, VOTERS)]);
    } else if (dice < 20) {
      sim_net_heal_all(c.w);
    }
  }
  sim_net_heal_all(c.w);
  if (down >= 0) node_restart(&c, down);
  int leader = wait_leader(&c, ALL, -1);
  int64_t last = propose(&c, leader);
  ck_assert_int_ge(last, k->end);
  /* A node back from the faults may still depose that leader once. */
  wait_committed(&c, ALL, last + 1);
  leader = wait_converged(&c);
  int64_t end = status(&c, leader).end_offset;
  ck_assert_int_gt(end, last);
  logs_equal(&c, ALL, end);
  for (int i = 0; i < NODES; i++) { /* every node holds what was committed */
    read_log(&c, i, now);
    committed_held(&c, i, k, now, end, seed);
  }
  if (getenv("QUORUM_CHAOS_VERBOSE"))
    printf("chaos seed %llu: %lld entries committed during the faults, %lld at the end, "
           "epoch %d\n",
           (unsigned long long)seed, (long long)k->end, (long long)end,
           status(&c, leader).epoch);
  buf_free(&k->bytes);
  free(k);
  log_view_free(now);
  cluster_teardown(&c);
}

/* QUORUM_CHAOS_SEEDS=N sweeps more seeds (32 by default) from
 * QUORUM_CHAOS_FIRST (500). */
START_TEST(random_crashes_and_partitions_lose_nothing_committed) {
  const char *env_seeds = getenv("QUORUM_CHAOS_SEEDS"),
             *env_first = getenv("QUORUM_CHAOS_FIRST");
  uint64_t seeds = env_seeds ? strtoull(env_seeds, NULL, 10) : 32;
  uint64_t first = env_first ? strtoull(env_first, NULL, 10) : 500;
  for (uint64_t seed = first; seed < first + seeds; seed++) chaos(seed);
}
END_TEST

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

START_TEST(a_killed_leader_is_replaced) {
  uint64_t ms[SEEDS], hash;
  for (int s = 0; s < SEEDS; s++) ms[s] = leader_kill(100 + (uint64_t)s, &hash);
  qsort(ms, SEEDS, sizeof ms[0], cmp_u64);
  printf("quorum: a new leader %llu ms (median) and at most %llu ms (virtual) after the "
         "leader's crash, over %d seeds\n",
         (unsigned long long)ms[SEEDS / 2], (unsigned long long)ms[SEEDS - 1], SEEDS);
  ck_assert_uint_le(ms[SEEDS - 1], ELECTION_BOUND_MS);
}
END_TEST

/* ---- a partition isolates the leader ---- */

static void partition_leader(uint64_t seed) {
  struct cluster c;
  cluster_setup(&c, seed);
  int old = wait_leader(&c, VOTER_MASK, 0);
  int32_t old_epoch = status(&c, old).epoch;
  int64_t end;
  agree_then_commit(&c, old, 3, &end);
  sim_net_isolate(c.w, c.sim[old]);
  /* The cut-off leader may still take a record it can never commit. */
  int64_t stray = propose(&c, old);
  ck_assert_int_eq(stray, end);
  unsigned majority = ALL & ~(1u << old);
  int leader = wait_leader(&c, majority, old_epoch);
  int64_t end2;
  int64_t offset = propose(&c, leader);
  ck_assert_int_ge(offset, end);
  end2 = offset + 1;
  wait_committed(&c, majority, end2);
  run_ms(&c, 5000);
  /* The minority makes no progress: it commits nothing and leads no one. */
  struct node_quorum minority = status(&c, old);
  ck_assert_int_eq(minority.high_watermark, end);
  ck_assert_int_ne(minority.role, RAFT_LEADER);
  sim_net_heal_all(c.w);
  wait_committed(&c, ALL, end2);
  for (int t = 0; t < ELECTION_BOUND_MS && agreed_leader(&c, ALL) < 0; t += STEP_MS)
    run_ms(&c, STEP_MS);
  int final = agreed_leader(&c, ALL);
  ck_assert_int_ge(final, 0);
  int64_t more = propose(&c, final);
  ck_assert_int_ge(more, 0);
  wait_committed(&c, ALL, more + 1);
  run_ms(&c, 1000);
  logs_equal(&c, ALL, status(&c, final).end_offset); /* the stray record is gone */
  cluster_teardown(&c);
}

START_TEST(a_partitioned_leader_is_replaced_and_rejoins) {
  for (uint64_t seed = 200; seed < 204; seed++) partition_leader(seed);
}
END_TEST

/* ---- sluice-sim's quorum runs (sim/runner.c, sim/quorum_check.c) ---- */

static const char QUORUM_SCENARIO[] = "name: t\n"
                                      "duration: 20s\n"
                                      "liveness: 10s\n"
                                      "cluster:\n"
                                      "  nodes: 5\n"
                                      "  roles: [controller, controller, controller, broker, "
                                      "broker]\n"
                                      "workload: {producers: 0, consumers: 0}\n"
                                      "faults:\n"
                                      "  - {at: 5s, action: kill, target: leader}\n"
                                      "  - {at: 8s, action: restart, target: controllers}\n"
                                      "  - {at: 12s, action: partition, target: follower}\n"
                                      "  - {at: 15s, action: heal}\n";

static void run_quorum_scenario(const char *text, uint64_t seed, struct run_report *rep) {
  struct scenario *sc = malloc(sizeof *sc);
  ck_assert_ptr_nonnull(sc);
  char err[512];
  ck_assert_msg(scenario_parse("t.yaml", text, strlen(text), sc, err, sizeof err), "%s", err);
  struct run_options opts = {0};
  ck_assert(run_scenario(sc, seed, &opts, rep));
  free(sc);
}

static const struct check_result *result(const struct run_report *rep, const char *name) {
  for (int i = 0; i < rep->result_count; i++)
    if (!strcmp(rep->results[i].name, name)) return &rep->results[i];
  ck_abort_msg("no checker %s", name);
  return NULL;
}

/* Separate roles: three controllers elect, the brokers observe; the
 * leader's kill is followed by an election (timed), every quorum checker
 * passes, and the run is a function of its seed. */
START_TEST(sluice_sim_runs_the_quorum) {
  struct run_report a, b;
  run_quorum_scenario(QUORUM_SCENARIO, 3, &a);
  run_quorum_scenario(QUORUM_SCENARIO, 3, &b);
  for (int i = 0; i < a.result_count; i++)
    ck_assert_msg(a.results[i].violations == 0, "%s: %s", a.results[i].name,
                  a.results[i].first);
  ck_assert(a.passed);
  ck_assert_int_eq(a.result_count, QUORUM_CHECKERS);
  ck_assert_int_eq(a.election_count, 1);
  ck_assert_uint_gt(a.elections_ms[0], 0);
  ck_assert_uint_gt(a.proposals, 20);
  ck_assert_uint_eq(a.broker_starts, 6); /* 5, then the killed leader again */
  ck_assert_uint_eq(a.trace_hash, b.trace_hash);
  ck_assert_str_eq(result(&a, "committed-kept")->first +
                       strspn(result(&a, "committed-kept")->first, "0123456789"),
                   " entries committed");
}
END_TEST

/* leader-stable holds the leader's epoch from a time on: an isolated leader
 * resigns (check-quorum) and the majority elects another, which the checker
 * reports; a follower cut off for as long comes back without deposing the
 * leader (KIP-996 pre-vote, Vote v2 on the wire), which passes it. */
START_TEST(leader_stable_reports_a_deposed_leader) {
  static const char isolated[] = "duration: 30s\nliveness: 10s\ncluster: {nodes: 3}\n"
                                 "workload: {producers: 0, consumers: 0}\n"
                                 "faults:\n"
                                 "  - {at: 5s, action: isolate, target: leader}\n"
                                 "  - {at: 20s, action: heal}\n"
                                 "expect: {leader_stable_after: 4s}\n";
  static const char rejoining[] = "duration: 30s\nliveness: 10s\ncluster: {nodes: 3}\n"
                                  "workload: {producers: 0, consumers: 0}\n"
                                  "faults:\n"
                                  "  - {at: 5s, action: partition, target: follower}\n"
                                  "  - {at: 20s, action: heal}\n"
                                  "expect: {leader_stable_after: 4s}\n";
  struct run_report rep;
  run_quorum_scenario(isolated, 1, &rep);
  ck_assert_uint_gt(result(&rep, "leader-stable")->violations, 0);
  ck_assert(!rep.passed);
  ck_assert_uint_eq(result(&rep, "election-safety")->violations, 0);
  ck_assert_uint_eq(result(&rep, "quorum-converged")->violations, 0);
  run_quorum_scenario(rejoining, 1, &rep);
  ck_assert_msg(result(&rep, "leader-stable")->violations == 0, "%s",
                result(&rep, "leader-stable")->first);
  ck_assert(rep.passed);
}
END_TEST

/* A bad quorum target names its line and what is wrong. */
START_TEST(bad_quorum_targets_name_the_line) {
  static const struct {
    const char *text, *error;
  } cases[] = {
      {"cluster: {nodes: 1}\nfaults:\n  - {at: 1s, action: pause, target: follower}\n",
       "t.yaml:3: target: follower needs at least 2 controllers (nodes: 1)"},
      {"cluster: {nodes: 3}\nworkload: {producers: 0, consumers: 0}\nfaults:\n"
       "  - {at: 1s, action: partition, target: node 1, peer: controllers}\n",
       "t.yaml:4: peer: controllers names several nodes; a peer is one"},
      {"cluster: {nodes: 3}\nworkload: {producers: 0, consumers: 0}\nfaults:\n"
       "  - {at: 1s, action: kill, target: controllers, when: during-fsync}\n",
       "t.yaml:4: when: a fault on every controller waits for one node's event: name it "
       "(when: {event: ..., node: N})"},
      {"cluster: {nodes: 3}\nworkload: {producers: 0, consumers: 0}\nfaults:\n"
       "  - {at: 1s, action: kill, target: leaders}\n",
       "t.yaml:4: target: \"leaders\" is not node N, client N, consumer N, leader(topic,p), "
       "follower(topic,p), coordinator(group), coordinator-follower(group), controller, "
       "random, leader, follower or controllers"},
  };
  struct scenario *sc = malloc(sizeof *sc);
  ck_assert_ptr_nonnull(sc);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char err[512] = "";
    ck_assert(
        !scenario_parse("t.yaml", cases[i].text, strlen(cases[i].text), sc, err, sizeof err));
    ck_assert_str_eq(err, cases[i].error);
  }
  free(sc);
}
END_TEST

/* Several nodes with clients: the clients route each partition to its
 * leader (a bootstrap list of every broker, Metadata, a connection per
 * leader). leader(t,1) is killed and restarted (the restart finds no
 * leader and takes the node the kill named): its partition is unavailable
 * meanwhile, the others go on, every send is acknowledged in the end and
 * read by the final reader; the quorum's checkers, applied-prefix fed,
 * and fenced-broker-excluded judge the run too; the run is a function of
 * its seed. */
static const char CLIENTS_SCENARIO[] =
    "duration: 15s\nliveness: 20s\ncluster: {nodes: 3, config: "
    "{log.flush.interval.messages: 1}}\n"
    "topics: [{name: t, partitions: 3}]\n"
    "workload: {producers: 1, consumers: 1, acks: all, rate: 300}\n"
    "faults:\n"
    "  - at: 5s\n    action: kill\n    target: leader(t,1)\n"
    "  - at: 9s\n    action: restart\n    target: leader(t,1)\n";

START_TEST(clients_on_several_nodes_route_to_leaders) {
  struct run_report a, b;
  run_quorum_scenario(CLIENTS_SCENARIO, 1, &a);
  run_quorum_scenario(CLIENTS_SCENARIO, 1, &b);
  for (int i = 0; i < a.result_count; i++)
    ck_assert_msg(a.results[i].violations == 0, "%s: %s", a.results[i].name,
                  a.results[i].first);
  ck_assert(a.passed);
  ck_assert_uint_gt(a.sent, 1000);
  ck_assert_uint_eq(a.acked, a.sent);
  ck_assert_uint_ge(a.polled, 2 * a.acked); /* the consumer and the final reader */
  ck_assert_uint_eq(a.broker_starts, 4);    /* the leader of t-1 came back */
  ck_assert_ptr_null(strstr(result(&a, "applied-prefix")->first, "not fed"));
  result(&a, "fenced-broker-excluded");
  result(&a, "lost-write");
  ck_assert_uint_eq(a.trace_hash, b.trace_hash);
}
END_TEST

/* ---- the quorum checkers on cores set by hand ---- */

/* A core as the checkers read it (raft.h's queries): role, epoch, the
 * entries' epochs (payloads empty) and the high watermark. */
static void core_set(struct raft *r, enum raft_role role, int32_t epoch, const int32_t *epochs,
                     int64_t count, int64_t hw) {
  memset(r, 0, sizeof *r);
  r->role = role;
  r->epoch = epoch;
  r->leader_id = RAFT_NO_NODE;
  r->voted_id = RAFT_NO_NODE;
  r->end_offset = count;
  r->high_watermark = hw;
  for (int64_t o = 0; o < count; o++) r->entries[o].epoch = epochs[o];
}

struct checked {
  struct raft *cores; /* 3 of them */
  struct quorum_check *q;
  struct quorum_view v[3];
  uint64_t now_ns;
};

static void checked_init(struct checked *c) {
  c->cores = calloc(3, sizeof *c->cores);
  ck_assert_ptr_nonnull(c->cores);
  struct quorum_check_config cfg = {.nodes = 3, .fetch_timeout_ms = 2000};
  c->q = quorum_check_create(&cfg);
  c->now_ns = 0;
  for (int i = 0; i < 3; i++)
    c->v[i] = (struct quorum_view){.core = &c->cores[i], .voter = true};
}

static void checked_step(struct checked *c) {
  c->now_ns += NS_PER_MS;
  quorum_check_observe(c->q, c->now_ns, c->v);
}

/* The number of violations of one checker, then frees everything. */
static size_t checked_end(struct checked *c, const char *name) {
  struct check_result out[QUORUM_CHECKERS];
  int n = quorum_check_finish(c->q, c->v, out, QUORUM_CHECKERS);
  size_t found = SIZE_MAX;
  for (int i = 0; i < n; i++)
    if (!strcmp(out[i].name, name)) found = out[i].violations;
  quorum_check_free(c->q);
  free(c->cores);
  ck_assert_uint_ne(found, SIZE_MAX);
  return found;
}

static const int32_t E1[] = {1, 1, 1}, E12[] = {1, 1, 2}, E122[] = {1, 2, 2};

START_TEST(two_leaders_of_one_epoch) {
  struct checked c;
  checked_init(&c);
  core_set(&c.cores[0], RAFT_LEADER, 2, E12, 3, 0);
  checked_step(&c);
  c.v[0].core = NULL; /* it crashed; another leads the same epoch */
  core_set(&c.cores[1], RAFT_LEADER, 2, E12, 3, 0);
  checked_step(&c);
  ck_assert_uint_eq(checked_end(&c, "election-safety"), 1);
}
END_TEST

START_TEST(an_epoch_that_goes_back) {
  struct checked c;
  checked_init(&c);
  core_set(&c.cores[0], RAFT_FOLLOWER, 3, E1, 1, 0);
  checked_step(&c);
  c.cores[0].epoch = 2;
  checked_step(&c);
  ck_assert_uint_eq(checked_end(&c, "epoch-monotonic"), 1);
}
END_TEST

START_TEST(a_restart_below_the_durable_epoch) {
  struct checked c;
  checked_init(&c);
  core_set(&c.cores[0], RAFT_FOLLOWER, 5, E1, 1, 0);
  checked_step(&c);
  c.v[0].core = NULL;
  quorum_check_process_ended(c.q, 0, 5);
  checked_step(&c);
  c.v[0].core = &c.cores[0];
  c.cores[0].epoch = 4; /* the file said 5 */
  checked_step(&c);
  ck_assert_uint_eq(checked_end(&c, "epoch-monotonic"), 1);
}
END_TEST

START_TEST(same_entry_after_different_prefixes) {
  struct checked c;
  checked_init(&c);
  core_set(&c.cores[0], RAFT_FOLLOWER, 2, E12, 3, 0);
  core_set(&c.cores[1], RAFT_FOLLOWER, 2, E122, 3, 0);
  checked_step(&c);
  ck_assert_uint_eq(checked_end(&c, "log-matching"), 1);
}
END_TEST

START_TEST(a_leader_without_a_committed_entry) {
  struct checked c;
  checked_init(&c);
  core_set(&c.cores[0], RAFT_LEADER, 1, E1, 3, 3);
  checked_step(&c);
  core_set(&c.cores[1], RAFT_LEADER, 2, E1, 2, 0); /* lacks offset 2 */
  checked_step(&c);
  ck_assert_uint_eq(checked_end(&c, "committed-kept"), 1);
}
END_TEST

START_TEST(a_leader_that_rewrites_its_log) {
  struct checked c;
  checked_init(&c);
  core_set(&c.cores[0], RAFT_LEADER, 1, E1, 3, 0);
  checked_step(&c);
  c.cores[0].end_offset = 1;
  checked_step(&c);
  ck_assert_uint_eq(checked_end(&c, "leader-append-only"), 1);
}
END_TEST

START_TEST(a_minority_that_commits) {
  struct checked c;
  checked_init(&c);
  for (int i = 0; i < 3; i++) core_set(&c.cores[i], RAFT_FOLLOWER, 1, E1, 1, 1);
  checked_step(&c);
  c.v[0].cut_off = true;
  checked_step(&c);
  core_set(&c.cores[0], RAFT_LEADER, 1, E1, 3, 3);
  checked_step(&c);
  ck_assert_uint_eq(checked_end(&c, "minority-progress"), 1);
}
END_TEST

START_TEST(a_leader_cut_off_that_stays) {
  struct checked c;
  checked_init(&c);
  core_set(&c.cores[0], RAFT_LEADER, 1, E1, 1, 1);
  c.v[0].cut_off = true;
  for (int ms = 0; ms < 3999; ms++) checked_step(&c); /* paused time does not count */
  c.v[0].paused = true;
  for (int ms = 0; ms < 10000; ms++) checked_step(&c);
  c.v[0].paused = false;
  for (int ms = 0; ms < 3999; ms++) checked_step(&c);
  ck_assert_uint_eq(checked_end(&c, "check-quorum"), 0);
  checked_init(&c);
  core_set(&c.cores[0], RAFT_LEADER, 1, E1, 1, 1);
  c.v[0].cut_off = true;
  for (int ms = 0; ms < 4002; ms++) checked_step(&c);
  ck_assert_uint_eq(checked_end(&c, "check-quorum"), 1);
}
END_TEST

START_TEST(agreeing_cores_pass) {
  struct checked c;
  checked_init(&c);
  core_set(&c.cores[0], RAFT_LEADER, 2, E12, 3, 3);
  c.cores[0].leader_id = 1;
  for (int i = 1; i < 3; i++) {
    core_set(&c.cores[i], RAFT_FOLLOWER, 2, E12, 3, 3);
    c.cores[i].leader_id = 1;
  }
  checked_step(&c);
  struct check_result out[QUORUM_CHECKERS];
  int n = quorum_check_finish(c.q, c.v, out, QUORUM_CHECKERS);
  for (int i = 0; i < n; i++) ck_assert_msg(out[i].violations == 0, "%s", out[i].name);
  quorum_check_free(c.q);
  free(c.cores);
}
END_TEST

/* The leader the observations saw: the highest epoch's among the nodes up,
 * as runner_raft_leader finds it on the cores. */
START_TEST(the_leader_is_the_highest_epochs_up) {
  struct checked c;
  checked_init(&c);
  for (int i = 0; i < 3; i++) core_set(&c.cores[i], RAFT_FOLLOWER, 1, E1, 1, 0);
  checked_step(&c);
  ck_assert_int_eq(quorum_check_leader(c.q), -1);
  c.cores[0].role = RAFT_LEADER;
  checked_step(&c);
  ck_assert_int_eq(quorum_check_leader(c.q), 0);
  core_set(&c.cores[1], RAFT_LEADER, 2, E1, 1, 0); /* node 1 has not heard yet */
  checked_step(&c);
  ck_assert_int_eq(quorum_check_leader(c.q), 1);
  c.v[1].core = NULL; /* crashed */
  checked_step(&c);
  ck_assert_int_eq(quorum_check_leader(c.q), 0);
  c.v[0].core = NULL;
  quorum_check_process_ended(c.q, 0, 1);
  ck_assert_int_eq(quorum_check_leader(c.q), -1);
  checked_end(&c, "election-safety");
}
END_TEST

/* ---- the quorum-state file ---- */

START_TEST(quorum_state_file_format) {
  const int32_t voters[] = {1, 2, 3};
  struct raft_quorum_state s = {.leader_epoch = 7, .voted_id = 2, .leader_id = -1}, back;
  char text[QUORUM_STATE_FILE_BYTES_MAX];
  size_t n = quorum_state_format(&s, voters, 3, text, sizeof text);
  ck_assert_str_eq(text,
                   "{\"clusterId\":\"\",\"leaderId\":-1,\"leaderEpoch\":7,\"votedId\":2,"
                   "\"appliedOffset\":0,\"currentVoters\":[{\"voterId\":1},{\"voterId\":2},"
                   "{\"voterId\":3}],\"data_version\":0}");
  ck_assert(quorum_state_parse(text, n, &back));
  ck_assert_int_eq(back.leader_epoch, 7);
  ck_assert_int_eq(back.voted_id, 2);
  ck_assert_int_eq(back.leader_id, -1);
  /* Kafka's version 1, with spaces and a directory id. */
  const char *v1 = "{ \"leaderId\": 3, \"leaderEpoch\": 12, \"votedId\": 3,\n"
                   "  \"votedDirectoryId\": \"J8aAPcfLQt2bqs1JT_rMgQ\", \"data_version\": 1 }";
  ck_assert(quorum_state_parse(v1, strlen(v1), &back));
  ck_assert_int_eq(back.leader_epoch, 12);
  ck_assert_int_eq(back.leader_id, 3);
  static const char *const bad[] = {
      "",
      "{}",
      "{\"leaderId\":1,\"leaderEpoch\":2,\"votedId\":-1}",                     /* no version */
      "{\"leaderId\":1,\"leaderEpoch\":2,\"votedId\":-1,\"data_version\":2}",  /* unknown */
      "{\"leaderId\":1,\"leaderEpoch\":-1,\"votedId\":-1,\"data_version\":0}", /* epoch < 0 */
      "{\"leaderId\":1,\"leaderEpoch\":2,\"votedId\":-1,\"data_version\":0",   /* cut */
      "{\"leaderId\":1,\"leaderEpoch\":2,\"votedId\":-1,\"data_version\":0} x",
      "{\"leaderId\":\"1\",\"leaderEpoch\":2,\"votedId\":-1,\"data_version\":0}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    ck_assert_msg(!quorum_state_parse(bad[i], strlen(bad[i]), &back), "accepted: %s", bad[i]);
}
END_TEST

static Suite *quorum_suite(void) {
  Suite *s = suite_create("quorum");
  TCase *tc = tcase_create("quorum");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, quorum_state_file_format);
  tcase_add_test(tc, three_voters_elect_and_replicate);
  tcase_add_test(tc, same_seed_same_run);
  tcase_add_test(tc, a_killed_leader_is_replaced);
  tcase_add_test(tc, a_partitioned_leader_is_replaced_and_rejoins);
  tcase_add_test(tc, a_leader_resigns_at_shutdown_and_the_cluster_restarts);
  tcase_add_test(tc, a_failed_fsync_stops_the_quorum_on_that_node);
  tcase_add_test(tc, random_crashes_and_partitions_lose_nothing_committed);
  tcase_add_test(tc, sluice_sim_runs_the_quorum);
  tcase_add_test(tc, two_leaders_of_one_epoch);
  tcase_add_test(tc, an_epoch_that_goes_back);
  tcase_add_test(tc, a_restart_below_the_durable_epoch);
  tcase_add_test(tc, same_entry_after_different_prefixes);
  tcase_add_test(tc, a_leader_without_a_committed_entry);
  tcase_add_test(tc, a_leader_that_rewrites_its_log);
  tcase_add_test(tc, a_minority_that_commits);
  tcase_add_test(tc, a_leader_cut_off_that_stays);
  tcase_add_test(tc, agreeing_cores_pass);
  tcase_add_test(tc, the_leader_is_the_highest_epochs_up);
  tcase_add_test(tc, leader_stable_reports_a_deposed_leader);
  tcase_add_test(tc, bad_quorum_targets_name_the_line);
  tcase_add_test(tc, clients_on_several_nodes_route_to_leaders);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(quorum_suite)
