/* OffsetCommit (API 8), versions 0-8: a group's consumed positions. A
 * member of the current generation commits (or anyone, with generation -1,
 * for a group without members: a simple commit). The offsets are appended
 * to the group's partition of __consumer_offsets as Kafka's offset commit
 * records, and the answer (and the cache OffsetFetch reads) waits for the
 * append, for its fsync where the topic flushes before acks, and for the
 * partition's high watermark to cover it (Kafka appends commits with
 * acks=all, offsets.commit.required.acks): a commit that was answered is
 * on every ISR member, so it survives a coordinator failover. */
#include <string.h>

#include "base/assert.h"
#include "group/group_records.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/group_coordinator.h"
#include "server/handlers.h"
#include "server/server.h"

enum {
  COMMIT_PARTITIONS_MAX = 100000,
};

typedef struct offset_commit_response_offset_commit_response_partition result_t;

struct commit {
  struct request *req;
  struct offset_commit_request m;
  struct offset_commit_response resp;
  int64_t wall_ms;
  int64_t end; /* the partition's log end after the append: the HW it waits for */
  struct groups_replication_wait wait;
};

static void commit_send(struct request *req, const struct offset_commit_response *resp) {
  struct wr w;
  response_begin(req, &w);
  offset_commit_response_encode(&w, req->api_version, resp);
  request_respond(req, &w);
}

/* The records are stored: the cache takes the offsets, the member its
 * answer. */
static void commit_appended(void *ctx, int16_t error) {
  struct commit *c = ctx;
  struct request *req = c->req;
  req->pending = NULL;
  struct group_coordinator *gc = groups_state(req->node);
  for (int32_t i = 0; i < c->resp.topics_count; i++) {
    const struct offset_commit_request_offset_commit_request_topic *t = &c->m.topics[i];
    for (int32_t j = 0; j < c->resp.topics[i].partitions_count; j++) {
      result_t *r = &c->resp.topics[i].partitions[j];
      const struct offset_commit_request_offset_commit_request_partition *p = &t->partitions[j];
      if (r->error_code != KERR_NONE) continue;
      if (error != KERR_NONE) {
        r->error_code = error;
        continue;
      }
      r->error_code =
          group_offset_put(gc, c->m.group_id, t->name, p->partition_index, p->committed_offset,
                           p->committed_leader_epoch, p->committed_metadata, c->wall_ms);
    }
  }
  groups_kick(req->node); /* a new group of simple commits: retention ticks */
  commit_send(req, &c->resp);
}

/* The append is stored (and fsynced where it must be): the answer waits
 * for the ISR unless the high watermark covers it already. */
static void commit_stored(void *ctx, int16_t error) {
  struct commit *c = ctx;
#ifdef SLUICE_MUTANT_COMMIT_BEFORE_REPLICATED /* mutant: answered once the leader has it */
  commit_appended(c, error);
  return;
#endif
  if (error != KERR_NONE) {
    commit_appended(c, error);
    return;
  }
  groups_await_replicated(&c->wait, c->req, c->m.group_id, c->end, commit_appended, c);
}

/* Each partition's answer before the append; returns how many are stored. */
static int32_t commit_judge(struct request *req, struct commit *c, int16_t top_error) {
  int32_t stored = 0;
  int32_t tn = c->m.topics_count > 0 ? c->m.topics_count : 0;
  c->resp.topics_count = tn;
  c->resp.topics = arena_alloc(&req->arena, (size_t)tn * sizeof *c->resp.topics + 1);
  for (int32_t i = 0; i < tn; i++) {
    const struct offset_commit_request_offset_commit_request_topic *t = &c->m.topics[i];
    int32_t pn = t->partitions_count > 0 ? t->partitions_count : 0;
    offset_commit_response_offset_commit_response_topic_init(&c->resp.topics[i]);
    c->resp.topics[i].name = t->name;
    c->resp.topics[i].partitions_count = pn;
    c->resp.topics[i].partitions = arena_alloc(&req->arena, (size_t)pn * sizeof(result_t) + 1);
    for (int32_t j = 0; j < pn; j++) {
      const struct offset_commit_request_offset_commit_request_partition *p = &t->partitions[j];
      result_t *r = &c->resp.topics[i].partitions[j];
      offset_commit_response_offset_commit_response_partition_init(r);
      r->partition_index = p->partition_index;
      r->error_code = top_error;
      if (r->error_code == KERR_NONE && !partition_any(req->node, t->name, p->partition_index))
        r->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
      if (r->error_code == KERR_NONE &&
          p->committed_metadata.len > GROUP_OFFSET_METADATA_BYTES_MAX)
        r->error_code = KERR_OFFSET_METADATA_TOO_LARGE;
      stored += r->error_code == KERR_NONE;
    }
  }
  return stored;
}

static void commit_records(struct request *req, struct commit *c, int32_t count,
                           struct kbytes *keys, struct kbytes *values) {
  int32_t k = 0;
  for (int32_t i = 0; i < c->resp.topics_count; i++) {
    const struct offset_commit_request_offset_commit_request_topic *t = &c->m.topics[i];
    for (int32_t j = 0; j < c->resp.topics[i].partitions_count; j++) {
      if (c->resp.topics[i].partitions[j].error_code != KERR_NONE) continue;
      const struct offset_commit_request_offset_commit_request_partition *p = &t->partitions[j];
      struct wr kw, vw;
      wr_init(&kw);
      wr_init(&vw);
      group_record_offset_key(&kw, c->m.group_id, t->name, p->partition_index);
      struct group_record_offset v = {.offset = p->committed_offset,
                                      .leader_epoch = p->committed_leader_epoch,
                                      .metadata = p->committed_metadata,
                                      .commit_wall_ms = c->wall_ms};
      group_record_offset_value(&vw, &v);
      ASSERT(k < count);
      keys[k] = (struct kbytes){arena_alloc(&req->arena, kw.mem.len), (int32_t)kw.mem.len};
      values[k] = (struct kbytes){arena_alloc(&req->arena, vw.mem.len), (int32_t)vw.mem.len};
      memcpy((uint8_t *)keys[k].ptr, kw.mem.data, kw.mem.len);
      memcpy((uint8_t *)values[k].ptr, vw.mem.data, vw.mem.len);
      k++;
      wr_free(&kw);
      wr_free(&vw);
    }
  }
  ASSERT(k == count);
}

bool handle_offset_commit(struct request *req) {
  handler_assert_entry(req, API_OFFSET_COMMIT);
  struct commit *c = arena_alloc(&req->arena, sizeof *c);
  if (!offset_commit_request_decode(&req->body, req->api_version, &c->m, &req->arena))
    return false;
  struct node *node = req->node;
  c->req = req;
  c->wall_ms = groups_wall_ms(node);
  offset_commit_response_init(&c->resp);
  int16_t err = groups_coordinate(node, c->m.group_id);
  if (err == KERR_NONE) {
    struct group_member_ref ref = {
        .group_id = c->m.group_id,
        .member_id = req->api_version >= 1 ? c->m.member_id : KSTR_LIT(""),
        .instance_id = c->m.group_instance_id,
        .generation = req->api_version >= 1 ? c->m.generation_id_or_member_epoch : -1,
        .now_ms = groups_now_ms(node)};
    err = group_commit_check(groups_state(node), &ref);
  }
  int32_t count = commit_judge(req, c, err);
  if (count > COMMIT_PARTITIONS_MAX) return false;
  if (count == 0) {
    commit_send(req, &c->resp);
    return true;
  }
  struct kbytes *keys = arena_alloc(&req->arena, (size_t)count * sizeof *keys);
  struct kbytes *values = arena_alloc(&req->arena, (size_t)count * sizeof *values);
  commit_records(req, c, count, keys, values);
  bool later;
  req->pending = c; /* in case the append waits for its fsync */
  err = groups_append(node, c->m.group_id, keys, values, count, commit_stored, c, &later);
  struct partition *p = groups_partition(node, c->m.group_id);
  c->end = p ? plog_end_offset(p->log) : 0; /* nothing ran since the append */
  if (!later) commit_stored(c, err);
  return true;
}
