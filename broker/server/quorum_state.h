/* KIP-595's quorum-state file, in Kafka's format: one line of JSON, the
 * QuorumStateData fields of its data_version plus "data_version" itself.
 * Sluice writes version 0, as Kafka does at kraft.version 0:
 *
 *   {"clusterId":"","leaderId":1,"leaderEpoch":2,"votedId":-1,"appliedOffset":0,
 *    "currentVoters":[{"voterId":1},{"voterId":2},{"voterId":3}],"data_version":0}
 *
 * and reads versions 0 and 1 (1 drops clusterId, appliedOffset and
 * currentVoters and adds votedDirectoryId, which Sluice ignores). */
#ifndef SLUICE_QUORUM_STATE_H
#define SLUICE_QUORUM_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft/raft.h"

enum {
  QUORUM_STATE_FILE_BYTES_MAX = 4096, /* 16 voters fit many times over */
  QUORUM_STATE_VOTERS_MAX = RAFT_VOTERS_MAX,
};

#define QUORUM_STATE_FILE "quorum-state"

/* The file's bytes (no newline, as Kafka writes it); the length, or 0 if it
 * does not fit in cap. */
size_t quorum_state_format(const struct raft_quorum_state *state, const int32_t *voters,
                           uint32_t voter_count, char *out, size_t cap);

/* Reads leaderId, leaderEpoch and votedId of a version 0 or 1 file. False
 * (and *out untouched) when the text is not such a file: not one JSON
 * object, data_version missing or unknown, a field missing or out of range
 * (epoch >= 0, ids >= -1). Unknown keys are skipped. */
bool quorum_state_parse(const char *text, size_t len, struct raft_quorum_state *out);

#endif
