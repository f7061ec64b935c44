/* The server subsystem: the node's network dispatcher (env's one network
 * handler, net/dispatch.h), its typed listeners, the client sessions on
 * them (conn.c) and the purgatory where their long polls wait. */
#include <stdlib.h>

#include "base/assert.h"
#include "server/fetch_session.h"
#include "server/handlers.h"
#include "server/server.h"
#include "server/subsystem.h"

static int server_init(struct node *node) {
  purgatory_init(&node->purgatory, node->env, FETCH_WAITERS_MAX);
  return 0;
}

/* Typed listeners: a controller listener answers only the quorum's APIs. */
static const struct handler_table *listener_table(const struct node *node,
                                                  const struct config_listener *l) {
  return config_is_controller_listener(&node->cfg, l->name) ? &handlers_controller
                                                            : &handlers_client;
}

/* The budgets the world enforces on accepted connections (env.h); the
 * controller listeners' are the quorum's own and are not limited. */
static void limits_to_world(struct node *node) {
  const struct config *cfg = &node->cfg;
  struct env_net_limits lim = {
      .receive_bytes_max =
          cfg->queued_max_request_bytes > 0 ? (uint64_t)cfg->queued_max_request_bytes : 0,
      .conns_max = (uint32_t)cfg->max_connections,
      .conns_per_addr_max = (uint32_t)cfg->max_connections_per_ip,
  };
  for (int i = 0; i < node->listener_count; i++)
    if (node->listener_tables[i] == &handlers_controller && node->listener_ids[i] < 32)
      lim.exempt_listeners |= UINT32_C(1) << node->listener_ids[i];
  if (node->env->net_limits_set) node->env->net_limits_set(node->env, &lim);
}

/* The dispatcher becomes env's network handler only now, once every init
 * that can fail has passed: a node that never starts leaves env untouched. */
static int server_start(struct node *node) {
  struct env *env = node->env;
  ASSERT(node->listener_count == 0);
  net_dispatch_init(&node->net, env);
  struct net_owner owner = {.ops = &conn_owner_ops, .ctx = node};
  for (int i = 0; i < node->cfg.listener_count; i++) {
    const struct config_listener *l = &node->cfg.listeners[i];
    const struct handler_table *table = listener_table(node, l);
    node->listener_tables[i] = table;
    int rc =
        net_listen(&node->net, l->host, l->port, (uint32_t)node->cfg.socket_request_max_bytes,
                   &owner, &node->listener_ids[i]);
    if (rc != 0) {
      env_log(env, ENV_LOG_ERROR, "cannot listen on %s://%s:%d: error %d", l->name, l->host,
              l->port, rc);
      return rc;
    }
    node->listener_count = i + 1;
    env_log(env, ENV_LOG_INFO, "listening on %s://%s:%d (%s APIs)", l->name, l->host,
            env->listener_port(env, node->listener_ids[i]), table->name);
  }
  ASSERT(node->listener_count == node->cfg.listener_count);
  limits_to_world(node); /* before the loop accepts anything */
  return 0;
}

/* Nothing new is taken (node->shutting_down); the sessions close, which
 * cancels what waits in the purgatory. */
static void server_shutdown(struct node *node) {
  ASSERT(node->shutting_down);
  conns_close_all(node);
  ASSERT(purgatory_waiter_count(&node->purgatory) == 0);
  node_subsystem_stopped(node);
}

static void server_free(struct node *node) {
  conns_close_all(node);
  purgatory_deinit(&node->purgatory);
  if (node->fetch_sessions) fetch_session_cache_deinit(node->fetch_sessions);
  free(node->fetch_sessions);
  node->fetch_sessions = NULL;
  net_dispatch_free(&node->net);
  ASSERT(node->conn_count == 0);
}

const struct subsystem subsystem_server = {
    .name = "server",
    .init = server_init,
    .start = server_start,
    .shutdown = server_shutdown,
    .free = server_free,
};
