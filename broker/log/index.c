#include "log/index.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/endian.h"

enum { INDEX_INITIAL_ENTRIES = 64 };

void index_init(struct index *ix, uint32_t entry_bytes, int32_t index_bytes_max) {
  ASSERT(entry_bytes == OFFSET_ENTRY_BYTES || entry_bytes == TIME_ENTRY_BYTES);
  ASSERT(index_bytes_max >= (int32_t)entry_bytes);
  memset(ix, 0, sizeof *ix);
  ix->file = -1;
  ix->entry_bytes = entry_bytes;
  ix->max_entries = index_bytes_max / (int32_t)entry_bytes;
}

void index_free(struct env *env, struct index *ix) {
  ASSERT(ix != NULL);
  if (ix->file >= 0) env->file_close(env, ix->file);
  ix->file = -1;
  free(ix->data);
  ix->data = NULL;
  ix->count = ix->cap = 0;
}

bool index_full(const struct index *ix) { return ix->count >= ix->max_entries; }

static void index_reserve(struct index *ix, int32_t count) {
  ASSERT(count >= 0 && count < INT32_MAX / 2);
  if (count <= ix->cap) return;
  int32_t cap = ix->cap ? ix->cap : INDEX_INITIAL_ENTRIES;
  while (cap < count) cap *= 2;
  uint8_t *data = realloc(ix->data, (size_t)cap * ix->entry_bytes);
  ASSERT(data != NULL);
  ix->data = data;
  ix->cap = cap;
}

static uint8_t *index_push_slot(struct index *ix) {
  index_reserve(ix, ix->count + 1);
  return ix->data + (size_t)ix->count++ * ix->entry_bytes;
}

int index_load(struct env *env, struct index *ix) {
  ASSERT(ix->file >= 0);
  int64_t size = env->file_size(env, ix->file);
  if (size < 0) return (int)size;
  if (size % ix->entry_bytes != 0 || size / ix->entry_bytes >= INT32_MAX / 2) return ENV_EINVAL;
  int32_t count = (int32_t)(size / ix->entry_bytes);
  index_reserve(ix, count);
  ix->count = 0;
  if (count == 0) return 0;
  int64_t n = env->pread(env, ix->file, ix->data, (size_t)size, 0);
  if (n < 0) return (int)n;
  if (n != size) return ENV_EIO;
  ix->count = count;
  return 0;
}

int index_write_from(struct env *env, struct index *ix, int32_t first) {
  ASSERT(first >= 0 && first <= ix->count);
  if (first == ix->count) return 0;
  size_t len = (size_t)(ix->count - first) * ix->entry_bytes;
  uint64_t at = (uint64_t)first * ix->entry_bytes;
  int64_t n = env->pwrite(env, ix->file, ix->data + at, len, at);
  ix->dirty = true;
  if (n < 0) return (int)n;
  return (size_t)n == len ? 0 : ENV_EIO;
}

int index_write_all(struct env *env, struct index *ix) {
  int rc = env->truncate(env, ix->file, 0);
  ix->dirty = true;
  if (rc != 0) return rc;
  return index_write_from(env, ix, 0);
}

void index_trim(struct env *env, struct index *ix) {
  if (ix->file < 0) return;
  int64_t size = env->file_size(env, ix->file);
  uint64_t want = (uint64_t)ix->count * ix->entry_bytes;
  if (size >= 0 && (uint64_t)size <= want) return;
  ix->dirty = true;
  env->truncate(env, ix->file, want);
}

int index_truncate(struct env *env, struct index *ix, int32_t count) {
  ASSERT(count >= 0 && count <= ix->count);
  ix->count = count;
  ix->dirty = true;
  return env->truncate(env, ix->file, (uint64_t)count * ix->entry_bytes);
}

void oindex_push(struct index *ix, int32_t rel_offset, int32_t position) {
  ASSERT(ix->entry_bytes == OFFSET_ENTRY_BYTES);
  ASSERT(rel_offset >= 0 && position >= 0);
  uint8_t *p = index_push_slot(ix);
  be32_put(p, (uint32_t)rel_offset);
  be32_put(p + 4, (uint32_t)position);
}

void oindex_get(const struct index *ix, int32_t i, int32_t *rel_offset, int32_t *position) {
  ASSERT(ix->entry_bytes == OFFSET_ENTRY_BYTES);
  ASSERT(i >= 0 && i < ix->count);
  const uint8_t *p = ix->data + (size_t)i * OFFSET_ENTRY_BYTES;
  *rel_offset = (int32_t)be32_get(p);
  *position = (int32_t)be32_get(p + 4);
}

int32_t oindex_floor(const struct index *ix, int32_t rel_offset) {
  ASSERT(ix->entry_bytes == OFFSET_ENTRY_BYTES);
  int32_t lo = 0, hi = ix->count; /* answer: last i with key <= rel_offset */
  while (lo < hi) {
    int32_t mid = lo + (hi - lo) / 2;
    /* oindex_get's key, read in place: every fetch's seek bisects here. */
    int32_t rel = (int32_t)be32_get(ix->data + (size_t)mid * OFFSET_ENTRY_BYTES);
    if (rel <= rel_offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo - 1;
}

bool oindex_sane(const struct index *ix, uint64_t log_bytes) {
  int32_t prev_rel = -1, prev_pos = -1;
  for (int32_t i = 0; i < ix->count; i++) {
    int32_t rel, pos;
    oindex_get(ix, i, &rel, &pos);
    if (rel <= prev_rel || pos <= prev_pos || (uint64_t)pos >= log_bytes) return false;
    prev_rel = rel;
    prev_pos = pos;
  }
  return true;
}

void tindex_get(const struct index *ix, int32_t i, int64_t *timestamp, int32_t *rel_offset) {
  ASSERT(ix->entry_bytes == TIME_ENTRY_BYTES);
  ASSERT(i >= 0 && i < ix->count);
  const uint8_t *p = ix->data + (size_t)i * TIME_ENTRY_BYTES;
  *timestamp = (int64_t)be64_get(p);
  *rel_offset = (int32_t)be32_get(p + 8);
}

void tindex_maybe_push(struct index *ix, int64_t timestamp, int32_t rel_offset) {
  ASSERT(ix->entry_bytes == TIME_ENTRY_BYTES);
  ASSERT(rel_offset >= 0);
  int64_t last_ts = -1;
  int32_t last_rel = 0;
  if (ix->count > 0) tindex_get(ix, ix->count - 1, &last_ts, &last_rel);
  if (timestamp <= last_ts || rel_offset < last_rel) return;
  uint8_t *p = index_push_slot(ix);
  be64_put(p, (uint64_t)timestamp);
  be32_put(p + 8, (uint32_t)rel_offset);
}

int32_t tindex_floor(const struct index *ix, int64_t timestamp) {
  int32_t lo = 0, hi = ix->count;
  while (lo < hi) {
    int32_t mid = lo + (hi - lo) / 2, rel;
    int64_t ts;
    tindex_get(ix, mid, &ts, &rel);
    if (ts <= timestamp)
      lo = mid + 1;
    else
      hi = mid;
  }
  ASSERT(lo >= 0 && lo <= ix->count);
  return lo - 1;
}

bool tindex_sane(const struct index *ix) {
  int64_t prev_ts = -1;
  int32_t prev_rel = 0;
  for (int32_t i = 0; i < ix->count; i++) {
    int64_t ts;
    int32_t rel;
    tindex_get(ix, i, &ts, &rel);
    if (ts <= prev_ts || rel < prev_rel) return false;
    prev_ts = ts;
    prev_rel = rel;
  }
  return true;
}
