/* xoshiro256** (Blackman and Vigna, 2018) seeded with splitmix64, the
 * seeding its authors recommend: splitmix64 spreads any 64-bit seed over the
 * 256-bit state, which must not be all zero. */
#include "sim/prng.h"

#include <string.h>

#include "base/assert.h"

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed) {
  ASSERT(r != NULL);
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
  ASSERT((r->s[0] | r->s[1] | r->s[2] | r->s[3]) != 0);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> ((64 - k) & 63)); }

uint64_t sim_rng_next(struct sim_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

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
  uint64_t seed = splitmix64(&x);
  for (int i = 0; i < 4; i++) {
    x ^= parent->s[i];
    seed ^= rotl(splitmix64(&x), 13 * i);
  }
  struct sim_rng child;
  sim_rng_seed(&child, seed);
  return child;
}

struct sim_rng sim_rng_fork(const struct sim_rng *parent, const char *label) {
  return sim_rng_fork_id(parent, label, 0);
}
