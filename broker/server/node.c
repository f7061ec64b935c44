/* The node: opens log.dirs (meta.properties, topics), listens, runs the
 * periodic log maintenance, and shuts down cleanly: stop taking requests,
 * fsync every log, write the recovery-point and log-start checkpoints. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "log/atomic_file.h"
#include "log/checkpoint.h"
#include "server/files.h"
#include "server/handlers.h"
#include "server/server.h"

int32_t node_id(const struct node *node) { return node->cfg.node_id; }

/* meta.properties (Kafka's layout): cluster.id and node.id. A log dir that
 * belongs to another node is refused; a new one is formatted. */
static int meta_properties_load(struct node *node) {
  struct env *env = node->env;
  char path[512], value[64];
  str_fmt(path, sizeof path, "%s/meta.properties", node->cfg.log_dirs);
  struct buf text;
  buf_init(&text);
  int rc = atomic_file_read(env, path, &text);
  if (rc == 0) {
    const char *t = (const char *)text.data;
    int64_t id = -1;
    if (!properties_get(t, text.len, "cluster.id", node->cluster_id, sizeof node->cluster_id) ||
        ((properties_get(t, text.len, "node.id", value, sizeof value) ||
          properties_get(t, text.len, "broker.id", value, sizeof value)) &&
         !str_to_i64(value, &id))) {
      env_log(env, ENV_LOG_ERROR, "%s is malformed", path);
      rc = ENV_EINVAL;
    } else if (id != node->cfg.node_id) {
      env_log(env, ENV_LOG_ERROR, "%s belongs to node.id %lld, but node.id is %d", path,
              (long long)id, node->cfg.node_id);
      rc = ENV_EINVAL;
    } else if (node->cfg.cluster_id[0] && strcmp(node->cfg.cluster_id, node->cluster_id)) {
      env_log(env, ENV_LOG_ERROR, "%s has cluster.id %s, but the config says %s", path,
              node->cluster_id, node->cfg.cluster_id);
      rc = ENV_EINVAL;
    }
    buf_free(&text);
    return rc;
  }
  buf_free(&text);
  if (rc != ENV_ENOENT) return rc;
  if (node->cfg.cluster_id[0]) {
    str_fmt(node->cluster_id, sizeof node->cluster_id, "%s", node->cfg.cluster_id);
  } else {
    uuid_to_string(uuid_random(env), node->cluster_id);
  }
  char id[23], body[256];
  uuid_to_string(uuid_random(env), id);
  size_t n = str_fmt(body, sizeof body,
                     "#\n#Written by sluice\nnode.id=%d\ndirectory.id=%s\nversion=1\n"
                     "cluster.id=%s\n",
                     node->cfg.node_id, id, node->cluster_id);
  env_log(env, ENV_LOG_INFO, "formatting %s with cluster.id %s", node->cfg.log_dirs,
          node->cluster_id);
  str_fmt(path, sizeof path, "%s/meta.properties", node->cfg.log_dirs);
  return atomic_file_write(env, path, body, n, NULL, NULL);
}

static void maintain(void *ctx);

static void maintain_schedule(struct node *node) {
  uint64_t delay_ns = (uint64_t)node->cfg.log_retention_check_interval_ms * NS_PER_MS;
  node->maintain_timer = node->env->timer_start(node->env, delay_ns, maintain, node);
}

/* Rolls and retention (log.retention.check.interval.ms). */
static void maintain(void *ctx) {
  struct node *node = ctx;
  node->maintain_timer = 0;
  int64_t now_ms = node->env->wall_ms(node->env);
  int deleted = 0;
  for (int i = 0; i < node->topic_count; i++) {
    struct topic *t = node->topics[i];
    for (int32_t p = 0; p < t->partition_count; p++)
      deleted += plog_maintain(t->partitions[p].log, now_ms);
  }
  if (deleted > 0) {
    env_log(node->env, ENV_LOG_INFO, "retention deleted %d segments", deleted);
    node_write_checkpoints(node);
  }
  if (!node->shutting_down) maintain_schedule(node);
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
  purgatory_init(&node->purgatory, env, FETCH_WAITERS_MAX);
  int rc = env->mkdir(env, cfg->log_dirs);
  if (rc != 0 && rc != ENV_EEXIST) {
    env_log(env, ENV_LOG_ERROR, "cannot create log.dirs %s: error %d", cfg->log_dirs, rc);
    free(node);
    return rc;
  }
  rc = meta_properties_load(node);
  if (rc == 0) rc = topics_load(node);
  if (rc != 0) {
    topics_close_all(node);
    free(node);
    return rc;
  }
  net_dispatch_init(&node->net, env);
  *out = node;
  return 0;
}

int node_start(struct node *node) {
  struct env *env = node->env;
  struct net_owner owner = {.ops = &conn_owner_ops, .ctx = node};
  for (int i = 0; i < node->cfg.listener_count; i++) {
    const struct config_listener *l = &node->cfg.listeners[i];
    /* Typed listeners: a controller listener answers only the quorum's APIs. */
    const struct handler_table *table = config_is_controller_listener(&node->cfg, l->name)
                                            ? &handlers_controller
                                            : &handlers_client;
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
  quorum_peers_start(&node->quorum_peers, &node->net, &node->cfg);
  maintain_schedule(node);
  env_log(env, ENV_LOG_INFO, "sluice node %d started (cluster.id %s)", node->cfg.node_id,
          node->cluster_id);
  return 0;
}

uint16_t node_listener_port(struct node *node, int index) {
  if (index < 0 || index >= node->listener_count) return 0;
  return node->env->listener_port(node->env, node->listener_ids[index]);
}

static void shutdown_finish(struct node *node) {
  node->stopped = true;
  env_log(node->env, ENV_LOG_INFO, "sluice node %d shut down cleanly", node->cfg.node_id);
  if (node->shutdown_done) node->shutdown_done(node->shutdown_ctx);
}

static void checkpoints_start(struct node *node);

/* Both checkpoint files landed (renamed into place after their fsync). */
static void checkpoint_written(void *ctx, int err) {
  struct node *node = ctx;
  if (err != 0) env_log(node->env, ENV_LOG_ERROR, "writing a checkpoint failed: error %d", err);
  ASSERT(node->checkpoints_pending > 0);
  if (--node->checkpoints_pending > 0) return;
  if (node->checkpoints_again) {
    node->checkpoints_again = false;
    checkpoints_start(node);
  } else if (node->shutting_down && node->flushes_pending == 0 && !node->stopped) {
    shutdown_finish(node);
  }
}

static void write_checkpoint(struct node *node, const char *name, bool recovery) {
  int total = 0;
  for (int i = 0; i < node->topic_count; i++) total += node->topics[i]->partition_count;
  struct checkpoint_entry *entries = calloc((size_t)(total ? total : 1), sizeof *entries);
  ASSERT(entries != NULL);
  int n = 0;
  for (int i = 0; i < node->topic_count; i++) {
    struct topic *t = node->topics[i];
    for (int32_t p = 0; p < t->partition_count; p++, n++) {
      str_fmt(entries[n].topic, sizeof entries[n].topic, "%s", t->name);
      entries[n].partition = p;
      entries[n].offset = recovery ? plog_recovery_point(t->partitions[p].log)
                                   : plog_start_offset(t->partitions[p].log);
    }
  }
  char path[600];
  str_fmt(path, sizeof path, "%s/%s", node->cfg.log_dirs, name);
  int rc = checkpoint_write_then(node->env, path, entries, n, checkpoint_written, node);
  free(entries);
  if (rc != 0) checkpoint_written(node, rc); /* done is not called on failure */
}

static void checkpoints_start(struct node *node) {
  ASSERT(node->checkpoints_pending == 0);
  node->checkpoints_pending = 3; /* one guard count so neither can finish early */
  write_checkpoint(node, "recovery-point-offset-checkpoint", true);
  write_checkpoint(node, "log-start-offset-checkpoint", false);
  checkpoint_written(node, 0);
}

/* Kafka's offset checkpoints; one write of each file in flight (they share
 * a .tmp name), so a request while one is in flight runs after it. */
void node_write_checkpoints(struct node *node) {
  if (node->checkpoints_pending > 0) {
    node->checkpoints_again = true;
    return;
  }
  checkpoints_start(node);
}

static void shutdown_flushed(void *ctx, int err) {
  struct node *node = ctx;
  if (err != 0) env_log(node->env, ENV_LOG_ERROR, "flush at shutdown failed: error %d", err);
  ASSERT(node->flushes_pending > 0);
  if (--node->flushes_pending > 0) return;
  /* Everything is on disk: record it, and finish when the files land. */
  node_write_checkpoints(node);
}

void node_shutdown(struct node *node, void (*done)(void *ctx), void *ctx) {
  ASSERT(!node->shutting_down);
  env_log(node->env, ENV_LOG_INFO, "shutting down");
  node->shutting_down = true;
  node->shutdown_done = done;
  node->shutdown_ctx = ctx;
  if (node->maintain_timer) node->env->timer_cancel(node->env, node->maintain_timer);
  node->maintain_timer = 0;
  quorum_peers_stop(&node->quorum_peers);
  conns_close_all(node); /* cancels the requests parked in the purgatory */
  ASSERT(purgatory_waiter_count(&node->purgatory) == 0);
  /* One extra count so the completions cannot finish before all started. */
  node->flushes_pending = 1;
  for (int i = 0; i < node->topic_count; i++) {
    struct topic *t = node->topics[i];
    for (int32_t p = 0; p < t->partition_count; p++) {
      node->flushes_pending++;
      plog_flush(t->partitions[p].log, shutdown_flushed, node);
    }
  }
  shutdown_flushed(node, 0);
}

void node_destroy(struct node *node) {
  if (!node) return;
  if (node->maintain_timer) node->env->timer_cancel(node->env, node->maintain_timer);
  quorum_peers_stop(&node->quorum_peers);
  conns_close_all(node); /* cancels the requests parked in the purgatory */
  purgatory_deinit(&node->purgatory);
  topics_close_all(node);
  net_dispatch_free(&node->net);
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

const struct channel *node_quorum_channel(const struct node *node, int32_t id) {
  return quorum_peers_channel(&node->quorum_peers, id);
}

uint64_t node_quorum_probes_answered(const struct node *node) {
  return node->quorum_peers.stats.probes_answered;
}

bool node_partition_offsets(struct node *node, const char *topic, int32_t partition,
                            struct node_partition_offsets *out) {
  const struct partition *p = partition_find(node, kstr_of(topic), partition);
  if (!p) return false;
  out->log_start = plog_start_offset(p->log);
  out->log_end = plog_end_offset(p->log);
  out->high_watermark = partition_high_watermark(p);
  return true;
}
