/* Appending produced batches: offsets are assigned by patching each batch's
 * baseOffset and partitionLeaderEpoch (bytes 0..7 and 12..15, outside the
 * CRC-32C, which covers attributes onwards), so the bytes go to disk exactly
 * as the producer framed them. */
#include <string.h>

#include "base/assert.h"
#include "base/endian.h"
#include "log/log_internal.h"

struct append_shape {
  int32_t batch_count;
  int64_t offset_span; /* offsets the append takes: sum of lastOffsetDelta + 1 */
  int64_t max_timestamp;
};

/* The buffer must be whole magic-2 batches, back to back. */
static int append_shape(const uint8_t *batches, size_t len, struct append_shape *shape) {
  memset(shape, 0, sizeof *shape);
  shape->max_timestamp = -1;
  size_t pos = 0;
  /* Each batch is at least RB_HEADER_BYTES long. */
  for (size_t i = 0; pos < len && i <= len / RB_HEADER_BYTES; i++) {
    struct rb_header h;
    size_t size = rb_frame(batches + pos, len - pos, &h);
    h.base_offset = 0; /* the producer's value is ours to replace */
    if (size == 0 || !rb_header_valid(&h)) return ENV_EINVAL;
    shape->batch_count++;
    shape->offset_span += (int64_t)h.last_offset_delta + 1;
    if (h.max_timestamp > shape->max_timestamp) shape->max_timestamp = h.max_timestamp;
    pos += size;
  }
  ASSERT(pos <= len);
  return pos == len && shape->batch_count > 0 ? 0 : ENV_EINVAL;
}

/* segment.ms: measured from the first batch's timestamp when there is one
 * (Kafka's rollingBasedTimestamp, compared with the incoming batches'),
 * else from when the segment was created. */
static bool roll_time_due(const struct plog *log, const struct segment *s,
                          int64_t incoming_max_timestamp, int64_t now_ms) {
  if (log->cfg.roll_ms < 0 || s->size_bytes == 0) return false;
  int64_t waited_ms = s->first_batch_timestamp >= 0
                          ? incoming_max_timestamp - s->first_batch_timestamp
                          : now_ms - s->created_ms;
  return waited_ms > log->cfg.roll_ms;
}

static int maybe_roll(struct plog *log, size_t len, const struct append_shape *shape,
                      int64_t now_ms) {
  struct segment *s = plog_active(log);
  if (s->size_bytes == 0) return 0;
  int64_t last_offset = s->next_offset + shape->offset_span - 1;
  bool due = s->size_bytes + len > (uint64_t)log->cfg.segment_bytes || index_full(&s->oindex) ||
             index_full(&s->tindex) || last_offset - s->base_offset > INT32_MAX ||
             roll_time_due(log, s, shape->max_timestamp, now_ms);
  return due ? plog_roll(log, now_ms) : 0;
}

/* Patches offsets and epochs and accounts for each batch in memory. */
static void assign_offsets(struct plog *log, struct segment *s, uint8_t *batches, size_t len,
                           int32_t leader_epoch) {
  uint64_t pos = s->size_bytes;
  size_t at = 0;
  for (size_t i = 0; at < len && i <= len / RB_HEADER_BYTES; i++) {
    be64_put(batches + at + RB_OFF_BASE_OFFSET, (uint64_t)s->next_offset);
    be32_put(batches + at + RB_OFF_LEADER_EPOCH, (uint32_t)leader_epoch);
    struct rb_header h;
    bool whole = rb_header_read(batches + at, len - at, &h);
    ASSERT(whole && rb_header_valid(&h));
    segment_note_batch(s, log->cfg.index_interval_bytes, &h, pos);
    pos += rb_header_size(&h);
    at += rb_header_size(&h);
  }
  ASSERT(at == len);
}

static int write_segment(struct env *env, struct segment *s, const struct segment_mark *m,
                         const uint8_t *batches, size_t len) {
  s->log_dirty = true;
  int64_t n = env->pwrite(env, s->log_file, batches, len, m->size_bytes);
  if (n != (int64_t)len) return n < 0 ? (int)n : ENV_EIO;
  int rc = index_write_from(env, &s->oindex, m->oindex_count);
  if (rc == 0) rc = index_write_from(env, &s->tindex, m->tindex_count);
  return rc;
}

int plog_append(struct plog *log, uint8_t *batches, size_t len, int32_t leader_epoch,
                int64_t now_ms, struct plog_append_info *info) {
  ASSERT(log != NULL && info != NULL);
  struct append_shape shape;
  if (batches == NULL || len == 0 || append_shape(batches, len, &shape) != 0) return ENV_EINVAL;
  /* Kafka refuses an append that could never fit one segment. */
  if (len > (uint64_t)log->cfg.segment_bytes || shape.offset_span > INT32_MAX)
    return ENV_EINVAL;
  int rc = maybe_roll(log, len, &shape, now_ms);
  if (rc != 0) return rc;
  struct segment *s = plog_active(log);
  struct segment_mark mark;
  segment_mark(s, &mark);
  int64_t base_offset = s->next_offset;
  assign_offsets(log, s, batches, len, leader_epoch);
  rc = write_segment(log->env, s, &mark, batches, len);
  if (rc != 0) {
    int undo = segment_rollback(log->env, s, &mark);
    env_log(log->env, ENV_LOG_ERROR, "%s: append at offset %lld failed: error %d%s", log->dir,
            (long long)base_offset, rc, undo ? " (and could not undo it)" : "");
    return rc;
  }
  ASSERT(s->next_offset == base_offset + shape.offset_span);
  if (leader_epoch >= 0 && epoch_cache_assign(&log->epochs, leader_epoch, base_offset))
    plog_epochs_store(log);
  info->base_offset = base_offset;
  info->last_offset = s->next_offset - 1;
  info->max_timestamp = shape.max_timestamp;
  info->append_time_ms = now_ms;
  return 0;
}
