/* Record batches, magic 2. Field offsets are in batch_format.h; a record is
 * (protocol guide, "Record"): length varint, attributes int8,
 * timestampDelta varlong, offsetDelta varint, keyLength varint (-1 null),
 * key, valueLength varint (-1 null), value, headers count varint, and per
 * header: keyLength varint (never null), key, valueLength varint (-1 null),
 * value. When the codec (attributes & 7) is not none, everything after
 * recordCount is one compressed stream. */
#include "proto/record_batch.h"

#include <string.h>

#include "base/assert.h"
#include "base/crc32c.h"
#include "base/endian.h"
#include "proto/compress.h"
#include "proto/errors.h"

enum {
  RB_MAGIC = 2,
  /* batchLength of a batch without records: the header after batchLength. */
  RB_LENGTH_MIN = RB_HEADER_BYTES - RB_LOG_OVERHEAD,
  /* A record body holds at least attributes, timestampDelta, offsetDelta,
   * keyLength, valueLength and the headers count: a byte each. Its length
   * varint adds one more. */
  RECORD_BODY_BYTES_MIN = 6,
  RECORD_BYTES_MIN = RECORD_BODY_BYTES_MIN + 1,
  /* A header holds at least its keyLength and valueLength. */
  HEADER_BYTES_MIN = 2,
  /* What a producer without idempotence, and a batch not yet on a leader,
   * carry (Kafka's NO_PRODUCER_ID, NO_PARTITION_LEADER_EPOCH...). */
  RB_NONE = -1,
};

/* Deltas come from the wire: adding them must not be undefined behaviour. */
static int64_t add_wrapping(int64_t a, int64_t b) {
  return (int64_t)((uint64_t)a + (uint64_t)b);
}
static int64_t sub_wrapping(int64_t a, int64_t b) {
  return (int64_t)((uint64_t)a - (uint64_t)b);
}

/* The CRC-32C covers attributes to the end, not baseOffset, batchLength,
 * partitionLeaderEpoch or magic (protocol guide, "Record Batch"). */
static bool crc_ok(const uint8_t *p, size_t size, const struct rb_header *h) {
  ASSERT(size >= RB_HEADER_BYTES && size == rb_header_size(h));
  return crc32c(p + RB_OFF_ATTRIBUTES, size - RB_OFF_ATTRIBUTES) == h->crc;
}

size_t rb_check_one(const uint8_t *p, size_t len) {
  struct rb_header h;
  size_t size = rb_frame(p, len, &h);
  if (size == 0 || h.magic != RB_MAGIC) return 0;
  return crc_ok(p, size, &h) ? size : 0;
}

int32_t rb_sequence_add(int32_t sequence, int32_t increment) {
  ASSERT(sequence >= 0 && increment >= 0);
  if (sequence > INT32_MAX - increment) return increment - (INT32_MAX - sequence) - 1;
  return sequence + increment;
}

void rb_patch(uint8_t *batch, int64_t base_offset, int32_t leader_epoch) {
  ASSERT(batch[RB_OFF_MAGIC] == RB_MAGIC);
  ASSERT(base_offset >= 0);
  be64_put(batch + RB_OFF_BASE_OFFSET, (uint64_t)base_offset);
  be32_put(batch + RB_OFF_LEADER_EPOCH, (uint32_t)leader_epoch);
}

/* ---- reading records ---- */

/* keyLength/valueLength and the bytes: -1 is null, below -1 is malformed. */
static struct kbytes nullable_read(struct rd *r) {
  int32_t n = rd_varint(r);
  if (n < -1) rd_fail(r);
  if (r->err || n == -1) return (struct kbytes){NULL, -1};
  const uint8_t *p = rd_skip(r, (size_t)n);
  return p ? (struct kbytes){p, n} : (struct kbytes){NULL, -1};
}

bool rb_record_header_next(struct rd *r, struct rb_record_header *h) {
  ASSERT(r != NULL && h != NULL);
  h->key = nullable_read(r);
  if (h->key.len < 0) rd_fail(r); /* a header key is never null */
  h->value = nullable_read(r);
  return !r->err;
}

/* count headers that fill what is left of body exactly. */
static bool headers_parse_exactly(struct rd *body, int32_t count) {
  ASSERT(count >= 0);
  if ((size_t)count > rd_left(body) / HEADER_BYTES_MIN) return false;
  struct rb_record_header h;
  for (int32_t i = 0; i < count; i++)
    if (!rb_record_header_next(body, &h)) return false;
  return !body->err && rd_left(body) == 0;
}

/* One record at r (moved past it); offset and timestamp made absolute with
 * the batch's bases. False when it does not parse to exactly its length. */
static bool record_read(struct rd *r, const struct rb_header *h, struct rb_record *rec,
                        int32_t *offset_delta) {
  int32_t length = rd_varint(r);
  if (r->err || length < RECORD_BODY_BYTES_MIN || (size_t)length > rd_left(r)) return false;
  struct rd body;
  rd_init(&body, rd_skip(r, (size_t)length), (size_t)length);
  rec->attributes = rd_i8(&body);
  int64_t timestamp_delta = rd_varlong(&body);
  *offset_delta = rd_varint(&body);
  rec->timestamp = add_wrapping(h->base_timestamp, timestamp_delta);
  rec->offset = add_wrapping(h->base_offset, *offset_delta);
  rec->key = nullable_read(&body);
  rec->value = nullable_read(&body);
  rec->header_count = rd_varint(&body);
  if (body.err || rec->header_count < 0) return false;
  rec->headers_raw = body.p;
  rec->headers_raw_len = rd_left(&body);
  return headers_parse_exactly(&body, rec->header_count);
}

/* ---- validation ---- */

/* The records of an uncompressed batch: exactly record_count of them, with
 * the offset deltas a producer writes (0, 1, 2...; Kafka's broker insists
 * on them for compressed batches), ending at the batch's end. */
static int records_check(const uint8_t *p, size_t len, const struct rb_header *h) {
  ASSERT(h->record_count > 0);
  if ((size_t)h->record_count > len / RECORD_BYTES_MIN) return KERR_CORRUPT_MESSAGE;
  struct rd r;
  rd_init(&r, p, len);
  for (int32_t i = 0; i < h->record_count; i++) {
    struct rb_record rec;
    int32_t offset_delta;
    if (!record_read(&r, h, &rec, &offset_delta)) return KERR_CORRUPT_MESSAGE;
    if (offset_delta != i) return KERR_INVALID_RECORD;
  }
  return rd_left(&r) == 0 ? KERR_NONE : KERR_CORRUPT_MESSAGE;
}

/* One batch at p, len bytes available; its size in *size. */
static int validate_one(const uint8_t *p, size_t len, struct rb_header *h, size_t *size) {
  /* The old message format (offset, size, crc, magic) has its magic at the
   * same offset 16, so an old client is told UNSUPPORTED_VERSION. */
  if (len <= RB_OFF_MAGIC) return KERR_CORRUPT_MESSAGE;
  int8_t magic = (int8_t)p[RB_OFF_MAGIC];
  if (magic == 0 || magic == 1) return KERR_UNSUPPORTED_VERSION;
  if (magic != RB_MAGIC) return KERR_CORRUPT_MESSAGE;
  *size = rb_frame(p, len, h);
  if (*size == 0 || !crc_ok(p, *size, h)) return KERR_CORRUPT_MESSAGE;
  /* Kafka's broker: a producer's batch holds records, and as many as its
   * offsets span. */
  if (h->record_count <= 0 || (int64_t)h->last_offset_delta + 1 != h->record_count)
    return KERR_INVALID_RECORD;
  int codec = h->attributes & RB_ATTR_COMPRESSION_MASK;
  if (codec > RB_CODEC_ZSTD) return KERR_UNSUPPORTED_COMPRESSION_TYPE;
  if (codec != RB_CODEC_NONE) return KERR_NONE; /* the CRC covers the stream */
  return records_check(p + RB_HEADER_BYTES, *size - RB_HEADER_BYTES, h);
}

static void summary_add(struct rb_summary *s, const struct rb_header *h) {
  ASSERT(h->record_count > 0);
  enum rb_codec codec = (enum rb_codec)(h->attributes & RB_ATTR_COMPRESSION_MASK);
  if (s->batch_count == 0) {
    s->codec = codec;
    s->first_timestamp = h->base_timestamp;
    s->max_timestamp = h->max_timestamp;
    s->producer_id = h->producer_id;
    s->producer_epoch = h->producer_epoch;
    s->base_sequence = h->base_sequence;
  } else if (codec != s->codec) {
    s->mixed_codecs = true;
  }
  if (h->max_timestamp > s->max_timestamp) s->max_timestamp = h->max_timestamp;
  s->transactional |= (h->attributes & RB_ATTR_TRANSACTIONAL) != 0;
  s->control |= (h->attributes & RB_ATTR_CONTROL) != 0;
  s->record_count += h->record_count;
  s->offset_count += (int64_t)h->last_offset_delta + 1;
  s->batch_count++;
}

int rb_validate(const uint8_t *data, size_t len, struct rb_summary *out) {
  ASSERT(out != NULL);
  memset(out, 0, sizeof *out);
  if (len == 0) return KERR_INVALID_RECORD;
  ASSERT(data != NULL);
  size_t at = 0;
  /* Every batch takes at least RB_HEADER_BYTES. */
  for (size_t n = 0; n <= len / RB_HEADER_BYTES && at < len; n++) {
    struct rb_header h;
    size_t size = 0;
    int rc = validate_one(data + at, len - at, &h, &size);
    if (rc != KERR_NONE) {
      memset(out, 0, sizeof *out);
      return rc;
    }
    summary_add(out, &h);
    at += size;
  }
  ASSERT(at == len);
  return KERR_NONE;
}

/* ---- iterating ---- */

/* Where an iterator with no records reads: rd_init wants a real pointer. */
static const uint8_t no_records[1];

static int iter_fail(struct rb_iter *it, int rc) {
  ASSERT(rc != KERR_NONE);
  it->corrupt = true;
  it->left = 0;
  return rc;
}

int rb_iter_init(struct rb_iter *it, const uint8_t *batch, size_t len, struct buf *scratch,
                 size_t out_bytes_max) {
  ASSERT(it != NULL);
  memset(it, 0, sizeof *it);
  rd_init(&it->r, no_records, 0);
  size_t size = rb_frame(batch, len, &it->h);
  if (size == 0 || it->h.magic != RB_MAGIC || it->h.record_count < 0)
    return iter_fail(it, KERR_CORRUPT_MESSAGE);
  const uint8_t *records = batch + RB_HEADER_BYTES;
  size_t records_len = size - RB_HEADER_BYTES;
  enum rb_codec codec = (enum rb_codec)(it->h.attributes & RB_ATTR_COMPRESSION_MASK);
  if (codec != RB_CODEC_NONE) {
    ASSERT(scratch != NULL);
    buf_reset(scratch);
    int rc = codec_decompress(codec, records, records_len, out_bytes_max, scratch);
    if (rc != KERR_NONE) return iter_fail(it, rc);
    records = scratch->len > 0 ? scratch->data : no_records;
    records_len = scratch->len;
  }
  rd_init(&it->r, records, records_len);
  it->left = it->h.record_count;
  return KERR_NONE;
}

int rb_iter_next(struct rb_iter *it, struct rb_record *rec) {
  ASSERT(it->left >= 0);
  if (it->corrupt) return -KERR_CORRUPT_MESSAGE;
  if (it->left == 0) /* the end, where the records must end too */
    return rd_left(&it->r) == 0 ? 0 : -iter_fail(it, KERR_CORRUPT_MESSAGE);
  int32_t offset_delta;
  if (!record_read(&it->r, &it->h, rec, &offset_delta))
    return -iter_fail(it, KERR_CORRUPT_MESSAGE);
  it->left--;
  return 1;
}

/* ---- building ---- */

void rb_builder_init(struct rb_builder *b, int64_t base_offset, int64_t base_timestamp) {
  ASSERT(b != NULL);
  memset(b, 0, sizeof *b);
  buf_init(&b->records);
  b->base_offset = base_offset;
  b->base_timestamp = base_timestamp;
  b->max_timestamp = RB_NONE; /* Kafka's NO_TIMESTAMP until a record comes */
  b->last_offset_delta = RB_NONE;
  b->producer_id = RB_NONE;
  b->producer_epoch = RB_NONE;
  b->base_sequence = RB_NONE;
  b->leader_epoch = RB_NONE; /* the leader sets it on append */
}

void rb_builder_set_producer(struct rb_builder *b, int64_t producer_id, int16_t producer_epoch,
                             int32_t base_sequence, bool transactional) {
  ASSERT(producer_id >= RB_NONE);
  ASSERT(!transactional || producer_id >= 0); /* transactions need a producer id */
  b->producer_id = producer_id;
  b->producer_epoch = producer_epoch;
  b->base_sequence = base_sequence;
  if (transactional)
    b->attributes |= RB_ATTR_TRANSACTIONAL;
  else
    b->attributes &= (int16_t)~RB_ATTR_TRANSACTIONAL;
}

/* A zigzag varint: int32 varints encode to the same bytes as the same value
 * as a varlong, so one writer does both. */
static void varlong_put(struct buf *out, int64_t v) {
  uvarlong_put(out, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static size_t nullable_size(struct kbytes v) {
  ASSERT(v.len >= -1);
  return varint_size(v.len) + (v.len > 0 ? (size_t)v.len : 0);
}

static void nullable_put(struct buf *out, struct kbytes v) {
  ASSERT(v.len >= -1);
  varlong_put(out, v.len);
  if (v.len > 0) buf_append(out, v.ptr, (size_t)v.len);
}

static size_t headers_size(const struct rb_record_header *headers, int32_t count) {
  ASSERT(count == 0 || headers != NULL);
  size_t size = 0;
  for (int32_t i = 0; i < count; i++) {
    ASSERT(headers[i].key.len >= 0); /* a header key is never null */
    size += nullable_size(headers[i].key) + nullable_size(headers[i].value);
  }
  return size;
}

/* Appends one record: the fields of rec (offset ignored: offset_delta
 * instead), headers from the array when given, else rec's raw headers. */
static void record_put(struct rb_builder *b, const struct rb_record *rec, int32_t offset_delta,
                       const struct rb_record_header *headers) {
  ASSERT(rec->header_count >= 0);
  ASSERT(b->count < INT32_MAX);
  int64_t timestamp_delta = sub_wrapping(rec->timestamp, b->base_timestamp);
  size_t headers_bytes =
      headers ? headers_size(headers, rec->header_count) : rec->headers_raw_len;
  size_t body_bytes = 1 + varlong_size(timestamp_delta) + varint_size(offset_delta) +
                      nullable_size(rec->key) + nullable_size(rec->value) +
                      varint_size(rec->header_count) + headers_bytes;
  ASSERT(body_bytes <= INT32_MAX); /* a record's length is a varint int32 */
  size_t before = b->records.len;
  varlong_put(&b->records, (int64_t)body_bytes);
  uint8_t attributes = (uint8_t)rec->attributes;
  buf_append(&b->records, &attributes, 1);
  varlong_put(&b->records, timestamp_delta);
  varlong_put(&b->records, offset_delta);
  nullable_put(&b->records, rec->key);
  nullable_put(&b->records, rec->value);
  varlong_put(&b->records, rec->header_count);
  for (int32_t i = 0; headers && i < rec->header_count; i++) {
    nullable_put(&b->records, headers[i].key);
    nullable_put(&b->records, headers[i].value);
  }
  if (!headers) buf_append(&b->records, rec->headers_raw, rec->headers_raw_len);
  ASSERT(b->records.len - before == varint_size((int32_t)body_bytes) + body_bytes);
  if (b->count == 0 || rec->timestamp > b->max_timestamp) b->max_timestamp = rec->timestamp;
  b->last_offset_delta = offset_delta;
  b->count++;
}

void rb_builder_add(struct rb_builder *b, int64_t timestamp, struct kbytes key,
                    struct kbytes value, const struct rb_record_header *headers,
                    int32_t header_count) {
  ASSERT(header_count >= 0);
  ASSERT(headers != NULL || header_count == 0);
  struct rb_record rec = {
      .timestamp = timestamp, .key = key, .value = value, .header_count = header_count};
  static const struct rb_record_header no_headers[1];
  record_put(b, &rec, b->count, headers ? headers : no_headers);
}

/* The 61 header bytes at p for a batch of size bytes whose records follow. */
static void header_put(uint8_t *p, const struct rb_builder *b, enum rb_codec codec,
                       size_t size) {
  ASSERT(size >= RB_HEADER_BYTES && size - RB_LOG_OVERHEAD <= INT32_MAX);
  ASSERT((unsigned)codec <= RB_CODEC_ZSTD);
  uint16_t attributes = (uint16_t)((b->attributes & ~RB_ATTR_COMPRESSION_MASK) | codec);
  be64_put(p + RB_OFF_BASE_OFFSET, (uint64_t)b->base_offset);
  be32_put(p + RB_OFF_LENGTH, (uint32_t)(size - RB_LOG_OVERHEAD));
  be32_put(p + RB_OFF_LEADER_EPOCH, (uint32_t)b->leader_epoch);
  p[RB_OFF_MAGIC] = RB_MAGIC;
  be16_put(p + RB_OFF_ATTRIBUTES, attributes);
  be32_put(p + RB_OFF_LAST_OFFSET_DELTA, (uint32_t)b->last_offset_delta);
  be64_put(p + RB_OFF_BASE_TIMESTAMP, (uint64_t)b->base_timestamp);
  be64_put(p + RB_OFF_MAX_TIMESTAMP, (uint64_t)b->max_timestamp);
  be64_put(p + RB_OFF_PRODUCER_ID, (uint64_t)b->producer_id);
  be16_put(p + RB_OFF_PRODUCER_EPOCH, (uint16_t)b->producer_epoch);
  be32_put(p + RB_OFF_BASE_SEQUENCE, (uint32_t)b->base_sequence);
  be32_put(p + RB_OFF_RECORD_COUNT, (uint32_t)b->count);
  be32_put(p + RB_OFF_CRC, crc32c(p + RB_OFF_ATTRIBUTES, size - RB_OFF_ATTRIBUTES));
}

static int builder_finish(struct rb_builder *b, enum rb_codec codec, struct buf *out) {
  ASSERT(b->count >= 0);
  size_t start = out->len;
  buf_extend(out, RB_HEADER_BYTES);
  int rc = codec_compress(codec, b->records.data, b->records.len, out);
  if (rc == KERR_NONE && out->len - start - RB_LOG_OVERHEAD > INT32_MAX)
    rc = KERR_MESSAGE_TOO_LARGE;
  if (rc != KERR_NONE) {
    out->len = start;
    return rc;
  }
  header_put(out->data + start, b, codec, out->len - start);
  struct rb_header h;
  ASSERT(rb_frame(out->data + start, out->len - start, &h) == out->len - start);
  return KERR_NONE;
}

int rb_builder_finish(struct rb_builder *b, enum rb_codec codec, struct buf *out) {
  if (b->count == 0) return KERR_INVALID_RECORD;
  ASSERT(b->last_offset_delta == b->count - 1);
  return builder_finish(b, codec, out);
}

void rb_builder_free(struct rb_builder *b) { buf_free(&b->records); }

/* ---- recompression ---- */

static void builder_from_header(struct rb_builder *b, const struct rb_header *h) {
  rb_builder_init(b, h->base_offset, h->base_timestamp);
  b->leader_epoch = h->leader_epoch;
  b->producer_id = h->producer_id;
  b->producer_epoch = h->producer_epoch;
  b->base_sequence = h->base_sequence;
  b->attributes = (int16_t)(h->attributes & ~RB_ATTR_COMPRESSION_MASK);
  ASSERT(b->count == 0);
}

/* ---- recompression in steps ----
 *
 * Each step inflates at most bytes_max more of the source's records,
 * takes the records that are now whole, and feeds at most bytes_max of
 * them to the codec. A record is re-encoded as record_put would (the same
 * fields, canonical varints), but a large key, value or headers block is
 * fed from the inflated bytes where it lies rather than copied, so that
 * one 60 MiB record costs no 60 MiB copy in one turn. */

enum {
  /* Fields from this size on are fed in place (a piece of their own);
   * smaller ones are copied into the queue's encoded bytes. */
  PIECE_IN_PLACE_BYTES = 4096,
};

/* What the codec is fed next: bytes of b.records (encoded) or of inflated
 * (in place), by offset: both buffers may move as they grow. */
struct rb_piece {
  bool in_place;
  size_t at;
  size_t len;
};

static struct rb_piece *pieces(const struct rb_recompression *r) {
  return (struct rb_piece *)(void *)r->pieces.data;
}

static size_t piece_count(const struct rb_recompression *r) {
  return r->pieces.len / sizeof(struct rb_piece);
}

static void piece_push(struct rb_recompression *r, bool in_place, size_t at, size_t len) {
  size_t n = piece_count(r);
  struct rb_piece *last = n > r->piece_next ? &pieces(r)[n - 1] : NULL;
  if (last && !last->in_place && !in_place && last->at + last->len == at) {
    last->len += len; /* encoded bytes follow each other */
  } else {
    struct rb_piece p = {in_place, at, len};
    buf_append(&r->pieces, &p, sizeof p);
  }
  r->pending += len;
}

/* Bytes of a field: copied when small, else in place in inflated. */
static void field_put(struct rb_recompression *r, const uint8_t *p, size_t len) {
  if (len == 0) return;
  if (len < PIECE_IN_PLACE_BYTES) {
    size_t at = r->b.records.len;
    buf_append(&r->b.records, p, len);
    piece_push(r, false, at, len);
    return;
  }
  ASSERT(p >= r->inflated.data && p + len <= r->inflated.data + r->inflated.len);
  piece_push(r, true, (size_t)(p - r->inflated.data), len);
}

static void varlong_queue(struct rb_recompression *r, int64_t v) {
  size_t at = r->b.records.len;
  varlong_put(&r->b.records, v);
  piece_push(r, false, at, r->b.records.len - at);
}

static void nullable_queue(struct rb_recompression *r, struct kbytes v) {
  ASSERT(v.len >= -1);
  varlong_queue(r, v.len);
  if (v.len > 0) field_put(r, v.ptr, (size_t)v.len);
}

/* One record into the queue, as record_put writes it (headers raw). */
static void record_queue(struct rb_recompression *r, const struct rb_record *rec,
                         int32_t offset_delta) {
  int64_t timestamp_delta = sub_wrapping(rec->timestamp, r->h.base_timestamp);
  size_t body_bytes = 1 + varlong_size(timestamp_delta) + varint_size(offset_delta) +
                      nullable_size(rec->key) + nullable_size(rec->value) +
                      varint_size(rec->header_count) + rec->headers_raw_len;
  ASSERT(body_bytes <= INT32_MAX); /* it came in a record of its own */
  varlong_queue(r, (int64_t)body_bytes);
  uint8_t attributes = (uint8_t)rec->attributes;
  size_t at = r->b.records.len;
  buf_append(&r->b.records, &attributes, 1);
  piece_push(r, false, at, 1);
  varlong_queue(r, timestamp_delta);
  varlong_queue(r, offset_delta);
  nullable_queue(r, rec->key);
  nullable_queue(r, rec->value);
  varlong_queue(r, rec->header_count);
  field_put(r, rec->headers_raw, rec->headers_raw_len);
}

/* The records now whole in inflated, until the queue holds bytes_max. A
 * record cut by the step's end waits for the next; once everything is
 * inflated, a cut record or bytes after the last are corrupt. */
static int records_take(struct rb_recompression *r, size_t bytes_max) {
  for (int64_t n = 0; n <= (int64_t)r->left && r->pending < bytes_max; n++) {
    size_t avail = r->inflated.len - r->parsed;
    if (r->left == 0) return avail == 0 ? KERR_NONE : KERR_CORRUPT_MESSAGE;
    struct rd rd;
    rd_init(&rd, avail > 0 ? r->inflated.data + r->parsed : no_records, avail);
    int32_t length = rd_varint(&rd);
    bool whole = !rd.err && length >= 0 && (size_t)length <= rd_left(&rd);
    if (!whole && !rd.err && length < 0) return KERR_CORRUPT_MESSAGE;
    if (!whole) return r->inflated_all ? KERR_CORRUPT_MESSAGE : KERR_NONE;
    size_t size = avail - rd_left(&rd) + (size_t)length;
    rd_init(&rd, r->inflated.data + r->parsed, size);
    struct rb_record rec;
    int32_t offset_delta;
    if (!record_read(&rd, &r->h, &rec, &offset_delta) || rd_left(&rd) != 0)
      return KERR_CORRUPT_MESSAGE;
    record_queue(r, &rec, offset_delta);
    r->parsed += size;
    r->left--;
  }
  return KERR_NONE;
}

/* Once the queue is empty: its encoded bytes go, and the records taken
 * leave inflated (moved only when what stays is no larger than what goes,
 * so each byte is moved a bounded number of times). */
static void queue_reset(struct rb_recompression *r) {
  ASSERT(r->pending == 0);
  buf_reset(&r->pieces);
  buf_reset(&r->b.records);
  r->piece_next = 0;
  r->piece_at = 0;
  size_t tail = r->inflated.len - r->parsed;
  if (r->parsed == 0 || tail > r->parsed) return;
  memmove(r->inflated.data, r->inflated.data + r->parsed, tail);
  r->inflated.len = tail;
  r->parsed = 0;
}

static int codec_feed(struct rb_recompression *r, const uint8_t *p, size_t len, bool last) {
  int rc = codec_stream_step(r->stream, p, len, last, r->out);
  r->crc = crc32c_extend(r->crc, r->out->data + r->crc_at, r->out->len - r->crc_at);
  r->crc_at = r->out->len;
  r->compressed += len;
  r->worked += len;
  return rc;
}

/* At most bytes_max of the queue to the codec; *fed grows by what was. */
static int queue_feed(struct rb_recompression *r, size_t bytes_max, size_t *fed) {
  for (size_t n = piece_count(r); r->piece_next < n && *fed < bytes_max;) {
    const struct rb_piece *p = &pieces(r)[r->piece_next];
    const struct buf *from = p->in_place ? &r->inflated : &r->b.records;
    size_t take = p->len - r->piece_at;
    if (take > bytes_max - *fed) take = bytes_max - *fed;
    int rc = codec_feed(r, from->data + p->at + r->piece_at, take, false);
    if (rc != KERR_NONE) return rc;
    *fed += take;
    r->pending -= take;
    r->piece_at += take;
    if (r->piece_at == p->len) {
      r->piece_next++;
      r->piece_at = 0;
    }
  }
  if (r->piece_next == piece_count(r)) queue_reset(r);
  return KERR_NONE;
}

/* Feeds bytes_max, taking more records each time the queue empties (and
 * only then, so that inflated and the queue shed what was fed). Rounds:
 * the rest of the queue, then what was taken, then one that finds no
 * more whole records. */
static int records_feed(struct rb_recompression *r, size_t bytes_max) {
  size_t fed = 0;
  for (int round = 0; round < 4 && fed < bytes_max; round++) {
    if (r->pending == 0) {
      int rc = records_take(r, bytes_max);
      if (rc != KERR_NONE) return rc;
    }
    if (r->pending == 0) return KERR_NONE;
    int rc = queue_feed(r, bytes_max, &fed);
    if (rc != KERR_NONE) return rc;
  }
  return KERR_NONE;
}

/* The stream's end, then the batch's length and CRC. */
static int batch_finish(struct rb_recompression *r) {
  int rc = codec_feed(r, no_records, 0, true);
  if (rc != KERR_NONE) return rc;
  size_t size = r->out->len - r->start;
  if (size - RB_LOG_OVERHEAD > INT32_MAX) return KERR_MESSAGE_TOO_LARGE;
  be32_put(r->out->data + r->start + RB_OFF_LENGTH, (uint32_t)(size - RB_LOG_OVERHEAD));
  be32_put(r->out->data + r->start + RB_OFF_CRC, r->crc);
  struct rb_header h;
  ASSERT(rb_frame(r->out->data + r->start, size, &h) == size);
  r->finished = true;
  return KERR_NONE;
}

int rb_recompress_begin(struct rb_recompression *r, const uint8_t *batch, size_t len,
                        enum rb_codec codec, size_t out_bytes_max, struct buf *out) {
  memset(r, 0, sizeof *r);
  r->out = out;
  r->start = out->len;
  r->codec = codec;
  buf_init(&r->inflated);
  buf_init(&r->pieces);
  rb_builder_init(&r->b, 0, 0);
  if ((unsigned)codec > RB_CODEC_ZSTD) return KERR_UNSUPPORTED_COMPRESSION_TYPE;
  size_t size = rb_frame(batch, len, &r->h);
  if (size == 0 || r->h.magic != RB_MAGIC || r->h.record_count < 0) return KERR_CORRUPT_MESSAGE;
  enum rb_codec from = (enum rb_codec)(r->h.attributes & RB_ATTR_COMPRESSION_MASK);
  /* The budget is on inflating: an uncompressed batch is what it is. */
  int rc = codec_inflate_begin(from, batch + RB_HEADER_BYTES, size - RB_HEADER_BYTES,
                               from == RB_CODEC_NONE ? SIZE_MAX : out_bytes_max, &r->inflater);
  if (rc != KERR_NONE) return rc;
  r->left = r->h.record_count;
  rb_builder_free(&r->b);
  builder_from_header(&r->b, &r->h);
  /* Kept as the producer (or compaction) left them, not recomputed; the
   * header is whole but for its length and CRC, which the last step
   * writes; the CRC follows the output step by step. */
  r->b.max_timestamp = r->h.max_timestamp;
  r->b.last_offset_delta = r->h.last_offset_delta;
  r->b.count = r->h.record_count;
  header_put(buf_extend(out, RB_HEADER_BYTES), &r->b, codec, RB_HEADER_BYTES);
  r->crc =
      crc32c(out->data + r->start + RB_OFF_ATTRIBUTES, RB_HEADER_BYTES - RB_OFF_ATTRIBUTES);
  r->crc_at = out->len;
  return codec_stream_begin(codec, CODEC_LEN_UNKNOWN, out, &r->stream);
}

int rb_recompress_step(struct rb_recompression *r, size_t bytes_max, bool *done) {
  ASSERT(r->stream != NULL && !r->finished && bytes_max > 0);
  *done = false;
  if (!r->inflated_all) {
    size_t before = codec_inflated(r->inflater);
    int rc = codec_inflate_step(r->inflater, bytes_max, &r->inflated, &r->inflated_all);
    r->worked += codec_inflated(r->inflater) - before;
    if (rc != KERR_NONE) return rc;
  }
  int rc = records_feed(r, bytes_max);
  if (rc != KERR_NONE) return rc;
  bool all_taken = r->inflated_all && r->left == 0 && r->parsed == r->inflated.len;
  if (!all_taken || r->pending > 0) return KERR_NONE;
  rc = batch_finish(r);
  *done = rc == KERR_NONE;
  return rc;
}

void rb_recompress_end(struct rb_recompression *r) {
  if (!r->finished) r->out->len = r->start;
  codec_stream_free(r->stream);
  r->stream = NULL;
  codec_inflate_free(r->inflater);
  r->inflater = NULL;
  buf_free(&r->inflated);
  buf_free(&r->pieces);
  rb_builder_free(&r->b);
}

int rb_recompress(const uint8_t *batch, size_t len, enum rb_codec codec, size_t out_bytes_max,
                  struct buf *out) {
  struct rb_recompression r;
  int rc = rb_recompress_begin(&r, batch, len, codec, out_bytes_max, out);
  bool done = false;
  /* Steps as large as the batch can be: one does it all but for the
   * snappy blocks an inflating step may stop after. */
  for (size_t n = 0; rc == KERR_NONE && !done && n <= len + 2; n++)
    rc = rb_recompress_step(&r, SIZE_MAX / 2, &done);
  ASSERT(rc != KERR_NONE || done);
  rb_recompress_end(&r);
  return rc;
}

/* ---- compaction ---- */

int rb_filter(const uint8_t *batch, size_t len, rb_keep_fn keep, void *ctx,
              int64_t delete_horizon_ms, size_t out_bytes_max, struct buf *out,
              int32_t *kept_out) {
  ASSERT(keep != NULL && kept_out != NULL);
  struct buf scratch;
  buf_init(&scratch);
  struct rb_iter it;
  int rc = rb_iter_init(&it, batch, len, &scratch, out_bytes_max);
  struct rb_builder b;
  builder_from_header(&b, &it.h);
  if (delete_horizon_ms >= 0) {
    b.base_timestamp = delete_horizon_ms;
    b.attributes = (int16_t)(b.attributes | RB_ATTR_DELETE_HORIZON);
  }
  struct rb_record rec;
  for (int64_t n = 0; rc == KERR_NONE && n <= (int64_t)it.h.record_count; n++) {
    int got = rb_iter_next(&it, &rec);
    if (got <= 0) {
      rc = -got;
      break;
    }
    if (keep(ctx, &rec))
      record_put(&b, &rec, (int32_t)sub_wrapping(rec.offset, it.h.base_offset), NULL);
  }
  *kept_out = b.count;
  /* Kept as the producer left them, not recomputed from what is kept. */
  b.max_timestamp = it.h.max_timestamp;
  b.last_offset_delta = it.h.last_offset_delta;
  enum rb_codec codec = (enum rb_codec)(it.h.attributes & RB_ATTR_COMPRESSION_MASK);
  if (rc == KERR_NONE) rc = builder_finish(&b, b.count > 0 ? codec : RB_CODEC_NONE, out);
  rb_builder_free(&b);
  buf_free(&scratch);
  return rc;
}
