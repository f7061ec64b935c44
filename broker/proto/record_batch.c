#include "proto/record_batch.h"

#include <string.h>

#include "base/assert.h"
#include "base/crc32c.h"
#include "proto/compress.h"
#include "proto/errors.h"

enum {
  RB_LENGTH_MIN = RB_HEADER_BYTES - RB_LOG_OVERHEAD, /* 49: an empty batch */
  RECORD_BYTES_MIN = 7, /* length, attributes, ts, offset, key, value, headers */
};

static uint64_t be(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = v << 8 | p[i];
  return v;
}

static void put_be(uint8_t *p, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

bool rb_header_read(const uint8_t *p, size_t len, struct rb_header *h) {
  if (len < RB_HEADER_BYTES) return false;
  h->base_offset = (int64_t)be(p + RB_OFF_BASE_OFFSET, 8);
  h->length = (int32_t)be(p + RB_OFF_LENGTH, 4);
  h->leader_epoch = (int32_t)be(p + RB_OFF_LEADER_EPOCH, 4);
  h->magic = (int8_t)p[RB_OFF_MAGIC];
  h->crc = (uint32_t)be(p + RB_OFF_CRC, 4);
  h->attributes = (int16_t)be(p + RB_OFF_ATTRIBUTES, 2);
  h->last_offset_delta = (int32_t)be(p + RB_OFF_LAST_OFFSET_DELTA, 4);
  h->base_timestamp = (int64_t)be(p + RB_OFF_BASE_TIMESTAMP, 8);
  h->max_timestamp = (int64_t)be(p + RB_OFF_MAX_TIMESTAMP, 8);
  h->producer_id = (int64_t)be(p + RB_OFF_PRODUCER_ID, 8);
  h->producer_epoch = (int16_t)be(p + RB_OFF_PRODUCER_EPOCH, 2);
  h->base_sequence = (int32_t)be(p + RB_OFF_BASE_SEQUENCE, 4);
  h->record_count = (int32_t)be(p + RB_OFF_RECORD_COUNT, 4);
  return true;
}

size_t rb_check_one(const uint8_t *p, size_t len) {
  if (len < RB_HEADER_BYTES) return 0;
  int32_t length = (int32_t)be(p + RB_OFF_LENGTH, 4);
  if (length < RB_LENGTH_MIN || (size_t)length > len - RB_LOG_OVERHEAD) return 0;
  if (p[RB_OFF_MAGIC] != 2) return 0;
  size_t size = RB_LOG_OVERHEAD + (size_t)length;
  uint32_t crc = crc32c(p + RB_OFF_ATTRIBUTES, size - RB_OFF_ATTRIBUTES);
  return crc == (uint32_t)be(p + RB_OFF_CRC, 4) ? size : 0;
}

void rb_patch(uint8_t *batch, int64_t base_offset, int32_t leader_epoch) {
  put_be(batch + RB_OFF_BASE_OFFSET, (uint64_t)base_offset, 8);
  put_be(batch + RB_OFF_LEADER_EPOCH, (uint32_t)leader_epoch, 4);
}

/* One record, per the protocol guide; positions r after it. */
static bool record_read(struct rd *r, const struct rb_header *h, struct rb_record *rec) {
  int32_t length = rd_varint(r);
  if (r->err || length < RECORD_BYTES_MIN - 1 || (size_t)length > rd_left(r)) return false;
  struct rd body;
  rd_init(&body, r->p, (size_t)length);
  r->p += length;
  rec->attributes = rd_i8(&body);
  rec->timestamp = h->base_timestamp + rd_varlong(&body);
  rec->offset = h->base_offset + rd_varint(&body);
  int32_t klen = rd_varint(&body);
  rec->key = (struct kbytes){NULL, -1};
  if (klen >= 0)
    rec->key = (struct kbytes){rd_skip(&body, (size_t)klen), klen};
  else if (klen != -1)
    return false;
  int32_t vlen = rd_varint(&body);
  rec->value = (struct kbytes){NULL, -1};
  if (vlen >= 0)
    rec->value = (struct kbytes){rd_skip(&body, (size_t)vlen), vlen};
  else if (vlen != -1)
    return false;
  rec->header_count = rd_varint(&body);
  if (body.err || rec->header_count < 0) return false;
  rec->headers_raw = body.p;
  rec->headers_raw_len = rd_left(&body);
  struct rb_record_header hdr;
  for (int32_t i = 0; i < rec->header_count; i++)
    if (!rb_record_header_next(&body, &hdr)) return false;
  return !body.err && rd_left(&body) == 0;
}

bool rb_record_header_next(struct rd *r, struct rb_record_header *h) {
  int32_t klen = rd_varint(r);
  if (r->err || klen < 0) return false;
  h->key = (struct kbytes){rd_skip(r, (size_t)klen), klen};
  int32_t vlen = rd_varint(r);
  h->value = (struct kbytes){NULL, -1};
  if (vlen >= 0)
    h->value = (struct kbytes){rd_skip(r, (size_t)vlen), vlen};
  else if (vlen != -1)
    r->err = true;
  return !r->err;
}

static bool records_parse_exactly(const uint8_t *p, size_t len, const struct rb_header *h) {
  struct rd r;
  rd_init(&r, p, len);
  struct rb_record rec;
  for (int32_t i = 0; i < h->record_count; i++)
    if (!record_read(&r, h, &rec)) return false;
  return rd_left(&r) == 0;
}

static int validate_one(const uint8_t *p, size_t len, struct rb_header *h, size_t *size) {
  if (len < RB_OFF_MAGIC + 1) return KERR_CORRUPT_MESSAGE;
  int8_t magic = (int8_t)p[RB_OFF_MAGIC];
  if (magic == 0 || magic == 1) return KERR_UNSUPPORTED_VERSION;
  if (magic != 2 || !rb_header_read(p, len, h)) return KERR_CORRUPT_MESSAGE;
  if (h->length < RB_LENGTH_MIN || (size_t)h->length > len - RB_LOG_OVERHEAD)
    return KERR_CORRUPT_MESSAGE;
  *size = RB_LOG_OVERHEAD + (size_t)h->length;
  if (crc32c(p + RB_OFF_ATTRIBUTES, *size - RB_OFF_ATTRIBUTES) != h->crc)
    return KERR_CORRUPT_MESSAGE;
  if (h->record_count <= 0 || h->last_offset_delta != h->record_count - 1)
    return KERR_INVALID_RECORD;
  if ((h->attributes & RB_ATTR_COMPRESSION_MASK) > RB_CODEC_ZSTD)
    return KERR_UNSUPPORTED_COMPRESSION_TYPE;
  if ((h->attributes & RB_ATTR_COMPRESSION_MASK) == RB_CODEC_NONE &&
      !records_parse_exactly(p + RB_HEADER_BYTES, *size - RB_HEADER_BYTES, h))
    return KERR_CORRUPT_MESSAGE;
  return KERR_NONE;
}

int rb_validate(const uint8_t *data, size_t len, struct rb_summary *out) {
  memset(out, 0, sizeof *out);
  if (len == 0) return KERR_INVALID_RECORD;
  for (size_t at = 0; at < len;) {
    struct rb_header h;
    size_t size = 0;
    int rc = validate_one(data + at, len - at, &h, &size);
    if (rc != KERR_NONE) return rc;
    enum rb_codec codec = (enum rb_codec)(h.attributes & RB_ATTR_COMPRESSION_MASK);
    if (out->batch_count == 0) {
      out->codec = codec;
      out->first_timestamp = h.base_timestamp;
      out->max_timestamp = h.max_timestamp;
      out->producer_id = h.producer_id;
      out->producer_epoch = h.producer_epoch;
      out->base_sequence = h.base_sequence;
    } else if (codec != out->codec) {
      out->mixed_codecs = true;
    }
    if (h.max_timestamp > out->max_timestamp) out->max_timestamp = h.max_timestamp;
    out->transactional |= (h.attributes & RB_ATTR_TRANSACTIONAL) != 0;
    out->control |= (h.attributes & RB_ATTR_CONTROL) != 0;
    out->record_count += h.record_count;
    out->offset_count += (int64_t)h.last_offset_delta + 1;
    out->batch_count++;
    at += size;
  }
  return KERR_NONE;
}

int rb_iter_init(struct rb_iter *it, const uint8_t *batch, size_t len, struct buf *scratch,
                 size_t out_bytes_max) {
  memset(it, 0, sizeof *it);
  if (!rb_header_read(batch, len, &it->h) || it->h.magic != 2 || it->h.length < RB_LENGTH_MIN ||
      (size_t)it->h.length > len - RB_LOG_OVERHEAD || it->h.record_count < 0)
    return KERR_CORRUPT_MESSAGE;
  const uint8_t *records = batch + RB_HEADER_BYTES;
  size_t records_len = RB_LOG_OVERHEAD + (size_t)it->h.length - RB_HEADER_BYTES;
  enum rb_codec codec = (enum rb_codec)(it->h.attributes & RB_ATTR_COMPRESSION_MASK);
  if (codec != RB_CODEC_NONE) {
    buf_reset(scratch);
    int rc = codec_decompress(codec, records, records_len, out_bytes_max, scratch);
    if (rc != KERR_NONE) return rc;
    records = scratch->data;
    records_len = scratch->len;
  }
  rd_init(&it->r, records, records_len);
  it->left = it->h.record_count;
  return KERR_NONE;
}

int rb_iter_next(struct rb_iter *it, struct rb_record *rec) {
  if (it->left == 0) return 0;
  if (!record_read(&it->r, &it->h, rec)) return -KERR_CORRUPT_MESSAGE;
  it->left--;
  return 1;
}

void rb_builder_init(struct rb_builder *b, int64_t base_offset, int64_t base_timestamp) {
  memset(b, 0, sizeof *b);
  buf_init(&b->records);
  b->base_offset = base_offset;
  b->base_timestamp = base_timestamp;
  b->max_timestamp = base_timestamp;
  b->producer_id = -1;
  b->producer_epoch = -1;
  b->base_sequence = -1;
}

void rb_builder_set_producer(struct rb_builder *b, int64_t producer_id, int16_t producer_epoch,
                             int32_t base_sequence, bool transactional) {
  b->producer_id = producer_id;
  b->producer_epoch = producer_epoch;
  b->base_sequence = base_sequence;
  if (transactional) b->attributes |= RB_ATTR_TRANSACTIONAL;
}

static void varint_bytes(struct wr *w, struct kbytes v) {
  wr_varint(w, v.len);
  if (v.len > 0) wr_raw(w, v.ptr, (size_t)v.len);
}

static void builder_append(struct rb_builder *b, int64_t timestamp, int32_t offset_delta,
                           int8_t attributes, struct kbytes key, struct kbytes value,
                           int32_t header_count, const uint8_t *headers_raw,
                           size_t headers_raw_len, const struct rb_record_header *headers) {
  struct wr body;
  wr_init(&body);
  wr_i8(&body, attributes);
  wr_varlong(&body, timestamp - b->base_timestamp);
  wr_varint(&body, offset_delta);
  varint_bytes(&body, key);
  varint_bytes(&body, value);
  wr_varint(&body, header_count);
  if (headers_raw) wr_raw(&body, headers_raw, headers_raw_len);
  for (int32_t i = 0; !headers_raw && i < header_count; i++) {
    ASSERT(headers[i].key.len >= 0);
    varint_bytes(&body, headers[i].key);
    varint_bytes(&body, headers[i].value);
  }
  struct wr len;
  wr_init(&len);
  wr_varint(&len, (int32_t)body.mem.len);
  buf_append(&b->records, len.mem.data, len.mem.len);
  buf_append(&b->records, body.mem.data, body.mem.len);
  wr_free(&len);
  wr_free(&body);
  if (timestamp > b->max_timestamp) b->max_timestamp = timestamp;
  b->count++;
}

void rb_builder_add(struct rb_builder *b, int64_t timestamp, struct kbytes key,
                    struct kbytes value, const struct rb_record_header *headers,
                    int32_t header_count) {
  builder_append(b, timestamp, b->count, 0, key, value, header_count, NULL, 0, headers);
}

void rb_builder_add_raw(struct rb_builder *b, const struct rb_record *rec,
                        int32_t offset_delta) {
  builder_append(b, rec->timestamp, offset_delta, rec->attributes, rec->key, rec->value,
                 rec->header_count, rec->headers_raw, rec->headers_raw_len, NULL);
}

static int builder_finish(struct rb_builder *b, enum rb_codec codec, int32_t last_offset_delta,
                          struct buf *out) {
  ASSERT(b->count > 0);
  size_t start = out->len;
  buf_extend(out, RB_HEADER_BYTES);
  int rc = codec_compress(codec, b->records.data, b->records.len, out);
  if (rc != KERR_NONE) {
    out->len = start;
    return rc;
  }
  uint8_t *p = out->data + start;
  size_t size = out->len - start;
  put_be(p + RB_OFF_BASE_OFFSET, (uint64_t)b->base_offset, 8);
  put_be(p + RB_OFF_LENGTH, size - RB_LOG_OVERHEAD, 4);
  put_be(p + RB_OFF_LEADER_EPOCH, (uint32_t)b->leader_epoch, 4);
  p[RB_OFF_MAGIC] = 2;
  put_be(p + RB_OFF_ATTRIBUTES, (uint16_t)((b->attributes & ~RB_ATTR_COMPRESSION_MASK) | codec),
         2);
  put_be(p + RB_OFF_LAST_OFFSET_DELTA, (uint32_t)last_offset_delta, 4);
  put_be(p + RB_OFF_BASE_TIMESTAMP, (uint64_t)b->base_timestamp, 8);
  put_be(p + RB_OFF_MAX_TIMESTAMP, (uint64_t)b->max_timestamp, 8);
  put_be(p + RB_OFF_PRODUCER_ID, (uint64_t)b->producer_id, 8);
  put_be(p + RB_OFF_PRODUCER_EPOCH, (uint16_t)b->producer_epoch, 2);
  put_be(p + RB_OFF_BASE_SEQUENCE, (uint32_t)b->base_sequence, 4);
  put_be(p + RB_OFF_RECORD_COUNT, (uint32_t)b->count, 4);
  put_be(p + RB_OFF_CRC, crc32c(p + RB_OFF_ATTRIBUTES, size - RB_OFF_ATTRIBUTES), 4);
  return KERR_NONE;
}

int rb_builder_finish(struct rb_builder *b, enum rb_codec codec, struct buf *out) {
  return builder_finish(b, codec, b->count - 1, out);
}

void rb_builder_free(struct rb_builder *b) { buf_free(&b->records); }

int rb_recompress(const uint8_t *batch, size_t len, enum rb_codec codec, size_t out_bytes_max,
                  struct buf *out) {
  struct buf scratch;
  buf_init(&scratch);
  struct rb_iter it;
  int rc = rb_iter_init(&it, batch, len, &scratch, out_bytes_max);
  struct rb_builder b;
  rb_builder_init(&b, it.h.base_offset, it.h.base_timestamp);
  b.producer_id = it.h.producer_id;
  b.producer_epoch = it.h.producer_epoch;
  b.base_sequence = it.h.base_sequence;
  b.attributes = it.h.attributes;
  b.leader_epoch = it.h.leader_epoch;
  struct rb_record rec;
  int got = 0;
  for (int32_t n = 0; rc == KERR_NONE && n <= it.h.record_count; n++) {
    got = rb_iter_next(&it, &rec);
    if (got <= 0) break;
    rb_builder_add_raw(&b, &rec, (int32_t)(rec.offset - it.h.base_offset));
  }
  if (rc == KERR_NONE && got < 0) rc = KERR_CORRUPT_MESSAGE;
  if (rc == KERR_NONE && b.count == 0) rc = KERR_INVALID_RECORD;
  if (rc == KERR_NONE) {
    b.max_timestamp = it.h.max_timestamp; /* keep it exactly as the producer set it */
    rc = builder_finish(&b, codec, it.h.last_offset_delta, out);
  }
  rb_builder_free(&b);
  buf_free(&scratch);
  return rc;
}
