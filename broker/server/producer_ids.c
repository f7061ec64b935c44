#include "server/producer_ids.h"

#include <stdlib.h>

#include "base/assert.h"
#include "proto/errors.h"
#include "server/server.h"

struct producer_id_waiter {
  struct producer_id_waiter *next;
  producer_id_fn fn;
  void *ctx;
};

static void block_arrived(void *ctx, int16_t error, int64_t first_id, int32_t count);

/* This broker's registration epoch, if the image has it (-1: not checked). */
static int64_t broker_epoch(const struct node *node) {
  const struct meta_broker *b = meta_image_broker(node->image, node_id(node));
  return b ? b->epoch : -1;
}

static void ask_controller(struct node *node) {
  struct producer_ids *ids = &node->producer_ids;
  ASSERT(!ids->asking && ids->next == ids->end && ids->first != NULL);
  struct meta_controller *ctl = node->controller;
  ASSERT(ctl->ops->allocate_producer_ids != NULL);
  ids->asking = true;
  ctl->ops->allocate_producer_ids(ctl, node_id(node), broker_epoch(node), block_arrived, node);
}

static struct producer_id_waiter *waiter_pop(struct producer_ids *ids) {
  struct producer_id_waiter *w = ids->first;
  ASSERT(w != NULL && ids->waiting > 0);
  ids->first = w->next;
  if (!ids->first) ids->last = NULL;
  ids->waiting--;
  return w;
}

/* The waiters, in order: ids from the block while it lasts, or all of them
 * the error (Kafka 3.x answers COORDINATOR_LOAD_IN_PROGRESS while it has no
 * block: the client retries); if some still wait, the next block. */
static void block_arrived(void *ctx, int16_t error, int64_t first_id, int32_t count) {
  struct node *node = ctx;
  struct producer_ids *ids = &node->producer_ids;
  ASSERT(ids->asking);
  ids->asking = false;
  if (error == KERR_NONE) {
    ASSERT(first_id >= 0 && count > 0 && ids->next == ids->end);
    ids->next = first_id;
    ids->end = first_id + count;
  } else {
    env_log(node->env, ENV_LOG_WARN, "no producer id block: %s", kerr_name(error));
  }
  int32_t n = ids->waiting;
  for (int32_t i = 0; i < n && (error != KERR_NONE || ids->next < ids->end); i++) {
    struct producer_id_waiter *w = waiter_pop(ids);
    if (error != KERR_NONE)
      w->fn(w->ctx, KERR_COORDINATOR_LOAD_IN_PROGRESS, -1);
    else
      w->fn(w->ctx, KERR_NONE, ids->next++);
    free(w);
  }
  ASSERT(error == KERR_NONE || ids->first == NULL);
  if (ids->first) ask_controller(node); /* waiters imply a block asked for */
}

int16_t producer_ids_take(struct node *node, int64_t *id_out, bool *later, producer_id_fn fn,
                          void *ctx) {
  struct producer_ids *ids = &node->producer_ids;
  ASSERT(ids->next <= ids->end && id_out != NULL && later != NULL && fn != NULL);
  ASSERT(ids->first == NULL || ids->asking);
  *later = false;
  if (ids->next < ids->end && !ids->first) {
    *id_out = ids->next++;
    return KERR_NONE;
  }
  if (!node->controller->ops->allocate_producer_ids) return KERR_COORDINATOR_NOT_AVAILABLE;
  if (ids->waiting >= PRODUCER_ID_WAITERS_MAX) return KERR_COORDINATOR_LOAD_IN_PROGRESS;
  struct producer_id_waiter *w = calloc(1, sizeof *w);
  ASSERT(w != NULL);
  *w = (struct producer_id_waiter){.fn = fn, .ctx = ctx};
  if (ids->last)
    ids->last->next = w;
  else
    ids->first = w;
  ids->last = w;
  ids->waiting++;
  *later = true;
  if (!ids->asking) ask_controller(node);
  return KERR_NONE;
}
