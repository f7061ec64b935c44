/* A KRaft cluster of real nodes in the simulated world, for unit tests:
 * `voters` combined nodes (process.roles=broker,controller, voters 1..n of
 * controller.quorum.voters) and broker-only observers after them, each on
 * formatted storage (KIP-631), hosts broker1, broker2, ... with a client
 * listener on 9092 and the controllers' on 9093. Linked into every unit
 * test binary (the Makefile); test_quorum.c and test_raft_snapshot.c still
 * have their own set-up, to move here. */
#ifndef SLUICE_TEST_CLUSTER_FIXTURE_H
#define SLUICE_TEST_CLUSTER_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "server/config.h"

enum { CLUSTER_NODES_MAX = 8 };

struct sim_world;
struct sim_node;
struct node;
struct meta_image;

struct cluster_fixture {
  struct sim_world *w;
  int voters, count;
  struct sim_node *sim[CLUSTER_NODES_MAX];
  struct node *node[CLUSTER_NODES_MAX]; /* NULL while down */
  /* Optional: more configs for node i before it starts. */
  void (*configure)(void *ctx, int i, struct config *cfg);
  void *configure_ctx;
};

/* Creates the world and its nodes (not started: cluster_fixture_up each,
 * or cluster_fixture_start for all). */
void cluster_fixture_init(struct cluster_fixture *c, uint64_t seed, int voters, int count);
void cluster_fixture_start(struct cluster_fixture *c);
/* Crashes the nodes still up, frees them and the world. */
void cluster_fixture_free(struct cluster_fixture *c);

void cluster_fixture_up(struct cluster_fixture *c, int i);
/* A power loss: the process dies with what was not fsynced. */
void cluster_fixture_kill(struct cluster_fixture *c, int i);
void cluster_fixture_restart(struct cluster_fixture *c, int i);

void cluster_fixture_run_ms(struct cluster_fixture *c, uint64_t ms);
const struct meta_image *cluster_fixture_image(const struct cluster_fixture *c, int i);
/* Runs until every node up has every node up registered and unfenced in
 * its image; fails the test past bound_ms. */
void cluster_fixture_registered(struct cluster_fixture *c, int bound_ms);

#endif
