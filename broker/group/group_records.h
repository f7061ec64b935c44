/* Kafka's records of __consumer_offsets (its group coordinator's key and
 * value schemas, non-flexible versions): an OffsetCommitKey (version 1:
 * group, topic, partition) with an OffsetCommitValue (version 3: offset,
 * leader epoch, metadata, commit timestamp), and a GroupMetadataKey
 * (version 2: group) with a GroupMetadataValue (version 3: protocol type,
 * generation, protocol, leader, state timestamp, members). A null value is
 * a tombstone. Kafka's own tools (kafka-console-consumer's offsets
 * formatter) read these bytes. */
#ifndef SLUICE_GROUP_RECORDS_H
#define SLUICE_GROUP_RECORDS_H

#include <stdbool.h>
#include <stdint.h>

#include "group/group.h"
#include "proto/wire.h"

enum group_record_kind {
  GROUP_RECORD_OFFSET,   /* key versions 0 and 1 */
  GROUP_RECORD_METADATA, /* key version 2 */
};

struct group_record_key {
  enum group_record_kind kind;
  struct kstr group;
  struct kstr topic; /* offsets only */
  int32_t partition;
};

struct group_record_offset {
  int64_t offset;
  int32_t leader_epoch;
  struct kstr metadata;
  int64_t commit_wall_ms;
};

struct group_record_metadata {
  int16_t version;
  struct kstr protocol_type;
  int32_t generation;
  struct kstr protocol_name; /* null: none */
  struct kstr leader;
  int64_t state_wall_ms;
  int32_t member_count;
  struct kbytes members; /* the member array's entries, for group_record_member_next */
};

struct group_record_member {
  struct kstr member_id;
  struct kstr instance_id; /* null before version 3 */
  struct kstr client_id;
  struct kstr client_host;
  int32_t rebalance_timeout_ms; /* the session timeout before version 1 */
  int32_t session_timeout_ms;
  struct kbytes subscription;
  struct kbytes assignment;
};

void group_record_offset_key(struct wr *w, struct kstr group, struct kstr topic,
                             int32_t partition);
void group_record_offset_value(struct wr *w, const struct group_record_offset *v);
void group_record_metadata_key(struct wr *w, struct kstr group);
/* The group as it stands, with its members' chosen protocol metadata and
 * assignments. */
void group_record_metadata_value(struct wr *w, const struct group *g);

/* False when the bytes are not a key of a known version. */
bool group_record_key_decode(struct kbytes b, struct group_record_key *out);
bool group_record_offset_decode(struct kbytes b, struct group_record_offset *out);
bool group_record_metadata_decode(struct kbytes b, struct group_record_metadata *out);
/* The next of md's members from r (rd_init'ed on md->members); false when
 * it does not parse. */
bool group_record_member_next(const struct group_record_metadata *md, struct rd *r,
                              struct group_record_member *out);

/* Loading: a GroupMetadata record's value into the state machine
 * (group_load_metadata); a value that does not parse is skipped, members
 * that do not parse leave the group known without them. */
void group_record_metadata_load(struct group_coordinator *gc, struct kstr group_id,
                                struct kbytes value, int64_t now_ms);

#endif
