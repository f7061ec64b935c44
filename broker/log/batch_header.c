#include "log/batch_header.h"

#include <string.h>

#include "base/assert.h"
#include "base/crc32c.h"
#include "base/endian.h"

void batch_header_parse(const uint8_t *p, struct batch_header *h) {
  ASSERT(p != NULL && h != NULL);
  h->base_offset = (int64_t)be64_get(p + RB_OFF_BASE_OFFSET);
  h->batch_length = (int32_t)be32_get(p + RB_OFF_LENGTH);
  h->leader_epoch = (int32_t)be32_get(p + RB_OFF_LEADER_EPOCH);
  h->magic = (int8_t)p[RB_OFF_MAGIC];
  h->crc = be32_get(p + RB_OFF_CRC);
  h->attributes = (int16_t)(p[RB_OFF_ATTRIBUTES] << 8 | p[RB_OFF_ATTRIBUTES + 1]);
  h->last_offset_delta = (int32_t)be32_get(p + RB_OFF_LAST_OFFSET_DELTA);
  h->base_timestamp = (int64_t)be64_get(p + RB_OFF_BASE_TIMESTAMP);
  h->max_timestamp = (int64_t)be64_get(p + RB_OFF_MAX_TIMESTAMP);
  h->record_count = (int32_t)be32_get(p + RB_OFF_RECORD_COUNT);
}

bool batch_header_valid(const struct batch_header *h) {
  ASSERT(h != NULL);
  if (h->magic != 2) return false;
  if (h->batch_length < RB_HEADER_BYTES - RB_LOG_OVERHEAD) return false;
  if (h->base_offset < 0 || h->last_offset_delta < 0) return false;
  return h->base_offset <= INT64_MAX - 1 - h->last_offset_delta;
}

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

int header_cursor_read(struct header_cursor *c, uint64_t pos, struct batch_header *h) {
  ASSERT(c != NULL && h != NULL);
  ASSERT(pos <= c->end_pos);
  if (pos == c->end_pos) return HC_END;
  if (c->end_pos - pos < RB_HEADER_BYTES) return HC_TORN;
  int rc = cursor_fill(c, pos);
  if (rc < 0) return rc;
  if (c->buf_pos + c->buf_len < pos + RB_HEADER_BYTES) return HC_TORN; /* file shorter */
  batch_header_parse(c->buf + (pos - c->buf_pos), h);
  c->large_batches = h->batch_length > HEADER_CURSOR_BYTES / 2;
  /* A torn write can leave a length that runs past the end: report torn
   * before judging the rest, so the log says what happened. */
  if (h->batch_length >= 0 && pos + batch_header_size(h) > c->end_pos) return HC_TORN;
  return batch_header_valid(h) ? HC_OK : HC_BAD;
}

int batch_crc_check(struct env *env, env_file file, uint64_t pos, const struct batch_header *h,
                    uint8_t *scratch, size_t scratch_bytes) {
  ASSERT(batch_header_valid(h));
  ASSERT(scratch != NULL && scratch_bytes > 0);
  uint64_t at = pos + RB_OFF_ATTRIBUTES;
  uint64_t end = pos + batch_header_size(h);
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
