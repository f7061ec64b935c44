/* Incremental fetch sessions (KIP-227), the leader's side.
 *
 * A client that fetches many partitions names them all once (a full Fetch
 * with SessionEpoch 0); the broker keeps them in a session and answers
 * with its id. Each later Fetch (SessionId, SessionEpoch n = the session's
 * next epoch) names only partitions whose fetch position changed, adds new
 * ones and lists the forgotten ones; its answer holds only partitions with
 * something new: records, an error, a diverging epoch, or a high watermark
 * or log start offset other than the one last sent. SessionEpoch -1 with a
 * session id closes it; -1 without one is a sessionless full fetch. A
 * session not in the cache answers FETCH_SESSION_ID_NOT_FOUND, a wrong
 * epoch INVALID_FETCH_SESSION_EPOCH: the client starts over with a full
 * Fetch.
 *
 * The cache is bounded (max.incremental.fetch.session.cache.slots, 1000).
 * When it is full a new session takes a slot only by evicting: first the
 * least recently used session if it went unused for
 * FETCH_SESSION_EVICTION_MS; otherwise, among sessions older than that,
 * the lowest by (privileged, partition count, last use, id), if the new
 * session ranks above it (a follower's session is privileged over a
 * consumer's, then more partitions over fewer), as Kafka's
 * FetchSessionCache does. Every order here is by value (sim time, id),
 * never by pointer. Sessions exist from Fetch v7. */
#ifndef SLUICE_SERVER_FETCH_SESSION_H
#define SLUICE_SERVER_FETCH_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "proto/messages_gen.h"
#include "proto/wire.h"

struct env;

enum {
  FETCH_SESSION_VERSION_MIN = 7,
  FETCH_SESSION_EVICTION_MS = 120000, /* Kafka's: a session unused this long may go */
  FETCH_SESSION_PARTITIONS_MAX = 1 << 20,
  FETCH_SESSION_TOPIC_BYTES_MAX = 249,
  FETCH_SESSION_ID_TRIES_MAX = 64, /* draws for an id that is neither 0 nor in use */
};

/* One partition of a session: what the client last asked, and what the
 * broker last told it (-1: nothing yet, so the next answer includes it). */
struct fetch_session_partition {
  struct kuuid topic_id;                         /* v13+ key */
  char topic[FETCH_SESSION_TOPIC_BYTES_MAX + 1]; /* v7-12 key */
  int32_t topic_len;
  int32_t partition;
  int64_t fetch_offset;
  int32_t partition_max_bytes;
  int32_t current_leader_epoch;
  int32_t last_fetched_epoch;
  int64_t log_start_offset; /* the follower's */
  int64_t high_watermark_sent;
  int64_t log_start_offset_sent;
};

struct fetch_session {
  int32_t id;      /* never 0 */
  int32_t epoch;   /* the next request's SessionEpoch */
  bool privileged; /* a follower's */
  bool uses_ids;   /* v13+: topics by id */
  uint64_t created_ns, last_used_ns;
  struct fetch_session_partition *parts; /* sorted by (topic key, partition) */
  int32_t count, cap;
};

struct fetch_session_cache {
  int32_t slots_max;
  struct fetch_session *sessions; /* sorted by id */
  int32_t count, cap;
  uint64_t evictions;
};

void fetch_session_cache_init(struct fetch_session_cache *c, int32_t slots_max);
void fetch_session_cache_deinit(struct fetch_session_cache *c);
struct fetch_session *fetch_session_find(struct fetch_session_cache *c, int32_t id);
/* A new empty session with this id (not 0, not in use), evicting one if
 * the cache is full and the rules allow; NULL when there is no slot. The
 * pointer is valid until the cache next changes. */
struct fetch_session *fetch_session_create(struct fetch_session_cache *c, int32_t id,
                                           bool privileged, bool uses_ids,
                                           int32_t partition_count, uint64_t now_ns);
void fetch_session_remove(struct fetch_session_cache *c, int32_t id);
/* KIP-227's next epoch: 1.. INT32_MAX, then 1 again (0 starts a session). */
int32_t fetch_session_next_epoch(int32_t epoch);

/* Where one request stands with respect to sessions. */
struct fetch_session_ticket {
  int32_t session_id; /* in the answer; 0: sessionless */
  bool incremental;   /* the answer omits partitions with nothing new */
};

/* Before a Fetch (v7+) is served: applies the session rules to m; an
 * incremental request is rewritten in place (in arena a) into the full
 * list of the session's partitions at their cached positions, so the
 * leader sees an idle follower's fetch of every partition (its caught-up
 * time moves, KIP-227). Returns a top-level error code, or 0. */
int fetch_session_request(struct fetch_session_cache *c, struct env *env, int16_t version,
                          bool privileged, struct fetch_request *m, struct arena *a,
                          struct fetch_session_ticket *t);
/* Before the answer is sent: records what it tells the client and, for an
 * incremental request, drops the partitions with nothing new. A session
 * gone meanwhile (evicted) answers FETCH_SESSION_ID_NOT_FOUND. */
void fetch_session_response(struct fetch_session_cache *c, int16_t version,
                            const struct fetch_session_ticket *t, struct fetch_response *resp);

#endif
