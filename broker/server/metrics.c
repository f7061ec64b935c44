#include "server/metrics.h"

#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "log/log.h"
#include "proto/api.h"
#include "server/controller_quorum.h"
#include "server/replication.h"
#include "server/server.h"
#include "server/topic_config.h"

/* The buckets' upper bounds, in microseconds: 1 ms to 10 s. */
static const uint64_t BUCKET_US[METRICS_LATENCY_BUCKETS] = {
    1000, 2000, 5000, 10000, 25000, 50000, 100000, 250000, 1000000, 5000000, 10000000};

void metrics_request_done(struct metrics *m, int16_t api_key, uint64_t latency_ns) {
  if (api_key < 0 || api_key >= METRICS_API_KEYS) return; /* refused before it counted */
  struct metrics_api *a = &m->api[api_key];
  uint64_t us = latency_ns / 1000;
  a->requests++;
  a->latency_us_sum += us;
  for (int i = 0; i < METRICS_LATENCY_BUCKETS; i++)
    if (us <= BUCKET_US[i]) a->latency_buckets[i]++;
}

__attribute__((format(printf, 2, 3))) static void put(struct buf *out, const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  size_t n = str_vfmt(line, sizeof line, fmt, ap);
  va_end(ap);
  ASSERT(n < sizeof line); /* every line written here is short */
  buf_append(out, line, n);
}

static void seconds(char *out, size_t cap, uint64_t us) {
  str_fmt(out, cap, "%llu.%06llu", (unsigned long long)(us / 1000000),
          (unsigned long long)(us % 1000000));
}

static void render_api(const struct metrics *m, struct buf *out) {
  put(out, "# HELP sluice_requests_total Requests answered, per API.\n# TYPE "
           "sluice_requests_total counter\n");
  for (int k = 0; k < METRICS_API_KEYS; k++)
    if (m->api[k].requests > 0) {
      const struct api_info *info = api_info_get((int16_t)k);
      put(out, "sluice_requests_total{api=\"%s\"} %llu\n", info ? info->name : "unknown",
          (unsigned long long)m->api[k].requests);
    }
  put(out,
      "# HELP sluice_request_latency_seconds From a request's arrival to its answer, per API.\n"
      "# TYPE sluice_request_latency_seconds histogram\n");
  for (int k = 0; k < METRICS_API_KEYS; k++) {
    const struct metrics_api *a = &m->api[k];
    if (a->requests == 0) continue;
    const struct api_info *info = api_info_get((int16_t)k);
    const char *name = info ? info->name : "unknown";
    char le[32], sum[32];
    for (int i = 0; i < METRICS_LATENCY_BUCKETS; i++) {
      seconds(le, sizeof le, BUCKET_US[i]);
      put(out, "sluice_request_latency_seconds_bucket{api=\"%s\",le=\"%s\"} %llu\n", name, le,
          (unsigned long long)a->latency_buckets[i]);
    }
    seconds(sum, sizeof sum, a->latency_us_sum);
    put(out, "sluice_request_latency_seconds_bucket{api=\"%s\",le=\"+Inf\"} %llu\n", name,
        (unsigned long long)a->requests);
    put(out, "sluice_request_latency_seconds_sum{api=\"%s\"} %s\n", name, sum);
    put(out, "sluice_request_latency_seconds_count{api=\"%s\"} %llu\n", name,
        (unsigned long long)a->requests);
  }
}

static void render_topics(const struct node *node, struct buf *out) {
  static const char *const names[3] = {"sluice_topic_bytes_in_total",
                                       "sluice_topic_messages_in_total",
                                       "sluice_topic_bytes_out_total"};
  static const char *const help[3] = {
      "Record batch bytes produced to the topic's partitions led here.",
      "Records produced to the topic's partitions led here.",
      "Record bytes fetched by consumers from partitions led here."};
  for (int f = 0; f < 3; f++) {
    put(out, "# HELP %s %s\n# TYPE %s counter\n", names[f], help[f], names[f]);
    for (int t = 0; t < node->topic_count; t++) {
      const struct topic *topic = node->topics[t];
      const uint64_t v[3] = {topic->traffic.bytes_in, topic->traffic.messages_in,
                             topic->traffic.bytes_out};
      put(out, "%s{topic=\"%s\"} %llu\n", names[f], topic->name, (unsigned long long)v[f]);
    }
  }
}

/* Partition gauges: what this broker leads, what of that is short of its
 * replicas, what has no leader anywhere, and the size of each local log. */
static void render_partitions(const struct node *node, struct buf *out) {
  uint64_t led = 0, under = 0, offline = 0, below_min = 0;
  put(out, "# HELP sluice_log_size_bytes Bytes of each partition's log on this broker.\n"
           "# TYPE sluice_log_size_bytes gauge\n");
  for (int t = 0; t < node->topic_count; t++) {
    const struct topic *topic = node->topics[t];
    for (int32_t i = 0; i < topic->partition_count; i++) {
      const struct partition *p = &topic->partitions[i];
      offline += p->leader_id < 0;
      if (p->leader != NULL) {
        led++;
        under += p->isr_count < p->replica_count;
        below_min += p->isr_count < topic_config_i64(&topic->config, TC_MIN_INSYNC_REPLICAS);
      }
      if (p->log != NULL)
        put(out, "sluice_log_size_bytes{topic=\"%s\",partition=\"%d\"} %llu\n", topic->name,
            (int)i, (unsigned long long)plog_size_bytes(p->log));
    }
  }
  put(out, "# TYPE sluice_partitions_led gauge\nsluice_partitions_led %llu\n",
      (unsigned long long)led);
  put(out,
      "# HELP sluice_under_replicated_partitions Partitions led here whose ISR is short of "
      "their replicas.\n"
      "# TYPE sluice_under_replicated_partitions gauge\nsluice_under_replicated_partitions "
      "%llu\n",
      (unsigned long long)under);
  put(out,
      "# TYPE sluice_under_min_isr_partitions gauge\nsluice_under_min_isr_partitions %llu\n",
      (unsigned long long)below_min);
  put(out,
      "# HELP sluice_offline_partitions Partitions with no leader in the cluster.\n"
      "# TYPE sluice_offline_partitions gauge\nsluice_offline_partitions %llu\n",
      (unsigned long long)offline);
}

void metrics_render(const struct node *node, struct buf *out) {
  ASSERT(node != NULL && out != NULL);
  const struct metrics *m = &node->metrics;
  render_api(m, out);
  put(out, "# TYPE sluice_response_bytes_total counter\nsluice_response_bytes_total %llu\n",
      (unsigned long long)m->response_bytes);
  put(out,
      "# HELP sluice_isr_shrinks_total ISR shrinks this broker proposed as a leader.\n"
      "# TYPE sluice_isr_shrinks_total counter\nsluice_isr_shrinks_total %llu\n",
      (unsigned long long)m->isr_shrinks);
  put(out,
      "# HELP sluice_isr_expands_total ISR expansions this broker proposed as a leader.\n"
      "# TYPE sluice_isr_expands_total counter\nsluice_isr_expands_total %llu\n",
      (unsigned long long)m->isr_expands);
  put(out,
      "# HELP sluice_active_controller 1 on the active controller.\n"
      "# TYPE sluice_active_controller gauge\nsluice_active_controller %d\n",
      node->controller != NULL && controller_quorum_is_active(node->controller) ? 1 : 0);
  render_partitions(node, out);
  render_topics(node, out);
}
