/* Appending. The leader's path (plog_append) assigns offsets by patching
 * each batch's baseOffset and partitionLeaderEpoch (bytes 0..7 and 12..15,
 * outside the CRC-32C, which covers attributes onwards), so the bytes go to
 * disk exactly as the producer framed them. A follower's path
 * (plog_append_replica) takes the leader's batches as they are, once they
 * pass the checks recovery would make of them, follow the log end offset
 * without a gap or an overlap, and never lower the leader epoch. From there
 * both share one write: roll if due, account for each batch (end offset,
 * timestamps, index entries), write the .log and index tails, undo it all on
 * a disk error, and leave the files dirty for the next flush. */
#include "base/assert.h"
#include "log/log_internal.h"

struct append_shape {
  int32_t batch_count;
  int64_t offset_span; /* offsets the append takes: sum of lastOffsetDelta + 1 */
  int64_t max_timestamp;
  int64_t next_offset; /* replica: the base offset the next batch must have */
  int32_t epoch_min;   /* replica: the lowest leader epoch the next batch may carry */
  bool gaps_ok;        /* replica of a compacted log: offsets the leader's cleaner removed */
};

/* Judges one framed batch of an append (size bytes at p); 0 or an error. */
typedef int (*batch_check_fn)(struct append_shape *shape, const uint8_t *p, size_t size,
                              struct rb_header *h);

/* The leader's batches: whole and framed. Their base offsets are the
 * producer's, ours to replace; the producer's CRC was checked by the caller. */
static int leader_batch_check(struct append_shape *shape, const uint8_t *p, size_t size,
                              struct rb_header *h) {
  (void)shape, (void)p, (void)size;
  h->base_offset = 0;
  return rb_header_valid(h) ? 0 : ENV_EINVAL;
}

/* A follower's batches: what recovery checks of a stored batch (framing,
 * magic 2, offsets, CRC-32C), contiguous from the log end offset, and leader
 * epochs that never go down (KIP-101: the epoch cache must describe the log
 * the leader's did). */
static int replica_batch_check(struct append_shape *shape, const uint8_t *p, size_t size,
                               struct rb_header *h) {
  if (!rb_header_valid(h) || rb_check_one(p, size) != size) return PLOG_ECORRUPT;
  if (h->base_offset > shape->next_offset && !shape->gaps_ok) return PLOG_EGAP;
  /* A gap counts in the offsets the append takes (Kafka's follower accepts
   * the holes compaction leaves). */
  if (h->base_offset > shape->next_offset)
    shape->offset_span += h->base_offset - shape->next_offset;
  if (h->base_offset < shape->next_offset) return PLOG_EOVERLAP;
  if (h->leader_epoch < shape->epoch_min) return PLOG_EEPOCH;
  shape->next_offset = rb_header_last_offset(h) + 1;
  shape->epoch_min = h->leader_epoch;
  return 0;
}

/* Walks whole batches back to back, judging each with check. A partial
 * batch at the end is framing_err. */
static int append_shape(const uint8_t *batches, size_t len, batch_check_fn check,
                        int framing_err, struct append_shape *shape) {
  ASSERT(batches != NULL && len > 0);
  shape->batch_count = 0;
  shape->offset_span = 0;
  shape->max_timestamp = -1;
  size_t pos = 0;
  /* Each batch is at least RB_HEADER_BYTES long. */
  for (size_t i = 0; pos < len && i <= len / RB_HEADER_BYTES; i++) {
    struct rb_header h;
    size_t size = rb_frame(batches + pos, len - pos, &h);
    if (size == 0) return framing_err;
    int rc = check(shape, batches + pos, size, &h);
    if (rc != 0) return rc;
    shape->batch_count++;
#ifdef SLUICE_MUTANT_PRODUCE_SPAN_OFF_BY_ONE /* mutant: one record short per batch */
    shape->offset_span += (int64_t)h.last_offset_delta;
#else
    shape->offset_span += (int64_t)h.last_offset_delta + 1;
#endif
    if (h.max_timestamp > shape->max_timestamp) shape->max_timestamp = h.max_timestamp;
    pos += size;
  }
  ASSERT(pos == len && shape->batch_count > 0);
  return 0;
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

/* The leader's offsets and epoch, patched into each batch in place. */
static void stamp_batches(uint8_t *batches, size_t len, int64_t base_offset,
                          int32_t leader_epoch) {
  size_t at = 0;
  int64_t offset = base_offset;
  for (size_t i = 0; at < len && i <= len / RB_HEADER_BYTES; i++) {
    struct rb_header h;
    size_t size = rb_frame(batches + at, len - at, &h);
    ASSERT(size > 0);
    rb_patch(batches + at, offset, leader_epoch);
    offset += (int64_t)h.last_offset_delta + 1;
    at += size;
  }
  ASSERT(at == len);
}

/* Accounts for each batch in memory: end offset, timestamps, index entries. */
static void note_batches(struct plog *log, struct segment *s, const uint8_t *batches,
                         size_t len) {
  uint64_t pos = s->size_bytes;
  size_t at = 0;
  for (size_t i = 0; at < len && i <= len / RB_HEADER_BYTES; i++) {
    struct rb_header h;
    bool whole = rb_header_read(batches + at, len - at, &h);
    ASSERT(whole && rb_header_valid(&h));
    ASSERT(h.base_offset >= s->next_offset); /* above it only after a compacted gap */
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

/* Kafka refuses an append that could never fit one segment, from a
 * producer or from the leader (a follower asks for at most segment.bytes). */
static bool append_fits(const struct plog *log, size_t len, const struct append_shape *shape) {
  return len <= (uint64_t)log->cfg.segment_bytes && shape->offset_span <= INT32_MAX;
}

/* What both appends share once the batches carry their final offsets: roll
 * if due, account, write, and undo it all on a disk error. */
static int append_write(struct plog *log, const uint8_t *batches, size_t len,
                        const struct append_shape *shape, int64_t now_ms) {
  ASSERT(append_fits(log, len, shape));
  int rc = maybe_roll(log, len, shape, now_ms);
  if (rc != 0) return rc;
  struct segment *s = plog_active(log);
  rc = segment_files_open(log->env, s); /* before anything needs undoing */
  if (rc != 0) return rc;
  struct segment_mark mark;
  segment_mark(s, &mark);
  int64_t base_offset = s->next_offset;
  note_batches(log, s, batches, len);
  rc = write_segment(log->env, s, &mark, batches, len);
  if (rc != 0) {
    int undo = segment_rollback(log->env, s, &mark);
    env_log(log->env, ENV_LOG_ERROR, "%s: append at offset %lld failed: error %d%s", log->dir,
            (long long)base_offset, rc, undo ? " (and could not undo it)" : "");
    return rc;
  }
  ASSERT(s->next_offset == base_offset + shape->offset_span);
  plog_producers_note(log, batches, len);
  return 0;
}

static void append_info(const struct plog *log, const struct append_shape *shape,
                        int64_t now_ms, struct plog_append_info *info) {
  info->last_offset = plog_end_offset(log) - 1;
  info->base_offset = info->last_offset + 1 - shape->offset_span;
  info->max_timestamp = shape->max_timestamp;
  info->append_time_ms = now_ms;
}

int plog_append(struct plog *log, uint8_t *batches, size_t len, int32_t leader_epoch,
                int64_t now_ms, struct plog_append_info *info) {
  ASSERT(log != NULL && info != NULL);
  struct append_shape shape;
  if (batches == NULL || len == 0 ||
      append_shape(batches, len, leader_batch_check, ENV_EINVAL, &shape) != 0)
    return ENV_EINVAL;
  if (!append_fits(log, len, &shape)) return ENV_EINVAL;
  if (log->offline) return ENV_EIO;           /* nothing appended can be made durable */
  int64_t base_offset = plog_end_offset(log); /* a roll keeps the end offset */
  stamp_batches(batches, len, base_offset, leader_epoch);
  int rc = append_write(log, batches, len, &shape, now_ms);
  if (rc != 0) return rc;
  if (leader_epoch >= 0 && epoch_cache_assign(&log->epochs, leader_epoch, base_offset))
    plog_epochs_store(log);
  append_info(log, &shape, now_ms, info);
  ASSERT(info->base_offset == base_offset);
  return 0;
}

/* Each epoch the batches bring that is newer than the cache's latest starts
 * at that batch's base offset (Kafka's follower does the same per batch). */
static void replica_note_epochs(struct plog *log, const uint8_t *batches, size_t len) {
  bool changed = false;
  size_t at = 0;
  for (size_t i = 0; at < len && i <= len / RB_HEADER_BYTES; i++) {
    struct rb_header h;
    size_t size = rb_frame(batches + at, len - at, &h);
    ASSERT(size > 0);
    if (h.leader_epoch >= 0 && h.leader_epoch > epoch_cache_latest(&log->epochs))
      changed |= epoch_cache_assign(&log->epochs, h.leader_epoch, h.base_offset);
    at += size;
  }
  if (changed) plog_epochs_store(log);
}

int plog_append_replica(struct plog *log, const uint8_t *batches, size_t len, int64_t now_ms,
                        struct plog_append_info *info) {
  ASSERT(log != NULL && info != NULL);
  int64_t end_before = plog_end_offset(log);
  if (batches == NULL || len == 0) return ENV_EINVAL;
  struct append_shape shape = {.next_offset = end_before,
                               .epoch_min = plog_latest_epoch(log),
                               .gaps_ok = log->compacted};
  int rc = append_shape(batches, len, replica_batch_check, PLOG_ECORRUPT, &shape);
  if (rc == 0 && !append_fits(log, len, &shape)) rc = ENV_EINVAL;
  if (rc == 0 && log->offline) rc = ENV_EIO;
  if (rc == 0) rc = append_write(log, batches, len, &shape, now_ms);
  if (rc != 0) {
    ASSERT(plog_end_offset(log) == end_before); /* nothing of a refused call */
    return rc;
  }
  replica_note_epochs(log, batches, len);
  append_info(log, &shape, now_ms, info);
  ASSERT(info->base_offset == end_before && info->last_offset + 1 == shape.next_offset);
  ASSERT(plog_latest_epoch(log) >= shape.epoch_min);
  return 0;
}
