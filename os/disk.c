/* The real world's disk: POSIX files. env_file is an index into the world's
 * fd table, reusing the lowest free slot so ids stay small and repeatable.
 * pread/pwrite are synchronous (they reach the page cache); fsync runs
 * fdatasync() on the I/O thread (io_thread.c) and reports through the loop,
 * as the simulator does, so the loop never waits for the disk. dir_sync stays
 * synchronous: the broker calls it only when it creates, renames or deletes
 * files (segment rolls, checkpoints, topic creation), not per produce. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* rename */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/assert.h"
#include "os/internal.h"

enum {
  FILES_MAX = 1 << 22,
  IO_ROUNDS_MAX = 1 << 20, /* partial transfers in one pread/pwrite */
  LIST_ENTRIES_MAX = 1 << 22,
  OPEN_FLAGS_ALL = ENV_O_CREATE | ENV_O_EXCL | ENV_O_TRUNC | ENV_O_READONLY,
};

static int err_now(void) { return os_err_from_errno(errno); }

int os_disk_fd(struct os_world *w, env_file file) {
  if (file < 0 || file >= w->fd_cap) return -1;
  return w->fds[file];
}

enum { FD_EXHAUSTED_LOG_INTERVAL_NS = 60 * NS_PER_S };

void os_fd_exhausted_log(struct os_world *w, const char *what, int err) {
  uint64_t now_ns = w->env.now_ns(&w->env);
  w->fd_exhausted_count++;
  if (w->fd_exhausted_logged && now_ns - w->fd_exhausted_log_ns < FD_EXHAUSTED_LOG_INTERVAL_NS)
    return;
  env_log(&w->env, ENV_LOG_WARN,
          "out of file descriptors (%s) at %s; %llu times since the last such line: "
          "raise the limit (ulimit -n) or lower sluice.open.segments.max",
          strerror(err), what, (unsigned long long)w->fd_exhausted_count);
  w->fd_exhausted_logged = true;
  w->fd_exhausted_log_ns = now_ns;
  w->fd_exhausted_count = 0;
}

static env_file file_slot_take(struct os_world *w, int fd) {
  ASSERT(fd >= 0);
  for (int32_t i = w->fd_free_hint; i < w->fd_cap; i++) {
    if (w->fds[i] < 0) {
      w->fds[i] = fd;
      w->fd_held[i] = true;
      w->fd_free_hint = i + 1;
      return i;
    }
  }
  int32_t old_cap = w->fd_cap, cap = old_cap ? old_cap * 2 : 64;
  ASSERT(cap <= FILES_MAX);
  int *fds = realloc(w->fds, (size_t)cap * sizeof *fds);
  bool *held = realloc(w->fd_held, (size_t)cap * sizeof *held);
  ASSERT(fds != NULL && held != NULL);
  w->fd_held = held;
  int32_t *sends = realloc(w->fd_sends, (size_t)cap * sizeof *sends);
  ASSERT(sends != NULL);
  w->fd_sends = sends;
  for (int32_t i = old_cap; i < cap; i++) fds[i] = -1, held[i] = false, sends[i] = 0;
  w->fds = fds;
  w->fd_cap = cap;
  w->fds[old_cap] = fd;
  w->fd_held[old_cap] = true;
  w->fd_free_hint = old_cap + 1;
  return old_cap;
}

static int disk_open(struct env *env, const char *path, int flags, env_file *file_out) {
  ASSERT(file_out != NULL);
  if (!path || (flags & ~OPEN_FLAGS_ALL) != 0) return ENV_EINVAL;
  if ((flags & ENV_O_EXCL) && !(flags & ENV_O_CREATE)) return ENV_EINVAL;
  int oflags = O_CLOEXEC | ((flags & ENV_O_READONLY) ? O_RDONLY : O_RDWR);
  if (flags & ENV_O_CREATE) oflags |= O_CREAT;
  if (flags & ENV_O_EXCL) oflags |= O_EXCL;
  if (flags & ENV_O_TRUNC) oflags |= O_TRUNC;
  int fd;
  do fd = open(path, oflags, 0644);
  while (fd < 0 && errno == EINTR);
  if (fd < 0 && (errno == EMFILE || errno == ENFILE))
    os_fd_exhausted_log(os_world_of(env), path, errno);
  if (fd < 0) return err_now();
  *file_out = file_slot_take(os_world_of(env), fd);
  return 0;
}

static void file_slot_free(struct os_world *w, env_file file) {
  ASSERT(!w->fd_held[file] && w->fd_sends[file] == 0 && w->fds[file] >= 0);
  close(w->fds[file]); /* Linux frees the fd even when close() reports an error */
  w->fds[file] = -1;
  if (file < w->fd_free_hint) w->fd_free_hint = file;
}

/* Unknown ids are a no-op: closing twice must not close someone else's fd.
 * The descriptor itself goes when the last queued send reading it is done. */
static void disk_file_close(struct env *env, env_file file) {
  struct os_world *w = os_world_of(env);
  if (os_disk_fd(w, file) < 0 || !w->fd_held[file]) return;
  w->fd_held[file] = false;
  if (w->fd_sends[file] == 0) file_slot_free(w, file);
}

void os_disk_send_ref(struct os_world *w, env_file file) {
  ASSERT(os_disk_fd(w, file) >= 0 && w->fd_held[file]);
  ASSERT(w->fd_sends[file] < INT32_MAX);
  w->fd_sends[file]++;
}

void os_disk_send_unref(struct os_world *w, env_file file) {
  ASSERT(os_disk_fd(w, file) >= 0 && w->fd_sends[file] > 0);
  w->fd_sends[file]--;
  if (w->fd_sends[file] == 0 && !w->fd_held[file]) file_slot_free(w, file);
}

static int64_t disk_pread(struct env *env, env_file file, void *buf, size_t len,
                          uint64_t offset) {
  int fd = os_disk_fd(os_world_of(env), file);
  if (fd < 0 || (len > 0 && !buf) || offset > INT64_MAX || len > INT64_MAX - offset)
    return ENV_EINVAL;
  size_t done = 0;
  for (int n = 0; done < len && n < IO_ROUNDS_MAX; n++) {
    ssize_t r = pread(fd, (char *)buf + done, len - done, (off_t)(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return err_now();
    if (r == 0) break; /* end of file: a short read */
    done += (size_t)r;
  }
  return (int64_t)done;
}

static int64_t disk_pwrite(struct env *env, env_file file, const void *buf, size_t len,
                           uint64_t offset) {
  int fd = os_disk_fd(os_world_of(env), file);
  if (fd < 0 || (len > 0 && !buf) || offset > INT64_MAX || len > INT64_MAX - offset)
    return ENV_EINVAL;
  size_t done = 0;
  for (int n = 0; done < len && n < IO_ROUNDS_MAX; n++) {
    ssize_t r = pwrite(fd, (const char *)buf + done, len - done, (off_t)(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return err_now();
    if (r == 0) return ENV_EIO; /* no progress and no error: do not spin */
    done += (size_t)r;
  }
  ASSERT(done == len);
  return (int64_t)done;
}

static int64_t disk_file_size(struct env *env, env_file file) {
  int fd = os_disk_fd(os_world_of(env), file);
  if (fd < 0) return ENV_EINVAL;
  struct stat st;
  if (fstat(fd, &st) != 0) return err_now();
  ASSERT(st.st_size >= 0);
  return (int64_t)st.st_size;
}

static int disk_truncate(struct env *env, env_file file, uint64_t len) {
  int fd = os_disk_fd(os_world_of(env), file);
  if (fd < 0 || len > INT64_MAX) return ENV_EINVAL;
  int rc;
  do rc = ftruncate(fd, (off_t)len);
  while (rc != 0 && errno == EINTR);
  return rc == 0 ? 0 : err_now();
}

/* The thread syncs a dup() of the fd, so the file may be closed (a deleted
 * segment) before the fsync runs. A bad file and a failed dup() also go
 * through the thread's queue, so every completion comes later and in issue
 * order; out of descriptors, the sync runs here, on the loop, as it did
 * before the thread. */
static void disk_fsync(struct env *env, env_file file, env_fsync_fn done, void *ctx) {
  struct os_world *w = os_world_of(env);
  int fd = os_disk_fd(w, file);
  if (fd < 0) {
    os_io_submit(w, -1, ENV_EINVAL, done, ctx);
    return;
  }
  /* Each queued job holds its dup: past an eighth of the descriptor table
   * (w->io_dups_max) the sync runs here, so that a burst of fsyncs (the
   * checkpoints of a thousand new partitions) cannot fill the table the
   * clients also need. */
  int dup_fd = os_io_in_flight(w) < w->io_dups_max ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
  if (dup_fd >= 0) {
    os_io_submit(w, dup_fd, 0, done, ctx);
    return;
  }
  int rc = os_io_fdatasync(fd);
  os_io_submit(w, -1, rc == 0 ? 0 : os_err_from_errno(rc), done, ctx);
}

static int disk_rename(struct env *env, const char *from, const char *to) {
  (void)env;
  if (!from || !to) return ENV_EINVAL;
  return rename(from, to) == 0 ? 0 : err_now();
}

static int disk_unlink(struct env *env, const char *path) {
  (void)env;
  if (!path) return ENV_EINVAL;
  return unlink(path) == 0 ? 0 : err_now();
}

static int disk_mkdir(struct env *env, const char *path) {
  (void)env;
  if (!path) return ENV_EINVAL;
  return mkdir(path, 0755) == 0 ? 0 : err_now();
}

static int disk_rmdir(struct env *env, const char *path) {
  (void)env;
  if (!path) return ENV_EINVAL;
  return rmdir(path) == 0 ? 0 : err_now();
}

struct list_entry {
  char *name;
  bool is_dir;
};

static int list_entry_cmp(const void *a, const void *b) {
  return strcmp(((const struct list_entry *)a)->name, ((const struct list_entry *)b)->name);
}

static bool entry_is_dir(DIR *d, const struct dirent *de) {
  if (de->d_type == DT_DIR) return true;
  if (de->d_type != DT_UNKNOWN && de->d_type != DT_LNK) return false;
  struct stat st; /* the file system does not say, or it is a link: follow it */
  return fstatat(dirfd(d), de->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode);
}

/* Reads the whole directory first so fn sees the names in strcmp order and
 * may create or remove entries without disturbing the readdir. */
static int list_read(DIR *d, struct list_entry **out, size_t *count_out) {
  struct list_entry *entries = NULL;
  size_t count = 0, cap = 0;
  int err = ENV_ENOMEM; /* stays so only if the directory is larger than the bound */
  for (size_t n = 0; n < LIST_ENTRIES_MAX + 2; n++) {
    errno = 0;
    struct dirent *de = readdir(d);
    if (!de) {
      err = errno != 0 ? err_now() : 0;
      break;
    }
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    if (count == cap) {
      cap = cap ? cap * 2 : 32;
      struct list_entry *grown = realloc(entries, cap * sizeof *grown);
      ASSERT(grown != NULL);
      entries = grown;
    }
    entries[count].name = strdup(de->d_name);
    ASSERT(entries[count].name != NULL);
    entries[count++].is_dir = entry_is_dir(d, de);
  }
  *out = entries;
  *count_out = count;
  return err;
}

static int disk_list(struct env *env, const char *dir, env_list_fn fn, void *ctx) {
  (void)env;
  ASSERT(fn != NULL);
  if (!dir) return ENV_EINVAL;
  DIR *d = opendir(dir);
  if (!d) return err_now();
  struct list_entry *entries;
  size_t count;
  int err = list_read(d, &entries, &count);
  closedir(d);
  if (count > 1) qsort(entries, count, sizeof *entries, list_entry_cmp);
  for (size_t i = 0; i < count; i++) {
    if (err == 0) fn(ctx, entries[i].name, entries[i].is_dir);
    free(entries[i].name);
  }
  free(entries);
  return err;
}

static int disk_dir_sync(struct env *env, const char *dir) {
  (void)env;
  if (!dir) return ENV_EINVAL;
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return err_now();
  int rc;
  do rc = fsync(fd);
  while (rc != 0 && errno == EINTR);
  int err = rc == 0 ? 0 : err_now();
  close(fd);
  return err;
}

void os_disk_init(struct os_world *w) {
  struct env *env = &w->env;
  env->open = disk_open;
  env->file_close = disk_file_close;
  env->pread = disk_pread;
  env->pwrite = disk_pwrite;
  env->file_size = disk_file_size;
  env->truncate = disk_truncate;
  env->fsync = disk_fsync;
  env->rename = disk_rename;
  env->unlink = disk_unlink;
  env->mkdir = disk_mkdir;
  env->rmdir = disk_rmdir;
  env->list = disk_list;
  env->dir_sync = disk_dir_sync;
  w->fd_free_hint = 0;
  struct rlimit nofile;
  uint64_t table = getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY
                       ? (uint64_t)nofile.rlim_cur
                       : OS_IO_JOBS_MAX * 8;
  w->io_dups_max = table / 8 < OS_IO_JOBS_MAX ? table / 8 : OS_IO_JOBS_MAX;
}

void os_disk_free(struct os_world *w) {
  for (int32_t i = 0; i < w->fd_cap; i++)
    if (w->fds[i] >= 0) close(w->fds[i]);
  free(w->fds);
  free(w->fd_held);
  free(w->fd_sends);
  w->fds = NULL;
  w->fd_held = NULL;
  w->fd_sends = NULL;
  w->fd_cap = 0;
}
