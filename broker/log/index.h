/* A segment's sparse indexes, kept in memory as byte arrays that mirror the
 * files exactly (Kafka's layout, big-endian):
 *
 *   .index       8-byte entries: relative offset int32, file position int32
 *                (the relative offset is the last offset of the batch that
 *                starts at that position, as Kafka writes it)
 *   .timeindex  12-byte entries: timestamp int64, relative offset int32 (the
 *                largest timestamp so far and the batch that first reached it)
 *
 * Entries are added every index.interval.bytes of log data; both arrays only
 * grow at the end, and the files are written at the same places. */
#ifndef SLUICE_LOG_INDEX_H
#define SLUICE_LOG_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "env.h"

enum { OFFSET_ENTRY_BYTES = 8, TIME_ENTRY_BYTES = 12 };

struct index {
  env_file file; /* -1 when not open */
  uint32_t entry_bytes;
  int32_t count;
  int32_t cap;         /* entries allocated */
  int32_t max_entries; /* segment.index.bytes / entry_bytes: "full" at this count */
  bool dirty;          /* written since the last fsync was started */
  uint8_t *data;       /* count * entry_bytes, as in the file */
};

void index_init(struct index *ix, uint32_t entry_bytes, int32_t index_bytes_max);
/* Frees the memory and closes the file. */
void index_free(struct env *env, struct index *ix);
bool index_full(const struct index *ix);
/* Reads the whole file into memory; ENV_EINVAL if its size is not a whole
 * number of entries or more than INT32_MAX entries. */
int index_load(struct env *env, struct index *ix);
/* Writes entries [first, count) to the file (after an append). */
int index_write_from(struct env *env, struct index *ix, int32_t first);
/* Replaces the file's content with the memory's (after a rebuild). */
int index_write_all(struct env *env, struct index *ix);
/* Cuts the file to the entries in memory if a failed write left more (not
 * dirty otherwise: a closing segment need not be fsynced again). */
void index_trim(struct env *env, struct index *ix);
/* Keeps the first `count` entries, in memory and in the file. */
int index_truncate(struct env *env, struct index *ix, int32_t count);

void oindex_push(struct index *ix, int32_t rel_offset, int32_t position);
void oindex_get(const struct index *ix, int32_t i, int32_t *rel_offset, int32_t *position);
/* Index of the last entry with relative offset <= rel_offset, or -1. */
int32_t oindex_floor(const struct index *ix, int32_t rel_offset);
/* Entries strictly increasing in both fields, positions below log_bytes. */
bool oindex_sane(const struct index *ix, uint64_t log_bytes);

/* Appends (timestamp, rel_offset) if timestamp is larger than the last
 * entry's (-1 when empty), as Kafka's maybeAppend. */
void tindex_maybe_push(struct index *ix, int64_t timestamp, int32_t rel_offset);
void tindex_get(const struct index *ix, int32_t i, int64_t *timestamp, int32_t *rel_offset);
/* Index of the last entry with timestamp <= timestamp, or -1. */
int32_t tindex_floor(const struct index *ix, int64_t timestamp);
/* Timestamps strictly increasing, offsets non-decreasing and >= 0. */
bool tindex_sane(const struct index *ix);

#endif
