/* The leader epoch cache (KIP-101): for each leader epoch, the first offset
 * appended in it, in increasing order of both. Followers use it to find where
 * their log diverges from the leader's (OffsetForLeaderEpoch) instead of
 * truncating to the high watermark. Persisted as leader-epoch-checkpoint in
 * the partition dir ("0", N, then N lines "<epoch> <start offset>"). */
#ifndef SLUICE_LOG_EPOCH_CACHE_H
#define SLUICE_LOG_EPOCH_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

enum { EPOCH_ENTRIES_MAX = 1 << 20 };

struct epoch_entry {
  int32_t epoch;
  int64_t start_offset;
};

struct epoch_cache {
  struct epoch_entry *entries;
  int32_t count;
  int32_t cap;
};

void epoch_cache_init(struct epoch_cache *c);
void epoch_cache_free(struct epoch_cache *c);
/* Records that `epoch` starts at start_offset, dropping entries it
 * contradicts (an epoch >= it, or a start offset >= it). True if changed. */
bool epoch_cache_assign(struct epoch_cache *c, int32_t epoch, int64_t start_offset);
/* After a truncation to end_offset: drops entries starting at or past it. */
bool epoch_cache_truncate_from_end(struct epoch_cache *c, int64_t end_offset);
/* After the log start moved to start_offset: drops entries wholly before it
 * and moves the one that covers it to start there. */
bool epoch_cache_truncate_from_start(struct epoch_cache *c, int64_t start_offset);
int32_t epoch_cache_latest(const struct epoch_cache *c); /* -1 if empty */
/* OffsetForLeaderEpoch as Kafka answers it, given the log end offset. */
void epoch_cache_end_offset_for(const struct epoch_cache *c, int32_t epoch,
                                int64_t log_end_offset, int32_t *epoch_out,
                                int64_t *end_offset_out);

void epoch_cache_format(const struct epoch_cache *c, struct buf *out);
/* Replaces c's entries; ENV_EINVAL if the text is malformed or the entries
 * are not strictly increasing. */
int epoch_cache_parse(struct epoch_cache *c, const char *text, size_t len);

#endif
