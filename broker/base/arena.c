#include "base/arena.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

struct arena_chunk {
  struct arena_chunk *next;
  size_t used;
  size_t cap;
  _Alignas(16) unsigned char data[];
};

enum { ARENA_CHUNK_BYTES = 16 * 1024 };

void arena_init(struct arena *a) { memset(a, 0, sizeof *a); }

void *arena_alloc(struct arena *a, size_t size) {
  size = (size + 15) & ~(size_t)15;
  struct arena_chunk *c = a->head;
  if (c == NULL || c->cap - c->used < size) {
    size_t cap = size > ARENA_CHUNK_BYTES ? size : ARENA_CHUNK_BYTES;
    c = malloc(sizeof *c + cap);
    ASSERT(c != NULL);
    c->next = a->head;
    c->used = 0;
    c->cap = cap;
    a->head = c;
  }
  void *p = c->data + c->used;
  c->used += size;
  a->bytes_allocated += size;
  memset(p, 0, size);
  return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t len) {
  char *p = arena_alloc(a, len + 1);
  memcpy(p, s, len);
  p[len] = 0;
  return p;
}

void arena_free(struct arena *a) {
  struct arena_chunk *c = a->head;
  while (c) {
    struct arena_chunk *next = c->next;
    free(c);
    c = next;
  }
  arena_init(a);
}
