/* Topic-level configs (Kafka's LogConfig names), their defaults taken from
 * the broker's log.* keys, and per-topic overrides. */
#ifndef SLUICE_TOPIC_CONFIG_H
#define SLUICE_TOPIC_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "server/config.h"

enum topic_config_key {
  TC_CLEANUP_POLICY,
  TC_COMPRESSION_TYPE,
  TC_MAX_MESSAGE_BYTES,
  TC_MESSAGE_TIMESTAMP_TYPE,
  TC_MIN_INSYNC_REPLICAS,
  TC_RETENTION_BYTES,
  TC_RETENTION_MS,
  TC_SEGMENT_BYTES,
  TC_SEGMENT_INDEX_BYTES,
  TC_SEGMENT_MS,
  TC_INDEX_INTERVAL_BYTES,
  TC_FLUSH_MESSAGES,
  TC_FLUSH_MS,
  TC_UNCLEAN_LEADER_ELECTION_ENABLE,
  TC_COUNT,
};

/* Kafka's ConfigSource values in DescribeConfigs v1+. */
enum config_source {
  CONFIG_SOURCE_DYNAMIC_TOPIC = 1,
  CONFIG_SOURCE_STATIC_BROKER = 4,
  CONFIG_SOURCE_DEFAULT = 5,
};

/* Kafka's ConfigType values in DescribeConfigs v3+. */
enum config_type {
  CONFIG_TYPE_BOOLEAN = 1,
  CONFIG_TYPE_STRING = 2,
  CONFIG_TYPE_INT = 3,
  CONFIG_TYPE_LONG = 5,
  CONFIG_TYPE_LIST = 7,
};

struct topic_config {
  char values[TC_COUNT][32];
  enum config_source source[TC_COUNT];
};

struct topic_config_info {
  const char *name;
  enum config_type type;
  const char *broker_key; /* the broker setting it defaults from, or NULL */
};

const struct topic_config_info *topic_config_info(enum topic_config_key key);
int topic_config_find(const char *name); /* -1 if unknown */
void topic_config_init(struct topic_config *tc, const struct config *broker);
/* Sets an override; false with the reason in err when the value is bad. */
bool topic_config_set(struct topic_config *tc, const char *name, const char *value, char *err,
                      size_t err_cap);
int64_t topic_config_i64(const struct topic_config *tc, enum topic_config_key key);
const char *topic_config_str(const struct topic_config *tc, enum topic_config_key key);

#endif
