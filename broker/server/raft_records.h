/* The Raft core's entries as the metadata log's record batches (KIP-595:
 * __cluster_metadata is an ordinary partition log of magic 2 batches).
 *
 * One entry is one batch of one record, with the entry's offset as its
 * baseOffset and its epoch as its partitionLeaderEpoch:
 *   - a data entry: a data batch whose record (key null) has the entry's
 *     payload as its value: a metadata record value (meta/codec.h);
 *   - a LeaderChange entry: a control batch with a LeaderChangeMessage
 *     (meta_leader_change_write) naming the leader the core put in the
 *     payload (4 bytes, big-endian), the voters, and the leader as the one
 *     granting voter it knows of (the core does not report the others).
 * A batch of several records (Kafka's controller writes them) is refused
 * by the reader for now: the core's entries are single records, and a
 * follower must be able to append exactly the entries its core took. */
#ifndef SLUICE_RAFT_RECORDS_H
#define SLUICE_RAFT_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "raft/raft.h"

enum {
  /* A batch holding one entry: 61 bytes of header and a record of at most
   * RAFT_PAYLOAD_MAX bytes of value (and its 20 bytes of framing at most),
   * or a LeaderChangeMessage of 16 voters (under 384 bytes). */
  RAFT_BATCH_BYTES_MAX = RAFT_PAYLOAD_MAX + 128,
};

/* Appends the batch of entry e at offset; timestamp_ms stamps it. */
void raft_records_encode(const struct raft_entry *e, int64_t offset, int64_t timestamp_ms,
                         const int32_t *voters, uint32_t voter_count, struct buf *out);

/* Where one batch of a decoded blob lies. */
struct raft_batch_span {
  const uint8_t *bytes;
  uint32_t size;
};

/* Why raft_records_decode stopped before the end of its input. */
enum raft_records_stop {
  RAFT_RECORDS_END,         /* consumed everything, or reached max */
  RAFT_RECORDS_PARTIAL,     /* a partial batch at the end (a fetch may cut one) */
  RAFT_RECORDS_CORRUPT,     /* framing, magic or CRC */
  RAFT_RECORDS_UNSUPPORTED, /* several records, an unknown control type, too large */
  RAFT_RECORDS_GAP,         /* offsets that do not follow each other */
};

/* Reads at most max entries from whole batches at p: entries[i] (and spans[i],
 * which point into p) is the batch at offset *base_out + i. Returns the
 * count; *stop says why it stopped (RAFT_RECORDS_END when it used all of
 * len or reached max). Never asserts on its input. */
uint32_t raft_records_decode(const uint8_t *p, size_t len, uint32_t max,
                             struct raft_entry *entries, struct raft_batch_span *spans,
                             int64_t *base_out, enum raft_records_stop *stop);

const char *raft_records_stop_name(enum raft_records_stop stop);

#endif
