/* A delta: the records one change consists of, in order. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "meta/records.h"

void meta_delta_init(struct meta_delta *delta) {
  ASSERT(delta != NULL);
  memset(delta, 0, sizeof *delta);
}

void meta_delta_free(struct meta_delta *delta) {
  ASSERT(delta != NULL);
  ASSERT(delta->count <= delta->cap);
  free(delta->records);
  memset(delta, 0, sizeof *delta);
}

struct meta_record *meta_delta_add(struct meta_delta *delta, enum meta_record_type type,
                                   int64_t offset) {
  ASSERT(delta != NULL && offset >= 0);
  ASSERT(delta->count <= delta->cap && delta->count <= META_DELTA_RECORDS_MAX);
  /* Offsets grow within a delta, as they do in the log. */
  ASSERT(delta->count == 0 || delta->records[delta->count - 1].offset < offset);
  if (delta->count == META_DELTA_RECORDS_MAX) return NULL;
  if (delta->count == delta->cap) {
    int32_t cap = delta->cap ? delta->cap * 2 : 16;
    if (cap > META_DELTA_RECORDS_MAX) cap = META_DELTA_RECORDS_MAX;
    struct meta_record *records = realloc(delta->records, (size_t)cap * sizeof *records);
    ASSERT(records != NULL);
    delta->records = records;
    delta->cap = cap;
  }
  struct meta_record *r = &delta->records[delta->count++];
  memset(r, 0, sizeof *r);
  r->type = type;
  r->offset = offset;
  ASSERT(delta->count <= delta->cap);
  return r;
}

void meta_delta_truncate(struct meta_delta *delta, int32_t count) {
  ASSERT(delta != NULL);
  ASSERT(count >= 0 && count <= delta->count);
  delta->count = count;
}
