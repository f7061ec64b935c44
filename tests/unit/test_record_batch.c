/* Record batches, magic 2 (proto/record_batch.c): build -> validate ->
 * iterate gives back every record field; a batch written byte by byte from
 * the protocol guide decodes and is what the builder writes; corruption,
 * truncation, old magics and inconsistent counts are refused with Kafka's
 * error codes; rb_patch keeps the CRC; recompression through every codec
 * keeps every header and record field. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/crc32c.h"
#include "base/endian.h"
#include "proto/compress.h"
#include "proto/errors.h"
#include "proto/record_batch.h"
#include "testing.h"

enum { MIB = 1 << 20, BYTES_MAX = 64 * MIB, HEADERS_MAX = 3 };

#define BASE_TS INT64_C(1700000000000)

#define KB(s)                                                                                  \
  { (const uint8_t *)(s), (int32_t)(sizeof(s) - 1) }
#define KNULL                                                                                  \
  { NULL, -1 }

struct expect {
  int64_t timestamp;
  struct kbytes key, value;
  int32_t header_count;
  struct rb_record_header headers[HEADERS_MAX];
};

static uint8_t big_value[200 * 1000];

/* Null and empty keys and values, binary bytes, headers with null and empty
 * values, timestamps before the base, a value spanning several compressed
 * blocks (snappy 32 KiB, lz4 64 KiB). */
static struct expect records[] = {
    {BASE_TS, KB("k0"), KB("v0"), 0, {{KNULL, KNULL}}},
    {BASE_TS + 5, KNULL, KB("v1"), 0, {{KNULL, KNULL}}},
    {BASE_TS - 3, KB("k2"), KNULL, 2, {{KB("a"), KB("1")}, {KB("b"), KNULL}}},
    {BASE_TS + 1000, KB(""), KB(""), 1, {{KB(""), KB("")}}},
    {BASE_TS + 7,
     KB("\0\1\2\0"),
     KB("value"),
     3,
     {{KB("x"), KB("\0")}, {KB("y"), KB("")}, {KB("x"), KB("dup")}}},
    {BASE_TS + 9, KB("big"), {big_value, (int32_t)sizeof big_value}, 0, {{KNULL, KNULL}}},
};
enum { RECORD_COUNT = ARRAY_LEN(records) };

static void setup(void) {
  for (size_t i = 0; i < sizeof big_value; i++) big_value[i] = (uint8_t)(i * 31 % 251);
}

static void build_from(struct buf *out, enum rb_codec codec, const struct expect *e, int n) {
  struct rb_builder b;
  rb_builder_init(&b, 0, BASE_TS);
  for (int i = 0; i < n; i++)
    rb_builder_add(&b, e[i].timestamp, e[i].key, e[i].value,
                   e[i].header_count ? e[i].headers : NULL, e[i].header_count);
  ck_assert_int_eq(rb_builder_finish(&b, codec, out), KERR_NONE);
  rb_builder_free(&b);
}

static void build(struct buf *out, enum rb_codec codec) {
  build_from(out, codec, records, RECORD_COUNT);
}

/* Recomputes the CRC after a test edits the bytes it covers. */
static void reseal(uint8_t *batch, size_t len) {
  uint32_t crc = crc32c(batch + RB_OFF_ATTRIBUTES, len - RB_OFF_ATTRIBUTES);
  for (int i = 0; i < 4; i++) batch[RB_OFF_CRC + i] = (uint8_t)(crc >> (24 - 8 * i));
}

static void put32(uint8_t *p, int32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)((uint32_t)v >> (24 - 8 * i));
}

static void same_bytes(struct kbytes a, struct kbytes b) {
  ck_assert_int_eq(a.len, b.len);
  if (a.len > 0) ck_assert_mem_eq(a.ptr, b.ptr, (size_t)a.len);
}

static void check_record(const struct rb_record *rec, const struct expect *e, int64_t offset) {
  ck_assert_int_eq(rec->offset, offset);
  ck_assert_int_eq(rec->timestamp, e->timestamp);
  ck_assert_int_eq(rec->attributes, 0);
  same_bytes(rec->key, e->key);
  same_bytes(rec->value, e->value);
  ck_assert_int_eq(rec->header_count, e->header_count);
  struct rd r;
  rd_init(&r, rec->headers_raw, rec->headers_raw_len);
  for (int32_t h = 0; h < e->header_count; h++) {
    struct rb_record_header got;
    ck_assert(rb_record_header_next(&r, &got));
    same_bytes(got.key, e->headers[h].key);
    same_bytes(got.value, e->headers[h].value);
  }
  ck_assert_uint_eq(rd_left(&r), 0);
}

/* Iterates batch and checks it holds exactly the n expected records. */
static void check_batch(const uint8_t *batch, size_t len, const struct expect *e, int n,
                        int64_t base_offset) {
  struct buf scratch;
  buf_init(&scratch);
  struct rb_iter it;
  struct rb_record rec;
  ck_assert_int_eq(rb_iter_init(&it, batch, len, &scratch, BYTES_MAX), KERR_NONE);
  for (int i = 0; i < n; i++) {
    ck_assert_int_eq(rb_iter_next(&it, &rec), 1);
    check_record(&rec, &e[i], base_offset + i);
  }
  ck_assert_int_eq(rb_iter_next(&it, &rec), 0);
  ck_assert_int_eq(rb_iter_next(&it, &rec), 0);
  buf_free(&scratch);
}

START_TEST(build_validate_iterate_every_codec) {
  for (int codec = RB_CODEC_NONE; codec <= RB_CODEC_ZSTD; codec++) {
    struct buf out;
    buf_init(&out);
    buf_append(&out, "xyz", 3); /* finish appends */
    build(&out, (enum rb_codec)codec);
    const uint8_t *batch = out.data + 3;
    size_t len = out.len - 3;
    struct rb_summary sum;
    ck_assert_int_eq(rb_validate(batch, len, &sum), KERR_NONE);
    ck_assert_int_eq(sum.batch_count, 1);
    ck_assert_int_eq(sum.record_count, RECORD_COUNT);
    ck_assert_int_eq(sum.offset_count, RECORD_COUNT);
    ck_assert_int_eq(sum.codec, codec);
    ck_assert(!sum.mixed_codecs && !sum.transactional && !sum.control);
    ck_assert_int_eq(sum.first_timestamp, BASE_TS);
    ck_assert_int_eq(sum.max_timestamp, BASE_TS + 1000);
    ck_assert_int_eq(sum.producer_id, -1);
    ck_assert_int_eq(sum.producer_epoch, -1);
    ck_assert_int_eq(sum.base_sequence, -1);
    ck_assert_uint_eq(rb_check_one(batch, len), len);
    struct rb_header h;
    ck_assert(rb_header_read(batch, len, &h));
    ck_assert_int_eq(h.length, (int32_t)len - 12);
    ck_assert_int_eq(h.leader_epoch, -1);
    ck_assert_int_eq(h.attributes, codec);
    ck_assert_int_eq(h.last_offset_delta, RECORD_COUNT - 1);
    ck_assert_int_eq(h.record_count, RECORD_COUNT);
    ck_assert_int_eq(h.base_timestamp, BASE_TS);
    check_batch(batch, len, records, RECORD_COUNT, 0);
    buf_free(&out);
  }
}
END_TEST

START_TEST(producer_fields_and_summary_of_many_batches) {
  struct buf out;
  buf_init(&out);
  struct rb_builder b;
  rb_builder_init(&b, 0, 500);
  rb_builder_set_producer(&b, 1234, 5, 77, true);
  rb_builder_add(&b, 400, (struct kbytes)KB("a"), (struct kbytes)KB("b"), NULL, 0);
  rb_builder_add(&b, 450, (struct kbytes)KB("a"), (struct kbytes)KB("b"), NULL, 0);
  ck_assert_int_eq(rb_builder_finish(&b, RB_CODEC_NONE, &out), KERR_NONE);
  rb_builder_free(&b);
  struct rb_header h;
  ck_assert(rb_header_read(out.data, out.len, &h));
  ck_assert_int_eq(h.producer_id, 1234);
  ck_assert_int_eq(h.producer_epoch, 5);
  ck_assert_int_eq(h.base_sequence, 77);
  ck_assert_int_eq(h.attributes, RB_ATTR_TRANSACTIONAL);
  ck_assert_int_eq(h.max_timestamp, 450); /* the records', below the base timestamp */
  build(&out, RB_CODEC_GZIP);
  build(&out, RB_CODEC_LZ4);
  struct rb_summary sum;
  ck_assert_int_eq(rb_validate(out.data, out.len, &sum), KERR_NONE);
  ck_assert_int_eq(sum.batch_count, 3);
  ck_assert_int_eq(sum.record_count, 2 + 2 * RECORD_COUNT);
  ck_assert_int_eq(sum.offset_count, 2 + 2 * RECORD_COUNT);
  ck_assert_int_eq(sum.codec, RB_CODEC_NONE);
  ck_assert(sum.mixed_codecs && sum.transactional && !sum.control);
  ck_assert_int_eq(sum.first_timestamp, 500);
  ck_assert_int_eq(sum.max_timestamp, BASE_TS + 1000);
  ck_assert_int_eq(sum.producer_id, 1234);
  ck_assert_int_eq(sum.producer_epoch, 5);
  ck_assert_int_eq(sum.base_sequence, 77);
  buf_free(&out);
}
END_TEST

START_TEST(crc32c_check_value) {
  /* The CRC-32C check value (RFC 3720, appendix B.4 uses the same polynomial). */
  ck_assert_uint_eq(crc32c("123456789", 9), 0xe3069283u);
}
END_TEST

/* A one-record batch written byte by byte from the protocol guide ("Record
 * Batch", "Record"), as a Java producer sends it: baseOffset 0,
 * partitionLeaderEpoch -1, no producer id. */
START_TEST(golden_batch) {
  static const uint8_t record[] = {
      0x18,      /* length: 12 (zigzag varint) */
      0x00,      /* attributes */
      0x00,      /* timestampDelta 0 */
      0x00,      /* offsetDelta 0 */
      0x02, 'k', /* keyLength 1, key */
      0x02, 'v', /* valueLength 1, value */
      0x02,      /* one header */
      0x02, 'h', /* headerKeyLength 1, key */
      0x02, 'x', /* headerValueLength 1, value */
  };
  static const uint8_t header[61] = {
      0,    0,    0,    0,
      0,    0,    0,    0,                  /* baseOffset 0 */
      0,    0,    0,    49 + sizeof record, /* batchLength */
      0xff, 0xff, 0xff, 0xff,               /* partitionLeaderEpoch -1 */
      2,                                    /* magic */
      0,    0,    0,    0,                  /* crc, below */
      0,    0,                              /* attributes: none */
      0,    0,    0,    0,                  /* lastOffsetDelta 0 */
      0,    0,    0x01, 0x8b,
      0xcf, 0xe5, 0x68, 0x00, /* baseTimestamp 1700000000000 */
      0,    0,    0x01, 0x8b,
      0xcf, 0xe5, 0x68, 0x00, /* maxTimestamp */
      0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, /* producerId -1 */
      0xff, 0xff,             /* producerEpoch -1 */
      0xff, 0xff, 0xff, 0xff, /* baseSequence -1 */
      0,    0,    0,    1,    /* recordCount 1 */
  };
  uint8_t batch[sizeof header + sizeof record];
  memcpy(batch, header, sizeof header);
  memcpy(batch + sizeof header, record, sizeof record);
  reseal(batch, sizeof batch);
  struct rb_summary sum;
  ck_assert_int_eq(rb_validate(batch, sizeof batch, &sum), KERR_NONE);
  ck_assert_int_eq(sum.record_count, 1);
  ck_assert_int_eq(sum.max_timestamp, BASE_TS);
  struct expect e = {BASE_TS, KB("k"), KB("v"), 1, {{KB("h"), KB("x")}}};
  check_batch(batch, sizeof batch, &e, 1, 0);
  struct buf out;
  buf_init(&out);
  build_from(&out, RB_CODEC_NONE, &e, 1);
  ck_assert_uint_eq(out.len, sizeof batch);
  ck_assert_mem_eq(out.data, batch, sizeof batch);
  buf_free(&out);
}
END_TEST

/* Every byte the CRC covers, and the CRC itself. */
START_TEST(flipped_byte_after_crc_field_is_caught) {
  const enum rb_codec codecs[] = {RB_CODEC_NONE, RB_CODEC_GZIP};
  for (size_t c = 0; c < ARRAY_LEN(codecs); c++) {
    struct buf out;
    buf_init(&out);
    build_from(&out, codecs[c], records, 5); /* without the big value: every byte is tried */
    struct rb_summary sum;
    for (size_t i = RB_OFF_CRC; i < out.len; i++) {
      for (int bit = 0; bit < 8; bit += 7) {
        out.data[i] ^= (uint8_t)(1u << bit);
        ck_assert_int_eq(rb_validate(out.data, out.len, &sum), KERR_CORRUPT_MESSAGE);
        ck_assert_uint_eq(rb_check_one(out.data, out.len), 0);
        out.data[i] ^= (uint8_t)(1u << bit);
      }
    }
    ck_assert_int_eq(rb_validate(out.data, out.len, &sum), KERR_NONE);
    buf_free(&out);
  }
}
END_TEST

START_TEST(truncated_and_partial_batches) {
  struct buf out;
  buf_init(&out);
  build_from(&out, RB_CODEC_NONE, records, 5);
  size_t whole = out.len;
  struct rb_summary sum;
  ck_assert_int_eq(rb_validate(out.data, 0, &sum), KERR_INVALID_RECORD);
  for (size_t len = 1; len < whole; len++) {
    ck_assert_int_eq(rb_validate(out.data, len, &sum), KERR_CORRUPT_MESSAGE);
    ck_assert_uint_eq(rb_check_one(out.data, len), 0);
  }
  /* Two whole batches, then every prefix of a third. */
  build_from(&out, RB_CODEC_ZSTD, records, 5);
  size_t two = out.len;
  build_from(&out, RB_CODEC_NONE, records, 5);
  ck_assert_int_eq(rb_validate(out.data, two, &sum), KERR_NONE);
  ck_assert_int_eq(sum.batch_count, 2);
  for (size_t len = two + 1; len < out.len; len++)
    ck_assert_int_eq(rb_validate(out.data, len, &sum), KERR_CORRUPT_MESSAGE);
  ck_assert_int_eq(rb_validate(out.data, out.len, &sum), KERR_NONE);
  ck_assert_int_eq(sum.batch_count, 3);
  ck_assert_int_eq(sum.record_count, 15);
  /* Recovery's check: the first batch's size, whatever follows it. */
  ck_assert_uint_eq(rb_check_one(out.data, out.len), whole);
  /* batchLength below an empty batch's, or past the end. */
  put32(out.data + RB_OFF_LENGTH, 48);
  ck_assert_int_eq(rb_validate(out.data, out.len, &sum), KERR_CORRUPT_MESSAGE);
  ck_assert_uint_eq(rb_check_one(out.data, out.len), 0);
  put32(out.data + RB_OFF_LENGTH, INT32_MAX);
  ck_assert_int_eq(rb_validate(out.data, out.len, &sum), KERR_CORRUPT_MESSAGE);
  put32(out.data + RB_OFF_LENGTH, -1);
  ck_assert_int_eq(rb_validate(out.data, out.len, &sum), KERR_CORRUPT_MESSAGE);
  ck_assert_uint_eq(rb_check_one(out.data, out.len), 0);
  buf_free(&out);
}
END_TEST

START_TEST(old_and_unknown_magic) {
  struct buf out;
  buf_init(&out);
  build(&out, RB_CODEC_NONE);
  struct rb_summary sum;
  for (int magic = 0; magic <= 1; magic++) {
    out.data[RB_OFF_MAGIC] = (uint8_t)magic;
    ck_assert_int_eq(rb_validate(out.data, out.len, &sum), KERR_UNSUPPORTED_VERSION);
    ck_assert_int_eq(rb_validate(out.data, 20, &sum),
                     KERR_UNSUPPORTED_VERSION); /* short v0/v1 */
    ck_assert_uint_eq(rb_check_one(out.data, out.len), 0);
  }
  const int bad[] = {3, 0x7f, 0xff};
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    out.data[RB_OFF_MAGIC] = (uint8_t)bad[i];
    ck_assert_int_eq(rb_validate(out.data, out.len, &sum), KERR_CORRUPT_MESSAGE);
    ck_assert_uint_eq(rb_check_one(out.data, out.len), 0);
  }
  struct buf scratch;
  buf_init(&scratch);
  struct rb_iter it;
  struct rb_record rec;
  ck_assert_int_eq(rb_iter_init(&it, out.data, out.len, &scratch, BYTES_MAX),
                   KERR_CORRUPT_MESSAGE);
  ck_assert_int_lt(rb_iter_next(&it, &rec), 0);
  /* A second batch with magic 1 behind a good one. */
  out.data[RB_OFF_MAGIC] = 2;
  size_t first = out.len;
  build(&out, RB_CODEC_NONE);
  out.data[first + RB_OFF_MAGIC] = 1;
  ck_assert_int_eq(rb_validate(out.data, out.len, &sum), KERR_UNSUPPORTED_VERSION);
  buf_free(&scratch);
  buf_free(&out);
}
END_TEST

/* Sets recordCount and lastOffsetDelta of the batch and reseals it. */
static int validate_counts(struct buf *b, int32_t count, int32_t last_offset_delta) {
  put32(b->data + RB_OFF_RECORD_COUNT, count);
  put32(b->data + RB_OFF_LAST_OFFSET_DELTA, last_offset_delta);
  reseal(b->data, b->len);
  struct rb_summary sum;
  return rb_validate(b->data, b->len, &sum);
}

START_TEST(inconsistent_counts) {
  struct buf out;
  buf_init(&out);
  build(&out, RB_CODEC_NONE);
  const int32_t n = RECORD_COUNT;
  ck_assert_int_eq(validate_counts(&out, 0, -1), KERR_INVALID_RECORD); /* empty */
  ck_assert_int_eq(validate_counts(&out, -1, -2), KERR_INVALID_RECORD);
  ck_assert_int_eq(validate_counts(&out, n, n), KERR_INVALID_RECORD);
  ck_assert_int_eq(validate_counts(&out, n, n - 2), KERR_INVALID_RECORD);
  ck_assert_int_eq(validate_counts(&out, INT32_MAX, INT32_MAX - 1), KERR_CORRUPT_MESSAGE);
  ck_assert_int_eq(validate_counts(&out, n + 1, n), KERR_CORRUPT_MESSAGE);     /* one missing */
  ck_assert_int_eq(validate_counts(&out, n - 1, n - 2), KERR_CORRUPT_MESSAGE); /* one extra */
  ck_assert_int_eq(validate_counts(&out, n, n - 1), KERR_NONE);
  /* Compressed: the counts are checked, the records only when iterated. */
  buf_reset(&out);
  build(&out, RB_CODEC_GZIP);
  ck_assert_int_eq(validate_counts(&out, n, n), KERR_INVALID_RECORD);
  ck_assert_int_eq(validate_counts(&out, n + 1, n), KERR_NONE);
  struct buf scratch;
  buf_init(&scratch);
  struct rb_iter it;
  struct rb_record rec;
  ck_assert_int_eq(rb_iter_init(&it, out.data, out.len, &scratch, BYTES_MAX), KERR_NONE);
  int got = 0;
  for (int i = 0; i < n + 2 && (got = rb_iter_next(&it, &rec)) == 1; i++) continue;
  ck_assert_int_eq(got, -KERR_CORRUPT_MESSAGE);
  ck_assert_int_eq(rb_iter_next(&it, &rec), -KERR_CORRUPT_MESSAGE); /* sticky */
  ck_assert_int_eq(validate_counts(&out, n - 1, n - 2), KERR_NONE);
  ck_assert_int_eq(rb_iter_init(&it, out.data, out.len, &scratch, BYTES_MAX), KERR_NONE);
  for (int i = 0; i < n + 2 && (got = rb_iter_next(&it, &rec)) == 1; i++) continue;
  ck_assert_int_eq(got, -KERR_CORRUPT_MESSAGE); /* bytes left after the last record */
  buf_free(&scratch);
  buf_free(&out);
}
END_TEST

START_TEST(offset_deltas_and_malformed_records) {
  struct expect two[] = {{BASE_TS, KB("a"), KB("b"), 0, {{KNULL, KNULL}}},
                         {BASE_TS, KB("c"), KB("d"), 0, {{KNULL, KNULL}}}};
  struct buf out;
  buf_init(&out);
  build_from(&out, RB_CODEC_NONE, two, 2);
  /* Each record: length, attributes, timestampDelta, offsetDelta, "a", "b", 0. */
  const size_t rec_bytes = 9, delta_at = RB_HEADER_BYTES + 3;
  ck_assert_uint_eq(out.len, RB_HEADER_BYTES + 2 * rec_bytes);
  ck_assert_int_eq(out.data[delta_at + rec_bytes], 0x02); /* offsetDelta 1 */
  struct rb_summary sum;
  out.data[delta_at + rec_bytes] = 0x04; /* offsetDelta 2: a gap */
  reseal(out.data, out.len);
  ck_assert_int_eq(rb_validate(out.data, out.len, &sum), KERR_INVALID_RECORD);
  out.data[delta_at + rec_bytes] = 0x02;
  /* keyLength -2, a header count past the record, a record length past
   * the batch, a record length one byte short: all corrupt. */
  const struct {
    size_t at;
    uint8_t byte;
  } edits[] = {{RB_HEADER_BYTES + 4, 0x03},
               {RB_HEADER_BYTES + 8, 0x02},
               {RB_HEADER_BYTES, 0x7e},
               {RB_HEADER_BYTES, 0x0e}};
  struct buf scratch;
  buf_init(&scratch);
  for (size_t i = 0; i < ARRAY_LEN(edits); i++) {
    uint8_t saved = out.data[edits[i].at];
    out.data[edits[i].at] = edits[i].byte;
    reseal(out.data, out.len);
    ck_assert_int_eq(rb_validate(out.data, out.len, &sum), KERR_CORRUPT_MESSAGE);
    struct rb_iter it;
    struct rb_record rec;
    ck_assert_int_eq(rb_iter_init(&it, out.data, out.len, &scratch, BYTES_MAX), KERR_NONE);
    ck_assert_int_eq(rb_iter_next(&it, &rec), -KERR_CORRUPT_MESSAGE);
    out.data[edits[i].at] = saved;
  }
  /* A record with a header whose key is null; then with an empty key. */
  static const uint8_t null_key_header[] = {0x10, 0, 0, 0, 0x01, 0x01, 0x02, 0x01, 0x01};
  uint8_t batch[RB_HEADER_BYTES + sizeof null_key_header];
  memcpy(batch, out.data, RB_HEADER_BYTES);
  memcpy(batch + RB_HEADER_BYTES, null_key_header, sizeof null_key_header);
  put32(batch + RB_OFF_LENGTH, (int32_t)sizeof batch - 12);
  put32(batch + RB_OFF_RECORD_COUNT, 1);
  put32(batch + RB_OFF_LAST_OFFSET_DELTA, 0);
  reseal(batch, sizeof batch);
  ck_assert_int_eq(rb_validate(batch, sizeof batch, &sum), KERR_CORRUPT_MESSAGE);
  batch[RB_HEADER_BYTES + 7] = 0x00;
  reseal(batch, sizeof batch);
  ck_assert_int_eq(rb_validate(batch, sizeof batch, &sum), KERR_NONE);
  struct rd r;
  rd_init(&r, null_key_header + 7, 2);
  struct rb_record_header h;
  ck_assert(!rb_record_header_next(&r, &h));
  buf_free(&scratch);
  buf_free(&out);
}
END_TEST

START_TEST(codec_bits_control_and_transactional) {
  struct buf out;
  buf_init(&out);
  build(&out, RB_CODEC_NONE);
  struct rb_summary sum;
  for (int codec = 5; codec <= 7; codec++) {
    out.data[RB_OFF_ATTRIBUTES + 1] = (uint8_t)codec;
    reseal(out.data, out.len);
    ck_assert_int_eq(rb_validate(out.data, out.len, &sum), KERR_UNSUPPORTED_COMPRESSION_TYPE);
    struct rb_iter it;
    struct buf scratch;
    buf_init(&scratch);
    ck_assert_int_eq(rb_iter_init(&it, out.data, out.len, &scratch, BYTES_MAX),
                     KERR_UNSUPPORTED_COMPRESSION_TYPE);
    buf_free(&scratch);
  }
  /* Control and transactional batches pass, and the summary says so. */
  out.data[RB_OFF_ATTRIBUTES + 1] = RB_ATTR_CONTROL | RB_ATTR_TRANSACTIONAL;
  reseal(out.data, out.len);
  ck_assert_int_eq(rb_validate(out.data, out.len, &sum), KERR_NONE);
  ck_assert(sum.control && sum.transactional);
  ck_assert_int_eq(sum.codec, RB_CODEC_NONE);
  buf_free(&out);
}
END_TEST

START_TEST(patch_keeps_crc) {
  for (int codec = RB_CODEC_NONE; codec <= RB_CODEC_ZSTD; codec++) {
    struct buf out;
    buf_init(&out);
    build(&out, (enum rb_codec)codec);
    uint32_t crc = (uint32_t)out.data[17] << 24 | (uint32_t)out.data[18] << 16 |
                   (uint32_t)out.data[19] << 8 | out.data[20];
    rb_patch(out.data, 12345678901, 7);
    struct rb_header h;
    ck_assert(rb_header_read(out.data, out.len, &h));
    ck_assert_int_eq(h.base_offset, 12345678901);
    ck_assert_int_eq(h.leader_epoch, 7);
    ck_assert_uint_eq(h.crc, crc);
    ck_assert_uint_eq(rb_check_one(out.data, out.len), out.len);
    struct rb_summary sum;
    ck_assert_int_eq(rb_validate(out.data, out.len, &sum), KERR_NONE);
    check_batch(out.data, out.len, records, RECORD_COUNT, 12345678901);
    buf_free(&out);
  }
}
END_TEST

START_TEST(iter_bounds_decompression) {
  uint8_t *zeros = calloc(1, 8 * MIB);
  struct rb_builder b;
  rb_builder_init(&b, 0, 1);
  rb_builder_add(&b, 1, (struct kbytes)KNULL, (struct kbytes){zeros, 8 * MIB}, NULL, 0);
  struct buf scratch;
  buf_init(&scratch);
  for (int codec = RB_CODEC_GZIP; codec <= RB_CODEC_ZSTD; codec++) {
    struct buf out;
    buf_init(&out);
    ck_assert_int_eq(rb_builder_finish(&b, (enum rb_codec)codec, &out), KERR_NONE);
    ck_assert_uint_lt(out.len, MIB);
    struct rb_iter it;
    struct rb_record rec;
    /* Past the bound: too large, not corrupt (the budget may be the broker's). */
    ck_assert_int_eq(rb_iter_init(&it, out.data, out.len, &scratch, MIB),
                     KERR_MESSAGE_TOO_LARGE);
    ck_assert_int_lt(rb_iter_next(&it, &rec), 0);
    ck_assert_uint_le(scratch.cap, 4 * MIB);
    struct buf re;
    buf_init(&re);
    ck_assert_int_eq(rb_recompress(out.data, out.len, RB_CODEC_NONE, MIB, &re),
                     KERR_MESSAGE_TOO_LARGE);
    ck_assert_uint_eq(re.len, 0);
    /* Garbage where the compressed records should be. */
    memset(out.data + RB_HEADER_BYTES, 0x5a, out.len - RB_HEADER_BYTES);
    ck_assert_int_eq(rb_iter_init(&it, out.data, out.len, &scratch, BYTES_MAX),
                     KERR_CORRUPT_MESSAGE);
    buf_free(&re);
    buf_free(&out);
  }
  rb_builder_free(&b);
  buf_free(&scratch);
  free(zeros);
}
END_TEST

START_TEST(builder_edges) {
  struct rb_builder b;
  rb_builder_init(&b, 0, 1);
  struct buf out;
  buf_init(&out);
  buf_append(&out, "abc", 3);
  ck_assert_int_eq(rb_builder_finish(&b, RB_CODEC_NONE, &out), KERR_INVALID_RECORD);
  rb_builder_add(&b, 1, (struct kbytes)KNULL, (struct kbytes)KNULL, NULL, 0);
  ck_assert_int_eq(rb_builder_finish(&b, (enum rb_codec)6, &out),
                   KERR_UNSUPPORTED_COMPRESSION_TYPE);
  ck_assert_uint_eq(out.len, 3);
  ck_assert_mem_eq(out.data, "abc", 3);
  /* Extreme timestamps: deltas wrap without undefined behaviour. */
  rb_builder_add(&b, INT64_MIN, (struct kbytes)KNULL, (struct kbytes)KNULL, NULL, 0);
  rb_builder_add(&b, INT64_MAX, (struct kbytes)KNULL, (struct kbytes)KNULL, NULL, 0);
  ck_assert_int_eq(rb_builder_finish(&b, RB_CODEC_NONE, &out), KERR_NONE);
  rb_builder_free(&b);
  struct rb_summary sum;
  ck_assert_int_eq(rb_validate(out.data + 3, out.len - 3, &sum), KERR_NONE);
  ck_assert_int_eq(sum.max_timestamp, INT64_MAX);
  struct expect e[] = {{1, KNULL, KNULL, 0, {{KNULL, KNULL}}},
                       {INT64_MIN, KNULL, KNULL, 0, {{KNULL, KNULL}}},
                       {INT64_MAX, KNULL, KNULL, 0, {{KNULL, KNULL}}}};
  check_batch(out.data + 3, out.len - 3, e, 3, 0);
  buf_free(&out);
}
END_TEST

/* Compares every record field of two batches. */
static void same_records(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len) {
  struct buf sa, sb;
  buf_init(&sa);
  buf_init(&sb);
  struct rb_iter ia, ib;
  ck_assert_int_eq(rb_iter_init(&ia, a, a_len, &sa, BYTES_MAX), KERR_NONE);
  ck_assert_int_eq(rb_iter_init(&ib, b, b_len, &sb, BYTES_MAX), KERR_NONE);
  for (int n = 0; n <= RECORD_COUNT; n++) {
    struct rb_record ra, rb;
    int ga = rb_iter_next(&ia, &ra), gb = rb_iter_next(&ib, &rb);
    ck_assert_int_eq(ga, gb);
    if (ga == 0) break;
    ck_assert_int_eq(ga, 1);
    ck_assert_int_eq(ra.offset, rb.offset);
    ck_assert_int_eq(ra.timestamp, rb.timestamp);
    ck_assert_int_eq(ra.attributes, rb.attributes);
    same_bytes(ra.key, rb.key);
    same_bytes(ra.value, rb.value);
    ck_assert_int_eq(ra.header_count, rb.header_count);
    ck_assert_uint_eq(ra.headers_raw_len, rb.headers_raw_len);
    struct rd hra, hrb;
    rd_init(&hra, ra.headers_raw, ra.headers_raw_len);
    rd_init(&hrb, rb.headers_raw, rb.headers_raw_len);
    for (int32_t h = 0; h < ra.header_count; h++) {
      struct rb_record_header ha, hb;
      ck_assert(rb_record_header_next(&hra, &ha) && rb_record_header_next(&hrb, &hb));
      same_bytes(ha.key, hb.key);
      same_bytes(ha.value, hb.value);
    }
  }
  buf_free(&sa);
  buf_free(&sb);
}

static void same_header_but_codec(const struct rb_header *a, const struct rb_header *b) {
  ck_assert_int_eq(a->base_offset, b->base_offset);
  ck_assert_int_eq(a->leader_epoch, b->leader_epoch);
  ck_assert_int_eq(a->magic, b->magic);
  ck_assert_int_eq(a->attributes & ~RB_ATTR_COMPRESSION_MASK,
                   b->attributes & ~RB_ATTR_COMPRESSION_MASK);
  ck_assert_int_eq(a->last_offset_delta, b->last_offset_delta);
  ck_assert_int_eq(a->base_timestamp, b->base_timestamp);
  ck_assert_int_eq(a->max_timestamp, b->max_timestamp);
  ck_assert_int_eq(a->producer_id, b->producer_id);
  ck_assert_int_eq(a->producer_epoch, b->producer_epoch);
  ck_assert_int_eq(a->base_sequence, b->base_sequence);
  ck_assert_int_eq(a->record_count, b->record_count);
}

START_TEST(recompress_chain_keeps_everything) {
  struct buf orig, a, b;
  buf_init(&orig);
  buf_init(&a);
  buf_init(&b);
  struct rb_builder bld;
  rb_builder_init(&bld, 0, BASE_TS);
  rb_builder_set_producer(&bld, 9, 2, 100, true);
  for (int i = 0; i < RECORD_COUNT; i++)
    rb_builder_add(&bld, records[i].timestamp, records[i].key, records[i].value,
                   records[i].header_count ? records[i].headers : NULL,
                   records[i].header_count);
  ck_assert_int_eq(rb_builder_finish(&bld, RB_CODEC_NONE, &orig), KERR_NONE);
  rb_builder_free(&bld);
  /* As a leader stored it, with log-append time, a set record attribute
   * byte and a maxTimestamp of the broker's. */
  rb_patch(orig.data, 100, 3);
  orig.data[RB_OFF_ATTRIBUTES + 1] |= RB_ATTR_TIMESTAMP_LOG_APPEND;
  orig.data[RB_HEADER_BYTES + 1] = 0x01;
  orig.data[RB_OFF_MAX_TIMESTAMP + 7] ^= 0x55;
  reseal(orig.data, orig.len);
  struct rb_header h0;
  ck_assert(rb_header_read(orig.data, orig.len, &h0));
  buf_append(&a, orig.data, orig.len);
  const enum rb_codec chain[] = {RB_CODEC_GZIP, RB_CODEC_ZSTD, RB_CODEC_LZ4, RB_CODEC_SNAPPY,
                                 RB_CODEC_NONE};
  for (size_t i = 0; i < ARRAY_LEN(chain); i++) {
    buf_reset(&b);
    buf_append(&b, "p", 1); /* appends */
    ck_assert_int_eq(rb_recompress(a.data, a.len, chain[i], BYTES_MAX, &b), KERR_NONE);
    ck_assert_uint_eq(rb_check_one(b.data + 1, b.len - 1), b.len - 1);
    struct rb_header h;
    ck_assert(rb_header_read(b.data + 1, b.len - 1, &h));
    ck_assert_int_eq(h.attributes & RB_ATTR_COMPRESSION_MASK, chain[i]);
    same_header_but_codec(&h, &h0);
    same_records(orig.data, orig.len, b.data + 1, b.len - 1);
    buf_reset(&a);
    buf_append(&a, b.data + 1, b.len - 1);
  }
  ck_assert_uint_eq(a.len, orig.len); /* back to none: the very same bytes */
  ck_assert_mem_eq(a.data, orig.data, orig.len);
  ck_assert_int_eq(rb_recompress(a.data, a.len, (enum rb_codec)5, BYTES_MAX, &b),
                   KERR_UNSUPPORTED_COMPRESSION_TYPE);
  buf_free(&orig);
  buf_free(&a);
  buf_free(&b);
}
END_TEST

/* In steps of a few bytes (the produce path's slices, issue 13): each codec
 * writes one valid batch (CRC included) with the same header and records
 * as the one-step recompression, after a prefix already in out. */
START_TEST(recompress_in_steps_keeps_everything) {
  struct buf orig, out;
  buf_init(&orig);
  buf_init(&out);
  build_from(&orig, RB_CODEC_NONE, records, RECORD_COUNT);
  struct rb_header h0;
  ck_assert(rb_header_read(orig.data, orig.len, &h0));
  const enum rb_codec codecs[] = {RB_CODEC_GZIP, RB_CODEC_ZSTD, RB_CODEC_LZ4, RB_CODEC_SNAPPY,
                                  RB_CODEC_NONE};
  for (size_t i = 0; i < ARRAY_LEN(codecs); i++) {
    buf_reset(&out);
    buf_append(&out, "p", 1);
    struct rb_recompression r;
    ck_assert_int_eq(rb_recompress_begin(&r, orig.data, orig.len, codecs[i], BYTES_MAX, &out),
                     KERR_NONE);
    bool done = false;
    int steps = 0;
    for (; steps < 100000 && !done; steps++)
      ck_assert_int_eq(rb_recompress_step(&r, 7, &done), KERR_NONE);
    ck_assert(done);
    ck_assert_int_gt(steps, 2);
    rb_recompress_end(&r);
    ck_assert_uint_eq(rb_check_one(out.data + 1, out.len - 1), out.len - 1);
    struct rb_header h;
    ck_assert(rb_header_read(out.data + 1, out.len - 1, &h));
    ck_assert_int_eq(h.attributes & RB_ATTR_COMPRESSION_MASK, codecs[i]);
    same_header_but_codec(&h, &h0);
    same_records(orig.data, orig.len, out.data + 1, out.len - 1);
  }
  /* Ended before its last step: out is as it was. */
  buf_reset(&out);
  buf_append(&out, "p", 1);
  struct rb_recompression r;
  ck_assert_int_eq(rb_recompress_begin(&r, orig.data, orig.len, RB_CODEC_GZIP, BYTES_MAX, &out),
                   KERR_NONE);
  bool done = false;
  ck_assert_int_eq(rb_recompress_step(&r, 7, &done), KERR_NONE);
  ck_assert(!done);
  rb_recompress_end(&r);
  ck_assert_uint_eq(out.len, 1);
  buf_free(&orig);
  buf_free(&out);
}
END_TEST

/* Steps of step_bytes until done or an error (the error). */
static int recompress_steps(const uint8_t *batch, size_t len, enum rb_codec codec,
                            size_t bytes_max, size_t step_bytes, struct buf *out,
                            int *steps_out) {
  struct rb_recompression r;
  size_t start = out->len;
  int rc = rb_recompress_begin(&r, batch, len, codec, bytes_max, out);
  bool done = false;
  *steps_out = 0;
  for (int n = 0; n < 1000000 && rc == KERR_NONE && !done; n++) {
    size_t worked = r.worked;
    rc = rb_recompress_step(&r, step_bytes, &done);
    /* A step inflates at most step_bytes and compresses at most as much
     * (the source here has no snappy block larger than 32 KiB). */
    ck_assert_uint_le(r.worked - worked, 2 * step_bytes + 32 * 1024);
    if (rc == KERR_NONE) ++*steps_out;
  }
  ck_assert(rc != KERR_NONE || done);
  rb_recompress_end(&r);
  if (rc != KERR_NONE) ck_assert_uint_eq(out->len, start); /* nothing of it stays */
  return rc;
}

/* From every codec to every codec in 7-byte steps: the batch is valid and
 * holds what the one-step recompression holds, record for record and, back
 * to none, byte for byte. */
START_TEST(recompress_inflating_in_tiny_steps) {
  for (int from = RB_CODEC_NONE; from <= RB_CODEC_ZSTD; from++) {
    struct buf src, one, steps, one_none, steps_none;
    buf_init(&src);
    build(&src, (enum rb_codec)from);
    for (int to = RB_CODEC_NONE; to <= RB_CODEC_ZSTD; to++) {
      buf_init(&one);
      buf_init(&steps);
      buf_init(&one_none);
      buf_init(&steps_none);
      ck_assert_int_eq(rb_recompress(src.data, src.len, (enum rb_codec)to, BYTES_MAX, &one),
                       KERR_NONE);
      int n;
      ck_assert_int_eq(
          recompress_steps(src.data, src.len, (enum rb_codec)to, BYTES_MAX, 7, &steps, &n),
          KERR_NONE);
      ck_assert_int_gt(n, 1000); /* 200 KB of records, 7 bytes a step */
      ck_assert_uint_eq(rb_check_one(steps.data, steps.len), steps.len);
      same_records(src.data, src.len, steps.data, steps.len);
      ck_assert_int_eq(rb_recompress(one.data, one.len, RB_CODEC_NONE, BYTES_MAX, &one_none),
                       KERR_NONE);
      ck_assert_int_eq(
          rb_recompress(steps.data, steps.len, RB_CODEC_NONE, BYTES_MAX, &steps_none),
          KERR_NONE);
      ck_assert_uint_eq(one_none.len, steps_none.len);
      ck_assert_mem_eq(one_none.data, steps_none.data, one_none.len);
      buf_free(&one);
      buf_free(&steps);
      buf_free(&one_none);
      buf_free(&steps_none);
    }
    buf_free(&src);
  }
}
END_TEST

/* The inflating budget fails the step that passes it, after earlier steps
 * succeeded, and the batch leaves out; corrupt data mid-stream likewise
 * with KERR_CORRUPT_MESSAGE. */
START_TEST(recompress_refused_mid_stream) {
  const enum rb_codec from[] = {RB_CODEC_GZIP, RB_CODEC_SNAPPY, RB_CODEC_LZ4, RB_CODEC_ZSTD};
  for (size_t i = 0; i < ARRAY_LEN(from); i++) {
    struct buf src, out;
    buf_init(&src);
    buf_init(&out);
    build(&src, from[i]);
    buf_append(&out, "p", 1);
    int n;
    /* zstd declares its size: refused before a step. */
    int rc = recompress_steps(src.data, src.len, RB_CODEC_GZIP, 100000, 4096, &out, &n);
    ck_assert_int_eq(rc, KERR_MESSAGE_TOO_LARGE);
    if (from[i] != RB_CODEC_ZSTD) ck_assert_int_gt(n, 2); /* snappy: 32 KiB blocks */
    ck_assert_uint_eq(out.len, 1);
    /* Garbage over the last quarter of the stream, the CRC made right. */
    size_t records_len = src.len - RB_HEADER_BYTES;
    memset(src.data + RB_HEADER_BYTES + records_len * 3 / 4, 0xff,
           records_len - records_len * 3 / 4);
    reseal(src.data, src.len);
    ck_assert_int_eq(recompress_steps(src.data, src.len, RB_CODEC_GZIP, BYTES_MAX, 7, &out, &n),
                     KERR_CORRUPT_MESSAGE);
    /* zstd decodes a block (up to 128 KiB) at a time: this batch is one. */
    if (from[i] != RB_CODEC_ZSTD) ck_assert_int_gt(n, 2);
    ck_assert_uint_eq(out.len, 1);
    buf_free(&src);
    buf_free(&out);
  }
}
END_TEST

/* Compaction can leave a batch with no records that keeps its offsets. */
START_TEST(recompress_empty_batch) {
  uint8_t batch[RB_HEADER_BYTES];
  struct buf built;
  buf_init(&built);
  build_from(&built, RB_CODEC_NONE, records, 1);
  memcpy(batch, built.data, RB_HEADER_BYTES);
  put32(batch + RB_OFF_LENGTH, RB_HEADER_BYTES - 12);
  put32(batch + RB_OFF_RECORD_COUNT, 0);
  put32(batch + RB_OFF_LAST_OFFSET_DELTA, 4);
  reseal(batch, sizeof batch);
  ck_assert_uint_eq(rb_check_one(batch, sizeof batch), sizeof batch);
  struct buf out;
  buf_init(&out);
  ck_assert_int_eq(rb_recompress(batch, sizeof batch, RB_CODEC_GZIP, BYTES_MAX, &out),
                   KERR_NONE);
  struct rb_header h0, h;
  rb_header_read(batch, sizeof batch, &h0);
  ck_assert(rb_header_read(out.data, out.len, &h));
  same_header_but_codec(&h, &h0);
  ck_assert_int_eq(h.last_offset_delta, 4);
  check_batch(out.data, out.len, records, 0, 0);
  buf_free(&out);
  buf_free(&built);
}
END_TEST

/* Random edits with the CRC recomputed, so the parsers see them: nothing
 * crashes, and what validates iterates to exactly its count. */
START_TEST(mutations_never_crash) {
  struct buf orig, m, scratch;
  buf_init(&orig);
  buf_init(&m);
  buf_init(&scratch);
  build_from(&orig, RB_CODEC_NONE, records, 5);
  size_t orig_len = orig.len;
  build_from(&orig, RB_CODEC_SNAPPY, records, 5);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  int valid = 0;
  for (int round = 0; round < 20000; round++) {
    buf_reset(&m);
    bool compressed = round % 2;
    size_t start = compressed ? orig_len : 0, len = compressed ? orig.len - orig_len : orig_len;
    buf_append(&m, orig.data + start, len);
    for (int e = 0; e < 1 + round % 3; e++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      size_t at = RB_OFF_ATTRIBUTES + (size_t)(x % (m.len - RB_OFF_ATTRIBUTES));
      m.data[at] = (uint8_t)(x >> 32);
    }
    reseal(m.data, m.len);
    struct rb_summary sum;
    int rc = rb_validate(m.data, m.len, &sum);
    struct rb_iter it;
    struct rb_record rec;
    if (rb_iter_init(&it, m.data, m.len, &scratch, MIB) != KERR_NONE) continue;
    int got = 1, n = 0;
    for (; n <= it.h.record_count && (got = rb_iter_next(&it, &rec)) == 1; n++) continue;
    if (rc == KERR_NONE && (it.h.attributes & RB_ATTR_COMPRESSION_MASK) == RB_CODEC_NONE) {
      ck_assert_int_eq(got, 0);
      ck_assert_int_eq(n, sum.record_count);
      valid++;
    }
  }
  ck_assert_int_gt(valid, 0);
  buf_free(&orig);
  buf_free(&m);
  buf_free(&scratch);
}
END_TEST

/* The one header parser and its framing checks, and the byte-order helpers
 * they stand on. */
START_TEST(frame_and_stored_header_validity) {
  uint8_t b[8];
  be16_put(b, 0xfeed);
  ck_assert_int_eq(be16_get(b), 0xfeed);
  ck_assert_int_eq(b[0], 0xfe);
  be32_put(b, 0x01020304u);
  ck_assert_int_eq(b[0], 1);
  ck_assert_int_eq(b[3], 4);
  ck_assert_uint_eq(be32_get(b), 0x01020304u);
  be64_put(b, UINT64_C(0x8001020304050607));
  ck_assert_int_eq(b[0], 0x80);
  ck_assert_int_eq(b[7], 7);
  ck_assert_uint_eq(be64_get(b), UINT64_C(0x8001020304050607));

  struct buf out;
  buf_init(&out);
  build(&out, RB_CODEC_NONE);
  struct rb_header h = {0}; /* rb_frame may fail before it fills h */
  ck_assert_uint_eq(rb_frame(out.data, out.len, &h), out.len);
  ck_assert_uint_eq(rb_header_size(&h), out.len);
  ck_assert_int_eq(rb_header_last_offset(&h), RECORD_COUNT - 1);
  ck_assert(rb_header_valid(&h));
  /* Short input, a header whose length runs past it or does not cover it. */
  ck_assert_uint_eq(rb_frame(out.data, RB_HEADER_BYTES - 1, &h), 0);
  ck_assert_uint_eq(rb_frame(out.data, out.len - 1, &h), 0);
  uint8_t copy[RB_HEADER_BYTES];
  memcpy(copy, out.data, sizeof copy);
  be32_put(copy + RB_OFF_LENGTH, RB_HEADER_BYTES - RB_LOG_OVERHEAD - 1);
  ck_assert_uint_eq(rb_frame(copy, sizeof copy, &h), 0);
  /* A stored batch needs magic 2 and offsets that cannot overflow. */
  ck_assert(rb_header_read(out.data, out.len, &h));
  h.magic = 1;
  ck_assert(!rb_header_valid(&h));
  ck_assert(rb_header_read(out.data, out.len, &h));
  h.base_offset = -1;
  ck_assert(!rb_header_valid(&h));
  h.base_offset = INT64_MAX - h.last_offset_delta;
  ck_assert(!rb_header_valid(&h));
  h.base_offset = INT64_MAX - 1 - h.last_offset_delta;
  ck_assert(rb_header_valid(&h));
  buf_free(&out);
}
END_TEST

static Suite *record_batch_suite(void) {
  Suite *s = suite_create("record_batch");
  TCase *tc = tcase_create("core");
  tcase_add_unchecked_fixture(tc, setup, NULL);
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, build_validate_iterate_every_codec);
  tcase_add_test(tc, producer_fields_and_summary_of_many_batches);
  tcase_add_test(tc, crc32c_check_value);
  tcase_add_test(tc, golden_batch);
  tcase_add_test(tc, flipped_byte_after_crc_field_is_caught);
  tcase_add_test(tc, truncated_and_partial_batches);
  tcase_add_test(tc, old_and_unknown_magic);
  tcase_add_test(tc, inconsistent_counts);
  tcase_add_test(tc, offset_deltas_and_malformed_records);
  tcase_add_test(tc, codec_bits_control_and_transactional);
  tcase_add_test(tc, patch_keeps_crc);
  tcase_add_test(tc, iter_bounds_decompression);
  tcase_add_test(tc, builder_edges);
  tcase_add_test(tc, recompress_chain_keeps_everything);
  tcase_add_test(tc, recompress_empty_batch);
  tcase_add_test(tc, recompress_in_steps_keeps_everything);
  tcase_add_test(tc, recompress_inflating_in_tiny_steps);
  tcase_add_test(tc, recompress_refused_mid_stream);
  tcase_add_test(tc, mutations_never_crash);
  tcase_add_test(tc, frame_and_stored_header_validity);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(record_batch_suite)
