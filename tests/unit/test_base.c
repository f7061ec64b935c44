#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/crc32c.h"
#include "base/str.h"
#include "proto/wire.h"
#include "testing.h"

/* RFC 3720 B.4 test vectors for CRC32C. */
START_TEST(crc32c_vectors) {
  uint8_t zeros[32] = {0}, ones[32], inc[32], dec[32];
  for (int i = 0; i < 32; i++) {
    ones[i] = 0xff;
    inc[i] = (uint8_t)i;
    dec[i] = (uint8_t)(31 - i);
  }
  ck_assert_uint_eq(crc32c(zeros, 32), 0x8A9136AA);
  ck_assert_uint_eq(crc32c(ones, 32), 0x62A8AB43);
  ck_assert_uint_eq(crc32c(inc, 32), 0x46DD794E);
  ck_assert_uint_eq(crc32c(dec, 32), 0x113FDB5C);
  ck_assert_uint_eq(crc32c("123456789", 9), 0xE3069283);
  /* Extending in pieces gives the same value as one pass. */
  uint32_t c = crc32c_extend(0, "1234", 4);
  ck_assert_uint_eq(crc32c_extend(c, "56789", 5), 0xE3069283);
}
END_TEST

/* The table path (CPUs without the crc32 instruction): the vectors, and the
 * same values as crc32c_extend over random lengths, alignments and bytes. */
START_TEST(crc32c_portable_matches) {
  ck_assert_uint_eq(crc32c_extend_portable(0, "123456789", 9), 0xE3069283);
  uint8_t data[4096];
  uint64_t x = 0x9E3779B97F4A7C15u;
  for (size_t i = 0; i < sizeof data; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
    data[i] = (uint8_t)x;
  }
  for (size_t start = 0; start < 16; start++)
    for (size_t len = 0; len + start <= sizeof data; len += 1 + len / 3)
      ck_assert_uint_eq(crc32c_extend_portable(7, data + start, len),
                        crc32c_extend(7, data + start, len));
}
END_TEST

static void varint_roundtrip(int64_t v) {
  struct wr w;
  wr_init(&w);
  wr_varlong(&w, v);
  ck_assert_uint_eq(w.mem.len, varlong_size(v));
  struct rd r;
  rd_init(&r, w.mem.data, w.mem.len);
  ck_assert_int_eq(rd_varlong(&r), v);
  ck_assert(!r.err);
  ck_assert_uint_eq(rd_left(&r), 0);
  wr_free(&w);
}

START_TEST(varint_edges) {
  int64_t vals[] = {0,    1,     -1,        63,        -64,       64,       -65,
                    8191, -8192, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) varint_roundtrip(vals[i]);
  /* zigzag: 0->0, -1->1, 1->2, -64 -> 127 (one byte), 64 -> 128 (two bytes) */
  ck_assert_uint_eq(varint_size(-64), 1);
  ck_assert_uint_eq(varint_size(64), 2);
  ck_assert_uint_eq(varint_size(INT32_MIN), 5);
  ck_assert_uint_eq(varlong_size(INT64_MIN), 10);
  struct wr w;
  wr_init(&w);
  wr_varint(&w, INT32_MIN);
  struct rd r;
  rd_init(&r, w.mem.data, w.mem.len);
  ck_assert_int_eq(rd_varint(&r), INT32_MIN);
  wr_free(&w);
}
END_TEST

START_TEST(varint_malformed) {
  /* 11 continuation bytes: too long for a varlong. */
  uint8_t bad[11];
  memset(bad, 0xff, sizeof bad);
  struct rd r;
  rd_init(&r, bad, sizeof bad);
  (void)rd_varlong(&r);
  ck_assert(r.err);
  /* Truncated: continuation bit set on the last byte. */
  uint8_t cut[2] = {0x80, 0x80};
  rd_init(&r, cut, sizeof cut);
  (void)rd_uvarint(&r);
  ck_assert(r.err);
}
END_TEST

START_TEST(reader_is_sticky_and_bounded) {
  uint8_t data[3] = {0, 5, 'a'};
  struct rd r;
  rd_init(&r, data, sizeof data);
  struct kstr s = rd_string(&r, false); /* claims 5 bytes, has 1 */
  ck_assert(r.err);
  ck_assert_int_eq(s.len, -1);
  ck_assert_int_eq(rd_i32(&r), 0);
  /* An array count larger than the input could hold is rejected up front. */
  uint8_t arr[4] = {0x7f, 0xff, 0xff, 0xff};
  rd_init(&r, arr, sizeof arr);
  ck_assert_int_eq(rd_array_len(&r, false, 4), 0);
  ck_assert(r.err);
}
END_TEST

START_TEST(str_fmt_subset) {
  char out[64];
  str_fmt(out, sizeof out, "%020lld.log", (long long)42);
  ck_assert_str_eq(out, "00000000000000000042.log");
  str_fmt(out, sizeof out, "%s-%d|%-4s|%4d|%x|%.*s|%%", "topic", -3, "ab", 7, 255, 2, "xyz");
  ck_assert_str_eq(out, "topic--3|ab  |   7|ff|xy|%");
  ck_assert_uint_eq(str_fmt(out, 4, "%s", "abcdef"), 6);
  ck_assert_str_eq(out, "abc");
  str_fmt(out, sizeof out, "%lld %zu", (long long)INT64_MIN, (size_t)18);
  ck_assert_str_eq(out, "-9223372036854775808 18");
  int64_t v;
  ck_assert(str_to_i64("-9223372036854775808", &v) && v == INT64_MIN);
  ck_assert(str_to_i64("9223372036854775807", &v) && v == INT64_MAX);
  ck_assert(!str_to_i64("9223372036854775808", &v));
  ck_assert(!str_to_i64("12x", &v));
  ck_assert(!str_to_i64("", &v));
}
END_TEST

START_TEST(arena_and_buf) {
  struct arena a;
  arena_init(&a);
  for (int i = 0; i < 1000; i++) {
    uint8_t *p = arena_alloc(&a, 100);
    ck_assert_uint_eq((uintptr_t)p % 16, 0);
    ck_assert_uint_eq(p[99], 0);
  }
  ck_assert_ptr_nonnull(arena_alloc(&a, 100000));
  ck_assert_str_eq(arena_strndup(&a, "hello world", 5), "hello");
  arena_free(&a);
  struct buf b;
  buf_init(&b);
  for (int i = 0; i < 10000; i++) buf_append(&b, "x", 1);
  ck_assert_uint_eq(b.len, 10000);
  buf_free(&b);
}
END_TEST

START_TEST(writer_splices_file_ranges) {
  struct wr w;
  wr_init(&w);
  wr_i32(&w, 7);
  struct krecords rec = {.len = 100, .is_file = true, .file = 3, .file_offset = 500};
  wr_records(&w, &rec, false);
  wr_i16(&w, 1);
  ck_assert_uint_eq(wr_size(&w), 4 + 4 + 100 + 2);
  struct env_iov iov[3];
  ck_assert_int_eq(wr_iov(&w, 0, iov, 3), 3);
  ck_assert_int_eq(iov[0].kind, ENV_IOV_MEM);
  ck_assert_uint_eq(iov[0].len, 8);
  ck_assert_int_eq(iov[1].kind, ENV_IOV_FILE);
  ck_assert_uint_eq(iov[1].offset, 500);
  ck_assert_uint_eq(iov[1].len, 100);
  ck_assert_uint_eq(iov[2].len, 2);
  wr_free(&w);
}
END_TEST

/* A pooled arena takes a freed chunk back (zeroed again), keeps only
 * standard chunks, and never more than ARENA_POOL_CHUNKS_MAX of them. */
START_TEST(arena_pool_reuses_bounded) {
  struct arena_pool pool = {0};
  struct arena a;
  arena_init_pooled(&a, &pool);
  memset(arena_alloc(&a, 4096), 0xAB, 4096);
  ck_assert_ptr_nonnull(arena_alloc(&a, 100000)); /* too big for the pool */
  arena_free(&a);
  ck_assert_int_eq(pool.count, 1);
  ck_assert_ptr_eq(a.pool, &pool); /* still usable, with its pool */
  uint8_t *p = arena_alloc(&a, 4096);
  ck_assert_int_eq(pool.count, 0);
  for (int i = 0; i < 4096; i++) ck_assert_uint_eq(p[i], 0);
  arena_free(&a);
  enum { ARENAS = ARENA_POOL_CHUNKS_MAX + 6 };
  struct arena many[ARENAS];
  for (int i = 0; i < ARENAS; i++) {
    arena_init_pooled(&many[i], &pool);
    ck_assert_ptr_nonnull(arena_alloc(&many[i], 16));
  }
  ck_assert_int_eq(pool.count, 0);
  for (int i = 0; i < ARENAS; i++) arena_free(&many[i]);
  ck_assert_int_eq(pool.count, ARENA_POOL_CHUNKS_MAX);
  arena_pool_free(&pool);
  ck_assert_int_eq(pool.count, 0);
  ck_assert_ptr_null(pool.free);
}
END_TEST

static Suite *base_suite(void) {
  Suite *s = suite_create("base");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, crc32c_vectors);
  tcase_add_test(tc, crc32c_portable_matches);
  tcase_add_test(tc, varint_edges);
  tcase_add_test(tc, varint_malformed);
  tcase_add_test(tc, reader_is_sticky_and_bounded);
  tcase_add_test(tc, str_fmt_subset);
  tcase_add_test(tc, arena_and_buf);
  tcase_add_test(tc, arena_pool_reuses_bounded);
  tcase_add_test(tc, writer_splices_file_ranges);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(base_suite)
