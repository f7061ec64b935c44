/* The broker's producer id blocks (Kafka's RPCProducerIdManager, KIP-730):
 * InitProducerId takes the next id of the current block; when the block is
 * used up the controller is asked for the next one (a ProducerIdsRecord,
 * meta/producer_id_control.h), and the requests that want an id meanwhile
 * wait for it, answered in arrival order. Ids are never handed out twice:
 * the controller answers only once the block's record is committed. */
#ifndef SLUICE_PRODUCER_IDS_H
#define SLUICE_PRODUCER_IDS_H

#include <stdbool.h>
#include <stdint.h>

enum { PRODUCER_ID_WAITERS_MAX = 65536 }; /* past it: COORDINATOR_LOAD_IN_PROGRESS at once */

struct node;
struct producer_id_waiter;

/* An id (error KERR_NONE), or the error to answer with. */
typedef void (*producer_id_fn)(void *ctx, int16_t error, int64_t producer_id);

struct producer_ids {
  int64_t next; /* the next id of the current block */
  int64_t end;  /* the block's end (exclusive); next == end: none left */
  bool asking;  /* a block asked of the controller, not answered yet */
  struct producer_id_waiter *first, *last;
  int32_t waiting;
};

/* KERR_NONE with *id_out when the current block has an id; KERR_NONE with
 * *later set when the caller waits: fn runs later (never inside this call)
 * with an id or an error; or an error to answer with now (no controller
 * that hands out ids, too many waiting). Every call made while waiting is
 * answered: the controller answers each block asked of it, if only with
 * NOT_CONTROLLER when it closes. */
int16_t producer_ids_take(struct node *node, int64_t *id_out, bool *later, producer_id_fn fn,
                          void *ctx);

#endif
