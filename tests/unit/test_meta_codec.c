/* The metadata log's records as Kafka's: the generated KRaft record codecs
 * (every record, every version, every prefix), meta_record <-> metadata
 * record values (meta/codec.h) with hand-checked bytes, record batches and
 * control batches, clear errors for what is unknown, and snapshots of an
 * image (meta/snapshot.h) written and read back, in memory and on the
 * simulated disk. */
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/assert.h"
#include "meta/codec.h"
#include "meta/image.h"
#include "meta/snapshot.h"
#include "proto/errors.h"
#include "proto/metadata_gen.h"
#include "proto/record_batch.h"
#include "proto/wire.h"
#include "sim/world.h"
#include "testing.h"

/* ---- sample values for the generated fillers ---- */

struct sample {
  struct arena *arena;
  int64_t next;
  bool nulls; /* nullable fields become null */
};

/* Small distinct values, never the schema default, so tagged fields are on
 * the wire. */
static int64_t sample_int(struct sample *s, int64_t dflt) {
  int64_t v = 1 + s->next++ % 90;
  return v == dflt ? v + 1 : v;
}

static double sample_f64(struct sample *s) { return 0.5 + (double)(s->next++ % 7); }

static struct kuuid sample_uuid(struct sample *s) {
  struct kuuid u;
  for (int i = 0; i < 16; i++) u.b[i] = (uint8_t)(s->next * 3 + i);
  s->next++;
  return u;
}

static struct kstr sample_string(struct sample *s, bool nullable) {
  if (s->nulls && nullable) return KSTR_NULL;
  char *p = arena_alloc(s->arena, 24);
  int n = snprintf(p, 24, "m%lld", (long long)s->next++);
  return (struct kstr){p, n};
}

static struct kbytes sample_bytes(struct sample *s, bool nullable) {
  if (s->nulls && nullable) return (struct kbytes){NULL, -1};
  uint8_t *p = arena_alloc(s->arena, 5);
  for (int i = 0; i < 5; i++) p[i] = (uint8_t)(s->next + 2 * i);
  s->next++;
  return (struct kbytes){p, 5};
}

static int32_t sample_count(struct sample *s, bool nullable) {
  return s->nulls && nullable ? -1 : 2;
}

static void *sample_array(struct sample *s, int32_t n, size_t elem_bytes) {
  return n > 0 ? arena_alloc(s->arena, (size_t)n * elem_bytes) : NULL;
}

struct codec_case {
  const char *name;
  int32_t api_key; /* -1: a control record */
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
#define CODEC_CASE(name, c, key, lo, hi)                                                       \
  { #name, key, lo, hi, sizeof(struct c), fill_any_##c, encode_any_##c, decode_any_##c }

#include "metadata_samples_gen.inc"

/* ---- the generated codecs: every record, every version ---- */

static void gen_roundtrip(const struct codec_case *c, int16_t version, bool nulls) {
  struct arena a;
  arena_init(&a);
  struct sample s = {.arena = &a, .next = 11 + version, .nulls = nulls};
  void *m = arena_alloc(&a, c->size);
  c->fill(m, version, &s);
  struct wr w1, w2;
  wr_init(&w1);
  wr_init(&w2);
  c->encode(&w1, version, m);
  void *back = arena_alloc(&a, c->size);
  struct rd r;
  rd_init(&r, w1.mem.data, w1.mem.len);
  ck_assert_msg(c->decode(&r, version, back, &a), "%s v%d: decode failed", c->name, version);
  ck_assert_msg(rd_left(&r) == 0, "%s v%d: %zu bytes left", c->name, version, rd_left(&r));
  /* Equal bytes again: every field, tagged ones included, came back. */
  c->encode(&w2, version, back);
  ck_assert_msg(w1.mem.len == w2.mem.len && memcmp(w1.mem.data, w2.mem.data, w1.mem.len) == 0,
                "%s v%d nulls=%d: re-encoding differs", c->name, version, nulls);
  for (size_t len = 0; len < w1.mem.len; len++) {
    struct arena b;
    arena_init(&b);
    void *x = arena_alloc(&b, c->size);
    rd_init(&r, w1.mem.data, len);
    ck_assert_msg(!c->decode(&r, version, x, &b), "%s v%d: a %zu-byte prefix decoded", c->name,
                  version, len);
    arena_free(&b);
  }
  wr_free(&w1);
  wr_free(&w2);
  arena_free(&a);
}

START_TEST(generated_roundtrip_every_version) {
  const struct codec_case *c = &metadata_cases[_i];
  for (int16_t v = c->min_version; v <= c->max_version; v++) {
    gen_roundtrip(c, v, false);
    gen_roundtrip(c, v, true);
  }
  static const uint8_t zeros[64];
  struct arena a;
  arena_init(&a);
  void *m = arena_alloc(&a, c->size);
  struct rd r;
  rd_init(&r, zeros, sizeof zeros);
  ck_assert(!c->decode(&r, (int16_t)(c->max_version + 1), m, &a));
  arena_free(&a);
}
END_TEST

START_TEST(generated_table_matches_schemas) {
  int keyed = 0;
  for (size_t i = 0; i < ARRAY_LEN(metadata_cases); i++) {
    const struct codec_case *c = &metadata_cases[i];
    if (c->api_key < 0) continue;
    keyed++;
    const struct metadata_record_info *info = metadata_record_info_get(c->api_key);
    ck_assert_ptr_nonnull(info);
    ck_assert_str_eq(info->name, c->name);
    ck_assert_int_eq(info->min_version, c->min_version);
    ck_assert_int_eq(info->max_version, c->max_version);
  }
  ck_assert_int_eq(keyed, 25); /* every file of metadata/ */
  ck_assert_ptr_null(metadata_record_info_get(6));
  ck_assert_ptr_null(metadata_record_info_get(-1));
  ck_assert_ptr_null(metadata_record_info_get(1000));
}
END_TEST

/* A tagged field no schema knows is skipped whole (KIP-482). */
START_TEST(generated_unknown_tag_skipped) {
  static const uint8_t in[] = {
      0x02, 'a', /* Name "a" */
      0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
      0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, /* TopicId */
      0x01, 0x09, 0x02, 0xaa, 0xbb,                   /* one tag: 9, 2 bytes */
  };
  struct arena a;
  arena_init(&a);
  struct rd r;
  rd_init(&r, in, sizeof in);
  struct topic_record m;
  ck_assert(topic_record_decode(&r, 0, &m, &a));
  ck_assert_uint_eq(rd_left(&r), 0);
  ck_assert(kstr_eq(m.name, "a"));
  ck_assert_uint_eq(m.topic_id.b[15], 0x0f);
  arena_free(&a);
}
END_TEST

/* ---- meta_record samples ---- */

static struct kuuid uuid_n(uint8_t n) {
  struct kuuid u;
  for (int i = 0; i < 16; i++) u.b[i] = (uint8_t)(n + 17 * i);
  return u;
}

static const enum meta_record_type all_types[] = {
    META_REGISTER_BROKER_RECORD, META_UNREGISTER_BROKER_RECORD,
    META_TOPIC_RECORD,           META_PARTITION_RECORD,
    META_CONFIG_RECORD,          META_PARTITION_CHANGE_RECORD,
    META_FENCE_BROKER_RECORD,    META_UNFENCE_BROKER_RECORD,
    META_REMOVE_TOPIC_RECORD,    META_FEATURE_LEVEL_RECORD,
    META_PRODUCER_IDS_RECORD,    META_BROKER_REGISTRATION_CHANGE_RECORD,
    META_NO_OP_RECORD,
};

/* A record of type with every field it has in `version` set, away from its
 * default where it has one; variant 1 takes the other branches (nulls,
 * unchanged). */
static void sample_record(struct meta_record *r, enum meta_record_type type, int16_t version,
                          int variant, int64_t offset) {
  memset(r, 0, sizeof *r);
  r->type = type;
  r->offset = offset;
  switch (type) {
  case META_REGISTER_BROKER_RECORD: {
    struct meta_register_broker_record *b = &r->register_broker;
    b->broker_id = 3;
    b->incarnation_id = uuid_n(9);
    b->broker_epoch = 4242;
    snprintf(b->listener, sizeof b->listener, "PLAINTEXT");
    snprintf(b->host, sizeof b->host, "broker-3.example");
    b->port = 9092;
    b->security_protocol = 1;
    if (variant == 0) snprintf(b->rack, sizeof b->rack, "rack-a");
    b->fenced = variant == 0;
    b->in_controlled_shutdown = version >= 1 && variant == 0;
    return;
  }
  case META_UNREGISTER_BROKER_RECORD:
    r->unregister_broker = (struct meta_broker_epoch_record){7, 77};
    return;
  case META_TOPIC_RECORD:
    snprintf(r->topic.name, sizeof r->topic.name, variant ? "t" : "orders.eu-west");
    r->topic.topic_id = uuid_n(1);
    return;
  case META_PARTITION_RECORD: {
    struct meta_partition_record *p = &r->partition;
    p->partition_id = 5;
    p->topic_id = uuid_n(2);
    p->replica_count = variant ? 0 : 3;
    p->replicas[0] = 1, p->replicas[1] = 2, p->replicas[2] = 3;
    p->isr_count = variant ? 0 : 2;
    p->isr[0] = 2, p->isr[1] = 1;
    p->leader = variant ? META_NO_LEADER : 2;
    p->leader_epoch = 6;
    p->partition_epoch = 8;
    return;
  }
  case META_CONFIG_RECORD: {
    struct meta_config_record *c = &r->config;
    c->resource_type = META_RESOURCE_TOPIC;
    snprintf(c->resource_name, sizeof c->resource_name, "orders");
    snprintf(c->name, sizeof c->name, "retention.ms");
    if (variant)
      c->value_null = true;
    else
      snprintf(c->value, sizeof c->value, "86400000");
    return;
  }
  case META_PARTITION_CHANGE_RECORD: {
    /* Isr, Leader and Replicas are tagged: variant 0 puts them on the wire,
     * variant 1 leaves them at their defaults (null, -2). */
    struct meta_partition_change_record *c = &r->partition_change;
    c->partition_id = 2;
    c->topic_id = uuid_n(3);
    c->leader = variant ? META_LEADER_UNCHANGED : 4;
    c->isr_count = variant ? -1 : 2;
    c->isr[0] = 4, c->isr[1] = 5;
    c->replica_count = variant ? -1 : 3;
    c->replicas[0] = 4, c->replicas[1] = 5, c->replicas[2] = 6;
    return;
  }
  case META_FENCE_BROKER_RECORD:
    r->fence_broker = (struct meta_broker_epoch_record){8, 88};
    return;
  case META_UNFENCE_BROKER_RECORD:
    r->unfence_broker = (struct meta_broker_epoch_record){9, 99};
    return;
  case META_REMOVE_TOPIC_RECORD:
    r->remove_topic.topic_id = uuid_n(4);
    return;
  case META_FEATURE_LEVEL_RECORD:
    snprintf(r->feature_level.name, sizeof r->feature_level.name, "metadata.version");
    r->feature_level.feature_level = variant ? 0 : 21;
    return;
  case META_PRODUCER_IDS_RECORD:
    r->producer_ids = (struct meta_producer_ids_record){2, 20, 5000};
    return;
  case META_BROKER_REGISTRATION_CHANGE_RECORD: {
    /* Fenced (tag 0) and InControlledShutdown (tag 1, v1+) are tagged. */
    struct meta_broker_registration_change_record *c = &r->broker_registration_change;
    c->broker_id = 3;
    c->broker_epoch = 4242;
    c->fenced = variant ? META_FENCE_UNCHANGED : META_FENCE_UNFENCED;
    c->in_controlled_shutdown = (int8_t)(version >= 1 && variant == 0);
    return;
  }
  case META_NO_OP_RECORD:
  case META_BEGIN_TRANSACTION_RECORD: /* no fields Sluice keeps */
  case META_END_TRANSACTION_RECORD:
  case META_ABORT_TRANSACTION_RECORD:
    return;
  }
  ck_abort_msg("type %d", type);
}

static int16_t min_version_of(enum meta_record_type type) {
  const struct metadata_record_info *info = metadata_record_info_get((int32_t)type);
  ck_assert_ptr_nonnull(info);
  return info->min_version;
}

/* Every prefix of a value is refused, and says so. */
static void check_prefixes(const struct buf *b) {
  for (size_t len = 0; len < b->len; len++) {
    struct meta_record r;
    int rc = meta_record_decode(b->data, len, 0, &r);
    ck_assert_msg(rc == META_CODEC_ECORRUPT, "a %zu-byte prefix of %zu: %s", len, b->len,
                  meta_codec_strerror(rc));
  }
}

START_TEST(record_roundtrip_every_type_and_version) {
  enum meta_record_type type = all_types[_i];
  int16_t write_version = meta_record_write_version(type);
  const struct metadata_record_info *info = metadata_record_info_get((int32_t)type);
  ck_assert_int_eq(write_version, info->max_version);
  for (int16_t v = min_version_of(type); v <= write_version; v++) {
    for (int variant = 0; variant < 2; variant++) {
      struct meta_record r, back;
      sample_record(&r, type, v, variant, 1000 + v);
      struct buf b;
      buf_init(&b);
      meta_record_encode_version(&r, v, &b);
      ck_assert_int_eq(b.data[0], 1);    /* frame version */
      ck_assert_int_eq(b.data[1], type); /* apiKey (all < 128: one byte) */
      ck_assert_int_eq(b.data[2], v);
      ck_assert_int_eq(meta_record_decode(b.data, b.len, 1000 + v, &back), 0);
      ck_assert_msg(meta_record_equal(&r, &back), "%s v%d variant %d differs", info->name, v,
                    variant);
      back.offset++;
      ck_assert(!meta_record_equal(&r, &back));
      check_prefixes(&b);
      /* One record per value: a byte more is refused. */
      buf_append(&b, "", 1);
      ck_assert_int_eq(meta_record_decode(b.data, b.len, 0, &back), META_CODEC_ECORRUPT);
      buf_free(&b);
    }
  }
}
END_TEST

/* ---- hand-checked bytes ---- */

static void expect_encoding(const struct meta_record *r, int16_t version, const uint8_t *want,
                            size_t want_len) {
  struct buf b;
  buf_init(&b);
  meta_record_encode_version(r, version, &b);
  ck_assert_uint_eq(b.len, want_len);
  ck_assert_mem_eq(b.data, want, want_len);
  struct meta_record back;
  ck_assert_int_eq(meta_record_decode(want, want_len, r->offset, &back), 0);
  ck_assert(meta_record_equal(r, &back));
  buf_free(&b);
}

#define ID16                                                                                   \
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f

static struct kuuid id16(void) {
  struct kuuid u;
  for (int i = 0; i < 16; i++) u.b[i] = (uint8_t)i;
  return u;
}

/* Derived by hand from metadata/TopicRecord.json (v0, flexible): the value's
 * prefix is frame version 1, apiKey 2, version 0 (uvarints); then Name, a
 * compact string (uvarint length + 1, then the bytes); TopicId, 16 bytes;
 * then the tagged-field section, an empty one (count 0). */
START_TEST(golden_topic_record) {
  static const uint8_t want[] = {
      0x01, 0x02, 0x00,      /* frame 1, apiKey 2, version 0 */
      0x04, 'f',  'o',  'o', /* Name "foo": length 3 + 1 */
      ID16,                  /* TopicId */
      0x00,                  /* no tagged fields */
  };
  struct meta_record r;
  memset(&r, 0, sizeof r);
  r.type = META_TOPIC_RECORD;
  snprintf(r.topic.name, sizeof r.topic.name, "foo");
  r.topic.topic_id = id16();
  ck_assert_uint_eq(sizeof want, 24);
  expect_encoding(&r, 0, want, sizeof want);
  expect_encoding(&r, meta_record_write_version(META_TOPIC_RECORD), want, sizeof want);
}
END_TEST

/* From metadata/PartitionRecord.json, field by field in schema order with
 * the tagged ones (LeaderRecoveryState tag 0, v2's EligibleLeaderReplicas
 * tag 1 and LastKnownElr tag 2) moved to the tagged section, where they are
 * absent at their defaults (0, null, null): PartitionId int32; TopicId;
 * Replicas, Isr, RemovingReplicas, AddingReplicas compact int32 arrays
 * (uvarint count + 1); Leader, LeaderEpoch, PartitionEpoch int32; v1+
 * Directories, a compact uuid array (empty). */
START_TEST(golden_partition_record) {
  static const uint8_t v0[] = {
      0x01, 0x03, 0x00,                         /* frame 1, apiKey 3, version 0 */
      0x00, 0x00, 0x00, 0x07,                   /* PartitionId 7 */
      ID16,                                     /* TopicId */
      0x04, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, /* Replicas [1, 2, 3] */
      0x00, 0x02, 0x00, 0x00, 0x00, 0x03,       /* */
      0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, /* Isr [1, 2] */
      0x00, 0x02,                               /* */
      0x01,                                     /* RemovingReplicas [] */
      0x01,                                     /* AddingReplicas [] */
      0x00, 0x00, 0x00, 0x01,                   /* Leader 1 */
      0x00, 0x00, 0x00, 0x05,                   /* LeaderEpoch 5 */
      0x00, 0x00, 0x00, 0x09,                   /* PartitionEpoch 9 */
      0x00,                                     /* no tagged fields */
  };
  static const uint8_t v2[] = {
      0x01, 0x03, 0x02,                         /* frame 1, apiKey 3, version 2 */
      0x00, 0x00, 0x00, 0x07,                   /* PartitionId 7 */
      ID16,                                     /* TopicId */
      0x04, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, /* Replicas [1, 2, 3] */
      0x00, 0x02, 0x00, 0x00, 0x00, 0x03,       /* */
      0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, /* Isr [1, 2] */
      0x00, 0x02,                               /* */
      0x01,                                     /* RemovingReplicas [] */
      0x01,                                     /* AddingReplicas [] */
      0x00, 0x00, 0x00, 0x01,                   /* Leader 1 */
      0x00, 0x00, 0x00, 0x05,                   /* LeaderEpoch 5 */
      0x00, 0x00, 0x00, 0x09,                   /* PartitionEpoch 9 */
      0x01,                                     /* Directories [] (v1+) */
      0x00,                                     /* no tagged fields */
  };
  struct meta_record r;
  memset(&r, 0, sizeof r);
  r.type = META_PARTITION_RECORD;
  r.partition = (struct meta_partition_record){.partition_id = 7,
                                               .topic_id = id16(),
                                               .replica_count = 3,
                                               .replicas = {1, 2, 3},
                                               .isr_count = 2,
                                               .isr = {1, 2},
                                               .leader = 1,
                                               .leader_epoch = 5,
                                               .partition_epoch = 9};
  expect_encoding(&r, 0, v0, sizeof v0);
  expect_encoding(&r, 2, v2, sizeof v2);
  ck_assert_int_eq(meta_record_write_version(META_PARTITION_RECORD), 2);
}
END_TEST

/* metadata/PartitionChangeRecord.json: PartitionId and TopicId, then only
 * tagged fields; Isr (tag 0) and Leader (tag 1) differ from their defaults
 * (null, -2) so they are written, in tag order, each as uvarint tag,
 * uvarint size, value; Replicas (tag 2) stays null and absent. */
START_TEST(golden_partition_change_record_tags) {
  static const uint8_t want[] = {
      0x01, 0x05, 0x02,                   /* frame 1, apiKey 5, version 2 */
      0x00, 0x00, 0x00, 0x03,             /* PartitionId 3 */
      ID16,                               /* TopicId */
      0x02,                               /* two tagged fields */
      0x00, 0x05, 0x02, 0x00, 0x00, 0x00, /* tag 0, 5 bytes: Isr [2] */
      0x02,                               /* */
      0x01, 0x04, 0x00, 0x00, 0x00, 0x02, /* tag 1, 4 bytes: Leader 2 */
  };
  struct meta_record r;
  memset(&r, 0, sizeof r);
  r.type = META_PARTITION_CHANGE_RECORD;
  r.partition_change = (struct meta_partition_change_record){.partition_id = 3,
                                                             .topic_id = id16(),
                                                             .leader = 2,
                                                             .isr_count = 1,
                                                             .isr = {2},
                                                             .replica_count = -1};
  expect_encoding(&r, 2, want, sizeof want);
}
END_TEST

/* ---- what is unknown or unsupported: clear errors ---- */

static int decode_bytes(const uint8_t *p, size_t len) {
  struct meta_record r;
  int rc = meta_record_decode(p, len, 0, &r);
  struct meta_record zero;
  memset(&zero, 0, sizeof zero);
  if (rc != 0) ck_assert_mem_eq(&r, &zero, sizeof r); /* nothing half-decoded */
  return rc;
}

START_TEST(unknown_keys_versions_frames) {
  static const uint8_t no_op[] = {0x01, 0x14, 0x00, 0x00};
  ck_assert_int_eq(decode_bytes(no_op, sizeof no_op), 0);
  static const uint8_t key6[] = {0x01, 0x06, 0x00, 0x00}; /* no schema has apiKey 6 */
  ck_assert_int_eq(decode_bytes(key6, sizeof key6), META_CODEC_EKEY);
  static const uint8_t key99[] = {0x01, 0x63, 0x00, 0x00};
  ck_assert_int_eq(decode_bytes(key99, sizeof key99), META_CODEC_EKEY);
  static const uint8_t key_huge[] = {0x01, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00, 0x00};
  ck_assert_int_eq(decode_bytes(key_huge, sizeof key_huge), META_CODEC_EKEY);
  static const uint8_t no_op_v1[] = {0x01, 0x14, 0x01, 0x00}; /* NoOpRecord has v0 only */
  ck_assert_int_eq(decode_bytes(no_op_v1, sizeof no_op_v1), META_CODEC_EVERSION);
  static const uint8_t partition_v3[] = {0x01, 0x03, 0x03, 0x00};
  ck_assert_int_eq(decode_bytes(partition_v3, sizeof partition_v3), META_CODEC_EVERSION);
  static const uint8_t frame0[] = {0x00, 0x14, 0x00, 0x00}; /* the 2.8 preview's frame */
  ck_assert_int_eq(decode_bytes(frame0, sizeof frame0), META_CODEC_EFRAME);
  static const uint8_t frame2[] = {0x02, 0x14, 0x00, 0x00};
  ck_assert_int_eq(decode_bytes(frame2, sizeof frame2), META_CODEC_EFRAME);
  /* Kafka's, but not Sluice's: an ACL (AccessControlEntryRecord, apiKey 18). */
  static const uint8_t acl[] = {0x01, 0x12, 0x00, 0x00};
  ck_assert_int_eq(decode_bytes(acl, sizeof acl), META_CODEC_EUNSUPPORTED);
  ck_assert_int_eq(decode_bytes(NULL, 0), META_CODEC_ECORRUPT);
  ck_assert_str_eq(meta_codec_strerror(META_CODEC_EKEY), "META_CODEC_EKEY");
  ck_assert_str_eq(meta_codec_strerror(META_CODEC_EVERSION), "META_CODEC_EVERSION");
  ck_assert_str_eq(meta_codec_strerror(12345), "?");
}
END_TEST

/* Values a meta_record cannot hold are refused, not cut. */
START_TEST(limits_refused) {
  struct arena a;
  arena_init(&a);
  struct wr w;
  wr_init(&w);
  char name[300];
  memset(name, 'x', sizeof name);
  struct topic_record t;
  topic_record_init(&t);
  t.name = (struct kstr){name, META_TOPIC_NAME_BYTES}; /* one past 249 */
  wr_uvarint(&w, 1);
  wr_uvarint(&w, METADATA_KEY_TOPIC_RECORD);
  wr_uvarint(&w, 0);
  topic_record_encode(&w, 0, &t);
  ck_assert_int_eq(decode_bytes(w.mem.data, w.mem.len), META_CODEC_ELIMIT);

  wr_reset(&w);
  int32_t replicas[META_REPLICAS_MAX + 1] = {0};
  struct partition_record p;
  partition_record_init(&p);
  p.replicas = replicas;
  p.replicas_count = META_REPLICAS_MAX + 1;
  wr_uvarint(&w, 1);
  wr_uvarint(&w, METADATA_KEY_PARTITION_RECORD);
  wr_uvarint(&w, 0);
  partition_record_encode(&w, 0, &p);
  ck_assert_int_eq(decode_bytes(w.mem.data, w.mem.len), META_CODEC_ELIMIT);

  wr_reset(&w); /* a NUL inside a string */
  t.name = (struct kstr){"a\0b", 3};
  wr_uvarint(&w, 1);
  wr_uvarint(&w, METADATA_KEY_TOPIC_RECORD);
  wr_uvarint(&w, 0);
  topic_record_encode(&w, 0, &t);
  ck_assert_int_eq(decode_bytes(w.mem.data, w.mem.len), META_CODEC_ELIMIT);
  wr_free(&w);
  arena_free(&a);
}
END_TEST

/* ---- batches ---- */

static void sample_records(struct meta_record *records, int32_t *count, int64_t base) {
  int32_t n = 0;
  for (size_t i = 0; i < ARRAY_LEN(all_types); i++) {
    sample_record(&records[n], all_types[i], meta_record_write_version(all_types[i]),
                  (int)i % 2, base + n);
    n++;
  }
  *count = n;
}

START_TEST(batch_roundtrip) {
  struct meta_record records[32];
  int32_t count;
  sample_records(records, &count, 100);
  struct buf out;
  buf_init(&out);
  ck_assert_int_eq(meta_batch_write(&out, 100, 7, 1700000000123, records, count), 0);
  size_t first = out.len;
  ck_assert_int_eq(meta_batch_write(&out, 100 + count, 8, 1700000000999, records, 2), 0);

  /* The header as Kafka's raft client writes it. */
  struct rb_header h;
  ck_assert(rb_header_read(out.data, out.len, &h));
  ck_assert_int_eq(h.magic, 2);
  ck_assert_int_eq(h.base_offset, 100);
  ck_assert_int_eq(h.leader_epoch, 7);
  ck_assert_int_eq(h.attributes, 0);
  ck_assert_int_eq(h.record_count, count);
  ck_assert_int_eq(h.last_offset_delta, count - 1);
  ck_assert_int_eq(h.base_timestamp, 1700000000123);
  ck_assert_int_eq(h.max_timestamp, 1700000000123);
  ck_assert_int_eq(h.producer_id, -1);
  ck_assert_int_eq(h.producer_epoch, -1);
  ck_assert_int_eq(h.base_sequence, -1);
  ck_assert_uint_eq(rb_check_one(out.data, out.len), first);

  struct meta_delta d;
  meta_delta_init(&d);
  struct meta_batch b;
  ck_assert_int_eq(meta_batch_read(out.data, out.len, &b, &d, NULL), 0);
  ck_assert_uint_eq(b.size, first);
  ck_assert(!b.control);
  ck_assert_int_eq(b.h.leader_epoch, 7);
  ck_assert_int_eq(d.count, count);
  for (int32_t i = 0; i < count; i++)
    ck_assert_msg(meta_record_equal(&records[i], &d.records[i]), "record %d", i);
  ck_assert_int_eq(meta_batch_read(out.data + first, out.len - first, &b, &d, NULL), 0);
  ck_assert_int_eq(b.h.leader_epoch, 8);
  ck_assert_int_eq(d.count, count + 2);
  ck_assert_int_eq(d.records[count + 1].offset, 100 + count + 1);
  /* The same batch again: its offsets do not grow past the delta's. */
  ck_assert_int_eq(meta_batch_read(out.data, out.len, &b, &d, NULL), META_CODEC_EBATCH);
  ck_assert_int_eq(d.count, count + 2);
  /* Data where only control records are wanted. */
  struct meta_controls controls;
  meta_controls_init(&controls);
  ck_assert_int_eq(meta_batch_read(out.data, out.len, &b, NULL, &controls), META_CODEC_EBATCH);
  meta_controls_free(&controls);
  meta_delta_free(&d);

  /* Every prefix of the batch is refused and adds nothing; so is any flipped
   * bit the CRC covers. */
  for (size_t len = 0; len < first; len++) {
    meta_delta_init(&d);
    int rc = meta_batch_read(out.data, len, &b, &d, NULL);
    ck_assert_msg(rc == META_CODEC_ECORRUPT, "prefix %zu: %s", len, meta_codec_strerror(rc));
    ck_assert_int_eq(d.count, 0);
    meta_delta_free(&d);
  }
  for (size_t at = RB_OFF_ATTRIBUTES; at < first; at += 7) {
    out.data[at] ^= 0x10;
    meta_delta_init(&d);
    ck_assert_int_eq(meta_batch_read(out.data, out.len, &b, &d, NULL), META_CODEC_ECRC);
    ck_assert_int_eq(d.count, 0);
    meta_delta_free(&d);
    out.data[at] ^= 0x10;
  }
  buf_free(&out);
}
END_TEST

/* A batch whose CRC is right but whose record is not a metadata record:
 * the error is the record's, and nothing of the batch is kept. */
START_TEST(batch_with_bad_record) {
  struct rb_builder rb;
  rb_builder_init(&rb, 10, 5);
  static const uint8_t good[] = {0x01, 0x14, 0x00, 0x00}; /* NoOpRecord */
  static const uint8_t bad[] = {0x01, 0x06, 0x00, 0x00};  /* apiKey 6 */
  rb_builder_add(&rb, 5, (struct kbytes){NULL, -1}, (struct kbytes){good, 4}, NULL, 0);
  rb_builder_add(&rb, 5, (struct kbytes){NULL, -1}, (struct kbytes){bad, 4}, NULL, 0);
  struct buf out;
  buf_init(&out);
  ck_assert_int_eq(rb_builder_finish(&rb, RB_CODEC_NONE, &out), KERR_NONE);
  rb_builder_free(&rb);
  struct meta_delta d;
  meta_delta_init(&d);
  struct meta_batch b;
  ck_assert_int_eq(meta_batch_read(out.data, out.len, &b, &d, NULL), META_CODEC_EKEY);
  ck_assert_int_eq(d.count, 0);
  meta_delta_free(&d);
  buf_free(&out);
}
END_TEST

START_TEST(leader_change_batch) {
  struct meta_leader_change lc = {.leader_id = 2,
                                  .voter_count = 3,
                                  .voters = {1, 2, 3},
                                  .granting_count = 2,
                                  .granting_voters = {2, 3}};
  struct buf out;
  buf_init(&out);
  ck_assert_int_eq(meta_leader_change_write(&out, 41, 5, 1234, &lc), 0);
  struct rb_header h;
  ck_assert(rb_header_read(out.data, out.len, &h));
  ck_assert(h.attributes & RB_ATTR_CONTROL);
  ck_assert_int_eq(h.base_offset, 41);
  ck_assert_int_eq(h.leader_epoch, 5);
  ck_assert_int_eq(h.record_count, 1);

  /* The control key: version 0, type 2 (LEADER_CHANGE). */
  struct rb_iter it;
  ck_assert_int_eq(rb_iter_init(&it, out.data, out.len, NULL, 0), KERR_NONE);
  struct rb_record rec;
  ck_assert_int_eq(rb_iter_next(&it, &rec), 1);
  static const uint8_t key[] = {0x00, 0x00, 0x00, 0x02};
  ck_assert_int_eq(rec.key.len, 4);
  ck_assert_mem_eq(rec.key.ptr, key, 4);
  /* The value: LeaderChangeMessage v0 with Version 0, LeaderId 2, Voters
   * [1, 2, 3], GrantingVoters [2, 3] (each voter: VoterId, then its own empty
   * tagged section), then the message's empty tagged section. */
  static const uint8_t value[] = {
      0x00, 0x00,                   /* Version 0 */
      0x00, 0x00, 0x00, 0x02,       /* LeaderId 2 */
      0x04,                         /* three voters */
      0x00, 0x00, 0x00, 0x01, 0x00, /* */
      0x00, 0x00, 0x00, 0x02, 0x00, /* */
      0x00, 0x00, 0x00, 0x03, 0x00, /* */
      0x03,                         /* two granting voters */
      0x00, 0x00, 0x00, 0x02, 0x00, /* */
      0x00, 0x00, 0x00, 0x03, 0x00, /* */
      0x00,                         /* no tagged fields */
  };
  ck_assert_int_eq(rec.value.len, (int32_t)sizeof value);
  ck_assert_mem_eq(rec.value.ptr, value, sizeof value);

  struct meta_controls controls;
  meta_controls_init(&controls);
  struct meta_batch b;
  struct meta_delta d;
  meta_delta_init(&d);
  ck_assert_int_eq(meta_batch_read(out.data, out.len, &b, &d, NULL), META_CODEC_EBATCH);
  ck_assert_int_eq(meta_batch_read(out.data, out.len, &b, &d, &controls), 0);
  ck_assert(b.control);
  ck_assert_int_eq(d.count, 0);
  ck_assert_int_eq(controls.count, 1);
  struct meta_control_record want;
  memset(&want, 0, sizeof want);
  want.type = META_CONTROL_LEADER_CHANGE;
  want.offset = 41;
  want.leader_change = lc;
  ck_assert(meta_control_equal(&want, &controls.items[0]));
  for (size_t len = 0; len < out.len; len++)
    ck_assert_int_eq(meta_batch_read(out.data, len, &b, &d, &controls), META_CODEC_ECORRUPT);
  ck_assert_int_eq(controls.count, 1);
  meta_controls_free(&controls);
  meta_delta_free(&d);
  buf_free(&out);
}
END_TEST

/* Every control record in one control batch, and back. */
START_TEST(control_records_roundtrip) {
  struct meta_control_record c[5];
  memset(c, 0, sizeof c);
  c[0].type = META_CONTROL_SNAPSHOT_HEADER;
  c[0].last_contained_log_timestamp = 1699999999999;
  c[1].type = META_CONTROL_KRAFT_VERSION;
  c[1].kraft_version = 1;
  c[2].type = META_CONTROL_VOTERS;
  c[2].voters.count = 2;
  for (int i = 0; i < 2; i++) {
    struct meta_voter *v = &c[2].voters.voters[i];
    v->id = i + 1;
    v->directory_id = uuid_n((uint8_t)(40 + i));
    snprintf(v->listener, sizeof v->listener, "CONTROLLER");
    snprintf(v->host, sizeof v->host, "c%d", i + 1);
    v->port = (uint16_t)(9093 + i);
    v->kraft_version_min = 0;
    v->kraft_version_max = 1;
  }
  c[3].type = META_CONTROL_LEADER_CHANGE;
  c[3].leader_change.leader_id = 1;
  c[4].type = META_CONTROL_SNAPSHOT_FOOTER;
  for (int i = 0; i < 5; i++) c[i].offset = 7 + i;
  struct buf out;
  buf_init(&out);
  ck_assert_int_eq(meta_control_batch_write(&out, 7, 3, 99, c, 5), 0);
  struct meta_controls controls;
  meta_controls_init(&controls);
  struct meta_batch b;
  ck_assert_int_eq(meta_batch_read(out.data, out.len, &b, NULL, &controls), 0);
  ck_assert_int_eq(controls.count, 5);
  for (int i = 0; i < 5; i++)
    ck_assert_msg(meta_control_equal(&c[i], &controls.items[i]), "%d", i);
  ck_assert(!meta_control_equal(&c[0], &controls.items[1]));
  meta_controls_free(&controls);
  buf_free(&out);
}
END_TEST

/* A control record of an unknown type or version: clear errors. */
static int read_one_control(const uint8_t *key, int32_t key_len, const uint8_t *value,
                            int32_t value_len) {
  struct rb_builder rb;
  rb_builder_init(&rb, 0, 0);
  rb.attributes |= RB_ATTR_CONTROL;
  rb_builder_add(&rb, 0, (struct kbytes){key, key_len}, (struct kbytes){value, value_len}, NULL,
                 0);
  struct buf out;
  buf_init(&out);
  ck_assert_int_eq(rb_builder_finish(&rb, RB_CODEC_NONE, &out), KERR_NONE);
  rb_builder_free(&rb);
  struct meta_controls controls;
  meta_controls_init(&controls);
  struct meta_batch b;
  int rc = meta_batch_read(out.data, out.len, &b, NULL, &controls);
  ck_assert_int_eq(controls.count, rc == 0 ? 1 : 0);
  meta_controls_free(&controls);
  buf_free(&out);
  return rc;
}

START_TEST(unknown_control_records) {
  static const uint8_t footer[] = {0x00, 0x00, 0x00};    /* Version 0, no tags */
  static const uint8_t footer_v1[] = {0x00, 0x01, 0x00}; /* a version no schema has */
  static const uint8_t key_footer[] = {0x00, 0x00, 0x00, 0x04};
  static const uint8_t key_commit[] = {0x00, 0x00, 0x00, 0x01}; /* a transaction marker */
  static const uint8_t key_7[] = {0x00, 0x00, 0x00, 0x07};
  static const uint8_t key_neg[] = {0xff, 0xff, 0x00, 0x04};
  ck_assert_int_eq(read_one_control(key_footer, 4, footer, 3), 0);
  ck_assert_int_eq(read_one_control(key_footer, 4, footer_v1, 3), META_CODEC_EVERSION);
  ck_assert_int_eq(read_one_control(key_commit, 4, footer, 3), META_CODEC_EKEY);
  ck_assert_int_eq(read_one_control(key_7, 4, footer, 3), META_CODEC_EKEY);
  ck_assert_int_eq(read_one_control(key_neg, 4, footer, 3), META_CODEC_ECORRUPT);
  ck_assert_int_eq(read_one_control(key_footer, 3, footer, 3), META_CODEC_ECORRUPT);
  ck_assert_int_eq(read_one_control(key_footer, 4, footer, 2), META_CODEC_ECORRUPT);
  ck_assert_int_eq(read_one_control(key_footer, 4, NULL, -1), META_CODEC_ECORRUPT);
}
END_TEST

/* ---- images and snapshots ---- */

static struct meta_record *add(struct meta_delta *d, enum meta_record_type type) {
  int64_t next = d->count ? d->records[d->count - 1].offset + 1 : 0;
  struct meta_record *r = meta_delta_add(d, type, next);
  ck_assert_ptr_nonnull(r);
  return r;
}

static void add_broker(struct meta_delta *d, int32_t id, const char *rack) {
  struct meta_record *r = add(d, META_REGISTER_BROKER_RECORD);
  struct meta_register_broker_record *b = &r->register_broker;
  b->broker_id = id;
  b->incarnation_id = uuid_n((uint8_t)(100 + id));
  b->broker_epoch = r->offset;
  snprintf(b->listener, sizeof b->listener, "PLAINTEXT");
  snprintf(b->host, sizeof b->host, "b%d.local", id);
  b->port = (uint16_t)(9090 + id);
  snprintf(b->rack, sizeof b->rack, "%s", rack);
  b->fenced = true;
}

static void add_topic(struct meta_delta *d, const char *name, uint8_t id, int32_t partitions) {
  struct meta_record *r = add(d, META_TOPIC_RECORD);
  snprintf(r->topic.name, sizeof r->topic.name, "%s", name);
  r->topic.topic_id = uuid_n(id);
  for (int32_t p = 0; p < partitions; p++) {
    struct meta_partition_record *pr = &add(d, META_PARTITION_RECORD)->partition;
    pr->partition_id = p;
    pr->topic_id = uuid_n(id);
    pr->replica_count = 3;
    pr->isr_count = 3;
    for (int32_t i = 0; i < 3; i++) pr->replicas[i] = pr->isr[i] = (p + i) % 4 + 1;
    pr->leader = pr->replicas[0];
  }
}

static void add_config(struct meta_delta *d, const char *topic, const char *name,
                       const char *value) {
  struct meta_config_record *c = &add(d, META_CONFIG_RECORD)->config;
  c->resource_type = META_RESOURCE_TOPIC;
  snprintf(c->resource_name, sizeof c->resource_name, "%s", topic);
  snprintf(c->name, sizeof c->name, "%s", name);
  snprintf(c->value, sizeof c->value, "%s", value);
}

static void add_feature(struct meta_delta *d, const char *name, int16_t level) {
  struct meta_feature_level_record *f = &add(d, META_FEATURE_LEVEL_RECORD)->feature_level;
  snprintf(f->name, sizeof f->name, "%s", name);
  f->feature_level = level;
}

static const struct meta_broker *broker_of(const struct meta_image *image, int32_t id) {
  const struct meta_broker *b = meta_image_broker(image, id);
  ck_assert_ptr_nonnull(b);
  return b;
}

/* A cluster that went through every kind of record. */
static struct meta_image *rich_image(void) {
  struct meta_delta d;
  meta_delta_init(&d);
  add_feature(&d, "metadata.version", 21);
  add_feature(&d, "kraft.version", 1);
  add_feature(&d, "group.version", 1);
  add_feature(&d, "group.version", 0); /* level 0: gone again */
  int64_t epochs[6];                   /* a broker's epoch: the offset of its registration */
  for (int32_t id = 1; id <= 5; id++) {
    epochs[id] = d.count;
    add_broker(&d, id, id % 2 ? "rack-a" : "");
  }
  for (int32_t id = 1; id <= 4; id++) {
    struct meta_record *r = add(&d, META_UNFENCE_BROKER_RECORD);
    r->unfence_broker = (struct meta_broker_epoch_record){id, epochs[id]};
  }
  struct meta_record *r = add(&d, META_FENCE_BROKER_RECORD);
  r->fence_broker = (struct meta_broker_epoch_record){2, epochs[2] + 1}; /* not its epoch */
  struct meta_image *empty = meta_image_empty("cluster-x");
  struct meta_image *image = NULL;
  ck_assert_int_eq(meta_image_build(empty, &d, &image), ENV_ENOENT);
  meta_delta_truncate(&d, d.count - 1);
  r = add(&d, META_BROKER_REGISTRATION_CHANGE_RECORD);
  r->broker_registration_change =
      (struct meta_broker_registration_change_record){3, epochs[3], META_FENCE_FENCED, 0};
  r = add(&d, META_UNREGISTER_BROKER_RECORD);
  r->unregister_broker = (struct meta_broker_epoch_record){5, epochs[5]};
  add_topic(&d, "orders", 1, 4);
  add_topic(&d, "audit", 2, 1);
  add_topic(&d, "__consumer_offsets", 3, 6);
  add_topic(&d, "gone", 4, 2);
  add_config(&d, "orders", "retention.ms", "3600000");
  add_config(&d, "orders", "cleanup.policy", "compact");
  add_config(&d, "audit", "max.message.bytes", "2097152");
  r = add(&d, META_PARTITION_CHANGE_RECORD); /* a new leader: both epochs move */
  r->partition_change = (struct meta_partition_change_record){.partition_id = 2,
                                                              .topic_id = uuid_n(1),
                                                              .leader = 4,
                                                              .isr_count = 2,
                                                              .isr = {4, 1},
                                                              .replica_count = -1};
  r = add(&d, META_PARTITION_CHANGE_RECORD);
  r->partition_change = (struct meta_partition_change_record){.partition_id = 2,
                                                              .topic_id = uuid_n(1),
                                                              .leader = META_LEADER_UNCHANGED,
                                                              .isr_count = -1,
                                                              .replica_count = -1};
  r = add(&d, META_REMOVE_TOPIC_RECORD);
  r->remove_topic.topic_id = uuid_n(4);
  r = add(&d, META_PRODUCER_IDS_RECORD);
  r->producer_ids = (struct meta_producer_ids_record){1, 4, 3000};
  add(&d, META_NO_OP_RECORD);
  ck_assert_int_eq(meta_image_build(empty, &d, &image), 0);
  meta_image_unref(empty);
  meta_delta_free(&d);
  /* What the records did. */
  ck_assert_int_eq(image->broker_count, 4);
  ck_assert(!broker_of(image, 1)->fenced);
  ck_assert(broker_of(image, 3)->fenced);
  ck_assert_int_eq(image->feature_count, 2);
  ck_assert_str_eq(image->features[0].name, "kraft.version");
  ck_assert_int_eq(image->next_producer_id, 3000);
  ck_assert_int_eq(image->topic_count, 3);
  const struct meta_partition *p =
      meta_topic_partition(meta_image_topic(image, "orders", 6), 2);
  ck_assert_int_eq(p->leader, 4);
  ck_assert_int_eq(p->leader_epoch, 1);
  ck_assert_int_eq(p->partition_epoch, 2);
  return image;
}

/* Images equal, by walking both. */
static void assert_images_equal(const struct meta_image *a, const struct meta_image *b) {
  ck_assert_int_eq(a->offset, b->offset);
  ck_assert_str_eq(a->cluster_id, b->cluster_id);
  ck_assert_int_eq(a->feature_count, b->feature_count);
  for (int32_t i = 0; i < a->feature_count; i++) {
    ck_assert_str_eq(a->features[i].name, b->features[i].name);
    ck_assert_int_eq(a->features[i].level, b->features[i].level);
  }
  ck_assert_int_eq(a->next_producer_id, b->next_producer_id);
  ck_assert_int_eq(a->broker_count, b->broker_count);
  for (int32_t i = 0; i < a->broker_count; i++) {
    const struct meta_broker *x = &a->brokers[i], *y = &b->brokers[i];
    ck_assert_int_eq(x->id, y->id);
    ck_assert_int_eq(x->epoch, y->epoch);
    ck_assert_mem_eq(x->incarnation_id.b, y->incarnation_id.b, 16);
    ck_assert_str_eq(x->listener, y->listener);
    ck_assert_str_eq(x->host, y->host);
    ck_assert_int_eq(x->port, y->port);
    ck_assert_str_eq(x->rack, y->rack);
    ck_assert_int_eq(x->fenced, y->fenced);
  }
  ck_assert_int_eq(a->topic_count, b->topic_count);
  for (int32_t i = 0; i < a->topic_count; i++) {
    const struct meta_topic *x = a->topics_by_name[i], *y = b->topics_by_name[i];
    ck_assert_ptr_eq(a->topics_by_id[i], meta_image_topic_by_id(a, a->topics_by_id[i]->id));
    ck_assert_ptr_eq(b->topics_by_id[i], meta_image_topic_by_id(b, a->topics_by_id[i]->id));
    ck_assert_str_eq(x->name, y->name);
    ck_assert_mem_eq(x->id.b, y->id.b, 16);
    ck_assert_int_eq(x->partition_count, y->partition_count);
    for (int32_t j = 0; j < x->partition_count; j++) {
      const struct meta_partition *p = &x->partitions[j], *q = &y->partitions[j];
      ck_assert_int_eq(p->partition_id, q->partition_id);
      ck_assert_int_eq(p->leader, q->leader);
      ck_assert_int_eq(p->leader_epoch, q->leader_epoch);
      ck_assert_int_eq(p->partition_epoch, q->partition_epoch);
      ck_assert_int_eq(p->replica_count, q->replica_count);
      ck_assert_int_eq(p->isr_count, q->isr_count);
      ck_assert_mem_eq(p->replicas, q->replicas, (size_t)p->replica_count * sizeof(int32_t));
      ck_assert_mem_eq(p->isr, q->isr, (size_t)p->isr_count * sizeof(int32_t));
    }
    ck_assert_int_eq(x->config_count, y->config_count);
    for (int32_t j = 0; j < x->config_count; j++) {
      ck_assert_str_eq(x->configs[j].name, y->configs[j].name);
      ck_assert_str_eq(x->configs[j].value, y->configs[j].value);
    }
  }
}

static const struct meta_snapshot_opts opts_small = {.epoch = 6,
                                                     .timestamp_ms = 1700000000000,
                                                     .last_contained_log_timestamp =
                                                         1699999990000,
                                                     .batch_bytes = 200};

START_TEST(snapshot_roundtrip) {
  struct meta_image *image = rich_image();
  struct meta_snapshot_id id = meta_snapshot_id_of(image, opts_small.epoch);
  ck_assert_int_eq(id.end_offset, image->offset + 1);
  struct buf out;
  buf_init(&out);
  ck_assert_int_eq(meta_snapshot_write(image, &opts_small, &out), 0);

  /* Its structure: a header batch at offset 0, data batches, a footer
   * batch; offsets without gaps, the snapshot's epoch on every batch. */
  size_t pos = 0;
  int64_t next = 0;
  int batches = 0;
  struct meta_delta d;
  meta_delta_init(&d);
  struct meta_controls controls;
  meta_controls_init(&controls);
  while (pos < out.len) {
    struct meta_batch b;
    ck_assert_int_eq(meta_batch_read(out.data + pos, out.len - pos, &b, &d, &controls), 0);
    ck_assert_int_eq(b.h.base_offset, next);
    ck_assert_int_eq(b.h.leader_epoch, 6);
    ck_assert_int_eq(b.h.max_timestamp, 1700000000000);
    ck_assert_int_eq(b.control, pos == 0 || pos + b.size == out.len);
    next = rb_header_last_offset(&b.h) + 1;
    pos += b.size;
    batches++;
  }
  ck_assert_int_gt(batches, 4); /* 200-byte batches: several */
  ck_assert_int_eq(controls.count, 2);
  ck_assert_int_eq(controls.items[0].type, META_CONTROL_SNAPSHOT_HEADER);
  ck_assert_int_eq(controls.items[0].offset, 0);
  ck_assert_int_eq(controls.items[0].last_contained_log_timestamp, 1699999990000);
  ck_assert_int_eq(controls.items[1].type, META_CONTROL_SNAPSHOT_FOOTER);
  ck_assert_int_eq(controls.items[1].offset, next - 1);
  /* Kafka's order: metadata.version first, then the other features,
   * brokers, topics with their partitions, configs, producer ids. */
  ck_assert_int_eq(d.records[0].type, META_FEATURE_LEVEL_RECORD);
  ck_assert_str_eq(d.records[0].feature_level.name, "metadata.version");
  ck_assert_str_eq(d.records[1].feature_level.name, "kraft.version");
  ck_assert_int_eq(d.records[2].type, META_REGISTER_BROKER_RECORD);
  ck_assert_int_eq(d.records[6].type, META_TOPIC_RECORD);
  ck_assert_int_eq(d.records[d.count - 1].type, META_PRODUCER_IDS_RECORD);
  ck_assert_int_eq(d.records[d.count - 2].type, META_CONFIG_RECORD);
  ck_assert_int_eq(d.count, 2 + 4 + 3 + 11 + 3 + 1);
  meta_controls_free(&controls);
  meta_delta_free(&d);

  struct meta_image *back = NULL;
  struct meta_snapshot_info info;
  ck_assert_int_eq(meta_snapshot_read(out.data, out.len, id, "cluster-x", &back, &info), 0);
  ck_assert_int_eq(info.batch_count, batches);
  ck_assert_int_eq(info.record_count, 24);
  ck_assert_int_eq(info.last_contained_log_timestamp, 1699999990000);
  assert_images_equal(image, back);

  /* Written again from the image read back: the same bytes. */
  struct buf again;
  buf_init(&again);
  ck_assert_int_eq(meta_snapshot_write(back, &opts_small, &again), 0);
  ck_assert_uint_eq(again.len, out.len);
  ck_assert_mem_eq(again.data, out.data, out.len);
  buf_free(&again);
  meta_image_unref(back);

  /* The default batch size: one data batch. */
  struct meta_snapshot_opts opts = opts_small;
  opts.batch_bytes = 0;
  buf_reset(&out);
  ck_assert_int_eq(meta_snapshot_write(image, &opts, &out), 0);
  ck_assert_int_eq(meta_snapshot_read(out.data, out.len, id, "cluster-x", &back, &info), 0);
  ck_assert_int_eq(info.batch_count, 3);
  assert_images_equal(image, back);
  meta_image_unref(back);
  buf_free(&out);
  meta_image_unref(image);
}
END_TEST

START_TEST(snapshot_of_empty_image) {
  struct meta_image *image = meta_image_empty("c0");
  struct buf out;
  buf_init(&out);
  ck_assert_int_eq(meta_snapshot_write(image, &opts_small, &out), 0);
  struct meta_image *back = NULL;
  struct meta_snapshot_id id = meta_snapshot_id_of(image, 0);
  ck_assert_int_eq(id.end_offset, 0);
  ck_assert_int_eq(meta_snapshot_read(out.data, out.len, id, "c0", &back, NULL), 0);
  assert_images_equal(image, back);
  meta_image_unref(back);
  meta_image_unref(image);
  buf_free(&out);
}
END_TEST

START_TEST(snapshot_damage_refused) {
  struct meta_image *image = rich_image();
  struct meta_snapshot_id id = meta_snapshot_id_of(image, 6);
  struct buf out;
  buf_init(&out);
  ck_assert_int_eq(meta_snapshot_write(image, &opts_small, &out), 0);
  struct meta_image *back = NULL;
  /* Every prefix: a torn batch, or whole batches without the footer. */
  for (size_t len = 0; len < out.len; len++) {
    int rc = meta_snapshot_read(out.data, len, id, "cluster-x", &back, NULL);
    ck_assert_msg(rc == META_CODEC_ECORRUPT || rc == META_CODEC_ESNAPSHOT, "prefix %zu: %d",
                  len, rc);
  }
  /* Bytes after the footer. */
  struct buf more;
  buf_init(&more);
  buf_append(&more, out.data, out.len);
  buf_append(&more, out.data, 80);
  ck_assert_int_eq(meta_snapshot_read(more.data, more.len, id, "cluster-x", &back, NULL),
                   META_CODEC_ESNAPSHOT);
  /* No header: the data batches alone, then the footer. */
  struct meta_batch first;
  struct meta_controls controls;
  meta_controls_init(&controls);
  ck_assert_int_eq(meta_batch_read(out.data, out.len, &first, NULL, &controls), 0);
  meta_controls_free(&controls);
  ck_assert_int_eq(meta_snapshot_read(out.data + first.size, out.len - first.size, id,
                                      "cluster-x", &back, NULL),
                   META_CODEC_ESNAPSHOT);
  /* A leader change inside a snapshot. */
  buf_reset(&more);
  struct meta_leader_change lc = {.leader_id = 1};
  buf_append(&more, out.data, first.size);
  ck_assert_int_eq(meta_leader_change_write(&more, 1, 6, 0, &lc), 0);
  ck_assert_int_eq(meta_snapshot_read(more.data, more.len, id, "cluster-x", &back, NULL),
                   META_CODEC_ESNAPSHOT);
  /* A corrupted byte in a data batch. */
  out.data[first.size + 40] ^= 1;
  ck_assert_int_eq(meta_snapshot_read(out.data, out.len, id, "cluster-x", &back, NULL),
                   META_CODEC_ECRC);
  /* Records that do not rebuild an image: a partition of no topic. */
  buf_reset(&more);
  struct meta_snapshot_opts o = opts_small;
  struct meta_control_record c;
  memset(&c, 0, sizeof c);
  c.type = META_CONTROL_SNAPSHOT_HEADER;
  ck_assert_int_eq(meta_control_batch_write(&more, 0, 6, 0, &c, 1), 0);
  struct meta_record r;
  sample_record(&r, META_PARTITION_RECORD, 2, 0, 1);
  ck_assert_int_eq(meta_batch_write(&more, 1, o.epoch, 0, &r, 1), 0);
  c.type = META_CONTROL_SNAPSHOT_FOOTER;
  c.offset = 2;
  ck_assert_int_eq(meta_control_batch_write(&more, 2, 6, 0, &c, 1), 0);
  ck_assert_int_eq(meta_snapshot_read(more.data, more.len, id, "cluster-x", &back, NULL),
                   ENV_ENOENT);
  buf_free(&more);
  buf_free(&out);
  meta_image_unref(image);
}
END_TEST

START_TEST(snapshot_names) {
  char name[META_SNAPSHOT_NAME_BYTES];
  meta_snapshot_name((struct meta_snapshot_id){42, 7}, name, sizeof name);
  ck_assert_str_eq(name, "00000000000000000042-0000000007.checkpoint");
  struct meta_snapshot_id id;
  ck_assert(meta_snapshot_parse_name(name, &id));
  ck_assert_int_eq(id.end_offset, 42);
  ck_assert_int_eq(id.epoch, 7);
  meta_snapshot_name((struct meta_snapshot_id){INT64_MAX, INT32_MAX}, name, sizeof name);
  ck_assert_str_eq(name, "09223372036854775807-2147483647.checkpoint");
  ck_assert(meta_snapshot_parse_name(name, &id));
  ck_assert_int_eq(id.end_offset, INT64_MAX);
  ck_assert_int_eq(id.epoch, INT32_MAX);
  ck_assert(!meta_snapshot_parse_name("00000000000000000042-0000000007.checkpoint.part", &id));
  ck_assert(!meta_snapshot_parse_name("00000000000000000042-0000000007.log", &id));
  ck_assert(!meta_snapshot_parse_name("0000000000000000042-0000000007.checkpoint", &id));
  ck_assert(!meta_snapshot_parse_name("00000000000000000042-2147483648.checkpoint", &id));
  ck_assert(!meta_snapshot_parse_name("99999999999999999999-0000000007.checkpoint", &id));
  ck_assert(!meta_snapshot_parse_name("0000000000000000004x-0000000007.checkpoint", &id));
  ck_assert(!meta_snapshot_parse_name("00000000000000000042_0000000007.checkpoint", &id));
  ck_assert(!meta_snapshot_parse_name("", &id));
}
END_TEST

/* ---- on the simulated disk ---- */

static void saved(void *ctx, int err) {
  ck_assert_int_eq(err, 0);
  *(int *)ctx += 1;
}

static void count_names(void *ctx, const char *name, bool is_dir) {
  ck_assert(!is_dir);
  struct meta_snapshot_id id;
  ck_assert_msg(meta_snapshot_parse_name(name, &id), "%s", name);
  *(int *)ctx += 1;
}

START_TEST(snapshot_save_and_load) {
  struct sim_world *w = sim_world_create(3);
  struct env *env = sim_node_env(sim_node_add(w, 1, "n1"));
  ck_assert_int_eq(env->mkdir(env, "/meta"), 0);
  struct meta_image *image = rich_image();
  int done = 0;
  ck_assert_int_eq(meta_snapshot_save(env, "/meta", image, &opts_small, saved, &done), 0);
  for (int i = 0; i < 10000 && done == 0 && sim_step(w); i++) {
  }
  ck_assert_int_eq(done, 1);
  int files = 0;
  ck_assert_int_eq(env->list(env, "/meta", count_names, &files), 0);
  ck_assert_int_eq(files, 1); /* the snapshot, and no temporary file */
  struct meta_image *back = NULL;
  struct meta_snapshot_id id = meta_snapshot_id_of(image, opts_small.epoch);
  ck_assert_int_eq(meta_snapshot_load(env, "/meta", id, "cluster-x", &back, NULL), 0);
  assert_images_equal(image, back);
  meta_image_unref(back);
  id.epoch++;
  ck_assert_int_eq(meta_snapshot_load(env, "/meta", id, "cluster-x", &back, NULL), ENV_ENOENT);
  meta_image_unref(image);
  sim_world_destroy(w);
}
END_TEST

static Suite *meta_codec_suite(void) {
  Suite *s = suite_create("meta_codec");
  TCase *gen = tcase_create("generated");
  tcase_add_loop_test(gen, generated_roundtrip_every_version, 0,
                      (int)ARRAY_LEN(metadata_cases));
  tcase_add_test(gen, generated_table_matches_schemas);
  tcase_add_test(gen, generated_unknown_tag_skipped);
  suite_add_tcase(s, gen);
  TCase *rec = tcase_create("records");
  tcase_add_loop_test(rec, record_roundtrip_every_type_and_version, 0,
                      (int)ARRAY_LEN(all_types));
  tcase_add_test(rec, golden_topic_record);
  tcase_add_test(rec, golden_partition_record);
  tcase_add_test(rec, golden_partition_change_record_tags);
  tcase_add_test(rec, unknown_keys_versions_frames);
  tcase_add_test(rec, limits_refused);
  suite_add_tcase(s, rec);
  TCase *batch = tcase_create("batches");
  tcase_add_test(batch, batch_roundtrip);
  tcase_add_test(batch, batch_with_bad_record);
  tcase_add_test(batch, leader_change_batch);
  tcase_add_test(batch, control_records_roundtrip);
  tcase_add_test(batch, unknown_control_records);
  suite_add_tcase(s, batch);
  TCase *snap = tcase_create("snapshots");
  tcase_set_timeout(snap, 60);
  tcase_add_test(snap, snapshot_roundtrip);
  tcase_add_test(snap, snapshot_of_empty_image);
  tcase_add_test(snap, snapshot_damage_refused);
  tcase_add_test(snap, snapshot_names);
  tcase_add_test(snap, snapshot_save_and_load);
  suite_add_tcase(s, snap);
  return s;
}

TEST_MAIN(meta_codec_suite)
