/* Opening a partition log: find the segments, trust those wholly below the
 * recovery point (load their indexes, rebuild them if missing or
 * inconsistent), and re-validate every batch from the segment that holds the
 * recovery point on (Kafka's LogLoader): the first torn or corrupt batch and
 * everything after it are cut off, because a crash can leave any unsynced
 * tail half written, and nothing past a hole can be trusted to be in order. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "log/cleaner.h"
#include "log/log_internal.h"

enum { RECOVERY_SCRATCH_BYTES = 64 * 1024, SEGMENT_SUSPECT = 1 };

static const char EPOCH_FILE[] = "leader-epoch-checkpoint";

struct listing {
  int64_t *logs; /* base offsets of the .log files */
  int32_t log_count;
  int32_t log_cap;
  int64_t *indexes; /* base offsets of .index/.timeindex files (with suffix kind) */
  bool *index_is_time;
  int32_t index_count;
  int32_t index_cap;
  int64_t *cuts; /* markers of pending cuts (truncate.c): base, cut offset, ... */
  int32_t cut_count;
  int32_t cut_cap;
  int64_t *copies; /* base offsets of copies a truncation never finished */
  int32_t copy_count;
  int32_t copy_cap;
  bool epoch_tmp;
  bool flush_failed; /* PLOG_FLUSH_FAILED_FILE: a flush failed before */
};

/* Exactly SEGMENT_NAME_DIGITS digits at p. */
static bool parse_digits(const char *p, int64_t *out) {
  char digits[SEGMENT_NAME_DIGITS + 1];
  for (int i = 0; i < SEGMENT_NAME_DIGITS; i++) {
    if (p[i] < '0' || p[i] > '9') return false;
    digits[i] = p[i];
  }
  digits[SEGMENT_NAME_DIGITS] = 0;
  return str_to_i64(digits, out) && *out >= 0;
}

/* "<20 digits><suffix>" exactly. */
static bool parse_segment_name(const char *name, const char *suffix, int64_t *base) {
  ASSERT(name != NULL && suffix != NULL);
  size_t slen = strlen(suffix);
  if (strlen(name) != SEGMENT_NAME_DIGITS + slen || strcmp(name + SEGMENT_NAME_DIGITS, suffix))
    return false;
  return parse_digits(name, base);
}

/* A pending cut's marker: "<20 digits>.log.<20 digits>.truncating". */
static bool parse_cut_name(const char *name, int64_t *base, int64_t *cut) {
  static const char middle[] = ".log.", tail[] = ".truncating";
  size_t d = SEGMENT_NAME_DIGITS, m = sizeof middle - 1;
  if (strlen(name) != 2 * d + m + sizeof tail - 1) return false;
  if (strncmp(name + d, middle, m) != 0 || strcmp(name + 2 * d + m, tail) != 0) return false;
  return parse_digits(name, base) && parse_digits(name + d + m, cut) && *cut >= *base;
}

static void push_i64(int64_t **arr, int32_t *count, int32_t *cap, int64_t v) {
  ASSERT(*count < PLOG_SEGMENTS_MAX * 2);
  if (*count == *cap) {
    int32_t n = *cap ? *cap * 2 : 16;
    int64_t *a = realloc(*arr, (size_t)n * sizeof *a);
    ASSERT(a != NULL);
    *arr = a;
    *cap = n;
  }
  (*arr)[(*count)++] = v;
}

static void list_entry(void *ctx, const char *name, bool is_dir) {
  struct listing *l = ctx;
  int64_t base;
  if (is_dir) return;
  if (strcmp(name, "leader-epoch-checkpoint.tmp") == 0) l->epoch_tmp = true;
  if (strcmp(name, PLOG_FLUSH_FAILED_FILE) == 0) l->flush_failed = true;
  if (l->log_count >= PLOG_SEGMENTS_MAX || l->index_count >= PLOG_SEGMENTS_MAX * 2) return;
  if (l->cut_count >= PLOG_SEGMENTS_MAX || l->copy_count >= PLOG_SEGMENTS_MAX) return;
  int64_t cut;
  if (parse_segment_name(name, ".log", &base)) {
    push_i64(&l->logs, &l->log_count, &l->log_cap, base);
    return;
  }
  if (parse_cut_name(name, &base, &cut)) {
    push_i64(&l->cuts, &l->cut_count, &l->cut_cap, base);
    push_i64(&l->cuts, &l->cut_count, &l->cut_cap, cut);
    return;
  }
  if (parse_segment_name(name, ".log.copying", &base)) {
    push_i64(&l->copies, &l->copy_count, &l->copy_cap, base);
    return;
  }
  bool is_time = parse_segment_name(name, ".timeindex", &base);
  if (!is_time && !parse_segment_name(name, ".index", &base)) return;
  int32_t cap = l->index_cap;
  push_i64(&l->indexes, &l->index_count, &l->index_cap, base);
  if (cap != l->index_cap) {
    l->index_is_time = realloc(l->index_is_time, (size_t)l->index_cap * sizeof(bool));
    ASSERT(l->index_is_time != NULL);
  }
  l->index_is_time[l->index_count - 1] = is_time;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static void listing_free(struct listing *l) {
  free(l->logs);
  free(l->indexes);
  free(l->index_is_time);
  free(l->cuts);
  free(l->copies);
}

static bool listing_has_log(const struct listing *l, int64_t base) {
  return l->log_count > 0 &&
         bsearch(&base, l->logs, (size_t)l->log_count, sizeof base, cmp_i64);
}

/* The lowest pending cut of the segment at base, or -1: the one recovery
 * makes (truncate.c keeps it the lowest, and a crash may leave two). */
static int64_t listing_cut(const struct listing *l, int64_t base) {
  int64_t lowest = -1;
  for (int32_t i = 0; i + 1 < l->cut_count; i += 2)
    if (l->cuts[i] == base && (lowest < 0 || l->cuts[i + 1] < lowest)) lowest = l->cuts[i + 1];
  return lowest;
}

/* Leftovers of truncations: copies never renamed to a marker, markers of
 * segments that are gone, and markers a lower cut of theirs supersedes. */
static void remove_cut_leftovers(struct plog *log, const struct listing *l) {
  char path[PLOG_DIR_BYTES + 96];
  for (int32_t i = 0; i < l->copy_count; i++) {
    segment_copy_path(path, sizeof path, log->dir, l->copies[i]);
    log->env->unlink(log->env, path);
  }
  for (int32_t i = 0; i + 1 < l->cut_count; i += 2) {
    int64_t base = l->cuts[i], cut = l->cuts[i + 1];
    if (listing_has_log(l, base) && listing_cut(l, base) == cut) continue;
    segment_cut_path(path, sizeof path, log->dir, base, cut);
    log->env->unlink(log->env, path);
  }
}

/* Leftovers: an index without its .log (a crash mid-delete), a temporary
 * epoch checkpoint that never got renamed. */
static void remove_leftovers(struct plog *log, const struct listing *l) {
  char path[PLOG_DIR_BYTES + 64];
  remove_cut_leftovers(log, l);
  for (int32_t i = 0; i < l->index_count; i++) {
    int64_t base = l->indexes[i];
    if (listing_has_log(l, base)) continue;
    segment_file_path(path, sizeof path, log->dir, base,
                      l->index_is_time[i] ? ".timeindex" : ".index");
    log->env->unlink(log->env, path);
    env_log(log->env, ENV_LOG_INFO, "%s: removed orphan index %020lld", log->dir,
            (long long)base);
  }
  if (l->epoch_tmp) {
    str_fmt(path, sizeof path, "%s/%s.tmp", log->dir, EPOCH_FILE);
    log->env->unlink(log->env, path);
  }
}

static void reset_segment(struct segment *s) {
  s->oindex.count = 0;
  s->tindex.count = 0;
  segment_forget_hints(s);
  s->next_offset = s->base_offset;
  s->size_bytes = 0;
  s->bytes_since_index = 0;
  s->max_timestamp = -1;
  s->max_timestamp_offset = -1;
  s->first_batch_timestamp = -1;
}

/* Trusted: the indexes as stored, checked for sanity; the tail after the
 * last index entry scanned for the end offset. 0, SEGMENT_SUSPECT, or
 * ENV_E*. */
static int load_trusted(struct plog *log, struct segment *s, int64_t limit_offset) {
  struct env *env = log->env;
  ASSERT(s->fsyncs_pending == 0 && s->base_offset < limit_offset);
  int rc = segment_files_open(env, s);
  if (rc != 0) return rc;
  bool sane = !s->index_missing;
  rc = sane ? index_load(env, &s->oindex) : 0;
  if (rc == 0 && sane) rc = index_load(env, &s->tindex);
  if (rc == ENV_EINVAL)
    sane = false;
  else if (rc != 0)
    return rc;
  sane = sane && oindex_sane(&s->oindex, s->size_bytes) && tindex_sane(&s->tindex);
  if (!sane) {
    env_log(env, ENV_LOG_INFO, "%s: rebuilding the indexes of segment %020lld", log->dir,
            (long long)s->base_offset);
    s->oindex.count = s->tindex.count = 0;
  }
  rc = segment_reload_tail(env, s, log->cfg.index_interval_bytes);
  if (rc < 0) return rc;
  if (rc != 0) return SEGMENT_SUSPECT;
  if (!sane) {
    rc = index_write_all(env, &s->oindex);
    if (rc == 0) rc = index_write_all(env, &s->tindex);
    if (rc != 0) return rc;
  }
  int64_t ts;
  int32_t rel;
  if (s->tindex.count > 0) {
    tindex_get(&s->tindex, s->tindex.count - 1, &ts, &rel);
    if (s->base_offset + rel >= s->next_offset) return SEGMENT_SUSPECT;
  }
  return s->next_offset <= limit_offset ? 0 : SEGMENT_SUSPECT;
}

static const char *bad_batch_reason(int status, bool fits, bool below_limit, int crc_ok) {
  if (status == HC_TORN) return "torn";
  if (status == HC_BAD) return "malformed";
  if (!fits) return "out-of-order";
  if (!below_limit) return "overlapping";
  return crc_ok ? "invalid" : "corrupt (CRC mismatch)";
}

/* Every batch checked: whole, magic 2, offsets increasing, CRC-32C. The
 * indexes are rebuilt as the batches go by. */
static int recover_segment(struct plog *log, struct segment *s, int64_t limit_offset,
                           bool *truncated) {
  struct env *env = log->env;
  int open_rc = segment_files_open(env, s);
  if (open_rc != 0) return open_rc;
  int64_t end = env->file_size(env, s->log_file);
  if (end < 0) return (int)end;
  reset_segment(s);
  uint8_t *scratch = malloc(RECOVERY_SCRATCH_BYTES);
  ASSERT(scratch != NULL);
  struct header_cursor c;
  header_cursor_init(&c, env, s->log_file, (uint64_t)end);
  struct rb_header h;
  uint64_t pos = 0;
  int rc = 0;
  const char *reason = NULL;
  for (uint64_t n = 0; n <= (uint64_t)end / RB_HEADER_BYTES; n++) {
    int status = header_cursor_read(&c, pos, &h);
    if (status == HC_END || status < 0) {
      rc = status < 0 ? status : 0;
      break;
    }
    bool fits = status == HC_OK && segment_batch_fits(s, &h, pos);
    bool below = fits && rb_header_last_offset(&h) < limit_offset;
#ifdef SLUICE_MUTANT_RECOVERY_NO_CRC /* mutant: a batch that frames is trusted */
    int crc_ok = below ? 1 : 0;
#else
    int crc_ok =
        below ? batch_crc_check(env, s->log_file, pos, &h, scratch, RECOVERY_SCRATCH_BYTES) : 0;
#endif
    if (crc_ok < 0) {
      rc = crc_ok;
      break;
    }
    if (crc_ok != 1) {
#ifdef SLUICE_MUTANT_RECOVERY_KEEP_BAD_BATCH /* mutant: a batch failing its CRC is kept */
      if (crc_ok == 0 && below) segment_note_batch(s, log->cfg.index_interval_bytes, &h, pos);
      if (crc_ok == 0 && below) pos += rb_header_size(&h);
#endif
      reason = bad_batch_reason(status, fits, below, crc_ok);
      break;
    }
    segment_note_batch(s, log->cfg.index_interval_bytes, &h, pos);
    pos += rb_header_size(&h);
  }
  free(scratch);
  if (rc != 0) return rc;
  ASSERT(s->size_bytes == pos && pos <= (uint64_t)end);
#ifdef SLUICE_MUTANT_RECOVERY_CUT_ONE_MORE /* mutant: the last good batch too */
  struct header_cursor lc;
  uint64_t last_pos;
  if (pos < (uint64_t)end && s->next_offset > s->base_offset &&
      segment_seek(env, s, s->next_offset - 1, &lc, &last_pos, &h) == HC_OK &&
      segment_cut_indexes(env, s, last_pos, h.base_offset, log->cfg.index_interval_bytes) == 0)
    pos = last_pos;
#endif
  if (pos < (uint64_t)end) {
    ASSERT(reason != NULL);
    env_log(env, ENV_LOG_WARN,
            "%s: %s batch at offset %lld (position %llu of segment %020lld); truncating %llu "
            "bytes and every later segment",
            log->dir, reason, (long long)s->next_offset, (unsigned long long)pos,
            (long long)s->base_offset, (unsigned long long)((uint64_t)end - pos));
#ifdef SLUICE_MUTANT_RECOVERY_NO_TRUNCATE /* mutant: the bad tail stays in the segment */
    rc = 0;
    s->size_bytes = (uint64_t)end;
#else
    rc = plog_cut_mark(log, s, s->next_offset);
    if (rc == 0) rc = env->truncate(env, s->log_file, pos);
#endif
    s->log_dirty = true;
    *truncated = true;
    if (rc != 0) return rc;
  }
  rc = index_write_all(env, &s->oindex);
  return rc != 0 ? rc : index_write_all(env, &s->tindex);
}

/* A segment with a pending cut is always re-validated, up to the cut. */
static int load_segment(struct plog *log, struct segment *s, int64_t recovery_point,
                        int64_t limit_offset, bool *truncated) {
  ASSERT(limit_offset > s->base_offset ||
         (s->cut_offset >= 0 && limit_offset == s->base_offset));
  if (s->cut_offset < 0 && s->base_offset < recovery_point) {
    int rc = load_trusted(log, s, limit_offset);
    if (rc < 0) return rc;
    if (rc == 0 && s->next_offset <= recovery_point) return 0;
    if (rc == SEGMENT_SUSPECT)
      env_log(log->env, ENV_LOG_WARN, "%s: segment %020lld is inconsistent; re-validating it",
              log->dir, (long long)s->base_offset);
  }
  return recover_segment(log, s, limit_offset, truncated);
}

static void drop_segments_from(struct plog *log, int32_t first, const char *why) {
  for (int32_t j = log->seg_count - 1; j >= first; j--) {
    struct segment *s = log->segs[j];
    env_log(log->env, ENV_LOG_WARN, "%s: deleting segment %020lld: %s", log->dir,
            (long long)s->base_offset, why);
    segment_unlink(log->env, log->dir, s);
    segment_free(log->env, s);
    log->dir_dirty = true;
  }
  log->seg_count = first;
}

/* A segment that ends before the next one begins lost its tail (a power
 * loss kept a later file's bytes but not all of this one's): a hole, and
 * nothing past it can be trusted to follow. */
static bool hole_after(struct plog *log, int32_t i) {
  if (i + 1 >= log->seg_count || log->segs[i]->next_offset >= log->segs[i + 1]->base_offset)
    return false;
  env_log(log->env, ENV_LOG_WARN,
          "%s: segment %020lld ends at offset %lld, before the next one", log->dir,
          (long long)log->segs[i]->base_offset, (long long)log->segs[i]->next_offset);
  return true;
}

static int load_segments(struct plog *log, int64_t recovery_point, bool *flush_failed) {
  struct env *env = log->env;
  struct listing l = {0};
  int rc = plog_cleaner_recover(log); /* an interrupted swap first (cleaner.h) */
  if (rc == 0) rc = env->list(env, log->dir, list_entry, &l);
  *flush_failed = l.flush_failed;
  if (rc == 0) {
    if (l.log_count > 1) qsort(l.logs, (size_t)l.log_count, sizeof *l.logs, cmp_i64);
    remove_leftovers(log, &l);
  }
  int64_t now_ms = env->wall_ms(env);
  for (int32_t i = 0; rc == 0 && i < l.log_count; i++) {
    struct segment *s;
    rc = segment_open(env, log->dir, l.logs[i], &log->cfg, now_ms, &s);
    if (rc != 0) break;
    s->cut_offset = listing_cut(&l, s->base_offset);
    plog_segments_push(log, s);
  }
  listing_free(&l);
  for (int32_t i = 0; rc == 0 && i < log->seg_count; i++) {
    struct segment *s = log->segs[i];
    int64_t limit = i + 1 < log->seg_count ? log->segs[i + 1]->base_offset : INT64_MAX;
    bool truncated = s->cut_offset >= 0;
    if (truncated) {
      /* The segments after it were written while the cut was pending, never
       * covered by the recovery point, and may not follow what is kept. */
      env_log(env, ENV_LOG_WARN, "%s: segment %020lld was being truncated to offset %lld",
              log->dir, (long long)s->base_offset, (long long)s->cut_offset);
      if (s->cut_offset < limit) limit = s->cut_offset;
      s->log_dirty = true; /* its flush removes the marker */
    }
    rc = load_segment(log, s, recovery_point, limit, &truncated);
    if (rc == 0 && !truncated && hole_after(log, i)) {
      truncated = true;
      rc = plog_cut_mark(log, s, s->next_offset); /* the dropped ones stay dropped */
    }
    if (rc == 0 && truncated) drop_segments_from(log, i + 1, "it follows a truncated one");
  }
  /* Inactive segments end with their final time index entry, however their
   * indexes were loaded or rebuilt. */
  for (int32_t i = 0; rc == 0 && i + 1 < log->seg_count; i++)
    rc = segment_seal(env, log->segs[i]);
  return rc;
}

/* A flush failed in an earlier run (flush.c): Linux may have dropped the
 * pages it covered and marked them clean, and without a power loss they
 * still read back, valid, yet are on no platter; no later fsync writes
 * them. So every segment from the recovery point on is written again, from
 * the bytes recovery just checked, to be dirty for the flush plog_open
 * starts, whose success removes the marker. Only what the disk confirmed
 * (below the recovery point) is trusted as it lies. */
static int rewrite_unflushed(struct plog *log, int64_t recovery_point) {
  struct env *env = log->env;
  uint8_t *chunk = malloc(RECOVERY_SCRATCH_BYTES);
  ASSERT(chunk != NULL);
  int rc = 0;
  for (int32_t i = plog_segment_floor(log, recovery_point); rc == 0 && i < log->seg_count;
       i++) {
    struct segment *s = log->segs[i];
    uint64_t at = 0;
    rc = segment_files_open(env, s);
    for (uint64_t n = 0; rc == 0 && at < s->size_bytes && n <= s->size_bytes; n++) {
      size_t want = s->size_bytes - at < RECOVERY_SCRATCH_BYTES ? (size_t)(s->size_bytes - at)
                                                                : RECOVERY_SCRATCH_BYTES;
      int64_t got = env->pread(env, s->log_file, chunk, want, at);
      if (got == (int64_t)want) got = env->pwrite(env, s->log_file, chunk, want, at);
      if (got != (int64_t)want) rc = got < 0 ? (int)got : ENV_EIO;
      at += want;
    }
    s->log_dirty = true;
  }
  free(chunk);
  log->failure_marked = true;
  env_log(env, ENV_LOG_WARN,
          "%s: a flush failed before the restart; rewrote the log from offset %lld", log->dir,
          (long long)recovery_point);
  return rc;
}

/* Every log has an active segment; the start offset lies inside the log. */
static int settle_offsets(struct plog *log) {
  if (log->seg_count > 0 && log->start_offset < log->segs[0]->base_offset)
    log->start_offset = log->segs[0]->base_offset;
  if (log->seg_count > 0 && log->start_offset > plog_end_offset(log)) {
    /* The tail holding the start offset was lost (Kafka starts over there). */
    env_log(log->env, ENV_LOG_WARN, "%s: log start offset %lld is past the end %lld; emptying",
            log->dir, (long long)log->start_offset, (long long)plog_end_offset(log));
    drop_segments_from(log, 0, "the log start offset is past it");
  }
  if (log->seg_count > 0) return 0;
  struct segment *s;
  int rc = segment_create(log->env, log->dir, log->start_offset, &log->cfg,
                          log->env->wall_ms(log->env), &s);
  if (rc != 0) return rc;
  plog_segments_push(log, s);
  log->dir_dirty = true;
  ASSERT(log->start_offset == plog_end_offset(log));
  return 0;
}

static int load_epochs(struct plog *log) {
  char path[PLOG_DIR_BYTES + 64];
  str_fmt(path, sizeof path, "%s/%s", log->dir, EPOCH_FILE);
  struct buf text;
  buf_init(&text);
  int rc = atomic_file_read(log->env, path, &text);
  if (rc == 0) rc = epoch_cache_parse(&log->epochs, (const char *)text.data, text.len);
  buf_free(&text);
  if (rc == ENV_ENOENT) rc = 0;
  if (rc != 0) {
    env_log(log->env, ENV_LOG_ERROR, "%s: cannot read %s: error %d", log->dir, EPOCH_FILE, rc);
    return rc;
  }
  bool changed = epoch_cache_truncate_from_end(&log->epochs, plog_end_offset(log));
  changed |= epoch_cache_truncate_from_start(&log->epochs, log->start_offset);
  if (changed) plog_epochs_store(log);
  return 0;
}

static bool config_valid(const struct log_config *cfg) {
  return cfg->segment_bytes >= RB_HEADER_BYTES && cfg->index_interval_bytes >= 0 &&
         cfg->index_bytes_max >= TIME_ENTRY_BYTES;
}

static struct plog *plog_alloc(struct env *env, const char *dir, const struct log_config *cfg,
                               int64_t log_start_offset) {
  struct plog *log = calloc(1, sizeof *log);
  ASSERT(log != NULL);
  log->env = env;
  str_fmt(log->dir, sizeof log->dir, "%s", dir);
  log->cfg = *cfg;
  /* Positions in the offset index are int32. */
  if (log->cfg.segment_bytes > INT32_MAX) log->cfg.segment_bytes = INT32_MAX;
  log->start_offset = log_start_offset > 0 ? log_start_offset : 0;
  epoch_cache_init(&log->epochs);
  char path[PLOG_DIR_BYTES + 64];
  str_fmt(path, sizeof path, "%s/%s", dir, EPOCH_FILE);
  log->epoch_writer = atomic_file_writer_create(env, path);
  return log;
}

/* Nobody waits on it: flush.c logs its errors and removes the marker. */
static void failure_flushed(void *ctx, int err) {
  (void)ctx;
  (void)err;
}

int plog_open(struct env *env, const char *dir, const struct log_config *cfg,
              int64_t recovery_point, int64_t log_start_offset, struct plog **out) {
  ASSERT(env != NULL && dir != NULL && cfg != NULL && out != NULL);
  *out = NULL;
  if (strlen(dir) == 0 || strlen(dir) >= PLOG_DIR_BYTES - 64 || !config_valid(cfg))
    return ENV_EINVAL;
  int rc = env->mkdir(env, dir);
  if (rc != 0 && rc != ENV_EEXIST) return rc;
  struct plog *log = plog_alloc(env, dir, cfg, log_start_offset);
  bool flush_failed = false;
  rc = load_segments(log, recovery_point, &flush_failed);
  if (rc == 0) rc = settle_offsets(log);
#ifdef SLUICE_MUTANT_FAILED_FLUSH_NOT_REWRITTEN /* mutant: the dropped pages are trusted */
  flush_failed = false;
#endif
  if (rc == 0 && flush_failed) rc = rewrite_unflushed(log, recovery_point);
  if (rc == 0) rc = load_epochs(log);
  if (rc == 0) rc = plog_producers_load(log);
  if (rc != 0) {
    env_log(env, ENV_LOG_ERROR, "%s: cannot open the log: error %d", dir, rc);
    plog_close(log);
    return rc;
  }
  int64_t end = plog_end_offset(log);
#ifdef SLUICE_MUTANT_LEO_FROM_CHECKPOINT /* mutant: the end offset is not rescanned */
  if (recovery_point >= plog_active(log)->base_offset && recovery_point < end)
    plog_active(log)->next_offset = end = recovery_point;
#endif
  ASSERT(log->seg_count > 0 && log->start_offset <= end);
  log->recovery_point = recovery_point < 0 ? 0 : recovery_point > end ? end : recovery_point;
  ASSERT(log->recovery_point <= plog_cut_floor(log));
  plog_cut_flush(log); /* an unfinished truncation's cut, now made by recovery */
  if (log->failure_marked) plog_flush(log, failure_flushed, NULL);
  plog_files_idle(log); /* a partition nobody uses holds no descriptor */
  env_log(env, ENV_LOG_INFO, "%s: opened with %d segments, offsets %lld to %lld", dir,
          log->seg_count, (long long)log->start_offset, (long long)end);
  *out = log;
  return 0;
}
