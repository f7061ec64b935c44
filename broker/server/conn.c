/* Client connections: frames in, requests handled one at a time per
 * connection (Kafka answers a connection's requests in the order they came),
 * responses out. A malformed frame closes only its own connection.
 *
 * A request that waits (long-poll, fsync) finishes inside some callback: a
 * wake, a timer, an fsync completion. It answers there, but its connection
 * resumes only from the node's ready list, drained by a zero-delay timer, so
 * no handler ever runs inside another one's callback.
 *
 * Budgets (issue 13; docs/architecture.md "Budgets"): the frames of requests
 * received and not yet answered count against queued.max.request.bytes
 * across connections; past it, a connection with requests still queued is
 * not read (env->read_pause) until its queue drains; nothing is dropped.
 * A connection whose responses queued and unsent pass
 * sluice.connection.response.bytes.max, or that has responses queued while
 * all connections' pass sluice.response.bytes.max, handles no further
 * request and is not read until they drain below (looked at again every
 * CONN_OUTPUT_POLL_MS). */
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
  struct conn *last = node->conn_last;
  if (last && last->id == id) return last;
  int i = conn_index(node, id);
  if (i >= node->conn_count || node->conns[i]->id != id) return NULL;
  node->conn_last = node->conns[i];
  return node->conns[i];
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

enum { REQUESTS_SPARE_MAX = 16 };

static struct request *request_alloc(struct node *node) {
  struct request *req = node->requests_spare;
  if (req == NULL) {
    req = malloc(sizeof *req);
    ASSERT(req != NULL);
    return req;
  }
  ASSERT(node->requests_spare_count > 0);
  node->requests_spare = req->next;
  node->requests_spare_count--;
  return req;
}

static void request_free(struct request *req) {
  ASSERT(req->waiter == NULL); /* never while parked */
  struct node *node = req->node;
  if (req->budgeted) {
    ASSERT(node->request_bytes >= req->frame_len);
    node->request_bytes -= req->frame_len;
  }
  arena_free(&req->arena);
  free(req->frame);
  if (node->requests_spare_count >= REQUESTS_SPARE_MAX) {
    free(req);
    return;
  }
  req->next = node->requests_spare;
  node->requests_spare = req;
  node->requests_spare_count++;
}

void requests_spare_free(struct node *node) {
  wr_free(&node->response_scratch);
  for (int n = 0; node->requests_spare && n < REQUESTS_SPARE_MAX; n++) {
    struct request *next = node->requests_spare->next;
    free(node->requests_spare);
    node->requests_spare = next;
  }
  ASSERT(node->requests_spare == NULL);
  node->requests_spare_count = 0;
}

/* ---- the ready list: connections to resume, oldest first ---- */

static void ready_unlink(struct node *node, struct conn *c) {
  ASSERT(c->ready && node->ready_count > 0);
  if (c->ready_prev)
    c->ready_prev->ready_next = c->ready_next;
  else
    node->ready_first = c->ready_next;
  if (c->ready_next)
    c->ready_next->ready_prev = c->ready_prev;
  else
    node->ready_last = c->ready_prev;
  c->ready_prev = c->ready_next = NULL;
  c->ready = false;
  node->ready_count--;
  ASSERT(node->ready_count > 0 || (!node->ready_first && !node->ready_last));
}

static void conn_pump(struct node *node, struct conn *c);

/* ---- budgets ---- */

static bool requests_over_budget(const struct node *node) {
  int64_t max = node->cfg.queued_max_request_bytes;
  return max > 0 && node->request_bytes > (uint64_t)max;
}

/* Its responses wait unsent past its budget, or it has some waiting while
 * all connections' pass theirs: a connection that reads its answers (none
 * queued) is still served when a slow one fills the total. */
static bool output_over_budget(const struct node *node, const struct conn *c) {
#ifdef SLUICE_MUTANT_RESPONSE_BUDGET_IGNORED /* mutant: the response budgets are never looked  \
                                                at */
  (void)node;
  (void)c;
  return false;
#endif
  struct env *env = node->env;
  size_t own = env->send_queued_bytes(env, c->id);
  if (own > (uint64_t)node->cfg.connection_response_bytes_max) return true;
  return own > 0 && env->send_queued_bytes(env, 0) > (uint64_t)node->cfg.response_bytes_max;
}

/* Reading pauses while the connection waits for its output, or while it
 * has requests queued and the request budget is spent. */
static void conn_read_budget(struct node *node, struct conn *c) {
  if (c->closed) return;
  bool pause = c->output_waiting || (c->queue_count > 0 && requests_over_budget(node));
  if (pause == c->read_paused || !node->env->read_pause) return;
  c->read_paused = pause;
  node->env->read_pause(node->env, c->id, pause);
}

static void conn_ready(struct node *node, struct conn *c);

/* Connections waiting for output that has drained take their turn again,
 * in id order; the timer runs while any still waits. */
static void output_poll(void *ctx) {
  struct node *node = ctx;
  ASSERT(node->output_timer != 0);
  node->output_timer = 0;
  bool still = false;
  for (int i = 0; i < node->conn_count; i++) {
    struct conn *c = node->conns[i];
    if (!c->output_waiting) continue;
    if (output_over_budget(node, c)) {
      still = true;
      continue;
    }
    c->output_waiting = false;
    conn_read_budget(node, c);
    if (!c->active && !c->pumping) conn_ready(node, c);
  }
  if (still)
    node->output_timer = node->env->timer_start(
        node->env, (uint64_t)CONN_OUTPUT_POLL_MS * NS_PER_MS, output_poll, node);
}

/* Called before the next request runs: false (and the connection waits)
 * while its output is over budget. */
static bool conn_output_ok(struct node *node, struct conn *c) {
  if (!output_over_budget(node, c)) return true;
  if (!c->output_waiting)
    env_log(node->env, ENV_LOG_DEBUG,
            "connection %llu waits for its responses to drain "
            "(sluice.connection.response.bytes.max / sluice.response.bytes.max)",
            (unsigned long long)c->id);
  c->output_waiting = true;
  conn_read_budget(node, c);
  if (!node->output_timer)
    node->output_timer = node->env->timer_start(
        node->env, (uint64_t)CONN_OUTPUT_POLL_MS * NS_PER_MS, output_poll, node);
  return false;
}

/* Resumes at most CONN_READY_DRAIN_MAX connections, and only those that were
 * ready when it started: the rest (and any made ready meanwhile) take the
 * next turn, after the events already due. */
static void ready_drain(void *ctx) {
  struct node *node = ctx;
  ASSERT(node->ready_timer != 0);
  node->ready_timer = 0;
  int n_max =
      node->ready_count < CONN_READY_DRAIN_MAX ? node->ready_count : CONN_READY_DRAIN_MAX;
  for (int n = 0; n < n_max && node->ready_first; n++) {
    struct conn *c = node->ready_first;
    ready_unlink(node, c);
    conn_pump(node, c);
  }
  if (node->ready_first && !node->ready_timer)
    node->ready_timer = node->env->timer_start(node->env, 0, ready_drain, node);
  ASSERT(node->ready_first == NULL || node->ready_timer != 0);
}

static void conn_ready(struct node *node, struct conn *c) {
  ASSERT(!c->pumping && c->active == NULL);
  if (c->ready || c->closed) return;
  c->ready = true;
  c->ready_prev = node->ready_last;
  c->ready_next = NULL;
  if (node->ready_last)
    node->ready_last->ready_next = c;
  else
    node->ready_first = c;
  node->ready_last = c;
  node->ready_count++;
  if (!node->ready_timer)
    node->ready_timer = node->env->timer_start(node->env, 0, ready_drain, node);
  ASSERT(node->ready_last == c && node->ready_timer != 0);
}

/* The connection is going: a parked request is cancelled and freed (nothing
 * will call it back); one waiting on an fsync keeps running without its
 * connection and is freed when it finishes. */
static void conn_let_go(struct node *node, struct conn *c) {
  struct request *req = c->active;
  c->active = NULL;
  if (c->ready) ready_unlink(node, c);
  if (!req) return;
  ASSERT(req->conn_id == c->id);
  if (req->waiter) {
    waiter_cancel(req->waiter);
    req->waiter = NULL;
    request_free(req);
    return;
  }
  if (req->cancel) {
    req->cancel(req);
    request_free(req);
    return;
  }
  req->conn_id = 0;
}

static void conn_free(struct node *node, struct conn *c) {
  int i = conn_index(node, c->id);
  ASSERT(i < node->conn_count && node->conns[i] == c);
  conn_let_go(node, c);
  memmove(&node->conns[i], &node->conns[i + 1], (size_t)(node->conn_count - i - 1) * sizeof c);
  node->conn_count--;
  for (int n = 0; c->queue_head && n <= CONN_QUEUED_FRAMES_MAX; n++) {
    struct request *next = c->queue_head->next;
    request_free(c->queue_head);
    c->queue_head = next;
  }
  ASSERT(c->queue_head == NULL);
  if (node->conn_last == c) node->conn_last = NULL; /* after everything that may find it */
  free(c);
}

static void conn_drop(struct node *node, struct conn *c, const char *why) {
  env_log(node->env, ENV_LOG_WARN, "closing connection %llu: %s", (unsigned long long)c->id,
          why);
  c->closed = true;
  net_close(&node->net, c->id);
}

static void conn_closed(void *ctx, env_conn_id id, int err) {
  struct node *node = ctx;
  (void)err;
  struct conn *c = conn_find(node, id);
  if (!c) return;
  conn_free(node, c);
  ASSERT(conn_find(node, id) == NULL);
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

/* Runs queued requests while the connection is not waiting on one. Called
 * only from the loop's own events (a frame, the ready list's drain). */
static void conn_pump(struct node *node, struct conn *c) {
  ASSERT(!c->pumping && !c->ready);
  if (c->closed) return;
  c->pumping = true;
  for (int n = 0; n <= CONN_QUEUED_FRAMES_MAX && !c->active && !c->closed && c->queue_head;
       n++) {
    if (!conn_output_ok(node, c)) break;
    struct request *req = c->queue_head;
    c->queue_head = req->next;
    if (!c->queue_head) c->queue_tail = NULL;
    c->queue_count--;
    req->next = NULL;
    c->active = req;
    const struct handler *h = handler_find(c->table, req->api_key);
    if (!h) {
      conn_reject(node, c, req, "unknown api key");
      break;
    }
    if (req->api_version < h->version_min || req->api_version > h->version_max) {
      if (req->api_key == API_API_VERSIONS) {
        api_versions_respond_unsupported(req);
        continue;
      }
      env_log(node->env, ENV_LOG_WARN, "api %d version %d is not supported", req->api_key,
              req->api_version);
      conn_reject(node, c, req, "unsupported api version");
      break;
    }
    if (!h->handle(req)) {
      conn_reject(node, c, req, "malformed request");
      break;
    }
  }
  c->pumping = false;
  conn_read_budget(node, c);
  ASSERT(c->active == NULL || c->active->pending != NULL || c->closed);
}

static void conn_frame(void *ctx, env_conn_id id, uint8_t *data, size_t len) {
  struct node *node = ctx;
  struct conn *c = conn_find(node, id);
  if (!c) {
    free(data);
    return;
  }
  /* A literal rather than calloc: glibc's calloc skips the thread cache,
   * and this runs once per frame. */
  struct request *req = request_alloc(node);
  *req = (struct request){.node = node,
                          .conn_id = id,
                          .table = c->table,
                          .frame = data,
                          .frame_len = len,
                          .received_ns = node->env->now_ns(node->env)};
  arena_init_pooled(&req->arena, &node->arena_pool);
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
  req->budgeted = true;
  node->request_bytes += len;
  conn_read_budget(node, c);
  /* A connection on the ready list resumes in its turn. */
  if (!c->ready) conn_pump(node, c);
}

enum { RESPONSE_SCRATCH_KEPT_BYTES_MAX = 64 * 1024 }; /* a larger buffer is not kept */

void response_begin(struct request *req, struct wr *w) {
  /* The node's scratch, emptied; a response begun while another holds it
   * starts buffers of its own. */
  struct node *node = req->node;
  *w = node->response_scratch;
  wr_init(&node->response_scratch);
  wr_reset(w);
  wr_i32(w, req->correlation_id);
  /* ApiVersions responses always use header v0 (KIP-511). */
  if (req->api_key != API_API_VERSIONS &&
      api_response_header_version(req->api_key, req->api_version) >= 1)
    wr_uvarint(w, 0); /* no tagged fields */
}

/* A request answered inside its handler returns to conn_pump's loop; one
 * answered later (from a wake, a timer, an fsync) puts its connection on the
 * ready list instead of resuming it here. */
static void request_finish(struct request *req) {
  struct node *node = req->node;
  ASSERT(req->waiter == NULL);
  struct conn *c = req->conn_id ? conn_find(node, req->conn_id) : NULL;
  ASSERT(c == NULL || c->active == req); /* only the active request answers */
  if (req->received_ns > 0)
    metrics_request_done(&node->metrics, req->api_key,
                         node->env->now_ns(node->env) - req->received_ns);
  request_free(req);
  if (!c) return;
  c->active = NULL;
  if (!c->pumping) conn_ready(node, c);
}

void request_respond(struct request *req, struct wr *w) {
  struct node *node = req->node;
  ASSERT(req->waiter == NULL); /* a parked request answers from its done callback */
  if (req->conn_id && conn_find(node, req->conn_id)) {
    int n_max = wr_iov_max(w);
    struct env_iov stack_iov[8];
    struct env_iov *iov = n_max <= 8 ? stack_iov : malloc((size_t)n_max * sizeof *iov);
    ASSERT(iov != NULL);
    int n = wr_iov(w, 0, iov, n_max);
    for (int i = 0; i < n; i++) node->metrics.response_bytes += iov[i].len;
    int rc = node->env->send(node->env, req->conn_id, iov, n);
    if (rc != 0)
      env_log(node->env, ENV_LOG_DEBUG, "send to connection %llu failed: %d",
              (unsigned long long)req->conn_id, rc);
    if (iov != stack_iov) free(iov);
  }
  /* Sent: the file ranges a handler read (Fetch, ListOffsets) are the
   * world's now, so their segments may be closed (log/segment_cache.h). */
  seg_cache_turn_end(&node->logs.segments);
  /* Kept for the next response if the node has none and it is not large
   * (one big answer should not pin its size). */
  if (node->response_scratch.mem.data == NULL && node->response_scratch.splices == NULL &&
      w->mem.cap <= RESPONSE_SCRATCH_KEPT_BYTES_MAX) {
    node->response_scratch = *w;
    wr_init(w);
  } else {
    wr_free(w);
  }
  request_finish(req);
}

void request_done_silent(struct request *req) { request_finish(req); }

void request_done_close(struct request *req, const char *why) {
  struct node *node = req->node;
  env_conn_id id = req->conn_id;
  request_finish(req);
  struct conn *c = id ? conn_find(node, id) : NULL;
  if (c && !c->closed) conn_drop(node, c, why);
  ASSERT(c == NULL || c->closed);
}

void conns_close_all(struct node *node) {
  for (int n = 0; node->conn_count > 0 && n < 1000000; n++) {
    struct conn *c = node->conns[node->conn_count - 1];
    net_abandon(&node->net, c->id);
    conn_free(node, c);
  }
  ASSERT(node->conn_count == 0 && node->ready_count == 0);
  if (node->ready_timer) node->env->timer_cancel(node->env, node->ready_timer);
  node->ready_timer = 0;
  if (node->output_timer) node->env->timer_cancel(node->env, node->output_timer);
  node->output_timer = 0;
  free(node->conns);
  node->conns = NULL;
  node->conn_cap = 0;
}

const struct net_owner_ops conn_owner_ops = {
    .accepted = conn_accepted,
    .frame = conn_frame,
    .closed = conn_closed,
};
