/* Kafka 3.9's config catalog: every topic config (LogConfig) and every
 * broker config (KafkaConfig) by name, with its type, documented default and
 * validation, in one table. Topic configs come first, in the order of
 * enum topic_config_key, so a topic key indexes the table directly.
 * docs/configs.md lists which of them Sluice acts on; the rest are accepted,
 * stored and described. */
#ifndef SLUICE_CONFIG_CATALOG_H
#define SLUICE_CONFIG_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Kafka's ConfigType values in DescribeConfigs v3+ (KIP-569). */
enum config_type {
  CONFIG_TYPE_UNKNOWN = 0,
  CONFIG_TYPE_BOOLEAN = 1,
  CONFIG_TYPE_STRING = 2,
  CONFIG_TYPE_INT = 3,
  CONFIG_TYPE_SHORT = 4,
  CONFIG_TYPE_LONG = 5,
  CONFIG_TYPE_DOUBLE = 6,
  CONFIG_TYPE_LIST = 7,
  CONFIG_TYPE_CLASS = 8,
  CONFIG_TYPE_PASSWORD = 9,
};

enum config_scope { CONFIG_SCOPE_TOPIC, CONFIG_SCOPE_BROKER };

/* ConfigDef's validators that the catalog carries. */
enum config_check {
  CHECK_NONE,
  CHECK_AT_LEAST,    /* Range.atLeast(min); `valid` may name one more value (-1) */
  CHECK_RANGE,       /* Range.between(min, max); same */
  CHECK_IN,          /* ValidString.in(valid) */
  CHECK_IN_CASELESS, /* CaseInsensitiveValidString.in(valid) */
  CHECK_LIST_IN,     /* ValidList.in(valid): every item one of them */
};

enum { CONFIG_ACTED_ON = 1, CONFIG_SENSITIVE = 2 };

struct config_def {
  const char *name;
  enum config_scope scope;
  enum config_type type;
  const char *default_value; /* NULL: Kafka's default is null */
  enum config_check check;
  double min;
  double max;
  const char *valid;   /* comma separated (CHECK_IN*), or the extra value of a range */
  const char *synonym; /* topic configs: the broker config they default from */
  unsigned flags;      /* CONFIG_ACTED_ON, CONFIG_SENSITIVE */
};

int config_catalog_count(void);
const struct config_def *config_catalog_at(int index);
/* The entry called `name` in `scope`, or NULL. */
const struct config_def *config_catalog_find(enum config_scope scope, const char *name);
/* Checks a value against the entry's type and validator; false with
 * Kafka's message ("Invalid value X for configuration Y: ...") in err. */
bool config_catalog_check(const struct config_def *def, const char *value, char *err,
                          size_t err_cap);
/* Kafka's name of a type (BOOLEAN, INT, ...), as its messages spell it. */
const char *config_type_name(enum config_type type);

#endif
