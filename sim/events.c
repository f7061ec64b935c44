/* The global event queue: a 4-ary min-heap of (time, sequence number)
 * over a pool of event slots, and the trace hash folded over every event
 * run. Equal times run in the order scheduled, so nothing depends on memory
 * addresses. Cancelling a queued event takes its entry out of the heap at
 * once (O(log n); most timers are cancelled, and left in they made most
 * pops skips); a deferred one is marked and skipped later. An old id is
 * harmless. */
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

static void slot_free(struct sim_world *w, uint32_t slot) {
  struct sim_event *e = &w->slots[slot];
  ASSERT(e->state != SIM_EVS_FREE);
  uint32_t gen = e->gen + 1;
  *e = (struct sim_event){.gen = gen ? gen : 1, .next = w->free_head, .state = SIM_EVS_FREE};
  w->free_head = slot + 1;
}

/* ---- heap ---- */

static bool earlier(const struct sim_heap_entry *a, const struct sim_heap_entry *b) {
  return a->time_ns < b->time_ns || (a->time_ns == b->time_ns && a->seq < b->seq);
}

/* Puts an entry at index i and tells its slot where it is. */
static void heap_place(struct sim_world *w, uint32_t i, struct sim_heap_entry entry) {
  w->heap[i] = entry;
  w->slots[entry.slot].heap_pos = i + 1;
}

/* The heap is 4-ary: half the depth of a binary one, so fewer entries move
 * (each move also updates its slot). (time, seq) is a total order, so the
 * order events pop in does not depend on the heap's shape. */
enum { HEAP_ARITY = 4 };

static uint32_t heap_parent(uint32_t i) { return (i - 1) / HEAP_ARITY; }

/* Moves entry up from the hole at index i to where it belongs. */
static void sift_up(struct sim_world *w, uint32_t i, struct sim_heap_entry entry) {
  while (i > 0 && earlier(&entry, &w->heap[heap_parent(i)])) {
    heap_place(w, i, w->heap[heap_parent(i)]);
    i = heap_parent(i);
  }
  heap_place(w, i, entry);
}

/* Moves entry down from the hole at index i (heap_count entries). */
static void sift_down(struct sim_world *w, uint32_t i, struct sim_heap_entry entry) {
  uint32_t count = w->heap_count;
  for (uint32_t n = 0; n < 32; n++) { /* SIM_EVENTS_MAX entries are 11 deep */
    uint32_t first = HEAP_ARITY * i + 1, m = first;
    if (first >= count) break;
    uint32_t end = count - first > HEAP_ARITY ? first + HEAP_ARITY : count;
    for (uint32_t c = first + 1; c < end; c++)
      if (earlier(&w->heap[c], &w->heap[m])) m = c;
    if (!earlier(&w->heap[m], &entry)) break;
    heap_place(w, i, w->heap[m]);
    i = m;
  }
  heap_place(w, i, entry);
}

static void heap_push(struct sim_world *w, uint32_t slot) {
  ASSERT(w->heap_count < SIM_EVENTS_MAX);
  if (w->heap_count == w->heap_cap) {
    w->heap_cap = w->heap_cap ? w->heap_cap * 2 : 1024;
    w->heap = realloc(w->heap, w->heap_cap * sizeof *w->heap);
    ASSERT(w->heap != NULL);
  }
  struct sim_event *e = &w->slots[slot];
  e->seq = ++w->seq;
  sift_up(w, w->heap_count++, (struct sim_heap_entry){e->time_ns, e->seq, slot});
}

/* Takes out the entry at index i; returns its slot. */
static uint32_t heap_remove(struct sim_world *w, uint32_t i) {
  ASSERT(i < w->heap_count);
  uint32_t slot = w->heap[i].slot;
  w->slots[slot].heap_pos = 0;
  struct sim_heap_entry last = w->heap[--w->heap_count];
  if (i == w->heap_count) return slot; /* it was the last */
  if (i > 0 && earlier(&last, &w->heap[heap_parent(i)]))
    sift_up(w, i, last);
  else
    sift_down(w, i, last);
  return slot;
}

static uint32_t heap_pop(struct sim_world *w) {
  ASSERT(w->heap_count > 0);
  return heap_remove(w, 0);
}

/* ---- scheduling ---- */

static uint64_t schedule(struct sim_world *w, int node, enum sim_event_kind kind,
                         uint64_t time_ns, struct sim_event proto) {
  ASSERT(node >= -1 && node < w->node_count);
  ASSERT(time_ns >= w->now_ns);
  uint32_t slot = slot_alloc(w);
  struct sim_event *e = &w->slots[slot];
  proto.gen = e->gen;
  proto.time_ns = time_ns;
  proto.node = node;
  proto.incarnation = node >= 0 ? w->nodes[node]->incarnation : 0;
  proto.kind = (uint8_t)kind;
  proto.state = SIM_EVS_QUEUED;
  *e = proto;
  heap_push(w, slot);
  return id_of(w, slot);
}

uint64_t sim_event_at(struct sim_world *w, int node, enum sim_event_kind kind, uint64_t time_ns,
                      sim_event_fn fn, void *ctx, uint64_t arg, void (*drop)(void *ctx)) {
  ASSERT(fn != NULL);
  return schedule(w, node, kind, time_ns,
                  (struct sim_event){.fn = fn, .ctx = ctx, .arg = arg, .drop = drop});
}

uint64_t sim_timer_at(struct sim_world *w, int node, uint64_t time_ns, env_timer_fn fn,
                      void *ctx) {
  ASSERT(fn != NULL && node >= 0);
  return schedule(w, node, SIM_EV_TIMER, time_ns,
                  (struct sim_event){.timer_fn = fn, .ctx = ctx});
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
  e->state = SIM_EVS_CANCELLED;
  run_drop(e); /* may schedule: w->slots may move, so e is looked up anew */
  uint32_t pos = w->slots[slot].heap_pos;
  if (pos == 0) return; /* deferred: the deferred list frees it */
  ASSERT(w->slots[slot].state == SIM_EVS_CANCELLED);
  uint32_t removed = heap_remove(w, pos - 1);
  ASSERT(removed == slot);
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
  struct sim_event e = w->slots[slot];
  ASSERT(e.time_ns >= w->now_ns);
  if (e.time_ns == w->now_ns) {
    ASSERT(++w->same_time_events < SAME_TIME_EVENTS_MAX);
  } else {
    w->same_time_events = 0;
  }
  w->now_ns = e.time_ns;
  w->processed++;
  sim_trace(w, e.time_ns);
  sim_trace(w, (uint64_t)(e.node >= 0 ? w->nodes[e.node]->id : -1) << 8 | e.kind);
  slot_free(w, slot); /* before the callback: a timer cancelling itself is a no-op */
  w->event_node = e.node;
  if (e.timer_fn)
    e.timer_fn(e.ctx);
  else
    e.fn(w, e.ctx, e.arg);
  if (w->after_event) w->after_event(w->after_event_ctx);
}

/* Runs the first live event due at or before limit_ns; false if none. */
static bool step_until(struct sim_world *w, uint64_t limit_ns) {
  for (uint32_t n = 0; w->heap_count > 0 && n < SIM_EVENTS_MAX; n++) {
    if (w->heap[0].time_ns > limit_ns) return false;
    uint32_t slot = heap_pop(w);
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
    heap_push(w, slot);
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
  for (uint32_t i = 0; i < w->heap_count; i++) {
    struct sim_event *e = &w->slots[w->heap[i].slot];
    if (e->state == SIM_EVS_QUEUED) run_drop(e);
  }
  free(w->heap);
  free(w->slots);
  w->heap = NULL;
  w->slots = NULL;
  w->heap_count = w->slot_count = 0;
}
