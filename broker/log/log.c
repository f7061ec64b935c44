/* The partition log's lifecycle and shape: segments in offset order, the
 * active one last, rolls, the epoch cache's file, close and delete. Appends,
 * reads, recovery, retention, truncation and flushes have files of their
 * own. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "log/cleaner.h"
#include "log/log_internal.h"
#include "log/segment_cache.h"

int64_t plog_start_offset(const struct plog *log) { return log->start_offset; }

int64_t plog_end_offset(const struct plog *log) { return plog_active(log)->next_offset; }

int64_t plog_recovery_point(const struct plog *log) { return log->recovery_point; }

bool plog_offline(const struct plog *log) { return log->offline; }

int plog_segment_count(const struct plog *log) { return log->seg_count; }

uint64_t plog_size_bytes(const struct plog *log) {
  uint64_t total = 0;
  for (int32_t i = 0; i < log->seg_count; i++) total += log->segs[i]->size_bytes;
  return total;
}

int32_t plog_latest_epoch(const struct plog *log) { return epoch_cache_latest(&log->epochs); }

void plog_end_offset_for_epoch(const struct plog *log, int32_t epoch, int32_t *epoch_out,
                               int64_t *end_offset_out) {
  epoch_cache_end_offset_for(&log->epochs, epoch, plog_end_offset(log), epoch_out,
                             end_offset_out);
}

void plog_segments_push(struct plog *log, struct segment *s) {
  ASSERT(log->seg_count < PLOG_SEGMENTS_MAX);
  ASSERT(log->seg_count == 0 || plog_active(log)->base_offset < s->base_offset);
  if (log->seg_count == log->seg_cap) {
    int32_t cap = log->seg_cap ? log->seg_cap * 2 : 8;
    struct segment **segs = realloc(log->segs, (size_t)cap * sizeof *segs);
    ASSERT(segs != NULL);
    log->segs = segs;
    log->seg_cap = cap;
  }
  log->segs[log->seg_count++] = s;
}

int32_t plog_segment_floor(const struct plog *log, int64_t offset) {
  ASSERT(log->seg_count > 0);
  int32_t lo = 0, hi = log->seg_count; /* first segment with base > offset */
  while (lo < hi) {
    int32_t mid = lo + (hi - lo) / 2;
    if (log->segs[mid]->base_offset <= offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo > 0 ? lo - 1 : 0;
}

/* A new active segment at the end offset. An empty active segment stays:
 * rolling it would only make another empty one. */
int plog_roll(struct plog *log, int64_t now_ms) {
  struct segment *old = plog_active(log);
  if (old->size_bytes == 0) return 0;
  int rc = segment_seal(log->env, old);
  if (rc != 0) return rc;
  struct segment *s;
#ifdef SLUICE_MUTANT_ROLL_BASE_OFF_BY_ONE /* mutant: based at the old last offset */
  rc = segment_create(log->env, log->dir, old->next_offset - 1, &log->cfg, now_ms, &s);
#else
  rc = segment_create(log->env, log->dir, old->next_offset, &log->cfg, now_ms, &s);
#endif
  if (rc != 0) {
    env_log(log->env, ENV_LOG_ERROR, "%s: could not roll a segment at offset %lld: error %d",
            log->dir, (long long)old->next_offset, rc);
    return rc;
  }
  plog_segments_push(log, s);
  log->dir_dirty = true;
  env_log(log->env, ENV_LOG_DEBUG, "%s: rolled segment %020lld", log->dir,
          (long long)s->base_offset);
  plog_producers_rolled(log);
  return 0;
}

void plog_epochs_store(struct plog *log) {
  struct buf text;
  buf_init(&text);
  epoch_cache_format(&log->epochs, &text);
  atomic_file_writer_submit(log->epoch_writer, text.data, text.len);
  buf_free(&text);
}

void plog_segment_release(struct plog *log, struct segment *s) {
  ASSERT(s != NULL);
  /* An orphan outlives the log, and maybe the cache: out of it now. */
  if (s->in_cache) seg_cache_closed(s->cache, s);
  if (s->fsyncs_pending > 0)
    s->orphan = true;
  else
    segment_free(log->env, s);
}

void plog_files_idle(struct plog *log) {
  if (!log->cfg.cache) return;
  for (int32_t i = 0; i < log->seg_count; i++)
    if (!segment_files_pinned(log->segs[i])) segment_files_close(log->env, log->segs[i]);
}

void plog_free(struct plog *log) {
  ASSERT(log->flush == NULL && log->waiter_count == 0);
  ASSERT(log->retired == NULL && log->replaced_count == 0);
  epoch_cache_free(&log->epochs);
  free(log->replaced_files);
  free(log->waiters);
  free(log->segs);
  free(log);
}

/* Lets go of every segment, the epoch writer and the flush in flight. */
static void plog_release_all(struct plog *log, bool deleting) {
  plog_cleaner_release(log);
  plog_flush_detach(log);
  plog_producers_release(log, deleting);
  atomic_file_writer_release(log->epoch_writer, deleting);
  log->epoch_writer = NULL;
  for (int32_t i = 0; i < log->seg_count; i++) {
    struct segment *s = log->segs[i];
    /* The files hold exactly the entries; this trims anything a failed
     * write may have left past them. */
    if (!deleting && s->log_file >= 0) {
      index_truncate(log->env, &s->oindex, s->oindex.count);
      index_truncate(log->env, &s->tindex, s->tindex.count);
    }
    plog_segment_release(log, s);
  }
  log->seg_count = 0;
  plog_retired_close(log);
}

void plog_close(struct plog *log) {
  if (!log) return;
  plog_release_all(log, false);
  plog_free(log);
}

struct dir_names {
  char (*names)[256];
  int32_t count;
  int32_t cap;
};

static void collect_name(void *ctx, const char *name, bool is_dir) {
  struct dir_names *d = ctx;
  (void)is_dir;
  if (strlen(name) >= sizeof d->names[0] || d->count >= PLOG_SEGMENTS_MAX * 4) return;
  if (d->count == d->cap) {
    int32_t cap = d->cap ? d->cap * 2 : 32;
    char(*names)[256] = realloc(d->names, (size_t)cap * sizeof *names);
    ASSERT(names != NULL);
    d->names = names;
    d->cap = cap;
  }
  str_fmt(d->names[d->count++], sizeof d->names[0], "%s", name);
}

int plog_delete(struct plog *log) {
  ASSERT(log != NULL);
  struct env *env = log->env;
  plog_release_all(log, true);
  struct dir_names d = {0};
  int rc = env->list(env, log->dir, collect_name, &d);
  for (int32_t i = 0; i < d.count && rc == 0; i++) {
    char path[PLOG_DIR_BYTES + 260];
    str_fmt(path, sizeof path, "%s/%s", log->dir, d.names[i]);
    int err = env->unlink(env, path);
    if (err != 0 && err != ENV_ENOENT) rc = err;
  }
  free(d.names);
  if (rc == 0) rc = env->rmdir(env, log->dir);
  if (rc != 0)
    env_log(env, ENV_LOG_ERROR, "could not delete %s: error %d", log->dir, rc);
  else
    env_log(env, ENV_LOG_INFO, "deleted log %s", log->dir);
  plog_free(log);
  return rc;
}
