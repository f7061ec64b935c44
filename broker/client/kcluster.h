/* A client's view of the cluster, as librdkafka and Kafka's NetworkClient
 * keep one: a bootstrap list of every broker's client endpoint, then the
 * brokers and each partition's leader from Metadata, so producers and
 * consumers send each partition's requests to its leader over one
 * connection per broker (kclient_conn).
 *
 * Metadata is asked of a connected broker (the known brokers first, then
 * the bootstrap list, rotating after a failure), one request at a time. A
 * refresh is asked for after NOT_LEADER_OR_FOLLOWER and its kin or a lost
 * connection (kcluster_refresh), never sooner than retry.backoff.ms after
 * the last one, and every metadata.max.age.ms anyway; one unanswered
 * within request.timeout.ms fails its connection and the next broker is
 * asked. Listeners hear of each answer. Bounded: KCLUSTER_BROKERS_MAX brokers,
 * KCLUSTER_TOPICS_MAX topics of KCLUSTER_PARTITIONS_MAX partitions. */
#ifndef SLUICE_KCLUSTER_H
#define SLUICE_KCLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "client/kclient.h"

enum {
  KCLUSTER_BROKERS_MAX = KCLIENT_CONNS_MAX,
  KCLUSTER_TOPICS_MAX = 8,
  KCLUSTER_PARTITIONS_MAX = 64,
  KCLUSTER_LISTENERS_MAX = 16,
  KCLUSTER_HOST_BYTES = 128,
  KCLUSTER_REQUEST_TIMEOUT_MS = 30000, /* request.timeout.ms, Kafka's default */
};

struct kcluster_endpoint {
  int32_t id; /* -1: a bootstrap address */
  char host[KCLUSTER_HOST_BYTES];
  uint16_t port;
};

struct kcluster_topic {
  char name[250];
  struct kuuid id;
  bool known; /* the last answer listed it without error */
  int32_t partition_count;
  int32_t leaders[KCLUSTER_PARTITIONS_MAX]; /* -1: none known */
  int32_t leader_epochs[KCLUSTER_PARTITIONS_MAX];
};

struct kcluster_listener {
  void *ctx;
  void (*updated)(void *ctx); /* a Metadata answer came in */
};

struct kcluster {
  struct env *env;
  struct kclient *kc;
  char client_id[64];
  int64_t retry_backoff_ms; /* retry.backoff.ms */
  int64_t max_age_ms;       /* metadata.max.age.ms */
  struct kcluster_endpoint bootstrap[KCLUSTER_BROKERS_MAX];
  int bootstrap_count;
  struct kcluster_endpoint brokers[KCLUSTER_BROKERS_MAX]; /* the last answer's, by id */
  int broker_count;
  struct kcluster_topic topics[KCLUSTER_TOPICS_MAX];
  int topic_count;
  struct kcluster_listener listeners[KCLUSTER_LISTENERS_MAX];
  int listener_count;
  bool asking;         /* a Metadata request in flight */
  struct kconn *asked; /* on this connection */
  int16_t asked_version;
  bool wanted;        /* a refresh is due as soon as the backoff allows */
  uint64_t last_ns;   /* when the last request went out (0: never) */
  env_timer_id timer; /* the next refresh (backoff or max age) */
  uint64_t timer_due_ns;
  uint32_t rotation; /* the candidate to try first */
  bool rotate;       /* the last Metadata failed: the next goes to the next candidate */
  uint64_t refreshes, answers;
};

void kcluster_init(struct kcluster *k, struct env *env, struct kclient *kc,
                   const char *client_id, int64_t retry_backoff_ms, int64_t max_age_ms);
void kcluster_free(struct kcluster *k);
void kcluster_add_bootstrap(struct kcluster *k, const char *host, uint16_t port);
/* A topic whose partitions' leaders are wanted; asks for a refresh. */
void kcluster_add_topic(struct kcluster *k, const char *name);
void kcluster_listen(struct kcluster *k, const struct kcluster_listener *l);
void kcluster_unlisten(struct kcluster *k, void *ctx);
/* The metadata is stale: refresh as soon as retry.backoff.ms allows. */
void kcluster_refresh(struct kcluster *k);
/* The partition's leader by the last answer; -1: none known. */
int32_t kcluster_leader(const struct kcluster *k, const char *topic, int32_t partition);
int32_t kcluster_leader_epoch(const struct kcluster *k, const char *topic, int32_t partition);
const struct kcluster_topic *kcluster_topic(const struct kcluster *k, const char *name);
/* The same for a topic found once (t NULL: not wanted), so a caller that
 * asks of many partitions does not look the name up for each. */
int32_t kcluster_topic_leader(const struct kcluster_topic *t, int32_t partition);
int32_t kcluster_topic_leader_epoch(const struct kcluster_topic *t, int32_t partition);
/* The connection to broker id (made on first use); NULL if the last
 * answer did not list it. */
struct kconn *kcluster_broker_conn(struct kcluster *k, int32_t id);
/* A connection for a request any broker answers (InitProducerId, admin
 * calls): the first connected one from the rotation on (it stays first),
 * else the rotation's, connecting. next (the last one failed): the next
 * candidate in the rotation, connected or not (the caller waits for it). */
struct kconn *kcluster_any_conn(struct kcluster *k, bool next);

#endif
