#include "server/quorum_peers.h"

#include <string.h>

#include "base/assert.h"
#include "proto/api.h"
#include "proto/messages_gen.h"
#include "server/server.h"
#include "server/subsystem.h"

static void peer_up(void *ctx, struct channel *ch) {
  (void)ctx, (void)ch; /* the quorum issue starts fetching or voting here */
}

static void peer_down(void *ctx, struct channel *ch, int err) {
  (void)ctx, (void)ch, (void)err; /* ... and stops here */
}

static void probe_answered(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct quorum_peers *q = ctx;
  (void)body, (void)arena;
  if (err == 0) q->stats.probes_answered++;
}

static void encode_probe(struct wr *w, int16_t version, const void *msg) {
  api_versions_request_encode(w, version, msg);
}

static void probe_schedule(struct quorum_peers *q);

static void probe_fired(void *ctx) {
  struct quorum_peers *q = ctx;
  q->probe_timer = 0;
  struct api_versions_request req;
  api_versions_request_init(&req);
  req.client_software_name = kstr_of("sluice");
  req.client_software_version = kstr_of("1");
  for (int i = 0; i < q->count; i++) {
    struct channel *ch = &q->channels[i];
    int16_t v = channel_version(ch, API_API_VERSIONS, 0, 3);
    if (v < 0) continue; /* down, or negotiating */
    if (channel_send(ch, API_API_VERSIONS, v, encode_probe, &req, probe_answered, q) == 0)
      q->stats.probes_sent++;
  }
  probe_schedule(q);
}

static void probe_schedule(struct quorum_peers *q) {
  ASSERT(q->probe_timer == 0);
  q->probe_timer =
      q->env->timer_start(q->env, QUORUM_PROBE_INTERVAL_MS * NS_PER_MS, probe_fired, q);
}

void quorum_peers_start(struct quorum_peers *q, struct net_dispatch *net,
                        const struct config *cfg) {
  memset(q, 0, sizeof *q);
  q->env = net->env;
  struct channel_config cc = {
      .reconnect_backoff_ms = (uint32_t)cfg->reconnect_backoff_ms,
      .reconnect_backoff_max_ms =
          (uint32_t)(cfg->reconnect_backoff_max_ms > cfg->reconnect_backoff_ms
                         ? cfg->reconnect_backoff_max_ms
                         : cfg->reconnect_backoff_ms),
      .request_timeout_ms = (uint32_t)cfg->controller_quorum_request_timeout_ms,
      .in_flight_max = 64,
  };
  struct channel_listener l = {.ctx = q, .up = peer_up, .down = peer_down};
  for (int i = 0; i < cfg->voter_count; i++) {
    const struct config_voter *v = &cfg->voters[i];
    if (v->id == cfg->node_id) continue;
    struct channel *ch = &q->channels[q->count++];
    channel_init(ch, net, v->id, CHANNEL_QUORUM, v->host, v->port, &cc, &l);
    channel_start(ch);
  }
  if (q->count > 0) probe_schedule(q);
  ASSERT(q->count < CONFIG_VOTERS_MAX || cfg->voter_count == CONFIG_VOTERS_MAX);
}

void quorum_peers_stop(struct quorum_peers *q) {
  if (q->probe_timer) q->env->timer_cancel(q->env, q->probe_timer);
  q->probe_timer = 0;
  for (int i = 0; i < q->count; i++) channel_stop(&q->channels[i]);
  q->count = 0;
}

const struct channel *quorum_peers_channel(const struct quorum_peers *q, int32_t id) {
  for (int i = 0; i < q->count; i++)
    if (q->channels[i].peer_id == id) return &q->channels[i];
  return NULL;
}

/* ---- the subsystem (server/subsystem.h) ---- */

static int quorum_start(struct node *node) {
  quorum_peers_start(&node->quorum_peers, &node->net, &node->cfg);
  return 0;
}

static void quorum_shutdown(struct node *node) {
  quorum_peers_stop(&node->quorum_peers);
  node_subsystem_stopped(node);
}

static void quorum_free(struct node *node) { quorum_peers_stop(&node->quorum_peers); }

const struct subsystem subsystem_quorum = {
    .name = "quorum peers",
    .init = NULL,
    .start = quorum_start,
    .shutdown = quorum_shutdown,
    .free = quorum_free,
};
