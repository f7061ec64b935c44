#include "client/producer.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "proto/record_batch.h"

enum { PRODUCE_VERSION = 7, INIT_PRODUCER_ID_VERSION = 4 };

static void pump(struct kproducer *p);
static void pump_soon(struct kproducer *p);
static void pid_ask(struct kproducer *p);

void kproducer_init(struct kproducer *p, struct env *env, struct kconn *conn,
                    const struct kproducer_config *cfg, const struct kproducer_listener *l) {
  ASSERT(cfg->partition_count > 0 && cfg->partition_count <= PRODUCER_PARTITIONS_MAX);
  ASSERT(cfg->batch_records_max > 0);
  memset(p, 0, sizeof *p);
  p->env = env;
  p->conn = conn;
  p->cfg = *cfg;
  p->listener = *l;
  /* Kafka's clients turn idempotence off with acks=0: nothing is answered. */
  p->idempotent = !cfg->idempotence_off && cfg->acks != 0;
  p->producer_id = -1;
  p->producer_epoch = -1;
  p->pid_call = (struct kproducer_call){p, -1};
  for (int32_t i = 0; i < cfg->partition_count; i++) {
    p->partitions[i].call = (struct kproducer_call){p, i};
    p->partitions[i].queue = calloc(PRODUCER_QUEUE_MIN, sizeof(struct kproducer_record));
    ASSERT(p->partitions[i].queue != NULL);
    p->partitions[i].queue_cap = PRODUCER_QUEUE_MIN;
  }
}

_Static_assert((PRODUCER_QUEUE_MAX & (PRODUCER_QUEUE_MAX - 1)) == 0 &&
                   (PRODUCER_QUEUE_MIN & (PRODUCER_QUEUE_MIN - 1)) == 0 &&
                   PRODUCER_QUEUE_MIN <= PRODUCER_QUEUE_MAX,
               "the queue's ring sizes are powers of two");

static struct kproducer_record *at(struct kproducer_partition *pp, int i) {
  return &pp->queue[(pp->head + i) & (pp->queue_cap - 1)];
}

/* A full ring doubles, its records in order from index 0. */
static void queue_grow(struct kproducer_partition *pp) {
  ASSERT(pp->count == pp->queue_cap && pp->queue_cap < PRODUCER_QUEUE_MAX);
  int cap = pp->queue_cap * 2;
  struct kproducer_record *q = calloc((size_t)cap, sizeof *q);
  ASSERT(q != NULL);
  for (int i = 0; i < pp->count; i++) q[i] = *at(pp, i);
  free(pp->queue);
  pp->queue = q;
  pp->queue_cap = cap;
  pp->head = 0;
}

static void record_free(struct kproducer_record *r) {
  free(r->key);
  free(r->value);
  memset(r, 0, sizeof *r);
}

/* Every connection a request of ctx may be on. */
static void forget(struct kproducer *p, void *ctx) {
  if (!p->cluster) {
    kconn_forget(p->conn, ctx);
    return;
  }
  for (int i = 0; i < p->cluster->kc->conn_count; i++)
    kconn_forget(&p->cluster->kc->conns[i], ctx);
}

void kproducer_route(struct kproducer *p, struct kcluster *k) {
  ASSERT(k != NULL && kproducer_pending(p) == 0);
  p->cluster = k;
  kcluster_add_topic(k, p->cfg.topic);
}

void kproducer_free(struct kproducer *p) {
  if (p->pid_timer) p->env->timer_cancel(p->env, p->pid_timer);
  if (p->linger_timer) p->env->timer_cancel(p->env, p->linger_timer);
  forget(p, &p->pid_call);
  for (int32_t i = 0; i < p->cfg.partition_count; i++) {
    struct kproducer_partition *pp = &p->partitions[i];
    if (pp->retry_timer) p->env->timer_cancel(p->env, pp->retry_timer);
    if (pp->timeout_timer) p->env->timer_cancel(p->env, pp->timeout_timer);
    forget(p, &pp->call);
    forget(p, &pp->request);
    for (int j = 0; j < pp->count; j++) record_free(at(pp, j));
    free(pp->queue);
  }
  buf_free(&p->build_records);
  for (int32_t k = 0; k < PRODUCER_PARTITIONS_MAX; k++) buf_free(&p->build_batches[k]);
  memset(p, 0, sizeof *p);
}

int kproducer_pending(const struct kproducer *p) {
  int n = 0;
  for (int32_t i = 0; i < p->cfg.partition_count; i++) n += p->partitions[i].count;
  return n;
}

static uint8_t *copy(const void *data, int32_t len) {
  if (len <= 0) return NULL;
  uint8_t *c = malloc((size_t)len);
  ASSERT(c != NULL);
  memcpy(c, data, (size_t)len);
  return c;
}

int kproducer_send(struct kproducer *p, int32_t partition, const void *key, int32_t key_len,
                   const void *value, int32_t value_len, uint64_t id) {
  ASSERT(partition >= 0 && partition < p->cfg.partition_count);
  struct kproducer_partition *pp = &p->partitions[partition];
  if (pp->count == PRODUCER_QUEUE_MAX) return ENV_ENOMEM;
  if (pp->count == pp->queue_cap) queue_grow(pp);
  struct kproducer_record *r = at(pp, pp->count++);
  *r = (struct kproducer_record){.id = id,
                                 .timestamp_ms = p->env->wall_ms(p->env),
                                 .key = copy(key, key_len),
                                 .key_len = key_len,
                                 .value = copy(value, value_len),
                                 .value_len = value_len};
  if (p->idempotent && p->pid_state == KPRODUCER_PID_NONE && !p->pid_asking && !p->pid_timer)
    pid_ask(p); /* the first send asks for the producer id */
  pump_soon(p);
  return 0;
}

/* The first n records leave the queue, each reported; the batch is done. */
static void complete(struct kproducer *p, int32_t partition, int n, int error, int64_t base) {
  struct kproducer_partition *pp = &p->partitions[partition];
  ASSERT(n <= pp->count && n == pp->batch_count);
  pp->batch_count = 0;
  pp->batch_refused = false;
  for (int i = 0; i < n; i++) {
    struct kproducer_record *r = at(pp, 0);
    uint64_t id = r->id;
    record_free(r);
    pp->head = (pp->head + 1) & (pp->queue_cap - 1);
    pp->count--;
    if (error == KERR_NONE)
      p->listener.acked(p->listener.ctx, id, partition, base < 0 ? -1 : base + i);
    else
      p->listener.failed(p->listener.ctx, id, partition, error);
  }
}

static bool retriable(int error) {
  switch (error) {
  case KERR_NOT_LEADER_OR_FOLLOWER:
  case KERR_LEADER_NOT_AVAILABLE:
  case KERR_REQUEST_TIMED_OUT:
  case KERR_NOT_ENOUGH_REPLICAS:
  case KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
  case KERR_KAFKA_STORAGE_ERROR:
  case KERR_UNKNOWN_TOPIC_OR_PARTITION:
  case KERR_NETWORK_EXCEPTION:
  case KERR_CORRUPT_MESSAGE:
  case KERR_FENCED_LEADER_EPOCH:
  case KERR_UNKNOWN_LEADER_EPOCH:
    return true;
  default:
    return false;
  }
}

/* Errors after which the leader a client knows may be wrong (KIP-320's
 * epoch errors among them): ask Metadata again before the retry. */
static bool stale_leader(int error) {
  return error < 0 || error == KERR_NOT_LEADER_OR_FOLLOWER ||
         error == KERR_UNKNOWN_TOPIC_OR_PARTITION || error == KERR_LEADER_NOT_AVAILABLE ||
         error == KERR_FENCED_LEADER_EPOCH || error == KERR_UNKNOWN_LEADER_EPOCH ||
         error == KERR_REQUEST_TIMED_OUT || error == KERR_NETWORK_EXCEPTION;
}

/* The broker refused the batch for its producer id, epoch or sequence: it
 * was not stored. OUT_OF_ORDER_SEQUENCE_NUMBER / UNKNOWN_PRODUCER_ID: the
 * broker lost what came before (a power loss in page-cache mode): a new
 * epoch starts the sequences over. An epoch error: a new id. */
static bool refused_for_sequence(int error, bool *new_id) {
  *new_id = error == KERR_INVALID_PRODUCER_EPOCH || error == KERR_PRODUCER_FENCED;
  return *new_id || error == KERR_OUT_OF_ORDER_SEQUENCE_NUMBER ||
         error == KERR_UNKNOWN_PRODUCER_ID;
}

/* ---- idempotence: the producer id and its epochs ---- */

/* Drained: no batch whose outcome is unknown is in flight or due for a
 * retry; each partition has no batch or a refused one. */
static bool drained(const struct kproducer *p) {
  for (int32_t i = 0; i < p->cfg.partition_count; i++) {
    const struct kproducer_partition *pp = &p->partitions[i];
    if (pp->in_flight > 0 || (pp->batch_count > 0 && !pp->batch_refused)) return false;
  }
  return true;
}

static void drain_check(struct kproducer *p) {
  if (p->pid_state == KPRODUCER_PID_DRAINING && !p->pid_asking && !p->pid_timer && drained(p))
    pid_ask(p);
}

/* A batch was refused: stop starting batches, finish the others. */
static void drain_start(struct kproducer *p, bool new_id) {
  ASSERT(p->idempotent);
  p->pid_new_id |= new_id;
  if (p->pid_state == KPRODUCER_PID_READY) p->pid_state = KPRODUCER_PID_DRAINING;
  drain_check(p);
}

static void pid_retry_fire(void *ctx) {
  struct kproducer *p = ctx;
  p->pid_timer = 0;
  pid_ask(p);
}

static void pid_retry_later(struct kproducer *p) {
  ASSERT(!p->pid_asking && p->pid_timer == 0);
  p->pid_timer = p->env->timer_start(p->env, (uint64_t)p->cfg.retry_backoff_ms * NS_PER_MS,
                                     pid_retry_fire, p);
}

/* A new id or epoch: every partition's sequence starts over at 0; refused
 * batches are stamped anew when they go out. */
static void pid_taken(struct kproducer *p, int64_t producer_id, int16_t epoch) {
  ASSERT(producer_id >= 0 && epoch >= 0);
  ASSERT(p->pid_state == KPRODUCER_PID_NONE || drained(p));
  env_log(p->env, ENV_LOG_INFO, "producer %s: producer id %lld epoch %d", p->cfg.topic,
          (long long)producer_id, epoch);
  p->producer_id = producer_id;
  p->producer_epoch = epoch;
  p->pid_new_id = false;
  p->pid_state = KPRODUCER_PID_READY;
  p->epochs_taken++;
  for (int32_t i = 0; i < p->cfg.partition_count; i++) p->partitions[i].next_sequence = 0;
  pump(p);
}

static void on_pid_response(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct kproducer_call *call = ctx;
  struct kproducer *p = call->p;
  ASSERT(call->partition == -1 && p->pid_asking);
  p->pid_asking = false;
  struct init_producer_id_response resp;
  if (err == 0 &&
      !init_producer_id_response_decode(body, INIT_PRODUCER_ID_VERSION, &resp, arena))
    err = ENV_EINVAL;
  if (err == 0 && resp.error_code == KERR_NONE && resp.producer_id >= 0 &&
      resp.producer_epoch >= 0) {
    pid_taken(p, resp.producer_id, resp.producer_epoch);
    return;
  }
  p->pid_rotate = true; /* routed: another broker may serve it */
  pid_retry_later(p);   /* a lost connection, a retriable error: ask again */
}

static void encode_init_producer_id(struct wr *w, int16_t version, const void *msg) {
  init_producer_id_request_encode(w, version, msg);
}

/* InitProducerId: the first id, or (KIP-360) the next epoch of ours. */
static void pid_ask(struct kproducer *p) {
  ASSERT(p->idempotent && !p->pid_asking && p->pid_timer == 0);
  struct kconn *conn = p->conn;
  if (p->cluster) {
    conn = kcluster_any_conn(p->cluster, p->pid_rotate);
    p->pid_rotate = false;
    p->pid_conn = conn;
  }
  if (!kconn_connected(conn)) { /* connecting: it, or one connected by then */
    kconn_connect(conn);
    pid_retry_later(p);
    return;
  }
  struct init_producer_id_request m;
  init_producer_id_request_init(&m);
  m.transactional_id = KSTR_NULL;
  m.transaction_timeout_ms = p->cfg.timeout_ms;
  if (p->producer_id >= 0 && !p->pid_new_id) {
    m.producer_id = p->producer_id;
    m.producer_epoch = p->producer_epoch;
  }
  int rc = kconn_send(conn, API_INIT_PRODUCER_ID, INIT_PRODUCER_ID_VERSION,
                      encode_init_producer_id, &m, on_pid_response, &p->pid_call);
  if (rc != 0) {
    pid_retry_later(p);
    return;
  }
  p->pid_asking = true;
}

/* ---- batches ---- */

static void retry_fire(void *ctx) {
  struct kproducer_call *call = ctx;
  struct kproducer *p = call->p;
  int32_t partition = call->partition;
  p->partitions[partition].retry_timer = 0;
  pump(p);
}

/* The batch in flight failed with error: retry it later (the same batch),
 * or give up. */
static void batch_failed(struct kproducer *p, int32_t partition, int error) {
  struct kproducer_partition *pp = &p->partitions[partition];
  int n = pp->batch_count;
  ASSERT(n > 0);
  pp->in_flight = 0;
  pp->sent_on = NULL;
  if (pp->timeout_timer) p->env->timer_cancel(p->env, pp->timeout_timer);
  pp->timeout_timer = 0;
  if (p->cluster && stale_leader(error)) {
    p->leader_moves++;
    kcluster_refresh(p->cluster); /* the retry goes to the leader it names */
  }
  bool again = retriable(error) || error < 0; /* error < 0: the connection failed */
  for (int i = 0; i < n; i++) again = again && at(pp, i)->attempts <= p->cfg.retries_max;
  if (!again) {
    complete(p, partition, n, error < 0 ? KERR_NETWORK_EXCEPTION : error, -1);
    drain_check(p);
    pump_soon(p); /* the partition's next records (a pump may be running) */
    return;
  }
  pp->retry_timer = p->env->timer_start(p->env, (uint64_t)p->cfg.retry_backoff_ms * NS_PER_MS,
                                        retry_fire, &pp->call);
}

/* The partition's outcome in an answer (NETWORK_EXCEPTION if the answer
 * leaves it out). */
static void answer_of(const struct produce_response *resp, int32_t partition, int16_t *error,
                      int64_t *base) {
  *error = KERR_NETWORK_EXCEPTION;
  *base = -1;
  for (int32_t i = 0; i < resp->responses_count; i++)
    for (int32_t j = 0; j < resp->responses[i].partition_responses_count; j++)
      if (resp->responses[i].partition_responses[j].index == partition) {
        *error = resp->responses[i].partition_responses[j].error_code;
        *base = resp->responses[i].partition_responses[j].base_offset;
      }
}

/* One partition of an answered request (err: the request's own failure). */
static void partition_answered(struct kproducer *p, int32_t partition, int err,
                               const struct produce_response *resp, bool *drain,
                               bool *new_id_any) {
  struct kproducer_partition *pp = &p->partitions[partition];
  ASSERT(pp->in_flight > 0);
  if (pp->timeout_timer) p->env->timer_cancel(p->env, pp->timeout_timer);
  pp->timeout_timer = 0;
  pp->sent_on = NULL;
  if (err != 0) {
    batch_failed(p, partition, err);
    return;
  }
  int16_t error;
  int64_t base;
  answer_of(resp, partition, &error, &base);
  bool new_id;
  if (p->idempotent && refused_for_sequence(error, &new_id)) {
    pp->in_flight = 0;
    pp->batch_refused = true; /* resent under the next epoch */
    *drain = true;
    *new_id_any |= new_id;
    return;
  }
  if (error != KERR_NONE) {
    batch_failed(p, partition, error);
    return;
  }
  int n = pp->in_flight;
  pp->in_flight = 0;
  complete(p, partition, n, KERR_NONE, base);
}

static void on_produce_response(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct kproducer_request *r = ctx;
  struct kproducer *p = r->p;
  int32_t count = r->count;
  ASSERT(count > 0 && count <= p->cfg.partition_count);
  int32_t members[PRODUCER_PARTITIONS_MAX];
  memcpy(members, r->partitions, (size_t)count * sizeof members[0]);
  r->count = 0; /* the slot is free for the first partition's next request */
  struct produce_response resp;
  if (err == 0 && !produce_response_decode(body, PRODUCE_VERSION, &resp, arena))
    err = ENV_EINVAL;
  bool drain = false, new_id_any = false;
  for (int32_t k = 0; k < count; k++)
    partition_answered(p, members[k], err, &resp, &drain, &new_id_any);
  if (drain)
    drain_start(p, new_id_any);
  else
    drain_check(p);
  pump(p);
}

static void encode_produce(struct wr *w, int16_t version, const void *msg) {
  produce_request_encode(w, version, msg);
}

/* The first n records just went out: tell the listener which of them went
 * out again. */
static void report_retries(struct kproducer *p, int32_t partition, int n) {
  struct kproducer_partition *pp = &p->partitions[partition];
  for (int i = 0; p->listener.retried && i < n; i++)
    if (at(pp, i)->attempts > 1)
      p->listener.retried(p->listener.ctx, at(pp, i)->id, partition, at(pp, i)->attempts);
}

/* Whether the partition may send now, as far as idempotence goes: with an
 * id; while draining only a batch whose outcome is unknown, as it was. */
static bool pid_lets_send(const struct kproducer *p, const struct kproducer_partition *pp) {
  if (!p->idempotent) return true;
  if (p->pid_state == KPRODUCER_PID_READY) return true;
  return p->pid_state == KPRODUCER_PID_DRAINING && pp->batch_count > 0 && !pp->batch_refused;
}

/* The next batch's records are fixed until it completes; an idempotent
 * one's sequence and epoch too, unless it was refused (then it takes the
 * new epoch's next sequence). */
static void batch_choose(struct kproducer *p, struct kproducer_partition *pp) {
  bool fresh = pp->batch_count == 0;
  if (fresh)
    pp->batch_count =
        pp->count < p->cfg.batch_records_max ? pp->count : p->cfg.batch_records_max;
  if (!p->idempotent || !(fresh || pp->batch_refused)) return;
  ASSERT(p->pid_state == KPRODUCER_PID_READY);
  pp->batch_sequence = pp->next_sequence;
  pp->batch_epoch = p->producer_epoch;
  pp->batch_refused = false;
  pp->next_sequence = rb_sequence_add(pp->next_sequence, pp->batch_count);
}

enum { BUILD_KEPT_BYTES_MAX = 64 * 1024 }; /* a larger build buffer is not kept */

static void batch_build(struct kproducer *p, struct kproducer_partition *pp, struct buf *out) {
  struct rb_builder b;
  rb_builder_init(&b, 0, at(pp, 0)->timestamp_ms);
  b.records = buf_take_kept(&p->build_records);
  if (p->idempotent)
    rb_builder_set_producer(&b, p->producer_id, pp->batch_epoch, pp->batch_sequence, false);
  for (int i = 0; i < pp->batch_count; i++) {
    struct kproducer_record *r = at(pp, i);
    r->attempts++;
    rb_builder_add(&b, r->timestamp_ms, (struct kbytes){r->key, r->key_len},
                   (struct kbytes){r->value, r->value_len}, NULL, 0);
  }
  int rc = rb_builder_finish(&b, p->cfg.codec, out);
  buf_keep(&p->build_records, &b.records, BUILD_KEPT_BYTES_MAX);
  rb_builder_free(&b);
  ASSERT(rc == KERR_NONE);
}

/* Where the partition's batches go: its leader's connection (routed; NULL
 * while no leader is known), or the one connection. */
static struct kconn *partition_conn(struct kproducer *p, int32_t partition) {
  if (!p->cluster) return p->conn;
  int32_t leader = kcluster_leader(p->cluster, p->cfg.topic, partition);
  return leader < 0 ? NULL : kcluster_broker_conn(p->cluster, leader);
}

/* request.timeout.ms passed with no answer: the connection is failed (as
 * Kafka's clients do), so every request on it fails and is retried after a
 * metadata refresh. */
static void timeout_fire(void *ctx) {
  struct kproducer_call *call = ctx;
  struct kproducer_partition *pp = &call->p->partitions[call->partition];
  pp->timeout_timer = 0;
  if (pp->sent_on && pp->in_flight > 0) kconn_fail(pp->sent_on, ENV_ETIMEDOUT);
}

static void timeout_arm(struct kproducer *p, int32_t partition, struct kconn *conn) {
  struct kproducer_partition *pp = &p->partitions[partition];
  int64_t ms = p->cfg.request_timeout_ms > 0 ? p->cfg.request_timeout_ms
                                             : (int64_t)p->cfg.timeout_ms + 5000;
  ASSERT(pp->timeout_timer == 0);
  pp->sent_on = conn;
  pp->timeout_timer =
      p->env->timer_start(p->env, (uint64_t)ms * NS_PER_MS, timeout_fire, &pp->call);
}

/* ---- requests: what is ready for one broker goes in one Produce ----
 *
 * As Kafka's and librdkafka's producers do, every partition with a batch
 * ready whose leader is the same broker goes out in one request; each
 * partition has one batch in flight at most. */

static bool partition_ready(const struct kproducer *p, int32_t partition) {
  const struct kproducer_partition *pp = &p->partitions[partition];
  return pp->in_flight == 0 && pp->count > 0 && pp->retry_timer == 0 && pid_lets_send(p, pp);
}

/* No connection to the partition's leader: connect, and retry the batch
 * after the backoff (no leader known: after a refresh). */
static void partition_unreachable(struct kproducer *p, int32_t partition, struct kconn *conn) {
  struct kproducer_partition *pp = &p->partitions[partition];
  if (conn) kconn_connect(conn);
  if (pp->batch_count == 0) batch_choose(p, pp);
  batch_failed(p, partition, conn ? ENV_ECONNREFUSED : KERR_LEADER_NOT_AVAILABLE);
}

/* The request's partitions have gone out (rc 0) or could not (rc). */
static void request_sent(struct kproducer *p, struct kconn *conn, struct kproducer_request *r,
                         int rc) {
  for (int32_t k = 0; k < r->count; k++) {
    int32_t partition = r->partitions[k];
    struct kproducer_partition *pp = &p->partitions[partition];
    int n = pp->in_flight;
    if (rc != 0) {
      batch_failed(p, partition, rc);
      continue;
    }
    report_retries(p, partition, n);
    if (p->cfg.acks == 0) {
      pp->in_flight = 0;
      complete(p, partition, n, KERR_NONE, -1); /* acks=0: nothing to wait for */
    }
  }
  if (rc != 0 || p->cfg.acks == 0) r->count = 0;
  /* One timer a request: its expiry fails the connection, so every
   * partition in it. */
  if (rc == 0 && p->cfg.acks != 0 && p->cluster) timeout_arm(p, r->partitions[0], conn);
}

/* Builds and sends one Produce of r's partitions, each its next batch. */
static void request_send(struct kproducer *p, struct kconn *conn, struct kproducer_request *r) {
  ASSERT(r->count > 0 && r->count <= p->cfg.partition_count);
  struct buf batches[PRODUCER_PARTITIONS_MAX];
  struct produce_request_partition_produce_data pd[PRODUCER_PARTITIONS_MAX];
  for (int32_t k = 0; k < r->count; k++) {
    struct kproducer_partition *pp = &p->partitions[r->partitions[k]];
    batch_choose(p, pp);
    ASSERT(pp->batch_count > 0 && pp->batch_count <= pp->count);
    batches[k] = buf_take_kept(&p->build_batches[k]);
    batch_build(p, pp, &batches[k]);
    pd[k] = (struct produce_request_partition_produce_data){
        .index = r->partitions[k],
        .records = {.ptr = batches[k].data, .len = (int32_t)batches[k].len}};
    pp->in_flight = pp->batch_count;
  }
  struct produce_request_topic_produce_data td = {
      .name = kstr_of(p->cfg.topic), .partition_data = pd, .partition_data_count = r->count};
  struct produce_request req;
  produce_request_init(&req);
  req.acks = p->cfg.acks;
  req.timeout_ms = p->cfg.timeout_ms;
  req.topic_data = &td;
  req.topic_data_count = 1;
  p->requests_sent++;
  bool answered = p->cfg.acks != 0;
  int rc = kconn_send(conn, API_PRODUCE, PRODUCE_VERSION, encode_produce, &req,
                      answered ? on_produce_response : NULL, answered ? r : NULL);
  for (int32_t k = 0; k < r->count; k++)
    buf_keep(&p->build_batches[k], &batches[k], BUILD_KEPT_BYTES_MAX);
  request_sent(p, conn, r, rc);
}

/* Every ready partition: grouped by the connection to its leader, in
 * partition order, one request per connection. */
static void pump(struct kproducer *p) {
  if (p->pumping) { /* a callback of this pump's sends: after it */
    pump_soon(p);
    return;
  }
  p->pumping = true;
  int32_t count = p->cfg.partition_count;
  struct kconn *conns[PRODUCER_PARTITIONS_MAX];
  for (int32_t i = 0; i < count; i++)
    conns[i] = partition_ready(p, i) ? partition_conn(p, i) : NULL;
  for (int32_t i = 0; i < count; i++) {
    if (!partition_ready(p, i)) continue;
    if (!conns[i] || !kconn_connected(conns[i])) {
      partition_unreachable(p, i, conns[i]);
      continue;
    }
    struct kproducer_request *r = &p->partitions[i].request;
    ASSERT(r->count == 0);
    r->p = p;
    for (int32_t j = i; j < count; j++)
      if (conns[j] == conns[i] && partition_ready(p, j)) r->partitions[r->count++] = j;
    request_send(p, conns[i], r);
  }
  p->pumping = false;
}

static void linger_fire(void *ctx) {
  struct kproducer *p = ctx;
  p->linger_timer = 0;
  pump(p);
}

/* A pump after this event: what the application queues in it goes together. */
static void pump_soon(struct kproducer *p) {
  if (p->linger_timer == 0) p->linger_timer = p->env->timer_start(p->env, 0, linger_fire, p);
}
