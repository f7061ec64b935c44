/* DescribeCluster (API 60), versions 0-1 (KIP-700): the usable brokers of
 * the metadata image, and this node as the controller (KIP-590: clients
 * reach it through any broker). */
#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/handlers.h"
#include "server/server.h"

enum { ENDPOINT_TYPE_BROKER = 1 };

static void fill_brokers(struct request *req, const struct meta_image *image,
                         struct describe_cluster_response *resp) {
  resp->brokers = arena_alloc(&req->arena, (size_t)image->broker_count * sizeof *resp->brokers);
  resp->brokers_count = 0;
  for (int32_t i = 0; i < image->broker_count; i++) {
    const struct meta_broker *b = &image->brokers[i];
    if (b->fenced) continue;
    struct describe_cluster_response_describe_cluster_broker *rb =
        &resp->brokers[resp->brokers_count++];
    describe_cluster_response_describe_cluster_broker_init(rb);
    rb->broker_id = b->id;
    rb->host = kstr_of(b->host);
    rb->port = b->port;
    if (b->rack[0]) rb->rack = kstr_of(b->rack);
  }
  ASSERT(resp->brokers_count <= image->broker_count);
}

bool handle_describe_cluster(struct request *req) {
  handler_assert_entry(req, API_DESCRIBE_CLUSTER);
  struct describe_cluster_request m;
  if (!describe_cluster_request_decode(&req->body, req->api_version, &m, &req->arena))
    return false;
  const struct meta_image *image = req->node->image;
  ASSERT(req->pending == NULL && image != NULL);
  struct describe_cluster_response resp;
  describe_cluster_response_init(&resp);
  resp.cluster_id = kstr_of(image->cluster_id);
  resp.controller_id = node_id(req->node);
  if (req->api_version >= 1 && m.endpoint_type != ENDPOINT_TYPE_BROKER) {
    resp.error_code = KERR_UNSUPPORTED_ENDPOINT_TYPE;
    resp.error_message = KSTR_LIT("Only broker endpoints can be described here.");
  } else {
    fill_brokers(req, image, &resp);
  }
  struct wr w;
  response_begin(req, &w);
  describe_cluster_response_encode(&w, req->api_version, &resp);
  request_respond(req, &w);
  return true;
}
