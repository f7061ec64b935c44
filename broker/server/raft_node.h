/* The Raft subsystem: the KIP-595 core (raft/raft.h) running inside a node,
 * over env.h. Private to broker/server/.
 *
 * It runs on a node whose controller.quorum.voters is set: as a voter when
 * process.roles has `controller` (the node must then be one of the voters),
 * else as an observer that fetches the metadata log. It carries out what
 * the core asks (docs/raft.md, "Inputs and outputs"):
 *   - the quorum state in <metadata.log.dir>/__cluster_metadata-0/
 *     quorum-state (server/quorum_state.h), written and fsynced before the
 *     log changes and the messages that depend on it;
 *   - the metadata log in that directory, an ordinary partition log
 *     (log/log.h) of one batch per entry (server/raft_records.h), appended
 *     with plog_append_replica (each batch already carries its offset and
 *     epoch), truncated with plog_truncate_to, fsynced before the core
 *     hears raft_persisted; read back at start to restore the core;
 *   - the snapshots of the state machine (raft_snapshot.c, KIP-630): taken
 *     from the fsm's applied image (raft_node_set_fsm), read back at start,
 *     served in FetchSnapshot chunks, fetched and installed from the leader;
 *   - one env timer at raft_deadline_ms;
 *   - the core's requests over the quorum channels (server/quorum_peers.h),
 *     encoded at the versions each channel negotiated (raft_client.c), and
 *     their responses stepped into the core;
 *   - the peers' requests, served by the controller listener's handlers
 *     (api_vote.c, api_begin_quorum_epoch.c, api_end_quorum_epoch.c,
 *     api_quorum_fetch.c, api_fetch_snapshot.c; api_describe_quorum.c
 *     reads the core): each steps the core and answers with the response
 *     the core produces for it, now or later (req->pending).
 * A storage error stops the quorum on this node (fail-stop, as Kafka's
 * controller exits on a metadata log I/O error); the rest of the node
 * serves on. */
#ifndef SLUICE_RAFT_NODE_H
#define SLUICE_RAFT_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "log/log.h"
#include "proto/wire.h"
#include "raft/raft.h"
#include "server/quorum_peers.h"
#include "server/raft_records.h"

struct meta_image;
struct node;
struct request;

enum {
  RAFT_NODE_PATH_BYTES = 512,
  RAFT_INBOUND_MAX = 64,  /* peers' requests the core has not answered */
  RAFT_OUTBOUND_MAX = 64, /* the core's requests in flight on the channels */
  /* controller.quorum.*: the versions sent and served (handlers.c). */
  RAFT_FETCH_VERSION_MIN = 12, /* LastFetchedEpoch, DivergingEpoch (KIP-595) */
  RAFT_FETCH_VERSION_MAX = 17,
  RAFT_QUORUM_VERSION_MAX = 1, /* BeginQuorumEpoch, EndQuorumEpoch, FetchSnapshot */
  /* Vote v2 is Kafka 4.0's (KIP-996 PreVote), from Sluice's schema overlay
   * (proto/schemas-overlay/): a peer serving only v0-1 (Kafka 3.9) gets
   * standard votes (raft_client.c, "pre-vote only if every voter has it"). */
  RAFT_VOTE_VERSION_MAX = 2,
  RAFT_VOTE_PRE_VOTE_VERSION = 2,
  RAFT_DESCRIBE_VERSION_MAX = 2,
  RAFT_FETCH_MAX_WAIT_MS = 500, /* KRaft's fetch long poll */
  RAFT_FETCH_PARTITION_MAX_BYTES = 1 << 20,
  /* Snapshots (raft_snapshot.c): a node snapshots once this many applied
   * entries lie above its last snapshot (besides Kafka's byte and time
   * bounds), a quarter of the core's inline ring, so the in-memory log stays
   * inline while the state machine keeps up and changes are small (docs/raft.md, "Snapshots in
   * a node"). */
  RAFT_SNAPSHOT_ENTRIES = RAFT_LOG_ENTRIES_INITIAL / 4,
  RAFT_SNAPSHOTS_KEPT = 2,             /* the latest and the one before: a fallback */
  RAFT_SNAPSHOT_FILES_MAX = 64,        /* snapshot files looked at when opening */
  RAFT_SNAPSHOT_CHUNK_BYTES = 1 << 20, /* a FetchSnapshot's MaxBytes */
};

/* The state machine the metadata log feeds (the metadata loader). The node
 * snapshots the image it applied and hands it the image of a snapshot read
 * at start or installed from the leader. */
struct raft_node_fsm {
  void *ctx;
  /* The image holding every committed entry this node has applied (its
   * offset is the last applied entry's), or NULL when it has applied none.
   * Borrowed: the node serialises it before it returns to the fsm. */
  struct meta_image *(*applied_image)(void *ctx);
  /* A snapshot was read at start or installed from the leader: the state
   * machine continues from this image (one reference lent for the call). */
  void (*restore)(void *ctx, struct meta_image *image);
};

/* Sets the state machine (NULL: none, and no snapshot is taken). When a
 * snapshot was read at start, its image is handed to fsm->restore now. */
void raft_node_set_fsm(struct node *node, const struct raft_node_fsm *fsm);
/* Whether a state machine is set (a test may set one that wraps the
 * loader before the node starts; metadata.c then keeps it). */
bool raft_node_has_fsm(const struct node *node);

struct raft_snapshot_write; /* raft_snapshot.c: one snapshot being written */

/* What raft_snapshot.c keeps: the snapshots on disk, the one being written,
 * the one being fetched from the leader. */
struct raft_node_snapshots {
  bool has_fsm;
  struct raft_node_fsm fsm;
  struct meta_image *restored; /* read at open, until an fsm takes it */
  /* The .checkpoint files of the directory, oldest first. */
  struct raft_snapshot_id ids[RAFT_SNAPSHOTS_KEPT + 1];
  uint32_t count;
  struct raft_snapshot_write *writing; /* NULL: none in flight */
  int64_t last_taken_ms;               /* metadata.log.max.snapshot.interval.ms */
  int64_t bytes_counted_end;           /* batches below it are in bytes_since */
  int64_t bytes_since;                 /* metadata.log.max.record.bytes.between.snapshots */
  /* The follower's snapshot being fetched: <id>.checkpoint.part. */
  bool part_open;
  env_file part_file;
  struct raft_snapshot_id part_id;
  int64_t part_bytes;
  /* The bytes of the FetchSnapshotResponse being stepped. */
  bool chunk_held;
  struct raft_snapshot_id chunk_id;
  int64_t chunk_position;
  struct buf chunk;
  /* For tests and logs. */
  uint64_t taken, installed, chunks_served, chunks_written, invalid_deleted;
};

/* A handler's answer: the core's response to its request, or one the
 * adapter made (an error, when the core is not running or never answered). */
typedef void (*raft_respond_fn)(struct request *req, const struct raft_msg *resp);

/* A peer's request the core has not answered yet. */
struct raft_inbound {
  struct request *req; /* NULL: a free slot */
  raft_respond_fn respond;
  int32_t id; /* the correlation id the core knows the request by */
  int32_t from;
  enum raft_msg_kind kind;
  int64_t deadline_ms; /* answered with REQUEST_TIMED_OUT past it */
};

/* One of the core's requests in flight on a channel. */
struct raft_outbound {
  struct raft_node *rn;
  bool used;
  enum raft_msg_kind kind;
  int32_t to;
  int32_t correlation_id;
  int16_t version;
};

/* The encoded batch of one entry, kept while the core holds the entry: the
 * leader serves fetches from it, a follower keeps the leader's bytes from
 * the FetchResponse until it appends them. Slot offset % the cache's capacity,
 * valid when offset and epoch match the core's entry. */
struct raft_cached_batch {
  int64_t offset; /* -1: empty */
  int32_t epoch;
  uint16_t size;
  uint8_t bytes[RAFT_BATCH_BYTES_MAX];
};

enum raft_node_state {
  RAFT_NODE_IDLE,
  RAFT_NODE_RUNNING,
  RAFT_NODE_STOPPING,
  RAFT_NODE_FAILED
};

/* The persist in flight: the quorum state first, then the log, then fsync. */
enum raft_persist_phase {
  RAFT_PERSIST_IDLE,
  RAFT_PERSIST_STATE,
  RAFT_PERSIST_SNAPSHOT, /* a fetched snapshot: fsync, rename, the log emptied */
  RAFT_PERSIST_LOG
};

struct raft_node_stats {
  uint64_t requests_sent;      /* the core's requests handed to a channel */
  uint64_t responses_received; /* and answered (not failed) */
  uint64_t send_failures;      /* no channel, not up, no version, full */
  uint64_t requests_served;    /* peers' requests answered */
  uint64_t requests_expired;   /* answered by the adapter after their deadline */
  uint64_t persists;
};

struct raft_node {
  struct node *node;
  struct env *env;
  enum raft_node_state state;
  int32_t voters[RAFT_VOTERS_MAX];
  uint32_t voter_count;
  /* Bit i: the channel to voters[i], when last seen up, served Vote below
   * RAFT_VOTE_PRE_VOTE_VERSION; the core runs pre-vote while it is 0. */
  uint32_t voters_without_pre_vote;
  char dir[RAFT_NODE_PATH_BYTES];        /* .../__cluster_metadata-0 */
  char state_path[RAFT_NODE_PATH_BYTES]; /* .../quorum-state */
  struct plog *log;
  struct quorum_peers peers;
  env_timer_id timer;
  int64_t timer_due_ms;
  bool draining;
  bool stop_reported;  /* the shutdown's node_subsystem_stopped */
  bool metadata_dirty; /* role or high watermark moved: tell metadata_loader.c */

  enum raft_persist_phase phase;
  struct raft_persist persist;
  struct buf persist_batches; /* the entries of persist, encoded at handout */

  int32_t next_inbound_id;
  struct raft_inbound inbound[RAFT_INBOUND_MAX];
  struct raft_outbound outbound[RAFT_OUTBOUND_MAX];
  struct raft_node_stats stats;

  /* What the last ready said (for logs and node_quorum). */
  enum raft_role role;
  int32_t epoch, leader_id;
  int64_t high_watermark;

  struct raft_node_snapshots snap;

  struct raft core;        /* large: the node is on the heap */
  struct raft_ready ready; /* the ready being carried out */
  /* The batch cache: cache until the core's log outgrows it, then
   * cache_grown (cache_capacity slots, owned), as the core's ring grows. */
  uint32_t cache_capacity;
  struct raft_cached_batch *cache_grown;
  struct raft_cached_batch cache[RAFT_LOG_ENTRIES_INITIAL];
};

/* ---- for the controller listener's handlers ---- */

/* Steps the core with a peer's request m (m->from set from the request;
 * to and correlation_id are set here) and answers req with the core's
 * response through respond, now or later (req->pending). Answers at once
 * with an error when the quorum does not run here or m->from is not a
 * possible peer. */
void raft_node_request(struct node *node, struct request *req, struct raft_msg *m,
                       raft_respond_fn respond);
/* The response to request m carrying only error and this node's epoch and
 * leader (-1 when the quorum does not run here). */
void raft_node_error_response(const struct node *node, const struct raft_msg *m, int16_t error,
                              struct raft_msg *out);
/* Appends the batches of a FetchResponse's records to out. */
void raft_node_fetch_records(struct node *node, const struct raft_fetch_response *f,
                             struct buf *out);
/* The core, when the quorum runs on this node; else NULL. */
const struct raft *raft_node_core(const struct node *node);
/* KIP-595: a request naming another cluster is refused (a null id passes). */
bool raft_node_cluster_id_ok(const struct node *node, struct kstr cluster_id);
/* The entry of controller.quorum.voters for id, or NULL. */
const struct config_voter *raft_node_voter(const struct node *node, int32_t id);
/* The listener peers reach voters on (the first of controller.listener.names). */
struct kstr raft_node_listener_name(const struct node *node);

/* The metadata partition: by name (Fetch up to v12 and the quorum RPCs) or
 * by Kafka's fixed topic id (Fetch v13+). */
bool raft_node_is_metadata_topic(struct kstr name);
/* A quorum request (KIP-595's schemas all carry topics[].partitions[])
 * that names exactly __cluster_metadata-0, and nothing else. */
#define RAFT_NAMES_ONLY_METADATA_LOG(in, name_field, index_field)                              \
  ((in).topics_count == 1 && (in).topics[0].partitions_count == 1 &&                           \
   raft_node_is_metadata_topic((in).topics[0].name_field) &&                                   \
   (in).topics[0].partitions[0].index_field == META_LOG_PARTITION)
struct kuuid raft_node_metadata_topic_id(void);

/* The leader appends count records (values[i] of sizes[i] bytes, one entry
 * each) in its epoch, all or none: the first one's offset, or -1 (not the
 * leader, the quorum not running here, or no room for all of them in the
 * in-memory log). *epoch_out is the epoch they were appended in. */
int64_t raft_node_propose(struct node *node, const uint8_t *const *values,
                          const uint32_t *sizes, int32_t count, int32_t *epoch_out);

/* ---- raft_storage.c: the quorum-state file and the metadata log ---- */

/* Opens (creating) the metadata log's directory and log, reads quorum-state
 * and restores the core from both; 0 or ENV_E* (the reason logged). */
int raft_storage_open(struct raft_node *rn);
/* Carries out a ready's persist: quorum-state (atomic write, fsync), then
 * the truncation and the appends, then an fsync of the log; then calls
 * raft_node_persisted, never before returning. */
void raft_storage_persist(struct raft_node *rn, const struct raft_persist *p);
/* The batch of the core's entry at offset (encoded now if not cached). */
const struct raft_cached_batch *raft_storage_batch(struct raft_node *rn, int64_t offset);
/* Keeps a batch received from the leader for the core's entry at offset. */
void raft_storage_keep(struct raft_node *rn, int64_t offset, int32_t epoch,
                       const struct raft_batch_span *span);
void raft_storage_close(struct raft_node *rn);

/* raft_node.c: the persist in flight is durable (err 0) or failed. */
void raft_node_persisted(struct raft_node *rn, int err);
/* raft_node.c: stop the quorum on this node (a storage error). */
void raft_node_fail(struct raft_node *rn, const char *what, int err);

/* ---- raft_snapshot.c: snapshots of the state machine (KIP-630) ---- */

/* At open, once the log is open and before it is read: chooses the newest
 * valid snapshot of the directory the log can continue (a torn or invalid
 * one is deleted and the one before it tried), keeps its image for the
 * fsm, empties the log at its end when the log does not continue it, and
 * deletes leftover .part files. *id is the snapshot (end offset 0: none);
 * 0, or ENV_E* with the reason logged. */
int raft_snapshot_open(struct raft_node *rn, struct raft_snapshot_id *id, int64_t *size_bytes);
/* After a drain: takes a snapshot of the fsm's applied image when one is
 * due (raft_node.h, RAFT_SNAPSHOT_ENTRIES; the config's byte and time
 * bounds) and none is being written. */
void raft_snapshot_maybe_take(struct raft_node *rn);
/* The bytes of a FetchSnapshotResponse about to be stepped into the core. */
void raft_snapshot_hold_chunk(struct raft_node *rn, const struct raft_msg *m,
                              const uint8_t *bytes, size_t len);
/* The core accepted the chunk held: writes it into <id>.checkpoint.part;
 * 0 or ENV_E*. */
int raft_snapshot_write_chunk(struct raft_node *rn, const struct raft_snapshot_chunk *c);
/* A persist's has_snapshot: the fetched snapshot is checked whole (an
 * invalid one: its .part deleted, ENV_EINVAL returned and done not called),
 * then fsynced and renamed, the log emptied at its end, its image handed to
 * the fsm; then done(rn, 0), or done(rn, err) on failure, never inside the
 * call. */
int raft_snapshot_install(struct raft_node *rn, struct raft_snapshot_id id,
                          void (*done)(struct raft_node *rn, int err));
/* The leader's FetchSnapshot: size bytes of snapshot id at position into
 * out; 0, or ENV_E* (the file is gone or short). */
int raft_snapshot_read_chunk(struct raft_node *rn, struct raft_snapshot_id id, int64_t position,
                             int64_t size, struct buf *out);
void raft_snapshot_close(struct raft_node *rn);

/* ---- raft_client.c: the core's requests on the channels ---- */

/* Encodes m and sends it on its channel; false (nothing sent) when the
 * channel is missing or down, serves no version we speak, or is full. */
bool raft_client_send(struct raft_node *rn, const struct raft_msg *m);

/* raft_node.c: a response to one of the core's requests (err != 0: failed). */
void raft_node_response(struct raft_node *rn, struct raft_outbound *slot, int err,
                        struct raft_msg *m, const struct raft_batch_span *spans);

#endif
