#include "client/producer.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "proto/record_batch.h"

enum { PRODUCE_VERSION = 7 };

static void partition_pump(struct kproducer *p, int32_t partition);

void kproducer_init(struct kproducer *p, struct env *env, struct kconn *conn,
                    const struct kproducer_config *cfg, const struct kproducer_listener *l) {
  ASSERT(cfg->partition_count > 0 && cfg->partition_count <= PRODUCER_PARTITIONS_MAX);
  ASSERT(cfg->batch_records_max > 0);
  memset(p, 0, sizeof *p);
  p->env = env;
  p->conn = conn;
  p->cfg = *cfg;
  p->listener = *l;
  for (int32_t i = 0; i < cfg->partition_count; i++) {
    p->partitions[i].call = (struct kproducer_call){p, i};
    p->partitions[i].queue = calloc(PRODUCER_QUEUE_MAX, sizeof(struct kproducer_record));
    ASSERT(p->partitions[i].queue != NULL);
  }
}

static struct kproducer_record *at(struct kproducer_partition *pp, int i) {
  return &pp->queue[(pp->head + i) % PRODUCER_QUEUE_MAX];
}

static void record_free(struct kproducer_record *r) {
  free(r->key);
  free(r->value);
  memset(r, 0, sizeof *r);
}

void kproducer_free(struct kproducer *p) {
  for (int32_t i = 0; i < p->cfg.partition_count; i++) {
    struct kproducer_partition *pp = &p->partitions[i];
    if (pp->retry_timer) p->env->timer_cancel(p->env, pp->retry_timer);
    kconn_forget(p->conn, &pp->call);
    for (int j = 0; j < pp->count; j++) record_free(at(pp, j));
    free(pp->queue);
  }
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
  struct kproducer_record *r = at(pp, pp->count++);
  *r = (struct kproducer_record){.id = id,
                                 .timestamp_ms = p->env->wall_ms(p->env),
                                 .key = copy(key, key_len),
                                 .key_len = key_len,
                                 .value = copy(value, value_len),
                                 .value_len = value_len};
  partition_pump(p, partition);
  return 0;
}

/* The first n records leave the queue, each reported. */
static void complete(struct kproducer *p, int32_t partition, int n, int error, int64_t base) {
  struct kproducer_partition *pp = &p->partitions[partition];
  ASSERT(n <= pp->count);
  for (int i = 0; i < n; i++) {
    struct kproducer_record *r = at(pp, 0);
    uint64_t id = r->id;
    record_free(r);
    pp->head = (pp->head + 1) % PRODUCER_QUEUE_MAX;
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
    return true;
  default:
    return false;
  }
}

static void retry_fire(void *ctx) {
  struct kproducer_call *call = ctx;
  struct kproducer *p = call->p;
  int32_t partition = call->partition;
  p->partitions[partition].retry_timer = 0;
  partition_pump(p, partition);
}

/* The batch in flight failed with error: retry it later, or give up. */
static void batch_failed(struct kproducer *p, int32_t partition, int error) {
  struct kproducer_partition *pp = &p->partitions[partition];
  int n = pp->in_flight;
  pp->in_flight = 0;
  bool again = retriable(error) || error < 0; /* error < 0: the connection failed */
  for (int i = 0; i < n; i++) again = again && at(pp, i)->attempts <= p->cfg.retries_max;
  if (!again) {
    complete(p, partition, n, error < 0 ? KERR_NETWORK_EXCEPTION : error, -1);
    partition_pump(p, partition);
    return;
  }
  pp->retry_timer = p->env->timer_start(p->env, (uint64_t)p->cfg.retry_backoff_ms * NS_PER_MS,
                                        retry_fire, &pp->call);
}

static void on_produce_response(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct kproducer_call *call = ctx;
  struct kproducer *p = call->p;
  int32_t partition = call->partition;
  struct produce_response resp;
  if (err == 0 && !produce_response_decode(body, PRODUCE_VERSION, &resp, arena))
    err = ENV_EINVAL;
  if (err != 0) {
    batch_failed(p, partition, err);
    return;
  }
  int16_t error = KERR_NETWORK_EXCEPTION;
  int64_t base = -1;
  for (int32_t i = 0; i < resp.responses_count; i++)
    for (int32_t j = 0; j < resp.responses[i].partition_responses_count; j++)
      if (resp.responses[i].partition_responses[j].index == partition) {
        error = resp.responses[i].partition_responses[j].error_code;
        base = resp.responses[i].partition_responses[j].base_offset;
      }
  if (error != KERR_NONE) {
    batch_failed(p, partition, error);
    return;
  }
  int n = p->partitions[partition].in_flight;
  p->partitions[partition].in_flight = 0;
  complete(p, partition, n, KERR_NONE, base);
  partition_pump(p, partition);
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

/* Sends the next batch of this partition if nothing of it is in flight. */
static void partition_pump(struct kproducer *p, int32_t partition) {
  struct kproducer_partition *pp = &p->partitions[partition];
  if (pp->in_flight > 0 || pp->count == 0 || pp->retry_timer) return;
  if (!kconn_connected(p->conn)) {
    kconn_connect(p->conn);
    pp->in_flight = 0;
    batch_failed(p, partition, ENV_ECONNREFUSED); /* retried after the backoff */
    return;
  }
  int n = pp->count < p->cfg.batch_records_max ? pp->count : p->cfg.batch_records_max;
  struct rb_builder b;
  rb_builder_init(&b, 0, at(pp, 0)->timestamp_ms);
  for (int i = 0; i < n; i++) {
    struct kproducer_record *r = at(pp, i);
    r->attempts++;
    rb_builder_add(&b, r->timestamp_ms, (struct kbytes){r->key, r->key_len},
                   (struct kbytes){r->value, r->value_len}, NULL, 0);
  }
  struct buf batch;
  buf_init(&batch);
  int rc = rb_builder_finish(&b, p->cfg.codec, &batch);
  rb_builder_free(&b);
  ASSERT(rc == KERR_NONE);
  struct produce_request_partition_produce_data pd = {
      .index = partition, .records = {.ptr = batch.data, .len = (int32_t)batch.len}};
  struct produce_request_topic_produce_data td = {
      .name = kstr_of(p->cfg.topic), .partition_data = &pd, .partition_data_count = 1};
  struct produce_request req;
  produce_request_init(&req);
  req.acks = p->cfg.acks;
  req.timeout_ms = p->cfg.timeout_ms;
  req.topic_data = &td;
  req.topic_data_count = 1;
  pp->in_flight = n;
  p->requests_sent++;
  if (p->cfg.acks == 0) {
    rc = kconn_send(p->conn, API_PRODUCE, PRODUCE_VERSION, encode_produce, &req, NULL, NULL);
    buf_free(&batch);
    if (rc != 0)
      batch_failed(p, partition, rc);
    else {
      report_retries(p, partition, n);
      pp->in_flight = 0;
      complete(p, partition, n, KERR_NONE, -1); /* acks=0: nothing to wait for */
    }
    return;
  }
  rc = kconn_send(p->conn, API_PRODUCE, PRODUCE_VERSION, encode_produce, &req,
                  on_produce_response, &pp->call);
  buf_free(&batch);
  if (rc != 0)
    batch_failed(p, partition, rc);
  else
    report_retries(p, partition, n);
}
