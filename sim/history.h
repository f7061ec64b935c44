/* What the simulated clients did and saw, in virtual time: every send,
 * retry, ack, failure, seek and poll, with the value's unique id; what the
 * disk kept of each partition when its broker restarted after losing data
 * (cuts); and where the final read ended. The checkers read it after the
 * run (Jepsen's queue model: a value is sent once and should be read at
 * exactly one offset) and judge each anomaly against the scenario's
 * bounded allowances (docs/scenarios.md). */
#ifndef SLUICE_SIM_HISTORY_H
#define SLUICE_SIM_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SEEK: a consumer moved its position (offset = where it reads next); the
 * runner records one for every assignment, the first included. RETRY: a
 * producer sent a value again (attempt = 2, 3, ...). */
enum history_kind {
  HISTORY_SEND,
  HISTORY_ACK,
  HISTORY_FAIL,
  HISTORY_POLL,
  HISTORY_SEEK,
  HISTORY_RETRY,
  /* An admin's DeleteRecords was answered NONE: the stream's records below
   * `offset` (the offset asked, or the low watermark for -1) may go. */
  HISTORY_DELETE,
  HISTORY_KINDS,
};

/* The value of a poll whose record is none of the producers' values. */
#define HISTORY_VALUE_UNKNOWN UINT64_MAX

/* 32 bytes: a run records a few hundred thousand. */
struct history_event {
  uint64_t time_ns;
  uint64_t value;    /* the value's id */
  int64_t offset;    /* ack, poll, seek; -1 if none (acks=0) */
  int16_t client;    /* producer or consumer number */
  int16_t partition; /* a stream: the runner numbers (topic, partition) pairs */
  union {
    int16_t error;   /* fail */
    int16_t attempt; /* retry: 2 for the first retry (capped at INT16_MAX) */
    /* ack, poll: the broker process that answered (1 for the first, 2 after
     * its first restart...; its connection's): a frame held by the network
     * can arrive after a restart, but it tells of the log before it. */
    int16_t incarnation;
  };
  uint8_t kind;     /* enum history_kind */
  bool durable_ack; /* ack of an acks=all send */
};

enum { HISTORY_STREAMS_MAX = 64, HISTORY_LABEL_BYTES = 160 };

/* What a scenario may permit, each for the checkers it names
 * (history_allowances_for); everything else a checker finds fails the run. */
enum history_allowance {
  ALLOW_POWER_LOSS_TAIL,  /* records acknowledged before a power loss at offsets at or past
                             what the disk kept of them (a cut) */
  ALLOW_CORRUPT_BATCH,    /* from a batch holding a bit flipped at rest on (a cut) */
  ALLOW_DISK_LOSS,        /* everything acknowledged before a whole disk was lost (a cut) */
  ALLOW_RETRIED_SENDS,    /* a value stored at most as many times as it was sent */
  ALLOW_ACKS_0,           /* values sent with acks=0 that nobody read */
  ALLOW_RETENTION,        /* records below the log start offset the final reader was sent to
                             (retention deleted their segment) */
  ALLOW_UNCLEAN_ELECTION, /* records acknowledged before a leader was elected outside the
                             ISR (unclean.leader.election.enable) at offsets at or past its
                             log end then (a cut) */
  ALLOW_DELETE_RECORDS,   /* records below an acknowledged DeleteRecords' offset */
  ALLOW_COMPACTION,       /* records of a key with a later acknowledged record on the same
                             stream (cleanup.policy=compact: the cleaner removed them) */
  ALLOWANCES,
};
/* "power-loss-tail", "corrupt-batch", "disk-loss", "retried-sends", "acks-0",
 * "retention", "unclean-election", "compaction". */
extern const char *const history_allowance_names[ALLOWANCES];

/* A cut: how far the valid batches of a stream reached on disk when its
 * broker restarted after a power loss or disk loss (reason power-loss-tail
 * or disk-loss, or corrupt-batch when the batch that ended them holds a
 * flipped bit, at rest or pending on read, which recovery reads), or at
 * a clean restart with such a batch, or, at the end of the run, a batch
 * holding a bit flipped at rest that no reader can get past (corrupt-batch).
 * Values acknowledged on the stream by an earlier broker process at
 * offsets >= offset may be gone, and those offsets may be reused after. */
struct history_cut {
  uint64_t time_ns;
  int16_t incarnation; /* the broker process that starts after it (see history_event) */
  int64_t offset;      /* the disk model's valid batches end here (sim/oracle.h) */
  int64_t last_offset; /* the last offset of the batch that ended them (>= offset) */
  int64_t broker_end;  /* the broker's log end offset after its recovery; -1: unknown */
  int16_t stream;
  int16_t node;   /* the broker, 1-based */
  uint8_t reason; /* ALLOW_POWER_LOSS_TAIL, ALLOW_CORRUPT_BATCH, ALLOW_DISK_LOSS or
                     ALLOW_UNCLEAN_ELECTION */
  bool at_end;    /* found at the end of the run, not at a restart */
};

/* Where the final read of a stream ended. */
struct history_end {
  int64_t position;              /* the final reader's next offset; -1: never assigned */
  int64_t high_watermark;        /* the last one a Fetch response gave it; -1: none */
  int64_t broker_high_watermark; /* the broker's at the end of the run; -1: unknown */
};

struct history {
  struct history_event *events;
  size_t count;
  size_t cap;
  uint64_t values_max;  /* one past the largest value id sent */
  int32_t final_reader; /* the client whose reads are the final read; 0: none */
  /* Names of the streams in verdicts ("orders-2"); NULL: numbers. */
  const char (*labels)[HISTORY_LABEL_BYTES];
  int label_count;
  struct history_cut *cuts; /* in time order */
  size_t cut_count, cut_cap;
  struct history_end ends[HISTORY_STREAMS_MAX];
  int end_count; /* streams whose end is recorded; 0: final-read is not judged */
  /* Keyed workload: value id v was sent with key "k<history_key_of(v)>";
   * 0: no keys. */
  uint32_t keys;
  /* Keyed workload with deletes: each key lives for `deletes` rounds of
   * `keys` values and its last record is a tombstone (a null value); the
   * next values take fresh keys. 0: no tombstones, key "k<v % keys>". */
  uint32_t deletes;
  /* The topics' delete.retention.ms (the least): how long a tombstone stays
   * readable at least, counted from its send (KIP-534: from the cleaner's
   * first pass over it, which comes later). */
  int64_t delete_retention_ms;
};

/* The key number of value id (keys > 0). */
uint64_t history_key_of(const struct history *h, uint64_t id);
/* Whether value id is sent as a tombstone. */
bool history_is_tombstone(const struct history *h, uint64_t id);
/* The value id of key number key's tombstone (deletes > 0). */
uint64_t history_tombstone_id(const struct history *h, uint64_t key);

void history_init(struct history *h);
void history_free(struct history *h);
void history_add(struct history *h, const struct history_event *e);
void history_add_cut(struct history *h, const struct history_cut *c);
/* "send", "ack", "fail", "poll", "seek", "retry". */
const char *history_kind_name(enum history_kind kind);
/* A stream's name for people: its label, else "partition N" (in buf). */
const char *history_stream_name(const struct history *h, int32_t stream, char *buf, size_t cap);

/* One checker's verdict: the anomalies outside the scenario's allowance
 * (each fails the run) and inside it, with the allowance's bound: how many
 * it could have covered at most (lost-write, inconsistent-offsets and
 * nonmonotonic-send: values acknowledged past a cut; duplicate: values sent
 * more than once; unseen: values sent with acks=0; final-read: streams
 * ending in a batch with a flipped bit). */
struct check_result {
  const char *name;
  size_t violations; /* outside the allowance */
  size_t allowed;    /* inside it */
  uint64_t bound;
  uint32_t allowances; /* in force: bits of enum history_allowance */
  char first[256];     /* the first violation in words (max-unavailability: the measure) */
};

enum history_checker {
  CHECK_LOST_WRITE,
  CHECK_DUPLICATE,
  CHECK_INCONSISTENT_OFFSETS,
  CHECK_NONMONOTONIC_SEND,
  CHECK_NONMONOTONIC_POLL,
  CHECK_POLL_SKIP,
  CHECK_UNSEEN,
  CHECK_FINAL_READ,
  CHECK_UNEXPECTED,
  CHECK_MAX_UNAVAILABILITY,
  /* keyed workloads (history.keys): the final read holds, for every key of
   * every stream, its latest acknowledged record or a later one of it; a
   * tombstone may be gone (and then every record of its key) only if the
   * final read passed its offset delete.retention.ms after it was sent */
  CHECK_COMPACTION,
  CHECKERS_MAX,
};
/* Every checker's name, in the order history_check reports them; the names
 * scenario files use under expect. */
extern const char *const history_checker_names[CHECKERS_MAX];
/* The allowances a checker can take (bits of enum history_allowance). */
uint32_t history_allowances_for(enum history_checker checker);
/* "power-loss-tail, corrupt-batch" (or "none") into buf. */
const char *history_allowances_text(uint32_t allowances, char *buf, size_t cap);

/* The longest unavailability one producer saw (history_unavailability). */
struct history_wait {
  uint64_t longest_ns;
  uint64_t start_ns;
  int32_t client;
};

struct history_check_config {
  /* The last polls are a complete read of every stream (the liveness
   * phase), so an acknowledged value never polled is lost, not unseen. */
  bool final_read;
  /* max-unavailability: the longest stretch in which one producer had sends
   * waiting and got no acknowledgement, up to end_ns, may not exceed this
   * (-1: no bound; it is still measured and described). */
  int64_t max_unavailability_ms;
  uint64_t end_ns;
  /* Per checker, what the scenario permits (bits of enum history_allowance;
   * bits a checker cannot take are ignored). */
  uint32_t allow[CHECKERS_MAX];
  /* history_unavailability(h, end_ns) when the caller has it already (a
   * pass over every event spared); NULL: measured here. */
  const struct history_wait *wait;
};

/* Runs every checker over the history. Returns the number of results. An
 * event no broker could produce (an offset below -1 or past every record
 * sent to its stream, a value nobody sent) is an `unexpected` finding, never
 * an abort. */
int history_check(const struct history *h, const struct history_check_config *cfg,
                  struct check_result *out, int out_max);
/* The longest unavailability one producer saw (see above). */
struct history_wait history_unavailability(const struct history *h, uint64_t end_ns);

#endif
