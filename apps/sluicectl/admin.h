/* sluicectl's Kafka-client commands (topics, consumer-groups, configs,
 * cluster) go through librdkafka's admin API, as our users' other tools
 * do, so they work against Sluice and Apache Kafka alike. This is what they
 * share: the flag reader with kafka-topics.sh's names, the admin handle,
 * waiting for one result, and errors as one line on stderr. */
#ifndef SLUICECTL_ADMIN_H
#define SLUICECTL_ADMIN_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>

enum { ADMIN_TIMEOUT_MS = 30000, ADMIN_FLAGS_MAX = 64, ADMIN_LIST_MAX = 256 };

/* The parsed command line: --name value pairs and --name switches. */
struct flags {
  const char *names[ADMIN_FLAGS_MAX];
  const char *values[ADMIN_FLAGS_MAX]; /* NULL for a switch */
  int count;
};

/* Parses argv; `switches` lists the flags that take no value ("--list",
 * "--describe", ...), every other --flag takes one. Repeated flags (e.g.
 * --config) are kept in order. False (with the reason) on a bad command. */
bool flags_parse(struct flags *f, int argc, char **argv, const char *const *switches);
const char *flag(const struct flags *f, const char *name);
bool flag_on(const struct flags *f, const char *name);
/* Every value of a repeated flag, up to max; returns how many. */
int flag_all(const struct flags *f, const char *name, const char **out, int max);
/* A flag as a whole number in [lo, hi]; *ok false with the reason printed. */
long flag_long(const struct flags *f, const char *name, long lo, long hi, long dflt, bool *ok);
/* Every flag present is one of allowed; else prints the first stray one. */
bool flags_only(const struct flags *f, const char *const *allowed);

/* An admin client for --bootstrap-server (required; -X key=value and
 * --command-config FILE add librdkafka properties). NULL with the reason. */
rd_kafka_t *admin_open(const struct flags *f);
/* One admin request: begin makes the options (ADMIN_TIMEOUT_MS) and the
 * queue to pass to the rd_kafka_<Op> call; result waits for its event of
 * `type` and releases both. NULL when no answer came in time (said on
 * stderr) or the answer carries a request-level error (said as "what:
 * reason", unless what is NULL). The caller destroys the event. */
struct admin_call {
  rd_kafka_queue_t *q;
  rd_kafka_AdminOptions_t *options;
};
void admin_call_begin(struct admin_call *c, rd_kafka_t *rk, rd_kafka_admin_op_t op);
rd_kafka_event_t *admin_call_result(struct admin_call *c, rd_kafka_event_type_t type,
                                    const char *what);

/* "Error: ..." on stderr, as the Kafka tools say it; returns 1. */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int topics_cmd(int argc, char **argv);
int groups_cmd(int argc, char **argv);
int configs_cmd(int argc, char **argv);
int cluster_cmd(int argc, char **argv);
int produce_cmd(int argc, char **argv);
int consume_cmd(int argc, char **argv);

#endif
