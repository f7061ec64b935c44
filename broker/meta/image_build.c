/* A new image from the previous one and a delta: KRaft's record replay
 * (MetadataDelta in Kafka), one function per record type. The new image
 * starts as a shallow copy that shares every topic; a record that changes a
 * topic first gives the new image its own copy of it (copy-on-write), so the
 * previous image, which readers may still hold, never changes. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "env.h"
#include "meta/image.h"
#include "meta/image_internal.h"

static struct meta_image *image_clone(const struct meta_image *prev, int32_t extra_topics) {
  ASSERT(prev != NULL && prev->refs > 0 && extra_topics >= 0);
  /* Not zeroed, and only the arrays' used entries copied: nothing looks
   * past a count, and an apply clears each entry it adds. Clearing and
   * copying the whole fixed arrays was most of a build's cost. */
  struct meta_image *image = malloc(sizeof *image);
  ASSERT(image != NULL);
  image->refs = 1;
  image->offset = prev->offset;
  memcpy(image->cluster_id, prev->cluster_id, sizeof image->cluster_id);
  image->broker_count = prev->broker_count;
  memcpy(image->brokers, prev->brokers, (size_t)prev->broker_count * sizeof image->brokers[0]);
  image->feature_count = prev->feature_count;
  memcpy(image->features, prev->features,
         (size_t)prev->feature_count * sizeof image->features[0]);
  image->next_producer_id = prev->next_producer_id;
  image->broker_config_count = prev->broker_config_count;
  memcpy(image->broker_configs, prev->broker_configs,
         (size_t)prev->broker_config_count * sizeof image->broker_configs[0]);
  image->topic_count = prev->topic_count;
  image->topic_cap = prev->topic_count + extra_topics;
  size_t bytes = (size_t)(image->topic_cap > 0 ? image->topic_cap : 1) * sizeof(void *);
  image->topics_by_name = malloc(bytes);
  image->topics_by_id = malloc(bytes);
  ASSERT(image->topics_by_name != NULL && image->topics_by_id != NULL);
  size_t used = (size_t)prev->topic_count * sizeof(void *);
  if (used > 0) {
    memcpy(image->topics_by_name, prev->topics_by_name, used);
    memcpy(image->topics_by_id, prev->topics_by_id, used);
  }
  for (int32_t i = 0; i < image->topic_count; i++) image->topics_by_name[i]->refs++;
  return image;
}

/* The topic at name_index, made this image's own: while the previous image
 * is alive a shared topic has refs >= 2, so refs == 1 means it was already
 * copied (or created) by this build. */
static struct meta_topic *topic_own(struct meta_image *image, int32_t name_index) {
  ASSERT(name_index >= 0 && name_index < image->topic_count);
  struct meta_topic *shared = image->topics_by_name[name_index];
  ASSERT(shared->refs >= 1);
  if (shared->refs == 1) return shared;
  struct meta_topic *own = malloc(sizeof *own);
  ASSERT(own != NULL);
  *own = *shared;
  own->refs = 1;
  own->partition_cap = shared->partition_count > 0 ? shared->partition_count : 1;
  own->partitions = malloc((size_t)own->partition_cap * sizeof *own->partitions);
  ASSERT(own->partitions != NULL);
  if (shared->partition_count > 0)
    memcpy(own->partitions, shared->partitions,
           (size_t)shared->partition_count * sizeof *own->partitions);
  int32_t id_index = meta_image_id_lower_bound(image, shared->id);
  ASSERT(id_index < image->topic_count && image->topics_by_id[id_index] == shared);
  image->topics_by_name[name_index] = own;
  image->topics_by_id[id_index] = own;
  shared->refs--;
  ASSERT(shared->refs >= 1); /* the previous image still holds it */
  return own;
}

/* The by-name index of the topic with this id, or -1. */
static int32_t name_index_of_id(const struct meta_image *image, struct kuuid id) {
  int32_t i = meta_image_id_lower_bound(image, id);
  if (i == image->topic_count || meta_uuid_cmp(image->topics_by_id[i]->id, id) != 0) return -1;
  const char *name = image->topics_by_id[i]->name;
  int32_t n = meta_image_name_lower_bound(image, name, strlen(name));
  ASSERT(n < image->topic_count && image->topics_by_name[n] == image->topics_by_id[i]);
  return n;
}

static void array_insert(struct meta_topic **array, int32_t count, int32_t at,
                         struct meta_topic *topic) {
  ASSERT(at >= 0 && at <= count);
  memmove(&array[at + 1], &array[at], (size_t)(count - at) * sizeof array[0]);
  array[at] = topic;
}

static void array_remove(struct meta_topic **array, int32_t count, int32_t at) {
  ASSERT(at >= 0 && at < count);
  memmove(&array[at], &array[at + 1], (size_t)(count - at - 1) * sizeof array[0]);
}

static int apply_topic(struct meta_image *image, const struct meta_topic_record *r) {
  size_t len = strnlen(r->name, sizeof r->name);
  if (len == 0 || len == sizeof r->name) return ENV_EINVAL;
  if (meta_image_topic(image, r->name, len) || meta_image_topic_by_id(image, r->topic_id))
    return ENV_EEXIST;
  if (image->topic_count >= META_TOPICS_MAX) return ENV_ENOSPC;
  ASSERT(image->topic_count < image->topic_cap); /* counted before the build */
  struct meta_topic *t = calloc(1, sizeof *t);
  ASSERT(t != NULL);
  t->refs = 1;
  memcpy(t->name, r->name, len + 1);
  t->name_len = len;
  t->id = r->topic_id;
  array_insert(image->topics_by_name, image->topic_count,
               meta_image_name_lower_bound(image, r->name, len), t);
  array_insert(image->topics_by_id, image->topic_count,
               meta_image_id_lower_bound(image, r->topic_id), t);
  image->topic_count++;
  return 0;
}

static bool replicas_valid(int32_t count) { return count >= 0 && count <= META_REPLICAS_MAX; }

static void elr_set(struct meta_partition *p, const int32_t *elr, int32_t elr_count,
                    const int32_t *last_known, int32_t last_known_count) {
  ASSERT(replicas_valid(elr_count) && replicas_valid(last_known_count));
  p->elr_count = elr_count;
  memcpy(p->elr, elr, (size_t)elr_count * sizeof p->elr[0]);
  p->last_known_elr_count = last_known_count;
  memcpy(p->last_known_elr, last_known, (size_t)last_known_count * sizeof p->last_known_elr[0]);
}

static int apply_partition(struct meta_image *image, const struct meta_partition_record *r) {
  int32_t n = name_index_of_id(image, r->topic_id);
  if (n < 0) return ENV_ENOENT;
  if (!replicas_valid(r->replica_count) || !replicas_valid(r->isr_count) ||
      !replicas_valid(r->removing_count) || !replicas_valid(r->adding_count) ||
      !replicas_valid(r->elr_count) || !replicas_valid(r->last_known_elr_count))
    return ENV_EINVAL;
  /* A partition is replaced, or added right after the last one. */
  if (r->partition_id < 0 || r->partition_id > image->topics_by_name[n]->partition_count)
    return ENV_EINVAL;
  if (r->partition_id >= META_PARTITIONS_MAX) return ENV_ENOSPC;
  struct meta_topic *t = topic_own(image, n);
  if (r->partition_id == t->partition_count && t->partition_count == t->partition_cap) {
    int32_t cap = t->partition_cap ? t->partition_cap * 2 : 4;
    struct meta_partition *parts = realloc(t->partitions, (size_t)cap * sizeof *parts);
    ASSERT(parts != NULL);
    t->partitions = parts;
    t->partition_cap = cap;
  }
  struct meta_partition *p = &t->partitions[r->partition_id];
  memset(p, 0, sizeof *p);
  p->partition_id = r->partition_id;
  p->leader = r->leader;
  p->leader_epoch = r->leader_epoch;
  p->partition_epoch = r->partition_epoch;
  p->replica_count = r->replica_count;
  p->isr_count = r->isr_count;
  memcpy(p->replicas, r->replicas, (size_t)r->replica_count * sizeof p->replicas[0]);
  memcpy(p->isr, r->isr, (size_t)r->isr_count * sizeof p->isr[0]);
  p->removing_count = r->removing_count;
  memcpy(p->removing, r->removing, (size_t)r->removing_count * sizeof p->removing[0]);
  p->adding_count = r->adding_count;
  memcpy(p->adding, r->adding, (size_t)r->adding_count * sizeof p->adding[0]);
  elr_set(p, r->elr, r->elr_count, r->last_known_elr, r->last_known_elr_count);
  if (r->partition_id == t->partition_count) t->partition_count++;
  ASSERT(t->partition_count <= t->partition_cap);
  return 0;
}

static int apply_partition_change(struct meta_image *image,
                                  const struct meta_partition_change_record *r) {
  int32_t n = name_index_of_id(image, r->topic_id);
  if (n < 0) return ENV_ENOENT;
  if (r->partition_id < 0 || r->partition_id >= image->topics_by_name[n]->partition_count)
    return ENV_ENOENT;
  if ((r->isr_count != -1 && !replicas_valid(r->isr_count)) ||
      (r->replica_count != -1 && !replicas_valid(r->replica_count)) ||
      r->leader < META_LEADER_UNCHANGED ||
      (r->reassignment_set &&
       (!replicas_valid(r->removing_count) || !replicas_valid(r->adding_count))) ||
      (r->elr_set &&
       (!replicas_valid(r->elr_count) || !replicas_valid(r->last_known_elr_count))))
    return ENV_EINVAL;
  struct meta_topic *t = topic_own(image, n);
  struct meta_partition *p = &t->partitions[r->partition_id];
  /* Kafka's PartitionRegistration.merge: a record that names the leader,
   * the same one too, starts a new leader epoch (KIP-455 relies on it: the
   * followers of a reassigned partition reconcile under the new epoch). */
  if (r->leader != META_LEADER_UNCHANGED) {
    p->leader = r->leader;
    p->leader_epoch++;
  }
  if (r->isr_count >= 0) {
    p->isr_count = r->isr_count;
    memcpy(p->isr, r->isr, (size_t)r->isr_count * sizeof p->isr[0]);
  }
  if (r->replica_count >= 0) {
    p->replica_count = r->replica_count;
    memcpy(p->replicas, r->replicas, (size_t)r->replica_count * sizeof p->replicas[0]);
  }
  if (r->reassignment_set) {
    p->removing_count = r->removing_count;
    memcpy(p->removing, r->removing, (size_t)r->removing_count * sizeof p->removing[0]);
    p->adding_count = r->adding_count;
    memcpy(p->adding, r->adding, (size_t)r->adding_count * sizeof p->adding[0]);
  }
  if (r->elr_set) elr_set(p, r->elr, r->elr_count, r->last_known_elr, r->last_known_elr_count);
  p->partition_epoch++;
  return 0;
}

static int apply_remove_topic(struct meta_image *image,
                              const struct meta_remove_topic_record *r) {
  int32_t n = name_index_of_id(image, r->topic_id);
  if (n < 0) return ENV_ENOENT;
  struct meta_topic *t = image->topics_by_name[n];
  int32_t id_index = meta_image_id_lower_bound(image, r->topic_id);
  ASSERT(image->topics_by_id[id_index] == t);
  array_remove(image->topics_by_name, image->topic_count, n);
  array_remove(image->topics_by_id, image->topic_count, id_index);
  image->topic_count--;
  meta_topic_unref(t); /* with it go its config overrides, as in KRaft */
  return 0;
}

static int config_set(struct meta_topic *t, const struct meta_config_record *r) {
  int32_t i = 0;
  while (i < t->config_count && strcmp(t->configs[i].name, r->name) < 0) i++;
  bool found = i < t->config_count && strcmp(t->configs[i].name, r->name) == 0;
  if (r->value_null) {
    if (!found) return 0;
    memmove(&t->configs[i], &t->configs[i + 1],
            (size_t)(t->config_count - i - 1) * sizeof t->configs[0]);
    t->config_count--;
    return 0;
  }
  if (!found) {
    if (t->config_count == META_TOPIC_CONFIGS_MAX) return ENV_ENOSPC;
    memmove(&t->configs[i + 1], &t->configs[i],
            (size_t)(t->config_count - i) * sizeof t->configs[0]);
    t->config_count++;
    memcpy(t->configs[i].name, r->name, sizeof t->configs[i].name);
  }
  memcpy(t->configs[i].value, r->value, sizeof t->configs[i].value);
  ASSERT(t->config_count <= META_TOPIC_CONFIGS_MAX);
  return 0;
}

static int broker_config_cmp(const struct meta_broker_config *c, const char *resource,
                             const char *name) {
  int d = strcmp(c->resource_name, resource);
  return d != 0 ? d : strcmp(c->name, name);
}

/* A dynamic broker config: set, or removed by a null value. */
static int apply_broker_config(struct meta_image *image, const struct meta_config_record *r) {
  size_t len = strnlen(r->resource_name, sizeof r->resource_name);
  if (len >= META_BROKER_RESOURCE_BYTES || strnlen(r->name, sizeof r->name) == 0)
    return ENV_EINVAL;
  int32_t i = 0, n = image->broker_config_count;
  struct meta_broker_config *all = image->broker_configs;
  while (i < n && broker_config_cmp(&all[i], r->resource_name, r->name) < 0) i++;
  bool found = i < n && broker_config_cmp(&all[i], r->resource_name, r->name) == 0;
  if (r->value_null) {
    if (!found) return 0;
    memmove(&all[i], &all[i + 1], (size_t)(n - i - 1) * sizeof all[0]);
    image->broker_config_count--;
    return 0;
  }
  if (!found) {
    if (n == META_BROKER_CONFIGS_MAX) return ENV_ENOSPC;
    memmove(&all[i + 1], &all[i], (size_t)(n - i) * sizeof all[0]);
    image->broker_config_count++;
    memset(&all[i], 0, sizeof all[i]);
    memcpy(all[i].resource_name, r->resource_name, len);
    str_fmt(all[i].name, sizeof all[i].name, "%s", r->name);
  }
  str_fmt(all[i].value, sizeof all[i].value, "%s", r->value);
  return 0;
}

static int apply_config(struct meta_image *image, const struct meta_config_record *r) {
  if (r->resource_type == META_RESOURCE_BROKER) return apply_broker_config(image, r);
  if (r->resource_type != META_RESOURCE_TOPIC) return ENV_EINVAL;
  size_t name_len = strnlen(r->name, sizeof r->name);
  if (name_len == 0 || name_len == sizeof r->name ||
      strnlen(r->value, sizeof r->value) == sizeof r->value)
    return ENV_EINVAL;
  size_t len = strnlen(r->resource_name, sizeof r->resource_name);
  if (len == sizeof r->resource_name) return ENV_EINVAL;
  int32_t n = meta_image_name_lower_bound(image, r->resource_name, len);
  if (n == image->topic_count ||
      meta_name_cmp(image->topics_by_name[n]->name, r->resource_name, len) != 0)
    return ENV_ENOENT;
  return config_set(topic_own(image, n), r);
}

static int apply_register_broker(struct meta_image *image,
                                 const struct meta_register_broker_record *r) {
  if (r->broker_id < 0 || strnlen(r->host, sizeof r->host) == sizeof r->host) return ENV_EINVAL;
  int32_t i = 0;
  while (i < image->broker_count && image->brokers[i].id < r->broker_id) i++;
  if (i == image->broker_count || image->brokers[i].id != r->broker_id) {
    if (image->broker_count == META_BROKERS_MAX) return ENV_ENOSPC;
    memmove(&image->brokers[i + 1], &image->brokers[i],
            (size_t)(image->broker_count - i) * sizeof image->brokers[0]);
    image->broker_count++;
  }
  /* A newer registration of the same id replaces the old one (a restart). */
  struct meta_broker *b = &image->brokers[i];
  memset(b, 0, sizeof *b);
  b->id = r->broker_id;
  b->epoch = r->broker_epoch;
  b->incarnation_id = r->incarnation_id;
  str_fmt(b->listener, sizeof b->listener, "%s", r->listener);
  str_fmt(b->host, sizeof b->host, "%s", r->host);
  b->port = r->port;
  str_fmt(b->rack, sizeof b->rack, "%s", r->rack);
  b->fenced = r->fenced;
  ASSERT(image->broker_count <= META_BROKERS_MAX);
  return 0;
}

/* The registered broker with this id and epoch (KRaft refuses a fence,
 * unfence, change or unregistration of any other registration). */
static struct meta_broker *broker_of(struct meta_image *image, int32_t id, int64_t epoch) {
  for (int32_t i = 0; i < image->broker_count; i++) {
    struct meta_broker *b = &image->brokers[i];
    if (b->id == id) return b->epoch == epoch ? b : NULL;
  }
  return NULL;
}

static int apply_unregister_broker(struct meta_image *image,
                                   const struct meta_broker_epoch_record *r) {
  struct meta_broker *b = broker_of(image, r->broker_id, r->broker_epoch);
  if (!b) return ENV_ENOENT;
  int32_t i = (int32_t)(b - image->brokers);
  memmove(&image->brokers[i], &image->brokers[i + 1],
          (size_t)(image->broker_count - i - 1) * sizeof image->brokers[0]);
  image->broker_count--;
  return 0;
}

static int apply_fence(struct meta_image *image, const struct meta_broker_epoch_record *r,
                       bool fenced) {
  struct meta_broker *b = broker_of(image, r->broker_id, r->broker_epoch);
  if (!b) return ENV_ENOENT;
  b->fenced = fenced;
  return 0;
}

static int apply_registration_change(struct meta_image *image,
                                     const struct meta_broker_registration_change_record *r) {
  struct meta_broker *b = broker_of(image, r->broker_id, r->broker_epoch);
  if (!b) return ENV_ENOENT;
  if (r->fenced < META_FENCE_UNFENCED || r->fenced > META_FENCE_FENCED) return ENV_EINVAL;
  if (r->fenced != META_FENCE_UNCHANGED) b->fenced = r->fenced == META_FENCE_FENCED;
  return 0;
}

static int apply_feature_level(struct meta_image *image,
                               const struct meta_feature_level_record *r) {
  size_t len = strnlen(r->name, sizeof r->name);
  if (len == 0 || len == sizeof r->name || r->feature_level < 0) return ENV_EINVAL;
  int32_t i = 0;
  while (i < image->feature_count && strcmp(image->features[i].name, r->name) < 0) i++;
  bool found = i < image->feature_count && strcmp(image->features[i].name, r->name) == 0;
  if (r->feature_level == 0) { /* level 0: the feature is not finalized */
    if (found) {
      memmove(&image->features[i], &image->features[i + 1],
              (size_t)(image->feature_count - i - 1) * sizeof image->features[0]);
      image->feature_count--;
    }
    return 0;
  }
  if (!found) {
    if (image->feature_count == META_FEATURES_MAX) return ENV_ENOSPC;
    memmove(&image->features[i + 1], &image->features[i],
            (size_t)(image->feature_count - i) * sizeof image->features[0]);
    image->feature_count++;
    memcpy(image->features[i].name, r->name, len + 1);
  }
  image->features[i].level = r->feature_level;
  ASSERT(image->feature_count <= META_FEATURES_MAX);
  return 0;
}

static int apply_record(struct meta_image *image, const struct meta_record *r) {
  switch (r->type) {
  case META_REGISTER_BROKER_RECORD:
    return apply_register_broker(image, &r->register_broker);
  case META_TOPIC_RECORD:
    return apply_topic(image, &r->topic);
  case META_PARTITION_RECORD:
    return apply_partition(image, &r->partition);
  case META_PARTITION_CHANGE_RECORD:
    return apply_partition_change(image, &r->partition_change);
  case META_REMOVE_TOPIC_RECORD:
    return apply_remove_topic(image, &r->remove_topic);
  case META_CONFIG_RECORD:
    return apply_config(image, &r->config);
  case META_UNREGISTER_BROKER_RECORD:
    return apply_unregister_broker(image, &r->unregister_broker);
  case META_FENCE_BROKER_RECORD:
    return apply_fence(image, &r->fence_broker, true);
  case META_UNFENCE_BROKER_RECORD:
    return apply_fence(image, &r->unfence_broker, false);
  case META_BROKER_REGISTRATION_CHANGE_RECORD:
    return apply_registration_change(image, &r->broker_registration_change);
  case META_FEATURE_LEVEL_RECORD:
    return apply_feature_level(image, &r->feature_level);
  case META_PRODUCER_IDS_RECORD:
    if (r->producer_ids.next_producer_id < image->next_producer_id) return ENV_EINVAL;
    image->next_producer_id = r->producer_ids.next_producer_id;
    return 0;
  case META_NO_OP_RECORD:
    return 0;
  case META_BEGIN_TRANSACTION_RECORD: /* the loader keeps transactions whole */
  case META_END_TRANSACTION_RECORD:
  case META_ABORT_TRANSACTION_RECORD:
    return 0;
  }
  return ENV_EINVAL;
}

int meta_image_build(const struct meta_image *prev, const struct meta_delta *delta,
                     struct meta_image **out) {
  ASSERT(prev != NULL && prev->refs > 0 && delta != NULL && out != NULL);
  ASSERT(delta->count >= 0 && delta->count <= META_DELTA_RECORDS_MAX);
  int32_t new_topics = 0;
  for (int32_t i = 0; i < delta->count; i++)
    new_topics += delta->records[i].type == META_TOPIC_RECORD;
  struct meta_image *image = image_clone(prev, new_topics);
  for (int32_t i = 0; i < delta->count; i++) {
    const struct meta_record *r = &delta->records[i];
    int rc = r->offset > image->offset ? apply_record(image, r) : ENV_EINVAL;
    if (rc != 0) {
      meta_image_unref(image);
      return rc;
    }
    image->offset = r->offset;
  }
  ASSERT(image->topic_count <= image->topic_cap && image->offset >= prev->offset);
  *out = image;
  return 0;
}
