#include "client/kclient.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

static struct kconn *by_id(struct kclient *k, env_conn_id id) {
  for (int i = 0; i < k->conn_count; i++)
    if (k->conns[i].id == id) return &k->conns[i];
  return NULL;
}

static void on_accepted(void *ctx, uint32_t listener, env_conn_id id) {
  struct kclient *k = ctx;
  (void)listener;
  k->env->close(k->env, id); /* a client does not serve */
}

static void on_connected(void *ctx, env_conn_id id, int err) {
  struct kconn *c = by_id(ctx, id);
  if (c) kconn_on_connected(c, err);
}

static void on_frame(void *ctx, env_conn_id id, uint8_t *data, size_t len) {
  struct kconn *c = by_id(ctx, id);
  if (c)
    kconn_on_frame(c, data, len);
  else
    free(data);
}

static void on_closed(void *ctx, env_conn_id id, int err) {
  struct kconn *c = by_id(ctx, id);
  if (c) kconn_on_closed(c, err);
}

void kclient_init(struct kclient *k, struct env *env) {
  memset(k, 0, sizeof *k);
  k->env = env;
  struct env_net_handler h = {.ctx = k,
                              .accepted = on_accepted,
                              .connected = on_connected,
                              .frame = on_frame,
                              .closed = on_closed};
  env->net_handler_set(env, &h);
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
  kconn_init(c, k->env, host, port, client_id);
  kconn_connect(c);
  return c;
}

void kclient_close_all(struct kclient *k) {
  for (int i = 0; i < k->conn_count; i++) kconn_close(&k->conns[i]);
}
