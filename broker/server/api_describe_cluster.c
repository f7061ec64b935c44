/* DescribeCluster (API 60), versions 0-1 (KIP-700): this node as the only
 * broker and the controller. */
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/handlers.h"
#include "server/server.h"

enum { ENDPOINT_TYPE_BROKER = 1 };

bool handle_describe_cluster(struct request *req) {
  struct describe_cluster_request m;
  if (!describe_cluster_request_decode(&req->body, req->api_version, &m, &req->arena))
    return false;
  struct describe_cluster_response resp;
  describe_cluster_response_init(&resp);
  resp.cluster_id = kstr_of(req->node->cluster_id);
  resp.controller_id = node_id(req->node);
  if (req->api_version >= 1 && m.endpoint_type != ENDPOINT_TYPE_BROKER) {
    resp.error_code = KERR_UNSUPPORTED_ENDPOINT_TYPE;
    resp.error_message = KSTR_LIT("Only broker endpoints can be described here.");
  } else {
    resp.brokers_count = 1;
    resp.brokers = arena_alloc(&req->arena, sizeof *resp.brokers);
    describe_cluster_response_describe_cluster_broker_init(&resp.brokers[0]);
    resp.brokers[0].broker_id = node_id(req->node);
    node_endpoint(req->node, &resp.brokers[0].host, &resp.brokers[0].port);
  }
  struct wr w;
  response_begin(req, &w);
  describe_cluster_response_encode(&w, req->api_version, &resp);
  request_respond(req, &w);
  return true;
}
