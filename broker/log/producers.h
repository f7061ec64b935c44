/* Idempotent producers in a partition log (KIP-98, KIP-360). Each log keeps
 * a producer_state (log/producer_state.h) in step with its batches: every
 * append notes its batches, whoever called it (a leader's Produce, a
 * follower's replica append), and the state always covers exactly the log
 * up to its end offset.
 *
 * It is stored beside the segments as "<offset>.snapshot" files (Kafka's
 * name; our own format): the state of every batch below <offset>, written
 * at each roll (at the new segment's base offset) and at a clean shutdown
 * (at the end offset), atomically (a .tmp file, fsync, rename, directory
 * sync). Opening a log loads the newest snapshot at or below the end
 * offset and scans the batch headers past it (61 bytes each, no CRCs). A
 * snapshot past the end offset describes batches a crash or a truncation
 * took away; it is deleted (durably) before anything is appended, so a
 * snapshot that exists always describes the log's own prefix. A truncation
 * deletes the snapshots past its cut (and keeps one being written from
 * landing) and rebuilds the state the same way. Retention keeps the state
 * (KIP-360: a producer whose batches were deleted is still known) and
 * deletes the snapshots of the deleted segments. */
#ifndef SLUICE_LOG_PRODUCERS_H
#define SLUICE_LOG_PRODUCERS_H

#include "log/log.h"
#include "log/producer_state.h"

/* Judges a Produce's batches for this partition before plog_append (same
 * event, nothing in between): PRODUCER_NEW when they carry no producer id
 * or are the producer's next batch; else producer_state_check's verdict
 * (a duplicate's offsets in *duplicate_out). Batches with a producer id
 * come one per partition and request, as Kafka's Produce v3+ requires:
 * more than one is PRODUCER_INVALID. If the state could not be rebuilt
 * (a read error in a truncation's rebuild), it is tried again here, and
 * PRODUCER_UNAVAILABLE while it fails. */
enum producer_verdict plog_producer_check(struct plog *log, const uint8_t *batches, size_t len,
                                          struct producer_batch *duplicate_out);

/* A clean shutdown: writes the snapshot at the end offset (unless one for
 * it exists or is being written); done(ctx, err) once it is durable, at
 * once when there is nothing to write. */
void plog_producers_snapshot(struct plog *log, env_fsync_fn done, void *ctx);

/* producer.id.expiration.ms: forgets producers idle that long; how many. */
int32_t plog_producers_expire(struct plog *log, int64_t now_ms, int64_t expiration_ms);

/* The state, to read (tests, tools). */
const struct producer_state *plog_producers(const struct plog *log);

#endif
