#include "base/arena.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

/* A pooled chunk is poisoned under AddressSanitizer until it is taken
 * again, so a request's memory used after its arena was freed is still
 * caught (make asan) although the chunk is not given back to malloc. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POOL_POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define POOL_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POOL_POISON(p, n)   ((void)(p), (void)(n))
#define POOL_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

enum { ARENA_CHUNK_BYTES = 16 * 1024 };

void arena_init(struct arena *a) { memset(a, 0, sizeof *a); }

void arena_init_pooled(struct arena *a, struct arena_pool *pool) {
  ASSERT(pool != NULL && pool->count >= 0 && pool->count <= ARENA_POOL_CHUNKS_MAX);
  arena_init(a);
  a->pool = pool;
}

/* A chunk of at least cap bytes: a pooled one when it fits. */
static struct arena_chunk *chunk_take(struct arena *a, size_t cap) {
  struct arena_pool *pool = a->pool;
  if (pool && pool->free && cap == ARENA_CHUNK_BYTES) {
    struct arena_chunk *c = pool->free;
    pool->free = c->next;
    pool->count--;
    ASSERT(c->cap == ARENA_CHUNK_BYTES && pool->count >= 0);
    POOL_UNPOISON(c->data, c->cap);
    return c;
  }
  struct arena_chunk *c = malloc(sizeof *c + cap);
  ASSERT(c != NULL);
  c->cap = cap;
  return c;
}

/* Back to the pool while it has room (standard chunks only), else free. */
static void chunk_give(struct arena_pool *pool, struct arena_chunk *c) {
  if (pool && c->cap == ARENA_CHUNK_BYTES && pool->count < ARENA_POOL_CHUNKS_MAX) {
    POOL_POISON(c->data, c->cap);
    c->next = pool->free;
    pool->free = c;
    pool->count++;
    return;
  }
  free(c);
}

void *arena_alloc_chunk(struct arena *a, size_t size) {
  ASSERT((size & 15) == 0);
  size_t cap = size > ARENA_CHUNK_BYTES ? size : ARENA_CHUNK_BYTES;
  struct arena_chunk *c = chunk_take(a, cap);
  c->next = a->head;
  c->used = size;
  a->head = c;
  a->bytes_allocated += size;
  return c->data;
}

char *arena_strndup(struct arena *a, const char *s, size_t len) {
  char *p = arena_alloc(a, len + 1);
  memcpy(p, s, len);
  p[len] = 0;
  return p;
}

void arena_free(struct arena *a) {
  struct arena_pool *pool = a->pool;
  struct arena_chunk *c = a->head;
  while (c) {
    struct arena_chunk *next = c->next;
    chunk_give(pool, c);
    c = next;
  }
  arena_init(a);
  a->pool = pool;
}

void arena_pool_free(struct arena_pool *pool) {
  struct arena_chunk *c = pool->free;
  for (int n = 0; c && n <= ARENA_POOL_CHUNKS_MAX; n++) {
    struct arena_chunk *next = c->next;
    free(c);
    c = next;
  }
  *pool = (struct arena_pool){0};
}
