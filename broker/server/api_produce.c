/* Produce (API 0), versions 3-10, on the partition's leader only (elsewhere
 * NOT_LEADER_OR_FOLLOWER, from v10 with the current leader and its
 * endpoint: KIP-951): validate each partition's batches (magic 2,
 * CRC-32C), judge an idempotent producer's batch (a retry of one already
 * stored is answered with its offset, not stored again: KIP-98), recompress
 * if the topic's compression.type asks for a codec, append with offsets
 * assigned, answer. acks=0 gets no answer, acks=1 the leader's append. A
 * topic with flush.messages=1 answers after its fsync, and the waiting
 * requests share one (group commit).
 *
 * acks=all (-1, Kafka's DelayedProduce): refused with NOT_ENOUGH_REPLICAS
 * before the append when the ISR is smaller than min.insync.replicas;
 * after the append (and the fsync) it waits in the purgatory until the
 * high watermark covers its records (every ISR member holds them), then
 * answers, NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR shrank below
 * min.insync.replicas meanwhile, NOT_LEADER_OR_FOLLOWER if this node lost
 * the leadership, REQUEST_TIMED_OUT after timeout_ms. */
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

/* One partition an acks=all produce waits on. Named, not pointed to: the
 * partition array may move while it waits. */
struct produce_need {
  struct kstr topic; /* in the request's frame */
  struct produce_response_partition_produce_response *pr;
  int64_t required_end; /* the high watermark that covers its records */
};

struct produce_wait {
  struct produce_response resp;
  int flushes_pending;
  struct request *req;
  int16_t acks;
  int32_t timeout_ms;
  struct produce_need *needs; /* [need_count], acks=all only */
  int32_t need_count;
  int32_t endpoints_cap; /* resp.node_endpoints' room (v10+, KIP-951) */
  struct waiter waiter;
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

/* What inflating one batch for recompression may cost (issue 13): batches
 * are inflated one at a time, so this bounds a request's peak too. Past it
 * the batch is refused with MESSAGE_TOO_LARGE (Java's
 * RecordTooLargeException, not retriable: the same batch would fail again)
 * rather than CORRUPT_MESSAGE, whose data is fine; the decoder stops at
 * the budget (a zstd frame declaring more is refused before decoding), so
 * a bomb costs at most the budget, never its inflated size. */
static size_t decompressed_budget(const struct node *node) {
  ASSERT(node->cfg.produce_decompressed_bytes_max > 0);
  return (size_t)node->cfg.produce_decompressed_bytes_max;
}

static void decompressed_refused(const struct node *node, const struct partition *p) {
  env_log(node->env, ENV_LOG_WARN,
          "produce to %s-%d refused (MESSAGE_TOO_LARGE): a batch inflates past "
          "sluice.produce.decompressed.bytes.max (%lld bytes)",
          p->topic->name, p->index, (long long)node->cfg.produce_decompressed_bytes_max);
}

/* Re-encodes every batch whose codec differs from the topic's. */
static int recompress_all(const struct node *node, const struct partition *p,
                          const uint8_t *data, size_t len, enum rb_codec codec,
                          struct buf *out) {
  size_t budget = decompressed_budget(node);
  for (size_t at = 0, n = 0; at < len && n <= len / RB_HEADER_BYTES; n++) {
    size_t size = batch_size(data, len, at);
    int rc = rb_recompress(data + at, size, codec, budget, out);
    if (rc == KERR_MESSAGE_TOO_LARGE) decompressed_refused(node, p);
    if (rc != KERR_NONE) return rc;
    at += size;
  }
  return KERR_NONE;
}

/* ---- recompression in slices (issue 13) ----
 *
 * A request with a partition whose batches the topic's compression.type
 * makes the broker recompress does that first, in slices of at most
 * RECOMPRESS_SLICE_BYTES inflated plus as much compressed per loop turn (a
 * zero-delay timer between), so a batch that inflates to tens of MiB does
 * not hold the loop for the time inflating and compressing it (gzip)
 * takes; then the request runs as usual, appending the prepared batches.
 * The decompressed budget (sluice.produce.decompressed.bytes.max) fails
 * the slice that passes it, with MESSAGE_TOO_LARGE; if the connection goes
 * meanwhile, nothing was appended and nothing is. */
enum { RECOMPRESS_SLICE_BYTES = 256 * 1024 };

struct produce_prepared {
  bool used;
  enum rb_codec codec;
  const uint8_t *data; /* the request's batches, in its frame */
  size_t len;
  size_t at; /* the next batch */
  bool in_batch;
  struct rb_recompression r;
  struct buf out; /* the recompressed batches */
  int rc;         /* KERR_NONE, or why they cannot be */
  bool done;
};

struct produce_slices {
  struct request *req;
  struct produce_request *m;
  struct produce_prepared *prepared; /* [count]: one per partition, in request order */
  int32_t count;
  int32_t next; /* the first not done */
  env_timer_id timer;
};

static void prepared_free(struct produce_prepared *pp) {
  if (pp->in_batch) rb_recompress_end(&pp->r);
  pp->in_batch = false;
  buf_free(&pp->out);
}

/* Works on pp for at most *budget bytes of records; true once it is done. */
static bool prepared_step(const struct node *node, struct produce_prepared *pp,
                          size_t *budget) {
  for (size_t n = 0; n <= pp->len / RB_HEADER_BYTES + 1 && *budget > 0; n++) {
    if (!pp->in_batch) {
      if (pp->at >= pp->len) {
        pp->done = true;
        return true;
      }
      size_t size = batch_size(pp->data, pp->len, pp->at);
      pp->rc = rb_recompress_begin(&pp->r, pp->data + pp->at, size, pp->codec,
                                   decompressed_budget(node), &pp->out);
      pp->in_batch = true;
      if (pp->rc != KERR_NONE) break;
    }
    size_t before = pp->r.worked;
    bool batch_done;
    pp->rc = rb_recompress_step(&pp->r, *budget, &batch_done);
    size_t spent = pp->r.worked - before;
    *budget -= spent < *budget ? spent : *budget;
    if (pp->rc != KERR_NONE) break;
    if (!batch_done) return false;
    rb_recompress_end(&pp->r);
    pp->in_batch = false;
    pp->at += batch_size(pp->data, pp->len, pp->at);
  }
  if (pp->rc == KERR_NONE) {
    pp->done = pp->at >= pp->len && !pp->in_batch;
    return pp->done;
  }
  if (pp->in_batch) rb_recompress_end(&pp->r);
  pp->in_batch = false;
  pp->done = true; /* answered with pp->rc in the append */
  return true;
}

static int32_t min_insync_replicas(const struct partition *p) {
  return (int32_t)topic_config_i64(&p->topic->config, TC_MIN_INSYNC_REPLICAS);
}

/* Kafka's appendRecordsToLeader: acks=all needs min.insync.replicas in the
 * committed ISR before anything is appended. */
static bool enough_replicas(const struct partition *p) {
#ifdef SLUICE_MUTANT_ACKS_ALL_BEFORE_MIN_ISR /* mutant: min.insync.replicas ignored */
  return p != NULL;
#endif
  return p->isr_count >= min_insync_replicas(p);
}

/* A compacted topic keeps each key's latest record, so a record without a
 * key could never be kept: Kafka's LogValidator refuses the batch with
 * INVALID_RECORD and this message. True when one of the batches (framed
 * and valid) holds such a record, or cannot be read through. */
static bool keyless_record(const uint8_t *data, size_t len, size_t inflated_bytes_max) {
  struct buf scratch;
  buf_init(&scratch);
  bool keyless = false;
  for (size_t at = 0, b = 0; at < len && !keyless && b <= len / RB_HEADER_BYTES; b++) {
    size_t size = batch_size(data, len, at);
    struct rb_iter it;
    keyless = rb_iter_init(&it, data + at, size, &scratch, inflated_bytes_max) != 0;
    at += size;
    struct rb_record rec;
    for (int32_t n = 0; !keyless && n <= it.h.record_count && rb_iter_next(&it, &rec) == 1; n++)
      keyless = rec.key.len < 0;
  }
  buf_free(&scratch);
  return keyless;
}

/* Appends (or finds the duplicate of) one partition's batches; on success
 * *required_end is the offset past its last record. */
static int produce_partition(struct request *req, struct partition *p, int16_t acks,
                             struct krecords rec, const struct produce_prepared *pp,
                             struct produce_response_partition_produce_response *pr,
                             int64_t *required_end) {
  struct node *node = req->node;
  /* First: not even a duplicate is answered from an offline log, whose
   * original may be among the bytes a failed fsync dropped. */
  if (plog_offline(p->log)) return KERR_KAFKA_STORAGE_ERROR;
  if (acks == -1 && !enough_replicas(p)) return KERR_NOT_ENOUGH_REPLICAS;
  if (rec.len <= 0) return KERR_INVALID_RECORD;
  uint8_t *data = (uint8_t *)rec.ptr; /* the frame is ours to patch */
  size_t len = (size_t)rec.len;
  struct rb_summary sum;
  int rc = rb_validate(data, len, &sum);
  if (rc != KERR_NONE) return rc;
  if (!batches_fit(data, len, topic_config_i64(&p->topic->config, TC_MAX_MESSAGE_BYTES)))
    return KERR_MESSAGE_TOO_LARGE;
  if (sum.transactional || sum.control) return KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
  if (topic_config_compacted(&p->topic->config) &&
      keyless_record(data, len, decompressed_budget(node))) {
    pr->error_message = kstr_of("Compacted topic cannot accept message without key");
    return KERR_INVALID_RECORD;
  }
  bool duplicate; /* KIP-98: a retry of a batch already stored is answered, not stored */
  rc = produce_idempotence_check(node->env, p, data, len, pr, &duplicate);
  /* A duplicate is one batch: the high watermark (always at a batch
   * boundary) covers it once it passes its base offset. */
  if (rc == KERR_NONE && duplicate) *required_end = pr->base_offset + 1;
  if (rc != KERR_NONE || duplicate) return rc;
  struct buf recompressed;
  buf_init(&recompressed);
  int codec = target_codec(p->topic);
  if (codec >= 0 && (sum.mixed_codecs || (int)sum.codec != codec) && pp && pp->used &&
      pp->done && (int)pp->codec == codec) {
    if (pp->rc == KERR_MESSAGE_TOO_LARGE) decompressed_refused(node, p);
    if (pp->rc != KERR_NONE) return pp->rc;
    data = pp->out.data; /* prepared in slices */
    len = pp->out.len;
  } else if (codec >= 0 && (sum.mixed_codecs || (int)sum.codec != codec)) {
    rc = recompress_all(node, p, data, len, (enum rb_codec)codec, &recompressed);
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
  p->topic->traffic.bytes_in += len;
  p->topic->traffic.messages_in += (uint64_t)(info.last_offset - info.base_offset + 1);
  pr->base_offset = info.base_offset;
  pr->log_start_offset = plog_start_offset(p->log);
  *required_end = info.last_offset + 1;
  return KERR_NONE;
}

static void produce_send(struct request *req, const struct produce_response *resp) {
  struct wr w;
  response_begin(req, &w);
  produce_response_encode(&w, req->api_version, resp);
  request_respond(req, &w);
}

static void produce_finish(struct request *req, struct produce_wait *wait);

/* KIP-951 (v10+): a partition this node does not lead answers with its
 * leader and that broker's endpoint, so the client moves at once. The
 * strings are copied: the image may change before a delayed answer. */
static void leader_hint(struct request *req, struct produce_wait *wait,
                        struct produce_response_partition_produce_response *pr,
                        const struct partition *p) {
  if (req->api_version < 10 || p == NULL || p->leader_id < 0) return;
  pr->current_leader.leader_id = p->leader_id;
  pr->current_leader.leader_epoch = p->leader_epoch;
  struct produce_response *resp = &wait->resp;
  for (int32_t i = 0; i < resp->node_endpoints_count; i++)
    if (resp->node_endpoints[i].node_id == p->leader_id) return;
  const struct meta_broker *b = meta_image_broker(req->node->image, p->leader_id);
  if (b == NULL || resp->node_endpoints_count >= wait->endpoints_cap) return;
  struct produce_response_node_endpoint *e =
      &resp->node_endpoints[resp->node_endpoints_count++];
  produce_response_node_endpoint_init(e);
  e->node_id = b->id;
  e->port = b->port;
  size_t host_len = strlen(b->host), rack_len = strlen(b->rack);
  char *host = arena_alloc(&req->arena, host_len + 1);
  memcpy(host, b->host, host_len + 1);
  e->host = kstr_of(host);
  if (rack_len > 0) {
    char *rack = arena_alloc(&req->arena, rack_len + 1);
    memcpy(rack, b->rack, rack_len + 1);
    e->rack = kstr_of(rack);
  }
}

/* ---- acks=all: waiting for the high watermark ---- */

/* The partition of a need, while this node leads it; NULL otherwise. */
static struct partition *need_partition(struct request *req, const struct produce_need *n) {
  struct partition *p = partition_find(req->node, n->topic, n->pr->index);
  return p && p->leader && partition_is_leader(req->node, p) ? p : NULL;
}

/* A need is settled once its partition's high watermark covers it, or it
 * can never be (a failed fsync, a lost leadership). */
static bool need_settled(struct request *req, const struct produce_need *n) {
  if (n->pr->error_code != KERR_NONE) return true;
  struct partition *p = need_partition(req, n);
  return p == NULL || partition_high_watermark(p) >= n->required_end;
}

/* Kafka's DelayedProduce.onComplete, one partition. */
static void need_answer(struct request *req, struct produce_wait *wait,
                        const struct produce_need *n) {
  if (n->pr->error_code != KERR_NONE) return;
  struct partition *p = need_partition(req, n);
  int16_t code = KERR_NONE;
  if (p == NULL)
    code = KERR_NOT_LEADER_OR_FOLLOWER;
  else if (partition_high_watermark(p) < n->required_end)
    code = KERR_REQUEST_TIMED_OUT;
  else if (!enough_replicas(p))
    code = KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND; /* stored, but on too few replicas */
  n->pr->error_code = code;
  if (code != KERR_NONE) n->pr->base_offset = -1;
  if (code == KERR_NOT_LEADER_OR_FOLLOWER)
    leader_hint(req, wait, n->pr, partition_any(req->node, n->topic, n->pr->index));
}

static void produce_complete(struct request *req, struct produce_wait *wait) {
  for (int32_t i = 0; i < wait->need_count; i++) need_answer(req, wait, &wait->needs[i]);
  produce_send(req, &wait->resp);
}

static bool needs_settled(struct request *req, const struct produce_wait *wait) {
  for (int32_t i = 0; i < wait->need_count; i++)
    if (!need_settled(req, &wait->needs[i])) return false;
  return true;
}

static bool produce_wait_ready(struct waiter *waiter) {
  struct produce_wait *wait = waiter->ctx;
  ASSERT(wait->req->waiter == waiter);
  return needs_settled(wait->req, wait);
}

static void produce_wait_done(struct waiter *waiter, enum waiter_end why) {
  struct produce_wait *wait = waiter->ctx;
  ASSERT(wait->req->waiter == waiter && !waiter_parked(waiter));
  (void)why; /* each partition's answer says what happened to it */
  wait->req->waiter = NULL;
  produce_complete(wait->req, wait); /* frees req, and wait in its arena */
}

static const struct waiter_ops produce_wait_ops = {
    .ready = produce_wait_ready,
    .done = produce_wait_done,
};

/* Appended (and fsynced): answers now, or parks until the high watermark
 * covers every partition it appended to (acks=all). */
static void produce_finish(struct request *req, struct produce_wait *wait) {
  struct node *node = req->node;
  struct waiter *waiter = &wait->waiter;
  if (wait->need_count == 0 || needs_settled(req, wait) || purgatory_full(&node->purgatory) ||
      node->shutting_down) {
    produce_complete(req, wait);
    return;
  }
  struct watch *watches = arena_alloc(&req->arena, (size_t)wait->need_count * sizeof *watches);
  waiter_init(waiter, &node->purgatory, &produce_wait_ops, wait, watches, wait->need_count);
  req->waiter = waiter; /* from now on a closing connection cancels it */
  req->pending = wait;
  int32_t timeout_ms = wait->timeout_ms > 0 ? wait->timeout_ms : 1;
  waiter_park(waiter, (uint64_t)timeout_ms * NS_PER_MS);
  for (int32_t i = 0; i < wait->need_count; i++) {
    struct partition *p = need_partition(req, &wait->needs[i]);
    if (p) waiter_watch(waiter, &p->watches, WATCH_HIGH_WATERMARK, wait->needs[i].required_end);
  }
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
  produce_finish(req, wait);
}

#ifdef SLUICE_MUTANT_ACK_THEN_FSYNC /* mutant: nobody waits for the fsync */
static void mutant_fsync_done(void *ctx, int err) { (void)ctx, (void)err; }
#endif

/* Some partition of the request was refused. */
static bool produce_failed_any(const struct produce_response *resp) {
  for (int32_t i = 0; i < resp->responses_count; i++) {
    const struct produce_response_topic_produce_response *tr = &resp->responses[i];
    for (int32_t j = 0; j < tr->partition_responses_count; j++)
      if (tr->partition_responses[j].error_code != KERR_NONE) return true;
  }
  return false;
}

/* The request's work once its recompressions (if any) are prepared. */
static void slices_free(struct produce_slices *sl);

static void produce_run(struct request *req, const struct produce_request *mp,
                        struct produce_slices *sl) {
  const struct produce_request m = *mp;
  int32_t flat = 0; /* the partition's place in request order */
  struct produce_wait *wait = arena_alloc(&req->arena, sizeof *wait);
  struct produce_response *resp = &wait->resp;
  produce_response_init(resp);
  wait->flushes_pending = 0;
  wait->req = req;
  wait->acks = m.acks;
  wait->timeout_ms = m.timeout_ms;
  wait->need_count = 0;
  int32_t partitions_max = 0;
  for (int32_t i = 0; i < m.topic_data_count; i++)
    partitions_max +=
        m.topic_data[i].partition_data_count > 0 ? m.topic_data[i].partition_data_count : 0;
  wait->needs = arena_alloc(&req->arena, (size_t)(partitions_max + 1) * sizeof *wait->needs);
  wait->endpoints_cap = partitions_max + 1;
  /* Kafka's action queue: the fetches parked on the partitions appended
   * look once the whole request is in, so a follower's answer carries
   * every partition of it. */
  struct partition **appended =
      arena_alloc(&req->arena, (size_t)(partitions_max + 1) * sizeof *appended);
  int32_t appended_count = 0;
  resp->node_endpoints =
      arena_alloc(&req->arena, (size_t)wait->endpoints_cap * sizeof *resp->node_endpoints);
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
      /* Only the leader takes writes (a replica elsewhere, or none here). */
      if (rc == KERR_NONE && (p->leader == NULL || !partition_is_leader(req->node, p)))
        rc = KERR_NOT_LEADER_OR_FOLLOWER;
      int64_t required_end = -1;
      const struct produce_prepared *pp = sl && flat < sl->count ? &sl->prepared[flat] : NULL;
      flat++;
      if (rc == KERR_NONE)
        rc = produce_partition(req, p, m.acks, td->partition_data[j].records, pp, pr,
                               &required_end);
      pr->error_code = (int16_t)rc;
      if (rc == KERR_NOT_LEADER_OR_FOLLOWER) leader_hint(req, wait, pr, p);
      ASSERT((rc == KERR_NONE) == (pr->base_offset >= 0)); /* an offset exactly when stored */
      if (rc != KERR_NONE) continue;
      ASSERT(required_end > pr->base_offset);
      /* Only the appended partitions' parked fetches look (below); in flush
       * mode a high watermark waits for the fsync, and they look again then. */
      ASSERT(appended_count < partitions_max);
      appended[appended_count++] = p;
      if (partition_flushes_before_ack(p) && m.acks == 0) {
        /* Nobody waits, but only what is on disk is visible. */
        partition_flush_unwaited(req->node, p);
        continue;
      }
      if (partition_flushes_before_ack(p)) {
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
      /* acks=all: after the fsync, the high watermark must cover it too. */
      if (m.acks == -1) {
        ASSERT(wait->need_count < partitions_max);
        wait->needs[wait->need_count++] =
            (struct produce_need){.topic = td->name, .pr = pr, .required_end = required_end};
      }
    }
  }
  ASSERT(resp->responses_count == topic_count);
  for (int32_t k = 0; k < appended_count; k++) partition_wake_waiters(req->node, appended[k]);
  if (sl) slices_free(sl); /* appended (copied into the log) or refused */
  if (m.acks == 0) {
    ASSERT(wait->flushes_pending == 0);
    /* acks=0 gets no answer, so a failure closes the connection as Kafka's
     * broker does: the client reconnects and refreshes its metadata instead
     * of sending on to a partition this node cannot take. */
    if (produce_failed_any(resp))
      request_done_close(req, "acks=0 produce failed (the client refreshes its metadata)");
    else
      request_done_silent(req);
  } else if (wait->flushes_pending > 0) {
    req->pending = wait; /* answered from produce_flushed */
  } else {
    produce_finish(req, wait);
  }
}

/* Whether the topic will have the broker recompress these batches. */
static bool needs_recompression(struct request *req, const struct produce_request *m,
                                struct kstr topic, int32_t index, struct krecords rec,
                                enum rb_codec *codec) {
  struct partition *p = partition_find(req->node, topic, index);
  if (!p || !p->leader || !partition_is_leader(req->node, p) || rec.len <= 0) return false;
  if (m->transactional_id.len >= 0 || (m->acks != 0 && m->acks != 1 && m->acks != -1))
    return false;
  int target = target_codec(p->topic);
  struct rb_summary sum;
  if (target < 0 || rb_validate((const uint8_t *)rec.ptr, (size_t)rec.len, &sum) != KERR_NONE)
    return false;
  *codec = (enum rb_codec)target;
  return sum.mixed_codecs || (int)sum.codec != target;
}

/* The partitions to prepare, in request order; false if there are none. */
static bool slices_plan(struct request *req, const struct produce_request *m,
                        struct produce_slices *sl) {
  int32_t total = 0;
  for (int32_t i = 0; i < m->topic_data_count; i++)
    total +=
        m->topic_data[i].partition_data_count > 0 ? m->topic_data[i].partition_data_count : 0;
  sl->prepared = arena_alloc(&req->arena, (size_t)total * sizeof *sl->prepared + 1);
  memset(sl->prepared, 0, (size_t)total * sizeof *sl->prepared + 1);
  sl->count = total;
  bool any = false;
  for (int32_t i = 0, k = 0; i < m->topic_data_count; i++) {
    const struct produce_request_topic_produce_data *td = &m->topic_data[i];
    for (int32_t j = 0; j < td->partition_data_count; j++, k++) {
      struct produce_prepared *pp = &sl->prepared[k];
      struct krecords rec = td->partition_data[j].records;
      if (!needs_recompression(req, m, td->name, td->partition_data[j].index, rec, &pp->codec))
        continue;
      pp->used = true;
      pp->data = (const uint8_t *)rec.ptr;
      pp->len = (size_t)rec.len;
      buf_init(&pp->out);
      any = true;
    }
  }
  return any;
}

static void slices_free(struct produce_slices *sl) {
  for (int32_t k = 0; k < sl->count; k++)
    if (sl->prepared[k].used) prepared_free(&sl->prepared[k]);
}

/* The connection went: nothing was appended, and nothing will be. */
static void slices_cancel(struct request *req) {
  struct produce_slices *sl = req->pending;
  env_log(req->node->env, ENV_LOG_INFO,
          "produce abandoned: its connection closed while its batches were being "
          "recompressed; nothing of it was appended");
  if (sl->timer) req->node->env->timer_cancel(req->node->env, sl->timer);
  sl->timer = 0;
  slices_free(sl);
}

/* One turn's worth; the next turn, or the request's work once all are
 * prepared. */
static void slices_turn(void *ctx) {
  struct produce_slices *sl = ctx;
  struct request *req = sl->req;
  sl->timer = 0;
  size_t budget = RECOMPRESS_SLICE_BYTES;
  for (int32_t n = 0; n < sl->count && sl->next < sl->count && budget > 0; n++) {
    struct produce_prepared *pp = &sl->prepared[sl->next];
    if (!pp->used || pp->done || prepared_step(req->node, pp, &budget)) sl->next++;
  }
  if (sl->next < sl->count) {
    sl->timer = req->node->env->timer_start(req->node->env, 0, slices_turn, sl);
    return;
  }
  req->pending = NULL;
  req->cancel = NULL;
  produce_run(req, sl->m, sl); /* may free req: sl lives in its arena */
}

bool handle_produce(struct request *req) {
#ifdef SLUICE_PLANTED_ASSERT /* make planted: sluice-sim must report where this fails */
  ASSERT(false);
#endif
  handler_assert_entry(req, API_PRODUCE);
  struct produce_request *m = arena_alloc(&req->arena, sizeof *m);
  if (!produce_request_decode(&req->body, req->api_version, m, &req->arena)) return false;
  struct produce_slices *sl = arena_alloc(&req->arena, sizeof *sl);
  memset(sl, 0, sizeof *sl);
  sl->req = req;
  sl->m = m;
  if (!slices_plan(req, m, sl)) {
    produce_run(req, m, NULL);
    return true;
  }
  req->pending = sl; /* produce_run once every batch is prepared */
  req->cancel = slices_cancel;
  sl->timer = req->node->env->timer_start(req->node->env, 0, slices_turn, sl);
  return true;
}
