/* Record batches, magic 2 (the protocol guide's "Record Batch" and
 * "Record"): validating what producers send, the framing check of log
 * recovery, iterating records, building batches (the simulator's clients,
 * recompression to the topic's compression.type).
 *
 * Magic 0 and 1 (the old message sets) are not supported: validation answers
 * KERR_UNSUPPORTED_VERSION. Control and transactional batches pass through
 * with their attribute bits kept. */
#ifndef SLUICE_RECORD_BATCH_H
#define SLUICE_RECORD_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/assert.h"
#include "base/buf.h"
#include "base/endian.h"
#include "proto/batch_format.h"
#include "proto/wire.h"

struct rb_header {
  int64_t base_offset;
  int32_t length;
  int32_t leader_epoch;
  int8_t magic;
  uint32_t crc;
  int16_t attributes;
  int32_t last_offset_delta;
  int64_t base_timestamp;
  int64_t max_timestamp;
  int64_t producer_id;
  int16_t producer_epoch;
  int32_t base_sequence;
  int32_t record_count;
};

/* Reads the 61-byte header (false if len < 61). No validation. The one
 * parser of the header in broker/: produce validation, the log (appends,
 * recovery, reads, through its file cursor) and the walkers of Produce use
 * it. Inline, as rb_frame: a million headers a simulated minute, and a
 * caller that needs a few fields of a local header has the rest dropped. */
__attribute__((always_inline)) static inline bool rb_header_read(const uint8_t *p, size_t len,
                                                                 struct rb_header *h) {
  ASSERT(h != NULL);
  if (len < RB_HEADER_BYTES) return false;
  ASSERT(p != NULL);
  h->base_offset = (int64_t)be64_get(p + RB_OFF_BASE_OFFSET);
  h->length = (int32_t)be32_get(p + RB_OFF_LENGTH);
  h->leader_epoch = (int32_t)be32_get(p + RB_OFF_LEADER_EPOCH);
  h->magic = (int8_t)p[RB_OFF_MAGIC];
  h->crc = be32_get(p + RB_OFF_CRC);
  h->attributes = (int16_t)be16_get(p + RB_OFF_ATTRIBUTES);
  h->last_offset_delta = (int32_t)be32_get(p + RB_OFF_LAST_OFFSET_DELTA);
  h->base_timestamp = (int64_t)be64_get(p + RB_OFF_BASE_TIMESTAMP);
  h->max_timestamp = (int64_t)be64_get(p + RB_OFF_MAX_TIMESTAMP);
  h->producer_id = (int64_t)be64_get(p + RB_OFF_PRODUCER_ID);
  h->producer_epoch = (int16_t)be16_get(p + RB_OFF_PRODUCER_EPOCH);
  h->base_sequence = (int32_t)be32_get(p + RB_OFF_BASE_SEQUENCE);
  h->record_count = (int32_t)be32_get(p + RB_OFF_RECORD_COUNT);
  return true;
}

/* Bytes of the batch from baseOffset on (batchLength >= 0). */
static inline uint64_t rb_header_size(const struct rb_header *h) {
  return (uint64_t)RB_LOG_OVERHEAD + (uint32_t)h->length;
}

/* The batch at p, len bytes available: its header in h and its size
 * (12 + batchLength) when the header is there and batchLength covers the
 * header and stays within len; else 0. Neither magic nor CRC is checked. */
__attribute__((always_inline)) static inline size_t rb_frame(const uint8_t *p, size_t len,
                                                             struct rb_header *h) {
  ASSERT(h != NULL);
  if (!rb_header_read(p, len, h)) return 0;
  /* batchLength of a batch without records: the header after batchLength. */
  if (h->length < RB_HEADER_BYTES - RB_LOG_OVERHEAD ||
      (size_t)h->length > len - RB_LOG_OVERHEAD)
    return 0;
  size_t size = (size_t)rb_header_size(h);
  ASSERT(size >= RB_HEADER_BYTES && size <= len);
  return size;
}
/* A stored batch's framing, as the log needs it to index the batch and step
 * over it: magic 2, a batchLength that covers the header, offsets that are
 * non-negative and whose span cannot overflow. Not the CRC or the records. */
/* Inline: the log's file cursor checks every header it reads. */
static inline bool rb_header_valid(const struct rb_header *h) {
  ASSERT(h != NULL);
  /* Magic 2; batchLength covers at least the header after it. */
  if (h->magic != 2 || h->length < RB_HEADER_BYTES - RB_LOG_OVERHEAD) return false;
  if (h->base_offset < 0 || h->last_offset_delta < 0) return false;
  return h->base_offset <= INT64_MAX - 1 - h->last_offset_delta;
}

static inline int64_t rb_header_last_offset(const struct rb_header *h) {
  return h->base_offset + h->last_offset_delta;
}

/* What validating a producer's records found. */
struct rb_summary {
  int32_t batch_count;
  int64_t record_count;
  int64_t offset_count; /* sum of last_offset_delta + 1 */
  int64_t max_timestamp;
  int64_t first_timestamp; /* base timestamp of the first batch */
  enum rb_codec codec;     /* of the first batch */
  bool mixed_codecs;
  int64_t producer_id; /* producer id, epoch and base sequence of the first batch */
  int16_t producer_epoch;
  int32_t base_sequence;
  bool transactional; /* of any batch */
  bool control;       /* of any batch */
};

/* Validates one or more whole batches as a broker must before appending:
 * - every batch whole, no trailing partial batch, and at least one batch
 *   (KERR_CORRUPT_MESSAGE; empty input: KERR_INVALID_RECORD);
 * - magic 2 (0 and 1: KERR_UNSUPPORTED_VERSION; anything else corrupt);
 * - batchLength >= 49 and within len; CRC-32C correct (KERR_CORRUPT_MESSAGE);
 * - record_count > 0 and == last_offset_delta + 1 (KERR_INVALID_RECORD; as
 *   Kafka's broker, an empty batch from a producer is invalid);
 * - codec 0..4 (KERR_UNSUPPORTED_COMPRESSION_TYPE);
 * - uncompressed: exactly record_count records that end at the batch's end
 *   (KERR_CORRUPT_MESSAGE), with offset deltas 0, 1, 2... (KERR_INVALID_RECORD).
 * Compressed batches are not decompressed (the CRC covers them).
 * Returns KERR_NONE or the first error; out is filled on success. */
int rb_validate(const uint8_t *data, size_t len, struct rb_summary *out);
/* Cheap framing check of a batch read back (consumers): one batch at p with
 * len bytes available. Its total size (12 + batchLength) if it is whole,
 * magic 2 and its CRC matches; else 0. */
size_t rb_check_one(const uint8_t *p, size_t len);
/* Sets baseOffset and partitionLeaderEpoch (outside the CRC). */
void rb_patch(uint8_t *batch, int64_t base_offset, int32_t leader_epoch);
/* A producer's sequence moved on by increment (>= 0), wrapping after
 * INT32_MAX to 0 as Kafka's do: a batch's last sequence is its base
 * sequence plus lastOffsetDelta, the next batch's base is plus the count. */
int32_t rb_sequence_add(int32_t sequence, int32_t increment);

struct rb_record_header {
  struct kbytes key; /* never null */
  struct kbytes value;
};

struct rb_record {
  int64_t offset;    /* baseOffset + offsetDelta */
  int64_t timestamp; /* baseTimestamp + timestampDelta */
  int8_t attributes;
  struct kbytes key; /* len -1: null */
  struct kbytes value;
  int32_t header_count;
  const uint8_t *headers_raw; /* the header_count headers, for rb_record_header_next */
  size_t headers_raw_len;
};

struct rb_iter {
  struct rb_header h;
  struct rd r;  /* the (decompressed) records not read yet */
  int32_t left; /* records still to read */
  bool corrupt; /* sticky: once -KERR_CORRUPT_MESSAGE, always */
};

/* Records of one batch (12 + batchLength of the len bytes at batch). A
 * compressed batch is decompressed into scratch (reset first; bounded by
 * out_bytes_max, so a bomb fails). Does not check the CRC (rb_check_one
 * does). Returns KERR_NONE, KERR_CORRUPT_MESSAGE or
 * KERR_UNSUPPORTED_COMPRESSION_TYPE. Records point into batch or scratch. */
int rb_iter_init(struct rb_iter *it, const uint8_t *batch, size_t len, struct buf *scratch,
                 size_t out_bytes_max);
/* 1 = a record, 0 = the end, < 0 = -KERR_CORRUPT_MESSAGE (a record does not
 * parse, or bytes are left after the last record). */
int rb_iter_next(struct rb_iter *it, struct rb_record *rec);
/* Next header of a record: rd_init(&r, rec.headers_raw, rec.headers_raw_len)
 * then up to rec.header_count calls. False when it does not parse. */
bool rb_record_header_next(struct rd *r, struct rb_record_header *h);

/* Builds one batch the way Kafka's producer does: offset deltas 0, 1, 2...,
 * timestamps as deltas from base_timestamp, maxTimestamp the largest record
 * timestamp, partitionLeaderEpoch -1 and no producer (-1) until set. */
struct rb_builder {
  struct buf records; /* the encoded records, uncompressed */
  int64_t base_offset;
  int64_t base_timestamp;
  int64_t max_timestamp;
  int32_t count;
  int32_t last_offset_delta;
  int64_t producer_id;
  int16_t producer_epoch;
  int32_t base_sequence;
  int16_t attributes; /* besides the codec bits */
  int32_t leader_epoch;
};

void rb_builder_init(struct rb_builder *b, int64_t base_offset, int64_t base_timestamp);
void rb_builder_set_producer(struct rb_builder *b, int64_t producer_id, int16_t producer_epoch,
                             int32_t base_sequence, bool transactional);
/* Adds a record with offset delta = the count so far. Key and value len -1
 * are null; header keys must not be null. */
void rb_builder_add(struct rb_builder *b, int64_t timestamp, struct kbytes key,
                    struct kbytes value, const struct rb_record_header *headers,
                    int32_t header_count);
/* Appends the finished batch (records compressed with codec) to out.
 * KERR_NONE; KERR_INVALID_RECORD with no record; the codec's error; or
 * KERR_MESSAGE_TOO_LARGE past batchLength's int32. out is unchanged on error. */
int rb_builder_finish(struct rb_builder *b, enum rb_codec codec, struct buf *out);
void rb_builder_free(struct rb_builder *b);

/* Re-encodes one batch with another codec (topic compression.type !=
 * producer), keeping baseOffset, partitionLeaderEpoch, producer id, epoch
 * and sequence, timestamps, the attributes besides the codec bits,
 * lastOffsetDelta, and every record byte for byte (attributes, deltas, key,
 * value, headers). Decompression is bounded by out_bytes_max. Appends to
 * out; out is unchanged on error. */
int rb_recompress(const uint8_t *batch, size_t len, enum rb_codec codec, size_t out_bytes_max,
                  struct buf *out);

/* rb_recompress in steps, so that a large batch costs the event loop a
 * bounded slice per turn (issue 13): begin frames the batch and starts the
 * inflater and the codec; each step inflates at most bytes_max more of the
 * records (a snappy block whole), takes the records now whole (checked as
 * rb_iter_next does) and compresses at most bytes_max of them, and sets
 * *done once the batch is complete in out; worked counts the bytes
 * inflated and compressed so far. The inflating budget (out_bytes_max,
 * for a compressed source) fails the step that passes it with
 * KERR_MESSAGE_TOO_LARGE; bad data fails the step that meets it with
 * KERR_CORRUPT_MESSAGE. end frees, and takes an unfinished or failed batch
 * back out of out. A zstd batch written in steps leaves its content size
 * out (the Java client's does too). */
struct codec_stream;
struct codec_inflater;
struct rb_recompression {
  struct rb_header h; /* the source batch's */
  struct codec_inflater *inflater;
  bool inflated_all;
  struct buf inflated; /* the source's records, from the first not yet fed on */
  size_t parsed;       /* bytes of inflated taken into the queue */
  int32_t left;        /* records not yet taken */
  struct rb_builder b; /* the header's fields; b.records: the queue's encoded bytes */
  struct buf pieces;   /* the queue: what the codec is fed next, in order */
  size_t piece_next;
  size_t piece_at; /* fed of pieces[piece_next] */
  size_t pending;  /* bytes in the queue not fed */
  struct codec_stream *stream;
  struct buf *out;
  size_t start;      /* where the batch begins in out */
  size_t compressed; /* record bytes fed to the codec so far */
  size_t worked;     /* bytes inflated plus bytes compressed so far */
  uint32_t crc;      /* CRC-32C of the batch from its attributes to crc_at */
  size_t crc_at;
  enum rb_codec codec;
  bool finished;
};
int rb_recompress_begin(struct rb_recompression *r, const uint8_t *batch, size_t len,
                        enum rb_codec codec, size_t out_bytes_max, struct buf *out);
int rb_recompress_step(struct rb_recompression *r, size_t bytes_max, bool *done);
void rb_recompress_end(struct rb_recompression *r);

/* Compaction's rewrite of one batch (Kafka's MemoryRecords.filterTo): the
 * records keep(ctx, rec) retains, each with its offset, timestamp and bytes;
 * the header keeps baseOffset, lastOffsetDelta (so a producer's sequence
 * arithmetic still holds), maxTimestamp, partitionLeaderEpoch, the producer
 * fields, the attributes and the codec. delete_horizon_ms >= 0 stamps
 * KIP-534's delete horizon: attribute 0x40 and baseTimestamp = the horizon
 * (records' timestamp deltas relative to it). No record kept gives an empty
 * batch (recordCount 0, no records, uncompressed), which Kafka keeps for a
 * producer's last batch. Appends to out; the number kept in *kept_out.
 * KERR_NONE, or the iteration's or codec's error with out unchanged. */
typedef bool (*rb_keep_fn)(void *ctx, const struct rb_record *rec);
int rb_filter(const uint8_t *batch, size_t len, rb_keep_fn keep, void *ctx,
              int64_t delete_horizon_ms, size_t out_bytes_max, struct buf *out,
              int32_t *kept_out);

#endif
