/* The simulated disk: an in-memory file system per node with a page cache
 * and a durable layer per file. Directory operations (create, rename,
 * unlink, mkdir) are durable at once: the model loses data, not names, which
 * is the harder case for recovery code (a file exists, its bytes do not). */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "sim/internal.h"

static struct sim_node *node_of(struct env *env) { return env->world; }

static int find(const struct sim_node *n, const char *path, bool *found) {
  int lo = 0, hi = n->file_count;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (strcmp(n->files[mid]->path, path) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = lo < n->file_count && strcmp(n->files[lo]->path, path) == 0;
  return lo;
}

static struct sim_file *lookup(struct sim_node *n, const char *path) {
  bool found;
  int i = find(n, path, &found);
  return found ? n->files[i] : NULL;
}

static void file_release(struct sim_file *f) {
  if (f->linked || f->refs > 0) return;
  buf_free(&f->cache);
  buf_free(&f->durable);
  free(f);
}

static int insert(struct sim_node *n, const char *path, bool is_dir, struct sim_file **out) {
  if (strlen(path) >= SIM_PATH_BYTES) return ENV_EINVAL;
  bool found;
  int i = find(n, path, &found);
  if (found) return ENV_EEXIST;
  if (n->file_count == SIM_FILES_MAX) return ENV_ENOSPC;
  struct sim_file *f = calloc(1, sizeof *f);
  ASSERT(f != NULL);
  strcpy(f->path, path);
  f->is_dir = is_dir;
  f->linked = true;
  memmove(&n->files[i + 1], &n->files[i], (size_t)(n->file_count - i) * sizeof f);
  n->files[i] = f;
  n->file_count++;
  *out = f;
  return 0;
}

static void remove_at(struct sim_node *n, int i) {
  struct sim_file *f = n->files[i];
  memmove(&n->files[i], &n->files[i + 1], (size_t)(n->file_count - i - 1) * sizeof f);
  n->file_count--;
  f->linked = false;
  file_release(f);
}

/* The parent directory must exist, as on a real file system. */
static bool parent_exists(struct sim_node *n, const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash || slash == path) return true;
  char parent[SIM_PATH_BYTES];
  size_t len = (size_t)(slash - path);
  memcpy(parent, path, len);
  parent[len] = 0;
  struct sim_file *d = lookup(n, parent);
  return d && d->is_dir;
}

uint64_t sim_disk_used(const struct sim_node *n) {
  uint64_t used = 0;
  for (int i = 0; i < n->file_count; i++) used += n->files[i]->cache.len;
  return used;
}

static int disk_open(struct env *env, const char *path, int flags, env_file *out) {
  struct sim_node *n = node_of(env);
  struct sim_file *f = lookup(n, path);
  if (f && (flags & ENV_O_EXCL) && (flags & ENV_O_CREATE)) return ENV_EEXIST;
  if (f && f->is_dir) return ENV_EINVAL;
  if (!f) {
    if (!(flags & ENV_O_CREATE)) return ENV_ENOENT;
    if (!parent_exists(n, path)) return ENV_ENOENT;
    int rc = insert(n, path, false, &f);
    if (rc != 0) return rc;
  }
  if (flags & ENV_O_TRUNC) f->cache.len = 0;
  for (int fd = 0; fd < SIM_FDS_MAX; fd++)
    if (!n->fds[fd].file && !n->fds[fd].dead) {
      n->fds[fd].file = f;
      f->refs++;
      *out = fd;
      return 0;
    }
  return ENV_ENOMEM;
}

/* NULL for a descriptor that died with a crash (its calls fail with EIO). */
static struct sim_file *fd_file(struct sim_node *n, env_file fd) {
  ASSERT(fd >= 0 && fd < SIM_FDS_MAX && (n->fds[fd].file != NULL || n->fds[fd].dead));
  return n->fds[fd].file;
}

static void fd_release(struct sim_node *n, env_file fd) {
  struct sim_file *f = n->fds[fd].file;
  n->fds[fd].file = NULL;
  if (!f) return;
  f->refs--;
  file_release(f);
}

static void disk_close(struct env *env, env_file fd) {
  struct sim_node *n = node_of(env);
  fd_file(n, fd);
  fd_release(n, fd);
  n->fds[fd].dead = false;
}

static int64_t disk_pread(struct env *env, env_file fd, void *buf, size_t len, uint64_t off) {
  struct sim_file *f = fd_file(node_of(env), fd);
  if (!f) return ENV_EIO;
  if (off >= f->cache.len) return 0;
  size_t n = f->cache.len - off < len ? (size_t)(f->cache.len - off) : len;
  memcpy(buf, f->cache.data + off, n);
  return (int64_t)n;
}

static int64_t disk_pwrite(struct env *env, env_file fd, const void *buf, size_t len,
                           uint64_t off) {
  struct sim_node *n = node_of(env);
  struct sim_file *f = fd_file(n, fd);
  if (!f) return ENV_EIO;
  uint64_t end = off + len;
  uint64_t growth = end > f->cache.len ? end - f->cache.len : 0;
  if (n->capacity_bytes && sim_disk_used(n) + growth > n->capacity_bytes) return ENV_ENOSPC;
  if (end > f->cache.len) {
    size_t old = f->cache.len;
    buf_extend(&f->cache, (size_t)(end - old));
    memset(f->cache.data + old, 0, (size_t)(end - old));
  }
  memcpy(f->cache.data + off, buf, len);
  if (off < f->durable.len) f->rewritten = true;
  return (int64_t)len;
}

static int64_t disk_size(struct env *env, env_file fd) {
  struct sim_file *f = fd_file(node_of(env), fd);
  return f ? (int64_t)f->cache.len : ENV_EIO;
}

static int disk_truncate(struct env *env, env_file fd, uint64_t len) {
  struct sim_file *f = fd_file(node_of(env), fd);
  if (!f) return ENV_EIO;
  if (len > f->cache.len) {
    size_t old = f->cache.len;
    buf_extend(&f->cache, (size_t)(len - old));
    memset(f->cache.data + old, 0, (size_t)(len - old));
  }
  f->cache.len = (size_t)len;
  if (len < f->durable.len) f->rewritten = true;
  return 0;
}

struct fsync_op {
  struct sim_node *node;
  struct sim_file *file;
  env_fsync_fn done;
  void *ctx;
};

static void fsync_drop(void *ctx) {
  struct fsync_op *op = ctx;
  op->file->refs--;
  file_release(op->file);
  free(op);
}

/* Completes the fsync: the file's content as of now becomes durable. */
static void fsync_complete(struct sim_world *w, void *ctx, uint64_t arg) {
  (void)w, (void)arg;
  struct fsync_op *op = ctx;
  struct sim_node *n = op->node;
  int err = 0;
  if (n->fsync_failures > 0) {
    n->fsync_failures--;
    err = ENV_EIO;
  } else if (!op->file->rewritten && op->file->cache.len >= op->file->durable.len) {
    /* Only appended to since the last fsync (a log): copy just the tail. */
    struct sim_file *f = op->file;
    buf_append(&f->durable, f->cache.data + f->durable.len, f->cache.len - f->durable.len);
  } else {
    buf_reset(&op->file->durable);
    buf_append(&op->file->durable, op->file->cache.data, op->file->cache.len);
    op->file->rewritten = false;
  }
  env_fsync_fn done = op->done;
  void *done_ctx = op->ctx;
  fsync_drop(op);
  done(done_ctx, err);
}

static void disk_fsync(struct env *env, env_file fd, env_fsync_fn done, void *ctx) {
  struct sim_node *n = node_of(env);
  struct sim_file *f = fd_file(n, fd);
  if (!f) return; /* the process that asked is gone */
  struct fsync_op *op = malloc(sizeof *op);
  ASSERT(op != NULL);
  *op = (struct fsync_op){n, f, done, ctx};
  op->file->refs++;
  uint64_t delay = n->fsync_base_ns + sim_rng_below(&n->rng, n->fsync_jitter_ns);
  sim_schedule(n->world, n->index, delay, fsync_complete, op, 0, fsync_drop);
}

static void event_noop(struct sim_world *w, void *ctx, uint64_t arg) {
  (void)w, (void)ctx, (void)arg;
}

/* At a power loss, the fsyncs in flight fail (EIO) in the dying process, so
 * it lets go of what it was waiting with; nothing becomes durable. Runs in
 * queue order, which depends only on the run. */
void sim_disk_fail_inflight(struct sim_node *n) {
  struct sim_world *w = n->world;
  /* A failure can make the dying process start another fsync (the next
   * queued request): repeat until none is left, bounded. */
  for (int round = 0; round < 10000; round++) {
    struct fsync_op **ops = malloc((w->heap_count + 1) * sizeof *ops);
    ASSERT(ops != NULL);
    uint32_t count = 0;
    for (uint32_t i = 0; i < w->heap_count; i++) {
      struct sim_event *e = &w->heap[i];
      if (e->fn != fsync_complete || e->node != n->index || e->incarnation != n->incarnation)
        continue;
      ops[count++] = e->ctx;
      *e = (struct sim_event){.time_ns = e->time_ns,
                              .seq = e->seq,
                              .fn = event_noop,
                              .node = e->node,
                              .incarnation = e->incarnation};
    }
    for (uint32_t i = 0; i < count; i++) {
      env_fsync_fn done = ops[i]->done;
      void *ctx = ops[i]->ctx;
      fsync_drop(ops[i]);
      done(ctx, ENV_EIO);
    }
    free(ops);
    if (count == 0) return;
  }
  ASSERT(!"fsync failures kept starting fsyncs");
}

static int disk_rename(struct env *env, const char *from, const char *to) {
  struct sim_node *n = node_of(env);
  bool found;
  int i = find(n, from, &found);
  if (!found) return ENV_ENOENT;
  if (strlen(to) >= SIM_PATH_BYTES || !parent_exists(n, to)) return ENV_ENOENT;
  struct sim_file *f = n->files[i];
  memmove(&n->files[i], &n->files[i + 1], (size_t)(n->file_count - i - 1) * sizeof f);
  n->file_count--;
  int j = find(n, to, &found);
  if (found) remove_at(n, j); /* replaced, like rename(2) */
  j = find(n, to, &found);
  strcpy(f->path, to);
  memmove(&n->files[j + 1], &n->files[j], (size_t)(n->file_count - j) * sizeof f);
  n->files[j] = f;
  n->file_count++;
  return 0;
}

static int disk_unlink(struct env *env, const char *path) {
  struct sim_node *n = node_of(env);
  bool found;
  int i = find(n, path, &found);
  if (!found || n->files[i]->is_dir) return found ? ENV_EINVAL : ENV_ENOENT;
  remove_at(n, i);
  return 0;
}

static int disk_mkdir(struct env *env, const char *path) {
  struct sim_node *n = node_of(env);
  if (lookup(n, path)) return ENV_EEXIST;
  if (!parent_exists(n, path)) return ENV_ENOENT;
  struct sim_file *f;
  return insert(n, path, true, &f);
}

static bool is_child(const char *dir, size_t dir_len, const char *path, const char **name) {
  if (strncmp(path, dir, dir_len) != 0 || path[dir_len] != '/') return false;
  *name = path + dir_len + 1;
  return **name && !strchr(*name, '/');
}

static int disk_rmdir(struct env *env, const char *path) {
  struct sim_node *n = node_of(env);
  bool found;
  int i = find(n, path, &found);
  if (!found || !n->files[i]->is_dir) return ENV_ENOENT;
  const char *name;
  for (int j = 0; j < n->file_count; j++)
    if (is_child(path, strlen(path), n->files[j]->path, &name)) return ENV_EINVAL;
  remove_at(n, i);
  return 0;
}

static int disk_list(struct env *env, const char *dir, env_list_fn fn, void *ctx) {
  struct sim_node *n = node_of(env);
  struct sim_file *d = lookup(n, dir);
  if (!d || !d->is_dir) return ENV_ENOENT;
  size_t len = strlen(dir);
  /* Paths are sorted, so children come in name order; copy first, the
   * callback may change the directory. */
  char(*names)[SIM_PATH_BYTES] = malloc((size_t)(n->file_count + 1) * SIM_PATH_BYTES);
  bool *dirs = malloc((size_t)(n->file_count + 1));
  ASSERT(names && dirs);
  int count = 0;
  const char *name;
  for (int i = 0; i < n->file_count; i++)
    if (is_child(dir, len, n->files[i]->path, &name)) {
      strcpy(names[count], name);
      dirs[count++] = n->files[i]->is_dir;
    }
  for (int i = 0; i < count; i++) fn(ctx, names[i], dirs[i]);
  free(names);
  free(dirs);
  return 0;
}

static int disk_dir_sync(struct env *env, const char *dir) {
  struct sim_file *d = lookup(node_of(env), dir);
  return d && d->is_dir ? 0 : ENV_ENOENT;
}

int sim_disk_read_range(struct sim_node *n, env_file file, uint64_t offset, size_t len,
                        struct buf *out) {
  struct sim_file *f = fd_file(n, file);
  if (!f || offset + len > f->cache.len) return ENV_EIO;
  buf_append(out, f->cache.data + offset, len);
  return 0;
}

void sim_disk_install(struct sim_node *n) {
  n->fsync_base_ns = 2 * NS_PER_MS;
  n->fsync_jitter_ns = 3 * NS_PER_MS;
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
  insert(n, "", true, &root); /* "/" is the parent of top-level paths */
}

/* Power loss: every open file closes; each file keeps its durable bytes plus
 * a seeded prefix, whole 512-byte sectors, of what was appended past them
 * (the page cache reached the platters partly). Overwrites inside the
 * durable part that were never synced are lost. */
void sim_disk_crash(struct sim_node *n) {
  for (int fd = 0; fd < SIM_FDS_MAX; fd++)
    if (n->fds[fd].file) {
      fd_release(n, fd);
      n->fds[fd].dead = true;
    }
  for (int i = 0; i < n->file_count; i++) {
    struct sim_file *f = n->files[i];
    if (f->is_dir) continue;
    size_t keep = f->durable.len;
    if (f->cache.len > keep &&
        (keep == 0 || memcmp(f->cache.data, f->durable.data, keep) == 0)) {
      size_t extra_sectors = (f->cache.len - keep + SIM_SECTOR_BYTES - 1) / SIM_SECTOR_BYTES;
      size_t sectors = (size_t)sim_rng_below(&n->rng, extra_sectors + 1);
      size_t torn = sectors * SIM_SECTOR_BYTES;
      if (keep + torn > f->cache.len) torn = f->cache.len - keep;
      buf_append(&f->durable, f->cache.data + keep, torn);
    }
    buf_reset(&f->cache);
    buf_append(&f->cache, f->durable.data, f->durable.len);
    f->rewritten = false;
  }
}

void sim_disk_free(struct sim_node *n) {
  for (int fd = 0; fd < SIM_FDS_MAX; fd++) fd_release(n, fd);
  for (int i = n->file_count - 1; i >= 0; i--) remove_at(n, i);
}

void sim_disk_set_capacity(struct sim_node *n, uint64_t bytes) { n->capacity_bytes = bytes; }
void sim_disk_fail_fsyncs(struct sim_node *n, int count) { n->fsync_failures = count; }

void sim_disk_set_fsync_latency(struct sim_node *n, uint64_t base_ns, uint64_t jitter_ns) {
  n->fsync_base_ns = base_ns;
  n->fsync_jitter_ns = jitter_ns;
}

bool sim_disk_flip_bit(struct sim_node *n, const char *path, uint64_t offset, int bit) {
  struct sim_file *f = lookup(n, path);
  if (!f || offset >= f->cache.len) return false;
  f->cache.data[offset] ^= (uint8_t)(1u << (bit & 7));
  if (offset < f->durable.len) f->durable.data[offset] ^= (uint8_t)(1u << (bit & 7));
  return true;
}
