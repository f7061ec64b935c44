/* The simulated network (sim/net.h): listeners by (host, port), connections
 * as pairs of ends, links with bandwidth, seeded latency and faults.
 *
 * Each end has an inbound queue: the frames its peer sent, in order, each
 * stamped with its arrival time when sent (the link's serialisation, then
 * its latency, never before the frame ahead of it). One event at a time,
 * the pump, takes the head of the queue when it is due: if the link it came
 * over is cut or clogged the queue is held (no pump until the link is
 * released, and a kernel event resets both ends if the hold lasts the
 * timeout); otherwise the frame is delivered: data to the handler, FIN
 * closes the end with 0 (EOF), RST with ENV_ECONNRESET.
 *
 * Connects: the client end retries its SYN (1 s, 2 s, 4 s... while either
 * direction is blocked) until the timeout; a SYN that reaches the server's
 * kernel either finds a listener (the server end is created at once, the
 * accept is an event of the server's process, the SYN-ACK reaches the
 * client a link latency later) or is refused.
 *
 * Closing an end marks it closed at once (no more frames to it; frames to a
 * closed end are dropped) and schedules the process's callback: `closed`,
 * or `connected` with the error for an end still connecting. Stats count a
 * connect when it succeeds; connects_failed when it fails. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "sim/internal.h"

enum {
  FRAME_HEADER_BYTES = 4, /* Kafka's length prefix */
  /* os/net.c's read buffer: a frame that does not fit it reserves its
   * length from queued.max.request.bytes before its body is read. */
  READ_BUF_BYTES = 64 * 1024,
  RAW_CHUNK_BYTES_MIN = 4096, /* a RAW frame's body grows by doubling from here */
};
/* os/net.c's SEND_QUEUE_PAUSE_BYTES: an end with more than this sent and
 * not yet read by its peer is not read either, until the peer drains it
 * (a consumer that fetches and never reads). */
static const uint64_t SEND_QUEUE_PAUSE_BYTES = (uint64_t)64 << 20;
enum {
  EPHEMERAL_PORT_FIRST = 40000,
  TRACE_NET = 0x4E45, /* 'NE': folded with what happened */
};

enum trace_what {
  TRACE_FRAME = 1,
  TRACE_CLOSE,
  TRACE_CONNECT,
  TRACE_ACCEPT,
  TRACE_HOLD,
  TRACE_FAULT,
};

static const uint64_t SYN_BACKOFF_FIRST_NS = NS_PER_S;

static void trace_net(struct sim_world *w, enum trace_what what, uint64_t a, uint64_t b) {
  sim_trace(w, (uint64_t)TRACE_NET << 48 | (uint64_t)what << 40 | (a & 0xFFFFFFFFFFull));
  sim_trace(w, b);
}

/* ---- ends ---- */

static struct sim_conn *conn_at(struct sim_world *w, uint64_t id) {
  return id >= 1 && id <= w->conn_count ? &w->conns[id - 1] : NULL;
}

static uint64_t end_id(const struct sim_world *w, const struct sim_conn *c) {
  ASSERT(c >= w->conns && c < w->conns + w->conn_count);
  return (uint64_t)(c - w->conns) + 1;
}

/* A new end; may move every other end (realloc): callers re-fetch. */
static uint64_t conn_new(struct sim_world *w, int node, int peer_node, enum sim_conn_state st) {
  ASSERT(w->conn_count < SIM_CONNS_MAX);
  ASSERT(node >= 0 && node < w->node_count && peer_node >= -1 && peer_node < w->node_count);
  if (w->conn_count == w->conn_cap) {
    w->conn_cap = w->conn_cap ? w->conn_cap * 2 : 64;
    w->conns = realloc(w->conns, w->conn_cap * sizeof *w->conns);
    ASSERT(w->conns != NULL);
  }
  w->conns[w->conn_count] = (struct sim_conn){
      .state = (uint8_t)st, .node = (int16_t)node, .peer_node = (int16_t)peer_node};
  w->open_ends++;
  return ++w->conn_count;
}

static struct sim_netnode *netnode(struct sim_world *w, int node) {
  ASSERT(node >= 0 && node < w->node_count);
  return &w->nodes[node]->net;
}

/* ---- links ---- */

static uint32_t link_index(int from, int to) {
  ASSERT(from >= 0 && from < SIM_NODES_MAX && to >= 0 && to < SIM_NODES_MAX);
  return (uint32_t)from * SIM_NODES_MAX + (uint32_t)to;
}

static struct sim_link *link_of(struct sim_world *w, int from, int to) {
  struct sim_link *l = &w->links[link_index(from, to)];
  if (!l->rng_ready) { /* forked from the world's root, by link: order-free */
    l->rng = sim_rng_fork_id(&w->rng, "link", link_index(from, to));
    l->rng_ready = true;
  }
  return l;
}

static bool link_blocked(struct sim_world *w, int from, int to) {
  const struct sim_link *l = &w->links[link_index(from, to)];
  return l->cut || w->now_ns < l->clogged_until_ns;
}

static uint64_t link_latency_ns(struct sim_world *w, struct sim_link *l) {
  uint64_t ns = l->cfg.latency_base_ns + sim_rng_below(&l->rng, l->cfg.latency_jitter_ns);
  if (w->now_ns < l->spike_until_ns) ns += l->spike_extra_ns;
  return ns;
}

/* When `bytes` sent now have left: after what the link was given before. */
static uint64_t link_depart_ns(struct sim_world *w, struct sim_link *l, uint64_t bytes) {
  uint64_t start_ns = l->free_at_ns > w->now_ns ? l->free_at_ns : w->now_ns;
  uint64_t rate_bytes_per_s = l->cfg.bandwidth_bytes_per_s;
  ASSERT(bytes <= UINT32_MAX + (uint64_t)FRAME_HEADER_BYTES); /* no overflow below */
  uint64_t tx_ns =
      rate_bytes_per_s ? (bytes * NS_PER_S + rate_bytes_per_s - 1) / rate_bytes_per_s : 0;
  l->free_at_ns = start_ns + tx_ns;
  return l->free_at_ns;
}

/* ---- callbacks into the process (node events) ---- */

static void ev_closed(struct sim_world *w, void *ctx, uint64_t id) {
  int err = (int)(intptr_t)ctx;
  struct sim_conn *c = conn_at(w, id);
  ASSERT(c != NULL && c->state == SIM_CONN_CLOSED);
  struct sim_node *n = w->nodes[c->node];
  if (n->handler.closed) n->handler.closed(n->handler.ctx, id, err);
}

/* err 0: the SYN-ACK arrived (ignored if the end was closed meanwhile);
 * else the connect failed (the end is already closed). */
static void ev_connected(struct sim_world *w, void *ctx, uint64_t id) {
  int err = (int)(intptr_t)ctx;
  struct sim_conn *c = conn_at(w, id);
  ASSERT(c != NULL);
  if (err == 0) {
    if (c->state != SIM_CONN_CONNECTING) return;
    c->state = SIM_CONN_OPEN;
    netnode(w, c->node)->stats.connects++;
    trace_net(w, TRACE_CONNECT, id, 0);
  }
  ASSERT(err == 0 || c->state == SIM_CONN_CLOSED);
  struct sim_node *n = w->nodes[c->node];
  if (n->handler.connected) n->handler.connected(n->handler.ctx, id, err);
}

static void ev_accepted(struct sim_world *w, void *ctx, uint64_t id) {
  uint32_t listener = (uint32_t)(uintptr_t)ctx;
  struct sim_conn *c = conn_at(w, id);
  ASSERT(c != NULL && listener < SIM_LISTENERS_MAX);
  struct sim_node *n = w->nodes[c->node];
  trace_net(w, TRACE_ACCEPT, id, listener);
  if (n->handler.accepted) n->handler.accepted(n->handler.ctx, listener, id);
}

/* ---- inbound queues ---- */

/* Frames come from a list of spare ones (a malloc and a free per frame
 * sent were a tenth of the network's cost); their contents are set anew
 * by each user, so reuse changes nothing a run does. */
static struct sim_frame *frame_new(struct sim_world *w) {
  struct sim_frame *f = w->frames_spare;
  if (!f) {
    f = malloc(sizeof *f);
    ASSERT(f != NULL);
    return f;
  }
  w->frames_spare = f->next;
  w->frames_spare_count--;
  return f;
}

/* The frame itself goes back (its data is freed, or taken, by the caller). */
static void frame_release(struct sim_world *w, struct sim_frame *f) {
  if (w->frames_spare_count >= SIM_FRAMES_SPARE_MAX) {
    free(f);
    return;
  }
  f->next = w->frames_spare;
  w->frames_spare = f;
  w->frames_spare_count++;
}

static void frame_free(struct sim_world *w, struct sim_frame *f) {
  free(f->data);
  frame_release(w, f);
}

static void pump_schedule(struct sim_world *w, struct sim_conn *c);

/* Takes the head of c's queue; the sender no longer counts its bytes. */
static struct sim_frame *queue_pop(struct sim_world *w, struct sim_conn *c) {
  struct sim_frame *f = c->in_head;
  ASSERT(f != NULL);
  c->in_head = f->next;
  if (!c->in_head) c->in_tail = NULL;
  f->next = NULL;
  struct sim_conn *from = conn_at(w, c->peer);
  ASSERT(from != NULL && from->queued_bytes >= f->len);
  bool was_over = from->queued_bytes > SEND_QUEUE_PAUSE_BYTES;
  from->queued_bytes -= f->len;
  if (was_over && from->queued_bytes <= SEND_QUEUE_PAUSE_BYTES &&
      from->state == SIM_CONN_OPEN && from->in_head && from->pump_event == 0 &&
      from->held_since_ns == 0 && !from->read_paused && !from->receive_waiting)
    pump_schedule(w, from);             /* its peer read: it is read again */
  if (from->state != SIM_CONN_CLOSED) { /* a closed end's bytes left the total then */
    struct sim_netnode *nn = netnode(w, from->node);
    ASSERT(nn->out_bytes_total >= f->len);
    nn->out_bytes_total -= f->len;
  }
  return f;
}

static void queue_free(struct sim_world *w, struct sim_conn *c) {
  for (uint32_t i = 0; c->in_head && i < UINT32_MAX; i++) frame_free(w, queue_pop(w, c));
  ASSERT(c->in_head == NULL && c->in_tail == NULL);
}

static void hold_end(struct sim_world *w, struct sim_conn *c) {
  sim_cancel(w, c->hold_event);
  c->hold_event = 0;
  c->held_since_ns = 0;
}

static void budgets_let_go(struct sim_world *w, struct sim_conn *c);

/* Closes one end now; its process hears of it at at_ns unless `notify` is
 * false (a crashed node's ends just vanish). */
static void close_end(struct sim_world *w, struct sim_conn *c, int err, uint64_t at_ns,
                      bool notify) {
  ASSERT(c->state != SIM_CONN_CLOSED && at_ns >= w->now_ns);
  bool connecting = c->state == SIM_CONN_CONNECTING;
  uint64_t id = end_id(w, c);
  c->state = SIM_CONN_CLOSED;
  ASSERT(w->open_ends > 0);
  w->open_ends--;
  sim_cancel(w, c->pump_event);
  c->pump_event = 0;
  hold_end(w, c); /* also a connecting end's SYN retry */
  queue_free(w, c);
  budgets_let_go(w, c);
  trace_net(w, TRACE_CLOSE, id, (uint64_t)(int64_t)err);
  if (!notify) return;
  struct sim_net_stats *st = &netnode(w, c->node)->stats;
  if (connecting && err != 0) st->connects_failed++;
  if (err == ENV_ECONNRESET) st->resets++;
  if (err == ENV_ETIMEDOUT) st->timeouts++;
  bool as_connect = connecting && err != 0;
  sim_event_at(w, c->node, as_connect ? SIM_EV_CONNECT : SIM_EV_CLOSED, at_ns,
               as_connect ? ev_connected : ev_closed, (void *)(intptr_t)err, id, NULL);
}

static void ev_pump(struct sim_world *w, void *ctx, uint64_t id);

/* ---- budgets (env_net_limits, as os/net.c keeps them) ---- */

/* Ends of the node that waited for the request budget try again, in id
 * order (deterministic). */
static void receive_wake(struct sim_world *w, int node) {
  for (uint32_t i = 0; i < w->conn_count; i++) {
    struct sim_conn *c = &w->conns[i];
    if (c->node != node || !c->receive_waiting) continue;
    c->receive_waiting = false;
    if (c->state == SIM_CONN_OPEN && c->in_head && c->pump_event == 0 && c->held_since_ns == 0)
      pump_schedule(w, c);
  }
}

static void receive_release(struct sim_world *w, struct sim_conn *c) {
  if (c->reserved_bytes == 0) return;
  struct sim_netnode *nn = netnode(w, c->node);
  ASSERT(nn->receive_reserved_bytes >= c->reserved_bytes);
  nn->receive_reserved_bytes -= c->reserved_bytes;
  c->reserved_bytes = 0;
  receive_wake(w, c->node);
}

/* Whether a frame of `len` may be read now: small ones always; a big one
 * if its length fits what queued.max.request.bytes leaves, or nothing is
 * reserved (one frame always gets through alone, env.h). Else the end
 * waits, its bytes unread, until a reservation is released. */
static bool receive_admit(struct sim_world *w, struct sim_conn *c, uint64_t len) {
  struct sim_netnode *nn = netnode(w, c->node);
  uint64_t max = nn->limits.receive_bytes_max;
  if (len + FRAME_HEADER_BYTES <= READ_BUF_BYTES || max == 0) return true;
  if (nn->receive_reserved_bytes == 0 || nn->receive_reserved_bytes + len <= max) return true;
  if (!c->receive_waiting) nn->stats.receive_waits++;
  c->receive_waiting = true;
  return false;
}

static void budgets_let_go(struct sim_world *w, struct sim_conn *c) {
  struct sim_netnode *nn = netnode(w, c->node);
  ASSERT(nn->out_bytes_total >= c->queued_bytes);
  nn->out_bytes_total -= c->queued_bytes;
  c->receive_waiting = false;
  free(c->raw_body);
  c->raw_body = NULL;
  c->raw_len = c->raw_have = c->raw_cap = 0;
  c->raw_prefix_have = 0;
  c->raw_admitted = false;
  receive_release(w, c);
  if (c->counted) {
    ASSERT(nn->inbound_count > 0 && nn->inbound_from[c->peer_node] > 0);
    nn->inbound_count--;
    nn->inbound_from[c->peer_node]--;
    c->counted = false;
  }
}

static void pump_schedule(struct sim_world *w, struct sim_conn *c) {
  ASSERT(c->pump_event == 0 && c->in_head != NULL && c->held_since_ns == 0);
  uint64_t at_ns = c->in_head->arrive_ns > w->now_ns ? c->in_head->arrive_ns : w->now_ns;
  c->pump_event =
      sim_event_at(w, c->node, SIM_EV_FRAME, at_ns, ev_pump, NULL, end_id(w, c), NULL);
}

/* Puts a frame from `from` on the way to its peer end (which must be open
 * or connecting); takes `data`. Returns when it arrives. */
static uint64_t enqueue(struct sim_world *w, struct sim_conn *from, enum sim_frame_kind kind,
                        uint8_t *data, uint32_t len) {
  struct sim_conn *to = conn_at(w, from->peer);
  ASSERT(to != NULL && to->state != SIM_CONN_CLOSED && to->peer == end_id(w, from));
  ASSERT(kind == SIM_FRAME_DATA || kind == SIM_FRAME_RAW || len == 0);
  struct sim_link *l = link_of(w, from->node, to->node);
  uint64_t wire_bytes = kind == SIM_FRAME_DATA  ? (uint64_t)len + FRAME_HEADER_BYTES
                        : kind == SIM_FRAME_RAW ? len
                                                : 0;
  uint64_t arrive_ns = link_depart_ns(w, l, wire_bytes) + link_latency_ns(w, l);
  if (arrive_ns < to->in_last_arrive_ns) arrive_ns = to->in_last_arrive_ns; /* in order */
  to->in_last_arrive_ns = arrive_ns;
  struct sim_frame *f = frame_new(w);
  *f = (struct sim_frame){
      .arrive_ns = arrive_ns, .data = data, .len = len, .kind = (uint8_t)kind};
  bool was_empty = to->in_head == NULL;
  if (to->in_tail)
    to->in_tail->next = f;
  else
    to->in_head = f;
  to->in_tail = f;
  if (from->queued_bytes > netnode(w, from->node)->stats.send_queued_peak_bytes &&
      kind == SIM_FRAME_DATA) /* a FIN after a full queue is no send */
    netnode(w, from->node)->stats.send_queued_peak_bytes = from->queued_bytes;
  from->queued_bytes += len;
  if (from->state != SIM_CONN_CLOSED) netnode(w, from->node)->out_bytes_total += len;
  if (was_empty && to->held_since_ns == 0 && to->pump_event == 0) pump_schedule(w, to);
  return arrive_ns;
}

/* Sends FIN or RST to c's peer end if it is still there. */
static void send_control(struct sim_world *w, struct sim_conn *c, enum sim_frame_kind kind) {
  struct sim_conn *p = conn_at(w, c->peer);
  if (p && p->state != SIM_CONN_CLOSED) enqueue(w, c, kind, NULL, 0);
}

/* ---- holds ---- */

/* The hold lasted the timeout: TCP gives up on both sides. */
static void ev_hold_timeout(struct sim_world *w, void *ctx, uint64_t id) {
  (void)ctx;
  struct sim_conn *c = conn_at(w, id);
  ASSERT(c != NULL && c->state == SIM_CONN_OPEN && c->held_since_ns != 0);
  c->hold_event = 0;
  trace_net(w, TRACE_HOLD, id, w->now_ns - c->held_since_ns);
  struct sim_conn *sender = conn_at(w, c->peer);
  if (sender && sender->state != SIM_CONN_CLOSED)
    close_end(w, sender, ENV_ETIMEDOUT, w->now_ns, true);
  close_end(w, c, ENV_ECONNRESET, w->now_ns, true);
}

static void hold_start(struct sim_world *w, struct sim_conn *c) {
  ASSERT(c->state == SIM_CONN_OPEN && c->in_head != NULL && c->pump_event == 0);
  if (c->held_since_ns != 0) return;
  c->held_since_ns = w->now_ns;
  c->hold_event = sim_event_at(w, c->node, SIM_EV_KERNEL, w->now_ns + w->net_timeout_ns,
                               ev_hold_timeout, NULL, end_id(w, c), NULL);
}

/* The link from -> to may flow again: held queues on it start pumping. */
static void link_release(struct sim_world *w, int from, int to) {
  if (link_blocked(w, from, to)) return;
  for (uint32_t i = 0; i < w->conn_count; i++) {
    struct sim_conn *c = &w->conns[i];
    if (c->state != SIM_CONN_OPEN || c->held_since_ns == 0) continue;
    if (c->node != to || c->peer_node != from) continue;
    hold_end(w, c);
    pump_schedule(w, c);
  }
}

/* ---- delivery ---- */

static void deliver_data(struct sim_world *w, uint64_t id, struct sim_frame *f) {
  struct sim_conn *c = conn_at(w, id);
  struct sim_netnode *nn = netnode(w, c->node);
  if (f->len > c->frame_bytes_max) { /* as a real reader of the length prefix does */
    nn->stats.oversized++;
    frame_free(w, f);
    send_control(w, c, SIM_FRAME_RST);
    close_end(w, c, ENV_EINVAL, w->now_ns, true);
    return;
  }
  nn->stats.frames_received++;
  nn->stats.bytes_received += f->len;
  trace_net(w, TRACE_FRAME, id, f->len);
  uint8_t *data = f->data ? f->data : malloc(1); /* never NULL to the handler */
  ASSERT(data != NULL);
  size_t len = f->len;
  frame_release(w, f);
  struct sim_node *n = w->nodes[c->node];
  if (n->handler.frame)
    n->handler.frame(n->handler.ctx, id, data, len); /* may move or close c */
  else
    free(data);
}

/* The length prefix of a RAW-assembled frame is complete: as os/net.c, an
 * oversized one closes the connection; a big one reserves its length from
 * queued.max.request.bytes (or waits, its bytes unread). False: stop. */
static bool raw_prefix_done(struct sim_world *w, uint64_t id) {
  struct sim_conn *c = conn_at(w, id);
  const uint8_t *p = c->raw_prefix;
  uint32_t len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
  if (len > INT32_MAX || len > c->frame_bytes_max) {
    netnode(w, c->node)->stats.oversized++;
    send_control(w, c, SIM_FRAME_RST);
    close_end(w, c, ENV_EINVAL, w->now_ns, true);
    return false;
  }
  if (!receive_admit(w, c, len)) return false;
  if ((uint64_t)len + FRAME_HEADER_BYTES > READ_BUF_BYTES) {
    c->reserved_bytes = len;
    netnode(w, c->node)->receive_reserved_bytes += len;
  }
  c->raw_len = len;
  c->raw_have = 0;
  c->raw_admitted = true;
  return true;
}

/* A RAW-assembled frame is whole: the node holds it now, under its own
 * budget, and the reservation goes back. */
static void raw_frame_done(struct sim_world *w, uint64_t id) {
  struct sim_conn *c = conn_at(w, id);
  struct sim_frame *f = frame_new(w);
  *f = (struct sim_frame){0};
  f->data = c->raw_body;
  f->len = c->raw_len;
  f->kind = SIM_FRAME_DATA;
  c->raw_body = NULL;
  c->raw_len = c->raw_have = c->raw_cap = 0;
  c->raw_prefix_have = 0;
  c->raw_admitted = false;
  receive_release(w, c);
  deliver_data(w, id, f);
}

/* Takes what it can of the RAW bytes at the head of the queue; true when
 * they are all taken (the frame may be popped). */
static bool raw_take(struct sim_world *w, uint64_t id) {
  for (int n = 0; n < 1 << 20; n++) {
    struct sim_conn *c = conn_at(w, id);
    if (c->state != SIM_CONN_OPEN || c->read_paused) return false;
    struct sim_frame *f = c->in_head;
    if (c->raw_prefix_have == FRAME_HEADER_BYTES && !c->raw_admitted) {
      if (!raw_prefix_done(w, id)) return false; /* still waiting for the budget */
      continue;
    }
    if (f->off == f->len) return true;
    uint32_t left = f->len - f->off;
    if (c->raw_prefix_have < FRAME_HEADER_BYTES) {
      uint32_t k = FRAME_HEADER_BYTES - c->raw_prefix_have;
      if (k > left) k = left;
      memcpy(c->raw_prefix + c->raw_prefix_have, f->data + f->off, k);
      c->raw_prefix_have = (uint8_t)(c->raw_prefix_have + k);
      f->off += k;
      continue; /* a whole prefix is judged at the top */
    }
    uint32_t k = c->raw_len - c->raw_have < left ? c->raw_len - c->raw_have : left;
    if (c->raw_have + k > c->raw_cap) { /* grow as bytes arrive */
      uint32_t cap = c->raw_cap ? c->raw_cap : RAW_CHUNK_BYTES_MIN;
      for (int g = 0; g < 32 && cap < c->raw_have + k; g++)
        cap = cap > c->raw_len / 2 ? c->raw_len : cap * 2;
      c->raw_body = realloc(c->raw_body, cap ? cap : 1);
      ASSERT(c->raw_body != NULL);
      c->raw_cap = cap;
    }
    if (k > 0) memcpy(c->raw_body + c->raw_have, f->data + f->off, k);
    c->raw_have += k;
    f->off += k;
    if (c->raw_have == c->raw_len) raw_frame_done(w, id);
  }
  UNREACHABLE(); /* a chunk's bytes run out first */
}

static void ev_pump(struct sim_world *w, void *ctx, uint64_t id) {
  (void)ctx;
  struct sim_conn *c = conn_at(w, id);
  ASSERT(c != NULL && c->state == SIM_CONN_OPEN && c->in_head != NULL);
  c->pump_event = 0;
  /* read_pause(false), a release, or the peer draining pumps again */
  if (c->read_paused || c->receive_waiting || c->queued_bytes > SEND_QUEUE_PAUSE_BYTES) return;
  if (link_blocked(w, c->peer_node, c->node)) {
    hold_start(w, c);
    return;
  }
  hold_end(w, c);
  if (c->in_head->kind == SIM_FRAME_RAW) {
    bool taken = raw_take(w, id);
    c = conn_at(w, id);
    if (!taken || c->state != SIM_CONN_OPEN || c->read_paused) return;
    frame_free(w, queue_pop(w, c));
  } else if (c->in_head->kind == SIM_FRAME_DATA && c->raw_prefix_have == 0 &&
             !receive_admit(w, c, c->in_head->len)) {
    return;
  } else if (c->in_head->kind == SIM_FRAME_DATA) {
    deliver_data(w, id, queue_pop(w, c));
  } else {
    struct sim_frame *f = queue_pop(w, c);
    int err = f->kind == SIM_FRAME_FIN ? 0 : ENV_ECONNRESET;
    frame_free(w, f);
    close_end(w, c, err, w->now_ns, true);
  }
  c = conn_at(w, id); /* the handler may have connected (realloc) or closed */
  if (c->state == SIM_CONN_OPEN && c->in_head && c->pump_event == 0 && c->held_since_ns == 0)
    pump_schedule(w, c);
}

/* ---- env: send, close ---- */

/* Copies the frame's parts; ENV_E* if a part is bad. */
static int gather(struct sim_node *n, const struct env_iov *iov, int iov_count,
                  struct buf *out) {
  if (iov_count < 0 || iov_count > SIM_IOV_MAX || (iov_count > 0 && !iov)) return ENV_EINVAL;
  uint64_t total = 0;
  for (int i = 0; i < iov_count; i++) {
    total += iov[i].len;
    if (total > INT32_MAX) return ENV_EINVAL; /* the length prefix is an int32 */
    if (iov[i].kind == ENV_IOV_MEM && !iov[i].base && iov[i].len > 0) return ENV_EINVAL;
    if (iov[i].kind != ENV_IOV_MEM && iov[i].kind != ENV_IOV_FILE) return ENV_EINVAL;
  }
  buf_reserve(out, (size_t)total);
  for (int i = 0; i < iov_count; i++) {
    if (iov[i].len == 0) continue;
    if (iov[i].kind == ENV_IOV_MEM) {
      buf_append(out, iov[i].base, iov[i].len);
    } else if (sim_disk_read_range(n, iov[i].file, iov[i].offset, iov[i].len, out) != 0) {
      return ENV_EIO;
    }
  }
  ASSERT(out->len == total);
  return 0;
}

static int net_send(struct env *env, env_conn_id id, const struct env_iov *iov, int iov_count) {
  struct sim_node *n = sim_node_of(env);
  struct sim_world *w = n->world;
  struct sim_conn *c = conn_at(w, id);
  if (!c || c->state != SIM_CONN_OPEN) return ENV_ECONNRESET;
  ASSERT(c->node == n->index);
  struct buf b;
  buf_init(&b);
  int rc = gather(n, iov, iov_count, &b);
  if (rc != 0) {
    buf_free(&b);
    return rc;
  }
  n->net.stats.frames_sent++;
  n->net.stats.bytes_sent += b.len;
  struct sim_conn *p = conn_at(w, c->peer);
  if (!p || p->state == SIM_CONN_CLOSED) { /* the peer is gone; its FIN or RST is coming */
    buf_free(&b);
    return 0;
  }
  uint64_t arrive_ns = enqueue(w, c, SIM_FRAME_DATA, b.data, (uint32_t)b.len);
  for (int i = 0; i < iov_count; i++)
    if (iov[i].kind == ENV_IOV_FILE && iov[i].len > 0) {
      sim_observe(w, &(struct sim_observation){
                         .what = SIM_OBSERVED_FILE_SEND, .node = n, .until_ns = arrive_ns});
      break;
    }
  return 0;
}

/* conn 0: every open end of the node, as env.h asks (the total budget). */
static size_t net_send_queued_bytes(struct env *env, env_conn_id id) {
  struct sim_node *n = sim_node_of(env);
  if (id == 0) return (size_t)n->net.out_bytes_total;
  struct sim_conn *c = conn_at(n->world, id);
  return c && c->state != SIM_CONN_CLOSED && c->node == n->index ? (size_t)c->queued_bytes : 0;
}

static void net_limits_set(struct env *env, const struct env_net_limits *limits) {
  ASSERT(limits != NULL);
  sim_node_of(env)->net.limits = *limits;
}

int sim_net_send_raw(struct sim_node *n, uint64_t conn, const uint8_t *bytes, uint32_t len) {
  struct sim_world *w = n->world;
  struct sim_conn *c = conn_at(w, conn);
  if (!c || c->state != SIM_CONN_OPEN || c->node != n->index) return ENV_ECONNRESET;
  ASSERT(bytes != NULL || len == 0);
  struct sim_conn *p = conn_at(w, c->peer);
  if (len == 0 || !p || p->state == SIM_CONN_CLOSED) return 0;
  uint8_t *copy = malloc(len);
  ASSERT(copy != NULL);
  memcpy(copy, bytes, len);
  n->net.stats.bytes_sent += len;
  enqueue(w, c, SIM_FRAME_RAW, copy, len);
  return 0;
}

/* The node's back-pressure (issue 13): a paused end's inbound frames wait
 * in its queue, as unread bytes wait in a socket, FIN and RST included. */
static void net_read_pause(struct env *env, env_conn_id id, bool paused) {
  struct sim_world *w = sim_node_of(env)->world;
  struct sim_conn *c = conn_at(w, id);
  if (!c || c->state != SIM_CONN_OPEN || c->read_paused == paused) return;
  c->read_paused = paused;
  if (!paused && c->in_head && c->pump_event == 0 && c->held_since_ns == 0) pump_schedule(w, c);
}

/* The peer reads EOF after what was sent before; `closed` (err 0) follows. */
static void net_close(struct env *env, env_conn_id id) {
  struct sim_node *n = sim_node_of(env);
  struct sim_world *w = n->world;
  struct sim_conn *c = conn_at(w, id);
  if (!c || c->state == SIM_CONN_CLOSED) return;
  ASSERT(c->node == n->index);
  send_control(w, c, SIM_FRAME_FIN);
  close_end(w, c, 0, w->now_ns, true);
}

/* ---- env: listen ---- */

static int listener_find(const struct sim_node *n, uint16_t port) {
  for (int i = 0; i < SIM_LISTENERS_MAX; i++)
    if (n->net.listeners[i].open && n->net.listeners[i].port == port) return i;
  return -1;
}

static uint16_t ephemeral_port(struct sim_node *n) {
  for (int i = 0; i <= SIM_LISTENERS_MAX; i++) {
    if (n->net.next_port < EPHEMERAL_PORT_FIRST) n->net.next_port = EPHEMERAL_PORT_FIRST;
    uint16_t port = n->net.next_port++;
    if (listener_find(n, port) < 0) return port;
  }
  UNREACHABLE(); /* more tries than listeners */
}

static int net_listen(struct env *env, const char *host, uint16_t port,
                      uint32_t frame_bytes_max, uint32_t *listener_out) {
  struct sim_node *n = sim_node_of(env);
  (void)host; /* a node listens on its own host name */
  ASSERT(listener_out != NULL);
  if (port != 0 && listener_find(n, port) >= 0) return ENV_EADDRINUSE;
  for (uint32_t i = 0; i < SIM_LISTENERS_MAX; i++) {
    if (n->net.listeners[i].open) continue;
    uint16_t chosen = port ? port : ephemeral_port(n);
    n->net.listeners[i] = (struct sim_listener){true, chosen, frame_bytes_max};
    *listener_out = i;
    sim_trace(n->world, (uint64_t)TRACE_NET << 48 | (uint64_t)n->index << 16 | chosen);
    return 0;
  }
  return ENV_ENOMEM;
}

static uint16_t net_listener_port(struct env *env, uint32_t listener) {
  struct sim_node *n = sim_node_of(env);
  if (listener >= SIM_LISTENERS_MAX || !n->net.listeners[listener].open) return 0;
  return n->net.listeners[listener].port;
}

/* ---- env: connect ---- */

static struct sim_node *resolve(struct sim_world *w, struct sim_node *self, const char *host) {
  if (!host) return NULL;
  if (strcmp(host, "localhost") == 0) return self;
  for (int i = 0; i < w->node_count; i++)
    if (strcmp(w->nodes[i]->host, host) == 0) return w->nodes[i];
  return NULL;
}

static bool path_blocked(struct sim_world *w, int a, int b) {
  return link_blocked(w, a, b) || link_blocked(w, b, a);
}

static void syn_send(struct sim_world *w, struct sim_conn *c);

/* Which connection limit a new one from node `from` on `listener` would
 * pass (os/net.c's accept_limit), or NULL; exempt listeners have none. */
static bool listener_exempt(const struct sim_node *server, int listener) {
  return listener < 32 && (server->net.limits.exempt_listeners >> listener & 1);
}

static const char *accept_limit(const struct sim_node *server, int listener, int from) {
  const struct env_net_limits *lim = &server->net.limits;
  if (listener_exempt(server, listener)) return NULL;
  if (lim->conns_max != 0 && server->net.inbound_count >= lim->conns_max)
    return "max.connections";
  if (lim->conns_per_addr_max != 0 && server->net.inbound_from[from] >= lim->conns_per_addr_max)
    return "max.connections.per.ip";
  return NULL;
}

static void accept_count(struct sim_node *server, int listener, struct sim_conn *s) {
  if (listener_exempt(server, listener)) return;
  if (server->net.refused_in_burst > 0) {
    env_log(&server->env, ENV_LOG_WARN, "%llu connections were refused at a connection limit",
            (unsigned long long)server->net.refused_in_burst);
    server->net.refused_in_burst = 0;
  }
  s->counted = true;
  server->net.inbound_count++;
  server->net.inbound_from[s->peer_node]++;
}

/* Closed at once, the process never told; logged for the first of a burst. */
static void accept_refuse(struct sim_world *w, struct sim_node *server, struct sim_conn *s,
                          const char *limit) {
  server->net.stats.refused++;
  if (server->net.refused_in_burst++ == 0) {
    const struct env_net_limits *lim = &server->net.limits;
    env_log(&server->env, ENV_LOG_WARN,
            "refusing connections: %s (%u) reached (first from %s; the rest of this burst is "
            "counted, not logged)",
            limit,
            strcmp(limit, "max.connections") == 0 ? lim->conns_max : lim->conns_per_addr_max,
            w->nodes[s->peer_node]->host);
  }
  send_control(w, s, SIM_FRAME_FIN);
  close_end(w, s, 0, w->now_ns, false);
}

/* The server's kernel got the SYN: accept it or refuse it. */
static void syn_arrive(struct sim_world *w, uint64_t id) {
  struct sim_conn *c = conn_at(w, id);
  struct sim_node *server = w->nodes[c->peer_node];
  int listener = listener_find(server, c->port);
  uint64_t back_ns = w->now_ns + link_latency_ns(w, link_of(w, server->index, c->node));
  if (listener < 0 || !server->handler.accepted || w->conn_count >= SIM_CONNS_MAX) {
    close_end(w, c, ENV_ECONNREFUSED, back_ns, true); /* the RST travels back */
    return;
  }
  const char *limit = accept_limit(server, listener, c->node);
  uint64_t sid = conn_new(w, server->index, c->node, SIM_CONN_OPEN);
  c = conn_at(w, id); /* conn_new may have moved it */
  struct sim_conn *s = conn_at(w, sid);
  s->peer = id;
  s->frame_bytes_max = server->net.listeners[listener].frame_bytes_max;
  c->peer = sid;
  hold_end(w, c);                 /* no more SYN retries */
  c->in_last_arrive_ns = back_ns; /* the server's frames come after its SYN-ACK */
  sim_event_at(w, c->node, SIM_EV_CONNECT, back_ns, ev_connected, (void *)(intptr_t)0, id,
               NULL);
  if (limit) { /* the kernel completed the handshake; the server closes it at accept */
    accept_refuse(w, server, s, limit);
    return;
  }
  server->net.stats.accepts++;
  accept_count(server, listener, s);
  sim_event_at(w, server->index, SIM_EV_ACCEPT, w->now_ns, ev_accepted,
               (void *)(uintptr_t)listener, sid, NULL);
}

static void ev_syn(struct sim_world *w, void *ctx, uint64_t id) {
  (void)ctx;
  struct sim_conn *c = conn_at(w, id);
  ASSERT(c != NULL);
  if (c->state != SIM_CONN_CONNECTING || c->peer != 0) return; /* gone, or a duplicate */
  if (path_blocked(w, c->node, c->peer_node)) return;          /* lost: the retry resends */
  syn_arrive(w, id);
}

static void ev_syn_retry(struct sim_world *w, void *ctx, uint64_t id) {
  (void)ctx;
  struct sim_conn *c = conn_at(w, id);
  ASSERT(c != NULL && c->state == SIM_CONN_CONNECTING && c->peer == 0);
  c->hold_event = 0;
  if (w->now_ns >= c->connect_started_ns + w->net_timeout_ns) {
    close_end(w, c, ENV_ETIMEDOUT, w->now_ns, true);
    return;
  }
  ASSERT(c->syn_backoff_ns < UINT64_MAX / 2);
  c->syn_backoff_ns *= 2;
  syn_send(w, c);
}

/* Sends a SYN (unless either direction is blocked now) and arms the retry. */
static void syn_send(struct sim_world *w, struct sim_conn *c) {
  ASSERT(c->state == SIM_CONN_CONNECTING && c->peer == 0 && c->hold_event == 0);
  uint64_t id = end_id(w, c);
  if (!path_blocked(w, c->node, c->peer_node)) {
    uint64_t at_ns = w->now_ns + link_latency_ns(w, link_of(w, c->node, c->peer_node));
    sim_event_at(w, c->peer_node, SIM_EV_KERNEL, at_ns, ev_syn, NULL, id, NULL);
  }
  uint64_t retry_ns = w->now_ns + c->syn_backoff_ns;
  uint64_t deadline_ns = c->connect_started_ns + w->net_timeout_ns;
  if (retry_ns > deadline_ns) retry_ns = deadline_ns > w->now_ns ? deadline_ns : w->now_ns;
  c->hold_event =
      sim_event_at(w, c->node, SIM_EV_KERNEL, retry_ns, ev_syn_retry, NULL, id, NULL);
}

static int net_connect(struct env *env, const char *host, uint16_t port,
                       uint32_t frame_bytes_max, env_conn_id *conn_out) {
  struct sim_node *n = sim_node_of(env);
  struct sim_world *w = n->world;
  ASSERT(conn_out != NULL);
  if (w->conn_count >= SIM_CONNS_MAX) return ENV_ENOMEM;
  struct sim_node *server = resolve(w, n, host);
  uint64_t id = conn_new(w, n->index, server ? server->index : -1, SIM_CONN_CONNECTING);
  struct sim_conn *c = conn_at(w, id);
  c->frame_bytes_max = frame_bytes_max;
  c->port = port;
  c->connect_started_ns = w->now_ns;
  c->syn_backoff_ns = SYN_BACKOFF_FIRST_NS;
  *conn_out = id;
  if (!server) { /* no such host: refused, never inside this call */
    close_end(w, c, ENV_ECONNREFUSED, w->now_ns, true);
    return 0;
  }
  syn_send(w, c);
  return 0;
}

/* The simulated network numbers its hosts 10.0.0.1 and up, by index. */
static void net_peer_host(struct env *env, env_conn_id id, char *out, size_t cap) {
  ASSERT(out != NULL && cap > 0);
  struct sim_node *n = sim_node_of(env);
  const struct sim_conn *c = conn_at(n->world, id);
  if (c == NULL || c->node != n->index || c->peer_node < 0)
    snprintf(out, cap, "%s", "");
  else
    snprintf(out, cap, "10.0.%d.%d", (c->peer_node + 1) / 256, (c->peer_node + 1) % 256);
}

/* ---- the world's side ---- */

void sim_net_install(struct sim_node *n) {
  n->env.listen = net_listen;
  n->env.listener_port = net_listener_port;
  n->env.connect = net_connect;
  n->env.send = net_send;
  n->env.send_queued_bytes = net_send_queued_bytes;
  n->env.peer_host = net_peer_host;
  n->env.read_pause = net_read_pause;
  n->env.net_limits_set = net_limits_set;
  n->env.close = net_close;
}

/* Power loss: the node's ends vanish (no callbacks to it: it is gone); each
 * open peer end gets a RST over the link. Listeners close. */
void sim_net_crash(struct sim_node *n) {
  struct sim_world *w = n->world;
  for (uint32_t i = 0; i < w->conn_count; i++) {
    struct sim_conn *c = &w->conns[i];
    if (c->state == SIM_CONN_CLOSED || c->node != n->index) continue;
    send_control(w, c, SIM_FRAME_RST);
    close_end(w, c, ENV_ECONNRESET, w->now_ns, false);
  }
  memset(n->net.listeners, 0, sizeof n->net.listeners);
}

void sim_net_free(struct sim_world *w) {
  for (uint32_t i = 0; i < w->conn_count; i++) {
    struct sim_frame *f = w->conns[i].in_head;
    for (uint32_t k = 0; f && k < UINT32_MAX; k++) {
      struct sim_frame *next = f->next;
      frame_free(w, f);
      f = next;
    }
  }
  for (uint32_t k = 0; w->frames_spare && k <= SIM_FRAMES_SPARE_MAX; k++) {
    struct sim_frame *next = w->frames_spare->next;
    free(w->frames_spare);
    w->frames_spare = next;
  }
  w->frames_spare_count = 0;
  free(w->conns);
  w->conns = NULL;
  w->conn_count = w->conn_cap = w->open_ends = 0;
}

/* ---- settings ---- */

void sim_net_set_default_link(struct sim_world *w, const struct sim_link_config *cfg) {
  ASSERT(cfg != NULL);
  w->default_link = *cfg;
  for (int i = 0; i < SIM_NODES_MAX * SIM_NODES_MAX; i++) w->links[i].cfg = *cfg;
}

void sim_net_set_link(struct sim_world *w, struct sim_node *from, struct sim_node *to,
                      const struct sim_link_config *cfg) {
  ASSERT(cfg != NULL);
  w->links[link_index(from->index, to->index)].cfg = *cfg;
}

void sim_world_set_latency(struct sim_world *w, uint64_t base_ns, uint64_t jitter_ns) {
  w->default_link.latency_base_ns = base_ns;
  w->default_link.latency_jitter_ns = jitter_ns;
  for (int i = 0; i < SIM_NODES_MAX * SIM_NODES_MAX; i++) {
    w->links[i].cfg.latency_base_ns = base_ns;
    w->links[i].cfg.latency_jitter_ns = jitter_ns;
  }
}

void sim_world_set_partition_timeout(struct sim_world *w, uint64_t timeout_ns) {
  w->net_timeout_ns = timeout_ns;
}

/* ---- faults ---- */

static void trace_fault(struct sim_world *w, uint64_t what, int from, int to, uint64_t x) {
  trace_net(w, TRACE_FAULT, what << 16 | link_index(from, to), x);
}

uint64_t sim_net_cut_changes(const struct sim_world *w) { return w->cut_changes; }

bool sim_net_is_cut(const struct sim_world *w, const struct sim_node *from,
                    const struct sim_node *to) {
  return w->links[link_index(from->index, to->index)].cut;
}

void sim_net_cut(struct sim_world *w, struct sim_node *from, struct sim_node *to, bool cut) {
  trace_fault(w, 1, from->index, to->index, cut);
  w->links[link_index(from->index, to->index)].cut = cut;
  w->cut_changes++;
  if (!cut) link_release(w, from->index, to->index);
}

void sim_net_partition(struct sim_world *w, struct sim_node *a, struct sim_node *b, bool cut) {
  if (!cut) {
    sim_net_heal(w, a, b);
    return;
  }
  sim_net_cut(w, a, b, true);
  sim_net_cut(w, b, a, true);
}

void sim_net_partition_sets(struct sim_world *w, struct sim_node *const *a, int a_count,
                            struct sim_node *const *b, int b_count) {
  ASSERT(a_count >= 0 && a_count <= SIM_NODES_MAX && b_count >= 0 && b_count <= SIM_NODES_MAX);
  for (int i = 0; i < a_count; i++)
    for (int j = 0; j < b_count; j++)
      if (a[i] != b[j]) sim_net_partition(w, a[i], b[j], true);
}

void sim_net_isolate(struct sim_world *w, struct sim_node *n) {
  for (int i = 0; i < w->node_count; i++)
    if (w->nodes[i] != n) sim_net_partition(w, n, w->nodes[i], true);
}

static bool in_set(struct sim_node *const *set, int count, const struct sim_node *n) {
  for (int i = 0; i < count; i++)
    if (set[i] == n) return true;
  return false;
}

void sim_net_bridge(struct sim_world *w, struct sim_node *const *a, int a_count,
                    struct sim_node *const *b, int b_count, struct sim_node *bridge) {
  ASSERT(!in_set(a, a_count, bridge) && !in_set(b, b_count, bridge));
  sim_net_heal_all(w);
  sim_net_partition_sets(w, a, a_count, b, b_count);
}

/* Both ways: cuts and clogs between the pair are gone. */
void sim_net_heal(struct sim_world *w, struct sim_node *a, struct sim_node *b) {
  trace_fault(w, 2, a->index, b->index, 0);
  struct sim_link *ab = &w->links[link_index(a->index, b->index)];
  struct sim_link *ba = &w->links[link_index(b->index, a->index)];
  ab->cut = ba->cut = false;
  w->cut_changes++;
  ab->clogged_until_ns = ba->clogged_until_ns = 0;
  link_release(w, a->index, b->index);
  if (a != b) link_release(w, b->index, a->index);
}

void sim_net_heal_all(struct sim_world *w) {
  trace_fault(w, 3, 0, 0, 0);
  w->cut_changes++;
  for (int i = 0; i < w->node_count; i++)
    for (int j = 0; j < w->node_count; j++) {
      struct sim_link *l = &w->links[link_index(i, j)];
      l->cut = false;
      l->clogged_until_ns = 0;
    }
  for (uint32_t i = 0; i < w->conn_count; i++) {
    struct sim_conn *c = &w->conns[i];
    if (c->state != SIM_CONN_OPEN || c->held_since_ns == 0) continue;
    hold_end(w, c);
    pump_schedule(w, c);
  }
}

static void ev_unclog(struct sim_world *w, void *ctx, uint64_t link) {
  (void)ctx;
  ASSERT(link < (uint64_t)SIM_NODES_MAX * SIM_NODES_MAX);
  link_release(w, (int)(link / SIM_NODES_MAX), (int)(link % SIM_NODES_MAX));
}

void sim_net_clog(struct sim_world *w, struct sim_node *from, struct sim_node *to,
                  uint64_t duration_ns) {
  trace_fault(w, 4, from->index, to->index, duration_ns);
  ASSERT(duration_ns <= UINT64_MAX - w->now_ns);
  uint32_t li = link_index(from->index, to->index);
  struct sim_link *l = &w->links[li];
  uint64_t until_ns = w->now_ns + duration_ns;
  if (until_ns <= l->clogged_until_ns) return; /* an earlier clog lasts longer */
  l->clogged_until_ns = until_ns;
  sim_event_at(w, -1, SIM_EV_KERNEL, until_ns, ev_unclog, NULL, li, NULL);
}

void sim_net_latency_spike(struct sim_world *w, struct sim_node *from, struct sim_node *to,
                           uint64_t extra_ns, uint64_t duration_ns) {
  trace_fault(w, 5, from->index, to->index, extra_ns ^ duration_ns << 1);
  ASSERT(duration_ns <= UINT64_MAX - w->now_ns);
  struct sim_link *l = &w->links[link_index(from->index, to->index)];
  l->spike_extra_ns = extra_ns;
  l->spike_until_ns = w->now_ns + duration_ns;
}

/* Both ends of c's connection close with ENV_ECONNRESET now. */
static void reset_pair(struct sim_world *w, struct sim_conn *c) {
  struct sim_conn *p = conn_at(w, c->peer);
  close_end(w, c, ENV_ECONNRESET, w->now_ns, true);
  if (p && p->state != SIM_CONN_CLOSED) close_end(w, p, ENV_ECONNRESET, w->now_ns, true);
}

int sim_net_reset(struct sim_world *w, struct sim_node *a, struct sim_node *b) {
  trace_fault(w, 6, a->index, b->index, 0);
  int count = 0;
  for (uint32_t i = 0; i < w->conn_count; i++) {
    struct sim_conn *c = &w->conns[i];
    if (c->state == SIM_CONN_CLOSED) continue;
    bool ab = c->node == a->index && c->peer_node == b->index;
    bool ba = c->node == b->index && c->peer_node == a->index;
    if (!ab && !ba) continue;
    reset_pair(w, c);
    count++;
  }
  return count;
}

bool sim_net_reset_conn(struct sim_world *w, uint64_t conn_id) {
  struct sim_conn *c = conn_at(w, conn_id);
  if (!c || c->state == SIM_CONN_CLOSED) return false;
  trace_fault(w, 7, c->node, c->peer_node >= 0 ? c->peer_node : c->node, conn_id);
  reset_pair(w, c);
  return true;
}

/* ---- counters ---- */

void sim_net_stats(const struct sim_node *n, struct sim_net_stats *out) {
  ASSERT(out != NULL);
  *out = n->net.stats;
}

uint32_t sim_net_open_ends(const struct sim_world *w) { return w->open_ends; }
