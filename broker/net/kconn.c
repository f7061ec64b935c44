#include "net/kconn.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"

enum {
  VERSIONS_REQUEST_VERSION = 3,
  SCRATCH_KEPT_BYTES_MAX = 64 * 1024, /* a larger encode buffer is not kept */
};

static const struct net_owner_ops kconn_ops;

static void versions_clear(struct kconn *c) {
  for (int i = 0; i < KCONN_API_KEYS_MAX; i++)
    c->versions[i] = (struct kconn_version_range){-1, -1};
}

void kconn_init(struct kconn *c, struct net_dispatch *net, const char *host, uint16_t port,
                const char *client_id) {
  ASSERT(net != NULL && net->env != NULL);
  memset(c, 0, sizeof *c);
  c->env = net->env;
  c->net = net;
  str_fmt(c->host, sizeof c->host, "%s", host);
  c->port = port;
  str_fmt(c->client_id, sizeof c->client_id, "%s", client_id);
  c->next_correlation_id = 1;
  versions_clear(c);
}

void kconn_negotiate(struct kconn *c, bool on) { c->negotiate = on; }

bool kconn_connected(const struct kconn *c) {
  return c->id != 0 && !c->connecting && !c->negotiating;
}

int16_t kconn_version(const struct kconn *c, int16_t api_key, int16_t ours_min,
                      int16_t ours_max) {
  if (api_key < 0 || api_key >= KCONN_API_KEYS_MAX) return -1;
  struct kconn_version_range v = c->versions[api_key];
  int16_t hi = v.max_version < ours_max ? v.max_version : ours_max;
  int16_t lo = v.min_version > ours_min ? v.min_version : ours_min;
  return v.max_version >= 0 && hi >= lo ? hi : -1;
}
int kconn_in_flight(const struct kconn *c) { return c->count; }

static void dropped(void *ctx, int err, struct rd *body, struct arena *arena) {
  (void)ctx, (void)err, (void)body, (void)arena;
}

void kconn_forget(struct kconn *c, void *ctx) {
  for (int i = 0; i < c->count; i++) {
    struct kconn_request *r = &c->in_flight[(c->head + i) % KCONN_IN_FLIGHT_MAX];
    if (r->ctx == ctx) {
      r->fn = dropped;
      r->ctx = NULL;
    }
  }
}

void kconn_watch(struct kconn *c, const struct kconn_watch *watch) { c->watch = *watch; }

static void notify(struct kconn *c, int err) {
  if (c->watch.changed) c->watch.changed(c->watch.ctx, c, err);
}

int kconn_connect(struct kconn *c) {
  if (c->id != 0) return 0;
  env_conn_id id;
  struct net_owner owner = {.ops = &kconn_ops, .ctx = c};
  int rc = net_connect(c->net, c->host, c->port, KCONN_FRAME_BYTES_MAX, &owner, &id);
  if (rc != 0) return rc;
  c->id = id;
  c->connecting = true;
  return 0;
}

/* Every request in flight fails with err, oldest first. */
static void fail_all(struct kconn *c, int err) {
  struct arena none;
  arena_init(&none);
  for (int n = 0; c->count > 0 && n < KCONN_IN_FLIGHT_MAX; n++) {
    struct kconn_request r = c->in_flight[c->head];
    c->head = (c->head + 1) % KCONN_IN_FLIGHT_MAX;
    c->count--;
    r.fn(r.ctx, err, NULL, &none);
  }
  arena_free(&none); /* a callback may have allocated from it (client/admin.c) */
  ASSERT(c->count == 0);
}

/* The owner hears nothing more of the old connection: a reconnect reuses
 * this struct, and the owner may free it right after. */
void kconn_fail(struct kconn *c, int err) {
  ASSERT(err != 0);
  bool was_open = c->id != 0;
  if (c->id != 0) net_abandon(c->net, c->id);
  c->id = 0;
  c->connecting = false;
  c->negotiating = false;
  fail_all(c, err);
  if (was_open) notify(c, err);
  ASSERT(c->count == 0);
}

void kconn_close(struct kconn *c) { kconn_fail(c, ENV_ECONNRESET); }

uint64_t kconn_oldest_sent_ns(const struct kconn *c) {
  return c->count > 0 ? c->in_flight[c->head].sent_ns : 0;
}

static struct kconn *owned(void *ctx, env_conn_id id) {
  struct kconn *c = ctx;
  ASSERT(c->id == id); /* abandoned connections are not routed here */
  return c;
}

static void negotiate(struct kconn *c);

static void on_connected(void *ctx, env_conn_id id, int err) {
  struct kconn *c = owned(ctx, id);
  ASSERT(c->connecting);
  c->connecting = false;
  if (err != 0) {
    c->id = 0;
    fail_all(c, err);
  } else if (c->negotiate) {
    negotiate(c); /* up once it is answered */
    return;
  }
  notify(c, err);
}

static void on_closed(void *ctx, env_conn_id id, int err) {
  struct kconn *c = owned(ctx, id);
  c->id = 0;
  c->connecting = false;
  c->negotiating = false;
  fail_all(c, err ? err : ENV_ECONNRESET);
  notify(c, err ? err : ENV_ECONNRESET);
}

/* Sends on an open connection, connected or still negotiating. The request
 * is encoded into the dispatcher's kept buffer (base/buf.h): a malloc and
 * free per request otherwise. */
static int send_request(struct kconn *c, int16_t api_key, int16_t api_version,
                        kconn_encode_fn encode, const void *msg, kconn_response_fn fn,
                        void *ctx) {
  ASSERT(c->id != 0 && !c->connecting);
  if (c->count == KCONN_IN_FLIGHT_MAX) return ENV_ENOMEM;
  int header_version = api_request_header_version(api_key, api_version);
  ASSERT(header_version >= 1);
  int32_t correlation_id = c->next_correlation_id++;
  if (c->next_correlation_id == INT32_MAX) c->next_correlation_id = 1;
  struct wr w;
  wr_init(&w);
  w.mem = buf_take_kept(&c->net->encode_scratch);
  wr_i16(&w, api_key);
  wr_i16(&w, api_version);
  wr_i32(&w, correlation_id);
  wr_string(&w, kstr_of(c->client_id), false);
  if (header_version >= 2) wr_uvarint(&w, 0);
  encode(&w, api_version, msg);
  struct env_iov iov[8];
  int n = wr_iov(&w, 0, iov, 8);
  int rc = c->env->send(c->env, c->id, iov, n);
  buf_keep(&c->net->encode_scratch, &w.mem, SCRATCH_KEPT_BYTES_MAX);
  wr_free(&w); /* its splices, if any */
  if (rc != 0 || !fn) return rc;
  int tail = (c->head + c->count) % KCONN_IN_FLIGHT_MAX;
  c->in_flight[tail] = (struct kconn_request){
      correlation_id, api_key, api_version, fn, ctx, c->env->now_ns(c->env)};
  c->count++;
  return 0;
}

int kconn_send(struct kconn *c, int16_t api_key, int16_t api_version, kconn_encode_fn encode,
               const void *msg, kconn_response_fn fn, void *ctx) {
  if (!kconn_connected(c)) return ENV_ECONNREFUSED;
  return send_request(c, api_key, api_version, encode, msg, fn, ctx);
}

/* ---- version negotiation ---- */

/* KIP-511: a peer that does not serve our ApiVersions version answers in
 * v0 format with UNSUPPORTED_VERSION and its ranges; either way the ranges
 * are there. */
static void versions_answered(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct kconn *c = ctx;
  if (err != 0) { /* a closed connection told its watcher already */
    if (c->id != 0 && c->negotiating) kconn_fail(c, err);
    return;
  }
  ASSERT(c->negotiating);
  struct rd peek = *body; /* the error code leads both formats */
  int16_t error_code = rd_i16(&peek);
  int16_t version = error_code == KERR_UNSUPPORTED_VERSION ? 0 : VERSIONS_REQUEST_VERSION;
  struct api_versions_response resp;
  if (!api_versions_response_decode(body, version, &resp, arena) ||
      (resp.error_code != KERR_NONE && resp.error_code != KERR_UNSUPPORTED_VERSION)) {
    env_log(c->env, ENV_LOG_WARN, "client %s: bad ApiVersions answer from %s:%d (error %d)",
            c->client_id, c->host, c->port, error_code);
    kconn_fail(c, ENV_EINVAL);
    return;
  }
  versions_clear(c);
  for (int32_t i = 0; i < resp.api_keys_count; i++) {
    const struct api_versions_response_api_version *v = &resp.api_keys[i];
    if (v->api_key < 0 || v->api_key >= KCONN_API_KEYS_MAX) continue;
    c->versions[v->api_key] = (struct kconn_version_range){v->min_version, v->max_version};
  }
  c->negotiating = false;
  notify(c, 0);
}

static void encode_versions(struct wr *w, int16_t version, const void *msg) {
  api_versions_request_encode(w, version, msg);
}

static void negotiate(struct kconn *c) {
  c->negotiating = true;
  versions_clear(c);
  struct api_versions_request req;
  api_versions_request_init(&req);
  req.client_software_name = kstr_of("sluice");
  req.client_software_version = kstr_of("1"); /* fixed: a run does not depend on VERSION */
  int rc = send_request(c, API_API_VERSIONS, VERSIONS_REQUEST_VERSION, encode_versions, &req,
                        versions_answered, c);
  if (rc != 0) kconn_fail(c, rc);
}

static void on_frame(void *ctx, env_conn_id id, uint8_t *data, size_t len) {
  struct kconn *c = owned(ctx, id);
  struct rd r;
  rd_init(&r, data, len);
  int32_t correlation_id = rd_i32(&r);
  if (r.err || c->count == 0 || c->in_flight[c->head].correlation_id != correlation_id) {
    /* A response we did not ask for: the stream cannot be trusted. */
    env_log(c->env, ENV_LOG_WARN, "client %s: unexpected response %d from %s:%d", c->client_id,
            correlation_id, c->host, c->port);
    free(data);
    kconn_close(c);
    return;
  }
  struct kconn_request req = c->in_flight[c->head];
  c->head = (c->head + 1) % KCONN_IN_FLIGHT_MAX;
  c->count--;
  if (req.api_key != API_API_VERSIONS &&
      api_response_header_version(req.api_key, req.api_version) >= 1)
    rd_skip_tagged_fields(&r);
  struct arena arena;
  arena_init_pooled(&arena, &c->net->arena_pool);
  req.fn(req.ctx, r.err ? ENV_EINVAL : 0, r.err ? NULL : &r, &arena);
  arena_free(&arena);
  free(data);
}

static const struct net_owner_ops kconn_ops = {
    .connected = on_connected,
    .frame = on_frame,
    .closed = on_closed,
};
