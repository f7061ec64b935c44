/* The catalog's table: names, types, defaults and validators of Kafka 3.9
 * (LogConfig's topic configs; AbstractKafkaConfig's broker configs without
 * the internal ones), carried over as facts from Kafka's ConfigDef
 * definitions; the checks follow ConfigDef's parsing and validators. */
#include "server/config_catalog.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/assert.h"
#include "base/str.h"
#include "server/topic_config.h"

/* clang-format off */
static const struct config_def catalog[] = {
    [TC_CLEANUP_POLICY] = {"cleanup.policy", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_LIST, "delete", CHECK_LIST_IN, 0, 0, "compact,delete", "log.cleanup.policy", CONFIG_ACTED_ON},
    [TC_COMPRESSION_GZIP_LEVEL] = {"compression.gzip.level", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_INT, "-1", CHECK_RANGE, 1, 9, "-1", "compression.gzip.level", 0},
    [TC_COMPRESSION_LZ4_LEVEL] = {"compression.lz4.level", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_INT, "9", CHECK_RANGE, 1, 17, NULL, "compression.lz4.level", 0},
    [TC_COMPRESSION_TYPE] = {"compression.type", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_STRING, "producer", CHECK_IN, 0, 0, "uncompressed,zstd,lz4,snappy,gzip,producer", "compression.type", CONFIG_ACTED_ON},
    [TC_COMPRESSION_ZSTD_LEVEL] = {"compression.zstd.level", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_INT, "3", CHECK_RANGE, -131072, 22, NULL, "compression.zstd.level", 0},
    [TC_DELETE_RETENTION_MS] = {"delete.retention.ms", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_LONG, "86400000", CHECK_AT_LEAST, 0, 0, NULL, "log.cleaner.delete.retention.ms", CONFIG_ACTED_ON},
    [TC_FILE_DELETE_DELAY_MS] = {"file.delete.delay.ms", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_LONG, "60000", CHECK_AT_LEAST, 0, 0, NULL, "log.segment.delete.delay.ms", 0},
    [TC_FLUSH_MESSAGES] = {"flush.messages", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_LONG, "9223372036854775807", CHECK_AT_LEAST, 1, 0, NULL, "log.flush.interval.messages", CONFIG_ACTED_ON},
    [TC_FLUSH_MS] = {"flush.ms", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_LONG, "9223372036854775807", CHECK_AT_LEAST, 0, 0, NULL, "log.flush.interval.ms", 0},
    [TC_FOLLOWER_REPLICATION_THROTTLED_REPLICAS] = {"follower.replication.throttled.replicas", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_LIST, "", CHECK_NONE, 0, 0, NULL, NULL, 0},
    [TC_INDEX_INTERVAL_BYTES] = {"index.interval.bytes", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_INT, "4096", CHECK_AT_LEAST, 0, 0, NULL, "log.index.interval.bytes", CONFIG_ACTED_ON},
    [TC_LEADER_REPLICATION_THROTTLED_REPLICAS] = {"leader.replication.throttled.replicas", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_LIST, "", CHECK_NONE, 0, 0, NULL, NULL, 0},
    [TC_LOCAL_RETENTION_BYTES] = {"local.retention.bytes", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_LONG, "-2", CHECK_AT_LEAST, -2, 0, NULL, "log.local.retention.bytes", 0},
    [TC_LOCAL_RETENTION_MS] = {"local.retention.ms", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_LONG, "-2", CHECK_AT_LEAST, -2, 0, NULL, "log.local.retention.ms", 0},
    [TC_MAX_COMPACTION_LAG_MS] = {"max.compaction.lag.ms", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_LONG, "9223372036854775807", CHECK_AT_LEAST, 1, 0, NULL, "log.cleaner.max.compaction.lag.ms", CONFIG_ACTED_ON},
    [TC_MAX_MESSAGE_BYTES] = {"max.message.bytes", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_INT, "1048588", CHECK_AT_LEAST, 0, 0, NULL, "message.max.bytes", CONFIG_ACTED_ON},
    [TC_MESSAGE_DOWNCONVERSION_ENABLE] = {"message.downconversion.enable", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_BOOLEAN, "true", CHECK_NONE, 0, 0, NULL, "log.message.downconversion.enable", 0},
    [TC_MESSAGE_FORMAT_VERSION] = {"message.format.version", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_STRING, "3.0-IV1", CHECK_NONE, 0, 0, NULL, "log.message.format.version", 0},
    [TC_MESSAGE_TIMESTAMP_AFTER_MAX_MS] = {"message.timestamp.after.max.ms", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_LONG, "9223372036854775807", CHECK_AT_LEAST, 0, 0, NULL, "log.message.timestamp.after.max.ms", 0},
    [TC_MESSAGE_TIMESTAMP_BEFORE_MAX_MS] = {"message.timestamp.before.max.ms", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_LONG, "9223372036854775807", CHECK_AT_LEAST, 0, 0, NULL, "log.message.timestamp.before.max.ms", 0},
    [TC_MESSAGE_TIMESTAMP_DIFFERENCE_MAX_MS] = {"message.timestamp.difference.max.ms", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_LONG, "9223372036854775807", CHECK_AT_LEAST, 0, 0, NULL, "log.message.timestamp.difference.max.ms", 0},
    [TC_MESSAGE_TIMESTAMP_TYPE] = {"message.timestamp.type", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_STRING, "CreateTime", CHECK_IN, 0, 0, "CreateTime,LogAppendTime", "log.message.timestamp.type", CONFIG_ACTED_ON},
    [TC_MIN_CLEANABLE_DIRTY_RATIO] = {"min.cleanable.dirty.ratio", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_DOUBLE, "0.5", CHECK_RANGE, 0, 1, NULL, "log.cleaner.min.cleanable.ratio", CONFIG_ACTED_ON},
    [TC_MIN_COMPACTION_LAG_MS] = {"min.compaction.lag.ms", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_LONG, "0", CHECK_AT_LEAST, 0, 0, NULL, "log.cleaner.min.compaction.lag.ms", CONFIG_ACTED_ON},
    [TC_MIN_INSYNC_REPLICAS] = {"min.insync.replicas", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_INT, "1", CHECK_AT_LEAST, 1, 0, NULL, "min.insync.replicas", 0},
    [TC_PREALLOCATE] = {"preallocate", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_BOOLEAN, "false", CHECK_NONE, 0, 0, NULL, "log.preallocate", 0},
    [TC_REMOTE_LOG_COPY_DISABLE] = {"remote.log.copy.disable", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_BOOLEAN, "false", CHECK_NONE, 0, 0, NULL, NULL, 0},
    [TC_REMOTE_LOG_DELETE_ON_DISABLE] = {"remote.log.delete.on.disable", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_BOOLEAN, "false", CHECK_NONE, 0, 0, NULL, NULL, 0},
    [TC_REMOTE_STORAGE_ENABLE] = {"remote.storage.enable", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_BOOLEAN, "false", CHECK_NONE, 0, 0, NULL, NULL, CONFIG_ACTED_ON},
    [TC_RETENTION_BYTES] = {"retention.bytes", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_LONG, "-1", CHECK_NONE, 0, 0, NULL, "log.retention.bytes", CONFIG_ACTED_ON},
    [TC_RETENTION_MS] = {"retention.ms", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_LONG, "604800000", CHECK_AT_LEAST, -1, 0, NULL, "log.retention.ms", CONFIG_ACTED_ON},
    [TC_SEGMENT_BYTES] = {"segment.bytes", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_INT, "1073741824", CHECK_AT_LEAST, 14, 0, NULL, "log.segment.bytes", CONFIG_ACTED_ON},
    [TC_SEGMENT_INDEX_BYTES] = {"segment.index.bytes", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_INT, "10485760", CHECK_AT_LEAST, 4, 0, NULL, "log.index.size.max.bytes", CONFIG_ACTED_ON},
    [TC_SEGMENT_JITTER_MS] = {"segment.jitter.ms", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_LONG, "0", CHECK_AT_LEAST, 0, 0, NULL, "log.roll.jitter.ms", 0},
    [TC_SEGMENT_MS] = {"segment.ms", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_LONG, "604800000", CHECK_AT_LEAST, 1, 0, NULL, "log.roll.ms", CONFIG_ACTED_ON},
    [TC_UNCLEAN_LEADER_ELECTION_ENABLE] = {"unclean.leader.election.enable", CONFIG_SCOPE_TOPIC, CONFIG_TYPE_BOOLEAN, "false", CHECK_NONE, 0, 0, NULL, "unclean.leader.election.enable", 0},
    {"advertised.listeners", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"alter.config.policy.class.name", CONFIG_SCOPE_BROKER, CONFIG_TYPE_CLASS, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"alter.log.dirs.replication.quota.window.num", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "11", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"alter.log.dirs.replication.quota.window.size.seconds", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"authorizer.class.name", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"auto.create.topics.enable", CONFIG_SCOPE_BROKER, CONFIG_TYPE_BOOLEAN, "true", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"auto.include.jmx.reporter", CONFIG_SCOPE_BROKER, CONFIG_TYPE_BOOLEAN, "true", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"auto.leader.rebalance.enable", CONFIG_SCOPE_BROKER, CONFIG_TYPE_BOOLEAN, "true", CHECK_NONE, 0, 0, NULL, NULL, CONFIG_ACTED_ON},
    {"background.threads", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "10", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"broker.heartbeat.interval.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "2000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"broker.id", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "-1", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"broker.id.generation.enable", CONFIG_SCOPE_BROKER, CONFIG_TYPE_BOOLEAN, "true", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"broker.rack", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"broker.session.timeout.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "9000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"client.quota.callback.class", CONFIG_SCOPE_BROKER, CONFIG_TYPE_CLASS, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"compression.gzip.level", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "-1", CHECK_RANGE, 1, 9, "-1", NULL, 0},
    {"compression.lz4.level", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "9", CHECK_RANGE, 1, 17, NULL, NULL, 0},
    {"compression.type", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "producer", CHECK_IN, 0, 0, "uncompressed,zstd,lz4,snappy,gzip,producer", NULL, 0},
    {"compression.zstd.level", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "3", CHECK_RANGE, -131072, 22, NULL, NULL, 0},
    {"connection.failed.authentication.delay.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "100", CHECK_AT_LEAST, 0, 0, NULL, NULL, 0},
    {"connections.max.idle.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "600000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"connections.max.reauth.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "0", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"control.plane.listener.name", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"controlled.shutdown.enable", CONFIG_SCOPE_BROKER, CONFIG_TYPE_BOOLEAN, "true", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"controlled.shutdown.max.retries", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "3", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"controlled.shutdown.retry.backoff.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "5000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"controller.listener.names", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"controller.quorum.append.linger.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "25", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"controller.quorum.bootstrap.servers", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LIST, "", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"controller.quorum.election.backoff.max.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"controller.quorum.election.timeout.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"controller.quorum.fetch.timeout.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "2000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"controller.quorum.request.timeout.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "2000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"controller.quorum.retry.backoff.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "20", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"controller.quorum.voters", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LIST, "", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"controller.quota.window.num", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "11", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"controller.quota.window.size.seconds", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"controller.socket.timeout.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "30000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"create.topic.policy.class.name", CONFIG_SCOPE_BROKER, CONFIG_TYPE_CLASS, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"default.replication.factor", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"delegation.token.expiry.check.interval.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "3600000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"delegation.token.expiry.time.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "86400000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"delegation.token.master.key", CONFIG_SCOPE_BROKER, CONFIG_TYPE_PASSWORD, NULL, CHECK_NONE, 0, 0, NULL, NULL, CONFIG_SENSITIVE},
    {"delegation.token.max.lifetime.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "604800000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"delegation.token.secret.key", CONFIG_SCOPE_BROKER, CONFIG_TYPE_PASSWORD, NULL, CHECK_NONE, 0, 0, NULL, NULL, CONFIG_SENSITIVE},
    {"delete.records.purgatory.purge.interval.requests", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"delete.topic.enable", CONFIG_SCOPE_BROKER, CONFIG_TYPE_BOOLEAN, "true", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"early.start.listeners", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"eligible.leader.replicas.enable", CONFIG_SCOPE_BROKER, CONFIG_TYPE_BOOLEAN, "false", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"fetch.max.bytes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "57671680", CHECK_AT_LEAST, 1024, 0, NULL, NULL, 0},
    {"fetch.purgatory.purge.interval.requests", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"group.consumer.assignors", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LIST, "org.apache.kafka.coordinator.group.assignor.UniformAssignor,org.apache.kafka.coordinator.group.assignor.RangeAssignor", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"group.consumer.heartbeat.interval.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "5000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"group.consumer.max.heartbeat.interval.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "15000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"group.consumer.max.session.timeout.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "60000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"group.consumer.max.size", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "2147483647", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"group.consumer.min.heartbeat.interval.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "5000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"group.consumer.min.session.timeout.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "45000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"group.consumer.session.timeout.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "45000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"group.coordinator.append.linger.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "10", CHECK_AT_LEAST, 0, 0, NULL, NULL, 0},
    {"group.coordinator.rebalance.protocols", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LIST, "classic", CHECK_LIST_IN, 0, 0, "consumer,classic,share", NULL, 0},
    {"group.coordinator.threads", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"group.initial.rebalance.delay.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "3000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"group.max.session.timeout.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1800000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"group.max.size", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "2147483647", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"group.min.session.timeout.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "6000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"group.share.delivery.count.limit", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "5", CHECK_RANGE, 2, 10, NULL, NULL, 0},
    {"group.share.heartbeat.interval.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "5000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"group.share.max.groups", CONFIG_SCOPE_BROKER, CONFIG_TYPE_SHORT, "10", CHECK_RANGE, 1, 100, NULL, NULL, 0},
    {"group.share.max.heartbeat.interval.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "15000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"group.share.max.record.lock.duration.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "60000", CHECK_RANGE, 30000, 3600000, NULL, NULL, 0},
    {"group.share.max.session.timeout.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "60000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"group.share.max.size", CONFIG_SCOPE_BROKER, CONFIG_TYPE_SHORT, "200", CHECK_RANGE, 10, 1000, NULL, NULL, 0},
    {"group.share.min.heartbeat.interval.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "5000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"group.share.min.record.lock.duration.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "15000", CHECK_RANGE, 1000, 30000, NULL, NULL, 0},
    {"group.share.min.session.timeout.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "45000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"group.share.partition.max.record.locks", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "200", CHECK_RANGE, 100, 10000, NULL, NULL, 0},
    {"group.share.record.lock.duration.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "30000", CHECK_RANGE, 1000, 60000, NULL, NULL, 0},
    {"group.share.session.timeout.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "45000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"initial.broker.registration.timeout.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "60000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"inter.broker.listener.name", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"inter.broker.protocol.version", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "3.9-IV0", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"kafka.metrics.polling.interval.secs", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "10", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"kafka.metrics.reporters", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LIST, "", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"leader.imbalance.check.interval.seconds", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "300", CHECK_AT_LEAST, 1, 0, NULL, NULL, CONFIG_ACTED_ON},
    {"leader.imbalance.per.broker.percentage", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "10", CHECK_NONE, 0, 0, NULL, NULL, CONFIG_ACTED_ON},
    {"listener.security.protocol.map", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"listeners", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "PLAINTEXT://:9092", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"log.cleaner.backoff.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "15000", CHECK_AT_LEAST, 0, 0, NULL, NULL, CONFIG_ACTED_ON},
    {"log.cleaner.dedupe.buffer.size", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "134217728", CHECK_NONE, 0, 0, NULL, NULL, CONFIG_ACTED_ON},
    {"log.cleaner.delete.retention.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "86400000", CHECK_AT_LEAST, 0, 0, NULL, NULL, CONFIG_ACTED_ON},
    {"log.cleaner.enable", CONFIG_SCOPE_BROKER, CONFIG_TYPE_BOOLEAN, "true", CHECK_NONE, 0, 0, NULL, NULL, CONFIG_ACTED_ON},
    {"log.cleaner.io.buffer.load.factor", CONFIG_SCOPE_BROKER, CONFIG_TYPE_DOUBLE, "0.9", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"log.cleaner.io.buffer.size", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "524288", CHECK_AT_LEAST, 0, 0, NULL, NULL, CONFIG_ACTED_ON},
    {"log.cleaner.io.max.bytes.per.second", CONFIG_SCOPE_BROKER, CONFIG_TYPE_DOUBLE, "1.7976931348623157E308", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"log.cleaner.max.compaction.lag.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "9223372036854775807", CHECK_AT_LEAST, 1, 0, NULL, NULL, CONFIG_ACTED_ON},
    {"log.cleaner.min.cleanable.ratio", CONFIG_SCOPE_BROKER, CONFIG_TYPE_DOUBLE, "0.5", CHECK_RANGE, 0, 1, NULL, NULL, CONFIG_ACTED_ON},
    {"log.cleaner.min.compaction.lag.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "0", CHECK_AT_LEAST, 0, 0, NULL, NULL, CONFIG_ACTED_ON},
    {"log.cleaner.threads", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1", CHECK_AT_LEAST, 0, 0, NULL, NULL, 0},
    {"log.cleanup.policy", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LIST, "delete", CHECK_LIST_IN, 0, 0, "compact,delete", NULL, CONFIG_ACTED_ON},
    {"log.dir", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "/tmp/kafka-logs", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"log.dir.failure.timeout.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "30000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"log.dirs", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"log.flush.interval.messages", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "9223372036854775807", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"log.flush.interval.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"log.flush.offset.checkpoint.interval.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "60000", CHECK_AT_LEAST, 0, 0, NULL, NULL, 0},
    {"log.flush.scheduler.interval.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "9223372036854775807", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"log.flush.start.offset.checkpoint.interval.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "60000", CHECK_AT_LEAST, 0, 0, NULL, NULL, 0},
    {"log.index.interval.bytes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "4096", CHECK_AT_LEAST, 0, 0, NULL, NULL, 0},
    {"log.index.size.max.bytes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "10485760", CHECK_AT_LEAST, 4, 0, NULL, NULL, 0},
    {"log.local.retention.bytes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "-2", CHECK_AT_LEAST, -2, 0, NULL, NULL, 0},
    {"log.local.retention.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "-2", CHECK_AT_LEAST, -2, 0, NULL, NULL, 0},
    {"log.message.downconversion.enable", CONFIG_SCOPE_BROKER, CONFIG_TYPE_BOOLEAN, "true", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"log.message.format.version", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "3.0-IV1", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"log.message.timestamp.after.max.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "9223372036854775807", CHECK_AT_LEAST, 0, 0, NULL, NULL, 0},
    {"log.message.timestamp.before.max.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "9223372036854775807", CHECK_AT_LEAST, 0, 0, NULL, NULL, 0},
    {"log.message.timestamp.difference.max.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "9223372036854775807", CHECK_AT_LEAST, 0, 0, NULL, NULL, 0},
    {"log.message.timestamp.type", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "CreateTime", CHECK_IN, 0, 0, "CreateTime,LogAppendTime", NULL, 0},
    {"log.preallocate", CONFIG_SCOPE_BROKER, CONFIG_TYPE_BOOLEAN, "false", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"log.retention.bytes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "-1", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"log.retention.check.interval.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "300000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"log.retention.hours", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "168", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"log.retention.minutes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"log.retention.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"log.roll.hours", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "168", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"log.roll.jitter.hours", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "0", CHECK_AT_LEAST, 0, 0, NULL, NULL, 0},
    {"log.roll.jitter.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"log.roll.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"log.segment.bytes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1073741824", CHECK_AT_LEAST, 14, 0, NULL, NULL, 0},
    {"log.segment.delete.delay.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "60000", CHECK_AT_LEAST, 0, 0, NULL, NULL, 0},
    {"max.connection.creation.rate", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "2147483647", CHECK_AT_LEAST, 0, 0, NULL, NULL, 0},
    {"max.connections", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "2147483647", CHECK_AT_LEAST, 0, 0, NULL, NULL, 0},
    {"max.connections.per.ip", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "2147483647", CHECK_AT_LEAST, 0, 0, NULL, NULL, 0},
    {"max.connections.per.ip.overrides", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"max.incremental.fetch.session.cache.slots", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1000", CHECK_AT_LEAST, 0, 0, NULL, NULL, 0},
    {"max.request.partition.size.limit", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "2000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"message.max.bytes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1048588", CHECK_AT_LEAST, 0, 0, NULL, NULL, 0},
    {"metadata.log.dir", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"metadata.log.max.record.bytes.between.snapshots", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "20971520", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"metadata.log.max.snapshot.interval.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "3600000", CHECK_AT_LEAST, 0, 0, NULL, NULL, 0},
    {"metadata.log.segment.bytes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1073741824", CHECK_AT_LEAST, 12, 0, NULL, NULL, 0},
    {"metadata.log.segment.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "604800000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"metadata.max.idle.interval.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "500", CHECK_AT_LEAST, 0, 0, NULL, NULL, 0},
    {"metadata.max.retention.bytes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "104857600", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"metadata.max.retention.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "604800000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"metric.reporters", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LIST, "", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"metrics.num.samples", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "2", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"metrics.recording.level", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "INFO", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"metrics.sample.window.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "30000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"min.insync.replicas", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"node.id", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "-1", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"num.io.threads", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "8", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"num.network.threads", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "3", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"num.partitions", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"num.recovery.threads.per.data.dir", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"num.replica.alter.log.dirs.threads", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"num.replica.fetchers", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"offset.metadata.max.bytes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "4096", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"offsets.commit.required.acks", CONFIG_SCOPE_BROKER, CONFIG_TYPE_SHORT, "-1", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"offsets.commit.timeout.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "5000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"offsets.load.buffer.size", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "5242880", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"offsets.retention.check.interval.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "600000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"offsets.retention.minutes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "10080", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"offsets.topic.compression.codec", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "0", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"offsets.topic.num.partitions", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "50", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"offsets.topic.replication.factor", CONFIG_SCOPE_BROKER, CONFIG_TYPE_SHORT, "3", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"offsets.topic.segment.bytes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "104857600", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"password.encoder.cipher.algorithm", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "AES/CBC/PKCS5Padding", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"password.encoder.iterations", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "4096", CHECK_AT_LEAST, 1024, 0, NULL, NULL, 0},
    {"password.encoder.key.length", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "128", CHECK_AT_LEAST, 8, 0, NULL, NULL, 0},
    {"password.encoder.keyfactory.algorithm", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"password.encoder.old.secret", CONFIG_SCOPE_BROKER, CONFIG_TYPE_PASSWORD, NULL, CHECK_NONE, 0, 0, NULL, NULL, CONFIG_SENSITIVE},
    {"password.encoder.secret", CONFIG_SCOPE_BROKER, CONFIG_TYPE_PASSWORD, NULL, CHECK_NONE, 0, 0, NULL, NULL, CONFIG_SENSITIVE},
    {"principal.builder.class", CONFIG_SCOPE_BROKER, CONFIG_TYPE_CLASS, "org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"process.roles", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LIST, "", CHECK_LIST_IN, 0, 0, "broker,controller", NULL, 0},
    {"producer.id.expiration.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "86400000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"producer.purgatory.purge.interval.requests", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"queued.max.request.bytes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "-1", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"queued.max.requests", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "500", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"quota.window.num", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "11", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"quota.window.size.seconds", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"remote.fetch.max.wait.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "500", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"remote.log.index.file.cache.total.size.bytes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "1073741824", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"remote.log.manager.copier.thread.pool.size", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "-1", CHECK_AT_LEAST, 1, 0, "-1", NULL, 0},
    {"remote.log.manager.copy.max.bytes.per.second", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "9223372036854775807", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"remote.log.manager.copy.quota.window.num", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "11", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"remote.log.manager.copy.quota.window.size.seconds", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"remote.log.manager.expiration.thread.pool.size", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "-1", CHECK_AT_LEAST, 1, 0, "-1", NULL, 0},
    {"remote.log.manager.fetch.max.bytes.per.second", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "9223372036854775807", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"remote.log.manager.fetch.quota.window.num", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "11", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"remote.log.manager.fetch.quota.window.size.seconds", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"remote.log.manager.task.interval.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "30000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"remote.log.manager.thread.pool.size", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "10", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"remote.log.metadata.custom.metadata.max.bytes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "128", CHECK_AT_LEAST, 0, 0, NULL, NULL, 0},
    {"remote.log.metadata.manager.class.name", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "org.apache.kafka.server.log.remote.metadata.storage.TopicBasedRemoteLogMetadataManager", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"remote.log.metadata.manager.class.path", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"remote.log.metadata.manager.impl.prefix", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "rlmm.config.", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"remote.log.metadata.manager.listener.name", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"remote.log.reader.max.pending.tasks", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "100", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"remote.log.reader.threads", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "10", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"remote.log.storage.manager.class.name", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"remote.log.storage.manager.class.path", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"remote.log.storage.manager.impl.prefix", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "rsm.config.", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"remote.log.storage.system.enable", CONFIG_SCOPE_BROKER, CONFIG_TYPE_BOOLEAN, "false", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"replica.fetch.backoff.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1000", CHECK_AT_LEAST, 0, 0, NULL, NULL, 0},
    {"replica.fetch.max.bytes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1048576", CHECK_AT_LEAST, 0, 0, NULL, NULL, 0},
    {"replica.fetch.min.bytes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"replica.fetch.response.max.bytes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "10485760", CHECK_AT_LEAST, 0, 0, NULL, NULL, 0},
    {"replica.fetch.wait.max.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "500", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"replica.high.watermark.checkpoint.interval.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "5000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"replica.lag.time.max.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "30000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"replica.selector.class", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"replica.socket.receive.buffer.bytes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "65536", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"replica.socket.timeout.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "30000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"replication.quota.window.num", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "11", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"replication.quota.window.size.seconds", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"request.timeout.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "30000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"reserved.broker.max.id", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1000", CHECK_AT_LEAST, 0, 0, NULL, NULL, 0},
    {"sasl.client.callback.handler.class", CONFIG_SCOPE_BROKER, CONFIG_TYPE_CLASS, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.enabled.mechanisms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LIST, "GSSAPI", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.jaas.config", CONFIG_SCOPE_BROKER, CONFIG_TYPE_PASSWORD, NULL, CHECK_NONE, 0, 0, NULL, NULL, CONFIG_SENSITIVE},
    {"sasl.kerberos.kinit.cmd", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "/usr/bin/kinit", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.kerberos.min.time.before.relogin", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "60000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.kerberos.principal.to.local.rules", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LIST, "DEFAULT", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.kerberos.service.name", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.kerberos.ticket.renew.jitter", CONFIG_SCOPE_BROKER, CONFIG_TYPE_DOUBLE, "0.05", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.kerberos.ticket.renew.window.factor", CONFIG_SCOPE_BROKER, CONFIG_TYPE_DOUBLE, "0.8", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.login.callback.handler.class", CONFIG_SCOPE_BROKER, CONFIG_TYPE_CLASS, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.login.class", CONFIG_SCOPE_BROKER, CONFIG_TYPE_CLASS, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.login.connect.timeout.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.login.read.timeout.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.login.refresh.buffer.seconds", CONFIG_SCOPE_BROKER, CONFIG_TYPE_SHORT, "300", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.login.refresh.min.period.seconds", CONFIG_SCOPE_BROKER, CONFIG_TYPE_SHORT, "60", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.login.refresh.window.factor", CONFIG_SCOPE_BROKER, CONFIG_TYPE_DOUBLE, "0.8", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.login.refresh.window.jitter", CONFIG_SCOPE_BROKER, CONFIG_TYPE_DOUBLE, "0.05", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.login.retry.backoff.max.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "10000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.login.retry.backoff.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "100", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.mechanism.controller.protocol", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "GSSAPI", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.mechanism.inter.broker.protocol", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "GSSAPI", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.oauthbearer.clock.skew.seconds", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "30", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.oauthbearer.expected.audience", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LIST, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.oauthbearer.expected.issuer", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.oauthbearer.jwks.endpoint.refresh.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "3600000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "10000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.oauthbearer.jwks.endpoint.retry.backoff.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "100", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.oauthbearer.jwks.endpoint.url", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.oauthbearer.scope.claim.name", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "scope", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.oauthbearer.sub.claim.name", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "sub", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.oauthbearer.token.endpoint.url", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.server.callback.handler.class", CONFIG_SCOPE_BROKER, CONFIG_TYPE_CLASS, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"sasl.server.max.receive.size", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "524288", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"security.inter.broker.protocol", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "PLAINTEXT", CHECK_IN, 0, 0, "PLAINTEXT,SSL,SASL_PLAINTEXT,SASL_SSL", NULL, 0},
    {"security.providers", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"socket.connection.setup.timeout.max.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "30000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"socket.connection.setup.timeout.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LONG, "10000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"socket.listen.backlog.size", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "50", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"socket.receive.buffer.bytes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "102400", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"socket.request.max.bytes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "104857600", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"socket.send.buffer.bytes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "102400", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"ssl.allow.dn.changes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_BOOLEAN, "false", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"ssl.allow.san.changes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_BOOLEAN, "false", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"ssl.cipher.suites", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LIST, "", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"ssl.client.auth", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "none", CHECK_IN, 0, 0, "required,requested,none", NULL, 0},
    {"ssl.enabled.protocols", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LIST, "TLSv1.2,TLSv1.3", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"ssl.endpoint.identification.algorithm", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "https", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"ssl.engine.factory.class", CONFIG_SCOPE_BROKER, CONFIG_TYPE_CLASS, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"ssl.key.password", CONFIG_SCOPE_BROKER, CONFIG_TYPE_PASSWORD, NULL, CHECK_NONE, 0, 0, NULL, NULL, CONFIG_SENSITIVE},
    {"ssl.keymanager.algorithm", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "SunX509", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"ssl.keystore.certificate.chain", CONFIG_SCOPE_BROKER, CONFIG_TYPE_PASSWORD, NULL, CHECK_NONE, 0, 0, NULL, NULL, CONFIG_SENSITIVE},
    {"ssl.keystore.key", CONFIG_SCOPE_BROKER, CONFIG_TYPE_PASSWORD, NULL, CHECK_NONE, 0, 0, NULL, NULL, CONFIG_SENSITIVE},
    {"ssl.keystore.location", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"ssl.keystore.password", CONFIG_SCOPE_BROKER, CONFIG_TYPE_PASSWORD, NULL, CHECK_NONE, 0, 0, NULL, NULL, CONFIG_SENSITIVE},
    {"ssl.keystore.type", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "JKS", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"ssl.principal.mapping.rules", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "DEFAULT", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"ssl.protocol", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "TLSv1.3", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"ssl.provider", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"ssl.secure.random.implementation", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"ssl.trustmanager.algorithm", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "PKIX", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"ssl.truststore.certificates", CONFIG_SCOPE_BROKER, CONFIG_TYPE_PASSWORD, NULL, CHECK_NONE, 0, 0, NULL, NULL, CONFIG_SENSITIVE},
    {"ssl.truststore.location", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"ssl.truststore.password", CONFIG_SCOPE_BROKER, CONFIG_TYPE_PASSWORD, NULL, CHECK_NONE, 0, 0, NULL, NULL, CONFIG_SENSITIVE},
    {"ssl.truststore.type", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "JKS", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"telemetry.max.bytes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "1048576", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"transaction.abort.timed.out.transaction.cleanup.interval.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "10000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"transaction.max.timeout.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "900000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"transaction.partition.verification.enable", CONFIG_SCOPE_BROKER, CONFIG_TYPE_BOOLEAN, "true", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"transaction.remove.expired.transaction.cleanup.interval.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "3600000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"transaction.state.log.load.buffer.size", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "5242880", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"transaction.state.log.min.isr", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "2", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"transaction.state.log.num.partitions", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "50", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"transaction.state.log.replication.factor", CONFIG_SCOPE_BROKER, CONFIG_TYPE_SHORT, "3", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"transaction.state.log.segment.bytes", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "104857600", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"transactional.id.expiration.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "604800000", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"unclean.leader.election.enable", CONFIG_SCOPE_BROKER, CONFIG_TYPE_BOOLEAN, "false", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"zookeeper.clientCnxnSocket", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"zookeeper.connect", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"zookeeper.connection.timeout.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"zookeeper.max.in.flight.requests", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "10", CHECK_AT_LEAST, 1, 0, NULL, NULL, 0},
    {"zookeeper.metadata.migration.enable", CONFIG_SCOPE_BROKER, CONFIG_TYPE_BOOLEAN, "false", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"zookeeper.session.timeout.ms", CONFIG_SCOPE_BROKER, CONFIG_TYPE_INT, "18000", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"zookeeper.set.acl", CONFIG_SCOPE_BROKER, CONFIG_TYPE_BOOLEAN, "false", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"zookeeper.ssl.cipher.suites", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LIST, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"zookeeper.ssl.client.enable", CONFIG_SCOPE_BROKER, CONFIG_TYPE_BOOLEAN, "false", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"zookeeper.ssl.crl.enable", CONFIG_SCOPE_BROKER, CONFIG_TYPE_BOOLEAN, "false", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"zookeeper.ssl.enabled.protocols", CONFIG_SCOPE_BROKER, CONFIG_TYPE_LIST, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"zookeeper.ssl.endpoint.identification.algorithm", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "HTTPS", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"zookeeper.ssl.keystore.location", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"zookeeper.ssl.keystore.password", CONFIG_SCOPE_BROKER, CONFIG_TYPE_PASSWORD, NULL, CHECK_NONE, 0, 0, NULL, NULL, CONFIG_SENSITIVE},
    {"zookeeper.ssl.keystore.type", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"zookeeper.ssl.ocsp.enable", CONFIG_SCOPE_BROKER, CONFIG_TYPE_BOOLEAN, "false", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"zookeeper.ssl.protocol", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, "TLSv1.2", CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"zookeeper.ssl.truststore.location", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
    {"zookeeper.ssl.truststore.password", CONFIG_SCOPE_BROKER, CONFIG_TYPE_PASSWORD, NULL, CHECK_NONE, 0, 0, NULL, NULL, CONFIG_SENSITIVE},
    {"zookeeper.ssl.truststore.type", CONFIG_SCOPE_BROKER, CONFIG_TYPE_STRING, NULL, CHECK_NONE, 0, 0, NULL, NULL, 0},
};
/* clang-format on */

enum { CATALOG_COUNT = sizeof catalog / sizeof catalog[0] };

int config_catalog_count(void) { return CATALOG_COUNT; }

const struct config_def *config_catalog_at(int index) {
  ASSERT(index >= 0 && index < CATALOG_COUNT);
  return &catalog[index];
}

const struct config_def *config_catalog_find(enum config_scope scope, const char *name) {
  ASSERT(name != NULL);
  int from = scope == CONFIG_SCOPE_TOPIC ? 0 : TC_COUNT;
  int to = scope == CONFIG_SCOPE_TOPIC ? TC_COUNT : CATALOG_COUNT;
  for (int i = from; i < to; i++)
    if (strcmp(catalog[i].name, name) == 0) return &catalog[i];
  return NULL;
}

const char *config_type_name(enum config_type type) {
  switch (type) {
  case CONFIG_TYPE_BOOLEAN:
    return "BOOLEAN";
  case CONFIG_TYPE_STRING:
    return "STRING";
  case CONFIG_TYPE_INT:
    return "INT";
  case CONFIG_TYPE_SHORT:
    return "SHORT";
  case CONFIG_TYPE_LONG:
    return "LONG";
  case CONFIG_TYPE_DOUBLE:
    return "DOUBLE";
  case CONFIG_TYPE_LIST:
    return "LIST";
  case CONFIG_TYPE_CLASS:
    return "CLASS";
  case CONFIG_TYPE_PASSWORD:
    return "PASSWORD";
  case CONFIG_TYPE_UNKNOWN:
    break;
  }
  return "UNKNOWN";
}

static bool invalid(const struct config_def *d, const char *value, char *err, size_t cap,
                    const char *why) {
  str_fmt(err, cap, "Invalid value %s for configuration %s: %s", value, d->name, why);
  return false;
}

/* Whether `item` (len bytes) is one of the comma-separated `list`. */
static bool one_of(const char *list, const char *item, size_t len, bool caseless) {
  for (const char *p = list; *p;) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    if (n == len && (caseless ? strncasecmp(p, item, n) == 0 : memcmp(p, item, n) == 0))
      return true;
    if (!comma) break;
    p = comma + 1;
  }
  return false;
}

/* "a,b,c" as Kafka prints it: "a, b, c". */
static void list_text(const char *list, char *out, size_t cap) {
  size_t o = 0;
  for (const char *p = list; *p && o + 3 < cap; p++) {
    out[o++] = *p;
    if (*p == ',' && o + 1 < cap) out[o++] = ' ';
  }
  out[o] = 0;
}

/* A bound as Kafka prints it: 4, -2, 0.5 (str_fmt has no %g). */
static void bound_text(double x, char *out, size_t cap) {
  int64_t whole = (int64_t)x;
  if ((double)whole == x) {
    str_fmt(out, cap, "%lld", (long long)whole);
    return;
  }
  bool negative = x < 0;
  double mag = negative ? -x : x;
  int64_t units = (int64_t)mag, millionths = (int64_t)((mag - (double)units) * 1e6 + 0.5);
  char frac[8];
  str_fmt(frac, sizeof frac, "%06lld", (long long)millionths);
  for (int i = 5; i > 0 && frac[i] == '0'; i--) frac[i] = 0;
  str_fmt(out, cap, "%s%lld.%s", negative ? "-" : "", (long long)units, frac);
}

static bool check_number(const struct config_def *d, const char *value, char *err, size_t cap) {
  double x;
  int64_t n = 0;
  if (d->type == CONFIG_TYPE_DOUBLE) {
    char *end = NULL;
    x = strtod(value, &end);
    if (!value[0] || *end || isnan(x))
      return invalid(d, value, err, cap, "Not a number of type DOUBLE");
  } else {
    int64_t lo = d->type == CONFIG_TYPE_INT     ? INT32_MIN
                 : d->type == CONFIG_TYPE_SHORT ? INT16_MIN
                                                : INT64_MIN;
    int64_t hi = d->type == CONFIG_TYPE_INT     ? INT32_MAX
                 : d->type == CONFIG_TYPE_SHORT ? INT16_MAX
                                                : INT64_MAX;
    char why[48];
    str_fmt(why, sizeof why, "Not a number of type %s", config_type_name(d->type));
    if (!str_to_i64(value, &n) || n < lo || n > hi) return invalid(d, value, err, cap, why);
    x = (double)n;
  }
  if (d->check != CHECK_AT_LEAST && d->check != CHECK_RANGE) return true;
  if (d->valid && one_of(d->valid, value, strlen(value), false)) return true; /* -1: off */
  char why[96], lo[32], hi[32];
  bound_text(d->min, lo, sizeof lo);
  bound_text(d->max, hi, sizeof hi);
  if (x < d->min) {
    str_fmt(why, sizeof why, "Value must be at least %s", lo);
    return invalid(d, value, err, cap, why);
  }
  if (d->check == CHECK_RANGE && x > d->max) {
    str_fmt(why, sizeof why, "Value must be no more than %s", hi);
    return invalid(d, value, err, cap, why);
  }
  return true;
}

static bool check_choice(const struct config_def *d, const char *value, char *err, size_t cap) {
  char why[400], options[300];
  list_text(d->valid, options, sizeof options);
  str_fmt(why, sizeof why, "String must be one of: %s", options);
  if (d->check != CHECK_LIST_IN) {
    if (one_of(d->valid, value, strlen(value), d->check == CHECK_IN_CASELESS)) return true;
    return invalid(d, value, err, cap, why);
  }
  for (const char *p = value; *p;) { /* ValidList: every item, spaces trimmed */
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    const char *item = p;
    while (n && *item == ' ') item++, n--;
    while (n && item[n - 1] == ' ') n--;
    if (!one_of(d->valid, item, n, false)) return invalid(d, value, err, cap, why);
    if (!comma) break;
    p = comma + 1;
  }
  return true;
}

bool config_catalog_check(const struct config_def *d, const char *value, char *err,
                          size_t err_cap) {
  ASSERT(d != NULL && value != NULL && err != NULL);
  switch (d->type) {
  case CONFIG_TYPE_BOOLEAN:
    if (strcasecmp(value, "true") && strcasecmp(value, "false"))
      return invalid(d, value, err, err_cap, "Expected value to be either true or false");
    return true;
  case CONFIG_TYPE_INT:
  case CONFIG_TYPE_SHORT:
  case CONFIG_TYPE_LONG:
  case CONFIG_TYPE_DOUBLE:
    return check_number(d, value, err, err_cap);
  case CONFIG_TYPE_STRING:
  case CONFIG_TYPE_LIST:
    if (d->check == CHECK_IN || d->check == CHECK_IN_CASELESS || d->check == CHECK_LIST_IN)
      return check_choice(d, value, err, err_cap);
    return true;
  case CONFIG_TYPE_CLASS:
  case CONFIG_TYPE_PASSWORD:
  case CONFIG_TYPE_UNKNOWN:
    return true;
  }
  UNREACHABLE();
}
