/* The simulated network: listeners by (host, port), connections as pairs of
 * ends, each direction a FIFO delivered after a seeded latency. A partition
 * holds a connection's frames; if it lasts past the timeout both ends reset,
 * as TCP gives up on a dead peer. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "sim/internal.h"

static struct sim_node *node_of(struct env *env) { return env->world; }

static struct sim_conn *conn_at(struct sim_world *w, uint64_t id) {
  return id >= 1 && id <= w->conn_count ? &w->conns[id - 1] : NULL;
}

static uint64_t conn_new(struct sim_world *w, int node, int peer_node) {
  ASSERT(w->conn_count < SIM_CONNS_MAX * 64);
  if (w->conn_count == w->conn_cap) {
    w->conn_cap = w->conn_cap ? w->conn_cap * 2 : 64;
    w->conns = realloc(w->conns, w->conn_cap * sizeof *w->conns);
    ASSERT(w->conns != NULL);
  }
  w->conns[w->conn_count] =
      (struct sim_conn){.open = true, .node = node, .peer_node = peer_node};
  return ++w->conn_count;
}

static uint64_t latency(struct sim_world *w) {
  return w->latency_base_ns + sim_rng_below(&w->rng, w->latency_jitter_ns);
}

/* ---- events ---- */

static void ev_closed(struct sim_world *w, void *ctx, uint64_t id) {
  int err = (int)(intptr_t)ctx;
  struct sim_conn *c = conn_at(w, id);
  struct sim_node *n = w->nodes[c->node];
  if (n->handler.closed) n->handler.closed(n->handler.ctx, id, err);
}

/* Ends one side: no more frames; `closed` arrives as a later event. */
static void end_side(struct sim_world *w, uint64_t id, int err) {
  struct sim_conn *c = conn_at(w, id);
  if (!c || !c->open) return;
  c->open = false;
  sim_schedule(w, c->node, 0, ev_closed, (void *)(intptr_t)err, id, NULL);
}

static void end_both(struct sim_world *w, uint64_t id, int err_here, int err_peer) {
  struct sim_conn *c = conn_at(w, id);
  uint64_t peer = c ? c->peer : 0;
  end_side(w, id, err_here);
  if (peer) end_side(w, peer, err_peer);
}

struct frame {
  uint64_t to; /* receiving conn */
  size_t len;
  uint8_t *data;
};

static void frame_drop(void *ctx) {
  struct frame *f = ctx;
  free(f->data);
  free(f);
}

static void ev_frame(struct sim_world *w, void *ctx, uint64_t arg) {
  (void)arg;
  struct frame *f = ctx;
  struct sim_conn *c = conn_at(w, f->to);
  struct sim_node *n = w->nodes[c->node];
  if (!c->open || c->peer == 0) {
    frame_drop(f);
    return;
  }
  struct sim_conn *from = conn_at(w, c->peer);
  if (from) from->queued_bytes -= f->len;
  if (w->cut[c->node][c->peer_node]) {
    /* Held by a partition: retry later, still in order; give up after the
     * timeout, as TCP does. */
    if (c->held_since_ns == 0) c->held_since_ns = w->now_ns;
    if (w->now_ns - c->held_since_ns >= w->partition_timeout_ns) {
      end_both(w, f->to, ENV_ETIMEDOUT, ENV_ETIMEDOUT);
      frame_drop(f);
      return;
    }
    if (from) from->queued_bytes += f->len;
    uint64_t at = w->now_ns + 100 * NS_PER_MS;
    if (at <= c->last_delivery_ns) at = c->last_delivery_ns + 1;
    c->last_delivery_ns = at;
    sim_schedule(w, c->node, at - w->now_ns, ev_frame, f, 0, frame_drop);
    return;
  }
  c->held_since_ns = 0;
  sim_trace(w, f->len);
  if (f->len > c->frame_bytes_max) {
    end_both(w, f->to, ENV_EINVAL, ENV_ECONNRESET);
    frame_drop(f);
    return;
  }
  uint8_t *data = f->data;
  size_t len = f->len;
  free(f);
  if (n->handler.frame)
    n->handler.frame(n->handler.ctx, c - w->conns + 1, data, len);
  else
    free(data);
}

static int net_send(struct env *env, env_conn_id id, const struct env_iov *iov, int count) {
  struct sim_node *n = node_of(env);
  struct sim_world *w = n->world;
  struct sim_conn *c = conn_at(w, id);
  if (!c || !c->open || c->node != n->index || c->peer == 0) return ENV_ECONNRESET;
  struct buf b;
  buf_init(&b);
  for (int i = 0; i < count; i++) {
    if (iov[i].kind == ENV_IOV_MEM)
      buf_append(&b, iov[i].base, iov[i].len);
    else if (sim_disk_read_range(n, iov[i].file, iov[i].offset, iov[i].len, &b) != 0) {
      buf_free(&b);
      return ENV_EIO;
    }
  }
  struct frame *f = malloc(sizeof *f);
  ASSERT(f != NULL);
  *f = (struct frame){.to = c->peer, .len = b.len, .data = b.data};
  struct sim_conn *to = conn_at(w, c->peer);
  /* In order: never before the previous frame of this direction. */
  uint64_t at = w->now_ns + latency(w);
  if (at <= to->last_delivery_ns) at = to->last_delivery_ns + 1;
  to->last_delivery_ns = at;
  c->queued_bytes += b.len;
  sim_schedule(w, to->node, at - w->now_ns, ev_frame, f, 0, frame_drop);
  return 0;
}

static size_t net_queued(struct env *env, env_conn_id id) {
  struct sim_conn *c = conn_at(node_of(env)->world, id);
  return c ? c->queued_bytes : 0;
}

static void net_close(struct env *env, env_conn_id id) {
  struct sim_world *w = node_of(env)->world;
  struct sim_conn *c = conn_at(w, id);
  if (!c || !c->open) return;
  uint64_t peer = c->peer;
  end_side(w, id, 0);
  if (peer) end_side(w, peer, 0); /* the peer reads EOF */
}

static int net_listen(struct env *env, const char *host, uint16_t port,
                      uint32_t frame_bytes_max, uint32_t *out) {
  struct sim_node *n = node_of(env);
  (void)host; /* a node listens on its own host name */
  for (uint32_t i = 0; i < SIM_LISTENERS_MAX; i++)
    if (n->listeners[i].open && n->listeners[i].port == port) return ENV_EADDRINUSE;
  for (uint32_t i = 0; i < SIM_LISTENERS_MAX; i++)
    if (!n->listeners[i].open) {
      n->listeners[i] =
          (struct sim_listener){true, port ? port : (uint16_t)(40000 + i), frame_bytes_max};
      *out = i;
      return 0;
    }
  return ENV_ENOMEM;
}

static uint16_t net_listener_port(struct env *env, uint32_t listener) {
  return listener < SIM_LISTENERS_MAX ? node_of(env)->listeners[listener].port : 0;
}

static void ev_connected(struct sim_world *w, void *ctx, uint64_t id) {
  int err = (int)(intptr_t)ctx;
  struct sim_conn *c = conn_at(w, id);
  struct sim_node *n = w->nodes[c->node];
  if (err != 0) c->open = false;
  if (n->handler.connected) n->handler.connected(n->handler.ctx, id, err);
}

static void ev_accepted(struct sim_world *w, void *ctx, uint64_t id) {
  uint32_t listener = (uint32_t)(uintptr_t)ctx;
  struct sim_conn *c = conn_at(w, id);
  struct sim_node *n = w->nodes[c->node];
  if (n->handler.accepted) n->handler.accepted(n->handler.ctx, listener, id);
}

static int net_connect(struct env *env, const char *host, uint16_t port,
                       uint32_t frame_bytes_max, env_conn_id *out) {
  struct sim_node *n = node_of(env);
  struct sim_world *w = n->world;
  uint64_t id = conn_new(w, n->index, -1);
  conn_at(w, id)->frame_bytes_max = frame_bytes_max;
  *out = id;
  struct sim_node *server = NULL;
  for (int i = 0; i < w->node_count; i++)
    if (strcmp(w->nodes[i]->host, host) == 0) server = w->nodes[i];
  int listener = -1;
  for (int i = 0; server && i < SIM_LISTENERS_MAX; i++)
    if (server->listeners[i].open && server->listeners[i].port == port) listener = i;
  uint64_t delay = 2 * latency(w); /* SYN, SYN-ACK */
  if (listener < 0 || !server->handler.accepted) {
    sim_schedule(w, n->index, delay, ev_connected, (void *)(intptr_t)ENV_ECONNREFUSED, id,
                 NULL);
    return 0;
  }
  if (w->cut[n->index][server->index]) {
    sim_schedule(w, n->index, w->partition_timeout_ns, ev_connected,
                 (void *)(intptr_t)ENV_ETIMEDOUT, id, NULL);
    return 0;
  }
  uint64_t sid = conn_new(w, server->index, n->index);
  struct sim_conn *c = conn_at(w, id), *s = conn_at(w, sid);
  c->peer_node = server->index;
  c->peer = sid;
  s->peer = id;
  s->accepted = true;
  s->frame_bytes_max = server->listeners[listener].frame_bytes_max;
  sim_schedule(w, server->index, delay / 2, ev_accepted, (void *)(uintptr_t)listener, sid,
               NULL);
  sim_schedule(w, n->index, delay, ev_connected, (void *)(intptr_t)0, id, NULL);
  return 0;
}

void sim_net_install(struct sim_node *n) {
  n->env.listen = net_listen;
  n->env.listener_port = net_listener_port;
  n->env.connect = net_connect;
  n->env.send = net_send;
  n->env.send_queued_bytes = net_queued;
  n->env.close = net_close;
}

/* Power loss: the node's ends vanish (no callbacks to it: it is gone); the
 * peers' ends reset. Listeners close. */
void sim_net_crash(struct sim_node *n) {
  struct sim_world *w = n->world;
  for (uint32_t i = 0; i < w->conn_count; i++) {
    struct sim_conn *c = &w->conns[i];
    if (!c->open || c->node != n->index) continue;
    c->open = false;
    if (c->peer) end_side(w, c->peer, ENV_ECONNRESET);
  }
  memset(n->listeners, 0, sizeof n->listeners);
}

void sim_net_partition(struct sim_world *w, struct sim_node *a, struct sim_node *b, bool cut) {
  w->cut[a->index][b->index] = w->cut[b->index][a->index] = cut;
}

void sim_net_heal_all(struct sim_world *w) { memset(w->cut, 0, sizeof w->cut); }
