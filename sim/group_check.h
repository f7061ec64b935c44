/* The consumer groups' checkers (issue 11), fed by the runner as the group
 * members hear their answers, judged after the run:
 *
 * - group-ownership: no partition is assigned to two members of one
 *   generation of a group (each SyncGroup answer is recorded).
 * - group-generation: no Heartbeat or OffsetCommit of a stale generation is
 *   accepted: one of generation G sent after some member was handed its
 *   assignment of a later generation must be refused (ILLEGAL_GENERATION,
 *   UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS), for the group was past G
 *   when it came (Kafka's generations only grow: the record of a new one
 *   is stored before its assignment is handed out).
 * - committed-offsets: the acknowledged commits of a group's partition never
 *   go back, and an OffsetFetch never answers below the highest commit
 *   acknowledged before it was sent (an acknowledged commit survives a
 *   coordinator failover; the sim never resets offsets).
 * - group-read: every value the final read found was read by some member of
 *   each group (a member restarting from a committed offset neither loses
 *   nor skips).
 *
 * It also times each rebalance after a member crash: from the crash to the
 * first later generation whose assignments cover every partition. */
#ifndef SLUICE_SIM_GROUP_CHECK_H
#define SLUICE_SIM_GROUP_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "sim/history.h"

enum { GROUP_CHECKERS = 4, GROUP_CHECK_GROUPS_MAX = 4, GROUP_CHECK_REBALANCES_MAX = 16 };

struct group_check;

struct group_check *group_check_create(int groups, int streams);
void group_check_free(struct group_check *gc);
void group_check_assigned(struct group_check *gc, int group, int32_t generation, int client,
                          int count, const int *streams, uint64_t now_ns);
void group_check_committed(struct group_check *gc, int group, int stream, int64_t offset,
                           uint64_t now_ns);
void group_check_fetched(struct group_check *gc, int group, int stream, int64_t offset,
                         uint64_t sent_ns);
/* A Heartbeat or OffsetCommit ("what") of generation sent at sent_ns by
 * client was answered NONE. */
void group_check_acknowledged(struct group_check *gc, int group, int client, const char *what,
                              int32_t generation, uint64_t sent_ns);
/* A member of group died (no LeaveGroup): the rebalance is timed. */
void group_check_crashed(struct group_check *gc, int group, uint64_t now_ns);
/* client_group[n]: the group of client number n (-1: none), n <= clients. */
int group_check_finish(struct group_check *gc, const struct history *h, const int *client_group,
                       int clients, struct check_result *out, int out_max);
/* The rebalance times after member crashes, in ms ("" when none). */
void group_check_rebalances(const struct group_check *gc, char *text, size_t cap);

#endif
