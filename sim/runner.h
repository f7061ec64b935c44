/* Runs one scenario with one seed: brokers on simulated nodes, producers and
 * consumers on client nodes, the fault timeline, then a liveness phase and a
 * final read; the history goes to the checkers. */
#ifndef SLUICE_SIM_RUNNER_H
#define SLUICE_SIM_RUNNER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/group_check.h"
#include "sim/history.h"
#include "sim/hostile.h"
#include "sim/quorum_check.h"
#include "sim/replica_check.h"
#include "sim/scenario.h"

struct sim_world;

struct run_options {
  bool verbose;           /* log lines to stderr */
  FILE *trace;            /* every log line, fault and client event; NULL: none */
  const char *report_dir; /* history, timeline and charts' data; NULL: none */
  /* Holds the run's world while it exists (NULL before and after), for a
   * crash report to read the virtual time (sim/crash.h); NULL: not kept.
   * The run never reads it back. */
  struct sim_world **world_slot;
};

struct run_report {
  uint64_t trace_hash;
  uint64_t events;
  double simulated_s;
  uint64_t sent, acked, failed, polled;
  /* Where the disk model cut a log at a broker start (or found a flipped
   * batch at the end), and the broker processes started. */
  uint64_t cuts, broker_starts;
  uint64_t unavailable_ns; /* the longest stretch without an acknowledgement */
  /* the history's checkers (+ topic-churn, with admin clients); with
   * several nodes, the quorum's (sim/quorum_check.h) first, and with
   * clients then theirs and fenced-broker-excluded */
  struct check_result results[QUORUM_CHECKERS + CHECKERS_MAX + 2 + REPLICA_CHECKERS +
                              GROUP_CHECKERS + HOSTILE_CHECKERS];
  /* Consumer groups: the rebalance times after member crashes. */
  char groups_text[512];
  /* Hostile clients and the bystander (sim/hostile.h): the run's figures. */
  char hostile_text[768];
  /* Several nodes: virtual ms from each fault that took the leader away to
   * the next leader, and the records the workload proposed. */
  uint64_t elections_ms[QUORUM_ELECTIONS_MAX];
  int election_count;
  uint64_t proposals;
  /* Several nodes with clients: who led the first topic's partition 0
   * before the first fault and after, when the faults and its leader
   * changes happened (from the active controller's images), and the
   * longest produce unavailability: the front door's lines. */
  char leaders_text[1024];
  int result_count;
  bool passed;
  char why[256]; /* when the run could not happen at all */
};

/* A cluster's layout, for its nodes' server.properties. */
struct sim_cluster {
  int nodes;
  enum node_role roles[SCENARIO_NODES_MAX];
  const struct scenario_kv *config; /* every node's extra keys, last */
  int config_count;
};

enum { SIM_BROKER_PORT = 9092, SIM_CONTROLLER_PORT = 10092 };
/* Every node of a multi-node cluster has it (Vote and Fetch check it). */
#define SIM_CLUSTER_ID "c2x1aWNlLXNpbS1jbHVzdA" /* "sluice-sim-clust", a valid Uuid */

/* Node index's host: broker<n> (combined or broker), controller<n>. */
const char *sim_node_host_name(enum node_role role, int index, char *out, size_t cap);
/* Node index's server.properties (node.id index + 1): one node, a broker
 * with a PLAINTEXT listener; several, KRaft's layout: PLAINTEXT on 9092 for
 * a broker, CONTROLLER on 10092 for a controller (both when combined), every
 * controller a voter of controller.quorum.voters. The length written (it
 * must fit: asserted). */
size_t sim_node_properties(const struct sim_cluster *c, int index, char *out, size_t cap);

/* false if the scenario cannot run here (why says so). */
bool run_scenario(const struct scenario *sc, uint64_t seed, const struct run_options *opts,
                  struct run_report *out);

#endif
