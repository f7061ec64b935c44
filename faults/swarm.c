#include "faults/swarm.h"

#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "sim/prng.h"

/* The fault kinds a seed switches on or off as a whole (swarm testing's
 * "features"); the second fault of a pair (restart, resume, heal) follows. */
enum swarm_kind {
  SW_KILL,
  SW_SHUTDOWN,
  SW_PAUSE,
  SW_PARTITION,
  SW_ONE_WAY,
  SW_CLOG,
  SW_SPIKE,
  SW_RESET,
  SW_CLOCK_JUMP,
  SW_CLOCK_DRIFT,
  SW_DISK_FULL,
  SW_SLOW_DISK,
  SW_FSYNC_EIO,
  SW_DISK_EIO,
  SW_CORRUPT,
  SW_CORRUPT_READ,
  SW_DISK_LOSS,
  SW_KINDS,
};

enum { SWARM_FAULTS_MAX = 10 };

struct drawer {
  struct sim_rng rng;
  struct scenario *s;
  bool may_lose; /* a fault here can lose acknowledged writes in this mode */
};

/* Uniform in [lo, hi]. */
static int64_t draw(struct drawer *d, int64_t lo, int64_t hi) {
  ASSERT(lo <= hi);
  return lo + (int64_t)sim_rng_below(&d->rng, (uint64_t)(hi - lo + 1));
}

static struct fault_target broker(void) {
  return (struct fault_target){.kind = TARGET_NODE, .id = 1};
}

static struct fault_target client(struct drawer *d) {
  int32_t clients = d->s->producers + d->s->consumers;
  return (struct fault_target){.kind = TARGET_CLIENT, .id = (int32_t)draw(d, 1, clients)};
}

static struct fault *add(struct drawer *d, int64_t at_ms, enum fault_action action,
                         struct fault_target target) {
  struct scenario *s = d->s;
  ASSERT(s->fault_count < SCENARIO_FAULTS_MAX);
  struct fault *f = &s->faults[s->fault_count++];
  if (at_ms > s->duration_ms) at_ms = s->duration_ms;
  *f = (struct fault){.at_ms = at_ms, .action = action, .target = target, .amount = 1};
  return f;
}

/* A fault and, for pairs, the one that ends it [lo, hi] ms later. */
static void pair(struct drawer *d, int64_t at, enum fault_action a, enum fault_action end,
                 struct fault_target t, int64_t lo, int64_t hi) {
  add(d, at, a, t);
  add(d, at + draw(d, lo, hi), end, end == FAULT_HEAL ? (struct fault_target){0} : t);
}

static void network_fault(struct drawer *d, enum swarm_kind k, int64_t at) {
  struct fault *f;
  switch (k) {
  case SW_PARTITION:
    pair(d, at, FAULT_PARTITION, FAULT_HEAL, client(d), 500, 15000);
    break;
  case SW_ONE_WAY:
    f = add(d, at, FAULT_PARTITION_ONE_WAY, client(d));
    f->peer = broker();
    if (draw(d, 0, 1)) { /* the other direction */
      f->peer = f->target;
      f->target = broker();
    }
    add(d, at + draw(d, 500, 15000), FAULT_HEAL, (struct fault_target){0});
    break;
  case SW_CLOG:
    add(d, at, FAULT_CLOG, client(d))->for_ms = draw(d, 100, 12000);
    break;
  case SW_SPIKE:
    f = add(d, at, FAULT_LATENCY_SPIKE, broker());
    f->amount = draw(d, 10, 500);
    f->for_ms = draw(d, 500, 5000);
    break;
  default:
    add(d, at, FAULT_RESET, broker());
    break;
  }
}

static void disk_fault(struct drawer *d, enum swarm_kind k, int64_t at) {
  switch (k) {
  case SW_DISK_FULL:
    pair(d, at, FAULT_DISK_FULL, FAULT_DISK_FREE, broker(), 500, 10000);
    break;
  case SW_SLOW_DISK:
    add(d, at, FAULT_DISK_SLOW, broker())->amount = draw(d, 2, 100);
    add(d, at + draw(d, 1000, 10000), FAULT_DISK_SLOW, broker())->amount = 1;
    break;
  case SW_FSYNC_EIO:
    add(d, at, FAULT_FSYNC_EIO, broker())->amount = draw(d, 1, 3);
    break;
  case SW_DISK_EIO:
    add(d, at, FAULT_DISK_EIO, broker())->amount = draw(d, 1, 3);
    break;
  case SW_CORRUPT:
  case SW_CORRUPT_READ:
    add(d, at, k == SW_CORRUPT ? FAULT_DISK_CORRUPT : FAULT_DISK_CORRUPT_READ, broker());
    d->may_lose = true; /* one copy: a corrupt batch is truncated away */
    break;
  default:
    pair(d, at, FAULT_DISK_LOSS, FAULT_RESTART, broker(), 200, 5000);
    d->may_lose = true;
    break;
  }
}

static void one_fault(struct drawer *d, enum swarm_kind k, int64_t at, bool page_cache) {
  struct fault *f;
  switch (k) {
  case SW_KILL:
    pair(d, at, FAULT_KILL, FAULT_RESTART, broker(), 200, 5000);
    d->may_lose |= page_cache;
    break;
  case SW_SHUTDOWN:
    pair(d, at, FAULT_SHUTDOWN, FAULT_RESTART, broker(), 200, 5000);
    break;
  case SW_PAUSE:
    pair(d, at, FAULT_PAUSE, FAULT_RESUME, draw(d, 0, 1) ? broker() : client(d), 100, 8000);
    break;
  case SW_CLOCK_JUMP:
    f = add(d, at, FAULT_CLOCK_JUMP, broker());
    f->amount = draw(d, 1000, 3600000) * (draw(d, 0, 1) ? 1 : -1);
    break;
  case SW_CLOCK_DRIFT:
    add(d, at, FAULT_CLOCK_DRIFT, broker())->amount = draw(d, -200000, 200000) | 1;
    break;
  default:
    if (k <= SW_RESET)
      network_fault(d, k, at);
    else
      disk_fault(d, k, at);
    break;
  }
}

/* Stable insertion sort by time: a pair's second fault stays after its
 * first, ties keep the order drawn. */
static void sort_faults(struct scenario *s) {
  for (int i = 1; i < s->fault_count; i++) {
    struct fault f = s->faults[i];
    int j = i;
    for (; j > 0 && s->faults[j - 1].at_ms > f.at_ms; j--) s->faults[j] = s->faults[j - 1];
    s->faults[j] = f;
  }
}

static void workload(struct drawer *d, uint64_t seed) {
  struct scenario *s = d->s;
  snprintf(s->name, sizeof s->name, "swarm-%llu", (unsigned long long)seed);
  snprintf(s->description, sizeof s->description, "drawn by sluice-sim --swarm from seed %llu",
           (unsigned long long)seed);
  s->duration_ms = draw(d, 20, 60) * 1000;
  s->liveness_ms = 20000;
  s->nodes = 1;
  s->topic_count = (int)draw(d, 1, 3);
  for (int t = 0; t < s->topic_count; t++) {
    snprintf(s->topics[t].name, sizeof s->topics[t].name, "topic-%d", t);
    s->topics[t].partitions = (int32_t)draw(d, 1, 4);
    s->topics[t].replication_factor = 1;
  }
  s->producers = (int32_t)draw(d, 1, 3);
  s->consumers = (int32_t)draw(d, 0, 2);
  int64_t acks = draw(d, 0, 9);
  s->acks = acks < 6 ? -1 : acks < 9 ? 1 : 0;
  s->rate_per_s = (int32_t)draw(d, 100, 2000);
  s->value_bytes = (int32_t)draw(d, 16, 1000);
}

static void expectations(struct drawer *d) {
  struct scenario *s = d->s;
  s->max_unavailability_ms = -1;
  /* The producer is not idempotent yet: a batch whose acknowledgement was
   * lost is written again. */
  strcpy(s->allowed[s->allowed_count++], "duplicate");
  if (s->acks != -1) strcpy(s->allowed[s->allowed_count++], "unseen");
  if (d->may_lose) {
    static const char *const loss[] = {"lost-write", "inconsistent-offsets",
                                       "nonmonotonic-send", "poll-skip"};
    for (size_t i = 0; i < ARRAY_LEN(loss); i++)
      strcpy(s->allowed[s->allowed_count++], loss[i]);
    if (s->acks == -1) strcpy(s->allowed[s->allowed_count++], "unseen");
  }
  ASSERT(s->allowed_count <= SCENARIO_NAMES_MAX);
}

void swarm_scenario(uint64_t seed, struct scenario *out) {
  memset(out, 0, sizeof *out);
  struct sim_rng root;
  sim_rng_seed(&root, seed);
  struct drawer d = {.rng = sim_rng_fork(&root, "swarm"), .s = out};
  workload(&d, seed);
  bool page_cache = draw(&d, 0, 1);
  if (!page_cache) {
    out->config_count = 1;
    strcpy(out->config[0].key, "log.flush.interval.messages");
    strcpy(out->config[0].value, "1");
  }
  bool enabled[SW_KINDS];
  int enabled_count = 0;
  for (int k = 0; k < SW_KINDS; k++) enabled_count += enabled[k] = draw(&d, 0, 1);
  int faults = enabled_count ? (int)draw(&d, 0, SWARM_FAULTS_MAX / 2) : 0;
  for (int i = 0; i < faults; i++) {
    int pick = (int)draw(&d, 0, enabled_count - 1), k = 0;
    for (int seen = -1; k < SW_KINDS; k++)
      if (enabled[k] && ++seen == pick) break;
    one_fault(&d, (enum swarm_kind)k, draw(&d, 1000, out->duration_ms - 1000), page_cache);
  }
  sort_faults(out);
  expectations(&d);
}
