/* The purgatory: requests that wait for something to happen to a key (a
 * partition) or for their deadline, whichever comes first. It is Kafka's
 * delayed-operation idea: a long-polling Fetch waits until min_bytes are
 * there, and (with replication) an acks=all Produce until the high watermark
 * covers its records.
 *
 * A waiter watches one or more keys. Each key owns a watch_list: the watches
 * on it, in the order their waiters were parked. When a key moves (records
 * appended, the high watermark advanced) its owner calls purgatory_wake with
 * the key's new positions, and only the watches of that key are looked at;
 * a watch whose position is reached asks its waiter to re-check its whole
 * condition (ready), and a ready waiter is taken out and told (done). Nothing
 * rescans every waiter, and nothing here runs a handler: done only answers
 * (the connection layer resumes the connection later, from its loop).
 *
 * Costs: wake is O(watches on that key); parking and cancelling are
 * O(watches of the waiter). The memory of a waiter and its watches is its
 * owner's (a request's arena); the purgatory only links it.
 *
 * Lists are intrusive and not self-referential (first/last, no sentinel), so
 * an owner may move a watch_list in memory (realloc of a partition array) as
 * long as it calls purgatory_list_moved afterwards. */
#ifndef SLUICE_PURGATORY_H
#define SLUICE_PURGATORY_H

#include <stdbool.h>
#include <stdint.h>

#include "env.h"

/* What a watch waits for on its key: a position reaching an offset. */
enum watch_kind {
  WATCH_END_OFFSET,     /* records appended: the log end offset (follower fetches) */
  WATCH_HIGH_WATERMARK, /* what consumers may see (consumer fetches, acks=all) */
  WATCH_LOW_WATERMARK,  /* the smallest log start over the replicas (DeleteRecords) */
  WATCH_KINDS,
};

struct waiter;

struct watch {
  struct watch *prev, *next;
  struct watch_list *list; /* NULL while not linked */
  struct waiter *waiter;
  enum watch_kind kind;
  int64_t offset; /* wake once the key's `kind` position is >= offset */
};

/* One key's watches, oldest waiter first. Zeroed memory is an empty list. */
struct watch_list {
  struct watch *first, *last;
  int32_t count;
};

/* Why a waiter left the purgatory (done's argument). */
enum waiter_end {
  WAITER_READY,    /* its condition holds */
  WAITER_DEADLINE, /* its timeout passed: answer with what there is */
  WAITER_GONE,     /* a key it watched was removed (topic deleted) */
};

struct waiter_ops {
  /* A watched key moved: does the whole condition hold now? No side effects. */
  bool (*ready)(struct waiter *w);
  /* The waiter is already out of the purgatory (no watches, no timer); it may
   * answer and free its memory. Called exactly once per park, unless
   * waiter_cancel came first. */
  void (*done)(struct waiter *w, enum waiter_end why);
};

struct waiter {
  struct purgatory *purgatory;
  const struct waiter_ops *ops;
  void *ctx;
  struct watch *watches; /* [watch_cap], the owner's memory */
  int32_t watch_count;   /* linked, in watches[0..watch_count) */
  int32_t watch_cap;
  uint64_t seq; /* park order: wakes go oldest first */
  env_timer_id timer;
  bool parked;
};

struct purgatory_stats {
  uint64_t parked;
  uint64_t ready;     /* left with WAITER_READY */
  uint64_t expired;   /* WAITER_DEADLINE */
  uint64_t gone;      /* WAITER_GONE */
  uint64_t cancelled; /* waiter_cancel */
  uint64_t wakes;     /* purgatory_wake calls */
  uint64_t visits;    /* watches a wake looked at */
  uint64_t checks;    /* ready() calls */
};

struct purgatory {
  struct env *env;
  int32_t waiters_max;
  int32_t waiter_count;
  uint64_t seq_next;
  bool walking;            /* in a wake or gone walk: callbacks must not park or wake */
  struct watch *walk_next; /* the walk's next watch; unlinking it moves it on */
  struct purgatory_stats stats;
};

void purgatory_init(struct purgatory *pg, struct env *env, int32_t waiters_max);
/* Every waiter must be gone (done or cancelled) by now. */
void purgatory_deinit(struct purgatory *pg);
/* At the bound: the caller answers at once instead of parking. */
bool purgatory_full(const struct purgatory *pg);
int32_t purgatory_waiter_count(const struct purgatory *pg);
const struct purgatory_stats *purgatory_stats(const struct purgatory *pg);

/* Prepares a waiter whose watches will live in watches[watch_cap]. */
void waiter_init(struct waiter *w, struct purgatory *pg, const struct waiter_ops *ops,
                 void *ctx, struct watch *watches, int32_t watch_cap);
/* Enters the purgatory and starts the deadline (timeout_ns > 0); the
 * purgatory must not be full. Then waiter_watch adds its keys, before the
 * caller returns to the loop. */
void waiter_park(struct waiter *w, uint64_t timeout_ns);
/* Watches a key (parked waiters only). Watching one key twice with one kind
 * keeps the lower offset and uses no second watch. */
void waiter_watch(struct waiter *w, struct watch_list *list, enum watch_kind kind,
                  int64_t offset);
/* Takes a parked waiter out without calling done (its connection went). */
void waiter_cancel(struct waiter *w);
bool waiter_parked(const struct waiter *w);

/* The key moved to positions[kind]: the watches of this list whose offset is
 * reached re-check their waiters, oldest first. Callbacks must not wake or
 * park (they answer; handlers run later from the connection layer's loop). */
void purgatory_wake(struct purgatory *pg, struct watch_list *list,
                    const int64_t positions[WATCH_KINDS]);
/* The key is going away: every waiter watching it ends with WAITER_GONE.
 * Afterwards the list is empty and may be freed. */
void purgatory_gone(struct purgatory *pg, struct watch_list *list);
/* The list's memory moved (its old copy is garbage): repoint its watches. */
void purgatory_list_moved(struct watch_list *list);

#endif
