/* The first image's records, read from storage. Until __cluster_metadata
 * exists, a topic's existence is its partition directories under log.dirs
 * ("<topic>-<partition>"), its id is in their partition.metadata files, its
 * overrides in <log.dirs>/topic-configs/<topic>.properties, and each
 * partition's leader epoch is the latest in its leader-epoch-checkpoint
 * (the metadata epoch never goes behind the log's), and the producer ids
 * handed out so far are in <log.dirs>/producer-ids. The quorum issue
 * replaces this with a replay of the metadata log. */
#ifndef SLUICE_META_BOOTSTRAP_H
#define SLUICE_META_BOOTSTRAP_H

#include "env.h"
#include "meta/records.h"
#include "server/config.h"

/* Name of the directory under log.dirs that holds topic config overrides. */
#define META_TOPIC_CONFIGS_DIR "topic-configs"
/* The file under log.dirs that holds the producer id watermark (the last
 * ProducerIdsRecord's next_producer_id): "version: 0" and
 * "next_producer_id: <n>" lines, replaced atomically. */
#define META_PRODUCER_IDS_FILE "producer-ids"

/* Appends a TopicRecord, PartitionRecords (this node the only replica and
 * leader) and ConfigRecords per topic found, in name order, with offsets
 * from 0, then a ProducerIdsRecord if producer ids were handed out. A topic
 * without a readable id gets a new one (and a warning); so does one whose
 * id another topic already has. Returns 0, or ENV_E* when log.dirs cannot
 * be listed or holds too much, or when the producer-ids file is there but
 * unreadable (ENV_EINVAL: ids could be handed out twice, so the node does
 * not start). */
int meta_bootstrap_from_disk(struct env *env, const struct config *cfg,
                             struct meta_delta *delta);

#endif
