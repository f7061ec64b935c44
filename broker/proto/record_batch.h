/* Record batches, magic 2 (the protocol guide's "Record Batch" and
 * "Record"): validating what producers send, iterating records, building
 * batches (the simulator's clients, recompression). */
#ifndef SLUICE_RECORD_BATCH_H
#define SLUICE_RECORD_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
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

/* Reads the 61-byte header (false if len < 61). No validation. */
bool rb_header_read(const uint8_t *p, size_t len, struct rb_header *h);

struct rb_summary {
  int32_t batch_count;
  int64_t record_count;
  int64_t offset_count; /* sum of last_offset_delta + 1 */
  int64_t max_timestamp;
  int64_t first_timestamp;
  enum rb_codec codec; /* of the first batch */
  bool mixed_codecs;
  int64_t producer_id;
  int16_t producer_epoch;
  int32_t base_sequence;
  bool transactional;
  bool control;
};

/* Validates a producer's records: whole batches only, magic 2 (0 and 1 get
 * KERR_UNSUPPORTED_VERSION), sane lengths, CRC-32C (KERR_CORRUPT_MESSAGE),
 * record_count == last_offset_delta + 1 (KERR_INVALID_RECORD), and for
 * uncompressed batches records that parse exactly to the batch's end. */
int rb_validate(const uint8_t *data, size_t len, struct rb_summary *out);
/* One batch at p: its total size if whole, magic 2 and its CRC matches, else 0. */
size_t rb_check_one(const uint8_t *p, size_t len);
/* Sets baseOffset and partitionLeaderEpoch (outside the CRC). */
void rb_patch(uint8_t *batch, int64_t base_offset, int32_t leader_epoch);

struct rb_record_header {
  struct kbytes key;
  struct kbytes value;
};

struct rb_record {
  int64_t offset;
  int64_t timestamp;
  int8_t attributes;
  struct kbytes key;
  struct kbytes value;
  int32_t header_count;
  const uint8_t *headers_raw;
  size_t headers_raw_len;
};

struct rb_iter {
  struct rb_header h;
  struct rd r;
  int32_t left;
};

/* Records of one batch, decompressed into scratch (bounded by out_bytes_max)
 * if needed. Returns KERR_NONE or an error. */
int rb_iter_init(struct rb_iter *it, const uint8_t *batch, size_t len, struct buf *scratch,
                 size_t out_bytes_max);
/* 1 = a record, 0 = the end, < 0 = -KERR_CORRUPT_MESSAGE. */
int rb_iter_next(struct rb_iter *it, struct rb_record *rec);
/* Header iteration over rec.headers_raw. */
bool rb_record_header_next(struct rd *r, struct rb_record_header *h);

struct rb_builder {
  struct buf records;
  int64_t base_offset;
  int64_t base_timestamp;
  int64_t max_timestamp;
  int32_t count;
  int64_t producer_id;
  int16_t producer_epoch;
  int32_t base_sequence;
  int16_t attributes; /* besides the codec bits */
  int32_t leader_epoch;
};

void rb_builder_init(struct rb_builder *b, int64_t base_offset, int64_t base_timestamp);
void rb_builder_set_producer(struct rb_builder *b, int64_t producer_id, int16_t producer_epoch,
                             int32_t base_sequence, bool transactional);
/* Adds a record with offset delta = the count so far. */
void rb_builder_add(struct rb_builder *b, int64_t timestamp, struct kbytes key,
                    struct kbytes value, const struct rb_record_header *headers,
                    int32_t header_count);
/* Adds a record exactly as read (offset delta and raw headers kept). */
void rb_builder_add_raw(struct rb_builder *b, const struct rb_record *rec,
                        int32_t offset_delta);
/* Appends the finished batch (records compressed with codec) to out. */
int rb_builder_finish(struct rb_builder *b, enum rb_codec codec, struct buf *out);
void rb_builder_free(struct rb_builder *b);

/* Re-encodes one batch with another codec, keeping every header field but
 * the codec bits (and the CRC), and every record. Appends to out. */
int rb_recompress(const uint8_t *batch, size_t len, enum rb_codec codec, size_t out_bytes_max,
                  struct buf *out);

#endif
