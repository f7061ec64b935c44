/* Snapshots of the metadata log in nodes (KIP-630, server/raft_snapshot.c),
 * in the simulated world: three combined voters, each with its metadata
 * loader as the state machine, wrapped (below) to count the snapshot
 * images it is handed.
 *
 * - Proposals and elections far past the core's in-memory log
 *   (RAFT_LOG_ENTRIES_MAX entries) keep working: snapshots trim the log,
 *   whole segments below it are deleted, and every node ends with the same
 *   image.
 * - A follower cut off while the leader snapshots and trims catches up by
 *   FetchSnapshot, in chunks, and ends with the same image.
 * - A cluster restarts from its snapshots and the log above them.
 * - A snapshot file damaged at rest is deleted at start and the node falls
 *   back to the one before it (and the log it kept for that). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "log/log.h"
#include "meta/codec.h"
#include "meta/image.h"
#include "meta/snapshot.h"
#include "server/metadata_loader.h"
#include "server/node.h"
#include "server/raft_node.h"
#include "server/server.h"
#include "server/storage_format.h"
#include "sim/disk.h"
#include "sim/net.h"
#include "sim/prng.h"
#include "sim/world.h"
#include "testing.h"

enum {
  VOTERS = 3,
  STEP_MS = 10,
  BOUND_MS = 20000, /* virtual */
  BATCH = 40,       /* proposals before waiting for them to commit */
  CHUNK_BYTES = 4096,
};

static const unsigned ALL = (1u << VOTERS) - 1;

#define META_DIR "/logs/__cluster_metadata-0"

/* ---- the state machine: the node's loader, its restores counted ---- */

struct fsm {
  struct node *node; /* NULL while down */
  int restores;
};

static struct meta_image *fsm_applied_image(void *ctx) {
  struct fsm *f = ctx;
  return metadata_loader_image(f->node);
}

static void fsm_restore(void *ctx, struct meta_image *image) {
  struct fsm *f = ctx;
  metadata_loader_set_base(f->node, image);
  f->restores++;
}

/* Node i's image: what its loader applied. */
#define IMAGE(c, i) ((c)->node[i]->image)

/* ---- the cluster ---- */

struct cluster {
  struct sim_world *w;
  struct sim_node *sim[VOTERS];
  struct node *node[VOTERS];
  struct fsm fsm[VOTERS];
  int next_record;
  const char *extra_key, *extra_value; /* one more config for every node */
};

static void run_ms(struct cluster *c, uint64_t ms) {
  sim_run_until(c->w, sim_now_ns(c->w) + ms * NS_PER_MS);
}

static void set(struct config *cfg, const char *key, const char *value) {
  char err[256];
  ck_assert_msg(config_set(cfg, key, value, NULL, err, sizeof err), "%s", err);
}

static void node_up(struct cluster *c, int i) {
  ck_assert_ptr_null(c->node[i]);
  struct config cfg;
  config_defaults(&cfg);
  char value[256];
  const char *host = sim_node_host(c->sim[i]);
  cfg.node_id = i + 1;
  snprintf(cfg.log_dirs, sizeof cfg.log_dirs, "/logs");
  set(&cfg, "cluster.id", STORAGE_TEST_CLUSTER_ID);
  set(&cfg, "controller.quorum.voters", "1@broker1:9093,2@broker2:9093,3@broker3:9093");
  set(&cfg, "controller.listener.names", "CONTROLLER");
  set(&cfg, "process.roles", "broker,controller");
  set(&cfg, "log.segment.bytes", "16384"); /* segments roll, and go below snapshots */
  if (c->extra_key) set(&cfg, c->extra_key, c->extra_value);
  snprintf(value, sizeof value, "PLAINTEXT://%s:9092,CONTROLLER://%s:9093", host, host);
  set(&cfg, "listeners", value);
  ck_assert_int_ge(storage_format(sim_node_env(c->sim[i]), &cfg, cfg.cluster_id, true, NULL,
                                  NULL, value, sizeof value, NULL, NULL),
                   0);
  ck_assert_int_eq(node_create(sim_node_env(c->sim[i]), &cfg, &c->node[i]), 0);
  struct fsm *f = &c->fsm[i];
  f->node = c->node[i];
  f->restores = 0;
  /* Before start: metadata.c keeps it (the loader restores through it). */
  struct raft_node_fsm hooks = {f, fsm_applied_image, fsm_restore};
  raft_node_set_fsm(c->node[i], &hooks);
  c->node[i]->raft->core.cfg.snapshot_chunk_bytes = CHUNK_BYTES; /* several chunks */
  ck_assert_int_eq(node_start(c->node[i]), 0);
}

static void node_kill(struct cluster *c, int i) {
  sim_node_crash(c->sim[i]);
  node_destroy(c->node[i]);
  c->node[i] = NULL;
  c->fsm[i].node = NULL;
}

static void node_restart(struct cluster *c, int i) {
  sim_node_restart(c->sim[i]);
  node_up(c, i);
}

static void cluster_setup_with(struct cluster *c, uint64_t seed, const char *key,
                               const char *value) {
  memset(c, 0, sizeof *c);
  c->extra_key = key;
  c->extra_value = value;
  c->w = sim_world_create(seed);
  sim_world_set_verbose(c->w, getenv("SNAPSHOT_VERBOSE") != NULL);
  static const char *const hosts[VOTERS] = {"broker1", "broker2", "broker3"};
  for (int i = 0; i < VOTERS; i++) c->sim[i] = sim_node_add(c->w, i + 1, hosts[i]);
  for (int i = 0; i < VOTERS; i++) node_up(c, i);
}

static void cluster_setup(struct cluster *c, uint64_t seed) {
  cluster_setup_with(c, seed, NULL, NULL);
}

static void cluster_teardown(struct cluster *c) {
  for (int i = 0; i < VOTERS; i++) {
    if (c->node[i]) sim_node_crash(c->sim[i]);
    node_destroy(c->node[i]);
  }
  sim_world_destroy(c->w);
}

static struct node_quorum status(const struct cluster *c, int i) {
  struct node_quorum q;
  ck_assert_ptr_nonnull(c->node[i]);
  node_quorum(c->node[i], &q);
  return q;
}

static struct raft_node *rn_of(const struct cluster *c, int i) { return c->node[i]->raft; }

static int agreed_leader(const struct cluster *c, unsigned mask) {
  int leader = -1;
  int32_t epoch = -1, leader_id = -1;
  for (int i = 0; i < VOTERS; i++) {
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

static int wait_leader(struct cluster *c, unsigned mask, int32_t min_epoch) {
  for (int t = 0; t <= BOUND_MS; t += STEP_MS) {
    int l = agreed_leader(c, mask);
    if (l >= 0 && status(c, l).epoch > min_epoch) return l;
    run_ms(c, STEP_MS);
  }
  ck_abort_msg("no leader agreed within %d ms", BOUND_MS);
  return -1;
}

static void wait_committed(struct cluster *c, unsigned mask, int64_t hw) {
  for (int t = 0; t <= BOUND_MS; t += STEP_MS) {
    bool all = true;
    for (int i = 0; i < VOTERS; i++)
      if ((mask & (1u << i)) && c->node[i] && status(c, i).high_watermark < hw) all = false;
    if (all) return;
    run_ms(c, STEP_MS);
  }
  ck_abort_msg("high watermark %lld not reached", (long long)hw);
}

/* A TopicRecord of a new topic (the image ends with one topic per record). */
static int64_t propose(struct cluster *c, int i) {
  struct meta_record r;
  memset(&r, 0, sizeof r);
  r.type = META_TOPIC_RECORD;
  snprintf(r.topic.name, sizeof r.topic.name, "topic-%05d", c->next_record);
  r.topic.topic_id.b[0] = (uint8_t)(c->next_record >> 8);
  r.topic.topic_id.b[1] = (uint8_t)c->next_record;
  r.topic.topic_id.b[15] = 7;
  struct buf value;
  buf_init(&value);
  meta_record_encode(&r, &value);
  int64_t offset = node_quorum_propose(c->node[i], value.data, (uint32_t)value.len);
  buf_free(&value);
  if (offset >= 0) c->next_record++;
  return offset;
}

/* n records through whoever leads the nodes in mask, BATCH at a time,
 * each batch committed on mask before the next: the end offset. */
static int64_t propose_many(struct cluster *c, unsigned mask, int n) {
  int64_t end = -1;
  for (int done = 0; done < n;) {
    int leader = wait_leader(c, mask, -1);
    int64_t last = -1;
    for (int k = 0; k < BATCH && done < n; k++, done++) {
      int64_t offset = propose(c, leader);
      ck_assert_msg(offset >= 0, "the leader refused record %d (its log is full?)", done);
      last = offset;
    }
    end = last + 1;
    wait_committed(c, mask, end);
  }
  return end;
}

/* The image as bytes (a snapshot with fixed stamps), for comparing. */
static void image_bytes(const struct meta_image *image, struct buf *out) {
  struct meta_snapshot_opts opts = {.epoch = 0, .timestamp_ms = 0};
  buf_reset(out);
  ck_assert_int_eq(meta_snapshot_write(image, &opts, out), 0);
}

/* Every node up applied everything up to end and holds the same image,
 * with `topics` topics. */
static void images_equal(struct cluster *c, int64_t end, int32_t topics) {
  struct buf first, other;
  buf_init(&first);
  buf_init(&other);
  int first_node = -1;
  for (int i = 0; i < VOTERS; i++) {
    if (c->node[i] == NULL) continue;
    const struct meta_image *image = IMAGE(c, i);
    ck_assert_int_ge(image->offset + 1, end);
    ck_assert_int_eq(image->topic_count, topics);
    image_bytes(image, first_node < 0 ? &first : &other);
    if (first_node < 0) {
      first_node = i;
      continue;
    }
    ck_assert_int_eq(image->offset, IMAGE(c, first_node)->offset);
    ck_assert_msg(other.len == first.len && memcmp(other.data, first.data, first.len) == 0,
                  "node %d's image differs from node %d's", i + 1, first_node + 1);
  }
  buf_free(&first);
  buf_free(&other);
}

/* Runs until the nodes up hold the whole log of the leader, committed. */
static int wait_converged(struct cluster *c) {
  for (int t = 0; t <= BOUND_MS; t += STEP_MS) {
    int l = agreed_leader(c, ALL);
    bool same = l >= 0;
    int64_t end = same ? status(c, l).end_offset : -1;
    for (int i = 0; i < VOTERS && same; i++) {
      if (c->node[i] == NULL) continue;
      struct node_quorum q = status(c, i);
      same = q.log_end_offset == end && q.high_watermark == end;
    }
    if (same) return l;
    run_ms(c, STEP_MS);
  }
  ck_abort_msg("the nodes did not converge within %d ms", BOUND_MS);
  return -1;
}

/* The snapshot files of node i's metadata log directory. */
struct names {
  int checkpoints, parts;
  struct meta_snapshot_id newest;
};

static void count_name(void *ctx, const char *name, bool is_dir) {
  struct names *n = ctx;
  struct meta_snapshot_id id;
  (void)is_dir;
  if (meta_snapshot_parse_name(name, &id)) {
    n->checkpoints++;
    if (id.end_offset > n->newest.end_offset) n->newest = id;
  }
  if (strstr(name, ".checkpoint.part") != NULL) n->parts++;
}

static struct names snapshot_files(struct cluster *c, int i) {
  struct names n = {0, 0, {0, 0}};
  struct env *env = sim_node_env(c->sim[i]);
  ck_assert_int_eq(env->list(env, META_DIR, count_name, &n), 0);
  return n;
}

/* What every node up holds after many snapshots: a trimmed core log, at
 * most RAFT_SNAPSHOTS_KEPT files, no partial one, a log on disk that lost
 * its first segments. */
static void trimmed_everywhere(struct cluster *c) {
  for (int i = 0; i < VOTERS; i++) {
    if (c->node[i] == NULL) continue;
    struct raft_node *rn = rn_of(c, i);
    struct names n = snapshot_files(c, i);
    ck_assert_int_ge(n.checkpoints, 1);
    ck_assert_int_le(n.checkpoints, RAFT_SNAPSHOTS_KEPT);
    ck_assert_int_eq(n.parts, 0);
    int64_t start = raft_log_start_offset(&rn->core);
    ck_assert_int_eq(n.newest.end_offset, start); /* the core starts at the latest */
    ck_assert_int_le(raft_end_offset(&rn->core) - start, RAFT_SNAPSHOT_ENTRIES + BATCH + 8);
    ck_assert_int_gt(plog_start_offset(rn->log), 0); /* segments below it went */
    ck_assert_int_le(plog_start_offset(rn->log), start);
  }
}

/* ---- the cases ---- */

/* 1,500 records and a leader killed after every 300: ten times the core's
 * in-memory log, committed everywhere, through elections (each adds a
 * LeaderChange record) and restarts from snapshot and log. */
START_TEST(many_proposals_and_elections_past_the_in_memory_log) {
  struct cluster c;
  cluster_setup(&c, 21);
  int64_t end = 0;
  int kills = 0;
  for (int round = 0; round < 5; round++) {
    end = propose_many(&c, ALL, 300);
    int leader = wait_leader(&c, ALL, -1);
    int32_t epoch = status(&c, leader).epoch;
    node_kill(&c, leader);
    kills++;
    wait_leader(&c, ALL & ~(1u << leader), epoch);
    node_restart(&c, leader);
    ck_assert_int_eq(c.fsm[leader].restores, 1); /* it came back from its snapshot */
  }
  end = propose_many(&c, ALL, 10);
  int leader = wait_converged(&c);
  end = status(&c, leader).end_offset;
  ck_assert_int_gt(end, 1500 + kills); /* records and LeaderChange records */
  run_ms(&c, 1000);
  images_equal(&c, end, c.next_record);
  trimmed_everywhere(&c);
  for (int i = 0; i < VOTERS; i++) /* each node kept snapshotting to the end */
    ck_assert_int_gt(raft_log_start_offset(&rn_of(&c, i)->core),
                     end - 2 * RAFT_SNAPSHOT_ENTRIES);
  cluster_teardown(&c);
}
END_TEST

/* KIP-630: a follower cut off while the others commit past their
 * snapshots finds its fetch offset below the leader's log start, fetches
 * the snapshot in chunks, installs it, fetches the rest. */
START_TEST(a_follower_far_behind_catches_up_by_fetch_snapshot) {
  struct cluster c;
  cluster_setup(&c, 33);
  int leader = wait_leader(&c, ALL, -1);
  propose_many(&c, ALL, 20);
  int lagging = (leader + 1) % VOTERS;
  int64_t behind = status(&c, lagging).end_offset;
  sim_net_isolate(c.w, c.sim[lagging]);
  unsigned majority = ALL & ~(1u << lagging);
  propose_many(&c, majority, 700);
  int now_leader = wait_leader(&c, majority, -1);
  ck_assert_int_gt(raft_log_start_offset(&rn_of(&c, now_leader)->core), behind);
  sim_net_heal_all(c.w);
  uint64_t healed_ns = sim_now_ns(c.w);
  int final = wait_converged(&c);
  uint64_t caught_up_ms = (sim_now_ns(c.w) - healed_ns) / NS_PER_MS;
  int64_t end = status(&c, final).end_offset;
  struct raft_node *rn = rn_of(&c, lagging);
  int64_t snapshot_bytes = 0;
  struct raft_snapshot_id installed = raft_snapshot(&rn->core, &snapshot_bytes);
  printf("snapshot: a follower %lld entries behind caught up %llu ms (virtual) after the heal: "
         "snapshot %lld-%d of %lld bytes in %llu chunks of %d bytes, then %lld entries\n",
         (long long)(end - behind), (unsigned long long)caught_up_ms,
         (long long)installed.end_offset, installed.epoch, (long long)snapshot_bytes,
         (unsigned long long)rn->snap.chunks_written, CHUNK_BYTES,
         (long long)(end - installed.end_offset));
  ck_assert_uint_ge(rn->snap.installed, 1);
  ck_assert_uint_gt(rn->snap.chunks_written, 1); /* in chunks of CHUNK_BYTES */
  ck_assert_int_eq(c.fsm[lagging].restores, 1);
  uint64_t served = 0;
  for (int i = 0; i < VOTERS; i++) served += rn_of(&c, i)->snap.chunks_served;
  ck_assert_uint_ge(served, rn->snap.chunks_written);
  run_ms(&c, 1000);
  images_equal(&c, end, c.next_record);
  /* It keeps replicating after the install. */
  propose_many(&c, ALL, 5);
  wait_converged(&c);
  images_equal(&c, status(&c, final).end_offset, c.next_record);
  cluster_teardown(&c);
}
END_TEST

/* Every node stops (power loss) and restarts from its latest snapshot and
 * the log above it: the state machine gets the snapshot's image, the core
 * starts at its end, nothing committed is lost. */
START_TEST(a_cluster_restarts_from_snapshots_and_logs) {
  struct cluster c;
  cluster_setup(&c, 45);
  int64_t end = propose_many(&c, ALL, 450);
  run_ms(&c, 1000);
  int64_t starts[VOTERS];
  for (int i = 0; i < VOTERS; i++) {
    starts[i] = raft_log_start_offset(&rn_of(&c, i)->core);
    ck_assert_int_gt(starts[i], 0);
  }
  for (int i = 0; i < VOTERS; i++) node_kill(&c, i);
  for (int i = 0; i < VOTERS; i++) node_restart(&c, i);
  for (int i = 0; i < VOTERS; i++) {
    ck_assert_int_eq(c.fsm[i].restores, 1);
    ck_assert_int_eq(raft_log_start_offset(&rn_of(&c, i)->core), starts[i]);
    /* Held by the loader until the log is replayed (metadata_loader.c). */
    ck_assert_int_eq(metadata_loader_offset(c.node[i]) + 1, starts[i]);
  }
  wait_leader(&c, ALL, -1);
  propose_many(&c, ALL, 3);
  int leader = wait_converged(&c);
  ck_assert_int_gt(status(&c, leader).end_offset, end);
  run_ms(&c, 1000);
  images_equal(&c, status(&c, leader).end_offset, c.next_record);
  cluster_teardown(&c);
}
END_TEST

/* A bit flipped at rest in the latest snapshot: at start the file fails
 * its CRC, is deleted, and the node restores the one before it and the log
 * it kept from there; it rejoins with the same image. */
START_TEST(a_damaged_snapshot_falls_back_to_the_one_before) {
  struct cluster c;
  cluster_setup(&c, 57);
  propose_many(&c, ALL, 400);
  run_ms(&c, 1000);
  int leader = wait_leader(&c, ALL, -1);
  int victim = (leader + 1) % VOTERS;
  struct names before = snapshot_files(&c, victim);
  ck_assert_int_eq(before.checkpoints, RAFT_SNAPSHOTS_KEPT);
  int64_t older_end = rn_of(&c, victim)->snap.ids[0].end_offset;
  ck_assert_int_lt(older_end, before.newest.end_offset);
  node_kill(&c, victim);
  char name[META_SNAPSHOT_NAME_BYTES], path[256];
  meta_snapshot_name(before.newest, name, sizeof name);
  snprintf(path, sizeof path, "%s/%s", META_DIR, name);
  ck_assert(sim_disk_flip_bit(c.sim[victim], path, 100, 3));
  node_restart(&c, victim);
  struct raft_node *rn = rn_of(&c, victim);
  ck_assert_uint_eq(rn->snap.invalid_deleted, 1);
  ck_assert_int_eq(raft_log_start_offset(&rn->core), older_end);
  /* The loader holds the restored image back until the log is replayed
   * (metadata_loader.c, deferred), so it is the loader's image here. */
  ck_assert_int_eq(metadata_loader_offset(c.node[victim]) + 1, older_end);
  struct names after = snapshot_files(&c, victim);
  ck_assert_int_eq(after.checkpoints, 1);
  ck_assert_int_eq(after.newest.end_offset, older_end);
  propose_many(&c, ALL, 30);
  int final = wait_converged(&c);
  run_ms(&c, 1000);
  images_equal(&c, status(&c, final).end_offset, c.next_record);
  cluster_teardown(&c);
}
END_TEST

/* Copies a file of node `from`'s disk to node `to`'s (page cache). */
static void copy_file(struct cluster *c, int from, int to, const char *path) {
  struct env *src = sim_node_env(c->sim[from]), *dst = sim_node_env(c->sim[to]);
  env_file f, g;
  ck_assert_int_eq(src->open(src, path, ENV_O_READONLY, &f), 0);
  int64_t size = src->file_size(src, f);
  ck_assert_int_gt(size, 0);
  uint8_t *bytes = malloc((size_t)size);
  ck_assert_int_eq(src->pread(src, f, bytes, (size_t)size, 0), size);
  src->file_close(src, f);
  ck_assert_int_eq(dst->open(dst, path, ENV_O_CREATE | ENV_O_TRUNC, &g), 0);
  ck_assert_int_eq(dst->pwrite(dst, g, bytes, (size_t)size, 0), size);
  dst->file_close(dst, g);
  free(bytes);
}

/* An install whose snapshot became durable but whose emptying of the log
 * did not (a crash between them): the node finds the leader's snapshot next
 * to its old log, which holds an older leader's uncommitted entries at the
 * snapshot's last offset. The log does not continue the snapshot, so it is
 * emptied at its end, and the node catches up from there. */
START_TEST(a_log_that_does_not_continue_the_snapshot_is_emptied) {
  struct cluster c;
  cluster_setup(&c, 81);
  propose_many(&c, ALL, 10);
  int old = wait_leader(&c, ALL, -1);
  int32_t old_epoch = status(&c, old).epoch;
  sim_net_isolate(c.w, c.sim[old]);
  for (int k = 0; k < 300; k++) ck_assert_int_ge(propose(&c, old), 0); /* never committed */
  c.next_record -= 300; /* they will not be in the image */
  for (int t = 0; t < 100 && status(&c, old).log_end_offset < 300; t++) run_ms(&c, STEP_MS);
  int64_t old_end = status(&c, old).log_end_offset;
  ck_assert_int_ge(old_end, 300);
  unsigned majority = ALL & ~(1u << old);
  wait_leader(&c, majority, old_epoch);
  c.next_record += 1000; /* other topic names than the stray ones */
  propose_many(&c, majority, 250);
  int other = (old + 1) % VOTERS;
  struct raft_snapshot_id snap = {0, 0};
  struct raft_node_snapshots *s = &rn_of(&c, other)->snap;
  for (uint32_t k = 0; k < s->count; k++)
    if (s->ids[k].end_offset <= old_end) snap = s->ids[k];
  ck_assert_int_gt(snap.end_offset, 0);
  ck_assert_int_gt(snap.epoch, old_epoch);
  node_kill(&c, old);
  sim_node_restart(c.sim[old]);
  char name[META_SNAPSHOT_NAME_BYTES], path[256];
  meta_snapshot_name((struct meta_snapshot_id){snap.end_offset, snap.epoch}, name, sizeof name);
  snprintf(path, sizeof path, "%s/%s", META_DIR, name);
  copy_file(&c, other, old, path);
  node_up(&c, old);
  struct raft_node *rn = rn_of(&c, old);
  ck_assert_int_eq(raft_log_start_offset(&rn->core), snap.end_offset);
  ck_assert_int_eq(raft_end_offset(&rn->core), snap.end_offset); /* emptied */
  ck_assert_int_eq(c.fsm[old].restores, 1);
  sim_net_heal_all(c.w);
  propose_many(&c, ALL, 5);
  int final = wait_converged(&c);
  run_ms(&c, 1000);
  images_equal(&c, status(&c, final).end_offset, 10 + 250 + 5);
  cluster_teardown(&c);
}
END_TEST

/* A snapshot the leader serves that does not read back (a bit flipped at
 * rest on the leader): the follower checks the whole file before it
 * replaces anything, stops its quorum with the reason, and keeps its log
 * and files as they were (no .part left). */
START_TEST(an_invalid_fetched_snapshot_stops_the_follower_and_replaces_nothing) {
  struct cluster c;
  cluster_setup(&c, 93);
  int leader = wait_leader(&c, ALL, -1);
  propose_many(&c, ALL, 10);
  int lagging = (leader + 1) % VOTERS;
  sim_net_isolate(c.w, c.sim[lagging]);
  unsigned majority = ALL & ~(1u << lagging);
  propose_many(&c, majority, 300);
  int now_leader = wait_leader(&c, majority, -1);
  struct raft_snapshot_id snap = raft_snapshot(&rn_of(&c, now_leader)->core, NULL);
  char name[META_SNAPSHOT_NAME_BYTES], path[256];
  meta_snapshot_name((struct meta_snapshot_id){snap.end_offset, snap.epoch}, name, sizeof name);
  snprintf(path, sizeof path, "%s/%s", META_DIR, name);
  ck_assert(sim_disk_flip_bit(c.sim[now_leader], path, 200, 1));
  struct node_quorum before = status(&c, lagging);
  sim_net_heal_all(c.w);
  for (int t = 0; t < BOUND_MS && status(&c, lagging).running; t += STEP_MS)
    run_ms(&c, STEP_MS);
  struct node_quorum after = status(&c, lagging);
  ck_assert(!after.running);
  ck_assert_int_ge(after.log_end_offset, before.log_end_offset); /* what it had, */
  ck_assert_int_lt(after.log_end_offset, snap.end_offset); /* not emptied at the snapshot */
  ck_assert_int_eq(plog_start_offset(rn_of(&c, lagging)->log), 0);
  struct names n = snapshot_files(&c, lagging);
  ck_assert_int_eq(n.parts, 0);
  ck_assert_int_eq(n.checkpoints, 0);
  ck_assert_uint_eq(rn_of(&c, lagging)->snap.installed, 0);
  cluster_teardown(&c);
}
END_TEST

/* Kafka's two bounds besides the entry count:
 * metadata.log.max.record.bytes.between.snapshots (bytes of batches above
 * the last snapshot) and metadata.log.max.snapshot.interval.ms (time since
 * the last one, with something new to snapshot). */
START_TEST(kafkas_byte_and_time_bounds_take_snapshots_earlier) {
  struct cluster c;
  cluster_setup_with(&c, 105, "metadata.log.max.record.bytes.between.snapshots", "2000");
  int64_t end = propose_many(&c, ALL, 60); /* about 100 bytes a batch */
  run_ms(&c, 1000);
  for (int i = 0; i < VOTERS; i++) {
    int64_t start = raft_log_start_offset(&rn_of(&c, i)->core);
    ck_assert_int_gt(start, 0); /* well before RAFT_SNAPSHOT_ENTRIES */
    ck_assert_int_ge(start, end - 25);
  }
  cluster_teardown(&c);

  cluster_setup_with(&c, 106, "metadata.log.max.snapshot.interval.ms", "3000");
  end = propose_many(&c, ALL, 10);
  run_ms(&c, 1000);
  for (int i = 0; i < VOTERS; i++) /* not yet: under every bound */
    ck_assert_int_eq(raft_log_start_offset(&rn_of(&c, i)->core), 0);
  run_ms(&c, 3000);
  end = propose_many(&c, ALL, 1);
  run_ms(&c, 1000);
  for (int i = 0; i < VOTERS; i++)
    ck_assert_int_eq(raft_log_start_offset(&rn_of(&c, i)->core), end);
  cluster_teardown(&c);
}
END_TEST

/* No fsm: no snapshot is taken (the node cannot know the state), and the
 * log grows as before. */
START_TEST(without_a_state_machine_no_snapshot_is_taken) {
  struct cluster c;
  cluster_setup(&c, 69);
  for (int i = 0; i < VOTERS; i++) raft_node_set_fsm(c.node[i], NULL);
  int64_t end = propose_many(&c, ALL, 200);
  run_ms(&c, 1000);
  for (int i = 0; i < VOTERS; i++) {
    ck_assert_int_eq(raft_log_start_offset(&rn_of(&c, i)->core), 0);
    ck_assert_int_eq(snapshot_files(&c, i).checkpoints, 0);
    ck_assert_int_ge(status(&c, i).log_end_offset, end);
  }
  cluster_teardown(&c);
}
END_TEST

/* ---- plog_truncate_fully (log/log.h) ---- */

static void flushed(void *ctx, int err) {
  ck_assert_int_eq(err, 0);
  *(bool *)ctx = true;
}

static void flush_now(struct sim_world *w, struct plog *log) {
  bool done = false;
  plog_flush(log, flushed, &done);
  for (int n = 0; n < 100000 && !done; n++)
    if (!sim_step(w)) break;
  ck_assert(done);
}

/* Entries [from, to) of `epoch`, one batch each, as a follower appends them. */
static void append_entries(struct plog *log, int64_t from, int64_t to, int32_t epoch) {
  struct buf b;
  buf_init(&b);
  for (int64_t o = from; o < to; o++) {
    struct raft_entry e = {.epoch = epoch, .type = RAFT_ENTRY_DATA, .size = 3};
    memcpy(e.payload, "abc", 3);
    buf_reset(&b);
    raft_records_encode(&e, o, 1000, NULL, 0, &b);
    struct plog_append_info info;
    ck_assert_int_eq(plog_append_replica(log, b.data, b.len, 1000, &info), 0);
    ck_assert_int_eq(info.base_offset, o);
  }
  buf_free(&b);
}

static struct plog *open_log(struct env *env) {
  struct log_config lc = {.segment_bytes = 1024,
                          .roll_ms = -1,
                          .retention_ms = -1,
                          .retention_bytes = -1,
                          .index_interval_bytes = 4096,
                          .index_bytes_max = 1 << 20};
  struct plog *log = NULL;
  ck_assert_int_eq(plog_open(env, "/logs/m-0", &lc, 0, 0, &log), 0);
  return log;
}

/* Kafka's truncateFullyAndStartAt: past the end, inside, and at a
 * segment's own base offset, the log restarts empty there, forgets its
 * epochs (a snapshot's entries may carry a lower one than a diverged tail),
 * takes appends there, and is found so after a power loss. */
START_TEST(plog_truncate_fully_restarts_the_log_at_an_offset) {
  struct sim_world *w = sim_world_create(3);
  struct sim_node *n = sim_node_add(w, 1, "broker1");
  struct env *env = sim_node_env(n);
  ck_assert_int_eq(env->mkdir(env, "/logs"), 0);
  struct plog *log = open_log(env);
  append_entries(log, 0, 40, 5); /* several 1 KiB segments */
  flush_now(w, log);
  ck_assert_int_gt(plog_segment_count(log), 2);
  static const int64_t cuts[] = {60, 20, 20};
  for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
    ck_assert_int_eq(plog_truncate_fully(log, cuts[k]), 0);
    ck_assert_int_eq(plog_start_offset(log), cuts[k]);
    ck_assert_int_eq(plog_end_offset(log), cuts[k]);
    ck_assert_int_eq(plog_segment_count(log), 1);
    ck_assert_int_eq(plog_latest_epoch(log), -1);
    append_entries(log, cuts[k], cuts[k] + 3, 2); /* a lower epoch than before */
    flush_now(w, log);
    plog_maintain(log, 0);
  }
  plog_close(log);
  sim_node_crash(n);
  sim_node_restart(n);
  log = open_log(env);
  ck_assert_int_eq(plog_start_offset(log), 20);
  ck_assert_int_eq(plog_end_offset(log), 23);
  ck_assert_int_eq(plog_latest_epoch(log), 2);
  plog_close(log);
  sim_world_destroy(w);
}
END_TEST

/* ---- random faults ---- */

/* Every topic of `had` is in `image` (topics are only ever added here, so a
 * committed image is contained in every later one). */
static void contains(const struct meta_image *image, const struct meta_image *had,
                     uint64_t seed) {
  for (int32_t t = 0; t < had->topic_count; t++) {
    const char *name = had->topics_by_name[t]->name;
    ck_assert_msg(meta_image_topic(image, name, strlen(name)) != NULL,
                  "seed %llu: committed topic %s is gone", (unsigned long long)seed, name);
  }
}

/* Power losses that tear what was not fsynced, restarts, partitions, slow
 * disks, and proposals to whoever leads, for a minute of virtual time:
 * what any leader applied stays in every later leader's image, and once
 * the faults end every node holds the same image. */
static void chaos(uint64_t seed) {
  struct cluster c;
  cluster_setup(&c, seed);
  struct sim_rng rng;
  sim_rng_seed(&rng, seed);
  for (int i = 0; i < VOTERS; i++) {
    sim_disk_set_torn(c.sim[i], (enum sim_torn)((seed + (uint64_t)i) % 3));
    sim_disk_set_fsync_slowdown(c.sim[i], 1 + (uint32_t)sim_rng_below(&rng, 20));
  }
  struct meta_image *committed = meta_image_empty(STORAGE_TEST_CLUSTER_ID);
  int down = -1;
  for (int step = 0; step < 300; step++) {
    run_ms(&c, 200);
    int leader = agreed_leader(&c, ALL);
    for (int k = 0; leader >= 0 && k < 12; k++) propose(&c, leader);
    if (leader >= 0) {
      struct meta_image *image = IMAGE(&c, leader);
      if (getenv("SNAPSHOT_DEBUG"))
        printf("step %d leader %d epoch %d hw %lld start %lld image %lld topics %d committed "
               "%lld/%d\n",
               step, leader + 1, status(&c, leader).epoch,
               (long long)status(&c, leader).high_watermark,
               (long long)raft_log_start_offset(&rn_of(&c, leader)->core),
               (long long)image->offset, image->topic_count, (long long)committed->offset,
               committed->topic_count);
      /* A new leader's high watermark may lag until its LeaderChange commits. */
      if (image->offset >= committed->offset) contains(image, committed, seed);
      if (image->offset > committed->offset) {
        meta_image_unref(committed);
        committed = image;
        meta_image_ref(committed);
      }
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
  wait_leader(&c, ALL, -1);
  propose_many(&c, ALL, 3);
  int leader = wait_converged(&c);
  run_ms(&c, 1000);
  images_equal(&c, status(&c, leader).end_offset, IMAGE(&c, leader)->topic_count);
  contains(IMAGE(&c, leader), committed, seed);
  if (getenv("SNAPSHOT_CHAOS_VERBOSE")) {
    uint64_t installed = 0;
    for (int i = 0; i < VOTERS; i++) installed += rn_of(&c, i)->snap.installed;
    printf("chaos seed %llu: %d topics committed, end offset %lld, log start %lld, %llu "
           "installs since the last restarts\n",
           (unsigned long long)seed, IMAGE(&c, leader)->topic_count,
           (long long)status(&c, leader).end_offset,
           (long long)raft_log_start_offset(&rn_of(&c, leader)->core),
           (unsigned long long)installed);
  }
  meta_image_unref(committed);
  cluster_teardown(&c);
}

/* SNAPSHOT_CHAOS_SEEDS=N sweeps more seeds (8 by default) from
 * SNAPSHOT_CHAOS_FIRST (700). */
START_TEST(random_crashes_and_partitions_with_snapshots_lose_nothing_committed) {
  const char *env_seeds = getenv("SNAPSHOT_CHAOS_SEEDS"),
             *env_first = getenv("SNAPSHOT_CHAOS_FIRST");
  uint64_t seeds = env_seeds ? strtoull(env_seeds, NULL, 10) : 8;
  uint64_t first = env_first ? strtoull(env_first, NULL, 10) : 700;
  for (uint64_t seed = first; seed < first + seeds; seed++) chaos(seed);
}
END_TEST

static Suite *snapshot_suite(void) {
  Suite *s = suite_create("raft_snapshot");
  TCase *tc = tcase_create("raft_snapshot");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, plog_truncate_fully_restarts_the_log_at_an_offset);
  tcase_add_test(tc, without_a_state_machine_no_snapshot_is_taken);
  tcase_add_test(tc, kafkas_byte_and_time_bounds_take_snapshots_earlier);
  tcase_add_test(tc, a_cluster_restarts_from_snapshots_and_logs);
  tcase_add_test(tc, a_damaged_snapshot_falls_back_to_the_one_before);
  tcase_add_test(tc, a_log_that_does_not_continue_the_snapshot_is_emptied);
  tcase_add_test(tc, an_invalid_fetched_snapshot_stops_the_follower_and_replaces_nothing);
  tcase_add_test(tc, a_follower_far_behind_catches_up_by_fetch_snapshot);
  tcase_add_test(tc, many_proposals_and_elections_past_the_in_memory_log);
  tcase_add_test(tc, random_crashes_and_partitions_with_snapshots_lose_nothing_committed);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(snapshot_suite)
