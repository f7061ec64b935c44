#include <string.h>

#include "base/crc32c.h"
#include "proto/compress.h"
#include "proto/errors.h"
#include "proto/record_batch.h"
#include "testing.h"

enum { BYTES_MAX = 64 << 20 };

static struct kbytes kb(const char *s) {
  return s ? (struct kbytes){(const uint8_t *)s, (int32_t)strlen(s)}
           : (struct kbytes){NULL, -1};
}

/* Three records: a plain one, a null key, a null value with two headers. */
static void build(struct buf *out, enum rb_codec codec) {
  struct rb_builder b;
  rb_builder_init(&b, 0, 1700000000000);
  rb_builder_add(&b, 1700000000000, kb("k0"), kb("v0"), NULL, 0);
  rb_builder_add(&b, 1700000000005, kb(NULL), kb("v1"), NULL, 0);
  struct rb_record_header h[2] = {{kb("a"), kb("1")}, {kb("b"), kb(NULL)}};
  rb_builder_add(&b, 1700000000003, kb("k2"), kb(NULL), h, 2);
  ck_assert_int_eq(rb_builder_finish(&b, codec, out), KERR_NONE);
  rb_builder_free(&b);
}

static void check_records(const uint8_t *batch, size_t len) {
  struct buf scratch;
  buf_init(&scratch);
  struct rb_iter it;
  struct rb_record rec;
  ck_assert_int_eq(rb_iter_init(&it, batch, len, &scratch, BYTES_MAX), KERR_NONE);
  ck_assert_int_eq(rb_iter_next(&it, &rec), 1);
  ck_assert_int_eq(rec.offset, 0);
  ck_assert_int_eq(rec.timestamp, 1700000000000);
  ck_assert(rec.key.len == 2 && !memcmp(rec.key.ptr, "k0", 2));
  ck_assert(rec.value.len == 2 && !memcmp(rec.value.ptr, "v0", 2));
  ck_assert_int_eq(rb_iter_next(&it, &rec), 1);
  ck_assert_int_eq(rec.offset, 1);
  ck_assert_int_eq(rec.key.len, -1);
  ck_assert_int_eq(rec.timestamp, 1700000000005);
  ck_assert_int_eq(rb_iter_next(&it, &rec), 1);
  ck_assert_int_eq(rec.value.len, -1);
  ck_assert_int_eq(rec.header_count, 2);
  struct rd r;
  rd_init(&r, rec.headers_raw, rec.headers_raw_len);
  struct rb_record_header h;
  ck_assert(rb_record_header_next(&r, &h) && h.key.len == 1 && h.value.len == 1);
  ck_assert(rb_record_header_next(&r, &h) && h.key.ptr[0] == 'b' && h.value.len == -1);
  ck_assert_int_eq(rb_iter_next(&it, &rec), 0);
  buf_free(&scratch);
}

START_TEST(build_validate_iterate_every_codec) {
  for (int codec = RB_CODEC_NONE; codec <= RB_CODEC_ZSTD; codec++) {
    struct buf out;
    buf_init(&out);
    build(&out, (enum rb_codec)codec);
    struct rb_summary sum;
    ck_assert_int_eq(rb_validate(out.data, out.len, &sum), KERR_NONE);
    ck_assert_int_eq(sum.record_count, 3);
    ck_assert_int_eq(sum.codec, codec);
    ck_assert_int_eq(sum.max_timestamp, 1700000000005);
    ck_assert_uint_eq(rb_check_one(out.data, out.len), out.len);
    check_records(out.data, out.len);
    buf_free(&out);
  }
}
END_TEST

/* A one-record batch written byte by byte from the protocol guide. */
START_TEST(golden_batch) {
  static const uint8_t record[] = {
      0x10,      /* length 8 (zigzag) */
      0x00,      /* attributes */
      0x00,      /* timestamp delta 0 */
      0x00,      /* offset delta 0 */
      0x02, 'k', /* key length 1 */
      0x02, 'v', /* value length 1 */
      0x00,      /* no headers */
  };
  uint8_t batch[61 + sizeof record] = {0};
  uint32_t length = sizeof batch - 12;
  batch[11] = (uint8_t)length;
  batch[16] = 2;                              /* magic */
  batch[27 + 7] = 0x2a, batch[35 + 7] = 0x2a; /* timestamps 42 */
  memset(batch + 43, 0xff, 8 + 2 + 4);        /* producer id/epoch/sequence -1 */
  batch[60] = 1;                              /* one record */
  memcpy(batch + 61, record, sizeof record);
  uint32_t crc = crc32c(batch + 21, sizeof batch - 21);
  batch[17] = (uint8_t)(crc >> 24), batch[18] = (uint8_t)(crc >> 16);
  batch[19] = (uint8_t)(crc >> 8), batch[20] = (uint8_t)crc;
  struct rb_summary sum;
  ck_assert_int_eq(rb_validate(batch, sizeof batch, &sum), KERR_NONE);
  struct rb_builder b;
  rb_builder_init(&b, 0, 42);
  rb_builder_add(&b, 42, kb("k"), kb("v"), NULL, 0);
  struct buf out;
  buf_init(&out);
  ck_assert_int_eq(rb_builder_finish(&b, RB_CODEC_NONE, &out), KERR_NONE);
  ck_assert_uint_eq(out.len, sizeof batch);
  ck_assert_mem_eq(out.data, batch, sizeof batch);
  rb_builder_free(&b);
  buf_free(&out);
}
END_TEST

START_TEST(corruption_is_caught) {
  struct buf out;
  buf_init(&out);
  build(&out, RB_CODEC_NONE);
  struct rb_summary sum;
  for (size_t i = 21; i < out.len; i++) { /* every byte the CRC covers */
    out.data[i] ^= 0x40;
    ck_assert_int_ne(rb_validate(out.data, out.len, &sum), KERR_NONE);
    ck_assert_uint_eq(rb_check_one(out.data, out.len), 0);
    out.data[i] ^= 0x40;
  }
  /* Truncated, and a trailing partial batch. */
  ck_assert_int_eq(rb_validate(out.data, out.len - 1, &sum), KERR_CORRUPT_MESSAGE);
  size_t whole = out.len;
  buf_append(&out, out.data, 30);
  ck_assert_int_ne(rb_validate(out.data, out.len, &sum), KERR_NONE);
  out.len = whole;
  /* Old message formats. */
  out.data[16] = 1;
  ck_assert_int_eq(rb_validate(out.data, out.len, &sum), KERR_UNSUPPORTED_VERSION);
  buf_free(&out);
}
END_TEST

START_TEST(patch_keeps_crc) {
  struct buf out;
  buf_init(&out);
  build(&out, RB_CODEC_LZ4);
  rb_patch(out.data, 12345, 7);
  struct rb_header h;
  ck_assert(rb_header_read(out.data, out.len, &h));
  ck_assert_int_eq(h.base_offset, 12345);
  ck_assert_int_eq(h.leader_epoch, 7);
  ck_assert_uint_eq(rb_check_one(out.data, out.len), out.len);
  buf_free(&out);
}
END_TEST

START_TEST(recompress_chain_keeps_everything) {
  struct buf a, b;
  buf_init(&a);
  buf_init(&b);
  build(&a, RB_CODEC_NONE);
  rb_patch(a.data, 100, 3);
  struct rb_header h0;
  rb_header_read(a.data, a.len, &h0);
  enum rb_codec chain[] = {RB_CODEC_GZIP, RB_CODEC_ZSTD, RB_CODEC_LZ4, RB_CODEC_SNAPPY,
                           RB_CODEC_NONE};
  for (size_t i = 0; i < sizeof chain / sizeof chain[0]; i++) {
    buf_reset(&b);
    ck_assert_int_eq(rb_recompress(a.data, a.len, chain[i], BYTES_MAX, &b), KERR_NONE);
    struct rb_header h;
    ck_assert(rb_header_read(b.data, b.len, &h));
    ck_assert_int_eq(h.attributes & 7, chain[i]);
    ck_assert_int_eq(h.base_offset, 100);
    ck_assert_int_eq(h.leader_epoch, 3);
    ck_assert_int_eq(h.max_timestamp, h0.max_timestamp);
    ck_assert_int_eq(h.producer_id, h0.producer_id);
    ck_assert_uint_eq(rb_check_one(b.data, b.len), b.len);
    struct buf t = a;
    a = b;
    b = t;
  }
  rb_patch(a.data, 0, 0);
  check_records(a.data, a.len);
  buf_free(&a);
  buf_free(&b);
}
END_TEST

START_TEST(codecs_round_trip_and_bound) {
  static uint8_t big[1 << 20];
  uint64_t x = 88172645463325252ull;
  for (size_t i = 0; i < sizeof big; i++) { /* incompressible half, compressible half */
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    big[i] = i < sizeof big / 2 ? (uint8_t)x : (uint8_t)(i % 7);
  }
  size_t sizes[] = {0, 1, 100, sizeof big};
  for (int codec = RB_CODEC_GZIP; codec <= RB_CODEC_ZSTD; codec++) {
    for (size_t s = 0; s < 4; s++) {
      struct buf c, d;
      buf_init(&c);
      buf_init(&d);
      ck_assert_int_eq(codec_compress((enum rb_codec)codec, big, sizes[s], &c), KERR_NONE);
      ck_assert_int_eq(codec_decompress((enum rb_codec)codec, c.data, c.len, BYTES_MAX, &d),
                       KERR_NONE);
      ck_assert_uint_eq(d.len, sizes[s]);
      if (sizes[s]) ck_assert_mem_eq(d.data, big, sizes[s]);
      if (sizes[s] == sizeof big) { /* a bound below the real size fails, no more is kept */
        buf_reset(&d);
        ck_assert_int_eq(codec_decompress((enum rb_codec)codec, c.data, c.len, 1000, &d),
                         KERR_CORRUPT_MESSAGE);
        ck_assert_uint_eq(d.len, 0);
      }
      buf_free(&c);
      buf_free(&d);
    }
    /* Garbage in, an error out. */
    struct buf d;
    buf_init(&d);
    ck_assert_int_ne(codec_decompress((enum rb_codec)codec, big, 5000, BYTES_MAX, &d),
                     KERR_NONE);
    buf_free(&d);
  }
}
END_TEST

START_TEST(snappy_raw_and_xerial) {
  struct buf c, d;
  buf_init(&c);
  buf_init(&d);
  const char *text = "hello hello hello hello snappy";
  ck_assert_int_eq(codec_compress(RB_CODEC_SNAPPY, (const uint8_t *)text, strlen(text), &c),
                   KERR_NONE);
  ck_assert_int_eq(c.data[0], 0x82); /* xerial framing, as Java writes */
  ck_assert_int_eq(codec_decompress(RB_CODEC_SNAPPY, c.data, c.len, BYTES_MAX, &d), KERR_NONE);
  ck_assert_mem_eq(d.data, text, strlen(text));
  /* The raw block inside the frame (what librdkafka sends) decodes too. */
  buf_reset(&d);
  ck_assert_int_eq(codec_decompress(RB_CODEC_SNAPPY, c.data + 20, c.len - 20, BYTES_MAX, &d),
                   KERR_NONE);
  ck_assert_mem_eq(d.data, text, strlen(text));
  ck_assert_int_eq(codec_by_name("gzip"), RB_CODEC_GZIP);
  ck_assert_int_eq(codec_by_name("uncompressed"), RB_CODEC_NONE);
  ck_assert_int_eq(codec_by_name("producer"), -1);
  buf_free(&c);
  buf_free(&d);
}
END_TEST

static Suite *record_batch_suite(void) {
  Suite *s = suite_create("record_batch");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, build_validate_iterate_every_codec);
  tcase_add_test(tc, golden_batch);
  tcase_add_test(tc, corruption_is_caught);
  tcase_add_test(tc, patch_keeps_crc);
  tcase_add_test(tc, recompress_chain_keeps_everything);
  tcase_add_test(tc, codecs_round_trip_and_bound);
  tcase_add_test(tc, snappy_raw_and_xerial);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(record_batch_suite)
