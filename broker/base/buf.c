#include "base/buf.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

void buf_init(struct buf *b) { memset(b, 0, sizeof *b); }

void buf_free(struct buf *b) {
  free(b->data);
  buf_init(b);
}

void buf_grow(struct buf *b, size_t extra) {
  ASSERT(b->len <= b->cap && b->len + extra >= b->len);
  if (b->len + extra <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra) cap *= 2;
  uint8_t *data = realloc(b->data, cap);
  ASSERT(data != NULL);
  b->data = data;
  b->cap = cap;
}

void buf_reset(struct buf *b) { b->len = 0; }

struct buf buf_take_kept(struct buf *kept) {
  struct buf b = *kept;
  buf_init(kept);
  buf_reset(&b);
  return b;
}

void buf_keep(struct buf *kept, struct buf *b, size_t cap_max) {
  if (kept->data == NULL && b->cap <= cap_max)
    *kept = *b;
  else
    buf_free(b);
  buf_init(b);
}
