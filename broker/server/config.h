/* server.properties, with Kafka's own key names. */
#ifndef SLUICE_CONFIG_H
#define SLUICE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "env.h"

enum {
  CONFIG_LISTENERS_MAX = 8,
  CONFIG_STR_MAX = 256,
  CONFIG_VOTERS_MAX = 16,
  CONFIG_STORED_MAX = 64,
  CONFIG_STORED_VALUE_BYTES = 256,
  CONFIG_TYPED_WORDS = 2, /* typed_set's words: 64 typed keys each */
};

/* A catalog config without a typed field here, kept as text so that
 * DescribeConfigs and topic defaults see it (server/config_catalog.h). */
struct config_stored {
  const char *name; /* the catalog's name (static storage) */
  char value[CONFIG_STORED_VALUE_BYTES];
};

struct config_listener {
  char name[32]; /* PLAINTEXT, CONTROLLER, ... */
  char host[128];
  uint16_t port;
};

/* One entry of controller.quorum.voters: id@host:port. */
struct config_voter {
  int32_t id;
  char host[128];
  uint16_t port;
};

struct config {
  int32_t node_id;
  char process_roles[64];
  struct config_listener listeners[CONFIG_LISTENERS_MAX];
  int listener_count;
  struct config_listener advertised[CONFIG_LISTENERS_MAX];
  int advertised_count;
  char log_dirs[CONFIG_STR_MAX]; /* the first of log.dirs */
  char cluster_id[64];
  int32_t num_partitions;
  int16_t default_replication_factor;
  bool auto_create_topics_enable;
  bool delete_topic_enable;
  int32_t message_max_bytes;
  int32_t socket_request_max_bytes;
  int64_t log_segment_bytes;
  /* As set; Kafka's precedence is ms over minutes over hours, so use the
   * config_*_ms() getters. CONFIG_UNSET where not given. */
  int64_t log_roll_ms;
  int64_t log_roll_hours;
  int64_t log_retention_ms; /* -1: forever */
  int64_t log_retention_minutes;
  int64_t log_retention_hours;
  int64_t log_retention_bytes; /* -1: unlimited */
  int64_t log_retention_check_interval_ms;
  int32_t log_index_interval_bytes;
  int32_t log_index_size_max_bytes;
  /* sluice.open.segments.max: segments whose files may be open at once
   * (log/segment_cache.h); three descriptors each. */
  int32_t open_segments_max;
  /* Long.MAX (default): leave durability to the page cache and replication.
   * 1: fsync before acknowledging, as Kafka does when flush.messages=1; Sluice
   * shares one fsync among the produce requests waiting on it (group commit). */
  int64_t log_flush_interval_messages;
  int64_t log_flush_interval_ms; /* -1: not set */
  char controller_listener_names[64];
  struct config_voter voters[CONFIG_VOTERS_MAX]; /* controller.quorum.voters */
  int voter_count;
  int32_t controller_quorum_request_timeout_ms;
  int32_t controller_quorum_election_timeout_ms;     /* KIP-595: 1000 */
  int32_t controller_quorum_election_backoff_max_ms; /* 1000 */
  int32_t controller_quorum_fetch_timeout_ms;        /* 2000 */
  int32_t controller_quorum_retry_backoff_ms;        /* 20 */
  int32_t broker_heartbeat_interval_ms;              /* KIP-631: 2000 */
  int32_t broker_session_timeout_ms;                 /* KIP-631: 9000 */
  bool unclean_leader_election_enable;               /* false */
  bool eligible_leader_replicas_enable;              /* false; KIP-966, set it on every node */
  /* The active controller's preferred leader elections (leader_balance.h). */
  bool auto_leader_rebalance_enable;               /* true */
  int64_t leader_imbalance_check_interval_seconds; /* 300 */
  int32_t leader_imbalance_per_broker_percentage;  /* 10 */
  /* metadata.log.dir: where __cluster_metadata-0 lives; empty: log.dirs. */
  char metadata_log_dir[CONFIG_STR_MAX];
  /* KIP-630: a node snapshots the metadata it applied past these. */
  int64_t metadata_log_max_record_bytes_between_snapshots; /* 20 MiB */
  int64_t metadata_log_max_snapshot_interval_ms;           /* 1 h; 0: no time bound */
  int32_t reconnect_backoff_ms;
  int32_t reconnect_backoff_max_ms;
  char inter_broker_listener_name[32];
  char compression_type[16]; /* producer, uncompressed, gzip, snappy, lz4, zstd */
  int32_t min_insync_replicas;
  int32_t group_initial_rebalance_delay_ms;
  int32_t group_min_session_timeout_ms;
  int32_t group_max_session_timeout_ms;
  int32_t group_max_size;
  int32_t offsets_topic_num_partitions;
  int16_t offsets_topic_replication_factor;
  int32_t offsets_retention_minutes;
  int32_t fetch_max_bytes;
  int32_t replica_fetch_max_bytes;
  /* KIP-98: a partition forgets an idempotent producer idle this long (by
   * its last batch's timestamp); checked with the log maintenance. */
  int64_t producer_id_expiration_ms;
  /* A leader drops from the ISR a follower that has not caught up with its
   * log end for this long (Kafka's replica.lag.time.max.ms, 30000). */
  int64_t replica_lag_time_max_ms;
  /* Budgets (issue 13). queued.max.request.bytes: bytes of requests being
   * received and waiting across connections (KIP-72; Kafka's -1 is
   * unlimited, so is <= 0 here); past it reading pauses. */
  int64_t queued_max_request_bytes;
  int32_t max_connections;        /* total accepted; 0: none */
  int32_t max_connections_per_ip; /* per client address */
  /* Response bytes queued and not yet sent, per connection and in total:
   * past either, the connection's next request waits and it is not read. */
  int64_t connection_response_bytes_max;
  int64_t response_bytes_max;
  int32_t create_topics_partitions_max;       /* per CreateTopics/CreatePartitions request */
  int32_t cluster_partitions_max;             /* every topic's partitions, summed */
  char metrics_listener[CONFIG_STR_MAX];      /* sluice.metrics.listener: host:port or "" */
  int32_t auto_create_topics_max_per_request; /* per Metadata request */
  int32_t auto_create_topics_max_per_second;  /* per broker */
  int64_t produce_decompressed_bytes_max;     /* one batch inflated for recompression */
  /* Which typed keys the properties set (bit i: config.c's keys[i]). */
  uint64_t typed_set[CONFIG_TYPED_WORDS];
  struct config_stored stored[CONFIG_STORED_MAX];
  int stored_count;
};

#define CONFIG_UNSET INT64_MIN

int64_t config_retention_ms(const struct config *cfg);
int64_t config_roll_ms(const struct config *cfg);
/* Whether the listener called `name` is one of controller.listener.names. */
bool config_is_controller_listener(const struct config *cfg, const char *name);
/* Whether process.roles names `role` ("broker" or "controller"). */
bool config_has_role(const struct config *cfg, const char *role);
/* The directory of the metadata log: metadata.log.dir, else log.dirs. */
const char *config_metadata_log_dir(const struct config *cfg);
/* The listener clients use (the first that is not a controller listener). */
const struct config_listener *config_client_listener(const struct config *cfg);
const struct config_listener *config_advertised_for(const struct config *cfg, const char *name);

/* The broker's value of the catalog config `name` as text, false when it
 * is null; *set says whether the properties set it (else Kafka's default). */
bool config_value(const struct config *cfg, const char *name, char *out, size_t cap, bool *set);

/* Kafka's defaults. */
void config_defaults(struct config *cfg);
/* Parses server.properties text into cfg (on top of what it holds). Every
 * Kafka 3.9 broker config is accepted and checked against the catalog; those
 * without a typed field are stored as text. Unknown keys are warned about
 * through env's log (as Kafka does), never fatal.
 * A bad value fails: returns false with "key: reason" in err. */
bool config_parse(struct config *cfg, const char *text, size_t len, struct env *env, char *err,
                  size_t err_cap);
/* Sets one key; same rules as config_parse. */
bool config_set(struct config *cfg, const char *key, const char *value, struct env *env,
                char *err, size_t err_cap);

#endif
