/* Images: their lifetime (reference counts) and lookups. Building a new one
 * from a delta is image_build.c. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "meta/image.h"
#include "meta/image_internal.h"

int meta_uuid_cmp(struct kuuid a, struct kuuid b) { return memcmp(a.b, b.b, sizeof a.b); }

struct meta_image *meta_image_empty(const char *cluster_id) {
  ASSERT(cluster_id != NULL);
  ASSERT(strlen(cluster_id) < META_CLUSTER_ID_BYTES);
  struct meta_image *image = calloc(1, sizeof *image);
  ASSERT(image != NULL);
  image->refs = 1;
  image->offset = -1;
  str_fmt(image->cluster_id, sizeof image->cluster_id, "%s", cluster_id);
  return image;
}

void meta_image_ref(struct meta_image *image) {
  ASSERT(image != NULL && image->refs > 0);
  image->refs++;
}

void meta_topic_unref(struct meta_topic *topic) {
  ASSERT(topic != NULL && topic->refs > 0);
  if (--topic->refs > 0) return;
  ASSERT(topic->partition_count <= topic->partition_cap);
  free(topic->partitions);
  free(topic);
}

void meta_image_unref(struct meta_image *image) {
  ASSERT(image != NULL && image->refs > 0);
  ASSERT(image->topic_count <= image->topic_cap);
  if (--image->refs > 0) return;
  for (int32_t i = 0; i < image->topic_count; i++) meta_topic_unref(image->topics_by_name[i]);
  free(image->topics_by_name);
  free(image->topics_by_id);
  free(image);
}

int meta_name_cmp(const char *a, const char *b, size_t b_len) {
  size_t a_len = strlen(a);
  int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
  if (c) return c;
  return a_len < b_len ? -1 : a_len > b_len ? 1 : 0;
}

/* meta_name_cmp for a topic, whose name's length is known. */
static int topic_name_cmp(const struct meta_topic *t, const char *b, size_t b_len) {
  size_t a_len = t->name_len;
  int c = memcmp(t->name, b, a_len < b_len ? a_len : b_len);
  if (c) return c;
  return a_len < b_len ? -1 : a_len > b_len ? 1 : 0;
}

int32_t meta_image_name_lower_bound(const struct meta_image *image, const char *name,
                                    size_t len) {
  int32_t lo = 0, hi = image->topic_count;
  while (lo < hi) {
    int32_t mid = lo + (hi - lo) / 2;
    if (topic_name_cmp(image->topics_by_name[mid], name, len) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  ASSERT(lo >= 0 && lo <= image->topic_count);
  return lo;
}

int32_t meta_image_id_lower_bound(const struct meta_image *image, struct kuuid id) {
  int32_t lo = 0, hi = image->topic_count;
  while (lo < hi) {
    int32_t mid = lo + (hi - lo) / 2;
    if (meta_uuid_cmp(image->topics_by_id[mid]->id, id) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  ASSERT(lo >= 0 && lo <= image->topic_count);
  return lo;
}

const struct meta_topic *meta_image_topic(const struct meta_image *image, const char *name,
                                          size_t len) {
  ASSERT(image != NULL && image->refs > 0);
  ASSERT(name != NULL || len == 0);
  if (len == 0) return NULL;
  int32_t i = meta_image_name_lower_bound(image, name, len);
  if (i < image->topic_count && topic_name_cmp(image->topics_by_name[i], name, len) == 0)
    return image->topics_by_name[i];
  return NULL;
}

const struct meta_topic *meta_image_topic_by_id(const struct meta_image *image,
                                                struct kuuid id) {
  ASSERT(image != NULL && image->refs > 0);
  int32_t i = meta_image_id_lower_bound(image, id);
  if (i < image->topic_count && meta_uuid_cmp(image->topics_by_id[i]->id, id) == 0)
    return image->topics_by_id[i];
  return NULL;
}

const struct meta_broker *meta_image_broker(const struct meta_image *image, int32_t id) {
  ASSERT(image != NULL && image->broker_count <= META_BROKERS_MAX);
  for (int32_t i = 0; i < image->broker_count; i++)
    if (image->brokers[i].id == id) return &image->brokers[i];
  return NULL;
}

int32_t meta_image_usable_brokers(const struct meta_image *image) {
  ASSERT(image != NULL && image->broker_count <= META_BROKERS_MAX);
  int32_t n = 0;
  for (int32_t i = 0; i < image->broker_count; i++) n += !image->brokers[i].fenced;
  ASSERT(n <= image->broker_count);
  return n;
}

const struct meta_partition *meta_topic_partition(const struct meta_topic *topic,
                                                  int32_t partition_id) {
  ASSERT(topic != NULL && topic->partition_count <= topic->partition_cap);
  if (partition_id < 0 || partition_id >= topic->partition_count) return NULL;
  const struct meta_partition *p = &topic->partitions[partition_id];
  ASSERT(p->partition_id == partition_id);
  return p;
}

const char *meta_image_broker_config(const struct meta_image *image, const char *resource_name,
                                     const char *name) {
  ASSERT(image != NULL && resource_name != NULL && name != NULL);
  ASSERT(image->broker_config_count >= 0 &&
         image->broker_config_count <= META_BROKER_CONFIGS_MAX);
  for (int32_t i = 0; i < image->broker_config_count; i++) {
    const struct meta_broker_config *c = &image->broker_configs[i];
    if (strcmp(c->resource_name, resource_name) == 0 && strcmp(c->name, name) == 0)
      return c->value;
  }
  return NULL;
}

const char *meta_topic_config(const struct meta_topic *topic, const char *name) {
  ASSERT(topic != NULL && name != NULL);
  ASSERT(topic->config_count >= 0 && topic->config_count <= META_TOPIC_CONFIGS_MAX);
  for (int32_t i = 0; i < topic->config_count; i++)
    if (strcmp(topic->configs[i].name, name) == 0) return topic->configs[i].value;
  return NULL;
}

bool meta_partition_has_replica(const struct meta_partition *p, int32_t broker_id) {
  ASSERT(p != NULL && p->replica_count >= 0 && p->replica_count <= META_REPLICAS_MAX);
  for (int32_t i = 0; i < p->replica_count; i++)
    if (p->replicas[i] == broker_id) return true;
  return false;
}
