/* Reading: Fetch gets a file range of whole batches inside one segment (the
 * world sends it with sendfile); ListOffsets finds batches by timestamp.
 * Positions come from the sparse offset index, then batch headers are read
 * forward from there. */
#include "base/assert.h"
#include "log/log_internal.h"
#include "log/segment_cache.h"

static void read_result_empty(const struct plog *log, int64_t offset,
                              struct plog_read_result *out) {
  const struct segment *s = plog_active(log);
  out->file = s->log_file;
  out->file_offset = s->size_bytes;
  out->len = 0;
  out->first_offset = offset;
  out->pinned = false;
}

/* A damaged header in data that was validated or trusted on open. */
static int damaged(const struct plog *log, const struct segment *s, int rc) {
  if (rc < 0) return rc;
  env_log(log->env, ENV_LOG_ERROR, "%s: segment %020lld has a damaged batch header", log->dir,
          (long long)s->base_offset);
  return ENV_EIO;
}

/* The segment and position of the batch holding offset; HC_END if none does
 * (offset past the end). */
static int locate(const struct plog *log, int64_t offset, struct header_cursor *c,
                  int32_t *seg_out, uint64_t *pos_out, struct rb_header *h) {
  for (int32_t i = plog_segment_floor(log, offset); i < log->seg_count; i++) {
    int rc = segment_seek(log->env, log->segs[i], offset, c, pos_out, h);
    if (rc == HC_OK) *seg_out = i;
    if (rc != HC_END) return rc == HC_OK ? HC_OK : damaged(log, log->segs[i], rc);
  }
  return HC_END;
}

/* Whole batches from pos while they fit bytes_max and lie below max_offset;
 * the first one alone even if larger when min_one_batch (KIP-74). */
static size_t take_batches(struct header_cursor *c, uint64_t pos, struct rb_header *h,
                           size_t bytes_max, bool min_one_batch, int64_t max_offset) {
  size_t total = 0;
  for (uint64_t n = 0; n <= c->end_pos / RB_HEADER_BYTES; n++) {
    if (rb_header_last_offset(h) >= max_offset) break;
    uint64_t size = rb_header_size(h);
    if (total + size > bytes_max) {
      if (total == 0 && min_one_batch) total = (size_t)size;
      break;
    }
    total += (size_t)size;
    if (header_cursor_read(c, pos + total, h) != HC_OK) break;
  }
  return total;
}

/* An empty batch without a producer: what the cleaner leaves at the end of
 * a segment whose records all went, to keep its end offset (cleaner.h). */
static bool placeholder(const struct rb_header *h) {
  return h->record_count == 0 && h->producer_id < 0 && !(h->attributes & RB_ATTR_CONTROL);
}

/* Steps over the cleaner's placeholders to the next batch with records (in
 * a later segment if need be), below max_offset: many clients take a fetch
 * that holds only empty batches for a batch too large to fetch. A
 * placeholder with nothing readable after it is served, so a reader can
 * still move past it. */
static void skip_placeholders(const struct plog *log, struct header_cursor *c, int32_t *seg,
                              uint64_t *pos, struct rb_header *h, int64_t max_offset) {
  for (int32_t n = 0; placeholder(h) && n < PLOG_SEGMENTS_MAX; n++) {
    struct header_cursor next_c = *c;
    struct rb_header next;
    int32_t i = *seg;
    uint64_t at = *pos + rb_header_size(h);
    int rc = header_cursor_read(&next_c, at, &next);
    if (rc == HC_END && i + 1 < log->seg_count) {
      i++;
      at = 0;
      if (segment_files_open(log->env, log->segs[i]) != 0) return; /* served as it is */
      header_cursor_init(&next_c, log->env, log->segs[i]->log_file, log->segs[i]->size_bytes);
      rc = header_cursor_read(&next_c, at, &next);
    }
    if (rc != HC_OK || rb_header_last_offset(&next) >= max_offset) return;
    *c = next_c;
    *seg = i;
    *pos = at;
    *h = next;
  }
}

int plog_read(struct plog *log, int64_t offset, size_t bytes_max, bool min_one_batch,
              int64_t max_offset, struct plog_read_result *out) {
  ASSERT(log != NULL && out != NULL);
  if (offset < log->start_offset || offset > plog_end_offset(log)) return -1;
  read_result_empty(log, offset, out);
  if (offset == plog_end_offset(log) || offset >= max_offset) return 0;
  struct header_cursor c;
  struct rb_header h;
  int32_t i = 0;
  uint64_t pos = 0;
  int rc = locate(log, offset, &c, &i, &pos, &h);
  if (rc == HC_END) return 0;
  if (rc != HC_OK) return rc;
  ASSERT(rb_header_last_offset(&h) >= offset);
  skip_placeholders(log, &c, &i, &pos, &h, max_offset);
  out->file = log->segs[i]->log_file;
  out->file_offset = pos;
  out->first_offset = h.base_offset;
  out->len = take_batches(&c, pos, &h, bytes_max, min_one_batch, max_offset);
  out->pinned = segment_lend(log->segs[i], out->file_offset + out->len);
  /* first_offset lies past offset only in a compacted log, whose cleaner
   * removed the batches in between: the next batch above is the answer
   * (Kafka). Anywhere else the index led the read astray. */
  ASSERT(out->len == 0 || out->first_offset <= offset || log->compacted);
  return 0;
}

static void batch_result(struct segment *s, uint64_t pos, const struct rb_header *h,
                         struct plog_read_result *out) {
  out->file = s->log_file;
  out->file_offset = pos;
  out->len = (size_t)rb_header_size(h);
  out->first_offset = h->base_offset;
  out->pinned = segment_lend(s, pos + out->len);
}

void plog_read_unpin(struct plog *log, const struct plog_read_result *r) {
  ASSERT(log != NULL && r != NULL);
  if (!r->pinned || !log->cfg.cache) return;
  for (int32_t i = 0; i < log->seg_count; i++) {
    struct segment *s = log->segs[i];
    if (s->log_file != r->file) continue;
    s->lent_turn = UINT64_MAX;
    seg_cache_turn_trim(log->cfg.cache);
    return;
  }
}

bool plog_files_pressed(const struct plog *log) {
  const struct seg_cache *c = log->cfg.cache;
  return c != NULL && c->open_count >= c->limit_now;
}

/* Within one segment: batches before the time index entry at or below ts
 * all have smaller timestamps (entries record the first batch to reach each
 * new maximum), so the scan starts at that entry's batch. */
static int find_in_segment(const struct plog *log, struct segment *s, int64_t ts,
                           struct plog_read_result *out) {
  int64_t from = s->base_offset > log->start_offset ? s->base_offset : log->start_offset;
  int32_t j = tindex_floor(&s->tindex, ts);
  if (j >= 0) {
    int64_t entry_ts;
    int32_t rel;
    tindex_get(&s->tindex, j, &entry_ts, &rel);
    if (s->base_offset + rel > from) from = s->base_offset + rel;
  }
  struct header_cursor c;
  struct rb_header h;
  uint64_t pos = 0;
  int rc = segment_seek(log->env, s, from, &c, &pos, &h);
  for (uint64_t n = 0; rc == HC_OK && n <= s->size_bytes / RB_HEADER_BYTES; n++) {
    if (h.max_timestamp >= ts) {
      batch_result(s, pos, &h, out);
      return HC_OK;
    }
    pos += rb_header_size(&h);
    rc = header_cursor_read(&c, pos, &h);
  }
  return rc == HC_END ? HC_END : damaged(log, s, rc);
}

int plog_find_batch_by_timestamp(struct plog *log, int64_t ts, struct plog_read_result *out) {
  ASSERT(log != NULL && out != NULL);
  for (int32_t i = 0; i < log->seg_count; i++) {
    struct segment *s = log->segs[i];
    if (s->max_timestamp < ts || s->next_offset <= log->start_offset) continue;
    int rc = find_in_segment(log, s, ts, out);
    if (rc == HC_OK) return 0;
    if (rc < 0) return rc;
  }
  return -1;
}

void plog_max_timestamp(const struct plog *log, int64_t *ts_out, int64_t *offset_out) {
  ASSERT(ts_out != NULL && offset_out != NULL);
  *ts_out = -1;
  *offset_out = -1;
  for (int32_t i = 0; i < log->seg_count; i++) {
    const struct segment *s = log->segs[i];
    if (s->max_timestamp > *ts_out) {
      *ts_out = s->max_timestamp;
      *offset_out = s->max_timestamp_offset;
    }
  }
}
