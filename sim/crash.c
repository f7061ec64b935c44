#include "sim/crash.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "sim/world.h"

void crash_context_init(struct sim_crash_context *c, int fd) {
  memset(c, 0, sizeof *c);
  c->fd = fd;
}

void crash_context_set(struct sim_crash_context *c, const char *scenario, uint64_t seed,
                       bool swarm) {
  unsigned long long s = (unsigned long long)seed;
  snprintf(c->where, sizeof c->where, "scenario %s, seed %llu", scenario, s);
  if (swarm)
    snprintf(c->replay, sizeof c->replay, "replay: bin/sluice-sim --swarm --seeds %llu..%llu",
             s, s);
  else
    snprintf(c->replay, sizeof c->replay, "replay: bin/sluice-sim --scenario %s --seed %llu",
             scenario, s);
  c->running = true;
}

/* What follows is called from signal handlers: no stdio, no allocation,
 * only stores into the caller's buffer. */

struct text {
  char *p;
  size_t cap, len; /* len < cap always: room for the NUL */
};

static void put(struct text *t, const char *s) {
  while (*s && t->len + 1 < t->cap) t->p[t->len++] = *s++;
  t->p[t->len] = 0;
}

/* v in decimal, at least `digits` digits (zeros in front). */
static void put_u64(struct text *t, uint64_t v, int digits) {
  char d[24];
  int n = 0;
  do {
    d[n++] = (char)('0' + v % 10);
    v /= 10;
  } while ((v > 0 || n < digits) && n < (int)sizeof d - 1);
  char s[24];
  for (int i = 0; i < n; i++) s[i] = d[n - 1 - i];
  s[n] = 0;
  put(t, s);
}

size_t crash_format(const struct sim_crash_context *c, const char *headline, char *out,
                    size_t cap) {
  if (cap == 0) return 0; /* no ASSERT here: this runs inside the panic hook */
  struct text t = {out, cap, 0};
  out[0] = 0;
  put(&t, "sluice-sim: ");
  put(&t, headline);
  put(&t, "\n");
  if (!c || !c->running) return t.len;
  put(&t, c->where);
  if (c->world) {
    uint64_t ns = sim_now_ns(c->world);
    put(&t, ", virtual time ");
    put_u64(&t, ns / 1000000000u, 1);
    put(&t, ".");
    put_u64(&t, ns % 1000000000u / 1000u, 6);
    put(&t, " s");
  }
  put(&t, "\n");
  put(&t, c->replay);
  put(&t, "\n");
  return t.len;
}

void crash_signal_headline(int sig, char *out, size_t cap) {
  const char *what = sig == SIGSEGV   ? "SIGSEGV (invalid memory access)"
                     : sig == SIGBUS  ? "SIGBUS (bus error)"
                     : sig == SIGFPE  ? "SIGFPE (arithmetic error)"
                     : sig == SIGABRT ? "SIGABRT (abort)"
                                      : NULL;
  if (cap == 0) return;
  struct text t = {out, cap, 0};
  out[0] = 0;
  put(&t, "signal ");
  if (what) {
    put(&t, what);
  } else {
    put_u64(&t, (uint64_t)sig, 1);
  }
}
