/* Waits for a number of completions, then calls done once.
 *
 * The starter holds a guard count while it starts the work, so completions
 * that arrive early (or at once) cannot finish the join before everything
 * has started: join_begin takes the guard, join_add counts one more, each
 * completion calls join_one, and join_end releases the guard. */
#ifndef SLUICE_JOIN_H
#define SLUICE_JOIN_H

#include <stdbool.h>

struct join {
  int pending; /* 0: idle */
  int err;     /* the first error a completion reported */
  void (*done)(void *ctx, int err);
  void *ctx;
};

void join_begin(struct join *j, void (*done)(void *ctx, int err), void *ctx);
void join_add(struct join *j);
/* One completion; err != 0 is remembered (the first wins). */
void join_one(struct join *j, int err);
/* Releases the guard: done runs now if nothing is pending. */
void join_end(struct join *j);
bool join_busy(const struct join *j);

#endif
