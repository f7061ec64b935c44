#include "log/epoch_cache.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "env.h"
#include "log/checkpoint.h"

void epoch_cache_init(struct epoch_cache *c) { memset(c, 0, sizeof *c); }

void epoch_cache_free(struct epoch_cache *c) {
  free(c->entries);
  memset(c, 0, sizeof *c);
}

static void epoch_cache_push(struct epoch_cache *c, int32_t epoch, int64_t start_offset) {
  ASSERT(c->count < EPOCH_ENTRIES_MAX);
  if (c->count == c->cap) {
    int32_t cap = c->cap ? c->cap * 2 : 8;
    struct epoch_entry *e = realloc(c->entries, (size_t)cap * sizeof *e);
    ASSERT(e != NULL);
    c->entries = e;
    c->cap = cap;
  }
  c->entries[c->count++] = (struct epoch_entry){epoch, start_offset};
}

bool epoch_cache_assign(struct epoch_cache *c, int32_t epoch, int64_t start_offset) {
  ASSERT(epoch >= 0 && start_offset >= 0);
  if (c->count > 0) {
    const struct epoch_entry *last = &c->entries[c->count - 1];
    if (last->epoch == epoch && last->start_offset <= start_offset) return false;
  }
  /* Kafka keeps the cache monotonic in both fields: whatever conflicts with
   * the new entry describes a history that was truncated away. */
  int32_t keep = c->count;
  while (keep > 0 && (c->entries[keep - 1].epoch >= epoch ||
                      c->entries[keep - 1].start_offset >= start_offset))
    keep--;
  c->count = keep;
  epoch_cache_push(c, epoch, start_offset);
  return true;
}

bool epoch_cache_truncate_from_end(struct epoch_cache *c, int64_t end_offset) {
  ASSERT(end_offset >= 0);
  int32_t keep = c->count;
  while (keep > 0 && c->entries[keep - 1].start_offset >= end_offset) keep--;
  bool changed = keep != c->count;
  c->count = keep;
  return changed;
}

bool epoch_cache_truncate_from_start(struct epoch_cache *c, int64_t start_offset) {
  ASSERT(start_offset >= 0);
  /* The last entry starting at or before start_offset covers it. */
  int32_t covering = -1;
  for (int32_t i = 0; i < c->count && c->entries[i].start_offset <= start_offset; i++)
    covering = i;
  if (covering < 0) return false;
  bool changed = covering > 0 || c->entries[covering].start_offset != start_offset;
  memmove(c->entries, c->entries + covering,
          (size_t)(c->count - covering) * sizeof *c->entries);
  c->count -= covering;
  c->entries[0].start_offset = start_offset;
  return changed;
}

int32_t epoch_cache_latest(const struct epoch_cache *c) {
  return c->count ? c->entries[c->count - 1].epoch : -1;
}

void epoch_cache_end_offset_for(const struct epoch_cache *c, int32_t epoch,
                                int64_t log_end_offset, int32_t *epoch_out,
                                int64_t *end_offset_out) {
  ASSERT(epoch_out != NULL && end_offset_out != NULL);
  *epoch_out = -1;
  *end_offset_out = -1;
  if (epoch < 0 || c->count == 0) return;
  if (epoch == epoch_cache_latest(c)) {
    *epoch_out = epoch;
    *end_offset_out = log_end_offset;
    return;
  }
  /* The first entry with a larger epoch ends the asked one. */
  int32_t higher = 0;
  while (higher < c->count && c->entries[higher].epoch <= epoch) higher++;
  if (higher == c->count) return; /* newer than anything we know */
  *end_offset_out = c->entries[higher].start_offset;
  *epoch_out = higher > 0 ? c->entries[higher - 1].epoch : epoch;
}

void epoch_cache_format(const struct epoch_cache *c, struct buf *out) {
  char line[64];
  size_t n = str_fmt(line, sizeof line, "0\n%d\n", c->count);
  buf_append(out, line, n);
  for (int32_t i = 0; i < c->count; i++) {
    n = str_fmt(line, sizeof line, "%d %lld\n", c->entries[i].epoch,
                (long long)c->entries[i].start_offset);
    buf_append(out, line, n);
  }
}

static int parse_epoch_line(void *ctx, int64_t index, char **f) {
  struct epoch_cache *c = ctx;
  int64_t epoch, start;
  (void)index;
  if (!str_to_i64(f[0], &epoch) || epoch < 0 || epoch > INT32_MAX) return ENV_EINVAL;
  if (!str_to_i64(f[1], &start) || start < 0) return ENV_EINVAL;
  if (c->count > 0) {
    const struct epoch_entry *last = &c->entries[c->count - 1];
    if (epoch <= last->epoch || start < last->start_offset) return ENV_EINVAL;
  }
  if (c->count >= EPOCH_ENTRIES_MAX) return ENV_EINVAL;
  epoch_cache_push(c, (int32_t)epoch, start);
  return 0;
}

int epoch_cache_parse(struct epoch_cache *c, const char *text, size_t len) {
  c->count = 0;
  int64_t count = 0;
  int rc = checkpoint_text_parse(text, len, 2, parse_epoch_line, c, &count);
  if (rc != 0) c->count = 0;
  ASSERT(rc != 0 || count == c->count);
  return rc;
}
