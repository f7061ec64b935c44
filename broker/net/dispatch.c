#include "net/dispatch.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

/* Index of the first route whose conn is >= conn. */
static int route_lower_bound(const struct net_dispatch *d, env_conn_id conn) {
  int lo = 0, hi = d->route_count;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (d->routes[mid].conn < conn)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static struct net_route *route_find(const struct net_dispatch *d, env_conn_id conn) {
  int i = route_lower_bound(d, conn);
  return i < d->route_count && d->routes[i].conn == conn ? &d->routes[i] : NULL;
}

static void route_add(struct net_dispatch *d, env_conn_id conn, const struct net_owner *owner) {
  ASSERT(conn != 0);
  ASSERT(owner->ops != NULL);
  ASSERT(d->route_count < NET_ROUTES_MAX);
  if (d->route_count == d->route_cap) {
    int cap = d->route_cap ? d->route_cap * 2 : 64;
    struct net_route *routes = realloc(d->routes, (size_t)cap * sizeof *routes);
    ASSERT(routes != NULL);
    d->routes = routes;
    d->route_cap = cap;
  }
  int i = route_lower_bound(d, conn);
  ASSERT(i == d->route_count || d->routes[i].conn != conn); /* a world never reuses an id */
  memmove(&d->routes[i + 1], &d->routes[i], (size_t)(d->route_count - i) * sizeof *d->routes);
  d->routes[i] = (struct net_route){.conn = conn, .owner = *owner};
  d->route_count++;
}

/* Removes the route; returns its owner ({0} if there was none). */
static struct net_owner route_remove(struct net_dispatch *d, env_conn_id conn) {
  int i = route_lower_bound(d, conn);
  if (i == d->route_count || d->routes[i].conn != conn) return (struct net_owner){0};
  struct net_owner owner = d->routes[i].owner;
  memmove(&d->routes[i], &d->routes[i + 1],
          (size_t)(d->route_count - i - 1) * sizeof *d->routes);
  d->route_count--;
  ASSERT(route_find(d, conn) == NULL);
  return owner;
}

static const struct net_owner *listener_owner(const struct net_dispatch *d, uint32_t listener) {
  for (int i = 0; i < d->listener_count; i++)
    if (d->listeners[i].listener == listener) return &d->listeners[i].owner;
  return NULL;
}

/* ---- the env handler ---- */

static void on_accepted(void *ctx, uint32_t listener, env_conn_id conn) {
  struct net_dispatch *d = ctx;
  const struct net_owner *owner = listener_owner(d, listener);
  if (!owner || !owner->ops->accepted) {
    d->env->close(d->env, conn); /* a listener nobody serves any more */
    return;
  }
  d->stats.accepted++;
  route_add(d, conn, owner);
  owner->ops->accepted(owner->ctx, listener, conn);
}

/* A failed connect ends the connection: no `closed` follows (env.h). */
static void on_connected(void *ctx, env_conn_id conn, int err) {
  struct net_dispatch *d = ctx;
  struct net_route *r = route_find(d, conn);
  if (!r) return;
  struct net_owner owner = err ? route_remove(d, conn) : r->owner;
  if (owner.ops->connected) owner.ops->connected(owner.ctx, conn, err);
}

static void on_frame(void *ctx, env_conn_id conn, uint8_t *data, size_t len) {
  struct net_dispatch *d = ctx;
  struct net_route *r = route_find(d, conn);
  if (!r) {
    d->stats.frames_unrouted++;
    free(data);
    return;
  }
  d->stats.frames_routed++;
  struct net_owner owner = r->owner; /* the call may add routes (realloc) */
  owner.ops->frame(owner.ctx, conn, data, len);
}

static void on_closed(void *ctx, env_conn_id conn, int err) {
  struct net_dispatch *d = ctx;
  struct net_owner owner = route_remove(d, conn);
  if (owner.ops && owner.ops->closed) owner.ops->closed(owner.ctx, conn, err);
}

void net_dispatch_init(struct net_dispatch *d, struct env *env) {
  ASSERT(env != NULL);
  memset(d, 0, sizeof *d);
  d->env = env;
  struct env_net_handler h = {.ctx = d,
                              .accepted = on_accepted,
                              .connected = on_connected,
                              .frame = on_frame,
                              .closed = on_closed};
  env->net_handler_set(env, &h);
  ASSERT(d->route_count == 0);
}

void net_dispatch_free(struct net_dispatch *d) {
  free(d->routes);
  d->routes = NULL;
  d->route_count = d->route_cap = 0;
  d->listener_count = 0;
  arena_pool_free(&d->arena_pool);
  buf_free(&d->encode_scratch);
}

/* ---- owners' calls ---- */

int net_listen(struct net_dispatch *d, const char *host, uint16_t port,
               uint32_t frame_bytes_max, const struct net_owner *owner,
               uint32_t *listener_out) {
  ASSERT(owner->ops != NULL && owner->ops->accepted != NULL);
  if (d->listener_count == NET_LISTENERS_MAX) return ENV_ENOMEM;
  uint32_t listener;
  int rc = d->env->listen(d->env, host, port, frame_bytes_max, &listener);
  if (rc != 0) return rc;
  ASSERT(listener_owner(d, listener) == NULL);
  d->listeners[d->listener_count++] = (struct net_listener_route){listener, *owner};
  *listener_out = listener;
  return 0;
}

int net_connect(struct net_dispatch *d, const char *host, uint16_t port,
                uint32_t frame_bytes_max, const struct net_owner *owner,
                env_conn_id *conn_out) {
  ASSERT(owner->ops != NULL && owner->ops->connected != NULL);
  env_conn_id conn;
  int rc = d->env->connect(d->env, host, port, frame_bytes_max, &conn);
  if (rc != 0) return rc;
  d->stats.connects++;
  route_add(d, conn, owner);
  *conn_out = conn;
  return 0;
}

void net_close(struct net_dispatch *d, env_conn_id conn) {
  ASSERT(conn != 0);
  d->env->close(d->env, conn);
}

void net_abandon(struct net_dispatch *d, env_conn_id conn) {
  ASSERT(conn != 0);
  route_remove(d, conn);
  d->env->close(d->env, conn);
  ASSERT(!net_owned(d, conn));
}

bool net_owned(const struct net_dispatch *d, env_conn_id conn) {
  return route_find(d, conn) != NULL;
}

int net_route_count(const struct net_dispatch *d) { return d->route_count; }
