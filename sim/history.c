#include "sim/history.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

enum {
  EVENTS_MAX = 1 << 26,
  CUTS_MAX = 1 << 20,
  STREAMS = HISTORY_STREAMS_MAX,
  CLIENTS_MAX = 256,
  READ_SET = 4, /* distinct read offsets kept per value; more count as "more" */
};

_Static_assert(sizeof(struct history_event) == 32, "history events stay small");

void history_init(struct history *h) { memset(h, 0, sizeof *h); }

void history_free(struct history *h) {
  free(h->events);
  free(h->cuts);
  history_init(h);
}

void history_add(struct history *h, const struct history_event *e) {
  ASSERT(h->count < EVENTS_MAX);
  ASSERT(e->partition >= 0 && e->partition < STREAMS);
  if (h->count == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 1024;
    struct history_event *events = realloc(h->events, cap * sizeof *events);
    ASSERT(events != NULL);
    h->events = events;
    h->cap = cap;
  }
  h->events[h->count++] = *e;
  /* Only sends name values: a poll of a garbage id must not size anything. */
  if (e->kind == HISTORY_SEND && e->value < HISTORY_VALUE_UNKNOWN &&
      e->value + 1 > h->values_max)
    h->values_max = e->value + 1;
}

void history_add_cut(struct history *h, const struct history_cut *c) {
  ASSERT(h->cut_count < CUTS_MAX);
  ASSERT(c->stream >= 0 && c->stream < STREAMS && c->reason < ALLOWANCES);
  if (h->cut_count == h->cut_cap) {
    size_t cap = h->cut_cap ? h->cut_cap * 2 : 16;
    struct history_cut *cuts = realloc(h->cuts, cap * sizeof *cuts);
    ASSERT(cuts != NULL);
    h->cuts = cuts;
    h->cut_cap = cap;
  }
  h->cuts[h->cut_count++] = *c;
}

const char *history_kind_name(enum history_kind kind) {
  static const char *const names[HISTORY_KINDS] = {"send", "ack",   "fail",  "poll",
                                                   "seek", "retry", "delete"};
  return (unsigned)kind < ARRAY_LEN(names) ? names[kind] : "?";
}

const char *history_stream_name(const struct history *h, int32_t stream, char *buf,
                                size_t cap) {
  if (h->labels && stream >= 0 && stream < h->label_count) return h->labels[stream];
  snprintf(buf, cap, "partition %d", stream);
  return buf;
}

const char *const history_checker_names[CHECKERS_MAX] = {
    [CHECK_LOST_WRITE] = "lost-write",
    [CHECK_DUPLICATE] = "duplicate",
    [CHECK_INCONSISTENT_OFFSETS] = "inconsistent-offsets",
    [CHECK_NONMONOTONIC_SEND] = "nonmonotonic-send",
    [CHECK_NONMONOTONIC_POLL] = "nonmonotonic-poll",
    [CHECK_POLL_SKIP] = "poll-skip",
    [CHECK_UNSEEN] = "unseen",
    [CHECK_FINAL_READ] = "final-read",
    [CHECK_UNEXPECTED] = "unexpected",
    [CHECK_MAX_UNAVAILABILITY] = "max-unavailability",
    [CHECK_COMPACTION] = "compaction",
};

const char *const history_allowance_names[ALLOWANCES] = {
    [ALLOW_POWER_LOSS_TAIL] = "power-loss-tail",
    [ALLOW_CORRUPT_BATCH] = "corrupt-batch",
    [ALLOW_DISK_LOSS] = "disk-loss",
    [ALLOW_RETRIED_SENDS] = "retried-sends",
    [ALLOW_ACKS_0] = "acks-0",
    [ALLOW_RETENTION] = "retention",
    [ALLOW_UNCLEAN_ELECTION] = "unclean-election",
    [ALLOW_DELETE_RECORDS] = "delete-records",
    [ALLOW_COMPACTION] = "compaction",
};

#define BIT(a) (1u << (a))

uint32_t history_allowances_for(enum history_checker checker) {
  const uint32_t cuts = BIT(ALLOW_POWER_LOSS_TAIL) | BIT(ALLOW_CORRUPT_BATCH) |
                        BIT(ALLOW_DISK_LOSS) | BIT(ALLOW_UNCLEAN_ELECTION);
  switch (checker) {
  case CHECK_LOST_WRITE:
    return cuts | BIT(ALLOW_RETENTION) | BIT(ALLOW_DELETE_RECORDS) | BIT(ALLOW_COMPACTION);
  case CHECK_INCONSISTENT_OFFSETS:
  case CHECK_NONMONOTONIC_SEND:
    return cuts;
  case CHECK_DUPLICATE:
    return cuts | BIT(ALLOW_RETRIED_SENDS);
  case CHECK_UNSEEN:
    return BIT(ALLOW_ACKS_0);
  case CHECK_FINAL_READ:
    return BIT(ALLOW_CORRUPT_BATCH);
  case CHECK_POLL_SKIP:
    return BIT(ALLOW_CORRUPT_BATCH) | BIT(ALLOW_COMPACTION);
  default:
    return 0;
  }
}

const char *history_allowances_text(uint32_t allowances, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = 0;
  for (int a = 0; a < ALLOWANCES; a++) {
    if (!(allowances & BIT(a))) continue;
    int n = snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", history_allowance_names[a]);
    if (n < 0 || (size_t)n >= cap - len) break;
    len += (size_t)n;
  }
  if (!len) snprintf(buf, cap, "none");
  return buf;
}

/* ---- the state the checkers build ---- */

/* What the history says about one value. */
struct value_state {
  int16_t ack_incarnation;
  int64_t ack_offset;
  int64_t read_at[READ_SET]; /* the distinct offsets it was read at */
  int16_t read_by[READ_SET]; /* the broker process that first served each */
  int32_t stream;
  int32_t attempts; /* sends: 1 + retries */
  uint64_t send_ns; /* its first send */
  uint8_t reads;    /* distinct read offsets, READ_SET + 1 meaning more */
  bool sent, acked, polled, in_final_read;
};

/* One offset of a stream: the value seen there (+ 1; 0: never any) and
 * which broker process first said so. Offsets of a stream are dense from 0
 * and below every record sent to it, so an array of that many slots is
 * enough. */
struct slot {
  uint64_t value1;
  int16_t incarnation;
};

struct stream_state {
  struct slot *slots;
  int64_t bound; /* sends and retries to the stream: no offset reaches it */
  /* The highest offset the final reader was sent to by a seek (the log
   * start the broker reported after retention deleted segments); 0: none. */
  int64_t final_log_start;
  /* The highest offset an acknowledged DeleteRecords deleted below; 0: none. */
  int64_t deleted_below;
};

struct checking {
  const struct history *h;
  const struct history_check_config *cfg;
  struct value_state *vs;
  uint64_t nv;
  struct stream_state streams[STREAMS];
  struct check_result r[CHECKERS_MAX];
  /* Keyed workloads: per stream and key, the offset of the latest
   * acknowledged record ([stream * keys + key]; -1: none). */
  int64_t *latest_acked;
  int64_t *latest_seen;     /* the same of any record seen there, acknowledged or read */
  int64_t *latest_acked_id; /* the value id acknowledged at latest_acked; -1: none */
  /* The cuts by stream, each stream's in the history's order: stream s's
   * are cuts[cut_index[cut_first[s]]] up to cut_first[s + 1]. */
  uint32_t *cut_index;
  size_t cut_first[STREAMS + 1];
  int32_t cut_incarnation_max[STREAMS]; /* of the stream's cuts; INT32_MIN: none */
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

static uint32_t allowed(const struct checking *k, enum history_checker c) {
  return k->cfg->allow[c] & history_allowances_for(c);
}

enum { LATER = INT16_MAX + 1 }; /* after every broker process */

/* Sorts the cuts by stream, stably (cut_covering looks at one stream's). */
static void index_cuts(struct checking *k) {
  const struct history *h = k->h;
  k->cut_index = malloc((h->cut_count ? h->cut_count : 1) * sizeof *k->cut_index);
  ASSERT(k->cut_index != NULL);
  size_t count[STREAMS] = {0};
  for (int s = 0; s < STREAMS; s++) k->cut_incarnation_max[s] = INT32_MIN;
  for (size_t i = 0; i < h->cut_count; i++) {
    const struct history_cut *c = &h->cuts[i];
    count[c->stream]++;
    if (c->incarnation > k->cut_incarnation_max[c->stream])
      k->cut_incarnation_max[c->stream] = c->incarnation;
  }
  k->cut_first[0] = 0;
  for (int s = 0; s < STREAMS; s++) k->cut_first[s + 1] = k->cut_first[s] + count[s];
  size_t at[STREAMS];
  memcpy(at, k->cut_first, sizeof at);
  for (size_t i = 0; i < h->cut_count; i++) k->cut_index[at[h->cuts[i].stream]++] = (uint32_t)i;
}

/* A cut of one of the allowed reasons on stream that reaches down to
 * offset and falls after broker process `after` answered and no later
 * than process `until` did; NULL if none. */
static const struct history_cut *cut_covering(const struct checking *k, int stream,
                                              int64_t offset, int32_t after, int32_t until,
                                              uint32_t reasons) {
  ASSERT(stream >= 0 && stream < STREAMS);
  if (after >= k->cut_incarnation_max[stream]) return NULL; /* every cut is before it */
  for (size_t i = k->cut_first[stream]; i < k->cut_first[stream + 1]; i++) {
    const struct history_cut *c = &k->h->cuts[k->cut_index[i]];
    if (c->incarnation > after && c->incarnation <= until && c->offset <= offset &&
        (reasons & BIT(c->reason)))
      return c;
  }
  return NULL;
}

static const char *name_of(const struct checking *k, int stream, char *b, size_t cap) {
  return history_stream_name(k->h, stream, b, cap);
}

/* ---- pass 1, in time order: values, offsets, what no broker can do ---- */

/* An offset a log can have: -1 (none) where allowed, else 0 up to the
 * records sent to the stream. Anything else is a finding, and the event is
 * left out of the other checks. */
static bool offset_sane(struct checking *k, const struct history_event *e, bool none_ok) {
  char b[32];
  const struct stream_state *s = &k->streams[e->partition];
  if (e->offset == -1 && none_ok) return true;
  if (e->offset < 0) {
    violation(&k->r[CHECK_UNEXPECTED],
              "client %d: %s of value %llu at %s offset %lld (negative)", e->client,
              history_kind_name(e->kind), (unsigned long long)e->value,
              name_of(k, e->partition, b, sizeof b), (long long)e->offset);
    return false;
  }
  if (e->offset >= s->bound) {
    violation(&k->r[CHECK_UNEXPECTED],
              "client %d: %s of value %llu at %s offset %lld, past every record sent to it "
              "(%lld sends and retries)",
              e->client, history_kind_name(e->kind), (unsigned long long)e->value,
              name_of(k, e->partition, b, sizeof b), (long long)e->offset, (long long)s->bound);
    return false;
  }
  return true;
}

static bool value_sent(const struct checking *k, uint64_t value) {
  return value < k->nv && k->vs[value].sent;
}

/* Broker process `incarnation` says offset o of stream s holds value. Two
 * values at one offset are inconsistent unless a cut that reaches o fell
 * between the processes that said so (the offset was reused), in either
 * order: a frame the network held across restarts (swarm seed 192: a poll
 * answered by process 2, delivered after process 3 acknowledged another
 * value there) tells of an older process than the slot's. The slot keeps
 * the newest process's value. */
static void hold(struct checking *k, int s, int64_t o, uint64_t value, int16_t incarnation) {
  struct slot *sl = &k->streams[s].slots[o];
  struct check_result *r = &k->r[CHECK_INCONSISTENT_OFFSETS];
  if (sl->value1 == value + 1) return;
  if (sl->value1 != 0) {
    int16_t older = sl->incarnation < incarnation ? sl->incarnation : incarnation;
    int16_t newer = sl->incarnation < incarnation ? incarnation : sl->incarnation;
    if (!cut_covering(k, s, o, older, newer, allowed(k, CHECK_INCONSISTENT_OFFSETS))) {
      char b[32];
      violation(r, "%s offset %lld holds value %llu and value %llu", name_of(k, s, b, sizeof b),
                (long long)o, (unsigned long long)(sl->value1 - 1), (unsigned long long)value);
      return;
    }
    r->allowed++;
    if (incarnation < sl->incarnation) return;
  }
  sl->value1 = value + 1;
  sl->incarnation = incarnation;
}

static void note_read(struct value_state *v, int64_t offset, int16_t incarnation) {
  int known = v->reads < READ_SET ? v->reads : READ_SET;
  for (int i = 0; i < known; i++)
    if (v->read_at[i] == offset) return;
  if (v->reads < READ_SET) {
    v->read_at[v->reads] = offset;
    v->read_by[v->reads] = incarnation;
  }
  if (v->reads <= READ_SET) v->reads++;
}

static void pass_values(struct checking *k) {
  const struct history *h = k->h;
  for (size_t i = 0; i < h->count; i++) {
    const struct history_event *e = &h->events[i];
    struct value_state *v = e->value < k->nv ? &k->vs[e->value] : NULL;
    char b[32];
    switch (e->kind) {
    case HISTORY_SEND:
      if (!v) break;
      if (!v->sent) v->send_ns = e->time_ns;
      v->sent = true;
      v->stream = e->partition;
      if (v->attempts < 1) v->attempts = 1;
      break;
    case HISTORY_RETRY:
      if (v && v->attempts < e->attempt) v->attempts = e->attempt;
      break;
    case HISTORY_ACK:
      if (!value_sent(k, e->value)) {
        violation(&k->r[CHECK_UNEXPECTED],
                  "producer %d: acknowledgement of value %llu at %s, never sent", e->client,
                  (unsigned long long)e->value, name_of(k, e->partition, b, sizeof b));
        break;
      }
      if (!offset_sane(k, e, true)) break;
      v->acked = true;
      v->ack_incarnation = e->incarnation;
      v->ack_offset = e->offset;
      if (e->offset >= 0) hold(k, e->partition, e->offset, e->value, e->incarnation);
      break;
    case HISTORY_POLL:
      if (!offset_sane(k, e, false)) break;
      if (!value_sent(k, e->value)) {
        violation(&k->r[CHECK_UNEXPECTED],
                  "consumer %d: read at %s offset %lld a value no producer sent (%s)",
                  e->client, name_of(k, e->partition, b, sizeof b), (long long)e->offset,
                  e->value == HISTORY_VALUE_UNKNOWN ? "not one of theirs" : "an unknown id");
        break;
      }
      hold(k, e->partition, e->offset, e->value, e->incarnation);
      v->polled = true;
      note_read(v, e->offset, e->incarnation);
      if (e->client == h->final_reader) v->in_final_read = true;
      break;
    default:
      break;
    }
  }
}

/* ---- keyed workloads: what a compacted topic may have removed ---- */

uint64_t history_key_of(const struct history *h, uint64_t id) {
  ASSERT(h->keys > 0);
  if (h->deletes == 0) return id % h->keys;
  uint64_t epoch = id / h->keys / h->deletes;
  return id % h->keys + (uint64_t)h->keys * epoch;
}

bool history_is_tombstone(const struct history *h, uint64_t id) {
  return h->keys > 0 && h->deletes > 0 && id / h->keys % h->deletes == h->deletes - 1;
}

uint64_t history_tombstone_id(const struct history *h, uint64_t key) {
  ASSERT(h->keys > 0 && h->deletes > 0);
  uint64_t epoch = key / h->keys;
  return (epoch * h->deletes + h->deletes - 1) * h->keys + key % h->keys;
}

/* Keys of the values sent: every key number of a value id below nv. */
static uint64_t key_count(const struct checking *k) {
  if (k->h->deletes == 0) return k->h->keys;
  return (uint64_t)k->h->keys * (k->nv / ((uint64_t)k->h->keys * k->h->deletes) + 1);
}

static size_t key_of(const struct checking *k, uint64_t id) {
  return (size_t)history_key_of(k->h, id);
}

static int64_t *keyed_offsets(const struct checking *k) {
  size_t n = (size_t)STREAMS * key_count(k);
  int64_t *a = malloc(n * sizeof *a);
  ASSERT(a != NULL);
  for (size_t i = 0; i < n; i++) a[i] = -1;
  return a;
}

/* Per stream and key, the latest acknowledged offset and the latest offset
 * any record of the key was seen at (after pass 1). */
static void find_latest(struct checking *k) {
  if (k->h->keys == 0) return;
  size_t keys = (size_t)key_count(k);
  k->latest_acked = keyed_offsets(k);
  k->latest_seen = keyed_offsets(k);
  k->latest_acked_id = keyed_offsets(k);
  for (uint64_t id = 0; id < k->nv; id++) {
    const struct value_state *v = &k->vs[id];
    if (!v->acked || v->ack_offset < 0 || v->stream < 0 || v->stream >= STREAMS) continue;
    size_t i = (size_t)v->stream * keys + key_of(k, id);
    if (v->ack_offset <= k->latest_acked[i]) continue;
    k->latest_acked[i] = v->ack_offset;
    k->latest_acked_id[i] = (int64_t)id;
  }
  for (int st = 0; st < STREAMS; st++)
    for (int64_t at = 0; at < k->streams[st].bound; at++) {
      uint64_t value1 = k->streams[st].slots[at].value1;
      if (value1 == 0 || value1 - 1 >= k->nv) continue;
      int64_t *seen = &k->latest_seen[(size_t)st * keys + key_of(k, value1 - 1)];
      if (at > *seen) *seen = at;
    }
}

/* A tombstone sent at send_ns whose delete horizon (delete.retention.ms
 * after the cleaner's first pass over it, so no earlier than that after its
 * send) may have passed by at_ns. */
static bool horizon_passed(const struct checking *k, uint64_t send_ns, uint64_t at_ns) {
  int64_t d_ms = k->h->delete_retention_ms;
  return d_ms >= 0 && send_ns + (uint64_t)d_ms * 1000000u <= at_ns;
}

/* The record of value id at offset has a later one of its key on the
 * stream, or is a tombstone whose horizon may have passed in the run, so
 * the cleaner may have removed it (allowance "compaction"). Whether the
 * tombstone stayed long enough is the compaction checker's question. */
static bool superseded(const struct checking *k, enum history_checker c, int stream,
                       uint64_t id, int64_t offset) {
  if (!k->latest_seen || !(allowed(k, c) & BIT(ALLOW_COMPACTION))) return false;
  if (stream < 0 || stream >= STREAMS) return false;
  if (history_is_tombstone(k->h, id) && id < k->nv &&
      horizon_passed(k, k->vs[id].send_ns, k->cfg->end_ns))
    return true;
  return k->latest_seen[(size_t)stream * key_count(k) + key_of(k, id)] > offset;
}

/* Every record a consumer skipped over in [from, to) was superseded. */
static bool skip_compacted(const struct checking *k, int stream, int64_t from, int64_t to) {
  const struct slot *slots = k->streams[stream].slots;
  for (int64_t at = from; at < to; at++)
    if (slots[at].value1 != 0 &&
        !superseded(k, CHECK_POLL_SKIP, stream, slots[at].value1 - 1, at))
      return false;
  return true;
}

/* The final reader's polls, by stream and offset, each with the earliest
 * time it polled that offset or a later one of the stream: by then it had
 * read past every lower offset. */
struct pass_at {
  int64_t stream, offset;
  uint64_t time_ns;
};

static int pass_cmp(const void *a, const void *b) {
  const struct pass_at *x = a, *y = b;
  if (x->stream != y->stream) return x->stream < y->stream ? -1 : 1;
  if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
  return x->time_ns < y->time_ns ? -1 : x->time_ns > y->time_ns;
}

static struct pass_at *final_passes(const struct checking *k, size_t *count) {
  const struct history *h = k->h;
  struct pass_at *p = malloc((h->count ? h->count : 1) * sizeof *p);
  ASSERT(p != NULL);
  size_t n = 0;
  for (size_t i = 0; i < h->count; i++) {
    const struct history_event *e = &h->events[i];
    if (e->kind == HISTORY_POLL && e->client == h->final_reader && e->offset >= 0)
      p[n++] = (struct pass_at){e->partition, e->offset, e->time_ns};
  }
  qsort(p, n, sizeof *p, pass_cmp);
  for (size_t i = n; i-- > 1;)
    if (p[i - 1].stream == p[i].stream && p[i].time_ns < p[i - 1].time_ns)
      p[i - 1].time_ns = p[i].time_ns;
  *count = n;
  return p;
}

/* When the final reader had read past offset of stream: its first poll of a
 * later offset (the fetch that served offset came no later); end_ns if it
 * polled none. */
static uint64_t passed_at(const struct checking *k, const struct pass_at *p, size_t n,
                          int stream, int64_t offset) {
  size_t lo = 0, hi = n;
  while (lo < hi) { /* the first entry after (stream, offset) */
    size_t mid = lo + (hi - lo) / 2;
    if (p[mid].stream < stream || (p[mid].stream == stream && p[mid].offset <= offset))
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && p[lo].stream == stream ? p[lo].time_ns : k->cfg->end_ns;
}

/* The latest acknowledged record of a key is a tombstone the final read
 * does not hold: Kafka keeps it readable until its delete horizon, at least
 * delete.retention.ms after its send; once it is gone no record of its key
 * before it may be left (the cleaner removed those first). */
static void judge_tombstone(struct checking *k, int st, size_t key, int64_t final_latest,
                            const struct pass_at *p, size_t n) {
  size_t i = (size_t)st * key_count(k) + key;
  uint64_t id = (uint64_t)k->latest_acked_id[i];
  int64_t offset = k->latest_acked[i];
  struct check_result *r = &k->r[CHECK_COMPACTION];
  char b[32];
  if (final_latest >= 0) {
    violation(r,
              "key k%zu of %s: its tombstone (value %llu, offset %lld) is gone but its record "
              "at offset %lld is in the final read",
              key, name_of(k, st, b, sizeof b), (unsigned long long)id, (long long)offset,
              (long long)final_latest);
    return;
  }
  uint64_t passed_ns = passed_at(k, p, n, st, offset);
  if (horizon_passed(k, k->vs[id].send_ns, passed_ns)) {
    r->allowed++;
    return;
  }
  violation(r,
            "key k%zu of %s: its tombstone (value %llu, offset %lld, sent at %.3f s) is not in "
            "the final read, which passed it at %.3f s, within delete.retention.ms (%lld ms)",
            key, name_of(k, st, b, sizeof b), (unsigned long long)id, (long long)offset,
            (double)k->vs[id].send_ns / 1e9, (double)passed_ns / 1e9,
            (long long)k->h->delete_retention_ms);
}

/* The key's tombstone went to stream st unacknowledged (its acknowledgement
 * lost) and may have passed its horizon: it may have removed the key's
 * acknowledged records and then gone itself. */
static bool unacked_tombstone_gone(const struct checking *k, int st, size_t key) {
  if (!k->h->deletes) return false;
  uint64_t id = history_tombstone_id(k->h, key);
  if (id >= k->nv) return false;
  const struct value_state *v = &k->vs[id];
  return v->sent && !v->acked && v->stream == st &&
         horizon_passed(k, v->send_ns, k->cfg->end_ns);
}

/* The final read holds, for every key of every stream, the key's latest
 * acknowledged record or a later record of that key: what a log cleaner
 * must never remove (a tombstone only until its horizon). */
static void judge_compaction(struct checking *k) {
  const struct history *h = k->h;
  if (!k->latest_acked || !k->cfg->final_read || !h->final_reader) return;
  size_t keys = (size_t)key_count(k);
  int64_t *final_latest = keyed_offsets(k);
  for (size_t i = 0; i < h->count; i++) {
    const struct history_event *e = &h->events[i];
    if (e->kind != HISTORY_POLL || e->client != h->final_reader || e->offset < 0 ||
        e->partition < 0 || e->partition >= STREAMS || e->value >= k->nv)
      continue;
    int64_t *at = &final_latest[(size_t)e->partition * keys + key_of(k, e->value)];
    if (e->offset > *at) *at = e->offset;
  }
  size_t n = 0;
  struct pass_at *p = h->deletes ? final_passes(k, &n) : NULL;
  struct check_result *r = &k->r[CHECK_COMPACTION];
  for (int st = 0; st < STREAMS; st++)
    for (size_t key = 0; key < keys; key++) {
      size_t i = (size_t)st * keys + key;
      if (k->latest_acked[i] < 0) continue;
      if (final_latest[i] >= k->latest_acked[i]) continue;
      if (history_is_tombstone(h, (uint64_t)k->latest_acked_id[i])) {
        judge_tombstone(k, st, key, final_latest[i], p, n);
        continue;
      }
      if (final_latest[i] < 0 && unacked_tombstone_gone(k, st, key)) {
        r->allowed++;
        continue;
      }
      char b[32];
      violation(r,
                "key k%zu of %s: its latest acknowledged record (offset %lld) is not in the "
                "final read, whose latest of it is at %lld",
                key, name_of(k, st, b, sizeof b), (long long)k->latest_acked[i],
                (long long)final_latest[i]);
    }
  if (!r->violations && r->allowed)
    snprintf(r->first, sizeof r->first,
             "%zu keys gone with their tombstone, read past after delete.retention.ms",
             r->allowed);
  free(p);
  free(final_latest);
}

/* ---- pass 2, in time order: what each client saw in order ---- */

struct order {
  int64_t last_ack[CLIENTS_MAX][STREAMS];
  int16_t last_ack_incarnation[CLIENTS_MAX][STREAMS];
  int64_t position[CLIENTS_MAX][STREAMS]; /* where the consumer reads next; -1: unknown */
  bool sought[CLIENTS_MAX][STREAMS];      /* the position is a seek's, not a read's */
};

static bool offset_in_range(const struct checking *k, const struct history_event *e) {
  return e->offset >= 0 && e->offset < k->streams[e->partition].bound;
}

/* An acknowledgement at or below the producer's previous one on the stream
 * is nonmonotonic unless a cut reaching it fell between the two. */
static void order_ack(struct checking *k, struct order *o, const struct history_event *e) {
  int64_t *last = &o->last_ack[e->client][e->partition];
  int16_t *last_incarnation = &o->last_ack_incarnation[e->client][e->partition];
  struct check_result *r = &k->r[CHECK_NONMONOTONIC_SEND];
  if (*last >= 0 && e->offset <= *last) {
    if (cut_covering(k, e->partition, e->offset, *last_incarnation, e->incarnation,
                     allowed(k, CHECK_NONMONOTONIC_SEND))) {
      r->allowed++;
    } else {
      char b[32];
      violation(r, "producer %d %s: ack at offset %lld after %lld", e->client,
                name_of(k, e->partition, b, sizeof b), (long long)e->offset, (long long)*last);
    }
  }
  *last = e->offset;
  *last_incarnation = e->incarnation;
}

/* Whether the offsets skipped, first to last, all lie in one batch that
 * holds a flipped bit (corrupt-batch, where allowed): a flip outside the
 * CRC (the base offset) can make a reader pass over a batch unknowingly. */
static bool skip_explained(const struct checking *k, int stream, int64_t first, int64_t last) {
  if (!(allowed(k, CHECK_POLL_SKIP) & BIT(ALLOW_CORRUPT_BATCH))) return false;
  for (size_t i = 0; i < k->h->cut_count; i++) {
    const struct history_cut *c = &k->h->cuts[i];
    if (c->stream == stream && c->reason == ALLOW_CORRUPT_BATCH && c->offset <= first &&
        last <= c->last_offset)
      return true;
  }
  return false;
}

/* A consumer reads forward from its position, one offset after another: a
 * read below it is nonmonotonic, a read past it skips every offset between
 * that ever held a value. A seek sets the position (the seek explains the
 * jump from where the consumer was; it does not explain reading past where
 * it sought). */
static void order_poll(struct checking *k, struct order *o, const struct history_event *e) {
  int64_t *pos = &o->position[e->client][e->partition];
  bool sought = o->sought[e->client][e->partition];
  char b[32];
  if (*pos >= 0 && e->offset < *pos) {
    if (sought)
      violation(&k->r[CHECK_NONMONOTONIC_POLL],
                "consumer %d %s: read %lld after a seek to %lld", e->client,
                name_of(k, e->partition, b, sizeof b), (long long)e->offset, (long long)*pos);
    else
      violation(&k->r[CHECK_NONMONOTONIC_POLL], "consumer %d %s: read %lld after %lld",
                e->client, name_of(k, e->partition, b, sizeof b), (long long)e->offset,
                (long long)(*pos - 1));
  } else if (*pos >= 0 && e->offset > *pos) {
    const struct slot *slots = k->streams[e->partition].slots;
    int64_t first = -1, last = -1;
    for (int64_t at = *pos; at < e->offset; at++)
      if (slots[at].value1 != 0) {
        if (first < 0) first = at;
        last = at;
      }
    if (first >= 0 && (skip_explained(k, e->partition, first, last) ||
                       skip_compacted(k, e->partition, *pos, e->offset))) {
      k->r[CHECK_POLL_SKIP].allowed++;
    } else if (first >= 0) {
      violation(&k->r[CHECK_POLL_SKIP],
                "consumer %d %s: skipped offset %lld (value %llu) reading %lld %s %lld",
                e->client, name_of(k, e->partition, b, sizeof b), (long long)first,
                (unsigned long long)(slots[first].value1 - 1), (long long)e->offset,
                sought ? "after a seek to" : "after", (long long)(sought ? *pos : *pos - 1));
    }
  }
  *pos = e->offset + 1;
  o->sought[e->client][e->partition] = false;
}

static void pass_order(struct checking *k) {
  struct order *o = malloc(sizeof *o);
  ASSERT(o != NULL);
  for (int c = 0; c < CLIENTS_MAX; c++)
    for (int s = 0; s < STREAMS; s++) {
      o->last_ack[c][s] = o->position[c][s] = -1;
      o->last_ack_incarnation[c][s] = 0;
      o->sought[c][s] = false;
    }
  const struct history *h = k->h;
  for (size_t i = 0; i < h->count; i++) {
    const struct history_event *e = &h->events[i];
    if (e->client < 0 || e->client >= CLIENTS_MAX) continue;
    if (e->kind == HISTORY_SEEK) {
      o->position[e->client][e->partition] = e->offset >= 0 ? e->offset : -1;
      o->sought[e->client][e->partition] = true;
    } else if (e->kind == HISTORY_ACK && offset_in_range(k, e) && value_sent(k, e->value)) {
      order_ack(k, o, e);
    } else if (e->kind == HISTORY_POLL && offset_in_range(k, e)) {
      order_poll(k, o, e);
    }
  }
  free(o);
}

/* ---- after the history: each value's fate ---- */

/* Retention (allowance "retention") may delete what lies below the log start
 * the final reader was sent to; nothing at or above it. */
static bool below_retention(const struct checking *k, const struct value_state *v) {
  if (!(allowed(k, CHECK_LOST_WRITE) & BIT(ALLOW_RETENTION))) return false;
  ASSERT(v->stream >= 0 && v->stream < STREAMS);
  return v->ack_offset >= 0 && v->ack_offset < k->streams[v->stream].final_log_start;
}

/* DeleteRecords (allowance "delete-records", KIP-107) may delete what lies
 * below the highest offset an answered request named; nothing at or above
 * it: unlike "retention", the broker's own log start does not count
 * (find_stream_bounds). */
static bool below_deleted(const struct checking *k, const struct value_state *v) {
  if (!(allowed(k, CHECK_LOST_WRITE) & BIT(ALLOW_DELETE_RECORDS))) return false;
  ASSERT(v->stream >= 0 && v->stream < STREAMS);
  return v->ack_offset >= 0 && v->ack_offset < k->streams[v->stream].deleted_below;
}

/* One pass for each stream's bounds: the sends and retries to it (no
 * offset reaches that many); where the final reader's seeks sent it
 * (history_check_config final_read: the runner seeks it to the log start
 * after OFFSET_OUT_OF_RANGE); the highest offset an answered DeleteRecords
 * deleted below. */
static void find_stream_bounds(struct checking *k) {
  const struct history *h = k->h;
  for (size_t i = 0; i < h->count; i++) {
    const struct history_event *e = &h->events[i];
    struct stream_state *s = &k->streams[e->partition];
    if (e->kind == HISTORY_SEND || e->kind == HISTORY_RETRY) {
      s->bound++;
    } else if (e->kind == HISTORY_SEEK) {
      if (h->final_reader && e->client == h->final_reader && e->offset > s->final_log_start)
        s->final_log_start = e->offset;
    } else if (e->kind == HISTORY_DELETE) {
      if (e->offset > s->deleted_below) s->deleted_below = e->offset;
    }
  }
}

static void judge_acked(struct checking *k, uint64_t id, const struct value_state *v) {
  const struct history *h = k->h;
  bool final_read = k->cfg->final_read;
  /* With a final read, only what it saw counts as still there. */
  bool present = h->final_reader ? v->in_final_read : v->polled;
  char b[32];
  if (v->ack_offset < 0) { /* acks=0: nothing was promised */
    struct check_result *r = &k->r[CHECK_UNSEEN];
    bool may = allowed(k, CHECK_UNSEEN) & BIT(ALLOW_ACKS_0);
    r->bound += may;
    if (present) return;
    if (may)
      r->allowed++;
    else
      violation(r, "value %llu (acks=0) %s", (unsigned long long)id,
                final_read ? "was never read" : "not read yet");
    return;
  }
  const struct history_cut *lost_cut = cut_covering(
      k, v->stream, v->ack_offset, v->ack_incarnation, LATER, allowed(k, CHECK_LOST_WRITE));
  k->r[CHECK_LOST_WRITE].bound += lost_cut != NULL || below_retention(k, v) ||
                                  below_deleted(k, v) ||
                                  superseded(k, CHECK_LOST_WRITE, v->stream, id, v->ack_offset);
  for (int c = CHECK_INCONSISTENT_OFFSETS; c <= CHECK_NONMONOTONIC_SEND; c++)
    k->r[c].bound += cut_covering(k, v->stream, v->ack_offset, v->ack_incarnation, LATER,
                                  allowed(k, c)) != NULL;
  if (!present) {
    if (!final_read)
      violation(&k->r[CHECK_UNSEEN], "acknowledged value %llu not read yet",
                (unsigned long long)id);
    else if (lost_cut || below_retention(k, v) || below_deleted(k, v) ||
             superseded(k, CHECK_LOST_WRITE, v->stream, id, v->ack_offset))
      k->r[CHECK_LOST_WRITE].allowed++;
    else
      violation(
          &k->r[CHECK_LOST_WRITE], "value %llu acknowledged at %s offset %lld was never read",
          (unsigned long long)id, name_of(k, v->stream, b, sizeof b), (long long)v->ack_offset);
  }
  /* Read, but never at the offset it was acknowledged at. */
  if (!v->polled || v->reads > READ_SET) return;
  for (int i = 0; i < v->reads; i++)
    if (v->read_at[i] == v->ack_offset) return;
  struct check_result *r = &k->r[CHECK_INCONSISTENT_OFFSETS];
  if (cut_covering(k, v->stream, v->ack_offset, v->ack_incarnation, LATER,
                   allowed(k, CHECK_INCONSISTENT_OFFSETS)))
    r->allowed++;
  else
    violation(r, "value %llu acknowledged at %s offset %lld was read at offset %lld",
              (unsigned long long)id, name_of(k, v->stream, b, sizeof b),
              (long long)v->ack_offset, (long long)v->read_at[0]);
}

/* Whether the copy of a value read at its i-th offset was gone before a
 * later read found it elsewhere: a cut (where allowed) reaching that offset
 * fell between the broker process that served the copy and the one that
 * served the later read. The producer's retry then stored it again, as
 * it must once the first copy is lost (swarm seed 605: a disk loss took
 * the copy and the idempotent producer's state with it). */
static bool copy_cut_away(const struct checking *k, const struct value_state *v, int i) {
  uint32_t reasons = allowed(k, CHECK_DUPLICATE) & ~BIT(ALLOW_RETRIED_SENDS);
  for (int j = 0; j < v->reads && j < READ_SET && reasons; j++)
    if (v->read_by[j] > v->read_by[i] &&
        cut_covering(k, v->stream, v->read_at[i], v->read_by[i], v->read_by[j], reasons))
      return true;
  return false;
}

/* A value read at n distinct offsets was stored n times: allowed only for a
 * value sent at least n times (a retry), where the scenario allows it.
 * Copies a cut took before another was stored do not count as stored at
 * once (where the scenario allows the cut), but each copy still needs a
 * send of its own. */
static void judge_duplicate(struct checking *k, uint64_t id, const struct value_state *v) {
  struct check_result *r = &k->r[CHECK_DUPLICATE];
  bool may = allowed(k, CHECK_DUPLICATE) & BIT(ALLOW_RETRIED_SENDS);
  r->bound += allowed(k, CHECK_DUPLICATE) && v->attempts > 1;
  if (v->reads < 2) return;
  int copies = v->reads;
  if (v->reads <= READ_SET)
    for (int i = 0; i < v->reads; i++) copies -= copy_cut_away(k, v, i);
  if (v->reads <= v->attempts && (copies < 2 || may)) {
    r->allowed++;
    return;
  }
  char text[24] = "more than 4";
  if (v->reads <= READ_SET) snprintf(text, sizeof text, "%d", v->reads);
  violation(r, "value %llu read at offsets %lld and %lld (%s offsets, sent %d time%s)",
            (unsigned long long)id, (long long)v->read_at[0], (long long)v->read_at[1], text,
            v->attempts, v->attempts == 1 ? "" : "s");
}

/* The allowance bounds of the checkers whose allowance is a kind of cut. */
static void cut_bounds(struct checking *k) {
  for (size_t i = 0; i < k->h->cut_count; i++)
    if (k->h->cuts[i].reason == ALLOW_CORRUPT_BATCH &&
        (allowed(k, CHECK_POLL_SKIP) & BIT(ALLOW_CORRUPT_BATCH)))
      k->r[CHECK_POLL_SKIP].bound++;
}

static void judge_values(struct checking *k) {
  for (uint64_t id = 0; id < k->nv; id++) {
    const struct value_state *v = &k->vs[id];
    if (!v->sent) continue;
    if (v->acked) judge_acked(k, id, v);
    judge_duplicate(k, id, v);
  }
}

/* The final read must reach the end of every stream: the highest of the
 * high watermark its last Fetch response gave it and the broker's at the
 * end. What it reached is the furthest it got: its position at the end, or
 * one past the highest offset it read, if it went back since (a seek after
 * OFFSET_OUT_OF_RANGE). A reader may stop only inside a batch that holds a
 * bit flipped at rest which no restart cut away (corrupt-batch, where
 * allowed). */
static void judge_final_read(struct checking *k) {
  const struct history *h = k->h;
  struct check_result *r = &k->r[CHECK_FINAL_READ];
  if (!k->cfg->final_read || !h->final_reader || h->end_count <= 0) return;
  bool may = allowed(k, CHECK_FINAL_READ) & BIT(ALLOW_CORRUPT_BATCH);
  int64_t furthest[STREAMS];
  for (int s = 0; s < STREAMS; s++) furthest[s] = -1;
  for (size_t i = 0; i < h->count; i++) {
    const struct history_event *e = &h->events[i];
    if (e->kind == HISTORY_POLL && e->client == h->final_reader && offset_in_range(k, e) &&
        e->offset + 1 > furthest[e->partition])
      furthest[e->partition] = e->offset + 1;
  }
  for (int s = 0; s < h->end_count && s < STREAMS; s++) {
    struct history_end reached = h->ends[s];
    if (reached.position >= 0 && furthest[s] > reached.position) reached.position = furthest[s];
    const struct history_end *end = &reached;
    /* The batch holding a flip at rest that the reader stopped in, if any
     * (several may be left; a reader gets past one whose flip the CRC
     * does not cover). */
    const struct history_cut *stuck = NULL;
    bool any_flip = false;
    for (size_t i = 0; i < h->cut_count && may; i++) {
      const struct history_cut *c = &h->cuts[i];
      if (c->stream != s || !c->at_end || c->reason != ALLOW_CORRUPT_BATCH) continue;
      any_flip = true;
      if (reached.position >= c->offset && reached.position <= c->last_offset) stuck = c;
    }
    r->bound += any_flip;
    int64_t target = end->high_watermark > end->broker_high_watermark
                         ? end->high_watermark
                         : end->broker_high_watermark;
    char b[32];
    const char *name = name_of(k, s, b, sizeof b);
    if (end->position < 0) {
      violation(r, "%s: the final read never had it assigned", name);
    } else if (end->high_watermark < 0) {
      violation(r,
                "%s: no Fetch response reached the final read (its position %lld, the "
                "broker's high watermark %lld)",
                name, (long long)end->position, (long long)end->broker_high_watermark);
    } else if (end->position < target) {
      if (stuck)
        r->allowed++;
      else
        violation(
            r,
            "%s: the final read stopped at offset %lld; the high watermark at the end was "
            "%lld (its last Fetch said %lld, the broker %lld)",
            name, (long long)end->position, (long long)target, (long long)end->high_watermark,
            (long long)end->broker_high_watermark);
    }
  }
}

/* ---- unavailability ---- */

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
    } else if ((e->kind == HISTORY_ACK || e->kind == HISTORY_FAIL) && c->count > 0) {
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
  struct history_wait w = cfg->wait ? *cfg->wait : history_unavailability(h, cfg->end_ns);
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
  struct checking *k = calloc(1, sizeof *k);
  ASSERT(k != NULL);
  k->h = h;
  k->cfg = cfg;
  k->nv = h->values_max;
  k->vs = calloc(k->nv ? k->nv : 1, sizeof *k->vs);
  ASSERT(k->vs != NULL);
  for (int c = 0; c < CHECKERS_MAX; c++) {
    k->r[c].name = history_checker_names[c];
    k->r[c].allowances = allowed(k, (enum history_checker)c);
  }
  find_stream_bounds(k);
  for (int s = 0; s < STREAMS; s++) {
    int64_t n = k->streams[s].bound;
    k->streams[s].slots = calloc(n ? (size_t)n : 1, sizeof *k->streams[s].slots);
    ASSERT(k->streams[s].slots != NULL);
  }
  index_cuts(k);
  pass_values(k);
  find_latest(k);
  pass_order(k);
  judge_values(k);
  cut_bounds(k);
  judge_final_read(k);
  judge_compaction(k);
  check_unavailability(h, cfg, &k->r[CHECK_MAX_UNAVAILABILITY]);
  int n = 0;
  for (int c = 0; c < CHECKERS_MAX && n < out_max; c++) out[n++] = k->r[c];
  for (int s = 0; s < STREAMS; s++) free(k->streams[s].slots);
  free(k->latest_acked);
  free(k->latest_seen);
  free(k->latest_acked_id);
  free(k->cut_index);
  free(k->vs);
  free(k);
  return n;
}
