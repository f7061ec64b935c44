/* The admin workload: a client that, every so often (an interval drawn from
 * its own stream), sends one admin request as an operator's tools do:
 * Metadata (all topics, named ones with a bad name and one by id, an
 * unknown topic that auto-creation may make), DescribeConfigs (topics and
 * the broker), DescribeCluster, ListOffsets by timestamp (latest, earliest,
 * max timestamp, a real one), and topic churn on topics of its own that
 * the producers never use (CreateTopics with configs, CreatePartitions,
 * DeleteTopics). One request at a time, on its own connection.
 *
 * Its checker, topic-churn: what Metadata reports of the churn topics must
 * agree with what the answers before it said. A topic whose CreateTopics
 * (or CreatePartitions) was answered has the partitions asked; one whose
 * DeleteTopics was answered is gone; with auto.create.topics.enable=false
 * an unknown topic stays unknown. An answer that did not come (a reset
 * connection) or an error that may or may not have changed the topic
 * leaves it unknown until Metadata says; a replaced disk makes everything
 * unknown. Requests are answered in order on one connection and only this
 * client touches its churn topics, so each Metadata answer is judged
 * against exactly what came before it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "client/admin.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "sim/disk.h"
#include "sim/runner_internal.h"

enum {
  ERROR_TOPIC_DELETION_DISABLED = 73, /* Kafka's; proto/errors.h does not name it */
  CHURN_TOPICS = 4, /* churn-<client>-0..3; the last one is only ever auto-created */
  AUTO_TOPIC = 3,
  CHURN_PARTITIONS_MAX = 3, /* few: every partition holds open files */
  ADMIN_TIMEOUT_MS = 5000,
  RESOURCE_TOPIC = 2,
  RESOURCE_BROKER = 4,
};

enum admin_op {
  OP_METADATA_ALL,
  OP_METADATA_NAMED,
  OP_METADATA_AUTO,
  OP_DESCRIBE_CONFIGS,
  OP_DESCRIBE_CLUSTER,
  OP_LIST_OFFSETS,
  OP_CREATE_TOPICS,
  OP_CREATE_PARTITIONS,
  OP_DELETE_TOPICS,
  OPS,
};

static const char *const op_names[OPS] = {
    "Metadata (all topics)", "Metadata (named)", "Metadata (auto-create)",
    "DescribeConfigs",       "DescribeCluster",  "ListOffsets",
    "CreateTopics",          "CreatePartitions", "DeleteTopics"};

enum churn_state { CHURN_UNKNOWN, CHURN_ABSENT, CHURN_PRESENT };

struct churn {
  char name[32];
  enum churn_state state;
  int32_t partitions; /* when present; -1: not known */
  struct kuuid id;
  bool id_known;
  /* A broker restarted after storage errors: until the metadata log lands,
   * the metadata is the directory layout, which a failed write can leave
   * behind what the answers said; one disagreement is then counted within
   * (docs/scenarios.md, known bug), not as a violation. */
  bool suspect;
};

struct admin {
  struct client *c;
  struct sim_rng rng;
  uint64_t interval_ns;
  uint64_t next_ns;
  bool in_flight;
  enum admin_op op;
  int target;         /* the churn topic the request is about; -1: none */
  int32_t asked;      /* CreateTopics, CreatePartitions: the partitions asked */
  bool validate_only; /* nothing changes */
  uint64_t disks_lost_seen;
  int16_t incarnation_seen;
  struct churn churn[CHURN_TOPICS];
  struct kuuid workload_ids[SCENARIO_TOPICS_MAX];
  bool workload_id_known[SCENARIO_TOPICS_MAX];
  uint64_t requests, answers, failures;
};

static int64_t draw(struct admin *a, int64_t lo, int64_t hi) {
  return lo + (int64_t)sim_rng_below(&a->rng, (uint64_t)(hi - lo + 1));
}

static bool config_says(const struct scenario *sc, const char *key, const char *value) {
  bool found = false;
  for (int i = 0; i < sc->config_count; i++)
    if (!strcmp(sc->config[i].key, key)) found = !strcmp(sc->config[i].value, value);
  return found;
}

static bool auto_create(const struct scenario *sc) {
  return !config_says(sc, "auto.create.topics.enable", "false");
}

/* A disagreement about churn topic k (-1: a workload topic). */
static void violation(struct admin *a, int k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void violation(struct admin *a, int k, const char *fmt, ...) {
  struct runner *r = a->c->r;
  char text[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  if (k >= 0 && a->churn[k].suspect) {
    a->churn[k].suspect = false;
    r->admin_allowed++;
    runner_trace(r, "admin %d: within (a restart after storage errors): %s", a->c->number,
                 text);
    return;
  }
  if (r->admin_violations++ == 0)
    snprintf(r->admin_first, sizeof r->admin_first, "client %d: %s", a->c->number, text);
  runner_trace(r, "admin %d: VIOLATION %s", a->c->number, text);
}

/* A replaced disk took every topic with it (until someone makes it again);
 * a restart after any storage error may have lost what the answers said. */
static void notice_restarts(struct admin *a) {
  const struct broker *b = &a->c->r->brokers[0];
  struct sim_disk_stats st;
  sim_disk_stats(b->node, &st);
  if (b->incarnation != a->incarnation_seen) {
    a->incarnation_seen = b->incarnation;
    bool errors = st.write_errors + st.enospc + st.fsync_errors > 0;
    for (int i = 0; i < CHURN_TOPICS && errors; i++) a->churn[i].suspect = true;
  }
  if (st.disks_lost == a->disks_lost_seen) return;
  a->disks_lost_seen = st.disks_lost;
  for (int i = 0; i < CHURN_TOPICS; i++) a->churn[i].state = CHURN_UNKNOWN;
}

static int churn_index(const struct admin *a, struct kstr name) {
  for (int i = 0; i < CHURN_TOPICS && name.len > 0; i++)
    if (kstr_eq(name, a->churn[i].name)) return i;
  return -1;
}

/* What Metadata says of churn topic i: present with n partitions, or not
 * (n < 0). Judged against what the answers before it said, then taken. */
static void observe(struct admin *a, int i, int32_t n, const struct kuuid *id) {
  struct churn *t = &a->churn[i];
  if (t->state == CHURN_ABSENT && n >= 0)
    violation(a, i, "Metadata reports %s (%d partitions) after its deletion was answered",
              t->name, n);
  else if (t->state == CHURN_PRESENT && n < 0)
    violation(a, i, "Metadata does not know %s after its creation was answered", t->name);
  else if (t->state == CHURN_PRESENT && t->partitions >= 0 && n != t->partitions)
    violation(a, i, "Metadata reports %s with %d partitions; the answers said %d", t->name, n,
              t->partitions);
  t->state = n >= 0 ? CHURN_PRESENT : CHURN_ABSENT;
  t->partitions = n;
  if (id) {
    t->id = *id;
    t->id_known = true;
  }
}

/* ---- the answers ---- */

static void on_metadata(struct admin *a, const struct metadata_response *m) {
  struct runner *r = a->c->r;
  const struct scenario *sc = r->sc;
  bool seen[CHURN_TOPICS] = {false};
  for (int32_t i = 0; i < m->topics_count; i++) {
    const struct metadata_response_metadata_response_topic *t = &m->topics[i];
    int k = churn_index(a, t->name);
    if (k >= 0) {
      seen[k] = true;
      /* This very request may have made it. */
      if (a->op == OP_METADATA_AUTO && k == AUTO_TOPIC && auto_create(sc))
        a->churn[k].state = CHURN_UNKNOWN;
      if (t->error_code == KERR_NONE)
        observe(a, k, t->partitions_count, &t->topic_id);
      else if (t->error_code == KERR_UNKNOWN_TOPIC_OR_PARTITION)
        observe(a, k, -1, NULL);
      else
        a->churn[k].state = CHURN_UNKNOWN; /* LEADER_NOT_AVAILABLE: being made */
      if (a->op == OP_METADATA_AUTO && !auto_create(sc) && t->error_code == KERR_NONE)
        violation(a, k, "%s was auto-created with auto.create.topics.enable=false",
                  a->churn[k].name);
      continue;
    }
    for (int w = 0; w < sc->topic_count; w++) {
      if (t->name.len <= 0 || !kstr_eq(t->name, sc->topics[w].name) ||
          t->error_code != KERR_NONE)
        continue;
      a->workload_ids[w] = t->topic_id;
      a->workload_id_known[w] = true;
      if (t->partitions_count != sc->topics[w].partitions)
        violation(a, -1, "Metadata reports %s with %d partitions, created with %d",
                  sc->topics[w].name, t->partitions_count, sc->topics[w].partitions);
    }
  }
  /* Every topic there is: a churn topic not listed does not exist. */
  for (int k = 0; k < CHURN_TOPICS && a->op == OP_METADATA_ALL; k++)
    if (!seen[k]) observe(a, k, -1, NULL);
  runner_trace(r, "admin %d: %s: %d brokers, %d topics", a->c->number, op_names[a->op],
               m->brokers_count, m->topics_count);
}

static void on_create_topics(struct admin *a, const struct create_topics_response *m) {
  for (int32_t i = 0; i < m->topics_count; i++) {
    const struct create_topics_response_creatable_topic_result *t = &m->topics[i];
    int k = churn_index(a, t->name);
    runner_trace(a->c->r, "admin %d: CreateTopics %.*s%s: error %d, %d partitions",
                 a->c->number, (int)(t->name.len > 0 ? t->name.len : 0), t->name.ptr,
                 a->validate_only ? " (validate only)" : "", t->error_code, t->num_partitions);
    if (k < 0 || a->validate_only || t->error_code == KERR_INVALID_REQUEST) continue;
    struct churn *c = &a->churn[k];
    if (t->error_code == KERR_NONE) {
      if (t->num_partitions != a->asked)
        violation(a, k, "CreateTopics %s answered %d partitions, asked %d", c->name,
                  t->num_partitions, a->asked);
      c->state = CHURN_PRESENT;
      c->partitions = a->asked;
      c->id = t->topic_id;
      c->id_known = true;
    } else if (t->error_code == KERR_TOPIC_ALREADY_EXISTS) {
      if (c->state == CHURN_ABSENT)
        violation(a, k, "CreateTopics %s: TOPIC_ALREADY_EXISTS after its deletion was answered",
                  c->name);
      if (c->state != CHURN_PRESENT) c->state = CHURN_UNKNOWN;
    } else {
      c->state = CHURN_UNKNOWN;
    }
  }
}

static void on_create_partitions(struct admin *a, const struct create_partitions_response *m) {
  for (int32_t i = 0; i < m->results_count; i++) {
    const struct create_partitions_response_create_partitions_topic_result *t = &m->results[i];
    int k = churn_index(a, t->name);
    runner_trace(a->c->r, "admin %d: CreatePartitions %.*s to %d%s: error %d", a->c->number,
                 (int)(t->name.len > 0 ? t->name.len : 0), t->name.ptr, a->asked,
                 a->validate_only ? " (validate only)" : "", t->error_code);
    if (k < 0 || a->validate_only || t->error_code == KERR_INVALID_REQUEST) continue;
    struct churn *c = &a->churn[k];
    if (t->error_code == KERR_NONE) {
      if (c->state == CHURN_ABSENT)
        violation(a, k, "CreatePartitions %s succeeded after its deletion was answered",
                  c->name);
      c->state = CHURN_PRESENT;
      c->partitions = a->asked;
    } else if (t->error_code == KERR_UNKNOWN_TOPIC_OR_PARTITION) {
      if (c->state == CHURN_PRESENT)
        violation(a, k, "CreatePartitions %s: unknown topic after its creation was answered",
                  c->name);
      c->state = CHURN_ABSENT;
    } else if (t->error_code != KERR_INVALID_PARTITIONS) {
      c->state = CHURN_UNKNOWN;
    }
  }
}

static void on_delete_topics(struct admin *a, const struct delete_topics_response *m) {
  for (int32_t i = 0; i < m->responses_count; i++) {
    const struct delete_topics_response_deletable_topic_result *t = &m->responses[i];
    int k = churn_index(a, t->name);
    runner_trace(a->c->r, "admin %d: DeleteTopics %.*s: error %d", a->c->number,
                 (int)(t->name.len > 0 ? t->name.len : 0), t->name.ptr, t->error_code);
    if (k < 0 || t->error_code == KERR_INVALID_REQUEST) continue;
    struct churn *c = &a->churn[k];
    if (t->error_code == KERR_NONE) {
      if (c->state == CHURN_ABSENT)
        violation(a, k, "DeleteTopics %s succeeded after its deletion was answered", c->name);
      c->state = CHURN_ABSENT;
    } else if (t->error_code == KERR_UNKNOWN_TOPIC_OR_PARTITION ||
               t->error_code == KERR_UNKNOWN_TOPIC_ID) {
      if (c->state == CHURN_PRESENT)
        violation(a, k, "DeleteTopics %s: unknown after its creation was answered", c->name);
      c->state = CHURN_ABSENT;
    } else if (t->error_code != ERROR_TOPIC_DELETION_DISABLED) {
      c->state = CHURN_UNKNOWN;
    }
  }
}

/* The workload topics' compression.type, as the scenario created them. */
static void on_describe_configs(struct admin *a, const struct describe_configs_response *m) {
  const struct scenario *sc = a->c->r->sc;
  for (int32_t i = 0; i < m->results_count; i++) {
    const struct describe_configs_response_describe_configs_result *res = &m->results[i];
    runner_trace(a->c->r, "admin %d: DescribeConfigs %d %.*s: error %d, %d configs",
                 a->c->number, res->resource_type,
                 (int)(res->resource_name.len > 0 ? res->resource_name.len : 0),
                 res->resource_name.ptr, res->error_code, res->configs_count);
    const struct scenario_topic *t = NULL;
    for (int w = 0; w < sc->topic_count && res->resource_type == RESOURCE_TOPIC; w++)
      if (res->resource_name.len > 0 && kstr_eq(res->resource_name, sc->topics[w].name))
        t = &sc->topics[w];
    for (int32_t j = 0; t && res->error_code == KERR_NONE && j < res->configs_count; j++)
      for (int k = 0; k < t->config_count; k++)
        if (kstr_eq(res->configs[j].name, t->config[k].key) &&
            !kstr_eq(res->configs[j].value, t->config[k].value))
          violation(a, -1, "DescribeConfigs %s: %s is %.*s, created with %s", t->name,
                    t->config[k].key, (int)res->configs[j].value.len, res->configs[j].value.ptr,
                    t->config[k].value);
  }
}

static void answered(void *ctx, int err, int16_t version, const void *response) {
  struct admin *a = ctx;
  a->in_flight = false;
  a->next_ns = sim_now_ns(a->c->r->w) + a->interval_ns;
  notice_restarts(a);
  if (err != 0) { /* no answer: whatever it asked may or may not have happened */
    a->failures++;
    if (a->target >= 0 && !a->validate_only) a->churn[a->target].state = CHURN_UNKNOWN;
    if (a->op == OP_METADATA_AUTO) a->churn[AUTO_TOPIC].state = CHURN_UNKNOWN;
    runner_trace(a->c->r, "admin %d: %s v%d failed: error %d", a->c->number, op_names[a->op],
                 version, err);
    return;
  }
  a->answers++;
  switch (a->op) {
  case OP_METADATA_ALL:
  case OP_METADATA_NAMED:
  case OP_METADATA_AUTO:
    on_metadata(a, response);
    break;
  case OP_CREATE_TOPICS:
    on_create_topics(a, response);
    break;
  case OP_CREATE_PARTITIONS:
    on_create_partitions(a, response);
    break;
  case OP_DELETE_TOPICS:
    on_delete_topics(a, response);
    break;
  case OP_DESCRIBE_CONFIGS:
    on_describe_configs(a, response);
    break;
  case OP_DESCRIBE_CLUSTER: {
    const struct describe_cluster_response *m = response;
    runner_trace(a->c->r, "admin %d: DescribeCluster v%d: error %d, %d brokers, controller %d",
                 a->c->number, version, m->error_code, m->brokers_count, m->controller_id);
    break;
  }
  case OP_LIST_OFFSETS: {
    const struct list_offsets_response *m = response;
    for (int32_t i = 0; i < m->topics_count; i++)
      for (int32_t j = 0; j < m->topics[i].partitions_count; j++)
        runner_trace(a->c->r, "admin %d: ListOffsets %.*s-%d: error %d, offset %lld",
                     a->c->number, (int)m->topics[i].name.len, m->topics[i].name.ptr,
                     m->topics[i].partitions[j].partition_index,
                     m->topics[i].partitions[j].error_code,
                     (long long)m->topics[i].partitions[j].offset);
    break;
  }
  case OPS:
    UNREACHABLE();
  }
}

/* ---- the requests ---- */

static int send(struct admin *a, int16_t api_key, int16_t min, int16_t max, const void *req) {
  return kadmin_request(a->c->conn, api_key, min, max, req, answered, a);
}

static int metadata(struct admin *a) {
  const struct scenario *sc = a->c->r->sc;
  struct metadata_request_metadata_request_topic topics[SCENARIO_TOPICS_MAX + CHURN_TOPICS + 2];
  struct metadata_request req;
  metadata_request_init(&req);
  req.topics = topics;
  int n = 0;
  if (a->op == OP_METADATA_ALL) {
    req.topics_count = -1; /* null: every topic */
  } else if (a->op == OP_METADATA_AUTO) {
    metadata_request_metadata_request_topic_init(&topics[n]);
    topics[n++].name = kstr_of(a->churn[AUTO_TOPIC].name);
    req.allow_auto_topic_creation = true;
  } else {
    for (int w = 0; w < sc->topic_count; w++) {
      metadata_request_metadata_request_topic_init(&topics[n]);
      if (a->workload_id_known[w] && draw(a, 0, 1)) { /* by id (v10+) */
        topics[n].name = (struct kstr){NULL, -1};
        topics[n++].topic_id = a->workload_ids[w];
      } else {
        topics[n++].name = kstr_of(sc->topics[w].name);
      }
    }
    for (int k = 0; k < AUTO_TOPIC; k++) {
      metadata_request_metadata_request_topic_init(&topics[n]);
      topics[n++].name = kstr_of(a->churn[k].name);
    }
    metadata_request_metadata_request_topic_init(&topics[n]);
    topics[n++].name = KSTR_LIT("not a topic!"); /* INVALID_TOPIC_EXCEPTION */
    req.allow_auto_topic_creation = false;
  }
  if (req.topics_count >= 0) req.topics_count = n;
  /* Mostly the newest; sometimes an old one (v1: a null list is every topic;
   * v3: before allow_auto_topic_creation, unknown topics are created). By id
   * needs v10. */
  int16_t max = 12;
  if (a->op != OP_METADATA_NAMED && draw(a, 0, 3) == 0) max = a->op == OP_METADATA_AUTO ? 3 : 1;
  return send(a, API_METADATA, 1, max, &req);
}

static int describe_configs(struct admin *a) {
  const struct scenario *sc = a->c->r->sc;
  struct describe_configs_request_describe_configs_resource res[SCENARIO_TOPICS_MAX + 3];
  struct kstr keys[] = {KSTR_LIT("compression.type"), KSTR_LIT("retention.ms"),
                        KSTR_LIT("segment.bytes"), KSTR_LIT("log.dirs"),
                        KSTR_LIT("num.partitions")};
  int n = 0;
  char self[16];
  snprintf(self, sizeof self, "%d", 1);
  for (int w = 0; w < sc->topic_count; w++) {
    res[n] = (struct describe_configs_request_describe_configs_resource){
        RESOURCE_TOPIC, kstr_of(sc->topics[w].name), NULL, -1};
    if (draw(a, 0, 2) == 0) { /* some keys only */
      res[n].configuration_keys = keys;
      res[n].configuration_keys_count = 3;
    }
    n++;
  }
  int k = (int)draw(a, 0, CHURN_TOPICS - 1); /* perhaps gone: UNKNOWN_TOPIC_OR_PARTITION */
  res[n++] = (struct describe_configs_request_describe_configs_resource){
      RESOURCE_TOPIC, kstr_of(a->churn[k].name), NULL, -1};
  res[n] = (struct describe_configs_request_describe_configs_resource){
      RESOURCE_BROKER, draw(a, 0, 3) ? kstr_of(self) : KSTR_LIT(""), NULL, -1};
  if (draw(a, 0, 2) == 0) {
    res[n].configuration_keys = keys + 2;
    res[n].configuration_keys_count = 3;
  }
  n++;
  if (draw(a, 0, 3) == 0) /* another broker's, or a kind this broker does not describe */
    res[n++] = (struct describe_configs_request_describe_configs_resource){
        (int8_t)(draw(a, 0, 1) ? RESOURCE_BROKER : 8), KSTR_LIT("7"), NULL, -1};
  struct describe_configs_request req;
  describe_configs_request_init(&req);
  req.resources = res;
  req.resources_count = n;
  req.include_synonyms = draw(a, 0, 1);
  return send(a, API_DESCRIBE_CONFIGS, 0, draw(a, 0, 3) ? 4 : 0, &req);
}

static int describe_cluster(struct admin *a) {
  struct describe_cluster_request req;
  describe_cluster_request_init(&req);
  req.endpoint_type = (int8_t)(draw(a, 0, 4) ? 1 : 2); /* 2: controllers, refused here */
  return send(a, API_DESCRIBE_CLUSTER, 0, draw(a, 0, 3) ? 1 : 0, &req);
}

/* Latest, earliest, the max timestamp, or a time in the last half minute. */
static int list_offsets(struct admin *a) {
  const struct scenario *sc = a->c->r->sc;
  struct env *env = sim_node_env(a->c->node);
  int64_t kind = draw(a, 0, 3);
  int64_t ts = kind == 0   ? -1
               : kind == 1 ? -2
               : kind == 2 ? -3
                           : env->wall_ms(env) - draw(a, 0, 30000);
  struct list_offsets_request_list_offsets_partition parts[SCENARIO_PARTITIONS_MAX];
  struct list_offsets_request_list_offsets_topic topics[SCENARIO_TOPICS_MAX];
  int n = 0;
  for (int w = 0; w < sc->topic_count; w++) {
    list_offsets_request_list_offsets_topic_init(&topics[w]);
    topics[w].name = kstr_of(sc->topics[w].name);
    topics[w].partitions = &parts[n];
    for (int32_t p = 0; p < sc->topics[w].partitions; p++) {
      list_offsets_request_list_offsets_partition_init(&parts[n]);
      parts[n].partition_index = p;
      parts[n++].timestamp = ts;
      topics[w].partitions_count++;
    }
  }
  struct list_offsets_request req;
  list_offsets_request_init(&req);
  req.replica_id = -1;
  req.isolation_level = (int8_t)draw(a, 0, 1);
  req.topics = topics;
  req.topics_count = sc->topic_count;
  return send(a, API_LIST_OFFSETS, 1, ts == -3 ? 7 : draw(a, 0, 1) ? 7 : 1, &req);
}

static int create_topics(struct admin *a) {
  static const char *const codecs[] = {"producer", "uncompressed", "gzip",
                                       "snappy",   "lz4",          "zstd"};
  struct churn *t = &a->churn[a->target];
  /* And one more: a setting of another kind, or one the broker refuses
   * (INVALID_CONFIG: compaction, an out-of-range or unknown setting). */
  static const char *const extra[][2] = {
      {"cleanup.policy", "delete"},     {"message.timestamp.type", "CreateTime"},
      {"min.insync.replicas", "1"},     {"unclean.leader.election.enable", "false"},
      {"max.message.bytes", "1048588"}, {"cleanup.policy", "compact"},
      {"segment.bytes", "0"},           {"retention.ms", "soon"},
      {"flush.messages", "yes"},        {"colour", "red"}};
  struct create_topics_request_creatable_topic_config cfg[4];
  char segment[24], retention[24];
  snprintf(segment, sizeof segment, "%lld", (long long)draw(a, 16, 256) * 1024);
  snprintf(retention, sizeof retention, "%lld", (long long)draw(a, 1, 600) * 1000);
  cfg[0] = (struct create_topics_request_creatable_topic_config){
      KSTR_LIT("compression.type"), kstr_of(codecs[draw(a, 0, 5)])};
  cfg[1] = (struct create_topics_request_creatable_topic_config){KSTR_LIT("segment.bytes"),
                                                                 kstr_of(segment)};
  cfg[2] = (struct create_topics_request_creatable_topic_config){KSTR_LIT("retention.ms"),
                                                                 kstr_of(retention)};
  struct create_topics_request_creatable_topic topics[2];
  create_topics_request_creatable_topic_init(&topics[0]);
  topics[0].name = kstr_of(t->name);
  topics[0].num_partitions = a->asked;
  topics[0].replication_factor = 1;
  topics[0].configs = cfg;
  topics[0].configs_count = (int32_t)draw(a, 0, 3);
  if (draw(a, 0, 2) == 0) {
    int64_t e = draw(a, 0, (int64_t)ARRAY_LEN(extra) - 1);
    cfg[topics[0].configs_count++] = (struct create_topics_request_creatable_topic_config){
        kstr_of(extra[e][0]), kstr_of(extra[e][1])};
  }
  topics[1] = topics[0];
  struct create_topics_request req;
  create_topics_request_init(&req);
  req.topics = topics;
  req.topics_count = draw(a, 0, 9) ? 1 : 2; /* twice: INVALID_REQUEST for both */
  req.timeout_ms = ADMIN_TIMEOUT_MS;
  req.validate_only = a->validate_only;
  return send(a, API_CREATE_TOPICS, 2, 7, &req);
}

static int create_partitions(struct admin *a) {
  struct create_partitions_request_create_partitions_topic topic = {
      kstr_of(a->churn[a->target].name), a->asked, NULL, -1};
  struct create_partitions_request req;
  create_partitions_request_init(&req);
  req.topics = &topic;
  req.topics_count = 1;
  req.timeout_ms = ADMIN_TIMEOUT_MS;
  req.validate_only = a->validate_only;
  return send(a, API_CREATE_PARTITIONS, 0, 3, &req);
}

static int delete_topics(struct admin *a) {
  struct churn *t = &a->churn[a->target];
  struct delete_topics_request_delete_topic_state by[1];
  by[0] = (struct delete_topics_request_delete_topic_state){kstr_of(t->name), {{0}}};
  if (t->id_known && draw(a, 0, 2) == 0) /* by id (v6) */
    by[0] = (struct delete_topics_request_delete_topic_state){{NULL, -1}, t->id};
  struct kstr names[1] = {kstr_of(t->name)};
  struct delete_topics_request req;
  delete_topics_request_init(&req);
  req.topics = by;
  req.topics_count = 1;
  req.topic_names = names;
  req.topic_names_count = 1;
  req.timeout_ms = ADMIN_TIMEOUT_MS;
  return send(a, API_DELETE_TOPICS, 1, draw(a, 0, 1) ? 6 : 5, &req);
}

static void next_request(struct admin *a) {
  a->op = (enum admin_op)draw(a, 0, OPS - 1);
  a->target = -1;
  a->validate_only = false;
  if (a->op == OP_CREATE_TOPICS || a->op == OP_CREATE_PARTITIONS || a->op == OP_DELETE_TOPICS) {
    a->target = (int)draw(a, 0, a->op == OP_CREATE_TOPICS ? AUTO_TOPIC - 1 : CHURN_TOPICS - 1);
    a->validate_only = a->op != OP_DELETE_TOPICS && draw(a, 0, 5) == 0;
    int32_t now = a->churn[a->target].partitions;
    a->asked = a->op == OP_CREATE_TOPICS ? (int32_t)draw(a, 1, 3)
               : now > 0 && now < CHURN_PARTITIONS_MAX
                   ? now + 1
                   : (int32_t)draw(a, 1, CHURN_PARTITIONS_MAX);
  }
  int rc;
  switch (a->op) {
  case OP_METADATA_ALL:
  case OP_METADATA_NAMED:
  case OP_METADATA_AUTO:
    rc = metadata(a);
    break;
  case OP_DESCRIBE_CONFIGS:
    rc = describe_configs(a);
    break;
  case OP_DESCRIBE_CLUSTER:
    rc = describe_cluster(a);
    break;
  case OP_LIST_OFFSETS:
    rc = list_offsets(a);
    break;
  case OP_CREATE_TOPICS:
    rc = create_topics(a);
    break;
  case OP_CREATE_PARTITIONS:
    rc = create_partitions(a);
    break;
  default:
    rc = delete_topics(a);
    break;
  }
  if (rc == 0) {
    a->in_flight = true;
    a->requests++;
  }
}

/* ---- the client ---- */

struct admin *admin_create(struct client *c) {
  struct admin *a = calloc(1, sizeof *a);
  ASSERT(a != NULL);
  a->c = c;
  a->rng = sim_rng_fork_id(sim_world_rng(c->r->w), "client.admin", (uint64_t)c->number);
  a->interval_ns = (uint64_t)draw(a, 50, 500) * NS_PER_MS;
  for (int k = 0; k < CHURN_TOPICS; k++) {
    snprintf(a->churn[k].name, sizeof a->churn[k].name, "churn-%d-%d", c->number, k);
    a->churn[k].state = CHURN_ABSENT; /* a fresh disk */
    a->churn[k].partitions = -1;
  }
  return a;
}

void admin_tick(struct admin *a) {
  struct runner *r = a->c->r;
  if (a->in_flight || !r->producing || sim_now_ns(r->w) < a->next_ns) return;
  if (!kconn_connected(a->c->conn)) {
    kconn_connect(a->c->conn);
    return;
  }
  notice_restarts(a);
  next_request(a);
}

void admin_free(struct admin *a) { free(a); }
