/* KRaft snapshots of the metadata image (KIP-630): the records that rebuild
 * an image, in the metadata log's own record batches.
 *
 * A snapshot is a sequence of batches with offsets from 0: a control batch
 * holding a SnapshotHeaderRecord, data batches holding the records, and a
 * control batch holding a SnapshotFooterRecord; every batch carries the
 * snapshot's epoch. The records come in Kafka's order: finalized features
 * (metadata.version first, so a reader knows the versions of what follows),
 * broker registrations (with their epochs and fencing), each topic followed
 * by its partitions, the topics' config overrides, the producer id
 * watermark. The snapshot's id (end offset, epoch) is not inside it: it is
 * the file's name, <end offset, 20 digits>-<epoch, 10 digits>.checkpoint,
 * and the end offset is one past the image's last record. */
#ifndef SLUICE_META_SNAPSHOT_H
#define SLUICE_META_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "env.h"
#include "meta/image.h"

enum {
  META_SNAPSHOT_NAME_BYTES = 44,       /* 20 + 1 + 10 + ".checkpoint" + NUL */
  META_SNAPSHOT_BATCH_BYTES = 1 << 20, /* records per data batch: about this many bytes */
};

struct meta_snapshot_id {
  int64_t end_offset; /* one past the last record it contains */
  int32_t epoch;      /* the leader epoch of that last record */
};

/* The id of a snapshot of image taken in epoch: end offset image->offset + 1. */
struct meta_snapshot_id meta_snapshot_id_of(const struct meta_image *image, int32_t epoch);

/* The file name of id (at least META_SNAPSHOT_NAME_BYTES of out). */
void meta_snapshot_name(struct meta_snapshot_id id, char *out, size_t cap);
/* The id of a snapshot file name; false for any other name. */
bool meta_snapshot_parse_name(const char *name, struct meta_snapshot_id *id);

/* Appends to out (a delta) the records that rebuild image from an empty one,
 * with offsets first_offset, first_offset + 1, ... */
void meta_snapshot_records(const struct meta_image *image, int64_t first_offset,
                           struct meta_delta *out);

struct meta_snapshot_opts {
  int32_t epoch;                        /* the batches' partitionLeaderEpoch: the id's */
  int64_t timestamp_ms;                 /* the batches' timestamps: when it was written */
  int64_t last_contained_log_timestamp; /* the header's: append time of the last record */
  size_t batch_bytes;                   /* 0: META_SNAPSHOT_BATCH_BYTES */
};

/* Appends the snapshot of image to out. 0, or a META_CODEC_E* (a batch too
 * large to frame), and out is unchanged. */
int meta_snapshot_write(const struct meta_image *image, const struct meta_snapshot_opts *opts,
                        struct buf *out);

/* What meta_snapshot_read found besides the image. */
struct meta_snapshot_info {
  int64_t last_contained_log_timestamp;
  int32_t batch_count;
  int32_t record_count; /* data records */
};

/* Reads the snapshot id (its whole bytes) into a new image (one reference
 * for the caller) built from meta_image_empty(cluster_id), whose offset is
 * id.end_offset - 1. Checks every batch (CRC, offsets from 0 without a gap)
 * and the structure: the header first, the footer last, nothing after it,
 * no leader change. 0; a META_CODEC_E*; or the ENV_E* of meta_image_build
 * for records that do not rebuild an image. info may be NULL. */
int meta_snapshot_read(const uint8_t *p, size_t len, struct meta_snapshot_id id,
                       const char *cluster_id, struct meta_image **out,
                       struct meta_snapshot_info *info);

/* Writes the snapshot of image into <dir>/<its name> atomically (log/
 * atomic_file.h: a temporary file, fsync, rename, directory sync); done runs
 * when it is durable. 0, or the error of writing the temporary file (done
 * is then not called). */
int meta_snapshot_save(struct env *env, const char *dir, const struct meta_image *image,
                       const struct meta_snapshot_opts *opts, env_fsync_fn done, void *ctx);

/* Reads <dir>/<name of id> back (meta_snapshot_read); ENV_ENOENT if absent,
 * ENV_EINVAL past ATOMIC_FILE_BYTES_MAX. */
int meta_snapshot_load(struct env *env, const char *dir, struct meta_snapshot_id id,
                       const char *cluster_id, struct meta_image **out,
                       struct meta_snapshot_info *info);

#endif
