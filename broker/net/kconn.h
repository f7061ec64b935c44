/* A client's connection to one broker, over env.h: requests go out with
 * correlation ids and the request header their version needs; responses come
 * back in order (Kafka answers a connection's requests in the order sent)
 * and are matched to their callbacks. The connection's events reach it
 * through the node's dispatcher (net/dispatch.h). Used by the simulator's clients and
 * by the nodes' peer channels (net/channel.h).
 *
 * Version negotiation is opt-in (kconn_negotiate): the first request on every
 * new connection is then ApiVersions, as librdkafka and Kafka's NetworkClient
 * send it, and the connection counts as connected (kconn_connected, the
 * watch's err 0) only once the answer is in; kconn_version then picks the
 * highest version both sides serve. */
#ifndef SLUICE_KCONN_H
#define SLUICE_KCONN_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "env.h"
#include "net/dispatch.h"
#include "proto/wire.h"

enum {
  KCONN_IN_FLIGHT_MAX = 1024,
  KCONN_FRAME_BYTES_MAX = 100 * 1024 * 1024,
  KCONN_API_KEYS_MAX = 128,
};

/* The response body (after its header), or err != 0 and body == NULL when
 * the connection failed first. The arena lives until the callback returns. */
typedef void (*kconn_response_fn)(void *ctx, int err, struct rd *body, struct arena *arena);
typedef void (*kconn_encode_fn)(struct wr *w, int16_t version, const void *msg);

struct kconn;

/* Called when the connection comes up (err 0) or fails or closes (err != 0,
 * every request in flight already failed); set after kconn_init. */
struct kconn_watch {
  void *ctx;
  void (*changed)(void *ctx, struct kconn *c, int err);
};

struct kconn_request {
  int32_t correlation_id;
  int16_t api_key;
  int16_t api_version;
  kconn_response_fn fn;
  void *ctx;
  uint64_t sent_ns; /* for request timeouts */
};

struct kconn_version_range {
  int16_t min_version, max_version; /* -1, -1: the peer does not serve it */
};

struct kconn {
  struct env *env;
  struct net_dispatch *net;
  char host[128];
  uint16_t port;
  char client_id[64];
  env_conn_id id; /* 0 while not connected */
  struct kconn_watch watch;
  bool connecting;
  bool negotiate;   /* ApiVersions first on each new connection (kconn_negotiate) */
  bool negotiating; /* that ApiVersions is in flight: not connected yet */
  struct kconn_version_range versions[KCONN_API_KEYS_MAX]; /* the last answer's */
  int32_t next_correlation_id;
  struct kconn_request in_flight[KCONN_IN_FLIGHT_MAX]; /* a ring, oldest first */
  int head;
  int count;
};

/* The connection is made through (and owned via) the dispatcher. */
void kconn_init(struct kconn *c, struct net_dispatch *net, const char *host, uint16_t port,
                const char *client_id);
/* Fails every request in flight with ENV_ECONNRESET and closes. */
void kconn_close(struct kconn *c);
bool kconn_connected(const struct kconn *c);
/* Starts connecting if not connected (ENV_* on immediate failure). */
int kconn_connect(struct kconn *c);
/* Encodes and sends a request; fn is called with the response, or with an
 * error if the connection fails first. fn NULL: no response is expected
 * (Produce with acks=0). Returns 0 or ENV_E* (not connected, too many in
 * flight, send failed); fn is not called then. */
int kconn_send(struct kconn *c, int16_t api_key, int16_t api_version, kconn_encode_fn encode,
               const void *msg, kconn_response_fn fn, void *ctx);
int kconn_in_flight(const struct kconn *c);
/* Its owner is going away: the responses of requests made with ctx are
 * read and dropped, their callbacks never run. */
void kconn_forget(struct kconn *c, void *ctx);

/* When the oldest request in flight was sent (0: none in flight). */
uint64_t kconn_oldest_sent_ns(const struct kconn *c);
/* Fails every request in flight with err and closes (a request timeout). */
void kconn_fail(struct kconn *c, int err);

void kconn_watch(struct kconn *c, const struct kconn_watch *watch);

/* From the next connection on, ApiVersions goes first (v3; a peer that
 * serves an older one answers in v0 with its ranges, KIP-511) and the
 * connection is up when its answer is in; a bad answer closes it with
 * ENV_EINVAL. */
void kconn_negotiate(struct kconn *c, bool on);
/* The highest version of api_key within [ours_min, ours_max] that the peer
 * serves, by the last negotiation; -1 if none, or if nothing was negotiated. */
int16_t kconn_version(const struct kconn *c, int16_t api_key, int16_t ours_min,
                      int16_t ours_max);

#endif
