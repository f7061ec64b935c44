/* The idempotent producers of one partition (KIP-98): per producer id, its
 * epoch and the last PRODUCER_BATCHES_KEPT batches it appended (first and
 * last sequence, first and last offset), the way Kafka's ProducerStateEntry
 * keeps them, so that a batch sent again is recognised and answered with the
 * offsets it got the first time, a gap in a producer's sequence is refused,
 * and a producer fenced by a newer epoch is told so.
 *
 * Pure memory, no I/O: the log (log/producers.c) feeds it every batch it
 * appends or recovers and stores it as <offset>.snapshot files. A producer
 * stays known after its batches are deleted (KIP-360), until it has been
 * idle for producer.id.expiration.ms or, past PRODUCER_IDS_MAX producers in
 * one partition, until it is the one idle longest. Entries are kept sorted
 * by producer id, so every walk is in id order, never in address order. */
#ifndef SLUICE_PRODUCER_STATE_H
#define SLUICE_PRODUCER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "proto/record_batch.h"

enum {
  PRODUCER_BATCHES_KEPT = 5, /* Kafka's NUM_BATCHES_TO_RETAIN: a client's max in flight */
  PRODUCER_IDS_MAX = 4096,   /* per partition: past it, the longest idle producer goes */
  PRODUCER_SNAPSHOT_VERSION = 1,
  PRODUCER_SNAPSHOT_HEADER_BYTES = 22,
};

struct producer_batch {
  int32_t first_sequence;
  int32_t last_sequence;
  int64_t first_offset;
  int64_t last_offset;
};

struct producer_entry {
  int64_t producer_id;
  int16_t epoch;
  int32_t batch_count; /* 0..PRODUCER_BATCHES_KEPT, oldest first */
  struct producer_batch batches[PRODUCER_BATCHES_KEPT];
  int64_t last_timestamp_ms; /* the max timestamp of its last batch: expiry */
};

struct producer_state {
  struct producer_entry *entries; /* sorted by producer id */
  int32_t count;
  int32_t cap;
  int64_t end_offset; /* every batch below it has been noted */
};

/* What a producer's batch is, against the state. */
enum producer_verdict {
  PRODUCER_NEW,          /* append it */
  PRODUCER_DUPLICATE,    /* one of the last batches again: answer with its offsets */
  PRODUCER_OUT_OF_ORDER, /* not the next sequence: OUT_OF_ORDER_SEQUENCE_NUMBER */
  PRODUCER_STALE_EPOCH,  /* older than the producer's epoch: INVALID_PRODUCER_EPOCH */
  PRODUCER_INVALID,      /* a producer id with a negative epoch or sequence: INVALID_RECORD */
  PRODUCER_UNAVAILABLE,  /* the log could not rebuild its state: KAFKA_STORAGE_ERROR */
};

void producer_state_init(struct producer_state *s, int64_t end_offset);
void producer_state_free(struct producer_state *s);
/* Forgets every producer; the state starts at end_offset. */
void producer_state_reset(struct producer_state *s, int64_t end_offset);

/* NULL if the producer id is unknown. */
const struct producer_entry *producer_state_find(const struct producer_state *s,
                                                 int64_t producer_id);

/* Judges one batch with a producer id (>= 0), as Kafka 3.x's
 * ProducerAppendInfo does for a client's batch:
 *  - the producer's epoch, and a first and last sequence equal to one of its
 *    kept batches: PRODUCER_DUPLICATE, that batch in *duplicate_out;
 *  - an epoch below the producer's: PRODUCER_STALE_EPOCH;
 *  - a newer epoch must start at sequence 0 (KIP-360's bump), the same
 *    epoch must continue the last sequence by one (wrapping after
 *    INT32_MAX), else PRODUCER_OUT_OF_ORDER;
 *  - an unknown producer id is accepted at any sequence: Kafka 3.x no
 *    longer answers UNKNOWN_PRODUCER_ID (KIP-360: its state may have gone
 *    with deleted segments or expired, and the producer cannot tell). */
enum producer_verdict producer_state_check(const struct producer_state *s,
                                           const struct rb_header *h,
                                           struct producer_batch *duplicate_out);

/* The batch h is in the log at h->base_offset (>= end_offset); end_offset
 * moves past it. A batch without a producer id, or a control batch, only
 * moves end_offset. A producer's other epoch (newer, or older from a
 * replica) replaces its kept batches, as Kafka's does. */
void producer_state_note(struct producer_state *s, const struct rb_header *h);
/* The offsets up to end_offset hold nothing more to note (deleted or
 * skipped batches). Never moves backwards. */
void producer_state_advance(struct producer_state *s, int64_t end_offset);

/* Drops producers idle for expiration_ms or longer (by the max timestamp of
 * their last batch, as Kafka's producer.id.expiration.ms); how many went. */
int32_t producer_state_expire(struct producer_state *s, int64_t now_ms, int64_t expiration_ms);

/* The snapshot file's bytes (our own format, not Kafka's; big-endian):
 *   "SLPS" | version int16 | crc32c uint32 of what follows | end_offset int64 |
 *   count int32 | count x (producer_id int64 | epoch int16 | last_timestamp
 *   int64 | batch_count int8 | batch_count x (first_sequence int32 |
 *   last_sequence int32 | first_offset int64 | last_offset int64))
 * Appended to out. */
void producer_state_encode(const struct producer_state *s, struct buf *out);
/* Reads a snapshot into out (reset first). False, with out empty at 0, if
 * anything is wrong: length, magic, version, CRC, count, ids not
 * increasing, offsets past end_offset or out of order. */
bool producer_state_decode(const uint8_t *data, size_t len, struct producer_state *out);

#endif
