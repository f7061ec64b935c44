/* kafka-metadata-quorum.sh describe --status as a client of the project's
 * own library: DescribeCluster (for the cluster id, where the endpoint
 * serves it) and DescribeQuorum (API 55, KIP-595/KIP-853) over a kclient
 * connection, following a NOT_LEADER_OR_FOLLOWER answer to the leader's
 * endpoint (v2 names every voter's), then the tool's text. */
#ifndef SLUICE_QUORUM_STATUS_H
#define SLUICE_QUORUM_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "client/kclient.h"

enum { QUORUM_STATUS_REPLICAS_MAX = 32, QUORUM_STATUS_HOPS_MAX = 4 };

struct quorum_replica {
  int32_t id;
  char directory_id[23]; /* empty: not known (v0-v1, or a zero id) */
  int64_t log_end_offset;
  int64_t last_fetch_ms;     /* -1: not known */
  int64_t last_caught_up_ms; /* -1: not known */
  char endpoint[200];        /* voters, v2: NAME://host:port */
};

struct quorum_status {
  char cluster_id[64]; /* empty: the endpoint does not serve DescribeCluster */
  int32_t leader_id;
  int32_t leader_epoch;
  int64_t high_watermark;
  struct quorum_replica voters[QUORUM_STATUS_REPLICAS_MAX];
  int voter_count;
  struct quorum_replica observers[QUORUM_STATUS_REPLICAS_MAX];
  int observer_count;
};

/* err 0 with the status, or ENV_E* with the reason in `why`. */
typedef void (*quorum_status_fn)(void *ctx, int err, const struct quorum_status *status,
                                 const char *why);

struct quorum_query {
  struct kclient *client;
  struct kconn *conn;
  quorum_status_fn done;
  void *ctx;
  int hops;               /* connections tried (leader redirects included) */
  int16_t quorum_version; /* of the DescribeQuorum in flight */
  bool finished;
  struct quorum_status status;
};

/* Asks host:port; done runs once (never from inside this call). */
void quorum_query_start(struct quorum_query *q, struct kclient *client, const char *host,
                        uint16_t port, quorum_status_fn done, void *ctx);

/* The tool's --status text, one "Label:  value" line each. */
void quorum_status_text(const struct quorum_status *s, struct buf *out);

#endif
