/* Budgets on what one client request can make the broker create (issue 13):
 * partitions per CreateTopics/CreatePartitions request and in the cluster,
 * and topics auto-created per Metadata request and per second. A request
 * past a budget gets POLICY_VIOLATION (44) with a message that names the
 * config, as Kafka answers a CreateTopicPolicy refusal (KIP-108), so the
 * client sees which limit it hit and that retrying will not help. */
#include "server/limits.h"

#include "base/assert.h"
#include "base/str.h"
#include "proto/errors.h"
#include "server/server.h"

int64_t limits_cluster_partitions(const struct meta_image *image) {
  int64_t total = 0;
  for (int32_t i = 0; i < image->topic_count && i < TOPICS_MAX; i++)
    total += image->topics_by_name[i]->partition_count;
  ASSERT(total >= 0);
  return total;
}

int16_t limits_partitions_check(const struct node *node, int64_t request_so_far,
                                int64_t cluster_now, int64_t adding, char *why, size_t cap) {
  ASSERT(request_so_far >= 0 && cluster_now >= 0);
  if (adding <= 0) return KERR_NONE; /* the controller judges counts that make no sense */
  const struct config *cfg = &node->cfg;
  if (request_so_far + adding > cfg->create_topics_partitions_max) {
    str_fmt(why, cap,
            "the request asks for more than sluice.create.topics.partitions.max (%d) "
            "partitions",
            cfg->create_topics_partitions_max);
    return KERR_POLICY_VIOLATION;
  }
  if (cluster_now + request_so_far + adding > cfg->cluster_partitions_max) {
    str_fmt(why, cap,
            "the cluster would hold more than sluice.cluster.partitions.max (%d) partitions "
            "(it holds %lld)",
            cfg->cluster_partitions_max, (long long)cluster_now);
    return KERR_POLICY_VIOLATION;
  }
  return KERR_NONE;
}

/* A window of one second, from the first creation in it: deterministic
 * under the simulator's clock, and a burst never exceeds the budget. */
int32_t limits_auto_create_take(struct node *node, int32_t wanted) {
  ASSERT(wanted >= 0);
  struct limits_state *s = &node->limits;
  const struct config *cfg = &node->cfg;
  uint64_t now_ns = node->env->now_ns(node->env);
  if (s->auto_create_window_ns == 0 || now_ns - s->auto_create_window_ns >= NS_PER_S) {
    s->auto_create_window_ns = now_ns;
    s->auto_created_in_window = 0;
    s->auto_create_refused_logged = false;
  }
  int32_t per_second_left = cfg->auto_create_topics_max_per_second - s->auto_created_in_window;
  int32_t allowed = wanted;
  if (allowed > cfg->auto_create_topics_max_per_request)
    allowed = cfg->auto_create_topics_max_per_request;
  if (allowed > per_second_left) allowed = per_second_left > 0 ? per_second_left : 0;
  s->auto_created_in_window += allowed;
  if (allowed < wanted && !s->auto_create_refused_logged) {
    s->auto_create_refused_logged = true; /* once per window, not per request */
    env_log(node->env, ENV_LOG_WARN,
            "auto-creating %d of %d topics a Metadata request named "
            "(sluice.auto.create.topics.max.per.request=%d, "
            "sluice.auto.create.topics.max.per.second=%d); the rest answer "
            "UNKNOWN_TOPIC_OR_PARTITION",
            allowed, wanted, cfg->auto_create_topics_max_per_request,
            cfg->auto_create_topics_max_per_second);
  }
  ASSERT(allowed >= 0 && allowed <= wanted);
  return allowed;
}
