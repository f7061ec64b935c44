#include "sim/runner.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "client/admin.h"
#include "faults/timeline.h"
#include "log/atomic_file.h"
#include "meta/codec.h"
#include "meta/image.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "raft/raft.h"
#include "server/node.h"
#include "server/quorum_state.h"
#include "server/raft_node.h"
#include "server/storage_format.h"
#include "sim/hostile.h"
#include "sim/metrics_check.h"
#include "sim/oracle.h"
#include "sim/quorum_check.h"
#include "sim/replica_check.h"
#include "sim/runner_internal.h"

static uint64_t now_ns(const struct runner *r) { return sim_now_ns(r->w); }

/* ---- where partitions live (several nodes) ---- */

/* The image to read placements from: the active controller's, else the
 * first broker's up (NULL: nobody is up). */
static const struct meta_image *some_image(const struct runner *r) {
  int leader = runner_raft_leader(r);
  if (leader >= 0 && r->brokers[leader].proc)
    return node_metadata_image(r->brokers[leader].proc);
  for (int i = 0; i < r->sc->nodes; i++)
    if (r->brokers[i].proc && r->sc->roles[i] != ROLE_CONTROLLER)
      return node_metadata_image(r->brokers[i].proc);
  return NULL;
}

/* meta_image_topic's answer, bisected with strcmp: the names are sorted by
 * meta_name_cmp, which orders names without a NUL byte as strcmp does, and
 * this runs on every acknowledgement and poll (no strlen, no length-bounded
 * compares twice over). */
static const struct meta_topic *image_topic(const struct meta_image *image, const char *name) {
  int32_t lo = 0, hi = image->topic_count;
  if (!name[0]) return NULL; /* no topic has an empty name */
  while (lo < hi) {
    int32_t mid = lo + (hi - lo) / 2;
    int c = strcmp(image->topics_by_name[mid]->name, name);
    if (c == 0) return image->topics_by_name[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

static const struct meta_partition *image_partition(const struct meta_image *image,
                                                    const char *topic, int32_t partition) {
  const struct meta_topic *t = image ? image_topic(image, topic) : NULL;
  return t ? meta_topic_partition(t, partition) : NULL;
}

int runner_partition_leader(const struct runner *r, const char *topic, int32_t partition) {
  const struct meta_partition *p = image_partition(some_image(r), topic, partition);
  if (!p || p->leader < 1 || p->leader > r->sc->nodes) return -1;
  return p->leader - 1;
}

int runner_partition_follower(const struct runner *r, const char *topic, int32_t partition) {
  const struct meta_partition *p = image_partition(some_image(r), topic, partition);
  int active = runner_raft_leader(r), found = -1;
  for (int32_t k = 0; p && k < p->isr_count && k < META_REPLICAS_MAX; k++) {
    int i = p->isr[k] - 1;
    if (i < 0 || i >= r->sc->nodes || p->isr[k] == p->leader || !r->brokers[i].proc) continue;
    if (i != active) return i;
    if (found < 0) found = i;
  }
  return found;
}

/* The broker index stream s lives on (its leader, else its first
 * replica), remembered from the last image that had it; -1: not known. */
static int stream_host(struct runner *r, int s) {
  if (r->sc->nodes == 1) return 0;
  int t = r->sc->topic_count - 1;
  while (t > 0 && r->stream_base[t] > s) t--;
  const struct meta_partition *p =
      image_partition(some_image(r), r->sc->topics[t].name, s - r->stream_base[t]);
  if (p) {
    int32_t id = p->leader >= 0 ? p->leader : p->replica_count > 0 ? p->replicas[0] : -1;
    if (id >= 1 && id <= r->sc->nodes) r->stream_host[s] = id - 1;
  }
  return r->stream_host[s];
}

/* ---- the trace file ---- */

void runner_trace(struct runner *r, const char *fmt, ...) {
  if (!r->opts->trace) return;
  uint64_t t = now_ns(r);
  fprintf(r->opts->trace, "[%llu.%06llu] ", (unsigned long long)(t / NS_PER_S),
          (unsigned long long)(t % NS_PER_S / 1000));
  va_list ap;
  va_start(ap, fmt);
  vfprintf(r->opts->trace, fmt, ap);
  va_end(ap);
  fputc('\n', r->opts->trace);
}

/* error: a failure's error, or a retry's attempt number. */
static void record(struct runner *r, enum history_kind kind, int client, int stream,
                   uint64_t value, int64_t offset, int error) {
  struct history_event e = {.time_ns = now_ns(r),
                            .kind = kind,
                            .client = client,
                            .partition = stream,
                            .value = value,
                            .offset = offset,
                            .error = (int16_t)(error > INT16_MAX ? INT16_MAX : error),
                            .durable_ack = r->sc->acks == -1};
  if ((kind == HISTORY_ACK || kind == HISTORY_POLL) && client >= 1 && client <= r->client_count)
    e.incarnation = r->clients[client - 1]->incarnation;
  if (r->sc->nodes > 1 && (kind == HISTORY_ACK || kind == HISTORY_POLL)) {
    /* Answered by the process of the broker the stream lives on. */
    int host = stream_host(r, stream);
    e.incarnation = host >= 0 ? r->brokers[host].incarnation : 0;
  }
  history_add(&r->hist, &e);
  if (r->opts->trace) /* asked first: the call and its arguments cost on every record */
    runner_trace(r, "client %d %s value %llu %s offset %lld %s %d", client,
                 history_kind_name(kind), (unsigned long long)value, r->labels[stream],
                 (long long)offset, kind == HISTORY_RETRY ? "attempt" : "error", error);
}

/* ---- what the disk kept (the checkers' cuts) ---- */

/* Whether broker index holds a replica of stream s (its host, or one of
 * the replicas the image names): a correlated power loss of every replica
 * in Kafka's mode may elect any of them with what its disk kept (the
 * power-loss scenario), so each one's cut is noted. The replicas are
 * remembered from the active controller's image (leaders_observe). */
static bool stream_replica(struct runner *r, int s, int index) {
  return stream_host(r, s) == index || (r->stream_replicas[s] >> index & 1u);
}

/* Before a broker process starts: if the disk lost data since the last
 * start (a power loss, a replaced disk), note what it kept of every stream,
 * as recovery will find it; and at any start, a log that ends in a batch
 * with a flipped bit (at rest, or a read fault recovery will trip on). The
 * cuts go into the history once the process is up, with its log end
 * offsets. Several starts before one succeeds keep the lowest cut. */
static void note_start(struct runner *r, int index) {
  struct broker *b = &r->brokers[index];
  struct sim_disk_stats st;
  sim_disk_stats(b->node, &st);
  bool loss = st.crashes + st.disks_lost != b->losses_seen;
  bool disk_lost = st.disks_lost != b->disks_lost_seen;
  b->losses_seen = st.crashes + st.disks_lost;
  b->disks_lost_seen = st.disks_lost;
  for (int s = 0; s < r->stream_count; s++) {
    if (r->sc->nodes > 1 && !stream_replica(r, s, index)) continue; /* not its stream */
    char dir[HISTORY_LABEL_BYTES + 16];
    snprintf(dir, sizeof dir, "/logs/%s", r->labels[s]);
    struct oracle_log kept;
    oracle_scan(b->node, dir, true, &kept);
    bool flipped = kept.cut && kept.flipped;
    if (!loss && !flipped) continue;
    struct history_cut c = {.time_ns = now_ns(r),
                            .offset = kept.end,
                            .last_offset = kept.cut ? kept.cut_last : kept.end,
                            .broker_end = -1,
                            .stream = (int16_t)s,
                            .node = (int16_t)(index + 1),
                            .reason = disk_lost ? ALLOW_DISK_LOSS
                                      : flipped ? ALLOW_CORRUPT_BATCH
                                                : ALLOW_POWER_LOSS_TAIL};
    if (b->cuts[s].node && b->cuts[s].offset <= c.offset) continue;
    b->cuts[s] = c;
    runner_trace(r, "broker %d: the disk kept %s up to offset %lld (%s)", index + 1,
                 r->labels[s], (long long)kept.end, kept.cut ? kept.why : "whole files");
  }
}

/* The process is up: its recovery is done; record the cuts noted, with the
 * log end offsets it recovered. */
static void record_cuts(struct runner *r, int index) {
  struct broker *b = &r->brokers[index];
  for (int s = 0; s < r->stream_count; s++) {
    struct history_cut *c = &b->cuts[s];
    if (!c->node) continue;
    struct node_partition_offsets po;
    int t = r->sc->topic_count - 1;
    while (t > 0 && r->stream_base[t] > s) t--;
    if (node_partition_offsets(b->proc, r->sc->topics[t].name, s - r->stream_base[t], &po))
      c->broker_end = po.log_end;
    c->incarnation = b->incarnation;
    history_add_cut(&r->hist, c);
    runner_trace(r, "cut %s at offset %lld (%s); broker %d recovered to %lld", r->labels[s],
                 (long long)c->offset, history_allowance_names[c->reason], index + 1,
                 (long long)c->broker_end);
    c->node = 0;
  }
}

void runner_note_flip(struct runner *r, struct sim_node *n) {
  int index = 0;
  while (index < r->sc->nodes && r->brokers[index].node != n) index++;
  if (index == r->sc->nodes || r->brokers[index].proc == NULL) return; /* note_start sees it */
  struct broker *b = &r->brokers[index];
  for (int s = 0; s < r->stream_count; s++) {
    if (r->sc->nodes > 1 && !stream_replica(r, s, index)) continue;
    int t = r->sc->topic_count - 1;
    while (t > 0 && r->stream_base[t] > s) t--;
    struct node_partition_offsets po;
    if (node_partition_offsets(b->proc, r->sc->topics[t].name, s - r->stream_base[t], &po) &&
        po.log_end >= 0)
      continue; /* open: recovery is behind it, a restart's note_start will judge it */
    char dir[HISTORY_LABEL_BYTES + 16];
    snprintf(dir, sizeof dir, "/logs/%s", r->labels[s]);
    struct oracle_log kept;
    oracle_scan(b->node, dir, true, &kept);
    if (!(kept.cut && kept.flipped)) continue;
    struct history_cut c = {.time_ns = now_ns(r),
                            .incarnation = b->incarnation,
                            .offset = kept.end,
                            .last_offset = kept.cut_last,
                            .broker_end = -1,
                            .stream = (int16_t)s,
                            .node = (int16_t)(index + 1),
                            .reason = ALLOW_CORRUPT_BATCH};
    history_add_cut(&r->hist, &c);
    runner_trace(r, "cut %s at offset %lld (corrupt-batch): flipped before broker %d opened it",
                 r->labels[s], (long long)kept.end, index + 1);
  }
}

/* ---- brokers ---- */

struct props {
  char *text;
  size_t len, cap;
};

__attribute__((format(printf, 2, 3))) static void props_put(struct props *p, const char *fmt,
                                                            ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(p->text + p->len, p->cap - p->len, fmt, ap);
  va_end(ap);
  ASSERT(n >= 0 && (size_t)n < p->cap - p->len);
  p->len += (size_t)n;
}

const char *sim_node_host_name(enum node_role role, int index, char *out, size_t cap) {
  snprintf(out, cap, "%s%d", role == ROLE_CONTROLLER ? "controller" : "broker", index + 1);
  return out;
}

/* KRaft's quorum settings for a cluster of several nodes: every node with
 * the controller role is a voter on its CONTROLLER listener (the users'
 * layout: PLAINTEXT on 9092, CONTROLLER on 10092). */
static void quorum_props(struct props *p, const struct sim_cluster *c) {
  char host[32];
  props_put(p, "cluster.id=%s\n", SIM_CLUSTER_ID);
  props_put(p, "controller.listener.names=CONTROLLER\n");
  props_put(p, "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n");
  props_put(p, "controller.quorum.voters=");
  bool first = true;
  for (int i = 0; i < c->nodes; i++) {
    if (c->roles[i] == ROLE_BROKER) continue;
    props_put(p, "%s%d@%s:%d", first ? "" : ",", i + 1,
              sim_node_host_name(c->roles[i], i, host, sizeof host), CONTROLLER_PORT);
    first = false;
  }
  props_put(p, "\n");
}

static void listener_props(struct props *p, const struct sim_cluster *c, int index) {
  char host[32];
  enum node_role role = c->roles[index];
  sim_node_host_name(role, index, host, sizeof host);
  if (c->nodes == 1) { /* no quorum: the single broker of the first issues */
    props_put(p, "listeners=PLAINTEXT://%s:%d\n", host, BROKER_PORT);
  } else if (role == ROLE_CONTROLLER) { /* no PLAINTEXT: a controller serves no clients */
    props_put(p, "listeners=CONTROLLER://%s:%d\n", host, CONTROLLER_PORT);
  } else if (role == ROLE_BROKER) {
    props_put(p, "listeners=PLAINTEXT://%s:%d\n", host, BROKER_PORT);
  } else {
    props_put(p, "listeners=PLAINTEXT://%s:%d,CONTROLLER://%s:%d\n", host, BROKER_PORT, host,
              CONTROLLER_PORT);
  }
  if (role == ROLE_CONTROLLER) return;
  props_put(p, "advertised.listeners = PLAINTEXT://%s:%d\n", host, BROKER_PORT);
  props_put(p, "inter.broker.listener.name: PLAINTEXT\n");
}

/* The node's server.properties, as an operator writes one, parsed by the
 * broker's own parser (config_parse): the settings a KRaft quickstart file
 * has, the JVM's thread pools and socket buffers (accepted, no effect), keys
 * of later features (accepted, noted), the quorum's (several nodes), then
 * the cluster config. */
size_t sim_node_properties(const struct sim_cluster *c, int index, char *out, size_t cap) {
  ASSERT(index >= 0 && index < c->nodes);
  struct props pr = {.text = out, .cap = cap};
  struct props *p = &pr;
  props_put(p, "# server.properties of node %d, written by sluice-sim\n\n", index + 1);
  props_put(p, "############################# Server Basics #############################\n");
  props_put(p, "process.roles=%s\nnode.id=%d\n\n", node_role_name(c->roles[index]), index + 1);
  props_put(p, "############################# Socket Server Settings ####################\n");
  listener_props(p, c, index);
  if (c->nodes > 1) quorum_props(p, c);
  props_put(p, "num.network.threads=3\nnum.io.threads=8\n");
  props_put(p, "socket.send.buffer.bytes=102400\nsocket.receive.buffer.bytes=102400\n");
  props_put(p, "socket.request.max.bytes=104857600\n\n");
  props_put(p, "############################# Log Basics #############################\n");
  props_put(p, "log.dirs=/logs\nnum.partitions=1\nnum.recovery.threads.per.data.dir=1\n");
  props_put(p, "default.replication.factor=1\nmin.insync.replicas=1\n");
  props_put(p, "auto.create.topics.enable=true\ndelete.topic.enable=true\n");
  props_put(p, "compression.type=producer\nlog.retention.hours=168\n");
  props_put(p,
            "offsets.topic.replication.factor=1\ntransaction.state.log.replication.factor=1\n");
  props_put(p, "transaction.state.log.min.isr=1\n\n");
  props_put(p, "! the scenario's cluster config\n");
  for (int i = 0; i < c->config_count; i++)
    props_put(p, "%s=%s\n", c->config[i].key, c->config[i].value);
  return pr.len;
}

static void broker_config(struct runner *r, int index, struct config *cfg) {
  const struct scenario *sc = r->sc;
  struct sim_cluster c = {
      .nodes = sc->nodes, .config = sc->config, .config_count = sc->config_count};
  memcpy(c.roles, sc->roles, sizeof c.roles);
  size_t cap = 8192 + (size_t)sc->config_count * 2 * SCENARIO_TEXT_BYTES;
  char *text = malloc(cap);
  ASSERT(text != NULL);
  size_t len = sim_node_properties(&c, index, text, cap);
  config_defaults(cfg);
  char err[256];
  bool ok = config_parse(cfg, text, len, sim_node_env(r->brokers[index].node), err, sizeof err);
  if (!ok) runner_trace(r, "broker %d: server.properties refused: %s", index + 1, err);
  ASSERT(ok); /* the scenario's keys were checked when it was loaded */
  free(text);
}

/* ---- the KRaft quorum (several nodes) ---- */

bool runner_is_controller(const struct runner *r, int index) {
  return r->sc->nodes > 1 && r->sc->roles[index] != ROLE_BROKER;
}

static const struct raft *core_of(const struct runner *r, int index) {
  const struct node *proc = r->brokers[index].proc;
  return proc && r->quorum ? raft_node_core(proc) : NULL;
}

int runner_raft_leader(const struct runner *r) {
  int leader = -1;
  int32_t epoch = -1;
  for (int i = 0; i < r->sc->nodes; i++) {
    const struct raft *core = core_of(r, i);
    if (!core || raft_role(core) != RAFT_LEADER) continue;
    struct raft_quorum_state qs;
    raft_quorum_state(core, &qs);
    if (qs.leader_epoch > epoch) {
      epoch = qs.leader_epoch;
      leader = i;
    }
  }
  return leader;
}

int runner_raft_follower(struct runner *r, struct sim_rng *rng) {
  int leader = runner_raft_leader(r), candidates[SCENARIO_NODES_MAX], count = 0;
  for (int i = 0; i < r->sc->nodes; i++)
    if (i != leader && runner_is_controller(r, i) && r->brokers[i].proc)
      candidates[count++] = i;
  return count ? candidates[sim_rng_below(rng, (uint64_t)count)] : -1;
}

/* Whether node i reaches (both ways, through no cut) fewer than a majority
 * of the voters, itself included. */
static bool cut_off(const struct runner *r, int i) {
  int voters = 0, reached = 0;
  struct sim_node *n = r->brokers[i].node;
  for (int j = 0; j < r->sc->nodes; j++) {
    if (!runner_is_controller(r, j)) continue;
    voters++;
    struct sim_node *m = r->brokers[j].node;
    if (i == j || (!sim_net_is_cut(r->w, n, m) && !sim_net_is_cut(r->w, m, n))) reached++;
  }
  return reached < voters / 2 + 1;
}

/* Node i's view, its cut-off as of the last quorum_views. */
static struct quorum_view view_of(const struct runner *r, int i) {
  return (struct quorum_view){.core = core_of(r, i),
                              .voter = runner_is_controller(r, i),
                              .cut_off = r->cut_off_now[i],
                              .paused = sim_node_paused(r->brokers[i].node)};
}

static void quorum_views(struct runner *r, struct quorum_view *v) {
  uint64_t changes = sim_net_cut_changes(r->w);
  if (!r->cut_off_known || changes != r->cut_changes_seen) {
    for (int i = 0; i < r->sc->nodes; i++) r->cut_off_now[i] = cut_off(r, i);
    r->cut_changes_seen = changes;
    r->cut_off_known = true;
  }
  for (int i = 0; i < r->sc->nodes; i++) v[i] = view_of(r, i);
}

/* applied-prefix: every node's loader has applied only committed entries
 * (its image is a prefix of the committed log; log-matching holds the
 * entries themselves to the leader's). A few loads per node and event. */
static void quorum_observe_applied(struct runner *r, int from, int to) {
  for (int i = from; i < to; i++) {
    if (!r->brokers[i].proc) continue;
    int64_t applied = node_metadata_applied_offset(r->brokers[i].proc);
    if (applied >= 0) quorum_check_applied(r->qc, i, applied);
  }
}

/* Whether the image fences broker b in the epoch it was last unfenced in
 * (a FenceBrokerRecord: its session expired, or a controlled shutdown), as
 * opposed to a new registration, fenced until it catches up, which leaves
 * its leaderships to the unfencing (Kafka before KIP-966 does the same).
 * Remembers each broker's unfenced epoch per node. */
static bool fenced_in_session(struct runner *r, int node, const struct meta_broker *b) {
  if (b->id < 1 || b->id > SCENARIO_NODES_MAX) return false;
  int64_t *seen = &r->unfenced_epoch[node][b->id - 1];
  if (!b->fenced) {
    *seen = b->epoch;
    return false;
  }
  return *seen == b->epoch;
}

/* fenced-broker-excluded (KIP-631): once a node's image says a broker's
 * session was fenced, no partition in that image is led by it: the
 * controller moves its leaderships (to another ISR member, or to none) in
 * the commit that fences it, so Metadata never names it and the fenced
 * node itself stops leading (its partitions follow its own image). Judged
 * on each node's image when it changes. */
static void fence_check_image(struct runner *r, int node, const struct meta_image *image) {
  bool fenced[SCENARIO_NODES_MAX] = {false};
  int count = 0;
  for (int32_t b = 0; b < image->broker_count; b++) {
    const struct meta_broker *mb = &image->brokers[b];
    if (!fenced_in_session(r, node, mb)) continue;
    fenced[mb->id - 1] = true;
    count++;
  }
  if (count == 0) return;
  if (count > r->fenced_max) r->fenced_max = count;
  r->fence_checks++;
  for (int32_t t = 0; t < image->topic_count; t++) {
    const struct meta_topic *mt = image->topics_by_name[t];
    for (int32_t p = 0; p < mt->partition_count; p++) {
      int32_t leader = mt->partitions[p].leader;
      if (leader < 1 || leader > SCENARIO_NODES_MAX || !fenced[leader - 1]) continue;
      if (r->fence_violations++ == 0)
        snprintf(r->fence_first, sizeof r->fence_first,
                 "node %d's image at offset %lld: %.100s-%d led by fenced broker %d", node + 1,
                 (long long)image->offset, mt->name, p, leader);
    }
  }
}

static void fence_observe(struct runner *r, int from, int to) {
  for (int i = from; i < to && r->client_count > 0; i++) {
    if (!r->brokers[i].proc) continue;
    const struct meta_image *image = node_metadata_image(r->brokers[i].proc);
    if (!image || image->offset == r->fence_image_offset[i]) continue;
    r->fence_image_offset[i] = image->offset;
    fence_check_image(r, i, image);
  }
}

/* Each workload partition's leader by the active controller's image,
 * noted when it changes (the report's leader timeline). Read only when the
 * image moved. Right after the quorum checker's observation: its leader is
 * runner_raft_leader's. */
static void leaders_observe(struct runner *r) {
  int active = quorum_check_leader(r->qc);
  if (active < 0 || !r->brokers[active].proc || r->client_count == 0) return;
  const struct meta_image *image = node_metadata_image(r->brokers[active].proc);
  if (!image || image->offset == r->leaders_image_offset) return;
  r->leaders_image_offset = image->offset;
  for (int t = 0; t < r->sc->topic_count; t++)
    for (int32_t p = 0; p < r->sc->topics[t].partitions; p++) {
      int s = r->stream_base[t] + p;
      const struct meta_partition *mp = image_partition(image, r->sc->topics[t].name, p);
      for (int32_t k = 0; mp && k < mp->replica_count && k < META_REPLICAS_MAX; k++)
        if (mp->replicas[k] >= 1 && mp->replicas[k] <= r->sc->nodes)
          r->stream_replicas[s] |= 1u << (mp->replicas[k] - 1);
      if (!mp || mp->leader == r->stream_leader[s]) continue;
      r->stream_leader[s] = mp->leader;
      if (r->leader_change_count == RUNNER_LEADER_CHANGES_MAX) continue;
      r->leader_changes[r->leader_change_count++] = (struct report_leader){
          .time_ns = now_ns(r), .stream = s, .leader = mp->leader, .epoch = mp->leader_epoch};
      runner_trace(r, "%s: leader %d in epoch %d (the active controller's image at %lld)",
                   r->labels[s], mp->leader, mp->leader_epoch, (long long)image->offset);
    }
}

/* The replica checkers (sim/replica_check.h), on runs with clients. */
static void replica_views(const struct runner *r, struct node **procs,
                          struct sim_node **nodes) {
  for (int i = 0; i < r->sc->nodes; i++) {
    procs[i] = r->brokers[i].proc;
    nodes[i] = r->brokers[i].node;
  }
}

/* An unclean election: a cut of the stream at the new leader's log end
 * (the unclean-election allowance), after every broker process so far. */
static void replica_note_unclean(struct runner *r, const struct replica_unclean *u) {
  int16_t incarnation = 0;
  for (int i = 0; i < r->sc->nodes; i++)
    if (r->brokers[i].incarnation > incarnation) incarnation = r->brokers[i].incarnation;
  struct history_cut c = {.time_ns = now_ns(r),
                          .incarnation = incarnation,
                          .offset = u->log_end,
                          .last_offset = u->log_end,
                          .broker_end = u->log_end,
                          .stream = (int16_t)(r->stream_base[u->topic] + u->partition),
                          .node = (int16_t)u->leader,
                          .reason = ALLOW_UNCLEAN_ELECTION};
  history_add_cut(&r->hist, &c);
  runner_trace(r, "cut %s at offset %lld (unclean-election): broker %d led outside the ISR",
               r->labels[c.stream], (long long)c.offset, u->leader);
}

static void replica_observe(struct runner *r, int changed) {
  if (!r->rc || (changed == SIM_LOOK_NONE && !replica_check_due(r->rc, now_ns(r)))) return;
  struct node *procs[SCENARIO_NODES_MAX];
  struct sim_node *nodes[SCENARIO_NODES_MAX];
  replica_views(r, procs, nodes);
  replica_check_observe_node(r->rc, now_ns(r), procs, nodes, changed);
  struct replica_unclean u;
  while (replica_check_take_unclean(r->rc, &u)) replica_note_unclean(r, &u);
}

/* Which node's state the event just run may have changed since the
 * hook's last look: SIM_LOOK_NONE after a client's event, broker i's index
 * after its own, SIM_LOOK_ALL after anything else (a world event, the workload
 * node's proposals, code run between events: faults, restarts). A client
 * reaches the brokers only through frames their own events take, and no
 * event changes a cut, a pause or a process but its own node's; so the
 * nodes not named are as the last look judged them. */
static int look_at(const struct runner *r) {
  struct sim_node *n = sim_world_event_node(r->w);
  if (!n || sim_world_outside_count(r->w) != r->outside_seen ||
      sim_net_cut_changes(r->w) != r->cut_changes_seen)
    return SIM_LOOK_ALL;
  int32_t id = sim_node_env(n)->node_id;
  if (id > CLIENT_ID_BASE && id <= CLIENT_ID_BASE + r->client_count) return SIM_LOOK_NONE;
  for (int i = 0; i < r->sc->nodes; i++)
    if (r->brokers[i].node == n) return i;
  return SIM_LOOK_ALL;
}

/* Every node after anything else; after a broker's event only its own
 * state (the applied-prefix observations of the others are not repeated),
 * and after a client's only what the clock decides (check-quorum's bound,
 * the replica polls and scans). */
static void quorum_after_event(void *ctx) {
  struct runner *r = ctx;
  int changed = look_at(r);
  if (changed == SIM_LOOK_ALL) {
    quorum_views(r, r->views_seen);
    r->outside_seen = sim_world_outside_count(r->w);
  } else if (changed >= 0) {
    r->views_seen[changed] = view_of(r, changed);
  }
  quorum_check_observe_node(r->qc, sim_now_ns(r->w), r->views_seen, changed);
  int from = changed >= 0 ? changed : 0;
  int to = changed >= 0 ? changed + 1 : changed == SIM_LOOK_ALL ? r->sc->nodes : 0;
  quorum_observe_applied(r, from, to);
  fence_observe(r, from, to);
  if (changed != SIM_LOOK_NONE) leaders_observe(r);
  replica_observe(r, changed);
}

/* The epoch node index's quorum-state file holds, on what its disk kept
 * (-1: no file, or not readable). */
static int32_t durable_epoch(struct runner *r, int index) {
  struct env *env = sim_node_env(r->brokers[index].node);
  struct buf text;
  buf_init(&text);
  struct raft_quorum_state qs = {.leader_epoch = -1};
  char path[96];
  snprintf(path, sizeof path, "/logs/%s-%d/%s", META_LOG_TOPIC, META_LOG_PARTITION,
           QUORUM_STATE_FILE);
  if (atomic_file_read(env, path, &text) != 0 ||
      !quorum_state_parse((const char *)text.data, text.len, &qs))
    qs.leader_epoch = -1;
  buf_free(&text);
  return qs.leader_epoch;
}

static void quorum_process_ended(struct runner *r, int index) {
  if (!r->quorum || !runner_is_controller(r, index)) {
    if (r->quorum) quorum_check_process_ended(r->qc, index, -1);
    return;
  }
  quorum_check_process_ended(r->qc, index, durable_epoch(r, index));
}

/* A KRaft metadata record the loader applies as nothing (NoOpRecord, a
 * leader's heartbeat): what the quorum workload proposes. */
static void quorum_propose(struct runner *r) {
  struct meta_record rec;
  memset(&rec, 0, sizeof rec);
  rec.type = META_NO_OP_RECORD;
  struct buf value;
  buf_init(&value);
  meta_record_encode(&rec, &value);
  for (int i = 0; i < r->sc->nodes; i++) {
    const struct raft *core = core_of(r, i);
    /* Every node that believes it leads, a cut-off one too: its record may
     * never commit, and must then go. A paused process decides nothing. */
    if (!core || raft_role(core) != RAFT_LEADER || sim_node_paused(r->brokers[i].node))
      continue;
    if (raft_end_offset(core) >= QUORUM_LOG_ENTRIES_MAX) continue; /* no snapshots yet */
    if (node_quorum_propose(r->brokers[i].proc, value.data, (uint32_t)value.len) >= 0)
      r->proposals++;
  }
  buf_free(&value);
}

static void quorum_tick(void *ctx) {
  struct runner *r = ctx;
  struct env *env = sim_node_env(r->workload);
  if (r->producing) quorum_propose(r);
  env->timer_start(env, QUORUM_PROPOSE_MS * NS_PER_MS, quorum_tick, r);
}

static int64_t fetch_timeout_ms(const struct scenario *sc) {
  for (int i = 0; i < sc->config_count; i++)
    if (!strcmp(sc->config[i].key, "controller.quorum.fetch.timeout.ms"))
      return strtoll(sc->config[i].value, NULL, 10);
  return 2000; /* Kafka's default */
}

static void quorum_start(struct runner *r) {
  r->quorum = true;
  struct quorum_check_config cfg = {.nodes = r->sc->nodes,
                                    .fetch_timeout_ms = fetch_timeout_ms(r->sc)};
  if (r->sc->leader_stable_after_ms >= 0)
    cfg.leader_stable_from_ns = (uint64_t)r->sc->leader_stable_after_ms * NS_PER_MS + 1;
  r->qc = quorum_check_create(&cfg);
  r->workload = sim_node_add(r->w, QUORUM_WORKLOAD_ID, "quorum-workload");
  struct env *env = sim_node_env(r->workload);
  env->timer_start(env, QUORUM_PROPOSE_MS * NS_PER_MS, quorum_tick, r);
  sim_world_set_after_event(r->w, quorum_after_event, r);
}

static void broker_start(struct runner *r, int index) {
  struct broker *b = &r->brokers[index];
  ASSERT(b->proc == NULL);
  note_start(r, index);
  struct config cfg;
  broker_config(r, index, &cfg);
  /* As a deployment's start script does: kafka-storage.sh format
   * --ignore-formatted (a formatted disk is left alone; a lost one is
   * formatted anew), through the broker's own function. */
  char why[512] = "";
  const char *cluster_id = cfg.cluster_id[0] ? cfg.cluster_id : SIM_CLUSTER_ID;
  int rc = storage_format(sim_node_env(b->node), &cfg, cluster_id, true, NULL, NULL, why,
                          sizeof why, NULL, NULL);
  if (rc == STORAGE_NOTHING_TO_DO) rc = 0;
  if (rc == 0) rc = node_create(sim_node_env(b->node), &cfg, &b->proc);
  if (rc == 0) rc = node_start(b->proc);
  if (rc == 0) {
    ASSERT(b->incarnation < INT16_MAX);
    b->incarnation++;
    record_cuts(r, index);
    return;
  }
  /* The broker refused to start (a disk fault): it exits, as bin/sluice
   * does; the liveness phase starts it again once faults end. */
  runner_trace(r, "broker %d failed to start: error %d %s", index + 1, rc, rc < 0 ? why : "");
  if (b->proc) node_destroy(b->proc);
  b->proc = NULL;
  sim_node_exit(b->node);
  quorum_process_ended(r, index);
}

void broker_kill(struct runner *r, int index) {
  struct broker *b = &r->brokers[index];
  if (!b->proc) return;
  sim_node_crash(b->node);
  node_destroy(b->proc);
  b->proc = NULL;
  quorum_process_ended(r, index);
}

static void shutdown_done(void *ctx) {
  struct broker *b = ctx;
  b->shutting_down = false;
}

void broker_shutdown(struct runner *r, int index) {
  struct broker *b = &r->brokers[index];
  if (!b->proc || b->shutting_down) return;
  if (sim_node_paused(b->node)) sim_node_resume(b->node); /* SIGTERM after SIGCONT */
  b->shutting_down = true;
  node_shutdown(b->proc, shutdown_done, b);
  for (int i = 0; i < 1000000 && b->shutting_down; i++)
    if (!sim_step(r->w)) break;
  node_destroy(b->proc);
  b->proc = NULL;
  b->shutting_down = false;
  sim_node_exit(b->node); /* the process ends; the machine stays up */
  quorum_process_ended(r, index);
}

void broker_restart(struct runner *r, int index) {
  if (r->brokers[index].proc) return;
  sim_node_restart(r->brokers[index].node); /* a pending disk loss happens here */
  broker_start(r, index);
}

int broker_index(const struct runner *r, const struct sim_node *n) {
  for (int i = 0; i < r->sc->nodes; i++)
    if (r->brokers[i].node == n) return i;
  return -1;
}

/* ---- clients ---- */

static void on_acked(void *ctx, uint64_t id, int32_t partition, int64_t offset) {
  struct topic_ctx *t = ctx;
  struct runner *r = t->c->r;
  r->acked++;
  record(r, HISTORY_ACK, t->c->number, r->stream_base[t->topic] + partition, id, offset, 0);
  if (r->rc && r->sc->acks == -1) replica_check_ack(r->rc, t->topic, partition, offset);
}

static void on_retried(void *ctx, uint64_t id, int32_t partition, int32_t attempt) {
  struct topic_ctx *t = ctx;
  struct runner *r = t->c->r;
  record(r, HISTORY_RETRY, t->c->number, r->stream_base[t->topic] + partition, id, -1, attempt);
}

static void on_failed(void *ctx, uint64_t id, int32_t partition, int error) {
  struct topic_ctx *t = ctx;
  struct runner *r = t->c->r;
  r->failed++;
  record(r, HISTORY_FAIL, t->c->number, r->stream_base[t->topic] + partition, id, -1, error);
}

static int topic_number(const struct runner *r, const char *topic) {
  for (int t = 0; t < r->sc->topic_count; t++)
    if (!strcmp(r->sc->topics[t].name, topic)) return t;
  ASSERT(false); /* only assigned topics come back */
  return -1;
}

/* A value the producers wrote is "v<id>:" and padding; anything else is
 * HISTORY_VALUE_UNKNOWN (a finding for the checkers). */
static uint64_t value_id(struct kbytes value) {
  uint64_t id = 0;
  int32_t i = 1, len = value.len;
  if (len < 3 || value.ptr[0] != 'v') return HISTORY_VALUE_UNKNOWN;
  int32_t end = len < 21 ? len : 21;
  for (; i < end && (unsigned)(value.ptr[i] - '0') <= 9; i++) {
    unsigned digit = (unsigned)(value.ptr[i] - '0');
    /* The constant bound first: below it no digit can overflow. */
    if (id > (HISTORY_VALUE_UNKNOWN - 10) / 10 && id > (HISTORY_VALUE_UNKNOWN - 1 - digit) / 10)
      return HISTORY_VALUE_UNKNOWN;
    id = id * 10 + digit;
  }
  return i > 1 && i < len && value.ptr[i] == ':' ? id : HISTORY_VALUE_UNKNOWN;
}

/* A tombstone's value id, from its key "k<key number>". */
static uint64_t tombstone_id(const struct runner *r, struct kbytes key) {
  if (r->hist.deletes == 0 || key.len < 2 || key.len > 19 || key.ptr[0] != 'k')
    return HISTORY_VALUE_UNKNOWN;
  uint64_t n = 0;
  for (int32_t i = 1; i < key.len; i++) {
    if (key.ptr[i] < '0' || key.ptr[i] > '9') return HISTORY_VALUE_UNKNOWN;
    n = n * 10 + (uint64_t)(key.ptr[i] - '0');
  }
  return n / r->hist.keys > (UINT64_MAX >> 32) ? HISTORY_VALUE_UNKNOWN
                                               : history_tombstone_id(&r->hist, n);
}

static void on_polled(void *ctx, const char *topic, int32_t partition, int64_t offset,
                      struct kbytes key, struct kbytes value) {
  struct client *c = ctx;
  struct runner *r = c->r;
  r->polled++;
  uint64_t id = value.len < 0 ? tombstone_id(r, key) : value_id(value);
  record(r, HISTORY_POLL, c->number, r->stream_base[topic_number(r, topic)] + partition, id,
         offset, 0);
}

/* After data loss the consumer's position can be past the log's end, and
 * after retention before its start: the broker answers OFFSET_OUT_OF_RANGE
 * and the consumer asks ListOffsets where to go on (auto.offset.reset;
 * on_reset records where it went). */
static void on_consume_error(void *ctx, const char *topic, int32_t partition, int error) {
  struct client *c = ctx;
  if (error == KERR_OFFSET_OUT_OF_RANGE)
    runner_trace(c->r, "client %d %s-%d: offset out of range, resetting", c->number, topic,
                 partition);
}

/* ListOffsets moved a partition (at the start, or after OFFSET_OUT_OF_RANGE):
 * a recorded seek. */
static void on_reset(void *ctx, const char *topic, int32_t partition, int64_t offset) {
  struct client *c = ctx;
  struct runner *r = c->r;
  record(r, HISTORY_SEEK, c->number, r->stream_base[topic_number(r, topic)] + partition, 0,
         offset, 0);
}

void runner_record_seek(struct client *c, int stream, int64_t offset) {
  record(c->r, HISTORY_SEEK, c->number, stream, 0, offset, 0);
}

void runner_record_delete(struct client *c, int stream, int64_t offset) {
  record(c->r, HISTORY_DELETE, c->number, stream, 0, offset, 0);
}

void client_seek(struct client *c, int topic, int32_t partition, int64_t offset) {
  struct runner *r = c->r;
  ASSERT(c->consuming && topic >= 0 && topic < r->sc->topic_count);
  kconsumer_stop(&c->consumer); /* its fetch in flight asked for the old position */
  kconsumer_assign(&c->consumer, r->sc->topics[topic].name, partition, offset);
  kconsumer_start(&c->consumer);
  record(r, HISTORY_SEEK, c->number, r->stream_base[topic] + partition, 0, offset, 0);
}

/* A connection came up: what it is answered from is this broker process. */
static void on_connection(void *ctx, struct kconn *conn, int err) {
  struct client *c = ctx;
  (void)conn;
  if (err == 0) c->incarnation = c->r->brokers[0].incarnation;
}

static void on_topic(void *ctx, int error) {
  struct client *c = ctx;
  c->create_in_flight = false;
  if (error == KERR_NONE) c->topics_ready++;
}

/* Every partition of every topic, each from where ListOffsets says
 * (auto.offset.reset: the scenario's; the final reader's is earliest, so it
 * is sent only to the log start). */
static void consumer_start(struct client *c) {
  const struct scenario *sc = c->r->sc;
  bool final = c->number > sc->producers + sc->consumers + sc->admins;
  struct kconsumer_config cc = {.max_wait_ms = 200,
                                .max_bytes = 1 << 20,
                                .retry_backoff_ms = 100,
                                .auto_offset_reset =
                                    !final && sc->auto_offset_reset == RESET_LATEST
                                        ? KCONSUMER_RESET_LATEST
                                        : KCONSUMER_RESET_EARLIEST};
  struct kconsumer_listener cl = {
      .ctx = c, .polled = on_polled, .error = on_consume_error, .reset = on_reset};
  kconsumer_init(&c->consumer, sim_node_env(c->node), c->routed ? NULL : c->conn, &cc, &cl);
  if (c->routed) kconsumer_route(&c->consumer, &c->cluster);
  c->consuming = true;
  if (!final && c->group_index >= 0) {
    for (int t = 0; c->routed && t < sc->topic_count; t++)
      kcluster_add_topic(&c->cluster, sc->topics[t].name);
    runner_group_start(c); /* the group assigns */
    return;
  }
  for (int t = 0; t < sc->topic_count; t++)
    for (int32_t p = 0; p < sc->topics[t].partitions; p++)
      kconsumer_assign(&c->consumer, sc->topics[t].name, p, KCONSUMER_OFFSET_RESET);
  kconsumer_start(&c->consumer);
  c->consuming = true;
}

/* The next (topic, partition) in round robin, as a stream number. */
static int next_stream(struct client *c, int *topic, int32_t *partition) {
  struct runner *r = c->r;
  int s = (int)(c->next_stream++ % (uint64_t)r->stream_count);
  int t = r->sc->topic_count - 1;
  while (t > 0 && r->stream_base[t] > s) t--;
  *topic = t;
  *partition = s - r->stream_base[t];
  return s;
}

/* What snprintf(out, cap, "v%llu:", id) writes and returns, without its
 * format parsing (it was a tenth of the workload's sending). */
static int format_value_head(char *out, size_t cap, uint64_t id) {
  char text[24], digits[20];
  int n = 0, len = 0;
  do {
    digits[n++] = (char)('0' + id % 10);
    id /= 10;
  } while (id > 0 && n < (int)sizeof digits);
  text[len++] = 'v';
  while (n > 0) text[len++] = digits[--n];
  text[len++] = ':';
  ASSERT(cap > 0);
  size_t kept = (size_t)len < cap ? (size_t)len : cap - 1;
  memcpy(out, text, kept);
  out[kept] = 0;
  return len;
}

static void send_some(struct client *c) {
  struct runner *r = c->r;
  const struct scenario *sc = r->sc;
  c->send_credit += (double)sc->rate_per_s * TICK_MS / 1000.0 / sc->producers;
  char *value = r->value;
  int32_t bytes = sc->value_bytes;
  ASSERT(bytes > 0 && (size_t)bytes < r->value_cap);
  for (int n = 0; c->send_credit >= 1.0 && n < 100000; n++) {
    c->send_credit -= 1.0;
    int topic;
    int32_t partition;
    int stream = next_stream(c, &topic, &partition);
    uint64_t id = r->next_value++;
    int len = format_value_head(value, r->value_cap, id);
    if (len < bytes) memset(value + len, 'x', (size_t)(bytes - len));
    /* Recorded first: with acks=0 the ack comes back inside the call. */
    r->sent++;
    record(r, HISTORY_SEND, c->number, stream, id, -1, 0);
    char key[24];
    int32_t key_len = -1; /* keyed workloads: the compaction checker's key of the id */
    if (r->sc->keys > 0)
      key_len =
          snprintf(key, sizeof key, "k%llu", (unsigned long long)history_key_of(&r->hist, id));
    /* A tombstone's id is its key's (history_tombstone_id): no value. */
    bool tombstone = history_is_tombstone(&r->hist, id);
    int rc = kproducer_send(&c->producers[topic], partition, key_len < 0 ? NULL : key, key_len,
                            tombstone ? NULL : value,
                            tombstone     ? -1
                            : len < bytes ? bytes
                                          : len,
                            id);
    if (rc != 0) { /* queue full: this value is never sent */
      r->failed++;
      record(r, HISTORY_FAIL, c->number, stream, id, -1, rc);
    }
  }
}

/* A workload topic, with its topic-level configs. */
static int create_topic(struct client *c, const struct scenario_topic *t) {
  struct kadmin_config configs[SCENARIO_TOPIC_CONFIG_MAX];
  for (int i = 0; i < t->config_count; i++)
    configs[i] = (struct kadmin_config){t->config[i].key, t->config[i].value};
  return kadmin_create_topic_with(c->conn, t->name, t->partitions, t->replication_factor,
                                  configs, t->config_count, on_topic, c);
}

/* Several nodes: topic creation and admin calls go to any broker (each
 * forwards to the active controller); when the connection is lost (not
 * merely connecting) they move to another. */
static void conn_move(struct client *c) {
  if (!c->routed || kconn_connected(c->conn) || c->conn->connecting || c->conn->negotiating ||
      kconn_in_flight(c->conn) > 0)
    return;
  c->conn = kcluster_any_conn(&c->cluster, true);
}

/* Several nodes: the workload topics are created once Metadata lists every
 * broker (the controller places replicas on the brokers it knows unfenced,
 * as Kafka does), as an operator creates them once the cluster is up; at
 * most CREATE_WAIT_MS after the start. */
static bool cluster_up(struct client *c) {
  struct runner *r = c->r;
  if (!c->routed || now_ns(r) >= (uint64_t)CREATE_WAIT_MS * NS_PER_MS) return true;
  int brokers = 0;
  for (int i = 0; i < r->sc->nodes; i++) brokers += r->sc->roles[i] != ROLE_CONTROLLER;
  if (c->cluster.broker_count >= brokers) return true;
  kcluster_refresh(&c->cluster); /* at most every retry.backoff.ms */
  return false;
}

static void client_tick(void *ctx) {
  struct client *c = ctx;
  const struct scenario *sc = c->r->sc;
  struct env *env = sim_node_env(c->node);
  conn_move(c);
  if (c->topics_ready < sc->topic_count && !cluster_up(c)) {
    /* not yet */
  } else if (c->topics_ready < sc->topic_count) {
    const struct scenario_topic *t = &sc->topics[c->topics_ready];
    if (!kconn_connected(c->conn))
      kconn_connect(c->conn);
    else if (!c->create_in_flight && kconn_in_flight(c->conn) == 0 && create_topic(c, t) == 0)
      c->create_in_flight = true;
  } else if (c->admin) {
    admin_tick(c->admin);
  } else if (c->is_producer && c->r->producing) {
    send_some(c);
  } else if (!c->is_producer && !c->consuming) {
    consumer_start(c);
  }
  env->timer_start(env, TICK_MS * NS_PER_MS, client_tick, c);
}

/* The scenario's compression for this producer (workload: compression). */
static enum rb_codec producer_codec(const struct client *c) {
  const struct scenario *sc = c->r->sc;
  if (sc->codec_count == 0) return RB_CODEC_NONE;
  return (enum rb_codec)sc->codecs[(c->number - 1) % sc->codec_count];
}

static void producers_init(struct client *c) {
  const struct scenario *sc = c->r->sc;
  for (int t = 0; t < sc->topic_count; t++) {
    struct kproducer_config pc = {.partition_count = sc->topics[t].partitions,
                                  .acks = sc->acks,
                                  .batch_records_max = 50,
                                  .retries_max = INT32_MAX,
                                  .retry_backoff_ms = 100,
                                  .timeout_ms = 30000,
                                  .codec = producer_codec(c),
                                  .idempotence_off = sc->idempotence_off};
    snprintf(pc.topic, sizeof pc.topic, "%s", sc->topics[t].name);
    struct kproducer_listener pl = {
        .ctx = &c->topic_ctx[t], .acked = on_acked, .failed = on_failed, .retried = on_retried};
    kproducer_init(&c->producers[t], sim_node_env(c->node), c->routed ? NULL : c->conn, &pc,
                   &pl);
    if (c->routed) kproducer_route(&c->producers[t], &c->cluster);
  }
}

/* Several nodes: a bootstrap list of every broker's client endpoint, as a
 * client's bootstrap.servers; each client starts from a different one.
 * retry.backoff.ms 100 and metadata.max.age.ms 300000, Kafka's defaults. */
static void cluster_init(struct client *c, const char *client_id) {
  struct runner *r = c->r;
  kcluster_init(&c->cluster, sim_node_env(c->node), &c->kc, client_id, 100, 300000);
  int brokers = 0;
  for (int i = 0; i < r->sc->nodes; i++) brokers += r->sc->roles[i] != ROLE_CONTROLLER;
  ASSERT(brokers > 0);
  for (int k = 0; k < r->sc->nodes; k++) {
    int i = (k + c->number - 1) % r->sc->nodes;
    if (r->sc->roles[i] == ROLE_CONTROLLER) continue;
    kcluster_add_bootstrap(&c->cluster, sim_node_host(r->brokers[i].node), BROKER_PORT);
  }
}

static struct client *client_add(struct runner *r, bool producer) {
  ASSERT(r->client_count < (int)ARRAY_LEN(r->clients));
  struct client *c = calloc(1, sizeof *c);
  ASSERT(c != NULL);
  c->r = r;
  c->number = r->client_count + 1;
  c->is_producer = producer;
  c->group_index = runner_group_of(r, c->number);
  for (int t = 0; t < SCENARIO_TOPICS_MAX; t++) c->topic_ctx[t] = (struct topic_ctx){c, t};
  char host[32];
  snprintf(host, sizeof host, "client%d", c->number);
  c->node = sim_node_add(r->w, CLIENT_ID_BASE + c->number, host);
  net_dispatch_init(&c->net, sim_node_env(c->node));
  kclient_init(&c->kc, &c->net);
  if (r->sc->nodes > 1) {
    c->routed = true;
    cluster_init(c, host);
    c->conn = kcluster_any_conn(&c->cluster, false);
  } else {
    c->conn = kclient_conn(&c->kc, sim_node_host(r->brokers[0].node), BROKER_PORT, host);
    kconn_watch(c->conn, &(struct kconn_watch){.ctx = c, .changed = on_connection});
  }
  if (producer) producers_init(c);
  r->clients[r->client_count++] = c;
  /* The first tick at a seeded phase within the period, from the client's
   * own stream: clients do not tick in step, nor on the faults' beat. */
  struct sim_rng phase =
      sim_rng_fork_id(sim_world_rng(r->w), "client.tick", (uint64_t)c->number);
  struct env *env = sim_node_env(c->node);
  env->timer_start(env, 1 + sim_rng_below(&phase, TICK_MS * NS_PER_MS), client_tick, c);
  return c;
}

/* An admin client: its first tick (like every client's) creates the
 * workload topics, then it runs the admin workload. */
static void admin_add(struct runner *r) {
  struct client *c = client_add(r, false);
  c->admin = admin_create(c);
}

static void client_free(struct client *c) {
  for (int t = 0; c->is_producer && t < c->r->sc->topic_count; t++)
    kproducer_free(&c->producers[t]);
  if (c->group) kgroup_free(c->group);
  free(c->group);
  if (c->consuming) kconsumer_stop(&c->consumer);
  if (c->routed) kcluster_free(&c->cluster);
  if (c->admin) admin_free(c->admin);
  net_dispatch_free(&c->net);
  free(c);
}

/* The least delete.retention.ms of the workload's topics (a topic's own,
 * else the broker's log.cleaner.delete.retention.ms, else Kafka's default
 * of a day): how long the compaction checker expects a tombstone to stay. */
static int64_t delete_retention_ms(const struct scenario *sc) {
  int64_t broker_ms = 86400000;
  for (int i = 0; i < sc->config_count; i++)
    if (!strcmp(sc->config[i].key, "log.cleaner.delete.retention.ms"))
      broker_ms = strtoll(sc->config[i].value, NULL, 10);
  int64_t least_ms = INT64_MAX;
  for (int t = 0; t < sc->topic_count; t++) {
    int64_t ms = broker_ms;
    for (int i = 0; i < sc->topics[t].config_count; i++)
      if (!strcmp(sc->topics[t].config[i].key, "delete.retention.ms"))
        ms = strtoll(sc->topics[t].config[i].value, NULL, 10);
    if (ms < least_ms) least_ms = ms;
  }
  return least_ms == INT64_MAX ? broker_ms : least_ms;
}

/* One node: a combined broker. Several: the KRaft quorum, with or without
 * clients (they need a broker to talk to). */
static bool supported(const struct scenario *sc, char *why, size_t cap) {
  if (sc->nodes == 1 && sc->roles[0] != ROLE_COMBINED) {
    snprintf(why, cap, "node 1 is a %s: a single node must be combined",
             node_role_name(sc->roles[0]));
    return false;
  }
  if (sc->nodes == 1) return true;
  int controllers = 0, brokers = 0;
  for (int i = 0; i < sc->nodes; i++) {
    controllers += sc->roles[i] != ROLE_BROKER;
    brokers += sc->roles[i] != ROLE_CONTROLLER;
  }
  if (controllers == 0) {
    snprintf(why, cap, "%d nodes and no controller: the quorum needs voters", sc->nodes);
    return false;
  }
  if (brokers == 0 && sc->producers + sc->consumers + sc->admins > 0) {
    snprintf(why, cap, "clients and no node with the broker role to serve them");
    return false;
  }
  return true;
}

/* Liveness: every fault ends: the network heals, paused nodes resume,
 * clocks stop drifting, disks work again, brokers that are down start. */
static void end_faults(struct runner *r) {
  sim_net_heal_all(r->w);
  for (int i = 0; i < sim_world_node_count(r->w); i++) {
    struct sim_node *n = sim_world_node_at(r->w, i);
    sim_node_resume(n);
    sim_node_set_drift_ppm(n, 0);
    sim_disk_clear_faults(n);
  }
  for (int i = 0; i < r->sc->nodes; i++) {
    /* A log a failed flush took offline stays so until its broker
     * restarts: the operator's restart (docs/architecture.md). */
    if (r->brokers[i].proc && node_offline_logs(r->brokers[i].proc) > 0) {
      runner_trace(r, "broker %d has offline logs: restarting it", i + 1);
      broker_shutdown(r, i);
    }
    broker_restart(r, i);
  }
  runner_groups_end_faults(r);
  runner_trace(r, "liveness phase: faults ended, sending stops");
}

/* The quorum's run: the faults with the workload proposing, then the
 * liveness phase (everything healed and up, proposals go on so the new
 * leader commits) after which the nodes must have converged. */
static void run_quorum_phases(struct runner *r, const struct scenario *sc) {
  uint64_t t0 = now_ns(r);
  r->producing = true;
  timeline_run(r, t0);
  sim_run_until(r->w, t0 + (uint64_t)sc->duration_ms * NS_PER_MS);
  quorum_check_faults_ended(r->qc, now_ns(r));
  end_faults(r);
  sim_run_until(r->w, now_ns(r) + (uint64_t)sc->liveness_ms * NS_PER_MS * 3 / 4);
  r->producing = false; /* the last quarter: every log catches up */
  sim_run_until(r->w, now_ns(r) + (uint64_t)sc->liveness_ms * NS_PER_MS / 4);
}

/* Several nodes with clients: the quorum's run and the clients' together;
 * the quorum workload's proposals stop with the producers, so the last
 * half of the liveness phase lets every log catch up (quorum-converged)
 * while the final reader reads. */
static void run_cluster_phases(struct runner *r, const struct scenario *sc) {
  uint64_t t0 = now_ns(r);
  r->producing = true;
  timeline_run(r, t0);
  sim_run_until(r->w, t0 + (uint64_t)sc->duration_ms * NS_PER_MS);
  quorum_check_faults_ended(r->qc, now_ns(r));
  r->producing = false;
  end_faults(r);
  sim_run_until(r->w, now_ns(r) + (uint64_t)sc->liveness_ms * NS_PER_MS / 2);
  r->hist.final_reader = client_add(r, false)->number;
  runner_trace(r, "final read by client %d", r->hist.final_reader);
  sim_run_until(r->w, now_ns(r) + (uint64_t)sc->liveness_ms * NS_PER_MS / 2);
}

static void run_phases(struct runner *r, const struct scenario *sc) {
  uint64_t t0 = now_ns(r);
  r->producing = true;
  timeline_run(r, t0);
  sim_run_until(r->w, t0 + (uint64_t)sc->duration_ms * NS_PER_MS);
  /* Stop sending, let the retries settle; then a fresh consumer reads
   * everything from the start. */
  r->producing = false;
  end_faults(r);
  sim_run_until(r->w, now_ns(r) + (uint64_t)sc->liveness_ms * NS_PER_MS / 2);
  r->hist.final_reader = client_add(r, false)->number;
  runner_trace(r, "final read by client %d", r->hist.final_reader);
  sim_run_until(r->w, now_ns(r) + (uint64_t)sc->liveness_ms * NS_PER_MS / 2);
}

static void streams_init(struct runner *r) {
  for (int t = 0; t < r->sc->topic_count; t++) {
    r->stream_base[t] = r->stream_count;
    for (int32_t p = 0; p < r->sc->topics[t].partitions; p++) {
      ASSERT(r->stream_count < HISTORY_STREAMS_MAX);
      snprintf(r->labels[r->stream_count++], HISTORY_LABEL_BYTES, "%s-%d",
               r->sc->topics[t].name, p);
    }
  }
  r->hist.labels = (const char(*)[HISTORY_LABEL_BYTES])r->labels;
  r->hist.label_count = r->stream_count;
}

/* The final reader's partition index for a stream; -1 if it has none. */
static int reader_index(const struct runner *r, const struct kconsumer *k, int topic,
                        int32_t partition) {
  for (int i = 0; i < k->partition_count; i++)
    if (k->partitions[i] == partition &&
        !strcmp(k->topics[k->topic_of[i]], r->sc->topics[topic].name))
      return i;
  return -1;
}

/* At the end: where the final read of each stream got to and the end it
 * should have reached; and a batch with a bit flipped at rest that is
 * still in a log (no restart cut it), which no reader gets past. */
static void record_ends(struct runner *r) {
  const struct client *reader = NULL;
  for (int i = 0; i < r->client_count; i++)
    if (r->clients[i]->number == r->hist.final_reader) reader = r->clients[i];
  for (int t = 0; t < r->sc->topic_count; t++)
    for (int32_t p = 0; p < r->sc->topics[t].partitions; p++) {
      int s = r->stream_base[t] + p;
      int host = stream_host(r, s);
      struct broker *b = &r->brokers[host >= 0 ? host : 0];
      struct history_end *end = &r->hist.ends[s];
      *end = (struct history_end){-1, -1, -1};
      int i = reader && reader->consuming ? reader_index(r, &reader->consumer, t, p) : -1;
      if (i >= 0) {
        end->position = reader->consumer.offsets[i];
        end->high_watermark = reader->consumer.high_watermarks[i];
      }
      struct node_partition_offsets po;
      if (b->proc && node_partition_offsets(b->proc, r->sc->topics[t].name, p, &po))
        end->broker_high_watermark = po.high_watermark;
      char dir[HISTORY_LABEL_BYTES + 16];
      snprintf(dir, sizeof dir, "/logs/%s", r->labels[s]);
      /* Every such batch: a reader gets past one whose flip is outside the
       * CRC and may stop at the next (swarm seed 335). */
      struct oracle_flip flips[SCENARIO_FAULTS_MAX];
      int flip_count = oracle_rest_flips(b->node, dir, flips, SCENARIO_FAULTS_MAX);
      for (int f = 0; f < flip_count; f++) {
        struct history_cut c = {.time_ns = now_ns(r),
                                .incarnation = (int16_t)(b->incarnation + 1),
                                .offset = flips[f].first,
                                .last_offset = flips[f].last,
                                .broker_end = -1,
                                .stream = (int16_t)s,
                                .node = (int16_t)(b - r->brokers + 1),
                                .reason = ALLOW_CORRUPT_BATCH,
                                .at_end = true};
        history_add_cut(&r->hist, &c);
        runner_trace(r, "cut %s at offset %lld: a bit flipped at rest, still in the log",
                     r->labels[s], (long long)flips[f].first);
      }
    }
  r->hist.end_count = r->stream_count;
}

/* topic-churn: what the admin clients' Metadata answers said of their own
 * topics against the answers before them (sim/runner_admin.c); no
 * allowance. */
static void judge_admins(const struct runner *r, struct check_result *out) {
  *out = (struct check_result){
      .name = "topic-churn", .violations = r->admin_violations, .allowed = r->admin_allowed};
  if (r->admin_violations)
    snprintf(out->first, sizeof out->first, "%s", r->admin_first);
  else if (r->admin_allowed)
    snprintf(out->first, sizeof out->first,
             "%llu within: restarts after storage errors without a metadata log, or "
             "undecided requests that took effect later (--trace: \"within (\")",
             (unsigned long long)r->admin_allowed);
}

/* The end of fenced-broker-excluded: a broker that is up and heard at the
 * end of the liveness phase was unfenced again (its heartbeats caught up). */
static void fence_check_end(struct runner *r) {
  const struct meta_image *image = some_image(r);
  for (int i = 0; image && i < r->sc->nodes; i++) {
    if (!r->brokers[i].proc || r->sc->roles[i] == ROLE_CONTROLLER) continue;
    const struct meta_broker *b = meta_image_broker(image, i + 1);
    if (b && !b->fenced) continue;
    if (r->fence_violations++ == 0)
      snprintf(r->fence_first, sizeof r->fence_first,
               "broker %d is up at the end but %s in the image at offset %lld", i + 1,
               b ? "fenced" : "not registered", (long long)image->offset);
  }
}

/* fenced-broker-excluded: see fence_check_image. */
static void judge_fencing(struct runner *r, struct check_result *out) {
  fence_check_end(r);
  *out = (struct check_result){.name = "fenced-broker-excluded",
                               .violations = r->fence_violations};
  if (r->fence_violations)
    snprintf(out->first, sizeof out->first, "%s", r->fence_first);
  else
    snprintf(out->first, sizeof out->first,
             "%llu images with a fenced session judged (at most %d fenced at once)",
             (unsigned long long)r->fence_checks, r->fenced_max);
}

static void judge_hostile(struct runner *r, struct run_report *out) {
  if (!r->hostile) return;
  int room = (int)ARRAY_LEN(out->results) - out->result_count;
  out->result_count += hostile_judge(r->hostile, out->results + out->result_count, room);
  hostile_summary(r->hostile, out->hostile_text, sizeof out->hostile_text);
  runner_trace(r, "%s", out->hostile_text);
}

static void judge_clients(struct runner *r, struct run_report *out) {
  const struct scenario *sc = r->sc;
  struct history_check_config cc = {.final_read = true,
                                    .max_unavailability_ms = sc->max_unavailability_ms,
                                    .end_ns = now_ns(r)};
  for (int c = 0; c < CHECKERS_MAX; c++)
    cc.allow[c] = scenario_allowance(sc, (enum history_checker)c);
  record_ends(r);
  /* Measured once, for the checker and the report's line (cuts do not
   * change it). */
  struct history_wait wait = history_unavailability(&r->hist, cc.end_ns);
  cc.wait = &wait;
  int room = (int)ARRAY_LEN(out->results) - out->result_count;
  ASSERT(room >= CHECKERS_MAX + 2 + REPLICA_CHECKERS);
  out->result_count +=
      history_check(&r->hist, &cc, out->results + out->result_count, CHECKERS_MAX);
  if (sc->admins > 0) judge_admins(r, &out->results[out->result_count++]);
  if (r->quorum) judge_fencing(r, &out->results[out->result_count++]);
  if (r->rc) {
    struct node *procs[SCENARIO_NODES_MAX];
    struct sim_node *nodes[SCENARIO_NODES_MAX];
    replica_views(r, procs, nodes);
    out->result_count += replica_check_finish(
        r->rc, procs, nodes, out->results + out->result_count, REPLICA_CHECKERS);
  }
  out->unavailable_ns = wait.longest_ns;
  runner_groups_judge(r, out);
  judge_hostile(r, out);
}

/* quorum-converged is judged once the quorum agrees: an entry appended in
 * the last milliseconds (an ISR change) may not be committed everywhere
 * yet, so the run steps on 10 ms at a time, at most SETTLE_STEPS_MAX
 * times, until it is (a run that already agrees takes no step, its trace
 * unchanged). One that never does fails the checker as before. */
static void quorum_settle(struct runner *r) {
  enum { SETTLE_STEP_MS = 10, SETTLE_STEPS_MAX = 200 };
  for (int i = 0; i < SETTLE_STEPS_MAX; i++) {
    struct quorum_view v[SCENARIO_NODES_MAX];
    quorum_views(r, v);
    if (quorum_check_settled(r->qc, v)) return;
    sim_run_until(r->w, now_ns(r) + (uint64_t)SETTLE_STEP_MS * NS_PER_MS);
  }
}

static void judge_quorum(struct runner *r, struct run_report *out) {
  struct quorum_view v[SCENARIO_NODES_MAX];
  quorum_views(r, v);
  out->result_count = quorum_check_finish(r->qc, v, out->results, QUORUM_CHECKERS);
  out->election_count =
      quorum_check_elections(r->qc, out->elections_ms, (int)ARRAY_LEN(out->elections_ms));
  out->proposals = r->proposals;
  for (int i = 0; i < out->election_count; i++)
    runner_trace(r, "a new leader %llu ms after the leader was lost",
                 (unsigned long long)out->elections_ms[i]);
}

__attribute__((format(printf, 2, 3))) static void text_put(char *text, const char *fmt, ...) {
  size_t len = strlen(text), cap = sizeof((struct run_report *)0)->leaders_text;
  if (len + 1 >= cap) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text + len, cap - len, fmt, ap);
  va_end(ap);
}

/* The front door's lines (issue 10 item 9): the first topic's partition 0,
 * who led it when the first fault fired and after, each fault and each
 * leader change after it (virtual seconds), and the longest stretch a
 * producer waited for an acknowledgement. */
static void front_door(const struct runner *r, struct run_report *out) {
  char *text = out->leaders_text;
  uint64_t first_ns = r->applied_count > 0 ? r->applied[0].time_ns : UINT64_MAX;
  int32_t before = -1;
  for (int i = 0; i < r->leader_change_count; i++)
    if (r->leader_changes[i].stream == 0 && r->leader_changes[i].time_ns <= first_ns)
      before = r->leader_changes[i].leader;
  text_put(text, "%s: led by broker %d when the first fault fired", r->labels[0], before);
  int shown = 0;
  for (int i = 0; i < r->applied_count && shown < 6; i++, shown++)
    text_put(text, "%s%.3f s %s",
             i ? "; " : "\n  faults: ", (double)r->applied[i].time_ns / 1e9,
             r->applied[i].text);
  shown = 0;
  int32_t after = before;
  for (int i = 0; i < r->leader_change_count; i++) {
    const struct report_leader *c = &r->leader_changes[i];
    if (c->stream != 0 || c->time_ns <= first_ns) continue;
    after = c->leader;
    if (shown++ < 8)
      text_put(text, "%sbroker %d (epoch %d) at %.3f s", shown == 1 ? "\n  then: " : ", ",
               c->leader, c->epoch, (double)c->time_ns / 1e9);
  }
  text_put(text, "\n  led by broker %d at the end; the longest produce unavailability %.3f s",
           after, (double)out->unavailable_ns / 1e9);
}

static void judge(struct runner *r, struct run_report *out) {
  const struct scenario *sc = r->sc;
  if (r->quorum) judge_quorum(r, out);
  if (!r->quorum || r->client_count > 0) judge_clients(r, out);
  if (r->quorum && r->client_count > 0) front_door(r, out);
  out->passed = true;
  for (int i = 0; i < out->result_count; i++)
    if (out->results[i].violations > 0) out->passed = false;
  out->trace_hash = sim_trace_hash(r->w);
  out->events = sim_events_processed(r->w);
  out->simulated_s = (double)now_ns(r) / 1e9;
  out->sent = r->sent;
  out->acked = r->acked;
  out->failed = r->failed;
  out->polled = r->polled;
  out->cuts = r->hist.cut_count;
  for (int i = 0; i < sc->nodes; i++) out->broker_starts += (uint64_t)r->brokers[i].incarnation;
}

bool run_scenario(const struct scenario *sc, uint64_t seed, const struct run_options *opts,
                  struct run_report *out) {
  memset(out, 0, sizeof *out);
  if (!supported(sc, out->why, sizeof out->why)) return false;
  struct runner *r = calloc(1, sizeof *r);
  ASSERT(r != NULL);
  r->sc = sc;
  r->opts = opts;
  /* Room for "v<id>:" past value_bytes: a value is never cut. */
  r->value_cap = (size_t)sc->value_bytes + 32;
  r->value = malloc(r->value_cap);
  ASSERT(r->value != NULL);
  history_init(&r->hist);
  r->hist.keys = (uint32_t)sc->keys;
  r->hist.deletes = (uint32_t)sc->deletes;
  r->hist.delete_retention_ms = delete_retention_ms(sc);
  streams_init(r);
  for (int s = 0; s < HISTORY_STREAMS_MAX; s++) {
    r->stream_host[s] = -1;
    r->stream_leader[s] = -2;
  }
  r->leaders_image_offset = -2;
  for (int i = 0; i < SCENARIO_NODES_MAX; i++) {
    r->fence_image_offset[i] = -2;
    for (int b = 0; b < SCENARIO_NODES_MAX; b++) r->unfenced_epoch[i][b] = -1;
  }
  r->w = sim_world_create(seed);
  r->fault_rng = sim_rng_fork(sim_world_rng(r->w), "faults");
  if (opts->world_slot) *opts->world_slot = r->w;
  sim_world_set_verbose(r->w, opts->verbose);
  sim_world_set_log_file(r->w, opts->trace);
  for (int i = 0; i < sc->nodes; i++) {
    char host[32];
    r->brokers[i].node =
        sim_node_add(r->w, i + 1, sim_node_host_name(sc->roles[i], i, host, sizeof host));
  }
  if (sc->nodes > 1) quorum_start(r);
  for (int i = 0; i < sc->nodes; i++) broker_start(r, i);
  for (int i = 0; i < sc->producers; i++) client_add(r, true);
  for (int i = 0; i < sc->consumers; i++) client_add(r, false);
  for (int i = 0; i < sc->admins; i++) admin_add(r);
  int first_broker = 0; /* hostile clients aim at the first node serving clients */
  while (first_broker < sc->nodes - 1 && sc->roles[first_broker] == ROLE_CONTROLLER)
    first_broker++;
  r->hostile = hostile_start(r->w, sc, r->brokers[first_broker].node, BROKER_PORT);
  if (r->quorum && r->client_count > 0) r->rc = replica_check_create(sc);
  if (sc->group_count > 0) r->gc = group_check_create(sc->group_count, r->stream_count);
  if (r->quorum && r->client_count > 0)
    run_cluster_phases(r, sc);
  else if (r->quorum)
    run_quorum_phases(r, sc);
  else
    run_phases(r, sc);
  if (r->quorum) quorum_settle(r);
  judge(r, out);
  if (opts->report_dir)
    report_write(opts->report_dir, sc, seed, &r->hist, r->applied, r->applied_count,
                 &(struct report_leaders){r->leader_changes, r->leader_change_count}, out,
                 r->w);
  for (int i = 0; i < r->client_count; i++) client_free(r->clients[i]);
  /* The run is over: each live process ends as a killed one does, so its
   * fsyncs in flight fail into it and their waiters let go (a producer
   * snapshot's write, say) before it is freed; the world then has none. */
  int64_t led = 0; /* what each broker's metrics endpoint would serve parses */
  for (int i = 0; i < sc->nodes; i++)
    if (r->brokers[i].proc) led += metrics_check_node(r->brokers[i].proc);
  ASSERT(led >= 0);
  for (int i = 0; i < sc->nodes; i++) {
    if (!r->brokers[i].proc) continue;
    sim_node_crash(r->brokers[i].node);
    node_destroy(r->brokers[i].proc);
  }
  if (opts->world_slot) *opts->world_slot = NULL;
  sim_world_set_after_event(r->w, NULL, NULL);
  sim_world_destroy(r->w);
  hostile_free(r->hostile); /* after the world: its timers point at it */
  quorum_check_free(r->qc);
  replica_check_free(r->rc);
  runner_groups_free(r);
  history_free(&r->hist);
  free(r->value);
  free(r);
  return true;
}
