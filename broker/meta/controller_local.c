/* The local controller: a FIFO of calls, run on the next tick. Each call is
 * one change: its topics are checked one after another against an image
 * that already holds the earlier ones, their records form one delta, and
 * one new image is published. The caller hears back once the publisher has
 * made it durable (its files are this controller's log for now); one change
 * is in flight at a time, so answers leave in the order of the calls. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "meta/bootstrap.h"
#include "meta/controller_local.h"
#include "meta/producer_id_control.h"
#include "meta/replication_control.h"
#include "proto/errors.h"

/* Each call belongs to a request that is its connection's one active
 * request, so this many would take as many connections. */
enum { OPS_MAX = 1 << 20 };

enum op_kind {
  OP_REGISTER,
  OP_CREATE_TOPICS,
  OP_CREATE_PARTITIONS,
  OP_DELETE_TOPICS,
  OP_PRODUCER_IDS
};

struct producer_ids_ask {
  int32_t broker_id;
  int64_t broker_epoch;
};

struct op {
  struct op *next;
  enum op_kind kind;
  int32_t count;
  bool validate_only;
  uint64_t deadline_ns;
  union {
    struct meta_broker_registration registration;
    const struct meta_create_topic *create;
    const struct meta_create_partitions *grow;
    const struct meta_delete_topic *remove;
    struct producer_ids_ask ids;
  } in;
  meta_topics_done_fn topics_done;
  meta_done_fn done;
  meta_producer_ids_fn ids_done;
  void *ctx;
  /* The outcome, kept while the change lands. */
  struct meta_topic_result *results; /* [count] */
  int16_t code;                      /* OP_REGISTER's and OP_PRODUCER_IDS' */
  int64_t first_id;                  /* OP_PRODUCER_IDS' block */
};

/* Shared by the controller and a publish in flight: a publish that lands
 * after the controller is gone finds l NULL. */
struct flight {
  struct local *l;
};

struct local {
  struct meta_controller base; /* first: the vtable's ctl is this */
  struct env *env;
  struct config cfg;
  struct meta_rules rules;
  struct meta_publisher publisher;
  struct meta_image *image; /* the latest; one reference */
  struct op *head, *tail;
  int32_t op_count;
  struct op *running;    /* published, not yet landed */
  struct flight *flight; /* running's */
  env_timer_id timer;
  bool closed;
};

static struct local *local_of(struct meta_controller *ctl) {
  ASSERT(ctl != NULL);
  struct local *l = (struct local *)ctl;
  ASSERT(l->image != NULL && l->op_count >= 0 && l->op_count <= OPS_MAX);
  return l;
}

static void tick_schedule(struct local *l);

static void enqueue(struct local *l, struct op *op) {
  ASSERT(op->next == NULL && l->op_count < OPS_MAX);
  if (l->tail)
    l->tail->next = op;
  else
    l->head = op;
  l->tail = op;
  l->op_count++;
  tick_schedule(l);
  ASSERT(l->timer != 0 || l->running != NULL);
}

static struct op *dequeue(struct local *l) {
  struct op *op = l->head;
  ASSERT(op != NULL && l->op_count > 0);
  l->head = op->next;
  if (!l->head) l->tail = NULL;
  l->op_count--;
  op->next = NULL;
  return op;
}

static struct op *op_new(enum op_kind kind, int32_t count, uint64_t deadline_ns, void *ctx) {
  ASSERT(count >= 0);
  struct op *op = calloc(1, sizeof *op);
  ASSERT(op != NULL);
  op->kind = kind;
  op->count = count;
  op->deadline_ns = deadline_ns;
  op->ctx = ctx;
  return op;
}

static void landed(void *arg, int err);

/* The controller's image moves on and the node hears of it; op is answered
 * when what the node wrote for it is durable. */
static void publish(struct local *l, struct op *op, struct meta_image *image,
                    const struct meta_delta *delta) {
  ASSERT(image != l->image && image->offset > l->image->offset && delta->count > 0);
  ASSERT(l->running == NULL && l->flight == NULL);
  meta_image_ref(image);
  meta_image_unref(l->image);
  l->image = image;
  struct flight *f = malloc(sizeof *f);
  ASSERT(f != NULL);
  f->l = l;
  l->running = op;
  l->flight = f;
  /* A storage error is the publisher's to retry; the change stands. It may
   * land (and op be answered and freed) before this returns. */
  (void)l->publisher.publish(l->publisher.ctx, image, delta, landed, f);
}

/* Every topic answered with one error. */
static void answer_all(struct op *op, int16_t code, const char *message) {
  ASSERT(op->kind != OP_REGISTER && op->kind != OP_PRODUCER_IDS && code != KERR_NONE);
  struct meta_topic_result *results =
      calloc((size_t)(op->count ? op->count : 1), sizeof *results);
  ASSERT(results != NULL);
  for (int32_t i = 0; i < op->count; i++) {
    results[i].error_code = code;
    memcpy(results[i].error_message, message, strlen(message) + 1);
  }
  op->topics_done(op->ctx, results, op->count);
  free(results);
}

static void op_free(struct op *op) {
  free(op->results);
  free(op);
}

static void refuse(struct op *op, int16_t code, const char *message) {
  if (op->kind == OP_REGISTER)
    op->done(op->ctx, code);
  else if (op->kind == OP_PRODUCER_IDS)
    op->ids_done(op->ctx, code, -1, 0);
  else
    answer_all(op, code, message);
  op_free(op);
}

/* The outcome, told; a change that did not land is a storage error. */
static void answer(struct local *l, struct op *op, int err) {
  if (err != 0)
    env_log(l->env, ENV_LOG_ERROR, "storing metadata offset %lld failed: error %d",
            (long long)l->image->offset, err);
  if (op->kind == OP_REGISTER) {
    op->done(op->ctx, err != 0 && op->code == KERR_NONE ? KERR_KAFKA_STORAGE_ERROR : op->code);
    op_free(op);
    return;
  }
  if (op->kind == OP_PRODUCER_IDS) { /* a block is handed out only once it is durable */
    int16_t code = err != 0 && op->code == KERR_NONE ? KERR_KAFKA_STORAGE_ERROR : op->code;
    bool ok = code == KERR_NONE;
    op->ids_done(op->ctx, code, ok ? op->first_id : -1, ok ? META_PRODUCER_ID_BLOCK_SIZE : 0);
    op_free(op);
    return;
  }
  for (int32_t i = 0; i < op->count && err != 0; i++) {
    struct meta_topic_result *r = &op->results[i];
    if (r->error_code != KERR_NONE || op->validate_only) continue;
    r->error_code = KERR_KAFKA_STORAGE_ERROR;
    str_fmt(r->error_message, sizeof r->error_message,
            "The change is in the metadata image, but storing it failed (error %d).", err);
  }
  op->topics_done(op->ctx, op->results, op->count);
  op_free(op);
}

static void tick(void *ctx);

static void tick_schedule(struct local *l) {
  if (!l->timer && l->head && !l->running) l->timer = l->env->timer_start(l->env, 0, tick, l);
}

static void landed(void *arg, int err) {
  struct flight *f = arg;
  struct local *l = f->l;
  free(f);
  if (!l) return; /* the controller closed: the op was answered then */
  ASSERT(l->flight == f && l->running != NULL);
  struct op *op = l->running;
  l->running = NULL;
  l->flight = NULL;
  answer(l, op, err);
  tick_schedule(l);
}

static void rule_run(struct local *l, const struct op *op, int32_t i,
                     const struct meta_image *image, struct meta_delta *delta,
                     struct meta_topic_result *r) {
  switch (op->kind) {
  case OP_CREATE_TOPICS:
    meta_rule_create_topic(&l->rules, image, &op->in.create[i], delta, r);
    return;
  case OP_CREATE_PARTITIONS:
    meta_rule_create_partitions(&l->rules, image, &op->in.grow[i], delta, r);
    return;
  case OP_DELETE_TOPICS:
    meta_rule_delete_topic(&l->rules, image, &op->in.remove[i], delta, r);
    return;
  case OP_REGISTER:
  case OP_PRODUCER_IDS:
    break;
  }
  UNREACHABLE();
}

/* Topic by topic: each sees the image the earlier ones made. */
static void run_topics(struct local *l, struct op *op) {
  op->results = calloc((size_t)(op->count ? op->count : 1), sizeof *op->results);
  ASSERT(op->results != NULL);
  struct meta_delta delta;
  meta_delta_init(&delta);
  struct meta_image *working = l->image;
  meta_image_ref(working);
  for (int32_t i = 0; i < op->count; i++) {
    int32_t start = delta.count;
    struct meta_topic_result *r = &op->results[i];
    rule_run(l, op, i, working, &delta, r);
    ASSERT(r->error_code == KERR_NONE || delta.count == start);
    if (op->validate_only) {
      meta_delta_truncate(&delta, start);
      memset(&r->topic_id, 0, sizeof r->topic_id); /* nothing was created */
      continue;
    }
    if (delta.count == start) continue;
    struct meta_delta tail = {delta.records + start, delta.count - start, delta.count - start};
    struct meta_image *next;
    int rc = meta_image_build(working, &tail, &next);
    ASSERT(rc == 0); /* the rules only write records that apply */
    meta_image_unref(working);
    working = next;
  }
  if (delta.count > 0)
    publish(l, op, working, &delta); /* answered when it lands */
  else
    answer(l, op, 0);
  meta_image_unref(working);
  meta_delta_free(&delta);
}

static void run_register(struct local *l, struct op *op) {
  struct meta_delta delta;
  meta_delta_init(&delta);
  op->code = meta_rule_register_broker(l->image, &op->in.registration, &delta);
  if (op->code == KERR_NONE) {
    struct meta_image *next;
    int rc = meta_image_build(l->image, &delta, &next);
    ASSERT(rc == 0);
    env_log(l->env, ENV_LOG_INFO, "registered broker %d at %s:%d",
            op->in.registration.broker_id, op->in.registration.host, op->in.registration.port);
    publish(l, op, next, &delta);
    meta_image_unref(next);
  } else {
    answer(l, op, 0);
  }
  meta_delta_free(&delta);
}

/* KIP-730: the next block, answered once the record has landed. */
static void run_producer_ids(struct local *l, struct op *op) {
  struct meta_delta delta;
  meta_delta_init(&delta);
  op->code = meta_rule_allocate_producer_ids(l->image, op->in.ids.broker_id,
                                             op->in.ids.broker_epoch, &delta, &op->first_id);
  if (op->code == KERR_NONE) {
    struct meta_image *next;
    int rc = meta_image_build(l->image, &delta, &next);
    ASSERT(rc == 0);
    env_log(l->env, ENV_LOG_INFO, "producer ids %lld to %lld for broker %d",
            (long long)op->first_id,
            (long long)(op->first_id + META_PRODUCER_ID_BLOCK_SIZE - 1), op->in.ids.broker_id);
    publish(l, op, next, &delta);
    meta_image_unref(next);
  } else {
    answer(l, op, 0);
  }
  meta_delta_free(&delta);
}

/* Answers op, or publishes it (then op is l->running until it lands). */
static void run(struct local *l, struct op *op) {
  ASSERT(l->running == NULL);
  if (l->closed) {
    refuse(op, KERR_NOT_CONTROLLER, "The controller has shut down.");
  } else if (op->deadline_ns != META_NO_DEADLINE && op->deadline_ns <= l->env->now_ns(l->env)) {
    refuse(op, KERR_REQUEST_TIMED_OUT, "The controller did not reach the request in time.");
  } else if (op->kind == OP_REGISTER) {
    run_register(l, op);
  } else if (op->kind == OP_PRODUCER_IDS) {
    run_producer_ids(l, op);
  } else {
    run_topics(l, op);
  }
}

/* Runs what was queued before this tick, up to a change that has to land
 * first; calls made from the answers wait for another tick. */
static void tick(void *ctx) {
  struct local *l = ctx;
  l->timer = 0;
  int32_t n = l->op_count;
  for (int32_t i = 0; i < n && l->head && !l->running; i++) run(l, dequeue(l));
  tick_schedule(l);
  ASSERT(l->head == NULL || l->running || l->timer != 0);
}

static void local_register_broker(struct meta_controller *ctl,
                                  const struct meta_broker_registration *registration,
                                  meta_done_fn done, void *ctx) {
  struct local *l = local_of(ctl);
  ASSERT(registration != NULL && done != NULL);
  struct op *op = op_new(OP_REGISTER, 1, META_NO_DEADLINE, ctx);
  op->in.registration = *registration;
  op->done = done;
  enqueue(l, op);
}

static void local_create_topics(struct meta_controller *ctl,
                                const struct meta_create_topic *topics, int32_t count,
                                bool validate_only, uint64_t deadline_ns,
                                meta_topics_done_fn done, void *ctx) {
  struct local *l = local_of(ctl);
  ASSERT((topics != NULL || count == 0) && count >= 0 && done != NULL);
  struct op *op = op_new(OP_CREATE_TOPICS, count, deadline_ns, ctx);
  op->in.create = topics;
  op->validate_only = validate_only;
  op->topics_done = done;
  enqueue(l, op);
}

static void local_create_partitions(struct meta_controller *ctl,
                                    const struct meta_create_partitions *topics, int32_t count,
                                    bool validate_only, uint64_t deadline_ns,
                                    meta_topics_done_fn done, void *ctx) {
  struct local *l = local_of(ctl);
  ASSERT((topics != NULL || count == 0) && count >= 0 && done != NULL);
  struct op *op = op_new(OP_CREATE_PARTITIONS, count, deadline_ns, ctx);
  op->in.grow = topics;
  op->validate_only = validate_only;
  op->topics_done = done;
  enqueue(l, op);
}

static void local_delete_topics(struct meta_controller *ctl,
                                const struct meta_delete_topic *topics, int32_t count,
                                uint64_t deadline_ns, meta_topics_done_fn done, void *ctx) {
  struct local *l = local_of(ctl);
  ASSERT((topics != NULL || count == 0) && count >= 0 && done != NULL);
  struct op *op = op_new(OP_DELETE_TOPICS, count, deadline_ns, ctx);
  op->in.remove = topics;
  op->topics_done = done;
  enqueue(l, op);
}

static void local_allocate_producer_ids(struct meta_controller *ctl, int32_t broker_id,
                                        int64_t broker_epoch, meta_producer_ids_fn done,
                                        void *ctx) {
  struct local *l = local_of(ctl);
  ASSERT(done != NULL);
  struct op *op = op_new(OP_PRODUCER_IDS, 1, META_NO_DEADLINE, ctx);
  op->in.ids = (struct producer_ids_ask){broker_id, broker_epoch};
  op->ids_done = done;
  enqueue(l, op);
}

/* Answers what is queued now (and a change still landing: it may or may
 * not be stored); what the answers queue waits for a tick. */
static void local_close(struct meta_controller *ctl) {
  struct local *l = local_of(ctl);
  l->closed = true;
  if (l->running) {
    struct op *op = l->running;
    l->flight->l = NULL; /* freed when it lands */
    l->flight = NULL;
    l->running = NULL;
    refuse(op, KERR_NOT_CONTROLLER, "The controller has shut down.");
  }
  struct op *list = l->head;
  int32_t n = l->op_count;
  l->head = l->tail = NULL;
  l->op_count = 0;
  for (int32_t i = 0; i < n; i++) {
    ASSERT(list != NULL);
    struct op *op = list;
    list = op->next;
    refuse(op, KERR_NOT_CONTROLLER, "The controller has shut down.");
  }
  ASSERT(list == NULL);
}

static void local_destroy(struct meta_controller *ctl) {
  struct local *l = local_of(ctl);
  for (int i = 0; i < OPS_MAX && (!l->closed || l->head || l->running); i++) local_close(ctl);
  ASSERT(l->head == NULL && l->running == NULL && l->flight == NULL);
  if (l->timer) l->env->timer_cancel(l->env, l->timer);
  meta_image_unref(l->image);
  free(l);
}

static const struct meta_controller_ops local_ops = {
    .register_broker = local_register_broker,
    .create_topics = local_create_topics,
    .create_partitions = local_create_partitions,
    .delete_topics = local_delete_topics,
    .allocate_producer_ids = local_allocate_producer_ids,
    .close = local_close,
    .destroy = local_destroy,
};

static void bootstrap_landed(void *arg, int err) {
  (void)arg, (void)err; /* nothing waits: storage already held it (or a file was repaired) */
}

/* The image of what storage holds, published before anything can ask. */
static int bootstrap(struct local *l, const char *cluster_id) {
  struct meta_delta delta;
  meta_delta_init(&delta);
  int rc = meta_bootstrap_from_disk(l->env, &l->cfg, &delta);
  struct meta_image *empty = meta_image_empty(cluster_id);
  if (rc == 0) {
    rc = meta_image_build(empty, &delta, &l->image);
    if (rc != 0)
      env_log(l->env, ENV_LOG_ERROR, "the topics in %s do not form an image: error %d",
              l->cfg.log_dirs, rc);
  }
  meta_image_unref(empty);
  if (rc == 0)
    rc = l->publisher.publish(l->publisher.ctx, l->image, &delta, bootstrap_landed, l);
  meta_delta_free(&delta);
  return rc;
}

int meta_controller_local_create(struct env *env, const struct config *cfg,
                                 const char *cluster_id, const struct meta_publisher *publisher,
                                 struct meta_controller **out) {
  ASSERT(env != NULL && cfg != NULL && cluster_id != NULL && out != NULL);
  ASSERT(publisher != NULL && publisher->publish != NULL);
  struct local *l = calloc(1, sizeof *l);
  ASSERT(l != NULL);
  l->base.ops = &local_ops;
  l->env = env;
  l->cfg = *cfg;
  l->rules = (struct meta_rules){.env = env, .cfg = &l->cfg};
  l->publisher = *publisher;
  int rc = bootstrap(l, cluster_id);
  if (rc != 0) {
    if (l->image) meta_image_unref(l->image);
    free(l);
    return rc;
  }
  ASSERT(l->image != NULL && l->op_count == 0);
  *out = &l->base;
  return 0;
}
