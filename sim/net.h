/* The simulated network: hosts are nodes; a node listens on its own host
 * name and connects to others by (host, port). Each direction of a
 * connection is an in-order stream of frames over the link between the two
 * nodes: a frame leaves when the link has serialised the frames before it
 * (bandwidth) and arrives a seeded latency later (base + jitter, plus any
 * latency spike), never before the frame sent ahead of it.
 *
 * Faults act on links (one direction: from -> to). A cut or clogged link
 * holds the frames that reach it (a stall); if the hold lasts the timeout
 * (TCP giving up on unacknowledged data; default 10 s virtual) both ends
 * reset: the sender's end closes with ENV_ETIMEDOUT, the receiver's with
 * ENV_ECONNRESET. A hold that heals in time delivers everything, in order.
 * An idle connection across a partition lives on, as an idle TCP
 * connection does, until someone sends. A connect needs both directions:
 * across a partition it retries (1 s, 2 s, 4 s... as SYNs do) and fails
 * with ENV_ETIMEDOUT after the timeout; to a port nobody listens on it fails
 * with ENV_ECONNREFUSED. The model is at the frame level: TCP's ACKs are
 * not simulated, so a one-way cut stalls only that direction. */
#ifndef SLUICE_SIM_NET_H
#define SLUICE_SIM_NET_H

#include <stdbool.h>
#include <stdint.h>

struct sim_world;
struct sim_node;

struct sim_link_config {
  uint64_t latency_base_ns;
  uint64_t latency_jitter_ns;     /* uniform in [0, jitter) */
  uint64_t bandwidth_bytes_per_s; /* 0: unlimited */
};

/* Every link, present and future (default: 200 us + [0, 300 us), 1 Gbit/s). */
void sim_net_set_default_link(struct sim_world *w, const struct sim_link_config *cfg);
/* One direction of one link. */
void sim_net_set_link(struct sim_world *w, struct sim_node *from, struct sim_node *to,
                      const struct sim_link_config *cfg);
/* Shorthand: sets the latency of every link, keeping bandwidths. */
void sim_world_set_latency(struct sim_world *w, uint64_t base_ns, uint64_t jitter_ns);
/* How long frames may be held before both ends reset; also the connect
 * timeout. */
void sim_world_set_partition_timeout(struct sim_world *w, uint64_t timeout_ns);

/* ---- faults ---- */

/* One way: frames from `from` to `to` are held (cut) or flow again. */
void sim_net_cut(struct sim_world *w, struct sim_node *from, struct sim_node *to, bool cut);
/* Counts the calls that may have changed a cut (cut, heal, heal all): an
 * observer that derives something from the cuts recomputes it only when
 * this moved. */
uint64_t sim_net_cut_changes(const struct sim_world *w);
/* Whether frames from `from` to `to` are held by a cut (a partition). */
bool sim_net_is_cut(const struct sim_world *w, const struct sim_node *from,
                    const struct sim_node *to);
/* Both ways between two nodes (cut == false heals that pair). */
void sim_net_partition(struct sim_world *w, struct sim_node *a, struct sim_node *b, bool cut);
/* Both ways between every node of a and every node of b. */
void sim_net_partition_sets(struct sim_world *w, struct sim_node *const *a, int a_count,
                            struct sim_node *const *b, int b_count);
/* Both ways between n and every other node. */
void sim_net_isolate(struct sim_world *w, struct sim_node *n);
/* Jepsen's bridge: heals everything, then cuts a from b both ways while
 * `bridge` (in neither set) still reaches both sides. */
void sim_net_bridge(struct sim_world *w, struct sim_node *const *a, int a_count,
                    struct sim_node *const *b, int b_count, struct sim_node *bridge);
void sim_net_heal(struct sim_world *w, struct sim_node *a, struct sim_node *b);
/* Heals every cut and clog (not latency spikes or link settings). */
void sim_net_heal_all(struct sim_world *w);
/* Holds frames from -> to for duration_ns (a clogged link), then lets them
 * through, in order. */
void sim_net_clog(struct sim_world *w, struct sim_node *from, struct sim_node *to,
                  uint64_t duration_ns);
/* Adds extra_ns to the latency of frames sent from -> to for duration_ns. */
void sim_net_latency_spike(struct sim_world *w, struct sim_node *from, struct sim_node *to,
                           uint64_t extra_ns, uint64_t duration_ns);
/* Resets every connection between a and b (both ends see ENV_ECONNRESET);
 * returns how many. */
int sim_net_reset(struct sim_world *w, struct sim_node *a, struct sim_node *b);
/* Resets one connection (by either end's id); false if not open. */
bool sim_net_reset_conn(struct sim_world *w, uint64_t conn_id);

/* ---- counters (for reports) ---- */

struct sim_net_stats {
  uint64_t frames_sent, bytes_sent;         /* by this node */
  uint64_t frames_received, bytes_received; /* delivered to this node */
  uint64_t connects, connects_failed, accepts;
  uint64_t resets;    /* this node's ends closed with ENV_ECONNRESET */
  uint64_t timeouts;  /* this node's ends or connects that timed out */
  uint64_t oversized; /* frames over frame_bytes_max that closed a connection */
  /* Budgets (issue 13): connections refused at accept by max.connections or
   * max.connections.per.ip; times an end waited for queued.max.request.bytes
   * before a big frame; the most bytes already queued unsent on one of this
   * node's ends when it sent another frame on it (a server keeping to
   * sluice.connection.response.bytes.max keeps this under it). */
  uint64_t refused;
  uint64_t receive_waits;
  uint64_t send_queued_peak_bytes;
};
void sim_net_stats(const struct sim_node *n, struct sim_net_stats *out);
/* Writes `len` bytes of the byte stream on the node's connection `conn`
 * as they are, with no length prefix of their own: a client writing a frame
 * in pieces (a prefix claiming a large frame, then a trickle of its body).
 * The receiving end assembles frames from them as a socket reader does
 * (a big frame reserves queued.max.request.bytes first). Takes nothing;
 * ENV_ECONNRESET if the end is not open. */
int sim_net_send_raw(struct sim_node *n, uint64_t conn, const uint8_t *bytes, uint32_t len);
/* Connections (ends) open or connecting in the whole world. */
uint32_t sim_net_open_ends(const struct sim_world *w);

#endif
