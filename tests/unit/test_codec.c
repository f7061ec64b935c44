/* The generated Kafka codecs (tools/protogen.py): every message round-trips
 * in every version, every truncated encoding is rejected without a crash,
 * and hand-written byte vectors from the protocol guide decode as clients
 * send them. */
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/assert.h"
#include "proto/api.h"
#include "proto/messages_gen.h"
#include "proto/wire.h"
#include "testing.h"

/* ---- sample values for the generated fillers ---- */

struct sample {
  struct arena *arena;
  int64_t next;
  bool nulls; /* nullable fields (in this version) become null */
};

/* Small, distinct values that fit every integer type and are never the
 * schema default, so every field is on the wire when it is tagged. */
static int64_t sample_int(struct sample *s, int64_t dflt) {
  int64_t v = 1 + s->next++ % 100;
  return v == dflt ? v + 1 : v;
}

static struct kuuid sample_uuid(struct sample *s) {
  struct kuuid u;
  for (int i = 0; i < 16; i++) u.b[i] = (uint8_t)(s->next + i);
  s->next++;
  return u;
}

static struct kstr sample_string(struct sample *s, bool nullable) {
  if (s->nulls && nullable) return KSTR_NULL;
  char *p = arena_alloc(s->arena, 24);
  int n = snprintf(p, 24, "s%lld", (long long)s->next++);
  return (struct kstr){p, n};
}

static struct kbytes sample_bytes(struct sample *s, bool nullable) {
  if (s->nulls && nullable) return (struct kbytes){NULL, -1};
  uint8_t *p = arena_alloc(s->arena, 3);
  for (int i = 0; i < 3; i++) p[i] = (uint8_t)(s->next + i);
  s->next++;
  return (struct kbytes){p, 3};
}

static struct krecords sample_records(struct sample *s, bool nullable) {
  struct kbytes b = sample_bytes(s, nullable);
  return (struct krecords){.ptr = b.ptr, .len = b.len};
}

static int32_t sample_count(struct sample *s, bool nullable) {
  return s->nulls && nullable ? -1 : 2;
}

static void *sample_array(struct sample *s, int32_t n, size_t elem_bytes) {
  return n > 0 ? arena_alloc(s->arena, (size_t)n * elem_bytes) : NULL;
}

struct codec_case {
  const char *name;
  int16_t min_version, max_version;
  size_t size;
  void (*fill)(void *m, int16_t version, struct sample *s);
  void (*encode)(struct wr *w, int16_t version, const void *m);
  bool (*decode)(struct rd *r, int16_t version, void *m, struct arena *a);
};

#define CODEC_WRAPPERS(c)                                                                      \
  static void fill_any_##c(void *m, int16_t v, struct sample *s) { fill_##c(m, v, s); }        \
  static void encode_any_##c(struct wr *w, int16_t v, const void *m) { c##_encode(w, v, m); }  \
  static bool decode_any_##c(struct rd *r, int16_t v, void *m, struct arena *a) {              \
    return c##_decode(r, v, m, a);                                                             \
  }
#define CODEC_CASE(name, c, lo, hi)                                                            \
  { #name, lo, hi, sizeof(struct c), fill_any_##c, encode_any_##c, decode_any_##c }

#include "codec_samples_gen.inc"

/* ---- every message, every version ---- */

static void check_truncations(const struct codec_case *c, int16_t version, const struct wr *w) {
  for (size_t len = 0; len < w->mem.len; len++) {
    struct arena a;
    arena_init(&a);
    void *m = arena_alloc(&a, c->size);
    struct rd r;
    rd_init(&r, w->mem.data, len);
    ck_assert_msg(!c->decode(&r, version, m, &a), "%s v%d: a %zu-byte prefix of %zu decoded",
                  c->name, version, len, w->mem.len);
    arena_free(&a);
  }
}

static void check_roundtrip(const struct codec_case *c, int16_t version, bool nulls) {
  struct arena a;
  arena_init(&a);
  struct sample s = {.arena = &a, .next = version, .nulls = nulls};
  void *m = arena_alloc(&a, c->size);
  c->fill(m, version, &s);
  struct wr w1, w2;
  wr_init(&w1);
  wr_init(&w2);
  c->encode(&w1, version, m);

  void *back = arena_alloc(&a, c->size);
  struct rd r;
  rd_init(&r, w1.mem.data, w1.mem.len);
  ck_assert_msg(c->decode(&r, version, back, &a), "%s v%d nulls=%d: decode failed", c->name,
                version, nulls);
  ck_assert_msg(rd_left(&r) == 0, "%s v%d: %zu bytes left", c->name, version, rd_left(&r));
  c->encode(&w2, version, back);
  ck_assert_msg(w1.mem.len == w2.mem.len &&
                    (w1.mem.len == 0 || memcmp(w1.mem.data, w2.mem.data, w1.mem.len) == 0),
                "%s v%d nulls=%d: re-encoding differs (%zu vs %zu bytes)", c->name, version,
                nulls, w1.mem.len, w2.mem.len);
  check_truncations(c, version, &w1);
  wr_free(&w1);
  wr_free(&w2);
  arena_free(&a);
}

START_TEST(roundtrip_every_version) {
  const struct codec_case *c = &codec_cases[_i];
  ck_assert_int_le(c->min_version, c->max_version);
  for (int16_t v = c->min_version; v <= c->max_version; v++) {
    check_roundtrip(c, v, false);
    check_roundtrip(c, v, true);
  }
}
END_TEST

START_TEST(unknown_version_rejected) {
  const struct codec_case *c = &codec_cases[_i];
  static const uint8_t zeros[64];
  struct arena a;
  arena_init(&a);
  void *m = arena_alloc(&a, c->size);
  struct rd r;
  rd_init(&r, zeros, sizeof zeros);
  ck_assert(!c->decode(&r, (int16_t)(c->max_version + 1), m, &a));
  rd_init(&r, zeros, sizeof zeros);
  ck_assert(!c->decode(&r, -1, m, &a));
  arena_free(&a);
}
END_TEST

/* ---- hand-written vectors (protocol guide: "Headers", "Protocol
 * Primitive Types", KIP-482 for flexible versions) ---- */

static void expect_bytes(const struct wr *w, const uint8_t *want, size_t want_len) {
  ck_assert_uint_eq(w->mem.len, want_len);
  ck_assert_mem_eq(w->mem.data, want, want_len);
}

START_TEST(golden_api_versions_v0_request) {
  /* header v1: api_key 18, version 0, correlation 7, client_id "rdkafka" */
  static const uint8_t in[] = {0x00, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00,
                               0x07, 'r',  'd',  'k',  'a',  'f',  'k',  'a'};
  ck_assert_int_eq(api_request_header_version(API_API_VERSIONS, 0), 1);
  struct arena a;
  arena_init(&a);
  struct rd r;
  rd_init(&r, in, sizeof in);
  struct request_header h;
  ck_assert(request_header_decode(&r, 1, &h, &a));
  ck_assert_int_eq(h.request_api_key, API_API_VERSIONS);
  ck_assert_int_eq(h.request_api_version, 0);
  ck_assert_int_eq(h.correlation_id, 7);
  ck_assert(kstr_eq(h.client_id, "rdkafka"));
  struct api_versions_request req;
  ck_assert(api_versions_request_decode(&r, 0, &req, &a));
  ck_assert_uint_eq(rd_left(&r), 0);

  struct wr w;
  wr_init(&w);
  request_header_encode(&w, 1, &h);
  api_versions_request_encode(&w, 0, &req);
  expect_bytes(&w, in, sizeof in);
  wr_free(&w);
  arena_free(&a);
}
END_TEST

START_TEST(golden_metadata_v1_two_topics) {
  static const uint8_t in[] = {
      0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x2a, /* Metadata v1, correlation 42 */
      0x00, 0x02, 'c',  '1',                          /* client_id "c1" */
      0x00, 0x00, 0x00, 0x02,                         /* two topics */
      0x00, 0x03, 'f',  'o',  'o',  0x00, 0x03, 'b',  'a', 'r',
  };
  struct arena a;
  arena_init(&a);
  struct rd r;
  rd_init(&r, in, sizeof in);
  struct request_header h;
  ck_assert(request_header_decode(&r, api_request_header_version(API_METADATA, 1), &h, &a));
  ck_assert_int_eq(h.request_api_key, API_METADATA);
  ck_assert(kstr_eq(h.client_id, "c1"));
  struct metadata_request req;
  ck_assert(metadata_request_decode(&r, h.request_api_version, &req, &a));
  ck_assert_uint_eq(rd_left(&r), 0);
  ck_assert_int_eq(req.topics_count, 2);
  ck_assert(kstr_eq(req.topics[0].name, "foo"));
  ck_assert(kstr_eq(req.topics[1].name, "bar"));
  ck_assert(req.allow_auto_topic_creation); /* v4+ only: keeps its default */

  struct wr w;
  wr_init(&w);
  request_header_encode(&w, 1, &h);
  metadata_request_encode(&w, 1, &req);
  expect_bytes(&w, in, sizeof in);
  wr_free(&w);
  arena_free(&a);
}
END_TEST

START_TEST(golden_api_versions_v3_flexible) {
  static const uint8_t in[] = {
      0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, /* ApiVersions v3, correlation 1 */
      0x00, 0x03, 'a',  'b',  'c',                    /* client_id: classic even in v2 */
      0x00,                                           /* header tagged fields: none */
      0x02, 'x',                                      /* client_software_name "x" */
      0x04, '1',  '.',  '0',                          /* client_software_version "1.0" */
      0x01, 0x05, 0x02, 0xaa, 0xbb,                   /* one unknown tag (5), 2 bytes */
  };
  static const uint8_t out[] = {
      0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x03, 'a',
      'b',  'c',  0x00, 0x02, 'x',  0x04, '1',  '.',  '0',  0x00,
  };
  ck_assert_int_eq(api_request_header_version(API_API_VERSIONS, 3), 2);
  struct arena a;
  arena_init(&a);
  struct rd r;
  rd_init(&r, in, sizeof in);
  struct request_header h;
  ck_assert(request_header_decode(&r, 2, &h, &a));
  ck_assert(kstr_eq(h.client_id, "abc"));
  struct api_versions_request req;
  ck_assert(api_versions_request_decode(&r, 3, &req, &a));
  ck_assert_uint_eq(rd_left(&r), 0);
  ck_assert(kstr_eq(req.client_software_name, "x"));
  ck_assert(kstr_eq(req.client_software_version, "1.0"));

  struct wr w;
  wr_init(&w);
  request_header_encode(&w, 2, &h);
  api_versions_request_encode(&w, 3, &req);
  expect_bytes(&w, out, sizeof out); /* the unknown tag is not carried over */
  wr_free(&w);
  arena_free(&a);
}
END_TEST

START_TEST(golden_api_versions_v3_response_tags) {
  /* KIP-511: the ApiVersions response header is v0 in every version. */
  ck_assert_int_eq(api_response_header_version(API_API_VERSIONS, 3), 0);
  struct api_versions_response_api_version key;
  api_versions_response_api_version_init(&key);
  key.api_key = API_METADATA;
  key.max_version = 12;
  struct api_versions_response resp;
  api_versions_response_init(&resp);
  resp.api_keys = &key;
  resp.api_keys_count = 1;
  struct wr w;
  wr_init(&w);
  api_versions_response_encode(&w, 3, &resp);
  /* Tagged fields at their defaults (epoch -1, empty arrays, false) are not
   * written. */
  static const uint8_t plain[] = {0x00, 0x00, 0x02, 0x00, 0x03, 0x00, 0x00, 0x00,
                                  0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  expect_bytes(&w, plain, sizeof plain);

  wr_reset(&w);
  resp.finalized_features_epoch = 5;
  resp.zk_migration_ready = true;
  api_versions_response_encode(&w, 3, &resp);
  static const uint8_t tagged[] = {
      0x00, 0x00, 0x02, 0x00, 0x03, 0x00, 0x00, 0x00, 0x0c, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x02,                               /* two tagged fields */
      0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, /* tag 1: epoch 5 */
      0x03, 0x01, 0x01,                                           /* tag 3: true */
  };
  expect_bytes(&w, tagged, sizeof tagged);

  struct arena a;
  arena_init(&a);
  struct rd r;
  rd_init(&r, w.mem.data, w.mem.len);
  struct api_versions_response back;
  ck_assert(api_versions_response_decode(&r, 3, &back, &a));
  ck_assert_int_eq(back.finalized_features_epoch, 5);
  ck_assert(back.zk_migration_ready);
  ck_assert_int_eq(back.api_keys[0].max_version, 12);
  wr_free(&w);
  arena_free(&a);
}
END_TEST

/* ---- malformed input ---- */

START_TEST(hostile_array_count) {
  /* Metadata v1 claiming 2^31-1 topics in 8 bytes: refused before any
   * allocation (each topic needs at least 2 bytes). */
  static const uint8_t classic[] = {0x7f, 0xff, 0xff, 0xff, 0x00, 0x01, 'a', 0x00};
  struct arena a;
  arena_init(&a);
  struct rd r;
  rd_init(&r, classic, sizeof classic);
  struct metadata_request req;
  ck_assert(!metadata_request_decode(&r, 1, &req, &a));
  ck_assert_uint_eq(a.bytes_allocated, 0);

  /* The compact form: uvarint 2^31 (count 2^31-1) and 2^32-1. */
  static const uint8_t compact[][6] = {{0x80, 0x80, 0x80, 0x80, 0x08, 0x00},
                                       {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00}};
  for (size_t i = 0; i < ARRAY_LEN(compact); i++) {
    rd_init(&r, compact[i], sizeof compact[i]);
    ck_assert(!metadata_request_decode(&r, 9, &req, &a));
  }
  ck_assert_uint_eq(a.bytes_allocated, 0);
  arena_free(&a);
}
END_TEST

START_TEST(null_where_not_nullable) {
  struct arena a;
  arena_init(&a);
  struct rd r;
  /* A null topic array is "all topics" from Metadata v1, illegal in v0. */
  static const uint8_t null_topics[] = {0xff, 0xff, 0xff, 0xff};
  struct metadata_request req;
  rd_init(&r, null_topics, sizeof null_topics);
  ck_assert(metadata_request_decode(&r, 1, &req, &a));
  ck_assert_int_eq(req.topics_count, -1);
  rd_init(&r, null_topics, sizeof null_topics);
  ck_assert(!metadata_request_decode(&r, 0, &req, &a));

  /* A null topic name is legal only from v10. */
  static const uint8_t null_name[] = {0x00, 0x00, 0x00, 0x01, 0xff, 0xff};
  rd_init(&r, null_name, sizeof null_name);
  ck_assert(!metadata_request_decode(&r, 1, &req, &a));

  /* Encoding a null where the version has none writes the empty value. */
  struct wr w;
  wr_init(&w);
  metadata_request_init(&req);
  req.topics_count = -1;
  metadata_request_encode(&w, 0, &req);
  static const uint8_t empty[] = {0x00, 0x00, 0x00, 0x00};
  expect_bytes(&w, empty, sizeof empty);
  wr_free(&w);
  arena_free(&a);
}
END_TEST

START_TEST(tagged_struct_written_when_not_default) {
  /* FetchResponse v12 partition: current_leader (tag 1) goes on the wire
   * only once it differs from {-1, -1}. */
  struct fetch_response_partition_data p;
  fetch_response_partition_data_init(&p);
  ck_assert_int_eq(p.current_leader.leader_id, -1);
  ck_assert_int_eq(p.records.len, -1);
  struct fetch_response_fetchable_topic_response t;
  fetch_response_fetchable_topic_response_init(&t);
  t.partitions = &p;
  t.partitions_count = 1;
  struct fetch_response resp;
  fetch_response_init(&resp);
  resp.responses = &t;
  resp.responses_count = 1;
  struct wr w;
  wr_init(&w);
  fetch_response_encode(&w, 12, &resp);
  size_t plain_len = w.mem.len;
  wr_reset(&w);
  p.current_leader.leader_id = 3;
  fetch_response_encode(&w, 12, &resp);
  /* tag 1, size 9, leader_id 3, leader_epoch -1, no tags of its own */
  ck_assert_uint_eq(w.mem.len, plain_len + 11);

  struct arena a;
  arena_init(&a);
  struct rd r;
  rd_init(&r, w.mem.data, w.mem.len);
  struct fetch_response back;
  ck_assert(fetch_response_decode(&r, 12, &back, &a));
  ck_assert_int_eq(back.responses[0].partitions[0].current_leader.leader_id, 3);
  ck_assert_int_eq(back.responses[0].partitions[0].current_leader.leader_epoch, -1);
  ck_assert_int_eq(back.responses[0].partitions[0].records.len, -1);
  wr_free(&w);
  arena_free(&a);
}
END_TEST

START_TEST(tagged_field_too_short) {
  /* ApiVersions v3 request whose tag 0 claims 5 bytes but has 2. */
  static const uint8_t in[] = {0x01, 0x01, 0x01, 0x00, 0x05, 0x02, 'a'};
  struct arena a;
  arena_init(&a);
  struct rd r;
  rd_init(&r, in, sizeof in);
  struct api_versions_request req;
  ck_assert(!api_versions_request_decode(&r, 3, &req, &a));
  arena_free(&a);
}
END_TEST

/* ---- api table ---- */

START_TEST(api_table) {
  const struct api_info *p = api_info_get(API_PRODUCE);
  ck_assert_ptr_nonnull(p);
  ck_assert_str_eq(p->name, "Produce");
  ck_assert_int_eq(p->min_version, 0);
  ck_assert_int_eq(p->max_version, 11);
  ck_assert_int_eq(p->request_flexible_min, 9);
  ck_assert_ptr_null(api_info_get(1000));
  ck_assert_ptr_null(api_info_get(-1));
  ck_assert_int_eq(api_info_get(API_SASL_HANDSHAKE)->request_flexible_min, 32767);

  ck_assert_int_eq(api_request_header_version(API_PRODUCE, 8), 1);
  ck_assert_int_eq(api_request_header_version(API_PRODUCE, 9), 2);
  ck_assert_int_eq(api_response_header_version(API_PRODUCE, 8), 0);
  ck_assert_int_eq(api_response_header_version(API_PRODUCE, 9), 1);
  ck_assert_int_eq(api_request_header_version(API_SASL_HANDSHAKE, 1), 1);
  ck_assert_int_eq(api_response_header_version(API_SASL_HANDSHAKE, 1), 0);
  /* A newer ApiVersions than the schema's still has a readable header. */
  ck_assert_int_eq(api_request_header_version(API_API_VERSIONS, 99), 2);
  ck_assert_int_eq(api_response_header_version(API_API_VERSIONS, 99), 0);
  ck_assert_int_eq(api_request_header_version(1000, 0), -1);
  ck_assert_int_eq(api_response_header_version(1000, 0), -1);

  for (int16_t key = 0; key < 100; key++) {
    const struct api_info *info = api_info_get(key);
    if (info) ck_assert_int_eq(info->key, key);
  }
}
END_TEST

static Suite *codec_suite(void) {
  Suite *s = suite_create("codec");
  TCase *tc = tcase_create("codec");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, roundtrip_every_version, 0, (int)ARRAY_LEN(codec_cases));
  tcase_add_loop_test(tc, unknown_version_rejected, 0, (int)ARRAY_LEN(codec_cases));
  tcase_add_test(tc, golden_api_versions_v0_request);
  tcase_add_test(tc, golden_metadata_v1_two_topics);
  tcase_add_test(tc, golden_api_versions_v3_flexible);
  tcase_add_test(tc, golden_api_versions_v3_response_tags);
  tcase_add_test(tc, hostile_array_count);
  tcase_add_test(tc, null_where_not_nullable);
  tcase_add_test(tc, tagged_struct_written_when_not_default);
  tcase_add_test(tc, tagged_field_too_short);
  tcase_add_test(tc, api_table);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(codec_suite)
