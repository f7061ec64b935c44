/* One partition's log on disk, in Kafka's layout:
 *
 *   <log.dirs>/<topic>-<partition>/00000000000000000000.log        record batches
 *                                  00000000000000000000.index      offset index
 *                                  00000000000000000000.timeindex  time index
 *                                  leader-epoch-checkpoint         (epoch, start offset)
 *      00000000000000000000.log.00000000000000000042.truncating  a cut not yet durable
 *
 * Segments are named by their base offset (20 digits). Batches (magic 2) are
 * stored exactly as the producer sent them, with baseOffset and
 * partitionLeaderEpoch patched (both outside the CRC-32C). Everything goes
 * through env.h: pread/pwrite reach the page cache, fsync completes as an
 * event, so a crash may lose the unsynced tail; plog_open re-validates it.
 *
 * Error conventions: ENV_E* (negative) for disk errors and bad arguments; -1
 * (not an ENV_E* code) where the API says "out of range" or "none" (Kafka's
 * OFFSET_OUT_OF_RANGE). */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "env.h"

/* Kafka's topic configs, as the log uses them (-1 disables a retention). */
struct log_config {
  int64_t segment_bytes;        /* segment.bytes (capped at INT32_MAX: positions are int32) */
  int64_t roll_ms;              /* segment.ms */
  int64_t retention_ms;         /* retention.ms, -1 = forever */
  int64_t retention_bytes;      /* retention.bytes, -1 = unlimited */
  int32_t index_interval_bytes; /* index.interval.bytes (4096) */
  int32_t index_bytes_max;      /* segment.index.bytes (10 MiB) */
  /* The broker's open segments (log/segment_cache.h), or NULL: each
   * segment's files then stay open for its life (tests, the metadata log). */
  struct seg_cache *cache;
};

struct plog; /* one partition's log */

/* Opens or creates the partition dir and its segments. Segments whose offsets
 * all lie below recovery_point are trusted (indexes loaded, rebuilt if missing
 * or inconsistent); the segment holding the recovery point and all later ones
 * are re-validated batch by batch (whole, magic 2, CRC-32C, offsets
 * increasing), and the first bad or torn batch and everything after it is
 * truncated (later segments deleted), logged at WARN. log_start_offset is the
 * checkpointed start (0 if unknown). */
int plog_open(struct env *env, const char *dir, const struct log_config *cfg,
              int64_t recovery_point, int64_t log_start_offset, struct plog **out);
/* Flushes nothing; releases memory and file handles (a segment with an fsync
 * in flight is released when it completes). Index files are trimmed. */
void plog_close(struct plog *log);

struct plog_append_info {
  int64_t base_offset;
  int64_t last_offset;
  int64_t max_timestamp;
  int64_t append_time_ms; /* now_ms of the append (LogAppendTime topics report it) */
};
/* Appends whole batches (magic 2, as the producer sent them; the caller has
 * checked their CRCs): assigns offsets by patching each batch's baseOffset
 * and partitionLeaderEpoch in place, rolls the active segment first if due,
 * writes, and updates the indexes. A new leader_epoch (>= 0) is recorded in
 * the epoch cache. On a disk error nothing becomes visible and the ENV_E*
 * code is returned; ENV_EINVAL for malformed framing or an append larger
 * than segment.bytes (Kafka's RECORD_BATCH_TOO_LARGE). */
int plog_append(struct plog *log, uint8_t *batches, size_t len, int32_t leader_epoch,
                int64_t now_ms, struct plog_append_info *info);

/* Why plog_append_replica refused a call. Not ENV_E* codes: the data sent,
 * not the disk, is at fault, and none of it was appended. */
enum plog_replica_err {
  PLOG_ECORRUPT = -2001, /* a batch is partial, malformed, not magic 2, or fails its CRC-32C */
  PLOG_EGAP = -2002,     /* a batch starts past the offset that must come next */
  PLOG_EOVERLAP = -2003, /* a batch starts before the offset that must come next */
  PLOG_EEPOCH = -2004,   /* a batch's leader epoch is below the log's latest or an
                            earlier batch's */
};

/* A follower's append (KIP-101, KIP-279): the leader's batches as they are,
 * keeping their base offsets and partition leader epochs. They must pass the
 * checks recovery makes of stored batches (whole, magic 2, offsets, CRC-32C:
 * PLOG_ECORRUPT), start at the log end offset and follow each other without
 * a gap (PLOG_EGAP) or an overlap (PLOG_EOVERLAP), and carry leader epochs
 * that never go below the latest one in the log (PLOG_EEPOCH); each newer
 * epoch is recorded in the epoch cache at its first batch's base offset.
 * A refused call appends nothing. Otherwise as plog_append: the same roll,
 * index entries and flush accounting, ENV_EINVAL for an empty call or one
 * larger than segment.bytes (the replica fetcher asks for less), and on a
 * disk error nothing becomes visible and the ENV_E* code is returned. */
int plog_append_replica(struct plog *log, const uint8_t *batches, size_t len, int64_t now_ms,
                        struct plog_append_info *info);

struct plog_read_result {
  env_file file;
  uint64_t file_offset;
  size_t len;
  int64_t first_offset; /* base offset of the first batch (the asked offset if empty) */
  bool pinned;          /* this read kept its segment's files open for the cache turn */
};
/* A file range inside one segment: whole batches starting with the one that
 * holds `offset`, up to bytes_max (the first batch alone even if larger when
 * min_one_batch: KIP-74), and only batches wholly below max_offset (exclusive,
 * e.g. the high watermark; INT64_MAX for none). offset == end offset gives
 * len 0. Returns 0, -1 if offset < start or > end, or an ENV_E* read error.
 * The range's bytes never change (the log remembers how far it lent each
 * file; see plog_truncate_to), and the file stays open until the segment is
 * deleted or its file replaced by a truncation, and the next plog_maintain
 * (or plog_close) after that. */
int plog_read(struct plog *log, int64_t offset, size_t bytes_max, bool min_one_batch,
              int64_t max_offset, struct plog_read_result *out);

/* The caller copied the range (or never used it): the segment need not stay
 * open for the rest of the cache turn (log/segment_cache.h), and the cache
 * goes back under its limit. A range another read of the turn lent from the
 * same segment stays valid (only the read that pinned it unpins it). */
void plog_read_unpin(struct plog *log, const struct plog_read_result *r);
/* More segments are open than the cache's limit (pinned by reads of this
 * turn): a reader of many partitions should copy instead of lending. */
bool plog_files_pressed(const struct plog *log);

int64_t plog_start_offset(const struct plog *log);
int64_t plog_end_offset(const struct plog *log); /* next offset to assign */
uint64_t plog_size_bytes(const struct plog *log);
int plog_segment_count(const struct plog *log);

/* ListOffsets by timestamp: the first batch (at or past the start offset)
 * whose max timestamp >= ts: its range, base offset in first_offset, and 0;
 * -1 if none. */
int plog_find_batch_by_timestamp(struct plog *log, int64_t ts,
                                 struct plog_read_result *batch_out);
/* ListOffsets MAX_TIMESTAMP: the largest batch max timestamp and the last
 * offset of the first batch holding it (Kafka's shallow offset of max
 * timestamp; plog_read of it returns that batch). -1/-1 if empty. */
void plog_max_timestamp(const struct plog *log, int64_t *ts_out, int64_t *offset_out);

/* Rolls the active segment if segment.ms is due, then applies retention
 * (time, size, log start offset). Returns the number of segments deleted. */
int plog_maintain(struct plog *log, int64_t now_ms);
/* The same, with retention by time and size bounded by the high watermark:
 * the log start never passes it (plog_maintain: no bound). */
int plog_maintain_below(struct plog *log, int64_t now_ms, int64_t high_watermark);
/* DeleteRecords: raises the start offset (never lowers it) and deletes
 * segments it wholly covers. 0, or -1 if offset > end offset. */
int plog_set_start_offset(struct plog *log, int64_t offset);

/* Fsyncs every file with unsynced data, then done(ctx, err); afterwards
 * plog_recovery_point() >= the end offset as of the call. A flush asked for
 * while one is in flight waits and shares the next round of fsyncs (group
 * commit). done is always called later, from an fsync completion, never
 * inside plog_flush. If the log is closed first, done still runs (with
 * ENV_EIO if its fsyncs had not started). */
void plog_flush(struct plog *log, env_fsync_fn done, void *ctx);
int64_t plog_recovery_point(const struct plog *log);
/* After a failed flush the log is offline until it is opened again (a
 * broker restart): Linux may have dropped the pages the failed fsync
 * covered and marked them clean, so a later fsync that succeeds says
 * nothing of them ("fsyncgate"). Appends and flushes fail (ENV_EIO), the
 * recovery point stays where the last good flush left it, and the server
 * answers KAFKA_STORAGE_ERROR (Kafka's LogDirFailureChannel, one log). */
bool plog_offline(const struct plog *log);

/* Replication (KIP-101, KIP-279): truncates so that the end offset is
 * `offset`, or the base of the batch holding it if that is inside a batch;
 * *end_offset_out gets the result. Below the first segment, the log is
 * emptied and restarts at `offset`. Later segments are deleted; the indexes,
 * timestamps and leader-epoch cache drop what lies past the new end. Bytes
 * that reads lent out (plog_read, plog_find_batch_by_timestamp) never
 * change: a cut at or past the furthest lent byte of the segment's file cuts
 * it in place, a cut below copies the kept bytes into a new file that
 * replaces it (the old file is closed at the next plog_maintain), durably:
 * until the copy's fsync (a flush this starts) the recovery point stays at
 * or below the cut, and a crash is finished by plog_open. 0 or ENV_E*. */
int plog_truncate_to(struct plog *log, int64_t offset, int64_t *end_offset_out);

/* KIP-630 (Kafka's truncateFullyAndStartAt): a follower that installed a
 * snapshot ending at offset empties its log, which restarts there, whatever
 * it held (above or below offset). Every segment goes, the leader epochs
 * with them; the new empty segment is durable after the next plog_flush.
 * 0, or ENV_E* when the new segment could not be created: the log then has
 * no segment and may only be closed. */
int plog_truncate_fully(struct plog *log, int64_t offset);

/* Leader epochs (KIP-101). -1 when no epoch is known. */
int32_t plog_latest_epoch(const struct plog *log);
/* OffsetForLeaderEpoch: the end offset of `epoch` (start offset of the next
 * larger epoch, or the end offset for the latest) and the largest known epoch
 * <= epoch (Kafka answers `epoch` itself when it is older than every known
 * one); -1/-1 if unknown. */
void plog_end_offset_for_epoch(const struct plog *log, int32_t epoch, int32_t *epoch_out,
                               int64_t *end_offset_out);

/* Deletes every file and the directory, and frees the log (topic deletion).
 * The log is freed even when an error is returned. */
int plog_delete(struct plog *log);

#endif
