/* Connections with owners.
 *
 * env.h gives a node one network handler. The dispatcher is that handler and
 * routes each connection's events to the owner that opened it: the owner of
 * a listener gets the connections accepted on it (the server's client and
 * controller sessions), the caller of net_connect gets its outbound one (a
 * peer channel, the client library). So one node can serve clients, talk to
 * the controller and fetch from partition leaders at once.
 *
 * Routes are kept sorted by connection id (ids only grow in both worlds) and
 * found by binary search; listeners are a small array in listen order.
 * Nothing is iterated in address order. */
#ifndef SLUICE_NET_DISPATCH_H
#define SLUICE_NET_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "env.h"

enum { NET_LISTENERS_MAX = 16, NET_ROUTES_MAX = 1 << 20 };

/* What an owner is told. `accepted` only for owners of listeners (the owner
 * may refuse by calling net_close); `connected` only for outbound ones. A
 * frame's `data` is malloc()ed and the owner's from then on. */
struct net_owner_ops {
  void (*accepted)(void *ctx, uint32_t listener, env_conn_id conn);
  void (*connected)(void *ctx, env_conn_id conn, int err);
  void (*frame)(void *ctx, env_conn_id conn, uint8_t *data, size_t len);
  void (*closed)(void *ctx, env_conn_id conn, int err);
};

struct net_owner {
  const struct net_owner_ops *ops;
  void *ctx;
};

struct net_route {
  env_conn_id conn;
  struct net_owner owner;
};

struct net_listener_route {
  uint32_t listener;
  struct net_owner owner;
};

struct net_dispatch_stats {
  uint64_t frames_routed;
  uint64_t frames_unrouted; /* for a connection nobody owns any more: dropped */
  uint64_t accepted;
  uint64_t connects;
};

struct net_dispatch {
  struct env *env;
  struct net_route *routes; /* sorted by conn */
  int route_count;
  int route_cap;
  struct net_listener_route listeners[NET_LISTENERS_MAX];
  int listener_count;
  struct net_dispatch_stats stats;
  /* The chunks of the arenas responses decode into (net/kconn.c), for the
   * next responses. */
  struct arena_pool arena_pool;
  /* The buffer requests are encoded into (net/kconn.c), kept for the next. */
  struct buf encode_scratch;
};

/* Installs the dispatcher as env's network handler (env allows one, set
 * once per process). */
void net_dispatch_init(struct net_dispatch *d, struct env *env);
/* Forgets every route; closes nothing (owners close their connections
 * first, or the world is going away with the process). */
void net_dispatch_free(struct net_dispatch *d);

/* env->listen, with the accepted connections owned by `owner`. */
int net_listen(struct net_dispatch *d, const char *host, uint16_t port,
               uint32_t frame_bytes_max, const struct net_owner *owner, uint32_t *listener_out);
/* env->connect, the connection owned by `owner` (its `connected` follows).
 * Returns 0 or ENV_E* (then no callback). */
int net_connect(struct net_dispatch *d, const char *host, uint16_t port,
                uint32_t frame_bytes_max, const struct net_owner *owner, env_conn_id *conn_out);
/* env->close: the owner still gets `closed` for it, as env.h promises. */
void net_close(struct net_dispatch *d, env_conn_id conn);
/* env->close, and the owner hears nothing more of the connection: for an
 * owner that is going away or reusing its state for a new connection. */
void net_abandon(struct net_dispatch *d, env_conn_id conn);
/* True while some owner holds the connection. */
bool net_owned(const struct net_dispatch *d, env_conn_id conn);
int net_route_count(const struct net_dispatch *d);

#endif
