/* The broker's life cycle towards the controller (Kafka's
 * BrokerLifecycleManager, KIP-631): registration once the listeners are up,
 * so the controller learns the endpoint clients reach. Heartbeats, fencing
 * and controlled shutdown join it with the quorum issue. */
#include "base/assert.h"
#include "base/str.h"
#include "proto/errors.h"
#include "server/controller_quorum.h"
#include "server/files.h"
#include "server/server.h"
#include "server/subsystem.h"

static void registered(void *ctx, int16_t error) {
  struct node *node = ctx;
  if (error != KERR_NONE && !node->shutting_down)
    env_log(node->env, ENV_LOG_ERROR, "broker registration failed: %s", kerr_name(error));
}

/* KIP-631: this node, at the endpoint clients reach, once it listens. */
static int lifecycle_start(struct node *node) {
  ASSERT(node->controller != NULL);
  const struct config_listener *l = config_client_listener(&node->cfg);
  if (!l) return 0; /* no client listener: nothing to advertise */
  struct meta_broker_registration r = {.broker_id = node_id(node),
                                       .incarnation_id = uuid_random(node->env)};
  struct kstr host;
  int32_t port;
  node_endpoint(node, &host, &port);
  str_fmt(r.listener, sizeof r.listener, "%s", l->name);
  str_fmt(r.host, sizeof r.host, "%.*s", (int)host.len, host.ptr);
  r.port = (uint16_t)port;
  node->controller->ops->register_broker(node->controller, &r, registered, node);
  return 0;
}

/* The controller channels close before the quorum and the server stop
 * (their dispatcher goes with the server); a forward in flight then waits
 * for the controller's close, which answers it NOT_CONTROLLER. */
static void lifecycle_shutdown(struct node *node) {
  controller_quorum_stop_channels(node->controller);
  node_subsystem_stopped(node);
}

static void lifecycle_free(struct node *node) {
  controller_quorum_stop_channels(node->controller);
}

const struct subsystem subsystem_broker_lifecycle = {
    .name = "broker lifecycle",
    .init = NULL,
    .start = lifecycle_start,
    .shutdown = lifecycle_shutdown,
    .free = lifecycle_free,
};
