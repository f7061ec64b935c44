/* A bump allocator for everything one request decodes into: freed at once
 * when the request is done. */
#ifndef SLUICE_ARENA_H
#define SLUICE_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
  struct arena_chunk *head;
  size_t bytes_allocated;
};

void arena_init(struct arena *a);
/* Zeroed, 16-byte aligned. Never returns NULL. */
void *arena_alloc(struct arena *a, size_t size);
char *arena_strndup(struct arena *a, const char *s, size_t len);
void arena_free(struct arena *a);

#endif
