/* Produce (API 0), versions 3-9: validate each partition's batches (magic 2,
 * CRC-32C), judge an idempotent producer's batch (a retry of one already
 * stored is answered with its offset, not stored again: KIP-98), recompress
 * if the topic's compression.type asks for a codec, append with offsets
 * assigned, answer. acks=0 gets no answer; acks=-1 is
 * acks=1 on one replica. A topic with flush.messages=1 answers after its
 * fsync, and the waiting requests share one (group commit). */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "proto/api.h"
#include "proto/batch_format.h"
#include "proto/compress.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "proto/record_batch.h"
#include "server/handlers.h"
#include "server/produce_idempotence.h"
#include "server/server.h"

enum { RECOMPRESS_BYTES_MAX = 256 * 1024 * 1024 };

struct produce_wait {
  struct produce_response resp;
  int flushes_pending;
};

/* One partition's fsync before the answer. The partition is named, not
 * pointed to: the topic may be deleted (or grow, moving its partitions)
 * before the fsync completes. */
struct produce_flush {
  struct request *req;
  struct kstr topic; /* in the request's frame */
  struct produce_response_partition_produce_response *pr;
};

/* The size of the batch at data[at..len), which rb_validate has framed. */
static size_t batch_size(const uint8_t *data, size_t len, size_t at) {
  struct rb_header h;
  size_t size = rb_frame(data + at, len - at, &h);
  ASSERT(size > 0);
  return size;
}

/* Kafka checks each batch against the topic's max.message.bytes. */
static bool batches_fit(const uint8_t *data, size_t len, int64_t max_bytes) {
  /* Every batch takes at least RB_HEADER_BYTES. */
  for (size_t at = 0, n = 0; at < len && n <= len / RB_HEADER_BYTES; n++) {
    size_t size = batch_size(data, len, at);
    if ((int64_t)size > max_bytes) return false;
    at += size;
  }
  return true;
}

/* The topic's compression.type as a codec, or -1 for "producer". */
static int target_codec(const struct topic *t) {
  const char *name = topic_config_str(&t->config, TC_COMPRESSION_TYPE);
  if (strcmp(name, "producer") == 0) return -1;
  return codec_by_name(name);
}

/* Re-encodes every batch whose codec differs from the topic's. */
static int recompress_all(const uint8_t *data, size_t len, enum rb_codec codec,
                          struct buf *out) {
  for (size_t at = 0, n = 0; at < len && n <= len / RB_HEADER_BYTES; n++) {
    size_t size = batch_size(data, len, at);
    int rc = rb_recompress(data + at, size, codec, RECOMPRESS_BYTES_MAX, out);
    if (rc != KERR_NONE) return rc;
    at += size;
  }
  return KERR_NONE;
}

static int produce_partition(struct request *req, struct partition *p, struct krecords rec,
                             struct produce_response_partition_produce_response *pr) {
  struct node *node = req->node;
  /* First: not even a duplicate is answered from an offline log, whose
   * original may be among the bytes a failed fsync dropped. */
  if (plog_offline(p->log)) return KERR_KAFKA_STORAGE_ERROR;
  if (rec.len <= 0) return KERR_INVALID_RECORD;
  uint8_t *data = (uint8_t *)rec.ptr; /* the frame is ours to patch */
  size_t len = (size_t)rec.len;
  struct rb_summary sum;
  int rc = rb_validate(data, len, &sum);
  if (rc != KERR_NONE) return rc;
  if (!batches_fit(data, len, topic_config_i64(&p->topic->config, TC_MAX_MESSAGE_BYTES)))
    return KERR_MESSAGE_TOO_LARGE;
  if (sum.transactional || sum.control) return KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
  bool duplicate; /* KIP-98: a retry of a batch already stored is answered, not stored */
  rc = produce_idempotence_check(node->env, p, data, len, pr, &duplicate);
  if (rc != KERR_NONE || duplicate) return rc;
  struct buf recompressed;
  buf_init(&recompressed);
  int codec = target_codec(p->topic);
  if (codec >= 0 && (sum.mixed_codecs || (int)sum.codec != codec)) {
    rc = recompress_all(data, len, (enum rb_codec)codec, &recompressed);
    if (rc != KERR_NONE) {
      buf_free(&recompressed);
      return rc;
    }
    data = recompressed.data;
    len = recompressed.len;
  }
  struct plog_append_info info;
  int64_t now_ms = node->env->wall_ms(node->env);
  rc = plog_append(p->log, data, len, p->leader_epoch, now_ms, &info);
  buf_free(&recompressed);
  if (rc == ENV_EINVAL) return KERR_RECORD_LIST_TOO_LARGE; /* larger than segment.bytes */
  if (rc != 0) {
    env_log(node->env, ENV_LOG_ERROR, "append to %s-%d failed: error %d", p->topic->name,
            p->index, rc);
    return KERR_KAFKA_STORAGE_ERROR;
  }
  pr->base_offset = info.base_offset;
  pr->log_start_offset = plog_start_offset(p->log);
  return KERR_NONE;
}

static void produce_send(struct request *req, const struct produce_response *resp) {
  struct wr w;
  response_begin(req, &w);
  produce_response_encode(&w, req->api_version, resp);
  request_respond(req, &w);
}

/* An fsync completion: the partition's high watermark moved (it is capped at
 * what is on disk), so its parked fetches re-check. The last one answers the
 * produce; its connection resumes from the ready list (request_respond). */
static void produce_flushed(void *ctx, int err) {
  struct produce_flush *f = ctx;
  struct request *req = f->req;
  struct produce_wait *wait = req->pending;
  ASSERT(wait != NULL && wait->flushes_pending > 0);
  if (err != 0) {
    env_log(req->node->env, ENV_LOG_ERROR, "fsync before ack failed: error %d", err);
    f->pr->error_code = KERR_KAFKA_STORAGE_ERROR;
    f->pr->base_offset = -1;
  } else {
    struct partition *p = partition_find(req->node, f->topic, f->pr->index);
    if (p) partition_wake_waiters(req->node, p);
  }
  free(f);
  if (--wait->flushes_pending > 0) return;
  produce_send(req, &wait->resp);
}

#ifdef SLUICE_MUTANT_ACK_THEN_FSYNC /* mutant: nobody waits for the fsync */
static void mutant_fsync_done(void *ctx, int err) { (void)ctx, (void)err; }
#endif

bool handle_produce(struct request *req) {
#ifdef SLUICE_PLANTED_ASSERT /* make planted: sluice-sim must report where this fails */
  ASSERT(false);
#endif
  handler_assert_entry(req, API_PRODUCE);
  struct produce_request m;
  if (!produce_request_decode(&req->body, req->api_version, &m, &req->arena)) return false;
  struct produce_wait *wait = arena_alloc(&req->arena, sizeof *wait);
  struct produce_response *resp = &wait->resp;
  produce_response_init(resp);
  int top_error = KERR_NONE;
  if (m.acks != 0 && m.acks != 1 && m.acks != -1) top_error = KERR_INVALID_REQUIRED_ACKS;
  if (m.transactional_id.len >= 0) top_error = KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
  int32_t topic_count = m.topic_data_count > 0 ? m.topic_data_count : 0;
  resp->responses_count = topic_count;
  resp->responses = arena_alloc(&req->arena, (size_t)topic_count * sizeof *resp->responses);
  for (int32_t i = 0; i < topic_count; i++) {
    struct produce_request_topic_produce_data *td = &m.topic_data[i];
    struct produce_response_topic_produce_response *tr = &resp->responses[i];
    produce_response_topic_produce_response_init(tr);
    tr->name = td->name;
    int32_t pcount = td->partition_data_count > 0 ? td->partition_data_count : 0;
    tr->partition_responses_count = pcount;
    tr->partition_responses =
        arena_alloc(&req->arena, (size_t)pcount * sizeof *tr->partition_responses);
    for (int32_t j = 0; j < pcount; j++) {
      struct produce_response_partition_produce_response *pr = &tr->partition_responses[j];
      produce_response_partition_produce_response_init(pr);
      pr->index = td->partition_data[j].index;
      pr->base_offset = -1;
      struct partition *p = partition_any(req->node, td->name, pr->index);
      int rc = top_error;
      if (rc == KERR_NONE && !p) rc = KERR_UNKNOWN_TOPIC_OR_PARTITION;
      if (rc == KERR_NONE && !partition_hosted(p)) rc = KERR_NOT_LEADER_OR_FOLLOWER;
      if (rc == KERR_NONE) rc = produce_partition(req, p, td->partition_data[j].records, pr);
      pr->error_code = (int16_t)rc;
      ASSERT((rc == KERR_NONE) == (pr->base_offset >= 0)); /* an offset exactly when stored */
      if (rc != KERR_NONE) continue;
      /* Only this partition's parked fetches look; in flush mode its high
       * watermark waits for the fsync, and they look again then. */
      partition_wake_waiters(req->node, p);
      if (!partition_flushes_before_ack(p)) continue;
      if (m.acks == 0) { /* nobody waits, but only what is on disk is visible */
        partition_flush_unwaited(req->node, p);
        continue;
      }
#ifdef SLUICE_MUTANT_ACK_NO_FSYNC /* mutant: answered at once, never fsynced */
      continue;
#endif
#ifdef SLUICE_MUTANT_ACK_THEN_FSYNC /* mutant: answered at once, fsynced behind */
      plog_flush(p->log, mutant_fsync_done, NULL);
      continue;
#endif
      struct produce_flush *f = calloc(1, sizeof *f);
      ASSERT(f != NULL);
      f->req = req;
      f->topic = td->name;
      f->pr = pr;
      wait->flushes_pending++;
      plog_flush(p->log, produce_flushed, f);
    }
  }
  ASSERT(resp->responses_count == topic_count);
  if (m.acks == 0) {
    ASSERT(wait->flushes_pending == 0);
    request_done_silent(req);
  } else if (wait->flushes_pending > 0) {
    req->pending = wait; /* answered from produce_flushed */
  } else {
    produce_send(req, resp);
  }
  return true;
}
