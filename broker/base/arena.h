/* A bump allocator for everything one request decodes into: freed at once
 * when the request is done. An arena may draw its chunks from a pool (one
 * per node) that keeps a bounded number of freed chunks: a broker answers
 * thousands of requests a second, each with an arena of one chunk, and
 * taking the chunk back from the pool costs a few loads where malloc and
 * free of 16 KiB cost hundreds of instructions. */
#ifndef SLUICE_ARENA_H
#define SLUICE_ARENA_H

#include <stddef.h>

struct arena_chunk;

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
/* Zeroed, 16-byte aligned. Never returns NULL. */
void *arena_alloc(struct arena *a, size_t size);
char *arena_strndup(struct arena *a, const char *s, size_t len);
/* Frees everything allocated; the arena stays usable, with its pool. */
void arena_free(struct arena *a);
/* Frees the pool's chunks (no arena may use the pool any more). */
void arena_pool_free(struct arena_pool *pool);

#endif
