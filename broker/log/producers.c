/* The log's producer state (log/producers.h): kept in step with the
 * batches, rebuilt from a snapshot and a scan of the batch headers past it,
 * and stored as "<offset>.snapshot" files beside the segments.
 *
 * A snapshot is written like atomic_file_write (a .tmp file, fsync, rename,
 * directory sync) but decides in the fsync's completion whether to rename:
 * a truncation below its offset while it was in flight makes it stale, and
 * a stale one is removed instead of landing. So a snapshot file that exists
 * always describes a prefix of the log it sits in: after a crash the ones
 * past the recovered end offset are deleted (durably) before any append,
 * and a truncation deletes the ones past its cut the same way. */
#include "log/producers.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "log/log_internal.h"

enum {
  SNAPSHOT_WRITES_MAX = 8, /* in flight per log; a roll past it skips its snapshot */
  SNAPSHOTS_MAX = PLOG_SEGMENTS_MAX + 2,
  SNAPSHOT_PATH_BYTES = PLOG_DIR_BYTES + 64,
  SNAPSHOT_NAME_DIGITS = 20,
};

static const char SNAPSHOT_SUFFIX[] = ".snapshot";
static const char SNAPSHOT_TMP_SUFFIX[] = ".snapshot.tmp";

struct snapshot_write;

struct plog_producers {
  struct producer_state state;
  bool broken;        /* a rebuild failed: idempotent produces get a storage error */
  int64_t *snapshots; /* offsets of the snapshot files that landed, ascending */
  int32_t snapshot_count;
  int32_t snapshot_cap;
  struct snapshot_write *writes[SNAPSHOT_WRITES_MAX]; /* in flight */
  int32_t write_count;
};

struct snapshot_write {
  struct env *env;
  struct plog_producers *owner; /* NULL once the log let go of it */
  int64_t offset;
  bool stale; /* a truncation went below offset: removed instead of renamed */
  env_file file;
  env_fsync_fn done; /* optional */
  void *ctx;
  char dir[PLOG_DIR_BYTES];
  char path[SNAPSHOT_PATH_BYTES];
  char tmp[SNAPSHOT_PATH_BYTES];
};

static void snapshot_path(char *out, size_t cap, const char *dir, int64_t offset,
                          const char *suffix) {
  ASSERT(offset >= 0);
  size_t n = str_fmt(out, cap, "%s/%020lld%s", dir, (long long)offset, suffix);
  ASSERT(n < cap); /* plog_open bounds the directory's length */
}

/* ---- the list of snapshot files ---- */

static int32_t snapshots_lower_bound(const struct plog_producers *p, int64_t offset) {
  int32_t lo = 0, hi = p->snapshot_count;
  while (lo < hi) {
    int32_t mid = lo + (hi - lo) / 2;
    if (p->snapshots[mid] < offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static bool snapshots_has(const struct plog_producers *p, int64_t offset) {
  int32_t i = snapshots_lower_bound(p, offset);
  return i < p->snapshot_count && p->snapshots[i] == offset;
}

static void snapshots_insert(struct plog_producers *p, int64_t offset) {
  if (snapshots_has(p, offset) || p->snapshot_count >= SNAPSHOTS_MAX) return;
  if (p->snapshot_count == p->snapshot_cap) {
    int32_t cap = p->snapshot_cap ? p->snapshot_cap * 2 : 8;
    int64_t *a = realloc(p->snapshots, (size_t)cap * sizeof *a);
    ASSERT(a != NULL);
    p->snapshots = a;
    p->snapshot_cap = cap;
  }
  int32_t i = snapshots_lower_bound(p, offset);
  memmove(&p->snapshots[i + 1], &p->snapshots[i],
          (size_t)(p->snapshot_count - i) * sizeof p->snapshots[0]);
  p->snapshots[i] = offset;
  p->snapshot_count++;
}

/* Unlinks the files of snapshots [from, to) and drops them from the list. */
static bool snapshots_remove(struct plog *log, int32_t from, int32_t to) {
  struct plog_producers *p = log->producers;
  ASSERT(from >= 0 && from <= to && to <= p->snapshot_count);
  if (from == to) return false;
  char path[SNAPSHOT_PATH_BYTES];
  for (int32_t i = from; i < to; i++) {
    snapshot_path(path, sizeof path, log->dir, p->snapshots[i], SNAPSHOT_SUFFIX);
    int rc = log->env->unlink(log->env, path);
    if (rc != 0 && rc != ENV_ENOENT)
      env_log(log->env, ENV_LOG_WARN, "%s: could not remove snapshot %020lld: error %d",
              log->dir, (long long)p->snapshots[i], rc);
  }
  memmove(&p->snapshots[from], &p->snapshots[to],
          (size_t)(p->snapshot_count - to) * sizeof p->snapshots[0]);
  p->snapshot_count -= to - from;
  return true;
}

/* Snapshots past the end offset describe batches that are gone: deleted,
 * and durably so, before anything new lands at those offsets. */
static void snapshots_drop_past_end(struct plog *log) {
  struct plog_producers *p = log->producers;
  int32_t first = snapshots_lower_bound(p, plog_end_offset(log) + 1);
  if (!snapshots_remove(log, first, p->snapshot_count)) return;
  int rc = log->env->dir_sync(log->env, log->dir);
  if (rc != 0) {
    env_log(log->env, ENV_LOG_WARN, "%s: directory sync failed: error %d", log->dir, rc);
    log->dir_dirty = true;
  }
}

/* ---- writing one ---- */

static void write_detach(struct snapshot_write *w) {
  struct plog_producers *p = w->owner;
  if (!p) return;
  for (int32_t i = 0; i < p->write_count; i++) {
    if (p->writes[i] != w) continue;
    p->writes[i] = p->writes[--p->write_count];
    w->owner = NULL;
    return;
  }
  UNREACHABLE();
}

static void write_synced(void *ctx, int err) {
  struct snapshot_write *w = ctx;
  struct env *env = w->env;
  bool stale = w->stale;
  if (err == 0 && stale) {
    env->unlink(env, w->tmp);
  } else if (err == 0) {
    err = env->rename(env, w->tmp, w->path);
    if (err == 0) err = env->dir_sync(env, w->dir);
  }
  if (err == 0 && !stale && w->owner) snapshots_insert(w->owner, w->offset);
  if (err != 0)
    env_log(env, ENV_LOG_WARN, "%s: snapshot %020lld did not land: error %d", w->dir,
            (long long)w->offset, err);
  write_detach(w);
  env_fsync_fn done = w->done;
  void *done_ctx = w->ctx;
  free(w);
  if (done) done(done_ctx, err);
}

static bool write_in_flight(const struct plog_producers *p, int64_t offset) {
  for (int32_t i = 0; i < p->write_count; i++)
    if (p->writes[i]->offset == offset && !p->writes[i]->stale) return true;
  return false;
}

static bool write_tmp(struct snapshot_write *w, const struct buf *bytes) {
  struct env *env = w->env;
  int rc = env->open(env, w->tmp, ENV_O_CREATE | ENV_O_TRUNC, &w->file);
  if (rc != 0) return false;
  int64_t n = env->pwrite(env, w->file, bytes->data, bytes->len, 0);
  if (n == (int64_t)bytes->len) return true;
  env->file_close(env, w->file);
  env->unlink(env, w->tmp);
  return false;
}

/* Starts writing the state as <end offset>.snapshot; false if it did not
 * start (done is then not called). */
static bool snapshot_start(struct plog *log, env_fsync_fn done, void *ctx) {
  struct plog_producers *p = log->producers;
  int64_t offset = p->state.end_offset;
  ASSERT(offset == plog_end_offset(log));
  if (p->broken || p->write_count == SNAPSHOT_WRITES_MAX) return false;
  /* A stale write of the same offset may still use the .tmp name. */
  for (int32_t i = 0; i < p->write_count; i++)
    if (p->writes[i]->offset == offset) return false;
  struct snapshot_write *w = calloc(1, sizeof *w);
  ASSERT(w != NULL);
  *w = (struct snapshot_write){
      .env = log->env, .owner = p, .offset = offset, .done = done, .ctx = ctx};
  str_fmt(w->dir, sizeof w->dir, "%s", log->dir);
  snapshot_path(w->path, sizeof w->path, log->dir, offset, SNAPSHOT_SUFFIX);
  snapshot_path(w->tmp, sizeof w->tmp, log->dir, offset, SNAPSHOT_TMP_SUFFIX);
  struct buf bytes;
  buf_init(&bytes);
  producer_state_encode(&p->state, &bytes);
  bool ok = write_tmp(w, &bytes);
  buf_free(&bytes);
  if (!ok) {
    env_log(log->env, ENV_LOG_WARN, "%s: could not write snapshot %020lld", log->dir,
            (long long)offset);
    free(w);
    return false;
  }
  p->writes[p->write_count++] = w;
  env_file file = w->file; /* w may be gone once fsync returns */
  log->env->fsync(log->env, file, write_synced, w);
  log->env->file_close(log->env, file); /* the world syncs its own (env.h) */
  return true;
}

/* ---- loading ---- */

/* Exactly 20 digits and suffix. */
static bool parse_snapshot_name(const char *name, const char *suffix, int64_t *offset) {
  size_t slen = strlen(suffix);
  if (strlen(name) != SNAPSHOT_NAME_DIGITS + slen) return false;
  if (strcmp(name + SNAPSHOT_NAME_DIGITS, suffix) != 0) return false;
  char digits[SNAPSHOT_NAME_DIGITS + 1];
  for (int i = 0; i < SNAPSHOT_NAME_DIGITS; i++) {
    if (name[i] < '0' || name[i] > '9') return false;
    digits[i] = name[i];
  }
  digits[SNAPSHOT_NAME_DIGITS] = 0;
  return str_to_i64(digits, offset) && *offset >= 0;
}

struct snapshot_listing {
  struct plog *log;
  int32_t tmp_count; /* leftovers of writes a crash interrupted, removed */
};

static void list_snapshot(void *ctx, const char *name, bool is_dir) {
  struct snapshot_listing *l = ctx;
  int64_t offset;
  if (is_dir) return;
  if (parse_snapshot_name(name, SNAPSHOT_SUFFIX, &offset)) {
    snapshots_insert(l->log->producers, offset);
  } else if (parse_snapshot_name(name, SNAPSHOT_TMP_SUFFIX, &offset)) {
    char path[SNAPSHOT_PATH_BYTES];
    snapshot_path(path, sizeof path, l->log->dir, offset, SNAPSHOT_TMP_SUFFIX);
    l->log->env->unlink(l->log->env, path);
    l->tmp_count++;
  }
}

/* The batch headers of one segment from the state's end offset on. */
static int scan_segment(struct plog *log, struct segment *s, struct producer_state *st) {
  if (s->next_offset <= st->end_offset || s->size_bytes == 0) return 0;
  int open_rc = segment_files_open(log->env, s);
  if (open_rc != 0) return open_rc;
  struct header_cursor c;
  struct rb_header h;
  uint64_t pos = 0;
  if (st->end_offset > s->base_offset) {
    int rc = segment_seek(log->env, s, st->end_offset, &c, &pos, &h);
    if (rc != HC_OK) return rc < 0 ? rc : ENV_EIO;
  } else {
    header_cursor_init(&c, log->env, s->log_file, s->size_bytes);
  }
  for (uint64_t n = 0; n <= s->size_bytes / RB_HEADER_BYTES; n++) {
    int rc = header_cursor_read(&c, pos, &h);
    if (rc == HC_END) return 0;
    if (rc != HC_OK) return rc < 0 ? rc : ENV_EIO; /* recovery checked these batches */
    if (h.base_offset >= st->end_offset) producer_state_note(st, &h);
    pos += rb_header_size(&h);
  }
  return ENV_EIO;
}

/* Every batch from the state's end offset to the log's. */
static int scan_log(struct plog *log, struct producer_state *st) {
  producer_state_advance(st, log->segs[0]->base_offset); /* deleted below: KIP-360 keeps it */
  for (int32_t i = plog_segment_floor(log, st->end_offset); i < log->seg_count; i++) {
    int rc = scan_segment(log, log->segs[i], st);
    if (rc != 0) return rc;
  }
  producer_state_advance(st, plog_end_offset(log));
  ASSERT(st->end_offset == plog_end_offset(log));
  return 0;
}

static bool snapshot_read(struct plog *log, int64_t offset, struct producer_state *st) {
  char path[SNAPSHOT_PATH_BYTES];
  snapshot_path(path, sizeof path, log->dir, offset, SNAPSHOT_SUFFIX);
  struct buf bytes;
  buf_init(&bytes);
  bool ok = atomic_file_read(log->env, path, &bytes) == 0 &&
            producer_state_decode(bytes.data, bytes.len, st) && st->end_offset == offset;
  buf_free(&bytes);
  return ok;
}

/* The newest snapshot at or below the end offset that reads back whole (a
 * bad one is deleted), then the batches past it. */
static int rebuild(struct plog *log) {
  struct plog_producers *p = log->producers;
  struct producer_state *st = &p->state;
  snapshots_drop_past_end(log);
  producer_state_reset(st, 0);
  for (int32_t i = p->snapshot_count - 1; i >= 0; i--) {
    if (snapshot_read(log, p->snapshots[i], st)) break;
    env_log(log->env, ENV_LOG_WARN, "%s: snapshot %020lld is unreadable; deleting it", log->dir,
            (long long)p->snapshots[i]);
    snapshots_remove(log, i, i + 1);
    producer_state_reset(st, 0);
  }
  int rc = scan_log(log, st);
  p->broken = rc != 0;
  if (rc != 0)
    env_log(log->env, ENV_LOG_ERROR, "%s: could not rebuild the producer state: error %d",
            log->dir, rc);
  return rc;
}

/* Kafka keeps a snapshot per segment: at its base offset. Others (a clean
 * shutdown's, inside a segment) are only of use while they are the newest:
 * the rest go, so the files stay bounded by the segments. */
static void prune(struct plog *log) {
  struct plog_producers *p = log->producers;
  for (int32_t i = p->snapshot_count - 2; i >= 0; i--) {
    int64_t offset = p->snapshots[i];
    if (log->segs[plog_segment_floor(log, offset)]->base_offset != offset)
      snapshots_remove(log, i, i + 1);
  }
}

int plog_producers_load(struct plog *log) {
  ASSERT(log->producers == NULL && log->seg_count > 0);
  struct plog_producers *p = calloc(1, sizeof *p);
  ASSERT(p != NULL);
  producer_state_init(&p->state, 0);
  log->producers = p;
  struct snapshot_listing l = {.log = log};
  int rc = log->env->list(log->env, log->dir, list_snapshot, &l);
  if (rc == 0) rc = rebuild(log);
  if (rc == 0) prune(log);
  if (rc == 0)
    env_log(log->env, ENV_LOG_DEBUG, "%s: %d producers (%d snapshots)", log->dir,
            p->state.count, p->snapshot_count);
  return rc;
}

/* ---- the log's hooks ---- */

void plog_producers_note(struct plog *log, const uint8_t *batches, size_t len) {
  struct plog_producers *p = log->producers;
  if (!p) return; /* not loaded yet: plog_open's own scan will see them */
  size_t at = 0;
  for (size_t i = 0; at < len && i <= len / RB_HEADER_BYTES; i++) {
    struct rb_header h;
    size_t size = rb_frame(batches + at, len - at, &h);
    ASSERT(size > 0);
    producer_state_note(&p->state, &h);
    at += size;
  }
  ASSERT(at == len);
  ASSERT(p->broken || p->state.end_offset == plog_end_offset(log));
}

void plog_producers_rolled(struct plog *log) {
  struct plog_producers *p = log->producers;
  if (!p || p->broken) return;
  ASSERT(p->state.end_offset == plog_active(log)->base_offset);
  if (snapshots_has(p, p->state.end_offset) || write_in_flight(p, p->state.end_offset)) return;
  snapshot_start(log, NULL, NULL);
}

int plog_producers_truncated(struct plog *log) {
  struct plog_producers *p = log->producers;
  if (!p) return 0;
  int64_t end = plog_end_offset(log);
  for (int32_t i = 0; i < p->write_count; i++)
    if (p->writes[i]->offset > end) p->writes[i]->stale = true;
  return rebuild(log);
}

/* Kafka deletes a segment's snapshot with the segment. The newest snapshot
 * at or below the new first segment stays: it holds the producers of the
 * deleted batches, which KIP-360 keeps. */
void plog_producers_start_moved(struct plog *log) {
  struct plog_producers *p = log->producers;
  if (!p) return;
  int32_t keep = snapshots_lower_bound(p, log->segs[0]->base_offset + 1) - 1;
  if (keep > 0) snapshots_remove(log, 0, keep);
}

void plog_producers_release(struct plog *log, bool deleting) {
  struct plog_producers *p = log->producers;
  if (!p) return;
  for (int32_t i = p->write_count - 1; i >= 0; i--) {
    struct snapshot_write *w = p->writes[i];
    w->stale = w->stale || deleting; /* the directory goes */
    w->owner = NULL;                 /* lands (or not) on its own */
  }
  producer_state_free(&p->state);
  free(p->snapshots);
  free(p);
  log->producers = NULL;
}

/* ---- the public side ---- */

enum producer_verdict plog_producer_check(struct plog *log, const uint8_t *batches, size_t len,
                                          struct producer_batch *duplicate_out) {
  ASSERT(log != NULL && log->producers != NULL && batches != NULL && len > 0);
  struct rb_header h;
  size_t size = rb_frame(batches, len, &h);
  ASSERT(size > 0); /* the caller validated the batches */
  if (h.producer_id < 0) {
    for (size_t at = size, i = 0; at < len && i <= len / RB_HEADER_BYTES; i++) {
      struct rb_header next;
      size_t n = rb_frame(batches + at, len - at, &next);
      ASSERT(n > 0);
      if (next.producer_id >= 0) return PRODUCER_INVALID;
      at += n;
    }
    return PRODUCER_NEW;
  }
  if (size != len) return PRODUCER_INVALID; /* one batch per partition (Produce v3+) */
  if (log->producers->broken && rebuild(log) != 0) return PRODUCER_UNAVAILABLE;
  return producer_state_check(&log->producers->state, &h, duplicate_out);
}

void plog_producers_snapshot(struct plog *log, env_fsync_fn done, void *ctx) {
  ASSERT(log != NULL && log->producers != NULL && done != NULL);
  struct plog_producers *p = log->producers;
  bool written =
      snapshots_has(p, p->state.end_offset) || write_in_flight(p, p->state.end_offset);
  if (written || !snapshot_start(log, done, ctx)) done(ctx, 0);
}

int32_t plog_producers_expire(struct plog *log, int64_t now_ms, int64_t expiration_ms) {
  ASSERT(log != NULL && log->producers != NULL);
  return producer_state_expire(&log->producers->state, now_ms, expiration_ms);
}

const struct producer_state *plog_producers(const struct plog *log) {
  ASSERT(log != NULL && log->producers != NULL);
  return &log->producers->state;
}
