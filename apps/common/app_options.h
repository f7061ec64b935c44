/* The options both web apps share, named as our users' tools name them:
 * --bootstrap-server (else KAFKA_BOOTSTRAP_SERVERS from the environment or
 * the .env file, as the seed apps read it), --topic, --port, and -X
 * key=value for any librdkafka property (kcat's habit). */
#ifndef SLUICE_APPS_APP_OPTIONS_H
#define SLUICE_APPS_APP_OPTIONS_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>

enum { APP_PROPERTIES_MAX = 64 };

struct app_options {
  const char *bootstrap;
  const char *topic;
  int port;
  const char *env_file;
  const char *group;                          /* the consumer app's group.id */
  long body_bytes_max;                        /* the producer app: a larger POST gets 413 */
  long delivery_timeout_ms;                   /* the producer app: then 503 */
  const char *properties[APP_PROPERTIES_MAX]; /* "key=value" from -X */
  int property_count;
};

/* Parses argv into o (defaults first). Returns 0, 1 after --help was
 * printed, or 2 after a usage error was printed. usage is the app's own
 * help text. */
int app_options_parse(struct app_options *o, int argc, char **argv, const char *usage);

/* Sets bootstrap.servers and every -X property on conf; false (with the
 * reason on stderr) if librdkafka refuses one. */
bool app_options_apply(const struct app_options *o, rd_kafka_conf_t *conf);

/* A librdkafka property or exit with its error: for the apps' own fixed
 * settings, which must be accepted. */
void app_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value);

#endif
