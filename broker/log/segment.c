#include "log/segment.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "log/segment_cache.h"

bool segment_file_path(char *out, size_t cap, const char *dir, int64_t base_offset,
                       const char *suffix) {
  ASSERT(base_offset >= 0);
  size_t n = str_fmt(out, cap, "%s/%020lld%s", dir, (long long)base_offset, suffix);
  return n < cap;
}

bool segment_cut_path(char *out, size_t cap, const char *dir, int64_t base_offset,
                      int64_t cut_offset) {
  ASSERT(base_offset >= 0 && cut_offset >= base_offset);
  size_t n = str_fmt(out, cap, "%s/%020lld.log.%020lld.truncating", dir, (long long)base_offset,
                     (long long)cut_offset);
  return n < cap;
}

bool segment_copy_path(char *out, size_t cap, const char *dir, int64_t base_offset) {
  return segment_file_path(out, cap, dir, base_offset, ".log.copying");
}

enum { SEGMENT_PATH_BYTES = 1200 };

static struct segment *segment_alloc(const char *dir, int64_t base_offset,
                                     const struct log_config *cfg, int64_t now_ms) {
  struct segment *s = calloc(1, sizeof *s);
  ASSERT(s != NULL);
  s->dir = dir;
  s->cache = cfg->cache;
  s->lent_turn = UINT64_MAX;
  s->base_offset = base_offset;
  s->next_offset = base_offset;
  s->log_file = -1;
  s->max_timestamp = -1;
  s->max_timestamp_offset = -1;
  s->first_batch_timestamp = -1;
  s->cut_offset = -1;
  s->created_ms = now_ms;
  index_init(&s->oindex, OFFSET_ENTRY_BYTES, cfg->index_bytes_max);
  index_init(&s->tindex, TIME_ENTRY_BYTES, cfg->index_bytes_max);
  return s;
}

static int open_file(struct env *env, const struct segment *s, const char *suffix, int flags,
                     env_file *out) {
  char path[SEGMENT_PATH_BYTES];
  if (!segment_file_path(path, sizeof path, s->dir, s->base_offset, suffix)) return ENV_EINVAL;
  if (s->cache) return seg_cache_open_file(s->cache, path, flags, out);
  return env->open(env, path, flags, out);
}

static void close_files(struct env *env, struct segment *s) {
  if (s->log_file >= 0) env->file_close(env, s->log_file);
  if (s->oindex.file >= 0) env->file_close(env, s->oindex.file);
  if (s->tindex.file >= 0) env->file_close(env, s->tindex.file);
  s->log_file = s->oindex.file = s->tindex.file = -1;
}

/* The segment's files were opened: the cache counts them. */
static void files_opened(struct segment *s) {
  if (s->cache) seg_cache_opened(s->cache, s);
}

int segment_create(struct env *env, const char *dir, int64_t base_offset,
                   const struct log_config *cfg, int64_t now_ms, struct segment **out) {
  ASSERT(env != NULL && out != NULL);
  struct segment *s = segment_alloc(dir, base_offset, cfg, now_ms);
  int flags = ENV_O_CREATE | ENV_O_TRUNC;
  int rc = open_file(env, s, ".log", flags, &s->log_file);
  if (rc == 0) rc = open_file(env, s, ".index", flags, &s->oindex.file);
  if (rc == 0) rc = open_file(env, s, ".timeindex", flags, &s->tindex.file);
  if (rc != 0) {
    segment_unlink(env, dir, s);
    segment_free(env, s);
    return rc;
  }
  files_opened(s);
  *out = s;
  return 0;
}

/* Opens an index file, creating it (and noting so) if it is missing. */
static int open_index(struct env *env, struct segment *s, const char *suffix, env_file *out) {
  int rc = open_file(env, s, suffix, 0, out);
  if (rc != ENV_ENOENT) return rc;
  s->index_missing = true;
  return open_file(env, s, suffix, ENV_O_CREATE, out);
}

static int open_all(struct env *env, struct segment *s) {
  int rc = open_file(env, s, ".log", 0, &s->log_file);
  if (rc == 0) rc = open_index(env, s, ".index", &s->oindex.file);
  if (rc == 0) rc = open_index(env, s, ".timeindex", &s->tindex.file);
  if (rc != 0) close_files(env, s);
  return rc;
}

int segment_open(struct env *env, const char *dir, int64_t base_offset,
                 const struct log_config *cfg, int64_t now_ms, struct segment **out) {
  ASSERT(env != NULL && out != NULL);
  struct segment *s = segment_alloc(dir, base_offset, cfg, now_ms);
  int rc = open_all(env, s);
  if (rc == 0) files_opened(s);
  int64_t size = rc == 0 ? env->file_size(env, s->log_file) : rc;
  if (size < 0) {
    segment_free(env, s);
    return (int)size;
  }
  s->size_bytes = (uint64_t)size;
  *out = s;
  return 0;
}

void segment_free(struct env *env, struct segment *s) {
  if (!s) return;
  ASSERT(s->fsyncs_pending == 0);
  if (s->in_cache) seg_cache_closed(s->cache, s);
  if (s->log_file >= 0) env->file_close(env, s->log_file);
  index_free(env, &s->oindex);
  index_free(env, &s->tindex);
  free(s);
}

int segment_files_open(struct env *env, struct segment *s) {
  ASSERT(s != NULL);
  if (s->log_file >= 0) {
    if (s->in_cache) seg_cache_touch(s->cache, s);
    return 0;
  }
  ASSERT(!s->retired && !s->orphan && !s->cut_file_is_copy);
  int rc = open_all(env, s);
  if (rc != 0 && rc != ENV_EMFILE) /* EMFILE: the cache's own rate-limited line */
    env_log(env, ENV_LOG_ERROR, "%s: could not reopen segment %020lld: error %d", s->dir,
            (long long)s->base_offset, rc);
  if (rc != 0) return rc;
  files_opened(s);
  return 0;
}

void segment_files_close(struct env *env, struct segment *s) {
  ASSERT(!segment_files_pinned(s));
  if (s->in_cache) seg_cache_closed(s->cache, s);
  if (s->log_file < 0) return;
  /* The files hold exactly the entries; this trims anything a failed
   * write may have left past them. */
  index_trim(env, &s->oindex);
  index_trim(env, &s->tindex);
  close_files(env, s);
}

/* An fsync in flight does not pin: the world syncs a descriptor of its own
 * (env.h), and its completion checks log_file_gen, not the file id. */
bool segment_files_pinned(const struct segment *s) {
  if (s->orphan) return true;
  if (s->cut_offset >= 0 && s->cut_file_is_copy) return true;
  return s->cache != NULL && s->lent_turn == s->cache->turn;
}

int segment_unlink(struct env *env, const char *dir, const struct segment *s) {
  static const char *const suffixes[] = {".log", ".index", ".timeindex"};
  int first_err = 0;
  for (size_t i = 0; i < ARRAY_LEN(suffixes); i++) {
    char path[SEGMENT_PATH_BYTES];
    if (!segment_file_path(path, sizeof path, dir, s->base_offset, suffixes[i])) continue;
    int rc = env->unlink(env, path);
    if (rc != 0 && rc != ENV_ENOENT && first_err == 0) first_err = rc;
  }
  char path[SEGMENT_PATH_BYTES];
  if (s->cut_offset >= 0 &&
      segment_cut_path(path, sizeof path, dir, s->base_offset, s->cut_offset)) {
    int rc = env->unlink(env, path);
    if (rc != 0 && rc != ENV_ENOENT && first_err == 0) first_err = rc;
  }
  return first_err;
}

static int32_t rel_offset(const struct segment *s, int64_t offset) {
  ASSERT(offset >= s->base_offset && offset - s->base_offset <= INT32_MAX);
  return (int32_t)(offset - s->base_offset);
}

void segment_note_batch(struct segment *s, int32_t interval_bytes, const struct rb_header *h,
                        uint64_t pos) {
  ASSERT(pos == s->size_bytes);
  ASSERT(pos + rb_header_size(h) <= INT32_MAX);
  int64_t last = rb_header_last_offset(h);
  if (pos == 0) s->first_batch_timestamp = h->max_timestamp;
  if (h->max_timestamp > s->max_timestamp) {
    s->max_timestamp = h->max_timestamp;
    s->max_timestamp_offset = last;
  }
  if (s->bytes_since_index > (uint64_t)interval_bytes) {
    /* A full index only means a sparser one until the segment rolls. */
#ifdef SLUICE_MUTANT_INDEX_ENTRY_OFF_BY_ONE /* mutant: points at the next batch */
    if (!index_full(&s->oindex))
      oindex_push(&s->oindex, rel_offset(s, last), (int32_t)(pos + rb_header_size(h)));
#else
    if (!index_full(&s->oindex)) oindex_push(&s->oindex, rel_offset(s, last), (int32_t)pos);
#endif
    if (!index_full(&s->tindex) && s->max_timestamp >= 0)
      tindex_maybe_push(&s->tindex, s->max_timestamp, rel_offset(s, s->max_timestamp_offset));
    s->bytes_since_index = 0;
  }
  s->bytes_since_index += rb_header_size(h);
  s->next_offset = last + 1;
  s->size_bytes = pos + rb_header_size(h);
  s->seek_hints[s->seek_hint_next] =
      (struct segment_seek_hint){.base_offset = h->base_offset, .pos = pos};
  s->seek_hint_next = (s->seek_hint_next + 1) % SEGMENT_SEEK_HINTS;
  if (s->seek_hint_count < SEGMENT_SEEK_HINTS) s->seek_hint_count++;
}

void segment_forget_hints(struct segment *s) {
  s->seek_hint_count = 0;
  s->seek_hint_next = 0;
}

/* The newest hint at or below offset (the one furthest into the file), or
 * *hint_base -1: where a seek may start if the index's answer is not past
 * it. */
static uint64_t newest_hint(const struct segment *s, int64_t offset, int64_t *hint_base) {
  ASSERT(s->seek_hint_count >= 0 && s->seek_hint_count <= SEGMENT_SEEK_HINTS);
  *hint_base = -1;
  uint64_t pos = 0;
  for (int32_t i = 0; i < s->seek_hint_count; i++) {
    const struct segment_seek_hint *hint = &s->seek_hints[i];
    if (hint->base_offset > offset || (*hint_base >= 0 && hint->pos < pos)) continue;
    pos = hint->pos;
    *hint_base = hint->base_offset;
  }
  return pos;
}

/* Where the offset index's last entry points: no answer of index_start
 * lies past it. */
static uint64_t index_last_pos(const struct segment *s) {
  if (s->oindex.count == 0) return 0;
  int32_t rel, pos;
  oindex_get(&s->oindex, s->oindex.count - 1, &rel, &pos);
  return (uint64_t)pos;
}

void segment_mark(const struct segment *s, struct segment_mark *m) {
  m->next_offset = s->next_offset;
  m->size_bytes = s->size_bytes;
  m->bytes_since_index = s->bytes_since_index;
  m->max_timestamp = s->max_timestamp;
  m->max_timestamp_offset = s->max_timestamp_offset;
  m->first_batch_timestamp = s->first_batch_timestamp;
  m->oindex_count = s->oindex.count;
  m->tindex_count = s->tindex.count;
}

int segment_rollback(struct env *env, struct segment *s, const struct segment_mark *m) {
  ASSERT(m->size_bytes <= s->size_bytes || m->size_bytes == s->size_bytes);
  ASSERT(m->oindex_count <= s->oindex.count && m->tindex_count <= s->tindex.count);
  segment_forget_hints(s);
  s->next_offset = m->next_offset;
  s->size_bytes = m->size_bytes;
  s->bytes_since_index = m->bytes_since_index;
  s->max_timestamp = m->max_timestamp;
  s->max_timestamp_offset = m->max_timestamp_offset;
  s->first_batch_timestamp = m->first_batch_timestamp;
  s->log_dirty = true;
  int rc = segment_files_open(env, s);
  if (rc != 0) return rc;
  rc = env->truncate(env, s->log_file, m->size_bytes);
  int rc2 = index_truncate(env, &s->oindex, m->oindex_count);
  int rc3 = index_truncate(env, &s->tindex, m->tindex_count);
  return rc ? rc : rc2 ? rc2 : rc3;
}

int segment_seal(struct env *env, struct segment *s) {
  ASSERT(s != NULL);
  if (s->max_timestamp < 0) return 0;
  int rc = segment_files_open(env, s);
  if (rc != 0) return rc;
  int32_t old = s->tindex.count;
  tindex_maybe_push(&s->tindex, s->max_timestamp, rel_offset(s, s->max_timestamp_offset));
  ASSERT(s->tindex.count >= old);
  return index_write_from(env, &s->tindex, old);
}

/* Where the tail scan starts: the last offset index entry, or the start. */
static uint64_t tail_start(struct segment *s) {
  s->max_timestamp = -1;
  s->max_timestamp_offset = -1;
  if (s->tindex.count > 0) {
    int64_t ts;
    int32_t rel;
    tindex_get(&s->tindex, s->tindex.count - 1, &ts, &rel);
    s->max_timestamp = ts;
    s->max_timestamp_offset = s->base_offset + rel;
  }
  if (s->oindex.count == 0) return 0;
  int32_t rel, pos;
  oindex_get(&s->oindex, s->oindex.count - 1, &rel, &pos);
  return (uint64_t)pos;
}

/* Offsets must grow, and relative offsets and positions fit the indexes. */
bool segment_batch_fits(const struct segment *s, const struct rb_header *h, uint64_t pos) {
  if (h->base_offset < s->next_offset) return false;
  if (rb_header_last_offset(h) - s->base_offset > INT32_MAX) return false;
  return pos + rb_header_size(h) <= INT32_MAX;
}

/* The batch at the last offset index entry must be the one the entry names. */
static bool entry_matches(const struct segment *s, const struct rb_header *h) {
  if (s->oindex.count == 0) return true;
  int32_t rel, pos;
  oindex_get(&s->oindex, s->oindex.count - 1, &rel, &pos);
  return rb_header_last_offset(h) == s->base_offset + rel;
}

int segment_reload_tail(struct env *env, struct segment *s, int32_t interval_bytes) {
  int open_rc = segment_files_open(env, s);
  if (open_rc != 0) return open_rc;
  uint64_t end = s->size_bytes;
  uint64_t pos = tail_start(s);
  int32_t old_o = s->oindex.count, old_t = s->tindex.count;
  ASSERT(pos <= end);
  segment_forget_hints(s);
  s->next_offset = s->base_offset;
  s->size_bytes = pos;
  s->bytes_since_index = 0;
  s->first_batch_timestamp = -1;
  struct header_cursor c;
  header_cursor_init(&c, env, s->log_file, end);
  struct rb_header h;
  int rc = header_cursor_read(&c, pos, &h);
  if (rc == HC_OK && !entry_matches(s, &h)) rc = HC_BAD;
  /* Each pass consumes at least one header's bytes. */
  for (uint64_t i = 0; rc == HC_OK && i <= end / RB_HEADER_BYTES; i++) {
    if (!segment_batch_fits(s, &h, pos)) {
      rc = HC_BAD;
      break;
    }
    segment_note_batch(s, interval_bytes, &h, pos);
    pos += rb_header_size(&h);
    rc = header_cursor_read(&c, pos, &h);
  }
  if (rc == HC_OK) rc = HC_BAD; /* more batches than bytes: cannot be */
  if (rc != HC_END) return rc;
  ASSERT(s->size_bytes == end);
  if (end > 0 && s->first_batch_timestamp < 0 && header_cursor_read(&c, 0, &h) == HC_OK)
    s->first_batch_timestamp = h.max_timestamp;
  rc = index_write_from(env, &s->oindex, old_o);
  if (rc == 0) rc = index_write_from(env, &s->tindex, old_t);
  return rc;
}

bool segment_lend(struct segment *s, uint64_t end_pos) {
  ASSERT(end_pos <= s->size_bytes);
  bool pinned = s->cache != NULL && s->lent_turn != s->cache->turn;
  if (s->cache) s->lent_turn = s->cache->turn;
  if (end_pos > s->lent_position_max) s->lent_position_max = end_pos;
  return pinned;
}

int segment_cut_indexes(struct env *env, struct segment *s, uint64_t pos, int64_t end_offset,
                        int32_t interval_bytes) {
  ASSERT(pos <= s->size_bytes);
  ASSERT(end_offset >= s->base_offset);
  int open_rc = segment_files_open(env, s);
  if (open_rc != 0) return open_rc;
  int32_t o = s->oindex.count, t = s->tindex.count, rel, p;
  int64_t ts;
  while (o > 0 && (oindex_get(&s->oindex, o - 1, &rel, &p), (uint64_t)p >= pos)) o--;
  while (t > 0 &&
         (tindex_get(&s->tindex, t - 1, &ts, &rel), s->base_offset + rel >= end_offset))
    t--;
  int rc = index_truncate(env, &s->oindex, o);
  if (rc == 0) rc = index_truncate(env, &s->tindex, t);
  if (rc != 0) return rc;
  segment_forget_hints(s);
  s->size_bytes = pos;
  rc = segment_reload_tail(env, s, interval_bytes);
  /* These bytes scanned cleanly before; failing now is the disk's fault. */
  rc = rc == HC_TORN || rc == HC_BAD ? ENV_EIO : rc;
  ASSERT(rc != 0 || (s->size_bytes == pos && s->next_offset <= end_offset));
  return rc;
}

/* The offset index's answer: the last entry at or below offset, or 0. */
static uint64_t index_start(const struct segment *s, int64_t offset) {
  if (offset <= s->base_offset) return 0;
  int64_t rel = offset - s->base_offset;
  int32_t i = oindex_floor(&s->oindex, rel > INT32_MAX ? INT32_MAX : (int32_t)rel);
  if (i < 0) return 0;
  int32_t entry_rel, entry_pos;
  oindex_get(&s->oindex, i, &entry_rel, &entry_pos);
  return (uint64_t)entry_pos;
}

/* Reads headers from pos, a batch start, to the first batch holding offset. */
static int scan_from(struct header_cursor *c, const struct segment *s, int64_t offset,
                     uint64_t pos, uint64_t *pos_out, struct rb_header *h) {
  ASSERT(pos <= s->size_bytes);
  for (uint64_t n = 0; n <= s->size_bytes / RB_HEADER_BYTES; n++) {
    int rc = header_cursor_read(c, pos, h);
    if (rc != HC_OK) return rc;
#ifdef SLUICE_MUTANT_FETCH_MID_BATCH_NEXT /* mutant: seeks to a batch start */
    if (h->base_offset >= offset) {
#else
    if (rb_header_last_offset(h) >= offset) {
#endif
      *pos_out = pos;
      return HC_OK;
    }
    pos += rb_header_size(h);
  }
  return HC_BAD;
}

int segment_seek(struct env *env, struct segment *s, int64_t offset, struct header_cursor *c,
                 uint64_t *pos_out, struct rb_header *h) {
  ASSERT(c != NULL && pos_out != NULL && h != NULL);
  int open_rc = segment_files_open(env, s);
  if (open_rc != 0) return open_rc;
  header_cursor_init(c, env, s->log_file, s->size_bytes);
  /* The hint serves when the index's answer is not past it; the index is
   * bisected only when its last entry could be (most seeks land near the
   * end, where the hints are). */
  int64_t hint_base;
  uint64_t hint_pos = newest_hint(s, offset, &hint_base);
  uint64_t pos = 0;
  bool index_known = false;
  if (hint_base >= 0 && hint_pos < index_last_pos(s)) {
    pos = index_start(s, offset);
    index_known = true;
    if (hint_pos < pos) hint_base = -1;
  }
  ASSERT(hint_base < 0 || hint_pos < s->size_bytes);
  /* A scan from the index passes the hint's batch (every batch before it
   * ends below hint_base <= offset), so starting there finds the same one;
   * unless the disk changed that header since (corruption): then the scan
   * from the index meets it as it would have. */
  if (hint_base >= 0 && header_cursor_read(c, hint_pos, h) == HC_OK &&
      h->base_offset == hint_base)
    return scan_from(c, s, offset, hint_pos, pos_out, h);
  if (!index_known) pos = index_start(s, offset);
  return scan_from(c, s, offset, pos, pos_out, h);
}
