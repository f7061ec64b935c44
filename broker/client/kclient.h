/* A client host: the env's network callbacks routed to its connections,
 * one per broker address. The simulator's producers and consumers sit on
 * top of it. */
#ifndef SLUICE_KCLIENT_H
#define SLUICE_KCLIENT_H

#include "client/kconn.h"

enum { KCLIENT_CONNS_MAX = 16 };

struct kclient {
  struct env *env;
  struct kconn conns[KCLIENT_CONNS_MAX];
  int conn_count;
};

/* Takes over env's network handler. */
void kclient_init(struct kclient *k, struct env *env);
/* The connection to host:port, made (and connecting) on first use. */
struct kconn *kclient_conn(struct kclient *k, const char *host, uint16_t port,
                           const char *client_id);
void kclient_close_all(struct kclient *k);

#endif
