/* The broker's life cycle towards the controller (Kafka's
 * BrokerLifecycleManager, KIP-631): registration once the listeners are up,
 * so the controller learns the endpoint clients reach.
 *
 * With a quorum (controller.quorum.voters set) the registration goes to the
 * active controller and the broker starts fenced; every
 * broker.heartbeat.interval.ms it sends a BrokerHeartbeat with the offset
 * of its metadata image, and the controller unfences it once that offset
 * has reached its registration record (it caught up with the log). A
 * broker silent for broker.session.timeout.ms is fenced by the controller.
 * An answer naming another registration (STALE_BROKER_EPOCH,
 * BROKER_ID_NOT_REGISTERED) makes it register again. At shutdown it asks
 * for a controlled shutdown (WantShutDown): the controller fences it and
 * moves its partitions' leaderships, and the broker stops once told to, or
 * after broker.session.timeout.ms without an answer. */
#include "base/assert.h"
#include "base/str.h"
#include "proto/errors.h"
#include "server/controller_quorum.h"
#include "server/files.h"
#include "server/replication.h"
#include "server/server.h"
#include "server/subsystem.h"

enum { SHUTDOWN_RETRY_MS = 100 }; /* a controlled shutdown's heartbeats */

static bool quorum_mode(const struct node *node) { return node->loader != NULL; }

static void lifecycle_timer(void *ctx);

static void schedule(struct node *node, uint32_t delay_ms) {
  struct broker_lifecycle *lc = &node->lifecycle;
  if (lc->timer) node->env->timer_cancel(node->env, lc->timer);
  lc->timer =
      node->env->timer_start(node->env, (uint64_t)delay_ms * NS_PER_MS, lifecycle_timer, node);
}

static void stop_now(struct node *node) {
  struct broker_lifecycle *lc = &node->lifecycle;
  ASSERT(lc->stopping && !lc->stopped);
  lc->stopped = true;
  if (lc->timer) node->env->timer_cancel(node->env, lc->timer);
  lc->timer = 0;
  controller_quorum_stop_channels(node->controller);
  node_subsystem_stopped(node);
}

static void registered(void *ctx, int16_t error) {
  struct node *node = ctx;
  struct broker_lifecycle *lc = &node->lifecycle;
  if (lc->stopped) return;
  lc->waiting = false;
  if (error != KERR_NONE) {
    if (!node->shutting_down)
      env_log(node->env, ENV_LOG_ERROR, "broker registration failed: %s", kerr_name(error));
    if (quorum_mode(node) && !lc->stopping) schedule(node, 1000); /* try again */
    if (lc->stopping) stop_now(node);
    return;
  }
  if (!quorum_mode(node)) return; /* the local controller: no sessions */
  const struct meta_broker *b = meta_image_broker(node->image, node_id(node));
  lc->broker_epoch = b ? b->epoch : -1;
  lc->fenced = true;
  env_log(node->env, ENV_LOG_INFO,
          "registered as broker %d with epoch %lld (fenced until caught up)", node_id(node),
          (long long)lc->broker_epoch);
  partition_roles_resume(node);
  if (lc->stopping)
    schedule(node, 0);
  else
    schedule(node, 0); /* the first heartbeat at once */
}

static void registration_send(struct node *node) {
  struct broker_lifecycle *lc = &node->lifecycle;
  const struct config_listener *l = config_client_listener(&node->cfg);
  if (!l) return; /* no client listener: nothing to advertise */
  struct meta_broker_registration r = {.broker_id = node_id(node),
                                       .incarnation_id = lc->incarnation_id,
                                       .previous_broker_epoch = lc->previous_broker_epoch};
  struct kstr host;
  int32_t port;
  node_endpoint(node, &host, &port);
  str_fmt(r.listener, sizeof r.listener, "%s", l->name);
  str_fmt(r.host, sizeof r.host, "%.*s", (int)host.len, host.ptr);
  r.port = (uint16_t)port;
  lc->waiting = true;
  node->controller->ops->register_broker(node->controller, &r, registered, node);
}

static void heartbeat_answered(void *ctx, const struct meta_heartbeat_result *r) {
  struct node *node = ctx;
  struct broker_lifecycle *lc = &node->lifecycle;
  if (lc->stopped) return;
  lc->waiting = false;
  if (r->error_code == KERR_STALE_BROKER_EPOCH ||
      r->error_code == KERR_BROKER_ID_NOT_REGISTERED) {
    env_log(node->env, ENV_LOG_WARN, "heartbeat refused (%s): registering again",
            kerr_name(r->error_code));
    lc->broker_epoch = -1;
  } else if (r->error_code == KERR_NONE && r->is_fenced != lc->fenced && !lc->stopping) {
    lc->fenced = r->is_fenced;
    env_log(node->env, ENV_LOG_INFO, "broker %d is %s", node_id(node),
            r->is_fenced ? "fenced" : "unfenced");
  }
  if (lc->stopping) {
    bool told = r->error_code == KERR_NONE && r->should_shut_down;
    if (told || node->env->now_ns(node->env) >= lc->stop_deadline_ns || lc->broker_epoch < 0) {
      if (told) env_log(node->env, ENV_LOG_INFO, "controlled shutdown granted");
      stop_now(node);
    } else {
      schedule(node, SHUTDOWN_RETRY_MS);
    }
    return;
  }
  schedule(node, r->error_code == KERR_NONE || lc->broker_epoch < 0
                     ? (uint32_t)node->cfg.broker_heartbeat_interval_ms
                     : (uint32_t)node->cfg.broker_heartbeat_interval_ms / 4 + 1);
}

static void heartbeat_send(struct node *node) {
  struct broker_lifecycle *lc = &node->lifecycle;
  struct meta_heartbeat hb = {.broker_id = node_id(node),
                              .broker_epoch = lc->broker_epoch,
                              .current_metadata_offset = node->image->offset,
                              .want_fence = false,
                              .want_shut_down = lc->stopping};
  uint64_t deadline_ns = node->env->now_ns(node->env) +
                         (uint64_t)node->cfg.broker_heartbeat_interval_ms * NS_PER_MS;
  lc->waiting = true;
  controller_quorum_heartbeat(node->controller, &hb, deadline_ns, heartbeat_answered, node);
}

static void lifecycle_timer(void *ctx) {
  struct node *node = ctx;
  struct broker_lifecycle *lc = &node->lifecycle;
  lc->timer = 0;
  if (lc->stopped || lc->waiting) return; /* the answer schedules the next */
  if (lc->stopping && node->env->now_ns(node->env) >= lc->stop_deadline_ns) {
    env_log(node->env, ENV_LOG_WARN, "controlled shutdown not granted in time: stopping");
    stop_now(node);
  } else if (lc->broker_epoch < 0) {
    if (lc->stopping)
      stop_now(node);
    else
      registration_send(node);
  } else {
    heartbeat_send(node);
  }
}

bool broker_registered(const struct node *node) {
  if (!quorum_mode(node)) return true;
  const struct meta_broker *b = meta_image_broker(node->image, node_id(node));
  return b != NULL && node->lifecycle.broker_epoch >= 0 &&
         b->epoch == node->lifecycle.broker_epoch;
}

bool broker_ready(const struct node *node) {
  if (!quorum_mode(node)) return true;
  const struct meta_broker *b = meta_image_broker(node->image, node_id(node));
  return b != NULL && !b->fenced && b->epoch == node->lifecycle.broker_epoch;
}

void broker_lifecycle_published(struct node *node) {
  struct broker_lifecycle *lc = &node->lifecycle;
  partition_roles_resume(node);
  if (lc->ready_watches.count == 0 || !broker_ready(node)) return;
  const int64_t positions[WATCH_KINDS] = {1, 1};
  purgatory_wake(&node->purgatory, &lc->ready_watches, positions);
}

/* KIP-631: this node, at the endpoint clients reach, once it listens. */
static int lifecycle_start(struct node *node) {
  ASSERT(node->controller != NULL);
  struct broker_lifecycle *lc = &node->lifecycle;
  lc->broker_epoch = -1;
  lc->incarnation_id = uuid_random(node->env);
  registration_send(node);
  return 0;
}

/* A registered broker of a quorum asks for a controlled shutdown first;
 * then the controller channels close before the quorum and the server stop
 * (their dispatcher goes with the server). */
static void lifecycle_shutdown(struct node *node) {
  struct broker_lifecycle *lc = &node->lifecycle;
  lc->stopping = true;
  if (!quorum_mode(node) || lc->broker_epoch < 0) {
    stop_now(node);
    return;
  }
  lc->stop_deadline_ns =
      node->env->now_ns(node->env) + (uint64_t)node->cfg.broker_session_timeout_ms * NS_PER_MS;
  if (!lc->waiting) schedule(node, 0);
}

static void lifecycle_free(struct node *node) {
  struct broker_lifecycle *lc = &node->lifecycle;
  lc->stopped = true;
  if (lc->timer && node->env) node->env->timer_cancel(node->env, lc->timer);
  lc->timer = 0;
  controller_quorum_stop_channels(node->controller);
}

const struct subsystem subsystem_broker_lifecycle = {
    .name = "broker lifecycle",
    .init = NULL,
    .start = lifecycle_start,
    .shutdown = lifecycle_shutdown,
    .free = lifecycle_free,
};
