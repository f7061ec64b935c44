/* The cluster metadata image: an immutable snapshot of what the cluster
 * knows (brokers, topics, partitions, topic config overrides), built from
 * the previous image plus a delta of records, as KRaft's MetadataImage is
 * built by replaying __cluster_metadata (KIP-500, KIP-631).
 *
 * Readers (request handlers) take the node's current image and read it for
 * the whole request; nothing in an image changes after it is built. A new
 * image shares every topic it did not change with the one it came from
 * (copy-on-write, reference counted), so publishing a change costs a copy of
 * two pointer arrays plus the topics it touched. Single-threaded: the counts
 * are plain integers, like everything else in a node.
 *
 * Lookups are binary searches over arrays sorted by name and by topic id
 * (byte order of the 16-byte id), never over addresses, so every walk is
 * deterministic. */
#ifndef SLUICE_META_IMAGE_H
#define SLUICE_META_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meta/records.h"

enum {
  META_TOPICS_MAX = 10000,
  META_PARTITIONS_MAX = 10000, /* per topic */
  META_BROKERS_MAX = 64,
  META_TOPIC_CONFIGS_MAX = 32, /* overrides per topic */
  META_FEATURES_MAX = 16,
  META_BROKER_CONFIGS_MAX = 64,    /* dynamic broker config overrides, all brokers */
  META_BROKER_RESOURCE_BYTES = 12, /* a broker id in decimal, or "" */
};

struct meta_broker {
  int32_t id;
  int64_t epoch; /* KIP-631: the offset of its registration record */
  struct kuuid incarnation_id;
  char listener[META_LISTENER_NAME_BYTES];
  char host[META_HOST_BYTES];
  uint16_t port;
  char rack[META_RACK_BYTES]; /* "" when it has none */
  bool fenced;
};

struct meta_partition {
  int32_t partition_id;
  int32_t leader; /* -1: none */
  int32_t leader_epoch;
  int32_t partition_epoch;
  int32_t replica_count;
  int32_t isr_count;
  int32_t replicas[META_REPLICAS_MAX];
  int32_t isr[META_REPLICAS_MAX];
  /* KIP-455: during a reassignment replicas holds the target and the
   * replicas leaving; adding (in the target, not yet caught up) and
   * removing (leaving once the adding ones are in the ISR). */
  int32_t removing_count;
  int32_t removing[META_REPLICAS_MAX];
  int32_t adding_count;
  int32_t adding[META_REPLICAS_MAX];
  /* KIP-966 (eligible.leader.replicas.enable): replicas out of the ISR
   * that still hold everything below the high watermark, because they
   * left while the ISR was under min.insync.replicas (and the high
   * watermark stood still); a leader may come from them when the ISR has
   * none to offer. last_known_elr: those dropped from the ELR since, kept
   * for the operator. */
  int32_t elr_count;
  int32_t elr[META_REPLICAS_MAX];
  int32_t last_known_elr_count;
  int32_t last_known_elr[META_REPLICAS_MAX];
};

/* One topic config override (ConfigRecord with a value). Defaults are not
 * here: they are each broker's own (server.properties), resolved by whoever
 * reads the image. */
struct meta_config {
  char name[META_CONFIG_NAME_BYTES];
  char value[META_CONFIG_VALUE_BYTES];
};

/* A dynamic broker config (ConfigRecord of resource type broker): for the
 * broker whose id is resource_name, or for every broker ("", Kafka's
 * cluster-wide default). */
struct meta_broker_config {
  char resource_name[META_BROKER_RESOURCE_BYTES];
  char name[META_CONFIG_NAME_BYTES];
  char value[META_CONFIG_VALUE_BYTES];
};

/* A finalized feature level (FeatureLevelRecord), never 0. */
struct meta_feature {
  char name[META_FEATURE_NAME_BYTES];
  int16_t level;
};

struct meta_topic {
  int32_t refs; /* images sharing it */
  char name[META_TOPIC_NAME_BYTES];
  size_t name_len; /* strlen(name): lookups compare lengths, not strlen each time */
  struct kuuid id;
  int32_t partition_count;
  int32_t partition_cap;
  struct meta_partition *partitions; /* [partition_count], by partition id */
  int32_t config_count;
  struct meta_config configs[META_TOPIC_CONFIGS_MAX]; /* sorted by name */
};

struct meta_image {
  int32_t refs;
  /* The offset of the last record it contains; -1 for the empty image. */
  int64_t offset;
  char cluster_id[META_CLUSTER_ID_BYTES];
  int32_t broker_count;
  struct meta_broker brokers[META_BROKERS_MAX]; /* sorted by id */
  int32_t topic_count;
  int32_t topic_cap;
  struct meta_topic **topics_by_name; /* [topic_count] */
  struct meta_topic **topics_by_id;   /* the same topics, sorted by id */
  int32_t feature_count;
  struct meta_feature features[META_FEATURES_MAX]; /* sorted by name */
  int64_t next_producer_id;                        /* ProducerIdsRecord; 0 before the first */
  int32_t broker_config_count;
  struct meta_broker_config broker_configs[META_BROKER_CONFIGS_MAX]; /* by resource, name */
};

/* An image with no records, one reference held by the caller. */
struct meta_image *meta_image_empty(const char *cluster_id);
void meta_image_ref(struct meta_image *image);
/* Drops a reference; the last one frees the image and the topics only it
 * held. */
void meta_image_unref(struct meta_image *image);

/* prev plus delta, as a new image with one reference for the caller; prev
 * is not changed. Returns 0, or ENV_EINVAL / ENV_EEXIST / ENV_ENOENT /
 * ENV_ENOSPC for a record that does not apply (an unknown topic id, a
 * duplicate name, a bound exceeded); then *out is untouched and nothing
 * leaks. Records are applied in order; their offsets must grow. */
int meta_image_build(const struct meta_image *prev, const struct meta_delta *delta,
                     struct meta_image **out);

const struct meta_topic *meta_image_topic(const struct meta_image *image, const char *name,
                                          size_t len);
const struct meta_topic *meta_image_topic_by_id(const struct meta_image *image,
                                                struct kuuid id);
const struct meta_broker *meta_image_broker(const struct meta_image *image, int32_t id);
/* Brokers that may take replicas: registered and not fenced. */
int32_t meta_image_usable_brokers(const struct meta_image *image);

const struct meta_partition *meta_topic_partition(const struct meta_topic *topic,
                                                  int32_t partition_id);
/* The dynamic broker config `name` of resource_name (a broker id, or ""
 * for the cluster default), or NULL. */
const char *meta_image_broker_config(const struct meta_image *image, const char *resource_name,
                                     const char *name);
/* The override's value, or NULL when the topic has none for `name`. */
const char *meta_topic_config(const struct meta_topic *topic, const char *name);
bool meta_partition_has_replica(const struct meta_partition *p, int32_t broker_id);

/* Byte order of topic ids: the order of topics_by_id. */
int meta_uuid_cmp(struct kuuid a, struct kuuid b);

#endif
