/* Partition lists for sluicectl partitions reassign: reading kafka-
 * reassign-partitions.sh's JSON, asking Metadata for the current replicas,
 * and printing the JSON back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/sluicectl/admin.h"
#include "apps/sluicectl/reassign.h"
#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"

enum { METADATA_VERSION_MIN = 1, METADATA_VERSION_MAX = 12, METADATA_TOPICS_MAX = 1024 };

const char *error_name(int16_t code, char *buf, size_t cap) {
  /* The codes of KIP-455 and KIP-460 that kerr_name leaves out. */
  switch (code) {
  case KERR_REASSIGNMENT_IN_PROGRESS:
    return "REASSIGNMENT_IN_PROGRESS";
  case KERR_PREFERRED_LEADER_NOT_AVAILABLE:
    return "PREFERRED_LEADER_NOT_AVAILABLE";
  case KERR_ELIGIBLE_LEADERS_NOT_AVAILABLE:
    return "ELIGIBLE_LEADERS_NOT_AVAILABLE";
  case KERR_ELECTION_NOT_NEEDED:
    return "ELECTION_NOT_NEEDED";
  case KERR_NO_REASSIGNMENT_IN_PROGRESS:
    return "NO_REASSIGNMENT_IN_PROGRESS";
  default:
    break;
  }
  const char *name = kerr_name(code);
  if (strcmp(name, "ERROR") != 0) return name;
  snprintf(buf, cap, "error code %d", (int)code);
  return buf;
}

void plan_init(struct plan *p) {
  p->parts = calloc(PLAN_PARTITIONS_MAX, sizeof *p->parts);
  ASSERT(p->parts != NULL);
  p->count = 0;
}

void plan_free(struct plan *p) {
  free(p->parts);
  p->parts = NULL;
  p->count = 0;
}

static int by_topic_partition(const void *a, const void *b) {
  const struct plan_partition *x = a, *y = b;
  int c = strcmp(x->topic, y->topic);
  return c != 0 ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

void plan_sort(struct plan *p) {
  qsort(p->parts, (size_t)p->count, sizeof *p->parts, by_topic_partition);
}

const struct plan_partition *plan_find(const struct plan *p, const char *topic,
                                       int32_t partition) {
  for (int i = 0; i < p->count; i++)
    if (p->parts[i].partition == partition && strcmp(p->parts[i].topic, topic) == 0)
      return &p->parts[i];
  return NULL;
}

static void print_ints(const int32_t *v, int n) {
  for (int i = 0; i < n; i++) printf("%s%d", i ? "," : "", (int)v[i]);
}

void plan_print(const struct plan *p) {
  printf("{\"version\":1,\"partitions\":[");
  for (int i = 0; i < p->count; i++) {
    const struct plan_partition *pp = &p->parts[i];
    printf("%s{\"topic\":\"%s\",\"partition\":%d,\"replicas\":[", i ? "," : "", pp->topic,
           (int)pp->partition);
    print_ints(pp->replicas, pp->replica_count);
    printf("],\"log_dirs\":[");
    for (int r = 0; r < pp->replica_count; r++) printf("%s\"any\"", r ? "," : "");
    printf("]}");
  }
  printf("]}\n");
}

struct current {
  struct plan *out;
  const char *const *topics;
  int count;
  char error[600];
};

static bool take_topic(struct current *cur,
                       const struct metadata_response_metadata_response_topic *t) {
  if (t->error_code != KERR_NONE) {
    char name[32];
    snprintf(cur->error, sizeof cur->error, "topic %.*s: %s", (int)t->name.len, t->name.ptr,
             error_name(t->error_code, name, sizeof name));
    return false;
  }
  for (int32_t i = 0; i < t->partitions_count; i++) {
    const struct metadata_response_metadata_response_partition *mp = &t->partitions[i];
    if (cur->out->count == PLAN_PARTITIONS_MAX || mp->replica_nodes_count > PLAN_REPLICAS_MAX ||
        t->name.len >= TOPIC_NAME_BYTES_MAX) {
      snprintf(cur->error, sizeof cur->error, "more than %d partitions or %d replicas",
               PLAN_PARTITIONS_MAX, PLAN_REPLICAS_MAX);
      return false;
    }
    struct plan_partition *pp = &cur->out->parts[cur->out->count++];
    snprintf(pp->topic, sizeof pp->topic, "%.*s", (int)t->name.len, t->name.ptr);
    pp->partition = mp->partition_index;
    pp->replica_count = mp->replica_nodes_count;
    memcpy(pp->replicas, mp->replica_nodes, sizeof(int32_t) * (size_t)mp->replica_nodes_count);
  }
  return true;
}

static void metadata_answer(void *ctx, int16_t version, const void *response) {
  (void)version;
  struct current *cur = ctx;
  const struct metadata_response *r = response;
  for (int32_t i = 0; i < r->topics_count; i++) {
    if (cur->count == 0 && r->topics[i].is_internal) continue;
    if (!take_topic(cur, &r->topics[i])) return;
  }
}

bool plan_current(struct kcall *c, const char *const *topics, int count, struct plan *out) {
  ASSERT(count >= 0 && count <= METADATA_TOPICS_MAX);
  struct metadata_request_metadata_request_topic *names =
      calloc((size_t)count + 1, sizeof *names);
  ASSERT(names != NULL);
  for (int i = 0; i < count; i++) {
    metadata_request_metadata_request_topic_init(&names[i]);
    names[i].name = kstr_of(topics[i]);
  }
  struct metadata_request req;
  metadata_request_init(&req);
  req.topics = count > 0 ? names : NULL; /* null: every topic */
  req.topics_count = count > 0 ? count : -1;
  req.allow_auto_topic_creation = false;
  struct current cur = {out, topics, count, ""};
  out->count = 0;
  bool ok = kcall_request(c, API_METADATA, METADATA_VERSION_MIN, METADATA_VERSION_MAX, &req,
                          metadata_answer, &cur, "metadata");
  free(names);
  if (ok && cur.error[0]) {
    fail("%s", cur.error);
    ok = false;
  }
  if (ok) plan_sort(out);
  return ok;
}
