#include "sim/history.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

enum { EVENTS_MAX = 1 << 26, PARTITIONS_MAX = HISTORY_STREAMS_MAX };

_Static_assert(sizeof(struct history_event) == 32, "history events stay small");

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

const char *history_kind_name(enum history_kind kind) {
  static const char *const names[] = {"send", "ack", "fail", "poll", "seek"};
  return (unsigned)kind < ARRAY_LEN(names) ? names[kind] : "?";
}

const char *history_stream_name(const struct history *h, int32_t stream, char *buf,
                                size_t cap) {
  if (h->labels && stream < h->label_count) return h->labels[stream];
  snprintf(buf, cap, "partition %d", stream);
  return buf;
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

const char *const history_checker_names[CHECKERS_MAX] = {
    "lost-write", "duplicate", "inconsistent-offsets", "nonmonotonic-send", "nonmonotonic-poll",
    "poll-skip",  "unseen",    "max-unavailability"};

/* In the order of history_checker_names. */
struct checkers {
  struct check_result lost, duplicate, inconsistent, nonmono_send, nonmono_poll, poll_skip,
      unseen, unavailability;
};

static void check_offsets(const struct history *h, struct value_state *vs,
                          struct offset_map *maps, struct checkers *c) {
  for (size_t i = 0; i < h->count; i++) {
    const struct history_event *e = &h->events[i];
    if ((e->kind != HISTORY_ACK && e->kind != HISTORY_POLL) || e->offset < 0) continue;
    uint64_t *slot = offset_slot(&maps[e->partition], e->offset);
    if (*slot == 0)
      *slot = e->value + 1;
    else if (*slot != e->value + 1) {
      char b[32];
      violation(&c->inconsistent, "%s offset %lld holds value %llu and value %llu",
                history_stream_name(h, e->partition, b, sizeof b), (long long)e->offset,
                (unsigned long long)(*slot - 1), (unsigned long long)e->value);
    }
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
  /* The last offset acknowledged to and read by each (client, stream). */
  int64_t(*last_ack)[PARTITIONS_MAX] = malloc(CLIENTS_MAX * sizeof *last_ack);
  int64_t(*last_poll)[PARTITIONS_MAX] = malloc(CLIENTS_MAX * sizeof *last_poll);
  ASSERT(last_ack != NULL && last_poll != NULL);
  for (int i = 0; i < CLIENTS_MAX; i++)
    for (int j = 0; j < PARTITIONS_MAX; j++) last_ack[i][j] = last_poll[i][j] = -1;
  char b[32];
  for (size_t i = 0; i < h->count; i++) {
    const struct history_event *e = &h->events[i];
    if (e->client < 0 || e->client >= CLIENTS_MAX) continue;
    if (e->kind == HISTORY_SEEK) {
      last_poll[e->client][e->partition] = e->offset - 1;
      continue;
    }
    if (e->offset < 0) continue;
    if (e->kind == HISTORY_ACK) {
      int64_t *last = &last_ack[e->client][e->partition];
      if (e->offset <= *last)
        violation(&c->nonmono_send, "producer %d %s: ack at offset %lld after %lld", e->client,
                  history_stream_name(h, e->partition, b, sizeof b), (long long)e->offset,
                  (long long)*last);
      *last = e->offset;
    } else if (e->kind == HISTORY_POLL) {
      int64_t *last = &last_poll[e->client][e->partition];
      if (*last >= 0 && e->offset <= *last)
        violation(&c->nonmono_poll, "consumer %d %s: read %lld after %lld", e->client,
                  history_stream_name(h, e->partition, b, sizeof b), (long long)e->offset,
                  (long long)*last);
      for (int64_t o = *last + 1; *last >= 0 && o < e->offset && o < maps[e->partition].cap;
           o++)
        if (maps[e->partition].values[o] != 0) {
          violation(&c->poll_skip, "consumer %d %s: skipped offset %lld (value %llu)",
                    e->client, history_stream_name(h, e->partition, b, sizeof b), (long long)o,
                    (unsigned long long)(maps[e->partition].values[o] - 1));
          break;
        }
      *last = e->offset;
    }
  }
  free(last_ack);
  free(last_poll);
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
      char b[32];
      violation(&c->lost, "value %llu acknowledged at %s offset %lld was never read",
                (unsigned long long)id, history_stream_name(h, v->partition, b, sizeof b),
                (long long)v->ack_offset);
    } else {
      violation(&c->unseen, "value %llu (acks=1) acknowledged but never read",
                (unsigned long long)id);
    }
  }
}

/* Per producer, in time order: sends in the air (sent, neither acknowledged
 * nor failed). A stretch of unavailability starts when the first one leaves
 * or at the last acknowledgement, whichever is later, and ends at the next
 * acknowledgement, at the failure of the last send waiting, or at end_ns if
 * sends still wait. What one producer sees counts: a client cut off from
 * the cluster is unavailable to its users while the others get on. */
struct waiting {
  int64_t count;
  uint64_t since_ns;
};

enum { PRODUCERS_MAX = 256 };

static void stretch(uint64_t from_ns, uint64_t to_ns, int32_t client, struct history_wait *w) {
  if (to_ns - from_ns <= w->longest_ns) return;
  w->longest_ns = to_ns - from_ns;
  w->start_ns = from_ns;
  w->client = client;
}

struct history_wait history_unavailability(const struct history *h, uint64_t end_ns) {
  struct waiting by_client[PRODUCERS_MAX] = {{0}}; /* 4 KiB */
  struct history_wait w = {0};
  for (size_t i = 0; i < h->count; i++) {
    const struct history_event *e = &h->events[i];
    if (e->client < 0 || e->client >= PRODUCERS_MAX) continue;
    struct waiting *c = &by_client[e->client];
    if (e->kind == HISTORY_SEND) {
      if (c->count++ == 0) c->since_ns = e->time_ns;
    } else if (e->kind == HISTORY_ACK || e->kind == HISTORY_FAIL) {
      ASSERT(c->count > 0);
      c->count--;
      /* A failure is no acknowledgement: the stretch goes on, unless it
       * was the last send waiting. */
      if (e->kind == HISTORY_FAIL && c->count > 0) continue;
      stretch(c->since_ns, e->time_ns, e->client, &w);
      c->since_ns = e->time_ns;
    }
  }
  for (int32_t client = 0; client < PRODUCERS_MAX; client++)
    if (by_client[client].count > 0 && end_ns > by_client[client].since_ns)
      stretch(by_client[client].since_ns, end_ns, client, &w);
  return w;
}

static void check_unavailability(const struct history *h,
                                 const struct history_check_config *cfg,
                                 struct check_result *r) {
  struct history_wait w = history_unavailability(h, cfg->end_ns);
  bool bounded = cfg->max_unavailability_ms >= 0;
  if (bounded && w.longest_ns > (uint64_t)cfg->max_unavailability_ms * 1000000)
    r->violations = 1;
  char bound[48] = "no bound";
  if (bounded)
    snprintf(bound, sizeof bound, "bound %.3f s", (double)cfg->max_unavailability_ms / 1e3);
  snprintf(r->first, sizeof r->first,
           "producer %d: no acknowledgement for %.3f s from t=%.3f s (%s)", w.client,
           (double)w.longest_ns / 1e9, (double)w.start_ns / 1e9, bound);
}

int history_check(const struct history *h, const struct history_check_config *cfg,
                  struct check_result *out, int out_max) {
  bool final_read = cfg->final_read;
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
  const char *const *name = history_checker_names;
  struct checkers c = {.lost = {.name = name[0]},
                       .duplicate = {.name = name[1]},
                       .inconsistent = {.name = name[2]},
                       .nonmono_send = {.name = name[3]},
                       .nonmono_poll = {.name = name[4]},
                       .poll_skip = {.name = name[5]},
                       .unseen = {.name = name[6]},
                       .unavailability = {.name = name[7]}};
  check_offsets(h, vs, maps, &c);
  check_order(h, maps, &c);
  check_values(h, vs, h->values_max, final_read, &c);
  check_unavailability(h, cfg, &c.unavailability);
  struct check_result all[] = {c.lost,         c.duplicate, c.inconsistent, c.nonmono_send,
                               c.nonmono_poll, c.poll_skip, c.unseen,       c.unavailability};
  int n = 0;
  for (size_t i = 0; i < sizeof all / sizeof all[0] && n < out_max; i++) out[n++] = all[i];
  for (int p = 0; p < PARTITIONS_MAX; p++) free(maps[p].values);
  free(maps);
  free(vs);
  return n;
}
