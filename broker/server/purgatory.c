/* The purgatory (purgatory.h): waiters parked on keys, woken per key. */
#include "server/purgatory.h"

#include <string.h>

#include "base/assert.h"

void purgatory_init(struct purgatory *pg, struct env *env, int32_t waiters_max) {
  ASSERT(env != NULL);
  ASSERT(waiters_max > 0);
  memset(pg, 0, sizeof *pg);
  pg->env = env;
  pg->waiters_max = waiters_max;
  pg->seq_next = 1;
}

void purgatory_deinit(struct purgatory *pg) {
  ASSERT(pg->waiter_count == 0);
  ASSERT(!pg->walking && pg->walk_next == NULL);
  pg->env = NULL;
}

bool purgatory_full(const struct purgatory *pg) {
  ASSERT(pg->waiter_count >= 0 && pg->waiter_count <= pg->waiters_max);
  return pg->waiter_count == pg->waiters_max;
}

int32_t purgatory_waiter_count(const struct purgatory *pg) {
  ASSERT(pg->waiter_count >= 0);
  return pg->waiter_count;
}

const struct purgatory_stats *purgatory_stats(const struct purgatory *pg) {
  ASSERT(pg->env != NULL);
  return &pg->stats;
}

/* Appends at the tail: lists stay in park order because only the newest
 * waiter adds watches (waiter_watch follows waiter_park at once). */
static void watch_link(struct watch_list *list, struct watch *x) {
  ASSERT(x->list == NULL && x->prev == NULL && x->next == NULL);
  ASSERT(list->last == NULL || list->last->waiter->seq <= x->waiter->seq);
  x->list = list;
  x->prev = list->last;
  if (list->last)
    list->last->next = x;
  else
    list->first = x;
  list->last = x;
  list->count++;
  ASSERT(list->count > 0 && list->last == x);
}

static void watch_unlink(struct purgatory *pg, struct watch *x) {
  struct watch_list *list = x->list;
  ASSERT(list != NULL && list->count > 0);
  if (pg->walk_next == x) pg->walk_next = x->next; /* a walk in progress skips it */
  if (x->prev)
    x->prev->next = x->next;
  else
    list->first = x->next;
  if (x->next)
    x->next->prev = x->prev;
  else
    list->last = x->prev;
  list->count--;
  x->prev = x->next = NULL;
  x->list = NULL;
  ASSERT(list->count > 0 || (list->first == NULL && list->last == NULL));
}

void waiter_init(struct waiter *w, struct purgatory *pg, const struct waiter_ops *ops,
                 void *ctx, struct watch *watches, int32_t watch_cap) {
  ASSERT(pg != NULL && ops != NULL && ops->ready != NULL && ops->done != NULL);
  ASSERT(watch_cap >= 0 && (watches != NULL || watch_cap == 0));
  memset(w, 0, sizeof *w);
  w->purgatory = pg;
  w->ops = ops;
  w->ctx = ctx;
  w->watches = watches;
  w->watch_cap = watch_cap;
}

bool waiter_parked(const struct waiter *w) {
  ASSERT(w->purgatory != NULL);
  return w->parked;
}

/* Out of every list, timer stopped, no longer counted; done is the caller's. */
static void waiter_leave(struct waiter *w) {
  struct purgatory *pg = w->purgatory;
  ASSERT(w->parked);
  ASSERT(pg->waiter_count > 0);
  for (int32_t i = 0; i < w->watch_count; i++) watch_unlink(pg, &w->watches[i]);
  if (w->timer) pg->env->timer_cancel(pg->env, w->timer);
  w->timer = 0;
  w->parked = false;
  pg->waiter_count--;
}

/* done last: it may free the waiter's memory. */
static void waiter_end(struct waiter *w, enum waiter_end why) {
  ASSERT(why == WAITER_READY || why == WAITER_DEADLINE || why == WAITER_GONE);
  waiter_leave(w);
  ASSERT(!w->parked);
  w->ops->done(w, why);
}

static void waiter_expired(void *ctx) {
  struct waiter *w = ctx;
  ASSERT(w->parked && w->timer != 0);
  ASSERT(!w->purgatory->walking); /* timers are loop events */
  w->timer = 0;
  w->purgatory->stats.expired++;
  waiter_end(w, WAITER_DEADLINE);
}

void waiter_park(struct waiter *w, uint64_t timeout_ns) {
  struct purgatory *pg = w->purgatory;
  ASSERT(!w->parked && w->watch_count == 0);
  ASSERT(!pg->walking && !purgatory_full(pg));
  ASSERT(timeout_ns > 0);
  w->seq = pg->seq_next++;
  w->parked = true;
  w->timer = pg->env->timer_start(pg->env, timeout_ns, waiter_expired, w);
  pg->waiter_count++;
  pg->stats.parked++;
  ASSERT(w->timer != 0);
}

void waiter_watch(struct waiter *w, struct watch_list *list, enum watch_kind kind,
                  int64_t offset) {
  ASSERT(w->parked && !w->purgatory->walking);
  ASSERT(kind >= 0 && kind < WATCH_KINDS);
  ASSERT(w->seq + 1 == w->purgatory->seq_next); /* the newest waiter: see watch_link */
  /* This waiter's watches on the list, if any, are its last ones (at most
   * one per kind): merge rather than watch twice. */
  struct watch *x = list->last;
  for (int n = 0; x && x->waiter == w && n < WATCH_KINDS; n++, x = x->prev) {
    if (x->kind != kind) continue;
    if (offset < x->offset) x->offset = offset;
    return;
  }
  ASSERT(w->watch_count < w->watch_cap);
  x = &w->watches[w->watch_count++];
  *x = (struct watch){.waiter = w, .kind = kind, .offset = offset};
  watch_link(list, x);
}

void waiter_cancel(struct waiter *w) {
  ASSERT(w->parked);
  waiter_leave(w);
  w->purgatory->stats.cancelled++;
  ASSERT(!w->parked && w->timer == 0);
}

void purgatory_wake(struct purgatory *pg, struct watch_list *list,
                    const int64_t positions[WATCH_KINDS]) {
  ASSERT(!pg->walking && pg->walk_next == NULL);
  ASSERT(list->count >= 0);
  pg->stats.wakes++;
  if (list->count == 0) return;
  pg->walking = true;
  /* Callbacks only take watches out (their own waiter's), never add: the
   * walk is bounded by the count it started with. */
  int32_t visits_max = list->count;
  struct watch *x = list->first;
  for (int32_t n = 0; x != NULL; n++) {
    ASSERT(n < visits_max);
    pg->walk_next = x->next;
    pg->stats.visits++;
    if (positions[x->kind] >= x->offset) {
      struct waiter *w = x->waiter;
      pg->stats.checks++;
      if (w->ops->ready(w)) {
        pg->stats.ready++;
        waiter_end(w, WAITER_READY);
      }
    }
    x = pg->walk_next;
  }
  pg->walk_next = NULL;
  pg->walking = false;
}

void purgatory_gone(struct purgatory *pg, struct watch_list *list) {
  ASSERT(!pg->walking);
  ASSERT(list->count >= 0);
  pg->walking = true;
  int32_t ends_max = list->count;
  for (int32_t n = 0; list->first != NULL; n++) {
    ASSERT(n < ends_max); /* each end takes at least this watch out */
    pg->stats.gone++;
    waiter_end(list->first->waiter, WAITER_GONE);
  }
  pg->walking = false;
  ASSERT(list->count == 0 && list->last == NULL);
}

void purgatory_list_moved(struct watch_list *list) {
  ASSERT(list->count >= 0);
  int32_t n = 0;
  for (struct watch *x = list->first; x != NULL && n <= list->count; x = x->next, n++)
    x->list = list;
  ASSERT(n == list->count);
}
