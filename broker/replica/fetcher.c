#include "replica/fetcher.h"

#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/assert.h"
#include "base/endian.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"

static void pump(struct fetcher *f);

/* ---- the partition table ---- */

static struct kstr entry_topic(const struct fetcher_entry *e) {
  return (struct kstr){e->topic, e->topic_len};
}

static int entry_cmp(const struct fetcher_entry *e, struct kstr topic, int32_t partition) {
  size_t len = (size_t)e->topic_len;
  size_t n = len < (size_t)topic.len ? len : (size_t)topic.len;
  int c = memcmp(e->topic, topic.ptr, n);
  if (c != 0) return c;
  if (len != (size_t)topic.len) return len < (size_t)topic.len ? -1 : 1;
  return e->partition < partition ? -1 : e->partition > partition;
}

/* The first entry not below (topic, partition). */
static int32_t lower_bound(const struct fetcher *f, struct kstr topic, int32_t partition) {
  int32_t lo = 0, hi = f->count;
  while (lo < hi) {
    int32_t mid = lo + (hi - lo) / 2;
    if (entry_cmp(&f->entries[mid], topic, partition) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static struct fetcher_entry *find_by_name(struct fetcher *f, struct kstr topic,
                                          int32_t partition) {
  int32_t i = lower_bound(f, topic, partition);
  if (i < f->count && entry_cmp(&f->entries[i], topic, partition) == 0) return &f->entries[i];
  return NULL;
}

/* find_by_name, trying entries[*hint] first: an answer lists its
 * partitions in the order they were asked, which is the table's, so the
 * entry after the last one found is usually the next. *hint is then the
 * index past the entry found. */
static struct fetcher_entry *find_near(struct fetcher *f, struct kstr topic, int32_t partition,
                                       int32_t *hint) {
  struct fetcher_entry *e = NULL;
  if (*hint >= 0 && *hint < f->count && entry_cmp(&f->entries[*hint], topic, partition) == 0)
    e = &f->entries[*hint];
  else
    e = find_by_name(f, topic, partition);
  if (e) *hint = (int32_t)(e - f->entries) + 1;
  return e;
}

static struct fetcher_entry *find_by_id(struct fetcher *f, struct kuuid id, int32_t partition) {
  for (int32_t i = 0; i < f->count; i++)
    if (f->entries[i].partition == partition &&
        memcmp(&f->entries[i].topic_id, &id, sizeof id) == 0)
      return &f->entries[i];
  return NULL;
}

static const struct fetcher_entry *find_topic_id(const struct fetcher *f, struct kuuid id) {
  for (int32_t i = 0; i < f->count; i++)
    if (memcmp(&f->entries[i].topic_id, &id, sizeof id) == 0) return &f->entries[i];
  return NULL;
}

/* ---- the channel ---- */

static void on_up(void *ctx, struct channel *ch) {
  struct fetcher *f = ctx;
  ASSERT(ch == &f->ch);
  pump(f);
}

static void on_down(void *ctx, struct channel *ch, int err) {
  struct fetcher *f = ctx;
  ASSERT(ch == &f->ch);
  (void)err; /* the channel reconnects with its backoff; `up` pumps again */
}

struct fetcher *fetcher_create(struct net_dispatch *net, int32_t leader_id, const char *host,
                               uint16_t port, const struct fetcher_config *cfg,
                               const struct fetcher_ops *ops) {
  ASSERT(net != NULL && cfg != NULL && ops != NULL && leader_id >= 0);
  ASSERT(cfg->backoff_ms >= 0 && cfg->partition_max_bytes > 0 && cfg->response_max_bytes > 0);
  struct fetcher *f = calloc(1, sizeof *f);
  ASSERT(f != NULL);
  f->env = net->env;
  f->leader_id = leader_id;
  f->cfg = *cfg;
  f->ops = ops;
  for (int i = 0; i < FETCHER_REQUESTS_MAX; i++)
    f->slots[i] = (struct fetcher_slot){.f = f, .number = (uint8_t)(i + 1)};
  struct channel_listener l = {.ctx = f, .up = on_up, .down = on_down};
  channel_init(&f->ch, net, leader_id, CHANNEL_LEADER, host, port, &cfg->channel, &l);
  channel_start(&f->ch);
  return f;
}

void fetcher_destroy(struct fetcher *f) {
  if (!f) return;
  ASSERT(f->dispatching == 0);
  f->stopping = true;
  if (f->timer) f->env->timer_cancel(f->env, f->timer);
  f->timer = 0;
  channel_stop(&f->ch); /* the request in flight fails now; its callback sees stopping */
  free(f->entries);
  free(f->session.forgotten);
  free(f);
}

/* ---- the session's forgotten partitions ---- */

/* A partition removed and added again waits until the leader has heard it
 * was forgotten: a request naming it in both would forget it (KIP-227),
 * and one naming it in neither would leave the leader serving its old
 * position. */
static bool forgotten_pending(const struct fetcher *f, const struct fetcher_entry *e) {
  const struct fetcher_session *fs = &f->session;
  for (int32_t i = 0; i < fs->forgotten_count; i++)
    if (fs->forgotten[i].partition == e->partition &&
        memcmp(&fs->forgotten[i].topic_id, &e->topic_id, sizeof e->topic_id) == 0)
      return true;
  return false;
}

/* A partition leaves the session: the next incremental Fetch says so. */
static void forget(struct fetcher *f, struct fetcher_entry *e) {
  struct fetcher_session *fs = &f->session;
  ASSERT(e->in_session);
  e->in_session = false;
  /* Kept even before the session exists: a full Fetch in flight opens it
   * with this partition in it. A full request clears the list. */
  if (fs->forgotten_count == fs->forgotten_cap) {
    int32_t cap = fs->forgotten_cap ? fs->forgotten_cap * 2 : 8;
    ASSERT(cap <= 2 * FETCHER_PARTITIONS_MAX);
    fs->forgotten = realloc(fs->forgotten, (size_t)cap * sizeof *fs->forgotten);
    ASSERT(fs->forgotten != NULL);
    fs->forgotten_cap = cap;
  }
  struct fetcher_forgotten *g = &fs->forgotten[fs->forgotten_count++];
  g->topic_id = e->topic_id;
  memcpy(g->topic, e->topic, sizeof g->topic);
  g->partition = e->partition;
}

/* The session starts over: the next session Fetch is a full one, which
 * closes the old session on the leader (its id, epoch 0). */
static void session_reset(struct fetcher *f, bool forget_id) {
  struct fetcher_session *fs = &f->session;
  fs->epoch = 0;
  if (forget_id) fs->id = 0;
  fs->forgotten_count = 0;
  fs->resets++;
  for (int32_t i = 0; i < f->count; i++) f->entries[i].in_session = false;
}

void fetcher_add(struct fetcher *f, struct kuuid topic_id, struct kstr topic, int32_t partition,
                 int32_t leader_epoch, void *owner) {
  ASSERT(topic.len > 0 && topic.len <= FETCHER_TOPIC_BYTES_MAX && owner != NULL);
  ASSERT(find_by_name(f, topic, partition) == NULL && f->count < FETCHER_PARTITIONS_MAX);
  if (f->count == f->cap) {
    int32_t cap = f->cap ? f->cap * 2 : 16;
    f->entries = realloc(f->entries, (size_t)cap * sizeof *f->entries);
    ASSERT(f->entries != NULL);
    f->cap = cap;
  }
  int32_t at = lower_bound(f, topic, partition);
  memmove(&f->entries[at + 1], &f->entries[at], (size_t)(f->count - at) * sizeof *f->entries);
  struct fetcher_entry *e = &f->entries[at];
  memset(e, 0, sizeof *e);
  e->topic_id = topic_id;
  memcpy(e->topic, topic.ptr, (size_t)topic.len);
  e->topic_len = topic.len;
  e->partition = partition;
  e->leader_epoch = leader_epoch;
  e->owner = owner;
  e->state = FP_TRUNCATING; /* KIP-101: reconcile before the first fetch of an epoch */
  f->count++;
  pump(f);
}

void fetcher_remove(struct fetcher *f, struct kuuid topic_id, int32_t partition) {
  struct fetcher_entry *e = find_by_id(f, topic_id, partition);
  ASSERT(e != NULL);
  if (e->in_session) forget(f, e);
  int32_t at = (int32_t)(e - f->entries);
  memmove(e, e + 1, (size_t)(f->count - at - 1) * sizeof *e);
  f->count--;
  ASSERT(f->count >= 0);
}

int32_t fetcher_count(const struct fetcher *f) { return f->count; }

void fetcher_wake(struct fetcher *f) { pump(f); }

/* ---- after a response ---- */

/* When a partition that backs off may go again (the clock is read only
 * then: most answers say fetch on at once). */
static uint64_t backoff_until_ns(const struct fetcher *f) {
  return f->env->now_ns(f->env) + (uint64_t)f->cfg.backoff_ms * NS_PER_MS;
}

static void apply_next(struct fetcher *f, struct fetcher_entry *e, enum fetcher_next next) {
  e->delay_until_ns = 0;
  switch (next) {
  case FETCHER_FETCH:
    e->state = FP_FETCHING;
    break;
  case FETCHER_TRUNCATE:
    e->state = FP_TRUNCATING;
    break;
  case FETCHER_BACKOFF:
    e->delay_until_ns = backoff_until_ns(f);
    break;
  case FETCHER_TRUNCATE_LATER:
    e->state = FP_TRUNCATING;
    e->delay_until_ns = backoff_until_ns(f);
    break;
  }
}

/* A failed request: the connection went down (the channel reconnects) or
 * the answer did not decode. Its partitions are retried after the backoff,
 * as Kafka's fetcher does after a failed fetch. */
static void request_failed(struct fetcher_slot *slot) {
  struct fetcher *f = slot->f;
  for (int32_t i = 0; i < f->count; i++)
    if (f->entries[i].in_request == slot->number) {
      f->stats.errors++;
      f->entries[i].in_request = 0;
      apply_next(f, &f->entries[i], FETCHER_BACKOFF);
    }
}

static void request_done(struct fetcher_slot *slot) {
  struct fetcher *f = slot->f;
  for (int32_t i = 0; i < f->count; i++)
    if (f->entries[i].in_request == slot->number) f->entries[i].in_request = 0;
  slot->busy = false;
  slot->fetching = false;
}

static void on_epochs(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct fetcher_slot *slot = ctx;
  struct fetcher *f = slot->f;
  if (f->stopping) return;
  ASSERT(slot->busy);
  struct offset_for_leader_epoch_response m;
  if (err != 0 || !offset_for_leader_epoch_response_decode(
                      body,
                      channel_version(&f->ch, API_OFFSET_FOR_LEADER_EPOCH,
                                      FETCHER_OFLE_VERSION_MIN, FETCHER_OFLE_VERSION_MAX),
                      &m, arena)) {
    request_failed(slot);
    request_done(slot);
    pump(f);
    return;
  }
  f->dispatching++;
  for (int32_t t = 0; t < m.topics_count; t++) {
    const struct offset_for_leader_epoch_response_offset_for_leader_topic_result *tr =
        &m.topics[t];
    for (int32_t i = 0; i < tr->partitions_count; i++) {
      const struct offset_for_leader_epoch_response_epoch_end_offset *r = &tr->partitions[i];
      struct fetcher_entry *e = find_by_name(f, tr->topic, r->partition);
      if (!e || e->in_request != slot->number || e->state != FP_TRUNCATING) continue;
      e->in_request = 0;
      if (r->error_code != KERR_NONE) f->stats.errors++;
      apply_next(f, e,
                 f->ops->truncate(e->owner, r->error_code, r->leader_epoch, r->end_offset));
    }
  }
  f->dispatching--;
  request_failed(slot); /* partitions the answer left out */
  request_done(slot);
  pump(f);
}

/* Only whole batches go to the owner: a leader may cut the last one at
 * its size limit (Kafka does; a follower then fetches it again). */
static size_t whole_batches(const uint8_t *p, size_t len) {
  size_t at = 0;
  for (int n = 0; n < INT32_MAX && len - at >= 12; n++) {
    uint32_t batch_len = be32_get(p + at + 8);
    if (batch_len > len - at - 12) break;
    at += 12 + batch_len;
  }
  return at;
}

static void partition_answer(struct fetcher *f, struct fetcher_entry *e,
                             const struct fetch_response_partition_data *pd) {
  struct fetcher_partition_data d = {
      .error_code = pd->error_code,
      .high_watermark = pd->high_watermark,
      .log_start_offset = pd->log_start_offset,
      .diverging_epoch = pd->diverging_epoch.epoch,
      .diverging_end_offset = pd->diverging_epoch.end_offset,
  };
  if (pd->records.len > 0 && !pd->records.is_file) {
    d.records = pd->records.ptr;
    d.records_len = whole_batches(pd->records.ptr, (size_t)pd->records.len);
  }
  if (d.error_code != KERR_NONE) f->stats.errors++;
  f->stats.records_bytes += d.records_len;
  apply_next(f, e, f->ops->data(e->owner, &d));
}

/* The session after an answer (NULL: none, or one that did not decode).
 * False when the leader lost the session: its partitions are asked again
 * at once in a full Fetch (KIP-227), with no backoff. */
static bool session_answered(struct fetcher *f, const struct fetch_response *m) {
  struct fetcher_session *fs = &f->session;
  if (m && (m->error_code == KERR_FETCH_SESSION_ID_NOT_FOUND ||
            m->error_code == KERR_INVALID_FETCH_SESSION_EPOCH ||
            m->error_code == KERR_FETCH_SESSION_TOPIC_ID_ERROR)) {
    session_reset(f, true);
    return false;
  }
  if (!m || m->error_code != KERR_NONE) {
    session_reset(f, false); /* the leader may have applied it or not: start over */
    return true;
  }
  if (fs->sent_full) {
    fs->id = m->session_id;
    fs->epoch = m->session_id != 0 ? 1 : 0; /* 0: not granted, stay full */
  } else if (m->session_id != fs->id) {
    session_reset(f, true);
  } else {
    fs->epoch = fs->epoch == INT32_MAX ? 1 : fs->epoch + 1;
  }
  return true;
}

static void on_fetch(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct fetcher_slot *slot = ctx;
  struct fetcher *f = slot->f;
  if (f->stopping) return;
  ASSERT(slot->busy);
  int16_t v = channel_version(&f->ch, API_FETCH, FETCHER_VERSION_MIN, FETCHER_VERSION_MAX);
  struct fetch_response m;
  bool decoded = err == 0 && fetch_response_decode(body, v, &m, arena);
  if (slot->number == FETCHER_SESSION_SLOT && !session_answered(f, decoded ? &m : NULL)) {
    request_done(slot); /* its partitions go again at once, in a full Fetch */
    pump(f);
    return;
  }
  if (!decoded || m.error_code != KERR_NONE) {
    request_failed(slot);
    request_done(slot);
    pump(f);
    return;
  }
  f->dispatching++;
  for (int32_t t = 0; t < m.responses_count; t++) {
    const struct fetch_response_fetchable_topic_response *tr = &m.responses[t];
    /* v13 names topics by id: one scan finds the name the table is sorted by. */
    struct kstr name = tr->topic;
    const struct fetcher_entry *any = v >= 13 ? find_topic_id(f, tr->topic_id) : NULL;
    if (v >= 13) name = any ? entry_topic(any) : kstr_of("");
    int32_t hint = any ? (int32_t)(any - f->entries) : 0;
    for (int32_t i = 0; i < tr->partitions_count && name.len > 0; i++) {
      const struct fetch_response_partition_data *pd = &tr->partitions[i];
      struct fetcher_entry *e = find_near(f, name, pd->partition_index, &hint);
      if (!e || e->in_request != slot->number || e->state != FP_FETCHING) continue;
      e->in_request = 0;
      partition_answer(f, e, pd);
    }
  }
  f->dispatching--;
  request_done(slot);
  pump(f);
}

/* ---- requests ---- */

static bool eligible(const struct fetcher_entry *e, uint64_t now_ns) {
  return e->delay_until_ns == 0 || e->delay_until_ns <= now_ns;
}

static void encode_fetch(struct wr *w, int16_t v, const void *m) {
  fetch_request_encode(w, v, m);
}

static void encode_epochs(struct wr *w, int16_t v, const void *m) {
  offset_for_leader_epoch_request_encode(w, v, m);
}

/* OffsetForLeaderEpoch for every partition that reconciles, with its
 * latest epoch (KIP-279 repeats it until the epochs agree). */
/* Entries [i] a request may take: not in one already, out of backoff. */
static bool free_entry(const struct fetcher_entry *e, enum fetcher_state state,
                       uint64_t now_ns) {
  return e->state == state && e->in_request == 0 && eligible(e, now_ns);
}

/* Takes back the entries of a request that could not be sent. */
static void unsent(struct fetcher_slot *slot) {
  struct fetcher *f = slot->f;
  for (int32_t i = 0; i < f->count; i++)
    if (f->entries[i].in_request == slot->number) f->entries[i].in_request = 0;
}

/* A partition not in a request waits to reconcile: most pumps have none,
 * and then send_epochs would change nothing either way. */
static bool any_to_reconcile(const struct fetcher *f) {
  for (int32_t i = 0; i < f->count; i++)
    if (f->entries[i].state == FP_TRUNCATING && f->entries[i].in_request == 0) return true;
  return false;
}

static bool send_epochs(struct fetcher_slot *slot, uint64_t now_ns, struct arena *a) {
  struct fetcher *f = slot->f;
  if (!any_to_reconcile(f)) return false;
  int16_t v = channel_version(&f->ch, API_OFFSET_FOR_LEADER_EPOCH, FETCHER_OFLE_VERSION_MIN,
                              FETCHER_OFLE_VERSION_MAX);
  if (v < 0) {
    /* A leader without OffsetForLeaderEpoch v3+: its Fetch's DivergingEpoch
     * (v12+) is the only divergence check left. */
    for (int32_t i = 0; i < f->count; i++)
      if (f->entries[i].in_request == 0) f->entries[i].state = FP_FETCHING;
    return false;
  }
  struct offset_for_leader_epoch_request m;
  offset_for_leader_epoch_request_init(&m);
  m.replica_id = f->cfg.replica_id;
  for (int32_t i = 0; i < f->count; i++) {
    struct fetcher_entry *e = &f->entries[i];
    struct fetcher_position pos;
    if (!free_entry(e, FP_TRUNCATING, now_ns) || !f->ops->position(e->owner, &pos)) continue;
    if (pos.last_fetched_epoch < 0) { /* nothing of any epoch to reconcile */
      e->state = FP_FETCHING;
      continue;
    }
    /* Allocated with the first partition: most pumps have none to reconcile. */
    if (m.topics == NULL) m.topics = arena_alloc(a, (size_t)f->count * sizeof *m.topics);
    struct kstr name = entry_topic(e);
    if (m.topics_count == 0 || m.topics[m.topics_count - 1].topic.len != name.len ||
        memcmp(m.topics[m.topics_count - 1].topic.ptr, name.ptr, (size_t)name.len) != 0) {
      struct offset_for_leader_epoch_request_offset_for_leader_topic *t =
          &m.topics[m.topics_count++];
      offset_for_leader_epoch_request_offset_for_leader_topic_init(t);
      t->topic = name;
      t->partitions = arena_alloc(a, (size_t)f->count * sizeof *t->partitions);
    }
    struct offset_for_leader_epoch_request_offset_for_leader_topic *t =
        &m.topics[m.topics_count - 1];
    struct offset_for_leader_epoch_request_offset_for_leader_partition *p =
        &t->partitions[t->partitions_count++];
    offset_for_leader_epoch_request_offset_for_leader_partition_init(p);
    p->partition = e->partition;
    p->current_leader_epoch = e->leader_epoch;
    p->leader_epoch = pos.last_fetched_epoch;
    e->in_request = slot->number;
  }
  if (m.topics_count == 0) return false;
  if (channel_send(&f->ch, API_OFFSET_FOR_LEADER_EPOCH, v, encode_epochs, &m, on_epochs,
                   slot) != 0) {
    unsent(slot);
    return false;
  }
  f->stats.epoch_requests++;
  return true;
}

static void fetch_partition_fill(const struct fetcher *f, const struct fetcher_entry *e,
                                 const struct fetcher_position *pos,
                                 struct fetch_request_fetch_partition *p) {
  fetch_request_fetch_partition_init(p);
  p->partition = e->partition;
  p->current_leader_epoch = e->leader_epoch;
  p->fetch_offset = pos->fetch_offset;
  p->last_fetched_epoch = pos->last_fetched_epoch;
  p->log_start_offset = pos->log_start_offset;
  p->partition_max_bytes = f->cfg.partition_max_bytes;
}

/* The partition's place in m, in topics grouped as the table is sorted. */
static void request_add(const struct fetcher *f, struct fetch_request *m, struct arena *a,
                        const struct fetcher_entry *e, const struct fetcher_position *pos) {
  struct fetch_request_fetch_topic *t =
      m->topics_count ? &m->topics[m->topics_count - 1] : NULL;
  if (!t || memcmp(&t->topic_id, &e->topic_id, sizeof e->topic_id) != 0) {
    t = &m->topics[m->topics_count++];
    fetch_request_fetch_topic_init(t);
    t->topic = entry_topic(e);
    t->topic_id = e->topic_id;
    t->partitions = arena_alloc(a, (size_t)f->count * sizeof *t->partitions);
  }
  fetch_partition_fill(f, e, pos, &t->partitions[t->partitions_count++]);
}

static void request_init(const struct fetcher *f, struct fetch_request *m, struct arena *a) {
  fetch_request_init(m);
  m->replica_id = f->cfg.replica_id;
  m->max_wait_ms = f->cfg.max_wait_ms;
  m->min_bytes = f->cfg.min_bytes;
  m->max_bytes = f->cfg.response_max_bytes;
  m->session_id = 0;
  m->session_epoch = -1; /* a full fetch, no session (KIP-227's FINAL_EPOCH) */
  m->topics = arena_alloc(a, (size_t)f->count * sizeof *m->topics);
}

static bool request_send(struct fetcher_slot *slot, int16_t v, struct fetch_request *m) {
  struct fetcher *f = slot->f;
  if (channel_send(&f->ch, API_FETCH, v, encode_fetch, m, on_fetch, slot) != 0) {
    unsent(slot);
    return false;
  }
  f->stats.fetches++;
  return true;
}

static bool same_position(const struct fetcher_position *a, const struct fetcher_position *b) {
  return a->fetch_offset == b->fetch_offset && a->last_fetched_epoch == b->last_fetched_epoch &&
         a->log_start_offset == b->log_start_offset;
}

/* The forgotten partitions, by topic (v13: by id), into m. */
static void request_forgotten(struct fetcher *f, struct fetch_request *m, struct arena *a) {
  struct fetcher_session *fs = &f->session;
  if (fs->forgotten_count == 0) return;
  m->forgotten_topics_data =
      arena_alloc(a, (size_t)fs->forgotten_count * sizeof(*m->forgotten_topics_data));
  for (int32_t i = 0; i < fs->forgotten_count; i++) {
    struct fetch_request_forgotten_topic *t =
        &m->forgotten_topics_data[m->forgotten_topics_data_count++];
    fetch_request_forgotten_topic_init(t);
    t->topic = (struct kstr){fs->forgotten[i].topic, (int32_t)strlen(fs->forgotten[i].topic)};
    t->topic_id = fs->forgotten[i].topic_id;
    t->partitions = arena_alloc(a, sizeof *t->partitions);
    t->partitions[0] = fs->forgotten[i].partition;
    t->partitions_count = 1;
  }
  fs->forgotten_count = 0;
}

/* KIP-227 on the session slot: every partition ready goes in the session
 * (and the request: the answer may carry its records); a full request
 * names them all, an incremental one only those that joined or whose
 * position moved; partitions in the session that are not ready now are
 * forgotten. */
static bool send_session_fetch(struct fetcher_slot *slot, int16_t v, uint64_t now_ns,
                               struct arena *a) {
  struct fetcher *f = slot->f;
  struct fetcher_session *fs = &f->session;
  bool full = fs->epoch == 0;
  struct fetch_request m;
  request_init(f, &m, a);
  m.session_id = fs->id;
  m.session_epoch = fs->epoch;
  int32_t ready = 0;
  for (int32_t i = 0; i < f->count; i++) {
    struct fetcher_entry *e = &f->entries[i];
    struct fetcher_position pos;
    if (!free_entry(e, FP_FETCHING, now_ns) || (!full && forgotten_pending(f, e)) ||
        !f->ops->position(e->owner, &pos))
      continue;
    ready++;
    if (full || !e->in_session || !same_position(&pos, &e->sent))
      request_add(f, &m, a, e, &pos);
    e->in_request = slot->number;
    e->sent = pos;
  }
  if (ready == 0) return false;
  for (int32_t i = 0; i < f->count; i++) {
    struct fetcher_entry *e = &f->entries[i];
    bool taken = e->in_request == slot->number;
    if (e->in_session && !taken) forget(f, e);
    e->in_session = taken;
  }
  if (!full) request_forgotten(f, &m, a);
  fs->forgotten_count = 0;
  fs->sent_full = full;
  if (!request_send(slot, v, &m)) {
    session_reset(f, false);
    return false;
  }
  if (full)
    fs->full_fetches++;
  else
    fs->incremental_fetches++;
  return true;
}

/* A partition ready for a Fetch soon (fetcher_ops.settling). */
static bool any_settling(const struct fetcher *f, uint64_t now_ns) {
  if (f->ops->settling == NULL) return false;
  for (int32_t i = 0; i < f->count; i++)
    if (free_entry(&f->entries[i], FP_FETCHING, now_ns) &&
        f->ops->settling(f->entries[i].owner))
      return true;
  return false;
}

/* One Fetch in flight per leader: the leader answers a connection's
 * requests in order, so a second Fetch would wait behind the first's long
 * poll (and hold back whatever answer the first gets). OffsetForLeaderEpoch
 * may use the other slot. */
static bool fetch_in_flight(const struct fetcher *f) {
  for (int i = 0; i < FETCHER_REQUESTS_MAX; i++)
    if (f->slots[i].busy && f->slots[i].fetching) return true;
  return false;
}

static bool send_fetch(struct fetcher_slot *slot, uint64_t now_ns, struct arena *a) {
  struct fetcher *f = slot->f;
  if (fetch_in_flight(f)) return false; /* the common case on the second slot */
  int16_t v = channel_version(&f->ch, API_FETCH, FETCHER_VERSION_MIN, FETCHER_VERSION_MAX);
  if (v < 0 || any_settling(f, now_ns)) return false;
  if (slot->number == FETCHER_SESSION_SLOT) return send_session_fetch(slot, v, now_ns, a);
  struct fetch_request m;
  request_init(f, &m, a);
  for (int32_t i = 0; i < f->count; i++) {
    struct fetcher_entry *e = &f->entries[i];
    struct fetcher_position pos;
    if (!free_entry(e, FP_FETCHING, now_ns) || !f->ops->position(e->owner, &pos)) continue;
    request_add(f, &m, a, e, &pos);
    e->in_request = slot->number;
  }
  if (m.topics_count == 0) return false;
  return request_send(slot, v, &m);
}

static void on_timer(void *ctx) {
  struct fetcher *f = ctx;
  f->timer = 0;
  pump(f);
}

/* Arms the timer for the earliest partition in backoff. */
static void arm_timer(struct fetcher *f, uint64_t now_ns) {
  uint64_t first_ns = UINT64_MAX;
  for (int32_t i = 0; i < f->count; i++)
    if (f->entries[i].delay_until_ns > now_ns && f->entries[i].delay_until_ns < first_ns)
      first_ns = f->entries[i].delay_until_ns;
  if (first_ns == UINT64_MAX || f->timer) return;
  f->timer = f->env->timer_start(f->env, first_ns - now_ns, on_timer, f);
}

/* Sends requests while a slot is free and a partition not in a request is
 * ready: reconciliation first, then the Fetch of every partition ready for
 * it. */
static void pump(struct fetcher *f) {
  if (f->stopping || f->dispatching || !channel_is_up(&f->ch)) return;
  uint64_t now_ns = f->env->now_ns(f->env);
  for (int i = 0; i < FETCHER_REQUESTS_MAX; i++) {
    struct fetcher_slot *slot = &f->slots[i];
    if (slot->busy) continue;
    /* From the node's pool: a request's few small arrays would otherwise
     * cost a 16 KiB malloc and free per pump. */
    struct arena a;
    arena_init_pooled(&a, &f->ch.conn.net->arena_pool);
    slot->busy = send_epochs(slot, now_ns, &a);
    if (!slot->busy) slot->busy = slot->fetching = send_fetch(slot, now_ns, &a);
    arena_free(&a);
    if (!slot->busy) break; /* nothing (more) to send now */
  }
  arm_timer(f, now_ns);
}
