#include "log/atomic_file.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"

int atomic_file_read(struct env *env, const char *path, struct buf *out) {
  ASSERT(env != NULL && path != NULL);
  env_file f;
  int rc = env->open(env, path, ENV_O_READONLY, &f);
  if (rc < 0) return rc;
  int64_t size = env->file_size(env, f);
  if (size < 0 || size > ATOMIC_FILE_BYTES_MAX) {
    env->file_close(env, f);
    return size < 0 ? (int)size : ENV_EINVAL;
  }
  uint8_t *at = buf_extend(out, (size_t)size);
  int64_t n = env->pread(env, f, at, (size_t)size, 0);
  env->file_close(env, f);
  if (n != size) {
    out->len -= (size_t)size;
    return n < 0 ? (int)n : ENV_EIO;
  }
  return 0;
}

struct replace_op {
  struct env *env;
  env_file file;
  env_fsync_fn done;
  void *ctx;
  char path[ATOMIC_FILE_PATH_BYTES];
  char tmp[ATOMIC_FILE_PATH_BYTES + 8];
  char dir[ATOMIC_FILE_PATH_BYTES];
};

static void parent_dir(const char *path, char *out, size_t cap) {
  const char *slash = strrchr(path, '/');
  if (!slash) {
    str_fmt(out, cap, ".");
  } else if (slash == path) {
    str_fmt(out, cap, "/");
  } else {
    str_fmt(out, cap, "%.*s", (int)(slash - path), path);
  }
}

static void replace_synced(void *ctx, int err) {
  struct replace_op *op = ctx;
  struct env *env = op->env;
  if (err == 0) err = env->rename(env, op->tmp, op->path);
  if (err == 0) err = env->dir_sync(env, op->dir);
  env_fsync_fn done = op->done;
  void *done_ctx = op->ctx;
  free(op);
  if (done) done(done_ctx, err);
}

int atomic_file_write(struct env *env, const char *path, const void *data, size_t len,
                      env_fsync_fn done, void *ctx) {
  ASSERT(env != NULL && path != NULL);
  ASSERT(data != NULL || len == 0);
  if (strlen(path) >= ATOMIC_FILE_PATH_BYTES) return ENV_EINVAL;
  struct replace_op *op = calloc(1, sizeof *op);
  ASSERT(op != NULL);
  op->env = env;
  op->done = done;
  op->ctx = ctx;
  str_fmt(op->path, sizeof op->path, "%s", path);
  str_fmt(op->tmp, sizeof op->tmp, "%s.tmp", path);
  parent_dir(path, op->dir, sizeof op->dir);
  int rc = env->open(env, op->tmp, ENV_O_CREATE | ENV_O_TRUNC, &op->file);
  if (rc < 0) {
    free(op);
    return rc;
  }
  int64_t n = len ? env->pwrite(env, op->file, data, len, 0) : 0;
  if (n != (int64_t)len) {
    env->file_close(env, op->file);
    env->unlink(env, op->tmp);
    free(op);
    return n < 0 ? (int)n : ENV_EIO;
  }
  env_file file = op->file; /* op may be gone once fsync returns */
  env->fsync(env, file, replace_synced, op);
  /* The world syncs a descriptor of its own (env.h): a thousand writes in
   * flight (a leader epoch for each new partition) hold none of ours. */
  env->file_close(env, file);
  return 0;
}

struct atomic_file_writer {
  struct env *env;
  bool busy;
  bool released;
  bool cancelled;
  bool has_next;
  uint8_t *next;
  size_t next_len;
  char path[ATOMIC_FILE_PATH_BYTES];
};

struct atomic_file_writer *atomic_file_writer_create(struct env *env, const char *path) {
  ASSERT(env != NULL && path != NULL);
  ASSERT(strlen(path) < ATOMIC_FILE_PATH_BYTES);
  struct atomic_file_writer *w = calloc(1, sizeof *w);
  ASSERT(w != NULL);
  w->env = env;
  str_fmt(w->path, sizeof w->path, "%s", path);
  return w;
}

static void writer_drop_next(struct atomic_file_writer *w) {
  free(w->next);
  w->next = NULL;
  w->next_len = 0;
  w->has_next = false;
}

static void writer_done(void *ctx, int err);

static int writer_start(struct atomic_file_writer *w, const void *data, size_t len) {
  ASSERT(!w->busy);
  w->busy = true;
  int rc = atomic_file_write(w->env, w->path, data, len, writer_done, w);
  if (rc != 0) {
    w->busy = false;
    env_log(w->env, ENV_LOG_ERROR, "could not write %s: error %d", w->path, rc);
  }
  return rc;
}

static void writer_done(void *ctx, int err) {
  struct atomic_file_writer *w = ctx;
  ASSERT(w->busy);
  w->busy = false;
  if (err != 0 && !w->cancelled)
    env_log(w->env, ENV_LOG_ERROR, "could not replace %s: error %d", w->path, err);
  if (w->has_next && !w->cancelled) {
    uint8_t *data = w->next;
    size_t len = w->next_len;
    w->next = NULL;
    w->has_next = false;
    writer_start(w, data, len);
    free(data);
  }
  if (w->released && !w->busy) {
    writer_drop_next(w);
    free(w);
  }
}

int atomic_file_writer_submit(struct atomic_file_writer *w, const void *data, size_t len) {
  ASSERT(w != NULL && !w->released);
  if (!w->busy) return writer_start(w, data, len);
  writer_drop_next(w);
  w->next = malloc(len ? len : 1);
  ASSERT(w->next != NULL);
  if (len) memcpy(w->next, data, len);
  w->next_len = len;
  w->has_next = true;
  return 0;
}

void atomic_file_writer_release(struct atomic_file_writer *w, bool cancel) {
  if (!w) return;
  ASSERT(!w->released);
  w->released = true;
  w->cancelled = cancel;
  if (cancel) writer_drop_next(w);
  if (!w->busy) {
    writer_drop_next(w);
    free(w);
  }
}
