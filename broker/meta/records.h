/* Metadata records: the changes an image is built from, modelled on KRaft's
 * __cluster_metadata records (KIP-631; field names from
 * metadata/{RegisterBroker,Topic,Partition,PartitionChange,RemoveTopic,
 * Config,...}Record.json). meta/codec.h encodes them as the metadata log's
 * records (Kafka's bytes) and back.
 *
 * A delta is an ordered list of records; each carries its offset (its place
 * in the metadata log), so an image knows how far it has read. */
#ifndef SLUICE_META_RECORDS_H
#define SLUICE_META_RECORDS_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/wire.h"

enum {
  META_TOPIC_NAME_BYTES = 250, /* 249 characters and a NUL */
  META_HOST_BYTES = 256,
  META_RACK_BYTES = 64,
  META_LISTENER_NAME_BYTES = 32,
  META_CLUSTER_ID_BYTES = 64,
  META_CONFIG_NAME_BYTES = 64,
  META_CONFIG_VALUE_BYTES = 64,
  META_FEATURE_NAME_BYTES = 64,
  META_REPLICAS_MAX = 16,
  META_DELTA_RECORDS_MAX = 1 << 20,
};

/* The metadata log's partition (KIP-595): __cluster_metadata-0. Its
 * directory lives beside the topics' but is not a topic: the Raft
 * subsystem owns it (server/raft_node.c). Kafka's fixed topic id for it is
 * 0...01 (Uuid.METADATA_TOPIC_ID). */
#define META_LOG_TOPIC "__cluster_metadata"
enum { META_LOG_PARTITION = 0 };

/* PartitionChangeRecord's Leader when the leader does not change. */
enum { META_LEADER_UNCHANGED = -2, META_NO_LEADER = -1 };

/* ConfigRecord's ResourceType (Kafka's ConfigResource.Type ids). */
enum { META_RESOURCE_TOPIC = 2, META_RESOURCE_BROKER = 4 };

/* BrokerRegistrationChangeRecord's Fenced. */
enum { META_FENCE_UNFENCED = -1, META_FENCE_UNCHANGED = 0, META_FENCE_FENCED = 1 };

/* Each type's value is the record's apiKey. */
enum meta_record_type {
  META_REGISTER_BROKER_RECORD = 0,
  META_UNREGISTER_BROKER_RECORD = 1,
  META_TOPIC_RECORD = 2,
  META_PARTITION_RECORD = 3,
  META_CONFIG_RECORD = 4,
  META_PARTITION_CHANGE_RECORD = 5,
  META_FENCE_BROKER_RECORD = 7,
  META_UNFENCE_BROKER_RECORD = 8,
  META_REMOVE_TOPIC_RECORD = 9,
  META_FEATURE_LEVEL_RECORD = 12,
  META_PRODUCER_IDS_RECORD = 15,
  META_BROKER_REGISTRATION_CHANGE_RECORD = 17,
  META_NO_OP_RECORD = 20, /* no fields: a leader's heartbeat in the log */
  /* KIP-868 metadata transactions: the records between a Begin and its End
   * apply together or not at all (an Abort, or a new leader's epoch before
   * the End, drops them). The quorum controller brackets every change of
   * more than one record with them, since each Raft entry holds one record. */
  META_BEGIN_TRANSACTION_RECORD = 23,
  META_END_TRANSACTION_RECORD = 24,
  META_ABORT_TRANSACTION_RECORD = 25,
};

/* One endpoint: the listener clients use (more with more listeners). */
struct meta_register_broker_record {
  int32_t broker_id;
  struct kuuid incarnation_id;
  int64_t broker_epoch;
  char listener[META_LISTENER_NAME_BYTES];
  char host[META_HOST_BYTES];
  uint16_t port;
  int16_t security_protocol;  /* 0: PLAINTEXT */
  char rack[META_RACK_BYTES]; /* "" for null */
  bool fenced;
  bool in_controlled_shutdown;
};

/* UnregisterBroker, FenceBroker and UnfenceBroker: which registration (the
 * epoch must be the registered one). */
struct meta_broker_epoch_record {
  int32_t broker_id;
  int64_t broker_epoch;
};

/* fenced: META_FENCE_*; in_controlled_shutdown: 0 unchanged, 1 entered. */
struct meta_broker_registration_change_record {
  int32_t broker_id;
  int64_t broker_epoch;
  int8_t fenced;
  int8_t in_controlled_shutdown;
};

/* A finalized feature level (metadata.version, kraft.version, ...); level 0
 * removes the feature. */
struct meta_feature_level_record {
  char name[META_FEATURE_NAME_BYTES];
  int16_t feature_level;
};

/* The controller handed out producer ids below next_producer_id. */
struct meta_producer_ids_record {
  int32_t broker_id;
  int64_t broker_epoch;
  int64_t next_producer_id;
};

struct meta_topic_record {
  char name[META_TOPIC_NAME_BYTES];
  struct kuuid topic_id;
};

struct meta_partition_record {
  int32_t partition_id;
  struct kuuid topic_id;
  int32_t replica_count;
  int32_t replicas[META_REPLICAS_MAX];
  int32_t isr_count;
  int32_t isr[META_REPLICAS_MAX];
  int32_t leader;
  int32_t leader_epoch;
  int32_t partition_epoch;
  /* KIP-455: a reassignment in progress (replicas holds both sets). */
  int32_t removing_count;
  int32_t removing[META_REPLICAS_MAX];
  int32_t adding_count;
  int32_t adding[META_REPLICAS_MAX];
  /* KIP-966's EligibleLeaderReplicas and LastKnownElr (tagged; null is
   * empty). */
  int32_t elr_count;
  int32_t elr[META_REPLICAS_MAX];
  int32_t last_known_elr_count;
  int32_t last_known_elr[META_REPLICAS_MAX];
};

/* Only what changes: leader META_LEADER_UNCHANGED and counts of -1 (null in
 * the schema) keep the current value. The partition epoch always advances;
 * the leader epoch advances whenever the record names a leader, the same
 * one too (Kafka's PartitionRegistration.merge; a reassignment names it so
 * that followers reconcile in a new epoch, KIP-455). */
struct meta_partition_change_record {
  int32_t partition_id;
  struct kuuid topic_id;
  int32_t leader;
  int32_t isr_count; /* -1: unchanged */
  int32_t isr[META_REPLICAS_MAX];
  int32_t replica_count; /* -1: unchanged */
  int32_t replicas[META_REPLICAS_MAX];
  /* KIP-455's RemovingReplicas and AddingReplicas (tagged, null when
   * unchanged): set only when reassignment_set, so that a zeroed record
   * (an ISR change) keeps a reassignment in progress. */
  bool reassignment_set;
  int32_t removing_count;
  int32_t removing[META_REPLICAS_MAX];
  int32_t adding_count;
  int32_t adding[META_REPLICAS_MAX];
  /* KIP-966's EligibleLeaderReplicas and LastKnownElr (tagged, null when
   * unchanged): set only when elr_set, as for the reassignment. */
  bool elr_set;
  int32_t elr_count;
  int32_t elr[META_REPLICAS_MAX];
  int32_t last_known_elr_count;
  int32_t last_known_elr[META_REPLICAS_MAX];
};

struct meta_remove_topic_record {
  struct kuuid topic_id;
};

/* A null value removes the override. */
struct meta_config_record {
  int8_t resource_type;
  char resource_name[META_TOPIC_NAME_BYTES];
  char name[META_CONFIG_NAME_BYTES];
  char value[META_CONFIG_VALUE_BYTES];
  bool value_null;
};

struct meta_record {
  enum meta_record_type type;
  int64_t offset;
  union {
    struct meta_register_broker_record register_broker;
    struct meta_topic_record topic;
    struct meta_partition_record partition;
    struct meta_partition_change_record partition_change;
    struct meta_remove_topic_record remove_topic;
    struct meta_config_record config;
    struct meta_broker_epoch_record unregister_broker;
    struct meta_broker_epoch_record fence_broker;
    struct meta_broker_epoch_record unfence_broker;
    struct meta_broker_registration_change_record broker_registration_change;
    struct meta_feature_level_record feature_level;
    struct meta_producer_ids_record producer_ids;
  };
};

struct meta_delta {
  struct meta_record *records;
  int32_t count;
  int32_t cap;
};

void meta_delta_init(struct meta_delta *delta);
void meta_delta_free(struct meta_delta *delta);
/* A zeroed record of `type` at the end, with `offset`; NULL when the delta
 * already holds META_DELTA_RECORDS_MAX records. */
struct meta_record *meta_delta_add(struct meta_delta *delta, enum meta_record_type type,
                                   int64_t offset);
/* Drops the records from `count` on (an operation that failed half-way). */
void meta_delta_truncate(struct meta_delta *delta, int32_t count);

#endif
