/* Each node's clocks. The monotonic clock is piecewise linear in world
 * time: from its last rebase it runs at (1 + drift_ppm / 10^6) times world
 * time, so changing the drift never makes it jump or go back. The wall
 * clock is a fixed epoch plus the monotonic clock plus an offset that clock
 * jumps move either way (as NTP stepping the clock does). */
#include "base/assert.h"
#include "sim/internal.h"

/* 2026-01-01T00:00:00Z: where every node's wall clock starts. */
static const int64_t WALL_EPOCH_MS = 1767225600000;
static const int64_t PPM = 1000000;
static const int32_t DRIFT_PPM_MAX = 500000;
/* Longer timers are clamped (about 36 years): far beyond any run. */
static const uint64_t DELAY_NS_MAX = UINT64_C(1) << 60;

void sim_clock_init(struct sim_node *n) {
  n->clock_base_world_ns = n->world->now_ns;
  n->clock_base_local_ns = n->world->now_ns; /* nodes start in step with the world */
  n->drift_ppm = 0;
  n->wall_offset_ms = 0;
}

/* elapsed * drift / 10^6 without overflow: split elapsed at 10^6. */
static int64_t drift_part(uint64_t elapsed_ns, int32_t drift_ppm) {
  int64_t whole = (int64_t)(elapsed_ns / (uint64_t)PPM) * drift_ppm;
  int64_t rest = (int64_t)(elapsed_ns % (uint64_t)PPM) * drift_ppm / PPM;
  return whole + rest;
}

uint64_t sim_clock_local_ns(const struct sim_node *n) {
  uint64_t now = n->world->now_ns;
  ASSERT(now >= n->clock_base_world_ns);
  uint64_t elapsed = now - n->clock_base_world_ns;
  if (n->drift_ppm == 0) return n->clock_base_local_ns + elapsed; /* drift_part's 0, cheaply */
  int64_t local = (int64_t)elapsed + drift_part(elapsed, n->drift_ppm);
  ASSERT(local >= 0); /* |drift| < 10^6 ppm: the clock still moves forward */
  return n->clock_base_local_ns + (uint64_t)local;
}

/* ceil(local * 10^6 / (10^6 + drift)), plus a few nanoseconds for the
 * rounding in sim_clock_local_ns (under 1 ns at each end, and a world
 * nanosecond is at least half a local one), so a timer never fires early by
 * its own clock. */
uint64_t sim_clock_world_delay_ns(const struct sim_node *n, uint64_t local_ns) {
  if (local_ns > DELAY_NS_MAX) local_ns = DELAY_NS_MAX;
  if (n->drift_ppm == 0) return local_ns;
  uint64_t rate = (uint64_t)(PPM + n->drift_ppm);
  ASSERT(rate > 0);
  uint64_t q = local_ns / rate, r = local_ns % rate;
  return q * (uint64_t)PPM + (r * (uint64_t)PPM + rate - 1) / rate + 4;
}

void sim_node_set_drift_ppm(struct sim_node *n, int32_t drift_ppm) {
  ASSERT(drift_ppm >= -DRIFT_PPM_MAX && drift_ppm <= DRIFT_PPM_MAX);
  n->clock_base_local_ns = sim_clock_local_ns(n);
  n->clock_base_world_ns = n->world->now_ns;
  n->drift_ppm = drift_ppm;
  sim_trace(n->world, (uint64_t)(int64_t)drift_ppm);
}

void sim_node_wall_jump_ms(struct sim_node *n, int64_t delta_ms) {
  ASSERT(delta_ms > -WALL_EPOCH_MS && delta_ms < WALL_EPOCH_MS);
  n->wall_offset_ms += delta_ms;
  sim_trace(n->world, (uint64_t)delta_ms);
}

int64_t sim_node_wall_ms(const struct sim_node *n) {
  return WALL_EPOCH_MS + n->wall_offset_ms + (int64_t)(sim_clock_local_ns(n) / NS_PER_MS);
}
