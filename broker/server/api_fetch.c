/* Fetch (API 1), versions 4-13, for consumers: read file ranges from the
 * logs up to the high watermark (which is also the last stable offset: no
 * transactions yet), and long-poll (max_wait_ms, min_bytes) when there is
 * not enough to send. Fetch sessions (KIP-227) are not created: a session
 * id of 0 tells the client to keep sending full fetches. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/handlers.h"
#include "server/server.h"

struct fetch_wait {
  struct request *req;
  struct fetch_request m;
  env_timer_id timer;
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
  else
    p = &t->partitions[fp->partition];
  /* KIP-320: a client that knows a newer epoch than ours, or an older one. */
  if (p && fp->current_leader_epoch >= 0 && fp->current_leader_epoch != p->leader_epoch)
    err = fp->current_leader_epoch > p->leader_epoch ? KERR_UNKNOWN_LEADER_EPOCH
                                                     : KERR_FENCED_LEADER_EPOCH;
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
    else if (fp->fetch_offset < hw && (left > 0 || bytes_so_far == 0) &&
             plog_read(p->log, fp->fetch_offset, left, bytes_so_far == 0, hw, &rr) != 0)
      err = KERR_OFFSET_OUT_OF_RANGE;
  }
  *err_out = err;
  if (pd) {
    fetch_response_partition_data_init(pd);
    pd->partition_index = fp->partition;
    pd->error_code = (int16_t)err;
    pd->high_watermark = p ? hw : -1;
    pd->last_stable_offset = p ? hw : -1;
    pd->log_start_offset = p ? plog_start_offset(p->log) : -1;
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

static void fetch_respond(struct request *req, const struct fetch_request *m, int top_error) {
  struct fetch_response resp;
  fetch_response_init(&resp);
  resp.error_code = (int16_t)top_error;
  bool errors;
  if (top_error == KERR_NONE) fetch_collect(req, m, &resp, &errors);
  struct wr w;
  response_begin(req, &w);
  fetch_response_encode(&w, req->api_version, &resp);
  request_respond(req, &w);
}

static void waiters_remove(struct node *node, int index) {
  ASSERT(index >= 0 && index < node->fetch_wait_count);
  memmove(&node->fetch_waits[index], &node->fetch_waits[index + 1],
          (size_t)(node->fetch_wait_count - index - 1) * sizeof node->fetch_waits[0]);
  node->fetch_wait_count--;
}

static int waiters_find(struct node *node, struct fetch_wait *w) {
  for (int i = 0; i < node->fetch_wait_count; i++)
    if (node->fetch_waits[i] == w) return i;
  return -1;
}

static void fetch_wait_finish(struct node *node, struct fetch_wait *w) {
  int i = waiters_find(node, w);
  ASSERT(i >= 0);
  waiters_remove(node, i);
  if (w->timer) node->env->timer_cancel(node->env, w->timer);
  w->timer = 0;
  fetch_respond(w->req, &w->m, KERR_NONE); /* frees req, and w in its arena */
}

static void fetch_wait_expired(void *ctx) {
  struct fetch_wait *w = ctx;
  struct node *node = w->req->node;
  w->timer = 0;
  fetch_wait_finish(node, w);
}

void fetch_waiters_wake(struct node *node) {
  /* Answering one waiter may run its connection's next request, which may
   * append and wake again: walk a snapshot count, bounded. */
  for (int i = 0; i < node->fetch_wait_count && i < FETCH_WAITERS_MAX;) {
    struct fetch_wait *w = node->fetch_waits[i];
    bool errors;
    size_t bytes = fetch_collect(w->req, &w->m, NULL, &errors);
    if (errors || (int64_t)bytes >= (int64_t)w->m.min_bytes)
      fetch_wait_finish(node, w);
    else
      i++;
  }
}

void fetch_waiters_cancel_all(struct node *node) {
  for (int n = 0; node->fetch_wait_count > 0 && n < FETCH_WAITERS_MAX; n++)
    fetch_wait_finish(node, node->fetch_waits[0]);
}

bool handle_fetch(struct request *req) {
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
  if (errors || w->m.max_wait_ms <= 0 || (int64_t)bytes >= (int64_t)w->m.min_bytes ||
      node->fetch_wait_count >= FETCH_WAITERS_MAX || node->shutting_down) {
    fetch_respond(req, &w->m, KERR_NONE);
    return true;
  }
  if (node->fetch_wait_count == node->fetch_wait_cap) {
    int cap = node->fetch_wait_cap ? node->fetch_wait_cap * 2 : 16;
    struct fetch_wait **arr = realloc(node->fetch_waits, (size_t)cap * sizeof *arr);
    ASSERT(arr != NULL);
    node->fetch_waits = arr;
    node->fetch_wait_cap = cap;
  }
  node->fetch_waits[node->fetch_wait_count++] = w;
  req->pending = w;
  w->timer = node->env->timer_start(node->env, (uint64_t)w->m.max_wait_ms * NS_PER_MS,
                                    fetch_wait_expired, w);
  return true;
}
