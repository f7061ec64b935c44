/* Truncation for replication (KIP-101, KIP-279): a follower cuts its log
 * back to where it agrees with the leader. Whole batches only: a cut inside
 * a batch removes that batch too. */
#include "base/assert.h"
#include "log/log_internal.h"

/* Segments past `keep` go (unlinked now, closed at the next maintain). */
static void drop_after(struct plog *log, int32_t keep) {
  ASSERT(keep >= 1 && keep <= log->seg_count);
  /* Newest first, so the survivors stay a prefix. */
  while (log->seg_count > keep) plog_retire(log, log->segs[--log->seg_count]);
}

/* Below the first segment: the log starts over, empty, at offset. */
static int truncate_fully(struct plog *log, int64_t offset) {
  struct segment *s;
  int rc =
      segment_create(log->env, log->dir, offset, &log->cfg, log->env->wall_ms(log->env), &s);
  if (rc != 0) return rc;
  while (log->seg_count > 0) plog_retire(log, log->segs[--log->seg_count]);
  plog_segments_push(log, s);
  log->start_offset = offset;
  log->dir_dirty = true;
  return 0;
}

static int truncate_inside(struct plog *log, int64_t offset) {
  int32_t i = plog_segment_floor(log, offset);
  ASSERT(i >= 0 && i < log->seg_count);
  drop_after(log, i + 1);
  struct segment *s = plog_active(log);
  if (offset >= s->next_offset) return 0;
  struct header_cursor c;
  struct rb_header h;
  uint64_t pos;
  int rc = segment_seek(log->env, s, offset, &c, &pos, &h);
  if (rc != HC_OK) return rc < 0 ? rc : ENV_EIO;
  return segment_truncate(log->env, s, pos, h.base_offset, log->cfg.index_interval_bytes);
}

int plog_truncate_to(struct plog *log, int64_t offset, int64_t *end_offset_out) {
  ASSERT(log != NULL && end_offset_out != NULL);
  *end_offset_out = plog_end_offset(log);
  if (offset < 0) return ENV_EINVAL;
  if (offset >= plog_end_offset(log)) return 0;
  int rc = offset < log->segs[0]->base_offset ? truncate_fully(log, offset)
                                              : truncate_inside(log, offset);
  int64_t end = plog_end_offset(log);
  *end_offset_out = end;
  if (rc != 0) {
    env_log(log->env, ENV_LOG_ERROR, "%s: truncation to %lld failed: error %d", log->dir,
            (long long)offset, rc);
    return rc;
  }
  ASSERT(end <= offset);
  if (log->start_offset > end) log->start_offset = end;
  if (log->recovery_point > end) log->recovery_point = end;
  plog_flush_truncated(log, end);
  if (epoch_cache_truncate_from_end(&log->epochs, end)) plog_epochs_store(log);
  env_log(log->env, ENV_LOG_INFO, "%s: truncated to offset %lld", log->dir, (long long)end);
  return 0;
}
