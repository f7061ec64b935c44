/* The simulated disk (sim/disk.h): files sorted by path in one array per
 * node (binary search; a directory's children are contiguous and in name
 * order), each with a page cache and a durable copy. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "sim/internal.h"

enum { FSYNC_ROUNDS_MAX = 10000, CACHE_GROWTH = 4 };

static struct sim_disk *disk_of(struct env *env) { return &sim_node_of(env)->disk; }

/* ---- the name array ---- */

static uint32_t find(const struct sim_disk *d, const char *path, bool *found) {
  uint32_t lo = 0, hi = d->file_count;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (strcmp(d->files[mid]->path, path) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = lo < d->file_count && strcmp(d->files[lo]->path, path) == 0;
  return lo;
}

/* One strcmp when it is the file found last (the array holds it and paths
 * are unique, so the answer is the search's); else the search. The cache
 * is filled through const callers: it is not part of the disk's state. */
static struct sim_file *lookup(const struct sim_disk *d, const char *path) {
  struct sim_disk *cache = (struct sim_disk *)d;
  if (d->last_hit && strcmp(d->last_hit->path, path) == 0) return d->last_hit;
  bool found;
  uint32_t i = find(d, path, &found);
  if (!found) return NULL;
  cache->last_hit = d->files[i];
  return d->files[i];
}

/* Grows or shrinks the page cache of a file; new bytes from zero_from on
 * read as zeros (a caller about to overwrite the rest skips zeroing it). */
/* The durable bytes get their own copy before the page cache's first
 * durable_len bytes change. */
static void unshare(struct sim_file *f) {
  if (!f->durable_shared) return;
  buf_reset(&f->durable);
  buf_append(&f->durable, f->cache.data, f->durable_len);
  f->durable_shared = false;
}

/* Bytes [lo, hi) are dirty again (written, or cut off): no longer
 * forgotten. A write strictly inside a range keeps only the part below it
 * forgotten (more optimistic than Linux, never less). */
static void unforget(struct sim_file *f, uint64_t lo, uint64_t hi) {
  for (uint32_t i = 0; i < f->forgot_count;) {
    struct sim_range *r = &f->forgot[i];
    if (hi <= r->lo || lo >= r->hi) {
      i++;
      continue;
    }
    if (lo > r->lo)
      r->hi = lo; /* the part below the write stays forgotten */
    else
      r->lo = hi < r->hi ? hi : r->hi;
    if (r->lo >= r->hi)
      *r = f->forgot[--f->forgot_count];
    else
      i++;
  }
}

/* Bits flipped at rest in [lo, hi) are gone: the bytes were cut or
 * overwritten (bookkeeping for sim_disk_rest_flip_in only). */
static void forget_rest_flips(struct sim_file *f, uint64_t lo, uint64_t hi) {
  uint32_t kept = 0;
  for (uint32_t i = 0; i < f->rest_flip_count; i++)
    if (f->rest_flips[i].offset < lo || f->rest_flips[i].offset >= hi)
      f->rest_flips[kept++] = f->rest_flips[i];
  f->rest_flip_count = kept;
}

static void cache_resize_from(struct sim_disk *d, struct sim_file *f, size_t len,
                              size_t zero_to) {
  if (len < f->cache.len) unforget(f, len, f->cache.len);
  if (len < f->cache.len) f->rewrites++;
  if (len < f->cache.len && f->rest_flip_count) forget_rest_flips(f, len, UINT64_MAX);
  d->used_bytes = d->used_bytes - f->cache.len + len;
  if (len > f->cache.len) {
    size_t old = f->cache.len;
    /* Logs grow by appends: room for CACHE_GROWTH times the length at once
     * copies a third of what doubling copies (pages never written cost no
     * memory). */
    if (len > f->cache.cap) buf_grow(&f->cache, len * CACHE_GROWTH - old);
    buf_extend(&f->cache, len - old);
    if (zero_to > old) memset(f->cache.data + old, 0, (zero_to < len ? zero_to : len) - old);
  }
  f->cache.len = len;
}

static void cache_resize(struct sim_disk *d, struct sim_file *f, size_t len) {
  cache_resize_from(d, f, len, len);
}

/* Frees a file nobody names or holds any more. */
static void file_release(struct sim_disk *d, struct sim_file *f) {
  ASSERT(f->refs >= 0);
  if (f->linked || f->refs > 0) return;
  d->used_bytes -= f->cache.len;
  buf_free(&f->cache);
  buf_free(&f->durable);
  free(f);
}

static void array_insert(struct sim_disk *d, uint32_t i, struct sim_file *f) {
  if (d->file_count == d->file_cap) {
    d->file_cap = d->file_cap ? d->file_cap * 2 : 64;
    d->files = realloc(d->files, d->file_cap * sizeof *d->files);
    ASSERT(d->files != NULL);
  }
  memmove(&d->files[i + 1], &d->files[i], (d->file_count - i) * sizeof f);
  d->files[i] = f;
  d->file_count++;
}

static struct sim_file *array_take(struct sim_disk *d, uint32_t i) {
  struct sim_file *f = d->files[i];
  if (d->last_hit == f) d->last_hit = NULL; /* it may be freed or renamed */
  memmove(&d->files[i], &d->files[i + 1], (d->file_count - i - 1) * sizeof f);
  d->file_count--;
  return f;
}

static int insert(struct sim_disk *d, const char *path, bool is_dir, struct sim_file **out) {
  if (strlen(path) >= SIM_PATH_BYTES) return ENV_EINVAL;
  bool found;
  uint32_t i = find(d, path, &found);
  if (found) return ENV_EEXIST;
  if (d->file_count == SIM_FILES_MAX) return ENV_ENOSPC;
  struct sim_file *f = calloc(1, sizeof *f);
  ASSERT(f != NULL);
  strcpy(f->path, path);
  f->is_dir = is_dir;
  f->durable_shared = true;
  f->linked = true;
  f->serial = ++d->serial_last;
  array_insert(d, i, f);
  *out = f;
  return 0;
}

static void remove_at(struct sim_disk *d, uint32_t i) {
  struct sim_file *f = array_take(d, i);
  f->linked = false;
  file_release(d, f);
}

/* The parent directory must exist, as on a real file system. */
static bool parent_exists(const struct sim_disk *d, const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return false;
  char parent[SIM_PATH_BYTES];
  size_t len = (size_t)(slash - path);
  if (len >= sizeof parent) return false;
  memcpy(parent, path, len);
  parent[len] = 0;
  const struct sim_file *p = lookup(d, parent);
  return p && p->is_dir;
}

/* ---- descriptors ---- */

/* The lowest free descriptor below the node's limit, or -1 (ENV_EMFILE, as
 * RLIMIT_NOFILE bounds a process's descriptor numbers). */
static int fd_free_slot(const struct sim_disk *d) {
  int max = d->fds_max > 0 && d->fds_max < SIM_FDS_MAX ? (int)d->fds_max : SIM_FDS_MAX;
  for (int fd = 0; fd < max; fd++)
    if (!d->fds[fd].file && !d->fds[fd].dead) return fd;
  return -1;
}

static int disk_open(struct env *env, const char *path, int flags, env_file *out) {
  struct sim_disk *d = disk_of(env);
  struct sim_file *f = lookup(d, path);
  if (f && (flags & ENV_O_EXCL) && (flags & ENV_O_CREATE)) return ENV_EEXIST;
  if (f && f->is_dir) return ENV_EINVAL;
  int fd = fd_free_slot(d);
  if (fd < 0) return ENV_EMFILE; /* before creating anything, as open(2) */
  if (!f) {
    if (!(flags & ENV_O_CREATE)) return ENV_ENOENT;
    if (!parent_exists(d, path)) return ENV_ENOENT;
    int rc = insert(d, path, false, &f);
    if (rc != 0) return rc;
  }
  if (flags & ENV_O_TRUNC) {
    if (f->durable_len > 0) unshare(f);
    cache_resize(d, f, 0);
  }
  d->fds[fd].file = f;
  f->refs++;
  *out = fd;
  return 0;
}

/* NULL for a descriptor that died with a power loss (calls fail with EIO). */
static struct sim_file *fd_file(struct sim_disk *d, env_file fd) {
  ASSERT(fd >= 0 && fd < SIM_FDS_MAX && (d->fds[fd].file != NULL || d->fds[fd].dead));
  return d->fds[fd].file;
}

static void fd_release(struct sim_disk *d, env_file fd) {
  struct sim_file *f = d->fds[fd].file;
  d->fds[fd].file = NULL;
  if (!f) return;
  f->refs--;
  file_release(d, f);
}

static void disk_close(struct env *env, env_file fd) {
  struct sim_disk *d = disk_of(env);
  fd_file(d, fd);
  fd_release(d, fd);
  d->fds[fd].dead = false;
}

/* ---- reading and writing ---- */

/* Pending read faults inside [off, off + len) flip bits in the copy, once. */
static void apply_read_flips(struct sim_disk *d, struct sim_file *f, uint8_t *out, uint64_t off,
                             size_t len) {
  for (uint32_t i = 0; i < f->flip_count;) {
    struct sim_read_flip *x = &f->flips[i];
    if (x->offset < off || x->offset >= off + len) {
      i++;
      continue;
    }
    out[x->offset - off] ^= x->mask;
    d->stats.bits_flipped++;
    *x = f->flips[--f->flip_count];
  }
}

static int64_t disk_pread(struct env *env, env_file fd, void *buf, size_t len, uint64_t off) {
  struct sim_disk *d = disk_of(env);
  struct sim_file *f = fd_file(d, fd);
  if (!f) return ENV_EIO;
  if (off >= f->cache.len) return 0;
  size_t n = f->cache.len - off < len ? (size_t)(f->cache.len - off) : len;
  memcpy(buf, f->cache.data + off, n);
  if (f->flip_count) apply_read_flips(d, f, buf, off, n);
  d->stats.reads++;
  d->stats.bytes_read += n;
  return (int64_t)n;
}

/* The next write fails if a write fault is armed. */
static bool write_fault(struct sim_disk *d) {
  if (d->write_failures == 0) return false;
  if (d->write_failures > 0) d->write_failures--;
  d->stats.write_errors++;
  return true;
}

static bool over_capacity(struct sim_disk *d, const struct sim_file *f, uint64_t end) {
  uint64_t growth = end > f->cache.len ? end - f->cache.len : 0;
  if (!d->capacity_bytes || d->used_bytes + growth <= d->capacity_bytes) return false;
  d->stats.enospc++;
  return true;
}

static int64_t disk_pwrite(struct env *env, env_file fd, const void *buf, size_t len,
                           uint64_t off) {
  struct sim_disk *d = disk_of(env);
  struct sim_file *f = fd_file(d, fd);
  if (!f || write_fault(d)) return ENV_EIO;
  uint64_t end = off + len;
  if (over_capacity(d, f, end)) return ENV_ENOSPC;
  if (off < f->durable_len) unshare(f);
  if (off < f->cache.len) f->rewrites++;
  if (end > f->cache.len) cache_resize_from(d, f, (size_t)end, (size_t)off); /* a hole: zeros */
  if (f->forgot_count) unforget(f, off, end);
  if (f->rest_flip_count) forget_rest_flips(f, off, end);
  memcpy(f->cache.data + off, buf, len);
  d->stats.writes++;
  d->stats.bytes_written += len;
  struct sim_node *n = sim_node_of(env);
  sim_observe(n->world, &(struct sim_observation){.what = SIM_OBSERVED_WRITE,
                                                  .node = n,
                                                  .path = f->path,
                                                  .until_ns = n->world->now_ns});
  return (int64_t)len;
}

static int64_t disk_size(struct env *env, env_file fd) {
  struct sim_file *f = fd_file(disk_of(env), fd);
  return f ? (int64_t)f->cache.len : ENV_EIO;
}

static int disk_truncate(struct env *env, env_file fd, uint64_t len) {
  struct sim_disk *d = disk_of(env);
  struct sim_file *f = fd_file(d, fd);
  if (!f || write_fault(d)) return ENV_EIO;
  if (over_capacity(d, f, len)) return ENV_ENOSPC;
  if (len < f->durable_len) unshare(f);
  cache_resize(d, f, (size_t)len);
  return 0;
}

/* ---- fsync ---- */

static void inflight_unlink(struct sim_disk *d, struct sim_fsync_op *op) {
  if (op->prev)
    op->prev->next = op->next;
  else
    d->inflight_head = op->next;
  if (op->next)
    op->next->prev = op->prev;
  else
    d->inflight_tail = op->prev;
  ASSERT(d->inflight_count > 0);
  d->inflight_count--;
}

/* The event never runs (power loss, or failed at one): let go of the file. */
static void fsync_drop(void *ctx) {
  struct sim_fsync_op *op = ctx;
  struct sim_disk *d = &op->node->disk;
  inflight_unlink(d, op);
  op->file->refs--;
  file_release(d, op->file);
  free(op);
}

/* An fsync in flight, and the file's length when it was issued: it writes
 * back what was dirty then, not what is written while it runs (a write that
 * lands during an fsync needs the next one, as group commit assumes). */
struct fsync_issued {
  struct sim_fsync_op op; /* first: the op is freed as this */
  uint64_t len;
};

/* The file's first `len` bytes as they are now (at most its length) are
 * what the platter will hold (the bytes an earlier failed fsync forgot
 * aside: they stay zeros there, file_power_loss). Appends past len, made
 * while the fsync ran, stay unsynced; an overwrite below it during the
 * fsync counts as synced (more optimistic than Linux, never less). */
static void make_durable(struct sim_disk *d, struct sim_file *f, uint64_t len) {
  size_t old = f->durable_len;
  buf_free(&f->durable);
  f->durable_shared = true;
  f->durable_len = f->cache.len < len ? f->cache.len : (size_t)len;
  d->stats.fsync_bytes += f->durable_len > old ? f->durable_len - old : 0;
}

/* A failed fsync (if one is armed); in forgetting mode the bytes appended
 * since the last good one are marked clean without reaching the platter. */
static bool fsync_fault(struct sim_disk *d, struct sim_file *f) {
  if (d->fsync_failures == 0) return false;
  if (d->fsync_failures > 0) d->fsync_failures--;
  d->stats.fsync_errors++;
  if (d->fsync_error_forgets && f->cache.len > f->durable_len &&
      f->forgot_count < SIM_FORGOT_MAX)
    f->forgot[f->forgot_count++] = (struct sim_range){f->durable_len, f->cache.len};
  return true;
}

static void fsync_complete(struct sim_world *w, void *ctx, uint64_t arg) {
  (void)arg;
  struct sim_fsync_op *op = ctx;
  struct sim_disk *d = &op->node->disk;
  int err = fsync_fault(d, op->file) ? ENV_EIO : 0;
  if (err == 0) make_durable(d, op->file, ((struct fsync_issued *)op)->len);
  d->stats.fsyncs++;
  sim_trace(w, op->file->durable_len ^ (uint64_t)(int64_t)err << 48);
  env_fsync_fn done = op->done;
  void *done_ctx = op->ctx;
  fsync_drop(op);
  done(done_ctx, err);
}

static void disk_fsync(struct env *env, env_file fd, env_fsync_fn done, void *ctx) {
  struct sim_node *n = sim_node_of(env);
  struct sim_disk *d = &n->disk;
  struct sim_file *f = fd_file(d, fd);
  if (!f) { /* a descriptor from before a power loss */
    done(ctx, ENV_EIO);
    return;
  }
  struct fsync_issued *issued = calloc(1, sizeof *issued);
  ASSERT(issued != NULL);
  issued->len = f->cache.len;
  struct sim_fsync_op *op = &issued->op;
  *op = (struct sim_fsync_op){.node = n, .file = f, .done = done, .ctx = ctx};
  f->refs++;
  op->prev = d->inflight_tail;
  if (d->inflight_tail)
    d->inflight_tail->next = op;
  else
    d->inflight_head = op;
  d->inflight_tail = op;
  d->inflight_count++;
  uint64_t delay = (d->fsync_base_ns + sim_rng_below(&d->rng, d->fsync_jitter_ns)) *
                   (d->fsync_slowdown ? d->fsync_slowdown : 1);
  op->event = sim_event_at(n->world, n->index, SIM_EV_FSYNC, n->world->now_ns + delay,
                           fsync_complete, op, 0, fsync_drop);
  sim_observe(n->world, &(struct sim_observation){.what = SIM_OBSERVED_FSYNC_START,
                                                  .node = n,
                                                  .path = f->path,
                                                  .until_ns = n->world->now_ns + delay});
}

/* At a power loss the fsyncs in flight fail (EIO) in the dying process, in
 * the order issued, so it lets go of what waited on them; nothing of theirs
 * becomes durable. A failure may start another fsync (the next waiter):
 * repeat, bounded. */
void sim_disk_fail_inflight(struct sim_node *n) {
  struct sim_disk *d = &n->disk;
  for (int round = 0; round < FSYNC_ROUNDS_MAX && d->inflight_head; round++) {
    struct sim_fsync_op *op = d->inflight_head;
    env_fsync_fn done = op->done;
    void *ctx = op->ctx;
    sim_cancel(n->world, op->event); /* runs fsync_drop: op is gone */
    done(ctx, ENV_EIO);
  }
  ASSERT(d->inflight_head == NULL); /* failures kept starting fsyncs */
}

/* ---- names ---- */

static int disk_rename(struct env *env, const char *from, const char *to) {
  struct sim_disk *d = disk_of(env);
  bool found;
  uint32_t i = find(d, from, &found);
  if (!found) return ENV_ENOENT;
  if (strlen(to) >= SIM_PATH_BYTES || !parent_exists(d, to)) return ENV_ENOENT;
  if (d->files[i]->is_dir) return ENV_EINVAL; /* directories are not renamed here */
  struct sim_file *f = array_take(d, i);
  uint32_t j = find(d, to, &found);
  if (found) remove_at(d, j); /* replaced, like rename(2) */
  j = find(d, to, &found);
  strcpy(f->path, to);
  array_insert(d, j, f);
  return 0;
}

static int disk_unlink(struct env *env, const char *path) {
  struct sim_disk *d = disk_of(env);
  bool found;
  uint32_t i = find(d, path, &found);
  if (!found) return ENV_ENOENT;
  if (d->files[i]->is_dir) return ENV_EINVAL;
  remove_at(d, i);
  return 0;
}

static int disk_mkdir(struct env *env, const char *path) {
  struct sim_disk *d = disk_of(env);
  if (lookup(d, path)) return ENV_EEXIST;
  if (!parent_exists(d, path)) return ENV_ENOENT;
  struct sim_file *f;
  return insert(d, path, true, &f);
}

/* The name of path if it is directly inside dir (dir_len bytes). */
static const char *child_name(const char *dir, size_t dir_len, const char *path) {
  if (strncmp(path, dir, dir_len) != 0 || path[dir_len] != '/') return NULL;
  const char *name = path + dir_len + 1;
  return *name && !strchr(name, '/') ? name : NULL;
}

/* The first entry after dir itself: its children sort right after it
 * ('/' is below every other byte of a name). */
static uint32_t first_child(const struct sim_disk *d, const char *dir) {
  bool found;
  uint32_t i = find(d, dir, &found);
  return found ? i + 1 : i;
}

static int disk_rmdir(struct env *env, const char *path) {
  struct sim_disk *d = disk_of(env);
  bool found;
  uint32_t i = find(d, path, &found);
  if (!found || !d->files[i]->is_dir) return ENV_ENOENT;
  size_t len = strlen(path);
  if (i + 1 < d->file_count && strncmp(d->files[i + 1]->path, path, len) == 0 &&
      d->files[i + 1]->path[len] == '/')
    return ENV_EINVAL; /* not empty */
  remove_at(d, i);
  return 0;
}

static int disk_list(struct env *env, const char *dir, env_list_fn fn, void *ctx) {
  struct sim_disk *d = disk_of(env);
  const struct sim_file *dir_file = lookup(d, dir);
  if (!dir_file || !dir_file->is_dir) return ENV_ENOENT;
  size_t len = strlen(dir);
  /* Copy first: the callback may change the directory. */
  uint32_t from = first_child(d, dir), to = from;
  while (to < d->file_count && strncmp(d->files[to]->path, dir, len) == 0 &&
         d->files[to]->path[len] == '/')
    to++;
  char(*names)[SIM_PATH_BYTES] = malloc((size_t)(to - from + 1) * SIM_PATH_BYTES);
  bool *dirs = malloc(to - from + 1);
  ASSERT(names != NULL && dirs != NULL);
  uint32_t count = 0;
  for (uint32_t i = from; i < to; i++) {
    const char *name = child_name(dir, len, d->files[i]->path);
    if (!name) continue; /* a grandchild */
    strcpy(names[count], name);
    dirs[count++] = d->files[i]->is_dir;
  }
  for (uint32_t i = 0; i < count; i++) fn(ctx, names[i], dirs[i]);
  free(names);
  free(dirs);
  return 0;
}

static int disk_dir_sync(struct env *env, const char *dir) {
  struct sim_disk *d = disk_of(env);
  const struct sim_file *f = lookup(d, dir);
  if (!f || !f->is_dir) return ENV_ENOENT;
  d->stats.dir_syncs++;
  return 0;
}

int sim_disk_read_range(struct sim_node *n, env_file file, uint64_t offset, size_t len,
                        struct buf *out) {
  struct sim_disk *d = &n->disk;
  struct sim_file *f = fd_file(d, file);
  if (!f || offset + len > f->cache.len) return ENV_EIO;
  size_t at = out->len;
  buf_append(out, f->cache.data + offset, len);
  if (f->flip_count) apply_read_flips(d, f, out->data + at, offset, len);
  return 0;
}

/* ---- the node's life ---- */

void sim_disk_install(struct sim_node *n) {
  struct sim_disk *d = &n->disk;
  d->rng = sim_rng_fork(&n->rng, "disk");
  d->fsync_base_ns = 2 * NS_PER_MS;
  d->fsync_jitter_ns = 3 * NS_PER_MS;
  d->fsync_slowdown = 1;
  n->env.open = disk_open;
  n->env.file_close = disk_close;
  n->env.pread = disk_pread;
  n->env.pwrite = disk_pwrite;
  n->env.file_size = disk_size;
  n->env.truncate = disk_truncate;
  n->env.fsync = disk_fsync;
  n->env.rename = disk_rename;
  n->env.unlink = disk_unlink;
  n->env.mkdir = disk_mkdir;
  n->env.rmdir = disk_rmdir;
  n->env.list = disk_list;
  n->env.dir_sync = disk_dir_sync;
  struct sim_file *root;
  int rc = insert(d, "", true, &root); /* "" is the parent of "/a" */
  ASSERT(rc == 0);
}

/* A power loss in a torn-write mode: the file keeps its whole length (its
 * size reached the platter), but not all of its unsynced tail [from, end)
 * landed as written. ZEROS: past a seeded number of whole sectors the tail
 * reads as zeros. GARBAGE: one seeded sector of it holds seeded garbage;
 * the others landed. Returns the bytes damaged. */
static size_t tear(struct sim_disk *d, struct sim_file *f, size_t from) {
  size_t end = f->cache.len, extra = end - from;
  uint64_t sectors = (extra + SIM_SECTOR_BYTES - 1) / SIM_SECTOR_BYTES;
  size_t lo, hi;
  if (d->torn == SIM_TORN_ZEROS) {
    size_t intact = (size_t)sim_rng_below(&d->rng, sectors + 1) * SIM_SECTOR_BYTES;
    lo = from + (intact < extra ? intact : extra);
    hi = end;
    memset(f->cache.data + lo, 0, hi - lo);
  } else {
    lo = from + (size_t)sim_rng_below(&d->rng, sectors) * SIM_SECTOR_BYTES;
    hi = lo + SIM_SECTOR_BYTES < end ? lo + SIM_SECTOR_BYTES : end;
    for (size_t i = lo; i < hi; i += 8) {
      uint64_t junk = sim_rng_next(&d->rng);
      memcpy(f->cache.data + i, &junk, hi - i < 8 ? hi - i : 8);
    }
  }
  if (hi > lo) d->stats.torn_sectors += (hi - lo + SIM_SECTOR_BYTES - 1) / SIM_SECTOR_BYTES;
  return hi - lo;
}

/* What the platter holds of one file after a power loss: the durable bytes
 * plus a seeded prefix, in whole sectors, of what was appended past them
 * (in a torn-write mode: all of it, damaged; tear above). Overwrites inside
 * the durable part that were never synced are lost; bytes a failed fsync
 * forgot read as zeros, and nothing past the durable bytes survives. */
static void file_power_loss(struct sim_disk *d, struct sim_file *f) {
  size_t keep = f->durable_len, cache_len = f->cache.len, damaged = 0;
  struct sim_range forgot[SIM_FORGOT_MAX];
  uint32_t forgot_count = f->forgot_count; /* resizing the cache below drops them */
  f->rewrites++; /* torn or zeroed bytes may lie below the end it keeps */
  memcpy(forgot, f->forgot, sizeof forgot);
  if (f->durable_shared) {
    if (f->cache.len > keep && f->forgot_count == 0 && d->torn != SIM_TORN_CLEAN) {
      damaged = tear(d, f, keep);
      keep = cache_len;
    } else if (f->cache.len > keep && f->forgot_count == 0) {
      size_t extra = f->cache.len - keep;
      uint64_t sectors_max = (extra + SIM_SECTOR_BYTES - 1) / SIM_SECTOR_BYTES;
      size_t sectors = (size_t)sim_rng_below(&d->rng, sectors_max + 1);
      keep += sectors * SIM_SECTOR_BYTES < extra ? sectors * SIM_SECTOR_BYTES : extra;
    }
    cache_resize(d, f, keep); /* the cache already holds those bytes */
  } else {
    /* sim_disk_flip_bit flipped the durable copy too: its flips stay. */
    struct sim_read_flip flips[SIM_REST_FLIPS_MAX];
    uint32_t flip_count = f->rest_flip_count;
    memcpy(flips, f->rest_flips, sizeof flips);
    cache_resize(d, f, 0);
    cache_resize_from(d, f, f->durable.len, 0);
    memcpy(f->cache.data, f->durable.data, f->durable.len);
    for (uint32_t i = 0; i < flip_count; i++)
      if (flips[i].offset < f->durable.len) f->rest_flips[f->rest_flip_count++] = flips[i];
    keep = f->durable.len;
    buf_free(&f->durable);
    f->durable_shared = true;
  }
  for (uint32_t i = 0; i < forgot_count; i++) {
    uint64_t hi = forgot[i].hi < keep ? forgot[i].hi : keep;
    if (forgot[i].lo >= hi) continue;
    memset(f->cache.data + forgot[i].lo, 0, (size_t)(hi - forgot[i].lo));
    damaged += (size_t)(hi - forgot[i].lo);
  }
  f->forgot_count = 0;
  f->durable_len = keep;
  d->stats.bytes_lost += (cache_len > keep ? cache_len - keep : 0) + damaged;
}

static void wipe(struct sim_disk *d) {
  for (uint32_t i = d->file_count; i > 1; i--) remove_at(d, i - 1); /* all but the root */
  d->lose_all = false;
  d->stats.disks_lost++;
}

void sim_disk_crash(struct sim_node *n) {
  struct sim_disk *d = &n->disk;
  ASSERT(d->inflight_head == NULL); /* sim_disk_fail_inflight ran first */
  for (int fd = 0; fd < SIM_FDS_MAX; fd++)
    if (d->fds[fd].file) {
      fd_release(d, fd);
      d->fds[fd].dead = true;
    }
  d->stats.crashes++;
  uint64_t kept = 0;
  for (uint32_t i = 0; i < d->file_count; i++) {
    struct sim_file *f = d->files[i];
    if (f->is_dir) continue;
    file_power_loss(d, f);
    kept += f->durable_len;
  }
  sim_trace(n->world, kept);
  if (d->lose_all) wipe(d);
}

void sim_disk_close_all(struct sim_node *n) {
  struct sim_disk *d = &n->disk;
  ASSERT(d->inflight_head == NULL);
  for (int fd = 0; fd < SIM_FDS_MAX; fd++) fd_release(d, fd);
}

void sim_disk_restart(struct sim_node *n) {
  if (n->disk.lose_all) wipe(&n->disk);
}

void sim_disk_free(struct sim_node *n) {
  struct sim_disk *d = &n->disk;
  ASSERT(d->inflight_head == NULL); /* the world dropped its events first */
  for (int fd = 0; fd < SIM_FDS_MAX; fd++) fd_release(d, fd);
  for (uint32_t i = d->file_count; i > 0; i--) remove_at(d, i - 1);
  free(d->files);
  d->files = NULL;
}

/* ---- settings and faults ---- */

void sim_disk_set_fds_max(struct sim_node *n, uint32_t count) { n->disk.fds_max = count; }

uint32_t sim_disk_fds_open(const struct sim_node *n) {
  uint32_t open = 0;
  for (int fd = 0; fd < SIM_FDS_MAX; fd++)
    if (n->disk.fds[fd].file || n->disk.fds[fd].dead) open++;
  return open;
}

void sim_disk_set_capacity(struct sim_node *n, uint64_t bytes) {
  n->disk.capacity_bytes = bytes;
}
uint64_t sim_disk_used(const struct sim_node *n) { return n->disk.used_bytes; }
void sim_disk_fail_fsyncs(struct sim_node *n, int count) { n->disk.fsync_failures = count; }
void sim_disk_fail_writes(struct sim_node *n, int count) { n->disk.write_failures = count; }

void sim_disk_set_fsync_error_forgets(struct sim_node *n, bool forgets) {
  n->disk.fsync_error_forgets = forgets;
}

void sim_disk_set_fsync_slowdown(struct sim_node *n, uint32_t multiplier) {
  ASSERT(multiplier >= 1);
  n->disk.fsync_slowdown = multiplier;
}

/* Remembers a flip at rest; the same flip again puts the bit back. */
static void note_rest_flip(struct sim_file *f, uint64_t offset, uint8_t mask) {
  for (uint32_t i = 0; i < f->rest_flip_count; i++)
    if (f->rest_flips[i].offset == offset && f->rest_flips[i].mask == mask) {
      memmove(&f->rest_flips[i], &f->rest_flips[i + 1],
              (f->rest_flip_count - i - 1) * sizeof f->rest_flips[0]);
      f->rest_flip_count--;
      return;
    }
  if (f->rest_flip_count == SIM_REST_FLIPS_MAX) { /* forget the oldest */
    memmove(f->rest_flips, f->rest_flips + 1,
            (SIM_REST_FLIPS_MAX - 1) * sizeof f->rest_flips[0]);
    f->rest_flip_count--;
  }
  f->rest_flips[f->rest_flip_count++] = (struct sim_read_flip){.offset = offset, .mask = mask};
}

bool sim_disk_flip_bit(struct sim_node *n, const char *path, uint64_t offset, int bit) {
  struct sim_file *f = lookup(&n->disk, path);
  if (!f || f->is_dir || offset >= f->cache.len) return false;
  uint8_t mask = (uint8_t)(1u << (bit & 7));
  f->cache.data[offset] ^= mask;
  f->rewrites++;
  if (!f->durable_shared && offset < f->durable.len) f->durable.data[offset] ^= mask;
  n->disk.stats.bits_flipped++;
  note_rest_flip(f, offset, mask);
  sim_trace(n->world, offset);
  return true;
}

bool sim_disk_flip_bit_on_read(struct sim_node *n, const char *path, uint64_t offset, int bit) {
  struct sim_file *f = lookup(&n->disk, path);
  if (!f || f->is_dir || offset >= f->cache.len || f->flip_count == SIM_READ_FLIPS_MAX)
    return false;
  f->flips[f->flip_count++] =
      (struct sim_read_flip){.offset = offset, .mask = (uint8_t)(1u << (bit & 7))};
  return true;
}

void sim_disk_lose_all(struct sim_node *n) { n->disk.lose_all = true; }

void sim_disk_set_torn(struct sim_node *n, enum sim_torn torn) {
  ASSERT(torn == SIM_TORN_CLEAN || torn == SIM_TORN_ZEROS || torn == SIM_TORN_GARBAGE);
  n->disk.torn = (uint8_t)torn;
}

void sim_disk_clear_faults(struct sim_node *n) {
  struct sim_disk *d = &n->disk;
  d->capacity_bytes = 0;
  d->fsync_failures = d->write_failures = 0;
  d->fsync_slowdown = 1;
  d->fsync_error_forgets = false;
  d->torn = SIM_TORN_CLEAN;
}

bool sim_disk_file_sizes(const struct sim_node *n, const char *path, uint64_t *cache_bytes,
                         uint64_t *durable_bytes) {
  const struct sim_file *f = lookup(&n->disk, path);
  if (!f || f->is_dir) return false;
  *cache_bytes = f->cache.len;
  *durable_bytes = f->durable_len;
  return true;
}

int64_t sim_disk_peek(const struct sim_node *n, const char *path, uint64_t offset, void *buf,
                      size_t len) {
  const struct sim_file *f = lookup(&n->disk, path);
  if (!f || f->is_dir) return -1;
  if (offset >= f->cache.len) return 0;
  size_t count = f->cache.len - offset < len ? (size_t)(f->cache.len - offset) : len;
  memcpy(buf, f->cache.data + offset, count);
  return (int64_t)count;
}

bool sim_disk_view(const struct sim_node *n, const char *path, const uint8_t **data,
                   uint64_t *len) {
  const struct sim_file *f = lookup(&n->disk, path);
  if (!f || f->is_dir) return false;
  *data = f->cache.data;
  *len = f->cache.len;
  return true;
}

bool sim_disk_view_versioned(const struct sim_node *n, const char *path,
                             struct sim_disk_file_view *out) {
  const struct sim_file *f = lookup(&n->disk, path);
  if (!f || f->is_dir) return false;
  *out = (struct sim_disk_file_view){f->cache.data, f->cache.len, f->serial, f->rewrites};
  return true;
}

bool sim_disk_rest_flip_in(const struct sim_node *n, const char *path, uint64_t lo,
                           uint64_t hi) {
  const struct sim_file *f = lookup(&n->disk, path);
  if (!f || f->is_dir) return false;
  for (uint32_t i = 0; i < f->rest_flip_count; i++) {
    uint64_t at = f->rest_flips[i].offset;
    if (at >= lo && at < hi && at < f->cache.len) return true;
  }
  return false;
}

bool sim_disk_read_flip_in(const struct sim_node *n, const char *path, uint64_t lo,
                           uint64_t hi) {
  const struct sim_file *f = lookup(&n->disk, path);
  if (!f || f->is_dir) return false;
  for (uint32_t i = 0; i < f->flip_count; i++)
    if (f->flips[i].offset >= lo && f->flips[i].offset < hi) return true;
  return false;
}

void sim_disk_stats(const struct sim_node *n, struct sim_disk_stats *out) {
  *out = n->disk.stats;
}
