/* What the controller decides for CreateTopics, CreatePartitions,
 * DeleteTopics and broker registration, with Kafka's error codes and, where
 * clients show them, Kafka's wording. Replica placement is round-robin over
 * the usable brokers in id order (deterministic; rack awareness comes with
 * racks). */
#include <stdarg.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "meta/elr.h"
#include "meta/replication_control.h"
#include "proto/errors.h"
#include "server/files.h"
#include "server/topic_config.h"

enum {
  KERR_TOPIC_DELETION_DISABLED = 73,
  CONFIG_TEXT_BYTES = 128,
  TOPIC_ID_TRIES_MAX = 16,
};

bool meta_topic_name_valid(const char *name, size_t len) {
  if (name == NULL || len == 0 || len >= META_TOPIC_NAME_BYTES) return false;
  if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
    return false;
  for (size_t i = 0; i < len; i++) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

/* After the image and after whatever this call already appended. */
static int64_t next_offset(const struct meta_image *image, const struct meta_delta *delta) {
  int64_t next = image->offset + 1;
  if (delta->count > 0 && delta->records[delta->count - 1].offset >= next)
    next = delta->records[delta->count - 1].offset + 1;
  ASSERT(next >= 0);
  return next;
}

static struct meta_record *record_add(const struct meta_image *image, struct meta_delta *delta,
                                      enum meta_record_type type) {
  return meta_delta_add(delta, type, next_offset(image, delta));
}

static void result_init(struct meta_topic_result *r, struct kstr name) {
  memset(r, 0, sizeof *r);
  int len = name.len < 0 ? 0 : name.len >= META_TOPIC_NAME_BYTES ? 0 : (int)name.len;
  str_fmt(r->name, sizeof r->name, "%.*s", len, name.ptr ? name.ptr : "");
}

__attribute__((format(printf, 3, 4))) static void fail(struct meta_topic_result *r,
                                                       int16_t code, const char *fmt, ...) {
  ASSERT(code != KERR_NONE);
  r->error_code = code;
  va_list ap;
  va_start(ap, fmt);
  str_vfmt(r->error_message, sizeof r->error_message, fmt, ap);
  va_end(ap);
}

/* Unfenced brokers, in id order. */
static int32_t usable_brokers(const struct meta_image *image, int32_t ids[META_BROKERS_MAX]) {
  int32_t n = 0;
  for (int32_t i = 0; i < image->broker_count; i++)
    if (!image->brokers[i].fenced) ids[n++] = image->brokers[i].id;
  ASSERT(n <= META_BROKERS_MAX);
  return n;
}

static void place(const int32_t *usable, int32_t usable_count, int32_t rf,
                  struct meta_partition_record *p) {
  ASSERT(rf >= 1 && rf <= usable_count && rf <= META_REPLICAS_MAX);
  for (int32_t i = 0; i < rf; i++) {
    p->replicas[i] = usable[(p->partition_id + i) % usable_count];
    p->isr[i] = p->replicas[i];
  }
  p->replica_count = p->isr_count = rf;
  p->leader = p->replicas[0];
  p->leader_epoch = 0;
  p->partition_epoch = 0;
}

/* Kafka's manual assignment rules: registered brokers, none twice, the
 * topic's replica count. */
static int16_t assignment_check(const struct meta_image *image, const struct meta_assignment *a,
                                int32_t rf, struct meta_topic_result *r) {
  if (a->broker_count < 1 || a->broker_count > META_REPLICAS_MAX || a->broker_count != rf) {
    fail(r, KERR_INVALID_REPLICA_ASSIGNMENT,
         "Inconsistent replication factor: an assignment has %d replicas, the topic %d.",
         a->broker_count, rf);
    return r->error_code;
  }
  for (int32_t i = 0; i < a->broker_count; i++) {
    for (int32_t j = 0; j < i; j++)
      if (a->broker_ids[j] == a->broker_ids[i]) {
        fail(r, KERR_INVALID_REPLICA_ASSIGNMENT,
             "The manual partition assignment names broker %d twice.", a->broker_ids[i]);
        return r->error_code;
      }
    if (!meta_image_broker(image, a->broker_ids[i])) {
      fail(r, KERR_INVALID_REPLICA_ASSIGNMENT,
           "Replica assignment names brokers that are not registered.");
      return r->error_code;
    }
  }
  return KERR_NONE;
}

/* The assigned replicas; the in-sync ones are those not fenced. */
static void assignment_record(const struct meta_image *image, const struct meta_assignment *a,
                              struct meta_partition_record *p) {
  ASSERT(a->broker_count >= 1 && a->broker_count <= META_REPLICAS_MAX);
  p->replica_count = a->broker_count;
  p->isr_count = 0;
  for (int32_t i = 0; i < a->broker_count; i++) {
    p->replicas[i] = a->broker_ids[i];
    const struct meta_broker *b = meta_image_broker(image, a->broker_ids[i]);
    if (b && !b->fenced) p->isr[p->isr_count++] = a->broker_ids[i];
  }
  p->leader = p->isr_count > 0 ? p->isr[0] : META_NO_LEADER;
  p->leader_epoch = 0;
  p->partition_epoch = 0;
}

static bool kstr_copy(struct kstr s, char *out, size_t cap) {
  if (s.len < 0 || (size_t)s.len >= cap) return false;
  memcpy(out, s.ptr, (size_t)s.len);
  out[s.len] = 0;
  return true;
}

static int16_t configs_check(const struct meta_rules *rules, const struct meta_create_topic *in,
                             struct meta_topic_result *r) {
  struct topic_config tc;
  topic_config_init(&tc, rules->cfg);
  for (int32_t i = 0; i < in->config_count; i++) {
    char key[CONFIG_TEXT_BYTES], value[CONFIG_TEXT_BYTES], why[META_ERROR_MESSAGE_BYTES];
    if (in->configs[i].name.len <= 0 || !kstr_copy(in->configs[i].name, key, sizeof key) ||
        !kstr_copy(in->configs[i].value, value, sizeof value)) {
      fail(r, KERR_INVALID_CONFIG, "Null or oversized config name or value.");
      return r->error_code;
    }
    if (!topic_config_set(&tc, key, value, why, sizeof why)) {
      fail(r, KERR_INVALID_CONFIG, "%s", why);
      return r->error_code;
    }
    /* topic_config_set knows every name and bounds every value. */
    ASSERT(strlen(key) < META_CONFIG_NAME_BYTES && strlen(value) < META_CONFIG_VALUE_BYTES);
  }
  return KERR_NONE;
}

/* Partition count and replication factor, defaults resolved (KIP-464). */
static int16_t shape_check(const struct meta_rules *rules, const struct meta_image *image,
                           const struct meta_create_topic *in, int32_t *partitions_out,
                           int32_t *rf_out, struct meta_topic_result *r) {
  int32_t partitions = in->partition_count, rf = in->replication_factor;
  if (in->assignment_count > 0) {
    if (partitions != -1 || rf != -1) {
      fail(r, KERR_INVALID_REQUEST,
           "Both numPartitions or replicationFactor and replicasAssignments were set.");
      return r->error_code;
    }
    partitions = in->assignment_count;
    rf = in->assignments[0].broker_count;
    for (int32_t i = 0; i < in->assignment_count; i++) {
      if (in->assignments[i].partition_index != i) {
        fail(r, KERR_INVALID_REPLICA_ASSIGNMENT,
             "Partitions should be a consecutive 0-based integer sequence.");
        return r->error_code;
      }
      if (assignment_check(image, &in->assignments[i], rf, r) != KERR_NONE)
        return r->error_code;
    }
  }
  if (partitions == -1) partitions = rules->cfg->num_partitions;
  if (rf == -1) rf = rules->cfg->default_replication_factor;
  if (partitions < 1 || partitions > META_PARTITIONS_MAX) {
    fail(r, KERR_INVALID_PARTITIONS,
         "Number of partitions must be larger than 0 and at most %d.", META_PARTITIONS_MAX);
    return r->error_code;
  }
  if (rf < 1) {
    fail(r, KERR_INVALID_REPLICATION_FACTOR, "Replication factor must be larger than 0.");
    return r->error_code;
  }
  int32_t usable[META_BROKERS_MAX];
  int32_t n = usable_brokers(image, usable);
  if (in->assignment_count == 0 && (rf > n || rf > META_REPLICAS_MAX)) {
    fail(r, KERR_INVALID_REPLICATION_FACTOR,
         "Unable to replicate the partition %d times: The target replication factor of %d "
         "cannot be reached because only %d broker(s) are registered.",
         rf, rf, n);
    return r->error_code;
  }
  *partitions_out = partitions;
  *rf_out = rf;
  return KERR_NONE;
}

static struct kuuid new_topic_id(const struct meta_rules *rules,
                                 const struct meta_image *image) {
  struct kuuid id = uuid_random(rules->env);
  for (int i = 0; i < TOPIC_ID_TRIES_MAX; i++) {
    if (!uuid_is_zero(id) && !meta_image_topic_by_id(image, id)) return id;
    id = uuid_random(rules->env);
  }
  UNREACHABLE(); /* 16 collisions of 122 random bits: the source is broken */
}

static bool partition_records(const struct meta_image *image, struct meta_delta *delta,
                              struct kuuid id, int32_t from, int32_t to, int32_t rf,
                              const struct meta_assignment *assignments) {
  int32_t usable[META_BROKERS_MAX];
  int32_t n = usable_brokers(image, usable);
  for (int32_t p = from; p < to; p++) {
    struct meta_record *rec = record_add(image, delta, META_PARTITION_RECORD);
    if (!rec) return false;
    rec->partition.topic_id = id;
    rec->partition.partition_id = p;
    if (assignments)
      assignment_record(image, &assignments[p - from], &rec->partition);
    else
      place(usable, n, rf, &rec->partition);
  }
  return true;
}

static bool create_records(const struct meta_image *image, const struct meta_create_topic *in,
                           int32_t partitions, int32_t rf, struct meta_delta *delta,
                           struct kuuid id) {
  struct meta_record *rec = record_add(image, delta, META_TOPIC_RECORD);
  if (!rec) return false;
  ASSERT(in->name.len > 0 && in->name.len < META_TOPIC_NAME_BYTES);
  memcpy(rec->topic.name, in->name.ptr, (size_t)in->name.len);
  rec->topic.topic_id = id;
  if (!partition_records(image, delta, id, 0, partitions, rf,
                         in->assignment_count > 0 ? in->assignments : NULL))
    return false;
  for (int32_t i = 0; i < in->config_count; i++) {
    rec = record_add(image, delta, META_CONFIG_RECORD);
    if (!rec) return false;
    rec->config.resource_type = META_RESOURCE_TOPIC;
    memcpy(rec->config.resource_name, in->name.ptr, (size_t)in->name.len);
    kstr_copy(in->configs[i].name, rec->config.name, sizeof rec->config.name);
    kstr_copy(in->configs[i].value, rec->config.value, sizeof rec->config.value);
  }
  return true;
}

void meta_rule_create_topic(const struct meta_rules *rules, const struct meta_image *image,
                            const struct meta_create_topic *in, struct meta_delta *delta,
                            struct meta_topic_result *r) {
  ASSERT(rules != NULL && image != NULL && in != NULL && delta != NULL && r != NULL);
  int32_t start = delta->count;
  result_init(r, in->name);
  if (in->name.len <= 0 || !meta_topic_name_valid(in->name.ptr, (size_t)in->name.len)) {
    fail(r, KERR_INVALID_TOPIC_EXCEPTION,
         "Topic name is illegal: it may only contain ASCII alphanumerics, '.', '_' and '-', "
         "up to 249 characters");
    return;
  }
  if (kstr_eq(in->name, META_LOG_TOPIC)) { /* the metadata log (KIP-595) */
    fail(r, KERR_INVALID_REQUEST, "Creation of internal topic %s is prohibited.",
         META_LOG_TOPIC);
    return;
  }
  if (meta_image_topic(image, in->name.ptr, (size_t)in->name.len)) {
    fail(r, KERR_TOPIC_ALREADY_EXISTS, "Topic '%s' already exists.", r->name);
    return;
  }
  int32_t partitions, rf;
  if (shape_check(rules, image, in, &partitions, &rf, r) != KERR_NONE) return;
  if (configs_check(rules, in, r) != KERR_NONE) return;
  if (image->topic_count >= META_TOPICS_MAX) {
    fail(r, KERR_POLICY_VIOLATION, "The cluster already holds %d topics, the most it may.",
         META_TOPICS_MAX);
    return;
  }
  struct kuuid id = new_topic_id(rules, image);
  if (!create_records(image, in, partitions, rf, delta, id)) {
    meta_delta_truncate(delta, start);
    fail(r, KERR_POLICY_VIOLATION, "Unable to perform excessively large batch operation.");
    return;
  }
  r->topic_id = id;
  r->partition_count = partitions;
  r->replication_factor = (int16_t)rf;
  ASSERT(delta->count > start);
}

static int16_t grow_check(const struct meta_image *image,
                          const struct meta_create_partitions *in, const struct meta_topic *t,
                          int32_t rf, struct meta_topic_result *r) {
  if (in->count <= t->partition_count) {
    fail(
        r, KERR_INVALID_PARTITIONS,
        "Topic currently has %d partitions, which is higher than or equal to the requested %d.",
        t->partition_count, in->count);
    return r->error_code;
  }
  if (in->count > META_PARTITIONS_MAX) {
    fail(r, KERR_INVALID_PARTITIONS, "A topic may have at most %d partitions.",
         META_PARTITIONS_MAX);
    return r->error_code;
  }
  int32_t added = in->count - t->partition_count;
  if (in->assignment_count >= 0) {
    if (in->assignment_count != added) {
      fail(r, KERR_INVALID_REPLICA_ASSIGNMENT,
           "Increasing the number of partitions by %d but %d assignments provided.", added,
           in->assignment_count);
      return r->error_code;
    }
    for (int32_t i = 0; i < in->assignment_count; i++)
      if (assignment_check(image, &in->assignments[i], rf, r) != KERR_NONE)
        return r->error_code;
    return KERR_NONE;
  }
  int32_t usable[META_BROKERS_MAX];
  int32_t n = usable_brokers(image, usable);
  if (rf < 1 || rf > n) {
    fail(r, KERR_INVALID_REPLICATION_FACTOR,
         "Unable to replicate the partition %d times: The target replication factor of %d "
         "cannot be reached because only %d broker(s) are registered.",
         rf, rf, n);
    return r->error_code;
  }
  return KERR_NONE;
}

void meta_rule_create_partitions(const struct meta_rules *rules, const struct meta_image *image,
                                 const struct meta_create_partitions *in,
                                 struct meta_delta *delta, struct meta_topic_result *r) {
  ASSERT(rules != NULL && image != NULL && in != NULL && delta != NULL && r != NULL);
  int32_t start = delta->count;
  result_init(r, in->name);
  const struct meta_topic *t =
      in->name.len > 0 ? meta_image_topic(image, in->name.ptr, (size_t)in->name.len) : NULL;
  if (!t) {
    fail(r, KERR_UNKNOWN_TOPIC_OR_PARTITION, "The topic '%s' does not exist.", r->name);
    return;
  }
  ASSERT(t->partition_count >= 1);
  r->topic_id = t->id;
  int32_t rf = t->partitions[0].replica_count;
  if (grow_check(image, in, t, rf, r) != KERR_NONE) return;
  if (!partition_records(image, delta, t->id, t->partition_count, in->count, rf,
                         in->assignment_count >= 0 ? in->assignments : NULL)) {
    meta_delta_truncate(delta, start);
    fail(r, KERR_POLICY_VIOLATION, "Unable to perform excessively large batch operation.");
    return;
  }
  r->partition_count = in->count;
  r->replication_factor = (int16_t)rf;
  ASSERT(delta->count > start);
}

void meta_rule_delete_topic(const struct meta_rules *rules, const struct meta_image *image,
                            const struct meta_delete_topic *in, struct meta_delta *delta,
                            struct meta_topic_result *r) {
  ASSERT(rules != NULL && image != NULL && in != NULL && delta != NULL && r != NULL);
  result_init(r, in->by_id ? (struct kstr){NULL, -1} : in->name);
  const struct meta_topic *t =
      in->by_id
          ? meta_image_topic_by_id(image, in->id)
          : (in->name.len > 0 ? meta_image_topic(image, in->name.ptr, (size_t)in->name.len)
                              : NULL);
  if (!t) {
    r->error_code = in->by_id ? KERR_UNKNOWN_TOPIC_ID : KERR_UNKNOWN_TOPIC_OR_PARTITION;
    return;
  }
  str_fmt(r->name, sizeof r->name, "%s", t->name);
  r->topic_id = t->id;
  r->partition_count = t->partition_count;
  if (!rules->cfg->delete_topic_enable) {
    fail(r, KERR_TOPIC_DELETION_DISABLED, "Topic deletion is disabled.");
    return;
  }
  struct meta_record *rec = record_add(image, delta, META_REMOVE_TOPIC_RECORD);
  if (!rec) {
    fail(r, KERR_POLICY_VIOLATION, "Unable to perform excessively large batch operation.");
    return;
  }
  rec->remove_topic.topic_id = t->id;
}

int16_t meta_rule_register_broker(const struct meta_image *image,
                                  const struct meta_broker_registration *in,
                                  struct meta_delta *delta) {
  ASSERT(image != NULL && in != NULL && delta != NULL);
  if (in->broker_id < 0) return KERR_INVALID_REQUEST;
  if (!meta_image_broker(image, in->broker_id) && image->broker_count == META_BROKERS_MAX)
    return KERR_POLICY_VIOLATION;
  struct meta_record *rec = record_add(image, delta, META_REGISTER_BROKER_RECORD);
  if (!rec) return KERR_POLICY_VIOLATION;
  struct meta_register_broker_record *b = &rec->register_broker;
  b->broker_id = in->broker_id;
  b->incarnation_id = in->incarnation_id;
  b->broker_epoch = rec->offset;
  memcpy(b->listener, in->listener, sizeof b->listener);
  memcpy(b->host, in->host, sizeof b->host);
  b->port = in->port;
  b->security_protocol = 0;
  memcpy(b->rack, in->rack, sizeof b->rack);
  b->fenced = false;
  ASSERT(b->broker_epoch > image->offset);
  return KERR_NONE;
}

/* ---- AlterPartition ---- */

static bool id_in(const int32_t *ids, int32_t count, int32_t id) {
  for (int32_t i = 0; i < count; i++)
    if (ids[i] == id) return true;
  return false;
}

static int16_t alter_epochs_check(const struct meta_partition *p,
                                  const struct meta_alter_partition *in) {
  /* Epochs past ours: this controller lags behind the one the leader
   * heard from; it should not decide. */
  if (in->leader_epoch > p->leader_epoch || in->partition_epoch > p->partition_epoch)
    return KERR_NOT_CONTROLLER;
  if (in->leader_epoch < p->leader_epoch) return KERR_FENCED_LEADER_EPOCH;
  if (p->leader != in->broker_id) return KERR_INVALID_REQUEST;
  if (in->partition_epoch != p->partition_epoch) return KERR_INVALID_UPDATE_VERSION;
  return KERR_NONE;
}

/* KIP-903: a member that joins must be a live broker in the epoch the
 * leader saw it fetch in (a restarted broker may have lost its log). */
static int16_t alter_isr_check(const struct meta_image *image, const struct meta_partition *p,
                               const struct meta_alter_partition *in) {
  if (in->isr_count < 1 || in->isr_count > p->replica_count) return KERR_INVALID_REQUEST;
  if (!id_in(in->isr, in->isr_count, p->leader)) return KERR_INVALID_REQUEST;
  for (int32_t i = 0; i < in->isr_count; i++) {
    if (!id_in(p->replicas, p->replica_count, in->isr[i])) return KERR_INVALID_REQUEST;
    for (int32_t j = 0; j < i; j++)
      if (in->isr[j] == in->isr[i]) return KERR_INVALID_REQUEST;
    if (id_in(p->isr, p->isr_count, in->isr[i])) continue; /* already a member */
    const struct meta_broker *b = meta_image_broker(image, in->isr[i]);
    if (b == NULL || b->fenced) return KERR_INELIGIBLE_REPLICA;
    if (in->isr_broker_epochs[i] >= 0 && in->isr_broker_epochs[i] != b->epoch)
      return KERR_INELIGIBLE_REPLICA;
  }
  return KERR_NONE;
}

static bool same_members(const int32_t *a, int32_t a_count, const int32_t *b, int32_t b_count) {
  if (a_count != b_count) return false;
  for (int32_t i = 0; i < a_count; i++)
    if (!id_in(b, b_count, a[i])) return false;
  return true;
}

static void alter_result(const struct meta_partition *p, int32_t epoch_bump, int32_t isr_count,
                         const int32_t *isr, struct meta_alter_partition_result *out) {
  out->leader_id = p->leader;
  out->leader_epoch = p->leader_epoch;
  out->partition_epoch = p->partition_epoch + epoch_bump;
  out->isr_count = isr_count;
  memcpy(out->isr, isr, (size_t)isr_count * sizeof out->isr[0]);
}

int16_t meta_rule_alter_partition(const struct meta_leader_policy *policy,
                                  const struct meta_image *image,
                                  const struct meta_alter_partition *in,
                                  struct meta_delta *delta,
                                  struct meta_alter_partition_result *out) {
  ASSERT(policy != NULL && image != NULL && in != NULL && delta != NULL && out != NULL);
  memset(out, 0, sizeof *out);
  out->leader_id = -1;
  const struct meta_broker *asker = meta_image_broker(image, in->broker_id);
  int16_t code = KERR_NONE;
  if (asker == NULL || (in->broker_epoch >= 0 && asker->epoch != in->broker_epoch))
    code = KERR_STALE_BROKER_EPOCH;
  const struct meta_topic *t = meta_image_topic_by_id(image, in->topic_id);
  if (code == KERR_NONE && t == NULL) code = KERR_UNKNOWN_TOPIC_ID;
  const struct meta_partition *p = t ? meta_topic_partition(t, in->partition_id) : NULL;
  if (code == KERR_NONE && p == NULL) code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
  if (code == KERR_NONE) code = alter_epochs_check(p, in);
  if (code == KERR_NONE) code = alter_isr_check(image, p, in);
  out->error_code = code;
  if (code != KERR_NONE) return code;
  if (same_members(in->isr, in->isr_count, p->isr, p->isr_count)) {
    alter_result(p, 0, p->isr_count, p->isr, out); /* nothing to commit */
    return KERR_NONE;
  }
  struct meta_record *rec = record_add(image, delta, META_PARTITION_CHANGE_RECORD);
  if (rec == NULL) return out->error_code = KERR_UNKNOWN_SERVER_ERROR;
  struct meta_partition_change_record *c = &rec->partition_change;
  memset(c, 0, sizeof *c);
  c->topic_id = t->id;
  c->partition_id = p->partition_id;
  c->leader = META_LEADER_UNCHANGED;
  c->replica_count = -1;
  c->isr_count = in->isr_count;
  memcpy(c->isr, in->isr, (size_t)in->isr_count * sizeof c->isr[0]);
  if (policy->elr)
    meta_elr_update(p, meta_topic_min_isr(t, policy->min_insync_replicas), in->isr,
                    in->isr_count, -1, c);
  alter_result(p, 1, in->isr_count, in->isr, out);
  return KERR_NONE;
}
