/* The id -> object tables of os/ (timers, connections): ids are u64 counters
 * that are never reused, so a hash of the id spreads them well. Linear
 * probing keeps each table two flat arrays; deletion shifts the following
 * entries back instead of leaving tombstones, so lookups stay short after
 * millions of timers have come and gone. */
#include <stdlib.h>

#include "base/assert.h"
#include "os/internal.h"

enum { IDMAP_CAP_MIN = 64 };

/* A 64-bit finaliser (MurmurHash3's fmix64 constants). */
static uint32_t idmap_slot(uint64_t key, uint32_t cap) {
  key ^= key >> 33;
  key *= UINT64_C(0xff51afd7ed558ccd);
  key ^= key >> 33;
  key *= UINT64_C(0xc4ceb9fe1a85ec53);
  key ^= key >> 33;
  return (uint32_t)key & (cap - 1);
}

static void idmap_insert_slot(struct os_idmap *m, uint64_t key, void *val) {
  uint32_t i = idmap_slot(key, m->cap);
  for (uint32_t n = 0; n < m->cap; n++, i = (i + 1) & (m->cap - 1)) {
    if (m->keys[i] == 0 || m->keys[i] == key) {
      if (m->keys[i] == 0) m->count++;
      m->keys[i] = key;
      m->vals[i] = val;
      return;
    }
  }
  UNREACHABLE(); /* the table is never full: it grows at half load */
}

static void idmap_grow(struct os_idmap *m) {
  struct os_idmap old = *m;
  uint32_t cap = old.cap ? old.cap * 2 : IDMAP_CAP_MIN;
  ASSERT(cap > old.cap);
  m->keys = calloc(cap, sizeof *m->keys);
  m->vals = calloc(cap, sizeof *m->vals);
  ASSERT(m->keys != NULL && m->vals != NULL);
  m->cap = cap;
  m->count = 0;
  for (uint32_t i = 0; i < old.cap; i++)
    if (old.keys[i] != 0) idmap_insert_slot(m, old.keys[i], old.vals[i]);
  ASSERT(m->count == old.count);
  free(old.keys);
  free(old.vals);
}

static int64_t idmap_find(const struct os_idmap *m, uint64_t key) {
  if (m->cap == 0 || key == 0) return -1;
  uint32_t i = idmap_slot(key, m->cap);
  for (uint32_t n = 0; n < m->cap && m->keys[i] != 0; n++, i = (i + 1) & (m->cap - 1))
    if (m->keys[i] == key) return i;
  return -1;
}

void *os_idmap_get(const struct os_idmap *m, uint64_t key) {
  int64_t i = idmap_find(m, key);
  return i < 0 ? NULL : m->vals[i];
}

void os_idmap_put(struct os_idmap *m, uint64_t key, void *val) {
  ASSERT(key != 0);
  ASSERT(val != NULL);
  if ((m->count + 1) * 2 > m->cap) idmap_grow(m);
  idmap_insert_slot(m, key, val);
}

void *os_idmap_remove(struct os_idmap *m, uint64_t key) {
  int64_t found = idmap_find(m, key);
  if (found < 0) return NULL;
  uint32_t hole = (uint32_t)found, mask = m->cap - 1;
  void *val = m->vals[hole];
  /* Backward shift: move each following entry of the run into the hole
   * unless its home slot lies (cyclically) after the hole. */
  uint32_t i = (hole + 1) & mask;
  for (uint32_t n = 0; n < m->cap && m->keys[i] != 0; n++, i = (i + 1) & mask) {
    uint32_t home = idmap_slot(m->keys[i], m->cap);
    if (((i - home) & mask) >= ((i - hole) & mask)) {
      m->keys[hole] = m->keys[i];
      m->vals[hole] = m->vals[i];
      hole = i;
    }
  }
  m->keys[hole] = 0;
  m->vals[hole] = NULL;
  m->count--;
  return val;
}

void os_idmap_free(struct os_idmap *m) {
  free(m->keys);
  free(m->vals);
  *m = (struct os_idmap){0};
}
