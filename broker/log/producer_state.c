#include "log/producer_state.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/crc32c.h"
#include "base/endian.h"

enum {
  ENTRY_FIXED_BYTES = 8 + 2 + 8 + 1,
  BATCH_BYTES = 4 + 4 + 8 + 8,
  CRC_AT = 6,
  CRC_FROM = 10,
};

static const uint8_t SNAPSHOT_MAGIC[4] = {'S', 'L', 'P', 'S'};

void producer_state_init(struct producer_state *s, int64_t end_offset) {
  ASSERT(end_offset >= 0);
  memset(s, 0, sizeof *s);
  s->end_offset = end_offset;
}

void producer_state_free(struct producer_state *s) {
  free(s->entries);
  memset(s, 0, sizeof *s);
}

void producer_state_reset(struct producer_state *s, int64_t end_offset) {
  ASSERT(end_offset >= 0);
  s->count = 0;
  s->end_offset = end_offset;
}

/* The index of the first entry whose id >= producer_id. */
static int32_t lower_bound(const struct producer_state *s, int64_t producer_id) {
  int32_t lo = 0, hi = s->count;
  while (lo < hi) {
    int32_t mid = lo + (hi - lo) / 2;
    if (s->entries[mid].producer_id < producer_id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

const struct producer_entry *producer_state_find(const struct producer_state *s,
                                                 int64_t producer_id) {
  int32_t i = lower_bound(s, producer_id);
  return i < s->count && s->entries[i].producer_id == producer_id ? &s->entries[i] : NULL;
}

static int32_t last_sequence(const struct rb_header *h) {
  return rb_sequence_add(h->base_sequence, h->last_offset_delta);
}

/* Kafka's inSequence: the next one, or 0 after INT32_MAX. */
static bool in_sequence(int32_t last, int32_t next) {
  return (int64_t)next == (int64_t)last + 1 || (next == 0 && last == INT32_MAX);
}

static bool find_batch(const struct producer_entry *e, const struct rb_header *h,
                       struct producer_batch *out) {
  int32_t last = last_sequence(h);
  for (int32_t i = 0; i < e->batch_count; i++) {
    const struct producer_batch *b = &e->batches[i];
    if (b->first_sequence != h->base_sequence || b->last_sequence != last) continue;
    *out = *b;
    return true;
  }
  return false;
}

enum producer_verdict producer_state_check(const struct producer_state *s,
                                           const struct rb_header *h,
                                           struct producer_batch *duplicate_out) {
  ASSERT(h->producer_id >= 0 && duplicate_out != NULL);
  if (h->producer_epoch < 0 || h->base_sequence < 0 || h->last_offset_delta < 0)
    return PRODUCER_INVALID;
#ifdef SLUICE_MUTANT_SEQUENCE_CHECK_DROPPED /* mutant: every batch is new: retries stored      \
                                               twice */
  return PRODUCER_NEW;
#endif
  const struct producer_entry *e = producer_state_find(s, h->producer_id);
  if (!e) return PRODUCER_NEW; /* KIP-360: any sequence from a producer we do not know */
  if (h->producer_epoch == e->epoch && find_batch(e, h, duplicate_out))
    return PRODUCER_DUPLICATE;
  if (h->producer_epoch < e->epoch) return PRODUCER_STALE_EPOCH;
  if (h->producer_epoch > e->epoch)
    return h->base_sequence == 0 ? PRODUCER_NEW : PRODUCER_OUT_OF_ORDER;
  if (e->batch_count == 0) return PRODUCER_NEW;
  int32_t last = e->batches[e->batch_count - 1].last_sequence;
  return in_sequence(last, h->base_sequence) ? PRODUCER_NEW : PRODUCER_OUT_OF_ORDER;
}

/* The producer idle longest (ties: the lowest id) goes. */
static void evict_one(struct producer_state *s) {
  ASSERT(s->count > 0);
  int32_t victim = 0;
  for (int32_t i = 1; i < s->count; i++)
    if (s->entries[i].last_timestamp_ms < s->entries[victim].last_timestamp_ms) victim = i;
  memmove(&s->entries[victim], &s->entries[victim + 1],
          (size_t)(s->count - victim - 1) * sizeof s->entries[0]);
  s->count--;
}

static struct producer_entry *entry_insert(struct producer_state *s, int64_t producer_id) {
  if (s->count == PRODUCER_IDS_MAX) evict_one(s);
  ASSERT(s->count < PRODUCER_IDS_MAX);
  if (s->count == s->cap) {
    int32_t cap = s->cap ? s->cap * 2 : 8;
    struct producer_entry *e = realloc(s->entries, (size_t)cap * sizeof *e);
    ASSERT(e != NULL);
    s->entries = e;
    s->cap = cap;
  }
  int32_t i = lower_bound(s, producer_id);
  memmove(&s->entries[i + 1], &s->entries[i], (size_t)(s->count - i) * sizeof s->entries[0]);
  s->count++;
  struct producer_entry *e = &s->entries[i];
  memset(e, 0, sizeof *e);
  e->producer_id = producer_id;
  e->epoch = -1;
  return e;
}

void producer_state_note(struct producer_state *s, const struct rb_header *h) {
  ASSERT(h->base_offset >= s->end_offset && h->last_offset_delta >= 0);
  s->end_offset = rb_header_last_offset(h) + 1;
  if (h->producer_id < 0 || (h->attributes & RB_ATTR_CONTROL) || h->producer_epoch < 0 ||
      h->base_sequence < 0)
    return;
  int32_t i = lower_bound(s, h->producer_id);
  struct producer_entry *e = i < s->count && s->entries[i].producer_id == h->producer_id
                                 ? &s->entries[i]
                                 : entry_insert(s, h->producer_id);
  if (e->epoch != h->producer_epoch) { /* a new epoch starts over */
    e->epoch = h->producer_epoch;
    e->batch_count = 0;
  }
  if (e->batch_count == PRODUCER_BATCHES_KEPT) {
    memmove(&e->batches[0], &e->batches[1], (PRODUCER_BATCHES_KEPT - 1) * sizeof e->batches[0]);
    e->batch_count--;
  }
  e->batches[e->batch_count++] = (struct producer_batch){
      .first_sequence = h->base_sequence,
      .last_sequence = last_sequence(h),
      .first_offset = h->base_offset,
      .last_offset = rb_header_last_offset(h),
  };
  e->last_timestamp_ms = h->max_timestamp;
  ASSERT(e->batch_count >= 1 && e->batch_count <= PRODUCER_BATCHES_KEPT);
}

void producer_state_advance(struct producer_state *s, int64_t end_offset) {
  if (end_offset > s->end_offset) s->end_offset = end_offset;
}

int32_t producer_state_expire(struct producer_state *s, int64_t now_ms, int64_t expiration_ms) {
  ASSERT(expiration_ms >= 0);
  int32_t kept = 0;
  for (int32_t i = 0; i < s->count; i++) {
    const struct producer_entry *e = &s->entries[i];
    if (now_ms - e->last_timestamp_ms >= expiration_ms) continue;
    if (kept != i) s->entries[kept] = *e;
    kept++;
  }
  int32_t gone = s->count - kept;
  s->count = kept;
  return gone;
}

/* ---- snapshots ---- */

void producer_state_encode(const struct producer_state *s, struct buf *out) {
  size_t start = out->len;
  uint8_t *h = buf_extend(out, PRODUCER_SNAPSHOT_HEADER_BYTES);
  memcpy(h, SNAPSHOT_MAGIC, sizeof SNAPSHOT_MAGIC);
  be16_put(h + 4, PRODUCER_SNAPSHOT_VERSION);
  be64_put(h + 10, (uint64_t)s->end_offset);
  be32_put(h + 18, (uint32_t)s->count);
  for (int32_t i = 0; i < s->count; i++) {
    const struct producer_entry *e = &s->entries[i];
    uint8_t *p = buf_extend(out, ENTRY_FIXED_BYTES + (size_t)e->batch_count * BATCH_BYTES);
    be64_put(p, (uint64_t)e->producer_id);
    be16_put(p + 8, (uint16_t)e->epoch);
    be64_put(p + 10, (uint64_t)e->last_timestamp_ms);
    p[18] = (uint8_t)e->batch_count;
    p += ENTRY_FIXED_BYTES;
    for (int32_t b = 0; b < e->batch_count; b++, p += BATCH_BYTES) {
      be32_put(p, (uint32_t)e->batches[b].first_sequence);
      be32_put(p + 4, (uint32_t)e->batches[b].last_sequence);
      be64_put(p + 8, (uint64_t)e->batches[b].first_offset);
      be64_put(p + 16, (uint64_t)e->batches[b].last_offset);
    }
  }
  uint8_t *base = out->data + start; /* buf_extend may have moved it */
  be32_put(base + CRC_AT, crc32c(base + CRC_FROM, out->len - start - CRC_FROM));
}

/* One batch read back: sequences and offsets that a note could have made. */
static bool batch_sane(const struct producer_batch *b, int64_t end_offset,
                       const struct producer_batch *before) {
  if (b->first_sequence < 0 || b->last_sequence < 0) return false;
  if (b->first_offset < 0 || b->last_offset < b->first_offset || b->last_offset >= end_offset)
    return false;
  return before == NULL || before->last_offset < b->first_offset;
}

/* One entry at *p (left bytes); false if it does not fit or make sense. */
static bool decode_entry(const uint8_t **p, size_t *left, int64_t end_offset,
                         struct producer_entry *e) {
  if (*left < ENTRY_FIXED_BYTES) return false;
  const uint8_t *q = *p;
  memset(e, 0, sizeof *e);
  e->producer_id = (int64_t)be64_get(q);
  e->epoch = (int16_t)be16_get(q + 8);
  e->last_timestamp_ms = (int64_t)be64_get(q + 10);
  e->batch_count = q[18];
  if (e->producer_id < 0 || e->epoch < 0 || e->batch_count > PRODUCER_BATCHES_KEPT)
    return false;
  size_t need = ENTRY_FIXED_BYTES + (size_t)e->batch_count * BATCH_BYTES;
  if (*left < need) return false;
  q += ENTRY_FIXED_BYTES;
  for (int32_t b = 0; b < e->batch_count; b++, q += BATCH_BYTES) {
    struct producer_batch *pb = &e->batches[b];
    pb->first_sequence = (int32_t)be32_get(q);
    pb->last_sequence = (int32_t)be32_get(q + 4);
    pb->first_offset = (int64_t)be64_get(q + 8);
    pb->last_offset = (int64_t)be64_get(q + 16);
    if (!batch_sane(pb, end_offset, b > 0 ? &e->batches[b - 1] : NULL)) return false;
  }
  *p += need;
  *left -= need;
  return true;
}

static bool decode_header(const uint8_t *data, size_t len, int64_t *end_offset,
                          int32_t *count) {
  if (len < PRODUCER_SNAPSHOT_HEADER_BYTES) return false;
  if (memcmp(data, SNAPSHOT_MAGIC, sizeof SNAPSHOT_MAGIC) != 0) return false;
  if (be16_get(data + 4) != PRODUCER_SNAPSHOT_VERSION) return false;
  if (be32_get(data + CRC_AT) != crc32c(data + CRC_FROM, len - CRC_FROM)) return false;
  *end_offset = (int64_t)be64_get(data + 10);
  *count = (int32_t)be32_get(data + 18);
  return *end_offset >= 0 && *count >= 0 && *count <= PRODUCER_IDS_MAX;
}

bool producer_state_decode(const uint8_t *data, size_t len, struct producer_state *out) {
  ASSERT(data != NULL || len == 0);
  producer_state_reset(out, 0);
  int64_t end_offset;
  int32_t count;
  if (!decode_header(data, len, &end_offset, &count)) return false;
  const uint8_t *p = data + PRODUCER_SNAPSHOT_HEADER_BYTES;
  size_t left = len - PRODUCER_SNAPSHOT_HEADER_BYTES;
  for (int32_t i = 0; i < count; i++) {
    struct producer_entry e;
    bool ok = decode_entry(&p, &left, end_offset, &e);
    if (ok && out->count > 0) ok = out->entries[out->count - 1].producer_id < e.producer_id;
    if (!ok) {
      producer_state_reset(out, 0);
      return false;
    }
    *entry_insert(out, e.producer_id) = e; /* at the end: ids increase */
  }
  if (left != 0) {
    producer_state_reset(out, 0);
    return false;
  }
  out->end_offset = end_offset;
  ASSERT(out->count == count);
  return true;
}
