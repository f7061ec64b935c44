/* Flushing: fsync every file with unsynced writes, then advance the
 * recovery point to the end offset as of the start of that round. One round
 * is in flight at a time; flushes asked for meanwhile wait and share the next
 * round (group commit), which starts when the current one completes and
 * covers everything written up to then. fsync is an env event, so a round
 * can outlive its log: segments with fsyncs in flight are freed by their last
 * completion, and a detached round calls its waiters without touching the
 * log. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "log/log_internal.h"

enum flush_file { FLUSH_LOG, FLUSH_OFFSET_INDEX, FLUSH_TIME_INDEX };

struct flush_req {
  struct flush_op *op;
  struct segment *seg;
  enum flush_file which;
  env_file file;     /* the one fsynced: a truncation may have given seg another */
  int reopen_err;    /* seg's files could not be reopened (log/segment_cache.h) */
  uint64_t file_gen; /* seg->log_file_gen when issued: the cache may close and
                        reopen the same .log meanwhile, a truncation replaces it */
};

struct flush_op {
  struct env *env;
  struct plog *log; /* NULL once detached */
  int64_t target;   /* the end offset when the round started */
  int32_t pending;
  int err;
  struct flush_waiter *waiters;
  int32_t waiter_count;
  int32_t started_count; /* waiters covered by this round's fsyncs */
  int32_t req_count;
  struct flush_req reqs[];
};

static void flush_finish(struct flush_op *op);
static void waiter_push(struct flush_waiter **arr, int32_t *count, int32_t *cap,
                        env_fsync_fn done, void *ctx);

static void flush_put(struct flush_op *op, int err) {
  ASSERT(op->pending > 0);
#ifdef SLUICE_MUTANT_FSYNC_ERROR_IGNORED /* mutant: a failed fsync counts as done */
  err = 0;
#endif
  /* Out of descriptors, a file could not be reopened (nothing was lost);
   * any other error says more. */
  if (err != 0 && (op->err == 0 || op->err == ENV_EMFILE)) op->err = err;
  if (--op->pending == 0) flush_finish(op);
}

static void flush_file_done(void *ctx, int err) {
  struct flush_req *req = ctx;
  struct flush_op *op = req->op;
  struct segment *s = req->seg;
  ASSERT(s->fsyncs_pending > 0);
  s->fsyncs_pending--;
  /* The next round tries again (the data may be gone from the page cache
   * already; the error still reaches the waiters of this round). */
  if (err != 0 && req->which == FLUSH_LOG) s->log_dirty = true;
  if (err != 0 && req->which == FLUSH_OFFSET_INDEX) s->oindex.dirty = true;
  if (err != 0 && req->which == FLUSH_TIME_INDEX) s->tindex.dirty = true;
  /* The file of a pending cut is durable: the cut can be made durable too,
   * before the round may move the recovery point past it. */
  if (err == 0 && req->which == FLUSH_LOG && op->log && !s->retired && s->cut_offset >= 0 &&
      req->file_gen == s->log_file_gen)
    err = plog_cut_settle(op->log, s);
  if (s->orphan && s->fsyncs_pending == 0) segment_free(op->env, s);
  flush_put(op, err);
}

static int32_t dirty_files(const struct segment *s) {
  return (int32_t)s->log_dirty + (int32_t)s->oindex.dirty + (int32_t)s->tindex.dirty;
}

/* A segment whose closed files could not be reopened: its fsync fails, as
 * a completion later, never inside plog_flush. */
static void flush_reopen_failed(void *ctx) {
  struct flush_req *req = ctx;
  flush_file_done(req, req->reopen_err);
}

static void flush_issue(struct flush_op *op, struct segment *s, enum flush_file which) {
  ASSERT(op->req_count < op->pending);
  struct flush_req *req = &op->reqs[op->req_count++];
  req->op = op;
  req->seg = s;
  req->which = which;
  req->reopen_err = segment_files_open(op->env, s);
  req->file_gen = s->log_file_gen;
  if (req->reopen_err != 0) {
    req->file = -1;
    s->fsyncs_pending++;
    op->env->timer_start(op->env, 0, flush_reopen_failed, req);
    return;
  }
#ifdef SLUICE_MUTANT_FSYNC_WRONG_FILE /* mutant: the .log's fsync goes to its index */
  req->file = which == FLUSH_TIME_INDEX ? s->tindex.file : s->oindex.file;
#else
  req->file = which == FLUSH_LOG            ? s->log_file
              : which == FLUSH_OFFSET_INDEX ? s->oindex.file
                                            : s->tindex.file;
#endif
  s->fsyncs_pending++;
  op->env->fsync(op->env, req->file, flush_file_done, req);
}

/* One round: fsyncs of every dirty file (at least the active .log, so the
 * waiters always hear back from an fsync completion, never from inside
 * plog_flush). */
static void flush_start(struct plog *log, struct flush_waiter *waiters, int32_t count) {
  int32_t files = 0;
  for (int32_t i = 0; i < log->seg_count; i++) files += dirty_files(log->segs[i]);
  int32_t reqs = files > 0 ? files : 1;
  struct flush_op *op = calloc(1, sizeof *op + (size_t)reqs * sizeof(struct flush_req));
  ASSERT(op != NULL);
  op->env = log->env;
  op->log = log;
  op->target = plog_end_offset(log);
  op->waiters = waiters;
  op->waiter_count = op->started_count = count;
  op->pending = reqs + 1; /* held until every fsync is issued */
  /* An offline log's rounds fail, whatever their fsyncs say: pages an
   * earlier failed fsync dropped are not in them. */
  if (log->offline) op->err = ENV_EIO;
  log->flush = op;
  if (log->dir_dirty) {
    log->dir_dirty = false;
    int rc = log->env->dir_sync(log->env, log->dir);
    if (rc != 0) op->err = rc;
  }
  for (int32_t i = 0; i < log->seg_count; i++) {
    struct segment *s = log->segs[i];
    bool log_dirty = s->log_dirty, oindex_dirty = s->oindex.dirty,
         tindex_dirty = s->tindex.dirty;
    s->log_dirty = s->oindex.dirty = s->tindex.dirty = false;
    if (log_dirty) flush_issue(op, s, FLUSH_LOG);
    if (oindex_dirty) flush_issue(op, s, FLUSH_OFFSET_INDEX);
    if (tindex_dirty) flush_issue(op, s, FLUSH_TIME_INDEX);
  }
  if (files == 0) flush_issue(op, plog_active(log), FLUSH_LOG);
  ASSERT(op->req_count == reqs);
  flush_put(op, 0);
}

/* The failure, named beside the segments before anyone hears of it: a
 * restart without a power loss finds the dropped pages still readable, so
 * the next open must write the unflushed tail again (recovery.c). */
static void failure_mark(struct plog *log) {
  struct env *env = log->env;
  char path[PLOG_DIR_BYTES + 32];
  str_fmt(path, sizeof path, "%s/%s", log->dir, PLOG_FLUSH_FAILED_FILE);
  env_file f;
  int rc = env->open(env, path, ENV_O_CREATE, &f);
  if (rc == 0) {
    env->file_close(env, f);
    rc = env->dir_sync(env, log->dir);
  }
  if (rc != 0)
    env_log(env, ENV_LOG_ERROR, "%s: cannot create %s: error %d", log->dir,
            PLOG_FLUSH_FAILED_FILE, rc);
  log->failure_marked = true;
}

/* Kafka's answer to an I/O error in a flush (LogDirFailureChannel): the
 * log goes offline until the broker restarts. A retry could succeed
 * without the pages the failed fsync dropped, and acknowledge on top of
 * bytes that never reach the disk (fsyncgate). */
static void take_offline(struct plog *log, int err) {
  if (log->offline) return;
  log->offline = true;
  env_log(log->env, ENV_LOG_ERROR,
          "%s: flush failed: error %d; the log is offline until the broker restarts "
          "(KAFKA_STORAGE_ERROR)",
          log->dir, err);
  failure_mark(log);
}

/* A flush after a reopen succeeded: what the failure left unflushed was
 * written again by recovery and is durable now. */
static void failure_settle(struct plog *log) {
  struct env *env = log->env;
  char path[PLOG_DIR_BYTES + 32];
  str_fmt(path, sizeof path, "%s/%s", log->dir, PLOG_FLUSH_FAILED_FILE);
  int rc = env->unlink(env, path);
  if (rc == 0 || rc == ENV_ENOENT) rc = env->dir_sync(env, log->dir);
  if (rc == 0) log->failure_marked = false;
}

/* Moves the flushes queued behind op onto it, so they end with it: on an
 * offline log (a failed round) and when the log is detached, never started
 * (ENV_EIO). */
static void fail_queued(struct plog *log, struct flush_op *op) {
  int32_t cap = op->waiter_count;
  for (int32_t i = 0; i < log->waiter_count; i++)
    waiter_push(&op->waiters, &op->waiter_count, &cap, log->waiters[i].done,
                log->waiters[i].ctx);
  free(log->waiters);
  log->waiters = NULL;
  log->waiter_count = log->waiter_cap = 0;
}

static void flush_finish(struct flush_op *op) {
  struct plog *log = op->log;
  if (log) {
    ASSERT(log->flush == op);
    log->flush = NULL;
    /* Past a pending cut the .log on disk is not this log (truncate.c). */
    int64_t cut_floor = plog_cut_floor(log);
    int64_t target = op->target < cut_floor ? op->target : cut_floor;
    if (op->err == 0 && target > log->recovery_point) log->recovery_point = target;
    /* A segment that could not be reopened for want of descriptors was not
     * fsynced, and fails the round, but no page was dropped: its data stays
     * dirty for the next round, and the log stays online. */
    if (op->err != 0 && op->err != ENV_EMFILE) take_offline(log, op->err);
    if (op->err == 0 && log->failure_marked) failure_settle(log);
    if (log->offline && log->waiter_count > 0) fail_queued(log, op);
    if (log->waiter_count > 0) {
      /* The next round takes the waiters that queued during this one. */
      struct flush_waiter *next = log->waiters;
      int32_t n = log->waiter_count;
      log->waiters = NULL;
      log->waiter_count = log->waiter_cap = 0;
      flush_start(log, next, n);
    }
  }
  /* Callbacks last: they may flush, close or delete the log again. */
  for (int32_t i = 0; i < op->waiter_count; i++) {
    struct flush_waiter w = op->waiters[i];
    w.done(w.ctx, i < op->started_count ? op->err : ENV_EIO);
  }
  free(op->waiters);
  free(op);
}

static void waiter_push(struct flush_waiter **arr, int32_t *count, int32_t *cap,
                        env_fsync_fn done, void *ctx) {
  ASSERT(*count < PLOG_FLUSH_WAITERS_MAX);
  if (*count == *cap) {
    int32_t n = *cap ? *cap * 2 : 4;
    struct flush_waiter *a = realloc(*arr, (size_t)n * sizeof *a);
    ASSERT(a != NULL);
    *arr = a;
    *cap = n;
  }
  (*arr)[(*count)++] = (struct flush_waiter){done, ctx};
}

void plog_flush(struct plog *log, env_fsync_fn done, void *ctx) {
  ASSERT(log != NULL && done != NULL);
  if (log->flush) {
#ifdef SLUICE_MUTANT_GROUP_COMMIT_LATE /* mutant: a late flush joins the round */
    int32_t cap = log->flush->waiter_count;
    waiter_push(&log->flush->waiters, &log->flush->waiter_count, &cap, done, ctx);
    log->flush->started_count = log->flush->waiter_count;
    log->flush->target = plog_end_offset(log);
    return;
#endif
    waiter_push(&log->waiters, &log->waiter_count, &log->waiter_cap, done, ctx);
    return;
  }
  struct flush_waiter *w = NULL;
  int32_t count = 0, cap = 0;
  waiter_push(&w, &count, &cap, done, ctx);
  flush_start(log, w, count);
}

void plog_flush_truncated(struct plog *log, int64_t end_offset) {
  if (log->flush && log->flush->target > end_offset) log->flush->target = end_offset;
}

void plog_flush_detach(struct plog *log) {
  struct flush_op *op = log->flush;
  if (!op) {
    ASSERT(log->waiter_count == 0);
    return;
  }
  /* The queued waiters ride along and hear ENV_EIO: their data was never
   * synced. */
  fail_queued(log, op);
  op->log = NULL;
  log->flush = NULL;
}
