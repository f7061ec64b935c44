/* The world and its nodes: each node's env (clock, timers, randomness, log;
 * net.c and disk.c fill in their parts) and the process faults: power loss,
 * restart, pause and resume. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "sim/internal.h"

struct sim_node *sim_node_of(struct env *env) {
  ASSERT(env != NULL && env->world != NULL);
  return env->world;
}

/* ---- the world ---- */

struct sim_world *sim_world_create(uint64_t seed) {
  struct sim_world *w = calloc(1, sizeof *w);
  ASSERT(w != NULL);
  sim_rng_seed(&w->rng, seed);
  w->trace = 0xCBF29CE484222325ull ^ seed;
  w->links = calloc((size_t)SIM_NODES_MAX * SIM_NODES_MAX, sizeof *w->links);
  ASSERT(w->links != NULL);
  w->default_link = (struct sim_link_config){.latency_base_ns = 200 * 1000,
                                             .latency_jitter_ns = 300 * 1000,
                                             .bandwidth_bytes_per_s = 125u * 1000 * 1000};
  for (int i = 0; i < SIM_NODES_MAX * SIM_NODES_MAX; i++) w->links[i].cfg = w->default_link;
  w->net_timeout_ns = 10 * NS_PER_S;
  return w;
}

void sim_world_destroy(struct sim_world *w) {
  if (!w) return;
  sim_events_free(w); /* drops pending events: fsyncs let go of their files */
  sim_net_free(w);
  for (int i = 0; i < w->node_count; i++) {
    sim_disk_free(w->nodes[i]);
    free(w->nodes[i]);
  }
  free(w->links);
  free(w);
}

const struct sim_rng *sim_world_rng(const struct sim_world *w) { return &w->rng; }
void sim_world_set_verbose(struct sim_world *w, bool verbose) { w->verbose = verbose; }
void sim_world_set_log_file(struct sim_world *w, FILE *file) { w->log_file = file; }

void sim_world_set_after_event(struct sim_world *w, sim_after_event_fn fn, void *ctx) {
  w->after_event = fn;
  w->after_event_ctx = fn ? ctx : NULL;
}

struct sim_node *sim_world_event_node(const struct sim_world *w) {
  return w->event_node >= 0 ? w->nodes[w->event_node] : NULL;
}

uint64_t sim_world_outside_count(const struct sim_world *w) { return w->outside_count; }

void sim_world_set_observer(struct sim_world *w, sim_observer_fn fn, void *ctx) {
  w->observer = fn;
  w->observer_ctx = fn ? ctx : NULL;
}

void sim_observe(struct sim_world *w, const struct sim_observation *o) {
  if (w->observer) w->observer(w->observer_ctx, o);
}

/* ---- the log ---- */

static const char *const LEVEL_NAMES[] = {"DEBUG", "INFO", "WARN", "ERROR"};

static void env_logv(struct env *env, enum env_log_level level, const char *fmt, va_list ap) {
  struct sim_node *n = sim_node_of(env);
  struct sim_world *w = n->world;
  char text[SIM_LOG_LINE_BYTES];
  int len = vsnprintf(text, sizeof text, fmt, ap);
  if (len < 0) len = 0;
  if ((size_t)len >= sizeof text) len = (int)sizeof text - 1;
  uint64_t h = 0xCBF29CE484222325ull;
  for (int i = 0; i < len; i++) h = (h ^ (uint8_t)text[i]) * 0x100000001B3ull;
  sim_trace(w, h ^ (uint64_t)level);
  unsigned lvl = (unsigned)level < ARRAY_LEN(LEVEL_NAMES) ? (unsigned)level : 0;
  FILE *outs[2] = {w->verbose ? stderr : NULL, w->log_file};
  for (int i = 0; i < 2; i++)
    if (outs[i])
      fprintf(outs[i], "[%llu.%06llu] node %d %s %s\n",
              (unsigned long long)(w->now_ns / NS_PER_S),
              (unsigned long long)(w->now_ns % NS_PER_S / 1000), n->id, LEVEL_NAMES[lvl], text);
}

/* ---- a node's clock, timers and randomness ---- */

static uint64_t env_now_ns(struct env *env) { return sim_clock_local_ns(sim_node_of(env)); }
static int64_t env_wall_ms(struct env *env) { return sim_node_wall_ms(sim_node_of(env)); }

static env_timer_id env_timer_start(struct env *env, uint64_t delay_ns, env_timer_fn fn,
                                    void *ctx) {
  struct sim_node *n = sim_node_of(env);
  ASSERT(fn != NULL);
  uint64_t at = n->world->now_ns + sim_clock_world_delay_ns(n, delay_ns);
  return sim_timer_at(n->world, n->index, at, fn, ctx);
}

static void env_timer_cancel(struct env *env, env_timer_id id) {
  sim_cancel(sim_node_of(env)->world, id);
}

static uint64_t env_random(struct env *env) { return sim_rng_next(&sim_node_of(env)->random); }

static void env_net_handler_set(struct env *env, const struct env_net_handler *h) {
  ASSERT(h != NULL);
  sim_node_of(env)->handler = *h;
}

/* ---- nodes ---- */

struct sim_node *sim_node_add(struct sim_world *w, int32_t node_id, const char *host) {
  ASSERT(w->node_count < SIM_NODES_MAX);
  ASSERT(host != NULL && host[0] != 0 && strlen(host) < sizeof(((struct sim_node *)0)->host));
  for (int i = 0; i < w->node_count; i++) {
    ASSERT(w->nodes[i]->id != node_id);           /* ids are unique */
    ASSERT(strcmp(w->nodes[i]->host, host) != 0); /* and so are host names */
  }
  struct sim_node *n = calloc(1, sizeof *n);
  ASSERT(n != NULL);
  n->world = w;
  n->index = w->node_count;
  n->id = node_id;
  snprintf(n->host, sizeof n->host, "%s", host);
  /* Streams by node id: adding a node does not change another's. */
  n->rng = sim_rng_fork_id(&w->rng, "node", (uint64_t)(int64_t)node_id);
  n->random = sim_rng_fork(&n->rng, "env.random");
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
  sim_clock_init(n);
  sim_disk_install(n);
  sim_net_install(n);
  sim_trace(w, (uint64_t)(int64_t)node_id);
  return n;
}

struct env *sim_node_env(struct sim_node *n) {
  return &n->env;
}
const char *sim_node_host(const struct sim_node *n) { return n->host; }
int sim_world_node_count(const struct sim_world *w) { return w->node_count; }

struct sim_node *sim_world_node_at(struct sim_world *w, int index) {
  ASSERT(index >= 0 && index < w->node_count);
  return w->nodes[index];
}

/* ---- process faults ---- */

enum { TRACE_CRASH = 0xC4A5, TRACE_RESTART, TRACE_PAUSE, TRACE_RESUME, TRACE_EXIT };

/* The process is gone: its connections reset, its listeners close, its
 * fsyncs in flight fail into it, its timers and other events never run. */
static void process_gone(struct sim_node *n) {
  sim_net_crash(n);          /* first: the dying process can send nothing more */
  sim_disk_fail_inflight(n); /* its fsync waiters hear EIO */
  n->incarnation++;          /* its timers and other events will not run */
  sim_events_drop_deferred(n->world, n);
  n->paused = false;
  memset(&n->handler, 0, sizeof n->handler);
}

void sim_node_crash(struct sim_node *n) {
  sim_trace(n->world, (uint64_t)TRACE_CRASH << 32 | (uint32_t)n->id);
  process_gone(n);
  sim_disk_crash(n);
}

void sim_node_exit(struct sim_node *n) {
  sim_trace(n->world, (uint64_t)TRACE_EXIT << 32 | (uint32_t)n->id);
  process_gone(n);
  sim_disk_close_all(n);
}

void sim_node_restart(struct sim_node *n) {
  sim_trace(n->world, (uint64_t)TRACE_RESTART << 32 | (uint32_t)n->id);
  sim_disk_restart(n);
}

bool sim_node_paused(const struct sim_node *n) { return n->paused; }

void sim_node_pause(struct sim_node *n) {
  if (n->paused) return;
  sim_trace(n->world, (uint64_t)TRACE_PAUSE << 32 | (uint32_t)n->id);
  n->paused = true;
}

void sim_node_resume(struct sim_node *n) {
  if (!n->paused) return;
  sim_trace(n->world, (uint64_t)TRACE_RESUME << 32 | (uint32_t)n->id);
  n->paused = false;
  sim_events_requeue_deferred(n->world, n);
}
