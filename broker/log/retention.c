/* Retention (Kafka's deleteOldSegments): whole segments go, oldest first,
 * while they are older than retention.ms (by their largest timestamp), while
 * the log without them would still hold retention.bytes, or while the log
 * start offset (DeleteRecords) lies past them; by time and size only as far
 * as the high watermark (Kafka's deletableSegments: a segment goes once the
 * next one starts at or below it), so the log start never passes what
 * consumers may read. Deleting advances the start offset. Deleted segments are unlinked at once
 * but closed only at the next plog_maintain, so a fetch response already pointing into one can
 * still be sent (Kafka defers the delete by file.delete.delay.ms for the same reason). */
#include "base/assert.h"
#include "log/log_internal.h"

void plog_retire(struct plog *log, struct segment *s) {
  ASSERT(!s->retired);
  int rc = segment_unlink(log->env, log->dir, s);
  if (rc != 0)
    env_log(log->env, ENV_LOG_WARN, "%s: could not remove segment %020lld: error %d", log->dir,
            (long long)s->base_offset, rc);
  s->retired = true;
  log->retire_gen++;
  s->next_retired = log->retired;
  log->retired = s;
  log->dir_dirty = true;
}

void plog_retired_close(struct plog *log) {
  for (int32_t i = 0; i < log->replaced_count; i++)
    log->env->file_close(log->env, log->replaced_files[i]);
  log->replaced_count = 0;
  struct segment *s = log->retired;
  log->retired = NULL;
  /* The list only holds segments this log retired: bounded by them. */
  while (s) {
    struct segment *next = s->next_retired;
    plog_segment_release(log, s);
    s = next;
  }
}

static void advance_start(struct plog *log, int64_t offset) {
  ASSERT(offset <= plog_end_offset(log));
  if (offset <= log->start_offset) return;
  log->start_offset = offset;
  if (epoch_cache_truncate_from_start(&log->epochs, offset)) plog_epochs_store(log);
}

int plog_delete_oldest(struct plog *log, int32_t n, int64_t now_ms) {
  ASSERT(n >= 0 && n <= log->seg_count);
  if (n == 0) return 0;
  if (n == log->seg_count) {
    /* Everything is expired: an empty active segment takes over (Kafka rolls
     * before deleting the last segment). */
#ifdef SLUICE_MUTANT_RETENTION_DELETES_ACTIVE /* mutant: all deleted, no roll first */
    (void)now_ms;
#else
    int rc = plog_roll(log, now_ms);
    if (rc != 0 || n == log->seg_count) n = log->seg_count - 1;
    if (n == 0) return 0;
#endif
  }
  for (int32_t i = 0; i < n; i++) {
    env_log(log->env, ENV_LOG_INFO, "%s: deleting segment %020lld (retention)", log->dir,
            (long long)log->segs[i]->base_offset);
    plog_retire(log, log->segs[i]);
  }
  for (int32_t i = n; i < log->seg_count; i++) log->segs[i - n] = log->segs[i];
  log->seg_count -= n;
  ASSERT(log->seg_count > 0);
  advance_start(log, log->segs[0]->base_offset);
  plog_producers_start_moved(log);
  return n;
}

/* An empty active segment is never deleted: nothing would replace it. */
static bool last_and_empty(const struct plog *log, int32_t i) {
  return i == log->seg_count - 1 && log->segs[i]->size_bytes == 0;
}

static int32_t expired_by_time(const struct plog *log, int64_t now_ms) {
  if (log->cfg.retention_ms < 0) return 0;
  int32_t n = 0;
  while (n < log->seg_count && !last_and_empty(log, n)) {
    const struct segment *s = log->segs[n];
    int64_t largest_ms = s->max_timestamp >= 0 ? s->max_timestamp : s->created_ms;
    if (now_ms - largest_ms <= log->cfg.retention_ms) break;
    n++;
  }
  ASSERT(n <= log->seg_count);
  return n;
}

static int32_t expired_by_size(const struct plog *log) {
  if (log->cfg.retention_bytes < 0) return 0;
  uint64_t size = plog_size_bytes(log);
  if (size < (uint64_t)log->cfg.retention_bytes) return 0;
  /* Kafka: delete a segment only if the log stays at or above the limit
   * without it. */
  int64_t excess = (int64_t)size - log->cfg.retention_bytes;
  int32_t n = 0;
  while (n < log->seg_count && !last_and_empty(log, n)) {
    int64_t seg_bytes = (int64_t)log->segs[n]->size_bytes;
    if (excess - seg_bytes < 0) break;
    excess -= seg_bytes;
    n++;
  }
  return n;
}

static int32_t below_start(const struct plog *log) {
  int32_t n = 0;
#ifdef SLUICE_MUTANT_RETENTION_BELOW_START /* mutant: the start offset's segment goes */
  while (n + 1 < log->seg_count && log->segs[n]->base_offset <= log->start_offset) n++;
#else
  while (n + 1 < log->seg_count && log->segs[n + 1]->base_offset <= log->start_offset) n++;
#endif
  return n;
}

/* Of the n oldest segments, those whose deletion keeps the log start at or
 * below the high watermark. */
static int32_t below_high_watermark(const struct plog *log, int32_t n, int64_t high_watermark) {
  while (n > 0) {
    int64_t start = n < log->seg_count ? log->segs[n]->base_offset : plog_end_offset(log);
    if (start <= high_watermark) break;
    n--;
  }
  return n;
}

static bool roll_due(const struct plog *log, int64_t now_ms) {
  const struct segment *s = plog_active(log);
  if (log->cfg.roll_ms < 0 || s->size_bytes == 0) return false;
  int64_t since_ms = s->first_batch_timestamp >= 0 ? s->first_batch_timestamp : s->created_ms;
  return now_ms - since_ms > log->cfg.roll_ms;
}

int plog_maintain(struct plog *log, int64_t now_ms) {
  return plog_maintain_below(log, now_ms, INT64_MAX);
}

int plog_maintain_below(struct plog *log, int64_t now_ms, int64_t high_watermark) {
  ASSERT(log != NULL && log->seg_count > 0);
  /* Segments deleted before this call have had a whole interval for the
   * sends that referenced them. */
  plog_retired_close(log);
  if (log->offline) return 0; /* nothing changes until a restart recovers it */
  if (roll_due(log, now_ms)) plog_roll(log, now_ms);
  int deleted = plog_delete_oldest(
      log, below_high_watermark(log, expired_by_time(log, now_ms), high_watermark), now_ms);
  deleted += plog_delete_oldest(
      log, below_high_watermark(log, expired_by_size(log), high_watermark), now_ms);
  deleted += plog_delete_oldest(log, below_start(log), now_ms);
  ASSERT(deleted >= 0);
  return deleted;
}

int plog_set_start_offset(struct plog *log, int64_t offset) {
  ASSERT(log != NULL);
  if (offset > plog_end_offset(log)) return -1;
  if (offset <= log->start_offset) return 0;
  advance_start(log, offset);
  /* Never every segment (the active one is never below the start), so
   * never a roll: the clock is not needed. */
  int deleted = plog_delete_oldest(log, below_start(log), 0);
  env_log(log->env, ENV_LOG_INFO, "%s: log start offset now %lld (%d segments deleted)",
          log->dir, (long long)offset, deleted);
  return 0;
}
