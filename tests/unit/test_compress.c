/* The record codecs (proto/compress.c): every codec round-trips empty,
 * small, incompressible and compressible inputs; output is bounded (a bomb
 * fails without allocating); garbage and truncated input fail cleanly; the
 * wire forms are the ones Kafka's clients read and write (gzip wrapper,
 * xerial and raw snappy, LZ4 frames with independent blocks, zstd frames
 * with or without a content size). */
#include <lz4frame.h>
#include <snappy-c.h>
#include <string.h>
#include <zlib.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getFrameHeader */
#include <zstd.h>

#include "base/assert.h"
#include "proto/compress.h"
#include "proto/errors.h"
#include "testing.h"

enum { MIB = 1 << 20, BYTES_MAX = 64 * MIB };

static const enum rb_codec codecs[] = {RB_CODEC_NONE, RB_CODEC_GZIP, RB_CODEC_SNAPPY,
                                       RB_CODEC_LZ4, RB_CODEC_ZSTD};
static const enum rb_codec compressing[] = {RB_CODEC_GZIP, RB_CODEC_SNAPPY, RB_CODEC_LZ4,
                                            RB_CODEC_ZSTD};

/* Deterministic bytes: xorshift64 (incompressible) or repeated text. */
static void fill_random(uint8_t *p, size_t len, uint64_t seed) {
  uint64_t x = seed | 1;
  for (size_t i = 0; i < len; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    p[i] = (uint8_t)(x >> 24);
  }
}

static void fill_text(uint8_t *p, size_t len) {
  static const char text[] = "{\"user\":42,\"event\":\"click\",\"page\":\"/index.html\"}\n";
  for (size_t i = 0; i < len; i++) p[i] = (uint8_t)text[i % (sizeof text - 1)];
}

static void round_trip(enum rb_codec codec, const uint8_t *in, size_t len) {
  struct buf c, d;
  buf_init(&c);
  buf_init(&d);
  ck_assert_int_eq(codec_compress(codec, in, len, &c), KERR_NONE);
  buf_append(&d, "prefix", 6); /* decompress appends */
  ck_assert_int_eq(codec_decompress(codec, c.data, c.len, BYTES_MAX, &d), KERR_NONE);
  ck_assert_uint_eq(d.len, 6 + len);
  ck_assert_mem_eq(d.data, "prefix", 6);
  if (len > 0) ck_assert_mem_eq(d.data + 6, in, len);
  /* A bound of exactly the size is enough; one byte less is not. */
  buf_reset(&d);
  ck_assert_int_eq(codec_decompress(codec, c.data, c.len, len, &d), KERR_NONE);
  ck_assert_uint_eq(d.len, len);
  if (len > 0) {
    buf_reset(&d);
    ck_assert_int_eq(codec_decompress(codec, c.data, c.len, len - 1, &d),
                     KERR_MESSAGE_TOO_LARGE);
    ck_assert_uint_eq(d.len, 0);
  }
  buf_free(&c);
  buf_free(&d);
}

START_TEST(round_trip_every_codec) {
  uint8_t *random = malloc(MIB), *text = malloc(MIB);
  fill_random(random, MIB, 7);
  fill_text(text, MIB);
  for (size_t i = 0; i < ARRAY_LEN(codecs); i++) {
    round_trip(codecs[i], NULL, 0);
    round_trip(codecs[i], (const uint8_t *)"k", 1);
    round_trip(codecs[i], text, 300);
    round_trip(codecs[i], random, MIB);
    round_trip(codecs[i], text, MIB);
  }
  free(random);
  free(text);
}
END_TEST

START_TEST(compressible_input_shrinks) {
  uint8_t *text = malloc(MIB);
  fill_text(text, MIB);
  for (size_t i = 0; i < ARRAY_LEN(compressing); i++) {
    struct buf c;
    buf_init(&c);
    ck_assert_int_eq(codec_compress(compressing[i], text, MIB, &c), KERR_NONE);
    ck_assert_uint_lt(c.len, MIB / 10);
    buf_free(&c);
  }
  free(text);
}
END_TEST

/* 64 MiB of zeros compress to little; decoding it under a 1 MiB bound must
 * fail, keep nothing, and never grow the buffer far past the bound. */
START_TEST(decompression_bomb_is_capped) {
  size_t bomb_bytes = 64 * (size_t)MIB;
  uint8_t *zeros = calloc(1, bomb_bytes);
  for (size_t i = 0; i < ARRAY_LEN(compressing); i++) {
    struct buf c, d;
    buf_init(&c);
    buf_init(&d);
    ck_assert_int_eq(codec_compress(compressing[i], zeros, bomb_bytes, &c), KERR_NONE);
    ck_assert_uint_lt(c.len, bomb_bytes / 16); /* snappy: about 1:21 */
    buf_append(&d, "kept", 4);
    ck_assert_int_eq(codec_decompress(compressing[i], c.data, c.len, MIB, &d),
                     KERR_MESSAGE_TOO_LARGE);
    ck_assert_uint_eq(d.len, 4);
    ck_assert_mem_eq(d.data, "kept", 4);
    ck_assert_uint_le(d.cap, 4 * (size_t)MIB);
    buf_free(&c);
    buf_free(&d);
  }
  free(zeros);
}
END_TEST

/* A raw snappy block whose preamble claims 4 GiB: refused before any
 * allocation. */
START_TEST(snappy_size_claim_is_capped) {
  const uint8_t claim[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
  struct buf d;
  buf_init(&d);
  ck_assert_int_eq(codec_decompress(RB_CODEC_SNAPPY, claim, sizeof claim, BYTES_MAX, &d),
                   KERR_MESSAGE_TOO_LARGE);
  ck_assert_uint_eq(d.len, 0);
  ck_assert_uint_eq(d.cap, 0);
  buf_free(&d);
}
END_TEST

/* A zstd frame that asks for a 256 MiB window (no content size) is refused,
 * not allocated. */
START_TEST(zstd_huge_window_is_refused) {
  ZSTD_CCtx *cctx = ZSTD_createCCtx();
  ck_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, 28)));
  ck_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0)));
  uint8_t frame[256];
  ZSTD_outBuffer o = {frame, sizeof frame, 0};
  ZSTD_inBuffer i = {"hello", 5, 0};
  ck_assert(!ZSTD_isError(ZSTD_compressStream2(cctx, &o, &i, ZSTD_e_flush)));
  ck_assert_uint_eq(ZSTD_compressStream2(cctx, &o, &i, ZSTD_e_end), 0);
  ZSTD_freeCCtx(cctx);
  ZSTD_frameHeader fh;
  ck_assert_uint_eq(ZSTD_getFrameHeader(&fh, frame, o.pos), 0);
  ck_assert(fh.frameContentSize == ZSTD_CONTENTSIZE_UNKNOWN);
  ck_assert(fh.windowSize == (1ull << 28));
  struct buf d;
  buf_init(&d);
  ck_assert_int_eq(codec_decompress(RB_CODEC_ZSTD, frame, o.pos, BYTES_MAX, &d),
                   KERR_CORRUPT_MESSAGE);
  ck_assert_uint_eq(d.len, 0);
  buf_free(&d);
}
END_TEST

static void expect_error(enum rb_codec codec, const uint8_t *in, size_t len) {
  struct buf d;
  buf_init(&d);
  buf_append(&d, "x", 1);
  ck_assert_int_ne(codec_decompress(codec, in, len, BYTES_MAX, &d), KERR_NONE);
  ck_assert_uint_eq(d.len, 1);
  buf_free(&d);
}

START_TEST(garbage_fails_every_decoder) {
  uint8_t garbage[5000];
  for (size_t i = 0; i < ARRAY_LEN(compressing); i++) {
    for (uint64_t seed = 1; seed <= 20; seed++) {
      fill_random(garbage, sizeof garbage, seed);
      expect_error(compressing[i], garbage, 1 + seed * 200);
    }
    memset(garbage, 0, sizeof garbage);
    expect_error(compressing[i], garbage, sizeof garbage);
    memset(garbage, 0xff, sizeof garbage);
    expect_error(compressing[i], garbage, sizeof garbage);
    expect_error(compressing[i], garbage, 0);
  }
  /* Garbage behind each format's own magic. */
  static const struct {
    uint8_t bytes[8];
    size_t len;
  } magics[] = {
      {{0x1f, 0x8b, 0x08}, 3},                      /* gzip */
      {{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}, 8}, /* xerial */
      {{0x04, 0x22, 0x4d, 0x18, 0x60, 0x40}, 6},    /* lz4 frame */
      {{0x28, 0xb5, 0x2f, 0xfd}, 4},                /* zstd frame */
  };
  for (size_t i = 0; i < ARRAY_LEN(compressing); i++) {
    fill_random(garbage, sizeof garbage, 99);
    memcpy(garbage, magics[i].bytes, magics[i].len);
    expect_error(compressing[i], garbage, sizeof garbage);
  }
}
END_TEST

START_TEST(truncated_streams_fail) {
  uint8_t *text = malloc(MIB);
  fill_text(text, MIB);
  for (size_t i = 0; i < ARRAY_LEN(compressing); i++) {
    struct buf c;
    buf_init(&c);
    ck_assert_int_eq(codec_compress(compressing[i], text, 100000, &c), KERR_NONE);
    size_t cuts[] = {1, 5, c.len / 2 + 1, c.len - 1};
    for (size_t k = 0; k < ARRAY_LEN(cuts); k++) expect_error(compressing[i], c.data, cuts[k]);
    buf_free(&c);
  }
  free(text);
}
END_TEST

/* Trailing bytes after an lz4 or zstd frame are a second frame or an error. */
START_TEST(concatenated_frames) {
  const enum rb_codec framed[] = {RB_CODEC_LZ4, RB_CODEC_ZSTD};
  for (size_t i = 0; i < ARRAY_LEN(framed); i++) {
    struct buf c, d;
    buf_init(&c);
    buf_init(&d);
    ck_assert_int_eq(codec_compress(framed[i], (const uint8_t *)"abc", 3, &c), KERR_NONE);
    ck_assert_int_eq(codec_compress(framed[i], (const uint8_t *)"defg", 4, &c), KERR_NONE);
    ck_assert_int_eq(codec_decompress(framed[i], c.data, c.len, BYTES_MAX, &d), KERR_NONE);
    ck_assert_uint_eq(d.len, 7);
    ck_assert_mem_eq(d.data, "abcdefg", 7);
    buf_append(&c, "junk", 4);
    expect_error(framed[i], c.data, c.len);
    buf_free(&c);
    buf_free(&d);
  }
}
END_TEST

START_TEST(snappy_xerial_and_raw) {
  uint8_t *text = malloc(100000);
  fill_text(text, 100000);
  struct buf c, d;
  buf_init(&c);
  buf_init(&d);
  ck_assert_int_eq(codec_compress(RB_CODEC_SNAPPY, text, 100000, &c), KERR_NONE);
  /* snappy-java's header: magic, version 1, compatible version 1. */
  static const uint8_t header[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0,
                                     0,    0,   0,   1,   0,   0,   0,   1};
  ck_assert_mem_eq(c.data, header, 16);
  /* Blocks of 32 KiB input each: four of them, lengths summing to the rest. */
  size_t at = 16, blocks = 0;
  while (at + 4 <= c.len) {
    size_t n = (size_t)c.data[at] << 24 | (size_t)c.data[at + 1] << 16 |
               (size_t)c.data[at + 2] << 8 | c.data[at + 3];
    size_t raw_len;
    ck_assert_int_eq(snappy_uncompressed_length((const char *)c.data + at + 4, n, &raw_len),
                     SNAPPY_OK);
    ck_assert_uint_eq(raw_len, blocks < 3 ? 32768 : 100000 - 3 * 32768);
    at += 4 + n;
    blocks++;
  }
  ck_assert_uint_eq(at, c.len);
  ck_assert_uint_eq(blocks, 4);
  /* One raw block, as librdkafka writes it. */
  size_t raw_cap = snappy_max_compressed_length(100000), raw_len = raw_cap;
  char *raw = malloc(raw_cap);
  ck_assert_int_eq(snappy_compress((const char *)text, 100000, raw, &raw_len), SNAPPY_OK);
  ck_assert_int_eq(
      codec_decompress(RB_CODEC_SNAPPY, (const uint8_t *)raw, raw_len, BYTES_MAX, &d),
      KERR_NONE);
  ck_assert_uint_eq(d.len, 100000);
  ck_assert_mem_eq(d.data, text, 100000);
  /* A block length past the end fails. */
  c.data[16] = 0x7f;
  expect_error(RB_CODEC_SNAPPY, c.data, c.len);
  free(raw);
  free(text);
  buf_free(&c);
  buf_free(&d);
}
END_TEST

/* gzip out: a gzip member. gzip in: a gzip member or a zlib stream. */
START_TEST(gzip_wrappers) {
  const char *text = "gzip gzip gzip gzip gzip";
  size_t len = strlen(text);
  struct buf c, d;
  buf_init(&c);
  buf_init(&d);
  ck_assert_int_eq(codec_compress(RB_CODEC_GZIP, (const uint8_t *)text, len, &c), KERR_NONE);
  ck_assert_int_eq(c.data[0], 0x1f);
  ck_assert_int_eq(c.data[1], 0x8b);
  ck_assert_int_eq(c.data[2], 8); /* deflate */
  uint8_t z[128];
  uLongf z_len = sizeof z;
  ck_assert_int_eq(compress2(z, &z_len, (const Bytef *)text, (uLong)len, 6), Z_OK);
  ck_assert_int_eq(codec_decompress(RB_CODEC_GZIP, z, z_len, BYTES_MAX, &d), KERR_NONE);
  ck_assert_uint_eq(d.len, len);
  ck_assert_mem_eq(d.data, text, len);
  /* The gzip trailer's CRC-32 catches a flipped byte in the deflate data. */
  c.data[c.len - 9] ^= 0x01;
  expect_error(RB_CODEC_GZIP, c.data, c.len);
  buf_free(&c);
  buf_free(&d);
}
END_TEST

/* lz4 out: what Kafka's Java reader decodes (independent 64 KiB blocks, no
 * content size); lz4 in: any frame, with a content size and checksums too. */
START_TEST(lz4_frame_flags) {
  uint8_t *text = malloc(200000);
  fill_text(text, 200000);
  struct buf c, d;
  buf_init(&c);
  buf_init(&d);
  ck_assert_int_eq(codec_compress(RB_CODEC_LZ4, text, 200000, &c), KERR_NONE);
  ck_assert_int_eq(c.data[0], 0x04); /* magic 0x184D2204, little-endian */
  ck_assert_int_eq(c.data[3], 0x18);
  ck_assert_int_eq(c.data[4], 0x60); /* FLG: version 01, block independence, nothing else */
  ck_assert_int_eq(c.data[5], 0x40); /* BD: 64 KiB blocks */
  LZ4F_preferences_t prefs;
  memset(&prefs, 0, sizeof prefs);
  prefs.frameInfo.contentSize = 200000;
  prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
  prefs.frameInfo.blockSizeID = LZ4F_max4MB;
  size_t cap = LZ4F_compressFrameBound(200000, &prefs);
  uint8_t *frame = malloc(cap);
  size_t n = LZ4F_compressFrame(frame, cap, text, 200000, &prefs);
  ck_assert(!LZ4F_isError(n));
  ck_assert_int_eq(codec_decompress(RB_CODEC_LZ4, frame, n, BYTES_MAX, &d), KERR_NONE);
  ck_assert_uint_eq(d.len, 200000);
  ck_assert_mem_eq(d.data, text, 200000);
  free(frame);
  free(text);
  buf_free(&c);
  buf_free(&d);
}
END_TEST

/* Producers that stream (Kafka's Java client) leave the content size out. */
START_TEST(zstd_without_content_size) {
  uint8_t *text = malloc(300000);
  fill_text(text, 300000);
  ZSTD_CCtx *cctx = ZSTD_createCCtx();
  ck_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0)));
  size_t cap = ZSTD_compressBound(300000);
  uint8_t *frame = malloc(cap);
  size_t n = ZSTD_compress2(cctx, frame, cap, text, 300000);
  ck_assert(!ZSTD_isError(n));
  ZSTD_freeCCtx(cctx);
  ck_assert(ZSTD_getFrameContentSize(frame, n) == ZSTD_CONTENTSIZE_UNKNOWN);
  struct buf d;
  buf_init(&d);
  ck_assert_int_eq(codec_decompress(RB_CODEC_ZSTD, frame, n, BYTES_MAX, &d), KERR_NONE);
  ck_assert_uint_eq(d.len, 300000);
  ck_assert_mem_eq(d.data, text, 300000);
  buf_reset(&d);
  ck_assert_int_eq(codec_decompress(RB_CODEC_ZSTD, frame, n, 299999, &d),
                   KERR_MESSAGE_TOO_LARGE);
  free(frame);
  free(text);
  buf_free(&d);
}
END_TEST

/* A zstd frame declaring 200 MB is refused on its header: nothing decoded,
 * nothing allocated (issue 13's bomb). */
START_TEST(zstd_declared_size_over_budget_is_refused_unread) {
  size_t big = 200 * (size_t)MIB;
  uint8_t *zeros = calloc(1, big);
  ck_assert_ptr_nonnull(zeros);
  size_t cap = ZSTD_compressBound(big);
  uint8_t *frame = malloc(cap);
  size_t n = ZSTD_compress(frame, cap, zeros, big, 19);
  ck_assert(!ZSTD_isError(n));
  free(zeros);
  ck_assert_uint_lt(n, 64 * 1024);
  struct buf d;
  buf_init(&d);
  ck_assert_int_eq(codec_decompress(RB_CODEC_ZSTD, frame, n, 64 * (size_t)MIB, &d),
                   KERR_MESSAGE_TOO_LARGE);
  ck_assert_uint_eq(d.len, 0);
  ck_assert_uint_eq(d.cap, 0);
  buf_free(&d);
  free(frame);
}
END_TEST

START_TEST(names_and_unknown_codecs) {
  ck_assert_int_eq(codec_by_name("none"), RB_CODEC_NONE);
  ck_assert_int_eq(codec_by_name("uncompressed"), RB_CODEC_NONE);
  ck_assert_int_eq(codec_by_name("gzip"), RB_CODEC_GZIP);
  ck_assert_int_eq(codec_by_name("snappy"), RB_CODEC_SNAPPY);
  ck_assert_int_eq(codec_by_name("lz4"), RB_CODEC_LZ4);
  ck_assert_int_eq(codec_by_name("zstd"), RB_CODEC_ZSTD);
  ck_assert_int_eq(codec_by_name("producer"), -1);
  ck_assert_int_eq(codec_by_name("GZIP"), -1);
  ck_assert_int_eq(codec_by_name(""), -1);
  ck_assert_int_eq(codec_by_name(NULL), -1);
  for (size_t i = 0; i < ARRAY_LEN(codecs); i++)
    ck_assert_int_eq(codec_by_name(codec_name(codecs[i])), codecs[i]);
  ck_assert_str_eq(codec_name((enum rb_codec)5), "unknown");
  struct buf b;
  buf_init(&b);
  for (int codec = 5; codec <= 7; codec++) {
    ck_assert_int_eq(codec_compress((enum rb_codec)codec, (const uint8_t *)"a", 1, &b),
                     KERR_UNSUPPORTED_COMPRESSION_TYPE);
    ck_assert_int_eq(codec_decompress((enum rb_codec)codec, (const uint8_t *)"a", 1, 10, &b),
                     KERR_UNSUPPORTED_COMPRESSION_TYPE);
  }
  ck_assert_uint_eq(b.len, 0);
  /* none is bounded too */
  ck_assert_int_eq(codec_decompress(RB_CODEC_NONE, (const uint8_t *)"abc", 3, 2, &b),
                   KERR_MESSAGE_TOO_LARGE);
  buf_free(&b);
}
END_TEST

/* ---- inflating in steps (issue 13) ---- */

/* The stream of codec for in, as the stepwise compressor writes it (a zstd
 * frame without its content size, so that only its end bounds it). */
static void stream_compress(enum rb_codec codec, const uint8_t *in, size_t len,
                            struct buf *out) {
  struct codec_stream *s;
  ck_assert_int_eq(codec_stream_begin(codec, CODEC_LEN_UNKNOWN, out, &s), KERR_NONE);
  /* In two pieces: zstd writes the content size of a stream ended in its
   * first call. */
  ck_assert_int_eq(codec_stream_step(s, in, len / 2, false, out), KERR_NONE);
  ck_assert_int_eq(codec_stream_step(s, in + len / 2, len - len / 2, true, out), KERR_NONE);
  codec_stream_free(s);
}

/* Steps of step_bytes until done or an error; the error, the steps taken
 * and the bytes appended before it in *steps_out and out. */
static int inflate_steps(enum rb_codec codec, const uint8_t *in, size_t len, size_t bytes_max,
                         size_t step_bytes, size_t step_cap, struct buf *out, int *steps_out) {
  struct codec_inflater *d;
  int rc = codec_inflate_begin(codec, in, len, bytes_max, &d);
  *steps_out = 0;
  if (rc != KERR_NONE) return rc;
  bool done = false;
  size_t start = out->len;
  for (int n = 0; n < 10000000 && !done && rc == KERR_NONE; n++) {
    size_t before = out->len;
    rc = codec_inflate_step(d, step_bytes, out, &done);
    /* A step appends at most its bytes (snappy: its whole blocks), a failed
     * one nothing. */
    ck_assert_uint_le(out->len - before, step_cap);
    if (rc != KERR_NONE) ck_assert_uint_eq(out->len, before);
    if (rc == KERR_NONE) ++*steps_out;
  }
  if (rc == KERR_NONE) ck_assert_uint_eq(codec_inflated(d), out->len - start);
  codec_inflate_free(d);
  ck_assert(rc != KERR_NONE || done);
  return rc;
}

/* Every codec, in steps of 7 bytes, gives what one shot does: from the
 * one-shot compressor and from the stepwise one. */
START_TEST(inflate_in_tiny_steps_matches_one_shot) {
  enum { LEN = 150000 };
  uint8_t *in = malloc(LEN);
  fill_text(in, LEN);
  fill_random(in + LEN / 3, LEN / 3, 7);
  for (size_t i = 0; i < ARRAY_LEN(codecs); i++) {
    for (int way = 0; way < 2; way++) {
      struct buf c, one, steps;
      buf_init(&c);
      buf_init(&one);
      buf_init(&steps);
      if (way == 0)
        ck_assert_int_eq(codec_compress(codecs[i], in, LEN, &c), KERR_NONE);
      else
        stream_compress(codecs[i], in, LEN, &c);
      ck_assert_int_eq(codec_decompress(codecs[i], c.data, c.len, BYTES_MAX, &one), KERR_NONE);
      buf_append(&steps, "p", 1); /* steps append */
      size_t cap = codecs[i] == RB_CODEC_SNAPPY ? 7 + 32 * 1024 : 7;
      int n;
      ck_assert_int_eq(inflate_steps(codecs[i], c.data, c.len, BYTES_MAX, 7, cap, &steps, &n),
                       KERR_NONE);
      ck_assert_int_gt(n, codecs[i] == RB_CODEC_SNAPPY ? 4 : LEN / 7 - 1);
      ck_assert_uint_eq(one.len, LEN);
      ck_assert_uint_eq(steps.len, LEN + 1);
      ck_assert_mem_eq(steps.data + 1, one.data, LEN);
      ck_assert_mem_eq(one.data, in, LEN);
      buf_reset(&one); /* no bound at all works too */
      ck_assert_int_eq(codec_decompress(codecs[i], c.data, c.len, SIZE_MAX, &one), KERR_NONE);
      ck_assert_uint_eq(one.len, LEN);
      buf_free(&c);
      buf_free(&one);
      buf_free(&steps);
    }
  }
  free(in);
}
END_TEST

/* The budget fails the step that passes it, after the steps below it
 * succeeded; exactly the budget succeeds. */
START_TEST(inflate_budget_refused_mid_stream) {
  enum { LEN = 200000, BUDGET = 100000 };
  uint8_t *in = malloc(LEN);
  fill_text(in, LEN);
  for (size_t i = 0; i < ARRAY_LEN(compressing); i++) {
    struct buf c, d;
    buf_init(&c);
    buf_init(&d);
    stream_compress(compressing[i], in, LEN, &c);
    int n;
    ck_assert_int_eq(
        inflate_steps(compressing[i], c.data, c.len, BUDGET, 4096, 4096 + 32 * 1024, &d, &n),
        KERR_MESSAGE_TOO_LARGE);
    ck_assert_int_gt(n, 1); /* refused mid-stream, not at the start */
    ck_assert_uint_le(d.len, BUDGET);
    if (compressing[i] != RB_CODEC_SNAPPY) ck_assert_uint_gt(d.len, BUDGET - 4096 - 1);
    buf_reset(&d);
    ck_assert_int_eq(
        inflate_steps(compressing[i], c.data, c.len, LEN, 4096, 4096 + 32 * 1024, &d, &n),
        KERR_NONE);
    ck_assert_uint_eq(d.len, LEN);
    buf_free(&c);
    buf_free(&d);
  }
  free(in);
}
END_TEST

/* Garbage from three quarters of the stream on (incompressible input, so
 * block headers lie there): the steps before it succeed, then
 * KERR_CORRUPT_MESSAGE. */
START_TEST(inflate_corrupt_mid_stream) {
  enum { LEN = 400000 };
  uint8_t *in = malloc(LEN);
  fill_random(in, LEN, 3);
  for (size_t i = 0; i < ARRAY_LEN(compressing); i++) {
    struct buf c, d;
    buf_init(&c);
    buf_init(&d);
    ck_assert_int_eq(codec_compress(compressing[i], in, LEN, &c), KERR_NONE);
    memset(c.data + c.len * 3 / 4, 0xff, c.len - c.len * 3 / 4);
    int n;
    ck_assert_int_eq(
        inflate_steps(compressing[i], c.data, c.len, BYTES_MAX, 4096, 4096 + 32 * 1024, &d, &n),
        KERR_CORRUPT_MESSAGE);
    ck_assert_int_gt(n, 5);
    ck_assert_uint_gt(d.len, LEN / 2);
    ck_assert_mem_eq(d.data, in, LEN / 2); /* what came before was right */
    ck_assert_int_eq(codec_decompress(compressing[i], c.data, c.len, BYTES_MAX, &d),
                     KERR_CORRUPT_MESSAGE);
    buf_free(&c);
    buf_free(&d);
  }
  free(in);
}
END_TEST

static Suite *compress_suite(void) {
  Suite *s = suite_create("compress");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, round_trip_every_codec);
  tcase_add_test(tc, compressible_input_shrinks);
  tcase_add_test(tc, decompression_bomb_is_capped);
  tcase_add_test(tc, zstd_declared_size_over_budget_is_refused_unread);
  tcase_add_test(tc, snappy_size_claim_is_capped);
  tcase_add_test(tc, zstd_huge_window_is_refused);
  tcase_add_test(tc, garbage_fails_every_decoder);
  tcase_add_test(tc, truncated_streams_fail);
  tcase_add_test(tc, concatenated_frames);
  tcase_add_test(tc, snappy_xerial_and_raw);
  tcase_add_test(tc, gzip_wrappers);
  tcase_add_test(tc, lz4_frame_flags);
  tcase_add_test(tc, zstd_without_content_size);
  tcase_add_test(tc, names_and_unknown_codecs);
  tcase_add_test(tc, inflate_in_tiny_steps_matches_one_shot);
  tcase_add_test(tc, inflate_budget_refused_mid_stream);
  tcase_add_test(tc, inflate_corrupt_mid_stream);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(compress_suite)
