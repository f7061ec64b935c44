/* struct plog and what the files of broker/log/ share about it. */
#ifndef SLUICE_LOG_INTERNAL_H
#define SLUICE_LOG_INTERNAL_H

#include "log/atomic_file.h"
#include "log/epoch_cache.h"
#include "log/log.h"
#include "log/segment.h"

enum {
  PLOG_DIR_BYTES = 1024,
  PLOG_SEGMENTS_MAX = 1 << 20,
  PLOG_FLUSH_WAITERS_MAX = 1 << 20,
};

struct flush_op;
struct plog_producers;

struct flush_waiter {
  env_fsync_fn done;
  void *ctx;
};

struct plog {
  struct env *env;
  char dir[PLOG_DIR_BYTES];
  struct log_config cfg;
  struct segment **segs; /* by base offset; the last one is active */
  int32_t seg_count;
  int32_t seg_cap;
  int64_t start_offset;
  int64_t recovery_point;
  bool dir_dirty;           /* files created or removed since the last dir sync */
  struct segment *retired;  /* deleted; closed at the next maintain (readers may hold them) */
  env_file *replaced_files; /* .log files a truncation copied away from; closed likewise */
  int32_t replaced_count;
  int32_t replaced_cap;
  struct epoch_cache epochs;
  struct atomic_file_writer *epoch_writer;
  struct flush_op *flush;       /* the fsync round in flight */
  struct flush_waiter *waiters; /* flushes asked for during it: the next round's */
  int32_t waiter_count;
  int32_t waiter_cap;
  struct plog_producers *producers; /* idempotent producers (producers.c) */
  /* A flush failed: appends and flushes fail until the log is opened again
   * (flush.c, "fsyncgate"). failure_marked: PLOG_FLUSH_FAILED_FILE names
   * the failure on disk, until a flush after a reopen succeeds. */
  bool offline;
  bool failure_marked;
  /* The log cleaner (cleaner.c): its state, and a count of retired segments
   * by which a pass under way sees that the segments moved under it. */
  struct plog_cleaner *cleaner;
  uint32_t retire_gen;
  bool compacted; /* cleanup.policy has compact: a follower accepts offset gaps */
};

static inline struct segment *plog_active(const struct plog *log) {
  return log->segs[log->seg_count - 1];
}

/* log.c */
void plog_segments_push(struct plog *log, struct segment *s);
int plog_roll(struct plog *log, int64_t now_ms);
/* The last segment whose base offset <= offset (0 if none is). */
int32_t plog_segment_floor(const struct plog *log, int64_t offset);
void plog_epochs_store(struct plog *log);
/* Closes a segment, or leaves it to its fsync completion. */
void plog_segment_release(struct plog *log, struct segment *s);
/* Closes the files of every segment that may be closed (segment cache). */
void plog_files_idle(struct plog *log);
/* Frees the log's memory; segments, waiters and writers must be handled. */
void plog_free(struct plog *log);

/* retention.c */
/* Deletes segments [0, n): unlinked now, closed at the next maintain. If
 * that is every segment, rolls first (at now_ms) so an empty active one
 * remains. Returns how many went. */
int plog_delete_oldest(struct plog *log, int32_t n, int64_t now_ms);
/* Closes the retired segments and the replaced files. */
void plog_retired_close(struct plog *log);
/* Unlinks a segment the caller took out of log->segs; closed later. */
void plog_retire(struct plog *log, struct segment *s);

/* truncate.c */
/* A .log left behind by a truncation's copy: closed at the next maintain. */
void plog_file_replaced(struct plog *log, env_file file);
/* An fsync of s->log_file succeeded: makes its pending cut durable (the copy
 * renamed over the .log, or the marker removed). 0 or ENV_E*. */
int plog_cut_settle(struct plog *log, struct segment *s);
/* Recovery is about to cut s at offset cut (in place, or the segments after
 * it): a durable marker of the cut first (unless a lower one is pending),
 * so that a power loss before the next fsync cannot undo it. 0 or ENV_E*. */
int plog_cut_mark(struct plog *log, struct segment *s, int64_t cut);
/* Starts the flush that settles the pending cuts, if there are any. */
void plog_cut_flush(struct plog *log);
/* The lowest pending cut offset (INT64_MAX if none): the recovery point may
 * not pass it. */
int64_t plog_cut_floor(const struct plog *log);

/* producers.c: the producer state follows the log (log/producers.h) */
/* plog_open, once recovery is done: the newest snapshot and a scan past it. */
int plog_producers_load(struct plog *log);
/* Batches just written (with their final offsets). */
void plog_producers_note(struct plog *log, const uint8_t *batches, size_t len);
/* A new active segment: a snapshot at its base offset. */
void plog_producers_rolled(struct plog *log);
/* The end offset went back: snapshots past it go; the state is rebuilt. */
int plog_producers_truncated(struct plog *log);
/* Segments were deleted from the start: their snapshots go. */
void plog_producers_start_moved(struct plog *log);
/* The log is closing or being deleted. */
void plog_producers_release(struct plog *log, bool deleting);

/* flush.c */
/* The marker of a failed flush, in the partition's directory: the next
 * open rewrites the unflushed tail (recovery.c) and a successful flush
 * removes it. */
#define PLOG_FLUSH_FAILED_FILE "flush-failed"
/* The log is going away: the round in flight completes on its own. */
void plog_flush_detach(struct plog *log);
/* A truncation: the round in flight cannot vouch past end_offset. */
void plog_flush_truncated(struct plog *log, int64_t end_offset);

#endif
