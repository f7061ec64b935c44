/* A bump allocator for everything one request decodes into: freed at once
 * when the request is done. An arena may draw its chunks from a pool (one
 * per node) that keeps a bounded number of freed chunks: a broker answers
 * thousands of requests a second, each with an arena of one chunk, and
 * taking the chunk back from the pool costs a few loads where malloc and
 * free of 16 KiB cost hundreds of instructions. */
#ifndef SLUICE_ARENA_H
#define SLUICE_ARENA_H

#include <stddef.h>
#include <string.h>

/* In the header for the inline fast path of arena_alloc. */
struct arena_chunk {
  struct arena_chunk *next;
  size_t used;
  size_t cap;
  _Alignas(16) unsigned char data[];
};

/* Freed chunks of the standard size, at most ARENA_POOL_CHUNKS_MAX. */
struct arena_pool {
  struct arena_chunk *free;
  int count;
};
enum { ARENA_POOL_CHUNKS_MAX = 64 };

struct arena {
  struct arena_chunk *head;
  size_t bytes_allocated;
  struct arena_pool *pool; /* NULL: chunks come from malloc and go back to it */
};

void arena_init(struct arena *a);
/* An arena whose chunks come from pool (which must outlive it). */
void arena_init_pooled(struct arena *a, struct arena_pool *pool);
/* The slow path of arena_alloc_uninit: size (rounded to 16) from a new
 * chunk. */
void *arena_alloc_chunk(struct arena *a, size_t size);

/* 16-byte aligned, not zeroed: for memory the caller fills whole (the
 * decoders' arrays, whose every element is decoded). Never returns NULL.
 * Inline: a request decodes into a dozen allocations, millions a run. */
static inline void *arena_alloc_uninit(struct arena *a, size_t size) {
  size = (size + 15) & ~(size_t)15;
  struct arena_chunk *c = a->head;
  if (__builtin_expect(c == NULL || c->cap - c->used < size, 0))
    return arena_alloc_chunk(a, size);
  void *p = c->data + c->used;
  c->used += size;
  a->bytes_allocated += size;
  return p;
}

/* Zeroed, 16-byte aligned. Never returns NULL. */
static inline void *arena_alloc(struct arena *a, size_t size) {
  void *p = arena_alloc_uninit(a, size);
  memset(p, 0, (size + 15) & ~(size_t)15);
  return p;
}
char *arena_strndup(struct arena *a, const char *s, size_t len);
/* Frees everything allocated; the arena stays usable, with its pool. */
void arena_free(struct arena *a);
/* Frees the pool's chunks (no arena may use the pool any more). */
void arena_pool_free(struct arena_pool *pool);

#endif
