/* Snapshots of the metadata log in a node (KIP-630, which KIP-595 relies
 * on): taken from the state machine's applied image, read back at start,
 * served to followers in chunks, fetched and installed from the leader.
 *
 * Files, in __cluster_metadata-0 beside the segments (Kafka's names):
 *   <end offset, 20 digits>-<epoch, 10 digits>.checkpoint       a snapshot
 *   <end offset, 20 digits>-<epoch, 10 digits>.checkpoint.part  being written
 * A snapshot is written whole as .part, fsynced, renamed and the directory
 * synced before the core hears of it (raft_snapshot_taken), so a
 * .checkpoint file is never torn by a crash; a .part file found at start
 * is a write that never finished and is deleted.
 *
 * When (Kafka: metadata.log.max.record.bytes.between.snapshots, 20 MiB,
 * and metadata.log.max.snapshot.interval.ms, 1 h): after every drain, once
 * the fsm's applied image lies above the last snapshot by
 * RAFT_SNAPSHOT_ENTRIES entries, or by that many bytes of batches, or that
 * long after the last one. The entry bound keeps the core's in-memory log
 * (RAFT_LOG_ENTRIES_MAX) from filling while the fsm keeps up. The image's
 * end offset must be at most raft_snapshot_limit (committed and durable
 * here); else the snapshot waits for the log.
 *
 * What stays: the latest RAFT_SNAPSHOTS_KEPT snapshots (Kafka keeps the
 * latest few), and the log from the oldest of them, so that when the latest
 * turns out invalid at start the one before it, followed by the log, still
 * rebuilds the same state. The core keeps only the entries above the
 * latest. A snapshot installed from the leader replaces them all: the log
 * is emptied at its end. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "log/atomic_file.h"
#include "meta/codec.h"
#include "meta/image.h"
#include "meta/snapshot.h"
#include "server/raft_node.h"
#include "server/server.h"

enum {
  PATH_BYTES = RAFT_NODE_PATH_BYTES + META_SNAPSHOT_NAME_BYTES + 8,
  BATCH_EPOCH_AT = 12,         /* partitionLeaderEpoch in a batch header */
  BATCH_MAX_TIMESTAMP_AT = 35, /* maxTimestamp */
  BATCH_HEADER_BYTES = 61,
};

static const char part_suffix[] = ".part";

static int64_t now_ms(const struct raft_node *rn) {
  return (int64_t)(rn->env->now_ns(rn->env) / NS_PER_MS);
}

static bool is_none(struct raft_snapshot_id id) { return id.end_offset <= 0; }

static bool same_id(struct raft_snapshot_id a, struct raft_snapshot_id b) {
  return a.end_offset == b.end_offset && a.epoch == b.epoch;
}

static struct meta_snapshot_id meta_id(struct raft_snapshot_id id) {
  return (struct meta_snapshot_id){id.end_offset, id.epoch};
}

static void path_of(const struct raft_node *rn, struct raft_snapshot_id id, bool part,
                    char *out) {
  char name[META_SNAPSHOT_NAME_BYTES];
  meta_snapshot_name(meta_id(id), name, sizeof name);
  size_t n = str_fmt(out, PATH_BYTES, "%s/%s%s", rn->dir, name, part ? part_suffix : "");
  ASSERT(n < PATH_BYTES);
}

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p) {
  return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* ---- the list of snapshots on disk ---- */

/* Adds id in order of end offset (a newer one with the same end replaces). */
static void list_add(struct raft_node_snapshots *s, struct raft_snapshot_id id) {
  ASSERT(s->count < RAFT_SNAPSHOTS_KEPT + 1);
  uint32_t i = 0;
  while (i < s->count && s->ids[i].end_offset < id.end_offset) i++;
  if (i < s->count && s->ids[i].end_offset == id.end_offset) {
    s->ids[i] = id;
    return;
  }
  memmove(&s->ids[i + 1], &s->ids[i], (s->count - i) * sizeof s->ids[0]);
  s->ids[i] = id;
  s->count++;
}

static void delete_file(struct raft_node *rn, struct raft_snapshot_id id, bool part) {
  char path[PATH_BYTES];
  path_of(rn, id, part, path);
  int rc = rn->env->unlink(rn->env, path);
  if (rc != 0 && rc != ENV_ENOENT)
    env_log(rn->env, ENV_LOG_WARN, "raft: could not delete %s: error %d", path, rc);
}

/* Keeps the newest `keep`, deleting the files of the others. */
static void list_trim(struct raft_node *rn, uint32_t keep) {
  struct raft_node_snapshots *s = &rn->snap;
  if (s->count <= keep) return;
  uint32_t drop = s->count - keep;
  for (uint32_t i = 0; i < drop; i++) delete_file(rn, s->ids[i], false);
  memmove(&s->ids[0], &s->ids[drop], keep * sizeof s->ids[0]);
  s->count = keep;
  rn->env->dir_sync(rn->env, rn->dir); /* best effort: a leftover is deleted again */
}

/* ---- opening: choosing the snapshot the log continues ---- */

struct found {
  struct raft_snapshot_id ids[RAFT_SNAPSHOT_FILES_MAX];
  uint32_t count;
  struct raft_snapshot_id parts[RAFT_SNAPSHOT_FILES_MAX];
  uint32_t part_count;
  uint32_t ignored;
};

static void collect(void *ctx, const char *name, bool is_dir) {
  struct found *f = ctx;
  struct meta_snapshot_id id;
  char whole[META_SNAPSHOT_NAME_BYTES];
  size_t len = strlen(name);
  if (is_dir) return;
  if (meta_snapshot_parse_name(name, &id)) {
    if (f->count < RAFT_SNAPSHOT_FILES_MAX)
      f->ids[f->count++] = (struct raft_snapshot_id){id.end_offset, id.epoch};
    else
      f->ignored++;
    return;
  }
  size_t plen = sizeof part_suffix - 1;
  if (len <= plen || len - plen >= sizeof whole || strcmp(name + len - plen, part_suffix) != 0)
    return;
  memcpy(whole, name, len - plen);
  whole[len - plen] = '\0';
  if (!meta_snapshot_parse_name(whole, &id)) return;
  if (f->part_count < RAFT_SNAPSHOT_FILES_MAX)
    f->parts[f->part_count++] = (struct raft_snapshot_id){id.end_offset, id.epoch};
}

static int cmp_id(const void *a, const void *b) {
  const struct raft_snapshot_id *x = a, *y = b;
  if (x->end_offset != y->end_offset) return x->end_offset < y->end_offset ? -1 : 1;
  return x->epoch < y->epoch ? -1 : x->epoch > y->epoch;
}

/* The leader epoch of the log's batch at offset (one entry per batch). */
static int log_epoch_at(struct raft_node *rn, int64_t offset, int32_t *epoch) {
  struct plog_read_result res;
  int rc = plog_read(rn->log, offset, BATCH_HEADER_BYTES, true, INT64_MAX, &res);
  if (rc != 0) return rc < 0 ? rc : ENV_EIO;
  uint8_t h[BATCH_EPOCH_AT + 4];
  if (res.first_offset != offset || res.len < sizeof h) return ENV_EINVAL;
  int64_t n = rn->env->pread(rn->env, res.file, h, sizeof h, res.file_offset);
  if (n != (int64_t)sizeof h) return n < 0 ? (int)n : ENV_EIO;
  *epoch = (int32_t)be32(h + BATCH_EPOCH_AT);
  return 0;
}

/* Reads snapshot id whole (at most ATOMIC_FILE_BYTES_MAX) into an image:
 * 0, or the error; *unread: the file could not be read (a disk error, or
 * too large), as opposed to read and found invalid. */
static int load(struct raft_node *rn, struct raft_snapshot_id id, bool part,
                struct meta_image **image, int64_t *size_bytes, bool *unread) {
  char path[PATH_BYTES];
  path_of(rn, id, part, path);
  struct buf bytes;
  buf_init(&bytes);
  int rc = atomic_file_read(rn->env, path, &bytes);
  *unread = rc != 0;
  if (rc == 0)
    rc = meta_snapshot_read(bytes.data, bytes.len, meta_id(id), rn->node->cluster_id, image,
                            NULL);
  *size_bytes = (int64_t)bytes.len;
  buf_free(&bytes);
  return rc;
}

/* Whether the log continues snapshot id: it holds no entry at id's end - 1
 * or one of id's epoch, and it reaches id's end. Else it is emptied there
 * (an install that had not emptied it yet, or a tail lost). */
static int fit_log(struct raft_node *rn, struct raft_snapshot_id id) {
  int64_t start = plog_start_offset(rn->log), end = plog_end_offset(rn->log);
  bool reaches = end >= id.end_offset;
  int32_t epoch = id.epoch;
  if (reaches && start <= id.end_offset - 1) {
    int rc = log_epoch_at(rn, id.end_offset - 1, &epoch);
    if (rc != 0) return rc;
  }
  if (reaches && epoch == id.epoch) return 0;
  env_log(rn->env, ENV_LOG_WARN,
          "raft: the metadata log (%lld to %lld) does not continue snapshot %lld-%d: emptied "
          "at its end",
          (long long)start, (long long)end, (long long)id.end_offset, id.epoch);
  return plog_truncate_fully(rn->log, id.end_offset);
}

int raft_snapshot_open(struct raft_node *rn, struct raft_snapshot_id *id, int64_t *size_bytes) {
  struct raft_node_snapshots *s = &rn->snap;
  *id = (struct raft_snapshot_id){0, 0};
  *size_bytes = 0;
  struct found *f = calloc(1, sizeof *f);
  ASSERT(f != NULL);
  int rc = rn->env->list(rn->env, rn->dir, collect, f);
  for (uint32_t i = 0; rc == 0 && i < f->part_count; i++) delete_file(rn, f->parts[i], true);
  if (f->ignored > 0)
    env_log(rn->env, ENV_LOG_WARN, "raft: %u snapshot files past the first %d ignored",
            f->ignored, RAFT_SNAPSHOT_FILES_MAX);
  qsort(f->ids, f->count, sizeof f->ids[0], cmp_id);
  int64_t log_start = plog_start_offset(rn->log);
  /* Newest first; one the log starts after cannot be continued by it. */
  for (uint32_t k = f->count; rc == 0 && k-- > 0 && is_none(*id);) {
    struct raft_snapshot_id c = f->ids[k];
    if (c.end_offset < log_start) break;
    struct meta_image *image = NULL;
    int64_t size = 0;
    bool unread = false;
    int lrc = load(rn, c, false, &image, &size, &unread);
    if (lrc != 0 && unread) { /* kept: only a file read and found bad is deleted */
      env_log(rn->env, ENV_LOG_ERROR, "raft: cannot read snapshot %lld-%d: error %d",
              (long long)c.end_offset, c.epoch, lrc);
      rc = lrc;
    } else if (lrc != 0) {
      env_log(rn->env, ENV_LOG_WARN,
              "raft: snapshot %lld-%d is invalid (%s, error %d): deleted, trying the one "
              "before it",
              (long long)c.end_offset, c.epoch, meta_codec_strerror(lrc), lrc);
      delete_file(rn, c, false);
      s->invalid_deleted++;
      f->ids[k] = (struct raft_snapshot_id){0, 0};
    } else {
      *id = c;
      *size_bytes = size;
      s->restored = image;
    }
  }
  /* The chosen one and the newest before it are kept; older ones (a trim
   * a crash interrupted) go. */
  for (uint32_t k = f->count; rc == 0 && k-- > 0;) {
    struct raft_snapshot_id c = f->ids[k];
    if (is_none(c) || (!is_none(*id) && c.end_offset > id->end_offset)) continue;
    if (s->count < RAFT_SNAPSHOTS_KEPT)
      list_add(s, c);
    else
      delete_file(rn, c, false);
  }
  if (rc == 0 && is_none(*id) && log_start > 0) {
    env_log(rn->env, ENV_LOG_ERROR,
            "raft: the metadata log %s starts at %lld and no valid snapshot covers the "
            "offsets below it: restore a snapshot file or empty the directory",
            rn->dir, (long long)log_start);
    rc = ENV_EINVAL;
  }
  if (rc == 0 && !is_none(*id)) rc = fit_log(rn, *id);
  s->last_taken_ms = now_ms(rn); /* metadata.log.max.snapshot.interval.ms counts from here */
  free(f);
  return rc;
}

/* ---- the fsm ---- */

void raft_node_set_fsm(struct node *node, const struct raft_node_fsm *fsm) {
  struct raft_node *rn = node->raft;
  if (rn == NULL) return;
  struct raft_node_snapshots *s = &rn->snap;
  s->has_fsm = fsm != NULL;
  if (fsm == NULL) return;
  ASSERT(fsm->applied_image != NULL && fsm->restore != NULL);
  s->fsm = *fsm;
  if (s->restored == NULL) return;
  struct meta_image *image = s->restored;
  s->restored = NULL;
  s->fsm.restore(s->fsm.ctx, image);
  meta_image_unref(image);
}

bool raft_node_has_fsm(const struct node *node) {
  return node->raft != NULL && node->raft->snap.has_fsm;
}

/* Hands image to the fsm, or keeps it for the one set later. */
static void hand_over(struct raft_node *rn, struct meta_image *image) {
  struct raft_node_snapshots *s = &rn->snap;
  if (s->restored != NULL) meta_image_unref(s->restored);
  s->restored = NULL;
  if (!s->has_fsm) {
    s->restored = image;
    return;
  }
  s->fsm.restore(s->fsm.ctx, image);
  meta_image_unref(image);
}

/* ---- taking a snapshot ---- */

struct raft_snapshot_write {
  struct raft_node *rn; /* NULL: the node went away, only the file is left to close */
  struct env *env;
  env_file file;
  struct raft_snapshot_id id;
  int64_t size_bytes;
};

/* The bytes of the batches in [bytes_counted_end, end), added up once each. */
static int64_t bytes_since(struct raft_node *rn, int64_t end) {
  struct raft_node_snapshots *s = &rn->snap;
  int64_t start = raft_log_start_offset(&rn->core);
  if (s->bytes_counted_end < start) {
    s->bytes_counted_end = start;
    s->bytes_since = 0;
  }
  for (int64_t o = s->bytes_counted_end; o < end; o++)
    s->bytes_since += raft_storage_batch(rn, o)->size;
  if (end > s->bytes_counted_end) s->bytes_counted_end = end;
  return s->bytes_since;
}

static bool due(struct raft_node *rn, int64_t end) {
  const struct config *cfg = &rn->node->cfg;
  int64_t start = raft_log_start_offset(&rn->core);
  if (end - start >= RAFT_SNAPSHOT_ENTRIES) return true;
  if (bytes_since(rn, end) >= cfg->metadata_log_max_record_bytes_between_snapshots) return true;
  int64_t interval_ms = cfg->metadata_log_max_snapshot_interval_ms;
  return interval_ms > 0 && now_ms(rn) - rn->snap.last_taken_ms >= interval_ms;
}

static void write_free(struct raft_snapshot_write *w) {
  w->rn = NULL;
  free(w);
}

/* The snapshot is durable: the core drops the entries below it, the log
 * keeps what the oldest kept snapshot needs, older files go. */
static void taken(struct raft_node *rn, struct raft_snapshot_id id, int64_t size_bytes) {
  struct raft_node_snapshots *s = &rn->snap;
  s->last_taken_ms = now_ms(rn);
  if (id.end_offset <= raft_log_start_offset(&rn->core)) {
    delete_file(rn, id, false); /* an installed snapshot overtook it */
    return;
  }
  ASSERT(id.end_offset <= raft_snapshot_limit(&rn->core));
  ASSERT(raft_entry_at(&rn->core, id.end_offset - 1)->epoch == id.epoch);
  raft_snapshot_taken(&rn->core, id.end_offset, size_bytes);
  s->taken++;
  list_add(s, id);
  list_trim(rn, RAFT_SNAPSHOTS_KEPT);
  int64_t keep_from = s->count >= RAFT_SNAPSHOTS_KEPT ? s->ids[0].end_offset : 0;
  if (keep_from > plog_start_offset(rn->log)) plog_set_start_offset(rn->log, keep_from);
  env_log(rn->env, ENV_LOG_INFO,
          "raft: snapshot %lld-%d taken (%lld bytes); the log starts at %lld",
          (long long)id.end_offset, id.epoch, (long long)size_bytes,
          (long long)plog_start_offset(rn->log));
}

static void write_synced(void *ctx, int err) {
  struct raft_snapshot_write *w = ctx;
  struct raft_node *rn = w->rn;
  struct env *env = w->env;
  env->file_close(env, w->file);
  if (rn == NULL) { /* the node is gone: the .part is deleted at the next start */
    write_free(w);
    return;
  }
  rn->snap.writing = NULL;
  char part[PATH_BYTES], path[PATH_BYTES];
  path_of(rn, w->id, true, part);
  path_of(rn, w->id, false, path);
  if (err == 0) err = env->rename(env, part, path);
  if (err == 0) err = env->dir_sync(env, rn->dir);
  struct raft_snapshot_id id = w->id;
  int64_t size_bytes = w->size_bytes;
  write_free(w);
  if (err != 0) {
    env->unlink(env, part);
    raft_node_fail(rn, "writing a snapshot of the metadata", err);
    return;
  }
  if (rn->state != RAFT_NODE_RUNNING) return; /* durable; used at the next start */
  taken(rn, id, size_bytes);
}

/* The last record's append timestamp (the batch's maxTimestamp), for the
 * SnapshotHeaderRecord's LastContainedLogTimestamp. */
static int64_t last_timestamp(struct raft_node *rn, int64_t offset) {
  const struct raft_cached_batch *b = raft_storage_batch(rn, offset);
  ASSERT(b->size >= BATCH_HEADER_BYTES);
  return be64(b->bytes + BATCH_MAX_TIMESTAMP_AT);
}

static void take(struct raft_node *rn, const struct meta_image *image) {
  int64_t end = image->offset + 1;
  int32_t epoch = raft_entry_at(&rn->core, end - 1)->epoch;
  struct meta_snapshot_opts opts = {.epoch = epoch,
                                    .timestamp_ms = rn->env->wall_ms(rn->env),
                                    .last_contained_log_timestamp =
                                        last_timestamp(rn, end - 1)};
  struct buf bytes;
  buf_init(&bytes);
  int rc = meta_snapshot_write(image, &opts, &bytes);
  struct raft_snapshot_write *w = calloc(1, sizeof *w);
  ASSERT(w != NULL);
  *w = (struct raft_snapshot_write){rn, rn->env, -1, {end, epoch}, (int64_t)bytes.len};
  char part[PATH_BYTES];
  path_of(rn, w->id, true, part);
  if (rc == 0) rc = rn->env->open(rn->env, part, ENV_O_CREATE | ENV_O_TRUNC, &w->file);
  if (rc == 0) {
    int64_t n = rn->env->pwrite(rn->env, w->file, bytes.data, bytes.len, 0);
    if (n != (int64_t)bytes.len) rc = n < 0 ? (int)n : ENV_EIO;
    if (rc != 0) rn->env->file_close(rn->env, w->file);
  }
  buf_free(&bytes);
  if (rc != 0) {
    write_free(w);
    raft_node_fail(rn, "writing a snapshot of the metadata", rc);
    return;
  }
  rn->snap.writing = w;
  rn->env->fsync(rn->env, w->file, write_synced, w);
}

void raft_snapshot_maybe_take(struct raft_node *rn) {
  struct raft_node_snapshots *s = &rn->snap;
  if (!s->has_fsm || s->writing != NULL || rn->state != RAFT_NODE_RUNNING) return;
  const struct meta_image *image = s->fsm.applied_image(s->fsm.ctx);
  if (image == NULL) return;
  int64_t end = image->offset + 1;
  if (end <= raft_log_start_offset(&rn->core)) return;
  /* Only what is committed and durable here (a follower may apply entries
   * it has not written yet): else wait for the log. */
  if (end > raft_snapshot_limit(&rn->core)) return;
  if (!due(rn, end)) return;
  take(rn, image);
}

/* ---- serving chunks (the leader) ---- */

int raft_snapshot_read_chunk(struct raft_node *rn, struct raft_snapshot_id id, int64_t position,
                             int64_t size, struct buf *out) {
  ASSERT(position >= 0 && size >= 0);
  char path[PATH_BYTES];
  path_of(rn, id, false, path);
  env_file f;
  int rc = rn->env->open(rn->env, path, ENV_O_READONLY, &f);
  if (rc != 0) return rc;
  uint8_t *at = buf_extend(out, (size_t)size);
  int64_t n = rn->env->pread(rn->env, f, at, (size_t)size, (uint64_t)position);
  rn->env->file_close(rn->env, f);
  if (n != size) {
    out->len -= (size_t)size;
    return n < 0 ? (int)n : ENV_EIO;
  }
  rn->snap.chunks_served++;
  return 0;
}

/* ---- fetching and installing (a follower or an observer) ---- */

void raft_snapshot_hold_chunk(struct raft_node *rn, const struct raft_msg *m,
                              const uint8_t *bytes, size_t len) {
  ASSERT(m->kind == RAFT_FETCH_SNAPSHOT_RESPONSE);
  struct raft_node_snapshots *s = &rn->snap;
  buf_reset(&s->chunk);
  if (len > 0) buf_append(&s->chunk, bytes, len);
  s->chunk_held = true;
  s->chunk_id = m->fetch_snapshot_response.snapshot_id;
  s->chunk_position = m->fetch_snapshot_response.position;
}

static void part_close(struct raft_node *rn, bool unlink) {
  struct raft_node_snapshots *s = &rn->snap;
  if (!s->part_open) return;
  rn->env->file_close(rn->env, s->part_file);
  s->part_open = false;
  if (unlink) delete_file(rn, s->part_id, true);
}

static int part_begin(struct raft_node *rn, struct raft_snapshot_id id) {
  struct raft_node_snapshots *s = &rn->snap;
  part_close(rn, true); /* a fetch that started over, or moved to a newer snapshot */
  char path[PATH_BYTES];
  path_of(rn, id, true, path);
  int rc = rn->env->open(rn->env, path, ENV_O_CREATE | ENV_O_TRUNC, &s->part_file);
  if (rc != 0) return rc;
  s->part_open = true;
  s->part_id = id;
  s->part_bytes = 0;
  return 0;
}

int raft_snapshot_write_chunk(struct raft_node *rn, const struct raft_snapshot_chunk *c) {
  struct raft_node_snapshots *s = &rn->snap;
  /* The core accepts only the chunk of the response just stepped. */
  ASSERT(s->chunk_held && same_id(s->chunk_id, c->snapshot_id));
  ASSERT(s->chunk_position == c->position && (int64_t)s->chunk.len == c->size);
  s->chunk_held = false;
  int rc = 0;
  if (c->position == 0) rc = part_begin(rn, c->snapshot_id);
  if (rc != 0) return rc;
  ASSERT(s->part_open && same_id(s->part_id, c->snapshot_id) && s->part_bytes == c->position);
  if (c->size > 0) {
    int64_t n = rn->env->pwrite(rn->env, s->part_file, s->chunk.data, s->chunk.len,
                                (uint64_t)c->position);
    if (n != c->size) return n < 0 ? (int)n : ENV_EIO;
  }
  s->part_bytes += c->size;
  s->chunks_written++;
  return 0;
}

struct install {
  struct raft_node *rn;
  struct raft_snapshot_id id;
  struct meta_image *image;
  void (*done)(struct raft_node *rn, int err);
};

static void install_synced(void *ctx, int err) {
  struct install *op = ctx;
  struct raft_node *rn = op->rn;
  struct env *env = rn->env;
  char part[PATH_BYTES], path[PATH_BYTES];
  path_of(rn, op->id, true, part);
  path_of(rn, op->id, false, path);
  part_close(rn, false);
  if (err == 0) err = env->rename(env, part, path);
  if (err == 0) err = env->dir_sync(env, rn->dir);
  /* The snapshot is durable before the log lets go of anything. */
  if (err == 0) err = plog_truncate_fully(rn->log, op->id.end_offset);
  void (*done)(struct raft_node *, int) = op->done;
  if (err != 0) {
    meta_image_unref(op->image);
    free(op);
    done(rn, err);
    return;
  }
  rn->snap.installed++;
  list_add(&rn->snap, op->id);
  list_trim(rn, 1); /* the log starts at its end: the older ones can never serve */
  env_log(env, ENV_LOG_INFO, "raft: snapshot %lld-%d installed from the leader",
          (long long)op->id.end_offset, op->id.epoch);
  hand_over(rn, op->image);
  free(op);
  done(rn, 0);
}

int raft_snapshot_install(struct raft_node *rn, struct raft_snapshot_id id,
                          void (*done)(struct raft_node *rn, int err)) {
  struct raft_node_snapshots *s = &rn->snap;
  ASSERT(s->part_open && same_id(s->part_id, id));
  struct install *op = calloc(1, sizeof *op);
  ASSERT(op != NULL);
  *op = (struct install){rn, id, NULL, done};
  int64_t size = 0;
  bool unread = false;
  /* Checked whole before it replaces anything: a leader's bad snapshot
   * stops the quorum here with the reason, and the files stay as they were. */
  int rc = load(rn, id, true, &op->image, &size, &unread);
  if (rc != 0) {
    env_log(rn->env, ENV_LOG_ERROR,
            "raft: the snapshot %lld-%d fetched from the leader is %s "
            "(%s, error %d)",
            (long long)id.end_offset, id.epoch, unread ? "unreadable" : "invalid",
            meta_codec_strerror(rc), rc);
    part_close(rn, true);
    free(op);
    return unread ? rc : ENV_EINVAL;
  }
  rn->env->fsync(rn->env, s->part_file, install_synced, op);
  return 0;
}

void raft_snapshot_close(struct raft_node *rn) {
  struct raft_node_snapshots *s = &rn->snap;
  part_close(rn, false);
  if (s->writing != NULL) s->writing->rn = NULL; /* its fsync frees it */
  s->writing = NULL;
  if (s->restored != NULL) meta_image_unref(s->restored);
  s->restored = NULL;
  buf_free(&s->chunk);
}
