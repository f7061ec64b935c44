#include "log/header_cursor.h"

#include "base/assert.h"
#include "base/crc32c.h"

void header_cursor_init(struct header_cursor *c, struct env *env, env_file file,
                        uint64_t end_pos) {
  ASSERT(c != NULL && env != NULL);
  c->env = env;
  c->file = file;
  c->end_pos = end_pos;
  c->buf_pos = 0;
  c->buf_len = 0;
  c->large_batches = false;
}

/* Makes [pos, pos + RB_HEADER_BYTES) (or what the file has of it) buffered. */
static int cursor_fill(struct header_cursor *c, uint64_t pos) {
  if (pos >= c->buf_pos && pos + RB_HEADER_BYTES <= c->buf_pos + c->buf_len) return 0;
  uint64_t want = c->end_pos - pos;
  /* Read ahead for runs of small batches; between large ones the next
   * header is a buffer away, so read just it. */
  uint64_t ahead = c->large_batches ? RB_HEADER_BYTES : HEADER_CURSOR_BYTES;
  if (want > ahead) want = ahead;
  int64_t n = c->env->pread(c->env, c->file, c->buf, (size_t)want, pos);
  if (n < 0) return (int)n;
  c->buf_pos = pos;
  c->buf_len = (size_t)n;
  return 0;
}

int header_cursor_read(struct header_cursor *c, uint64_t pos, struct rb_header *h) {
  ASSERT(c != NULL && h != NULL);
  ASSERT(pos <= c->end_pos);
  if (pos == c->end_pos) return HC_END;
  if (c->end_pos - pos < RB_HEADER_BYTES) return HC_TORN;
  int rc = cursor_fill(c, pos);
  if (rc < 0) return rc;
  if (c->buf_pos + c->buf_len < pos + RB_HEADER_BYTES) return HC_TORN; /* file shorter */
  bool whole = rb_header_read(c->buf + (pos - c->buf_pos), RB_HEADER_BYTES, h);
  ASSERT(whole);
  c->large_batches = h->length > HEADER_CURSOR_BYTES / 2;
  /* A torn write can leave a length that runs past the end: report torn
   * before judging the rest, so the log says what happened. */
  if (h->length >= 0 && pos + rb_header_size(h) > c->end_pos) return HC_TORN;
  return rb_header_valid(h) ? HC_OK : HC_BAD;
}

int batch_crc_check(struct env *env, env_file file, uint64_t pos, const struct rb_header *h,
                    uint8_t *scratch, size_t scratch_bytes) {
  ASSERT(rb_header_valid(h));
  ASSERT(scratch != NULL && scratch_bytes > 0);
  uint64_t at = pos + RB_OFF_ATTRIBUTES;
  uint64_t end = pos + rb_header_size(h);
  uint32_t crc = 0;
  /* Bounded by the batch length: each pass consumes at least one byte. */
  while (at < end) {
    size_t want = end - at < scratch_bytes ? (size_t)(end - at) : scratch_bytes;
    int64_t n = env->pread(env, file, scratch, want, at);
    if (n < 0) return (int)n;
    if ((size_t)n != want) return ENV_EIO; /* the file shrank under us */
    crc = crc32c_extend(crc, scratch, want);
    at += want;
  }
  return crc == h->crc ? 1 : 0;
}
