/* server.properties: Kafka's key names and defaults (KafkaConfig), parsed
 * from text the world read. Keys of features that arrive with later work are
 * accepted and noted; unknown keys are warned about; bad values are errors
 * naming the key and the reason. */
#include "server/config.h"
#include "log/segment_cache.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "server/config_catalog.h"

enum kind {
  K_INT32,
  K_INT16,
  K_INT64,
  K_BOOL,
  K_STR,
  K_LISTENERS,
  K_ADVERTISED,
  K_DIRS,
  K_CODEC,
  K_VOTERS
};

struct key {
  const char *name;
  enum kind kind;
  size_t offset;
  size_t size; /* K_STR: capacity */
  int64_t min;
  int64_t max;
};

#define F(field) offsetof(struct config, field), sizeof(((struct config *)0)->field)
#define NOMAX    INT64_MAX

static const struct key keys[] = {
    {"node.id", K_INT32, F(node_id), 0, INT32_MAX},
    {"broker.id", K_INT32, F(node_id), 0, INT32_MAX},
    {"process.roles", K_STR, F(process_roles), 0, 0},
    {"listeners", K_LISTENERS, F(listeners), 0, 0},
    {"advertised.listeners", K_ADVERTISED, F(advertised), 0, 0},
    {"log.dirs", K_DIRS, F(log_dirs), 0, 0},
    {"log.dir", K_DIRS, F(log_dirs), 0, 0},
    {"cluster.id", K_STR, F(cluster_id), 0, 0},
    {"num.partitions", K_INT32, F(num_partitions), 1, 100000},
    {"default.replication.factor", K_INT16, F(default_replication_factor), 1, INT16_MAX},
    {"auto.create.topics.enable", K_BOOL, F(auto_create_topics_enable), 0, 0},
    {"delete.topic.enable", K_BOOL, F(delete_topic_enable), 0, 0},
    {"message.max.bytes", K_INT32, F(message_max_bytes), 0, INT32_MAX},
    {"socket.request.max.bytes", K_INT32, F(socket_request_max_bytes), 1, INT32_MAX},
    {"log.segment.bytes", K_INT64, F(log_segment_bytes), 14, INT32_MAX},
    {"log.roll.ms", K_INT64, F(log_roll_ms), 1, NOMAX},
    {"log.roll.hours", K_INT64, F(log_roll_hours), 1, NOMAX},
    {"log.retention.ms", K_INT64, F(log_retention_ms), -1, NOMAX},
    {"log.retention.minutes", K_INT64, F(log_retention_minutes), -1, NOMAX},
    {"log.retention.hours", K_INT64, F(log_retention_hours), -1, NOMAX},
    {"log.retention.bytes", K_INT64, F(log_retention_bytes), -1, NOMAX},
    {"log.retention.check.interval.ms", K_INT64, F(log_retention_check_interval_ms), 1, NOMAX},
    {"log.index.interval.bytes", K_INT32, F(log_index_interval_bytes), 0, INT32_MAX},
    {"log.index.size.max.bytes", K_INT32, F(log_index_size_max_bytes), 4, INT32_MAX},
    {"sluice.open.segments.max", K_INT32, F(open_segments_max), 1, INT32_MAX / 4},
    {"log.flush.interval.messages", K_INT64, F(log_flush_interval_messages), 1, NOMAX},
    {"log.flush.interval.ms", K_INT64, F(log_flush_interval_ms), 0, NOMAX},
    {"compression.type", K_CODEC, F(compression_type), 0, 0},
    {"controller.listener.names", K_STR, F(controller_listener_names), 0, 0},
    {"controller.quorum.voters", K_VOTERS, F(voters), 0, 0},
    {"controller.quorum.request.timeout.ms", K_INT32, F(controller_quorum_request_timeout_ms),
     1, INT32_MAX},
    {"controller.quorum.election.timeout.ms", K_INT32, F(controller_quorum_election_timeout_ms),
     1, INT32_MAX},
    {"controller.quorum.election.backoff.max.ms", K_INT32,
     F(controller_quorum_election_backoff_max_ms), 0, INT32_MAX},
    {"controller.quorum.fetch.timeout.ms", K_INT32, F(controller_quorum_fetch_timeout_ms), 1,
     INT32_MAX},
    {"controller.quorum.retry.backoff.ms", K_INT32, F(controller_quorum_retry_backoff_ms), 1,
     INT32_MAX},
    {"broker.heartbeat.interval.ms", K_INT32, F(broker_heartbeat_interval_ms), 1, INT32_MAX},
    {"broker.session.timeout.ms", K_INT32, F(broker_session_timeout_ms), 1, INT32_MAX},
    {"unclean.leader.election.enable", K_BOOL, F(unclean_leader_election_enable), 0, 0},
    {"eligible.leader.replicas.enable", K_BOOL, F(eligible_leader_replicas_enable), 0, 0},
    {"auto.leader.rebalance.enable", K_BOOL, F(auto_leader_rebalance_enable), 0, 0},
    {"leader.imbalance.check.interval.seconds", K_INT64,
     F(leader_imbalance_check_interval_seconds), 1, NOMAX},
    {"leader.imbalance.per.broker.percentage", K_INT32,
     F(leader_imbalance_per_broker_percentage), 0, 100},
    {"metadata.log.dir", K_DIRS, F(metadata_log_dir), 0, 0},
    {"metadata.log.max.record.bytes.between.snapshots", K_INT64,
     F(metadata_log_max_record_bytes_between_snapshots), 1, NOMAX},
    {"metadata.log.max.snapshot.interval.ms", K_INT64, F(metadata_log_max_snapshot_interval_ms),
     0, NOMAX},
    {"reconnect.backoff.ms", K_INT32, F(reconnect_backoff_ms), 1, INT32_MAX},
    {"reconnect.backoff.max.ms", K_INT32, F(reconnect_backoff_max_ms), 1, INT32_MAX},
    {"inter.broker.listener.name", K_STR, F(inter_broker_listener_name), 0, 0},
    {"min.insync.replicas", K_INT32, F(min_insync_replicas), 1, INT32_MAX},
    {"group.initial.rebalance.delay.ms", K_INT32, F(group_initial_rebalance_delay_ms), 0,
     INT32_MAX},
    {"group.min.session.timeout.ms", K_INT32, F(group_min_session_timeout_ms), 0, INT32_MAX},
    {"group.max.session.timeout.ms", K_INT32, F(group_max_session_timeout_ms), 0, INT32_MAX},
    {"group.max.size", K_INT32, F(group_max_size), 1, INT32_MAX},
    {"offsets.topic.num.partitions", K_INT32, F(offsets_topic_num_partitions), 1, 100000},
    {"offsets.topic.replication.factor", K_INT16, F(offsets_topic_replication_factor), 1,
     INT16_MAX},
    {"offsets.retention.minutes", K_INT32, F(offsets_retention_minutes), 1, INT32_MAX},
    {"fetch.max.bytes", K_INT32, F(fetch_max_bytes), 1024, INT32_MAX},
    {"replica.fetch.max.bytes", K_INT32, F(replica_fetch_max_bytes), 0, INT32_MAX},
    {"producer.id.expiration.ms", K_INT64, F(producer_id_expiration_ms), 1, NOMAX},
    {"replica.lag.time.max.ms", K_INT64, F(replica_lag_time_max_ms), 0, NOMAX},
    /* Budgets for what one client can make the broker hold (issue 13);
     * docs/configs.md "Limits" lists each with what a client sees. */
    {"queued.max.request.bytes", K_INT64, F(queued_max_request_bytes), -1, NOMAX},
    {"max.connections", K_INT32, F(max_connections), 0, INT32_MAX},
    {"max.connections.per.ip", K_INT32, F(max_connections_per_ip), 0, INT32_MAX},
    {"sluice.connection.response.bytes.max", K_INT64, F(connection_response_bytes_max), 1,
     NOMAX},
    {"sluice.response.bytes.max", K_INT64, F(response_bytes_max), 1, NOMAX},
    {"sluice.create.topics.partitions.max", K_INT32, F(create_topics_partitions_max), 1,
     INT32_MAX},
    {"sluice.cluster.partitions.max", K_INT32, F(cluster_partitions_max), 1, INT32_MAX},
    {"sluice.auto.create.topics.max.per.request", K_INT32,
     F(auto_create_topics_max_per_request), 0, INT32_MAX},
    {"sluice.auto.create.topics.max.per.second", K_INT32, F(auto_create_topics_max_per_second),
     0, INT32_MAX},
    {"sluice.produce.decompressed.bytes.max", K_INT64, F(produce_decompressed_bytes_max), 1,
     INT32_MAX},
    /* host:port of the Prometheus endpoint (os/metrics_http.c); empty: none. */
    {"sluice.metrics.listener", K_STR, F(metrics_listener), 0, 0},
};

_Static_assert(sizeof keys / sizeof keys[0] <= 64 * CONFIG_TYPED_WORDS,
               "typed_set has a bit per typed key");

/* Accepted with a note: the capability arrives with a later issue. */
static const char *const later_keys[] = {
    "controller.quorum.bootstrap.servers",
    "transaction.state.log.replication.factor",
    "transaction.state.log.min.isr",
    "listener.security.protocol.map",
    "sasl.enabled.mechanisms",
    "sasl.mechanism.inter.broker.protocol",
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.key.password",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "authorizer.class.name",
    "super.users",
};

/* Accepted, no effect: thread pools and socket buffers of the JVM broker
 * (Sluice is one event loop per node; the kernel sizes its buffers). */
static const char *const no_effect_keys[] = {
    "num.network.threads",
    "num.io.threads",
    "socket.send.buffer.bytes",
    "socket.receive.buffer.bytes",
    "num.recovery.threads.per.data.dir",
    "num.replica.fetchers",
    "background.threads",
    "queued.max.requests",
    "log.cleaner.enable",
    "log.cleanup.policy",
    "zookeeper.connect",
    "zookeeper.connection.timeout.ms",
};

/* Kafka leaves these unbounded (-1, Int.MaxValue) or has no such limit;
 * Sluice's defaults bound what one client can take (docs/configs.md). */
static void config_limit_defaults(struct config *cfg) {
  cfg->queued_max_request_bytes = 104857600; /* 100 MiB */
  cfg->max_connections = 10000;
  cfg->max_connections_per_ip = 2000;
  cfg->connection_response_bytes_max = 67108864; /* 64 MiB */
  cfg->response_bytes_max = 1073741824;          /* 1 GiB */
  cfg->create_topics_partitions_max = 1000;
  cfg->cluster_partitions_max = 20000;
  cfg->auto_create_topics_max_per_request = 10;
  cfg->auto_create_topics_max_per_second = 100;
  cfg->produce_decompressed_bytes_max = 67108864; /* 64 MiB */
}

void config_defaults(struct config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->node_id = -1;
  str_fmt(cfg->process_roles, sizeof cfg->process_roles, "broker");
  cfg->listeners[0] = (struct config_listener){.name = "PLAINTEXT", .host = "", .port = 9092};
  cfg->listener_count = 1;
  str_fmt(cfg->log_dirs, sizeof cfg->log_dirs, "/tmp/kafka-logs");
  cfg->num_partitions = 1;
  cfg->default_replication_factor = 1;
  cfg->auto_create_topics_enable = true;
  cfg->delete_topic_enable = true;
  cfg->message_max_bytes = 1048588;
  cfg->socket_request_max_bytes = 104857600;
  cfg->log_segment_bytes = 1073741824;
  cfg->log_roll_ms = CONFIG_UNSET;
  cfg->log_roll_hours = 168;
  cfg->log_retention_ms = CONFIG_UNSET;
  cfg->log_retention_minutes = CONFIG_UNSET;
  cfg->log_retention_hours = 168;
  cfg->log_retention_bytes = -1;
  cfg->log_retention_check_interval_ms = 300000;
  cfg->log_index_interval_bytes = 4096;
  cfg->log_index_size_max_bytes = 10485760;
  cfg->open_segments_max = SEG_CACHE_DEFAULT_SEGMENTS;
  cfg->log_flush_interval_messages = INT64_MAX;
  cfg->log_flush_interval_ms = CONFIG_UNSET;
  str_fmt(cfg->compression_type, sizeof cfg->compression_type, "producer");
  str_fmt(cfg->inter_broker_listener_name, sizeof cfg->inter_broker_listener_name, "PLAINTEXT");
  cfg->min_insync_replicas = 1;
  cfg->controller_quorum_request_timeout_ms = 2000;
  cfg->controller_quorum_election_timeout_ms = 1000;
  cfg->controller_quorum_election_backoff_max_ms = 1000;
  cfg->controller_quorum_fetch_timeout_ms = 2000;
  cfg->controller_quorum_retry_backoff_ms = 20;
  cfg->broker_heartbeat_interval_ms = 2000;
  cfg->broker_session_timeout_ms = 9000;
  cfg->unclean_leader_election_enable = false;
  cfg->eligible_leader_replicas_enable = false;
  cfg->auto_leader_rebalance_enable = true;
  cfg->leader_imbalance_check_interval_seconds = 300;
  cfg->leader_imbalance_per_broker_percentage = 10;
  cfg->metadata_log_max_record_bytes_between_snapshots = 20971520;
  cfg->metadata_log_max_snapshot_interval_ms = 3600000;
  cfg->reconnect_backoff_ms = 50;
  cfg->reconnect_backoff_max_ms = 1000;
  cfg->group_initial_rebalance_delay_ms = 3000;
  cfg->group_min_session_timeout_ms = 6000;
  cfg->group_max_session_timeout_ms = 1800000;
  cfg->group_max_size = INT32_MAX;
  cfg->offsets_topic_num_partitions = 50;
  cfg->offsets_topic_replication_factor = 3; /* lowered to the brokers there are */
  cfg->offsets_retention_minutes = 10080;
  cfg->fetch_max_bytes = 57671680;
  cfg->replica_fetch_max_bytes = 1048576;
  cfg->producer_id_expiration_ms = 86400000;
  cfg->replica_lag_time_max_ms = 30000;
  config_limit_defaults(cfg);
}

int64_t config_retention_ms(const struct config *cfg) {
  if (cfg->log_retention_ms != CONFIG_UNSET) return cfg->log_retention_ms;
  if (cfg->log_retention_minutes != CONFIG_UNSET)
    return cfg->log_retention_minutes < 0 ? -1 : cfg->log_retention_minutes * 60000;
  return cfg->log_retention_hours < 0 ? -1 : cfg->log_retention_hours * 3600000;
}

int64_t config_roll_ms(const struct config *cfg) {
  if (cfg->log_roll_ms != CONFIG_UNSET) return cfg->log_roll_ms;
  return cfg->log_roll_hours * 3600000;
}

bool config_is_controller_listener(const struct config *cfg, const char *name) {
  const char *list = cfg->controller_listener_names;
  size_t n = strlen(name);
  for (const char *p = list; *p;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (len == n && memcmp(p, name, n) == 0) return true;
    if (!comma) break;
    p = comma + 1;
  }
  return false;
}

bool config_has_role(const struct config *cfg, const char *role) {
  size_t n = strlen(role);
  for (const char *p = cfg->process_roles; *p;) {
    while (*p == ' ') p++;
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    while (len && p[len - 1] == ' ') len--;
    if (len == n && memcmp(p, role, n) == 0) return true;
    if (!comma) break;
    p = comma + 1;
  }
  return false;
}

const char *config_metadata_log_dir(const struct config *cfg) {
  return cfg->metadata_log_dir[0] ? cfg->metadata_log_dir : cfg->log_dirs;
}

const struct config_listener *config_client_listener(const struct config *cfg) {
  for (int i = 0; i < cfg->listener_count; i++)
    if (!config_is_controller_listener(cfg, cfg->listeners[i].name)) return &cfg->listeners[i];
  return NULL;
}

const struct config_listener *config_advertised_for(const struct config *cfg,
                                                    const char *name) {
  for (int i = 0; i < cfg->advertised_count; i++)
    if (strcmp(cfg->advertised[i].name, name) == 0) return &cfg->advertised[i];
  for (int i = 0; i < cfg->listener_count; i++)
    if (strcmp(cfg->listeners[i].name, name) == 0) return &cfg->listeners[i];
  return NULL;
}

static bool fail(char *err, size_t cap, const char *key, const char *why, const char *value) {
  str_fmt(err, cap, "%s: %s (got \"%s\")", key, why, value);
  return false;
}

static bool parse_bool(const char *v, bool *out) {
  if (strcmp(v, "true") == 0)
    *out = true;
  else if (strcmp(v, "false") == 0)
    *out = false;
  else
    return false;
  return true;
}

/* NAME://host:port, comma separated; [v6]:port accepted. */
static bool parse_listener(const char *s, size_t len, struct config_listener *out) {
  const char *sep = NULL;
  for (size_t i = 0; i + 2 < len; i++)
    if (s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/') {
      sep = s + i;
      break;
    }
  if (!sep || sep == s || (size_t)(sep - s) >= sizeof out->name) return false;
  memset(out, 0, sizeof *out);
  memcpy(out->name, s, (size_t)(sep - s));
  const char *hp = sep + 3, *end = s + len;
  const char *colon = NULL;
  for (const char *p = end; p > hp; p--)
    if (p[-1] == ':') {
      colon = p - 1;
      break;
    }
  if (!colon) return false;
  const char *h = hp, *he = colon;
  if (he > h && *h == '[' && he[-1] == ']') h++, he--;
  if ((size_t)(he - h) >= sizeof out->host) return false;
  memcpy(out->host, h, (size_t)(he - h));
  char port[8] = {0};
  if (end - colon - 1 <= 0 || end - colon - 1 >= (long)sizeof port) return false;
  memcpy(port, colon + 1, (size_t)(end - colon - 1));
  int64_t p;
  if (!str_to_i64(port, &p) || p < 0 || p > 65535) return false;
  out->port = (uint16_t)p;
  return true;
}

static bool parse_listeners(const char *v, struct config_listener *arr, int *count) {
  int n = 0;
  for (const char *p = v; *p;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    while (len && *p == ' ') p++, len--;
    while (len && p[len - 1] == ' ') len--;
    if (n == CONFIG_LISTENERS_MAX || !parse_listener(p, len, &arr[n])) return false;
    for (int i = 0; i < n; i++)
      if (strcmp(arr[i].name, arr[n].name) == 0) return false;
    n++;
    if (!comma) break;
    p = comma + 1;
  }
  if (n == 0) return false;
  *count = n;
  return true;
}

/* id@host:port, comma separated (KIP-595's controller.quorum.voters). */
static bool parse_voters(const char *v, struct config_voter *arr, int *count) {
  int n = 0;
  for (const char *p = v; *p && n <= CONFIG_VOTERS_MAX;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    const char *at = memchr(p, '@', len);
    char id[16] = {0}, hostport[160] = "V://";
    int64_t idn;
    if (n == CONFIG_VOTERS_MAX || !at || at == p || (size_t)(at - p) >= sizeof id) return false;
    memcpy(id, p, (size_t)(at - p));
    if (!str_to_i64(id, &idn) || idn < 0 || idn > INT32_MAX) return false;
    size_t hp_len = len - (size_t)(at + 1 - p);
    if (hp_len + 4 >= sizeof hostport) return false;
    memcpy(hostport + 4, at + 1, hp_len);
    struct config_listener l;
    if (!parse_listener(hostport, hp_len + 4, &l) || l.port == 0) return false;
    for (int i = 0; i < n; i++)
      if (arr[i].id == idn) return false;
    arr[n].id = (int32_t)idn;
    str_fmt(arr[n].host, sizeof arr[n].host, "%s", l.host);
    arr[n].port = l.port;
    n++;
    if (!comma) break;
    p = comma + 1;
  }
  *count = n;
  return true;
}

static bool is_valid_codec(const char *v) {
  static const char *const names[] = {"producer", "uncompressed", "none", "gzip",
                                      "snappy",   "lz4",          "zstd"};
  for (size_t i = 0; i < ARRAY_LEN(names); i++)
    if (strcmp(v, names[i]) == 0) return true;
  return false;
}

static bool set_known(struct config *cfg, const struct key *k, const char *v, char *err,
                      size_t cap) {
  char *field = (char *)cfg + k->offset;
  int64_t n = 0;
  switch (k->kind) {
  case K_INT16:
  case K_INT32:
  case K_INT64:
    if (!str_to_i64(v, &n)) return fail(err, cap, k->name, "not an integer", v);
    if (n < k->min || n > k->max) {
      str_fmt(err, cap, "%s: %lld is out of range [%lld, %lld]", k->name, (long long)n,
              (long long)k->min, (long long)k->max);
      return false;
    }
    if (k->kind == K_INT16)
      *(int16_t *)field = (int16_t)n;
    else if (k->kind == K_INT32)
      *(int32_t *)field = (int32_t)n;
    else
      *(int64_t *)field = n;
    return true;
  case K_BOOL:
    if (!parse_bool(v, (bool *)field))
      return fail(err, cap, k->name, "expected true or false", v);
    return true;
  case K_CODEC:
    if (!is_valid_codec(v))
      return fail(err, cap, k->name,
                  "expected producer, uncompressed, gzip, snappy, lz4 or zstd", v);
    /* fallthrough */
  case K_STR:
  case K_DIRS: {
    size_t len = strlen(v);
    if (k->kind == K_DIRS) {
      const char *comma = strchr(v, ',');
      if (comma) len = (size_t)(comma - v); /* one log dir per node for now */
      if (len == 0) return fail(err, cap, k->name, "empty path", v);
    }
    if (len >= k->size) return fail(err, cap, k->name, "too long", v);
    memcpy(field, v, len);
    field[len] = 0;
    return true;
  }
  case K_LISTENERS:
    if (!parse_listeners(v, cfg->listeners, &cfg->listener_count))
      return fail(err, cap, k->name, "expected NAME://host:port[,NAME://host:port...]", v);
    return true;
  case K_VOTERS:
    if (!parse_voters(v, cfg->voters, &cfg->voter_count))
      return fail(err, cap, k->name, "expected id@host:port[,id@host:port...]", v);
    return true;
  case K_ADVERTISED:
    if (!parse_listeners(v, cfg->advertised, &cfg->advertised_count))
      return fail(err, cap, k->name, "expected NAME://host:port[,NAME://host:port...]", v);
    return true;
  }
  UNREACHABLE();
}

static bool in_list(const char *const *list, size_t n, const char *key) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(list[i], key) == 0) return true;
  return false;
}

/* A catalog config without a typed field: checked, then kept as text (a
 * later line replaces an earlier one, as in Kafka's Properties). */
static bool store(struct config *cfg, const struct config_def *def, const char *value,
                  char *err, size_t cap) {
  char why[400];
  if (!config_catalog_check(def, value, why, sizeof why)) {
    str_fmt(err, cap, "%s: %s", def->name, why);
    return false;
  }
  if (strlen(value) >= CONFIG_STORED_VALUE_BYTES)
    return fail(err, cap, def->name, "too long for sluice", value);
  int at = 0;
  while (at < cfg->stored_count && cfg->stored[at].name != def->name) at++;
  if (at == cfg->stored_count) {
    if (cfg->stored_count == CONFIG_STORED_MAX)
      return fail(err, cap, def->name, "too many broker configs set", value);
    cfg->stored_count++;
  }
  ASSERT(at < CONFIG_STORED_MAX);
  cfg->stored[at].name = def->name;
  str_fmt(cfg->stored[at].value, sizeof cfg->stored[at].value, "%s", value);
  return true;
}

bool config_set(struct config *cfg, const char *key, const char *value, struct env *env,
                char *err, size_t err_cap) {
  for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
    if (strcmp(keys[i].name, key) != 0) continue;
    if (!set_known(cfg, &keys[i], value, err, err_cap)) return false;
    cfg->typed_set[i / 64] |= (uint64_t)1 << (i % 64);
    return true;
  }
  const struct config_def *def = config_catalog_find(CONFIG_SCOPE_BROKER, key);
  if (!def) {
    /* Read by a plugin in Kafka (super.users: the authorizer), so not a
     * KafkaConfig name; Kafka logs other unknown names and starts. */
    if (env && in_list(later_keys, ARRAY_LEN(later_keys), key))
      env_log(env, ENV_LOG_INFO, "config: %s accepted; it takes effect with a later release",
              key);
    else if (env)
      env_log(env, ENV_LOG_WARN, "config: unknown key %s ignored", key);
    return true;
  }
  if (!store(cfg, def, value, err, err_cap)) return false;
  if (in_list(later_keys, ARRAY_LEN(later_keys), key)) {
    if (env)
      env_log(env, ENV_LOG_INFO, "config: %s stored; it takes effect with a later release",
              key);
  } else if (in_list(no_effect_keys, ARRAY_LEN(no_effect_keys), key)) {
    if (env) env_log(env, ENV_LOG_INFO, "config: %s stored; no effect in sluice", key);
  } else if (env) {
    env_log(env, ENV_LOG_INFO, "config: %s stored; sluice does not act on it", key);
  }
  return true;
}

static void listeners_text(const struct config_listener *l, int n, char *out, size_t cap) {
  size_t o = 0;
  out[0] = 0;
  for (int i = 0; i < n && o < cap; i++)
    o += str_fmt(out + o, cap - o, "%s%s://%s:%u", i ? "," : "", l[i].name, l[i].host,
                 l[i].port);
}

static void voters_text(const struct config *cfg, char *out, size_t cap) {
  size_t o = 0;
  out[0] = 0;
  for (int i = 0; i < cfg->voter_count && o < cap; i++)
    o += str_fmt(out + o, cap - o, "%s%d@%s:%u", i ? "," : "", cfg->voters[i].id,
                 cfg->voters[i].host, cfg->voters[i].port);
}

/* A typed field as text; false when it holds no value (CONFIG_UNSET). */
static bool typed_text(const struct config *cfg, const struct key *k, char *out, size_t cap) {
  const char *field = (const char *)cfg + k->offset;
  switch (k->kind) {
  case K_INT16:
    str_fmt(out, cap, "%d", *(const int16_t *)field);
    return true;
  case K_INT32:
    str_fmt(out, cap, "%d", *(const int32_t *)field);
    return true;
  case K_INT64: {
    int64_t v = *(const int64_t *)field;
    if (!strcmp(k->name, "log.retention.ms")) v = config_retention_ms(cfg);
    if (!strcmp(k->name, "log.roll.ms")) v = config_roll_ms(cfg);
    if (v == CONFIG_UNSET) return false;
    str_fmt(out, cap, "%lld", (long long)v);
    return true;
  }
  case K_BOOL:
    str_fmt(out, cap, "%s", *(const bool *)field ? "true" : "false");
    return true;
  case K_STR:
  case K_DIRS:
  case K_CODEC:
    str_fmt(out, cap, "%s", field);
    return true;
  case K_LISTENERS:
    listeners_text(cfg->listeners, cfg->listener_count, out, cap);
    return true;
  case K_ADVERTISED:
    listeners_text(cfg->advertised, cfg->advertised_count, out, cap);
    return cfg->advertised_count > 0;
  case K_VOTERS:
    voters_text(cfg, out, cap);
    return true;
  }
  UNREACHABLE();
}

/* Whether `text` is what the key holds in config_defaults. */
static bool typed_is_default(const struct key *k, const char *text) {
  struct config *d = malloc(sizeof *d); /* large (stored values): not on the stack */
  ASSERT(d != NULL);
  config_defaults(d);
  char dflt[CONFIG_STORED_VALUE_BYTES + 64];
  bool has = typed_text(d, k, dflt, sizeof dflt);
  bool same = has && strcmp(dflt, text) == 0;
  free(d);
  return same;
}

bool config_value(const struct config *cfg, const char *name, char *out, size_t cap,
                  bool *set) {
  ASSERT(cfg != NULL && name != NULL && out != NULL && cap > 0 && set != NULL);
  out[0] = 0;
  for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
    if (strcmp(keys[i].name, name) != 0) continue;
    bool has = typed_text(cfg, &keys[i], out, cap);
    /* Set by a properties line, or by a program that filled the field in
     * (tests, the simulator) with something other than the default. */
    *set =
        ((cfg->typed_set[i / 64] >> (i % 64)) & 1) || (has && !typed_is_default(&keys[i], out));
    return has;
  }
  for (int i = 0; i < cfg->stored_count; i++) {
    if (strcmp(cfg->stored[i].name, name) != 0) continue;
    *set = true;
    str_fmt(out, cap, "%s", cfg->stored[i].value);
    return true;
  }
  *set = false;
  const struct config_def *def = config_catalog_find(CONFIG_SCOPE_BROKER, name);
  if (!def || !def->default_value) return false;
  str_fmt(out, cap, "%s", def->default_value);
  return true;
}

static size_t trim(const char **s, size_t len) {
  while (len && (**s == ' ' || **s == '\t')) (*s)++, len--;
  while (len && ((*s)[len - 1] == ' ' || (*s)[len - 1] == '\t' || (*s)[len - 1] == '\r')) len--;
  return len;
}

enum { LINE_MAX_BYTES = 4096 };

bool config_parse(struct config *cfg, const char *text, size_t len, struct env *env, char *err,
                  size_t err_cap) {
  size_t line_no = 0;
  for (size_t at = 0; at < len;) {
    const char *line = text + at;
    const char *nl = memchr(line, '\n', len - at);
    size_t line_len = nl ? (size_t)(nl - line) : len - at;
    at += line_len + 1;
    line_no++;
    line_len = trim(&line, line_len);
    if (line_len == 0 || line[0] == '#' || line[0] == '!') continue;
    size_t eq = 0;
    while (eq < line_len && line[eq] != '=' && line[eq] != ':') eq++;
    if (eq == line_len || line_len >= LINE_MAX_BYTES) {
      str_fmt(err, err_cap, "line %zu: expected key=value", line_no);
      return false;
    }
    char key[LINE_MAX_BYTES], value[LINE_MAX_BYTES];
    const char *k = line, *v = line + eq + 1;
    size_t klen = trim(&k, eq), vlen = trim(&v, line_len - eq - 1);
    memcpy(key, k, klen);
    key[klen] = 0;
    memcpy(value, v, vlen);
    value[vlen] = 0;
    char why[512];
    if (!config_set(cfg, key, value, env, why, sizeof why)) {
      str_fmt(err, err_cap, "line %zu: %s", line_no, why);
      return false;
    }
  }
  return true;
}
