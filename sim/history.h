/* What the simulated clients did and saw, in virtual time: every send, ack,
 * failure and poll, with the value's unique id. The checkers read it after
 * the run (Jepsen's queue model: a value is sent once and should be read at
 * exactly one offset). */
#ifndef SLUICE_SIM_HISTORY_H
#define SLUICE_SIM_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SEEK: a consumer moved its position (offset = where it reads next). */
enum history_kind { HISTORY_SEND, HISTORY_ACK, HISTORY_FAIL, HISTORY_POLL, HISTORY_SEEK };

/* 32 bytes: a run records a few hundred thousand. */
struct history_event {
  uint64_t time_ns;
  uint64_t value;    /* the value's id */
  int64_t offset;    /* ack and poll; -1 if none (acks=0) */
  int16_t client;    /* producer or consumer number */
  int16_t partition; /* a stream: the runner numbers (topic, partition) pairs */
  int16_t error;     /* fail */
  uint8_t kind;      /* enum history_kind */
  bool durable_ack;  /* ack of an acks=all send */
};

enum { HISTORY_STREAMS_MAX = 64, HISTORY_LABEL_BYTES = 160 };

struct history {
  struct history_event *events;
  size_t count;
  size_t cap;
  uint64_t values_max;  /* one past the largest value id seen */
  int32_t final_reader; /* the client whose reads are the final read; 0: none */
  /* Names of the streams in verdicts ("orders-2"); NULL: numbers. */
  const char (*labels)[HISTORY_LABEL_BYTES];
  int label_count;
};

void history_init(struct history *h);
void history_free(struct history *h);
void history_add(struct history *h, const struct history_event *e);
/* "send", "ack", "fail", "poll", "seek". */
const char *history_kind_name(enum history_kind kind);
/* A stream's name for people: its label, else "partition N" (in buf). */
const char *history_stream_name(const struct history *h, int32_t stream, char *buf, size_t cap);

/* One checker's verdict: how many violations, and the first one in words. */
struct check_result {
  const char *name;
  size_t violations;
  char first[256];
};

enum { CHECKERS_MAX = 8 };
/* Every checker's name, in the order history_check reports them; the names
 * scenario files use under expect. */
extern const char *const history_checker_names[CHECKERS_MAX];

struct history_check_config {
  /* The last polls are a complete read of every stream (the liveness
   * phase), so an acknowledged value never polled is lost, not unseen. */
  bool final_read;
  /* max-unavailability: the longest stretch in which one producer had sends
   * waiting and got no acknowledgement, up to end_ns, may not exceed this
   * (-1: no bound; it is still measured and described). */
  int64_t max_unavailability_ms;
  uint64_t end_ns;
};

/* Runs every checker over the history. Returns the number of results. */
int history_check(const struct history *h, const struct history_check_config *cfg,
                  struct check_result *out, int out_max);
/* The longest unavailability one producer saw (see above). */
struct history_wait {
  uint64_t longest_ns;
  uint64_t start_ns;
  int32_t client;
};
struct history_wait history_unavailability(const struct history *h, uint64_t end_ns);

#endif
