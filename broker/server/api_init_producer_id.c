/* InitProducerId (API 22), versions 0-5, for idempotent producers (KIP-98):
 * a new producer id with epoch 0, from the broker's block
 * (server/producer_ids.h). Transactions are not supported: a request with a
 * transactional id is answered TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as
 * Produce answers transactional batches; clients take it as fatal and say
 * so, instead of retrying a coordinator that will never come.
 *
 * KIP-360 (v3+): a producer that names its current id and epoch gets the
 * same id with the next epoch, which restarts its sequences at 0 in every
 * partition and fences its older epoch there. Kafka's coordinator does this
 * for transactional ids only and hands an idempotent producer a new id;
 * here an id this cluster handed out (below the image's producer id
 * watermark) is bumped, which keeps the partitions' state for it, and an
 * unknown id or an exhausted epoch gets a new id. A non-transactional id
 * has one owner, so there is no zombie to fence; a stale epoch is fenced
 * per partition, by Produce (INVALID_PRODUCER_EPOCH). */
#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/handlers.h"
#include "server/producer_ids.h"
#include "server/server.h"

enum { EPOCH_MAX = INT16_MAX - 1 }; /* Kafka bumps no further: a new id then */

static void respond(struct request *req, int16_t error, int64_t producer_id, int16_t epoch) {
  struct init_producer_id_response resp;
  init_producer_id_response_init(&resp);
  resp.error_code = error;
  resp.producer_id = error == KERR_NONE ? producer_id : -1;
  resp.producer_epoch = error == KERR_NONE ? epoch : -1;
  struct wr w;
  response_begin(req, &w);
  init_producer_id_response_encode(&w, req->api_version, &resp);
  request_respond(req, &w);
}

static void id_arrived(void *ctx, int16_t error, int64_t producer_id) {
  struct request *req = ctx;
  ASSERT(req->pending == req);
  respond(req, error, producer_id, 0);
}

/* KIP-360's bump of an id this cluster handed out; false: a new id. */
static bool bump(const struct request *req, const struct init_producer_id_request *m) {
  return m->producer_id < req->node->image->next_producer_id && m->producer_epoch < EPOCH_MAX;
}

bool handle_init_producer_id(struct request *req) {
  handler_assert_entry(req, API_INIT_PRODUCER_ID);
  struct init_producer_id_request m;
  if (!init_producer_id_request_decode(&req->body, req->api_version, &m, &req->arena))
    return false;
  if (m.transactional_id.len >= 0) {
    respond(req, KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED, -1, -1);
    return true;
  }
  bool has_id = m.producer_id >= 0, has_epoch = m.producer_epoch >= 0;
  if (has_id != has_epoch) { /* Kafka: both or neither */
    respond(req, KERR_INVALID_REQUEST, -1, -1);
    return true;
  }
  if (has_id && bump(req, &m)) {
    respond(req, KERR_NONE, m.producer_id, (int16_t)(m.producer_epoch + 1));
    return true;
  }
  int64_t id = -1;
  bool later;
  req->pending = req; /* in case it waits: answered from id_arrived */
  int16_t error = producer_ids_take(req->node, &id, &later, id_arrived, req);
  if (later) return true;
  req->pending = NULL;
  respond(req, error, id, 0);
  return true;
}
