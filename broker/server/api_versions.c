/* ApiVersions (API 18), versions 0-3: the APIs and version ranges this node
 * serves, from the handler table. KIP-511: a version we do not serve gets a
 * v0-format answer with UNSUPPORTED_VERSION and the ranges, so the client
 * can retry with one we do. */
#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/handlers.h"
#include "server/server.h"

static void respond(struct request *req, int16_t version, int16_t error) {
  struct api_versions_response resp;
  api_versions_response_init(&resp);
  resp.error_code = error;
  const struct handler_table *table = req->table;
  int count = table->count;
  resp.api_keys_count = count;
  resp.api_keys = arena_alloc(&req->arena, (size_t)count * sizeof *resp.api_keys);
  for (int i = 0; i < count; i++) {
    const struct handler *h = handler_at(table, i);
    resp.api_keys[i].api_key = h->api_key;
    resp.api_keys[i].min_version = h->version_min;
    resp.api_keys[i].max_version = h->version_max;
  }
  /* We never advertise what our codecs cannot read. */
  for (int i = 0; i < count; i++) {
    const struct api_info *info = api_info_get(resp.api_keys[i].api_key);
    ASSERT(info != NULL && resp.api_keys[i].min_version >= info->min_version &&
           resp.api_keys[i].max_version <= info->max_version);
  }
  struct wr w;
  response_begin(req, &w);
  api_versions_response_encode(&w, version, &resp);
  request_respond(req, &w);
}

void api_versions_respond_unsupported(struct request *req) {
  respond(req, 0, KERR_UNSUPPORTED_VERSION);
}

bool handle_api_versions(struct request *req) {
  handler_assert_entry(req, API_API_VERSIONS);
  struct api_versions_request m;
  if (!api_versions_request_decode(&req->body, req->api_version, &m, &req->arena)) {
    /* KIP-511: a request we cannot parse still gets an answer in v0. */
    respond(req, 0, KERR_UNSUPPORTED_VERSION);
    return true;
  }
  respond(req, req->api_version, KERR_NONE);
  return true;
}
