/* Shared by the files of broker/raft/: one file per RPC (vote.c, fetch.c,
 * begin_epoch.c, end_epoch.c, snapshot.c), the role transitions
 * (election.c), ticks (tick.c), the log (memlog.c), the outbox and ready
 * (ready.c), the high watermark (high_watermark.c). */
#ifndef SLUICE_RAFT_INTERNAL_H
#define SLUICE_RAFT_INTERNAL_H

#include "raft/raft.h"

/* memlog.c: the in-memory log. */
int32_t rlog_epoch_at(const struct raft *r, int64_t offset); /* log_start-1: snapshot */
int32_t rlog_last_epoch(const struct raft *r);
bool rlog_full(const struct raft *r);
int64_t rlog_append(struct raft *r, int32_t epoch, uint8_t type, const void *payload,
                    uint32_t size);
void rlog_truncate(struct raft *r, int64_t end_offset);
void rlog_trim_prefix(struct raft *r, int64_t start_offset);
void rlog_install_snapshot(struct raft *r, struct raft_snapshot_id id, int64_t size_bytes);
/* KIP-595 (OffsetForLeaderEpoch): the largest epoch <= epoch in the log and
 * the offset where it ends; epoch -1 if the log below it is a snapshot
 * that does not answer, (0, 0) for an empty history. */
struct raft_epoch_end_offset rlog_end_offset_for_epoch(const struct raft *r, int32_t epoch);

/* ready.c: the outbox. Messages wait there until the quorum state they were
 * produced under is durable. */
struct raft_msg *raft_msg_new(struct raft *r, enum raft_msg_kind kind, int32_t to);
void raft_msg_mark_vote_granted(struct raft *r, struct raft_msg *m);
void raft_reply(struct raft *r, const struct raft_msg *req, struct raft_msg *resp);
void raft_state_changed(struct raft *r);
int32_t raft_known_leader(const struct raft *r);
int32_t raft_voter_index(const struct raft *r, int32_t id); /* -1: not a voter */

/* election.c: role transitions (KIP-595 "Leader Election", KIP-996). */
void raft_become_unattached(struct raft *r, int32_t epoch, int32_t voted_id);
void raft_become_follower(struct raft *r, int32_t epoch, int32_t leader_id);
void raft_become_prospective(struct raft *r);
void raft_become_candidate(struct raft *r);
void raft_become_leader(struct raft *r);
void raft_become_resigned(struct raft *r);
/* A message from a higher epoch: step to it (follower of leader_id if
 * known, else unattached). */
void raft_step_to_epoch(struct raft *r, int32_t epoch, int32_t leader_id);
int64_t raft_random_election_timeout_ms(struct raft *r);
int64_t raft_random_backoff_ms(struct raft *r);
void raft_count_vote(struct raft *r, int32_t from, bool granted);
void raft_election_lost(struct raft *r);
bool raft_log_up_to_date(const struct raft *r, int32_t last_epoch, int64_t end_offset);

/* vote.c */
void raft_send_vote_requests(struct raft *r, bool pre_vote);
void raft_on_vote(struct raft *r, const struct raft_msg *m);
void raft_on_vote_response(struct raft *r, const struct raft_msg *m);

/* begin_epoch.c */
void raft_send_begin_quorum_epoch(struct raft *r, struct raft_replica *rep);
void raft_on_begin_quorum_epoch(struct raft *r, const struct raft_msg *m);
void raft_on_begin_quorum_epoch_response(struct raft *r, const struct raft_msg *m);

/* end_epoch.c */
void raft_send_end_quorum_epoch(struct raft *r, const int32_t *successors, uint32_t count);
void raft_on_end_quorum_epoch(struct raft *r, const struct raft_msg *m);
void raft_on_end_quorum_epoch_response(struct raft *r, const struct raft_msg *m);

/* fetch.c */
void raft_on_fetch(struct raft *r, const struct raft_msg *m);
void raft_on_fetch_response(struct raft *r, const struct raft_msg *m);
void raft_maybe_fetch(struct raft *r);
void raft_leader_wake_parked(struct raft *r);
struct raft_replica *raft_replica_find(struct raft *r, int32_t id);
void raft_follower_heard_leader(struct raft *r);

/* snapshot.c */
void raft_on_fetch_snapshot(struct raft *r, const struct raft_msg *m);
void raft_on_fetch_snapshot_response(struct raft *r, const struct raft_msg *m);

/* high_watermark.c */
void raft_leader_update_high_watermark(struct raft *r);
void raft_follower_update_high_watermark(struct raft *r, int64_t leader_high_watermark);

/* tick.c */
int64_t raft_check_quorum_deadline_ms(const struct raft *r);

#endif
