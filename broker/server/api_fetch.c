/* Fetch (API 1), versions 4-15, for consumers and for followers.
 *
 * A consumer reads file ranges from the leader's log up to the high
 * watermark (which is also the last stable offset: no transactions yet);
 * a replica that does not lead answers NOT_LEADER_OR_FOLLOWER (no fetch
 * from followers, KIP-392).
 *
 * A follower's Fetch (ReplicaId >= 0, KIP-101, KIP-279, KIP-320) is
 * answered by the leader only, for a replica of the partition: the epoch
 * it knows must be the leader's (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH);
 * if its LastFetchedEpoch and FetchOffset do not match the leader's epoch
 * cache it gets the DivergingEpoch to truncate to and no records;
 * otherwise records up to the leader's log end. Its FetchOffset is its log
 * end offset: the leader's view of it moves (server/replication.h), which
 * may advance the high watermark and the ISR.
 *
 * Both long-poll (max_wait_ms, min_bytes) when there is not enough to
 * send. From v7 a client may fetch in a session (KIP-227,
 * server/fetch_session.h): an incremental request is served as the full
 * list of its session's partitions, and its answer leaves out those with
 * nothing new. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/fetch_session.h"
#include "server/handlers.h"
#include "server/replication.h"
#include "server/server.h"

struct fetch_wait {
  struct request *req;
  struct fetch_request m;
  struct waiter waiter;
  /* The answer, assembled by the check that found the fetch ready (the
   * first pass, or a woken waiter's ready) and sent as it is: the partitions
   * are read once per answer, not once to decide and again to answer. */
  struct fetch_response resp;
  bool assembled;                     /* resp holds what the logs hold now */
  struct fetch_session_ticket ticket; /* KIP-227: the session the answer updates */
};

static struct topic *fetch_topic(struct request *req,
                                 const struct fetch_request_fetch_topic *ft) {
  if (req->api_version >= 13) return topic_find_by_id(req->node, ft->topic_id);
  if (ft->topic.len <= 0) return NULL;
  return topic_find(req->node, ft->topic.ptr, (size_t)ft->topic.len);
}

/* The fetching replica's id, or -1 for a consumer. */
static int32_t fetch_replica_id(const struct request *req, const struct fetch_request *m) {
  return req->api_version >= 15 ? m->replica_state.replica_id : m->replica_id;
}

/* A follower's fetch: only the leader answers, and only a replica. */
static int replica_fetch_error(struct request *req, const struct partition *p,
                               int32_t replica_id) {
  if (p->leader == NULL || !partition_is_leader(req->node, p))
    return KERR_NOT_LEADER_OR_FOLLOWER;
  if (replica_id == node_id(req->node) || partition_leader_progress(p, replica_id) == NULL)
    return KERR_NOT_LEADER_OR_FOLLOWER; /* Kafka: not a replica of the partition */
  return KERR_NONE;
}

/* KIP-320: a fetcher that knows a newer epoch than ours, or an older one. */
static int epoch_error(const struct partition *p, int32_t current_leader_epoch, bool replica) {
  if (current_leader_epoch < 0 || current_leader_epoch == p->leader_epoch) return KERR_NONE;
  if (current_leader_epoch > p->leader_epoch) return KERR_UNKNOWN_LEADER_EPOCH;
#ifdef SLUICE_MUTANT_STALE_EPOCH_ACCEPTED /* mutant: an old leader epoch is served */
  if (replica) return KERR_NONE;
#else
  (void)replica;
#endif
  return KERR_FENCED_LEADER_EPOCH;
}

/* KIP-279 (Kafka's Partition.fetchRecords): the follower's last fetched
 * epoch must end at or past its fetch offset in the leader's epoch cache;
 * otherwise it diverged, and the answer is where that epoch ends here.
 * False when it matches. */
static bool diverged(const struct partition *p, const struct fetch_request_fetch_partition *fp,
                     struct fetch_response_epoch_end_offset *out) {
  if (fp->last_fetched_epoch < 0) return false;
  int32_t epoch;
  int64_t end;
  plog_end_offset_for_epoch(p->log, fp->last_fetched_epoch, &epoch, &end);
  if (epoch < 0 || end < 0) return false; /* unknown: the offset range check answers */
  if (epoch >= fp->last_fetched_epoch && end >= fp->fetch_offset) return false;
  out->epoch = epoch;
  out->end_offset = end;
  return true;
}

/* One partition's outcome, before and after the read. */
struct fetch_outcome {
  int err;
  bool diverging; /* news too: the follower must truncate */
  struct fetch_response_epoch_end_offset diverging_epoch;
};

static struct partition *fetch_partition_of(struct request *req, struct topic *t,
                                            const struct fetch_request_fetch_partition *fp,
                                            int *err) {
  *err = KERR_NONE;
  if (!t) {
    *err = req->api_version >= 13 ? KERR_UNKNOWN_TOPIC_ID : KERR_UNKNOWN_TOPIC_OR_PARTITION;
    return NULL;
  }
  if (fp->partition < 0 || fp->partition >= t->partition_count) {
    *err = KERR_UNKNOWN_TOPIC_OR_PARTITION;
    return NULL;
  }
  struct partition *p = &t->partitions[fp->partition];
  if (!partition_hosted(p)) *err = KERR_NOT_LEADER_OR_FOLLOWER; /* no replica here */
  return p;
}

/* The checks before a read; progress: record a follower's fetch offset
 * (once per request, when it arrives). */
static void fetch_check(struct request *req, const struct fetch_request *m, int32_t replica_id,
                        struct partition *p, const struct fetch_request_fetch_partition *fp,
                        bool progress, struct fetch_outcome *o) {
  bool replica = replica_id >= 0;
  /* The epoch first, as Kafka's getLocalLog: a fetcher from another epoch
   * hears that before who leads. */
  o->err = epoch_error(p, fp->current_leader_epoch, replica);
  if (o->err == KERR_NONE && replica)
    o->err = replica_fetch_error(req, p, replica_id);
  else if (o->err == KERR_NONE && (p->leader == NULL || !partition_is_leader(req->node, p)))
    o->err = KERR_NOT_LEADER_OR_FOLLOWER; /* named leader, role not begun: no HW known yet */
  /* A log a failed flush took offline answers nothing until a restart
   * (Kafka: KAFKA_STORAGE_ERROR for a replica in an offline log dir). */
  if (o->err == KERR_NONE && plog_offline(p->log)) o->err = KERR_KAFKA_STORAGE_ERROR;
  if (o->err != KERR_NONE || !replica) return;
  o->diverging = diverged(p, fp, &o->diverging_epoch);
  if (o->diverging || !progress || fp->fetch_offset < plog_start_offset(p->log) ||
      fp->fetch_offset > plog_end_offset(p->log))
    return;
  struct env *env = req->node->env;
  /* v15+ (KIP-903): the follower's broker epoch, which a new ISR member
   * must still have at the controller. */
  int64_t broker_epoch = req->api_version >= 15 ? m->replica_state.replica_epoch : -1;
  bool known = partition_leader_follower_fetched(req->node, p, replica_id, fp->fetch_offset,
                                                 fp->log_start_offset, broker_epoch,
                                                 (int64_t)(env->now_ns(env) / NS_PER_MS));
  ASSERT(known); /* replica_fetch_error checked it */
  partition_leader_fetch_epoch_seen(p, replica_id, fp->current_leader_epoch);
}

/* plog_read's answer as an error code: a disk error (a segment that could
 * not be reopened, log/segment_cache.h) is not the client's offset. */
static int fetch_read(struct plog *log, int64_t offset, size_t left, bool first, int64_t end,
                      struct plog_read_result *rr) {
  int rc = plog_read(log, offset, left, first, end, rr);
  if (rc == -1) return KERR_OFFSET_OUT_OF_RANGE;
  return rc == 0 ? KERR_NONE : KERR_KAFKA_STORAGE_ERROR;
}

/* A range the answer will not reference (a count for long polling), or one
 * read while the open segments are past sluice.open.segments.max (a Fetch
 * of thousands of partitions would otherwise keep them all open until it
 * is sent): copied into the request's arena, its segment free to close. */
static int fetch_settle(struct request *req, struct partition *p, bool answering,
                        struct plog_read_result *rr, const uint8_t **copy_out) {
  if (answering && !plog_files_pressed(p->log)) return KERR_NONE;
  int rc = KERR_NONE;
  if (answering) {
    uint8_t *copy = arena_alloc(&req->arena, rr->len);
    struct env *env = req->node->env;
    if (env->pread(env, rr->file, copy, rr->len, rr->file_offset) != (int64_t)rr->len)
      rc = KERR_KAFKA_STORAGE_ERROR;
    *copy_out = copy;
  }
  plog_read_unpin(p->log, rr);
  if (rc != KERR_NONE) rr->len = 0;
  return rc;
}

/* Where a fetch's reads stop: a follower copies the leader's log to its
 * end; a consumer sees only what the ISR holds (hw). */
static int64_t fetch_read_end(const struct partition *p, int32_t replica_id, int64_t hw) {
#ifdef SLUICE_MUTANT_FETCH_PAST_HW /* mutant: reads stop at the log end */
  (void)p, (void)replica_id, (void)hw;
  return INT64_MAX;
#else
  return replica_id >= 0 ? plog_end_offset(p->log) : hw;
#endif
}

static bool fetch_offset_in_log(const struct partition *p, int64_t offset) {
  return offset >= plog_start_offset(p->log) && offset <= plog_end_offset(p->log);
}

/* Reads one partition. Fills pd when it is not NULL; returns the bytes. */
static size_t fetch_partition(struct request *req, const struct fetch_request *m,
                              struct topic *t, const struct fetch_request_fetch_partition *fp,
                              size_t bytes_so_far, bool progress,
                              struct fetch_response_partition_data *pd,
                              struct fetch_outcome *o) {
  *o = (struct fetch_outcome){0};
  int32_t replica_id = fetch_replica_id(req, m);
  struct partition *p = fetch_partition_of(req, t, fp, &o->err);
  if (p && o->err == KERR_NONE) fetch_check(req, m, replica_id, p, fp, progress, o);
  struct plog_read_result rr = {0};
  int64_t hw = 0;
  if (o->err == KERR_NONE) {
    hw = partition_high_watermark(p);
    int64_t read_end = fetch_read_end(p, replica_id, hw);
    size_t max_bytes = m->max_bytes > 0 ? (size_t)m->max_bytes : 0;
    size_t left = max_bytes > bytes_so_far ? max_bytes - bytes_so_far : 0;
    size_t part_max = fp->partition_max_bytes > 0 ? (size_t)fp->partition_max_bytes : 0;
    if (part_max < left) left = part_max;
    /* A diverging follower gets no records: it truncates first. */
    bool readable = !o->diverging && fetch_offset_in_log(p, fp->fetch_offset);
    if (!o->diverging && !readable)
      o->err = KERR_OFFSET_OUT_OF_RANGE;
    else if (readable && fp->fetch_offset < read_end && (left > 0 || bytes_so_far == 0))
      o->err = fetch_read(p->log, fp->fetch_offset, left, bytes_so_far == 0, read_end, &rr);
  }
  const uint8_t *copy = NULL;
  if (o->err == KERR_NONE && rr.len > 0) o->err = fetch_settle(req, p, pd != NULL, &rr, &copy);
  if (pd) {
    fetch_response_partition_data_init(pd);
    pd->partition_index = fp->partition;
    pd->error_code = (int16_t)o->err;
    bool known = p && partition_hosted(p) && o->err != KERR_KAFKA_STORAGE_ERROR &&
                 o->err != KERR_NOT_LEADER_OR_FOLLOWER;
    if (known && o->err != KERR_NONE) hw = partition_high_watermark(p);
    pd->high_watermark = known ? hw : -1;
    pd->last_stable_offset = known ? hw : -1;
    pd->log_start_offset = known ? plog_start_offset(p->log) : -1;
    pd->aborted_transactions_count = m->isolation_level == 1 ? 0 : -1;
    pd->records = (struct krecords){.ptr = copy,
                                    .len = (int32_t)rr.len,
                                    .is_file = rr.len > 0 && copy == NULL,
                                    .file = rr.file,
                                    .file_offset = rr.file_offset};
    if (o->diverging) pd->diverging_epoch = o->diverging_epoch;
    /* KIP-320 / KIP-951: who leads now, so the fetcher moves fast. */
    if (p && (o->err == KERR_FENCED_LEADER_EPOCH || o->err == KERR_NOT_LEADER_OR_FOLLOWER)) {
      pd->current_leader.leader_id = p->leader_id;
      pd->current_leader.leader_epoch = p->leader_epoch;
    }
  }
  return rr.len;
}

/* The response's arrays: a topic per topic asked, a partition per
 * partition (in the request's arena, once per request). */
static void fetch_response_alloc(struct request *req, const struct fetch_request *m,
                                 struct fetch_response *resp) {
  int32_t topic_count = m->topics_count > 0 ? m->topics_count : 0;
  resp->responses_count = topic_count;
  resp->responses = arena_alloc(&req->arena, (size_t)topic_count * sizeof *resp->responses);
  for (int32_t i = 0; i < topic_count; i++) {
    const struct fetch_request_fetch_topic *ft = &m->topics[i];
    struct fetch_response_fetchable_topic_response *tr = &resp->responses[i];
    int32_t pcount = ft->partitions_count > 0 ? ft->partitions_count : 0;
    fetch_response_fetchable_topic_response_init(tr);
    tr->topic = ft->topic;
    tr->topic_id = ft->topic_id;
    tr->partitions_count = pcount;
    tr->partitions = arena_alloc(&req->arena, (size_t)pcount * sizeof *tr->partitions);
  }
}

/* Walks the request in order; fills the response (its arrays from
 * fetch_response_alloc) when resp is not NULL. Returns the record bytes it
 * found; *errors says whether any partition failed (an error is news:
 * answer at once). */
static size_t fetch_collect(struct request *req, const struct fetch_request *m,
                            struct fetch_response *resp, bool progress, bool *errors) {
  size_t bytes = 0;
  *errors = false;
  int32_t topic_count = m->topics_count > 0 ? m->topics_count : 0;
  ASSERT(resp == NULL || resp->responses_count == topic_count);
  for (int32_t i = 0; i < topic_count; i++) {
    const struct fetch_request_fetch_topic *ft = &m->topics[i];
    struct topic *t = fetch_topic(req, ft);
    int32_t pcount = ft->partitions_count > 0 ? ft->partitions_count : 0;
    struct fetch_response_fetchable_topic_response *tr = resp ? &resp->responses[i] : NULL;
    ASSERT(tr == NULL || tr->partitions_count == pcount);
    for (int32_t j = 0; j < pcount; j++) {
      struct fetch_response_partition_data *pd = tr ? &tr->partitions[j] : NULL;
      struct fetch_outcome o;
      size_t got = fetch_partition(req, m, t, &ft->partitions[j], bytes, progress, pd, &o);
      if (pd != NULL && t != NULL && fetch_replica_id(req, m) < 0) t->traffic.bytes_out += got;
      bytes += got;
      if (o.err != KERR_NONE || o.diverging) *errors = true;
    }
  }
  return bytes;
}

/* Whether a parked fetch may be answerable now: a partition with an error
 * (or a divergence) or with records below its read end. No read, so a wake
 * that brings nothing readable (an append a consumer may not see yet, a
 * high watermark a follower already has) costs no index lookup; false
 * means fetch_collect would find neither an error nor a byte. */
static bool fetch_anything_new(struct request *req, const struct fetch_request *m) {
  int32_t replica_id = fetch_replica_id(req, m);
  int32_t topic_count = m->topics_count > 0 ? m->topics_count : 0;
  for (int32_t i = 0; i < topic_count; i++) {
    const struct fetch_request_fetch_topic *ft = &m->topics[i];
    struct topic *t = fetch_topic(req, ft);
    int32_t pcount = ft->partitions_count > 0 ? ft->partitions_count : 0;
    for (int32_t j = 0; j < pcount; j++) {
      const struct fetch_request_fetch_partition *fp = &ft->partitions[j];
      struct fetch_outcome o = {0};
      struct partition *p = fetch_partition_of(req, t, fp, &o.err);
      if (p && o.err == KERR_NONE) fetch_check(req, m, replica_id, p, fp, false, &o);
      if (o.err != KERR_NONE || o.diverging || !fetch_offset_in_log(p, fp->fetch_offset))
        return true; /* an error is news (out of range too) */
      if (fp->fetch_offset < fetch_read_end(p, replica_id, partition_high_watermark(p)))
        return true;
    }
  }
  return false;
}

/* What every answer holds: a topic per topic asked, a partition per
 * partition, and for each readable one a known high watermark and log
 * start. (hw >= log start is retention's rule, plog_maintain_below, tested
 * with the log; a log start checkpointed past a recovery point that a power
 * loss took back could still break it, so it is not asserted here.) */
static void fetch_response_check(const struct fetch_request *m,
                                 const struct fetch_response *resp, int top_error) {
  if (top_error != KERR_NONE) return;
  ASSERT(resp->responses_count == (m->topics_count > 0 ? m->topics_count : 0));
  for (int32_t i = 0; i < resp->responses_count; i++) {
    const struct fetch_response_fetchable_topic_response *tr = &resp->responses[i];
    ASSERT(tr->partitions_count ==
           (m->topics[i].partitions_count > 0 ? m->topics[i].partitions_count : 0));
    for (int32_t j = 0; j < tr->partitions_count; j++) {
      const struct fetch_response_partition_data *pd = &tr->partitions[j];
      ASSERT(pd->error_code != KERR_NONE ||
             (pd->log_start_offset >= 0 && pd->high_watermark >= 0));
      ASSERT(pd->records.len >= 0);
    }
  }
}

/* Encodes and sends an assembled response; frees req. */
static void fetch_send(struct request *req, const struct fetch_request *m,
                       const struct fetch_session_ticket *t, struct fetch_response *resp) {
  fetch_response_check(m, resp, resp->error_code);
  if (req->node->fetch_sessions)
    fetch_session_response(req->node->fetch_sessions, req->api_version, t, resp);
  struct wr w;
  response_begin(req, &w);
  fetch_response_encode(&w, req->api_version, resp);
  struct node *node = req->node;
  request_respond(req, &w);
  /* Sent: the world references the ranges' files itself now, so their
   * segments may be closed again (log/segment_cache.h). */
  seg_cache_turn_end(&node->logs.segments);
}

/* Assembles the response from what the logs hold now and sends it. */
static void fetch_respond(struct request *req, const struct fetch_request *m,
                          const struct fetch_session_ticket *t, int top_error) {
  struct fetch_response resp;
  fetch_response_init(&resp);
  resp.error_code = (int16_t)top_error;
  bool errors;
  if (top_error == KERR_NONE) {
    fetch_response_alloc(req, m, &resp);
    fetch_collect(req, m, &resp, false, &errors);
  }
  fetch_send(req, m, t, &resp);
}

/* Whether the first pass (which records a follower's progress) may also
 * assemble the answer. A follower's progress moves only its own
 * partition's high watermark, so once each partition's outcome is read
 * after its own progress the answer equals a second pass's; a partition
 * asked twice would see its second progress after its first outcome, so
 * such a request (or one too long to check cheaply) takes two passes. */
enum { FETCH_DISTINCT_CHECK_MAX = 64 };

static bool same_topic(const struct fetch_request_fetch_topic *a,
                       const struct fetch_request_fetch_topic *b, int16_t version) {
  if (version >= 13) return memcmp(&a->topic_id, &b->topic_id, sizeof a->topic_id) == 0;
  return a->topic.len == b->topic.len &&
         (a->topic.len <= 0 || memcmp(a->topic.ptr, b->topic.ptr, (size_t)a->topic.len) == 0);
}

static bool fetch_one_pass(const struct request *req, const struct fetch_request *m) {
  if (fetch_replica_id(req, m) < 0) return true; /* a consumer records no progress */
  int32_t topic_count = m->topics_count > 0 ? m->topics_count : 0;
  int32_t total = 0;
  for (int32_t i = 0; i < topic_count; i++)
    total += m->topics[i].partitions_count > 0 ? m->topics[i].partitions_count : 0;
  if (total > FETCH_DISTINCT_CHECK_MAX) return false;
  for (int32_t i = 0; i < topic_count; i++)
    for (int32_t k = i; k < topic_count; k++) {
      const struct fetch_request_fetch_topic *a = &m->topics[i], *b = &m->topics[k];
      if (k != i && !same_topic(a, b, req->api_version)) continue;
      for (int32_t x = 0; x < a->partitions_count; x++)
        for (int32_t y = k == i ? x + 1 : 0; y < b->partitions_count; y++)
          if (a->partitions[x].partition == b->partitions[y].partition) return false;
    }
  return true;
}

/* ---- long polling: Kafka's delayed fetch ----
 *
 * A fetch that finds fewer than min_bytes parks in the node's purgatory with
 * a watch on each partition it asked for and a deadline of max_wait_ms.
 * Whenever one of those partitions moves, the fetch re-checks all of them
 * and answers once min_bytes are there (or a partition has an error, which
 * is news too); at the deadline it answers with what there is. */

/* Assembles the answer into the waiter's own response as it checks: the
 * purgatory ends a ready waiter at once (done, before anything else runs),
 * so done sends these very bytes. Touches nothing outside the waiter. */
static bool fetch_wait_ready(struct waiter *waiter) {
  struct fetch_wait *w = waiter->ctx;
  ASSERT(w->req->waiter == waiter);
  if (!fetch_anything_new(w->req, &w->m)) return false;
  bool errors;
  size_t bytes = fetch_collect(w->req, &w->m, &w->resp, false, &errors);
  w->assembled = errors || (int64_t)bytes >= (int64_t)w->m.min_bytes;
  return w->assembled;
}

/* Every ending answers the same way: with what the logs hold now (a deleted
 * topic's partitions answer with their error); a ready one already
 * assembled that. */
static void fetch_wait_done(struct waiter *waiter, enum waiter_end why) {
  struct fetch_wait *w = waiter->ctx;
  ASSERT(w->req->waiter == waiter && !waiter_parked(waiter));
  w->req->waiter = NULL;
  if (why == WAITER_READY && w->assembled) {
    fetch_send(w->req, &w->m, &w->ticket, &w->resp); /* frees req, and w in its arena */
    return;
  }
  fetch_respond(w->req, &w->m, &w->ticket, KERR_NONE); /* frees req, and w in its arena */
}

static const struct waiter_ops fetch_wait_ops = {
    .ready = fetch_wait_ready,
    .done = fetch_wait_done,
};

/* Parks a fetch whose partitions all exist (fetch_collect found no error). */
static void fetch_park(struct request *req, struct fetch_wait *w) {
  struct node *node = req->node;
  ASSERT(w->m.max_wait_ms > 0 && !purgatory_full(&node->purgatory));
  int32_t topic_count = w->m.topics_count > 0 ? w->m.topics_count : 0;
  int32_t watch_cap = 0;
  for (int32_t i = 0; i < topic_count; i++)
    watch_cap += w->m.topics[i].partitions_count > 0 ? w->m.topics[i].partitions_count : 0;
  struct watch *watches = arena_alloc(&req->arena, (size_t)watch_cap * sizeof *watches);
  waiter_init(&w->waiter, &node->purgatory, &fetch_wait_ops, w, watches, watch_cap);
  req->waiter = &w->waiter; /* from now on a closing connection cancels it */
  req->pending = w;
  waiter_park(&w->waiter, (uint64_t)w->m.max_wait_ms * NS_PER_MS);
  for (int32_t i = 0; i < topic_count; i++) {
    const struct fetch_request_fetch_topic *ft = &w->m.topics[i];
    struct topic *t = fetch_topic(req, ft);
    ASSERT(t != NULL);
    for (int32_t j = 0; j < ft->partitions_count; j++) {
      const struct fetch_request_fetch_partition *fp = &ft->partitions[j];
      ASSERT(fp->partition >= 0 && fp->partition < t->partition_count);
      /* A consumer reads below the high watermark, a follower up to the
       * log end: anything past its offset may be enough. */
      enum watch_kind kind =
          fetch_replica_id(req, &w->m) >= 0 ? WATCH_END_OFFSET : WATCH_HIGH_WATERMARK;
      waiter_watch(&w->waiter, &t->partitions[fp->partition].watches, kind,
                   fp->fetch_offset + 1);
    }
  }
  ASSERT(waiter_parked(&w->waiter) && w->waiter.watch_count <= watch_cap);
}

void partition_wake_waiters(struct node *node, struct partition *p) {
  ASSERT(p != NULL && p->log != NULL);
  if (p->leader) partition_leader_refresh_high_watermark(node, p);
  int64_t positions[WATCH_KINDS];
  positions[WATCH_END_OFFSET] = plog_end_offset(p->log);
  positions[WATCH_HIGH_WATERMARK] = partition_high_watermark(p);
  positions[WATCH_LOW_WATERMARK] =
      p->leader ? partition_leader_low_watermark(node, p) : plog_start_offset(p->log);
  ASSERT(positions[WATCH_HIGH_WATERMARK] <= positions[WATCH_END_OFFSET]);
  purgatory_wake(&node->purgatory, &p->watches, positions);
}

/* The node's session cache, made on first use with
 * max.incremental.fetch.session.cache.slots (Kafka's default 1000). */
static struct fetch_session_cache *fetch_sessions_of(struct node *node) {
  if (node->fetch_sessions) return node->fetch_sessions;
  char text[32];
  bool set;
  int64_t slots = 1000;
  if (config_value(&node->cfg, "max.incremental.fetch.session.cache.slots", text, sizeof text,
                   &set) &&
      (!str_to_i64(text, &slots) || slots < 0 || slots > INT32_MAX))
    slots = 1000;
  node->fetch_sessions = calloc(1, sizeof *node->fetch_sessions);
  ASSERT(node->fetch_sessions != NULL);
  fetch_session_cache_init(node->fetch_sessions, (int32_t)slots);
  return node->fetch_sessions;
}

/* KIP-227 before anything is read: a session error answers at once. */
static int fetch_session_begin(struct request *req, struct fetch_wait *w) {
  w->ticket = (struct fetch_session_ticket){0};
  if (req->api_version < FETCH_SESSION_VERSION_MIN) return KERR_NONE;
  if (w->m.session_id == 0 && w->m.session_epoch == -1) return KERR_NONE; /* sessionless */
  struct node *node = req->node;
  return fetch_session_request(fetch_sessions_of(node), node->env, req->api_version,
                               fetch_replica_id(req, &w->m) >= 0, &w->m, &req->arena,
                               &w->ticket);
}

bool handle_fetch(struct request *req) {
  handler_assert_entry(req, API_FETCH);
  struct node *node = req->node;
  struct fetch_wait *w = arena_alloc(&req->arena, sizeof *w);
  if (!fetch_request_decode(&req->body, req->api_version, &w->m, &req->arena)) return false;
  w->req = req;
  int session_err = fetch_session_begin(req, w);
  if (session_err != KERR_NONE) {
    fetch_respond(req, &w->m, &w->ticket, session_err);
    return true;
  }
  w->assembled = false;
  fetch_response_init(&w->resp);
  fetch_response_alloc(req, &w->m, &w->resp);
  bool one_pass = fetch_one_pass(req, &w->m);
  bool errors;
  size_t bytes = fetch_collect(req, &w->m, one_pass ? &w->resp : NULL, true, &errors);
  /* Over the purgatory's bound a fetch answers at once: the client simply
   * asks again, which bounds memory without refusing anyone. */
  if (errors || w->m.max_wait_ms <= 0 || (int64_t)bytes >= (int64_t)w->m.min_bytes ||
      purgatory_full(&node->purgatory) || node->shutting_down) {
    if (one_pass)
      fetch_send(req, &w->m, &w->ticket, &w->resp);
    else
      fetch_respond(req, &w->m, &w->ticket, KERR_NONE);
    return true;
  }
  fetch_park(req, w);
  return true;
}
