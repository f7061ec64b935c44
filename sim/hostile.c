/* Hostile clients and the bystander (sim/hostile.h). Every actor is a host
 * of the world with its own timer (HOSTILE_TICK_MS) and its connections in
 * a small array of slots, looked up by id in slot order. */
#include "sim/hostile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "proto/api.h"
#include "proto/batch_format.h"
#include "proto/record_batch.h"
#include "proto/wire.h"
#include "sim/internal.h"
#include "sim/net.h"
#include "sim/scenario.h"

#define BOMB_TOPIC "hostile-bomb"

enum {
  HOSTILE_TICK_MS = 10,
  HOSTILE_NODE_ID_BASE = 200, /* the bystander is 199 */
  SLOTS_MAX = 100,
  FRAME_BYTES_MAX = 100 * 1024 * 1024,
  FLOOD_PARTITIONS = 10000,
  FLOOD_EVERY_TICKS = 20,
  UNKNOWN_TOPICS = 3000,
  UNKNOWN_EVERY_TICKS = 50,
  READER_CONNS = 2,
  READER_FETCHES_MAX = 500,
  READER_PARTITION_BYTES = 64 * 1024,
  WRITER_CONNS = 4,
  WRITER_CLAIM_BYTES = 8 * 1024 * 1024,
  WRITER_CHUNK_BYTES = 1024,
  FLOOD_CONNS = 100,
  EVERY_SECOND_TICKS = 100,
  BOMB_VALUE_BYTES = 4 * 1024 * 1024,
  RECONNECT_TICKS = 10,
  WAITS_KEPT_MAX = 1 << 20,
};

const char *const hostile_kind_names[HOSTILE_KINDS] = {
    [HOSTILE_PARTITION_FLOOD] = "partition-flood",
    [HOSTILE_UNKNOWN_TOPICS] = "unknown-topics",
    [HOSTILE_SLOW_READER] = "slow-reader",
    [HOSTILE_SLOW_WRITER] = "slow-writer",
    [HOSTILE_CONNECTION_FLOOD] = "connection-flood",
    [HOSTILE_COMPRESSION_BOMB] = "compression-bomb",
};

int hostile_kind_of(const char *name) {
  for (int k = 0; k < HOSTILE_KINDS; k++)
    if (name && !strcmp(name, hostile_kind_names[k])) return k;
  return -1;
}

struct slot {
  uint64_t id; /* 0: empty */
  bool open;
  uint32_t sent; /* requests (or chunks) sent on it */
};

struct actor {
  struct hostile *h;
  int kind; /* enum hostile_kind; HOSTILE_KINDS: the bystander */
  struct sim_node *node;
  struct env *env;
  struct slot slots[SLOTS_MAX];
  int slot_count; /* how many it keeps */
  uint64_t ticks;
  int32_t next_correlation;
  uint64_t requests, answers;
  /* the bystander's one request in flight */
  bool in_flight;
  int32_t in_flight_correlation;
  uint64_t sent_ns, next_send_tick;
};

struct hostile {
  const struct scenario *sc;
  struct sim_world *w;
  struct sim_node *broker;
  char broker_host[64];
  uint16_t port;
  struct actor actors[HOSTILE_KINDS + 1];
  int actor_count;
  struct actor *bystander;
  const char *fetch_topic;
  struct buf bomb_batch;
  /* bystander-wait */
  uint64_t wait_bound_ns, waits, wait_max_ns, wait_over, lost;
  char wait_first[256];
};

/* ---- frames ---- */

/* Request header v1 (every request here is a non-flexible version). */
static void header(struct actor *a, struct wr *w, int16_t api, int16_t version) {
  wr_init(w);
  wr_i16(w, api);
  wr_i16(w, version);
  wr_i32(w, a->next_correlation++);
  wr_string(w, kstr_of(a->kind < HOSTILE_KINDS ? hostile_kind_names[a->kind] : "bystander"),
            false);
}

static void send_wr(struct actor *a, struct slot *s, struct wr *w) {
  struct env_iov iov[8];
  int n = wr_iov(w, 0, iov, (int)ARRAY_LEN(iov));
  ASSERT(n > 0);
  if (a->env->send(a->env, s->id, iov, n) == 0) {
    s->sent++;
    a->requests++;
  }
  wr_free(w);
}

/* CreateTopics v4 of one topic; `codec`: its compression.type (NULL: none). */
static void send_create(struct actor *a, struct slot *s, const char *name, int32_t partitions,
                        const char *codec) {
  struct wr w;
  header(a, &w, API_CREATE_TOPICS, 4);
  wr_array_len(&w, 1, false);
  wr_string(&w, kstr_of(name), false);
  wr_i32(&w, partitions);
  wr_i16(&w, 1);
  wr_array_len(&w, 0, false); /* assignments */
  wr_array_len(&w, codec ? 1 : 0, false);
  if (codec) {
    wr_string(&w, kstr_of("compression.type"), false);
    wr_string(&w, kstr_of(codec), false);
  }
  wr_i32(&w, 30000);  /* timeout_ms */
  wr_bool(&w, false); /* validate_only */
  send_wr(a, s, &w);
}

static void send_partition_flood(struct actor *a, struct slot *s) {
  char name[64];
  snprintf(name, sizeof name, "hostile-flood-%llu", (unsigned long long)a->ticks);
  send_create(a, s, name, FLOOD_PARTITIONS, NULL);
}

/* Metadata v4 naming UNKNOWN_TOPICS topics nobody created, auto-create on. */
static void send_unknown_topics(struct actor *a, struct slot *s) {
  struct wr w;
  header(a, &w, API_METADATA, 4);
  wr_array_len(&w, UNKNOWN_TOPICS, false);
  for (int i = 0; i < UNKNOWN_TOPICS; i++) {
    char name[64];
    snprintf(name, sizeof name, "hostile-auto-%llu-%d", (unsigned long long)a->ticks, i);
    wr_string(&w, kstr_of(name), false);
  }
  wr_bool(&w, true);
  send_wr(a, s, &w);
}

/* Fetch v4 of the first topic's partition 0 from offset 0: the answer is
 * as big as the log lets it be, and nobody reads it. */
static void send_fetch(struct actor *a, struct slot *s) {
  struct wr w;
  header(a, &w, API_FETCH, 4);
  wr_i32(&w, -1);  /* replica_id: a consumer */
  wr_i32(&w, 100); /* max_wait_ms */
  wr_i32(&w, 1);   /* min_bytes */
  wr_i32(&w, READER_PARTITION_BYTES);
  wr_i8(&w, 0); /* read_uncommitted */
  wr_array_len(&w, 1, false);
  wr_string(&w, kstr_of(a->h->fetch_topic), false);
  wr_array_len(&w, 1, false);
  wr_i32(&w, 0);
  wr_i64(&w, 0);
  wr_i32(&w, READER_PARTITION_BYTES);
  send_wr(a, s, &w);
}

/* Produce v7, acks=1, of the batch built once (bomb_init). */
static void send_bomb(struct actor *a, struct slot *s) {
  const struct buf *b = &a->h->bomb_batch;
  struct wr w;
  header(a, &w, API_PRODUCE, 7);
  wr_string(&w, kstr_of(NULL), false); /* transactional_id */
  wr_i16(&w, 1);
  wr_i32(&w, 30000);
  wr_array_len(&w, 1, false);
  wr_string(&w, kstr_of(BOMB_TOPIC), false);
  wr_array_len(&w, 1, false);
  wr_i32(&w, 0);
  wr_bytes(&w, (struct kbytes){b->data, (int32_t)b->len}, false);
  send_wr(a, s, &w);
}

static void send_api_versions(struct actor *a, struct slot *s) {
  struct wr w;
  int32_t correlation = a->next_correlation;
  header(a, &w, API_API_VERSIONS, 0);
  uint32_t before = s->sent;
  send_wr(a, s, &w);
  if (s->sent == before) return;
  a->in_flight = true;
  a->in_flight_correlation = correlation;
  a->sent_ns = a->env->now_ns(a->env);
}

/* The prefix claims WRITER_CLAIM_BYTES; the body comes a chunk a tick. */
static void send_trickle(struct actor *a, struct slot *s) {
  uint8_t chunk[4 + WRITER_CHUNK_BYTES];
  memset(chunk, 0, sizeof chunk);
  uint32_t len = WRITER_CHUNK_BYTES, at = 0;
  if (s->sent == 0) {
    uint32_t claim = WRITER_CLAIM_BYTES;
    chunk[0] = (uint8_t)(claim >> 24);
    chunk[1] = (uint8_t)(claim >> 16);
    chunk[2] = (uint8_t)(claim >> 8);
    chunk[3] = (uint8_t)claim;
    at = 4;
  }
  if ((uint64_t)s->sent * WRITER_CHUNK_BYTES + len >= WRITER_CLAIM_BYTES)
    return; /* never ends */
  if (sim_net_send_raw(a->node, s->id, chunk, at + len) != 0) return;
  s->sent++;
  a->requests++; /* chunks, for the summary */
}

/* ---- connections ---- */

static struct slot *slot_of(struct actor *a, uint64_t id) {
  for (int i = 0; i < a->slot_count; i++)
    if (a->slots[i].id == id) return &a->slots[i];
  return NULL;
}

static void on_connected(void *ctx, env_conn_id conn, int err) {
  struct actor *a = ctx;
  struct slot *s = slot_of(a, conn);
  if (!s) return;
  if (err != 0) {
    *s = (struct slot){0};
    return;
  }
  s->open = true;
  /* A slow reader never takes a byte of its answers: its socket fills. */
  if (a->kind == HOSTILE_SLOW_READER) a->env->read_pause(a->env, conn, true);
}

static void bystander_answer(struct actor *a, const uint8_t *data, size_t len) {
  struct hostile *h = a->h;
  if (!a->in_flight || len < 4) return;
  int32_t correlation = (int32_t)((uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
                                  (uint32_t)data[2] << 8 | data[3]);
  if (correlation != a->in_flight_correlation) return;
  a->in_flight = false;
  a->answers++;
  uint64_t now_ns = a->env->now_ns(a->env);
  uint64_t wait_ns = now_ns - a->sent_ns;
  h->waits++;
  if (wait_ns > h->wait_max_ns) h->wait_max_ns = wait_ns;
  if (wait_ns > h->wait_bound_ns && h->wait_over++ == 0)
    snprintf(h->wait_first, sizeof h->wait_first,
             "an ApiVersions sent at %.3f s waited %.3f ms (bound %.0f ms)",
             (double)a->sent_ns / 1e9, (double)wait_ns / 1e6, (double)h->wait_bound_ns / 1e6);
  a->next_send_tick = a->ticks + 1;
}

static void on_frame(void *ctx, env_conn_id conn, uint8_t *data, size_t len) {
  struct actor *a = ctx;
  if (a->kind == HOSTILE_KINDS && slot_of(a, conn))
    bystander_answer(a, data, len);
  else
    a->answers++;
  free(data);
}

static void on_closed(void *ctx, env_conn_id conn, int err) {
  struct actor *a = ctx;
  (void)err;
  struct slot *s = slot_of(a, conn);
  if (!s) return;
  *s = (struct slot){0};
  if (a->kind == HOSTILE_KINDS && a->in_flight) {
    a->in_flight = false; /* its broker went away (or refused it): not a wait */
    a->h->lost++;
  }
}

static void slot_connect(struct actor *a, struct slot *s) {
  struct hostile *h = a->h;
  env_conn_id id = 0;
  if (a->env->connect(a->env, h->broker_host, h->port, FRAME_BYTES_MAX, &id) != 0) return;
  *s = (struct slot){.id = id};
  if (a->kind == HOSTILE_CONNECTION_FLOOD) a->requests++; /* connects, for the summary */
}

/* ---- each tick ---- */

static void act(struct actor *a, struct slot *s) {
  uint64_t t = a->ticks;
  switch (a->kind) {
  case HOSTILE_PARTITION_FLOOD:
    if (t % FLOOD_EVERY_TICKS == 0) send_partition_flood(a, s);
    break;
  case HOSTILE_UNKNOWN_TOPICS:
    if (t % UNKNOWN_EVERY_TICKS == 0) send_unknown_topics(a, s);
    break;
  case HOSTILE_SLOW_READER:
    if (s->sent < READER_FETCHES_MAX) send_fetch(a, s);
    break;
  case HOSTILE_SLOW_WRITER:
    send_trickle(a, s);
    break;
  case HOSTILE_CONNECTION_FLOOD:
    break;                       /* connecting is all it does */
  case HOSTILE_COMPRESSION_BOMB: /* its own gzip topic first (again after a reconnect) */
    if (s->sent == 0) send_create(a, s, BOMB_TOPIC, 1, "gzip");
    if (t % EVERY_SECOND_TICKS == 0) send_bomb(a, s);
    break;
  default:
    if (!a->in_flight && t >= a->next_send_tick) send_api_versions(a, s);
    break;
  }
}

static void actor_tick(void *ctx) {
  struct actor *a = ctx;
  a->ticks++;
  /* Lost connections come back: the flood's every second, others soon. */
  uint64_t every = a->kind == HOSTILE_CONNECTION_FLOOD ? EVERY_SECOND_TICKS : RECONNECT_TICKS;
  bool reconnect = a->ticks % every == 1;
  for (int i = 0; i < a->slot_count; i++) {
    struct slot *s = &a->slots[i];
    if (s->id == 0 && reconnect) slot_connect(a, s);
    if (s->id != 0 && s->open) act(a, s);
  }
  a->env->timer_start(a->env, (uint64_t)HOSTILE_TICK_MS * NS_PER_MS, actor_tick, a);
}

static void actor_add(struct hostile *h, int kind) {
  ASSERT(h->actor_count < (int)ARRAY_LEN(h->actors));
  struct actor *a = &h->actors[h->actor_count++];
  char host[32];
  snprintf(host, sizeof host, "%s",
           kind < HOSTILE_KINDS ? hostile_kind_names[kind] : "bystander");
  a->h = h;
  a->kind = kind;
  a->node = sim_node_add(h->w, HOSTILE_NODE_ID_BASE - 1 + h->actor_count, host);
  a->env = sim_node_env(a->node);
  a->next_correlation = 1;
  a->slot_count = kind == HOSTILE_SLOW_READER        ? READER_CONNS
                  : kind == HOSTILE_SLOW_WRITER      ? WRITER_CONNS
                  : kind == HOSTILE_CONNECTION_FLOOD ? FLOOD_CONNS
                                                     : 1;
  ASSERT(a->slot_count <= SLOTS_MAX);
  struct env_net_handler handler = {
      .ctx = a, .connected = on_connected, .frame = on_frame, .closed = on_closed};
  a->env->net_handler_set(a->env, &handler);
  a->env->timer_start(a->env, (uint64_t)HOSTILE_TICK_MS * NS_PER_MS, actor_tick, a);
}

/* ---- the bomb ---- */

/* One record of BOMB_VALUE_BYTES zeros, zstd: a few hundred bytes that
 * inflate 10,000-fold, to a topic of its own (outside the history) whose
 * compression.type, gzip, makes the broker recompress it. */
static void bomb_init(struct hostile *h) {
  uint8_t *zeros = calloc(1, BOMB_VALUE_BYTES);
  ASSERT(zeros != NULL);
  struct rb_builder b;
  rb_builder_init(&b, 0, 0);
  rb_builder_add(&b, 0, (struct kbytes){NULL, -1}, (struct kbytes){zeros, BOMB_VALUE_BYTES},
                 NULL, 0);
  buf_init(&h->bomb_batch);
  int rc = rb_builder_finish(&b, RB_CODEC_ZSTD, &h->bomb_batch);
  ASSERT(rc == 0);
  rb_builder_free(&b);
  free(zeros);
}

/* ---- the run's side ---- */

struct hostile *hostile_start(struct sim_world *w, const struct scenario *sc,
                              struct sim_node *broker, uint16_t port) {
  if (sc->hostile == 0 && sc->bystander_wait_ms <= 0) return NULL;
  ASSERT(sc->topic_count > 0 || (sc->hostile & 1u << HOSTILE_SLOW_READER) == 0);
  struct hostile *h = calloc(1, sizeof *h);
  ASSERT(h != NULL);
  h->sc = sc;
  h->w = w;
  h->broker = broker;
  snprintf(h->broker_host, sizeof h->broker_host, "%s", sim_node_host(broker));
  h->port = port;
  h->fetch_topic = sc->topic_count > 0 ? sc->topics[0].name : "";
  if (sc->hostile & 1u << HOSTILE_COMPRESSION_BOMB) bomb_init(h);
  for (int k = 0; k < HOSTILE_KINDS; k++)
    if (sc->hostile & 1u << k) actor_add(h, k);
  if (sc->bystander_wait_ms > 0) {
    h->wait_bound_ns = (uint64_t)sc->bystander_wait_ms * NS_PER_MS;
    actor_add(h, HOSTILE_KINDS);
    h->bystander = &h->actors[h->actor_count - 1];
  }
  return h;
}

static int64_t config_int(const struct scenario *sc, const char *key, int64_t otherwise) {
  for (int i = 0; i < sc->config_count; i++)
    if (!strcmp(sc->config[i].key, key)) return strtoll(sc->config[i].value, NULL, 10);
  return otherwise;
}

int hostile_judge(struct hostile *h, struct check_result *out, int out_max) {
  ASSERT(out_max >= HOSTILE_CHECKERS);
  int n = 0;
  if (h->bystander) {
    struct actor *a = h->bystander;
    uint64_t now_ns = a->env->now_ns(a->env);
    if (a->in_flight && now_ns - a->sent_ns > h->wait_bound_ns && h->wait_over++ == 0)
      snprintf(h->wait_first, sizeof h->wait_first,
               "an ApiVersions sent at %.3f s was still unanswered at the end",
               (double)a->sent_ns / 1e9);
    out[n] = (struct check_result){.name = "bystander-wait",
                                   .violations = h->wait_over,
                                   .bound = (uint64_t)h->sc->bystander_wait_ms};
    if (h->waits == 0 && h->wait_over == 0) { /* never answered at all: not a pass */
      out[n].violations = 1;
      snprintf(h->wait_first, sizeof h->wait_first, "the bystander was never answered");
    }
    snprintf(out[n].first, sizeof out[n].first, "%s", h->wait_first);
    n++;
  }
  /* The checker that sees work rather than time (sim/hostile.h). */
  int64_t budget = config_int(h->sc, "sluice.connection.response.bytes.max", 64ll << 20);
  struct sim_net_stats st;
  sim_net_stats(h->broker, &st);
  out[n] = (struct check_result){.name = "response-budget", .bound = (uint64_t)budget};
  if (st.send_queued_peak_bytes > (uint64_t)budget) {
    out[n].violations = 1;
    snprintf(out[n].first, sizeof out[n].first,
             "a connection held %llu response bytes unsent when the broker sent it another "
             "(sluice.connection.response.bytes.max %lld)",
             (unsigned long long)st.send_queued_peak_bytes, (long long)budget);
  }
  n++;
  return n;
}

void hostile_summary(const struct hostile *h, char *out, size_t cap) {
  ASSERT(cap > 0);
  out[0] = '\0';
  if (!h) return;
  struct sim_net_stats st;
  sim_net_stats(h->broker, &st);
  size_t len = 0;
  for (int i = 0; i < h->actor_count && len < cap; i++) {
    const struct actor *a = &h->actors[i];
    if (a->kind == HOSTILE_KINDS) continue;
    int n = snprintf(out + len, cap - len, "%s %llu sent %llu answered; ",
                     hostile_kind_names[a->kind], (unsigned long long)a->requests,
                     (unsigned long long)a->answers);
    if (n > 0) len += (size_t)n;
  }
  if (len >= cap) return;
  snprintf(out + len, cap - len,
           "hostile: bystander %llu answers, longest wait %.3f ms, %llu lost; broker refused "
           "%llu connections, %llu receive-budget waits, peak unsent on a connection %llu B",
           (unsigned long long)h->waits, (double)h->wait_max_ns / 1e6,
           (unsigned long long)h->lost, (unsigned long long)st.refused,
           (unsigned long long)st.receive_waits, (unsigned long long)st.send_queued_peak_bytes);
}

void hostile_free(struct hostile *h) {
  if (!h) return;
  buf_free(&h->bomb_batch);
  free(h);
}

/* ---- the swarm ---- */

static void config_put(struct scenario *s, const char *key, const char *value) {
  for (int i = 0; i < s->config_count; i++)
    if (!strcmp(s->config[i].key, key)) return; /* the swarm's own choice stands */
  if (s->config_count == SCENARIO_CONFIG_MAX) return;
  struct scenario_kv *kv = &s->config[s->config_count++];
  snprintf(kv->key, sizeof kv->key, "%s", key);
  snprintf(kv->value, sizeof kv->value, "%s", value);
}

void hostile_draw(const struct sim_rng *root, struct scenario *out) {
  struct sim_rng rng = sim_rng_fork(root, "swarm.hostile");
  if (sim_rng_below(&rng, 4) != 0 || out->topic_count == 0 || out->nodes != 1) return;
  for (int k = 0; k < HOSTILE_KINDS; k++)
    if (sim_rng_below(&rng, 2)) out->hostile |= 1u << k;
  if (out->hostile == 0) out->hostile = 1u << sim_rng_below(&rng, HOSTILE_KINDS);
  /* A fault (a pause, a latency spike, a kill) makes the bystander wait by
   * design: the bound is stated only for seeds that drew none. */
  if (out->fault_count == 0) out->bystander_wait_ms = 100;
  config_put(out, "sluice.connection.response.bytes.max", "1048576");
  config_put(out, "queued.max.request.bytes", "20971520");
  config_put(out, "max.connections.per.ip", "20");
  config_put(out, "sluice.auto.create.topics.max.per.second", "5");
}
