/* A growable byte buffer. Allocation failure is fatal: the broker bounds what
 * it buffers (socket.request.max.bytes, fetch.max.bytes), so running out of
 * memory inside those bounds is not a state it can serve from. */
#ifndef SLUICE_BUF_H
#define SLUICE_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct buf {
  uint8_t *data;
  size_t len;
  size_t cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
/* Makes room for extra more bytes (the slow path of buf_reserve). */
void buf_grow(struct buf *b, size_t extra);
void buf_reset(struct buf *b);
/* A buffer kept between uses (a scratch): buf_take_kept hands it over
 * emptied and leaves *kept empty, so a use begun while another holds it
 * starts a buffer of its own; buf_keep takes b back if nothing is kept and
 * its capacity is at most cap_max (one large use should not pin its size),
 * frees it otherwise, and leaves b empty. */
struct buf buf_take_kept(struct buf *kept);
void buf_keep(struct buf *kept, struct buf *b, size_t cap_max);

/* Inline: the wire encoders reserve a few bytes per field, millions of
 * times in a simulated minute; only growing takes a call. */
static inline void buf_reserve(struct buf *b, size_t extra) {
  /* One comparison, and no overflow: len never passes cap. */
  if (extra > b->cap - b->len) buf_grow(b, extra);
}

/* Appends len uninitialised bytes and returns where they start. */
static inline uint8_t *buf_extend(struct buf *b, size_t len) {
  buf_reserve(b, len);
  uint8_t *at = b->data + b->len;
  b->len += len;
  return at;
}

/* Inline too: a constant length becomes a few moves, not a memcpy call. */
static inline void buf_append(struct buf *b, const void *data, size_t len) {
  if (len == 0) return;
  memcpy(buf_extend(b, len), data, len);
}

#endif
