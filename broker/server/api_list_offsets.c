/* ListOffsets (API 2), versions 1-7: earliest (-2: the log start, which
 * DeleteRecords and retention move), latest (-1: the high watermark, which
 * is also the last stable offset), max timestamp (-3, KIP-734), or the
 * first record whose timestamp is at least the one asked. Only the leader
 * answers a consumer (replica id -1); replica id -2 may ask any replica. */
#include <stdlib.h>

#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "proto/record_batch.h"
#include "server/handlers.h"
#include "server/server.h"

enum {
  TIMESTAMP_LATEST = -1,
  TIMESTAMP_EARLIEST = -2,
  TIMESTAMP_MAX = -3,
  REPLICA_ID_DEBUGGING = -2, /* Kafka's ListOffsetsRequest.DEBUGGING_REPLICA_ID: any replica */
  BATCH_DECOMPRESSED_BYTES_MAX = 64 * 1024 * 1024,
};

/* Within one batch, the first record with timestamp >= ts (or, when exact,
 * == ts). Returns 0 and fills offset/timestamp, or -1. */
static int refine_in_batch(struct node *node, const struct plog_read_result *batch, int64_t ts,
                           bool exact, int64_t *offset_out, int64_t *ts_out) {
  uint8_t *bytes = malloc(batch->len ? batch->len : 1);
  ASSERT(bytes != NULL);
  int rc = -1;
  if (node->env->pread(node->env, batch->file, bytes, batch->len, batch->file_offset) ==
      (int64_t)batch->len) {
    struct buf scratch;
    buf_init(&scratch);
    struct rb_iter it;
    struct rb_record rec;
    if (rb_iter_init(&it, bytes, batch->len, &scratch, BATCH_DECOMPRESSED_BYTES_MAX) == 0) {
      for (int n = 0; n < INT32_MAX && rb_iter_next(&it, &rec) == 1; n++) {
        if (exact ? rec.timestamp == ts : rec.timestamp >= ts) {
          *offset_out = rec.offset;
          *ts_out = rec.timestamp;
          rc = 0;
          break;
        }
      }
    }
    buf_free(&scratch);
  }
  free(bytes);
  return rc;
}

static int16_t list_partition(struct request *req, struct partition *p, int64_t ts,
                              int8_t isolation,
                              struct list_offsets_response_list_offsets_partition_response *r) {
  (void)isolation; /* no transactions: last stable offset = high watermark */
  r->timestamp = -1;
  r->leader_epoch = p->leader_epoch;
  if (ts == TIMESTAMP_LATEST) {
    r->offset = partition_high_watermark(p);
    return KERR_NONE;
  }
  if (ts == TIMESTAMP_EARLIEST) {
    r->offset = plog_start_offset(p->log);
    return KERR_NONE;
  }
  struct plog_read_result batch;
  if (ts == TIMESTAMP_MAX) {
    int64_t max_ts, batch_offset;
    plog_max_timestamp(p->log, &max_ts, &batch_offset);
    r->offset = -1;
    if (batch_offset < 0 || plog_read(p->log, batch_offset, 1, true, INT64_MAX, &batch) != 0 ||
        batch.len == 0)
      return KERR_NONE;
    refine_in_batch(req->node, &batch, max_ts, true, &r->offset, &r->timestamp);
    /* As for a timestamp: only below the high watermark (in flush mode the
     * newest batch may not be durable yet). */
    if (r->offset >= partition_high_watermark(p)) r->offset = r->timestamp = -1;
    return KERR_NONE;
  }
  if (ts < 0) return KERR_INVALID_REQUEST;
  r->offset = -1;
  if (plog_find_batch_by_timestamp(p->log, ts, &batch) == 0)
    refine_in_batch(req->node, &batch, ts, false, &r->offset, &r->timestamp);
  if (r->offset >= partition_high_watermark(p)) r->offset = r->timestamp = -1;
  return KERR_NONE;
}

bool handle_list_offsets(struct request *req) {
  handler_assert_entry(req, API_LIST_OFFSETS);
  struct list_offsets_request m;
  if (!list_offsets_request_decode(&req->body, req->api_version, &m, &req->arena)) return false;
  struct list_offsets_response resp;
  list_offsets_response_init(&resp);
  int32_t topic_count = m.topics_count > 0 ? m.topics_count : 0;
  resp.topics_count = topic_count;
  resp.topics = arena_alloc(&req->arena, (size_t)topic_count * sizeof *resp.topics);
  for (int32_t i = 0; i < topic_count; i++) {
    struct list_offsets_request_list_offsets_topic *rt = &m.topics[i];
    struct list_offsets_response_list_offsets_topic_response *tr = &resp.topics[i];
    list_offsets_response_list_offsets_topic_response_init(tr);
    tr->name = rt->name;
    int32_t pcount = rt->partitions_count > 0 ? rt->partitions_count : 0;
    tr->partitions_count = pcount;
    tr->partitions = arena_alloc(&req->arena, (size_t)pcount * sizeof *tr->partitions);
    for (int32_t j = 0; j < pcount; j++) {
      struct list_offsets_request_list_offsets_partition *rp = &rt->partitions[j];
      struct list_offsets_response_list_offsets_partition_response *pr = &tr->partitions[j];
      list_offsets_response_list_offsets_partition_response_init(pr);
      pr->partition_index = rp->partition_index;
      struct partition *p = partition_any(req->node, rt->name, rp->partition_index);
      if (!p) {
        pr->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
      } else if (!partition_hosted(p)) {
        pr->error_code = KERR_NOT_LEADER_OR_FOLLOWER;
      } else if (rp->current_leader_epoch >= 0 && rp->current_leader_epoch != p->leader_epoch) {
        pr->error_code = rp->current_leader_epoch > p->leader_epoch ? KERR_UNKNOWN_LEADER_EPOCH
                                                                    : KERR_FENCED_LEADER_EPOCH;
      } else if (m.replica_id != REPLICA_ID_DEBUGGING &&
                 (p->leader == NULL || !partition_is_leader(req->node, p))) {
        /* Kafka's fetchOnlyFromLeader: a follower's log start and high
         * watermark may lag the leader's (DeleteRecords, KIP-107). */
        pr->error_code = KERR_NOT_LEADER_OR_FOLLOWER;
      } else {
        pr->error_code = list_partition(req, p, rp->timestamp, m.isolation_level, pr);
        /* Consumers never learn of an offset past the high watermark. */
        ASSERT(pr->error_code != KERR_NONE ||
               (pr->offset >= -1 && pr->offset <= partition_high_watermark(p)));
      }
    }
  }
  ASSERT(resp.topics_count == topic_count);
  struct wr w;
  response_begin(req, &w);
  list_offsets_response_encode(&w, req->api_version, &resp);
  request_respond(req, &w);
  return true;
}
