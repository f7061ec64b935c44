#include "sim/history.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

enum { EVENTS_MAX = 1 << 26, PARTITIONS_MAX = 1024 };

void history_init(struct history *h) { memset(h, 0, sizeof *h); }

void history_free(struct history *h) {
  free(h->events);
  history_init(h);
}

void history_add(struct history *h, const struct history_event *e) {
  ASSERT(h->count < EVENTS_MAX);
  ASSERT(e->partition >= 0 && e->partition < PARTITIONS_MAX);
  if (h->count == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 1024;
    struct history_event *events = realloc(h->events, cap * sizeof *events);
    ASSERT(events != NULL);
    h->events = events;
    h->cap = cap;
  }
  h->events[h->count++] = *e;
  if (e->value + 1 > h->values_max) h->values_max = e->value + 1;
}

/* What the history says about one value. */
struct value_state {
  bool sent, acked, durable, failed, polled;
  bool in_final_read;
  int32_t partition;
  int64_t ack_offset;
  int64_t poll_offset;
  uint32_t poll_offsets_distinct;
};

static void violation(struct check_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void violation(struct check_result *r, const char *fmt, ...) {
  if (r->violations++ > 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->first, sizeof r->first, fmt, ap);
  va_end(ap);
}

/* (partition, offset) -> value, for inconsistent-offsets. Offsets of one
 * partition are dense from the log start, so a growable array per
 * partition is enough. */
struct offset_map {
  uint64_t *values; /* value + 1; 0 = unknown */
  int64_t cap;
};

static uint64_t *offset_slot(struct offset_map *m, int64_t offset) {
  ASSERT(offset >= 0 && offset < ((int64_t)1 << 32));
  if (offset >= m->cap) {
    int64_t cap = m->cap ? m->cap : 1024;
    while (cap <= offset) cap *= 2;
    uint64_t *v = realloc(m->values, (size_t)cap * sizeof *v);
    ASSERT(v != NULL);
    memset(v + m->cap, 0, (size_t)(cap - m->cap) * sizeof *v);
    m->values = v;
    m->cap = cap;
  }
  return &m->values[offset];
}

struct checkers {
  struct check_result lost, duplicate, inconsistent, nonmono_send, nonmono_poll, poll_skip,
      unseen;
};

static void check_offsets(const struct history *h, struct value_state *vs,
                          struct offset_map *maps, struct checkers *c) {
  for (size_t i = 0; i < h->count; i++) {
    const struct history_event *e = &h->events[i];
    if ((e->kind != HISTORY_ACK && e->kind != HISTORY_POLL) || e->offset < 0) continue;
    uint64_t *slot = offset_slot(&maps[e->partition], e->offset);
    if (*slot == 0)
      *slot = e->value + 1;
    else if (*slot != e->value + 1)
      violation(&c->inconsistent, "partition %d offset %lld holds value %llu and value %llu",
                e->partition, (long long)e->offset, (unsigned long long)(*slot - 1),
                (unsigned long long)e->value);
    struct value_state *v = &vs[e->value];
    if (e->kind == HISTORY_POLL) {
      if (v->polled && v->poll_offset != e->offset) {
        v->poll_offsets_distinct++;
        violation(&c->duplicate, "value %llu read at offsets %lld and %lld",
                  (unsigned long long)e->value, (long long)v->poll_offset,
                  (long long)e->offset);
      }
      v->polled = true;
      v->poll_offset = e->offset;
      if (e->client == h->final_reader) v->in_final_read = true;
    }
  }
}

/* Per client and partition, acks come back in increasing offset order and
 * polls read forward, one offset after another (no skipped offset that
 * holds a value). */
static void check_order(const struct history *h, const struct offset_map *maps,
                        struct checkers *c) {
  enum { CLIENTS_MAX = 256 };
  static int64_t last_ack[CLIENTS_MAX][64], last_poll[CLIENTS_MAX][64];
  for (int i = 0; i < CLIENTS_MAX; i++)
    for (int j = 0; j < 64; j++) last_ack[i][j] = last_poll[i][j] = -1;
  for (size_t i = 0; i < h->count; i++) {
    const struct history_event *e = &h->events[i];
    if (e->client < 0 || e->client >= CLIENTS_MAX || e->partition >= 64) continue;
    if (e->kind == HISTORY_SEEK) {
      last_poll[e->client][e->partition] = e->offset - 1;
      continue;
    }
    if (e->offset < 0) continue;
    if (e->kind == HISTORY_ACK) {
      int64_t *last = &last_ack[e->client][e->partition];
      if (e->offset <= *last)
        violation(&c->nonmono_send, "producer %d partition %d: ack at offset %lld after %lld",
                  e->client, e->partition, (long long)e->offset, (long long)*last);
      *last = e->offset;
    } else if (e->kind == HISTORY_POLL) {
      int64_t *last = &last_poll[e->client][e->partition];
      if (*last >= 0 && e->offset <= *last)
        violation(&c->nonmono_poll, "consumer %d partition %d: read %lld after %lld", e->client,
                  e->partition, (long long)e->offset, (long long)*last);
      for (int64_t o = *last + 1; *last >= 0 && o < e->offset && o < maps[e->partition].cap;
           o++)
        if (maps[e->partition].values[o] != 0) {
          violation(&c->poll_skip, "consumer %d partition %d: skipped offset %lld (value %llu)",
                    e->client, e->partition, (long long)o,
                    (unsigned long long)(maps[e->partition].values[o] - 1));
          break;
        }
      *last = e->offset;
    }
  }
}

static void check_values(const struct history *h, const struct value_state *vs, uint64_t n,
                         bool final_read, struct checkers *c) {
  for (uint64_t id = 0; id < n; id++) {
    const struct value_state *v = &vs[id];
    /* With a final read, only what it saw counts as still there. */
    bool present = h->final_reader ? v->in_final_read : v->polled;
    if (!v->acked || present) continue;
    if (!final_read) {
      violation(&c->unseen, "acknowledged value %llu not read yet", (unsigned long long)id);
    } else if (v->durable) {
      violation(&c->lost, "value %llu acknowledged at partition %d offset %lld was never read",
                (unsigned long long)id, v->partition, (long long)v->ack_offset);
    } else {
      violation(&c->unseen, "value %llu (acks=1) acknowledged but never read",
                (unsigned long long)id);
    }
  }
}

int history_check(const struct history *h, bool final_read, struct check_result *out,
                  int out_max) {
  struct value_state *vs = calloc(h->values_max ? h->values_max : 1, sizeof *vs);
  struct offset_map *maps = calloc(PARTITIONS_MAX, sizeof *maps);
  ASSERT(vs != NULL && maps != NULL);
  for (size_t i = 0; i < h->count; i++) {
    const struct history_event *e = &h->events[i];
    if (e->kind == HISTORY_SEEK) continue;
    struct value_state *v = &vs[e->value];
    v->partition = e->partition;
    if (e->kind == HISTORY_SEND) v->sent = true;
    if (e->kind == HISTORY_FAIL) v->failed = true;
    if (e->kind == HISTORY_ACK) {
      v->acked = true;
      v->durable |= e->durable_ack;
      v->ack_offset = e->offset;
    }
  }
  struct checkers c = {.lost = {.name = "lost-write"},
                       .duplicate = {.name = "duplicate"},
                       .inconsistent = {.name = "inconsistent-offsets"},
                       .nonmono_send = {.name = "nonmonotonic-send"},
                       .nonmono_poll = {.name = "nonmonotonic-poll"},
                       .poll_skip = {.name = "poll-skip"},
                       .unseen = {.name = "unseen"}};
  check_offsets(h, vs, maps, &c);
  check_order(h, maps, &c);
  check_values(h, vs, h->values_max, final_read, &c);
  struct check_result all[] = {c.lost,         c.duplicate, c.inconsistent, c.nonmono_send,
                               c.nonmono_poll, c.poll_skip, c.unseen};
  int n = 0;
  for (size_t i = 0; i < sizeof all / sizeof all[0] && n < out_max; i++) out[n++] = all[i];
  for (int p = 0; p < PARTITIONS_MAX; p++) free(maps[p].values);
  free(maps);
  free(vs);
  return n;
}
