#include "reports/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "env.h"
#include "sim/runner.h"
#include "sim/world.h"

enum { BUCKET_MS = 100 };

static FILE *open_in(const char *dir, const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f) fprintf(stderr, "sluice-sim: cannot write %s\n", path);
  return f;
}

static void write_history(FILE *f, const struct history *h) {
  fprintf(f, "time_s,kind,client,stream,value,offset,error\n");
  for (size_t i = 0; i < h->count; i++) {
    const struct history_event *e = &h->events[i];
    char b[32];
    fprintf(f, "%.6f,%s,%d,%s,%llu,%lld,%d\n", (double)e->time_ns / 1e9,
            history_kind_name(e->kind), e->client,
            history_stream_name(h, e->partition, b, sizeof b), (unsigned long long)e->value,
            (long long)e->offset, e->error);
  }
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

struct bucket {
  uint64_t counts[5]; /* by history kind */
  uint64_t *latencies_ns;
  size_t latency_count, latency_cap;
};

static void bucket_emit(FILE *f, uint64_t index, struct bucket *b) {
  double per_s = 1000.0 / BUCKET_MS;
  fprintf(f, "%.1f %.0f %.0f %.0f %.0f", (double)index * BUCKET_MS / 1000.0,
          (double)b->counts[0] * per_s, (double)b->counts[1] * per_s,
          (double)b->counts[2] * per_s, (double)b->counts[3] * per_s);
  if (b->latency_count == 0) {
    fprintf(f, " NaN NaN NaN\n");
  } else {
    qsort(b->latencies_ns, b->latency_count, sizeof *b->latencies_ns, cmp_u64);
    size_t n = b->latency_count;
    fprintf(f, " %.3f %.3f %.3f\n", (double)b->latencies_ns[n / 2] / 1e6,
            (double)b->latencies_ns[n * 99 / 100] / 1e6, (double)b->latencies_ns[n - 1] / 1e6);
  }
  memset(b->counts, 0, sizeof b->counts);
  b->latency_count = 0;
}

static void bucket_add_latency(struct bucket *b, uint64_t ns) {
  if (b->latency_count == b->latency_cap) {
    b->latency_cap = b->latency_cap ? b->latency_cap * 2 : 1024;
    b->latencies_ns = realloc(b->latencies_ns, b->latency_cap * sizeof *b->latencies_ns);
    ASSERT(b->latencies_ns != NULL);
  }
  b->latencies_ns[b->latency_count++] = ns;
}

/* One line per 100 ms: time, sends/s, acks/s, failures/s, reads/s, and the
 * p50, p99 and max latency (send to acknowledgement) of the acks in it. */
static void write_timeline(FILE *f, const struct history *h, uint64_t end_ns) {
  uint64_t *sent_at = calloc(h->values_max ? h->values_max : 1, sizeof *sent_at);
  ASSERT(sent_at != NULL);
  struct bucket b = {0};
  uint64_t bucket_ns = BUCKET_MS * NS_PER_MS, current = 0;
  fprintf(f, "# time_s sent/s acked/s failed/s read/s ack_p50_ms ack_p99_ms ack_max_ms\n");
  for (size_t i = 0; i < h->count; i++) {
    const struct history_event *e = &h->events[i];
    for (; current < e->time_ns / bucket_ns; current++) bucket_emit(f, current, &b);
    if (e->kind > HISTORY_POLL) continue;
    b.counts[e->kind]++;
    if (e->value >= h->values_max) continue; /* never sent: the checkers say so */
    if (e->kind == HISTORY_SEND) sent_at[e->value] = e->time_ns;
    if (e->kind == HISTORY_ACK) bucket_add_latency(&b, e->time_ns - sent_at[e->value]);
  }
  for (; current <= end_ns / bucket_ns; current++) bucket_emit(f, current, &b);
  free(b.latencies_ns);
  free(sent_at);
}

static void write_faults(FILE *f, const struct report_fault *faults, int count) {
  fprintf(f, "# time_s what\n");
  for (int i = 0; i < count; i++)
    fprintf(f, "%.3f \"%s\"\n", (double)faults[i].time_ns / 1e9, faults[i].text);
}

/* leaders.dat: one block per stream (gnuplot's index), each a step line
 * of (time, leader, epoch), carried on to the end of the run. */
static void write_leaders(FILE *f, const struct history *h, const struct report_leaders *l,
                          uint64_t end_ns) {
  char b[32];
  for (int s = 0; s < h->label_count; s++) {
    fprintf(f, "# %s: time_s leader epoch\n", history_stream_name(h, s, b, sizeof b));
    int32_t leader = -1, epoch = -1;
    for (int i = 0; i < l->count; i++) {
      if (l->changes[i].stream != s) continue;
      leader = l->changes[i].leader;
      epoch = l->changes[i].epoch;
      fprintf(f, "%.3f %d %d\n", (double)l->changes[i].time_ns / 1e9, leader, epoch);
    }
    fprintf(f, "%.3f %d %d\n\n\n", (double)end_ns / 1e9, leader, epoch);
  }
}

static void write_plot(FILE *f, const struct scenario *sc, uint64_t seed,
                       const struct report_fault *faults, int count, bool leaders,
                       const struct history *h) {
  fprintf(f, "# gnuplot plot.gp: draws timeline.png from timeline.dat and the faults\n");
  fprintf(f, "set terminal png size 1400,%d\nset output 'timeline.png'\n",
          leaders ? 1400 : 1000);
  fprintf(f, "set multiplot layout %d,1 title 'scenario %s, seed %llu'\n", leaders ? 3 : 2,
          sc->name, (unsigned long long)seed);
  fprintf(f, "set grid\nset key outside right\nset xlabel 'simulated time (s)'\n");
  for (int i = 0; i < count; i++) {
    double t = (double)faults[i].time_ns / 1e9;
    fprintf(f, "set arrow from %.3f, graph 0 to %.3f, graph 1 nohead lc rgb 'red' dt 2\n", t,
            t);
    fprintf(f,
            "set label \"%s\" at %.3f, graph 0.98 rotate by 90 right font ',8' tc rgb 'red'\n",
            faults[i].text, t);
  }
  /* The final read runs far above the send rate: keep the scale on the
   * workload (the data file has the peaks). */
  fprintf(f, "set ylabel 'messages/s'\nset yrange [0:%d]\n", sc->rate_per_s * 3);
  fprintf(f, "plot 'timeline.dat' using 1:2 with lines title 'sent', "
             "'' using 1:3 with lines title 'acknowledged', "
             "'' using 1:4 with lines title 'failed', '' using 1:5 with lines title 'read'\n");
  fprintf(f, "set ylabel 'send to acknowledgement (ms)'\nset autoscale y\nset logscale y\n");
  fprintf(f, "plot 'timeline.dat' using 1:6 with lines title 'p50', "
             "'' using 1:7 with lines title 'p99', '' using 1:8 with lines title 'max'\n");
  if (leaders) { /* each partition's leader, a little apart so that they do not overlap */
    fprintf(f, "unset logscale y\nset ylabel 'leader (broker id; -1: none)'\n");
    fprintf(f, "set yrange [-1.5:%d.5]\nset xrange [0:*]\nplot ", sc->nodes);
    for (int s = 0; s < h->label_count; s++) {
      char b[32];
      fprintf(f, "%s'leaders.dat' index %d using 1:($2+%d*0.03) with steps title '%s'",
              s ? ", " : "", s, s, history_stream_name(h, s, b, sizeof b));
    }
    fprintf(f, "\n");
  }
  fprintf(f, "unset multiplot\n");
}

/* Each node's disk and network counters: what the faults did. */
static void write_counters(FILE *f, struct sim_world *w) {
  for (int i = 0; i < sim_world_node_count(w); i++) {
    struct sim_node *n = sim_world_node_at(w, i);
    struct sim_disk_stats d;
    struct sim_net_stats net;
    sim_disk_stats(n, &d);
    sim_net_stats(n, &net);
    fprintf(f,
            "%s: disk %llu writes (%llu EIO, %llu ENOSPC), %llu fsyncs (%llu failed), "
            "%llu power losses losing %llu bytes, %llu bit flips; net %llu frames sent "
            "(%llu bytes), %llu received, %llu resets, %llu timeouts\n",
            sim_node_host(n), (unsigned long long)d.writes, (unsigned long long)d.write_errors,
            (unsigned long long)d.enospc, (unsigned long long)d.fsyncs,
            (unsigned long long)d.fsync_errors, (unsigned long long)d.crashes,
            (unsigned long long)d.bytes_lost, (unsigned long long)d.bits_flipped,
            (unsigned long long)net.frames_sent, (unsigned long long)net.bytes_sent,
            (unsigned long long)net.frames_received, (unsigned long long)net.resets,
            (unsigned long long)net.timeouts);
  }
}

/* What the disk kept at each restart after a loss (the allowance's cuts),
 * and where the final read ended. */
static void write_cuts(FILE *f, const struct history *h) {
  char b[32];
  for (size_t i = 0; i < h->cut_count; i++) {
    const struct history_cut *c = &h->cuts[i];
    const char *name = history_stream_name(h, c->stream, b, sizeof b);
    if (c->at_end)
      fprintf(f,
              "cut at %.3f s, %s: a batch at offsets %lld..%lld holds a bit flipped at rest "
              "(corrupt-batch)\n",
              (double)c->time_ns / 1e9, name, (long long)c->offset, (long long)c->last_offset);
    else
      fprintf(f,
              "cut at %.3f s, broker %d restarted, %s: the disk kept offsets below %lld, "
              "recovery kept below %lld (%s)\n",
              (double)c->time_ns / 1e9, c->node, name, (long long)c->offset,
              (long long)c->broker_end, history_allowance_names[c->reason]);
  }
  for (int s = 0; s < h->end_count; s++)
    fprintf(f,
            "final read %s: position %lld, its last high watermark %lld, the broker's %lld\n",
            history_stream_name(h, s, b, sizeof b), (long long)h->ends[s].position,
            (long long)h->ends[s].high_watermark, (long long)h->ends[s].broker_high_watermark);
}

static void write_summary(FILE *f, const struct scenario *sc, uint64_t seed,
                          const struct history *h, const struct run_report *rep,
                          struct sim_world *w) {
  fprintf(f, "scenario %s, seed %llu\n", sc->name, (unsigned long long)seed);
  fprintf(f, "simulated %.1f s, %llu events, trace hash %016llx\n", rep->simulated_s,
          (unsigned long long)rep->events, (unsigned long long)rep->trace_hash);
  fprintf(f, "values: %llu sent, %llu acknowledged, %llu failed, %llu reads\n",
          (unsigned long long)rep->sent, (unsigned long long)rep->acked,
          (unsigned long long)rep->failed, (unsigned long long)rep->polled);
  /* Each checker's allowance beside what it found: outside fails the run;
   * within is what the allowance covered, bound what it could have. */
  fprintf(f, "%-22s %9s %9s %9s  %s\n", "checker", "outside", "within", "bound", "allowance");
  for (int i = 0; i < rep->result_count; i++) {
    const struct check_result *c = &rep->results[i];
    char kinds[128];
    fprintf(f, "%-22s %9zu %9zu %9llu  %s\n", c->name, c->violations, c->allowed,
            (unsigned long long)c->bound,
            history_allowances_text(c->allowances, kinds, sizeof kinds));
  }
  for (int i = 0; i < rep->result_count; i++)
    if (rep->results[i].first[0])
      fprintf(f, "%s: %s%s\n", rep->results[i].name,
              rep->results[i].violations ? "first violation: " : "", rep->results[i].first);
  if (rep->leaders_text[0]) fprintf(f, "%s\n", rep->leaders_text);
  if (rep->groups_text[0]) fprintf(f, "%s\n", rep->groups_text);
  write_cuts(f, h);
  write_counters(f, w);
  fprintf(f, "verdict: %s\n", rep->passed ? "PASS" : "FAIL");
}

bool report_write(const char *dir, const struct scenario *sc, uint64_t seed,
                  const struct history *h, const struct report_fault *faults, int fault_count,
                  const struct report_leaders *leaders, const struct run_report *rep,
                  struct sim_world *w) {
  static const char *const names[] = {"history.csv", "timeline.dat", "faults.dat",
                                      "plot.gp",     "summary.txt",  "leaders.dat"};
  bool ok = true;
  bool with_leaders = leaders && leaders->count > 0;
  for (size_t i = 0; i < ARRAY_LEN(names); i++) {
    if (i == 5 && !with_leaders) continue;
    FILE *f = open_in(dir, names[i]);
    if (!f) {
      ok = false;
      continue;
    }
    if (i == 0) write_history(f, h);
    if (i == 1) write_timeline(f, h, (uint64_t)(rep->simulated_s * 1e9));
    if (i == 2) write_faults(f, faults, fault_count);
    if (i == 3) write_plot(f, sc, seed, faults, fault_count, with_leaders, h);
    if (i == 4) write_summary(f, sc, seed, h, rep, w);
    if (i == 5) write_leaders(f, h, leaders, (uint64_t)(rep->simulated_s * 1e9));
    ok &= fclose(f) == 0;
  }
  return ok;
}
