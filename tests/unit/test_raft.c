/* The Raft core (broker/raft/) tested by data, in etcd's datadriven style:
 * each .txt file in tests/raft/ is a script of commands, each followed by "----" and
 * the exact output expected, ended by a blank line; lines starting with '#'
 * are comments. One libcheck test per file. RAFT_REWRITE=1 rewrites the
 * expected output in place (read the result before committing it).
 *
 * The runner plays the adapter for every node: a disk (the quorum state, the
 * log and the snapshot, changed only when a persist is acknowledged), a
 * network (one FIFO queue of messages in flight, with cut links), and a clock
 * per node. docs/raft.md lists the commands. */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "raft/raft.h"
#include "testing.h"

enum { NODES_MAX = 16, SNAP_MAX = 4096, DISK_ENTRIES_MAX = 4096, NET_MAX = 2048 };

/* A growable string. */
struct sb {
  char *s;
  size_t len, cap;
};

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sb *b, const char *fmt,
                                                            ...) {
  va_list ap;
  for (;;) {
    va_start(ap, fmt);
    int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    ck_assert(n >= 0);
    if (b->s && b->len + (size_t)n < b->cap) {
      b->len += (size_t)n;
      return;
    }
    b->cap = (b->cap + (size_t)n + 1) * 2;
    b->s = realloc(b->s, b->cap);
    ck_assert(b->s != NULL);
    b->s[b->len] = '\0';
  }
}

static void sb_reset(struct sb *b) {
  b->len = 0;
  if (b->s) b->s[0] = '\0';
}

struct disk {
  bool has_state;
  struct raft_quorum_state state;
  bool has_snapshot;
  struct raft_snapshot_id snapshot;
  char snapshot_data[SNAP_MAX];
  int64_t snapshot_size;
  int64_t log_start, log_end;
  struct raft_entry *log; /* [log_start, log_end) at log[offset - log_start] */
};

struct node {
  int32_t id;
  bool exists, voter, up, manual;
  struct raft_config cfg;
  struct raft *r;
  struct raft_ready *rd;
  int64_t now_ms;
  struct disk disk;
  /* A persist handed out and not yet acknowledged (manual mode). */
  bool pending;
  struct raft_persist pending_p;
  struct raft_entry *pending_entries;
  char pending_snapshot[SNAP_MAX];
  /* The snapshot being fetched, and the bytes of the last chunk delivered. */
  char partial[SNAP_MAX];
  char chunk[SNAP_MAX];
  int64_t chunk_position, chunk_size;
};

struct net_msg {
  struct raft_msg m;
  char bytes[SNAP_MAX]; /* a FetchSnapshotResponse's UnalignedRecords */
};

struct harness {
  struct node nodes[NODES_MAX + 1];
  struct net_msg *net;
  uint32_t net_count;
  bool cut[NODES_MAX + 1][NODES_MAX + 1];
  struct sb out;
  const char *file;
  int line;
};

static void die(struct harness *h, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  ck_abort_msg("%s:%d: %s", h->file, h->line, msg);
}

static struct node *node_get(struct harness *h, int64_t id) {
  if (id < 1 || id > NODES_MAX || !h->nodes[id].exists) die(h, "no node %lld", (long long)id);
  return &h->nodes[id];
}

static struct node *node_up(struct harness *h, int64_t id) {
  struct node *n = node_get(h, id);
  if (!n->up) die(h, "node %lld is down", (long long)id);
  return n;
}

/* ---- printing ---- */

static void put_node_id(struct sb *b, const char *key, int32_t id) {
  if (id < 0)
    sb_printf(b, " %s=-", key);
  else
    sb_printf(b, " %s=%d", key, id);
}

static void put_entries(struct sb *b, const struct raft_entry *e, int64_t first,
                        int64_t count) {
  for (int64_t i = 0; i < count; i++)
    sb_printf(b, "%s%lld@%d", i ? "," : "", (long long)(first + i), e[i].epoch);
}

static void put_value(struct sb *b, const struct raft_entry *e) {
  if (e->type == RAFT_ENTRY_LEADER_CHANGE)
    sb_printf(b, "LC");
  else
    sb_printf(b, "%.*s", (int)e->size, (const char *)e->payload);
}

/* ---- the disk ---- */

static void disk_apply(struct harness *h, struct node *n, const struct raft_persist *p,
                       const struct raft_entry *entries, const char *snapshot_bytes) {
  struct disk *d = &n->disk;
  if (p->has_state) {
    d->has_state = true;
    d->state = p->state;
  }
  if (p->has_snapshot) {
    d->has_snapshot = true;
    d->snapshot = p->snapshot;
    memcpy(d->snapshot_data, snapshot_bytes, SNAP_MAX);
    raft_snapshot(n->r, &d->snapshot_size);
    d->log_start = d->log_end = p->snapshot.end_offset;
  }
  if (p->truncate_to >= 0 && p->truncate_to < d->log_end) d->log_end = p->truncate_to;
  if (p->append_end > p->append_start && p->append_start != d->log_end)
    die(h, "node %d: append at %lld, disk ends at %lld", n->id, (long long)p->append_start,
        (long long)d->log_end);
  for (int64_t o = p->append_start; o < p->append_end; o++) {
    if (o - d->log_start >= DISK_ENTRIES_MAX) die(h, "disk full");
    d->log[o - d->log_start] = entries[o - p->append_start];
  }
  if (p->append_end > p->append_start) d->log_end = p->append_end;
}

static void persist_ack(struct harness *h, struct node *n) {
  if (!n->pending) die(h, "node %d: nothing to persist", n->id);
  disk_apply(h, n, &n->pending_p, n->pending_entries, n->pending_snapshot);
  n->pending = false;
  raft_persisted(n->r, &n->pending_p);
}

/* ---- the network ---- */

static void net_push(struct harness *h, struct node *from, const struct raft_msg *m) {
  if (h->net_count == NET_MAX) die(h, "network full");
  struct net_msg *nm = &h->net[h->net_count++];
  nm->m = *m;
  if (m->kind == RAFT_FETCH_SNAPSHOT_RESPONSE && m->error_code == 0) {
    const struct raft_fetch_snapshot_response *s = &m->fetch_snapshot_response;
    /* The leader's adapter reads the chunk from its snapshot. */
    if (s->position + s->unaligned_records_size > from->disk.snapshot_size)
      die(h, "node %d: snapshot chunk past its end", from->id);
    memcpy(nm->bytes, from->disk.snapshot_data + s->position,
           (size_t)s->unaligned_records_size);
  }
}

static void send_msg(struct harness *h, struct node *from, const struct raft_msg *m) {
  char line[1024];
  raft_msg_format(m, line, sizeof line);
  bool cut = m->to >= 1 && m->to <= NODES_MAX && h->cut[m->from][m->to];
  sb_printf(&h->out, "%s%s\n", line, cut ? " (partitioned)" : "");
  if (!cut) net_push(h, from, m);
}

/* ---- ready processing: what an adapter does with a ready ---- */

/* " state={...} snapshot={...} truncate=N append=o@e,..." */
static void put_persist(struct sb *b, const struct node *n, const struct raft_persist *p) {
  if (p->has_state) {
    sb_printf(b, " state={epoch=%d", p->state.leader_epoch);
    put_node_id(b, "voted", p->state.voted_id);
    put_node_id(b, "leader", p->state.leader_id);
    sb_printf(b, "}");
  }
  if (p->has_snapshot)
    sb_printf(b, " snapshot={end=%lld epoch=%d}", (long long)p->snapshot.end_offset,
              p->snapshot.epoch);
  if (p->truncate_to >= 0) sb_printf(b, " truncate=%lld", (long long)p->truncate_to);
  if (p->append_end > p->append_start) {
    sb_printf(b, " append=");
    put_entries(b, n->pending_entries, p->append_start, p->append_end - p->append_start);
  }
}

static void print_persist(struct harness *h, struct node *n, const struct raft_persist *p) {
  sb_printf(&h->out, "%d: persist", n->id);
  put_persist(&h->out, n, p);
  sb_printf(&h->out, "%s\n", n->manual ? " (waiting)" : "");
}

static void take_persist(struct harness *h, struct node *n, const struct raft_persist *p) {
  if (n->pending) die(h, "node %d: a second persist before the first was acknowledged", n->id);
  n->pending = true;
  n->pending_p = *p;
  for (int64_t o = p->append_start; o < p->append_end; o++)
    n->pending_entries[o - p->append_start] = *raft_entry_at(n->r, o);
  memcpy(n->pending_snapshot, n->partial, SNAP_MAX);
  print_persist(h, n, p);
  if (!n->manual) persist_ack(h, n);
}

static void process_one(struct harness *h, struct node *n) {
  struct raft_ready *rd = n->rd;
  raft_ready(n->r, rd);
  if (rd->role_changed) {
    sb_printf(&h->out, "%d: became %s epoch=%d", n->id, raft_role_name(rd->role), rd->epoch);
    put_node_id(&h->out, "leader", rd->leader_id);
    sb_printf(&h->out, " t=%lld\n", (long long)n->now_ms);
  }
  if (rd->has_snapshot_chunk) {
    const struct raft_snapshot_chunk *c = &rd->snapshot_chunk;
    if (c->position != n->chunk_position || c->size != n->chunk_size)
      die(h, "node %d: the accepted chunk is not the last delivered", n->id);
    memcpy(n->partial + c->position, n->chunk, (size_t)c->size);
    sb_printf(&h->out, "%d: snapshot chunk position=%lld bytes=%lld\n", n->id,
              (long long)c->position, (long long)c->size);
  }
  if (rd->persist.seq != 0) take_persist(h, n, &rd->persist);
  if (rd->high_watermark_changed)
    sb_printf(&h->out, "%d: hw=%lld\n", n->id, (long long)rd->high_watermark);
  for (uint32_t i = 0; i < rd->msg_count; i++) send_msg(h, n, &rd->msgs[i]);
}

static void process(struct harness *h, struct node *n) {
  for (int i = 0; raft_has_ready(n->r); i++) {
    if (i == 100) die(h, "node %d: ready does not settle", n->id);
    process_one(h, n);
  }
}

/* ---- nodes ---- */

static void node_boot(struct harness *h, struct node *n) {
  n->r = calloc(1, sizeof *n->r);
  ck_assert(n->r != NULL);
  raft_init(n->r, &n->cfg);
  struct disk *d = &n->disk;
  if (d->has_state) raft_restore_state(n->r, &d->state);
  if (d->has_snapshot) raft_restore_snapshot(n->r, d->snapshot, d->snapshot_size);
  for (int64_t o = d->log_start; o < d->log_end; o++)
    raft_restore_entry(n->r, &d->log[o - d->log_start]);
  raft_start(n->r, n->now_ms);
  n->up = true;
  process(h, n);
}

static void node_free(struct node *n) {
  if (n->r) raft_release(n->r);
  free(n->r);
  free(n->rd);
  free(n->disk.log);
  free(n->pending_entries);
}

/* ---- arguments ---- */

struct args {
  int argc;
  char *argv[32];
};

static const char *arg(const struct args *a, const char *key) {
  size_t k = strlen(key);
  for (int i = 1; i < a->argc; i++)
    if (strncmp(a->argv[i], key, k) == 0 && a->argv[i][k] == '=') return a->argv[i] + k + 1;
  return NULL;
}

static int64_t arg_int(struct harness *h, const struct args *a, const char *key, int64_t def) {
  const char *v = arg(a, key);
  if (v == NULL) return def;
  char *end;
  long long x = strtoll(v, &end, 10);
  if (*end != '\0') die(h, "%s=%s: expected a number", key, v);
  return x;
}

static int64_t arg_req(struct harness *h, const struct args *a, const char *key) {
  if (arg(a, key) == NULL) die(h, "%s: needs %s=", a->argv[0], key);
  return arg_int(h, a, key, 0);
}

/* "1,2,3" into ids; returns the count. */
static uint32_t parse_ids(struct harness *h, const char *s, int32_t *ids, uint32_t max) {
  uint32_t n = 0;
  while (s && *s) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || v < 1 || v > NODES_MAX || n == max) die(h, "bad node list \"%s\"", s);
    ids[n++] = (int32_t)v;
    s = *end == ',' ? end + 1 : end;
    if (*end != ',' && *end != '\0') die(h, "bad node list");
  }
  return n;
}

/* The nodes a command names (node=N or nodes=1,2), default all. */
static uint32_t selected(struct harness *h, const struct args *a, int32_t *ids) {
  const char *one = arg(a, "node"), *many = arg(a, "nodes");
  if (one) return parse_ids(h, one, ids, 1);
  if (many) return parse_ids(h, many, ids, NODES_MAX);
  uint32_t n = 0;
  for (int32_t id = 1; id <= NODES_MAX; id++)
    if (h->nodes[id].exists) ids[n++] = id;
  return n;
}

/* ---- commands ---- */

static void cmd_cluster(struct harness *h, const struct args *a) {
  int32_t voters[RAFT_VOTERS_MAX], observers[NODES_MAX];
  uint32_t nv = parse_ids(h, arg(a, "voters"), voters, RAFT_VOTERS_MAX);
  uint32_t no = parse_ids(h, arg(a, "observers"), observers, NODES_MAX);
  if (nv == 0) die(h, "cluster: needs voters=");
  int64_t seed = arg_int(h, a, "seed", 0);
  for (uint32_t i = 0; i < nv + no; i++) {
    int32_t id = i < nv ? voters[i] : observers[i - nv];
    struct node *n = &h->nodes[id];
    if (n->exists) die(h, "node %d twice", id);
    n->exists = true;
    n->id = id;
    n->voter = i < nv;
    raft_config_default(&n->cfg, id);
    memcpy(n->cfg.voters, voters, sizeof voters);
    n->cfg.voter_count = nv;
    n->cfg.random_seed = (uint64_t)(seed * 1000 + id);
    n->cfg.pre_vote = !(arg(a, "prevote") && strcmp(arg(a, "prevote"), "false") == 0);
    n->cfg.fetch_max_records = (uint32_t)arg_int(h, a, "fetch_max", RAFT_FETCH_RECORDS_MAX);
    n->cfg.snapshot_chunk_bytes = (int32_t)arg_int(h, a, "chunk", 1 << 20);
    n->rd = calloc(1, sizeof *n->rd);
    n->disk.log = calloc(DISK_ENTRIES_MAX, sizeof(struct raft_entry));
    n->pending_entries = calloc(RAFT_LOG_ENTRIES_MAX, sizeof(struct raft_entry));
    ck_assert(n->rd && n->disk.log && n->pending_entries);
  }
  for (int32_t id = 1; id <= NODES_MAX; id++)
    if (h->nodes[id].exists) node_boot(h, &h->nodes[id]);
}

static void tick_node(struct harness *h, struct node *n, int64_t t) {
  n->now_ms = t;
  raft_tick(n->r, t);
  process(h, n);
}

/* Time passes on the selected nodes: every deadline that falls due is run
 * at its own time, in time order across the nodes (ties by id). */
static void cmd_tick(struct harness *h, const struct args *a) {
  int32_t ids[NODES_MAX];
  uint32_t count = selected(h, a, ids);
  int64_t ms = arg_req(h, a, "ms"), target[NODES_MAX];
  for (uint32_t i = 0; i < count; i++) target[i] = node_get(h, ids[i])->now_ms + ms;
  for (int steps = 0;; steps++) {
    if (steps == 100000) die(h, "tick does not settle");
    int best = -1;
    int64_t best_t = INT64_MAX;
    for (uint32_t i = 0; i < count; i++) {
      struct node *n = &h->nodes[ids[i]];
      if (!n->up) continue;
      int64_t d = raft_deadline_ms(n->r);
      if (d < n->now_ms) d = n->now_ms;
      if (d <= target[i] && d < best_t) best = (int)i, best_t = d;
    }
    if (best < 0) break;
    tick_node(h, &h->nodes[ids[best]], best_t);
  }
  for (uint32_t i = 0; i < count; i++) {
    struct node *n = &h->nodes[ids[i]];
    if (n->up)
      tick_node(h, n, target[i]);
    else
      n->now_ms = target[i];
  }
}

static bool matches(const struct raft_msg *m, int64_t from, int64_t to) {
  return (from < 0 || m->from == from) && (to < 0 || m->to == to);
}

static void deliver_one(struct harness *h, const struct net_msg *nm) {
  const struct raft_msg *m = &nm->m;
  char line[1024];
  struct node *n = m->to >= 1 && m->to <= NODES_MAX ? &h->nodes[m->to] : NULL;
  const char *why = n == NULL || !n->exists  ? "no such node"
                    : !n->up                 ? "node down"
                    : h->cut[m->from][m->to] ? "partitioned"
                                             : NULL;
  if (why) {
    raft_msg_format(m, line, sizeof line);
    sb_printf(&h->out, "drop %s (%s)\n", line, why);
    return;
  }
  if (m->kind == RAFT_FETCH_SNAPSHOT_RESPONSE) {
    n->chunk_position = m->fetch_snapshot_response.position;
    n->chunk_size = m->fetch_snapshot_response.unaligned_records_size;
    memcpy(n->chunk, nm->bytes, sizeof n->chunk);
  }
  raft_step(n->r, m);
  process(h, n);
}

/* Delivers the messages in flight now (new ones wait for the next round),
 * in the order they were sent; from=, to= and count= select. */
static uint32_t deliver_round(struct harness *h, int64_t from, int64_t to, int64_t max) {
  uint32_t n = h->net_count, taken = 0;
  struct net_msg *batch = malloc((n ? n : 1) * sizeof *batch);
  ck_assert(batch != NULL);
  uint32_t keep = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (matches(&h->net[i].m, from, to) && (max < 0 || taken < max))
      batch[taken++] = h->net[i];
    else
      h->net[keep++] = h->net[i];
  }
  h->net_count = keep;
  for (uint32_t i = 0; i < taken; i++) deliver_one(h, &batch[i]);
  free(batch);
  return taken;
}

static void cmd_deliver(struct harness *h, const struct args *a) {
  deliver_round(h, arg_int(h, a, "from", -1), arg_int(h, a, "to", -1),
                arg_int(h, a, "count", -1));
}

static void cmd_stabilize(struct harness *h, const struct args *a) {
  int64_t max = arg_int(h, a, "rounds", 50);
  for (int64_t i = 0; i < max && h->net_count > 0; i++) deliver_round(h, -1, -1, -1);
  if (h->net_count > 0) sb_printf(&h->out, "(%u messages still in flight)\n", h->net_count);
}

/* Time passes in steps with the network delivering everything after each:
 * a cluster running with a fast network. Prints only role and high
 * watermark changes (verbose=true: everything). */
static void cmd_run(struct harness *h, const struct args *a) {
  int64_t ms = arg_req(h, a, "ms"), step = arg_int(h, a, "step", 100);
  bool verbose = arg(a, "verbose") && strcmp(arg(a, "verbose"), "true") == 0;
  if (step <= 0 || ms % step != 0) die(h, "run: ms must be a multiple of step");
  size_t start = h->out.len;
  char step_arg[32];
  snprintf(step_arg, sizeof step_arg, "ms=%lld", (long long)step);
  struct args t = *a;
  for (int i = 1; i < t.argc; i++)
    if (strncmp(t.argv[i], "ms=", 3) == 0) t.argv[i] = step_arg;
  for (int64_t done = 0; done < ms; done += step) {
    cmd_tick(h, &t);
    for (int round = 0; round < 50 && h->net_count > 0; round++) deliver_round(h, -1, -1, -1);
  }
  if (verbose) return;
  /* Keep the lines that say who leads and what is committed. */
  char *all = strdup(h->out.s + start), *save = NULL;
  h->out.len = start;
  h->out.s[start] = '\0';
  for (char *line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
    if (strstr(line, ": became ") || strstr(line, ": hw=")) sb_printf(&h->out, "%s\n", line);
  free(all);
}

/* A message crafted by hand, queued as if from= had sent it: msg=Vote
 * (epoch cand last_epoch end pre), BeginQuorumEpoch and EndQuorumEpoch
 * (epoch leader successors), Fetch (epoch offset last_epoch). */
static void cmd_send(struct harness *h, const struct args *a) {
  struct raft_msg m = {0};
  m.from = (int32_t)arg_req(h, a, "from");
  m.to = (int32_t)arg_req(h, a, "to");
  m.correlation_id = 1000000;
  const char *kind = arg(a, "msg");
  int32_t epoch = (int32_t)arg_req(h, a, "epoch");
  if (kind == NULL) die(h, "send: needs msg=");
  if (strcmp(kind, "Vote") == 0) {
    m.kind = RAFT_VOTE;
    const char *pre = arg(a, "pre");
    m.vote = (struct raft_vote_request){
        epoch, (int32_t)arg_int(h, a, "cand", m.from), (int32_t)arg_int(h, a, "last_epoch", 0),
        arg_int(h, a, "end", 0), pre && strcmp(pre, "true") == 0};
  } else if (strcmp(kind, "BeginQuorumEpoch") == 0) {
    m.kind = RAFT_BEGIN_QUORUM_EPOCH;
    m.begin_quorum_epoch.leader_epoch = epoch;
    m.begin_quorum_epoch.leader_id = (int32_t)arg_int(h, a, "leader", m.from);
  } else if (strcmp(kind, "EndQuorumEpoch") == 0) {
    m.kind = RAFT_END_QUORUM_EPOCH;
    m.end_quorum_epoch.leader_epoch = epoch;
    m.end_quorum_epoch.leader_id = (int32_t)arg_int(h, a, "leader", m.from);
    m.end_quorum_epoch.preferred_successor_count = parse_ids(
        h, arg(a, "successors"), m.end_quorum_epoch.preferred_successors, RAFT_VOTERS_MAX - 1);
  } else if (strcmp(kind, "Fetch") == 0) {
    m.kind = RAFT_FETCH;
    m.fetch = (struct raft_fetch_request){.replica_id = m.from,
                                          .current_leader_epoch = epoch,
                                          .fetch_offset = arg_int(h, a, "offset", 0),
                                          .last_fetched_epoch =
                                              (int32_t)arg_int(h, a, "last_epoch", 0),
                                          .max_wait_ms = 0};
  } else {
    die(h, "send: msg=Vote|BeginQuorumEpoch|EndQuorumEpoch|Fetch");
  }
  send_msg(h, node_get(h, m.from), &m);
}

static void cmd_drop(struct harness *h, const struct args *a) {
  int64_t from = arg_int(h, a, "from", -1), to = arg_int(h, a, "to", -1);
  uint32_t keep = 0;
  char line[1024];
  for (uint32_t i = 0; i < h->net_count; i++) {
    if (!matches(&h->net[i].m, from, to)) {
      h->net[keep++] = h->net[i];
      continue;
    }
    raft_msg_format(&h->net[i].m, line, sizeof line);
    sb_printf(&h->out, "drop %s\n", line);
  }
  h->net_count = keep;
}

/* partition 1 | 2,3: cuts every link between the groups, both ways, and
 * only those (it replaces the last partition). */
static void cmd_partition(struct harness *h, const struct args *a) {
  int group[NODES_MAX + 1] = {0}, g = 1;
  memset(h->cut, 0, sizeof h->cut);
  for (int i = 1; i < a->argc; i++) {
    if (strcmp(a->argv[i], "|") == 0) {
      g++;
      continue;
    }
    int32_t ids[NODES_MAX];
    uint32_t n = parse_ids(h, a->argv[i], ids, NODES_MAX);
    for (uint32_t j = 0; j < n; j++) group[ids[j]] = g;
  }
  if (g < 2) die(h, "partition: expected groups separated by |");
  for (int x = 1; x <= NODES_MAX; x++)
    for (int y = 1; y <= NODES_MAX; y++)
      if (group[x] && group[y] && group[x] != group[y]) h->cut[x][y] = true;
}

static void cmd_heal(struct harness *h) { memset(h->cut, 0, sizeof h->cut); }

static void cmd_propose(struct harness *h, const struct args *a) {
  struct node *n = node_up(h, arg_req(h, a, "node"));
  const char *v = arg(a, "value");
  if (v == NULL) die(h, "propose: needs value=");
  int64_t offset = raft_propose(n->r, v, (uint32_t)strlen(v));
  if (offset < 0)
    sb_printf(&h->out, "%d: propose %s refused\n", n->id, v);
  else
    sb_printf(&h->out, "%d: propose %s at offset %lld\n", n->id, v, (long long)offset);
  process(h, n);
}

static void cmd_persist(struct harness *h, const struct args *a) {
  struct node *n = node_up(h, arg_req(h, a, "node"));
  const char *mode = arg(a, "mode");
  if (mode != NULL) {
    if (strcmp(mode, "manual") != 0 && strcmp(mode, "auto") != 0) die(h, "mode=manual|auto");
    n->manual = strcmp(mode, "manual") == 0;
    if (n->manual || !n->pending) return;
  }
  persist_ack(h, n);
  sb_printf(&h->out, "%d: persisted\n", n->id);
  process(h, n);
}

static void cmd_crash(struct harness *h, const struct args *a) {
  struct node *n = node_up(h, arg_req(h, a, "node"));
  sb_printf(&h->out, "%d: crash", n->id);
  if (n->pending) { /* what never reached the disk */
    sb_printf(&h->out, " (lost:");
    put_persist(&h->out, n, &n->pending_p);
    sb_printf(&h->out, ")");
  }
  sb_printf(&h->out, "\n");
  raft_release(n->r);
  free(n->r);
  n->r = NULL;
  n->up = n->pending = false;
  memset(n->partial, 0, sizeof n->partial);
}

static void cmd_restart(struct harness *h, const struct args *a) {
  struct node *n = node_get(h, arg_req(h, a, "node"));
  if (n->up) die(h, "node %d is up", n->id);
  struct disk *d = &n->disk;
  sb_printf(&h->out, "%d: restart epoch=%d", n->id, d->has_state ? d->state.leader_epoch : 0);
  put_node_id(&h->out, "voted", d->has_state ? d->state.voted_id : -1);
  put_node_id(&h->out, "leader", d->has_state ? d->state.leader_id : -1);
  sb_printf(&h->out, " log=[%lld,%lld)\n", (long long)d->log_start, (long long)d->log_end);
  node_boot(h, n);
}

/* The state machine's snapshot: the data values below offset. */
static void cmd_snapshot(struct harness *h, const struct args *a) {
  struct node *n = node_up(h, arg_req(h, a, "node"));
  int64_t offset = arg_req(h, a, "offset");
  if (offset > raft_snapshot_limit(n->r))
    die(h, "snapshot: offset past what is committed and durable (%lld)",
        (long long)raft_snapshot_limit(n->r));
  struct sb data = {0};
  sb_printf(&data, "%s", n->disk.has_snapshot ? n->disk.snapshot_data : "");
  for (int64_t o = raft_log_start_offset(n->r); o < offset; o++) {
    const struct raft_entry *e = raft_entry_at(n->r, o);
    if (e->type != RAFT_ENTRY_DATA) continue;
    sb_printf(&data, "%s%.*s", data.len ? "," : "", (int)e->size, (const char *)e->payload);
  }
  if (data.len >= SNAP_MAX) die(h, "snapshot too big");
  raft_snapshot_taken(n->r, offset, (int64_t)data.len);
  struct disk *d = &n->disk;
  d->has_snapshot = true;
  d->snapshot = raft_snapshot(n->r, NULL);
  memset(d->snapshot_data, 0, SNAP_MAX);
  memcpy(d->snapshot_data, data.s, data.len);
  d->snapshot_size = (int64_t)data.len;
  if (offset > d->log_end) die(h, "snapshot: past the disk's log");
  memmove(d->log, d->log + (offset - d->log_start),
          (size_t)(d->log_end - offset) * sizeof *d->log);
  d->log_start = offset;
  sb_printf(&h->out, "%d: snapshot end=%lld epoch=%d data=\"%s\"\n", n->id, (long long)offset,
            d->snapshot.epoch, data.s);
  free(data.s);
  process(h, n);
}

static void cmd_resign(struct harness *h, const struct args *a) {
  struct node *n = node_up(h, arg_req(h, a, "node"));
  raft_resign(n->r);
  process(h, n);
}

static void cmd_status(struct harness *h, const struct args *a) {
  int32_t ids[NODES_MAX];
  uint32_t count = selected(h, a, ids);
  for (uint32_t i = 0; i < count; i++) {
    struct node *n = node_get(h, ids[i]);
    if (!n->up) {
      sb_printf(&h->out, "%d: down\n", n->id);
      continue;
    }
    struct raft_quorum_state q;
    raft_quorum_state(n->r, &q);
    sb_printf(&h->out, "%d: %s epoch=%d", n->id, raft_role_name(raft_role(n->r)),
              q.leader_epoch);
    put_node_id(&h->out, "voted", q.voted_id);
    put_node_id(&h->out, "leader", q.leader_id);
    if (raft_log_start_offset(n->r) > 0)
      sb_printf(&h->out, " start=%lld", (long long)raft_log_start_offset(n->r));
    sb_printf(&h->out, " end=%lld hw=%lld\n", (long long)raft_end_offset(n->r),
              (long long)raft_high_watermark(n->r));
  }
}

/* The log in memory: offset@epoch=value (LC: a LeaderChange record). */
static void cmd_log(struct harness *h, const struct args *a) {
  int32_t ids[NODES_MAX];
  uint32_t count = selected(h, a, ids);
  for (uint32_t i = 0; i < count; i++) {
    struct node *n = node_up(h, ids[i]);
    struct sb *b = &h->out;
    sb_printf(b, "%d: log", n->id);
    if (n->disk.has_snapshot && n->disk.snapshot.end_offset == raft_log_start_offset(n->r))
      sb_printf(b, " snapshot={end=%lld epoch=%d data=\"%s\"}",
                (long long)n->disk.snapshot.end_offset, n->disk.snapshot.epoch,
                n->disk.snapshot_data);
    for (int64_t o = raft_log_start_offset(n->r); o < raft_end_offset(n->r); o++) {
      const struct raft_entry *e = raft_entry_at(n->r, o);
      sb_printf(b, " %lld@%d=", (long long)o, e->epoch);
      put_value(b, e);
    }
    if (raft_end_offset(n->r) == raft_log_start_offset(n->r)) sb_printf(b, " (empty)");
    sb_printf(b, "\n");
  }
}

/* DescribeQuorum on the leader: each replica's end offset and last fetch. */
static void cmd_describe(struct harness *h, const struct args *a) {
  struct node *n = node_up(h, arg_req(h, a, "node"));
  struct raft_replica reps[RAFT_VOTERS_MAX + RAFT_OBSERVERS_MAX];
  uint32_t count = raft_describe_quorum(n->r, reps, RAFT_VOTERS_MAX + RAFT_OBSERVERS_MAX);
  if (count == 0) sb_printf(&h->out, "%d: not the leader\n", n->id);
  for (uint32_t i = 0; i < count; i++)
    sb_printf(&h->out, "%d: %s %d end=%lld last_fetch=%lld\n", n->id,
              reps[i].voter ? "voter" : "observer", reps[i].id,
              (long long)reps[i].log_end_offset, (long long)reps[i].last_fetch_ms);
}

static void cmd_heal_args(struct harness *h, const struct args *a) {
  (void)a;
  cmd_heal(h);
}

static const struct command {
  const char *name;
  void (*run)(struct harness *h, const struct args *a);
} commands[] = {
    {"cluster", cmd_cluster},
    {"tick", cmd_tick},
    {"deliver", cmd_deliver},
    {"stabilize", cmd_stabilize},
    {"run", cmd_run},
    {"drop", cmd_drop},
    {"partition", cmd_partition},
    {"heal", cmd_heal_args},
    {"propose", cmd_propose},
    {"persist", cmd_persist},
    {"crash", cmd_crash},
    {"restart", cmd_restart},
    {"snapshot", cmd_snapshot},
    {"resign", cmd_resign},
    {"status", cmd_status},
    {"log", cmd_log},
    {"send", cmd_send},
    {"describe", cmd_describe},
};

static void run_command(struct harness *h, struct args *a) {
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(a->argv[0], commands[i].name) == 0) {
      commands[i].run(h, a);
      return;
    }
  die(h, "unknown command \"%s\"", a->argv[0]);
}

/* ---- the datadriven file ---- */

struct lines {
  char **v;
  int n;
};

static struct lines split_lines(char *text) {
  struct lines l = {0};
  int cap = 0;
  for (char *s = text; *s;) {
    char *nl = strchr(s, '\n');
    if (nl) *nl = '\0';
    if (l.n == cap) {
      cap = cap ? cap * 2 : 64;
      l.v = realloc(l.v, (size_t)cap * sizeof *l.v);
      ck_assert(l.v != NULL);
    }
    l.v[l.n++] = s;
    if (!nl) break;
    s = nl + 1;
  }
  return l;
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "%s: cannot open (tests run from the repository root)", path);
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *text = malloc((size_t)size + 1);
  ck_assert(text != NULL && fread(text, 1, (size_t)size, f) == (size_t)size);
  text[size] = '\0';
  fclose(f);
  return text;
}

/* A unified-diff-like report: the longest common subsequence of lines,
 * '-' for an expected line missing, '+' for an actual line not expected. */
static void print_diff(const char *file, int line, const char *cmd, char **exp, int ne,
                       char **act, int na) {
  int *lcs = calloc((size_t)(ne + 1) * (size_t)(na + 1), sizeof *lcs);
  ck_assert(lcs != NULL);
#define LCS(i, j) lcs[(size_t)(i) * (size_t)(na + 1) + (size_t)(j)]
  for (int i = ne - 1; i >= 0; i--)
    for (int j = na - 1; j >= 0; j--)
      LCS(i, j) = strcmp(exp[i], act[j]) == 0     ? LCS(i + 1, j + 1) + 1
                  : LCS(i + 1, j) > LCS(i, j + 1) ? LCS(i + 1, j)
                                                  : LCS(i, j + 1);
  fprintf(stderr, "\n--- %s:%d: expected\n+++ %s:%d: actual\n@@ %s @@\n", file, line, file,
          line, cmd);
  int i = 0, j = 0;
  while (i < ne || j < na) {
    if (i < ne && j < na && strcmp(exp[i], act[j]) == 0)
      fprintf(stderr, " %s\n", exp[i]), i++, j++;
    else if (j < na && (i == ne || LCS(i, j + 1) > LCS(i + 1, j)))
      fprintf(stderr, "+%s\n", act[j++]);
    else
      fprintf(stderr, "-%s\n", exp[i++]);
  }
#undef LCS
  fflush(stderr);
  free(lcs);
}

static void harness_free(struct harness *h) {
  for (int id = 1; id <= NODES_MAX; id++)
    if (h->nodes[id].exists) node_free(&h->nodes[id]);
  free(h->net);
  free(h->out.s);
}

/* Runs one file: fails at the first command whose output differs, or with
 * RAFT_REWRITE writes the file back with the actual outputs. */
static void run_file(const char *path, bool rewrite) {
  char *text = read_file(path);
  struct lines l = split_lines(text);
  struct harness *h = calloc(1, sizeof *h);
  ck_assert(h != NULL);
  h->net = calloc(NET_MAX, sizeof *h->net);
  ck_assert(h->net != NULL);
  h->file = path;
  struct sb rewritten = {0};
  sb_printf(&rewritten, "%s", "");
  for (int i = 0; i < l.n;) {
    char *line = l.v[i];
    if (line[0] == '\0' || line[0] == '#') {
      if (!(i == l.n - 1 && line[0] == '\0')) sb_printf(&rewritten, "%s\n", line);
      i++;
      continue;
    }
    h->line = i + 1;
    sb_printf(&rewritten, "%s\n----\n", line);
    if (i + 1 >= l.n || strcmp(l.v[i + 1], "----") != 0)
      die(h, "expected ---- after the command");
    int first = i + 2, end = first;
    while (end < l.n && l.v[end][0] != '\0') end++;
    char cmdline[1024];
    snprintf(cmdline, sizeof cmdline, "%s", line);
    struct args a = {0};
    for (char *tok = strtok(cmdline, " \t"); tok && a.argc < 32; tok = strtok(NULL, " \t"))
      a.argv[a.argc++] = tok;
    sb_reset(&h->out);
    sb_printf(&h->out, "%s", "");
    run_command(h, &a);
    if (h->out.len == 0) sb_printf(&h->out, "ok\n");
    sb_printf(&rewritten, "%s", h->out.s);
    char *actual = strdup(h->out.s);
    actual[strlen(actual) - 1] = '\0'; /* the last newline */
    struct lines act = split_lines(actual);
    bool same = act.n == end - first;
    for (int k = 0; same && k < act.n; k++) same = strcmp(act.v[k], l.v[first + k]) == 0;
    if (!same && !rewrite) {
      print_diff(path, h->line, line, l.v + first, end - first, act.v, act.n);
      ck_abort_msg("%s:%d: output of `%s` differs (diff above; RAFT_REWRITE=1 rewrites)", path,
                   h->line, line);
    }
    free(act.v);
    free(actual);
    i = end;
    if (i < l.n) sb_printf(&rewritten, "\n"), i++;
  }
  if (rewrite) {
    FILE *f = fopen(path, "wb");
    ck_assert(f != NULL);
    fwrite(rewritten.s, 1, rewritten.len, f);
    fclose(f);
  }
  free(rewritten.s);
  free(l.v);
  free(text);
  harness_free(h);
  free(h);
}

/* ---- random schedules ---- */

/* Raft's safety properties, checked across the nodes after every step of
 * a random schedule (the core checks its own invariants itself): at most
 * one leader per epoch, and every committed entry (below a node's high
 * watermark) is the same on every node that has it, forever. */
enum { EPOCHS_MAX = 4096, COMMITTED_MAX = DISK_ENTRIES_MAX };

struct safety {
  int32_t leader_of_epoch[EPOCHS_MAX];
  bool known[COMMITTED_MAX];
  struct raft_entry committed[COMMITTED_MAX];
};

static void check_safety(struct harness *h, struct safety *s) {
  for (int32_t id = 1; id <= NODES_MAX; id++) {
    struct node *n = &h->nodes[id];
    if (!n->exists || !n->up) continue;
    struct raft_quorum_state q;
    raft_quorum_state(n->r, &q);
    ck_assert_int_lt(q.leader_epoch, EPOCHS_MAX);
    if (raft_role(n->r) == RAFT_LEADER) {
      int32_t *l = &s->leader_of_epoch[q.leader_epoch];
      ck_assert_msg(*l == 0 || *l == id, "%s: two leaders in epoch %d: %d and %d", h->file,
                    q.leader_epoch, *l, id);
      *l = id;
    }
    for (int64_t o = raft_log_start_offset(n->r); o < raft_high_watermark(n->r); o++) {
      ck_assert_int_lt(o, COMMITTED_MAX);
      const struct raft_entry *e = raft_entry_at(n->r, o);
      if (!s->known[o]) {
        s->known[o] = true;
        s->committed[o] = *e;
        continue;
      }
      const struct raft_entry *c = &s->committed[o];
      ck_assert_msg(c->epoch == e->epoch && c->size == e->size &&
                        memcmp(c->payload, e->payload, e->size) == 0,
                    "%s: node %d committed offset %lld differently", h->file, id, (long long)o);
    }
  }
}

static void run_line(struct harness *h, const char *line) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", line);
  struct args a = {0};
  for (char *tok = strtok(buf, " "); tok && a.argc < 32; tok = strtok(NULL, " "))
    a.argv[a.argc++] = tok;
  run_command(h, &a);
  sb_reset(&h->out);
}

static uint64_t rnd(uint64_t *x, uint64_t n) {
  *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
  return *x % n;
}

static int32_t pick(struct harness *h, uint64_t *x, bool up) {
  int32_t ids[NODES_MAX], n = 0;
  for (int32_t id = 1; id <= NODES_MAX; id++)
    if (h->nodes[id].exists && h->nodes[id].up == up) ids[n++] = id;
  return n == 0 ? 0 : ids[rnd(x, (uint64_t)n)];
}

/* One random step: time, delivery, loss, partitions, crashes, proposals,
 * snapshots, slow disks, resignations. */
/* One random step: time, delivery, loss, partitions, crashes and restarts,
 * slow disks (manual persistence), proposals (mostly to the leader),
 * snapshots, resignations. Weights per mille. */
static void random_step(struct harness *h, uint64_t *x, int voters, int *down, int value) {
  enum {
    TICK_ONE = 250,
    TICK_ALL = 80,
    DELIVER = 280,
    DROP = 20,
    PROPOSE = 80,
    PARTITION = 20,
    HEAL = 30,
    CRASH = 40,
    RESTART = 50,
    SNAPSHOT = 15,
    DISK_MODE = 40,
    DISK_ACK = 60
  };
  char line[160];
  int32_t up = pick(h, x, true), dead = pick(h, x, false);
  int64_t dice = (int64_t)rnd(x, 1000);
  if (h->net_count > NET_MAX / 2) run_line(h, "stabilize");
  if ((dice -= TICK_ONE) < 0 && up) {
    snprintf(line, sizeof line, "tick node=%d ms=%d", up, 1 + (int)rnd(x, 300));
  } else if ((dice -= TICK_ALL) < 0) {
    snprintf(line, sizeof line, "tick ms=%d", 1 + (int)rnd(x, 300));
  } else if ((dice -= DELIVER) < 0) {
    snprintf(line, sizeof line, "deliver count=%d", 1 + (int)rnd(x, 6));
  } else if ((dice -= DROP) < 0) {
    snprintf(line, sizeof line, "drop from=%d", 1 + (int)rnd(x, (uint64_t)voters));
  } else if ((dice -= PROPOSE) < 0 && up) {
    for (int32_t id = 1; id <= voters && rnd(x, 4) != 0; id++) /* mostly the leader */
      if (h->nodes[id].up && raft_role(h->nodes[id].r) == RAFT_LEADER) up = id;
    snprintf(line, sizeof line, "propose node=%d value=v%d", up, value);
  } else if ((dice -= PARTITION) < 0) {
    snprintf(line, sizeof line, "partition %d | %d,%d", 1 + (int)rnd(x, 3),
             1 + (int)rnd(x, (uint64_t)voters), 1 + (int)rnd(x, (uint64_t)voters));
  } else if ((dice -= HEAL) < 0) {
    snprintf(line, sizeof line, "heal");
  } else if ((dice -= CRASH) < 0 && up && *down < (voters - 1) / 2) {
    snprintf(line, sizeof line, "crash node=%d", up);
    ++*down;
  } else if ((dice -= RESTART) < 0 && dead) {
    snprintf(line, sizeof line, "restart node=%d", dead);
    --*down;
  } else if ((dice -= SNAPSHOT) < 0 && up) {
    int64_t k = raft_snapshot_limit(h->nodes[up].r);
    if (k <= raft_log_start_offset(h->nodes[up].r)) return;
    snprintf(line, sizeof line, "snapshot node=%d offset=%lld", up, (long long)k);
  } else if ((dice -= DISK_MODE) < 0 && up) {
    snprintf(line, sizeof line, "persist node=%d mode=%s", up, rnd(x, 3) ? "manual" : "auto");
  } else if ((dice -= DISK_ACK) < 0 && up && h->nodes[up].pending) {
    snprintf(line, sizeof line, "persist node=%d", up);
  } else if (dice < 10 && up) {
    snprintf(line, sizeof line, "resign node=%d", up);
  } else {
    return;
  }
  run_line(h, line);
}

START_TEST(random_schedules_are_safe) {
  const int voters = _i % 2 ? 5 : 3;
  /* RAFT_RANDOM_SEEDS=N and RAFT_RANDOM_STEPS=M sweep more. */
  const char *env = getenv("RAFT_RANDOM_SEEDS");
  uint64_t seeds = env ? strtoull(env, NULL, 10) : 40;
  const char *env_steps = getenv("RAFT_RANDOM_STEPS");
  int steps = env_steps ? atoi(env_steps) : 600;
  for (uint64_t seed = 1; seed <= seeds; seed++) {
    struct harness *h = calloc(1, sizeof *h);
    struct safety *s = calloc(1, sizeof *s);
    ck_assert(h != NULL && s != NULL);
    h->net = calloc(NET_MAX, sizeof *h->net);
    char file[64];
    snprintf(file, sizeof file, "random schedule %d voters seed %llu", voters,
             (unsigned long long)seed);
    h->file = file;
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + (uint64_t)voters;
    char line[128];
    snprintf(line, sizeof line, "cluster voters=%s observers=6 seed=%llu fetch_max=%d",
             voters == 5 ? "1,2,3,4,5" : "1,2,3", (unsigned long long)seed,
             1 + (int)(seed % 8));
    run_line(h, line);
    int down = 0;
    for (int step = 0; step < steps; step++) {
      h->line = step;
      random_step(h, &x, voters, &down, step);
      check_safety(h, s);
    }
    /* Then the faults end: everyone is up, persists at once, and a fast
     * network runs for a while; a leader must emerge and commit. */
    for (int32_t id = 1; id <= NODES_MAX; id++) {
      struct node *n = &h->nodes[id];
      if (!n->exists) continue;
      if (!n->up) {
        snprintf(line, sizeof line, "restart node=%d", id);
        run_line(h, line);
      }
      snprintf(line, sizeof line, "persist node=%d mode=auto", id);
      run_line(h, line);
    }
    run_line(h, "heal");
    run_line(h, "run ms=20000");
    check_safety(h, s);
    int leaders = 0;
    int64_t hw = -1;
    for (int32_t id = 1; id <= voters; id++) {
      if (raft_role(h->nodes[id].r) != RAFT_LEADER) continue;
      leaders++;
      hw = raft_high_watermark(h->nodes[id].r);
    }
    if (getenv("RAFT_RANDOM_VERBOSE")) {
      int32_t max_epoch = 0;
      for (int32_t e = 0; e < EPOCHS_MAX; e++)
        if (s->leader_of_epoch[e]) max_epoch = e;
      fprintf(stderr, "%s: last epoch with a leader %d, high watermark %lld\n", file, max_epoch,
              (long long)hw);
    }
    ck_assert_msg(leaders == 1, "%s: %d leaders after the faults ended", file, leaders);
    for (int32_t id = 1; id <= voters; id++)
      ck_assert_msg(raft_high_watermark(h->nodes[id].r) == hw, "%s: node %d lags", file, id);
    harness_free(h);
    free(h);
    free(s);
  }
}
END_TEST

/* ---- the suite: one test per file ---- */

enum { FILES_MAX = 64 };
static char *case_files[FILES_MAX];
static int case_count;

/* ---- the in-memory log's growth ---- */

/* Hands every ready over and acknowledges its persist at once: a single
 * voter commits what it made durable. */
static void drain_single(struct raft *r, struct raft_ready *rd) {
  for (int i = 0; i < 64 && raft_has_ready(r); i++) {
    raft_ready(r, rd);
    if (rd->persist.seq) raft_persisted(r, &rd->persist);
  }
  ck_assert(!raft_has_ready(r));
}

static int64_t propose_offset(struct raft *r, int64_t tag) {
  char v[32];
  int n = snprintf(v, sizeof v, "v%lld", (long long)tag);
  return raft_propose(r, v, (uint32_t)n);
}

/* The ring starts inline (RAFT_LOG_ENTRIES_INITIAL) and doubles as the log
 * outgrows it, each entry still at its offset; at RAFT_LOG_ENTRIES_MAX the
 * leader refuses (one slot kept for a LeaderChange) until a snapshot trims
 * the log, and then appends again in the ring it has. */
START_TEST(the_log_grows_to_its_bound_then_refuses_until_a_snapshot) {
  struct raft_config cfg;
  raft_config_default(&cfg, 1);
  cfg.voters[0] = 1;
  cfg.voter_count = 1;
  struct raft *r = calloc(1, sizeof *r);
  struct raft_ready *rd = calloc(1, sizeof *rd);
  ck_assert(r != NULL && rd != NULL);
  raft_init(r, &cfg);
  raft_start(r, 0);
  for (int64_t now = 100; now <= 60000 && !raft_is_leader(r); now += 100) {
    raft_tick(r, now);
    drain_single(r, rd);
  }
  ck_assert(raft_is_leader(r));
  ck_assert_uint_eq(raft_log_capacity(r), RAFT_LOG_ENTRIES_INITIAL);
  int64_t first = raft_end_offset(r), accepted = 0;
  for (int64_t i = 0; i < RAFT_LOG_ENTRIES_MAX; i++) {
    int64_t o = propose_offset(r, first + i);
    if (o < 0) break;
    ck_assert_int_eq(o, first + i);
    accepted++;
    if (accepted % 512 == 0) drain_single(r, rd);
  }
  drain_single(r, rd);
  /* LeaderChange at 0, then records up to the bound less the kept slot. */
  ck_assert_int_eq(first + accepted, RAFT_LOG_ENTRIES_MAX - 1);
  ck_assert_uint_eq(raft_log_capacity(r), RAFT_LOG_ENTRIES_MAX);
  ck_assert_int_lt(propose_offset(r, -1), 0);
  for (int64_t o = first; o < first + accepted; o++) {
    char v[32];
    int n = snprintf(v, sizeof v, "v%lld", (long long)o);
    const struct raft_entry *e = raft_entry_at(r, o);
    ck_assert_int_eq(e->size, n);
    ck_assert(memcmp(e->payload, v, (size_t)n) == 0);
  }
  ck_assert_int_eq(raft_high_watermark(r), raft_end_offset(r));
  raft_snapshot_taken(r, raft_snapshot_limit(r) - 10, 100);
  drain_single(r, rd);
  int64_t end = raft_end_offset(r);
  ck_assert_int_eq(propose_offset(r, end), end);
  ck_assert_int_eq(raft_log_start_offset(r), RAFT_LOG_ENTRIES_MAX - 11);
  ck_assert_uint_eq(raft_log_capacity(r), RAFT_LOG_ENTRIES_MAX);
  raft_release(r);
  free(r);
  free(rd);
}
END_TEST

START_TEST(raft_case) {
  const char *rw = getenv("RAFT_REWRITE");
  run_file(case_files[_i], rw != NULL && strcmp(rw, "1") == 0);
}
END_TEST

START_TEST(raft_cases_found) { ck_assert_msg(case_count > 0, "no .txt file in tests/raft/"); }
END_TEST

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void find_cases(void) {
  DIR *d = opendir("tests/raft");
  if (d == NULL) return;
  for (struct dirent *e; (e = readdir(d)) != NULL && case_count < FILES_MAX;) {
    size_t n = strlen(e->d_name);
    if (n < 5 || strcmp(e->d_name + n - 4, ".txt") != 0) continue;
    char path[512];
    snprintf(path, sizeof path, "tests/raft/%s", e->d_name);
    case_files[case_count++] = strdup(path);
  }
  closedir(d);
  qsort(case_files, (size_t)case_count, sizeof case_files[0], by_name);
}

/* A broken invariant in the core names itself before the abort. */
static void report_panic(const char *file, int line, const char *what) {
  fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, what);
  fflush(stderr);
}

static Suite *raft_suite(void) {
  Suite *s = suite_create("raft");
  sl_panic_hook = report_panic;
  find_cases();
  TCase *found = tcase_create("files");
  tcase_add_test(found, raft_cases_found);
  suite_add_tcase(s, found);
  TCase *random = tcase_create("random schedules");
  tcase_set_timeout(random, 300);
  tcase_add_loop_test(random, random_schedules_are_safe, 0, 2);
  suite_add_tcase(s, random);
  TCase *grow = tcase_create("growth");
  tcase_set_timeout(grow, 120);
  tcase_add_test(grow, the_log_grows_to_its_bound_then_refuses_until_a_snapshot);
  suite_add_tcase(s, grow);
  for (int i = 0; i < case_count; i++) {
    /* One test case per file, named after it. */
    TCase *tc = tcase_create(case_files[i] + strlen("tests/raft/"));
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, raft_case, i, i + 1);
    suite_add_tcase(s, tc);
  }
  return s;
}

TEST_MAIN(raft_suite)
