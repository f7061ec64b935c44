/* The follower's side of a partition (server/replication.h): while this
 * node follows, the partition is on the replica fetcher (replica/fetcher.h)
 * of its leader's broker, which copies the leader's log into this one.
 *
 * - Reconciliation (KIP-101, KIP-279): before its first fetch in a leader
 *   epoch, and on a DivergingEpoch in a Fetch response, the follower cuts
 *   what the leader does not hold: to min(the leader's end of the epoch,
 *   its own end of that epoch), asking again when it does not know the
 *   leader's epoch.
 * - Batches are appended as the leader stored them (plog_append_replica:
 *   same offsets, epochs, CRCs). In fsync-before-ack mode the follower
 *   fsyncs them before its next Fetch, so the offset it reports is on its
 *   disk.
 * - Its high watermark is the leader's, capped at what it holds; the
 *   leader's log start offset moves its own (retention, DeleteRecords).
 *
 * The node keeps one fetcher per leader broker (struct replica_fetchers),
 * made when its first partition comes and freed with its last. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "meta/image.h"
#include "proto/errors.h"
#include "replica/fetcher.h"
#include "server/replication.h"
#include "server/server.h"

enum {
  FETCHERS_MAX = 4096, /* one per leader broker (node ids are int32; a cluster has fewer) */
  FOLLOWER_CHANNEL_IN_FLIGHT_MAX = 2,
};

struct replica_follower {
  struct node *node;
  struct partition *p;           /* NULL once the role ended while a flush was in flight */
  struct fetcher *fetcher;       /* NULL: the leader's endpoint was not in the image */
  int64_t leader_high_watermark; /* from its last Fetch response; -1: none yet */
  bool flush_in_flight;          /* fsync-before-ack: no Fetch until it completes */
  bool stopped;                  /* a storage error: no more fetching */
};

struct replica_fetchers {
  struct fetcher *by_leader[FETCHERS_MAX]; /* sorted by leader id */
  int32_t count;
};

/* ---- configuration ---- */

static int32_t config_int(const struct node *node, const char *name, int32_t fallback) {
  char text[32];
  bool set;
  if (!config_value(&node->cfg, name, text, sizeof text, &set)) return fallback;
  int64_t v;
  if (!str_to_i64(text, &v) || v < 0 || v > INT32_MAX) return fallback;
  return (int32_t)v;
}

static void fetcher_config_for(const struct node *node, struct fetcher_config *out) {
  const struct config *cfg = &node->cfg;
  memset(out, 0, sizeof *out);
  out->replica_id = node_id(node);
  out->max_wait_ms = config_int(node, "replica.fetch.wait.max.ms", 500);
  out->min_bytes = config_int(node, "replica.fetch.min.bytes", 1);
  out->partition_max_bytes =
      cfg->replica_fetch_max_bytes > 0 ? cfg->replica_fetch_max_bytes : 1;
  out->response_max_bytes = config_int(node, "replica.fetch.response.max.bytes", 10485760);
  if (out->response_max_bytes < 1) out->response_max_bytes = 1;
  out->backoff_ms = config_int(node, "replica.fetch.backoff.ms", 1000);
  out->channel.reconnect_backoff_ms = (uint32_t)cfg->reconnect_backoff_ms;
  out->channel.reconnect_backoff_max_ms =
      (uint32_t)(cfg->reconnect_backoff_max_ms > cfg->reconnect_backoff_ms
                     ? cfg->reconnect_backoff_max_ms
                     : cfg->reconnect_backoff_ms);
  /* replica.socket.timeout.ms; it must outlast the leader's long poll. */
  int32_t timeout_ms = config_int(node, "replica.socket.timeout.ms", 30000);
  if (timeout_ms <= out->max_wait_ms) timeout_ms = out->max_wait_ms + 1000;
  out->channel.request_timeout_ms = (uint32_t)timeout_ms;
  out->channel.in_flight_max = FOLLOWER_CHANNEL_IN_FLIGHT_MAX;
}

/* ---- what the fetcher asks of a partition ---- */

static void storage_failed(struct replica_follower *rf, const char *what, int err) {
  struct partition *p = rf->p;
  env_log(rf->node->env, ENV_LOG_ERROR,
          "%s-%d: %s failed (error %d); the replica stops fetching", p->topic->name, p->index,
          what, err);
  rf->stopped = true;
}

static void on_flushed(void *ctx, int err);

static bool follower_position(void *owner, struct fetcher_position *out) {
  struct replica_follower *rf = owner;
  ASSERT(rf->p != NULL && rf->p->follower == rf);
  struct plog *log = rf->p->log;
  if (rf->stopped || rf->flush_in_flight || plog_offline(log)) return false;
#ifdef SLUICE_MUTANT_FOLLOWER_REPORTS_UNFLUSHED /* mutant: reports an unflushed end */
  if (false) {
#else
  if (partition_flushes_before_ack(rf->p) && plog_recovery_point(log) < plog_end_offset(log)) {
#endif
    /* Appended under an earlier role whose flush may still be running
     * (its completion is the old role's): the offset a Fetch reports must
     * be on disk, or the leader counts this replica for acks=all before it
     * holds the batch, so the Fetch waits for a flush of its own. */
    rf->flush_in_flight = true;
    plog_flush(log, on_flushed, rf);
    return false;
  }
  out->fetch_offset = plog_end_offset(log);
  out->last_fetched_epoch = plog_latest_epoch(log);
  out->log_start_offset = plog_start_offset(log);
  return true;
}

/* Cuts the log to `offset` if it holds more. */
static void cut(struct replica_follower *rf, int64_t offset) {
  struct partition *p = rf->p;
  if (offset >= plog_end_offset(p->log)) return;
#ifdef SLUICE_MUTANT_FOLLOWER_SKIPS_TRUNCATION /* mutant: diverged records are kept */
  return;
#endif
  int64_t end = -1;
  int rc = plog_truncate_to(p->log, offset, &end);
  if (rc != 0) {
    storage_failed(rf, "truncation", rc);
    return;
  }
  env_log(rf->node->env, ENV_LOG_INFO, "%s-%d: truncated to %lld (leader %d, epoch %d)",
          p->topic->name, p->index, (long long)end, p->leader_id, p->leader_epoch);
  partition_wake_waiters(rf->node, p);
}

static int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }

/* KIP-279's rule, applied to the leader's (epoch, end offset). */
static enum fetcher_next follower_truncate(void *owner, int16_t error_code, int32_t epoch,
                                           int64_t end_offset) {
  struct replica_follower *rf = owner;
  ASSERT(rf->p != NULL && rf->p->follower == rf);
  if (error_code != KERR_NONE) return FETCHER_TRUNCATE_LATER; /* a new image re-begins */
  if (rf->stopped) return FETCHER_BACKOFF;
  /* The leader knows no such epoch: nothing to compare; a later Fetch's
   * DivergingEpoch catches what differs. */
  if (end_offset < 0) return FETCHER_FETCH;
  struct plog *log = rf->p->log;
  int64_t leo = plog_end_offset(log);
  if (epoch < 0) {
    cut(rf, min_i64(end_offset, leo));
    return FETCHER_FETCH;
  }
  int32_t own_epoch;
  int64_t own_end;
  plog_end_offset_for_epoch(log, epoch, &own_epoch, &own_end);
  if (own_epoch < 0) {
    cut(rf, min_i64(end_offset, leo));
    return FETCHER_FETCH;
  }
  if (own_epoch != epoch) {
    /* We never had the leader's epoch: cut to the end of the older one we
     * had, and ask again with it. */
    cut(rf, own_end);
    return rf->stopped ? FETCHER_BACKOFF : FETCHER_TRUNCATE;
  }
  cut(rf, min_i64(end_offset, own_end));
  return FETCHER_FETCH;
}

static void on_flushed(void *ctx, int err) {
  struct replica_follower *rf = ctx;
  ASSERT(rf->flush_in_flight);
  rf->flush_in_flight = false;
  if (rf->p == NULL) { /* the role ended meanwhile */
    free(rf);
    return;
  }
  if (err != 0) storage_failed(rf, "flush", err);
  partition_wake_waiters(rf->node, rf->p);
  if (rf->fetcher) fetcher_wake(rf->fetcher);
}

/* Kafka's out-of-range handling: a follower behind the leader's log start
 * starts over there (the leader deleted what it lacks); one ahead of the
 * leader reconciles by epochs. */
static enum fetcher_next out_of_range(struct replica_follower *rf, int64_t leader_start) {
  struct plog *log = rf->p->log;
  if (leader_start >= 0 && plog_end_offset(log) < leader_start) {
    int rc = plog_truncate_fully(log, leader_start);
    if (rc != 0) {
      storage_failed(rf, "truncation", rc);
      return FETCHER_BACKOFF;
    }
    env_log(rf->node->env, ENV_LOG_INFO,
            "%s-%d: behind the leader's log start: restarts at %lld", rf->p->topic->name,
            rf->p->index, (long long)leader_start);
    return FETCHER_FETCH;
  }
  return FETCHER_TRUNCATE_LATER;
}

/* 0, or FETCHER_* + 1 when the append decided what comes next. */
static int append(struct replica_follower *rf, const struct fetcher_partition_data *d) {
  struct partition *p = rf->p;
  struct plog_append_info info;
  int64_t now_ms = (int64_t)(rf->node->env->now_ns(rf->node->env) / NS_PER_MS);
  int rc = plog_append_replica(p->log, d->records, d->records_len, now_ms, &info);
  if (rc == 0) return 0;
  if (rc == PLOG_EEPOCH) return FETCHER_TRUNCATE + 1;
  if (rc == PLOG_EGAP || rc == PLOG_EOVERLAP) return FETCHER_FETCH + 1; /* moved meanwhile */
  if (rc == PLOG_ECORRUPT || rc == ENV_EINVAL) {
    env_log(rf->node->env, ENV_LOG_WARN, "%s-%d: leader %d sent batches we refuse (%d)",
            p->topic->name, p->index, p->leader_id, rc);
    return FETCHER_BACKOFF + 1;
  }
  storage_failed(rf, "append", rc);
  return FETCHER_BACKOFF + 1;
}

/* The leader's log start passed ours (retention, DeleteRecords): ours
 * follows, and the checkpoint keeps it across a restart (KIP-107); the
 * leader's DeleteRecords waits for the start our next Fetch reports. */
static void follower_start_moved(struct replica_follower *rf, int64_t leader_start) {
  int rc = plog_set_start_offset(rf->p->log, leader_start);
  ASSERT(rc == 0); /* the caller checked leader_start <= the end offset */
  node_write_checkpoints(rf->node);
}

static enum fetcher_next follower_data(void *owner, const struct fetcher_partition_data *d) {
  struct replica_follower *rf = owner;
  struct partition *p = rf->p;
  ASSERT(p != NULL && p->follower == rf);
  if (d->error_code == KERR_OFFSET_OUT_OF_RANGE) return out_of_range(rf, d->log_start_offset);
  /* NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH: the
   * next image brings the epoch that re-begins; anything else is retried. */
  if (d->error_code != KERR_NONE) return FETCHER_BACKOFF;
  if (rf->stopped) return FETCHER_BACKOFF;
  if (d->diverging_epoch >= 0)
    return follower_truncate(rf, KERR_NONE, d->diverging_epoch, d->diverging_end_offset);
  bool appended = false;
  if (d->records_len > 0) {
    int next = append(rf, d);
    if (next != 0) return (enum fetcher_next)(next - 1);
    appended = true;
  }
  if (d->high_watermark > rf->leader_high_watermark)
    rf->leader_high_watermark = d->high_watermark;
  int64_t start = plog_start_offset(p->log);
  if (d->log_start_offset > start && d->log_start_offset <= plog_end_offset(p->log))
    follower_start_moved(rf, d->log_start_offset);
  if (appended && partition_flushes_before_ack(p)) {
    /* The offset of the next Fetch must be on disk (see the header). */
    rf->flush_in_flight = true;
    plog_flush(p->log, on_flushed, rf);
  }
  partition_wake_waiters(rf->node, p);
  return FETCHER_FETCH;
}

/* fsync-before-ack: the next Fetch waits for this flush (fetcher.h). */
static bool follower_settling(void *owner) {
  const struct replica_follower *rf = owner;
  return rf->flush_in_flight && !rf->stopped;
}

static const struct fetcher_ops follower_ops = {
    .position = follower_position,
    .settling = follower_settling,
    .truncate = follower_truncate,
    .data = follower_data,
};

/* ---- the node's fetchers ---- */

static int32_t fetcher_slot(const struct replica_fetchers *fs, int32_t leader_id) {
  int32_t i = 0;
  while (i < fs->count && fs->by_leader[i]->leader_id < leader_id) i++;
  return i;
}

static struct fetcher *fetcher_for(struct node *node, int32_t leader_id) {
  if (!node->fetchers) {
    node->fetchers = calloc(1, sizeof *node->fetchers);
    ASSERT(node->fetchers != NULL);
  }
  struct replica_fetchers *fs = node->fetchers;
  int32_t at = fetcher_slot(fs, leader_id);
  if (at < fs->count && fs->by_leader[at]->leader_id == leader_id) return fs->by_leader[at];
  const struct meta_broker *b = node->image ? meta_image_broker(node->image, leader_id) : NULL;
  if (!b || fs->count >= FETCHERS_MAX) {
    env_log(node->env, ENV_LOG_WARN, "no endpoint for leader %d: not fetching from it",
            leader_id);
    return NULL;
  }
  struct fetcher_config cfg;
  fetcher_config_for(node, &cfg);
  struct fetcher *f =
      fetcher_create(&node->net, leader_id, b->host, b->port, &cfg, &follower_ops);
  memmove(&fs->by_leader[at + 1], &fs->by_leader[at], (size_t)(fs->count - at) * sizeof f);
  fs->by_leader[at] = f;
  fs->count++;
  return f;
}

static void fetcher_release(struct node *node, struct fetcher *f) {
  if (fetcher_count(f) > 0) return;
  struct replica_fetchers *fs = node->fetchers;
  int32_t at = fetcher_slot(fs, f->leader_id);
  ASSERT(at < fs->count && fs->by_leader[at] == f);
  memmove(&fs->by_leader[at], &fs->by_leader[at + 1], (size_t)(fs->count - at - 1) * sizeof f);
  fs->count--;
  fetcher_destroy(f);
  if (fs->count == 0) {
    free(fs);
    node->fetchers = NULL;
  }
}

/* ---- the role ---- */

void replica_follow_begin(struct node *node, struct partition *p) {
  ASSERT(node != NULL && p->follower == NULL && partition_hosted(p));
  ASSERT(p->leader_id >= 0 && p->leader_id != node_id(node));
  struct replica_follower *rf = calloc(1, sizeof *rf);
  ASSERT(rf != NULL);
  rf->node = node;
  rf->p = p;
  rf->leader_high_watermark = -1;
  rf->stopped = plog_offline(p->log);
  p->follower = rf;
  rf->fetcher = fetcher_for(node, p->leader_id);
  if (rf->fetcher)
    fetcher_add(rf->fetcher, p->topic->id, kstr_of(p->topic->name), p->index, p->leader_epoch,
                rf);
}

void replica_follow_end(struct node *node, struct partition *p) {
  ASSERT(node != NULL && p->follower != NULL);
  struct replica_follower *rf = p->follower;
  if (rf->fetcher) {
    fetcher_remove(rf->fetcher, p->topic->id, p->index);
    fetcher_release(node, rf->fetcher);
  }
  p->follower = NULL;
  if (rf->flush_in_flight) {
    rf->p = NULL; /* on_flushed frees it */
    rf->fetcher = NULL;
  } else {
    free(rf);
  }
}

void replica_follower_moved(struct partition *p) {
  if (p->follower == NULL) return;
  ASSERT(p->follower->p != NULL);
  p->follower->p = p;
}

int64_t replica_follower_high_watermark(const struct partition *p) {
  ASSERT(p->follower != NULL);
  int64_t local = partition_local_end(p);
  int64_t hw = p->follower->leader_high_watermark;
  /* Until the leader's first answer, nothing past the log start counts as
   * committed here. */
  if (hw < 0) hw = plog_start_offset(p->log);
  return hw < local ? hw : local;
}
