/* Entries to record batches and back (raft_records.h). */
#include "server/raft_records.h"

#include <string.h>

#include "base/assert.h"
#include "base/endian.h"
#include "meta/codec.h"
#include "proto/record_batch.h"

static void encode_leader_change(const struct raft_entry *e, int64_t offset,
                                 int64_t timestamp_ms, const int32_t *voters,
                                 uint32_t voter_count, struct buf *out) {
  ASSERT(e->size == 4 && voter_count <= META_VOTERS_MAX);
  struct meta_leader_change change;
  memset(&change, 0, sizeof change);
  change.leader_id = (int32_t)be32_get(e->payload);
  change.voter_count = (int32_t)voter_count;
  for (uint32_t i = 0; i < voter_count; i++) change.voters[i] = voters[i];
  change.granting_count = 1;
  change.granting_voters[0] = change.leader_id;
  int rc = meta_leader_change_write(out, offset, e->epoch, timestamp_ms, &change);
  ASSERT(rc == 0);
}

void raft_records_encode(const struct raft_entry *e, int64_t offset, int64_t timestamp_ms,
                         const int32_t *voters, uint32_t voter_count, struct buf *out) {
  ASSERT(offset >= 0 && e->epoch >= 0 && e->size <= RAFT_PAYLOAD_MAX);
  size_t before = out->len;
  if (e->type == RAFT_ENTRY_LEADER_CHANGE) {
    encode_leader_change(e, offset, timestamp_ms, voters, voter_count, out);
  } else {
    ASSERT(e->type == RAFT_ENTRY_DATA);
    struct rb_builder b;
    rb_builder_init(&b, offset, timestamp_ms);
    b.leader_epoch = e->epoch;
    struct kbytes value = {e->payload, (int32_t)e->size};
    rb_builder_add(&b, timestamp_ms, (struct kbytes){NULL, -1}, value, NULL, 0);
    int rc = rb_builder_finish(&b, RB_CODEC_NONE, out);
    rb_builder_free(&b);
    ASSERT(rc == 0);
  }
  ASSERT(out->len - before <= RAFT_BATCH_BYTES_MAX);
}

/* A control batch: its LeaderChangeMessage's leader as the core's payload. */
static enum raft_records_stop decode_control(const uint8_t *p, size_t size,
                                             struct raft_entry *e) {
  struct meta_batch batch;
  struct meta_controls controls;
  meta_controls_init(&controls);
  int rc = meta_batch_read(p, size, &batch, NULL, &controls);
  enum raft_records_stop stop = RAFT_RECORDS_END;
  if (rc == META_CODEC_ECORRUPT || rc == META_CODEC_ECRC)
    stop = RAFT_RECORDS_CORRUPT;
  else if (rc != 0 || controls.count != 1 ||
           controls.items[0].type != META_CONTROL_LEADER_CHANGE ||
           controls.items[0].leader_change.leader_id < 0)
    stop = RAFT_RECORDS_UNSUPPORTED;
  if (stop == RAFT_RECORDS_END) {
    e->type = RAFT_ENTRY_LEADER_CHANGE;
    e->size = 4;
    be32_put(e->payload, (uint32_t)controls.items[0].leader_change.leader_id);
  }
  meta_controls_free(&controls);
  return stop;
}

/* A data batch: its one record's value as the payload. */
static enum raft_records_stop decode_data(const uint8_t *p, size_t size, struct raft_entry *e) {
  struct buf scratch;
  buf_init(&scratch);
  struct rb_iter it;
  struct rb_record rec;
  enum raft_records_stop stop = RAFT_RECORDS_END;
  if (rb_iter_init(&it, p, size, &scratch, RAFT_BATCH_BYTES_MAX) != 0 ||
      rb_iter_next(&it, &rec) != 1 || rec.value.len < 0)
    stop = RAFT_RECORDS_CORRUPT;
  else if (rec.value.len > RAFT_PAYLOAD_MAX)
    stop = RAFT_RECORDS_UNSUPPORTED;
  if (stop == RAFT_RECORDS_END) {
    e->type = RAFT_ENTRY_DATA;
    e->size = (uint16_t)rec.value.len;
    if (rec.value.len > 0) memcpy(e->payload, rec.value.ptr, (size_t)rec.value.len);
  }
  buf_free(&scratch);
  return stop;
}

/* One whole batch at p (size bytes) that must be at offset `expect`. */
static enum raft_records_stop decode_one(const uint8_t *p, size_t size,
                                         const struct rb_header *h, int64_t expect,
                                         struct raft_entry *e) {
  if (!rb_header_valid(h) || rb_check_one(p, size) != size) return RAFT_RECORDS_CORRUPT;
  if (expect >= 0 && h->base_offset != expect) return RAFT_RECORDS_GAP;
  if (h->record_count != 1 || h->last_offset_delta != 0 || h->leader_epoch < 0 ||
      size > RAFT_BATCH_BYTES_MAX)
    return RAFT_RECORDS_UNSUPPORTED;
  memset(e, 0, sizeof *e);
  e->epoch = h->leader_epoch;
  return (h->attributes & RB_ATTR_CONTROL) ? decode_control(p, size, e)
                                           : decode_data(p, size, e);
}

uint32_t raft_records_decode(const uint8_t *p, size_t len, uint32_t max,
                             struct raft_entry *entries, struct raft_batch_span *spans,
                             int64_t *base_out, enum raft_records_stop *stop) {
  ASSERT(p != NULL || len == 0);
  uint32_t n = 0;
  size_t at = 0;
  *stop = RAFT_RECORDS_END;
  *base_out = -1;
  while (n < max && at < len) {
    struct rb_header h;
    size_t size = rb_frame(p + at, len - at, &h);
    if (size == 0) {
      /* Whole header, length within bounds, bytes missing: a cut batch. */
      bool cut = len - at < RB_HEADER_BYTES || (h.length >= RB_HEADER_BYTES - RB_LOG_OVERHEAD &&
                                                rb_header_size(&h) > len - at);
      *stop = cut ? RAFT_RECORDS_PARTIAL : RAFT_RECORDS_CORRUPT;
      break;
    }
    int64_t expect = n == 0 ? -1 : *base_out + n;
    *stop = decode_one(p + at, size, &h, expect, &entries[n]);
    if (*stop != RAFT_RECORDS_END) break;
    if (n == 0) *base_out = h.base_offset;
    spans[n] = (struct raft_batch_span){p + at, (uint32_t)size};
    n++;
    at += size;
  }
  ASSERT(n <= max && at <= len);
  return n;
}

const char *raft_records_stop_name(enum raft_records_stop stop) {
  switch (stop) {
  case RAFT_RECORDS_END:
    return "end";
  case RAFT_RECORDS_PARTIAL:
    return "a partial batch";
  case RAFT_RECORDS_CORRUPT:
    return "a corrupt batch";
  case RAFT_RECORDS_UNSUPPORTED:
    return "a batch Sluice does not read yet";
  case RAFT_RECORDS_GAP:
    return "a gap in offsets";
  }
  return "?";
}
