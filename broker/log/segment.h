/* One segment: a .log file of whole batches starting at base_offset, its
 * offset and time indexes, and what the log needs to know about it without
 * reading it (end offset, size, timestamps). Private to broker/log/. */
#ifndef SLUICE_LOG_SEGMENT_H
#define SLUICE_LOG_SEGMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "env.h"
#include "log/header_cursor.h"
#include "log/index.h"
#include "log/log.h"

enum { SEGMENT_NAME_DIGITS = 20 };

/* Where the segment's newest batches start, for segment_seek: followers
 * and consumers read at or near the log end, a few batches past the last
 * offset index entry (log.index.interval.bytes apart), and would otherwise
 * read every header in between on each fetch. Offsets grow with positions
 * in a segment, so every batch before pos ends below base_offset. */
enum { SEGMENT_SEEK_HINTS = 8 };
struct segment_seek_hint {
  int64_t base_offset;
  uint64_t pos;
};

struct segment {
  int64_t base_offset;
  int64_t next_offset; /* last offset + 1; base_offset while empty */
  uint64_t size_bytes; /* whole batches in the .log */
  env_file log_file;
  struct index oindex;
  struct index tindex;
  uint64_t bytes_since_index;    /* log bytes since the last index entry */
  int64_t max_timestamp;         /* largest batch max timestamp, -1 if none */
  int64_t max_timestamp_offset;  /* last offset of the first batch reaching it */
  int64_t first_batch_timestamp; /* max timestamp of the first batch: segment.ms */
  int64_t created_ms;            /* wall clock when created or opened */
  bool log_dirty;                /* written since the last fsync was started */
  bool index_missing;            /* an index file had to be created on open */
  int32_t fsyncs_pending;
  /* The end of the bytes reads have handed out of log_file (plog_read and
   * timestamp lookups): sends may still read [0, lent_position_max), so a
   * truncation below it must not touch that file (truncate.c). */
  uint64_t lent_position_max;
  /* >= 0 while a cut of this segment is not yet durable: the file
   * "<base>.log.<cut_offset>.truncating" exists, recovery would cut the .log
   * at cut_offset, and the recovery point stays at or below it. When
   * cut_file_is_copy, that file is log_file (a copy of the kept bytes), to be
   * renamed over the .log once fsynced; else log_file is the .log, and the
   * marker goes once its fsync makes the cut durable (truncate.c). */
  int64_t cut_offset;
  bool cut_file_is_copy;
  bool retired; /* deleted from the log; files unlinked */
  bool orphan;  /* owner gone: freed by its last fsync completion */
  struct segment *next_retired;
  /* Files opened on demand (log/segment_cache.h): -1 in log_file and the
   * index files while closed. dir is the owning log's, to reopen by name. */
  const char *dir;
  struct seg_cache *cache; /* NULL: open for the segment's life */
  bool in_cache;
  struct segment *lru_prev, *lru_next;
  uint64_t lent_turn; /* the cache turn of the last read lent from it */
  /* Bumped when a truncation gives the segment another .log (truncate.c);
   * not when the cache closes and reopens the same one. */
  uint64_t log_file_gen;
  /* The last SEGMENT_SEEK_HINTS batches noted (segment_note_batch), a
   * ring; forgotten wherever bytes are taken back (segment_forget_hints). */
  struct segment_seek_hint seek_hints[SEGMENT_SEEK_HINTS];
  int32_t seek_hint_count; /* valid ones, from slot 0 until the ring wraps */
  int32_t seek_hint_next;  /* the slot the next batch takes */
};

/* What an append may have to undo. */
struct segment_mark {
  int64_t next_offset;
  uint64_t size_bytes;
  uint64_t bytes_since_index;
  int64_t max_timestamp;
  int64_t max_timestamp_offset;
  int64_t first_batch_timestamp;
  int32_t oindex_count;
  int32_t tindex_count;
};

/* "<dir>/<20-digit base><suffix>"; false if it does not fit. */
bool segment_file_path(char *out, size_t cap, const char *dir, int64_t base_offset,
                       const char *suffix);
/* The marker of a cut not yet durable: "<dir>/<20-digit base>.log.<20-digit
 * cut offset>.truncating". */
bool segment_cut_path(char *out, size_t cap, const char *dir, int64_t base_offset,
                      int64_t cut_offset);
/* Where a copy of a segment's kept bytes is written before it is renamed to
 * its marker: "<dir>/<20-digit base>.log.copying". */
bool segment_copy_path(char *out, size_t cap, const char *dir, int64_t base_offset);
/* New empty segment files (replacing leftovers of the same name). */
int segment_create(struct env *env, const char *dir, int64_t base_offset,
                   const struct log_config *cfg, int64_t now_ms, struct segment **out);
/* Opens an existing .log (indexes opened or created, not loaded). */
int segment_open(struct env *env, const char *dir, int64_t base_offset,
                 const struct log_config *cfg, int64_t now_ms, struct segment **out);
/* Closes the files and frees. */
void segment_free(struct env *env, struct segment *s);
/* Makes sure the files are open (reopening them by name if the cache closed
 * them) and counts s as just used; call before touching log_file or the
 * index files. 0 or ENV_E*. */
int segment_files_open(struct env *env, struct segment *s);
/* Closes the files (index files trimmed to their entries first); the
 * segment stays usable through segment_files_open. */
void segment_files_close(struct env *env, struct segment *s);
/* The files may not be closed now (see log/segment_cache.h). */
bool segment_files_pinned(const struct segment *s);
/* Unlinks the three files (and a cut marker); the first error, ENOENT
 * ignored. */
int segment_unlink(struct env *env, const char *dir, const struct segment *s);

/* Accounts for the batch at pos: end offset, timestamps, and an index entry
 * every index.interval.bytes (Kafka's rule: when more than the interval has
 * been written since the last entry, index this batch). Memory only. */
void segment_note_batch(struct segment *s, int32_t interval_bytes, const struct rb_header *h,
                        uint64_t pos);
/* The batch at pos may follow: its offsets come after the segment's, and its
 * relative offsets and positions fit the int32 index fields. */
bool segment_batch_fits(const struct segment *s, const struct rb_header *h, uint64_t pos);
void segment_mark(const struct segment *s, struct segment_mark *m);
/* Undoes an append: memory back to the mark, files truncated to it. */
int segment_rollback(struct env *env, struct segment *s, const struct segment_mark *m);
/* Bytes of the segment may be replaced: its seek hints no longer hold. */
void segment_forget_hints(struct segment *s);
/* The segment stops being active: the time index gets its final entry. */
int segment_seal(struct env *env, struct segment *s);

/* Rebuilds end offset, timestamps and the index tail from the last offset
 * index entry to size_bytes (after loading trusted indexes or truncating).
 * HC_OK, HC_TORN/HC_BAD if the tail does not scan cleanly, or ENV_E*. */
int segment_reload_tail(struct env *env, struct segment *s, int32_t interval_bytes);
/* The .log was just cut at pos (the boundary of the batch starting at
 * end_offset), in place or by a copy: drops the index entries past it and
 * reloads the tail. */
int segment_cut_indexes(struct env *env, struct segment *s, uint64_t pos, int64_t end_offset,
                        int32_t interval_bytes);
/* A read handed out log_file's bytes up to end_pos; true if this pinned the
 * segment for the cache turn (no read of the turn had). */
bool segment_lend(struct segment *s, uint64_t end_pos);

/* Finds the batch holding `offset` (the first whose last offset >= it): HC_OK
 * with its position and header, HC_END if the segment ends before it,
 * HC_TORN/HC_BAD if the file is damaged there, or ENV_E*. */
int segment_seek(struct env *env, struct segment *s, int64_t offset, struct header_cursor *c,
                 uint64_t *pos_out, struct rb_header *h);

#endif
