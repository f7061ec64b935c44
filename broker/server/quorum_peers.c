#include "server/quorum_peers.h"

#include <string.h>

#include "base/assert.h"

enum { QUORUM_IN_FLIGHT_MAX = 64 };

void quorum_peers_start(struct quorum_peers *q, struct net_dispatch *net,
                        const struct config *cfg, const struct channel_listener *listener) {
  ASSERT(cfg->voter_count >= 0 && cfg->voter_count <= CONFIG_VOTERS_MAX);
  /* Only channels[0..count) are used, and channel_init clears each one:
   * zeroing all CONFIG_VOTERS_MAX channels per start cost more. */
  q->count = 0;
  struct channel_config cc = {
      .reconnect_backoff_ms = (uint32_t)cfg->reconnect_backoff_ms,
      .reconnect_backoff_max_ms =
          (uint32_t)(cfg->reconnect_backoff_max_ms > cfg->reconnect_backoff_ms
                         ? cfg->reconnect_backoff_max_ms
                         : cfg->reconnect_backoff_ms),
      .request_timeout_ms = (uint32_t)cfg->controller_quorum_request_timeout_ms,
      .in_flight_max = QUORUM_IN_FLIGHT_MAX,
  };
  for (int i = 0; i < cfg->voter_count; i++) {
    const struct config_voter *v = &cfg->voters[i];
    if (v->id == cfg->node_id) continue;
    struct channel *ch = &q->channels[q->count++];
    channel_init(ch, net, v->id, CHANNEL_QUORUM, v->host, v->port, &cc, listener);
    channel_start(ch);
  }
  ASSERT(q->count <= cfg->voter_count);
}

void quorum_peers_stop(struct quorum_peers *q) {
  ASSERT(q->count >= 0 && q->count <= CONFIG_VOTERS_MAX);
  for (int i = 0; i < q->count; i++) channel_stop(&q->channels[i]);
  q->count = 0;
}

struct channel *quorum_peers_channel(struct quorum_peers *q, int32_t id) {
  for (int i = 0; i < q->count; i++)
    if (q->channels[i].peer_id == id) return &q->channels[i];
  return NULL;
}

const struct channel *quorum_peers_channel_const(const struct quorum_peers *q, int32_t id) {
  for (int i = 0; i < q->count; i++)
    if (q->channels[i].peer_id == id) return &q->channels[i];
  return NULL;
}
