#include "cluster_fixture.h"

#include <stdio.h>
#include <string.h>

#include "meta/image.h"
#include "server/node.h"
#include "server/storage_format.h"
#include "sim/world.h"
#include "testing.h"

enum { FIXTURE_STEP_MS = 10 };

static void set(struct config *cfg, const char *key, const char *value) {
  char err[256];
  ck_assert_msg(config_set(cfg, key, value, NULL, err, sizeof err), "%s: %s", key, err);
}

void cluster_fixture_init(struct cluster_fixture *c, uint64_t seed, int voters, int count) {
  ck_assert(voters >= 1 && voters <= count && count <= CLUSTER_NODES_MAX);
  memset(c, 0, sizeof *c);
  c->w = sim_world_create(seed);
  c->voters = voters;
  c->count = count;
  for (int i = 0; i < count; i++) {
    char host[32];
    snprintf(host, sizeof host, "broker%d", i + 1);
    c->sim[i] = sim_node_add(c->w, i + 1, host);
  }
}

void cluster_fixture_start(struct cluster_fixture *c) {
  for (int i = 0; i < c->count; i++) cluster_fixture_up(c, i);
}

void cluster_fixture_up(struct cluster_fixture *c, int i) {
  ck_assert(i >= 0 && i < c->count);
  ck_assert_ptr_null(c->node[i]);
  struct config cfg;
  config_defaults(&cfg);
  char voters[256] = "", value[256];
  for (int v = 0; v < c->voters; v++) {
    size_t len = strlen(voters);
    snprintf(voters + len, sizeof voters - len, "%s%d@broker%d:9093", v ? "," : "", v + 1,
             v + 1);
  }
  const char *host = sim_node_host(c->sim[i]);
  cfg.node_id = i + 1;
  snprintf(cfg.log_dirs, sizeof cfg.log_dirs, "/logs");
  set(&cfg, "cluster.id", STORAGE_TEST_CLUSTER_ID);
  set(&cfg, "controller.quorum.voters", voters);
  set(&cfg, "controller.listener.names", "CONTROLLER");
  if (i >= c->voters) {
    snprintf(value, sizeof value, "PLAINTEXT://%s:9092", host);
    set(&cfg, "process.roles", "broker");
  } else {
    snprintf(value, sizeof value, "PLAINTEXT://%s:9092,CONTROLLER://%s:9093", host, host);
    set(&cfg, "process.roles", "broker,controller");
  }
  set(&cfg, "listeners", value);
  if (c->configure) c->configure(c->configure_ctx, i, &cfg);
  /* KRaft-mode nodes start only on formatted storage (KIP-631); a restart
   * finds it formatted already. */
  char err[256];
  ck_assert_int_ge(storage_format(sim_node_env(c->sim[i]), &cfg, cfg.cluster_id, true, NULL,
                                  NULL, err, sizeof err, NULL, NULL),
                   0);
  ck_assert_int_eq(node_create(sim_node_env(c->sim[i]), &cfg, &c->node[i]), 0);
  ck_assert_int_eq(node_start(c->node[i]), 0);
}

void cluster_fixture_kill(struct cluster_fixture *c, int i) {
  ck_assert_ptr_nonnull(c->node[i]);
  sim_node_crash(c->sim[i]);
  node_destroy(c->node[i]);
  c->node[i] = NULL;
}

void cluster_fixture_restart(struct cluster_fixture *c, int i) {
  sim_node_restart(c->sim[i]);
  cluster_fixture_up(c, i);
}

void cluster_fixture_free(struct cluster_fixture *c) {
  for (int i = 0; i < c->count; i++) {
    if (c->node[i]) sim_node_crash(c->sim[i]);
    node_destroy(c->node[i]);
    c->node[i] = NULL;
  }
  sim_world_destroy(c->w);
  c->w = NULL;
}

void cluster_fixture_run_ms(struct cluster_fixture *c, uint64_t ms) {
  sim_run_until(c->w, sim_now_ns(c->w) + ms * NS_PER_MS);
}

const struct meta_image *cluster_fixture_image(const struct cluster_fixture *c, int i) {
  ck_assert_ptr_nonnull(c->node[i]);
  return node_metadata_image(c->node[i]);
}

static bool all_registered(const struct cluster_fixture *c) {
  for (int i = 0; i < c->count; i++) {
    if (!c->node[i]) continue;
    for (int j = 0; j < c->count; j++) {
      const struct meta_broker *b = meta_image_broker(cluster_fixture_image(c, i), j + 1);
      if (c->node[j] && (b == NULL || b->fenced)) return false;
    }
  }
  return true;
}

void cluster_fixture_registered(struct cluster_fixture *c, int bound_ms) {
  for (int t = 0; t <= bound_ms; t += FIXTURE_STEP_MS) {
    if (all_registered(c)) return;
    cluster_fixture_run_ms(c, FIXTURE_STEP_MS);
  }
  ck_abort_msg("the cluster's brokers did not all register within %d ms", bound_ms);
}
