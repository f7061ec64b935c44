/* The metadata log's records and batches (codec.h): meta_record <-> the
 * generated KRaft record structs (proto/metadata_gen.h) <-> bytes. */
#include "meta/codec.h"

#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/assert.h"
#include "proto/errors.h"
#include "proto/metadata_gen.h"

/* Where an empty input points, so no reader starts at NULL. */
static const uint8_t nothing[1];

enum {
  FRAME_VERSION = 1,       /* the one Kafka writes and reads */
  CONTROL_KEY_VERSION = 0, /* the control key's own version */
  CONTROL_KEY_BYTES = 4,
  CONTROL_WRITE_VERSION = 0, /* Kafka 3.9 writes every control record at v0 */
  CONTROLS_MAX = 1 << 20,
};

const char *meta_codec_strerror(int err) {
  switch (err) {
  case META_CODEC_OK:
    return "META_CODEC_OK";
  case META_CODEC_ECORRUPT:
    return "META_CODEC_ECORRUPT";
  case META_CODEC_EFRAME:
    return "META_CODEC_EFRAME";
  case META_CODEC_EKEY:
    return "META_CODEC_EKEY";
  case META_CODEC_EVERSION:
    return "META_CODEC_EVERSION";
  case META_CODEC_EUNSUPPORTED:
    return "META_CODEC_EUNSUPPORTED";
  case META_CODEC_ELIMIT:
    return "META_CODEC_ELIMIT";
  case META_CODEC_ECRC:
    return "META_CODEC_ECRC";
  case META_CODEC_EBATCH:
    return "META_CODEC_EBATCH";
  case META_CODEC_ESNAPSHOT:
    return "META_CODEC_ESNAPSHOT";
  }
  return "?";
}

/* ---- fields in and out ---- */

/* A NUL-terminated array as a wire string (never null). */
static struct kstr str_out(const char *s, size_t cap) {
  size_t n = strnlen(s, cap);
  ASSERT(n < cap); /* a meta_record's strings are terminated */
  return (struct kstr){s, (int32_t)n};
}
#define STR_OUT(array) str_out((array), sizeof(array))

/* The first error wins. */
static void keep(int *rc, int err) {
  if (*rc == 0) *rc = err;
}

/* A wire string into a NUL-terminated array; null becomes "". One that does
 * not fit, or holds a NUL, is past what a meta_record can say. */
static int str_in(char *dst, size_t cap, struct kstr s) {
  ASSERT(cap > 0);
  dst[0] = '\0';
  if (s.len < 0) return 0;
  if ((size_t)s.len >= cap) return META_CODEC_ELIMIT;
  if (s.len == 0) return 0;
  if (memchr(s.ptr, '\0', (size_t)s.len)) return META_CODEC_ELIMIT;
  memcpy(dst, s.ptr, (size_t)s.len);
  dst[s.len] = '\0';
  return 0;
}
#define STR_IN(array, s) str_in((array), sizeof(array), (s))

/* A wire int32 array into a replica list; -1 (null) stays -1. */
static int ints_in(int32_t *dst, int32_t *count, const int32_t *src, int32_t n) {
  ASSERT(n >= -1);
  if (n > META_REPLICAS_MAX) return META_CODEC_ELIMIT;
  *count = n;
  if (n > 0) memcpy(dst, src, (size_t)n * sizeof *dst);
  return 0;
}

static void ints_check(int32_t count, bool nullable) {
  ASSERT(count >= (nullable ? -1 : 0) && count <= META_REPLICAS_MAX);
}

static bool ints_eq(int32_t count_a, const int32_t *a, int32_t count_b, const int32_t *b) {
  if (count_a != count_b) return false;
  return count_a <= 0 || memcmp(a, b, (size_t)count_a * sizeof *a) == 0;
}

static bool str_eq(const char *a, const char *b, size_t cap) { return strncmp(a, b, cap) == 0; }
#define STR_EQ(x, y, field) str_eq((x)->field, (y)->field, sizeof((x)->field))

static bool uuid_eq(struct kuuid a, struct kuuid b) {
  return memcmp(a.b, b.b, sizeof a.b) == 0;
}

/* ---- metadata records: encoding ---- */

int16_t meta_record_write_version(enum meta_record_type type) {
  switch (type) {
  case META_REGISTER_BROKER_RECORD:
    return REGISTER_BROKER_RECORD_VERSION_MAX;
  case META_UNREGISTER_BROKER_RECORD:
    return UNREGISTER_BROKER_RECORD_VERSION_MAX;
  case META_TOPIC_RECORD:
    return TOPIC_RECORD_VERSION_MAX;
  case META_PARTITION_RECORD:
    return PARTITION_RECORD_VERSION_MAX;
  case META_CONFIG_RECORD:
    return CONFIG_RECORD_VERSION_MAX;
  case META_PARTITION_CHANGE_RECORD:
    return PARTITION_CHANGE_RECORD_VERSION_MAX;
  case META_FENCE_BROKER_RECORD:
    return FENCE_BROKER_RECORD_VERSION_MAX;
  case META_UNFENCE_BROKER_RECORD:
    return UNFENCE_BROKER_RECORD_VERSION_MAX;
  case META_REMOVE_TOPIC_RECORD:
    return REMOVE_TOPIC_RECORD_VERSION_MAX;
  case META_FEATURE_LEVEL_RECORD:
    return FEATURE_LEVEL_RECORD_VERSION_MAX;
  case META_PRODUCER_IDS_RECORD:
    return PRODUCER_IDS_RECORD_VERSION_MAX;
  case META_BROKER_REGISTRATION_CHANGE_RECORD:
    return BROKER_REGISTRATION_CHANGE_RECORD_VERSION_MAX;
  case META_NO_OP_RECORD:
    return NO_OP_RECORD_VERSION_MAX;
  case META_BEGIN_TRANSACTION_RECORD:
    return BEGIN_TRANSACTION_RECORD_VERSION_MAX;
  case META_END_TRANSACTION_RECORD:
    return END_TRANSACTION_RECORD_VERSION_MAX;
  case META_ABORT_TRANSACTION_RECORD:
    return ABORT_TRANSACTION_RECORD_VERSION_MAX;
  }
  UNREACHABLE();
}

static void encode_register_broker(struct wr *w, int16_t v,
                                   const struct meta_register_broker_record *b) {
  struct register_broker_record_broker_endpoint ep;
  register_broker_record_broker_endpoint_init(&ep);
  ep.name = STR_OUT(b->listener);
  ep.host = STR_OUT(b->host);
  ep.port = b->port;
  ep.security_protocol = b->security_protocol;
  struct register_broker_record m;
  register_broker_record_init(&m);
  m.broker_id = b->broker_id;
  m.incarnation_id = b->incarnation_id;
  m.broker_epoch = b->broker_epoch;
  m.end_points = &ep;
  m.end_points_count = 1;
  m.rack = b->rack[0] ? STR_OUT(b->rack) : KSTR_NULL;
  m.fenced = b->fenced;
  m.in_controlled_shutdown = b->in_controlled_shutdown;
  register_broker_record_encode(w, v, &m);
}

static void encode_partition(struct wr *w, int16_t v, const struct meta_partition_record *p) {
  ints_check(p->replica_count, false);
  ints_check(p->isr_count, false);
  ints_check(p->removing_count, false);
  ints_check(p->adding_count, false);
  int32_t replicas[META_REPLICAS_MAX], isr[META_REPLICAS_MAX];
  int32_t removing[META_REPLICAS_MAX], adding[META_REPLICAS_MAX];
  memcpy(replicas, p->replicas, sizeof replicas);
  memcpy(isr, p->isr, sizeof isr);
  memcpy(removing, p->removing, sizeof removing);
  memcpy(adding, p->adding, sizeof adding);
  struct partition_record m;
  partition_record_init(&m);
  m.removing_replicas = removing;
  m.removing_replicas_count = p->removing_count;
  m.adding_replicas = adding;
  m.adding_replicas_count = p->adding_count;
  m.partition_id = p->partition_id;
  m.topic_id = p->topic_id;
  m.replicas = replicas;
  m.replicas_count = p->replica_count;
  m.isr = isr;
  m.isr_count = p->isr_count;
  m.leader = p->leader;
  m.leader_epoch = p->leader_epoch;
  m.partition_epoch = p->partition_epoch;
  ints_check(p->elr_count, false);
  ints_check(p->last_known_elr_count, false);
  int32_t elr[META_REPLICAS_MAX], last_known[META_REPLICAS_MAX];
  memcpy(elr, p->elr, sizeof elr);
  memcpy(last_known, p->last_known_elr, sizeof last_known);
  if (p->elr_count > 0) { /* KIP-966's tagged fields: null when empty */
    m.eligible_leader_replicas = elr;
    m.eligible_leader_replicas_count = p->elr_count;
  }
  if (p->last_known_elr_count > 0) {
    m.last_known_elr = last_known;
    m.last_known_elr_count = p->last_known_elr_count;
  }
  partition_record_encode(w, v, &m);
}

static void encode_partition_change(struct wr *w, int16_t v,
                                    const struct meta_partition_change_record *c) {
  ints_check(c->replica_count, true);
  ints_check(c->isr_count, true);
  int32_t replicas[META_REPLICAS_MAX], isr[META_REPLICAS_MAX];
  int32_t removing[META_REPLICAS_MAX], adding[META_REPLICAS_MAX];
  memcpy(replicas, c->replicas, sizeof replicas);
  memcpy(isr, c->isr, sizeof isr);
  memcpy(removing, c->removing, sizeof removing);
  memcpy(adding, c->adding, sizeof adding);
  struct partition_change_record m;
  partition_change_record_init(&m);
  if (c->reassignment_set) { /* KIP-455's tagged fields, null otherwise */
    ints_check(c->removing_count, false);
    ints_check(c->adding_count, false);
    m.removing_replicas = removing;
    m.removing_replicas_count = c->removing_count;
    m.adding_replicas = adding;
    m.adding_replicas_count = c->adding_count;
  }
  m.partition_id = c->partition_id;
  m.topic_id = c->topic_id;
  m.leader = c->leader;
  m.isr = isr;
  m.isr_count = c->isr_count;
  m.replicas = replicas;
  m.replicas_count = c->replica_count;
  int32_t elr[META_REPLICAS_MAX], last_known[META_REPLICAS_MAX];
  memcpy(elr, c->elr, sizeof elr);
  memcpy(last_known, c->last_known_elr, sizeof last_known);
  if (c->elr_set) { /* KIP-966's tagged fields, null otherwise */
    ints_check(c->elr_count, false);
    ints_check(c->last_known_elr_count, false);
    m.eligible_leader_replicas = elr;
    m.eligible_leader_replicas_count = c->elr_count;
    m.last_known_elr = last_known;
    m.last_known_elr_count = c->last_known_elr_count;
  }
  partition_change_record_encode(w, v, &m);
}

static void encode_body(struct wr *w, int16_t v, const struct meta_record *r) {
  switch (r->type) {
  case META_REGISTER_BROKER_RECORD:
    encode_register_broker(w, v, &r->register_broker);
    return;
  case META_UNREGISTER_BROKER_RECORD: {
    struct unregister_broker_record m;
    unregister_broker_record_init(&m);
    m.broker_id = r->unregister_broker.broker_id;
    m.broker_epoch = r->unregister_broker.broker_epoch;
    unregister_broker_record_encode(w, v, &m);
    return;
  }
  case META_TOPIC_RECORD: {
    struct topic_record m;
    topic_record_init(&m);
    m.name = STR_OUT(r->topic.name);
    m.topic_id = r->topic.topic_id;
    topic_record_encode(w, v, &m);
    return;
  }
  case META_PARTITION_RECORD:
    encode_partition(w, v, &r->partition);
    return;
  case META_CONFIG_RECORD: {
    struct config_record m;
    config_record_init(&m);
    m.resource_type = r->config.resource_type;
    m.resource_name = STR_OUT(r->config.resource_name);
    m.name = STR_OUT(r->config.name);
    m.value = r->config.value_null ? KSTR_NULL : STR_OUT(r->config.value);
    config_record_encode(w, v, &m);
    return;
  }
  case META_PARTITION_CHANGE_RECORD:
    encode_partition_change(w, v, &r->partition_change);
    return;
  case META_FENCE_BROKER_RECORD: {
    struct fence_broker_record m;
    fence_broker_record_init(&m);
    m.id = r->fence_broker.broker_id;
    m.epoch = r->fence_broker.broker_epoch;
    fence_broker_record_encode(w, v, &m);
    return;
  }
  case META_UNFENCE_BROKER_RECORD: {
    struct unfence_broker_record m;
    unfence_broker_record_init(&m);
    m.id = r->unfence_broker.broker_id;
    m.epoch = r->unfence_broker.broker_epoch;
    unfence_broker_record_encode(w, v, &m);
    return;
  }
  case META_REMOVE_TOPIC_RECORD: {
    struct remove_topic_record m;
    remove_topic_record_init(&m);
    m.topic_id = r->remove_topic.topic_id;
    remove_topic_record_encode(w, v, &m);
    return;
  }
  case META_FEATURE_LEVEL_RECORD: {
    struct feature_level_record m;
    feature_level_record_init(&m);
    m.name = STR_OUT(r->feature_level.name);
    m.feature_level = r->feature_level.feature_level;
    feature_level_record_encode(w, v, &m);
    return;
  }
  case META_PRODUCER_IDS_RECORD: {
    struct producer_ids_record m;
    producer_ids_record_init(&m);
    m.broker_id = r->producer_ids.broker_id;
    m.broker_epoch = r->producer_ids.broker_epoch;
    m.next_producer_id = r->producer_ids.next_producer_id;
    producer_ids_record_encode(w, v, &m);
    return;
  }
  case META_BROKER_REGISTRATION_CHANGE_RECORD: {
    const struct meta_broker_registration_change_record *c = &r->broker_registration_change;
    struct broker_registration_change_record m;
    broker_registration_change_record_init(&m);
    m.broker_id = c->broker_id;
    m.broker_epoch = c->broker_epoch;
    m.fenced = c->fenced;
    m.in_controlled_shutdown = c->in_controlled_shutdown;
    broker_registration_change_record_encode(w, v, &m);
    return;
  }
  case META_NO_OP_RECORD: {
    struct no_op_record m;
    no_op_record_init(&m);
    no_op_record_encode(w, v, &m);
    return;
  }
  case META_BEGIN_TRANSACTION_RECORD: {
    struct begin_transaction_record m;
    begin_transaction_record_init(&m); /* the name stays null */
    begin_transaction_record_encode(w, v, &m);
    return;
  }
  case META_END_TRANSACTION_RECORD: {
    struct end_transaction_record m;
    end_transaction_record_init(&m);
    end_transaction_record_encode(w, v, &m);
    return;
  }
  case META_ABORT_TRANSACTION_RECORD: {
    struct abort_transaction_record m;
    abort_transaction_record_init(&m);
    abort_transaction_record_encode(w, v, &m);
    return;
  }
  }
  UNREACHABLE();
}

void meta_record_encode_version(const struct meta_record *r, int16_t version, struct buf *out) {
  ASSERT(r != NULL && out != NULL);
  const struct metadata_record_info *info = metadata_record_info_get((int32_t)r->type);
  ASSERT(info != NULL);
  ASSERT(version >= info->min_version && version <= info->max_version);
  struct wr w;
  wr_init(&w);
  wr_uvarint(&w, FRAME_VERSION);
  wr_uvarint(&w, (uint32_t)r->type);
  wr_uvarint(&w, (uint32_t)version);
  encode_body(&w, version, r);
  ASSERT(w.splice_count == 0);
  buf_append(out, w.mem.data, w.mem.len);
  wr_free(&w);
}

void meta_record_encode(const struct meta_record *r, struct buf *out) {
  meta_record_encode_version(r, meta_record_write_version(r->type), out);
}

/* ---- metadata records: decoding ---- */

static int decode_register_broker(struct rd *r, int16_t v, struct arena *a,
                                  struct meta_register_broker_record *b) {
  struct register_broker_record m;
  if (!register_broker_record_decode(r, v, &m, a)) return META_CODEC_ECORRUPT;
  int rc = 0;
  b->broker_id = m.broker_id;
  b->incarnation_id = m.incarnation_id;
  b->broker_epoch = m.broker_epoch;
  if (m.end_points_count > 0) { /* the first: a meta_record holds one */
    const struct register_broker_record_broker_endpoint *ep = &m.end_points[0];
    keep(&rc, STR_IN(b->listener, ep->name));
    keep(&rc, STR_IN(b->host, ep->host));
    b->port = ep->port;
    b->security_protocol = ep->security_protocol;
  }
  keep(&rc, STR_IN(b->rack, m.rack));
  b->fenced = m.fenced;
  b->in_controlled_shutdown = m.in_controlled_shutdown;
  return rc;
}

static int decode_partition(struct rd *r, int16_t v, struct arena *a,
                            struct meta_partition_record *p) {
  struct partition_record m;
  if (!partition_record_decode(r, v, &m, a)) return META_CODEC_ECORRUPT;
  int rc = 0;
  p->partition_id = m.partition_id;
  p->topic_id = m.topic_id;
  keep(&rc, ints_in(p->replicas, &p->replica_count, m.replicas, m.replicas_count));
  keep(&rc, ints_in(p->isr, &p->isr_count, m.isr, m.isr_count));
  keep(&rc, ints_in(p->removing, &p->removing_count, m.removing_replicas,
                    m.removing_replicas_count));
  keep(&rc, ints_in(p->adding, &p->adding_count, m.adding_replicas, m.adding_replicas_count));
  p->leader = m.leader;
  p->leader_epoch = m.leader_epoch;
  p->partition_epoch = m.partition_epoch;
  keep(&rc,
       ints_in(p->elr, &p->elr_count, m.eligible_leader_replicas,
               m.eligible_leader_replicas_count < 0 ? 0 : m.eligible_leader_replicas_count));
  keep(&rc, ints_in(p->last_known_elr, &p->last_known_elr_count, m.last_known_elr,
                    m.last_known_elr_count < 0 ? 0 : m.last_known_elr_count));
  return rc;
}

static int decode_partition_change(struct rd *r, int16_t v, struct arena *a,
                                   struct meta_partition_change_record *c) {
  struct partition_change_record m;
  if (!partition_change_record_decode(r, v, &m, a)) return META_CODEC_ECORRUPT;
  int rc = 0;
  c->partition_id = m.partition_id;
  c->topic_id = m.topic_id;
  c->leader = m.leader;
  keep(&rc, ints_in(c->isr, &c->isr_count, m.isr, m.isr_count));
  keep(&rc, ints_in(c->replicas, &c->replica_count, m.replicas, m.replicas_count));
  c->reassignment_set = m.removing_replicas_count >= 0 || m.adding_replicas_count >= 0;
  if (c->reassignment_set) { /* one null of the two: empty */
    keep(&rc, ints_in(c->removing, &c->removing_count, m.removing_replicas,
                      m.removing_replicas_count < 0 ? 0 : m.removing_replicas_count));
    keep(&rc, ints_in(c->adding, &c->adding_count, m.adding_replicas,
                      m.adding_replicas_count < 0 ? 0 : m.adding_replicas_count));
  }
  c->elr_set = m.eligible_leader_replicas_count >= 0 || m.last_known_elr_count >= 0;
  if (c->elr_set) { /* one null of the two: empty */
    keep(&rc,
         ints_in(c->elr, &c->elr_count, m.eligible_leader_replicas,
                 m.eligible_leader_replicas_count < 0 ? 0 : m.eligible_leader_replicas_count));
    keep(&rc, ints_in(c->last_known_elr, &c->last_known_elr_count, m.last_known_elr,
                      m.last_known_elr_count < 0 ? 0 : m.last_known_elr_count));
  }
  return rc;
}

/* The body of record `key` (a known schema, version in range) into out. */
static int decode_body(struct rd *r, uint32_t key, int16_t v, struct arena *a,
                       struct meta_record *out) {
  int rc = 0;
  switch (key) {
  case METADATA_KEY_REGISTER_BROKER_RECORD:
    out->type = META_REGISTER_BROKER_RECORD;
    return decode_register_broker(r, v, a, &out->register_broker);
  case METADATA_KEY_UNREGISTER_BROKER_RECORD: {
    struct unregister_broker_record m;
    if (!unregister_broker_record_decode(r, v, &m, a)) return META_CODEC_ECORRUPT;
    out->type = META_UNREGISTER_BROKER_RECORD;
    out->unregister_broker.broker_id = m.broker_id;
    out->unregister_broker.broker_epoch = m.broker_epoch;
    return 0;
  }
  case METADATA_KEY_TOPIC_RECORD: {
    struct topic_record m;
    if (!topic_record_decode(r, v, &m, a)) return META_CODEC_ECORRUPT;
    out->type = META_TOPIC_RECORD;
    out->topic.topic_id = m.topic_id;
    return STR_IN(out->topic.name, m.name);
  }
  case METADATA_KEY_PARTITION_RECORD:
    out->type = META_PARTITION_RECORD;
    return decode_partition(r, v, a, &out->partition);
  case METADATA_KEY_CONFIG_RECORD: {
    struct config_record m;
    if (!config_record_decode(r, v, &m, a)) return META_CODEC_ECORRUPT;
    out->type = META_CONFIG_RECORD;
    out->config.resource_type = m.resource_type;
    keep(&rc, STR_IN(out->config.resource_name, m.resource_name));
    keep(&rc, STR_IN(out->config.name, m.name));
    keep(&rc, STR_IN(out->config.value, m.value));
    out->config.value_null = m.value.len < 0;
    return rc;
  }
  case METADATA_KEY_PARTITION_CHANGE_RECORD:
    out->type = META_PARTITION_CHANGE_RECORD;
    return decode_partition_change(r, v, a, &out->partition_change);
  case METADATA_KEY_FENCE_BROKER_RECORD: {
    struct fence_broker_record m;
    if (!fence_broker_record_decode(r, v, &m, a)) return META_CODEC_ECORRUPT;
    out->type = META_FENCE_BROKER_RECORD;
    out->fence_broker.broker_id = m.id;
    out->fence_broker.broker_epoch = m.epoch;
    return 0;
  }
  case METADATA_KEY_UNFENCE_BROKER_RECORD: {
    struct unfence_broker_record m;
    if (!unfence_broker_record_decode(r, v, &m, a)) return META_CODEC_ECORRUPT;
    out->type = META_UNFENCE_BROKER_RECORD;
    out->unfence_broker.broker_id = m.id;
    out->unfence_broker.broker_epoch = m.epoch;
    return 0;
  }
  case METADATA_KEY_REMOVE_TOPIC_RECORD: {
    struct remove_topic_record m;
    if (!remove_topic_record_decode(r, v, &m, a)) return META_CODEC_ECORRUPT;
    out->type = META_REMOVE_TOPIC_RECORD;
    out->remove_topic.topic_id = m.topic_id;
    return 0;
  }
  case METADATA_KEY_FEATURE_LEVEL_RECORD: {
    struct feature_level_record m;
    if (!feature_level_record_decode(r, v, &m, a)) return META_CODEC_ECORRUPT;
    out->type = META_FEATURE_LEVEL_RECORD;
    out->feature_level.feature_level = m.feature_level;
    return STR_IN(out->feature_level.name, m.name);
  }
  case METADATA_KEY_PRODUCER_IDS_RECORD: {
    struct producer_ids_record m;
    if (!producer_ids_record_decode(r, v, &m, a)) return META_CODEC_ECORRUPT;
    out->type = META_PRODUCER_IDS_RECORD;
    out->producer_ids.broker_id = m.broker_id;
    out->producer_ids.broker_epoch = m.broker_epoch;
    out->producer_ids.next_producer_id = m.next_producer_id;
    return 0;
  }
  case METADATA_KEY_BROKER_REGISTRATION_CHANGE_RECORD: {
    struct broker_registration_change_record m;
    if (!broker_registration_change_record_decode(r, v, &m, a)) return META_CODEC_ECORRUPT;
    out->type = META_BROKER_REGISTRATION_CHANGE_RECORD;
    out->broker_registration_change.broker_id = m.broker_id;
    out->broker_registration_change.broker_epoch = m.broker_epoch;
    out->broker_registration_change.fenced = m.fenced;
    out->broker_registration_change.in_controlled_shutdown = m.in_controlled_shutdown;
    return 0;
  }
  case METADATA_KEY_NO_OP_RECORD: {
    struct no_op_record m;
    if (!no_op_record_decode(r, v, &m, a)) return META_CODEC_ECORRUPT;
    out->type = META_NO_OP_RECORD;
    return 0;
  }
  case METADATA_KEY_BEGIN_TRANSACTION_RECORD: {
    struct begin_transaction_record m;
    if (!begin_transaction_record_decode(r, v, &m, a)) return META_CODEC_ECORRUPT;
    out->type = META_BEGIN_TRANSACTION_RECORD; /* the name is for humans: not kept */
    return 0;
  }
  case METADATA_KEY_END_TRANSACTION_RECORD: {
    struct end_transaction_record m;
    if (!end_transaction_record_decode(r, v, &m, a)) return META_CODEC_ECORRUPT;
    out->type = META_END_TRANSACTION_RECORD;
    return 0;
  }
  case METADATA_KEY_ABORT_TRANSACTION_RECORD: {
    struct abort_transaction_record m;
    if (!abort_transaction_record_decode(r, v, &m, a)) return META_CODEC_ECORRUPT;
    out->type = META_ABORT_TRANSACTION_RECORD;
    return 0;
  }
  }
  /* ACLs, SCRAM credentials, quotas, delegation tokens, ZK
   * migration, controller registrations: Kafka's, not modelled here. */
  return META_CODEC_EUNSUPPORTED;
}

int meta_record_decode(const uint8_t *p, size_t len, int64_t offset, struct meta_record *out) {
  ASSERT(out != NULL && (p != NULL || len == 0));
  memset(out, 0, sizeof *out);
  struct rd r;
  rd_init(&r, len > 0 ? p : nothing, len);
  uint32_t frame = rd_uvarint(&r);
  uint32_t key = rd_uvarint(&r);
  uint32_t version = rd_uvarint(&r);
  if (r.err) return META_CODEC_ECORRUPT;
  if (frame != FRAME_VERSION) return META_CODEC_EFRAME;
  const struct metadata_record_info *info =
      key <= INT16_MAX ? metadata_record_info_get((int32_t)key) : NULL;
  if (!info) return META_CODEC_EKEY;
  if (version < (uint32_t)info->min_version || version > (uint32_t)info->max_version)
    return META_CODEC_EVERSION;
  struct arena a;
  arena_init(&a);
  int rc = decode_body(&r, key, (int16_t)version, &a, out);
  if (rc == 0 && rd_left(&r) != 0) rc = META_CODEC_ECORRUPT; /* one record per value */
  arena_free(&a);
  if (rc != 0) {
    memset(out, 0, sizeof *out);
    return rc;
  }
  out->offset = offset;
  return 0;
}

/* ---- metadata records: equality ---- */

static bool register_broker_eq(const struct meta_register_broker_record *a,
                               const struct meta_register_broker_record *b) {
  return a->broker_id == b->broker_id && uuid_eq(a->incarnation_id, b->incarnation_id) &&
         a->broker_epoch == b->broker_epoch && STR_EQ(a, b, listener) && STR_EQ(a, b, host) &&
         a->port == b->port && a->security_protocol == b->security_protocol &&
         STR_EQ(a, b, rack) && a->fenced == b->fenced &&
         a->in_controlled_shutdown == b->in_controlled_shutdown;
}

static bool partition_eq(const struct meta_partition_record *a,
                         const struct meta_partition_record *b) {
  return a->partition_id == b->partition_id && uuid_eq(a->topic_id, b->topic_id) &&
         ints_eq(a->replica_count, a->replicas, b->replica_count, b->replicas) &&
         ints_eq(a->isr_count, a->isr, b->isr_count, b->isr) && a->leader == b->leader &&
         a->leader_epoch == b->leader_epoch && a->partition_epoch == b->partition_epoch &&
         ints_eq(a->elr_count, a->elr, b->elr_count, b->elr) &&
         ints_eq(a->last_known_elr_count, a->last_known_elr, b->last_known_elr_count,
                 b->last_known_elr);
}

static bool partition_change_eq(const struct meta_partition_change_record *a,
                                const struct meta_partition_change_record *b) {
  return a->partition_id == b->partition_id && uuid_eq(a->topic_id, b->topic_id) &&
         a->leader == b->leader && ints_eq(a->isr_count, a->isr, b->isr_count, b->isr) &&
         ints_eq(a->replica_count, a->replicas, b->replica_count, b->replicas) &&
         a->reassignment_set == b->reassignment_set &&
         (!a->reassignment_set ||
          (ints_eq(a->removing_count, a->removing, b->removing_count, b->removing) &&
           ints_eq(a->adding_count, a->adding, b->adding_count, b->adding))) &&
         a->elr_set == b->elr_set &&
         (!a->elr_set || (ints_eq(a->elr_count, a->elr, b->elr_count, b->elr) &&
                          ints_eq(a->last_known_elr_count, a->last_known_elr,
                                  b->last_known_elr_count, b->last_known_elr)));
}

static bool config_eq(const struct meta_config_record *a, const struct meta_config_record *b) {
  return a->resource_type == b->resource_type && STR_EQ(a, b, resource_name) &&
         STR_EQ(a, b, name) && a->value_null == b->value_null &&
         (a->value_null || STR_EQ(a, b, value));
}

static bool broker_epoch_eq(const struct meta_broker_epoch_record *a,
                            const struct meta_broker_epoch_record *b) {
  return a->broker_id == b->broker_id && a->broker_epoch == b->broker_epoch;
}

bool meta_record_equal(const struct meta_record *a, const struct meta_record *b) {
  ASSERT(a != NULL && b != NULL);
  if (a->type != b->type || a->offset != b->offset) return false;
  switch (a->type) {
  case META_REGISTER_BROKER_RECORD:
    return register_broker_eq(&a->register_broker, &b->register_broker);
  case META_UNREGISTER_BROKER_RECORD:
    return broker_epoch_eq(&a->unregister_broker, &b->unregister_broker);
  case META_TOPIC_RECORD:
    return STR_EQ(&a->topic, &b->topic, name) && uuid_eq(a->topic.topic_id, b->topic.topic_id);
  case META_PARTITION_RECORD:
    return partition_eq(&a->partition, &b->partition);
  case META_CONFIG_RECORD:
    return config_eq(&a->config, &b->config);
  case META_PARTITION_CHANGE_RECORD:
    return partition_change_eq(&a->partition_change, &b->partition_change);
  case META_FENCE_BROKER_RECORD:
    return broker_epoch_eq(&a->fence_broker, &b->fence_broker);
  case META_UNFENCE_BROKER_RECORD:
    return broker_epoch_eq(&a->unfence_broker, &b->unfence_broker);
  case META_REMOVE_TOPIC_RECORD:
    return uuid_eq(a->remove_topic.topic_id, b->remove_topic.topic_id);
  case META_FEATURE_LEVEL_RECORD:
    return STR_EQ(&a->feature_level, &b->feature_level, name) &&
           a->feature_level.feature_level == b->feature_level.feature_level;
  case META_PRODUCER_IDS_RECORD:
    return a->producer_ids.broker_id == b->producer_ids.broker_id &&
           a->producer_ids.broker_epoch == b->producer_ids.broker_epoch &&
           a->producer_ids.next_producer_id == b->producer_ids.next_producer_id;
  case META_BROKER_REGISTRATION_CHANGE_RECORD: {
    const struct meta_broker_registration_change_record *x = &a->broker_registration_change;
    const struct meta_broker_registration_change_record *y = &b->broker_registration_change;
    return x->broker_id == y->broker_id && x->broker_epoch == y->broker_epoch &&
           x->fenced == y->fenced && x->in_controlled_shutdown == y->in_controlled_shutdown;
  }
  case META_NO_OP_RECORD:
  case META_BEGIN_TRANSACTION_RECORD:
  case META_END_TRANSACTION_RECORD:
  case META_ABORT_TRANSACTION_RECORD:
    return true;
  }
  return false;
}

/* ---- control records ---- */

static void voters_out(struct leader_change_message_voter *out, const int32_t *ids,
                       int32_t count) {
  ASSERT(count >= 0 && count <= META_VOTERS_MAX);
  for (int32_t i = 0; i < count; i++) {
    leader_change_message_voter_init(&out[i]);
    out[i].voter_id = ids[i];
  }
}

static void encode_voters(struct wr *w, const struct meta_control_record *c) {
  ASSERT(c->voters.count >= 0 && c->voters.count <= META_VOTERS_MAX);
  struct voters_record_voter voters[META_VOTERS_MAX];
  struct voters_record_endpoint endpoints[META_VOTERS_MAX];
  for (int32_t i = 0; i < c->voters.count; i++) {
    const struct meta_voter *v = &c->voters.voters[i];
    voters_record_endpoint_init(&endpoints[i]);
    endpoints[i].name = STR_OUT(v->listener);
    endpoints[i].host = STR_OUT(v->host);
    endpoints[i].port = v->port;
    voters_record_voter_init(&voters[i]);
    voters[i].voter_id = v->id;
    voters[i].voter_directory_id = v->directory_id;
    voters[i].endpoints = &endpoints[i];
    voters[i].endpoints_count = 1;
    voters[i].kraft_version_feature.min_supported_version = v->kraft_version_min;
    voters[i].kraft_version_feature.max_supported_version = v->kraft_version_max;
  }
  struct voters_record m;
  voters_record_init(&m);
  m.version = CONTROL_WRITE_VERSION;
  m.voters = c->voters.count > 0 ? voters : NULL;
  m.voters_count = c->voters.count;
  voters_record_encode(w, CONTROL_WRITE_VERSION, &m);
}

/* The control key and value of c. */
static void control_encode(const struct meta_control_record *c, struct wr *key,
                           struct wr *value) {
  wr_i16(key, CONTROL_KEY_VERSION);
  wr_i16(key, (int16_t)c->type);
  const int16_t v = CONTROL_WRITE_VERSION;
  switch (c->type) {
  case META_CONTROL_LEADER_CHANGE: {
    const struct meta_leader_change *lc = &c->leader_change;
    struct leader_change_message_voter voters[META_VOTERS_MAX], granting[META_VOTERS_MAX];
    voters_out(voters, lc->voters, lc->voter_count);
    voters_out(granting, lc->granting_voters, lc->granting_count);
    struct leader_change_message m;
    leader_change_message_init(&m);
    m.version = v;
    m.leader_id = lc->leader_id;
    m.voters = lc->voter_count > 0 ? voters : NULL;
    m.voters_count = lc->voter_count;
    m.granting_voters = lc->granting_count > 0 ? granting : NULL;
    m.granting_voters_count = lc->granting_count;
    leader_change_message_encode(value, v, &m);
    return;
  }
  case META_CONTROL_SNAPSHOT_HEADER: {
    struct snapshot_header_record m;
    snapshot_header_record_init(&m);
    m.version = v;
    m.last_contained_log_timestamp = c->last_contained_log_timestamp;
    snapshot_header_record_encode(value, v, &m);
    return;
  }
  case META_CONTROL_SNAPSHOT_FOOTER: {
    struct snapshot_footer_record m;
    snapshot_footer_record_init(&m);
    m.version = v;
    snapshot_footer_record_encode(value, v, &m);
    return;
  }
  case META_CONTROL_KRAFT_VERSION: {
    struct kraft_version_record m;
    kraft_version_record_init(&m);
    m.version = v;
    m.kraft_version = c->kraft_version;
    kraft_version_record_encode(value, v, &m);
    return;
  }
  case META_CONTROL_VOTERS:
    encode_voters(value, c);
    return;
  }
  UNREACHABLE();
}

static int voters_in(int32_t *ids, int32_t *count, const struct leader_change_message_voter *v,
                     int32_t n) {
  if (n > META_VOTERS_MAX) return META_CODEC_ELIMIT;
  *count = n < 0 ? 0 : n;
  for (int32_t i = 0; i < n; i++) ids[i] = v[i].voter_id;
  return 0;
}

static int decode_voters(struct rd *r, int16_t v, struct arena *a,
                         struct meta_control_record *out) {
  struct voters_record m;
  if (!voters_record_decode(r, v, &m, a)) return META_CODEC_ECORRUPT;
  if (m.voters_count > META_VOTERS_MAX) return META_CODEC_ELIMIT;
  int rc = 0;
  out->voters.count = m.voters_count < 0 ? 0 : m.voters_count;
  for (int32_t i = 0; i < m.voters_count; i++) {
    const struct voters_record_voter *in = &m.voters[i];
    struct meta_voter *voter = &out->voters.voters[i];
    voter->id = in->voter_id;
    voter->directory_id = in->voter_directory_id;
    if (in->endpoints_count > 0) {
      keep(&rc, STR_IN(voter->listener, in->endpoints[0].name));
      keep(&rc, STR_IN(voter->host, in->endpoints[0].host));
      voter->port = in->endpoints[0].port;
    }
    voter->kraft_version_min = in->kraft_version_feature.min_supported_version;
    voter->kraft_version_max = in->kraft_version_feature.max_supported_version;
  }
  return rc;
}

/* A control record's body: its first field is the version it was written
 * in, so that is the version to read. */
static int decode_control_body(struct rd *r, enum meta_control_type type, struct arena *a,
                               struct meta_control_record *out) {
  struct rd peek = *r;
  int16_t v = rd_i16(&peek);
  if (peek.err) return META_CODEC_ECORRUPT;
  int rc = 0;
  switch (type) {
  case META_CONTROL_LEADER_CHANGE: {
    if (v < LEADER_CHANGE_MESSAGE_VERSION_MIN || v > LEADER_CHANGE_MESSAGE_VERSION_MAX)
      return META_CODEC_EVERSION;
    struct leader_change_message m;
    if (!leader_change_message_decode(r, v, &m, a)) return META_CODEC_ECORRUPT;
    struct meta_leader_change *lc = &out->leader_change;
    lc->leader_id = m.leader_id;
    keep(&rc, voters_in(lc->voters, &lc->voter_count, m.voters, m.voters_count));
    keep(&rc, voters_in(lc->granting_voters, &lc->granting_count, m.granting_voters,
                        m.granting_voters_count));
    return rc;
  }
  case META_CONTROL_SNAPSHOT_HEADER: {
    if (v < SNAPSHOT_HEADER_RECORD_VERSION_MIN || v > SNAPSHOT_HEADER_RECORD_VERSION_MAX)
      return META_CODEC_EVERSION;
    struct snapshot_header_record m;
    if (!snapshot_header_record_decode(r, v, &m, a)) return META_CODEC_ECORRUPT;
    out->last_contained_log_timestamp = m.last_contained_log_timestamp;
    return 0;
  }
  case META_CONTROL_SNAPSHOT_FOOTER: {
    if (v < SNAPSHOT_FOOTER_RECORD_VERSION_MIN || v > SNAPSHOT_FOOTER_RECORD_VERSION_MAX)
      return META_CODEC_EVERSION;
    struct snapshot_footer_record m;
    if (!snapshot_footer_record_decode(r, v, &m, a)) return META_CODEC_ECORRUPT;
    return 0;
  }
  case META_CONTROL_KRAFT_VERSION: {
    if (v < KRAFT_VERSION_RECORD_VERSION_MIN || v > KRAFT_VERSION_RECORD_VERSION_MAX)
      return META_CODEC_EVERSION;
    struct kraft_version_record m;
    if (!kraft_version_record_decode(r, v, &m, a)) return META_CODEC_ECORRUPT;
    out->kraft_version = m.kraft_version;
    return 0;
  }
  case META_CONTROL_VOTERS:
    if (v < VOTERS_RECORD_VERSION_MIN || v > VOTERS_RECORD_VERSION_MAX)
      return META_CODEC_EVERSION;
    return decode_voters(r, v, a, out);
  }
  UNREACHABLE();
}

static int control_decode(struct kbytes key, struct kbytes value, int64_t offset,
                          struct meta_control_record *out) {
  memset(out, 0, sizeof *out);
  if (key.len < CONTROL_KEY_BYTES || value.len < 0) return META_CODEC_ECORRUPT;
  struct rd kr;
  rd_init(&kr, key.ptr, (size_t)key.len);
  int16_t key_version = rd_i16(&kr);
  int16_t type = rd_i16(&kr);
  /* A newer key version may add fields after the type (Kafka reads on). */
  if (key_version < 0) return META_CODEC_ECORRUPT;
  if (type < META_CONTROL_LEADER_CHANGE || type > META_CONTROL_VOTERS) return META_CODEC_EKEY;
  out->type = (enum meta_control_type)type;
  out->offset = offset;
  struct rd r;
  rd_init(&r, value.len > 0 ? value.ptr : nothing, (size_t)value.len);
  struct arena a;
  arena_init(&a);
  int rc = decode_control_body(&r, out->type, &a, out);
  if (rc == 0 && rd_left(&r) != 0) rc = META_CODEC_ECORRUPT;
  arena_free(&a);
  if (rc != 0) memset(out, 0, sizeof *out);
  return rc;
}

bool meta_control_equal(const struct meta_control_record *a,
                        const struct meta_control_record *b) {
  ASSERT(a != NULL && b != NULL);
  if (a->type != b->type || a->offset != b->offset) return false;
  switch (a->type) {
  case META_CONTROL_LEADER_CHANGE: {
    const struct meta_leader_change *x = &a->leader_change, *y = &b->leader_change;
    return x->leader_id == y->leader_id &&
           ints_eq(x->voter_count, x->voters, y->voter_count, y->voters) &&
           ints_eq(x->granting_count, x->granting_voters, y->granting_count,
                   y->granting_voters);
  }
  case META_CONTROL_SNAPSHOT_HEADER:
    return a->last_contained_log_timestamp == b->last_contained_log_timestamp;
  case META_CONTROL_SNAPSHOT_FOOTER:
    return true;
  case META_CONTROL_KRAFT_VERSION:
    return a->kraft_version == b->kraft_version;
  case META_CONTROL_VOTERS:
    if (a->voters.count != b->voters.count) return false;
    for (int32_t i = 0; i < a->voters.count; i++) {
      const struct meta_voter *x = &a->voters.voters[i], *y = &b->voters.voters[i];
      if (x->id != y->id || !uuid_eq(x->directory_id, y->directory_id) ||
          !STR_EQ(x, y, listener) || !STR_EQ(x, y, host) || x->port != y->port ||
          x->kraft_version_min != y->kraft_version_min ||
          x->kraft_version_max != y->kraft_version_max)
        return false;
    }
    return true;
  }
  return false;
}

void meta_controls_init(struct meta_controls *list) {
  ASSERT(list != NULL);
  memset(list, 0, sizeof *list);
}

void meta_controls_free(struct meta_controls *list) {
  ASSERT(list != NULL && list->count <= list->cap);
  free(list->items);
  memset(list, 0, sizeof *list);
}

/* A slot at the end, or NULL past CONTROLS_MAX. */
static struct meta_control_record *controls_add(struct meta_controls *list) {
  ASSERT(list->count <= list->cap);
  if (list->count == CONTROLS_MAX) return NULL;
  if (list->count == list->cap) {
    int32_t cap = list->cap ? list->cap * 2 : 4;
    if (cap > CONTROLS_MAX) cap = CONTROLS_MAX;
    struct meta_control_record *items = realloc(list->items, (size_t)cap * sizeof *items);
    ASSERT(items != NULL);
    list->items = items;
    list->cap = cap;
  }
  return &list->items[list->count++];
}

/* ---- batches ---- */

static const struct kbytes no_key = {NULL, -1};

static struct kbytes bytes_of(const struct buf *b) {
  ASSERT(b->len <= INT32_MAX);
  return (struct kbytes){b->data, (int32_t)b->len};
}

static int batch_finish(struct rb_builder *b, struct buf *out) {
  int rc = rb_builder_finish(b, RB_CODEC_NONE, out);
  rb_builder_free(b);
  return rc == KERR_NONE ? 0 : META_CODEC_ELIMIT;
}

int meta_batch_write(struct buf *out, int64_t base_offset, int32_t leader_epoch,
                     int64_t timestamp_ms, const struct meta_record *records, int32_t count) {
  ASSERT(out != NULL && records != NULL && count >= 1 && base_offset >= 0);
  struct rb_builder b;
  rb_builder_init(&b, base_offset, timestamp_ms);
  b.leader_epoch = leader_epoch;
  struct buf value;
  buf_init(&value);
  for (int32_t i = 0; i < count; i++) {
    buf_reset(&value);
    meta_record_encode(&records[i], &value);
    rb_builder_add(&b, timestamp_ms, no_key, bytes_of(&value), NULL, 0);
  }
  buf_free(&value);
  return batch_finish(&b, out);
}

int meta_control_batch_write(struct buf *out, int64_t base_offset, int32_t leader_epoch,
                             int64_t timestamp_ms, const struct meta_control_record *records,
                             int32_t count) {
  ASSERT(out != NULL && records != NULL && count >= 1 && base_offset >= 0);
  struct rb_builder b;
  rb_builder_init(&b, base_offset, timestamp_ms);
  b.leader_epoch = leader_epoch;
  b.attributes |= RB_ATTR_CONTROL;
  struct wr key, value;
  wr_init(&key);
  wr_init(&value);
  for (int32_t i = 0; i < count; i++) {
    wr_reset(&key);
    wr_reset(&value);
    control_encode(&records[i], &key, &value);
    rb_builder_add(&b, timestamp_ms, bytes_of(&key.mem), bytes_of(&value.mem), NULL, 0);
  }
  wr_free(&key);
  wr_free(&value);
  return batch_finish(&b, out);
}

int meta_leader_change_write(struct buf *out, int64_t offset, int32_t leader_epoch,
                             int64_t timestamp_ms, const struct meta_leader_change *change) {
  ASSERT(change != NULL && leader_epoch >= 0); /* Kafka refuses a leader change without one */
  struct meta_control_record c;
  memset(&c, 0, sizeof c);
  c.type = META_CONTROL_LEADER_CHANGE;
  c.offset = offset;
  c.leader_change = *change;
  return meta_control_batch_write(out, offset, leader_epoch, timestamp_ms, &c, 1);
}

/* One record of a batch into records or controls. */
static int batch_record(const struct meta_batch *batch, const struct rb_record *rec,
                        struct meta_delta *records, struct meta_controls *controls) {
  if (batch->control) {
    struct meta_control_record c;
    int rc = control_decode(rec->key, rec->value, rec->offset, &c);
    if (rc != 0) return rc;
    struct meta_control_record *slot = controls_add(controls);
    if (!slot) return META_CODEC_ELIMIT;
    *slot = c;
    return 0;
  }
  if (records->count > 0 && records->records[records->count - 1].offset >= rec->offset)
    return META_CODEC_EBATCH; /* a delta's offsets grow */
  if (rec->value.len < 0) return META_CODEC_ECORRUPT;
  struct meta_record r;
  int rc = meta_record_decode(rec->value.ptr, (size_t)rec->value.len, rec->offset, &r);
  if (rc != 0) return rc;
  struct meta_record *slot = meta_delta_add(records, r.type, rec->offset);
  if (!slot) return META_CODEC_ELIMIT;
  *slot = r;
  return 0;
}

static int batch_records(const uint8_t *p, struct meta_batch *batch, struct meta_delta *records,
                         struct meta_controls *controls, struct buf *scratch) {
  struct rb_iter it;
  if (rb_iter_init(&it, p, batch->size, scratch, META_BATCH_BYTES_MAX) != KERR_NONE)
    return META_CODEC_ECORRUPT;
  int64_t expect = batch->h.base_offset;
  for (;;) {
    struct rb_record rec;
    int n = rb_iter_next(&it, &rec);
    if (n < 0) return META_CODEC_ECORRUPT;
    if (n == 0) break;
    if (rec.offset != expect) return META_CODEC_EBATCH; /* Raft's offsets have no gaps */
    expect++;
    int rc = batch_record(batch, &rec, records, controls);
    if (rc != 0) return rc;
  }
  ASSERT(expect == rb_header_last_offset(&batch->h) + 1);
  return 0;
}

int meta_batch_read(const uint8_t *p, size_t len, struct meta_batch *batch,
                    struct meta_delta *records, struct meta_controls *controls) {
  ASSERT(batch != NULL && (p != NULL || len == 0));
  memset(batch, 0, sizeof *batch);
  struct rb_header h;
  size_t size = rb_frame(p, len, &h);
  if (size == 0) return META_CODEC_ECORRUPT;
  if (!rb_header_valid(&h)) return META_CODEC_EBATCH;
  if (rb_check_one(p, size) != size) return META_CODEC_ECRC;
  if (h.record_count < 1 || h.record_count - 1 != h.last_offset_delta) return META_CODEC_EBATCH;
  struct meta_batch b = {
      .h = h, .size = size, .control = (h.attributes & RB_ATTR_CONTROL) != 0};
  if (b.control ? controls == NULL : records == NULL) return META_CODEC_EBATCH;
  int32_t records_before = records ? records->count : 0;
  int32_t controls_before = controls ? controls->count : 0;
  struct buf scratch;
  buf_init(&scratch);
  int rc = batch_records(p, &b, records, controls, &scratch);
  buf_free(&scratch);
  if (rc != 0) {
    if (records) meta_delta_truncate(records, records_before);
    if (controls) controls->count = controls_before;
    return rc;
  }
  *batch = b;
  return 0;
}
