/* The log cleaner (Kafka's LogCleaner) for cleanup.policy=compact: of every
 * key only its latest record is kept, below the uncleanable tail.
 *
 * One pass over a log: the dirty section (from the cleaner checkpoint to
 * the first uncleanable segment) is read into an offset map, key -> latest
 * offset; then every segment below the first uncleanable one is rewritten
 * without the records the map supersedes, without keyless records, and
 * without tombstones whose KIP-534 delete horizon has passed. Records keep
 * their offsets; a batch keeps its base offset and lastOffsetDelta; a
 * batch emptied is still kept, with no records, when it is one of the last
 * batches the producer state holds for its producer (Kafka keeps the last
 * batch of each producer so idempotence survives) or when it is its
 * segment's last batch (so a segment's end offset never moves: recovery
 * reads a segment that ends before the next one begins as a lost tail).
 *
 * The first uncleanable segment is the active one, or the first that is not
 * wholly below both the given bound (the high watermark) and the recovery
 * point, or the first with a record newer than min.compaction.lag.ms.
 *
 * A segment's rewrite is crash-safe, with Kafka's suffixes: its three files
 * are written as "<base>.log.cleaned", ".index.cleaned", ".timeindex.cleaned",
 * fsynced, renamed to ".swap" (the indexes first, the .log last: a .log.swap
 * means all three are whole), the directory synced, then each .swap renamed
 * over the segment's file (the indexes first, the .log last) and the
 * directory synced. plog_open (plog_cleaner_recover) discards .cleaned files
 * and .swap indexes without a .log.swap, and completes a swap whose
 * .log.swap exists (an index already replaced, or lost, is rebuilt).
 *
 * Work is done in steps (plog_clean_step), each reading at most bytes_max
 * of batches (one batch alone if larger), so the caller can spread a pass
 * over its loop's turns; deterministic. */
#ifndef SLUICE_LOG_CLEANER_H
#define SLUICE_LOG_CLEANER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log/log.h"

struct cleaner_config {
  double min_cleanable_ratio;  /* min.cleanable.dirty.ratio (0.5) */
  int64_t min_lag_ms;          /* min.compaction.lag.ms (0) */
  int64_t max_lag_ms;          /* max.compaction.lag.ms (INT64_MAX) */
  int64_t delete_retention_ms; /* delete.retention.ms (86400000) */
  int64_t map_bytes_max;       /* log.cleaner.dedupe.buffer.size (128 MiB) */
};

/* What a step did. */
enum plog_clean_status {
  PLOG_CLEAN_IDLE = 0, /* no pass under way and none due */
  PLOG_CLEAN_MORE = 1, /* a pass is under way: step again */
  PLOG_CLEAN_WAIT = 2, /* waiting for an fsync of the cleaned files */
  PLOG_CLEAN_DONE = 3, /* a pass finished */
};

/* The share of the cleanable bytes not yet cleaned (0 when nothing is
 * cleanable). */
double plog_cleaner_dirty_ratio(struct plog *log, const struct cleaner_config *cfg,
                                int64_t now_ms, int64_t max_offset);
/* A pass is due: the dirty ratio reached min.cleanable.dirty.ratio, or a
 * dirty record is older than max.compaction.lag.ms, or a tombstone's delete
 * horizon seen by an earlier pass has passed. */
bool plog_cleaner_due(struct plog *log, const struct cleaner_config *cfg, int64_t now_ms,
                      int64_t max_offset);
/* Starts a pass if none is under way and one is due, then does one step:
 * a plog_clean_status, or ENV_E* (the pass is given up, its files removed;
 * what earlier swaps of it made stays, cleaned). */
int plog_clean_step(struct plog *log, const struct cleaner_config *cfg, int64_t now_ms,
                    int64_t max_offset, size_t bytes_max);
/* Rolled segments are not yet durable (the recovery point is below the
 * active segment): the cleaner cannot touch them until a flush. Kafka
 * flushes a segment when it rolls; Sluice in page-cache mode flushes only
 * on shutdown, so the caller flushes a compacted log that says so. */
bool plog_cleaner_needs_flush(const struct plog *log);
/* Offsets below it have been cleaned (the cleaner checkpoint; in memory:
 * a restarted log counts as wholly dirty). */
int64_t plog_cleaner_checkpoint(const struct plog *log);

/* A compacted log's follower accepts offset gaps from its leader (the
 * batches the leader's cleaner removed). */
void plog_set_compacted(struct plog *log, bool compacted);

/* Hooks of the log (log.c, recovery.c). */
void plog_cleaner_release(struct plog *log);
int plog_cleaner_recover(struct plog *log);

#endif
