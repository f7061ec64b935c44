#include "server/fetch_session.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "env.h"
#include "proto/errors.h"

/* ---- the cache ---- */

void fetch_session_cache_init(struct fetch_session_cache *c, int32_t slots_max) {
  ASSERT(slots_max >= 0);
  memset(c, 0, sizeof *c);
  c->slots_max = slots_max;
}

void fetch_session_cache_deinit(struct fetch_session_cache *c) {
  for (int32_t i = 0; i < c->count; i++) free(c->sessions[i].parts);
  free(c->sessions);
  memset(c, 0, sizeof *c);
}

static int32_t session_index(const struct fetch_session_cache *c, int32_t id) {
  int32_t lo = 0, hi = c->count;
  while (lo < hi) {
    int32_t mid = lo + (hi - lo) / 2;
    if (c->sessions[mid].id < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

struct fetch_session *fetch_session_find(struct fetch_session_cache *c, int32_t id) {
  int32_t i = session_index(c, id);
  return i < c->count && c->sessions[i].id == id ? &c->sessions[i] : NULL;
}

void fetch_session_remove(struct fetch_session_cache *c, int32_t id) {
  int32_t i = session_index(c, id);
  if (i >= c->count || c->sessions[i].id != id) return;
  free(c->sessions[i].parts);
  memmove(&c->sessions[i], &c->sessions[i + 1],
          (size_t)(c->count - i - 1) * sizeof *c->sessions);
  c->count--;
}

int32_t fetch_session_next_epoch(int32_t epoch) {
  ASSERT(epoch >= 0);
  return epoch == INT32_MAX ? 1 : epoch + 1;
}

/* Eviction's order: lower goes first. */
static bool evicts_before(const struct fetch_session *a, const struct fetch_session *b) {
  if (a->privileged != b->privileged) return !a->privileged;
  if (a->count != b->count) return a->count < b->count;
  if (a->last_used_ns != b->last_used_ns) return a->last_used_ns < b->last_used_ns;
  return a->id < b->id;
}

/* The session a new one (privileged, partition_count) may replace, or -1. */
static int32_t eviction_victim(const struct fetch_session_cache *c, bool privileged,
                               int32_t partition_count, uint64_t now_ns) {
  const uint64_t evict_ns = (uint64_t)FETCH_SESSION_EVICTION_MS * NS_PER_MS;
  int32_t lru = -1, lowest = -1;
  for (int32_t i = 0; i < c->count; i++) {
    const struct fetch_session *s = &c->sessions[i];
    if (lru < 0 || s->last_used_ns < c->sessions[lru].last_used_ns) lru = i; /* ties: id */
    if (now_ns - s->created_ns < evict_ns) continue; /* too young to be pushed out */
    if (lowest < 0 || evicts_before(s, &c->sessions[lowest])) lowest = i;
  }
  if (lru >= 0 && now_ns - c->sessions[lru].last_used_ns > evict_ns) return lru;
  if (lowest < 0) return -1;
  const struct fetch_session *v = &c->sessions[lowest];
  if (privileged != v->privileged) return privileged ? lowest : -1;
  return partition_count > v->count ? lowest : -1;
}

struct fetch_session *fetch_session_create(struct fetch_session_cache *c, int32_t id,
                                           bool privileged, bool uses_ids,
                                           int32_t partition_count, uint64_t now_ns) {
  ASSERT(id != 0 && fetch_session_find(c, id) == NULL && partition_count >= 0);
  if (c->slots_max <= 0) return NULL;
  if (c->count >= c->slots_max) {
    int32_t victim = eviction_victim(c, privileged, partition_count, now_ns);
    if (victim < 0) return NULL;
    fetch_session_remove(c, c->sessions[victim].id);
    c->evictions++;
  }
  ASSERT(c->count < c->slots_max);
  if (c->count == c->cap) {
    int32_t cap = c->cap ? c->cap * 2 : 8;
    c->sessions = realloc(c->sessions, (size_t)cap * sizeof *c->sessions);
    ASSERT(c->sessions != NULL);
    c->cap = cap;
  }
  int32_t at = session_index(c, id);
  memmove(&c->sessions[at + 1], &c->sessions[at],
          (size_t)(c->count - at) * sizeof *c->sessions);
  c->count++;
  struct fetch_session *s = &c->sessions[at];
  *s = (struct fetch_session){.id = id,
                              .epoch = 1,
                              .privileged = privileged,
                              .uses_ids = uses_ids,
                              .created_ns = now_ns,
                              .last_used_ns = now_ns};
  return s;
}

/* ---- a session's partitions ---- */

struct part_key {
  struct kuuid topic_id;
  struct kstr topic;
  int32_t partition;
};

static int key_cmp(const struct fetch_session *s, const struct fetch_session_partition *p,
                   const struct part_key *k) {
  int c;
  if (s->uses_ids) {
    c = memcmp(&p->topic_id, &k->topic_id, sizeof k->topic_id);
  } else {
    int32_t n = p->topic_len < k->topic.len ? p->topic_len : k->topic.len;
    c = n > 0 ? memcmp(p->topic, k->topic.ptr, (size_t)n) : 0;
    if (c == 0 && p->topic_len != k->topic.len) c = p->topic_len < k->topic.len ? -1 : 1;
  }
  if (c != 0) return c;
  return p->partition < k->partition ? -1 : p->partition > k->partition;
}

static int32_t part_index(const struct fetch_session *s, const struct part_key *k) {
  int32_t lo = 0, hi = s->count;
  while (lo < hi) {
    int32_t mid = lo + (hi - lo) / 2;
    if (key_cmp(s, &s->parts[mid], k) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static struct fetch_session_partition *part_find(struct fetch_session *s,
                                                 const struct part_key *k) {
  int32_t i = part_index(s, k);
  return i < s->count && key_cmp(s, &s->parts[i], k) == 0 ? &s->parts[i] : NULL;
}

static bool key_eq(const struct fetch_session *s, const struct fetch_session_partition *p,
                   const struct part_key *k) {
  if (p->partition != k->partition) return false;
  if (s->uses_ids) return memcmp(&p->topic_id, &k->topic_id, sizeof k->topic_id) == 0;
  return p->topic_len == k->topic.len &&
         (p->topic_len <= 0 || memcmp(p->topic, k->topic.ptr, (size_t)p->topic_len) == 0);
}

/* part_find, trying parts[*next] first: requests and answers mostly list a
 * session's partitions in its own order, so the one after the last found
 * is usually the one. *next moves past what it finds. */
static struct fetch_session_partition *part_find_near(struct fetch_session *s,
                                                      const struct part_key *k, int32_t *next) {
  struct fetch_session_partition *p = NULL;
  if (*next >= 0 && *next < s->count && key_eq(s, &s->parts[*next], k))
    p = &s->parts[*next];
  else
    p = part_find(s, k);
  if (p) *next = (int32_t)(p - s->parts) + 1;
  return p;
}

/* Adds or updates a partition from a request; false past the bound. */
static bool part_upsert(struct fetch_session *s, const struct part_key *k,
                        const struct fetch_request_fetch_partition *fp, int32_t *next) {
  struct fetch_session_partition *p = part_find_near(s, k, next);
  if (!p) {
    if (s->count >= FETCH_SESSION_PARTITIONS_MAX) return false;
    if (!s->uses_ids && (k->topic.len <= 0 || k->topic.len > FETCH_SESSION_TOPIC_BYTES_MAX))
      return false;
    if (s->count == s->cap) {
      int32_t cap = s->cap ? s->cap * 2 : 8;
      s->parts = realloc(s->parts, (size_t)cap * sizeof *s->parts);
      ASSERT(s->parts != NULL);
      s->cap = cap;
    }
    int32_t at = part_index(s, k);
    memmove(&s->parts[at + 1], &s->parts[at], (size_t)(s->count - at) * sizeof *s->parts);
    s->count++;
    p = &s->parts[at];
    memset(p, 0, sizeof *p);
    p->topic_id = k->topic_id;
    if (!s->uses_ids) {
      memcpy(p->topic, k->topic.ptr, (size_t)k->topic.len);
      p->topic_len = k->topic.len;
    }
    p->partition = k->partition;
    p->high_watermark_sent = -1;
    p->log_start_offset_sent = -1;
  }
  p->fetch_offset = fp->fetch_offset;
  p->partition_max_bytes = fp->partition_max_bytes;
  p->current_leader_epoch = fp->current_leader_epoch;
  p->last_fetched_epoch = fp->last_fetched_epoch;
  p->log_start_offset = fp->log_start_offset;
  return true;
}

static void part_forget(struct fetch_session *s, const struct part_key *k) {
  struct fetch_session_partition *p = part_find(s, k);
  if (!p) return;
  int32_t at = (int32_t)(p - s->parts);
  memmove(p, p + 1, (size_t)(s->count - at - 1) * sizeof *p);
  s->count--;
}

/* ---- a request ---- */

static int32_t request_partition_count(const struct fetch_request *m) {
  int64_t n = 0;
  for (int32_t i = 0; i < m->topics_count; i++)
    n += m->topics[i].partitions_count > 0 ? m->topics[i].partitions_count : 0;
  return n > INT32_MAX ? INT32_MAX : (int32_t)n;
}

static bool apply_topics(struct fetch_session *s, const struct fetch_request *m) {
  int32_t next = 0;
  for (int32_t i = 0; i < m->topics_count; i++) {
    const struct fetch_request_fetch_topic *ft = &m->topics[i];
    for (int32_t j = 0; j < ft->partitions_count; j++) {
      struct part_key k = {ft->topic_id, ft->topic, ft->partitions[j].partition};
      if (!part_upsert(s, &k, &ft->partitions[j], &next)) return false;
    }
  }
  return true;
}

/* KIP-227: a partition both named and forgotten is forgotten. */
static void apply_forgotten(struct fetch_session *s, const struct fetch_request *m) {
  for (int32_t i = 0; i < m->forgotten_topics_data_count; i++) {
    const struct fetch_request_forgotten_topic *ft = &m->forgotten_topics_data[i];
    for (int32_t j = 0; j < ft->partitions_count; j++) {
      struct part_key k = {ft->topic_id, ft->topic, ft->partitions[j]};
      part_forget(s, &k);
    }
  }
}

/* m's topics become the session's partitions at their cached positions
 * (copied into the request's arena: the session may change while the
 * request waits). */
static void expand(const struct fetch_session *s, struct fetch_request *m, struct arena *a) {
  m->topics_count = 0;
  m->topics = arena_alloc(a, (size_t)(s->count > 0 ? s->count : 1) * sizeof *m->topics);
  m->forgotten_topics_data_count = 0;
  for (int32_t i = 0; i < s->count; i++) {
    const struct fetch_session_partition *p = &s->parts[i];
    bool same =
        i > 0 &&
        (s->uses_ids ? memcmp(&p->topic_id, &s->parts[i - 1].topic_id, sizeof p->topic_id) == 0
                     : p->topic_len == s->parts[i - 1].topic_len &&
                           memcmp(p->topic, s->parts[i - 1].topic, (size_t)p->topic_len) == 0);
    if (!same) {
      struct fetch_request_fetch_topic *t = &m->topics[m->topics_count++];
      fetch_request_fetch_topic_init(t);
      t->topic_id = p->topic_id;
      if (!s->uses_ids) {
        char *name = arena_alloc(a, (size_t)p->topic_len);
        memcpy(name, p->topic, (size_t)p->topic_len);
        t->topic = (struct kstr){name, p->topic_len};
      }
      t->partitions = arena_alloc(a, (size_t)(s->count - i) * sizeof *t->partitions);
    }
    struct fetch_request_fetch_topic *t = &m->topics[m->topics_count - 1];
    struct fetch_request_fetch_partition *fp = &t->partitions[t->partitions_count++];
    fetch_request_fetch_partition_init(fp);
    fp->partition = p->partition;
    fp->fetch_offset = p->fetch_offset;
    fp->partition_max_bytes = p->partition_max_bytes;
    fp->current_leader_epoch = p->current_leader_epoch;
    fp->last_fetched_epoch = p->last_fetched_epoch;
    fp->log_start_offset = p->log_start_offset;
  }
}

static int32_t draw_id(struct fetch_session_cache *c, struct env *env) {
  for (int i = 0; i < FETCH_SESSION_ID_TRIES_MAX; i++) {
    int32_t id = (int32_t)(env->random_u64(env) & 0x7fffffff);
    if (id != 0 && fetch_session_find(c, id) == NULL) return id;
  }
  return 0;
}

/* A full request with SessionEpoch 0: a new session of its partitions
 * (none when the cache has no slot: the client then stays sessionless). */
static void full_new(struct fetch_session_cache *c, struct env *env, int16_t version,
                     bool privileged, const struct fetch_request *m,
                     struct fetch_session_ticket *t) {
  int32_t id = draw_id(c, env);
  if (id == 0) return;
  struct fetch_session *s = fetch_session_create(c, id, privileged, version >= 13,
                                                 request_partition_count(m), env->now_ns(env));
  if (!s) return;
  if (!apply_topics(s, m)) {
    fetch_session_remove(c, id);
    return;
  }
  t->session_id = id;
}

int fetch_session_request(struct fetch_session_cache *c, struct env *env, int16_t version,
                          bool privileged, struct fetch_request *m, struct arena *a,
                          struct fetch_session_ticket *t) {
  *t = (struct fetch_session_ticket){0};
  if (version < FETCH_SESSION_VERSION_MIN) return KERR_NONE;
  if (m->session_epoch == -1 || m->session_epoch == 0) {
    if (m->session_id != 0) fetch_session_remove(c, m->session_id); /* closes it */
    if (m->session_epoch == 0) full_new(c, env, version, privileged, m, t);
    return KERR_NONE;
  }
  if (m->session_id == 0 || m->session_epoch < 0) return KERR_INVALID_FETCH_SESSION_EPOCH;
  struct fetch_session *s = fetch_session_find(c, m->session_id);
  if (!s) return KERR_FETCH_SESSION_ID_NOT_FOUND;
  if (m->session_epoch != s->epoch) return KERR_INVALID_FETCH_SESSION_EPOCH;
  if (s->uses_ids != (version >= 13)) return KERR_FETCH_SESSION_TOPIC_ID_ERROR;
  if (!apply_topics(s, m)) {
    fetch_session_remove(c, m->session_id);
    return KERR_FETCH_SESSION_ID_NOT_FOUND; /* past the bound: start over sessionless */
  }
  apply_forgotten(s, m);
  s->epoch = fetch_session_next_epoch(s->epoch);
  s->last_used_ns = env->now_ns(env);
  expand(s, m, a);
  t->session_id = s->id;
  t->incremental = true;
  return KERR_NONE;
}

/* ---- the answer ---- */

/* KIP-227: what an incremental answer must carry. Records the values it
 * tells the client. */
static bool newsworthy(struct fetch_session_partition *p,
                       const struct fetch_response_partition_data *pd) {
  bool news = pd->error_code != KERR_NONE || pd->records.len > 0 ||
              pd->diverging_epoch.epoch >= 0 ||
              pd->log_start_offset != p->log_start_offset_sent;
#ifdef SLUICE_MUTANT_SESSION_OMITS_HW_CHANGE /* mutant: a moved high watermark is not news */
#else
  news = news || pd->high_watermark != p->high_watermark_sent;
#endif
  p->high_watermark_sent = pd->high_watermark;
  p->log_start_offset_sent = pd->log_start_offset;
  return news;
}

static void filter_topic(struct fetch_session *s, bool incremental,
                         struct fetch_response_fetchable_topic_response *tr, int32_t *next) {
  int32_t kept = 0;
  for (int32_t j = 0; j < tr->partitions_count; j++) {
    struct part_key k = {tr->topic_id, tr->topic, tr->partitions[j].partition_index};
    struct fetch_session_partition *p = part_find_near(s, &k, next);
    bool keep = p == NULL || newsworthy(p, &tr->partitions[j]) || !incremental;
    if (keep) tr->partitions[kept++] = tr->partitions[j];
  }
  tr->partitions_count = kept;
}

void fetch_session_response(struct fetch_session_cache *c, int16_t version,
                            const struct fetch_session_ticket *t, struct fetch_response *resp) {
  (void)version;
  if (t->session_id == 0 || resp->error_code != KERR_NONE) return;
  struct fetch_session *s = fetch_session_find(c, t->session_id);
  if (!s) {
    resp->error_code = KERR_FETCH_SESSION_ID_NOT_FOUND;
    resp->responses_count = 0;
    return;
  }
  resp->session_id = t->session_id;
  int32_t kept = 0, next = 0;
  for (int32_t i = 0; i < resp->responses_count; i++) {
    filter_topic(s, t->incremental, &resp->responses[i], &next);
    if (resp->responses[i].partitions_count > 0 || !t->incremental)
      resp->responses[kept++] = resp->responses[i];
  }
  resp->responses_count = kept;
}
