/* The simulated consumer groups (issue 11): group members on the consumer
 * clients (client/group_member.h), what they hear fed to sim/group_check.h,
 * the consumer N and coordinator(group) fault targets, and the groups'
 * verdicts and rebalance times. Kept apart from runner.c so that the
 * runner's other work merges cleanly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "group/group.h"
#include "proto/errors.h"
#include "sim/group_check.h"
#include "sim/runner_internal.h"

enum {
  HEARTBEAT_INTERVAL_MS =
      1000, /* Kafka's heartbeat.interval.ms is 3000; the sim's runs are short */
  REBALANCE_TIMEOUT_MS = 10000, /* max.poll.interval.ms: the sim's consumers never stall */
  REQUEST_TIMEOUT_MS = 10000,
};

static const char OFFSETS_TOPIC_NAME[] = "__consumer_offsets";

int runner_group_of(const struct runner *r, int number) {
  int k = number - r->sc->producers; /* 1-based among the consumers */
  if (k < 1 || k > r->sc->consumers) return -1;
  for (int g = 0, first = 1; g < r->sc->group_count; g++) {
    if (k < first + r->sc->groups[g].members) return g;
    first += r->sc->groups[g].members;
  }
  return -1;
}

static int stream_of(const struct runner *r, int topic, int32_t partition) {
  return r->stream_base[topic] + partition;
}

static void on_assigned(void *ctx, int32_t generation, const char *member_id, int count,
                        const int8_t *topics, const int32_t *partitions) {
  struct client *c = ctx;
  struct runner *r = c->r;
  int streams[KGROUP_ASSIGNED_MAX];
  for (int i = 0; i < count; i++) streams[i] = stream_of(r, topics[i], partitions[i]);
  group_check_assigned(r->gc, c->group_index, generation, c->number, count, streams,
                       sim_now_ns(r->w));
  runner_trace(r, "client %d group %s generation %d member %s: %d partitions", c->number,
               r->sc->groups[c->group_index].name, generation, member_id, count);
}

static void on_fetched(void *ctx, int topic, int32_t partition, int64_t offset,
                       uint64_t sent_ns) {
  struct client *c = ctx;
  struct runner *r = c->r;
  group_check_fetched(r->gc, c->group_index, stream_of(r, topic, partition), offset, sent_ns);
  if (offset >= 0) runner_record_seek(c, stream_of(r, topic, partition), offset);
}

/* Read back, not a seek: only the committed-offsets check hears it. */
static void on_verified(void *ctx, int topic, int32_t partition, int64_t offset,
                        uint64_t sent_ns) {
  struct client *c = ctx;
  struct runner *r = c->r;
  group_check_fetched(r->gc, c->group_index, stream_of(r, topic, partition), offset, sent_ns);
}

static void on_committed(void *ctx, int32_t generation, int topic, int32_t partition,
                         int64_t offset) {
  struct client *c = ctx;
  struct runner *r = c->r;
  group_check_committed(r->gc, c->group_index, stream_of(r, topic, partition), offset,
                        sim_now_ns(r->w));
  runner_trace(r, "client %d group %s generation %d committed %s offset %lld", c->number,
               r->sc->groups[c->group_index].name, generation,
               r->labels[stream_of(r, topic, partition)], (long long)offset);
}

static void on_acknowledged(void *ctx, const char *what, int32_t generation, uint64_t sent_ns) {
  struct client *c = ctx;
  group_check_acknowledged(c->r->gc, c->group_index, c->number, what, generation, sent_ns);
}

static void on_note(void *ctx, const char *what, int error) {
  struct client *c = ctx;
  runner_trace(c->r, "client %d group %s: %s error %d", c->number,
               c->r->sc->groups[c->group_index].name, what, error);
}

/* The consumer (already made, nothing assigned) joins its group. */
void runner_group_start(struct client *c) {
  struct runner *r = c->r;
  const struct scenario *sc = r->sc;
  ASSERT(c->group_index >= 0);
  if (!c->group) c->group = calloc(1, sizeof *c->group);
  ASSERT(c->group != NULL);
  struct kgroup_config cfg = {.session_timeout_ms = sc->session_timeout_ms,
                              .rebalance_timeout_ms = REBALANCE_TIMEOUT_MS,
                              .heartbeat_interval_ms = HEARTBEAT_INTERVAL_MS,
                              .commit_interval_ms = sc->commit_interval_ms,
                              .retry_backoff_ms = 100,
                              .request_timeout_ms = REQUEST_TIMEOUT_MS};
  snprintf(cfg.group_id, sizeof cfg.group_id, "%s", sc->groups[c->group_index].name);
  snprintf(cfg.client_id, sizeof cfg.client_id, "client%d", c->number);
  if (sc->static_members) /* KIP-345: the same id across restarts */
    snprintf(cfg.instance_id, sizeof cfg.instance_id, "consumer-%d", c->number);
  struct kgroup_listener l = {.ctx = c,
                              .assigned = on_assigned,
                              .fetched = on_fetched,
                              .verified = on_verified,
                              .committed = on_committed,
                              .acknowledged = on_acknowledged,
                              .note = on_note};
  kgroup_init(c->group, sim_node_env(c->node), &c->net, &c->consumer, &cfg, &l);
  for (int k = 0; k < sc->nodes; k++) {
    int i = (k + c->number - 1) % sc->nodes;
    if (sc->roles[i] != ROLE_CONTROLLER)
      kgroup_add_bootstrap(c->group, sim_node_host(r->brokers[i].node), BROKER_PORT);
  }
  for (int t = 0; t < sc->topic_count; t++)
    kgroup_subscribe(c->group, sc->topics[t].name, sc->topics[t].partitions);
  kgroup_start(c->group);
}

static int32_t offsets_partitions(const struct scenario *sc) {
  for (int i = 0; i < sc->config_count; i++)
    if (!strcmp(sc->config[i].key, "offsets.topic.num.partitions"))
      return (int32_t)atoi(sc->config[i].value);
  return 50; /* Kafka's default */
}

int runner_group_coordinator(const struct runner *r, const char *group) {
  int32_t p = group_partition_for(kstr_of(group), offsets_partitions(r->sc));
  if (r->sc->nodes == 1) return r->brokers[0].proc ? 0 : -1;
  return runner_partition_leader(r, OFFSETS_TOPIC_NAME, p);
}

int runner_group_coordinator_follower(const struct runner *r, const char *group) {
  int32_t p = group_partition_for(kstr_of(group), offsets_partitions(r->sc));
  if (r->sc->nodes == 1) return -1;
  return runner_partition_follower(r, OFFSETS_TOPIC_NAME, p);
}

struct sim_node *runner_consumer_node(struct runner *r, int n) {
  int number = r->sc->producers + n;
  return number >= 1 && number <= r->client_count ? r->clients[number - 1]->node : NULL;
}

/* The consumer process dies: no LeaveGroup, its connections close. */
static void consumer_crash(struct client *c) {
  if (c->crashed) return;
  c->crashed = true;
  if (c->group) kgroup_crash(c->group);
  if (c->consuming) kconsumer_stop(&c->consumer);
  group_check_crashed(c->r->gc, c->group_index, sim_now_ns(c->r->w));
}

void runner_consumer_fault(struct runner *r, enum fault_action a, int n) {
  int number = r->sc->producers + n;
  ASSERT(number >= 1 && number <= r->client_count);
  struct client *c = r->clients[number - 1];
  runner_trace(r, "fault %s consumer %d (client %d)", fault_action_name(a), n, number);
  if (r->applied_count < (int)ARRAY_LEN(r->applied)) {
    struct report_fault *f = &r->applied[r->applied_count++];
    f->time_ns = sim_now_ns(r->w);
    snprintf(f->text, sizeof f->text, "%s consumer %d", fault_action_name(a), n);
  }
  if (c->group_index < 0) return;
  if (a == FAULT_KILL) {
    consumer_crash(c);
  } else if (a == FAULT_SHUTDOWN && c->group && !c->crashed) {
    kgroup_close(c->group); /* commits, then LeaveGroup */
  } else if (a == FAULT_PAUSE && !c->crashed) {
    sim_node_pause(c->node); /* a stop-the-world pause: its timers wait */
  } else if (a == FAULT_RESUME) {
    sim_node_resume(c->node);
  } else if (a == FAULT_RESTART &&
             (c->crashed || (c->group && c->group->phase == KGROUP_STOPPED))) {
    runner_group_restart(c);
  }
}

/* A new process: a fresh consumer and member (a new member id). */
void runner_group_restart(struct client *c) {
  if (sim_node_paused(c->node)) sim_node_resume(c->node); /* a new process runs */
  if (c->group) kgroup_free(c->group);
  if (c->consuming) {
    kconsumer_stop(&c->consumer);
    if (c->routed) kcluster_unlisten(&c->cluster, &c->consumer);
  }
  c->crashed = false;
  c->consuming = false; /* the next tick starts it */
}

/* Liveness: every consumer that is down comes back. */
void runner_groups_end_faults(struct runner *r) {
  for (int i = 0; i < r->client_count; i++) {
    struct client *c = r->clients[i];
    if (c->group_index >= 0 && sim_node_paused(c->node)) sim_node_resume(c->node);
    if (c->group_index >= 0 && (c->crashed || (c->group && c->group->phase == KGROUP_STOPPED)))
      runner_group_restart(c);
  }
}

void runner_groups_judge(struct runner *r, struct run_report *out) {
  if (!r->gc) return;
  int client_group[SCENARIO_CLIENTS_MAX + 2];
  int clients =
      r->client_count < SCENARIO_CLIENTS_MAX + 1 ? r->client_count : SCENARIO_CLIENTS_MAX + 1;
  client_group[0] = -1;
  for (int n = 1; n <= clients; n++) client_group[n] = runner_group_of(r, n);
  int room = (int)ARRAY_LEN(out->results) - out->result_count;
  ASSERT(room >= GROUP_CHECKERS);
  out->result_count += group_check_finish(r->gc, &r->hist, client_group, clients,
                                          out->results + out->result_count, room);
  group_check_rebalances(r->gc, out->groups_text, sizeof out->groups_text);
  if (out->groups_text[0]) runner_trace(r, "%s", out->groups_text);
}

void runner_groups_free(struct runner *r) {
  group_check_free(r->gc);
  r->gc = NULL;
}
