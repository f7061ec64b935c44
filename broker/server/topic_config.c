/* Topic configs: Kafka 3.9's full LogConfig set from the config catalog.
 * A topic's value is its override, else the broker's synonym when the
 * properties set it, else Kafka's default. Every name is accepted and
 * stored; the few values whose behaviour Sluice lacks are refused rather
 * than silently ignored (see valid_here). */
#include "server/topic_config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/assert.h"
#include "base/str.h"

const struct config_def *topic_config_info(enum topic_config_key key) {
  ASSERT(key >= 0 && key < TC_COUNT);
  const struct config_def *d = config_catalog_at(key);
  ASSERT(d->scope == CONFIG_SCOPE_TOPIC);
  return d;
}

int topic_config_find(const char *name) {
  for (int i = 0; i < TC_COUNT; i++)
    if (strcmp(config_catalog_at(i)->name, name) == 0) return i;
  return -1;
}

/* Every value is stored here: the text and, when it is one, its number. */
static void store(struct topic_config *tc, enum topic_config_key key, const char *value,
                  enum config_source source) {
  ASSERT(key >= 0 && key < TC_COUNT);
  str_fmt(tc->values[key], sizeof tc->values[key], "%s", value);
  tc->source[key] = source;
  tc->numbers[key] = 0;
  tc->numeric[key] = str_to_i64(tc->values[key], &tc->numbers[key]);
  if (key == TC_FLUSH_MESSAGES) tc->flush_each = tc->numeric[key] && tc->numbers[key] == 1;
}

static void put(struct topic_config *tc, enum topic_config_key key, bool set, int64_t v) {
  char text[TOPIC_CONFIG_VALUE_BYTES];
  str_fmt(text, sizeof text, "%lld", (long long)v);
  store(tc, key, text, set ? CONFIG_SOURCE_STATIC_BROKER : CONFIG_SOURCE_DEFAULT);
}

/* The default, or the broker synonym's value when the properties set it. */
static void init_from_synonym(struct topic_config *tc, enum topic_config_key key,
                              const struct config *b) {
  const struct config_def *d = topic_config_info(key);
  bool set = false;
  char value[CONFIG_STORED_VALUE_BYTES], why[256];
  if (d->synonym && config_value(b, d->synonym, value, sizeof value, &set) && set &&
      strlen(value) < TOPIC_CONFIG_VALUE_BYTES &&
      config_catalog_check(d, value, why, sizeof why)) {
    store(tc, key, value, CONFIG_SOURCE_STATIC_BROKER);
    return;
  }
  store(tc, key, d->default_value ? d->default_value : "", CONFIG_SOURCE_DEFAULT);
}

/* log.X.hours-style synonyms (Kafka's ConfigSynonym.HOURS_TO_MILLISECONDS):
 * the millisecond key wins when both are set. */
static void init_jitter(struct topic_config *tc, const struct config *b) {
  char v[64];
  bool set = false;
  int64_t hours = 0;
  if (config_value(b, "log.roll.jitter.ms", v, sizeof v, &set) && set) {
    init_from_synonym(tc, TC_SEGMENT_JITTER_MS, b);
  } else if (config_value(b, "log.roll.jitter.hours", v, sizeof v, &set) && set &&
             str_to_i64(v, &hours)) {
    put(tc, TC_SEGMENT_JITTER_MS, true, hours * 3600000);
  } else {
    init_from_synonym(tc, TC_SEGMENT_JITTER_MS, b);
  }
}

void topic_config_init(struct topic_config *tc, const struct config *b) {
  memset(tc, 0, sizeof *tc);
  for (int k = 0; k < TC_COUNT; k++) init_from_synonym(tc, k, b);
  /* Keys whose broker value Sluice resolves from several synonyms. */
  int64_t retention_ms = config_retention_ms(b);
  put(tc, TC_RETENTION_MS, retention_ms != 604800000, retention_ms);
  int64_t roll_ms = config_roll_ms(b);
  put(tc, TC_SEGMENT_MS, roll_ms != 604800000, roll_ms);
  int64_t flush_ms =
      b->log_flush_interval_ms == CONFIG_UNSET ? INT64_MAX : b->log_flush_interval_ms;
  put(tc, TC_FLUSH_MS, flush_ms != INT64_MAX, flush_ms);
  init_jitter(tc, b);
}

/* Values Kafka accepts whose behaviour Sluice does not have: storing them
 * would promise what the broker does not do, so they are refused with the
 * reason. */
static bool valid_here(enum topic_config_key key, const char *v, char *err, size_t cap) {
  const char *name = topic_config_info(key)->name;
  if (key == TC_MESSAGE_TIMESTAMP_TYPE && strcmp(v, "CreateTime") != 0) {
    str_fmt(err, cap,
            "Invalid value %s for configuration %s: sluice supports only CreateTime yet", v,
            name);
    return false;
  }
  if (key == TC_REMOTE_STORAGE_ENABLE && strcasecmp(v, "false") != 0) {
    str_fmt(err, cap,
            "Invalid value %s for configuration %s: tiered storage is not enabled on this "
            "cluster",
            v, name);
    return false;
  }
  return true;
}

bool topic_config_set(struct topic_config *tc, const char *name, const char *value, char *err,
                      size_t err_cap) {
  int key = topic_config_find(name);
  if (key < 0) {
    str_fmt(err, err_cap, "Unknown topic config name: %s", name);
    return false;
  }
  if (!config_catalog_check(topic_config_info(key), value, err, err_cap)) return false;
  if (!valid_here(key, value, err, err_cap)) return false;
  if (strlen(value) >= sizeof tc->values[key]) {
    str_fmt(err, err_cap, "Invalid value %s for configuration %s: longer than %d bytes", value,
            name, TOPIC_CONFIG_VALUE_BYTES - 1);
    return false;
  }
  store(tc, key, value, CONFIG_SOURCE_DYNAMIC_TOPIC);
  return true;
}

int64_t topic_config_i64(const struct topic_config *tc, enum topic_config_key key) {
  ASSERT(key >= 0 && key < TC_COUNT);
  const struct config_def *d = topic_config_info(key); /* looked up once: a hot path */
  ASSERT(d->type == CONFIG_TYPE_INT || d->type == CONFIG_TYPE_LONG);
  ASSERT(tc->numeric[key]);
  return tc->numbers[key];
}

bool topic_config_flush_each(const struct topic_config *tc) {
  ASSERT(tc->numeric[TC_FLUSH_MESSAGES]); /* as topic_config_i64 would */
  return tc->flush_each;
}

const char *topic_config_str(const struct topic_config *tc, enum topic_config_key key) {
  ASSERT(key >= 0 && key < TC_COUNT);
  return tc->values[key];
}

double topic_config_double(const struct topic_config *tc, enum topic_config_key key) {
  ASSERT(key >= 0 && key < TC_COUNT);
  ASSERT(topic_config_info(key)->type == CONFIG_TYPE_DOUBLE);
  char *end = NULL;
  double v = strtod(tc->values[key], &end);
  ASSERT(end != tc->values[key]); /* checked by the catalog when set */
  return v;
}

/* One entry of cleanup.policy's list is `name` ("compact" or "delete"). */
static bool policy_has(const struct topic_config *tc, const char *name) {
  const char *v = tc->values[TC_CLEANUP_POLICY];
  size_t n = strlen(name);
  for (const char *p = v; p && *p;) {
    while (*p == ' ') p++;
    if (strncmp(p, name, n) == 0 && (p[n] == 0 || p[n] == ',' || p[n] == ' ')) return true;
    p = strchr(p, ',');
    if (p) p++;
  }
  return false;
}

bool topic_config_compacted(const struct topic_config *tc) { return policy_has(tc, "compact"); }

bool topic_config_deletes(const struct topic_config *tc) { return policy_has(tc, "delete"); }
