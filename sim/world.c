/* The event queue, virtual clocks, randomness and logging of the simulated
 * world, and each node's env vtable (net.c and disk.c fill in their parts). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "sim/internal.h"

/* 2026-01-01T00:00:00Z: where every node's wall clock starts. */
static const int64_t WALL_EPOCH_MS = 1767225600000;

/* ---- randomness ---- */

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sim_rng_next(struct sim_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

uint64_t sim_rng_below(struct sim_rng *r, uint64_t n) { return n ? sim_rng_next(r) % n : 0; }

/* ---- trace hash (FNV-1a over 64-bit words) ---- */

void sim_trace(struct sim_world *w, uint64_t value) {
  for (int i = 0; i < 8; i++) {
    w->trace ^= (value >> (8 * i)) & 0xff;
    w->trace *= 0x100000001B3ull;
  }
}

/* ---- the event heap ---- */

static bool earlier(const struct sim_event *a, const struct sim_event *b) {
  return a->time_ns < b->time_ns || (a->time_ns == b->time_ns && a->seq < b->seq);
}

static void heap_swap(struct sim_world *w, uint32_t i, uint32_t j) {
  struct sim_event t = w->heap[i];
  w->heap[i] = w->heap[j];
  w->heap[j] = t;
}

uint64_t sim_schedule(struct sim_world *w, int node, uint64_t delay_ns, sim_event_fn fn,
                      void *ctx, uint64_t arg, void (*drop)(void *ctx)) {
  ASSERT(w->heap_count < SIM_EVENTS_MAX);
  if (w->heap_count == w->heap_cap) {
    w->heap_cap = w->heap_cap ? w->heap_cap * 2 : 1024;
    w->heap = realloc(w->heap, w->heap_cap * sizeof *w->heap);
    ASSERT(w->heap != NULL);
  }
  uint64_t id = ++w->seq;
  uint32_t i = w->heap_count++;
  w->heap[i] = (struct sim_event){.time_ns = w->now_ns + delay_ns,
                                  .seq = id,
                                  .fn = fn,
                                  .ctx = ctx,
                                  .arg = arg,
                                  .drop = drop,
                                  .node = node,
                                  .incarnation = node >= 0 ? w->nodes[node]->incarnation : 0};
  while (i > 0 && earlier(&w->heap[i], &w->heap[(i - 1) / 2])) {
    heap_swap(w, i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
  return id;
}

static struct sim_event heap_pop(struct sim_world *w) {
  ASSERT(w->heap_count > 0);
  struct sim_event top = w->heap[0];
  w->heap[0] = w->heap[--w->heap_count];
  for (uint32_t i = 0;;) {
    uint32_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < w->heap_count && earlier(&w->heap[l], &w->heap[m])) m = l;
    if (r < w->heap_count && earlier(&w->heap[r], &w->heap[m])) m = r;
    if (m == i) break;
    heap_swap(w, i, m);
    i = m;
  }
  return top;
}

/* Cancelled ids: an open-addressing set (never iterated, so its layout
 * cannot leak into the run). */
static uint32_t slot_of(uint64_t id, uint32_t cap) {
  return (uint32_t)((id * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static void cancelled_grow(struct sim_world *w) {
  uint32_t old_cap = w->cancelled_cap;
  uint64_t *old = w->cancelled;
  w->cancelled_cap = old_cap ? old_cap * 2 : 1024;
  w->cancelled = calloc(w->cancelled_cap, sizeof *w->cancelled);
  ASSERT(w->cancelled != NULL);
  w->cancelled_count = 0;
  for (uint32_t i = 0; i < old_cap; i++)
    if (old[i]) {
      uint32_t s = slot_of(old[i], w->cancelled_cap);
      while (w->cancelled[s]) s = (s + 1) & (w->cancelled_cap - 1);
      w->cancelled[s] = old[i];
      w->cancelled_count++;
    }
  free(old);
}

void sim_cancel(struct sim_world *w, uint64_t id) {
  if (id == 0 || id > w->seq) return;
  if (2 * (w->cancelled_count + 1) > w->cancelled_cap) cancelled_grow(w);
  uint32_t s = slot_of(id, w->cancelled_cap);
  while (w->cancelled[s] && w->cancelled[s] != id) s = (s + 1) & (w->cancelled_cap - 1);
  if (!w->cancelled[s]) w->cancelled_count++;
  w->cancelled[s] = id;
}

/* Removes id from the set if there; true if it was. */
static bool cancelled_take(struct sim_world *w, uint64_t id) {
  if (w->cancelled_count == 0) return false;
  uint32_t cap = w->cancelled_cap, s = slot_of(id, cap);
  while (w->cancelled[s] && w->cancelled[s] != id) s = (s + 1) & (cap - 1);
  if (!w->cancelled[s]) return false;
  /* Backward-shift deletion keeps the probe chains whole. */
  w->cancelled[s] = 0;
  w->cancelled_count--;
  for (uint32_t j = (s + 1) & (cap - 1); w->cancelled[j]; j = (j + 1) & (cap - 1)) {
    uint64_t moved = w->cancelled[j];
    w->cancelled[j] = 0;
    w->cancelled_count--;
    uint32_t t = slot_of(moved, cap);
    while (w->cancelled[t]) t = (t + 1) & (cap - 1);
    w->cancelled[t] = moved;
    w->cancelled_count++;
  }
  return true;
}

bool sim_step(struct sim_world *w) {
  for (uint32_t n = 0; w->heap_count > 0 && n < SIM_EVENTS_MAX; n++) {
    struct sim_event e = heap_pop(w);
    ASSERT(e.time_ns >= w->now_ns);
    if (cancelled_take(w, e.seq) ||
        (e.node >= 0 && w->nodes[e.node]->incarnation != e.incarnation)) {
      if (e.drop) e.drop(e.ctx);
      continue;
    }
    w->now_ns = e.time_ns;
    w->processed++;
    sim_trace(w, e.time_ns);
    sim_trace(w, (uint64_t)(e.node + 1));
    e.fn(w, e.ctx, e.arg);
    return true;
  }
  return false;
}

void sim_run_until(struct sim_world *w, uint64_t t_ns) {
  while (w->heap_count > 0 && w->heap[0].time_ns <= t_ns)
    if (!sim_step(w)) break;
  if (t_ns > w->now_ns) w->now_ns = t_ns;
}

uint64_t sim_now_ns(const struct sim_world *w) { return w->now_ns; }
uint64_t sim_events_processed(const struct sim_world *w) { return w->processed; }
uint64_t sim_trace_hash(const struct sim_world *w) { return w->trace; }
void sim_world_set_verbose(struct sim_world *w, bool verbose) { w->verbose = verbose; }

void sim_world_set_latency(struct sim_world *w, uint64_t base_ns, uint64_t jitter_ns) {
  w->latency_base_ns = base_ns;
  w->latency_jitter_ns = jitter_ns;
}

void sim_world_set_partition_timeout(struct sim_world *w, uint64_t timeout_ns) {
  w->partition_timeout_ns = timeout_ns;
}

struct sim_world *sim_world_create(uint64_t seed) {
  struct sim_world *w = calloc(1, sizeof *w);
  ASSERT(w != NULL);
  sim_rng_seed(&w->rng, seed);
  w->trace = 0xCBF29CE484222325ull;
  w->latency_base_ns = 200 * 1000;
  w->latency_jitter_ns = 300 * 1000;
  w->partition_timeout_ns = 10 * NS_PER_S;
  return w;
}

void sim_world_destroy(struct sim_world *w) {
  for (uint32_t i = 0; i < w->heap_count; i++)
    if (w->heap[i].drop) w->heap[i].drop(w->heap[i].ctx);
  for (int i = 0; i < w->node_count; i++) {
    sim_disk_free(w->nodes[i]);
    free(w->nodes[i]);
  }
  free(w->heap);
  free(w->cancelled);
  free(w->conns);
  free(w);
}

/* ---- a node's clock, timers, randomness and log ---- */

static struct sim_node *node_of(struct env *env) { return env->world; }

static uint64_t env_now_ns(struct env *env) { return node_of(env)->world->now_ns; }

static int64_t env_wall_ms(struct env *env) {
  return WALL_EPOCH_MS + (int64_t)(node_of(env)->world->now_ns / NS_PER_MS);
}

struct timer {
  env_timer_fn fn;
  void *ctx;
};

static void timer_fire(struct sim_world *w, void *ctx, uint64_t arg) {
  (void)w, (void)arg;
  struct timer t = *(struct timer *)ctx;
  free(ctx);
  t.fn(t.ctx);
}

static env_timer_id env_timer_start(struct env *env, uint64_t delay_ns, env_timer_fn fn,
                                    void *ctx) {
  struct sim_node *n = node_of(env);
  struct timer *t = malloc(sizeof *t);
  ASSERT(t != NULL);
  *t = (struct timer){fn, ctx};
  return sim_schedule(n->world, n->index, delay_ns, timer_fire, t, 0, free);
}

static void env_timer_cancel(struct env *env, env_timer_id id) {
  sim_cancel(node_of(env)->world, id); /* skipped (and its ctx freed) when due */
}

static uint64_t env_random(struct env *env) { return sim_rng_next(&node_of(env)->rng); }

static void env_logv(struct env *env, enum env_log_level level, const char *fmt, va_list ap) {
  struct sim_node *n = node_of(env);
  char line[SIM_LOG_LINE_BYTES];
  vsnprintf(line, sizeof line, fmt, ap);
  for (const char *p = line; *p; p++) sim_trace(n->world, (uint8_t)*p);
  if (n->world->verbose) {
    static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    uint64_t t = n->world->now_ns;
    fprintf(stderr, "[%llu.%06llu] node %d %s %s\n", (unsigned long long)(t / NS_PER_S),
            (unsigned long long)(t % NS_PER_S / 1000), n->id, names[level], line);
  }
}

static void env_net_handler_set(struct env *env, const struct env_net_handler *h) {
  node_of(env)->handler = *h;
}

struct sim_node *sim_node_add(struct sim_world *w, int32_t node_id, const char *host) {
  ASSERT(w->node_count < SIM_NODES_MAX);
  struct sim_node *n = calloc(1, sizeof *n);
  ASSERT(n != NULL);
  n->world = w;
  n->index = w->node_count;
  n->id = node_id;
  snprintf(n->host, sizeof n->host, "%s", host);
  sim_rng_seed(&n->rng, sim_rng_next(&w->rng));
  n->env = (struct env){
      .world = n,
      .node_id = node_id,
      .now_ns = env_now_ns,
      .wall_ms = env_wall_ms,
      .timer_start = env_timer_start,
      .timer_cancel = env_timer_cancel,
      .random_u64 = env_random,
      .net_handler_set = env_net_handler_set,
      .logv = env_logv,
  };
  w->nodes[w->node_count++] = n;
  sim_disk_install(n);
  sim_net_install(n);
  return n;
}

struct env *sim_node_env(struct sim_node *n) {
  return &n->env;
}
int32_t sim_node_id(const struct sim_node *n) { return n->id; }

void sim_node_crash(struct sim_node *n) {
  sim_net_crash(n);
  sim_disk_fail_inflight(n);
  n->incarnation++; /* its timers and fsyncs in flight will not fire */
  memset(&n->handler, 0, sizeof n->handler);
  sim_disk_crash(n);
}
