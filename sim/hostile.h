/* Hostile clients and the bystander (issue 13 item 5).
 *
 * Hostile clients run next to a scenario's workload, each on a host of its
 * own (so max.connections.per.ip counts each apart), all aimed at the first
 * broker. They speak Kafka frames written here by hand and never take part
 * in the history: what they do is to load the broker, not to be judged.
 *
 *   partition-flood   CreateTopics asking 10,000 partitions, every 200 ms
 *   unknown-topics    Metadata naming 3,000 unknown topics, auto-create on,
 *                     every 500 ms
 *   slow-reader       two connections pipelining Fetch (every 10 ms, at most
 *                     500 each) and never reading a byte of the answers
 *   slow-writer       four connections each sending a length prefix that
 *                     claims an 8 MiB Produce, then 1 KiB of it every 10 ms
 *   connection-flood  100 connections at once, reopened every second
 *   compression-bomb  every second a Produce of one zstd batch whose record
 *                     inflates to 4 MiB of zeros, to a topic it creates with
 *                     compression.type gzip (hostile-bomb)
 *
 * The bystander is a well-behaved client on its own host: one ApiVersions at
 * a time, the next 10 ms after each answer. Its checker, bystander-wait,
 * fails the run when one request waited (simulated time) longer than the
 * scenario's bound, or was still unanswered past it at the end.
 *
 * The simulator charges no simulated time for CPU work: a handler runs at
 * the instant of its event whatever it costs. So a request that takes a
 * long turn of the loop (10,000 partitions created in one go) cannot show
 * as a wait here; what can is every wait the broker's own scheduling and
 * budgets impose (the ready list, a connection paused for its output or for
 * queued.max.request.bytes, a refused connection). The second checker,
 * response-budget, measures the work instead of time: the most response
 * bytes one broker connection held queued unsent when another response was
 * sent on it (sim_net_stats.send_queued_peak_bytes) must stay within
 * sluice.connection.response.bytes.max; a broker that keeps answering a
 * slow reader past its budget fails it. */
#ifndef SLUICE_SIM_HOSTILE_H
#define SLUICE_SIM_HOSTILE_H

#include <stdint.h>

#include "sim/history.h"
#include "sim/prng.h"

struct scenario;
struct sim_world;
struct sim_node;

enum hostile_kind {
  HOSTILE_PARTITION_FLOOD,
  HOSTILE_UNKNOWN_TOPICS,
  HOSTILE_SLOW_READER,
  HOSTILE_SLOW_WRITER,
  HOSTILE_CONNECTION_FLOOD,
  HOSTILE_COMPRESSION_BOMB,
  HOSTILE_KINDS,
};

extern const char *const hostile_kind_names[HOSTILE_KINDS];
/* The kind of that name; -1 if none. */
int hostile_kind_of(const char *name);

enum { HOSTILE_CHECKERS = 2 }; /* bystander-wait, response-budget */

struct hostile;

/* Starts the scenario's hostile clients and its bystander (when it states
 * a bystander_wait bound), on new hosts of w, against `broker` on `port`.
 * NULL when the scenario has neither. */
struct hostile *hostile_start(struct sim_world *w, const struct scenario *sc,
                              struct sim_node *broker, uint16_t port);
/* bystander-wait and response-budget into out (HOSTILE_CHECKERS room);
 * returns how many were written. */
int hostile_judge(struct hostile *h, struct check_result *out, int out_max);
/* One line of figures for the run's output (bystander requests, longest
 * wait, refused connections, budget waits); "" when nothing ran. */
void hostile_summary(const struct hostile *h, char *out, size_t cap);
void hostile_free(struct hostile *h);

/* The swarm's drawing, on its own stream forked from the seed's root
 * ("swarm.hostile"): a quarter of the one-node seeds get some hostile
 * kinds, with the budgets set low enough to bite, and, when they drew no
 * fault, a bystander bound of 100 ms. */
void hostile_draw(const struct sim_rng *root, struct scenario *out);

#endif
