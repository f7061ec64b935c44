#include "client/quorum_status.h"

#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "meta/records.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/files.h"

enum { DESCRIBE_QUORUM_VERSION_MAX = 2, DESCRIBE_CLUSTER_VERSION_MAX = 1 };

static void finish(struct quorum_query *q, int err, const char *why) {
  ASSERT(!q->finished);
  q->finished = true;
  kconn_watch(q->conn, &(struct kconn_watch){0});
  q->done(q->ctx, err, err == 0 ? &q->status : NULL, why);
}

static void replica_copy(const struct describe_quorum_response_replica_state *in,
                         struct quorum_replica *out) {
  memset(out, 0, sizeof *out);
  out->id = in->replica_id;
  if (!uuid_is_zero(in->replica_directory_id))
    uuid_to_string(in->replica_directory_id, out->directory_id);
  out->log_end_offset = in->log_end_offset;
  out->last_fetch_ms = in->last_fetch_timestamp;
  out->last_caught_up_ms = in->last_caught_up_timestamp;
}

/* v2's endpoint of node `id`, as NAME://host:port; false when absent. */
static bool endpoint_of(const struct describe_quorum_response *r, int32_t id, char *out,
                        size_t cap, char *host, size_t host_cap, uint16_t *port) {
  for (int32_t i = 0; i < r->nodes_count; i++) {
    if (r->nodes[i].node_id != id || r->nodes[i].listeners_count < 1) continue;
    const struct describe_quorum_response_listener *l = &r->nodes[i].listeners[0];
    str_fmt(out, cap, "%.*s://%.*s:%u", (int)l->name.len, l->name.ptr, (int)l->host.len,
            l->host.ptr, l->port);
    str_fmt(host, host_cap, "%.*s", (int)l->host.len, l->host.ptr);
    *port = l->port;
    return true;
  }
  return false;
}

static void connect_to(struct quorum_query *q, const char *host, uint16_t port);

static bool take_partition(struct quorum_query *q, const struct describe_quorum_response *r,
                           char *why, size_t cap) {
  if (r->error_code != KERR_NONE || r->topics_count != 1 ||
      r->topics[0].partitions_count != 1) {
    str_fmt(why, cap, "DescribeQuorum failed: %s", kerr_name(r->error_code));
    return false;
  }
  const struct describe_quorum_response_partition_data *p = &r->topics[0].partitions[0];
  struct quorum_status *s = &q->status;
  s->leader_id = p->leader_id;
  s->leader_epoch = p->leader_epoch;
  s->high_watermark = p->high_watermark;
  char host[128];
  uint16_t port = 0;
  if (p->error_code == KERR_NOT_LEADER_OR_FOLLOWER && p->leader_id >= 0 &&
      q->hops < QUORUM_STATUS_HOPS_MAX) {
    char endpoint[200];
    if (endpoint_of(r, p->leader_id, endpoint, sizeof endpoint, host, sizeof host, &port)) {
      connect_to(q, host, port); /* ask the leader */
      return true;
    }
  }
  if (p->error_code != KERR_NONE) {
    str_fmt(why, cap, "DescribeQuorum failed: %s (leader %d, epoch %d)",
            kerr_name(p->error_code), p->leader_id, p->leader_epoch);
    return false;
  }
  s->voter_count = s->observer_count = 0;
  for (int32_t i = 0; i < p->current_voters_count && i < QUORUM_STATUS_REPLICAS_MAX; i++) {
    struct quorum_replica *v = &s->voters[s->voter_count++];
    replica_copy(&p->current_voters[i], v);
    endpoint_of(r, v->id, v->endpoint, sizeof v->endpoint, host, sizeof host, &port);
  }
  for (int32_t i = 0; i < p->observers_count && i < QUORUM_STATUS_REPLICAS_MAX; i++)
    replica_copy(&p->observers[i], &s->observers[s->observer_count++]);
  finish(q, 0, "");
  return true;
}

static void quorum_answered(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct quorum_query *q = ctx;
  char why[300];
  struct describe_quorum_response r;
  if (err != 0) {
    str_fmt(why, sizeof why, "connection to %s:%u failed: error %d", q->conn->host,
            q->conn->port, err);
  } else if (!describe_quorum_response_decode(body, q->quorum_version, &r, arena)) {
    str_fmt(why, sizeof why, "malformed DescribeQuorum response");
    err = ENV_EINVAL;
  } else if (take_partition(q, &r, why, sizeof why)) {
    return;
  } else {
    err = ENV_EINVAL;
  }
  finish(q, err, why);
}

static void encode_quorum(struct wr *w, int16_t version, const void *msg) {
  describe_quorum_request_encode(w, version, msg);
}

static void send_quorum(struct quorum_query *q) {
  int16_t v = kconn_version(q->conn, API_DESCRIBE_QUORUM, 0, DESCRIBE_QUORUM_VERSION_MAX);
  if (v < 0) {
    char why[300];
    str_fmt(why, sizeof why,
            "%s:%u does not serve DescribeQuorum (a broker's client listener does not: use "
            "--bootstrap-controller with a controller listener)",
            q->conn->host, q->conn->port);
    finish(q, ENV_EINVAL, why);
    return;
  }
  q->quorum_version = v;
  struct describe_quorum_request req;
  struct describe_quorum_request_topic_data t;
  struct describe_quorum_request_partition_data p;
  describe_quorum_request_init(&req);
  describe_quorum_request_topic_data_init(&t);
  describe_quorum_request_partition_data_init(&p);
  p.partition_index = META_LOG_PARTITION;
  t.topic_name = KSTR_LIT(META_LOG_TOPIC);
  t.partitions = &p;
  t.partitions_count = 1;
  req.topics = &t;
  req.topics_count = 1;
  int rc = kconn_send(q->conn, API_DESCRIBE_QUORUM, v, encode_quorum, &req, quorum_answered, q);
  if (rc != 0) finish(q, rc, "cannot send DescribeQuorum");
}

static void cluster_answered(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct quorum_query *q = ctx;
  struct describe_cluster_response r;
  int16_t v = kconn_version(q->conn, API_DESCRIBE_CLUSTER, 0, DESCRIBE_CLUSTER_VERSION_MAX);
  if (err == 0 && describe_cluster_response_decode(body, v, &r, arena) &&
      r.error_code == KERR_NONE && r.cluster_id.len > 0)
    str_fmt(q->status.cluster_id, sizeof q->status.cluster_id, "%.*s", (int)r.cluster_id.len,
            r.cluster_id.ptr);
  if (err != 0) {
    finish(q, err, "connection failed during DescribeCluster");
    return;
  }
  send_quorum(q);
}

static void encode_cluster(struct wr *w, int16_t version, const void *msg) {
  describe_cluster_request_encode(w, version, msg);
}

/* The connection is up (versions negotiated) or failed. */
static void changed(void *ctx, struct kconn *c, int err) {
  struct quorum_query *q = ctx;
  ASSERT(c == q->conn);
  if (q->finished) return;
  if (err != 0) {
    char why[300];
    str_fmt(why, sizeof why, "cannot reach %s:%u: error %d", c->host, c->port, err);
    finish(q, err, why);
    return;
  }
  int16_t v = kconn_version(c, API_DESCRIBE_CLUSTER, 0, DESCRIBE_CLUSTER_VERSION_MAX);
  if (v < 0 || q->status.cluster_id[0]) {
    send_quorum(q);
    return;
  }
  struct describe_cluster_request req;
  describe_cluster_request_init(&req);
  if (kconn_send(c, API_DESCRIBE_CLUSTER, v, encode_cluster, &req, cluster_answered, q) != 0)
    send_quorum(q);
}

static void connect_to(struct quorum_query *q, const char *host, uint16_t port) {
  ASSERT(q->hops < QUORUM_STATUS_HOPS_MAX);
  q->hops++;
  if (q->conn) kconn_watch(q->conn, &(struct kconn_watch){0});
  q->conn = kclient_conn(q->client, host, port, "sluicectl");
  kconn_watch(q->conn, &(struct kconn_watch){.ctx = q, .changed = changed});
  if (kconn_connected(q->conn)) send_quorum(q); /* an earlier hop's connection */
}

void quorum_query_start(struct quorum_query *q, struct kclient *client, const char *host,
                        uint16_t port, quorum_status_fn done, void *ctx) {
  ASSERT(client != NULL && host != NULL && done != NULL);
  memset(q, 0, sizeof *q);
  q->client = client;
  q->done = done;
  q->ctx = ctx;
  q->status.leader_id = -1;
  q->status.leader_epoch = -1;
  q->status.high_watermark = -1;
  connect_to(q, host, port);
}

static void replicas_text(const struct quorum_replica *r, int n, bool voters, struct buf *out) {
  char item[400];
  buf_append(out, "[", 1);
  for (int i = 0; i < n; i++) {
    size_t len = str_fmt(item, sizeof item, "%s{\"id\": %d", i ? ", " : "", r[i].id);
    if (r[i].directory_id[0])
      len += str_fmt(item + len, sizeof item - len, ", \"directoryId\": \"%s\"",
                     r[i].directory_id);
    if (voters && r[i].endpoint[0])
      len += str_fmt(item + len, sizeof item - len, ", \"endpoints\": [\"%s\"]", r[i].endpoint);
    len += str_fmt(item + len, sizeof item - len, "}");
    buf_append(out, item, len < sizeof item ? len : sizeof item - 1);
  }
  buf_append(out, "]\n", 2);
}

/* MaxFollowerLag and MaxFollowerLagTimeMs as kafka-metadata-quorum computes
 * them: the replica furthest behind the leader's log end offset, and how
 * much longer ago it last caught up than the leader did. */
static void lag(const struct quorum_status *s, int64_t *lag_out, int64_t *lag_ms_out) {
  const struct quorum_replica *leader = NULL, *worst = NULL;
  for (int i = 0; i < s->voter_count; i++)
    if (s->voters[i].id == s->leader_id) leader = &s->voters[i];
  *lag_out = 0;
  *lag_ms_out = 0;
  if (!leader) return;
  for (int i = 0; i < s->voter_count + s->observer_count; i++) {
    const struct quorum_replica *r =
        i < s->voter_count ? &s->voters[i] : &s->observers[i - s->voter_count];
    if (!worst || r->log_end_offset < worst->log_end_offset) worst = r;
  }
  ASSERT(worst != NULL);
  *lag_out = leader->log_end_offset - worst->log_end_offset;
  if (worst == leader) return;
  *lag_ms_out = worst->last_caught_up_ms >= 0 && leader->last_caught_up_ms >= 0
                    ? leader->last_caught_up_ms - worst->last_caught_up_ms
                    : -1;
}

void quorum_status_text(const struct quorum_status *s, struct buf *out) {
  char line[300];
  int64_t max_lag, max_lag_ms;
  lag(s, &max_lag, &max_lag_ms);
  size_t n = str_fmt(line, sizeof line, "ClusterId:              %s\n",
                     s->cluster_id[0] ? s->cluster_id : "(not served by this endpoint)");
  buf_append(out, line, n);
  n = str_fmt(line, sizeof line,
              "LeaderId:               %d\nLeaderEpoch:            %d\n"
              "HighWatermark:          %lld\nMaxFollowerLag:         %lld\n"
              "MaxFollowerLagTimeMs:   %lld\n",
              s->leader_id, s->leader_epoch, (long long)s->high_watermark, (long long)max_lag,
              (long long)max_lag_ms);
  buf_append(out, line, n);
  buf_append(out, "CurrentVoters:          ", 24);
  replicas_text(s->voters, s->voter_count, true, out);
  buf_append(out, "CurrentObservers:       ", 24);
  replicas_text(s->observers, s->observer_count, false, out);
}
