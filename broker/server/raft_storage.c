/* The Raft subsystem's storage (KIP-595): the quorum-state file and the
 * metadata log, __cluster_metadata-0 under metadata.log.dir (else log.dirs).
 *
 * A persist the core hands out is carried out in its order: the quorum
 * state is written to quorum-state.tmp, fsynced and renamed over
 * quorum-state (log/atomic_file.h) before anything of the log changes, so
 * the log never holds an epoch the durable state has not reached; then the
 * truncation, the appends, and an fsync of the log; only then does the core
 * hear raft_persisted, which releases the messages that waited for it.
 *
 * The batches of a persist are encoded when it is handed out (the core may
 * truncate and take new entries while the state file is being written), from
 * the batch cache: the leader's own entries are encoded once, the first time
 * a persist or a fetch response needs them, so its log and its followers'
 * hold the same bytes; a follower's are the leader's bytes, kept from the
 * FetchResponse. At start the log is read back into the core and the cache. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "log/atomic_file.h"
#include "meta/records.h"
#include "server/quorum_state.h"
#include "server/raft_node.h"
#include "server/server.h"

enum { READ_BYTES_MAX = 1 << 20 };

/* ---- the batch cache ---- */

static uint32_t cache_capacity(const struct raft_node *rn) {
  return rn->cache_grown != NULL ? rn->cache_capacity : RAFT_LOG_ENTRIES_INITIAL;
}

static struct raft_cached_batch *slot_of(struct raft_node *rn, int64_t offset) {
  ASSERT(offset >= 0);
  struct raft_cached_batch *ring = rn->cache_grown != NULL ? rn->cache_grown : rn->cache;
  return &ring[offset % cache_capacity(rn)];
}

/* Makes room for the batches of [start, end) (the core's log, or the
 * entries read back at start), doubling as the core's ring does; the
 * batches of that window keep their bytes. */
static void cache_reserve(struct raft_node *rn, int64_t start, int64_t end) {
  ASSERT(start >= 0 && start <= end && end - start <= RAFT_LOG_ENTRIES_MAX);
  uint32_t cap = cache_capacity(rn), next = cap;
  while (next < end - start && next < RAFT_LOG_ENTRIES_MAX) next *= 2;
  if (next == cap) return;
  struct raft_cached_batch *ring = calloc(next, sizeof *ring);
  ASSERT(ring != NULL);
  for (uint32_t i = 0; i < next; i++) ring[i].offset = -1;
  for (uint32_t i = 0; i < cap; i++) {
    const struct raft_cached_batch *b = rn->cache_grown ? &rn->cache_grown[i] : &rn->cache[i];
    if (b->offset >= start && b->offset < start + next) ring[b->offset % next] = *b;
  }
  free(rn->cache_grown);
  rn->cache_grown = ring;
  rn->cache_capacity = next;
}

static void cache_reserve_core(struct raft_node *rn) {
  cache_reserve(rn, raft_log_start_offset(&rn->core), raft_end_offset(&rn->core));
}

static void slot_fill(struct raft_cached_batch *slot, int64_t offset, int32_t epoch,
                      const uint8_t *bytes, size_t size) {
  ASSERT(size > 0 && size <= RAFT_BATCH_BYTES_MAX);
  slot->offset = offset;
  slot->epoch = epoch;
  slot->size = (uint16_t)size;
  memcpy(slot->bytes, bytes, size);
}

const struct raft_cached_batch *raft_storage_batch(struct raft_node *rn, int64_t offset) {
  const struct raft_entry *e = raft_entry_at(&rn->core, offset);
  cache_reserve_core(rn);
  struct raft_cached_batch *slot = slot_of(rn, offset);
  if (slot->offset == offset && slot->epoch == e->epoch) return slot;
  struct buf b;
  buf_init(&b);
  raft_records_encode(e, offset, rn->env->wall_ms(rn->env), rn->voters, rn->voter_count, &b);
  slot_fill(slot, offset, e->epoch, b.data, b.len);
  buf_free(&b);
  return slot;
}

void raft_storage_keep(struct raft_node *rn, int64_t offset, int32_t epoch,
                       const struct raft_batch_span *span) {
  ASSERT(raft_entry_at(&rn->core, offset)->epoch == epoch);
  cache_reserve_core(rn);
  slot_fill(slot_of(rn, offset), offset, epoch, span->bytes, span->size);
}

/* ---- restoring the core at start ---- */

static int read_state(struct raft_node *rn, struct raft_quorum_state *state, bool *found) {
  struct buf text;
  buf_init(&text);
  int rc = atomic_file_read(rn->env, rn->state_path, &text);
  *found = rc == 0;
  if (rc == 0 && !quorum_state_parse((const char *)text.data, text.len, state)) {
    env_log(rn->env, ENV_LOG_ERROR, "raft: %s is not a quorum-state file", rn->state_path);
    rc = ENV_EINVAL;
  }
  buf_free(&text);
  return rc == ENV_ENOENT ? 0 : rc;
}

struct restored {
  int64_t start;              /* the snapshot's end offset: entries[0]'s offset */
  struct raft_entry *entries; /* [RAFT_LOG_ENTRIES_MAX] */
  struct raft_batch_span *spans;
  uint32_t count;
};

/* The batches at offset (whole ones, from the log) into r and the cache. */
static int read_batches(struct raft_node *rn, int64_t offset, struct restored *r) {
  ASSERT(offset == r->start + r->count);
  struct plog_read_result res;
  int rc = plog_read(rn->log, offset, READ_BYTES_MAX, true, INT64_MAX, &res);
  if (rc != 0) return rc < 0 ? rc : ENV_EIO;
  uint8_t *bytes = malloc(res.len ? res.len : 1);
  ASSERT(bytes != NULL);
  int64_t got = rn->env->pread(rn->env, res.file, bytes, res.len, res.file_offset);
  uint32_t room = RAFT_LOG_ENTRIES_MAX - 1 - r->count; /* one slot for a LeaderChange */
  enum raft_records_stop stop = RAFT_RECORDS_END;
  int64_t base = -1;
  uint32_t n = 0;
  if (got == (int64_t)res.len)
    n = raft_records_decode(bytes, res.len, room, &r->entries[r->count], &r->spans[r->count],
                            &base, &stop);
  if (got != (int64_t)res.len) {
    rc = got < 0 ? (int)got : ENV_EIO;
  } else if (n == 0 || base != offset || stop != RAFT_RECORDS_END) {
    env_log(rn->env, ENV_LOG_ERROR, "raft: the metadata log at offset %lld holds %s",
            (long long)offset,
            n == room ? "more entries above the snapshot than the core keeps"
                      : raft_records_stop_name(stop));
    rc = ENV_EINVAL;
  }
  if (rc == 0) cache_reserve(rn, r->start, offset + n);
  for (uint32_t i = 0; rc == 0 && i < n; i++)
    slot_fill(slot_of(rn, offset + i), offset + i, r->entries[r->count + i].epoch,
              r->spans[r->count + i].bytes, r->spans[r->count + i].size);
  if (rc == 0) r->count += n;
  free(bytes);
  return rc;
}

/* The entries above the snapshot (the log may hold older ones, kept for
 * the snapshot before it: raft_snapshot.c). */
static int read_log(struct raft_node *rn, struct restored *r) {
  ASSERT(plog_start_offset(rn->log) <= r->start && plog_end_offset(rn->log) >= r->start);
  int64_t end = plog_end_offset(rn->log);
  int rc = 0;
  for (int rounds = 0; rc == 0 && r->start + r->count < end && rounds < RAFT_LOG_ENTRIES_MAX;
       rounds++)
    rc = read_batches(rn, r->start + r->count, r);
  ASSERT(rc != 0 || r->start + r->count == end);
  return rc;
}

/* A voter id from the file, or -1 when it names no voter. */
static int32_t voter_or_none(const struct raft_node *rn, int32_t id) {
  for (uint32_t i = 0; i < rn->voter_count; i++)
    if (rn->voters[i] == id) return id;
  return RAFT_NO_NODE;
}

/* KIP-595: the durable state is never behind the log's last epoch (it is
 * written first); a state file that is (lost, or older) gives way to the
 * log's epoch with no vote and no leader, as Kafka's QuorumState does. */
static void restore(struct raft_node *rn, struct raft_quorum_state state, bool found,
                    struct raft_snapshot_id snapshot, int64_t snapshot_bytes,
                    const struct restored *r) {
  ASSERT(r->start == snapshot.end_offset);
  int32_t last_epoch = r->count ? r->entries[r->count - 1].epoch : snapshot.epoch;
  if (!found) state = (struct raft_quorum_state){last_epoch, RAFT_NO_NODE, RAFT_NO_NODE};
  if (state.leader_epoch < last_epoch) {
    env_log(rn->env, ENV_LOG_WARN,
            "raft: quorum-state epoch %d is behind the log's %d: unattached in epoch %d",
            state.leader_epoch, last_epoch, last_epoch);
    state = (struct raft_quorum_state){last_epoch, RAFT_NO_NODE, RAFT_NO_NODE};
  }
  state.voted_id = rn->core.voter ? voter_or_none(rn, state.voted_id) : RAFT_NO_NODE;
  state.leader_id = voter_or_none(rn, state.leader_id);
  raft_restore_state(&rn->core, &state);
  if (snapshot.end_offset > 0) raft_restore_snapshot(&rn->core, snapshot, snapshot_bytes);
  for (uint32_t i = 0; i < r->count; i++) raft_restore_entry(&rn->core, &r->entries[i]);
  ASSERT(raft_end_offset(&rn->core) == r->start + (int64_t)r->count);
  env_log(rn->env, ENV_LOG_INFO,
          "raft: restored epoch %d (voted %d, leader %d), snapshot %lld-%d and %u entries "
          "above it from %s",
          state.leader_epoch, state.voted_id, state.leader_id, (long long)snapshot.end_offset,
          snapshot.epoch, r->count, rn->dir);
}

static void log_config_of(const struct config *cfg, struct log_config *lc) {
  memset(lc, 0, sizeof *lc);
  lc->segment_bytes = cfg->log_segment_bytes < INT32_MAX ? cfg->log_segment_bytes : INT32_MAX;
  lc->roll_ms = config_roll_ms(cfg);
  lc->retention_ms = -1; /* the metadata log is trimmed by snapshots, not retention */
  lc->retention_bytes = -1;
  lc->index_interval_bytes = cfg->log_index_interval_bytes;
  lc->index_bytes_max = cfg->log_index_size_max_bytes;
}

int raft_storage_open(struct raft_node *rn) {
  struct env *env = rn->env;
  const struct config *cfg = &rn->node->cfg;
  const char *mdir = config_metadata_log_dir(cfg);
  int rc = env->mkdir(env, mdir);
  if (rc != 0 && rc != ENV_EEXIST) {
    env_log(env, ENV_LOG_ERROR, "raft: cannot create %s: error %d", mdir, rc);
    return rc;
  }
  str_fmt(rn->dir, sizeof rn->dir, "%s/%s-%d", mdir, META_LOG_TOPIC, META_LOG_PARTITION);
  str_fmt(rn->state_path, sizeof rn->state_path, "%s/%s", rn->dir, QUORUM_STATE_FILE);
  for (int i = 0; i < RAFT_LOG_ENTRIES_INITIAL; i++) rn->cache[i].offset = -1;
  buf_init(&rn->persist_batches);
  buf_init(&rn->snap.chunk);
  struct log_config lc;
  log_config_of(cfg, &lc);
  rc = plog_open(env, rn->dir, &lc, 0, 0, &rn->log);
  if (rc != 0) {
    env_log(env, ENV_LOG_ERROR, "raft: cannot open the metadata log %s: error %d", rn->dir, rc);
    return rc;
  }
  struct raft_quorum_state state;
  bool found = false;
  struct raft_snapshot_id snapshot = {0, 0};
  int64_t snapshot_bytes = 0;
  rc = raft_snapshot_open(rn, &snapshot, &snapshot_bytes);
  /* Not zeroed: decode_one clears each entry it fills, and only entries
   * below count are looked at (zeroing megabytes per start cost more than
   * the restore). */
  struct restored r = {snapshot.end_offset, malloc(RAFT_LOG_ENTRIES_MAX * sizeof *r.entries),
                       malloc(RAFT_LOG_ENTRIES_MAX * sizeof *r.spans), 0};
  ASSERT(r.entries != NULL && r.spans != NULL);
  if (rc == 0) rc = read_state(rn, &state, &found);
  if (rc == 0) rc = read_log(rn, &r);
  if (rc == 0) restore(rn, state, found, snapshot, snapshot_bytes, &r);
  free(r.entries);
  free(r.spans);
  return rc;
}

/* ---- persisting ---- */

static void log_flushed(void *ctx, int err) {
  struct raft_node *rn = ctx;
  ASSERT(rn->phase == RAFT_PERSIST_LOG);
  rn->phase = RAFT_PERSIST_IDLE;
  raft_node_persisted(rn, err);
}

static void log_failed(struct raft_node *rn, int err) {
  ASSERT(err != 0);
  rn->phase = RAFT_PERSIST_IDLE;
  raft_node_persisted(rn, err);
}

/* The persist's batches, in appends of at most a segment's bytes (a larger
 * one is refused, as Kafka refuses a batch larger than segment.bytes): a
 * persist may hold up to RAFT_LOG_ENTRIES_MAX batches. */
static int append_batches(struct raft_node *rn) {
  const uint8_t *p = rn->persist_batches.data;
  size_t len = rn->persist_batches.len, at = 0;
  int64_t segment_bytes = rn->node->cfg.log_segment_bytes;
  for (int n = 0; at < len && n < RAFT_LOG_ENTRIES_MAX; n++) {
    size_t piece = 0;
    while (at + piece + 12 <= len) { /* whole batches: baseOffset, then length */
      const uint8_t *b = p + at + piece;
      size_t size = 12 + ((size_t)b[8] << 24 | (size_t)b[9] << 16 | (size_t)b[10] << 8 | b[11]);
      ASSERT(at + piece + size <= len);
      if (piece > 0 && (int64_t)(piece + size) > segment_bytes) break;
      piece += size;
    }
    struct plog_append_info info;
    int rc = plog_append_replica(rn->log, p + at, piece, rn->env->wall_ms(rn->env), &info);
    if (rc != 0) return rc;
    at += piece;
  }
  ASSERT(at == len);
  return 0;
}

/* The truncation and the appends, then an fsync of the log. */
static void log_write(struct raft_node *rn) {
  const struct raft_persist *p = &rn->persist;
  rn->phase = RAFT_PERSIST_LOG;
  if (p->truncate_to >= 0 && p->truncate_to < plog_end_offset(rn->log)) {
    int64_t end;
    int rc = plog_truncate_to(rn->log, p->truncate_to, &end);
    if (rc != 0) {
      log_failed(rn, rc);
      return;
    }
    ASSERT(end == p->truncate_to); /* one entry per batch: the cut is exact */
  }
  if (rn->persist_batches.len > 0) {
    ASSERT(plog_end_offset(rn->log) == p->append_start);
    int rc = append_batches(rn);
    if (rc != 0) {
      log_failed(rn, rc);
      return;
    }
    ASSERT(plog_end_offset(rn->log) == p->append_end);
  }
  plog_flush(rn->log, log_flushed, rn);
}

static void snapshot_installed(struct raft_node *rn, int err) {
  ASSERT(rn->phase == RAFT_PERSIST_SNAPSHOT);
  if (err != 0) {
    log_failed(rn, err);
    return;
  }
  log_write(rn);
}

/* A fetched snapshot (raft_snapshot.c) before the log, which it empties. */
static void snapshot_then_log(struct raft_node *rn) {
  if (!rn->persist.has_snapshot) {
    log_write(rn);
    return;
  }
  rn->phase = RAFT_PERSIST_SNAPSHOT;
  int rc = raft_snapshot_install(rn, rn->persist.snapshot, snapshot_installed);
  if (rc != 0) log_failed(rn, rc);
}

static void state_written(void *ctx, int err) {
  struct raft_node *rn = ctx;
  ASSERT(rn->phase == RAFT_PERSIST_STATE);
  if (err != 0) {
    log_failed(rn, err);
    return;
  }
  snapshot_then_log(rn);
}

void raft_storage_persist(struct raft_node *rn, const struct raft_persist *p) {
  ASSERT(rn->phase == RAFT_PERSIST_IDLE && p->seq > 0);
  ASSERT(p->append_start <= p->append_end);
  rn->persist = *p;
  rn->stats.persists++;
  buf_reset(&rn->persist_batches);
  for (int64_t o = p->append_start; o < p->append_end; o++) {
    const struct raft_cached_batch *b = raft_storage_batch(rn, o);
    buf_append(&rn->persist_batches, b->bytes, b->size);
  }
  if (!p->has_state) {
    snapshot_then_log(rn);
    return;
  }
  char text[QUORUM_STATE_FILE_BYTES_MAX];
  size_t n = quorum_state_format(&p->state, rn->voters, rn->voter_count, text, sizeof text);
  ASSERT(n > 0);
  rn->phase = RAFT_PERSIST_STATE;
  int rc = atomic_file_write(rn->env, rn->state_path, text, n, state_written, rn);
  if (rc != 0) log_failed(rn, rc);
}

void raft_storage_close(struct raft_node *rn) {
  raft_snapshot_close(rn);
  if (rn->log) plog_close(rn->log);
  rn->log = NULL;
  buf_free(&rn->persist_batches);
  free(rn->cache_grown);
  rn->cache_grown = NULL;
}
