/* The controller's rules for topics and brokers (what Kafka's
 * ReplicationControlManager and ClusterControlManager decide): each checks
 * one item of a call against an image, appends the records that carry it
 * out, and fills its result. No I/O and no clock: the local controller runs
 * them on its tick, and a quorum controller will run them on the active
 * controller. Topic ids come from env's random source. */
#ifndef SLUICE_META_REPLICATION_CONTROL_H
#define SLUICE_META_REPLICATION_CONTROL_H

#include "env.h"
#include "meta/controller.h"
#include "server/config.h"

struct meta_rules {
  struct env *env;
  const struct config *cfg; /* num.partitions, default.replication.factor, ... */
};

/* Kafka's legal topic names: [a-zA-Z0-9._-]{1,249}, not "." or "..". */
bool meta_topic_name_valid(const char *name, size_t len);

/* Each appends its records to delta with offsets after both image->offset
 * and the delta's last record; on an error it appends nothing. */
void meta_rule_create_topic(const struct meta_rules *rules, const struct meta_image *image,
                            const struct meta_create_topic *in, struct meta_delta *delta,
                            struct meta_topic_result *result);
void meta_rule_create_partitions(const struct meta_rules *rules, const struct meta_image *image,
                                 const struct meta_create_partitions *in,
                                 struct meta_delta *delta, struct meta_topic_result *result);
void meta_rule_delete_topic(const struct meta_rules *rules, const struct meta_image *image,
                            const struct meta_delete_topic *in, struct meta_delta *delta,
                            struct meta_topic_result *result);
/* KIP-631 registration; the broker epoch is the record's offset. Without
 * heartbeats yet, a registered broker is unfenced at once. */
int16_t meta_rule_register_broker(const struct meta_image *image,
                                  const struct meta_broker_registration *in,
                                  struct meta_delta *delta);

#endif
