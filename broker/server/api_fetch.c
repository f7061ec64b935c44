/* Fetch (API 1), versions 4-13, for consumers: read file ranges from the
 * logs up to the high watermark (which is also the last stable offset: no
 * transactions yet), and long-poll (max_wait_ms, min_bytes) when there is
 * not enough to send. Fetch sessions (KIP-227) are not created: a session
 * id of 0 tells the client to keep sending full fetches. */
#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/handlers.h"
#include "server/server.h"

struct fetch_wait {
  struct request *req;
  struct fetch_request m;
  struct waiter waiter;
};

static struct topic *fetch_topic(struct request *req,
                                 const struct fetch_request_fetch_topic *ft) {
  if (req->api_version >= 13) return topic_find_by_id(req->node, ft->topic_id);
  if (ft->topic.len <= 0) return NULL;
  return topic_find(req->node, ft->topic.ptr, (size_t)ft->topic.len);
}

/* Reads one partition. Fills pd when it is not NULL; returns the bytes. */
static size_t fetch_partition(struct request *req, const struct fetch_request *m,
                              struct topic *t, const struct fetch_request_fetch_partition *fp,
                              size_t bytes_so_far, struct fetch_response_partition_data *pd,
                              int *err_out) {
  int err = KERR_NONE;
  struct partition *p = NULL;
  if (!t)
    err = req->api_version >= 13 ? KERR_UNKNOWN_TOPIC_ID : KERR_UNKNOWN_TOPIC_OR_PARTITION;
  else if (fp->partition < 0 || fp->partition >= t->partition_count)
    err = KERR_UNKNOWN_TOPIC_OR_PARTITION;
  else if (!partition_hosted(&t->partitions[fp->partition]))
    err = KERR_NOT_LEADER_OR_FOLLOWER; /* Kafka's answer for a replica not here */
  else
    p = &t->partitions[fp->partition];
  /* KIP-320: a client that knows a newer epoch than ours, or an older one. */
  if (p && fp->current_leader_epoch >= 0 && fp->current_leader_epoch != p->leader_epoch)
    err = fp->current_leader_epoch > p->leader_epoch ? KERR_UNKNOWN_LEADER_EPOCH
                                                     : KERR_FENCED_LEADER_EPOCH;
  /* A log a failed flush took offline answers nothing until a restart
   * (Kafka: KAFKA_STORAGE_ERROR for a replica in an offline log dir). */
  if (p && err == KERR_NONE && plog_offline(p->log)) err = KERR_KAFKA_STORAGE_ERROR;
  struct plog_read_result rr = {0};
  int64_t hw = 0;
  if (err == KERR_NONE) {
    hw = partition_high_watermark(p);
    size_t max_bytes = m->max_bytes > 0 ? (size_t)m->max_bytes : 0;
    size_t left = max_bytes > bytes_so_far ? max_bytes - bytes_so_far : 0;
    size_t part_max = fp->partition_max_bytes > 0 ? (size_t)fp->partition_max_bytes : 0;
    if (part_max < left) left = part_max;
    if (fp->fetch_offset < plog_start_offset(p->log) ||
        fp->fetch_offset > plog_end_offset(p->log))
      err = KERR_OFFSET_OUT_OF_RANGE;
#ifdef SLUICE_MUTANT_FETCH_PAST_HW /* mutant: reads stop at the log end */
    else if ((left > 0 || bytes_so_far == 0) &&
             plog_read(p->log, fp->fetch_offset, left, bytes_so_far == 0, INT64_MAX, &rr) != 0)
      err = KERR_OFFSET_OUT_OF_RANGE;
#else
    else if (fp->fetch_offset < hw && (left > 0 || bytes_so_far == 0) &&
             plog_read(p->log, fp->fetch_offset, left, bytes_so_far == 0, hw, &rr) != 0)
      err = KERR_OFFSET_OUT_OF_RANGE;
#endif
  }
  *err_out = err;
  if (pd) {
    fetch_response_partition_data_init(pd);
    pd->partition_index = fp->partition;
    pd->error_code = (int16_t)err;
    bool known = p && err != KERR_KAFKA_STORAGE_ERROR;
    pd->high_watermark = known ? hw : -1;
    pd->last_stable_offset = known ? hw : -1;
    pd->log_start_offset = known ? plog_start_offset(p->log) : -1;
    pd->aborted_transactions_count = m->isolation_level == 1 ? 0 : -1;
    pd->records = (struct krecords){.len = (int32_t)rr.len,
                                    .is_file = rr.len > 0,
                                    .file = rr.file,
                                    .file_offset = rr.file_offset};
    if (p && err == KERR_FENCED_LEADER_EPOCH) {
      pd->current_leader.leader_id = req->node->cfg.node_id;
      pd->current_leader.leader_epoch = p->leader_epoch;
    }
  }
  return rr.len;
}

/* Walks the request in order; builds the response when resp is not NULL.
 * Returns the record bytes it found; *errors says whether any partition
 * failed (an error is news: answer at once). */
static size_t fetch_collect(struct request *req, const struct fetch_request *m,
                            struct fetch_response *resp, bool *errors) {
  size_t bytes = 0;
  *errors = false;
  int32_t topic_count = m->topics_count > 0 ? m->topics_count : 0;
  if (resp) {
    resp->responses_count = topic_count;
    resp->responses = arena_alloc(&req->arena, (size_t)topic_count * sizeof *resp->responses);
  }
  for (int32_t i = 0; i < topic_count; i++) {
    const struct fetch_request_fetch_topic *ft = &m->topics[i];
    struct topic *t = fetch_topic(req, ft);
    int32_t pcount = ft->partitions_count > 0 ? ft->partitions_count : 0;
    struct fetch_response_fetchable_topic_response *tr = NULL;
    if (resp) {
      tr = &resp->responses[i];
      fetch_response_fetchable_topic_response_init(tr);
      tr->topic = ft->topic;
      tr->topic_id = ft->topic_id;
      tr->partitions_count = pcount;
      tr->partitions = arena_alloc(&req->arena, (size_t)pcount * sizeof *tr->partitions);
    }
    for (int32_t j = 0; j < pcount; j++) {
      struct fetch_response_partition_data *pd = tr ? &tr->partitions[j] : NULL;
      int err;
      bytes += fetch_partition(req, m, t, &ft->partitions[j], bytes, pd, &err);
      if (err != KERR_NONE) *errors = true;
    }
  }
  return bytes;
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

static void fetch_respond(struct request *req, const struct fetch_request *m, int top_error) {
  struct fetch_response resp;
  fetch_response_init(&resp);
  resp.error_code = (int16_t)top_error;
  bool errors;
  if (top_error == KERR_NONE) fetch_collect(req, m, &resp, &errors);
  fetch_response_check(m, &resp, top_error);
  struct wr w;
  response_begin(req, &w);
  fetch_response_encode(&w, req->api_version, &resp);
  request_respond(req, &w);
}

/* ---- long polling: Kafka's delayed fetch ----
 *
 * A fetch that finds fewer than min_bytes parks in the node's purgatory with
 * a watch on each partition it asked for and a deadline of max_wait_ms.
 * Whenever one of those partitions moves, the fetch re-checks all of them
 * and answers once min_bytes are there (or a partition has an error, which
 * is news too); at the deadline it answers with what there is. */

static bool fetch_wait_ready(struct waiter *waiter) {
  struct fetch_wait *w = waiter->ctx;
  ASSERT(w->req->waiter == waiter);
  bool errors;
  size_t bytes = fetch_collect(w->req, &w->m, NULL, &errors);
  return errors || (int64_t)bytes >= (int64_t)w->m.min_bytes;
}

/* Every ending answers the same way: with what the logs hold now (a deleted
 * topic's partitions answer with their error). */
static void fetch_wait_done(struct waiter *waiter, enum waiter_end why) {
  struct fetch_wait *w = waiter->ctx;
  ASSERT(w->req->waiter == waiter && !waiter_parked(waiter));
  (void)why;
  w->req->waiter = NULL;
  fetch_respond(w->req, &w->m, KERR_NONE); /* frees req, and w in its arena */
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
      /* A consumer reads below the high watermark: anything past its offset
       * may be enough. (A follower's fetch will watch the end offset.) */
      waiter_watch(&w->waiter, &t->partitions[fp->partition].watches, WATCH_HIGH_WATERMARK,
                   fp->fetch_offset + 1);
    }
  }
  ASSERT(waiter_parked(&w->waiter) && w->waiter.watch_count <= watch_cap);
}

void partition_wake_waiters(struct node *node, struct partition *p) {
  ASSERT(p != NULL && p->log != NULL);
  int64_t positions[WATCH_KINDS];
  positions[WATCH_END_OFFSET] = plog_end_offset(p->log);
  positions[WATCH_HIGH_WATERMARK] = partition_high_watermark(p);
  ASSERT(positions[WATCH_HIGH_WATERMARK] <= positions[WATCH_END_OFFSET]);
  purgatory_wake(&node->purgatory, &p->watches, positions);
}

bool handle_fetch(struct request *req) {
  handler_assert_entry(req, API_FETCH);
  struct node *node = req->node;
  struct fetch_wait *w = arena_alloc(&req->arena, sizeof *w);
  if (!fetch_request_decode(&req->body, req->api_version, &w->m, &req->arena)) return false;
  w->req = req;
  if (w->m.session_id != 0) {
    fetch_respond(req, &w->m, KERR_FETCH_SESSION_ID_NOT_FOUND);
    return true;
  }
  bool errors;
  size_t bytes = fetch_collect(req, &w->m, NULL, &errors);
  /* Over the purgatory's bound a fetch answers at once: the client simply
   * asks again, which bounds memory without refusing anyone. */
  if (errors || w->m.max_wait_ms <= 0 || (int64_t)bytes >= (int64_t)w->m.min_bytes ||
      purgatory_full(&node->purgatory) || node->shutting_down) {
    fetch_respond(req, &w->m, KERR_NONE);
    return true;
  }
  fetch_park(req, w);
  return true;
}
