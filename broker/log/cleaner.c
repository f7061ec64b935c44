/* The log cleaner's passes (log/cleaner.h): the offset map, the rewrite of
 * a segment into .cleaned files, and their swap. */
#include "log/cleaner.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/crc32c.h"
#include "base/str.h"
#include "log/cleaner_internal.h"
#include "log/producers.h"
#include "proto/errors.h"

enum {
  MAP_SLOTS_MIN = 64,
  DECOMPRESSED_BYTES_MAX = 1 << 28,
  CLEAN_PATH_BYTES = PLOG_DIR_BYTES + 64,
  MAP_ENTRY_BYTES = 32, /* what one entry costs against the dedupe buffer */
};

static const char *const SUFFIXES[CLEAN_FILES] = {".log", ".index", ".timeindex"};

bool cleaner_file_path(char *out, size_t cap, const char *dir, int64_t base, int file,
                       const char *stage) {
  ASSERT(file >= 0 && file < CLEAN_FILES);
  size_t n = str_fmt(out, cap, "%s/%020lld%s%s", dir, (long long)base, SUFFIXES[file], stage);
  return n < cap;
}

/* ---- the offset map: key bytes -> latest offset, open addressing ---- */

struct map_slot {
  uint32_t hash;
  uint32_t key_len;
  uint64_t key_at; /* into keys; UINT64_MAX: empty */
  int64_t offset;
};

struct offset_map {
  struct map_slot *slots;
  uint32_t slot_count; /* a power of two */
  uint32_t used;
  struct buf keys;
};

static void map_init(struct offset_map *m) {
  memset(m, 0, sizeof *m);
  buf_init(&m->keys);
}

static void map_free(struct offset_map *m) {
  free(m->slots);
  buf_free(&m->keys);
  memset(m, 0, sizeof *m);
}

static uint64_t map_bytes(const struct offset_map *m) {
  return (uint64_t)m->slot_count * sizeof(struct map_slot) + m->keys.len;
}

static struct map_slot *map_probe(struct offset_map *m, const uint8_t *key, uint32_t len,
                                  uint32_t hash) {
  ASSERT(m->slot_count > 0 && m->used < m->slot_count);
  uint32_t mask = m->slot_count - 1;
  for (uint32_t i = 0, at = hash & mask; i < m->slot_count; i++, at = (at + 1) & mask) {
    struct map_slot *s = &m->slots[at];
    if (s->key_at == UINT64_MAX) return s;
    if (s->hash == hash && s->key_len == len &&
        (len == 0 || memcmp(m->keys.data + s->key_at, key, len) == 0))
      return s;
  }
  ASSERT(false); /* never full: the load stays at most one half */
  return NULL;
}

static void map_grow(struct offset_map *m) {
  struct map_slot *old = m->slots;
  uint32_t old_count = m->slot_count;
  m->slot_count = old_count ? old_count * 2 : MAP_SLOTS_MIN;
  m->slots = malloc((size_t)m->slot_count * sizeof *m->slots);
  ASSERT(m->slots != NULL);
  for (uint32_t i = 0; i < m->slot_count; i++) m->slots[i].key_at = UINT64_MAX;
  m->used = 0;
  for (uint32_t i = 0; i < old_count; i++) {
    if (old[i].key_at == UINT64_MAX) continue;
    struct map_slot *s =
        map_probe(m, m->keys.data + old[i].key_at, old[i].key_len, old[i].hash);
    *s = old[i];
    m->used++;
  }
  free(old);
}

/* false when the map would outgrow bytes_max (nothing changed then). */
static bool map_put(struct offset_map *m, struct kbytes key, int64_t offset,
                    int64_t bytes_max) {
  ASSERT(key.len >= 0);
  uint32_t len = (uint32_t)key.len, hash = crc32c(key.ptr, len) ^ len;
  if (m->slot_count == 0 || (m->used + 1) * 2 > m->slot_count) {
    uint64_t grown = map_bytes(m) + (uint64_t)(m->slot_count ? m->slot_count : MAP_SLOTS_MIN) *
                                        sizeof(struct map_slot);
    if ((int64_t)grown > bytes_max) return false;
    map_grow(m);
  }
  struct map_slot *s = map_probe(m, key.ptr, len, hash);
  if (s->key_at != UINT64_MAX) {
    if (offset > s->offset) s->offset = offset;
    return true;
  }
  if ((int64_t)(map_bytes(m) + len + MAP_ENTRY_BYTES) > bytes_max) return false;
  s->hash = hash;
  s->key_len = len;
  s->key_at = m->keys.len;
  s->offset = offset;
  if (len > 0) buf_append(&m->keys, key.ptr, len);
  m->used++;
  return true;
}

/* The latest offset of key, or -1 if the map does not hold it. */
static int64_t map_get(struct offset_map *m, struct kbytes key) {
  if (m->slot_count == 0 || key.len < 0) return -1;
  uint32_t len = (uint32_t)key.len, hash = crc32c(key.ptr, len) ^ len;
  struct map_slot *s = map_probe(m, key.ptr, len, hash);
  return s->key_at == UINT64_MAX ? -1 : s->offset;
}

/* ---- the pass's state ---- */

enum phase { PHASE_IDLE, PHASE_MAP, PHASE_COPY, PHASE_SYNC, PHASE_SWAP };

/* One segment's rewrite: its .cleaned files and their in-memory shape.
 * Owned by the pass, or, while fsyncs of it are in flight after the pass
 * went away, by those completions. */
struct clean_job {
  struct env *env;
  struct segment *dst; /* files: the .cleaned ones */
  int32_t fsyncs_pending;
  int sync_err;
  bool orphan;
  bool changed; /* a record was dropped or a horizon stamped */
};

struct plog_cleaner {
  int64_t checkpoint;     /* offsets below it are clean */
  int64_t horizon_min_ms; /* the earliest delete horizon a pass left, INT64_MAX none */
  bool compacted;
  enum phase phase;
  uint32_t retire_gen; /* log->retire_gen when the pass started */
  int64_t now_ms;
  int64_t delete_retention_ms;
  int64_t end;          /* the first uncleanable segment's base offset */
  int64_t map_end;      /* the map covers [checkpoint, map_end) */
  int64_t next_horizon; /* the pass's earliest horizon */
  struct offset_map map;
  struct segment *src; /* the segment being read */
  uint64_t pos;
  uint64_t src_size;
  uint64_t src_gen; /* the source's log_file_gen: a truncation's copy bumps it */
  struct clean_job *job;
  struct buf batch, out;
};

static struct plog_cleaner *cleaner_of(struct plog *log) {
  if (!log->cleaner) {
    log->cleaner = calloc(1, sizeof *log->cleaner);
    ASSERT(log->cleaner != NULL);
    log->cleaner->checkpoint = 0;
    log->cleaner->horizon_min_ms = INT64_MAX;
    buf_init(&log->cleaner->batch);
    buf_init(&log->cleaner->out);
  }
  return log->cleaner;
}

int64_t plog_cleaner_checkpoint(const struct plog *log) {
  return log->cleaner ? log->cleaner->checkpoint : 0;
}

bool plog_cleaner_needs_flush(const struct plog *log) {
  return !log->offline && log->flush == NULL &&
         log->recovery_point < plog_active(log)->base_offset;
}

void plog_set_compacted(struct plog *log, bool compacted) {
  ASSERT(log != NULL);
  log->compacted = compacted;
}

/* ---- which segments ---- */

/* The index of the first segment the cleaner may not touch. */
static int32_t first_uncleanable(const struct plog *log, const struct cleaner_config *cfg,
                                 int64_t now_ms, int64_t max_offset) {
  int64_t bound = max_offset < log->recovery_point ? max_offset : log->recovery_point;
  int32_t i = 0;
  for (; i + 1 < log->seg_count; i++) {
    const struct segment *s = log->segs[i];
    if (s->next_offset > bound) break;
    if (cfg->min_lag_ms > 0 && s->max_timestamp > now_ms - cfg->min_lag_ms) break;
  }
  ASSERT(i < log->seg_count);
  return i;
}

/* The first segment at or past the checkpoint. */
static int32_t first_dirty(const struct plog *log, int64_t checkpoint) {
  int32_t i = 0;
  while (i < log->seg_count && log->segs[i]->base_offset < checkpoint) i++;
  return i;
}

double plog_cleaner_dirty_ratio(struct plog *log, const struct cleaner_config *cfg,
                                int64_t now_ms, int64_t max_offset) {
  int32_t u = first_uncleanable(log, cfg, now_ms, max_offset);
  int32_t d = first_dirty(log, plog_cleaner_checkpoint(log));
  uint64_t clean = 0, dirty = 0;
  for (int32_t i = 0; i < u; i++) *(i < d ? &clean : &dirty) += log->segs[i]->size_bytes;
  return clean + dirty == 0 ? 0.0 : (double)dirty / (double)(clean + dirty);
}

bool plog_cleaner_due(struct plog *log, const struct cleaner_config *cfg, int64_t now_ms,
                      int64_t max_offset) {
  int32_t u = first_uncleanable(log, cfg, now_ms, max_offset);
  if (u == 0) return false;
  if (log->cleaner && log->cleaner->horizon_min_ms <= now_ms) return true;
  int32_t d = first_dirty(log, plog_cleaner_checkpoint(log));
  if (d >= u) return false;
  const struct segment *s = log->segs[d];
  int64_t first_ms = s->first_batch_timestamp >= 0 ? s->first_batch_timestamp : s->created_ms;
  if (cfg->max_lag_ms < INT64_MAX && now_ms - first_ms > cfg->max_lag_ms) return true;
  return plog_cleaner_dirty_ratio(log, cfg, now_ms, max_offset) >= cfg->min_cleanable_ratio;
}

/* ---- the job's files ---- */

static void job_close(struct env *env, struct clean_job *job) {
  ASSERT(job->fsyncs_pending == 0);
  segment_free(env, job->dst);
  free(job);
}

static void job_unlink(struct plog *log, int64_t base, const char *stage) {
  for (int f = 0; f < CLEAN_FILES; f++) {
    char path[CLEAN_PATH_BYTES];
    if (cleaner_file_path(path, sizeof path, log->dir, base, f, stage))
      log->env->unlink(log->env, path);
  }
}

/* The pass lets go of its job: files removed, closed now or by the last
 * fsync completion. */
static void job_discard(struct plog *log, struct plog_cleaner *c) {
  struct clean_job *job = c->job;
  c->job = NULL;
  if (!job) return;
  job_unlink(log, job->dst->base_offset, ".cleaned");
  if (job->fsyncs_pending > 0)
    job->orphan = true;
  else
    job_close(log->env, job);
}

static int job_open(struct plog *log, struct plog_cleaner *c, const struct segment *src) {
  struct env *env = log->env;
  struct clean_job *job = calloc(1, sizeof *job);
  ASSERT(job != NULL);
  struct segment *dst = calloc(1, sizeof *dst);
  ASSERT(dst != NULL);
  dst->base_offset = dst->next_offset = src->base_offset;
  dst->max_timestamp = dst->max_timestamp_offset = dst->first_batch_timestamp = -1;
  dst->cut_offset = -1;
  dst->created_ms = src->created_ms;
  dst->log_file = -1;
  index_init(&dst->oindex, OFFSET_ENTRY_BYTES, log->cfg.index_bytes_max);
  index_init(&dst->tindex, TIME_ENTRY_BYTES, log->cfg.index_bytes_max);
  job->env = env;
  job->dst = dst;
  c->job = job;
  env_file *files[CLEAN_FILES] = {&dst->log_file, &dst->oindex.file, &dst->tindex.file};
  for (int f = 0; f < CLEAN_FILES; f++) {
    char path[CLEAN_PATH_BYTES];
    if (!cleaner_file_path(path, sizeof path, log->dir, src->base_offset, f, ".cleaned"))
      return ENV_EINVAL;
    int rc = env->open(env, path, ENV_O_CREATE | ENV_O_TRUNC, files[f]);
    if (rc != 0) return rc;
  }
  return 0;
}

/* ---- deciding what stays ---- */

struct keep_ctx {
  struct plog_cleaner *c;
  bool horizon_set; /* the batch carries a delete horizon already */
  int64_t horizon;  /* its horizon when set */
  bool tombstones;  /* a tombstone was kept */
  int32_t dropped;  /* records dropped */
};

static bool keep_record(void *ctx, const struct rb_record *rec) {
  struct keep_ctx *k = ctx;
  bool keep = rec->key.len >= 0; /* keyless: a compacted log cannot hold it */
  int64_t latest = keep ? map_get(&k->c->map, rec->key) : -1;
#ifdef SLUICE_MUTANT_CLEANER_KEEPS_OLDER /* mutant: the latest record goes, older ones stay */
  if (keep && latest >= 0) keep = rec->offset < latest;
#else
  if (keep && latest > rec->offset) keep = false; /* superseded */
#endif
  if (keep && rec->value.len < 0) {
#ifdef SLUICE_MUTANT_CLEANER_TOMBSTONE_EARLY /* mutant: tombstones go at the first pass */
    keep = false;
#else
    /* KIP-534: a tombstone stays until the horizon its first pass set. */
    if (k->horizon_set && k->horizon <= k->c->now_ms) keep = false;
    if (keep) k->tombstones = true;
#endif
  }
  if (!keep) k->dropped++;
  return keep;
}

/* The producer state still names this batch: it stays, empty if need be. */
static bool producer_batch_kept(const struct plog *log, const struct rb_header *h) {
  if (h->producer_id < 0) return false;
  const struct producer_entry *e = producer_state_find(plog_producers(log), h->producer_id);
  for (int32_t i = 0; e && i < e->batch_count; i++)
    if (e->batches[i].last_offset == rb_header_last_offset(h)) return true;
  return false;
}

/* The batch in c->batch, filtered into c->out (left empty when it goes). */
static int filter_batch(struct plog *log, struct plog_cleaner *c, const struct rb_header *h,
                        bool last_of_segment) {
  buf_reset(&c->out);
  if (h->attributes & (RB_ATTR_CONTROL | RB_ATTR_TRANSACTIONAL)) {
    buf_append(&c->out, c->batch.data, c->batch.len); /* no transactions here: kept */
    return 0;
  }
  struct keep_ctx k = {.c = c,
                       .horizon_set = (h->attributes & RB_ATTR_DELETE_HORIZON) != 0,
                       .horizon = h->base_timestamp};
  int32_t kept = 0;
  int rc = rb_filter(c->batch.data, c->batch.len, keep_record, &k, -1, DECOMPRESSED_BYTES_MAX,
                     &c->out, &kept);
  if (rc != KERR_NONE) return ENV_EIO; /* it passed its CRC when stored */
  int64_t horizon = k.horizon_set ? h->base_timestamp : -1;
  if (k.tombstones && !k.horizon_set) {
    /* The tombstones' first pass: the horizon from now on. */
    horizon = c->now_ms + c->delete_retention_ms;
    buf_reset(&c->out);
    rc = rb_filter(c->batch.data, c->batch.len, keep_record, &k, horizon,
                   DECOMPRESSED_BYTES_MAX, &c->out, &kept);
    if (rc != KERR_NONE) return ENV_EIO;
    c->job->changed = true;
  }
  if (k.tombstones && horizon < c->next_horizon) c->next_horizon = horizon;
  if (k.dropped == 0 && !(k.tombstones && !k.horizon_set)) {
    buf_reset(&c->out); /* nothing changed: the stored bytes, CRC and all */
    buf_append(&c->out, c->batch.data, c->batch.len);
    return 0;
  }
  c->job->changed = true;
  if (kept == 0 && !last_of_segment && !producer_batch_kept(log, h)) buf_reset(&c->out);
  return 0;
}

/* ---- reading batches in bounded steps ---- */

/* The batch at c->pos of the source into c->batch, its header in h.
 * HC_OK, HC_END, or an error. */
static int read_batch(struct plog *log, struct plog_cleaner *c, struct rb_header *h) {
  if (c->pos >= c->src_size) return HC_END;
  /* The segment cache may have closed the source between steps. */
  int rc = segment_files_open(log->env, c->src);
  if (rc != 0) return rc;
  env_file src_file = c->src->log_file;
  uint8_t head[RB_HEADER_BYTES];
  int64_t n = log->env->pread(log->env, src_file, head, sizeof head, c->pos);
  if (n != (int64_t)sizeof head) return n < 0 ? (int)n : ENV_EIO;
  if (!rb_header_read(head, sizeof head, h) || !rb_header_valid(h) ||
      c->pos + rb_header_size(h) > c->src_size)
    return ENV_EIO;
  size_t size = (size_t)rb_header_size(h);
  buf_reset(&c->batch);
  uint8_t *p = buf_extend(&c->batch, size);
  n = log->env->pread(log->env, src_file, p, size, c->pos);
  if (n != (int64_t)size) return n < 0 ? (int)n : ENV_EIO;
  if (rb_check_one(p, size) != size) return ENV_EIO;
  return HC_OK;
}

static void source_set(struct plog_cleaner *c, struct segment *s) {
  c->src = s;
  c->pos = 0;
  c->src_size = s ? s->size_bytes : 0;
  c->src_gen = s ? s->log_file_gen : 0;
}

/* The pass's source is still the log's segment it was, unchanged. */
static bool source_intact(const struct plog *log, const struct plog_cleaner *c) {
  if (log->offline || log->retire_gen != c->retire_gen || !c->src) return false;
  int32_t i = plog_segment_floor(log, c->src->base_offset);
  if (log->segs[i] != c->src || i + 1 >= log->seg_count) return false;
  return c->src->log_file_gen == c->src_gen && c->src->size_bytes == c->src_size &&
         c->src->cut_offset < 0 && log->segs[i + 1]->base_offset <= c->end;
}

/* The map from the batches of one step. */
static int map_step(struct plog *log, struct plog_cleaner *c, int64_t map_bytes_max,
                    size_t bytes_max) {
  size_t done = 0;
  struct rb_header h;
  struct buf scratch;
  buf_init(&scratch);
  int rc = 0;
  for (uint64_t n = 0; done < bytes_max && n <= c->src_size / RB_HEADER_BYTES; n++) {
    rc = read_batch(log, c, &h);
    if (rc != HC_OK) break;
    struct rb_iter it;
    rc = (h.attributes & RB_ATTR_CONTROL)
             ? KERR_NONE
             : rb_iter_init(&it, c->batch.data, c->batch.len, &scratch, DECOMPRESSED_BYTES_MAX);
    if (rc != KERR_NONE) {
      rc = ENV_EIO;
      break;
    }
    struct rb_record rec;
    for (int32_t r = 0; !(h.attributes & RB_ATTR_CONTROL) && r <= h.record_count; r++) {
      int got = rb_iter_next(&it, &rec);
      if (got <= 0) {
        rc = got < 0 ? ENV_EIO : 0;
        break;
      }
      if (rec.key.len < 0 || rec.offset < c->checkpoint) continue;
      if (!map_put(&c->map, rec.key, rec.offset, map_bytes_max)) {
        rc = ENV_ENOMEM;
        break;
      }
    }
    if (rc != 0) break;
    c->pos += rb_header_size(&h);
    done += (size_t)rb_header_size(&h);
  }
  buf_free(&scratch);
  return rc;
}

/* The rewrite of one step's batches into the job's files. */
static int copy_step(struct plog *log, struct plog_cleaner *c, size_t bytes_max) {
  struct segment *dst = c->job->dst;
  size_t done = 0;
  struct rb_header h;
  for (uint64_t n = 0; done < bytes_max && n <= c->src_size / RB_HEADER_BYTES; n++) {
    int rc = read_batch(log, c, &h);
    if (rc == HC_END) return HC_END;
    if (rc != HC_OK) return rc;
    bool last = c->pos + rb_header_size(&h) == c->src_size;
    rc = filter_batch(log, c, &h, last);
    if (rc != 0) return rc;
    if (c->out.len > 0) {
      struct rb_header oh;
      ASSERT(rb_header_read(c->out.data, c->out.len, &oh));
      ASSERT(segment_batch_fits(dst, &oh, dst->size_bytes));
      int64_t w =
          log->env->pwrite(log->env, dst->log_file, c->out.data, c->out.len, dst->size_bytes);
      if (w != (int64_t)c->out.len) return w < 0 ? (int)w : ENV_EIO;
      segment_note_batch(dst, log->cfg.index_interval_bytes, &oh, dst->size_bytes);
    }
    c->pos += rb_header_size(&h);
    done += (size_t)rb_header_size(&h);
  }
  return c->pos >= c->src_size ? HC_END : HC_OK;
}

/* ---- fsync and swap ---- */

static void job_synced(void *ctx, int err) {
  struct clean_job *job = ctx;
  ASSERT(job->fsyncs_pending > 0);
  job->fsyncs_pending--;
  if (err != 0 && job->sync_err == 0) job->sync_err = err;
  /* An orphan's env is gone with its log only after every completion. */
  if (job->orphan && job->fsyncs_pending == 0) job_close(job->env, job);
}

static int job_sync(struct plog *log, struct plog_cleaner *c) {
  struct env *env = log->env;
  struct segment *dst = c->job->dst;
  int rc = segment_seal(env, dst);
  if (rc == 0) rc = index_write_all(env, &dst->oindex);
  if (rc == 0) rc = index_write_all(env, &dst->tindex);
  if (rc != 0) return rc;
  env_file files[CLEAN_FILES] = {dst->log_file, dst->oindex.file, dst->tindex.file};
#ifdef SLUICE_MUTANT_CLEANER_SWAP_UNSAFE /* mutant: swapped in before the fsync lands */
  (void)files;
  return 0;
#endif
  c->job->fsyncs_pending = CLEAN_FILES;
  for (int f = 0; f < CLEAN_FILES; f++) env->fsync(env, files[f], job_synced, c->job);
  return 0;
}

static int rename_stage(struct plog *log, int64_t base, int file, const char *from,
                        const char *to) {
  char a[CLEAN_PATH_BYTES], b[CLEAN_PATH_BYTES];
  if (!cleaner_file_path(a, sizeof a, log->dir, base, file, from) ||
      !cleaner_file_path(b, sizeof b, log->dir, base, file, to))
    return ENV_EINVAL;
  return log->env->rename(log->env, a, b);
}

/* The renames, in the order recovery relies on; the .log last each time. */
static int swap_files(struct plog *log, int64_t base) {
  static const int order[CLEAN_FILES] = {1, 2, 0};
  int rc = 0;
  for (int i = 0; rc == 0 && i < CLEAN_FILES; i++)
    rc = rename_stage(log, base, order[i], ".cleaned", ".swap");
  if (rc == 0) rc = log->env->dir_sync(log->env, log->dir);
  for (int i = 0; rc == 0 && i < CLEAN_FILES; i++)
    rc = rename_stage(log, base, order[i], ".swap", "");
  if (rc == 0) rc = log->env->dir_sync(log->env, log->dir);
  return rc;
}

/* The cleaned segment takes the source's place in memory; its old .log
 * stays open for what reads lent of it, as a truncation's copy does. */
static void install(struct plog *log, struct plog_cleaner *c) {
  struct segment *src = c->src, *dst = c->job->dst;
  ASSERT(dst->next_offset == src->next_offset);
  ASSERT(src->log_file >= 0); /* opened by step_swap */
  plog_file_replaced(log, src->log_file);
  index_free(log->env, &src->oindex);
  index_free(log->env, &src->tindex);
  src->log_file = dst->log_file;
  src->log_file_gen++; /* a flush of the old file proves nothing of the new */
  src->oindex = dst->oindex;
  src->tindex = dst->tindex;
  segment_forget_hints(src); /* the cleaned copy's batches lie elsewhere */
  src->size_bytes = dst->size_bytes;
  src->bytes_since_index = dst->bytes_since_index;
  src->max_timestamp = dst->max_timestamp;
  src->max_timestamp_offset = dst->max_timestamp_offset;
  src->first_batch_timestamp = dst->first_batch_timestamp;
  src->lent_position_max = 0;
  src->log_dirty = false;
  free(dst);
  free(c->job);
  c->job = NULL;
}

/* ---- the pass ---- */

static void pass_end(struct plog *log, struct plog_cleaner *c) {
  job_discard(log, c);
  map_free(&c->map);
  source_set(c, NULL);
  c->phase = PHASE_IDLE;
}

static int pass_fail(struct plog *log, struct plog_cleaner *c, int rc) {
  env_log(log->env, ENV_LOG_WARN, "%s: log cleaning given up: error %d", log->dir, rc);
  pass_end(log, c);
  return rc;
}

static void pass_start(struct plog *log, struct plog_cleaner *c,
                       const struct cleaner_config *cfg, int64_t now_ms, int64_t max_offset) {
  int32_t u = first_uncleanable(log, cfg, now_ms, max_offset);
  ASSERT(u > 0);
  c->phase = PHASE_MAP;
  c->retire_gen = log->retire_gen;
  c->now_ms = now_ms;
  c->delete_retention_ms = cfg->delete_retention_ms;
  c->end = log->segs[u]->base_offset;
  if (c->checkpoint < log->segs[0]->base_offset) c->checkpoint = log->segs[0]->base_offset;
  if (c->checkpoint > c->end) c->checkpoint = c->end;
  c->map_end = c->checkpoint;
  c->next_horizon = INT64_MAX;
  map_init(&c->map);
  int32_t d = first_dirty(log, c->checkpoint);
  source_set(c, d < u ? log->segs[d] : NULL);
  env_log(log->env, ENV_LOG_DEBUG, "%s: cleaning offsets %lld to %lld", log->dir,
          (long long)log->segs[0]->base_offset, (long long)c->end);
}

/* The map reached the end of a segment: the next dirty one, or copying. */
static void map_next(struct plog *log, struct plog_cleaner *c) {
  int32_t i = plog_segment_floor(log, c->src->base_offset) + 1;
  c->map_end = log->segs[i]->base_offset;
  source_set(c, c->map_end < c->end ? log->segs[i] : NULL);
}

static void copy_begin(struct plog *log, struct plog_cleaner *c) {
  c->phase = PHASE_COPY;
  source_set(c, log->segs[0]->base_offset < c->end ? log->segs[0] : NULL);
}

static int step_map(struct plog *log, struct plog_cleaner *c, const struct cleaner_config *cfg,
                    size_t bytes_max) {
  if (!c->src) {
    copy_begin(log, c);
    return PLOG_CLEAN_MORE;
  }
  if (!source_intact(log, c)) return pass_fail(log, c, ENV_EOTHER);
  int rc = map_step(log, c, cfg->map_bytes_max, bytes_max);
  if (rc == ENV_ENOMEM && c->map_end > c->checkpoint) {
    /* Kafka's rule: the map holds whole segments; the rest waits. */
    c->end = c->map_end;
    copy_begin(log, c);
    return PLOG_CLEAN_MORE;
  }
  if (rc == ENV_ENOMEM)
    env_log(log->env, ENV_LOG_ERROR,
            "%s: one segment holds more keys than log.cleaner.dedupe.buffer.size", log->dir);
  if (rc == HC_END) map_next(log, c);
  return rc == HC_END || rc == 0 ? PLOG_CLEAN_MORE : pass_fail(log, c, rc);
}

static int pass_done(struct plog *log, struct plog_cleaner *c) {
  c->checkpoint = c->end;
  c->horizon_min_ms = c->next_horizon;
  env_log(log->env, ENV_LOG_DEBUG, "%s: cleaned up to offset %lld", log->dir,
          (long long)c->end);
  pass_end(log, c);
  return PLOG_CLEAN_DONE;
}

static int step_copy(struct plog *log, struct plog_cleaner *c, size_t bytes_max) {
  if (!c->src) return pass_done(log, c);
  if (!source_intact(log, c)) return pass_fail(log, c, ENV_EOTHER);
  int rc = c->job ? 0 : job_open(log, c, c->src);
  if (rc == 0) rc = copy_step(log, c, bytes_max);
  if (rc == HC_OK) return PLOG_CLEAN_MORE;
  if (rc != HC_END) return pass_fail(log, c, rc);
  if (!c->job->changed) {
    job_discard(log, c); /* nothing to swap */
    int32_t i = plog_segment_floor(log, c->src->base_offset) + 1;
    source_set(c, log->segs[i]->base_offset < c->end ? log->segs[i] : NULL);
    return PLOG_CLEAN_MORE;
  }
  rc = job_sync(log, c);
  if (rc != 0) return pass_fail(log, c, rc);
  c->phase = PHASE_SYNC;
  return c->job->fsyncs_pending > 0 ? PLOG_CLEAN_WAIT : PLOG_CLEAN_MORE;
}

static int step_swap(struct plog *log, struct plog_cleaner *c) {
  if (c->job->fsyncs_pending > 0) return PLOG_CLEAN_WAIT;
  if (c->job->sync_err != 0) return pass_fail(log, c, c->job->sync_err);
  if (!source_intact(log, c)) return pass_fail(log, c, ENV_EOTHER);
  /* The source's own fsync is not ours to race: its file is about to go. */
  if (c->src->fsyncs_pending > 0 || c->src->log_dirty) return PLOG_CLEAN_WAIT;
  /* install hands the source the cleaned files: it must be open (and so
   * counted by the segment cache) when they arrive. Nothing runs between
   * here and install. */
  int rc = segment_files_open(log->env, c->src);
  if (rc != 0) return pass_fail(log, c, rc);
  rc = swap_files(log, c->src->base_offset);
  if (rc != 0) {
    /* The .swap files finish on the next open; this run stops using the log's
     * files for cleaning until then. */
    env_log(log->env, ENV_LOG_ERROR, "%s: swapping cleaned segment %020lld failed: error %d",
            log->dir, (long long)c->src->base_offset, rc);
    return pass_fail(log, c, rc);
  }
  install(log, c);
  int32_t i = plog_segment_floor(log, c->src->base_offset) + 1;
  source_set(c, log->segs[i]->base_offset < c->end ? log->segs[i] : NULL);
  c->phase = PHASE_COPY;
  return PLOG_CLEAN_MORE;
}

int plog_clean_step(struct plog *log, const struct cleaner_config *cfg, int64_t now_ms,
                    int64_t max_offset, size_t bytes_max) {
  ASSERT(log != NULL && cfg != NULL && bytes_max > 0);
  struct plog_cleaner *c = cleaner_of(log);
  if (log->offline) {
    if (c->phase != PHASE_IDLE) pass_end(log, c);
    return PLOG_CLEAN_IDLE;
  }
  if (c->phase == PHASE_IDLE) {
    if (!plog_cleaner_due(log, cfg, now_ms, max_offset)) return PLOG_CLEAN_IDLE;
    pass_start(log, c, cfg, now_ms, max_offset);
  }
  switch (c->phase) {
  case PHASE_MAP:
    return step_map(log, c, cfg, bytes_max);
  case PHASE_COPY:
    return step_copy(log, c, bytes_max);
  case PHASE_SYNC:
  case PHASE_SWAP:
    c->phase = PHASE_SWAP;
    return step_swap(log, c);
  case PHASE_IDLE:
    break;
  }
  ASSERT(false);
  return PLOG_CLEAN_IDLE;
}

void plog_cleaner_release(struct plog *log) {
  struct plog_cleaner *c = log->cleaner;
  if (!c) return;
  pass_end(log, c);
  buf_free(&c->batch);
  buf_free(&c->out);
  free(c);
  log->cleaner = NULL;
}
