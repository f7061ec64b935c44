#include "client/kcluster.h"

#include <string.h>

#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"

enum {
  METADATA_VERSION_MIN = 4, /* allow_auto_topic_creation */
  METADATA_VERSION_MAX = 12,
  CANDIDATES_MAX = 2 * KCLUSTER_BROKERS_MAX,
};

static void ask(struct kcluster *k);

void kcluster_init(struct kcluster *k, struct env *env, struct kclient *kc,
                   const char *client_id, int64_t retry_backoff_ms, int64_t max_age_ms) {
  ASSERT(env != NULL && kc != NULL && retry_backoff_ms > 0 && max_age_ms > 0);
  memset(k, 0, sizeof *k);
  k->env = env;
  k->kc = kc;
  ASSERT(strlen(client_id) < sizeof k->client_id);
  memcpy(k->client_id, client_id, strlen(client_id) + 1);
  k->retry_backoff_ms = retry_backoff_ms;
  k->max_age_ms = max_age_ms;
}

static void forget_all(struct kcluster *k) {
  for (int i = 0; i < k->kc->conn_count; i++) kconn_forget(&k->kc->conns[i], k);
}

void kcluster_free(struct kcluster *k) {
  if (k->timer) k->env->timer_cancel(k->env, k->timer);
  forget_all(k);
  memset(k, 0, sizeof *k);
}

static void endpoint_set(struct kcluster_endpoint *e, int32_t id, const char *host, size_t len,
                         uint16_t port) {
  ASSERT(len < sizeof e->host);
  e->id = id;
  memcpy(e->host, host, len);
  e->host[len] = 0;
  e->port = port;
}

void kcluster_add_bootstrap(struct kcluster *k, const char *host, uint16_t port) {
  ASSERT(k->bootstrap_count < KCLUSTER_BROKERS_MAX);
  endpoint_set(&k->bootstrap[k->bootstrap_count++], -1, host, strlen(host), port);
}

static struct kcluster_topic *topic_find(const struct kcluster *k, const char *name,
                                         size_t len) {
  for (int t = 0; t < k->topic_count; t++)
    if (strlen(k->topics[t].name) == len && memcmp(k->topics[t].name, name, len) == 0)
      return (struct kcluster_topic *)&k->topics[t];
  return NULL;
}

void kcluster_add_topic(struct kcluster *k, const char *name) {
  if (topic_find(k, name, strlen(name))) return;
  ASSERT(k->topic_count < KCLUSTER_TOPICS_MAX && strlen(name) < sizeof k->topics[0].name);
  struct kcluster_topic *t = &k->topics[k->topic_count++];
  memset(t, 0, sizeof *t);
  memcpy(t->name, name, strlen(name) + 1);
  for (int p = 0; p < KCLUSTER_PARTITIONS_MAX; p++) t->leaders[p] = t->leader_epochs[p] = -1;
  kcluster_refresh(k);
}

void kcluster_listen(struct kcluster *k, const struct kcluster_listener *l) {
  ASSERT(k->listener_count < KCLUSTER_LISTENERS_MAX && l->updated != NULL);
  k->listeners[k->listener_count++] = *l;
}

void kcluster_unlisten(struct kcluster *k, void *ctx) {
  int n = 0;
  for (int i = 0; i < k->listener_count; i++)
    if (k->listeners[i].ctx != ctx) k->listeners[n++] = k->listeners[i];
  k->listener_count = n;
}

const struct kcluster_topic *kcluster_topic(const struct kcluster *k, const char *name) {
  return topic_find(k, name, strlen(name));
}

static bool topic_lists(const struct kcluster_topic *t, int32_t partition) {
  return t && t->known && partition >= 0 && partition < t->partition_count;
}

int32_t kcluster_topic_leader(const struct kcluster_topic *t, int32_t partition) {
  return topic_lists(t, partition) ? t->leaders[partition] : -1;
}

int32_t kcluster_topic_leader_epoch(const struct kcluster_topic *t, int32_t partition) {
  return topic_lists(t, partition) ? t->leader_epochs[partition] : -1;
}

int32_t kcluster_leader(const struct kcluster *k, const char *topic, int32_t partition) {
  return kcluster_topic_leader(topic_find(k, topic, strlen(topic)), partition);
}

int32_t kcluster_leader_epoch(const struct kcluster *k, const char *topic, int32_t partition) {
  return kcluster_topic_leader_epoch(topic_find(k, topic, strlen(topic)), partition);
}

struct kconn *kcluster_broker_conn(struct kcluster *k, int32_t id) {
  for (int i = 0; i < k->broker_count; i++)
    if (k->brokers[i].id == id)
      return kclient_conn(k->kc, k->brokers[i].host, k->brokers[i].port, k->client_id);
  return NULL;
}

/* The known brokers (by id), then the bootstrap list. */
static int candidates(const struct kcluster *k, const struct kcluster_endpoint **out) {
  int n = 0;
  for (int i = 0; i < k->broker_count; i++) out[n++] = &k->brokers[i];
  for (int i = 0; i < k->bootstrap_count; i++) out[n++] = &k->bootstrap[i];
  return n;
}

/* The connection to e if one exists, without making one. */
static struct kconn *existing(struct kcluster *k, const struct kcluster_endpoint *e) {
  for (int i = 0; i < k->kc->conn_count; i++) {
    struct kconn *c = &k->kc->conns[i];
    if (c->port == e->port && strcmp(c->host, e->host) == 0) return c;
  }
  return NULL;
}

struct kconn *kcluster_any_conn(struct kcluster *k, bool next) {
  const struct kcluster_endpoint *cand[CANDIDATES_MAX];
  int n = candidates(k, cand);
  ASSERT(n > 0); /* a bootstrap address at least */
  if (next) {    /* the next candidate, connected or not: the caller waits for it */
    k->rotation++;
    const struct kcluster_endpoint *e = cand[k->rotation % (uint32_t)n];
    return kclient_conn(k->kc, e->host, e->port, k->client_id);
  }
  for (int i = 0; i < n; i++) { /* the first connected one from the rotation on sticks */
    const struct kcluster_endpoint *e = cand[(k->rotation + (uint32_t)i) % (uint32_t)n];
    struct kconn *c = existing(k, e);
    if (!c || !kconn_connected(c)) continue;
    k->rotation += (uint32_t)i;
    return c;
  }
  const struct kcluster_endpoint *e = cand[k->rotation % (uint32_t)n];
  return kclient_conn(k->kc, e->host, e->port, k->client_id);
}

/* ---- refreshing ---- */

static void notify(struct kcluster *k) {
  /* A listener may unlisten itself or others: walk a copy. */
  struct kcluster_listener copy[KCLUSTER_LISTENERS_MAX];
  int n = k->listener_count;
  memcpy(copy, k->listeners, (size_t)n * sizeof copy[0]);
  for (int i = 0; i < n; i++) copy[i].updated(copy[i].ctx);
}

/* While asking, the timer is the request's timeout (request.timeout.ms):
 * the connection is failed, as Kafka's clients do, so the answer comes
 * back as an error and the next broker is asked. Otherwise the backoff
 * passed, or the metadata got old. */
static void timer_fire(void *ctx) {
  struct kcluster *k = ctx;
  k->timer = 0;
  if (k->asking) {
    kconn_fail(k->asked, ENV_ETIMEDOUT);
    return;
  }
  k->wanted = true;
  ask(k);
}

static void timer_at(struct kcluster *k, uint64_t due_ns) {
  uint64_t now = k->env->now_ns(k->env);
  if (k->timer && k->timer_due_ns <= due_ns) return;
  if (k->timer) k->env->timer_cancel(k->env, k->timer);
  k->timer_due_ns = due_ns;
  k->timer = k->env->timer_start(k->env, due_ns > now ? due_ns - now : 0, timer_fire, k);
}

static uint64_t backoff_ns(const struct kcluster *k) {
  return (uint64_t)k->retry_backoff_ms * NS_PER_MS;
}

void kcluster_refresh(struct kcluster *k) {
  k->wanted = true;
  if (k->asking) return; /* the answer in flight may be older: asked again after it */
  uint64_t now = k->env->now_ns(k->env);
  if (k->last_ns == 0 || now >= k->last_ns + backoff_ns(k))
    ask(k);
  else
    timer_at(k, k->last_ns + backoff_ns(k));
}

static void brokers_take(struct kcluster *k, const struct metadata_response *resp) {
  k->broker_count = 0;
  for (int32_t i = 0; i < resp->brokers_count && k->broker_count < KCLUSTER_BROKERS_MAX; i++) {
    const struct metadata_response_metadata_response_broker *b = &resp->brokers[i];
    if (b->host.len <= 0 || (size_t)b->host.len >= KCLUSTER_HOST_BYTES || b->port <= 0 ||
        b->port > UINT16_MAX)
      continue;
    /* Kept sorted by id: the order of the rotation does not depend on the answer's. */
    int at = k->broker_count;
    while (at > 0 && k->brokers[at - 1].id > b->node_id) at--;
    memmove(&k->brokers[at + 1], &k->brokers[at],
            (size_t)(k->broker_count - at) * sizeof k->brokers[0]);
    endpoint_set(&k->brokers[at], b->node_id, b->host.ptr, (size_t)b->host.len,
                 (uint16_t)b->port);
    k->broker_count++;
  }
}

static void topic_take(struct kcluster_topic *t,
                       const struct metadata_response_metadata_response_topic *mt) {
  t->known = mt->error_code == KERR_NONE;
  if (!t->known) return;
  t->id = mt->topic_id;
  t->partition_count = 0;
  for (int p = 0; p < KCLUSTER_PARTITIONS_MAX; p++) t->leaders[p] = t->leader_epochs[p] = -1;
  for (int32_t j = 0; j < mt->partitions_count; j++) {
    const struct metadata_response_metadata_response_partition *mp = &mt->partitions[j];
    int32_t p = mp->partition_index;
    if (p < 0 || p >= KCLUSTER_PARTITIONS_MAX) continue;
    if (p >= t->partition_count) t->partition_count = p + 1;
    t->leaders[p] = mp->error_code == KERR_NONE ? mp->leader_id : -1;
    t->leader_epochs[p] = mp->leader_epoch;
  }
}

static void on_metadata(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct kcluster *k = ctx;
  ASSERT(k->asking);
  k->asking = false;
  if (k->timer) k->env->timer_cancel(k->env, k->timer); /* the request's timeout */
  k->timer = 0;
  struct metadata_response resp;
  if (err == 0 && !metadata_response_decode(body, k->asked_version, &resp, arena))
    err = ENV_EINVAL;
  if (err == 0 && resp.brokers_count == 0) err = ENV_EOTHER; /* not serving clients yet */
  if (err != 0) {
    k->rotate = true; /* another broker next time */
    kcluster_refresh(k);
    return;
  }
  brokers_take(k, &resp);
  for (int32_t i = 0; i < resp.topics_count; i++) {
    const struct metadata_response_metadata_response_topic *mt = &resp.topics[i];
    struct kcluster_topic *t =
        mt->name.len > 0 ? topic_find(k, mt->name.ptr, (size_t)mt->name.len) : NULL;
    if (t) topic_take(t, mt);
  }
  k->answers++;
  if (!k->wanted)
    timer_at(k, k->env->now_ns(k->env) + (uint64_t)k->max_age_ms * NS_PER_MS);
  else
    kcluster_refresh(k); /* asked for again while this was in flight */
  notify(k);
}

static void encode_metadata(struct wr *w, int16_t version, const void *msg) {
  metadata_request_encode(w, version, msg);
}

/* One Metadata request for the topics, to a connected broker. */
static void ask(struct kcluster *k) {
  if (k->asking) return;
  uint64_t now = k->env->now_ns(k->env);
  k->last_ns = now;
  struct kconn *conn = kcluster_any_conn(k, k->rotate);
  k->rotate = false;
  if (!kconn_connected(
          conn)) { /* connecting: it, or one connected by then, after the backoff */
    timer_at(k, now + backoff_ns(k));
    return;
  }
  int16_t version =
      kconn_version(conn, API_METADATA, METADATA_VERSION_MIN, METADATA_VERSION_MAX);
  if (version < 0) version = METADATA_VERSION_MIN;
  struct metadata_request_metadata_request_topic topics[KCLUSTER_TOPICS_MAX];
  for (int t = 0; t < k->topic_count; t++) {
    metadata_request_metadata_request_topic_init(&topics[t]);
    topics[t].name = kstr_of(k->topics[t].name);
  }
  struct metadata_request req;
  metadata_request_init(&req);
  req.topics = topics;
  req.topics_count = k->topic_count;
  req.allow_auto_topic_creation = false;
  if (kconn_send(conn, API_METADATA, version, encode_metadata, &req, on_metadata, k) != 0) {
    k->rotate = true;
    timer_at(k, now + backoff_ns(k));
    return;
  }
  k->wanted = false;
  k->asking = true;
  k->asked = conn;
  k->asked_version = version;
  k->refreshes++;
  if (k->timer) { /* the answer starts the next period */
    k->env->timer_cancel(k->env, k->timer);
    k->timer = 0;
  }
  timer_at(k, now + (uint64_t)KCLUSTER_REQUEST_TIMEOUT_MS * NS_PER_MS);
}
