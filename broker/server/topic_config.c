#include "server/topic_config.h"

#include <string.h>

#include "base/assert.h"
#include "base/str.h"

static const struct topic_config_info infos[TC_COUNT] = {
    [TC_CLEANUP_POLICY] = {"cleanup.policy", CONFIG_TYPE_LIST, "log.cleanup.policy"},
    [TC_COMPRESSION_TYPE] = {"compression.type", CONFIG_TYPE_STRING, "compression.type"},
    [TC_MAX_MESSAGE_BYTES] = {"max.message.bytes", CONFIG_TYPE_INT, "message.max.bytes"},
    [TC_MESSAGE_TIMESTAMP_TYPE] = {"message.timestamp.type", CONFIG_TYPE_STRING,
                                   "log.message.timestamp.type"},
    [TC_MIN_INSYNC_REPLICAS] = {"min.insync.replicas", CONFIG_TYPE_INT, "min.insync.replicas"},
    [TC_RETENTION_BYTES] = {"retention.bytes", CONFIG_TYPE_LONG, "log.retention.bytes"},
    [TC_RETENTION_MS] = {"retention.ms", CONFIG_TYPE_LONG, "log.retention.ms"},
    [TC_SEGMENT_BYTES] = {"segment.bytes", CONFIG_TYPE_INT, "log.segment.bytes"},
    [TC_SEGMENT_INDEX_BYTES] = {"segment.index.bytes", CONFIG_TYPE_INT,
                                "log.index.size.max.bytes"},
    [TC_SEGMENT_MS] = {"segment.ms", CONFIG_TYPE_LONG, "log.roll.ms"},
    [TC_INDEX_INTERVAL_BYTES] = {"index.interval.bytes", CONFIG_TYPE_INT,
                                 "log.index.interval.bytes"},
    [TC_FLUSH_MESSAGES] = {"flush.messages", CONFIG_TYPE_LONG, "log.flush.interval.messages"},
    [TC_FLUSH_MS] = {"flush.ms", CONFIG_TYPE_LONG, "log.flush.interval.ms"},
    [TC_UNCLEAN_LEADER_ELECTION_ENABLE] = {"unclean.leader.election.enable",
                                           CONFIG_TYPE_BOOLEAN,
                                           "unclean.leader.election.enable"},
};

const struct topic_config_info *topic_config_info(enum topic_config_key key) {
  ASSERT(key >= 0 && key < TC_COUNT);
  return &infos[key];
}

int topic_config_find(const char *name) {
  for (int i = 0; i < TC_COUNT; i++)
    if (strcmp(infos[i].name, name) == 0) return i;
  return -1;
}

static void put(struct topic_config *tc, enum topic_config_key key, enum config_source source,
                const char *fmt, int64_t v) {
  str_fmt(tc->values[key], sizeof tc->values[key], fmt, (long long)v);
  tc->source[key] = source;
}

void topic_config_init(struct topic_config *tc, const struct config *b) {
  memset(tc, 0, sizeof *tc);
  enum config_source d = CONFIG_SOURCE_DEFAULT, s = CONFIG_SOURCE_STATIC_BROKER;
  str_fmt(tc->values[TC_CLEANUP_POLICY], 32, "delete");
  tc->source[TC_CLEANUP_POLICY] = d;
  str_fmt(tc->values[TC_COMPRESSION_TYPE], 32, "%s", b->compression_type);
  tc->source[TC_COMPRESSION_TYPE] = strcmp(b->compression_type, "producer") ? s : d;
  put(tc, TC_MAX_MESSAGE_BYTES, b->message_max_bytes != 1048588 ? s : d, "%lld",
      b->message_max_bytes);
  str_fmt(tc->values[TC_MESSAGE_TIMESTAMP_TYPE], 32, "CreateTime");
  tc->source[TC_MESSAGE_TIMESTAMP_TYPE] = d;
  put(tc, TC_MIN_INSYNC_REPLICAS, b->min_insync_replicas != 1 ? s : d, "%lld",
      b->min_insync_replicas);
  put(tc, TC_RETENTION_BYTES, b->log_retention_bytes != -1 ? s : d, "%lld",
      b->log_retention_bytes);
  int64_t retention_ms = config_retention_ms(b);
  put(tc, TC_RETENTION_MS, retention_ms != 604800000 ? s : d, "%lld", retention_ms);
  put(tc, TC_SEGMENT_BYTES, b->log_segment_bytes != 1073741824 ? s : d, "%lld",
      b->log_segment_bytes);
  put(tc, TC_SEGMENT_INDEX_BYTES, b->log_index_size_max_bytes != 10485760 ? s : d, "%lld",
      b->log_index_size_max_bytes);
  int64_t roll_ms = config_roll_ms(b);
  put(tc, TC_SEGMENT_MS, roll_ms != 604800000 ? s : d, "%lld", roll_ms);
  put(tc, TC_INDEX_INTERVAL_BYTES, b->log_index_interval_bytes != 4096 ? s : d, "%lld",
      b->log_index_interval_bytes);
  put(tc, TC_FLUSH_MESSAGES, b->log_flush_interval_messages != INT64_MAX ? s : d, "%lld",
      b->log_flush_interval_messages);
  int64_t flush_ms =
      b->log_flush_interval_ms == CONFIG_UNSET ? INT64_MAX : b->log_flush_interval_ms;
  put(tc, TC_FLUSH_MS, flush_ms != INT64_MAX ? s : d, "%lld", flush_ms);
  str_fmt(tc->values[TC_UNCLEAN_LEADER_ELECTION_ENABLE], 32, "false");
  tc->source[TC_UNCLEAN_LEADER_ELECTION_ENABLE] = d;
}

static bool valid_value(enum topic_config_key key, const char *v, char *err, size_t cap) {
  const struct topic_config_info *info = &infos[key];
  int64_t n;
  switch (info->type) {
  case CONFIG_TYPE_INT:
  case CONFIG_TYPE_LONG:
    if (!str_to_i64(v, &n) || (info->type == CONFIG_TYPE_INT && (n > INT32_MAX || n < -1))) {
      str_fmt(err, cap, "Invalid value %s for configuration %s: Not a number of the right type",
              v, info->name);
      return false;
    }
    if (n < -1 || ((key == TC_SEGMENT_BYTES || key == TC_MIN_INSYNC_REPLICAS ||
                    key == TC_SEGMENT_MS || key == TC_FLUSH_MESSAGES) &&
                   n < 1)) {
      str_fmt(err, cap, "Invalid value %s for configuration %s: out of range", v, info->name);
      return false;
    }
    return true;
  case CONFIG_TYPE_BOOLEAN:
    if (strcmp(v, "true") && strcmp(v, "false")) {
      str_fmt(err, cap, "Invalid value %s for configuration %s: Expected true or false", v,
              info->name);
      return false;
    }
    return true;
  default:
    break;
  }
  if (key == TC_COMPRESSION_TYPE) {
    static const char *const ok[] = {"producer", "uncompressed", "gzip",
                                     "snappy",   "lz4",          "zstd"};
    for (size_t i = 0; i < ARRAY_LEN(ok); i++)
      if (!strcmp(v, ok[i])) return true;
  } else if (key == TC_CLEANUP_POLICY) {
    if (!strcmp(v, "delete")) return true; /* compaction is not implemented */
  } else if (key == TC_MESSAGE_TIMESTAMP_TYPE) {
    if (!strcmp(v, "CreateTime")) return true; /* LogAppendTime: not yet */
  }
  str_fmt(err, cap, "Invalid value %s for configuration %s", v, info->name);
  return false;
}

bool topic_config_set(struct topic_config *tc, const char *name, const char *value, char *err,
                      size_t err_cap) {
  int key = topic_config_find(name);
  if (key < 0) {
    str_fmt(err, err_cap, "Unknown topic config name: %s", name);
    return false;
  }
  if (!valid_value(key, value, err, err_cap)) return false;
  if (strlen(value) >= sizeof tc->values[key]) {
    str_fmt(err, err_cap, "Invalid value for configuration %s: too long", name);
    return false;
  }
  str_fmt(tc->values[key], sizeof tc->values[key], "%s", value);
  tc->source[key] = CONFIG_SOURCE_DYNAMIC_TOPIC;
  return true;
}

int64_t topic_config_i64(const struct topic_config *tc, enum topic_config_key key) {
  int64_t v = 0;
  bool ok = str_to_i64(tc->values[key], &v);
  ASSERT(ok);
  return v;
}

const char *topic_config_str(const struct topic_config *tc, enum topic_config_key key) {
  ASSERT(key >= 0 && key < TC_COUNT);
  return tc->values[key];
}
