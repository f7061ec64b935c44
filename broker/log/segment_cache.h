/* The segments whose files are open, across every partition log of a
 * broker, under a limit (sluice.open.segments.max): descriptors, not
 * partitions, are what the process has a table of, so a segment's three
 * files (.log, .index, .timeindex) are opened when it is first used and
 * closed again, least recently used first, when more segments than the
 * limit are open. Its indexes stay in memory and its size, end offset and
 * timestamps are known without its files, so a closed segment costs no
 * descriptor and reopening it is three opens by name.
 *
 * Some segments may not be closed for now: one with an fsync in flight
 * (its completion names the file), one whose .log is the copy of a cut
 * not yet durable (log/truncate.c: it is reached by another name), and
 * one a read lent bytes from since the last seg_cache_turn_end (a Fetch
 * collects the ranges of many partitions before it sends them). The limit
 * is exceeded only by these, and only until they settle.
 *
 * Out of descriptors (ENV_EMFILE), the cache closes half of what it may
 * and lowers its limit to that, growing back by one each successful open
 * (so a descriptor table shared with clients settles where both fit), and
 * logs the cause at most once a minute. The order of closing is the order
 * of use, never of pointers, so the simulator replays it exactly. */
#ifndef SLUICE_LOG_SEGMENT_CACHE_H
#define SLUICE_LOG_SEGMENT_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "env.h"

struct segment;

/* The default: 4,000 segments are 12,000 descriptors, so a broker holding
 * 20,000 partitions fits a 20,000-descriptor table with 8,000 left for
 * clients, sockets and the files the log writes now and then. */
enum { SEG_CACHE_DEFAULT_SEGMENTS = 4000, SEG_CACHE_FILES_PER_SEGMENT = 3 };

struct seg_cache {
  struct env *env;
  int32_t limit;     /* sluice.open.segments.max, >= 1 */
  int32_t limit_now; /* lowered after ENV_EMFILE, back up by one per open */
  int32_t open_count;
  uint64_t turn;            /* segments lent in this turn stay open */
  struct segment *lru_head; /* least recently used: closed first */
  struct segment *lru_tail; /* most recently used */
  uint64_t opens;           /* segments (re)opened */
  uint64_t closes;          /* segments closed to stay under the limit */
  uint64_t emfile_count;    /* ENV_EMFILE seen since the last log line */
  uint64_t emfile_log_ns;   /* when the last one was logged */
  bool emfile_logged;
};

void seg_cache_init(struct seg_cache *c, struct env *env, int32_t limit);
/* Every log using it must be closed first. */
void seg_cache_free(struct seg_cache *c);
/* Reads handed out so far have been sent or copied: their segments may be
 * closed again (called after each Fetch answer and each maintenance pass). */
void seg_cache_turn_end(struct seg_cache *c);
int32_t seg_cache_open_count(const struct seg_cache *c);
/* Closes what may be closed while over the limit (the turn goes on). */
void seg_cache_turn_trim(struct seg_cache *c);

/* For broker/log/ only. */
/* s's files were just opened: it is the most recently used; others close
 * while over the limit. */
void seg_cache_opened(struct seg_cache *c, struct segment *s);
/* s was used: the most recently used. */
void seg_cache_touch(struct seg_cache *c, struct segment *s);
/* s's files were closed (or s is going away): out of the cache. */
void seg_cache_closed(struct seg_cache *c, struct segment *s);
/* env->open through the cache: at ENV_EMFILE it shrinks and tries once
 * more. */
int seg_cache_open_file(struct seg_cache *c, const char *path, int flags, env_file *out);

#endif
