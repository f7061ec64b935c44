/* The metadata loader (KRaft's MetadataLoader, KIP-500/KIP-631): on every
 * node that runs the quorum, voter or observer, it turns the committed
 * entries of __cluster_metadata into images and publishes them through the
 * node's meta_publisher (topics_publish), so local storage follows the log.
 *
 * raft_node.c calls metadata_raft_changed after a drain in which the role
 * or the high watermark moved. The loader then reads the entries from its
 * next offset up to the high watermark (they are in the core's in-memory
 * log), decodes each (meta/codec.h), keeps the records of an open KIP-868
 * transaction aside until its EndTransactionRecord, and builds and
 * publishes one image of the rest. Every entry moves the image's offset,
 * also those that change nothing (a LeaderChange, a transaction marker: a
 * NoOpRecord at that offset stands in for them), so a node's image offset
 * is the offset of the last committed entry it has read, as in KRaft.
 * Then it tells the quorum controller (controller_quorum.h), which answers
 * the changes that reached this node's image.
 *
 * On restart the image starts empty and the durable log is replayed as the
 * high watermark is learnt again; metadata_loader_set_base starts it from a
 * snapshot instead. Private to broker/server/. */
#ifndef SLUICE_METADATA_LOADER_H
#define SLUICE_METADATA_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "meta/image.h"

struct node;
struct metadata_loader;

/* Publishes the empty image of node->cluster_id as the node's first image.
 * 0, or the publisher's error. */
int metadata_loader_create(struct node *node, struct metadata_loader **out);
void metadata_loader_free(struct metadata_loader *loader);

/* raft_node.c: the role or the high watermark moved. */
void metadata_raft_changed(struct node *node);

/* For snapshots (KIP-630): the loader continues from image (a reference is
 * taken), whose offset is the last entry it holds; the image is published
 * (its delta: the records that rebuild it). An image older than the
 * loader's is ignored. */
void metadata_loader_set_base(struct node *node, struct meta_image *image);

/* The image of every committed entry read (borrowed), or NULL when none
 * was read yet (raft_node_fsm's applied_image). */
struct meta_image *metadata_loader_image(const struct node *node);
/* The offset of the last entry read into the image (-1: none). */
int64_t metadata_loader_offset(const struct node *node);
/* The offset up to which the published images' writes (partition.metadata,
 * topic configs) have landed: a change is answered from there. */
int64_t metadata_loader_landed_offset(const struct node *node);
/* The epoch and leader of the last LeaderChange entry read (-1, -1: none):
 * a leader is the active controller once it has read its own. */
void metadata_loader_leader(const struct node *node, int32_t *epoch, int32_t *leader_id);

#endif
