/* The simulated network (sim/net.h): connections, in-order frames, links
 * with bandwidth and latency, and its faults, through the env vtable the
 * broker and the clients use. Each node records what its handler heard. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/world.h"
#include "testing.h"

enum {
  NODES_MAX = 3,
  EVENTS_MAX = 512,
  PORT = 9000,
  PORT_SMALL = 9001, /* frames over SMALL_FRAME_BYTES close the connection */
  SMALL_FRAME_BYTES = 100,
  FRAME_BYTES_MAX = 1 << 20,
  NO_EVENT = 1, /* no ENV_E* is positive */
};

enum rec_kind { REC_ACCEPTED = 'a', REC_CONNECTED = 'c', REC_FRAME = 'f', REC_CLOSED = 'x' };

struct rec_event {
  char kind;
  uint64_t conn;
  int err;
  uint32_t value; /* a frame's first 4 bytes */
  size_t len;
  uint64_t at_ns;
};

struct rec {
  struct env *env;
  struct rec_event events[EVENTS_MAX];
  int count;
};

static struct sim_world *W;
static struct sim_node *N[NODES_MAX];
static struct rec R[NODES_MAX];

static void rec_push(struct rec *r, struct rec_event e) {
  ck_assert_int_lt(r->count, EVENTS_MAX);
  e.at_ns = sim_now_ns(W);
  r->events[r->count++] = e;
}

static void on_accepted(void *ctx, uint32_t listener, env_conn_id conn) {
  (void)listener;
  rec_push(ctx, (struct rec_event){.kind = REC_ACCEPTED, .conn = conn});
}

static void on_connected(void *ctx, env_conn_id conn, int err) {
  rec_push(ctx, (struct rec_event){.kind = REC_CONNECTED, .conn = conn, .err = err});
}

static void on_frame(void *ctx, env_conn_id conn, uint8_t *data, size_t len) {
  uint32_t value = 0;
  if (len >= 4) memcpy(&value, data, 4);
  free(data);
  rec_push(ctx,
           (struct rec_event){.kind = REC_FRAME, .conn = conn, .value = value, .len = len});
}

static void on_closed(void *ctx, env_conn_id conn, int err) {
  rec_push(ctx, (struct rec_event){.kind = REC_CLOSED, .conn = conn, .err = err});
}

/* A world of `nodes` nodes "n1".. with ids 1..; each listens on PORT and
 * PORT_SMALL. */
static void setup(uint64_t seed, int nodes) {
  ck_assert_int_le(nodes, NODES_MAX);
  memset(R, 0, sizeof R);
  W = sim_world_create(seed);
  for (int i = 0; i < nodes; i++) {
    char host[16];
    snprintf(host, sizeof host, "n%d", i + 1);
    N[i] = sim_node_add(W, i + 1, host);
    struct env *env = sim_node_env(N[i]);
    R[i].env = env;
    struct env_net_handler h = {.ctx = &R[i],
                                .accepted = on_accepted,
                                .connected = on_connected,
                                .frame = on_frame,
                                .closed = on_closed};
    env->net_handler_set(env, &h);
    uint32_t listener;
    ck_assert_int_eq(env->listen(env, host, PORT, FRAME_BYTES_MAX, &listener), 0);
    ck_assert_int_eq(env->listen(env, host, PORT_SMALL, SMALL_FRAME_BYTES, &listener), 0);
  }
}

static void teardown(void) {
  sim_world_destroy(W);
  W = NULL;
}

static void run_ms(uint64_t ms) { sim_run_until(W, sim_now_ns(W) + ms * NS_PER_MS); }

/* The index of the first event of a kind on a connection (conn 0: any); -1. */
static int rec_find(const struct rec *r, char kind, uint64_t conn) {
  for (int i = 0; i < r->count; i++)
    if (r->events[i].kind == kind && (conn == 0 || r->events[i].conn == conn)) return i;
  return -1;
}

static int rec_count(const struct rec *r, char kind, uint64_t conn) {
  int count = 0;
  for (int i = 0; i < r->count; i++)
    if (r->events[i].kind == kind && (conn == 0 || r->events[i].conn == conn)) count++;
  return count;
}

/* The error a connect or close reported; NO_EVENT if none yet. */
static int rec_err(const struct rec *r, char kind, uint64_t conn) {
  int i = rec_find(r, kind, conn);
  return i < 0 ? NO_EVENT : r->events[i].err;
}

static env_conn_id dial(int from, int to, uint16_t port) {
  env_conn_id id = 0;
  struct env *env = R[from].env;
  ck_assert_int_eq(env->connect(env, sim_node_host(N[to]), port, FRAME_BYTES_MAX, &id), 0);
  ck_assert_uint_ne(id, 0);
  return id;
}

/* Connects from -> to and returns the client's end; the server's in *server. */
static env_conn_id connect_ok(int from, int to, uint16_t port, env_conn_id *server) {
  int accepted_before = rec_count(&R[to], REC_ACCEPTED, 0);
  env_conn_id id = dial(from, to, port);
  ck_assert_int_eq(rec_err(&R[from], REC_CONNECTED, id), NO_EVENT); /* never inside */
  run_ms(100);
  ck_assert_int_eq(rec_err(&R[from], REC_CONNECTED, id), 0);
  ck_assert_int_eq(rec_count(&R[to], REC_ACCEPTED, 0), accepted_before + 1);
  for (int i = R[to].count - 1; i >= 0; i--)
    if (R[to].events[i].kind == REC_ACCEPTED) {
      *server = R[to].events[i].conn;
      break;
    }
  return id;
}

static void send_value(int from, env_conn_id conn, uint32_t value, size_t len) {
  ck_assert_uint_ge(len, 4);
  uint8_t *data = calloc(1, len);
  ck_assert_ptr_nonnull(data);
  memcpy(data, &value, 4);
  struct env_iov iov[2] = {{.kind = ENV_IOV_MEM, .base = data, .len = 4},
                           {.kind = ENV_IOV_MEM, .base = data + 4, .len = len - 4}};
  ck_assert_int_eq(R[from].env->send(R[from].env, conn, iov, 2), 0);
  free(data);
}

/* The values of the frames node got on conn, in order; returns how many. */
static int frames_of(int node, env_conn_id conn, uint32_t *out, int cap) {
  int count = 0;
  for (int i = 0; i < R[node].count && count < cap; i++)
    if (R[node].events[i].kind == REC_FRAME && R[node].events[i].conn == conn)
      out[count++] = R[node].events[i].value;
  return count;
}

static void assert_frames(int node, env_conn_id conn, uint32_t first, int count) {
  uint32_t got[EVENTS_MAX];
  ck_assert_int_eq(frames_of(node, conn, got, EVENTS_MAX), count);
  for (int i = 0; i < count; i++) ck_assert_uint_eq(got[i], first + (uint32_t)i);
}

/* ---- connections ---- */

START_TEST(frames_flow_in_order_both_ways) {
  setup(1, 2);
  env_conn_id server = 0, client = connect_ok(0, 1, PORT, &server);
  ck_assert_uint_eq(sim_net_open_ends(W), 2);
  for (uint32_t i = 0; i < 50; i++) send_value(0, client, 100 + i, 4 + i * 37);
  for (uint32_t i = 0; i < 20; i++) send_value(1, server, 500 + i, 64);
  run_ms(100);
  assert_frames(1, server, 100, 50);
  assert_frames(0, client, 500, 20);
  for (int i = 0, k = 0; i < R[1].count; i++)
    if (R[1].events[i].kind == REC_FRAME) ck_assert_uint_eq(R[1].events[i].len, 4 + 37 * k++);
  struct sim_net_stats st;
  sim_net_stats(N[0], &st);
  ck_assert_uint_eq(st.frames_sent, 50);
  ck_assert_uint_eq(st.frames_received, 20);
  ck_assert_uint_eq(st.connects, 1);
  sim_net_stats(N[1], &st);
  ck_assert_uint_eq(st.accepts, 1);
  ck_assert_uint_eq(st.bytes_received, 50 * 4 + 37 * (49 * 50 / 2));
  ck_assert_uint_eq(R[0].env->send_queued_bytes(R[0].env, client), 0);
  teardown();
}
END_TEST

START_TEST(close_delivers_what_was_sent_then_eof) {
  setup(2, 2);
  env_conn_id server = 0, client = connect_ok(0, 1, PORT, &server);
  send_value(0, client, 1, 8);
  send_value(0, client, 2, 8);
  R[0].env->close(R[0].env, client);
  ck_assert_int_eq(rec_err(&R[0], REC_CLOSED, client), NO_EVENT); /* an event, later */
  run_ms(100);
  ck_assert_int_eq(rec_err(&R[0], REC_CLOSED, client), 0);
  assert_frames(1, server, 1, 2);
  ck_assert_int_eq(rec_err(&R[1], REC_CLOSED, server), 0); /* EOF ... */
  ck_assert_int_gt(rec_find(&R[1], REC_CLOSED, server), rec_find(&R[1], REC_FRAME, server));
  ck_assert_uint_eq(sim_net_open_ends(W), 0);
  ck_assert_int_eq(R[1].env->send(R[1].env, server, NULL, 0), ENV_ECONNRESET);
  teardown();
}
END_TEST

/* The node's back-pressure (issue 13): a paused end's frames, and its EOF,
 * wait in its queue until it is resumed; then they come in order. */
START_TEST(read_pause_holds_frames_and_eof_until_resumed) {
  setup(3, 2);
  env_conn_id server = 0, client = connect_ok(0, 1, PORT, &server);
  R[1].env->read_pause(R[1].env, server, true);
  send_value(0, client, 1, 8);
  send_value(0, client, 2, 8);
  R[0].env->close(R[0].env, client);
  run_ms(1000);
  ck_assert_int_eq(rec_count(&R[1], REC_FRAME, server), 0);
  ck_assert_int_eq(rec_err(&R[1], REC_CLOSED, server), NO_EVENT);
  R[1].env->read_pause(R[1].env, server, false);
  run_ms(10);
  assert_frames(1, server, 1, 2);
  ck_assert_int_eq(rec_err(&R[1], REC_CLOSED, server), 0);
  teardown();
}
END_TEST

START_TEST(localhost_is_the_node_itself) {
  setup(3, 1);
  env_conn_id id = 0;
  ck_assert_int_eq(R[0].env->connect(R[0].env, "localhost", PORT, FRAME_BYTES_MAX, &id), 0);
  run_ms(100);
  ck_assert_int_eq(rec_err(&R[0], REC_CONNECTED, id), 0);
  ck_assert_int_eq(rec_count(&R[0], REC_ACCEPTED, 0), 1);
  send_value(0, id, 7, 4);
  run_ms(100);
  ck_assert_int_eq(rec_count(&R[0], REC_FRAME, 0), 1);
  teardown();
}
END_TEST

START_TEST(connect_to_a_closed_port_is_refused) {
  setup(4, 2);
  env_conn_id id = dial(0, 1, 4242);
  run_ms(100);
  ck_assert_int_eq(rec_err(&R[0], REC_CONNECTED, id), ENV_ECONNREFUSED);
  ck_assert_int_eq(rec_count(&R[1], REC_ACCEPTED, 0), 0);
  struct sim_net_stats st;
  sim_net_stats(N[0], &st);
  ck_assert_uint_eq(st.connects_failed, 1);
  ck_assert_uint_eq(sim_net_open_ends(W), 0);
  teardown();
}
END_TEST

START_TEST(ephemeral_ports_are_distinct) {
  setup(5, 1);
  struct env *env = R[0].env;
  uint32_t a, b;
  ck_assert_int_eq(env->listen(env, "n1", 0, FRAME_BYTES_MAX, &a), 0);
  ck_assert_int_eq(env->listen(env, "n1", 0, FRAME_BYTES_MAX, &b), 0);
  ck_assert_uint_ne(env->listener_port(env, a), 0);
  ck_assert_uint_ne(env->listener_port(env, a), env->listener_port(env, b));
  uint32_t c;
  ck_assert_int_eq(env->listen(env, "n1", PORT, FRAME_BYTES_MAX, &c), ENV_EADDRINUSE);
  teardown();
}
END_TEST

/* ---- cuts, clogs, timeouts ---- */

START_TEST(one_way_cut_holds_that_direction_until_healed) {
  setup(6, 2);
  env_conn_id server = 0, client = connect_ok(0, 1, PORT, &server);
  sim_net_cut(W, N[0], N[1], true);
  for (uint32_t i = 0; i < 3; i++) send_value(0, client, 10 + i, 16);
  send_value(1, server, 99, 16);
  run_ms(2000);
  assert_frames(1, server, 10, 0); /* held */
  assert_frames(0, client, 99, 1); /* the other way flows */
  ck_assert_uint_eq(R[0].env->send_queued_bytes(R[0].env, client), 3 * 16);
  sim_net_cut(W, N[0], N[1], false);
  run_ms(100);
  assert_frames(1, server, 10, 3);
  ck_assert_int_eq(rec_count(&R[0], REC_CLOSED, 0) + rec_count(&R[1], REC_CLOSED, 0), 0);
  ck_assert_uint_eq(sim_net_open_ends(W), 2);
  teardown();
}
END_TEST

START_TEST(a_hold_past_the_timeout_resets_both_ends) {
  setup(7, 2);
  sim_world_set_partition_timeout(W, 3 * NS_PER_S);
  env_conn_id server = 0, client = connect_ok(0, 1, PORT, &server);
  sim_net_cut(W, N[0], N[1], true);
  uint64_t sent_ns = sim_now_ns(W);
  send_value(0, client, 1, 16);
  run_ms(2000);
  ck_assert_int_eq(rec_count(&R[0], REC_CLOSED, 0), 0);
  run_ms(2000);
  ck_assert_int_eq(rec_err(&R[0], REC_CLOSED, client), ENV_ETIMEDOUT);
  ck_assert_int_eq(rec_err(&R[1], REC_CLOSED, server), ENV_ECONNRESET);
  ck_assert_uint_ge(R[0].events[rec_find(&R[0], REC_CLOSED, client)].at_ns,
                    sent_ns + 3 * NS_PER_S);
  assert_frames(1, server, 1, 0);
  ck_assert_uint_eq(sim_net_open_ends(W), 0);
  struct sim_net_stats st;
  sim_net_stats(N[0], &st);
  ck_assert_uint_eq(st.timeouts, 1);
  sim_net_stats(N[1], &st);
  ck_assert_uint_eq(st.resets, 1);
  teardown();
}
END_TEST

START_TEST(an_idle_connection_across_a_partition_lives_on) {
  setup(8, 2);
  env_conn_id server = 0, client = connect_ok(0, 1, PORT, &server);
  sim_net_partition(W, N[0], N[1], true);
  run_ms(60 * 1000);
  sim_net_heal(W, N[0], N[1]);
  send_value(0, client, 5, 8);
  run_ms(100);
  assert_frames(1, server, 5, 1);
  ck_assert_uint_eq(sim_net_open_ends(W), 2);
  teardown();
}
END_TEST

START_TEST(a_short_clog_delays_but_delivers_everything) {
  setup(9, 2);
  env_conn_id server = 0, client = connect_ok(0, 1, PORT, &server);
  uint64_t clog_end_ns = sim_now_ns(W) + 1000 * NS_PER_MS;
  sim_net_clog(W, N[0], N[1], 1000 * NS_PER_MS);
  for (uint32_t i = 0; i < 5; i++) send_value(0, client, 20 + i, 32);
  run_ms(500);
  assert_frames(1, server, 20, 0);
  run_ms(1000);
  assert_frames(1, server, 20, 5);
  ck_assert_uint_ge(R[1].events[rec_find(&R[1], REC_FRAME, server)].at_ns, clog_end_ns);
  ck_assert_int_eq(rec_count(&R[0], REC_CLOSED, 0) + rec_count(&R[1], REC_CLOSED, 0), 0);
  teardown();
}
END_TEST

START_TEST(a_latency_spike_delays_frames_sent_during_it) {
  setup(10, 2);
  struct sim_link_config cfg = {.latency_base_ns = NS_PER_MS, .bandwidth_bytes_per_s = 0};
  sim_net_set_default_link(W, &cfg);
  env_conn_id server = 0, client = connect_ok(0, 1, PORT, &server);
  sim_net_latency_spike(W, N[0], N[1], 50 * NS_PER_MS, 100 * NS_PER_MS);
  uint64_t a_ns = sim_now_ns(W);
  send_value(0, client, 1, 8);
  run_ms(200);
  uint64_t b_ns = sim_now_ns(W);
  send_value(0, client, 2, 8);
  run_ms(200);
  assert_frames(1, server, 1, 2);
  int first = rec_find(&R[1], REC_FRAME, server);
  ck_assert_uint_eq(R[1].events[first].at_ns, a_ns + 51 * NS_PER_MS);
  ck_assert_uint_eq(R[1].events[first + 1].at_ns, b_ns + NS_PER_MS);
  teardown();
}
END_TEST

START_TEST(connect_across_a_partition_times_out) {
  setup(11, 2);
  sim_net_partition(W, N[0], N[1], true);
  uint64_t start_ns = sim_now_ns(W);
  env_conn_id id = dial(0, 1, PORT);
  run_ms(9000);
  ck_assert_int_eq(rec_err(&R[0], REC_CONNECTED, id), NO_EVENT); /* still retrying */
  run_ms(2000);
  ck_assert_int_eq(rec_err(&R[0], REC_CONNECTED, id), ENV_ETIMEDOUT);
  ck_assert_uint_ge(R[0].events[rec_find(&R[0], REC_CONNECTED, id)].at_ns,
                    start_ns + 10 * NS_PER_S);
  ck_assert_int_eq(rec_count(&R[1], REC_ACCEPTED, 0), 0);
  struct sim_net_stats st;
  sim_net_stats(N[0], &st);
  ck_assert_uint_eq(st.timeouts, 1);
  ck_assert_uint_eq(st.connects_failed, 1);
  teardown();
}
END_TEST

START_TEST(a_connect_retries_its_syn_until_the_partition_heals) {
  setup(12, 2);
  sim_net_cut(W, N[1], N[0], true); /* one way is enough to stop a connect */
  env_conn_id id = dial(0, 1, PORT);
  run_ms(2500);
  ck_assert_int_eq(rec_count(&R[1], REC_ACCEPTED, 0), 0);
  sim_net_heal(W, N[0], N[1]);
  run_ms(1000); /* the SYN sent again at 3 s */
  ck_assert_int_eq(rec_err(&R[0], REC_CONNECTED, id), 0);
  ck_assert_int_eq(rec_count(&R[1], REC_ACCEPTED, 0), 1);
  teardown();
}
END_TEST

START_TEST(isolate_and_bridge) {
  setup(13, 3);
  sim_world_set_partition_timeout(W, 3 * NS_PER_S);
  sim_net_isolate(W, N[2]);
  env_conn_id a = dial(2, 0, PORT), b = dial(1, 2, PORT);
  env_conn_id server = 0, c = connect_ok(0, 1, PORT, &server); /* the others still talk */
  (void)c;
  run_ms(4000);
  ck_assert_int_eq(rec_err(&R[2], REC_CONNECTED, a), ENV_ETIMEDOUT);
  ck_assert_int_eq(rec_err(&R[1], REC_CONNECTED, b), ENV_ETIMEDOUT);
  /* Bridge: n1 | n2, n3 reaches both. */
  struct sim_node *left[] = {N[0]}, *right[] = {N[1]};
  sim_net_bridge(W, left, 1, right, 1, N[2]);
  env_conn_id x = dial(0, 1, PORT);
  env_conn_id y = dial(1, 0, PORT);
  connect_ok(2, 0, PORT, &server);
  connect_ok(2, 1, PORT, &server);
  connect_ok(0, 2, PORT, &server);
  connect_ok(1, 2, PORT, &server);
  run_ms(4000);
  ck_assert_int_eq(rec_err(&R[0], REC_CONNECTED, x), ENV_ETIMEDOUT);
  ck_assert_int_eq(rec_err(&R[1], REC_CONNECTED, y), ENV_ETIMEDOUT);
  sim_net_heal_all(W);
  connect_ok(0, 1, PORT, &server);
  teardown();
}
END_TEST

START_TEST(partition_sets_cut_every_pair_across) {
  setup(14, 3);
  sim_world_set_partition_timeout(W, 2 * NS_PER_S);
  struct sim_node *left[] = {N[0]}, *right[] = {N[1], N[2]};
  sim_net_partition_sets(W, left, 1, right, 2);
  env_conn_id a = dial(0, 1, PORT), b = dial(2, 0, PORT);
  env_conn_id server = 0;
  connect_ok(1, 2, PORT, &server); /* within one side */
  run_ms(3000);
  ck_assert_int_eq(rec_err(&R[0], REC_CONNECTED, a), ENV_ETIMEDOUT);
  ck_assert_int_eq(rec_err(&R[2], REC_CONNECTED, b), ENV_ETIMEDOUT);
  teardown();
}
END_TEST

/* ---- resets and crashes ---- */

START_TEST(reset_closes_both_ends_with_econnreset) {
  setup(15, 2);
  env_conn_id s1 = 0, c1 = connect_ok(0, 1, PORT, &s1);
  env_conn_id s2 = 0, c2 = connect_ok(1, 0, PORT, &s2);
  ck_assert_int_eq(sim_net_reset(W, N[0], N[1]), 2);
  run_ms(10);
  ck_assert_int_eq(rec_err(&R[0], REC_CLOSED, c1), ENV_ECONNRESET);
  ck_assert_int_eq(rec_err(&R[1], REC_CLOSED, s1), ENV_ECONNRESET);
  ck_assert_int_eq(rec_err(&R[1], REC_CLOSED, c2), ENV_ECONNRESET);
  ck_assert_int_eq(rec_err(&R[0], REC_CLOSED, s2), ENV_ECONNRESET);
  env_conn_id s3 = 0, c3 = connect_ok(0, 1, PORT, &s3);
  ck_assert(sim_net_reset_conn(W, s3)); /* by the server's end */
  ck_assert(!sim_net_reset_conn(W, c3));
  run_ms(10);
  ck_assert_int_eq(rec_err(&R[0], REC_CLOSED, c3), ENV_ECONNRESET);
  ck_assert_int_eq(rec_err(&R[1], REC_CLOSED, s3), ENV_ECONNRESET);
  ck_assert_uint_eq(sim_net_open_ends(W), 0);
  teardown();
}
END_TEST

START_TEST(a_crash_resets_the_peer_and_closes_listeners) {
  setup(16, 2);
  env_conn_id server = 0, client = connect_ok(0, 1, PORT, &server);
  send_value(1, server, 3, 8); /* in flight when the server dies: still arrives */
  int server_events = R[1].count;
  sim_node_crash(N[1]);
  run_ms(100);
  assert_frames(0, client, 3, 1);
  ck_assert_int_eq(rec_err(&R[0], REC_CLOSED, client), ENV_ECONNRESET);
  ck_assert_int_eq(R[1].count, server_events); /* the dead hear nothing */
  ck_assert_uint_eq(sim_net_open_ends(W), 0);
  env_conn_id again = dial(0, 1, PORT);
  run_ms(100);
  ck_assert_int_eq(rec_err(&R[0], REC_CONNECTED, again), ENV_ECONNREFUSED);
  teardown();
}
END_TEST

START_TEST(an_oversized_frame_closes_the_connection) {
  setup(17, 2);
  env_conn_id server = 0, client = connect_ok(0, 1, PORT_SMALL, &server);
  send_value(0, client, 1, SMALL_FRAME_BYTES);
  send_value(0, client, 2, SMALL_FRAME_BYTES + 1);
  send_value(0, client, 3, 8);
  run_ms(100);
  assert_frames(1, server, 1, 1);
  ck_assert_int_eq(rec_err(&R[1], REC_CLOSED, server), ENV_EINVAL);
  ck_assert_int_eq(rec_err(&R[0], REC_CLOSED, client), ENV_ECONNRESET);
  struct sim_net_stats st;
  sim_net_stats(N[1], &st);
  ck_assert_uint_eq(st.oversized, 1);
  teardown();
}
END_TEST

START_TEST(a_paused_receiver_stalls_without_a_reset) {
  setup(20, 2);
  env_conn_id server = 0, client = connect_ok(0, 1, PORT, &server);
  sim_node_pause(N[1]);
  for (uint32_t i = 0; i < 3; i++) send_value(0, client, 40 + i, 8);
  env_conn_id late = dial(0, 1, PORT); /* its kernel still accepts */
  run_ms(30 * 1000);
  assert_frames(1, server, 40, 0);
  ck_assert_int_eq(rec_err(&R[0], REC_CONNECTED, late), 0);
  ck_assert_int_eq(rec_count(&R[1], REC_ACCEPTED, 0), 1);
  sim_node_resume(N[1]);
  run_ms(10);
  assert_frames(1, server, 40, 3);
  ck_assert_int_eq(rec_count(&R[1], REC_ACCEPTED, 0), 2);
  ck_assert_int_eq(rec_count(&R[0], REC_CLOSED, 0) + rec_count(&R[1], REC_CLOSED, 0), 0);
  teardown();
}
END_TEST

/* ---- links ---- */

START_TEST(a_big_frame_on_a_slow_link_arrives_later) {
  setup(18, 3);
  struct sim_link_config fast = {.latency_base_ns = NS_PER_MS, .bandwidth_bytes_per_s = 0};
  struct sim_link_config slow = {.latency_base_ns = NS_PER_MS,
                                 .bandwidth_bytes_per_s = 1000 * 1000};
  sim_net_set_default_link(W, &fast);
  sim_net_set_link(W, N[0], N[1], &slow);
  env_conn_id s_slow = 0, c_slow = connect_ok(0, 1, PORT, &s_slow);
  env_conn_id s_fast = 0, c_fast = connect_ok(2, 1, PORT, &s_fast);
  uint64_t t0 = sim_now_ns(W);
  send_value(0, c_slow, 1, 100000);
  send_value(0, c_slow, 2, 996); /* queued behind it on the link */
  send_value(2, c_fast, 3, 100000);
  ck_assert_uint_eq(R[0].env->send_queued_bytes(R[0].env, c_slow), 100996);
  run_ms(1000);
  int big = rec_find(&R[1], REC_FRAME, s_slow), fast_big = rec_find(&R[1], REC_FRAME, s_fast);
  ck_assert_int_ge(big, 0);
  ck_assert_int_ge(fast_big, 0);
  /* 4-byte prefix + body at 1 MB/s: 1 us per byte, then the latency. */
  ck_assert_uint_eq(R[1].events[big].at_ns, t0 + 100004 * 1000 + NS_PER_MS);
  ck_assert_uint_eq(R[1].events[big + 1].at_ns, t0 + (100004 + 1000) * 1000 + NS_PER_MS);
  ck_assert_uint_eq(R[1].events[fast_big].at_ns, t0 + NS_PER_MS);
  ck_assert_int_lt(fast_big, big);
  teardown();
}
END_TEST

START_TEST(set_latency_keeps_bandwidth) {
  setup(19, 2);
  struct sim_link_config slow = {.latency_base_ns = NS_PER_MS,
                                 .bandwidth_bytes_per_s = 1000 * 1000};
  sim_net_set_link(W, N[0], N[1], &slow);
  sim_world_set_latency(W, 2 * NS_PER_MS, 0);
  env_conn_id server = 0, client = connect_ok(0, 1, PORT, &server);
  uint64_t t0 = sim_now_ns(W);
  send_value(0, client, 1, 996);
  run_ms(100);
  int i = rec_find(&R[1], REC_FRAME, server);
  ck_assert_int_ge(i, 0);
  ck_assert_uint_eq(R[1].events[i].at_ns, t0 + 1000 * 1000 + 2 * NS_PER_MS);
  teardown();
}
END_TEST

/* ---- determinism ---- */

static uint64_t busy_run(uint64_t seed) {
  setup(seed, 3);
  env_conn_id server = 0, a = connect_ok(0, 1, PORT, &server);
  env_conn_id b = connect_ok(2, 1, PORT, &server);
  sim_net_clog(W, N[2], N[1], 300 * NS_PER_MS);
  for (uint32_t i = 0; i < 40; i++) {
    send_value(0, a, i, 16 + i);
    send_value(2, b, 1000 + i, 64);
    run_ms(1);
  }
  sim_net_latency_spike(W, N[0], N[1], 5 * NS_PER_MS, 20 * NS_PER_MS);
  send_value(0, a, 77, 8);
  run_ms(1000);
  sim_net_reset(W, N[0], N[1]);
  run_ms(100);
  uint64_t hash = sim_trace_hash(W);
  teardown();
  return hash;
}

START_TEST(same_seed_same_trace) {
  uint64_t first = busy_run(42);
  ck_assert_uint_eq(busy_run(42), first);
  bool differs = false;
  for (uint64_t seed = 43; seed < 48 && !differs; seed++) differs = busy_run(seed) != first;
  ck_assert(differs);
}
END_TEST

/* ---- budgets (env_net_limits, as os/net.c enforces them) ---- */

static void limits_set(int node, struct env_net_limits lim) {
  R[node].env->net_limits_set(R[node].env, &lim);
}

START_TEST(max_connections_per_ip_refuses_at_accept) {
  setup(11, 3);
  limits_set(1, (struct env_net_limits){.conns_per_addr_max = 2});
  env_conn_id s1 = 0, s2 = 0;
  env_conn_id c1 = connect_ok(0, 1, PORT, &s1);
  connect_ok(0, 1, PORT, &s2);
  /* The third from the same host: the handshake completes, then EOF; the
   * server's process never hears of it. */
  env_conn_id c3 = dial(0, 1, PORT);
  run_ms(100);
  ck_assert_int_eq(rec_err(&R[0], REC_CONNECTED, c3), 0);
  ck_assert_int_eq(rec_err(&R[0], REC_CLOSED, c3), 0);
  ck_assert_int_eq(rec_count(&R[1], REC_ACCEPTED, 0), 2);
  struct sim_net_stats st;
  sim_net_stats(N[1], &st);
  ck_assert_uint_eq(st.refused, 1);
  ck_assert_uint_eq(st.accepts, 2);
  env_conn_id s4 = 0; /* another host is another address */
  connect_ok(2, 1, PORT, &s4);
  R[0].env->close(R[0].env, c1); /* one of the first host's goes: room again */
  run_ms(100);
  env_conn_id s5 = 0;
  connect_ok(0, 1, PORT, &s5);
  sim_net_stats(N[1], &st);
  ck_assert_uint_eq(st.refused, 1);
  teardown();
}
END_TEST

START_TEST(max_connections_counts_every_host_but_exempt_listeners) {
  setup(12, 3);
  /* Listener 1 (PORT_SMALL) is exempt, as a controller listener is. */
  limits_set(1, (struct env_net_limits){.conns_max = 1, .exempt_listeners = 1u << 1});
  env_conn_id s1 = 0, s2 = 0, s3 = 0;
  connect_ok(0, 1, PORT, &s1);
  env_conn_id c2 = dial(2, 1, PORT);
  run_ms(100);
  ck_assert_int_eq(rec_err(&R[2], REC_CLOSED, c2), 0);
  connect_ok(2, 1, PORT_SMALL, &s2);
  connect_ok(0, 1, PORT_SMALL, &s3);
  struct sim_net_stats st;
  sim_net_stats(N[1], &st);
  ck_assert_uint_eq(st.refused, 1);
  ck_assert_uint_eq(st.accepts, 3);
  teardown();
}
END_TEST

static void raw(int node, env_conn_id conn, const uint8_t *bytes, uint32_t len) {
  ck_assert_int_eq(sim_net_send_raw(N[node], conn, bytes, len), 0);
}

static void raw_prefix(int node, env_conn_id conn, uint32_t claim, uint32_t value) {
  uint8_t p[8] = {(uint8_t)(claim >> 24), (uint8_t)(claim >> 16), (uint8_t)(claim >> 8),
                  (uint8_t)claim};
  memcpy(p + 4, &value, 4);
  raw(node, conn, p, sizeof p);
}

static void raw_zeros(int node, env_conn_id conn, uint32_t len) {
  uint8_t *z = calloc(1, len);
  ck_assert_ptr_nonnull(z);
  raw(node, conn, z, len);
  free(z);
}

START_TEST(raw_bytes_assemble_into_one_frame) {
  setup(13, 2);
  env_conn_id server = 0, client = connect_ok(0, 1, PORT, &server);
  raw(0, client, (const uint8_t[]){0, 0}, 2); /* half a length prefix */
  raw(0, client, (const uint8_t[]){0, 12, 7, 0, 0, 0}, 6);
  run_ms(50);
  ck_assert_int_eq(rec_count(&R[1], REC_FRAME, server), 0);
  raw_zeros(0, client, 8);
  run_ms(50);
  ck_assert_int_eq(rec_count(&R[1], REC_FRAME, server), 1);
  int i = rec_find(&R[1], REC_FRAME, server);
  ck_assert_uint_eq(R[1].events[i].len, 12);
  ck_assert_uint_eq(R[1].events[i].value, 7);
  send_value(0, client, 8, 16); /* a whole frame after it, in order */
  run_ms(50);
  assert_frames(1, server, 7, 2);
  teardown();
}
END_TEST

START_TEST(a_raw_prefix_past_the_frame_limit_closes) {
  setup(14, 2);
  env_conn_id server = 0, client = connect_ok(0, 1, PORT_SMALL, &server);
  raw_prefix(0, client, SMALL_FRAME_BYTES + 1, 1);
  run_ms(50);
  ck_assert_int_eq(rec_err(&R[1], REC_CLOSED, server), ENV_EINVAL);
  ck_assert_int_eq(rec_err(&R[0], REC_CLOSED, client), ENV_ECONNRESET);
  teardown();
}
END_TEST

/* queued.max.request.bytes: a big frame reserves its claimed length before
 * its body is read; another big one waits unread while the budget is taken;
 * small frames never wait. */
START_TEST(big_frames_wait_for_the_request_budget) {
  setup(15, 2);
  limits_set(1, (struct env_net_limits){.receive_bytes_max = 200 * 1024});
  env_conn_id sa = 0, sb = 0, sc = 0;
  env_conn_id a = connect_ok(0, 1, PORT, &sa);
  env_conn_id b = connect_ok(0, 1, PORT, &sb);
  env_conn_id c = connect_ok(0, 1, PORT, &sc);
  raw_prefix(0, a, 150 * 1024, 1); /* a trickle: reserves 150 KiB */
  run_ms(10);
  raw_prefix(0, b, 100 * 1024, 2);
  raw_zeros(0, b, 100 * 1024 - 4);
  send_value(0, c, 3, 16);        /* small: through at once */
  send_value(0, c, 4, 90 * 1024); /* big, whole: waits too */
  run_ms(100);
  ck_assert_int_eq(rec_count(&R[1], REC_FRAME, sb), 0);
  assert_frames(1, sc, 3, 1);
  struct sim_net_stats st;
  sim_net_stats(N[1], &st);
  ck_assert_uint_eq(st.receive_waits, 2);
  raw_zeros(0, a, 150 * 1024 - 4); /* a completes: its reservation goes back */
  run_ms(100);
  assert_frames(1, sa, 1, 1);
  assert_frames(1, sb, 2, 1);
  assert_frames(1, sc, 3, 2);
  teardown();
}
END_TEST

START_TEST(a_closed_trickle_gives_its_reservation_back) {
  setup(16, 2);
  limits_set(1, (struct env_net_limits){.receive_bytes_max = 100 * 1024});
  env_conn_id sa = 0, sb = 0;
  env_conn_id a = connect_ok(0, 1, PORT, &sa);
  env_conn_id b = connect_ok(0, 1, PORT, &sb);
  raw_prefix(0, a, 80 * 1024, 1);
  run_ms(10);
  send_value(0, b, 2, 80 * 1024);
  run_ms(100);
  ck_assert_int_eq(rec_count(&R[1], REC_FRAME, sb), 0);
  R[0].env->close(R[0].env, a);
  run_ms(100);
  assert_frames(1, sb, 2, 1);
  teardown();
}
END_TEST

START_TEST(send_queued_bytes_of_conn_zero_is_the_nodes_total) {
  setup(17, 3);
  env_conn_id s1 = 0, s2 = 0;
  env_conn_id c1 = connect_ok(1, 0, PORT, &s1);
  env_conn_id c2 = connect_ok(2, 0, PORT, &s2);
  R[1].env->read_pause(R[1].env, c1, true); /* neither client reads */
  R[2].env->read_pause(R[2].env, c2, true);
  send_value(0, s1, 1, 1000);
  send_value(0, s2, 2, 300);
  send_value(0, s2, 3, 200);
  run_ms(100);
  struct env *env = R[0].env;
  ck_assert_uint_eq(env->send_queued_bytes(env, s1), 1000);
  ck_assert_uint_eq(env->send_queued_bytes(env, s2), 500);
  ck_assert_uint_eq(env->send_queued_bytes(env, 0), 1500);
  struct sim_net_stats st;
  sim_net_stats(N[0], &st);
  ck_assert_uint_eq(st.send_queued_peak_bytes, 300); /* s2 held 300 when 3 was sent */
  R[1].env->read_pause(R[1].env, c1, false);
  run_ms(100);
  ck_assert_uint_eq(env->send_queued_bytes(env, 0), 500);
  env->close(env, s2); /* a closed end's bytes leave the total */
  ck_assert_uint_eq(env->send_queued_bytes(env, 0), 0);
  teardown();
}
END_TEST

static Suite *sim_net_suite(void) {
  Suite *s = suite_create("sim_net");
  TCase *conns = tcase_create("connections");
  tcase_add_test(conns, frames_flow_in_order_both_ways);
  tcase_add_test(conns, close_delivers_what_was_sent_then_eof);
  tcase_add_test(conns, localhost_is_the_node_itself);
  tcase_add_test(conns, read_pause_holds_frames_and_eof_until_resumed);
  tcase_add_test(conns, connect_to_a_closed_port_is_refused);
  tcase_add_test(conns, ephemeral_ports_are_distinct);
  suite_add_tcase(s, conns);
  TCase *faults = tcase_create("faults");
  tcase_add_test(faults, one_way_cut_holds_that_direction_until_healed);
  tcase_add_test(faults, a_hold_past_the_timeout_resets_both_ends);
  tcase_add_test(faults, an_idle_connection_across_a_partition_lives_on);
  tcase_add_test(faults, a_short_clog_delays_but_delivers_everything);
  tcase_add_test(faults, a_latency_spike_delays_frames_sent_during_it);
  tcase_add_test(faults, connect_across_a_partition_times_out);
  tcase_add_test(faults, a_connect_retries_its_syn_until_the_partition_heals);
  tcase_add_test(faults, isolate_and_bridge);
  tcase_add_test(faults, partition_sets_cut_every_pair_across);
  tcase_add_test(faults, reset_closes_both_ends_with_econnreset);
  tcase_add_test(faults, a_crash_resets_the_peer_and_closes_listeners);
  tcase_add_test(faults, an_oversized_frame_closes_the_connection);
  tcase_add_test(faults, a_paused_receiver_stalls_without_a_reset);
  suite_add_tcase(s, faults);
  TCase *links = tcase_create("links");
  tcase_add_test(links, a_big_frame_on_a_slow_link_arrives_later);
  tcase_add_test(links, set_latency_keeps_bandwidth);
  tcase_add_test(links, same_seed_same_trace);
  suite_add_tcase(s, links);
  TCase *budgets = tcase_create("budgets");
  tcase_add_test(budgets, max_connections_per_ip_refuses_at_accept);
  tcase_add_test(budgets, max_connections_counts_every_host_but_exempt_listeners);
  tcase_add_test(budgets, raw_bytes_assemble_into_one_frame);
  tcase_add_test(budgets, a_raw_prefix_past_the_frame_limit_closes);
  tcase_add_test(budgets, big_frames_wait_for_the_request_budget);
  tcase_add_test(budgets, a_closed_trickle_gives_its_reservation_back);
  tcase_add_test(budgets, send_queued_bytes_of_conn_zero_is_the_nodes_total);
  suite_add_tcase(s, budgets);
  return s;
}

TEST_MAIN(sim_net_suite)
