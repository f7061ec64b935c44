/* The metadata log's record format: KRaft's __cluster_metadata as Kafka
 * writes it (KIP-500, KIP-595, KIP-631).
 *
 * A metadata record is the value of one record in an ordinary record batch
 * (magic 2, key null): frame version, apiKey and record version as unsigned
 * varints, then the record's body in its flexible encoding
 * (proto/metadata_gen.h). Frame version 1 is the only one Kafka reads (0 was
 * the 2.8 preview's and is refused). Raft's own entries are control batches
 * (attributes bit 5): each record's key is the control key (int16 version 0,
 * int16 type) and its value the control message, whose first field is the
 * version it was written in. The Raft leader starts its epoch with a
 * LeaderChangeMessage; a snapshot starts with a SnapshotHeaderRecord and
 * ends with a SnapshotFooterRecord (meta/snapshot.h).
 *
 * Decoding trusts nothing: every input either decodes or returns one of the
 * errors below; it never reads past its end and never asserts. Encoding
 * asserts its inputs are valid meta_records (counts within bounds). */
#ifndef SLUICE_META_CODEC_H
#define SLUICE_META_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "meta/records.h"
#include "proto/record_batch.h"

/* Errors: negative, outside the ENV_E* values. */
enum meta_codec_err {
  META_CODEC_OK = 0,
  META_CODEC_ECORRUPT = -301,     /* does not parse: short, malformed, bytes left over */
  META_CODEC_EFRAME = -302,       /* a frame version other than 1 */
  META_CODEC_EKEY = -303,         /* an apiKey (or control type) no schema has */
  META_CODEC_EVERSION = -304,     /* a version outside the schema's range */
  META_CODEC_EUNSUPPORTED = -305, /* a Kafka record Sluice has no meta_record for */
  META_CODEC_ELIMIT = -306,       /* a value past Sluice's bounds (name length, replicas) */
  META_CODEC_ECRC = -307,         /* a batch whose CRC-32C does not match */
  META_CODEC_EBATCH = -308,       /* batch framing: magic, counts, offsets, record kind */
  META_CODEC_ESNAPSHOT = -309,    /* snapshot structure: header first, footer last */
};

/* The error's name ("META_CODEC_EKEY"), or "?" for another value. */
const char *meta_codec_strerror(int err);

/* ---- metadata records ---- */

/* The version Sluice writes of a record type: its schema's highest. */
int16_t meta_record_write_version(enum meta_record_type type);

/* Appends r as a metadata record value, at its write version or at
 * `version` (within the schema's range). The record's offset is not part of
 * it: a record's offset is its place in the log. Fields Sluice does not model
 * are written at their defaults (no removing or adding replicas, no
 * directories, no ELR). */
void meta_record_encode(const struct meta_record *r, struct buf *out);
void meta_record_encode_version(const struct meta_record *r, int16_t version, struct buf *out);

/* Decodes one whole value (len bytes, nothing after the record) into *out,
 * with out->offset = offset. 0 or META_CODEC_E*; on error *out is zeroed.
 * A RegisterBrokerRecord keeps its first endpoint only. */
int meta_record_decode(const uint8_t *p, size_t len, int64_t offset, struct meta_record *out);

/* Same type, offset and fields. */
bool meta_record_equal(const struct meta_record *a, const struct meta_record *b);

/* ---- control records ---- */

/* The control key's type (Kafka's ControlRecordType); 0 and 1 are the
 * transaction markers, which have no place in the metadata log. */
enum meta_control_type {
  META_CONTROL_LEADER_CHANGE = 2,
  META_CONTROL_SNAPSHOT_HEADER = 3,
  META_CONTROL_SNAPSHOT_FOOTER = 4,
  META_CONTROL_KRAFT_VERSION = 5,
  META_CONTROL_VOTERS = 6,
};

enum { META_VOTERS_MAX = 16 };

/* LeaderChangeMessage: the voters of the epoch and those who elected the
 * leader (their directory ids, v1, are not kept). */
struct meta_leader_change {
  int32_t leader_id;
  int32_t voter_count;
  int32_t voters[META_VOTERS_MAX];
  int32_t granting_count;
  int32_t granting_voters[META_VOTERS_MAX];
};

/* One voter of a VotersRecord, with its first endpoint. */
struct meta_voter {
  int32_t id;
  struct kuuid directory_id;
  char listener[META_LISTENER_NAME_BYTES];
  char host[META_HOST_BYTES];
  uint16_t port;
  int16_t kraft_version_min, kraft_version_max;
};

struct meta_control_record {
  enum meta_control_type type;
  int64_t offset;
  union {
    struct meta_leader_change leader_change;
    int64_t last_contained_log_timestamp; /* SNAPSHOT_HEADER */
    int16_t kraft_version;                /* KRAFT_VERSION */
    struct {
      int32_t count;
      struct meta_voter voters[META_VOTERS_MAX];
    } voters; /* VOTERS */
  };
};

bool meta_control_equal(const struct meta_control_record *a,
                        const struct meta_control_record *b);

/* A growable list of control records, in log order. */
struct meta_controls {
  struct meta_control_record *items;
  int32_t count;
  int32_t cap;
};

void meta_controls_init(struct meta_controls *list);
void meta_controls_free(struct meta_controls *list);

/* ---- batches ---- */

enum { META_BATCH_BYTES_MAX = 8 << 20 }; /* decompressed records of one batch */

/* Appends one batch (magic 2, uncompressed, no producer) holding the count
 * records at offsets base_offset, base_offset + 1, ... (the records' own
 * offset fields are not read), partitionLeaderEpoch leader_epoch and every
 * timestamp timestamp_ms. 0, or META_CODEC_ELIMIT when the batch would not
 * fit a batchLength. count >= 1. */
int meta_batch_write(struct buf *out, int64_t base_offset, int32_t leader_epoch,
                     int64_t timestamp_ms, const struct meta_record *records, int32_t count);
/* The same for control records: a control batch. */
int meta_control_batch_write(struct buf *out, int64_t base_offset, int32_t leader_epoch,
                             int64_t timestamp_ms, const struct meta_control_record *records,
                             int32_t count);
/* The Raft leader's first entry of its epoch: a control batch of one
 * LeaderChangeMessage at `offset`. */
int meta_leader_change_write(struct buf *out, int64_t offset, int32_t leader_epoch,
                             int64_t timestamp_ms, const struct meta_leader_change *change);

/* One batch as meta_batch_read found it. */
struct meta_batch {
  struct rb_header h; /* base offset, leader epoch, timestamps, attributes */
  size_t size;        /* its bytes, 12 + batchLength: where the next one starts */
  bool control;
};

/* Reads the batch at p (len bytes available; more may follow): framing,
 * magic 2 and CRC-32C first, then every record, at offsets base offset, +1,
 * ... up to lastOffsetDelta. A data batch's records are added to `records`
 * (their offsets must grow past the delta's last), a control batch's to
 * `controls`; NULL refuses that kind (META_CODEC_EBATCH). Returns 0 with
 * *batch filled, or a META_CODEC_E* and nothing added. */
int meta_batch_read(const uint8_t *p, size_t len, struct meta_batch *batch,
                    struct meta_delta *records, struct meta_controls *controls);

#endif
