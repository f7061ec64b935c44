/* The in-memory log: a ring of the entries from the log start offset (the
 * snapshot's end) to the end offset. The leader serves fetches from it and a
 * follower truncates it; the adapter keeps the durable copy. The epoch of
 * every offset is the entry's own (KIP-595 replaces Raft's term with the
 * leader epoch), so OffsetForLeaderEpoch is a backwards scan of at most
 * RAFT_LOG_ENTRIES_MAX entries. The ring starts inline and doubles while
 * the log needs more (docs/raft.md, "What the core keeps"). */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "raft/internal.h"

uint32_t raft_log_capacity(const struct raft *r) {
  ASSERT(r->grown == NULL || r->log_capacity > RAFT_LOG_ENTRIES_INITIAL);
  ASSERT(r->log_capacity <= RAFT_LOG_ENTRIES_MAX);
  return r->grown != NULL ? r->log_capacity : RAFT_LOG_ENTRIES_INITIAL;
}

static struct raft_entry *slot(struct raft *r, int64_t offset) {
  ASSERT(offset >= 0);
  struct raft_entry *ring = r->grown != NULL ? r->grown : r->entries;
  return &ring[offset % raft_log_capacity(r)];
}

const struct raft_entry *raft_entry_at(const struct raft *r, int64_t offset) {
  ASSERT(offset >= r->log_start_offset);
  ASSERT(offset < r->end_offset);
  const struct raft_entry *ring = r->grown != NULL ? r->grown : r->entries;
  return &ring[offset % raft_log_capacity(r)];
}

/* Doubles the ring, moving each entry to its slot in the larger one. Only
 * a log that holds more than the inline ring pays for the heap; the bound
 * keeps a node's memory at RAFT_LOG_ENTRIES_MAX entries. */
static void grow(struct raft *r) {
  uint32_t cap = raft_log_capacity(r);
  ASSERT(cap < RAFT_LOG_ENTRIES_MAX && cap * 2 <= RAFT_LOG_ENTRIES_MAX);
  struct raft_entry *ring = calloc((size_t)cap * 2, sizeof *ring);
  ASSERT(ring != NULL);
  for (int64_t o = r->log_start_offset; o < r->end_offset; o++)
    ring[o % (cap * 2)] = *raft_entry_at(r, o);
  free(r->grown);
  r->grown = ring;
  r->log_capacity = cap * 2;
}

void raft_release(struct raft *r) {
  free(r->grown);
  r->grown = NULL;
  r->log_capacity = 0;
}

int32_t rlog_epoch_at(const struct raft *r, int64_t offset) {
  ASSERT(offset >= r->log_start_offset - 1);
  ASSERT(offset < r->end_offset);
  if (offset == r->log_start_offset - 1) return r->snapshot.epoch;
  return raft_entry_at(r, offset)->epoch;
}

int32_t rlog_last_epoch(const struct raft *r) {
  if (r->end_offset == 0) return 0;
  return rlog_epoch_at(r, r->end_offset - 1);
}

/* Full for records: the last slot is kept for the LeaderChange record a
 * follower appends if it becomes leader. */
bool rlog_full(const struct raft *r) {
  ASSERT(r->end_offset - r->log_start_offset <= RAFT_LOG_ENTRIES_MAX);
  return r->end_offset - r->log_start_offset >= RAFT_LOG_ENTRIES_MAX - 1;
}

int64_t rlog_append(struct raft *r, int32_t epoch, uint8_t type, const void *payload,
                    uint32_t size) {
  ASSERT(r->end_offset - r->log_start_offset < RAFT_LOG_ENTRIES_MAX);
  ASSERT(size <= RAFT_PAYLOAD_MAX);
  if (r->end_offset - r->log_start_offset >= (int64_t)raft_log_capacity(r)) grow(r);
  ASSERT(epoch >= rlog_last_epoch(r) && epoch <= r->epoch);
  int64_t offset = r->end_offset;
  struct raft_entry *e = slot(r, offset);
  memset(e, 0, sizeof *e);
  e->epoch = epoch;
  e->type = type;
  e->size = (uint16_t)size;
  if (size > 0) memcpy(e->payload, payload, size);
  r->end_offset = offset + 1;
  return offset;
}

/* Removes the entries at and above end_offset (a follower whose log
 * diverged, KIP-595 Fetch: DivergingEpoch). Committed entries never go. */
void rlog_truncate(struct raft *r, int64_t end_offset) {
  ASSERT(r->role != RAFT_LEADER);
  ASSERT(end_offset >= r->high_watermark && end_offset >= r->log_start_offset);
  if (end_offset >= r->end_offset) return;
  if (end_offset < r->written_end) {
    r->pending_truncate = r->pending_truncate < 0 || end_offset < r->pending_truncate
                              ? end_offset
                              : r->pending_truncate;
    r->written_end = end_offset;
  }
  if (end_offset < r->durable_end) r->durable_end = end_offset;
  r->end_offset = end_offset;
  ASSERT(r->durable_end <= r->written_end && r->written_end <= r->end_offset);
}

/* A snapshot covers the entries below start_offset (KIP-630). */
void rlog_trim_prefix(struct raft *r, int64_t start_offset) {
  ASSERT(start_offset > r->log_start_offset && start_offset <= r->end_offset);
  ASSERT(start_offset <= r->high_watermark);
  r->snapshot = (struct raft_snapshot_id){start_offset, rlog_epoch_at(r, start_offset - 1)};
  r->log_start_offset = start_offset;
}

/* A fetched snapshot replaces the whole log: it becomes empty at the
 * snapshot's end, and the persist that follows tells the adapter. */
void rlog_install_snapshot(struct raft *r, struct raft_snapshot_id id, int64_t size_bytes) {
  ASSERT(id.end_offset >= r->high_watermark);
  ASSERT(id.end_offset > r->log_start_offset);
  r->snapshot = id;
  r->snapshot_size_bytes = size_bytes;
  r->log_start_offset = r->end_offset = id.end_offset;
  r->written_end = r->durable_end = id.end_offset;
  r->pending_truncate = -1;
  r->install_pending = true;
  r->high_watermark = id.end_offset;
}

struct raft_epoch_end_offset rlog_end_offset_for_epoch(const struct raft *r, int32_t epoch) {
  ASSERT(epoch >= 0);
  for (int64_t o = r->end_offset - 1; o >= r->log_start_offset; o--) {
    int32_t e = raft_entry_at(r, o)->epoch;
    if (e <= epoch) return (struct raft_epoch_end_offset){e, o + 1};
  }
  if (r->log_start_offset == 0) return (struct raft_epoch_end_offset){0, 0};
  if (r->snapshot.epoch <= epoch)
    return (struct raft_epoch_end_offset){r->snapshot.epoch, r->log_start_offset};
  return (struct raft_epoch_end_offset){-1, -1};
}
