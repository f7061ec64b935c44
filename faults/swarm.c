#include "faults/swarm.h"

#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "sim/hostile.h"
#include "sim/prng.h"

/* The fault kinds a seed switches on or off as a whole (swarm testing's
 * "features"); the second fault of a pair (restart, resume, heal) follows. */
enum swarm_kind {
  SW_KILL,
  SW_SHUTDOWN,
  SW_PAUSE,
  SW_PARTITION,
  SW_ONE_WAY,
  SW_CLOG,
  SW_SPIKE,
  SW_RESET,
  SW_CLOCK_JUMP,
  SW_CLOCK_DRIFT,
  SW_DISK_FULL,
  SW_SLOW_DISK,
  SW_FSYNC_EIO,
  SW_DISK_EIO,
  SW_CORRUPT,
  SW_CORRUPT_READ,
  SW_DISK_LOSS,
  SW_SEEK,
  SW_KINDS,
};

enum { SWARM_FAULTS_MAX = 10 };

struct drawer {
  struct sim_rng rng;
  struct scenario *s;
  bool may_lose;  /* a fault here can lose acknowledged writes in this mode */
  bool retention; /* retention may delete old segments during the run */
};

/* Uniform in [lo, hi]. */
static int64_t draw(struct drawer *d, int64_t lo, int64_t hi) {
  ASSERT(lo <= hi);
  return lo + (int64_t)sim_rng_below(&d->rng, (uint64_t)(hi - lo + 1));
}

static struct fault_target broker(void) {
  return (struct fault_target){.kind = TARGET_NODE, .id = 1};
}

static struct fault_target client(struct drawer *d) {
  int32_t clients = d->s->producers + d->s->consumers;
  return (struct fault_target){.kind = TARGET_CLIENT, .id = (int32_t)draw(d, 1, clients)};
}

static struct fault *add(struct drawer *d, int64_t at_ms, enum fault_action action,
                         struct fault_target target) {
  struct scenario *s = d->s;
  ASSERT(s->fault_count < SCENARIO_FAULTS_MAX);
  struct fault *f = &s->faults[s->fault_count++];
  if (at_ms > s->duration_ms) at_ms = s->duration_ms;
  *f = (struct fault){.at_ms = at_ms,
                      .action = action,
                      .target = target,
                      .amount = 1,
                      .when = {.nth = 1, .within_ms = FAULT_WITHIN_DEFAULT_MS}};
  return f;
}

/* Half the time, f waits for an event on the broker (when:): an fsync in
 * flight, the nth append, a Fetch response on the wire. */
static void maybe_triggered(struct drawer *d, struct fault *f) {
  if (draw(d, 0, 1)) return;
  f->when.event = (enum fault_event)draw(d, FAULT_EVENT_DURING_FSYNC, FAULT_EVENT_COUNT - 1);
  f->when.nth = (int32_t)(draw(d, 0, 2) ? 1 : draw(d, 2, 20));
  f->when.within_ms = FAULT_WITHIN_DEFAULT_MS;
}

/* A fault and, for pairs, the one that ends it [lo, hi] ms later. */
static struct fault *pair(struct drawer *d, int64_t at, enum fault_action a,
                          enum fault_action end, struct fault_target t, int64_t lo,
                          int64_t hi) {
  struct fault *f = add(d, at, a, t);
  add(d, at + draw(d, lo, hi), end, end == FAULT_HEAL ? (struct fault_target){0} : t);
  return f;
}

static void network_fault(struct drawer *d, enum swarm_kind k, int64_t at) {
  struct fault *f;
  switch (k) {
  case SW_PARTITION:
    pair(d, at, FAULT_PARTITION, FAULT_HEAL, client(d), 500, 15000);
    break;
  case SW_ONE_WAY:
    f = add(d, at, FAULT_PARTITION_ONE_WAY, client(d));
    f->peer = broker();
    if (draw(d, 0, 1)) { /* the other direction */
      f->peer = f->target;
      f->target = broker();
    }
    add(d, at + draw(d, 500, 15000), FAULT_HEAL, (struct fault_target){0});
    break;
  case SW_CLOG:
    add(d, at, FAULT_CLOG, client(d))->for_ms = draw(d, 100, 12000);
    break;
  case SW_SPIKE:
    f = add(d, at, FAULT_LATENCY_SPIKE, broker());
    f->amount = draw(d, 10, 500);
    f->for_ms = draw(d, 500, 5000);
    break;
  default:
    add(d, at, FAULT_RESET, broker());
    break;
  }
}

static void disk_fault(struct drawer *d, enum swarm_kind k, int64_t at) {
  struct fault *f;
  switch (k) {
  case SW_DISK_FULL:
    pair(d, at, FAULT_DISK_FULL, FAULT_DISK_FREE, broker(), 500, 10000);
    break;
  case SW_SLOW_DISK:
    add(d, at, FAULT_DISK_SLOW, broker())->amount = draw(d, 2, 100);
    add(d, at + draw(d, 1000, 10000), FAULT_DISK_SLOW, broker())->amount = 1;
    break;
  case SW_DISK_EIO:
    f = add(d, at, FAULT_DISK_EIO, broker());
    f->amount = draw(d, 1, 3);
    maybe_triggered(d, f);
    break;
  case SW_CORRUPT:
  case SW_CORRUPT_READ:
    f = add(d, at, k == SW_CORRUPT ? FAULT_DISK_CORRUPT : FAULT_DISK_CORRUPT_READ, broker());
    if (k == SW_CORRUPT_READ) maybe_triggered(d, f);
    d->may_lose = true; /* one copy: a corrupt batch is truncated away */
    break;
  default:
    pair(d, at, FAULT_DISK_LOSS, FAULT_RESTART, broker(), 200, 5000);
    d->may_lose = true;
    break;
  }
}

/* fsync errors, and what makes them matter: a failed flush takes the log
 * offline until a restart (docs/architecture.md), so the error is followed
 * by a power loss and a restart, sometimes with a clean restart before it
 * (recovery must write again what a forgetting error dropped, or the power
 * loss takes it from under later acknowledgements). */
static void fsync_error_fault(struct drawer *d, int64_t at, bool page_cache) {
  struct fault *f = add(d, at, FAULT_FSYNC_EIO, broker());
  f->amount = draw(d, 1, 3);
  /* Linux marks the pages clean after the error ("fsyncgate"): a later
   * fsync succeeds without them. Nothing acknowledged may depend on it. */
  if (draw(d, 0, 1)) f->mode = FAULT_MODE_FORGET;
  maybe_triggered(d, f);
  int64_t next = at + draw(d, 50, 4000);
  if (draw(d, 0, 2) == 0) {
    pair(d, next, FAULT_SHUTDOWN, FAULT_RESTART, broker(), 200, 3000);
    next += draw(d, 3500, 6000);
  }
  f = pair(d, next, FAULT_KILL, FAULT_RESTART, broker(), 200, 3000);
  if (draw(d, 0, 1)) f->mode = FAULT_MODE_TORN_ZEROS;
  d->may_lose |= page_cache;
}

static void one_fault(struct drawer *d, enum swarm_kind k, int64_t at, bool page_cache) {
  struct fault *f;
  switch (k) {
  case SW_FSYNC_EIO:
    fsync_error_fault(d, at, page_cache);
    break;
  case SW_KILL: {
    f = pair(d, at, FAULT_KILL, FAULT_RESTART, broker(), 200, 5000);
    /* A torn sector (zeros or garbage) in what the power loss keeps of each
     * unsynced tail: recovery must find it by its checks. */
    int64_t torn = draw(d, 0, 3);
    f->mode = torn == 2 ? FAULT_MODE_TORN_ZEROS : torn == 3 ? FAULT_MODE_TORN_GARBAGE : 0;
    maybe_triggered(d, f);
    d->may_lose |= page_cache;
    break;
  }
  case SW_SHUTDOWN:
    pair(d, at, FAULT_SHUTDOWN, FAULT_RESTART, broker(), 200, 5000);
    break;
  case SW_PAUSE:
    f = pair(d, at, FAULT_PAUSE, FAULT_RESUME, draw(d, 0, 1) ? broker() : client(d), 100, 8000);
    if (f->target.kind == TARGET_NODE) maybe_triggered(d, f);
    break;
  case SW_SEEK: /* back into the middle of a batch, usually */
    if (d->s->consumers == 0) break;
    f = add(
        d, at, FAULT_SEEK,
        (struct fault_target){.kind = TARGET_CLIENT,
                              .id = d->s->producers + (int32_t)draw(d, 1, d->s->consumers)});
    f->amount = draw(d, 1, 200);
    break;
  case SW_CLOCK_JUMP:
    f = add(d, at, FAULT_CLOCK_JUMP, broker());
    f->amount = draw(d, 1000, 3600000) * (draw(d, 0, 1) ? 1 : -1);
    break;
  case SW_CLOCK_DRIFT:
    add(d, at, FAULT_CLOCK_DRIFT, broker())->amount = draw(d, -200000, 200000) | 1;
    break;
  default:
    if (k <= SW_RESET)
      network_fault(d, k, at);
    else
      disk_fault(d, k, at);
    break;
  }
}

/* Stable insertion sort by time: a pair's second fault stays after its
 * first, ties keep the order drawn. */
static void sort_faults(struct scenario *s) {
  for (int i = 1; i < s->fault_count; i++) {
    struct fault f = s->faults[i];
    int j = i;
    for (; j > 0 && s->faults[j - 1].at_ms > f.at_ms; j--) s->faults[j] = s->faults[j - 1];
    s->faults[j] = f;
  }
}

static void workload(struct drawer *d, uint64_t seed) {
  struct scenario *s = d->s;
  snprintf(s->name, sizeof s->name, "swarm-%llu", (unsigned long long)seed);
  snprintf(s->description, sizeof s->description, "drawn by sluice-sim --swarm from seed %llu",
           (unsigned long long)seed);
  s->duration_ms = draw(d, 20, 60) * 1000;
  s->liveness_ms = 20000;
  s->nodes = 1;
  s->topic_count = (int)draw(d, 1, 3);
  for (int t = 0; t < s->topic_count; t++) {
    snprintf(s->topics[t].name, sizeof s->topics[t].name, "topic-%d", t);
    s->topics[t].partitions = (int32_t)draw(d, 1, 4);
    s->topics[t].replication_factor = 1;
  }
  s->producers = (int32_t)draw(d, 1, 3);
  s->consumers = (int32_t)draw(d, 0, 2);
  int64_t acks = draw(d, 0, 9);
  s->acks = acks < 6 ? -1 : acks < 9 ? 1 : 0;
  s->rate_per_s = (int32_t)draw(d, 100, 2000);
  s->value_bytes = (int32_t)draw(d, 16, 1000);
}

static void config(struct scenario *s, const char *key, int64_t value) {
  ASSERT(s->config_count < SCENARIO_CONFIG_MAX);
  struct scenario_kv *kv = &s->config[s->config_count++];
  snprintf(kv->key, sizeof kv->key, "%s", key);
  snprintf(kv->value, sizeof kv->value, "%lld", (long long)value);
}

/* What no shipped scenario sets: small segments, so logs roll (and a kill
 * can land on a roll), and retention that deletes segments during the run.
 * Retention marks every topic retention_deletes: the final read may find
 * the oldest values gone by design. */
static void log_config(struct drawer *d) {
  struct scenario *s = d->s;
  d->retention = draw(d, 0, 3) == 0;
  if (!d->retention && draw(d, 0, 2) != 0) return;
  /* Every batch fits (up to 50 records of value_bytes and their framing):
   * a batch larger than a segment is refused, which is not what this is
   * for. */
  int64_t batch_max = 50 * ((int64_t)s->value_bytes + 40) + 128;
  int64_t lo = batch_max > 1024 ? batch_max : 1024, hi = 64 * 1024;
  int64_t segment = draw(d, lo < hi ? lo : hi, hi);
  config(s, "log.segment.bytes", segment);
  if (!d->retention) return;
  if (draw(d, 0, 1))
    config(s, "log.retention.bytes", segment * draw(d, 2, 8));
  else
    config(s, "log.retention.ms", draw(d, 2000, 20000));
  config(s, "log.retention.check.interval.ms", draw(d, 200, 3000));
  for (int t = 0; t < s->topic_count; t++) s->topics[t].retention_deletes = true;
}

static void config_text(struct scenario *s, const char *key, const char *value) {
  ASSERT(s->config_count < SCENARIO_CONFIG_MAX);
  struct scenario_kv *kv = &s->config[s->config_count++];
  snprintf(kv->key, sizeof kv->key, "%s", key);
  snprintf(kv->value, sizeof kv->value, "%s", value);
}

/* How the clients behave, from a stream of its own ("swarm.clients") so
 * that nothing drawn before it moves: admin clients (topic churn and the
 * admin APIs), consumers that start at the end (auto.offset.reset latest),
 * each producer's codec, a topic-level compression.type (the broker
 * recompresses), auto-creation and deletion switched off. */
static void clients(struct drawer *d) {
  struct scenario *s = d->s;
  int64_t admins = draw(d, 0, 3);
  s->admins = (int32_t)(admins == 0 ? 0 : admins == 3 ? 2 : 1);
  s->auto_offset_reset = draw(d, 0, 2) == 0 ? RESET_LATEST : RESET_EARLIEST;
  if (draw(d, 0, 2) != 0) {
    s->codec_count = s->producers;
    for (int i = 0; i < s->producers; i++) s->codecs[i] = (int8_t)draw(d, 0, 4);
  }
  static const char *const topic_codecs[] = {"producer", "uncompressed", "gzip",
                                             "snappy",   "lz4",          "zstd"};
  for (int t = 0; t < s->topic_count; t++) {
    if (draw(d, 0, 3) != 0) continue;
    struct scenario_kv *kv = &s->topics[t].config[s->topics[t].config_count++];
    snprintf(kv->key, sizeof kv->key, "compression.type");
    snprintf(kv->value, sizeof kv->value, "%s", topic_codecs[draw(d, 0, 5)]);
  }
  if (draw(d, 0, 3) == 0) config_text(s, "auto.create.topics.enable", "false");
  if (draw(d, 0, 9) == 0) config_text(s, "delete.topic.enable", "false");
}

static void expectations(struct drawer *d) {
  struct scenario *s = d->s;
  s->max_unavailability_ms = -1;
  /* No duplicates: the producers are idempotent (KIP-98), and with acks=0
   * (not idempotent) a batch goes out again only if it never left; but a
   * copy a cut took may be stored again (below). */
  if (s->acks == 0) s->allow[CHECK_UNSEEN] = 1u << ALLOW_ACKS_0;
  /* Retention deletes what lies below the log start the final reader finds. */
  if (d->retention) s->allow[CHECK_LOST_WRITE] |= 1u << ALLOW_RETENTION;
  if (d->may_lose) {
    /* Past the cuts only: what a power loss, a flip at rest or a disk loss
     * took (sim/history.h), each bounded by what the disk kept. */
    const uint32_t cuts =
        1u << ALLOW_POWER_LOSS_TAIL | 1u << ALLOW_CORRUPT_BATCH | 1u << ALLOW_DISK_LOSS;
    s->allow[CHECK_LOST_WRITE] |= cuts;
    s->allow[CHECK_INCONSISTENT_OFFSETS] |= cuts;
    s->allow[CHECK_NONMONOTONIC_SEND] |= cuts;
    /* A retry stores again what a cut took (and the producer state with it). */
    s->allow[CHECK_DUPLICATE] |= cuts;
    s->allow[CHECK_POLL_SKIP] |= 1u << ALLOW_CORRUPT_BATCH;
    s->allow[CHECK_FINAL_READ] |= 1u << ALLOW_CORRUPT_BATCH;
  }
  ASSERT(s->allowed_count == 0); /* the new form only */
}

/* A quarter of the seeds run their one node as its own KRaft quorum (a
 * single voter, as kraft-combined: the Raft-backed controller and the
 * metadata log meet the seed's disk faults), from a stream of its own
 * ("swarm.kraft") so that nothing else drawn moves. Not with a disk loss:
 * it takes the metadata log, and a node that lost it starts as a new
 * cluster (nothing to judge the topics against). */
static void kraft(struct drawer *d) {
  struct scenario *s = d->s;
  if (draw(d, 0, 3) != 0) return;
  for (int i = 0; i < s->fault_count; i++)
    if (s->faults[i].action == FAULT_DISK_LOSS) return;
  /* A failed write or flush of the metadata log stops the quorum on the
   * node until it restarts (as Kafka halts): each storage error fails
   * once, and the operator restarts the node after the last one has fired
   * and after every restart drawn since (swarm seeds 132 and 208:
   * without, no new client is served again and the final read never
   * starts). */
  int64_t last_error = -1;
  for (int i = 0; i < s->fault_count; i++) {
    struct fault *f = &s->faults[i];
    if (f->action == FAULT_FSYNC_EIO || f->action == FAULT_DISK_EIO) {
      f->amount = 1;
      int64_t fires = f->at_ms + (f->when.event != FAULT_EVENT_NONE ? f->when.within_ms : 0);
      if (fires > last_error) last_error = fires;
    } else if (f->action == FAULT_DISK_FREE ||
               (f->action == FAULT_RESTART && last_error >= 0)) {
      if (f->at_ms > last_error) last_error = f->at_ms;
    }
  }
  if (last_error >= 0) {
    pair(d, last_error + draw(d, 200, 2000), FAULT_SHUTDOWN, FAULT_RESTART, broker(), 200,
         3000);
    sort_faults(s);
  }
  config_text(s, "cluster.id", "MkU3OEVBNTcwNTJENDM2Qg");
  config_text(s, "controller.listener.names", "CONTROLLER");
  config_text(s, "listener.security.protocol.map", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT");
  config_text(s, "controller.quorum.voters", "1@broker1:10092");
  config_text(s, "listeners", "PLAINTEXT://broker1:9092,CONTROLLER://broker1:10092");
  if (draw(d, 0, 1)) config(s, "metadata.log.max.record.bytes.between.snapshots", 2048);
}

/* Half of the seeds with admin clients have them alter configs and
 * administer groups too (admin_ops: all, sim/runner_admin.c), from a
 * stream of its own ("swarm.admin", or "swarm.quorum.admin") so that
 * nothing else drawn moves. */
static void admin_ops(struct drawer *d) {
  if (d->s->admins > 0 && draw(d, 0, 1)) d->s->admin_ops_all = true;
}

void swarm_scenario(uint64_t seed, struct scenario *out) {
  memset(out, 0, sizeof *out);
  struct sim_rng root;
  sim_rng_seed(&root, seed);
  struct drawer d = {.rng = sim_rng_fork(&root, "swarm"), .s = out};
  workload(&d, seed);
  bool page_cache = draw(&d, 0, 1);
  if (!page_cache) config(out, "log.flush.interval.messages", 1);
  log_config(&d);
  /* Mostly the default bound; sometimes exact times, sometimes wider. */
  int64_t jitter = draw(&d, 0, 9);
  out->fault_jitter_us = jitter < 8    ? FAULT_JITTER_DEFAULT_US
                         : jitter == 8 ? 0
                                       : draw(&d, 100, 10000);
  bool enabled[SW_KINDS];
  int enabled_count = 0;
  for (int k = 0; k < SW_KINDS; k++) enabled_count += enabled[k] = draw(&d, 0, 1);
  int faults = enabled_count ? (int)draw(&d, 0, SWARM_FAULTS_MAX / 2) : 0;
  for (int i = 0; i < faults; i++) {
    int pick = (int)draw(&d, 0, enabled_count - 1), k = 0;
    for (int seen = -1; k < SW_KINDS; k++)
      if (enabled[k] && ++seen == pick) break;
    one_fault(&d, (enum swarm_kind)k, draw(&d, 1000, out->duration_ms - 1000), page_cache);
  }
  sort_faults(out);
  struct drawer c = {.rng = sim_rng_fork(&root, "swarm.clients"), .s = out};
  clients(&c);
  struct drawer k = {.rng = sim_rng_fork(&root, "swarm.kraft"), .s = out};
  kraft(&k);
  hostile_draw(&root, out); /* sim/hostile.c: its own stream, "swarm.hostile" */
  struct drawer ad = {.rng = sim_rng_fork(&root, "swarm.admin"), .s = out};
  admin_ops(&ad);
  expectations(&d);
}

/* ---- the KRaft quorum ---- */

/* The quorum's fault kinds (each seed switches some off as a whole). */
enum quorum_kind {
  SQ_KILL,        /* power loss of one node (sometimes tearing), restart */
  SQ_LEADER_KILL, /* power loss of the leader at that instant, restart */
  SQ_SHUTDOWN,    /* clean shutdown of the leader (EndQuorumEpoch), restart */
  SQ_PAUSE,       /* the leader or a follower stops, resumes */
  SQ_ISOLATE,     /* the leader or a follower cut off from everyone, heal */
  SQ_POWER_LOSS,  /* every controller at once, restart */
  SQ_SLOW_DISK,   /* one node's fsyncs slow down */
  SQ_KINDS,
};

static struct fault_target quorum_node(struct drawer *d) {
  return (struct fault_target){.kind = TARGET_NODE, .id = (int32_t)draw(d, 1, d->s->nodes)};
}

static struct fault_target quorum_role(struct drawer *d) {
  return (struct fault_target){.kind = draw(d, 0, 1) ? TARGET_RAFT_LEADER : TARGET_FOLLOWER};
}

static struct fault_target everyone_of(enum fault_target_kind kind) {
  return (struct fault_target){.kind = kind};
}

/* A fault at `at` and the one that ends it 0.5-8 s later (everything down
 * comes back: restart controllers restarts only what is down). */
static void quorum_fault(struct drawer *d, enum quorum_kind k, int64_t at) {
  int64_t end = at + draw(d, 500, 8000);
  struct fault *f;
  switch (k) {
  case SQ_KILL:
    f = add(d, at, FAULT_KILL, quorum_node(d));
    f->mode = (enum fault_mode)draw(d, FAULT_MODE_NONE, FAULT_MODE_TORN_GARBAGE);
    add(d, end, FAULT_RESTART, everyone_of(TARGET_CONTROLLERS));
    break;
  case SQ_LEADER_KILL:
    add(d, at, FAULT_KILL, everyone_of(TARGET_RAFT_LEADER));
    add(d, end, FAULT_RESTART, everyone_of(TARGET_CONTROLLERS));
    break;
  case SQ_SHUTDOWN:
    add(d, at, FAULT_SHUTDOWN, everyone_of(TARGET_RAFT_LEADER));
    add(d, end, FAULT_RESTART, everyone_of(TARGET_CONTROLLERS));
    break;
  case SQ_PAUSE:
    add(d, at, FAULT_PAUSE, quorum_role(d));
    add(d, end, FAULT_RESUME, everyone_of(TARGET_CONTROLLERS));
    break;
  case SQ_ISOLATE:
    add(d, at, FAULT_PARTITION, quorum_role(d));
    add(d, end, FAULT_HEAL, everyone_of(TARGET_NONE));
    break;
  case SQ_POWER_LOSS:
    add(d, at, FAULT_KILL, everyone_of(TARGET_CONTROLLERS));
    add(d, end, FAULT_RESTART, everyone_of(TARGET_CONTROLLERS));
    break;
  default:
    f = add(d, at, FAULT_DISK_SLOW, quorum_node(d));
    f->amount = draw(d, 2, 50);
    break;
  }
}

/* 3 or 5 controllers, combined or with 1-2 brokers of their own. */
static void quorum_topology(struct drawer *d) {
  struct scenario *s = d->s;
  int controllers = draw(d, 0, 1) ? 5 : 3;
  int brokers = draw(d, 0, 1) ? (int)draw(d, 1, 2) : 0;
  s->nodes = controllers + brokers;
  for (int i = 0; i < s->nodes; i++)
    s->roles[i] = brokers == 0      ? ROLE_COMBINED
                  : i < controllers ? ROLE_CONTROLLER
                                    : ROLE_BROKER;
  s->roles_listed = brokers ? s->nodes : 0;
}

/* A third of the quorum's seeds add a client workload (from their own
 * stream, so the topology and faults drawn are those of the seed without
 * clients): one topic of replication factor 1 (quorum_replicas makes half
 * of those on combined nodes replication factor 3) spread over the brokers, producers at
 * acks=all with fsync before acknowledging (nothing acknowledged may be lost, whichever node
 * dies), a consumer and an admin client at times. Brokers that are not controllers cannot hand
 * out producer ids yet (AllocateProducerIds): with such nodes the producers are not idempotent
 * and a retried send may be stored twice. */
static void quorum_clients(struct drawer *d) {
  struct scenario *s = d->s;
  s->topic_count = 1;
  struct scenario_topic *t = &s->topics[0];
  snprintf(t->name, sizeof t->name, "swarm-topic");
  t->partitions = (int32_t)draw(d, 1, 6);
  t->replication_factor = 1;
  s->producers = (int32_t)draw(d, 1, 2);
  s->consumers = (int32_t)draw(d, 0, 1);
  s->admins = draw(d, 0, 2) == 0 ? 1 : 0;
  s->rate_per_s = (int32_t)draw(d, 100, 600);
  s->acks = -1;
  config_text(s, "log.flush.interval.messages", "1");
  bool separate = false;
  for (int i = 0; i < s->nodes; i++) separate |= s->roles[i] != ROLE_COMBINED;
  s->idempotence_off = separate;
  if (separate) s->allow[CHECK_DUPLICATE] = 1u << ALLOW_RETRIED_SENDS;
}

/* Half of the client workloads on combined nodes (3 or 5, every one a
 * broker) are replicated as issue 10 asks: replication factor 3,
 * min.insync.replicas=2, acks=all (still with fsync before acknowledging:
 * a power loss of every controller at once loses nothing). Drawn from
 * their own stream, so every other seed's scenario stays what it was. */
static void quorum_replicas(struct drawer *d) {
  struct scenario *s = d->s;
  for (int i = 0; i < s->nodes; i++)
    if (s->roles[i] != ROLE_COMBINED) return;
  if (draw(d, 0, 1) == 0) return;
  s->topics[0].replication_factor = 3;
  config_text(s, "min.insync.replicas", "2");
}

/* Half of the replicated workloads keep eligible leader replicas
 * (KIP-966): the ISR's last member leaves it when fenced and leaders may
 * come from the ELR. Its own stream too. */
static void quorum_elr(struct drawer *d) {
  struct scenario *s = d->s;
  if (s->topics[0].replication_factor < 3 || draw(d, 0, 1) == 0) return;
  config_text(s, "eligible.leader.replicas.enable", "true");
}

void swarm_quorum_scenario(uint64_t seed, struct scenario *out) {
  memset(out, 0, sizeof *out);
  struct sim_rng root;
  sim_rng_seed(&root, seed);
  struct drawer d = {.rng = sim_rng_fork(&root, "swarm.quorum"), .s = out};
  snprintf(out->name, sizeof out->name, "swarm-quorum-%llu", (unsigned long long)seed);
  snprintf(out->description, sizeof out->description,
           "drawn by sluice-sim --swarm --quorum from seed %llu", (unsigned long long)seed);
  out->duration_ms = 30000;
  out->liveness_ms = 20000;
  out->acks = -1;
  out->rate_per_s = 100; /* unused without clients, but a file needs them */
  out->value_bytes = 100;
  out->max_unavailability_ms = -1;
  out->leader_stable_after_ms = -1;
  out->fault_jitter_us = FAULT_JITTER_DEFAULT_US;
  quorum_topology(&d);
  bool enabled[SQ_KINDS];
  int enabled_count = 0;
  for (int k = 0; k < SQ_KINDS; k++) enabled_count += enabled[k] = draw(&d, 0, 1);
  int faults = enabled_count ? (int)draw(&d, 1, SWARM_FAULTS_MAX / 2) : 0;
  for (int i = 0; i < faults; i++) {
    int pick = (int)draw(&d, 0, enabled_count - 1), k = 0;
    for (int seen = -1; k < SQ_KINDS; k++)
      if (enabled[k] && ++seen == pick) break;
    quorum_fault(&d, (enum quorum_kind)k, draw(&d, 1000, out->duration_ms - 1000));
  }
  sort_faults(out);
  struct drawer cd = {.rng = sim_rng_fork(&root, "swarm.quorum.clients"), .s = out};
  if (draw(&cd, 0, 2) == 0) quorum_clients(&cd);
  struct drawer rd = {.rng = sim_rng_fork(&root, "swarm.quorum.replicas"), .s = out};
  if (out->topic_count > 0) quorum_replicas(&rd);
  struct drawer ed = {.rng = sim_rng_fork(&root, "swarm.quorum.elr"), .s = out};
  if (out->topic_count > 0) quorum_elr(&ed);
  struct drawer ad = {.rng = sim_rng_fork(&root, "swarm.quorum.admin"), .s = out};
  admin_ops(&ad);
}
