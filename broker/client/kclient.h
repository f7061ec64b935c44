/* A client host's connections, one per broker address, made through the
 * host's network dispatcher (which owns env's network handler). Each
 * negotiates versions when it connects (ApiVersions first, kconn_negotiate),
 * so kconn_version says what the broker serves. The simulator's producers,
 * consumers and admin clients sit on top of it. */
#ifndef SLUICE_KCLIENT_H
#define SLUICE_KCLIENT_H

#include "net/dispatch.h"
#include "net/kconn.h"

enum { KCLIENT_CONNS_MAX = 16 };

struct kclient {
  struct net_dispatch *net;
  struct kconn conns[KCLIENT_CONNS_MAX];
  int conn_count;
};

void kclient_init(struct kclient *k, struct net_dispatch *net);
/* The connection to host:port, made (and connecting) on first use. */
struct kconn *kclient_conn(struct kclient *k, const char *host, uint16_t port,
                           const char *client_id);
void kclient_close_all(struct kclient *k);

#endif
