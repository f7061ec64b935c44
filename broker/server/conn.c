/* Client connections: frames in, requests handled one at a time per
 * connection (Kafka answers a connection's requests in the order they came),
 * responses out. A malformed frame closes only its own connection. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "server/handlers.h"
#include "server/server.h"

static int conn_index(struct node *node, env_conn_id id) {
  int lo = 0, hi = node->conn_count;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (node->conns[mid]->id < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

struct conn *conn_find(struct node *node, env_conn_id id) {
  int i = conn_index(node, id);
  return i < node->conn_count && node->conns[i]->id == id ? node->conns[i] : NULL;
}

static const struct handler_table *listener_table(const struct node *node, uint32_t listener) {
  for (int i = 0; i < node->listener_count; i++)
    if (node->listener_ids[i] == listener) return node->listener_tables[i];
  return NULL;
}

static void conn_accepted(void *ctx, uint32_t listener, env_conn_id id) {
  struct node *node = ctx;
  const struct handler_table *table = listener_table(node, listener);
  ASSERT(table != NULL); /* only our listeners' connections are routed here */
  if (node->shutting_down) {
    net_abandon(&node->net, id);
    return;
  }
  if (node->conn_count == node->conn_cap) {
    int cap = node->conn_cap ? node->conn_cap * 2 : 64;
    struct conn **arr = realloc(node->conns, (size_t)cap * sizeof *arr);
    ASSERT(arr != NULL);
    node->conns = arr;
    node->conn_cap = cap;
  }
  struct conn *c = calloc(1, sizeof *c);
  ASSERT(c != NULL);
  c->id = id;
  c->listener = listener;
  c->table = table;
  int i = conn_index(node, id);
  ASSERT(i == node->conn_count || node->conns[i]->id != id);
  memmove(&node->conns[i + 1], &node->conns[i], (size_t)(node->conn_count - i) * sizeof c);
  node->conns[i] = c;
  node->conn_count++;
}

static void request_free(struct request *req) {
  arena_free(&req->arena);
  free(req->frame);
  free(req);
}

static void conn_free(struct node *node, struct conn *c) {
  int i = conn_index(node, c->id);
  ASSERT(i < node->conn_count && node->conns[i] == c);
  memmove(&node->conns[i], &node->conns[i + 1], (size_t)(node->conn_count - i - 1) * sizeof c);
  node->conn_count--;
  for (int n = 0; c->queue_head && n <= CONN_QUEUED_FRAMES_MAX; n++) {
    struct request *next = c->queue_head->next;
    request_free(c->queue_head);
    c->queue_head = next;
  }
  ASSERT(c->queue_head == NULL);
  free(c);
}

static void conn_drop(struct node *node, struct conn *c, const char *why) {
  env_log(node->env, ENV_LOG_WARN, "closing connection %llu: %s", (unsigned long long)c->id,
          why);
  net_close(&node->net, c->id);
}

static void conn_closed(void *ctx, env_conn_id id, int err) {
  struct node *node = ctx;
  (void)err;
  struct conn *c = conn_find(node, id);
  if (!c) return;
  /* An active deferred request keeps only the id; it finds no connection
   * when it completes and is freed then. */
  if (c->active) c->active->conn_id = 0;
  conn_free(node, c);
}

/* The request header (KIP-482 header v2 for flexible versions): api key,
 * api version, correlation id, client id (classic nullable string in every
 * version), then tagged fields in v2. */
static bool parse_header(struct request *req) {
  struct rd *r = &req->body;
  rd_init(r, req->frame, req->frame_len);
  req->api_key = rd_i16(r);
  req->api_version = rd_i16(r);
  req->correlation_id = rd_i32(r);
  if (r->err) return false;
  const struct api_info *info = api_info_get(req->api_key);
  int header_version = 1;
  if (info && req->api_version >= info->min_version && req->api_version <= info->max_version)
    header_version = api_request_header_version(req->api_key, req->api_version);
  else if (req->api_key == API_API_VERSIONS && req->api_version >= 3)
    header_version = 2; /* KIP-511: newer ApiVersions requests are flexible */
  if (header_version >= 1) req->client_id = rd_string(r, false);
  if (header_version >= 2) rd_skip_tagged_fields(r);
  return !r->err;
}

static void conn_reject(struct node *node, struct conn *c, struct request *req,
                        const char *why) {
  ASSERT(c->active == req);
  c->active = NULL;
  request_free(req);
  conn_drop(node, c, why);
}

/* Runs queued requests while the connection is not waiting on one. */
static void conn_pump(struct node *node, struct conn *c) {
  for (int n = 0; n <= CONN_QUEUED_FRAMES_MAX && !c->active && c->queue_head; n++) {
    struct request *req = c->queue_head;
    c->queue_head = req->next;
    if (!c->queue_head) c->queue_tail = NULL;
    c->queue_count--;
    req->next = NULL;
    c->active = req;
    const struct handler *h = handler_find(c->table, req->api_key);
    if (!h) {
      conn_reject(node, c, req, "unknown api key");
      return;
    }
    if (req->api_version < h->version_min || req->api_version > h->version_max) {
      if (req->api_key == API_API_VERSIONS) {
        api_versions_respond_unsupported(req);
        continue;
      }
      env_log(node->env, ENV_LOG_WARN, "api %d version %d is not supported", req->api_key,
              req->api_version);
      conn_reject(node, c, req, "unsupported api version");
      return;
    }
    if (!h->handle(req)) {
      conn_reject(node, c, req, "malformed request");
      return;
    }
  }
}

static void conn_frame(void *ctx, env_conn_id id, uint8_t *data, size_t len) {
  struct node *node = ctx;
  struct conn *c = conn_find(node, id);
  if (!c) {
    free(data);
    return;
  }
  struct request *req = calloc(1, sizeof *req);
  ASSERT(req != NULL);
  req->node = node;
  req->conn_id = id;
  req->table = c->table;
  req->frame = data;
  req->frame_len = len;
  req->received_ns = node->env->now_ns(node->env);
  arena_init(&req->arena);
  if (!parse_header(req)) {
    request_free(req);
    conn_drop(node, c, "malformed request header");
    return;
  }
  if (c->queue_count >= CONN_QUEUED_FRAMES_MAX || node->shutting_down) {
    request_free(req);
    conn_drop(node, c, node->shutting_down ? "shutting down" : "too many queued requests");
    return;
  }
  if (c->queue_tail)
    c->queue_tail->next = req;
  else
    c->queue_head = req;
  c->queue_tail = req;
  c->queue_count++;
  conn_pump(node, c);
}

void response_begin(struct request *req, struct wr *w) {
  wr_init(w);
  wr_i32(w, req->correlation_id);
  /* ApiVersions responses always use header v0 (KIP-511). */
  if (req->api_key != API_API_VERSIONS &&
      api_response_header_version(req->api_key, req->api_version) >= 1)
    wr_uvarint(w, 0); /* no tagged fields */
}

static void request_finish(struct request *req) {
  struct node *node = req->node;
  struct conn *c = req->conn_id ? conn_find(node, req->conn_id) : NULL;
  bool deferred = c && c->active == req && req->pending != NULL;
  if (c && c->active == req) c->active = NULL;
  request_free(req);
  /* A response that completes later lets the connection go on; one that
   * completes inside its handler returns to conn_pump's loop instead. */
  if (c && deferred) conn_pump(node, c);
}

void request_respond(struct request *req, struct wr *w) {
  struct node *node = req->node;
  if (req->conn_id && conn_find(node, req->conn_id)) {
    int n_max = wr_iov_max(w);
    struct env_iov stack_iov[8];
    struct env_iov *iov = n_max <= 8 ? stack_iov : malloc((size_t)n_max * sizeof *iov);
    ASSERT(iov != NULL);
    int n = wr_iov(w, 0, iov, n_max);
    int rc = node->env->send(node->env, req->conn_id, iov, n);
    if (rc != 0)
      env_log(node->env, ENV_LOG_DEBUG, "send to connection %llu failed: %d",
              (unsigned long long)req->conn_id, rc);
    if (iov != stack_iov) free(iov);
  }
  wr_free(w);
  request_finish(req);
}

void request_done_silent(struct request *req) { request_finish(req); }

void conns_close_all(struct node *node) {
  for (int n = 0; node->conn_count > 0 && n < 1000000; n++) {
    struct conn *c = node->conns[node->conn_count - 1];
    net_abandon(&node->net, c->id);
    if (c->active) c->active->conn_id = 0;
    conn_free(node, c);
  }
  free(node->conns);
  node->conns = NULL;
  node->conn_cap = 0;
}

const struct net_owner_ops conn_owner_ops = {
    .accepted = conn_accepted,
    .frame = conn_frame,
    .closed = conn_closed,
};
