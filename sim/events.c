/* The global event queue: (time, sequence number) entries in an array
 * sorted latest first, over a pool of event slots, and the trace hash
 * folded over every event run. Equal times run in the order scheduled, so
 * nothing depends on memory addresses. Cancelling a queued event takes its
 * entry out of the queue at once (found by bisection; most timers are
 * cancelled, and left in they made most pops skips); a deferred one is
 * marked and skipped later. An old id is harmless. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "sim/internal.h"

/* More events than this at one virtual instant is a livelock (a zero-delay
 * loop), not a simulation. */
static const uint64_t SAME_TIME_EVENTS_MAX = 50u * 1000 * 1000;

/* ---- trace hash: a 64-bit multiply-xorshift fold (xxhash-style) ---- */

void sim_trace(struct sim_world *w, uint64_t value) {
  uint64_t h = (w->trace ^ value) * 0x9E3779B97F4A7C15ull;
  w->trace = h ^ (h >> 29);
}

uint64_t sim_trace_hash(const struct sim_world *w) { return w->trace; }

/* ---- slots ---- */

static uint64_t id_of(const struct sim_world *w, uint32_t slot) {
  return (uint64_t)w->slots[slot].gen << 32 | (slot + 1);
}

static struct sim_event *slot_of_id(struct sim_world *w, uint64_t id) {
  uint32_t slot = (uint32_t)(id & 0xFFFFFFFFu);
  if (slot == 0 || slot > w->slot_count) return NULL;
  struct sim_event *e = &w->slots[slot - 1];
  return e->gen == (uint32_t)(id >> 32) ? e : NULL;
}

static uint32_t slot_alloc(struct sim_world *w) {
  if (w->free_head) {
    uint32_t slot = w->free_head - 1;
    w->free_head = w->slots[slot].next;
    return slot;
  }
  ASSERT(w->slot_count < SIM_EVENTS_MAX); /* the queue is bounded */
  if (w->slot_count == w->slot_cap) {
    w->slot_cap = w->slot_cap ? w->slot_cap * 2 : 1024;
    w->slots = realloc(w->slots, w->slot_cap * sizeof *w->slots);
    ASSERT(w->slots != NULL);
  }
  w->slots[w->slot_count] = (struct sim_event){.gen = 1};
  return w->slot_count++;
}

/* Only what a free slot is read for: schedule sets every other field. */
static void slot_free(struct sim_world *w, uint32_t slot) {
  struct sim_event *e = &w->slots[slot];
  ASSERT(e->state != SIM_EVS_FREE);
  uint32_t gen = e->gen + 1;
  e->gen = gen ? gen : 1;
  e->next = w->free_head;
  e->state = SIM_EVS_FREE;
  e->drop = NULL;
  w->free_head = slot + 1;
}

/* ---- the queue ---- */

/* The queue is an array sorted latest first, so the next event is the last
 * entry: a pop takes it off the end. It is short (tens of events; a few
 * hundred in the busiest scenario) and most events are due sooner than
 * nearly all others (a frame in flight, a wake-up now), so a new one moves
 * few entries; a cancelled one (a timeout, due late) moves those due before
 * it. (time, seq) is a total order, so the pop order is the same as any
 * other priority queue's. */
enum { QUEUE_WALK_MAX = 8 }; /* entries passed one by one before bisecting */

/* The first of the count entries from q on due at time_ns or earlier: where
 * the entries due at time_ns start (the latest scheduled first), and where
 * a new one due then goes. */
static uint32_t queue_bisect(const struct sim_queue_entry *q, uint32_t count,
                             uint64_t time_ns) {
  uint32_t lo = 0, hi = count;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (q[mid].time_ns > time_ns)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* A new event has the highest sequence number: it goes behind every entry
 * due at its time or earlier, so times alone place it. */
static void queue_push(struct sim_world *w, uint32_t slot) {
  ASSERT(w->queue_count < SIM_EVENTS_MAX);
  if (w->queue_count == w->queue_cap) {
    w->queue_cap = w->queue_cap ? w->queue_cap * 2 : 1024;
    w->queue = realloc(w->queue, w->queue_cap * sizeof *w->queue);
    ASSERT(w->queue != NULL);
  }
  struct sim_event *e = &w->slots[slot];
  e->seq = ++w->seq;
  uint64_t time_ns = e->time_ns;
  struct sim_queue_entry *q = w->queue, *at = q + w->queue_count++;
  struct sim_queue_entry *stop = at - q > QUEUE_WALK_MAX ? at - QUEUE_WALK_MAX : q;
  /* Usually due after only a few: those move up one by one. */
  for (; at > stop && at[-1].time_ns <= time_ns; at--) *at = at[-1];
  if (at > q && at[-1].time_ns <= time_ns) { /* further in: the rest move at once */
    struct sim_queue_entry *to = q + queue_bisect(q, (uint32_t)(at - q), time_ns);
    memmove(to + 1, to, (size_t)(at - to) * sizeof *q);
    at = to;
  }
  *at = (struct sim_queue_entry){time_ns, e->seq, slot};
}

static uint32_t queue_pop(struct sim_world *w) {
  ASSERT(w->queue_count > 0);
  return w->queue[--w->queue_count].slot;
}

/* Takes a queued event's entry out: it is among those due at its time. */
static void queue_remove(struct sim_world *w, uint32_t slot) {
  struct sim_queue_entry *q = w->queue;
  uint32_t count = w->queue_count, i = queue_bisect(q, count, w->slots[slot].time_ns);
  while (i < count && q[i].slot != slot) i++; /* bounded by count */
  ASSERT(i < count && q[i].time_ns == w->slots[slot].time_ns);
  memmove(&q[i], &q[i + 1], (count - i - 1) * sizeof *q);
  w->queue_count--;
}

/* ---- scheduling ---- */

/* Every field but the slot's generation and links is set here (field by
 * field: no copy of a whole event). */
static uint64_t schedule(struct sim_world *w, int node, enum sim_event_kind kind,
                         uint64_t time_ns, sim_event_fn fn, env_timer_fn timer_fn, void *ctx,
                         uint64_t arg, void (*drop)(void *ctx)) {
  ASSERT(node >= -1 && node < w->node_count);
  ASSERT(time_ns >= w->now_ns);
  uint32_t slot = slot_alloc(w);
  struct sim_event *e = &w->slots[slot];
  e->time_ns = time_ns;
  e->fn = fn;
  e->timer_fn = timer_fn;
  e->ctx = ctx;
  e->arg = arg;
  e->drop = drop;
  e->node = node;
  e->incarnation = node >= 0 ? w->nodes[node]->incarnation : 0;
  e->kind = (uint8_t)kind;
  e->state = SIM_EVS_QUEUED;
  queue_push(w, slot);
  return id_of(w, slot);
}

uint64_t sim_event_at(struct sim_world *w, int node, enum sim_event_kind kind, uint64_t time_ns,
                      sim_event_fn fn, void *ctx, uint64_t arg, void (*drop)(void *ctx)) {
  ASSERT(fn != NULL);
  return schedule(w, node, kind, time_ns, fn, NULL, ctx, arg, drop);
}

uint64_t sim_timer_at(struct sim_world *w, int node, uint64_t time_ns, env_timer_fn fn,
                      void *ctx) {
  ASSERT(fn != NULL && node >= 0);
  return schedule(w, node, SIM_EV_TIMER, time_ns, NULL, fn, ctx, 0, NULL);
}

static void run_drop(struct sim_event *e) {
  void (*drop)(void *) = e->drop;
  e->drop = NULL;
  if (drop) drop(e->ctx);
}

void sim_cancel(struct sim_world *w, uint64_t id) {
  struct sim_event *e = slot_of_id(w, id);
  if (!e || (e->state != SIM_EVS_QUEUED && e->state != SIM_EVS_DEFERRED)) return;
  uint32_t slot = (uint32_t)(e - w->slots);
  bool queued = e->state == SIM_EVS_QUEUED;
  e->state = SIM_EVS_CANCELLED;
  run_drop(e);         /* may schedule: w->slots may move, so e is looked up anew */
  if (!queued) return; /* deferred: the deferred list frees it */
  ASSERT(w->slots[slot].state == SIM_EVS_CANCELLED);
  queue_remove(w, slot);
  slot_free(w, slot);
}

/* ---- running ---- */

static void defer(struct sim_world *w, struct sim_node *n, uint32_t slot) {
  struct sim_event *e = &w->slots[slot];
  e->state = SIM_EVS_DEFERRED;
  e->next = 0;
  if (n->deferred_tail)
    w->slots[n->deferred_tail - 1].next = slot + 1;
  else
    n->deferred_head = slot + 1;
  n->deferred_tail = slot + 1;
  n->deferred_count++;
  ASSERT(n->deferred_count <= SIM_EVENTS_MAX);
}

static void run(struct sim_world *w, uint32_t slot) {
  const struct sim_event *e = &w->slots[slot];
  uint64_t time_ns = e->time_ns;
  int32_t node = e->node;
  sim_event_fn fn = e->fn;
  env_timer_fn timer_fn = e->timer_fn;
  void *ctx = e->ctx;
  uint64_t arg = e->arg;
  ASSERT(time_ns >= w->now_ns);
  if (time_ns == w->now_ns) {
    ASSERT(++w->same_time_events < SAME_TIME_EVENTS_MAX);
  } else {
    w->same_time_events = 0;
  }
  w->now_ns = time_ns;
  w->processed++;
  sim_trace(w, time_ns);
  sim_trace(w, (uint64_t)(node >= 0 ? w->nodes[node]->id : -1) << 8 | e->kind);
  slot_free(w, slot); /* before the callback: a timer cancelling itself is a no-op */
  w->event_node = node;
  if (timer_fn)
    timer_fn(ctx);
  else
    fn(w, ctx, arg);
  if (w->after_event) w->after_event(w->after_event_ctx);
}

/* Runs the first live event due at or before limit_ns; false if none. */
static bool step_until(struct sim_world *w, uint64_t limit_ns) {
  for (uint32_t n = 0; w->queue_count > 0 && n < SIM_EVENTS_MAX; n++) {
    if (w->queue[w->queue_count - 1].time_ns > limit_ns) return false;
    uint32_t slot = queue_pop(w);
    struct sim_event *e = &w->slots[slot];
    if (e->state == SIM_EVS_CANCELLED) {
      slot_free(w, slot);
      continue;
    }
    ASSERT(e->state == SIM_EVS_QUEUED);
    if (e->node >= 0) {
      struct sim_node *node = w->nodes[e->node];
      if (node->incarnation != e->incarnation) { /* it crashed since */
        w->outside_count++;
        run_drop(e);
        slot_free(w, slot);
        continue;
      }
      if (node->paused && e->kind != SIM_EV_KERNEL) {
        defer(w, node, slot);
        continue;
      }
    }
    run(w, slot);
    return true;
  }
  return false;
}

/* The public stepping calls: their caller may have changed anything
 * since the last event (sim_world_outside_count). */
bool sim_step(struct sim_world *w) {
  w->outside_count++;
  return step_until(w, UINT64_MAX);
}

bool sim_step_until(struct sim_world *w, uint64_t t_ns) {
  w->outside_count++;
  return step_until(w, t_ns);
}

void sim_run_until(struct sim_world *w, uint64_t t_ns) {
  w->outside_count++; /* its loop runs nothing but events */
  for (uint64_t n = 0; n < UINT64_MAX && step_until(w, t_ns); n++) {
  }
  if (t_ns > w->now_ns) {
    w->now_ns = t_ns;
    w->same_time_events = 0;
  }
}

uint64_t sim_now_ns(const struct sim_world *w) { return w->now_ns; }
uint64_t sim_events_processed(const struct sim_world *w) { return w->processed; }

/* ---- pause support ---- */

void sim_events_requeue_deferred(struct sim_world *w, struct sim_node *n) {
  uint32_t count = 0;
  for (uint32_t s = n->deferred_head; s != 0; count++) {
    ASSERT(count < n->deferred_count);
    uint32_t slot = s - 1;
    struct sim_event *e = &w->slots[slot];
    s = e->next;
    if (e->state == SIM_EVS_CANCELLED) {
      slot_free(w, slot);
      continue;
    }
    ASSERT(e->state == SIM_EVS_DEFERRED);
    e->state = SIM_EVS_QUEUED;
    e->time_ns = w->now_ns; /* due now, in the order they fell due */
    queue_push(w, slot);
  }
  n->deferred_head = n->deferred_tail = n->deferred_count = 0;
}

void sim_events_drop_deferred(struct sim_world *w, struct sim_node *n) {
  uint32_t count = 0;
  for (uint32_t s = n->deferred_head; s != 0; count++) {
    ASSERT(count < n->deferred_count);
    uint32_t slot = s - 1;
    s = w->slots[slot].next;
    run_drop(&w->slots[slot]);
    slot_free(w, slot);
  }
  n->deferred_head = n->deferred_tail = n->deferred_count = 0;
}

void sim_events_free(struct sim_world *w) {
  for (int i = 0; i < w->node_count; i++) sim_events_drop_deferred(w, w->nodes[i]);
  for (uint32_t i = 0; i < w->queue_count; i++) {
    struct sim_event *e = &w->slots[w->queue[i].slot];
    if (e->state == SIM_EVS_QUEUED) run_drop(e);
  }
  free(w->queue);
  free(w->slots);
  w->queue = NULL;
  w->slots = NULL;
  w->queue_count = w->slot_count = 0;
}
