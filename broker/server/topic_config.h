/* Topic-level configs (Kafka's LogConfig names), their defaults taken from
 * the broker's log.* keys, and per-topic overrides. */
#ifndef SLUICE_TOPIC_CONFIG_H
#define SLUICE_TOPIC_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "server/config.h"
#include "server/config_catalog.h"

/* Kafka 3.9's topic configs (LogConfig), sorted by name: the first TC_COUNT
 * entries of the config catalog, in this order. */
enum topic_config_key {
  TC_CLEANUP_POLICY,
  TC_COMPRESSION_GZIP_LEVEL,
  TC_COMPRESSION_LZ4_LEVEL,
  TC_COMPRESSION_TYPE,
  TC_COMPRESSION_ZSTD_LEVEL,
  TC_DELETE_RETENTION_MS,
  TC_FILE_DELETE_DELAY_MS,
  TC_FLUSH_MESSAGES,
  TC_FLUSH_MS,
  TC_FOLLOWER_REPLICATION_THROTTLED_REPLICAS,
  TC_INDEX_INTERVAL_BYTES,
  TC_LEADER_REPLICATION_THROTTLED_REPLICAS,
  TC_LOCAL_RETENTION_BYTES,
  TC_LOCAL_RETENTION_MS,
  TC_MAX_COMPACTION_LAG_MS,
  TC_MAX_MESSAGE_BYTES,
  TC_MESSAGE_DOWNCONVERSION_ENABLE,
  TC_MESSAGE_FORMAT_VERSION,
  TC_MESSAGE_TIMESTAMP_AFTER_MAX_MS,
  TC_MESSAGE_TIMESTAMP_BEFORE_MAX_MS,
  TC_MESSAGE_TIMESTAMP_DIFFERENCE_MAX_MS,
  TC_MESSAGE_TIMESTAMP_TYPE,
  TC_MIN_CLEANABLE_DIRTY_RATIO,
  TC_MIN_COMPACTION_LAG_MS,
  TC_MIN_INSYNC_REPLICAS,
  TC_PREALLOCATE,
  TC_REMOTE_LOG_COPY_DISABLE,
  TC_REMOTE_LOG_DELETE_ON_DISABLE,
  TC_REMOTE_STORAGE_ENABLE,
  TC_RETENTION_BYTES,
  TC_RETENTION_MS,
  TC_SEGMENT_BYTES,
  TC_SEGMENT_INDEX_BYTES,
  TC_SEGMENT_JITTER_MS,
  TC_SEGMENT_MS,
  TC_UNCLEAN_LEADER_ELECTION_ENABLE,
  TC_COUNT,
};

/* Kafka's ConfigSource values in DescribeConfigs v1+. */
enum config_source {
  CONFIG_SOURCE_DYNAMIC_TOPIC = 1,
  CONFIG_SOURCE_STATIC_BROKER = 4,
  CONFIG_SOURCE_DEFAULT = 5,
};

/* Values fit a ConfigRecord's value (META_CONFIG_VALUE_BYTES). */
enum { TOPIC_CONFIG_VALUE_BYTES = 64 };

struct topic_config {
  char values[TC_COUNT][TOPIC_CONFIG_VALUE_BYTES];
  enum config_source source[TC_COUNT];
  /* values[] as numbers, parsed when stored (topic_config_i64 runs on every
   * high watermark step: flush.messages decides what consumers may see). */
  int64_t numbers[TC_COUNT];
  bool numeric[TC_COUNT]; /* values[] parsed as a number */
  bool flush_each;        /* flush.messages is 1: kept by every store of it */
};

/* The catalog's entry of a topic config (name, type, default, synonym). */
const struct config_def *topic_config_info(enum topic_config_key key);
int topic_config_find(const char *name); /* -1 if unknown */
void topic_config_init(struct topic_config *tc, const struct config *broker);
/* Sets an override; false with the reason in err when the value is bad. */
bool topic_config_set(struct topic_config *tc, const char *name, const char *value, char *err,
                      size_t err_cap);
int64_t topic_config_i64(const struct topic_config *tc, enum topic_config_key key);
const char *topic_config_str(const struct topic_config *tc, enum topic_config_key key);
double topic_config_double(const struct topic_config *tc, enum topic_config_key key);
/* cleanup.policy holds compact (the log cleaner keeps each key's latest
 * record), delete (retention by time and size); "compact,delete" both. */
/* flush.messages == 1 (fsync before acknowledging), without a lookup:
 * every high watermark step asks. */
bool topic_config_flush_each(const struct topic_config *tc);
bool topic_config_compacted(const struct topic_config *tc);
bool topic_config_deletes(const struct topic_config *tc);

#endif
