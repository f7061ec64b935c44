/* KRaft (KIP-595, with KIP-996 pre-vote) as a pure state machine, in the
 * shape of etcd-io/raft: the core never reads a clock, draws from the OS or
 * does I/O. An adapter feeds it inputs and carries out its outputs:
 *
 *   inputs   raft_step (a message from a peer: request or response),
 *            raft_tick (time passed: the adapter's monotonic clock),
 *            raft_propose (the leader appends a record),
 *            raft_persisted (what a ready asked to make durable is durable),
 *            raft_snapshot_taken (the state machine wrote a snapshot),
 *            raft_resign (graceful shutdown of a leader);
 *   outputs  raft_ready: the quorum state and log changes to persist, the
 *            messages to send (released only once the state they depend on
 *            is durable), the high watermark to apply, the role, a
 *            snapshot chunk to write.
 *
 * Messages are plain structs with the fields of the KIP-595 RPCs named as
 * Kafka's JSON schemas name them; encoding them is the adapter's job.
 * Everything is bounded: no allocation, one struct raft per node (large:
 * allocate it on the heap). docs/raft.md describes the rules and the test
 * cases (tests/raft/). */
#ifndef SLUICE_RAFT_H
#define SLUICE_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
  RAFT_VOTERS_MAX = 16,    /* controller.quorum.voters (CONFIG_VOTERS_MAX) */
  RAFT_OBSERVERS_MAX = 16, /* non-voters the leader tracks (DescribeQuorum) */
  /* The in-memory log: every entry from the log start offset (the snapshot's
   * end) to the end offset, so the leader can serve any fetch above its
   * snapshot and a follower can truncate. It starts as an inline ring of
   * RAFT_LOG_ENTRIES_INITIAL entries and doubles (on the heap) while more
   * are needed, up to RAFT_LOG_ENTRIES_MAX: one change of a broker that
   * leads thousands of partitions (KIP-868 transaction, which no snapshot
   * may cut) plus the tail kept since the older snapshot. A snapshot trims
   * it; at the bound raft_propose refuses and a follower takes what fits. */
  RAFT_LOG_ENTRIES_INITIAL = 512,
  RAFT_LOG_ENTRIES_MAX = 16384,
  /* Bytes of one record, opaque to the core: one metadata record of the
   * largest kind Sluice writes (a TopicRecord of a 249-character name, a
   * PartitionRecord of META_REPLICAS_MAX replicas) fits. */
  RAFT_PAYLOAD_MAX = 512,
  RAFT_FETCH_RECORDS_MAX = 8, /* records in one FetchResponse */
  RAFT_OUTBOX_MAX = 64,       /* messages held or ready to send */
  RAFT_NO_NODE = -1,          /* "no leader", "no vote" (Kafka's -1) */
};

enum raft_role {
  RAFT_UNATTACHED,  /* a voter with no leader in its epoch (maybe voted) */
  RAFT_PROSPECTIVE, /* KIP-996: asking for pre-votes, epoch unchanged */
  RAFT_CANDIDATE,   /* bumped the epoch, voted for itself, asking for votes */
  RAFT_LEADER,
  RAFT_FOLLOWER, /* a voter fetching from the epoch's leader */
  RAFT_RESIGNED, /* a leader that gave up its epoch (EndQuorumEpoch sent) */
  RAFT_OBSERVER, /* a non-voter: only fetches (leader known or not) */
};

struct raft_config {
  int32_t node_id;
  int32_t voters[RAFT_VOTERS_MAX]; /* controller.quorum.voters, ids */
  uint32_t voter_count;
  int64_t election_timeout_ms;     /* controller.quorum.election.timeout.ms */
  int64_t election_backoff_max_ms; /* controller.quorum.election.backoff.max.ms */
  int64_t fetch_timeout_ms;        /* controller.quorum.fetch.timeout.ms */
  int64_t request_timeout_ms;      /* controller.quorum.request.timeout.ms */
  int64_t retry_backoff_ms;        /* controller.quorum.retry.backoff.ms */
  int32_t fetch_max_wait_ms;       /* a Fetch's MaxWaitMs (KRaft: 500) */
  uint32_t fetch_max_records;      /* stands in for PartitionMaxBytes */
  int32_t snapshot_chunk_bytes;    /* a FetchSnapshot's MaxBytes */
  bool pre_vote;                   /* KIP-996; false: prospective -> candidate at once */
  uint64_t random_seed;            /* the xoshiro stream for timeouts and jitter */
};

/* Kafka's defaults; voters empty. */
void raft_config_default(struct raft_config *c, int32_t node_id);

/* KIP-595's quorum-state file. */
struct raft_quorum_state {
  int32_t leader_epoch;
  int32_t voted_id;  /* RAFT_NO_NODE */
  int32_t leader_id; /* RAFT_NO_NODE */
};

enum raft_entry_type {
  RAFT_ENTRY_DATA = 0,
  RAFT_ENTRY_LEADER_CHANGE = 1, /* KRaft's LeaderChangeMessage control record */
};

struct raft_entry {
  int32_t epoch;
  uint8_t type; /* enum raft_entry_type */
  uint16_t size;
  uint8_t payload[RAFT_PAYLOAD_MAX];
};

struct raft_snapshot_id { /* SnapshotId */
  int64_t end_offset;
  int32_t epoch;
};

struct raft_epoch_end_offset { /* FetchResponse.DivergingEpoch */
  int32_t epoch;
  int64_t end_offset;
};

struct raft_leader_and_epoch { /* LeaderIdAndEpoch (CurrentLeader) */
  int32_t leader_id;
  int32_t leader_epoch;
};

enum raft_msg_kind {
  RAFT_VOTE,
  RAFT_VOTE_RESPONSE,
  RAFT_BEGIN_QUORUM_EPOCH,
  RAFT_BEGIN_QUORUM_EPOCH_RESPONSE,
  RAFT_END_QUORUM_EPOCH,
  RAFT_END_QUORUM_EPOCH_RESPONSE,
  RAFT_FETCH,
  RAFT_FETCH_RESPONSE,
  RAFT_FETCH_SNAPSHOT,
  RAFT_FETCH_SNAPSHOT_RESPONSE,
  RAFT_MSG_KINDS,
};

struct raft_vote_request {
  int32_t candidate_epoch; /* a pre-vote carries the sender's current epoch */
  int32_t candidate_id;
  int32_t last_offset_epoch;
  int64_t last_offset; /* the log end offset, as KRaft sends it */
  bool pre_vote;       /* KIP-996 (VoteRequest v2) */
};

struct raft_vote_response {
  int32_t leader_id;
  int32_t leader_epoch;
  bool vote_granted;
};

struct raft_begin_quorum_epoch_request {
  int32_t leader_id;
  int32_t leader_epoch;
};

struct raft_end_quorum_epoch_request {
  int32_t leader_id;
  int32_t leader_epoch;
  int32_t preferred_successors[RAFT_VOTERS_MAX];
  uint32_t preferred_successor_count;
};

/* BeginQuorumEpochResponse and EndQuorumEpochResponse. */
struct raft_quorum_epoch_response {
  int32_t leader_id;
  int32_t leader_epoch;
};

struct raft_fetch_request {
  int32_t replica_id; /* ReplicaState.ReplicaId */
  int32_t current_leader_epoch;
  int64_t fetch_offset;
  int32_t last_fetched_epoch;
  int64_t log_start_offset;
  int32_t max_wait_ms;
};

struct raft_fetch_response {
  struct raft_leader_and_epoch current_leader;
  int64_t high_watermark;
  int64_t log_start_offset;
  struct raft_epoch_end_offset diverging_epoch; /* epoch -1: absent */
  struct raft_snapshot_id snapshot_id;          /* end_offset -1: absent */
  int64_t records_base_offset;
  uint32_t record_count;
  struct raft_entry records[RAFT_FETCH_RECORDS_MAX];
};

struct raft_fetch_snapshot_request {
  int32_t replica_id;
  int32_t current_leader_epoch;
  struct raft_snapshot_id snapshot_id;
  int64_t position;
  int32_t max_bytes;
};

/* The bytes (UnalignedRecords) are not in the core: the leader's adapter
 * reads unaligned_records_size bytes of the snapshot at position when it
 * encodes the response; the follower's adapter writes them when the core
 * accepts the chunk (raft_ready's snapshot_chunk). */
struct raft_fetch_snapshot_response {
  struct raft_leader_and_epoch current_leader;
  struct raft_snapshot_id snapshot_id;
  int64_t size;
  int64_t position;
  int64_t unaligned_records_size;
};

struct raft_msg {
  enum raft_msg_kind kind;
  int32_t from, to;
  int32_t correlation_id; /* a response echoes its request's */
  int16_t error_code;     /* responses: Kafka's error code (proto/errors.h) */
  union {
    struct raft_vote_request vote;
    struct raft_vote_response vote_response;
    struct raft_begin_quorum_epoch_request begin_quorum_epoch;
    struct raft_end_quorum_epoch_request end_quorum_epoch;
    struct raft_quorum_epoch_response quorum_epoch_response;
    struct raft_fetch_request fetch;
    struct raft_fetch_response fetch_response;
    struct raft_fetch_snapshot_request fetch_snapshot;
    struct raft_fetch_snapshot_response fetch_snapshot_response;
  };
};

/* What one ready asks the adapter to make durable, in this order: the
 * quorum state (write quorum-state and fsync it before anything else), the
 * fetched snapshot (the log becomes empty at its end offset), the
 * truncation, the entries. Then the adapter calls raft_persisted with it. */
struct raft_persist {
  uint64_t seq; /* 0: nothing to persist */
  bool has_state;
  struct raft_quorum_state state;
  bool has_snapshot;
  struct raft_snapshot_id snapshot;
  int64_t truncate_to;              /* -1, or remove the entries at and above it */
  int64_t append_start, append_end; /* entries [start, end): raft_entry_at */
};

struct raft_snapshot_chunk {
  struct raft_snapshot_id snapshot_id;
  int64_t position;
  int64_t size; /* bytes in this chunk */
};

struct raft_ready {
  struct raft_persist persist;
  bool role_changed; /* role, epoch or leader differ from the last ready's */
  enum raft_role role;
  int32_t epoch;
  int32_t leader_id;
  bool high_watermark_changed;
  int64_t high_watermark; /* entries below it are committed: apply them */
  /* The chunk of the FetchSnapshotResponse just stepped is accepted: write
   * its bytes at position of the snapshot being fetched, before sending
   * this ready's messages (they may ask for the next chunk). */
  bool has_snapshot_chunk;
  struct raft_snapshot_chunk snapshot_chunk;
  uint32_t msg_count;
  struct raft_msg msgs[RAFT_OUTBOX_MAX];
};

/* The leader's view of a replica (DescribeQuorum's ReplicaState). */
struct raft_replica {
  int32_t id;
  bool voter;
  int64_t log_end_offset; /* its fetch offset once validated, or -1 */
  int64_t last_fetch_ms;  /* -1: none in this epoch */
  int64_t high_watermark_sent;
  bool acked; /* BeginQuorumEpoch answered, or it fetched */
  int64_t begin_sent_ms;
  bool parked; /* a long-polling Fetch waits for data or its deadline */
  int32_t parked_correlation_id;
  int64_t parked_deadline_ms;
  int64_t parked_fetch_offset;
  int32_t parked_last_fetched_epoch;
};

struct raft_held_msg {
  struct raft_msg msg;
  uint64_t state_seq; /* released once this quorum state is durable */
  bool standard_vote_granted;
};

/* One node's core. The fields are private to broker/raft/. */
struct raft {
  struct raft_config cfg;
  bool voter;
  bool started;
  uint32_t majority;
  uint64_t rng[4];
  int64_t now_ms;

  /* The quorum state in memory, and what is durable (KIP-595 quorum-state). */
  enum raft_role role;
  int32_t epoch, voted_id, leader_id;
  uint64_t state_seq, handed_state_seq, durable_state_seq;
  struct raft_quorum_state durable_state;

  /* The log: [log_start_offset, end_offset) in entries[offset % MAX]. */
  int64_t log_start_offset;
  struct raft_snapshot_id snapshot; /* end_offset 0: none */
  int64_t snapshot_size_bytes;
  int64_t end_offset;
  int64_t written_end; /* handed to the adapter in a persist */
  int64_t durable_end; /* confirmed durable by raft_persisted */
  int64_t pending_truncate;
  bool install_pending, install_inflight;
  int64_t high_watermark;
  /* The ring: entries while capacity is RAFT_LOG_ENTRIES_INITIAL (0 before
   * the first append: the same), else grown (capacity entries, owned). */
  uint32_t log_capacity;
  struct raft_entry *grown;
  struct raft_entry entries[RAFT_LOG_ENTRIES_INITIAL];

  uint64_t persist_seq;
  bool persist_inflight;
  struct raft_persist inflight;
  uint64_t inflight_state_seq;

  /* The role's timer: election timeout, backoff or fetch timeout (-1 off). */
  int64_t timer_ms;
  bool backing_off;
  uint32_t election_retries;
  uint32_t granted_mask, rejected_mask; /* by voter index */

  /* Follower and observer: one Fetch or FetchSnapshot in flight. */
  bool want_fetch, fetch_inflight;
  int64_t fetch_sent_ms, fetch_not_before_ms;
  int32_t fetch_correlation_id;
  bool fetched_from_leader; /* since following it (KIP-996 pre-vote rule) */
  int64_t leader_contact_ms;
  bool snapshot_fetching;
  struct raft_snapshot_id snapshot_fetch_id;
  int64_t snapshot_fetch_position, snapshot_fetch_size_bytes;
  bool chunk_ready;
  struct raft_snapshot_chunk chunk;

  /* Leader. */
  int64_t epoch_start_offset;
  uint32_t replica_count;
  struct raft_replica replicas[RAFT_VOTERS_MAX + RAFT_OBSERVERS_MAX];

  int32_t next_correlation_id;
  uint32_t outbox_count;
  uint64_t msgs_dropped;
  struct raft_held_msg outbox[RAFT_OUTBOX_MAX];

  /* What the last ready reported. */
  enum raft_role reported_role;
  int32_t reported_epoch, reported_leader;
  int64_t reported_high_watermark;

  /* For raft_check_invariants: values that must never go back. */
  int32_t checked_epoch;
  int64_t checked_high_watermark;
  int32_t checked_leader_epoch;
  int64_t checked_leader_end; /* the leader's end offset in that epoch */
};

/* A fresh node with an empty log and no quorum state. Restore what the disk
 * holds with raft_restore_* (in this order: state, snapshot, entries), then
 * raft_start. The config is copied. */
void raft_init(struct raft *r, const struct raft_config *cfg);
void raft_restore_state(struct raft *r, const struct raft_quorum_state *state);
void raft_restore_snapshot(struct raft *r, struct raft_snapshot_id id, int64_t size_bytes);
void raft_restore_entry(struct raft *r, const struct raft_entry *entry);
/* Takes up the role the restored state implies (KIP-595: a leader that
 * restarts is resigned; one that voted waits unattached). */
void raft_start(struct raft *r, int64_t now_ms);
/* Frees what the in-memory log grew into (a core that never grew holds
 * nothing); the core is unusable after. */
void raft_release(struct raft *r);

/* Inputs. */
void raft_step(struct raft *r, const struct raft_msg *m);
void raft_tick(struct raft *r, int64_t now_ms);
/* The leader appends a record in its epoch: its offset, or -1 (not the
 * leader, or the in-memory log is full until a snapshot trims it). */
int64_t raft_propose(struct raft *r, const void *payload, uint32_t size);
/* The adapter made durable what ready->persist asked (pass it back). */
void raft_persisted(struct raft *r, const struct raft_persist *p);
/* The state machine wrote a snapshot of the entries below end_offset,
 * durable, of size_bytes: the log may drop them. end_offset is at most
 * raft_snapshot_limit: committed (below the high watermark) and durable in
 * the log (a node may apply committed entries it has not written yet). */
void raft_snapshot_taken(struct raft *r, int64_t end_offset, int64_t size_bytes);
int64_t raft_snapshot_limit(const struct raft *r);
/* A leader gives up its epoch (KIP-595 EndQuorumEpoch, graceful shutdown). */
void raft_resign(struct raft *r);

/* Outputs. */
bool raft_has_ready(const struct raft *r);
void raft_ready(struct raft *r, struct raft_ready *rd);
/* When raft_tick next has something to do (INT64_MAX: nothing armed). */
int64_t raft_deadline_ms(const struct raft *r);

/* Queries. */
const struct raft_entry *raft_entry_at(const struct raft *r, int64_t offset);
int32_t raft_last_fetched_epoch(const struct raft *r);
int64_t raft_end_offset(const struct raft *r);
int64_t raft_high_watermark(const struct raft *r);
int64_t raft_log_start_offset(const struct raft *r);
/* Slots of the in-memory ring now (RAFT_LOG_ENTRIES_INITIAL until it grew,
 * at most RAFT_LOG_ENTRIES_MAX): entry o is in slot o % capacity. */
uint32_t raft_log_capacity(const struct raft *r);
bool raft_is_leader(const struct raft *r);
enum raft_role raft_role(const struct raft *r);
/* The snapshot the log starts after (end_offset 0: none), and its size. */
struct raft_snapshot_id raft_snapshot(const struct raft *r, int64_t *size_bytes);
/* DescribeQuorum's ReplicaState, on the leader: the voters and the observers
 * it tracks (id, log end offset, last fetch time); 0 elsewhere. */
uint32_t raft_describe_quorum(const struct raft *r, struct raft_replica *out, uint32_t max);
void raft_quorum_state(const struct raft *r, struct raft_quorum_state *out);
/* Raft's safety invariants; asserts (every input runs it at its end). */
void raft_check_invariants(struct raft *r);

/* Formatting for logs and the tests: "1->2 Vote{epoch=1 cand=1 ...}". */
size_t raft_msg_format(const struct raft_msg *m, char *out, size_t cap);
const char *raft_role_name(enum raft_role role);
const char *raft_msg_kind_name(enum raft_msg_kind kind);
int32_t raft_msg_epoch(const struct raft_msg *m);
bool raft_msg_is_request(const struct raft_msg *m);

#endif
