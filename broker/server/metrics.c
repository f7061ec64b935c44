#include "server/metrics.h"

#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "log/log.h"
#include "proto/api.h"
#include "server/controller_quorum.h"
#include "server/group_coordinator.h"
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
    if (us <= BUCKET_US[i]) {
      a->latency_buckets[i]++; /* the first bucket that holds it */
      return;
    }
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
    uint64_t below = 0; /* cumulative, as Prometheus's le */
    for (int i = 0; i < METRICS_LATENCY_BUCKETS; i++) {
      below += a->latency_buckets[i];
      seconds(le, sizeof le, BUCKET_US[i]);
      put(out, "sluice_request_latency_seconds_bucket{api=\"%s\",le=\"%s\"} %llu\n", name, le,
          (unsigned long long)below);
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

static void put_text(struct buf *out, const char *s) { buf_append(out, s, strlen(s)); }

/* A label value as the text format wants it: backslash, double quote and
 * newline escaped (a group id is the client's choice). */
static void put_label(struct buf *out, const char *s) {
  for (; *s; s++) {
    if (*s == '\\' || *s == '"') {
      char e[2] = {'\\', *s};
      buf_append(out, e, 2);
    } else if (*s == '\n') {
      buf_append(out, "\\n", 2);
    } else {
      buf_append(out, s, 1);
    }
  }
}

static const struct partition *local_partition(const struct node *node, const char *topic,
                                               int32_t index) {
  const struct topic *t = topic_find(node, topic, strlen(topic));
  return t && index >= 0 && index < t->partition_count ? &t->partitions[index] : NULL;
}

/* One group's committed offsets, and its lag where a replica here knows
 * the partition's high watermark (the leader's own; a follower's, which
 * trails it by a fetch). Returns the series written. */
static int32_t render_group_offsets(const struct node *node, const struct group *g,
                                    int32_t budget, struct buf *committed, struct buf *lag,
                                    int64_t *lag_sum, bool *judged) {
  int32_t n = 0;
  for (int32_t i = 0; i < g->offset_count && n < budget; i++, n++) {
    const struct group_offset *o = &g->offsets[i];
    char tail[GROUP_TOPIC_BYTES_MAX + 64];
    str_fmt(tail, sizeof tail, "\",topic=\"%s\",partition=\"%d\"} ", o->topic,
            (int)o->partition);
    put_text(committed, "sluice_consumer_group_committed_offset{group=\"");
    put_label(committed, g->id);
    put(committed, "%s%lld\n", tail, (long long)o->offset);
    const struct partition *p = local_partition(node, o->topic, o->partition);
    if (p == NULL || !partition_hosted(p) || (p->leader && p->follower)) continue;
    int64_t hw = partition_high_watermark(p);
    int64_t behind = hw > o->offset ? hw - o->offset : 0;
    put_text(lag, "sluice_consumer_group_lag{group=\"");
    put_label(lag, g->id);
    put(lag, "%s%lld\n", tail, (long long)behind);
    *lag_sum += behind;
    *judged = true;
  }
  return n;
}

/* Consumer groups this broker coordinates: members by state, committed
 * offsets, and lag (bounded: METRICS_GROUP_SERIES_MAX offsets a scrape). */
static void render_groups(const struct node *node, struct buf *out) {
  if (node->groups == NULL) return;
  const struct group_coordinator *gc = &node->groups->gc;
  struct buf committed, lag, sums;
  buf_init(&committed);
  buf_init(&lag);
  buf_init(&sums);
  int32_t budget = METRICS_GROUP_SERIES_MAX;
  uint64_t dropped = 0;
  put(out, "# HELP sluice_consumer_group_members Members of each group this broker "
           "coordinates, by state.\n# TYPE sluice_consumer_group_members gauge\n");
  for (int32_t i = 0; i < gc->group_count; i++) {
    const struct group *g = gc->groups[i];
    put_text(out, "sluice_consumer_group_members{group=\"");
    put_label(out, g->id);
    put(out, "\",state=\"%s\"} %d\n", group_state_name(g->state), (int)g->member_count);
    int64_t sum = 0;
    bool judged = false;
    int32_t n = render_group_offsets(node, g, budget, &committed, &lag, &sum, &judged);
    budget -= n;
    dropped += (uint64_t)(g->offset_count - n);
    if (!judged) continue;
    put_text(&sums, "sluice_consumer_group_lag_sum{group=\"");
    put_label(&sums, g->id);
    put(&sums, "\"} %lld\n", (long long)sum);
  }
  put(out, "# HELP sluice_consumer_group_committed_offset The group's committed offset.\n"
           "# TYPE sluice_consumer_group_committed_offset gauge\n");
  buf_append(out, committed.data, committed.len);
  put(out, "# HELP sluice_consumer_group_lag Records between the committed offset and the "
           "high watermark a replica here knows.\n# TYPE sluice_consumer_group_lag gauge\n");
  buf_append(out, lag.data, lag.len);
  put(out, "# TYPE sluice_consumer_group_lag_sum gauge\n");
  buf_append(out, sums.data, sums.len);
  put(out,
      "# HELP sluice_metrics_series_dropped Group offsets left out of this scrape "
      "(past %d).\n# TYPE sluice_metrics_series_dropped gauge\nsluice_metrics_series_dropped "
      "%llu\n",
      METRICS_GROUP_SERIES_MAX, (unsigned long long)dropped);
  buf_free(&committed);
  buf_free(&lag);
  buf_free(&sums);
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
  render_groups(node, out);
}
