/* The node: its subsystems, in order, and their life cycle.
 *
 * The order (server/subsystem.h), and why:
 *   1. log manager: log.dirs and meta.properties first; everything else
 *      lives in them. Shut down last: every log fsynced, then checkpoints.
 *   2. metadata: the controller builds the first image from storage and
 *      publishes it, which opens every log; it needs the log manager.
 *   3. group coordinator (group_coordinator.c): its state machine and
 *      tick. Before the server, so that the server's sessions, which may
 *      hold parked joins and syncs, close (and cancel them) while it
 *      still exists, on a shutdown as on a crash's free.
 *   4. server: the dispatcher, the listeners and the client sessions. It
 *      starts once the image exists, so no request sees a node without
 *      metadata, and it takes env's network handler only then.
 *   5. raft: the KIP-595 quorum (raft_node.c). Its init reads quorum-state
 *      and the metadata log (storage is ready); its start opens the quorum
 *      channels over the server's dispatcher and serves the controller
 *      listener's quorum APIs, which the server routes to it from then on.
 *      It starts before the broker lifecycle because registration will go
 *      through the Raft-backed controller, and shuts down after it (a
 *      controlled shutdown still has a quorum) but before the server (a
 *      leader's EndQuorumEpoch goes out, then the sessions close).
 *   6. broker lifecycle: registration with the controller, which needs the
 *      listeners' ports (port 0 picks one).
 * Shutdown runs in reverse: the broker lifecycle stops, the quorum leader
 * resigns and the metadata log lands, the server stops taking requests and
 * closes its sessions, the controller answers what waits on it, the logs
 * are made durable. Each step starts when the one before it
 * reported node_subsystem_stopped. Free runs in reverse too.
 *
 * The Raft-backed controller (the next step) will need the replayed
 * metadata log at the metadata subsystem's init: raft's storage part then
 * moves ahead of metadata (its own subsystem, or the dispatcher out of the
 * server), while its network part stays after the server. */
#include <stdlib.h>

#include "base/assert.h"
#include "server/controller_quorum.h"
#include "server/metadata_loader.h"
#include "server/replication.h"
#include "server/server.h"
#include "server/subsystem.h"

static const struct subsystem *const subsystems[] = {
    &subsystem_log_manager, &subsystem_metadata, &subsystem_groups,
    &subsystem_server,      &subsystem_raft,     &subsystem_broker_lifecycle,
};
enum { SUBSYSTEM_COUNT = (int)ARRAY_LEN(subsystems) };

int32_t node_id(const struct node *node) { return node->cfg.node_id; }

static void subsystems_free(struct node *node, int count) {
  ASSERT(count >= 0 && count <= SUBSYSTEM_COUNT);
  for (int i = count - 1; i >= 0; i--) subsystems[i]->free(node);
}

int node_create(struct env *env, const struct config *cfg, struct node **out) {
  if (cfg->node_id < 0) {
    env_log(env, ENV_LOG_ERROR, "node.id must be set");
    return ENV_EINVAL;
  }
  struct node *node = calloc(1, sizeof *node);
  ASSERT(node != NULL);
  node->env = env;
  node->cfg = *cfg;
  for (int i = 0; i < SUBSYSTEM_COUNT; i++) {
    int rc = subsystems[i]->init ? subsystems[i]->init(node) : 0;
    if (rc != 0) {
      subsystems_free(node, SUBSYSTEM_COUNT); /* free is safe on what never ran */
      free(node);
      return rc;
    }
  }
  *out = node;
  return 0;
}

int node_start(struct node *node) {
  ASSERT(!node->started && !node->shutting_down);
  for (int i = 0; i < SUBSYSTEM_COUNT; i++) {
    int rc = subsystems[i]->start ? subsystems[i]->start(node) : 0;
    if (rc != 0) {
      env_log(node->env, ENV_LOG_ERROR, "%s did not start: error %d", subsystems[i]->name, rc);
      return rc; /* the caller destroys the node */
    }
  }
  node->started = true;
  env_log(node->env, ENV_LOG_INFO, "sluice node %d started (cluster.id %s)", node->cfg.node_id,
          node->cluster_id);
  return 0;
}

const struct meta_image *node_metadata_image(const struct node *node) { return node->image; }

int64_t node_metadata_applied_offset(const struct node *node) {
  if (!node->loader) return -1;
  return metadata_loader_offset(node) + 1;
}

bool node_controller_idle(const struct node *node) {
  return controller_quorum_idle(node->controller);
}

uint16_t node_listener_port(struct node *node, int index) {
  if (index < 0 || index >= node->listener_count) return 0;
  return node->env->listener_port(node->env, node->listener_ids[index]);
}

/* Shuts down subsystems[shutdown_next] and the ones before it, one
 * after another (each reports node_subsystem_stopped, at once or later). */
static void shutdown_next(struct node *node) {
  ASSERT(node->shutting_down && !node->stopped);
  if (node->shutdown_next < 0) {
    node->stopped = true;
    env_log(node->env, ENV_LOG_INFO, "sluice node %d shut down cleanly", node->cfg.node_id);
    if (node->shutdown_done) node->shutdown_done(node->shutdown_ctx);
    return;
  }
  const struct subsystem *s = subsystems[node->shutdown_next];
  ASSERT(!node->subsystem_stopping);
  node->subsystem_stopping = true;
  if (s->shutdown)
    s->shutdown(node);
  else
    node_subsystem_stopped(node);
}

void node_subsystem_stopped(struct node *node) {
  ASSERT(node->shutting_down && node->subsystem_stopping);
  ASSERT(node->shutdown_next >= 0 && node->shutdown_next < SUBSYSTEM_COUNT);
  node->subsystem_stopping = false;
  node->shutdown_next--;
  shutdown_next(node);
}

void node_shutdown(struct node *node, void (*done)(void *ctx), void *ctx) {
  ASSERT(!node->shutting_down);
  env_log(node->env, ENV_LOG_INFO, "shutting down");
  node->shutting_down = true;
  node->shutdown_done = done;
  node->shutdown_ctx = ctx;
  node->shutdown_next = SUBSYSTEM_COUNT - 1;
  shutdown_next(node);
}

void node_destroy(struct node *node) {
  if (!node) return;
  ASSERT(!node->subsystem_stopping || node->shutting_down);
  subsystems_free(node, SUBSYSTEM_COUNT);
  requests_spare_free(node);          /* after the requests the subsystems freed */
  arena_pool_free(&node->arena_pool); /* likewise */
  free(node);
}

/* Where clients reach this node: the advertised address of the first client
 * listener (its actual port when the config asked for port 0). */
void node_endpoint(struct node *node, struct kstr *host, int32_t *port) {
  const struct config_listener *l = config_client_listener(&node->cfg);
  ASSERT(l != NULL);
  const struct config_listener *adv = config_advertised_for(&node->cfg, l->name);
  const char *h = adv && adv->host[0] ? adv->host : l->host[0] ? l->host : "localhost";
  *host = kstr_of(h);
  *port = adv && adv->port ? adv->port : 0;
  if (*port == 0) {
    int index = (int)(l - node->cfg.listeners);
    *port = index < node->listener_count
                ? node->env->listener_port(node->env, node->listener_ids[index])
                : l->port;
  }
}

void node_metrics_text(const struct node *node, struct buf *out) { metrics_render(node, out); }

int node_offline_logs(const struct node *node) {
  int count = 0;
  for (int i = 0; i < node->topic_count; i++)
    for (int32_t p = 0; p < node->topics[i]->partition_count; p++)
      if (partition_hosted(&node->topics[i]->partitions[p]))
        count += plog_offline(node->topics[i]->partitions[p].log);
  return count;
}

bool node_partition_offsets(struct node *node, const char *topic, int32_t partition,
                            struct node_partition_offsets *out) {
  const struct partition *p = partition_find(node, kstr_of(topic), partition);
  if (!p) return false;
  out->log_start = plog_start_offset(p->log);
  out->log_end = plog_end_offset(p->log);
  out->high_watermark = partition_high_watermark(p);
  out->local_end = partition_local_end(p);
  return true;
}

void node_topic_local_ends(struct node *node, const char *topic, int64_t *out, int32_t count) {
  ASSERT(count >= 0);
  struct kstr name = kstr_of(topic);
  for (int32_t i = 0; i < count; i++) out[i] = -1;
  if (name.len <= 0) return;
  struct topic *t = topic_find_remembered(node, name.ptr, (size_t)name.len);
  if (!t) return;
  int32_t hosted = count < t->partition_count ? count : t->partition_count;
  for (int32_t i = 0; i < hosted; i++)
    if (partition_hosted(&t->partitions[i])) out[i] = partition_local_end(&t->partitions[i]);
}

bool node_reassign(struct node *node, const struct meta_reassign *parts, int32_t count,
                   meta_topics_done_fn done, void *ctx) {
  ASSERT(node != NULL && done != NULL && count >= 0);
  if (node->loader == NULL || node->controller == NULL) return false;
  controller_quorum_reassign(node->controller, parts, count, META_NO_DEADLINE, done, ctx);
  return true;
}

bool node_partition_stale_fetch(struct node *node, const char *topic, int32_t partition,
                                struct node_stale_fetch *out) {
  const struct partition *p = partition_find(node, kstr_of(topic), partition);
  if (!p || !p->leader) return false;
  const struct partition_leader *l = p->leader;
  for (int32_t i = 0; i < l->replica_count; i++) {
    const struct replica_progress *r = &l->replicas[i];
    if (r->fetch_epoch_min < 0 || r->fetch_epoch_min >= l->leader_epoch) continue;
    *out = (struct node_stale_fetch){r->broker_id, r->fetch_epoch_min, l->leader_epoch};
    return true;
  }
  return false;
}
