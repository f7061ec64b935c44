/* Seeded randomness for the simulated world: xoshiro256** streams seeded
 * through splitmix64. Every node and component forks its own stream from its
 * parent by a label, without drawing from the parent, so adding a component
 * (a node, a link, a disk) never shifts the numbers any other one sees. */
#ifndef SLUICE_SIM_PRNG_H
#define SLUICE_SIM_PRNG_H

#include <stdbool.h>
#include <stdint.h>

struct sim_rng {
  uint64_t s[4];
};

void sim_rng_seed(struct sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(struct sim_rng *r);
/* Uniform in [0, n) (no modulo bias); 0 when n == 0. */
uint64_t sim_rng_below(struct sim_rng *r, uint64_t n);
/* True with probability per_million / 1,000,000. */
bool sim_rng_chance(struct sim_rng *r, uint32_t per_million);
/* An independent stream named by label (and a number, e.g. a node id): a
 * pure function of the parent's current state, which it does not advance. */
struct sim_rng sim_rng_fork(const struct sim_rng *parent, const char *label);
struct sim_rng sim_rng_fork_id(const struct sim_rng *parent, const char *label, uint64_t id);

#endif
