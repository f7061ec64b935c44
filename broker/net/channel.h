/* A peer channel: one node's connection to another node for one purpose
 * (the controller quorum, a partition leader), kept up for as long as its
 * owner wants it.
 *
 * It is a kconn plus what a long-lived peer link needs, as Kafka's
 * NetworkClient does it:
 * - reconnects with exponential backoff and jitter (reconnect.backoff.ms
 *   doubling up to reconnect.backoff.max.ms, +-20% drawn from
 *   env->random_u64, so peers that lost each other do not retry in step);
 * - negotiates versions first (kconn_negotiate): the first request on a new
 *   connection is ApiVersions, and the channel is up only when the answer
 *   came back;
 * - bounds the requests in flight and times them out (request_timeout_ms):
 *   a request that gets no answer in time takes the connection down, which
 *   is how a silent partition is noticed;
 * - tells its owner when it goes up and down.
 * Responses are matched to requests by the kconn underneath. */
#ifndef SLUICE_NET_CHANNEL_H
#define SLUICE_NET_CHANNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "net/kconn.h"

enum channel_state {
  CHANNEL_IDLE,       /* not started, or stopped */
  CHANNEL_CONNECTING, /* TCP connect, then ApiVersions, in flight */
  CHANNEL_UP,
  CHANNEL_BACKOFF, /* down; a reconnect is scheduled */
};

enum channel_purpose { CHANNEL_QUORUM, CHANNEL_LEADER };

struct channel;

struct channel_listener {
  void *ctx;
  void (*up)(void *ctx, struct channel *ch);
  /* err: why (ENV_ECONNREFUSED, ENV_ETIMEDOUT, ENV_ECONNRESET, ...). */
  void (*down)(void *ctx, struct channel *ch, int err);
};

struct channel_config {
  uint32_t reconnect_backoff_ms;     /* Kafka's reconnect.backoff.ms: 50 */
  uint32_t reconnect_backoff_max_ms; /* reconnect.backoff.max.ms: 1000 */
  uint32_t request_timeout_ms;       /* e.g. controller.quorum.request.timeout.ms: 2000 */
  int in_flight_max;                 /* <= KCONN_IN_FLIGHT_MAX */
};

struct channel_stats {
  uint64_t connects; /* attempts */
  uint64_t ups, downs;
  uint64_t timeouts;
  uint64_t requests;
  uint32_t last_backoff_ms;
};

struct channel {
  struct env *env;
  int32_t peer_id;
  enum channel_purpose purpose;
  char name[48]; /* "quorum channel to node 2", for logs */
  struct channel_config cfg;
  struct channel_listener listener;
  struct kconn conn;
  enum channel_state state;
  uint32_t failures; /* in a row, since the last time it was up */
  env_timer_id reconnect_timer;
  env_timer_id timeout_timer;
  struct channel_stats stats;
};

void channel_init(struct channel *ch, struct net_dispatch *net, int32_t peer_id,
                  enum channel_purpose purpose, const char *host, uint16_t port,
                  const struct channel_config *cfg, const struct channel_listener *listener);
/* Connects now, and keeps reconnecting until channel_stop. */
void channel_start(struct channel *ch);
/* Closes; requests in flight fail with ENV_ECONNRESET; no more `up` or
 * `down` after it returns. */
void channel_stop(struct channel *ch);
bool channel_is_up(const struct channel *ch);
/* The highest version both sides serve within [ours_min, ours_max], or -1. */
int16_t channel_version(const struct channel *ch, int16_t api_key, int16_t ours_min,
                        int16_t ours_max);
/* Sends a request on an up channel (ENV_ECONNREFUSED when it is not, ENV_ENOMEM
 * when in_flight_max are in flight). fn gets the response or the error that
 * took the connection down. */
int channel_send(struct channel *ch, int16_t api_key, int16_t api_version,
                 kconn_encode_fn encode, const void *msg, kconn_response_fn fn, void *ctx);
const char *channel_state_name(enum channel_state state);

#endif
