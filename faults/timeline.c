/* The fault timeline: each fault's targets resolved when it fires, then
 * the process, network, clock or disk fault applied (docs/scenarios.md). */
#include "faults/timeline.h"

#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "sim/quorum_check.h"
#include "sim/runner_internal.h"

/* The quorum's leader now (one node: node 1); NULL: there is none. */
static struct sim_node *raft_leader(struct runner *r) {
  if (!r->quorum) return r->brokers[0].node;
  int i = runner_raft_leader(r);
  return i >= 0 ? r->brokers[i].node : NULL;
}

static struct sim_node *raft_follower(struct runner *r) {
  int i = r->quorum ? runner_raft_follower(r, &r->fault_rng) : -1;
  return i >= 0 ? r->brokers[i].node : NULL;
}

/* leader(topic,p) now: by the image of the active controller (else of any
 * broker up). With no leader (its broker was killed and fenced), the node
 * a leader target named last: "restart leader(t,p)" after the kill. */
static struct sim_node *partition_leader(struct runner *r, const struct fault_target *t) {
  if (!r->quorum) return r->brokers[0].node;
  int i = runner_partition_leader(r, t->topic, t->partition);
  if (i >= 0) r->last_leader_target = r->brokers[i].node;
  return i >= 0 ? r->brokers[i].node : r->last_leader_target;
}

/* follower(topic,p) now (sim/runner.c runner_partition_follower); a
 * restart brings back the node it named last. */
static struct sim_node *partition_follower(struct runner *r, const struct fault_target *t) {
  int i = r->quorum ? runner_partition_follower(r, t->topic, t->partition) : -1;
  if (i >= 0) r->last_follower_target = r->brokers[i].node;
  return i >= 0 ? r->brokers[i].node : r->last_follower_target;
}

/* A restart of leader(topic,p) or of the controller brings back the node
 * that target named last (the one a kill took down), not the role's holder
 * now: a new one was elected meanwhile. */
static struct sim_node *resolve(struct runner *r, const struct fault_target *t);

static struct sim_node *resolve_target(struct runner *r, const struct fault *f) {
  bool controller = f->target.kind == TARGET_CONTROLLER || f->target.kind == TARGET_RAFT_LEADER;
  /* A resume likewise brings back the process a pause of the same target
   * stopped. */
  if ((f->action == FAULT_RESTART || f->action == FAULT_RESUME) && r->quorum) {
    if (f->target.kind == TARGET_LEADER && r->last_leader_target) return r->last_leader_target;
    if (f->target.kind == TARGET_PARTITION_FOLLOWER && r->last_follower_target)
      return r->last_follower_target;
    if (controller && r->last_controller_target) return r->last_controller_target;
    if (f->target.kind == TARGET_COORDINATOR && r->last_coordinator_target)
      return r->last_coordinator_target;
  }
  struct sim_node *n = resolve(r, &f->target);
  if (controller && n) r->last_controller_target = n;
  return n;
}

/* Where a target is now. leader(topic,p): with one broker it is that
 * broker; the active controller is the quorum's leader (KRaft). NULL:
 * nobody holds the role now (the fault is skipped). */
static struct sim_node *resolve(struct runner *r, const struct fault_target *t) {
  switch (t->kind) {
  case TARGET_NODE:
    return r->brokers[t->id - 1].node;
  case TARGET_CLIENT:
    return r->clients[t->id - 1]->node;
  case TARGET_LEADER:
    return partition_leader(r, t);
  case TARGET_PARTITION_FOLLOWER:
    return partition_follower(r, t);
  case TARGET_COORDINATOR: {
    int b = runner_group_coordinator(r, t->topic);
    if (b >= 0) r->last_coordinator_target = r->brokers[b].node;
    return b >= 0 ? r->brokers[b].node : NULL;
  }
  case TARGET_COORDINATOR_FOLLOWER: {
    int b = runner_group_coordinator_follower(r, t->topic);
    return b >= 0 ? r->brokers[b].node : NULL;
  }
  case TARGET_CONSUMER:
    return runner_consumer_node(r, t->id);
  case TARGET_CONTROLLERS: /* one by one in fault_apply */
    return r->brokers[0].node;
  case TARGET_CONTROLLER:
  case TARGET_RAFT_LEADER:
    return raft_leader(r);
  case TARGET_FOLLOWER:
    return raft_follower(r);
  case TARGET_RANDOM:
    return r->brokers[sim_rng_below(&r->fault_rng, (uint64_t)r->sc->nodes)].node;
  default:
    return NULL;
  }
}

struct newest_segment {
  char name[64];
};

static void keep_newest_log(void *ctx, const char *name, bool is_dir) {
  struct newest_segment *s = ctx;
  size_t len = strlen(name);
  if (is_dir || len != 24 || strcmp(name + 20, ".log")) return;
  if (strcmp(name, s->name) > 0) snprintf(s->name, sizeof s->name, "%s", name);
}

/* The middle of the newest segment of the target partition (the first
 * topic's partition 0 unless the target names one); false if none. */
static bool segment_spot(struct runner *r, struct sim_node *n, const struct fault *f,
                         char *path, size_t cap, uint64_t *offset) {
  const char *topic = r->sc->topics[0].name;
  int32_t partition = 0;
  if (f->target.kind == TARGET_LEADER) {
    topic = f->target.topic;
    partition = f->target.partition;
  }
  char dir[320];
  snprintf(dir, sizeof dir, "/logs/%s-%d", topic, partition);
  struct env *env = sim_node_env(n);
  struct newest_segment s = {{0}};
  if (env->list(env, dir, keep_newest_log, &s) != 0 || !s.name[0]) return false;
  snprintf(path, cap, "%s/%s", dir, s.name);
  uint64_t cache_bytes, durable_bytes;
  if (!sim_disk_file_sizes(n, path, &cache_bytes, &durable_bytes) || cache_bytes < 100)
    return false;
  *offset = cache_bytes / 2;
  return true;
}

static void corrupt(struct runner *r, struct sim_node *n, const struct fault *f, bool on_read) {
  char path[400];
  uint64_t offset;
  if (!segment_spot(r, n, f, path, sizeof path, &offset)) {
    runner_trace(r, "corrupt: no segment with data yet");
    return;
  }
  int bit = (int)sim_rng_below(&r->fault_rng, 8);
  bool ok = on_read ? sim_disk_flip_bit_on_read(n, path, offset, bit)
                    : sim_disk_flip_bit(n, path, offset, bit);
  runner_trace(r, "corrupt%s %s offset %llu bit %d: %s", on_read ? "-read" : "", path,
               (unsigned long long)offset, bit, ok ? "done" : "no such spot");
  if (ok && !on_read) runner_note_flip(r, n);
}

/* Every node but n, in the order added (brokers, then clients). */
static int others(struct runner *r, struct sim_node *n, struct sim_node **out) {
  int count = 0;
  for (int i = 0; i < sim_world_node_count(r->w); i++) {
    struct sim_node *x = sim_world_node_at(r->w, i);
    if (x != n) out[count++] = x;
  }
  return count;
}

static void net_fault(struct runner *r, const struct fault *f, struct sim_node *n,
                      struct sim_node *peer) {
  struct sim_node *all[SIM_NODES_MAX];
  int count = peer ? 1 : others(r, n, all);
  if (peer) all[0] = peer;
  uint64_t for_ns = (uint64_t)f->for_ms * NS_PER_MS;
  for (int i = 0; i < count; i++) {
    struct sim_node *x = all[i];
    switch (f->action) {
    case FAULT_PARTITION:
      sim_net_partition(r->w, n, x, true);
      break;
    case FAULT_PARTITION_ONE_WAY:
      sim_net_cut(r->w, n, x, true);
      break;
    case FAULT_CLOG:
      sim_net_clog(r->w, n, x, for_ns);
      sim_net_clog(r->w, x, n, for_ns);
      break;
    case FAULT_LATENCY_SPIKE:
      sim_net_latency_spike(r->w, n, x, (uint64_t)f->amount * NS_PER_MS, for_ns);
      sim_net_latency_spike(r->w, x, n, (uint64_t)f->amount * NS_PER_MS, for_ns);
      break;
    case FAULT_RESET:
      sim_net_reset(r->w, n, x);
      break;
    default:
      ASSERT(false);
    }
  }
}

/* Jepsen's bridge: the others split into two halves in the order added;
 * the target still reaches both. */
static void bridge(struct runner *r, struct sim_node *n) {
  struct sim_node *all[SIM_NODES_MAX];
  int count = others(r, n, all);
  int half = count / 2;
  sim_net_bridge(r->w, all, half, all + half, count - half, n);
}

static void disk_fault(struct runner *r, const struct fault *f, struct sim_node *n, int b) {
  switch (f->action) {
  case FAULT_DISK_FULL:
    sim_disk_set_capacity(n, sim_disk_used(n));
    break;
  case FAULT_DISK_FREE:
    sim_disk_set_capacity(n, 0);
    break;
  case FAULT_DISK_SLOW:
    sim_disk_set_fsync_slowdown(n, (uint32_t)f->amount);
    break;
  case FAULT_DISK_CORRUPT:
  case FAULT_DISK_CORRUPT_READ:
    corrupt(r, n, f, f->action == FAULT_DISK_CORRUPT_READ);
    break;
  case FAULT_DISK_EIO:
    sim_disk_fail_writes(n, (int)f->amount);
    break;
  case FAULT_FSYNC_EIO:
    /* forget: until the liveness phase clears the disk's faults. */
    if (f->mode == FAULT_MODE_FORGET) sim_disk_set_fsync_error_forgets(n, true);
    sim_disk_fail_fsyncs(n, (int)f->amount);
    break;
  case FAULT_DISK_LOSS:
    sim_disk_lose_all(n);
    broker_kill(r, b);
    break;
  default:
    ASSERT(false);
  }
}

/* A consumer seeks back 1..amount records on one partition (drawn), so its
 * next fetch usually starts inside a batch. */
static void seek(struct runner *r, const struct fault *f) {
  struct client *c = r->clients[f->target.id - 1];
  if (sim_node_paused(c->node)) { /* a stopped process decides nothing */
    runner_trace(r, "seek: client %d is paused", c->number);
    return;
  }
  int stream = (int)sim_rng_below(&r->fault_rng, (uint64_t)r->stream_count);
  int topic = r->sc->topic_count - 1;
  while (topic > 0 && r->stream_base[topic] > stream) topic--;
  int32_t partition = stream - r->stream_base[topic];
  int64_t at = c->consuming
                   ? kconsumer_position(&c->consumer, r->sc->topics[topic].name, partition)
                   : -1;
  if (at <= 0) {
    runner_trace(r, "seek: client %d has read nothing of %s yet", c->number, r->labels[stream]);
    return;
  }
  int64_t most = f->amount < at ? f->amount : at;
  int64_t to = at - 1 - (int64_t)sim_rng_below(&r->fault_rng, (uint64_t)most);
  runner_trace(r, "seek: client %d %s from %lld to %lld", c->number, r->labels[stream],
               (long long)at, (long long)to);
  client_seek(c, topic, partition, to);
}

static enum sim_torn torn_of(enum fault_mode mode) {
  return mode == FAULT_MODE_TORN_ZEROS     ? SIM_TORN_ZEROS
         : mode == FAULT_MODE_TORN_GARBAGE ? SIM_TORN_GARBAGE
                                           : SIM_TORN_CLEAN;
}

/* Applies f to its resolved target and peer. */
static void apply_to(struct runner *r, const struct fault *f, struct sim_node *n,
                     struct sim_node *peer) {
  int b = n ? broker_index(r, n) : -1;
  ASSERT(!fault_needs_broker(f->action) || b >= 0); /* the parser checked */
  char what[136] = "";                              /* two host names (< 64 bytes each) */
  if (n) snprintf(what, sizeof what, "%s", sim_node_host(n));
  if (peer)
    snprintf(what + strlen(what), sizeof what - strlen(what), " peer %s", sim_node_host(peer));
  const char *mode = f->mode != FAULT_MODE_NONE ? fault_mode_name(f->mode) : "";
  runner_trace(r, "fault %s %s amount %lld%s%s", fault_action_name(f->action), what,
               (long long)f->amount, *mode ? " mode " : "", mode);
  if (r->applied_count < (int)ARRAY_LEN(r->applied)) {
    struct report_fault *a = &r->applied[r->applied_count++];
    a->time_ns = sim_now_ns(r->w);
    snprintf(a->text, sizeof a->text, "%s %s%s%s", fault_action_name(f->action), what,
             *mode ? " " : "", mode);
  }
  switch (f->action) {
  case FAULT_KILL:
    sim_disk_set_torn(n, torn_of(f->mode)); /* this power loss only */
    broker_kill(r, b);
    sim_disk_set_torn(n, SIM_TORN_CLEAN);
    break;
  case FAULT_SEEK:
    seek(r, f);
    break;
  case FAULT_REASSIGN:
    runner_reassign(r, f->target.topic, f->target.partition);
    break;
  case FAULT_DELETE_RECORDS:
    runner_delete_records(r, f, b);
    break;
  case FAULT_SHUTDOWN:
    broker_shutdown(r, b);
    break;
  case FAULT_RESTART:
    broker_restart(r, b);
    break;
  case FAULT_PAUSE:
    sim_node_pause(n);
    break;
  case FAULT_RESUME:
    sim_node_resume(n);
    break;
  case FAULT_PARTITION:
  case FAULT_PARTITION_ONE_WAY:
  case FAULT_CLOG:
  case FAULT_LATENCY_SPIKE:
  case FAULT_RESET:
    net_fault(r, f, n, peer);
    break;
  case FAULT_BRIDGE:
    bridge(r, n);
    break;
  case FAULT_HEAL:
    sim_net_heal_all(r->w);
    break;
  case FAULT_CLOCK_JUMP:
    sim_node_wall_jump_ms(n, f->amount);
    break;
  case FAULT_CLOCK_DRIFT:
    sim_node_set_drift_ppm(n, (int32_t)f->amount);
    break;
  default:
    disk_fault(r, f, n, b);
    break;
  }
}

/* A fault that takes the leader away: the election that follows is timed. */
static bool removes_leader(const struct fault *f) {
  bool role = f->target.kind == TARGET_RAFT_LEADER || f->target.kind == TARGET_CONTROLLER ||
              f->target.kind == TARGET_CONTROLLERS;
  enum fault_action a = f->action;
  return role && f->peer.kind == TARGET_NONE &&
         (a == FAULT_KILL || a == FAULT_SHUTDOWN || a == FAULT_PAUSE || a == FAULT_PARTITION ||
          a == FAULT_DISK_LOSS);
}

/* A target that names nobody now (no leader during an election, no
 * follower up): the fault is skipped, and the trace says so. */
static bool resolved(struct runner *r, const struct fault *f, const struct fault_target *t,
                     struct sim_node *n) {
  if (n || t->kind == TARGET_NONE) return true;
  char what[FAULT_TOPIC_BYTES + 32];
  fault_target_text(t, what, sizeof what);
  runner_trace(r, "fault %s: no %s now: skipped", fault_action_name(f->action), what);
  return false;
}

void fault_apply(struct runner *r, const struct fault *f) {
  if (r->quorum && removes_leader(f) && runner_raft_leader(r) >= 0)
    quorum_check_leader_lost(r->qc, sim_now_ns(r->w));
  if (f->target.kind == TARGET_CONTROLLERS) { /* at one instant, nothing runs between */
    struct sim_node *peer = resolve(r, &f->peer);
    if (!resolved(r, f, &f->peer, peer)) return;
    for (int i = 0; i < r->sc->nodes; i++)
      if (r->sc->nodes == 1 || runner_is_controller(r, i))
        apply_to(r, f, r->brokers[i].node, peer);
    return;
  }
  if (f->target.kind == TARGET_CONSUMER) { /* the consumer process, not a broker */
    runner_consumer_fault(r, f->action, f->target.id);
    return;
  }
  struct sim_node *n = resolve_target(r, f);
  if (!resolved(r, f, &f->target, n)) return;
  struct sim_node *peer = resolve(r, &f->peer);
  if (!resolved(r, f, &f->peer, peer)) return;
  apply_to(r, f, n, peer);
}

/* ---- the timeline ---- */

/* An armed event-triggered fault, as the world's observer. */
struct watch {
  const struct fault *f;
  struct sim_world *w;
  struct sim_node *node; /* watched */
  struct sim_rng *rng;   /* the timeline's own: when in the window it fires */
  int32_t left;          /* matching events still to come */
  bool hit;
  uint64_t fire_ns;
  enum sim_observed seen;
  char path[96]; /* the file written or fsynced, for the trace */
};

static bool segment_file(const char *path) {
  size_t len = path ? strlen(path) : 0;
  return len > 4 && !strcmp(path + len - 4, ".log");
}

/* Whether path is a file of topic's partitions ("" matches any). */
static bool topic_file(const char *topic, const char *path) {
  if (!topic[0]) return true;
  size_t len = strlen(topic);
  if (!path || strncmp(path, "/logs/", 6) || strncmp(path + 6, topic, len)) return false;
  const char *q = path + 6 + len;
  if (*q++ != '-' || *q < '0' || *q > '9') return false;
  while (*q >= '0' && *q <= '9') q++;
  return *q == '/';
}

static void observe(void *ctx, const struct sim_observation *o) {
  struct watch *x = ctx;
  if (x->hit || o->node != x->node || !topic_file(x->f->when.topic, o->path)) return;
  enum fault_event e = x->f->when.event;
  bool match = (e == FAULT_EVENT_DURING_FSYNC && o->what == SIM_OBSERVED_FSYNC_START) ||
               (e == FAULT_EVENT_AFTER_WRITE && o->what == SIM_OBSERVED_WRITE &&
                segment_file(o->path)) ||
               (e == FAULT_EVENT_DURING_FILE_SEND && o->what == SIM_OBSERVED_FILE_SEND);
  if (!match || --x->left > 0) return;
  /* In flight from now until o->until_ns: fire at a seeded instant before
   * it ends (after-write: right after the event that wrote). */
  uint64_t now = sim_now_ns(x->w);
  x->hit = true;
  x->seen = o->what;
  x->fire_ns = now + (o->until_ns > now ? sim_rng_below(x->rng, o->until_ns - now) : 0);
  snprintf(x->path, sizeof x->path, "%s", o->path ? o->path : "");
}

/* Runs the world until f's event (the nth from now on, on the node it
 * watches) and then to the instant it fires at, or until `within` has
 * passed (never past end_ns); then f is due. */
static void wait_for(struct runner *r, const struct fault *f, struct sim_node *target,
                     uint64_t end_ns, struct sim_rng *rng) {
  const struct fault_when *when = &f->when;
  struct sim_node *node = when->node ? r->brokers[when->node - 1].node
                          : target && broker_index(r, target) >= 0 ? target
                                                                   : r->brokers[0].node;
  struct watch x = {.f = f, .w = r->w, .node = node, .rng = rng, .left = when->nth};
  uint64_t deadline = sim_now_ns(r->w) + (uint64_t)when->within_ms * NS_PER_MS;
  if (deadline > end_ns) deadline = end_ns;
  runner_trace(r, "fault %s armed: waits for %s #%d on %s", fault_action_name(f->action),
               fault_event_name(when->event), when->nth, sim_node_host(node));
  sim_world_set_observer(r->w, observe, &x);
  while (!x.hit && sim_step_until(r->w, deadline)) {
  }
  sim_world_set_observer(r->w, NULL, NULL);
  if (!x.hit) {
    sim_run_until(r->w, deadline);
    runner_trace(r, "fault %s: no %s on %s in time: fires anyway", fault_action_name(f->action),
                 fault_event_name(when->event), sim_node_host(node));
    return;
  }
  runner_trace(r, "fault %s triggered: %s %s on %s, fires %llu ns later",
               fault_action_name(f->action), fault_event_name(when->event), x.path,
               sim_node_host(node), (unsigned long long)(x.fire_ns - sim_now_ns(r->w)));
  sim_run_until(r->w, x.fire_ns);
}

void timeline_run(struct runner *r, uint64_t t0_ns) {
  const struct scenario *sc = r->sc;
  /* Streams of their own: jitter and triggers move no one else's numbers. */
  struct sim_rng jitter = sim_rng_fork(sim_world_rng(r->w), "fault.jitter");
  struct sim_rng trigger = sim_rng_fork(sim_world_rng(r->w), "fault.trigger");
  uint64_t end_ns = t0_ns + (uint64_t)sc->duration_ms * NS_PER_MS;
  uint64_t bound_ns = (uint64_t)sc->fault_jitter_us * 1000;
  for (int i = 0; i < sc->fault_count; i++) {
    const struct fault *f = &sc->faults[i];
    uint64_t at = t0_ns + (uint64_t)f->at_ms * NS_PER_MS + sim_rng_below(&jitter, bound_ns);
    sim_run_until(r->w, at < end_ns ? at : end_ns); /* never back: order is kept */
    if (f->when.event == FAULT_EVENT_NONE) {
      fault_apply(r, f);
      continue;
    }
    /* Resolved once, when armed: the node it watches is the node it hits. */
    struct sim_node *n = resolve_target(r, f), *peer = resolve(r, &f->peer);
    if (!resolved(r, f, &f->target, n) || !resolved(r, f, &f->peer, peer)) continue;
    wait_for(r, f, n, end_ns, &trigger);
    if (f->target.kind == TARGET_CONTROLLERS) { /* all of them, at the watched event */
      fault_apply(r, f);
      continue;
    }
    if (r->quorum && removes_leader(f) && runner_raft_leader(r) >= 0)
      quorum_check_leader_lost(r->qc, sim_now_ns(r->w));
    apply_to(r, f, n, peer);
  }
}
