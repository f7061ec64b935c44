/* Time and randomness of the real world: CLOCK_MONOTONIC for now_ns,
 * CLOCK_REALTIME for wall_ms, timers in a binary min-heap ordered by
 * (deadline_ns, id), and xoshiro256** seeded once from getrandom(). Each
 * timer's lateness (when it ran minus when it was due) goes into a histogram:
 * the figure that shows whether anything holds up the loop. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "base/assert.h"
#include "base/xoshiro.h"
#include "os/internal.h"
#include "os/world.h"

enum { TIMERS_MAX = 1 << 24 };

static uint64_t clock_now_ns(struct env *env) {
  (void)env;
  struct timespec ts;
  int rc = clock_gettime(CLOCK_MONOTONIC, &ts);
  ASSERT(rc == 0);
  return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static int64_t clock_wall_ms(struct env *env) {
  (void)env;
  struct timespec ts;
  int rc = clock_gettime(CLOCK_REALTIME, &ts);
  ASSERT(rc == 0);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- the heap ------------------------------------------------------------ */

static bool timer_before(const struct os_timer *a, const struct os_timer *b) {
  return a->deadline_ns < b->deadline_ns || (a->deadline_ns == b->deadline_ns && a->id < b->id);
}

static void heap_set(struct os_world *w, uint32_t i, struct os_timer *t) {
  w->heap[i] = t;
  t->heap_index = i;
}

static void heap_sift_up(struct os_world *w, uint32_t i) {
  struct os_timer *t = w->heap[i];
  for (uint32_t n = 0; i > 0 && n < 32; n++) {
    uint32_t parent = (i - 1) / 2;
    if (!timer_before(t, w->heap[parent])) break;
    heap_set(w, i, w->heap[parent]);
    i = parent;
  }
  heap_set(w, i, t);
}

static void heap_sift_down(struct os_world *w, uint32_t i) {
  struct os_timer *t = w->heap[i];
  for (uint32_t n = 0; n < 32; n++) {
    uint32_t child = 2 * i + 1;
    if (child >= w->heap_count) break;
    if (child + 1 < w->heap_count && timer_before(w->heap[child + 1], w->heap[child])) child++;
    if (!timer_before(w->heap[child], t)) break;
    heap_set(w, i, w->heap[child]);
    i = child;
  }
  heap_set(w, i, t);
}

static void heap_push(struct os_world *w, struct os_timer *t) {
  ASSERT(w->heap_count < TIMERS_MAX);
  if (w->heap_count == w->heap_cap) {
    uint32_t cap = w->heap_cap ? w->heap_cap * 2 : 64;
    struct os_timer **heap = realloc(w->heap, cap * sizeof *heap);
    ASSERT(heap != NULL);
    w->heap = heap;
    w->heap_cap = cap;
  }
  heap_set(w, w->heap_count++, t);
  heap_sift_up(w, t->heap_index);
}

static void heap_remove(struct os_world *w, struct os_timer *t) {
  uint32_t i = t->heap_index;
  ASSERT(i < w->heap_count && w->heap[i] == t);
  struct os_timer *last = w->heap[--w->heap_count];
  if (last == t) return;
  heap_set(w, i, last);
  /* The moved entry may belong above or below its new place. */
  heap_sift_up(w, i);
  heap_sift_down(w, last->heap_index);
}

/* --- timers -------------------------------------------------------------- */

static env_timer_id timer_start(struct env *env, uint64_t delay_ns, env_timer_fn fn,
                                void *ctx) {
  ASSERT(fn != NULL);
  struct os_world *w = os_world_of(env);
  uint64_t now_ns = clock_now_ns(env);
  struct os_timer *t = malloc(sizeof *t);
  ASSERT(t != NULL);
  t->deadline_ns = delay_ns > UINT64_MAX - now_ns ? UINT64_MAX : now_ns + delay_ns;
  t->id = w->timer_next_id++;
  t->fn = fn;
  t->ctx = ctx;
  heap_push(w, t);
  os_idmap_put(&w->timers, t->id, t);
  return t->id;
}

/* Unknown and already fired ids are a no-op: the caller may hold a stale id. */
static void timer_cancel(struct env *env, env_timer_id id) {
  struct os_world *w = os_world_of(env);
  struct os_timer *t = os_idmap_remove(&w->timers, id);
  if (!t) return;
  ASSERT(t->id == id);
  heap_remove(w, t);
  free(t);
}

int os_timers_wait_ms(struct os_world *w) {
  if (w->heap_count == 0) return -1;
  uint64_t now_ns = clock_now_ns(&w->env), deadline_ns = w->heap[0]->deadline_ns;
  if (deadline_ns <= now_ns) return 0;
  uint64_t wait_ms = (deadline_ns - now_ns + NS_PER_MS - 1) / NS_PER_MS;
  return wait_ms > INT_MAX ? INT_MAX : (int)wait_ms;
}

/* --- lateness ----------------------------------------------------------- */

static uint32_t lateness_bucket(uint64_t us) {
  enum { SUB = 1 << OS_LATENESS_SUB_BITS };
  if (us < SUB) return (uint32_t)us;
  uint32_t octave = 63u - (uint32_t)__builtin_clzll(us); /* >= OS_LATENESS_SUB_BITS */
  if (octave >= OS_LATENESS_OCTAVES_MAX) return OS_LATENESS_BUCKETS - 1;
  uint32_t sub = (uint32_t)(us >> (octave - OS_LATENESS_SUB_BITS)) & (SUB - 1);
  uint32_t i = ((octave - OS_LATENESS_SUB_BITS + 1) << OS_LATENESS_SUB_BITS) + sub;
  ASSERT(i < OS_LATENESS_BUCKETS);
  return i;
}

/* The largest value bucket i holds (the inverse of lateness_bucket). */
static uint64_t lateness_bucket_high_us(uint32_t i) {
  enum { SUB = 1 << OS_LATENESS_SUB_BITS };
  ASSERT(i < OS_LATENESS_BUCKETS);
  if (i < SUB) return i;
  uint32_t octave = (i >> OS_LATENESS_SUB_BITS) + OS_LATENESS_SUB_BITS - 1;
  uint64_t width = UINT64_C(1) << (octave - OS_LATENESS_SUB_BITS);
  uint64_t low = (uint64_t)(SUB + (i & (SUB - 1))) * width;
  return low + width - 1;
}

static void lateness_record(struct os_lateness *l, uint64_t late_ns) {
  uint64_t us = late_ns / 1000;
  l->counts[lateness_bucket(us)]++;
  l->count++;
  if (us > l->max_us) l->max_us = us;
}

/* The upper bound of the bucket holding the value at `percent`, capped by
 * the largest value seen. */
static uint64_t lateness_percentile_us(const struct os_lateness *l, uint32_t percent) {
  ASSERT(percent >= 1 && percent <= 100 && l->count > 0);
  uint64_t rank = (l->count * percent + 99) / 100, seen = 0; /* 1-based */
  for (uint32_t i = 0; i < OS_LATENESS_BUCKETS; i++) {
    seen += l->counts[i];
    if (seen < rank) continue;
    uint64_t high_us = lateness_bucket_high_us(i);
    return high_us < l->max_us ? high_us : l->max_us;
  }
  UNREACHABLE();
}

uint64_t os_world_timer_lateness(struct os_world *w, uint64_t *p50_us, uint64_t *p99_us,
                                 uint64_t *max_us) {
  const struct os_lateness *l = &w->lateness;
  *p50_us = l->count ? lateness_percentile_us(l, 50) : 0;
  *p99_us = l->count ? lateness_percentile_us(l, 99) : 0;
  *max_us = l->max_us;
  return l->count;
}

/* --- running timers ------------------------------------------------------- */

int os_timers_run_due(struct os_world *w) {
  uint64_t now_ns = clock_now_ns(&w->env);
  env_timer_id id_limit = w->timer_next_id; /* timers started by callbacks wait */
  uint32_t due_max = w->heap_count;
  int ran = 0;
  for (uint32_t n = 0; n < due_max && w->heap_count > 0; n++) {
    struct os_timer *t = w->heap[0];
    if (t->deadline_ns > now_ns || t->id >= id_limit) break;
    heap_remove(w, t);
    void *removed = os_idmap_remove(&w->timers, t->id);
    ASSERT(removed == t);
    env_timer_fn fn = t->fn;
    void *ctx = t->ctx;
    /* Measured per timer: a slow callback makes the ones after it late. */
    lateness_record(&w->lateness, clock_now_ns(&w->env) - t->deadline_ns);
    free(t); /* before the call: the callback may cancel its own (now stale) id */
    fn(ctx);
    ran++;
  }
  return ran;
}

/* --- randomness: xoshiro256** (Blackman and Vigna) ------------------------ */

static uint64_t random_u64(struct env *env) { return xoshiro256_next(os_world_of(env)->rng); }

static void random_seed(struct os_world *w) {
  uint8_t *p = (uint8_t *)w->rng;
  size_t got = 0;
  for (int n = 0; got < sizeof w->rng && n < 100; n++) {
    ssize_t r = getrandom(p + got, sizeof w->rng - got, 0);
    if (r < 0 && errno == EINTR) continue;
    ASSERT(r > 0);
    got += (size_t)r;
  }
  ASSERT(got == sizeof w->rng);
  /* xoshiro must not start from all zeros (it would stay there). */
  if ((w->rng[0] | w->rng[1] | w->rng[2] | w->rng[3]) == 0) w->rng[0] = 1;
}

void os_clock_init(struct os_world *w) {
  w->env.now_ns = clock_now_ns;
  w->env.wall_ms = clock_wall_ms;
  w->env.timer_start = timer_start;
  w->env.timer_cancel = timer_cancel;
  w->env.random_u64 = random_u64;
  w->timer_next_id = 1;
  random_seed(w);
}

void os_clock_free(struct os_world *w) {
  for (uint32_t i = 0; i < w->heap_count; i++) free(w->heap[i]);
  free(w->heap);
  w->heap = NULL;
  w->heap_count = w->heap_cap = 0;
  os_idmap_free(&w->timers);
}
