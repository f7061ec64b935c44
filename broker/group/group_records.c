/* Kafka's __consumer_offsets records (group_records.h). */
#include "group/group_records.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

enum {
  OFFSET_KEY_VERSION = 1,
  METADATA_KEY_VERSION = 2,
  OFFSET_VALUE_VERSION = 3,
  METADATA_VALUE_VERSION = 3,
};

void group_record_offset_key(struct wr *w, struct kstr group, struct kstr topic,
                             int32_t partition) {
  ASSERT(group.len >= 0 && topic.len >= 0);
  wr_i16(w, OFFSET_KEY_VERSION);
  wr_string(w, group, false);
  wr_string(w, topic, false);
  wr_i32(w, partition);
}

void group_record_offset_value(struct wr *w, const struct group_record_offset *v) {
  wr_i16(w, OFFSET_VALUE_VERSION);
  wr_i64(w, v->offset);
  wr_i32(w, v->leader_epoch);
  wr_string(w, v->metadata.len >= 0 ? v->metadata : KSTR_LIT(""), false);
  wr_i64(w, v->commit_wall_ms);
}

void group_record_metadata_key(struct wr *w, struct kstr group) {
  ASSERT(group.len >= 0);
  wr_i16(w, METADATA_KEY_VERSION);
  wr_string(w, group, false);
}

static const struct group_protocol *chosen(const struct group *g,
                                           const struct group_member *m) {
  for (int32_t k = 0; k < m->protocol_count; k++)
    if (strcmp(m->protocols[k].name, g->protocol_name) == 0) return &m->protocols[k];
  return NULL;
}

void group_record_metadata_value(struct wr *w, const struct group *g) {
  wr_i16(w, METADATA_VALUE_VERSION);
  wr_string(w, kstr_of(g->protocol_type), false);
  wr_i32(w, g->generation);
  wr_string(w, g->protocol_name[0] ? kstr_of(g->protocol_name) : KSTR_NULL, false);
  wr_string(w, g->leader_id[0] ? kstr_of(g->leader_id) : KSTR_NULL, false);
  wr_i64(w, g->state_wall_ms);
  wr_array_len(w, g->member_count, false);
  for (int32_t i = 0; i < g->member_count; i++) {
    const struct group_member *m = g->members[i];
    const struct group_protocol *p = chosen(g, m);
    wr_string(w, kstr_of(m->id), false);
    wr_string(w, m->instance_id[0] ? kstr_of(m->instance_id) : KSTR_NULL, false);
    wr_string(w, kstr_of(m->client_id), false);
    wr_string(w, kstr_of(m->client_host), false);
    wr_i32(w, m->rebalance_timeout_ms);
    wr_i32(w, m->session_timeout_ms);
    wr_bytes(w, p ? (struct kbytes){p->metadata, p->metadata_len} : (struct kbytes){NULL, 0},
             false);
    wr_bytes(w, (struct kbytes){m->assignment, m->assignment ? m->assignment_len : 0}, false);
  }
}

bool group_record_key_decode(struct kbytes b, struct group_record_key *out) {
  if (b.len < 2) return false;
  struct rd r;
  rd_init(&r, b.ptr, (size_t)b.len);
  int16_t version = rd_i16(&r);
  memset(out, 0, sizeof *out);
  out->group = rd_string(&r, false);
  if (version == 0 || version == 1) {
    out->kind = GROUP_RECORD_OFFSET;
    out->topic = rd_string(&r, false);
    out->partition = rd_i32(&r);
  } else if (version == 2) {
    out->kind = GROUP_RECORD_METADATA;
  } else {
    return false;
  }
  return !r.err && out->group.len >= 0;
}

/* Versions 0-3 (v1 adds an expire timestamp, v2 drops it, v3 adds the
 * leader epoch). */
bool group_record_offset_decode(struct kbytes b, struct group_record_offset *out) {
  if (b.len < 2) return false;
  struct rd r;
  rd_init(&r, b.ptr, (size_t)b.len);
  int16_t version = rd_i16(&r);
  if (version < 0 || version > 3) return false;
  out->offset = rd_i64(&r);
  out->leader_epoch = version >= 3 ? rd_i32(&r) : -1;
  out->metadata = rd_string(&r, false);
  out->commit_wall_ms = rd_i64(&r);
  if (version == 1) (void)rd_i64(&r);
  return !r.err;
}

/* Versions 0-3 (non-flexible): v1 adds each member's rebalance timeout,
 * v2 the state timestamp, v3 each member's group instance id. */
bool group_record_metadata_decode(struct kbytes b, struct group_record_metadata *out) {
  if (b.len < 2) return false;
  struct rd r;
  rd_init(&r, b.ptr, (size_t)b.len);
  memset(out, 0, sizeof *out);
  out->version = rd_i16(&r);
  if (out->version < 0 || out->version > 3) return false;
  out->protocol_type = rd_string(&r, false);
  out->generation = rd_i32(&r);
  out->protocol_name = rd_string(&r, false);
  out->leader = rd_string(&r, false);
  out->state_wall_ms = out->version >= 2 ? rd_i64(&r) : -1;
  out->member_count = rd_array_len(&r, false, 8);
  if (r.err || out->member_count < 0) return false;
  out->members = (struct kbytes){r.p, (int32_t)(r.end - r.p)};
  return true;
}

bool group_record_member_next(const struct group_record_metadata *md, struct rd *r,
                              struct group_record_member *out) {
  memset(out, 0, sizeof *out);
  out->member_id = rd_string(r, false);
  out->instance_id = md->version >= 3 ? rd_string(r, false) : KSTR_NULL;
  out->client_id = rd_string(r, false);
  out->client_host = rd_string(r, false);
  out->rebalance_timeout_ms = md->version >= 1 ? rd_i32(r) : 0;
  out->session_timeout_ms = rd_i32(r);
  if (md->version == 0) out->rebalance_timeout_ms = out->session_timeout_ms;
  out->subscription = rd_bytes(r, false);
  out->assignment = rd_bytes(r, false);
  return !r->err && out->member_id.len > 0;
}

/* A GroupMetadata record: the group with its members (group_load_metadata). */
void group_record_metadata_load(struct group_coordinator *gc, struct kstr group_id,
                                struct kbytes value, int64_t now_ms) {
  struct group_record_metadata md;
  if (!group_record_metadata_decode(value, &md) || md.member_count > GROUP_MEMBERS_MAX) return;
  struct group_load_member *members = calloc((size_t)md.member_count + 1, sizeof *members);
  ASSERT(members != NULL);
  struct rd r;
  rd_init(&r, md.members.ptr, (size_t)md.members.len);
  int32_t n = 0;
  for (; n < md.member_count; n++) {
    struct group_record_member m;
    if (!group_record_member_next(&md, &r, &m)) break;
    members[n] = (struct group_load_member){.member_id = m.member_id,
                                            .instance_id = m.instance_id,
                                            .client_id = m.client_id,
                                            .client_host = m.client_host,
                                            .session_timeout_ms = m.session_timeout_ms,
                                            .rebalance_timeout_ms = m.rebalance_timeout_ms,
                                            .subscription = m.subscription,
                                            .assignment = m.assignment};
  }
  if (n == md.member_count) {
    struct group_load l = {.group_id = group_id,
                           .protocol_type = md.protocol_type,
                           .protocol_name = md.protocol_name,
                           .leader = md.leader,
                           .generation = md.generation,
                           .state_wall_ms = md.state_wall_ms,
                           .members = members,
                           .member_count = n,
                           .now_ms = now_ms};
    group_load_metadata(gc, &l);
  } else {
    /* Members that do not parse: the group is known without them (they
     * rejoin), rather than not at all. */
    struct group_load l = {.group_id = group_id,
                           .protocol_type = md.protocol_type,
                           .generation = md.generation,
                           .state_wall_ms = md.state_wall_ms,
                           .now_ms = now_ms};
    group_load_metadata(gc, &l);
  }
  free(members);
}
