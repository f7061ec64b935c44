/* The controller's rule for config changes (what Kafka's
 * ConfigurationControlManager decides): AlterConfigs (API 33) and
 * IncrementalAlterConfigs (API 44, KIP-339) on a topic, or on a broker (its
 * id, or "" for every broker), become ConfigRecords, a value for an
 * override that is set or changed and a null value for one that goes.
 * Topic values are validated as CreateTopics validates them
 * (server/topic_config.h), broker values against the config catalog; the
 * image keeps broker overrides and DescribeConfigs shows them
 * (DYNAMIC_BROKER_CONFIG, DYNAMIC_DEFAULT_BROKER_CONFIG), but the brokers do
 * not act on them yet. No I/O and no clock: the active controller runs it
 * (server/controller_quorum.c). */
#ifndef SLUICE_META_CONFIG_CONTROL_H
#define SLUICE_META_CONFIG_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include "meta/controller.h"
#include "meta/replication_control.h"

/* KIP-339's operations, by their wire values. */
enum meta_config_op {
  META_CONFIG_OP_SET = 0,
  META_CONFIG_OP_DELETE = 1,
  META_CONFIG_OP_APPEND = 2,  /* list configs: add the items not there yet */
  META_CONFIG_OP_SUBTRACT = 3 /* list configs: remove the items given */
};

struct meta_alter_config {
  struct kstr name;
  struct kstr value; /* len < 0: null */
  int8_t op;         /* enum meta_config_op; SET for AlterConfigs */
};

struct meta_alter_resource {
  int8_t resource_type; /* META_RESOURCE_TOPIC, META_RESOURCE_BROKER, ... */
  struct kstr resource_name;
  const struct meta_alter_config *configs;
  int32_t config_count;
  /* false: AlterConfigs, whose entries become the resource's whole set of
   * overrides (the ones it does not name go). */
  bool incremental;
};

/* Checks one resource against image and appends its ConfigRecords (none
 * when nothing changes) with offsets after image->offset and the delta's
 * last record; result->error_code and error_message say why not (Kafka's
 * codes: INVALID_CONFIG for a name or value the catalog refuses,
 * INVALID_REQUEST for a malformed request, UNKNOWN_TOPIC_OR_PARTITION),
 * and then nothing is appended. result->name is the resource name. */
void meta_rule_alter_configs(const struct meta_rules *rules, const struct meta_image *image,
                             const struct meta_alter_resource *in, struct meta_delta *delta,
                             struct meta_topic_result *result);

#endif
