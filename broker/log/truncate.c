/* Truncation for replication (KIP-101, KIP-279): a follower cuts its log
 * back to where it agrees with the leader. Whole batches only: a cut inside
 * a batch removes that batch too.
 *
 * The bytes a fetch response references must not change (env.h, send). A
 * read (plog_read, a timestamp lookup) hands out a range of a segment's
 * open .log, and the world reads that range later than the read: the real
 * world (os/net.c) dup()s the descriptor inside send and sendfile()s from
 * the dup whenever the socket drains, however long the frame stays queued;
 * the simulator (sim/net.c) copies file parts inside send. Between the read
 * and the send the caller holds the log's own descriptor. So each segment
 * remembers how far reads have lent its file (lent_position_max), and a
 * truncation
 * - at or past that position cuts the file in place: nothing lent lies past
 *   the cut, and the appends that follow write past it too;
 * - below it, copies the kept bytes into a new file, which becomes the
 *   segment's file. The old file's bytes never change: the log stops
 *   writing to it, and closes its descriptor at the next plog_maintain, as
 *   it closes retired segments (the server sends a fetch in the same event
 *   as its reads). The old inode outlives that close for as long as a
 *   queued send holds its dup() (real world), and the simulator's sends
 *   took their copy already; its files also stay alive, like inodes, while
 *   a descriptor names them after a rename or unlink (sim/disk.c).
 *
 * The copy becomes the .log by a rename, but only once an fsync made it
 * durable: until then the old .log holds the durable kept bytes, and the
 * copy lives under a marker name, "<base>.log.<cut>.truncating". Recovery
 * that finds a marker cuts the .log at <cut> and drops the segments after
 * it (they were written while the cut was pending), so a crash never leaves
 * truncated batches of one leader next to appended batches of another. The
 * truncation starts the flush that renames the copy (flush.c); until it
 * does, the recovery point stays at or below the cut. */
#include <stdlib.h>

#include "base/assert.h"
#include "log/log_internal.h"

enum { COPY_CHUNK_BYTES = 64 * 1024, CUT_PATH_BYTES = PLOG_DIR_BYTES + 96 };

void plog_file_replaced(struct plog *log, env_file file) {
  ASSERT(file >= 0);
  ASSERT(log->replaced_count < PLOG_SEGMENTS_MAX);
  if (log->replaced_count == log->replaced_cap) {
    int32_t cap = log->replaced_cap ? log->replaced_cap * 2 : 4;
    env_file *files = realloc(log->replaced_files, (size_t)cap * sizeof *files);
    ASSERT(files != NULL);
    log->replaced_files = files;
    log->replaced_cap = cap;
  }
  log->replaced_files[log->replaced_count++] = file;
}

int64_t plog_cut_floor(const struct plog *log) {
  int64_t floor = INT64_MAX;
  for (int32_t i = 0; i < log->seg_count; i++) {
    int64_t cut = log->segs[i]->cut_offset;
    if (cut >= 0 && cut < floor) floor = cut;
  }
  return floor;
}

static bool cut_path(const struct plog *log, const struct segment *s, int64_t cut, char *out) {
  return segment_cut_path(out, CUT_PATH_BYTES, log->dir, s->base_offset, cut);
}

/* Copies the first len bytes of one file into another. */
static int copy_prefix(struct env *env, env_file from, env_file to, uint64_t len) {
  uint8_t *chunk = malloc(COPY_CHUNK_BYTES);
  ASSERT(chunk != NULL);
  int rc = 0;
  uint64_t at = 0;
  for (uint64_t i = 0; rc == 0 && at < len && i <= len / COPY_CHUNK_BYTES; i++) {
    size_t want = len - at < COPY_CHUNK_BYTES ? (size_t)(len - at) : COPY_CHUNK_BYTES;
    int64_t n = env->pread(env, from, chunk, want, at);
    if (n == (int64_t)want) n = env->pwrite(env, to, chunk, want, at);
    if (n != (int64_t)want) rc = n < 0 ? (int)n : ENV_EIO;
    at += want;
  }
  free(chunk);
  ASSERT(rc != 0 || at == len);
  return rc;
}

/* A durable directory entry before anything that depends on it. A failure
 * leaves the directory for the next flush, which reports it. */
static void dir_sync_now(struct plog *log) {
  int rc = log->env->dir_sync(log->env, log->dir);
  if (rc == 0) return;
  log->dir_dirty = true;
  env_log(log->env, ENV_LOG_WARN, "%s: directory sync after a truncation failed: error %d",
          log->dir, rc);
}

/* [0, pos) of s's file into a new file, which takes over under the marker of
 * cut; the old file is left as it is, for whatever was lent from it. */
static int cut_by_copy(struct plog *log, struct segment *s, uint64_t pos, int64_t cut) {
  struct env *env = log->env;
  char copy_path[CUT_PATH_BYTES], marker[CUT_PATH_BYTES], stale[CUT_PATH_BYTES];
  if (!segment_copy_path(copy_path, sizeof copy_path, log->dir, s->base_offset) ||
      !cut_path(log, s, cut, marker))
    return ENV_EINVAL;
  int rc = segment_files_open(env, s);
  if (rc != 0) return rc;
  env_file copy;
  rc = env->open(env, copy_path, ENV_O_CREATE | ENV_O_TRUNC, &copy);
  if (rc != 0) return rc;
  rc = copy_prefix(env, s->log_file, copy, pos);
  /* Named as the marker only when whole (replacing the marker of an earlier
   * pending cut at the same offset in one step). */
  if (rc == 0) rc = env->rename(env, copy_path, marker);
  if (rc != 0) {
    env->file_close(env, copy);
    env->unlink(env, copy_path);
    return rc;
  }
  dir_sync_now(log); /* the marker, before the later segments go */
  /* An earlier pending cut further on is superseded (recovery would take the
   * lower one anyway). */
  if (s->cut_offset > cut && cut_path(log, s, s->cut_offset, stale)) env->unlink(env, stale);
  plog_file_replaced(log, s->log_file);
  s->log_file = copy;
  s->log_file_gen++;
  s->lent_position_max = 0;
  s->cut_offset = cut;
  s->cut_file_is_copy = true;
  s->log_dirty = true;
  log->dir_dirty = true;
  return 0;
}

/* A pending cut moves down to cut: its marker is renamed first. */
static int cut_marker_lower(struct plog *log, struct segment *s, int64_t cut) {
  ASSERT(s->cut_offset > cut);
  char from[CUT_PATH_BYTES], to[CUT_PATH_BYTES];
  if (!cut_path(log, s, s->cut_offset, from) || !cut_path(log, s, cut, to)) return ENV_EINVAL;
  int rc = log->env->rename(log->env, from, to);
  if (rc != 0) return rc;
  dir_sync_now(log);
  s->cut_offset = cut;
  return 0;
}

static int cut_in_place(struct plog *log, struct segment *s, uint64_t pos, int64_t cut) {
  int open_rc = segment_files_open(log->env, s);
  if (open_rc != 0) return open_rc;
  if (s->cut_offset > cut) {
    int rc = cut_marker_lower(log, s, cut);
    if (rc != 0) return rc;
  }
  s->log_dirty = true;
  return log->env->truncate(log->env, s->log_file, pos);
}

/* s's file ends at pos (the batch starting at end_offset and all after it
 * go). A pending cut below end_offset stays the one recovery would make. */
static int cut_file(struct plog *log, struct segment *s, uint64_t pos, int64_t end_offset) {
  ASSERT(pos <= s->size_bytes);
  int64_t cut = s->cut_offset >= 0 && s->cut_offset < end_offset ? s->cut_offset : end_offset;
  if (pos >= s->lent_position_max) return cut_in_place(log, s, pos, cut);
  return cut_by_copy(log, s, pos, cut);
}

/* Recovery's cuts are in place and not durable until the .log's next
 * fsync: a power loss before it would bring back the bytes recovery
 * dropped, valid again if a read fault (not the stored bytes) made them
 * look corrupt, under offsets appended anew since. So recovery names its
 * cut as a marker first, as a truncation does, and the next recovery cuts
 * there again; the flush that plog_open starts settles it. Kafka's
 * recovery does not do this (its FileChannel truncate is unsynced too). */
int plog_cut_mark(struct plog *log, struct segment *s, int64_t cut) {
  ASSERT(cut >= s->base_offset);
  s->log_dirty = true; /* its flush settles the marker */
  if (s->cut_offset >= 0 && s->cut_offset <= cut) return 0;
  if (s->cut_offset > cut) return cut_marker_lower(log, s, cut);
  struct env *env = log->env;
  char marker[CUT_PATH_BYTES];
  if (!cut_path(log, s, cut, marker)) return ENV_EINVAL;
  env_file f;
  int rc = env->open(env, marker, ENV_O_CREATE | ENV_O_TRUNC, &f);
  if (rc != 0) return rc;
  env->file_close(env, f);
  rc = env->dir_sync(env, log->dir); /* the marker, before the bytes go */
  if (rc != 0) {
    env->unlink(env, marker);
    return rc;
  }
  s->cut_offset = cut;
  s->cut_file_is_copy = false;
  return 0;
}

int plog_cut_settle(struct plog *log, struct segment *s) {
  ASSERT(s->cut_offset >= 0 && !s->retired);
  struct env *env = log->env;
  char marker[CUT_PATH_BYTES], path[CUT_PATH_BYTES];
  if (!cut_path(log, s, s->cut_offset, marker) ||
      !segment_file_path(path, sizeof path, log->dir, s->base_offset, ".log"))
    return ENV_EINVAL;
  int rc;
  if (s->cut_file_is_copy) {
    rc = env->rename(env, marker, path); /* the durable copy replaces the .log */
    if (rc == 0) s->cut_file_is_copy = false;
  } else {
    rc = env->unlink(env, marker); /* the .log's own cut is durable */
    if (rc == ENV_ENOENT) rc = 0;
  }
  if (rc == 0) rc = env->dir_sync(env, log->dir);
  if (rc != 0) {
    s->log_dirty = true; /* the next flush tries again */
    return rc;
  }
  s->cut_offset = -1;
  return 0;
}

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
  struct segment *s = log->segs[i];
  if (offset >= s->next_offset) {
    drop_after(log, i + 1);
    return 0;
  }
  struct header_cursor c;
  struct rb_header h;
  uint64_t pos;
  int rc = segment_seek(log->env, s, offset, &c, &pos, &h);
  if (rc != HC_OK) return rc < 0 ? rc : ENV_EIO;
  rc = cut_file(log, s, pos, h.base_offset); /* a marker first, if one is needed */
  if (rc != 0) return rc;
  drop_after(log, i + 1);
  return segment_cut_indexes(log->env, s, pos, h.base_offset, log->cfg.index_interval_bytes);
}

/* Nobody waits on the flush of a pending cut: flush.c logs its errors. */
static void cut_flushed(void *ctx, int err) {
  (void)ctx;
  (void)err;
}

void plog_cut_flush(struct plog *log) {
  if (plog_cut_floor(log) != INT64_MAX) plog_flush(log, cut_flushed, NULL);
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
  plog_producers_truncated(log); /* rebuilt, whether the cut went through or not */
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
  plog_cut_flush(log);
  ASSERT(log->recovery_point <= end && log->start_offset <= end);
  ASSERT(epoch_cache_latest(&log->epochs) < 0 ||
         log->epochs.entries[log->epochs.count - 1].start_offset < end);
  env_log(log->env, ENV_LOG_INFO, "%s: truncated to offset %lld", log->dir, (long long)end);
  return 0;
}

int plog_truncate_fully(struct plog *log, int64_t offset) {
  ASSERT(log != NULL);
  if (offset < 0) return ENV_EINVAL;
  /* The old segments go first: one of them may have offset as its base,
   * and the new segment must be a new file, not that one truncated. */
  while (log->seg_count > 0) plog_retire(log, log->segs[--log->seg_count]);
  log->dir_dirty = true;
  struct segment *s;
  int rc =
      segment_create(log->env, log->dir, offset, &log->cfg, log->env->wall_ms(log->env), &s);
  if (rc != 0) {
    env_log(log->env, ENV_LOG_ERROR, "%s: emptying the log at %lld failed: error %d", log->dir,
            (long long)offset, rc);
    return rc;
  }
  plog_segments_push(log, s);
  log->start_offset = offset;
  log->recovery_point = offset; /* nothing below it is in the log any more */
  plog_producers_truncated(log);
  plog_flush_truncated(log, offset);
  if (epoch_cache_truncate_from_end(&log->epochs, 0)) plog_epochs_store(log);
  ASSERT(plog_start_offset(log) == offset && plog_end_offset(log) == offset);
  ASSERT(epoch_cache_latest(&log->epochs) < 0);
  env_log(log->env, ENV_LOG_INFO, "%s: emptied, restarting at offset %lld", log->dir,
          (long long)offset);
  return 0;
}
