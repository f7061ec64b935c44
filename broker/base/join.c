#include "base/join.h"

#include <stddef.h>

#include "base/assert.h"

enum { JOIN_PENDING_MAX = 1 << 30 };

void join_begin(struct join *j, void (*done)(void *ctx, int err), void *ctx) {
  ASSERT(j->pending == 0); /* one round at a time */
  ASSERT(done != NULL);
  *j = (struct join){.pending = 1, .err = 0, .done = done, .ctx = ctx};
}

void join_add(struct join *j) {
  ASSERT(j->pending > 0); /* only between begin and the last completion */
  ASSERT(j->pending < JOIN_PENDING_MAX);
  j->pending++;
}

void join_one(struct join *j, int err) {
  ASSERT(j->pending > 0);
  if (err != 0 && j->err == 0) j->err = err;
  if (--j->pending > 0) return;
  void (*done)(void *, int) = j->done;
  void *ctx = j->ctx;
  int first_err = j->err;
  j->done = NULL;
  done(ctx, first_err); /* may begin the next round */
}

void join_end(struct join *j) { join_one(j, 0); }

bool join_busy(const struct join *j) { return j->pending > 0; }
