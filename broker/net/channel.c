#include "net/channel.h"

#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"

enum {
  JITTER_PERMILLE = 200, /* +-20%, as Kafka's reconnect backoff */
  BACKOFF_SHIFT_MAX = 16,
};

static void connect_now(struct channel *ch);

const char *channel_state_name(enum channel_state state) {
  switch (state) {
  case CHANNEL_IDLE:
    return "idle";
  case CHANNEL_CONNECTING:
    return "connecting";
  case CHANNEL_UP:
    return "up";
  case CHANNEL_BACKOFF:
    return "backoff";
  }
  return "?";
}

bool channel_is_up(const struct channel *ch) { return ch->state == CHANNEL_UP; }

/* ---- timers ---- */

static void timer_stop(struct channel *ch, env_timer_id *timer) {
  if (*timer) ch->env->timer_cancel(ch->env, *timer);
  *timer = 0;
}

/* The delay before the next connect: the base doubled per failure in a
 * row, capped, then +-20% so peers that lost each other spread out. */
static uint32_t backoff_ms(struct channel *ch) {
  uint32_t shift = ch->failures < BACKOFF_SHIFT_MAX ? ch->failures : BACKOFF_SHIFT_MAX;
  uint64_t ms = (uint64_t)ch->cfg.reconnect_backoff_ms << shift;
  if (ms > ch->cfg.reconnect_backoff_max_ms) ms = ch->cfg.reconnect_backoff_max_ms;
  uint64_t permille =
      1000 - JITTER_PERMILLE + ch->env->random_u64(ch->env) % (2 * JITTER_PERMILLE + 1);
  ms = ms * permille / 1000;
  ASSERT(ms <= (uint64_t)ch->cfg.reconnect_backoff_max_ms * (1000 + JITTER_PERMILLE) / 1000);
  return (uint32_t)ms;
}

static void reconnect_fired(void *ctx) {
  struct channel *ch = ctx;
  ASSERT(ch->state == CHANNEL_BACKOFF);
  ch->reconnect_timer = 0;
  connect_now(ch);
}

/* Down (or never up): note it, tell the owner if it had been up, and
 * schedule the next attempt. */
static void went_down(struct channel *ch, int err) {
  ASSERT(err != 0);
  ASSERT(ch->state != CHANNEL_IDLE && ch->state != CHANNEL_BACKOFF);
  bool was_up = ch->state == CHANNEL_UP;
  timer_stop(ch, &ch->timeout_timer);
  ch->state = CHANNEL_BACKOFF;
  uint32_t delay_ms = backoff_ms(ch);
  ch->failures++;
  ch->stats.last_backoff_ms = delay_ms;
  ch->reconnect_timer =
      ch->env->timer_start(ch->env, (uint64_t)delay_ms * NS_PER_MS, reconnect_fired, ch);
  env_log(ch->env, was_up ? ENV_LOG_INFO : ENV_LOG_DEBUG,
          "%s is down (error %d); retry in %u ms", ch->name, err, delay_ms);
  if (was_up) {
    ch->stats.downs++;
    if (ch->listener.down) ch->listener.down(ch->listener.ctx, ch, err);
  }
}

static void timeout_fired(void *ctx);

/* Arms the timeout for the connect, the negotiation or the oldest request. */
static void timeout_arm(struct channel *ch, uint64_t since_ns, uint32_t timeout_ms) {
  ASSERT(ch->timeout_timer == 0);
  uint64_t now_ns = ch->env->now_ns(ch->env);
  uint64_t deadline_ns = since_ns + (uint64_t)timeout_ms * NS_PER_MS;
  uint64_t delay_ns = deadline_ns > now_ns ? deadline_ns - now_ns : 0;
  ch->timeout_timer = ch->env->timer_start(ch->env, delay_ns, timeout_fired, ch);
}

static void timeout_fired(void *ctx) {
  struct channel *ch = ctx;
  ch->timeout_timer = 0;
  ASSERT(ch->state == CHANNEL_CONNECTING || ch->state == CHANNEL_UP);
  uint64_t oldest_ns = kconn_oldest_sent_ns(&ch->conn);
  uint64_t now_ns = ch->env->now_ns(ch->env);
  uint64_t timeout_ns = (uint64_t)ch->cfg.request_timeout_ms * NS_PER_MS;
  if (ch->state == CHANNEL_UP && oldest_ns == 0) return; /* nothing waits: no timer */
  if (ch->state == CHANNEL_UP && now_ns - oldest_ns < timeout_ns) {
    timeout_arm(ch, oldest_ns, ch->cfg.request_timeout_ms);
    return;
  }
  ch->stats.timeouts++;
  env_log(ch->env, ENV_LOG_INFO, "%s: no answer in %u ms while %s", ch->name,
          ch->cfg.request_timeout_ms, channel_state_name(ch->state));
  kconn_fail(&ch->conn, ENV_ETIMEDOUT); /* conn_changed takes it down */
}

static void came_up(struct channel *ch) {
  ASSERT(ch->state == CHANNEL_CONNECTING);
  timer_stop(ch, &ch->timeout_timer);
  ch->state = CHANNEL_UP;
  ch->failures = 0;
  ch->stats.ups++;
  env_log(ch->env, ENV_LOG_INFO, "%s is up", ch->name);
  if (ch->listener.up) ch->listener.up(ch->listener.ctx, ch);
  if (ch->state == CHANNEL_UP && kconn_in_flight(&ch->conn) > 0 && ch->timeout_timer == 0)
    timeout_arm(ch, kconn_oldest_sent_ns(&ch->conn), ch->cfg.request_timeout_ms);
}

/* ---- the connection ---- */

static void conn_changed(void *ctx, struct kconn *c, int err) {
  struct channel *ch = ctx;
  ASSERT(c == &ch->conn);
  if (ch->state == CHANNEL_IDLE) return; /* channel_stop's own close */
  /* err 0: connected, and the versions are negotiated. */
  if (err == 0) {
    came_up(ch);
    return;
  }
  went_down(ch, err);
}

static void connect_now(struct channel *ch) {
  ASSERT(ch->state == CHANNEL_IDLE || ch->state == CHANNEL_BACKOFF);
  ASSERT(!kconn_connected(&ch->conn));
  ch->state = CHANNEL_CONNECTING;
  ch->stats.connects++;
  int rc = kconn_connect(&ch->conn);
  if (rc != 0) {
    went_down(ch, rc);
    return;
  }
  /* Kafka's socket.connection.setup.timeout.ms: a SYN nobody answers, or
   * an ApiVersions nobody answers. */
  timeout_arm(ch, ch->env->now_ns(ch->env), ch->cfg.request_timeout_ms);
}

void channel_init(struct channel *ch, struct net_dispatch *net, int32_t peer_id,
                  enum channel_purpose purpose, const char *host, uint16_t port,
                  const struct channel_config *cfg, const struct channel_listener *listener) {
  ASSERT(cfg->reconnect_backoff_ms > 0 &&
         cfg->reconnect_backoff_ms <= cfg->reconnect_backoff_max_ms);
  ASSERT(cfg->in_flight_max > 0 && cfg->in_flight_max <= KCONN_IN_FLIGHT_MAX);
  ASSERT(cfg->request_timeout_ms > 0);
  memset(ch, 0, sizeof *ch);
  ch->env = net->env;
  ch->peer_id = peer_id;
  ch->purpose = purpose;
  ch->cfg = *cfg;
  ch->listener = *listener;
  str_fmt(ch->name, sizeof ch->name, "%s channel to node %d",
          purpose == CHANNEL_QUORUM ? "quorum" : "leader", peer_id);
  char client_id[32];
  str_fmt(client_id, sizeof client_id, "sluice-node-%d", net->env->node_id);
  kconn_init(&ch->conn, net, host, port, client_id);
  kconn_negotiate(&ch->conn, true); /* ApiVersions first: up once it is answered */
  struct kconn_watch watch = {.ctx = ch, .changed = conn_changed};
  kconn_watch(&ch->conn, &watch);
}

void channel_start(struct channel *ch) {
  ASSERT(ch->state == CHANNEL_IDLE);
  connect_now(ch);
  ASSERT(ch->state != CHANNEL_IDLE);
}

void channel_stop(struct channel *ch) {
  ch->state = CHANNEL_IDLE;
  timer_stop(ch, &ch->reconnect_timer);
  timer_stop(ch, &ch->timeout_timer);
  kconn_close(&ch->conn);
  ASSERT(kconn_in_flight(&ch->conn) == 0);
}

int16_t channel_version(const struct channel *ch, int16_t api_key, int16_t ours_min,
                        int16_t ours_max) {
  if (ch->state != CHANNEL_UP) return -1;
  return kconn_version(&ch->conn, api_key, ours_min, ours_max);
}

int channel_send(struct channel *ch, int16_t api_key, int16_t api_version,
                 kconn_encode_fn encode, const void *msg, kconn_response_fn fn, void *ctx) {
  if (ch->state != CHANNEL_UP) return ENV_ECONNREFUSED;
  if (kconn_in_flight(&ch->conn) >= ch->cfg.in_flight_max) return ENV_ENOMEM;
  int rc = kconn_send(&ch->conn, api_key, api_version, encode, msg, fn, ctx);
  if (rc != 0) return rc;
  ch->stats.requests++;
  if (fn && ch->timeout_timer == 0)
    timeout_arm(ch, kconn_oldest_sent_ns(&ch->conn), ch->cfg.request_timeout_ms);
  return 0;
}
