/* FindCoordinator (API 10), versions 0-4: where a group's (key type 0) or
 * a transactional id's (key type 1) coordinator is. v4 asks for several
 * keys at once (KIP-699). A group's coordinator is the leader of its
 * partition of __consumer_offsets (server/group_coordinator.h), which any
 * broker names from its metadata (a leader still loading the partition
 * included: the group's requests then hear COORDINATOR_LOAD_IN_PROGRESS);
 * asking creates the topic the first time, answered COORDINATOR_NOT_AVAILABLE
 * until it exists, as Kafka does. Transactions are not served: their key
 * names this node, whose InitProducerId then refuses a transactional id
 * clearly (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), rather than a client
 * looking for a coordinator forever. */
#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/group_coordinator.h"
#include "server/handlers.h"
#include "server/server.h"

enum { KEY_GROUP = 0, KEY_TRANSACTION = 1, KEYS_MAX = 10000 };

struct found {
  int32_t node_id;
  struct kstr host;
  int32_t port;
};

static int16_t find_one(struct request *req, int8_t key_type, struct kstr key,
                        struct found *f) {
  *f = (struct found){-1, KSTR_LIT(""), -1};
  int16_t err = KERR_INVALID_REQUEST;
  if (key_type == KEY_TRANSACTION && key.len > 0) {
    f->node_id = node_id(req->node);
    node_endpoint(req->node, &f->host, &f->port);
    err = KERR_NONE;
  } else if (key_type == KEY_GROUP) {
    err = groups_find(req->node, key, &f->node_id, &f->host, &f->port);
  }
  if (err != KERR_NONE) *f = (struct found){-1, KSTR_LIT(""), -1};
  return err == KERR_INVALID_GROUP_ID ? KERR_INVALID_REQUEST : err;
}

static struct kstr error_message(int16_t err) {
  if (err == KERR_NONE) return KSTR_NULL;
  if (err == KERR_COORDINATOR_NOT_AVAILABLE)
    return KSTR_LIT("The coordinator is not available (yet): ask again.");
  if (err == KERR_NOT_COORDINATOR) return KSTR_LIT("This is not the coordinator.");
  return KSTR_LIT("The key type or key is not valid.");
}

bool handle_find_coordinator(struct request *req) {
  handler_assert_entry(req, API_FIND_COORDINATOR);
  struct find_coordinator_request m;
  if (!find_coordinator_request_decode(&req->body, req->api_version, &m, &req->arena))
    return false;
  struct find_coordinator_response resp;
  find_coordinator_response_init(&resp);
  if (req->api_version < 4) {
    struct found f;
    int16_t err = find_one(req, m.key_type, m.key, &f);
    resp.error_code = err;
    resp.error_message = error_message(err);
    resp.node_id = f.node_id;
    resp.host = f.host;
    resp.port = f.port;
  } else {
    int32_t n = m.coordinator_keys_count > 0 ? m.coordinator_keys_count : 0;
    if (n > KEYS_MAX) return false;
    resp.coordinators = arena_alloc(&req->arena, (size_t)n * sizeof *resp.coordinators + 1);
    resp.coordinators_count = n;
    for (int32_t i = 0; i < n; i++) {
      struct find_coordinator_response_coordinator *c = &resp.coordinators[i];
      find_coordinator_response_coordinator_init(c);
      struct found f;
      int16_t err = find_one(req, m.key_type, m.coordinator_keys[i], &f);
      c->key = m.coordinator_keys[i];
      c->error_code = err;
      c->error_message = error_message(err);
      c->node_id = f.node_id;
      c->host = f.host;
      c->port = f.port;
    }
  }
  struct wr w;
  response_begin(req, &w);
  find_coordinator_response_encode(&w, req->api_version, &resp);
  request_respond(req, &w);
  return true;
}
