/* The simulator's streams: base/xoshiro.h's generator, forked by label. */
#include "sim/prng.h"

#include <string.h>

#include "base/assert.h"
#include "base/xoshiro.h"

void sim_rng_seed(struct sim_rng *r, uint64_t seed) {
  ASSERT(r != NULL);
  xoshiro256_seed(r->s, seed);
}

uint64_t sim_rng_next(struct sim_rng *r) { return xoshiro256_next(r->s); }

/* Rejection sampling: draws above the largest multiple of n are redrawn, so
 * every value is equally likely. Each retry has probability below 1/2; the
 * bound makes the loop finite (2^-64 odds of reaching it). */
uint64_t sim_rng_below(struct sim_rng *r, uint64_t n) {
  if (n == 0) return 0;
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  for (int i = 0; i < 64; i++) {
    uint64_t x = sim_rng_next(r);
    if (x < limit) return x % n;
  }
  return sim_rng_next(r) % n;
}

bool sim_rng_chance(struct sim_rng *r, uint32_t per_million) {
  ASSERT(per_million <= 1000000);
  return sim_rng_below(r, 1000000) < per_million;
}

/* FNV-1a over the label, then the parent's state folded in: a different
 * label or a different parent gives an unrelated seed. */
struct sim_rng sim_rng_fork_id(const struct sim_rng *parent, const char *label, uint64_t id) {
  ASSERT(parent != NULL && label != NULL);
  uint64_t h = 0xCBF29CE484222325ull;
  size_t len = strlen(label);
  ASSERT(len < 4096);
  for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)label[i]) * 0x100000001B3ull;
  uint64_t x = h ^ (id * 0xD6E8FEB86659FD93ull);
  uint64_t seed = splitmix64_next(&x);
  for (int i = 0; i < 4; i++) {
    x ^= parent->s[i];
    seed ^= xoshiro256_rotl(splitmix64_next(&x), 13 * i);
  }
  struct sim_rng child;
  sim_rng_seed(&child, seed);
  return child;
}

struct sim_rng sim_rng_fork(const struct sim_rng *parent, const char *label) {
  return sim_rng_fork_id(parent, label, 0);
}
