/* Small whole files beside the segments (leader-epoch-checkpoint) and at the
 * log dir root (the offset checkpoints): read whole, and replaced atomically
 * by writing <path>.tmp, fsyncing it, renaming it over <path> and syncing the
 * directory (Kafka's CheckpointFile does the same). env fsync is
 * asynchronous, so the rename happens in its completion: a crash leaves the
 * old file or the new one, never a torn one. */
#ifndef SLUICE_LOG_ATOMIC_FILE_H
#define SLUICE_LOG_ATOMIC_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "env.h"

enum { ATOMIC_FILE_BYTES_MAX = 1 << 26, ATOMIC_FILE_PATH_BYTES = 1024 };

/* Appends the file's bytes to out; ENV_ENOENT if it is missing, ENV_EINVAL if
 * it is larger than ATOMIC_FILE_BYTES_MAX. */
int atomic_file_read(struct env *env, const char *path, struct buf *out);

/* Writes <path>.tmp now; done(ctx, err) (may be NULL) runs after the fsync,
 * rename and directory sync. Returns 0, or ENV_E* (and done is not called)
 * if the temporary file could not be written. Two writes of one path must
 * not overlap (they share the .tmp file): chain them through done, or use an
 * atomic_file_writer. */
int atomic_file_write(struct env *env, const char *path, const void *data, size_t len,
                      env_fsync_fn done, void *ctx);

/* Serialises the writes of one path: a write asked for while one is in
 * flight waits, and a newer one replaces it (only the newest content
 * matters). Failures are logged at ERROR. */
struct atomic_file_writer;
struct atomic_file_writer *atomic_file_writer_create(struct env *env, const char *path);
/* 0, or ENV_E* if the temporary file could not be written right now. */
int atomic_file_writer_submit(struct atomic_file_writer *w, const void *data, size_t len);
/* The owner lets go. The write in flight and the newest waiting one still
 * land unless cancel (the directory is being deleted); the writer frees
 * itself when done. */
void atomic_file_writer_release(struct atomic_file_writer *w, bool cancel);

#endif
