#include "client/kclient.h"

#include <string.h>

#include "base/assert.h"

void kclient_init(struct kclient *k, struct net_dispatch *net) {
  ASSERT(net != NULL);
  memset(k, 0, sizeof *k);
  k->net = net;
}

struct kconn *kclient_conn(struct kclient *k, const char *host, uint16_t port,
                           const char *client_id) {
  for (int i = 0; i < k->conn_count; i++) {
    struct kconn *c = &k->conns[i];
    if (c->port == port && strcmp(c->host, host) == 0) {
      if (c->id == 0) kconn_connect(c);
      return c;
    }
  }
  ASSERT(k->conn_count < KCLIENT_CONNS_MAX);
  struct kconn *c = &k->conns[k->conn_count++];
  kconn_init(c, k->net, host, port, client_id);
  kconn_negotiate(c, true); /* ApiVersions first, as librdkafka does */
  kconn_connect(c);
  return c;
}

void kclient_close_all(struct kclient *k) {
  for (int i = 0; i < k->conn_count; i++) kconn_close(&k->conns[i]);
}
