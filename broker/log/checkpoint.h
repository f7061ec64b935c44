/* Kafka's offset checkpoint files at the log dir root,
 * recovery-point-offset-checkpoint and log-start-offset-checkpoint:
 *
 *   0                          version
 *   N                          entry count
 *   <topic> <partition> <offset>   N lines
 *
 * leader-epoch-checkpoint has the same frame with "<epoch> <start offset>"
 * lines; checkpoint_text_parse is shared. Files are replaced atomically
 * (log/atomic_file.h). */
#ifndef SLUICE_LOG_CHECKPOINT_H
#define SLUICE_LOG_CHECKPOINT_H

#include <stdint.h>

#include "base/buf.h"
#include "env.h"

enum {
  CHECKPOINT_TOPIC_BYTES = 250,     /* topic names are at most 249 chars */
  CHECKPOINT_ENTRIES_MAX = 1 << 22, /* bounds what a (corrupt) count can ask for */
  CHECKPOINT_LINE_BYTES = 512,
  CHECKPOINT_FIELDS_MAX = 4,
};

struct checkpoint_entry {
  char topic[CHECKPOINT_TOPIC_BYTES];
  int32_t partition;
  int64_t offset;
};

/* Reads a checkpoint: a missing file is 0 entries. *entries_out is malloc()ed
 * (NULL when there are none; the caller frees it). ENV_EINVAL if malformed
 * (logged at ERROR with the line), or another ENV_E* read error. */
int checkpoint_read(struct env *env, const char *path, struct checkpoint_entry **entries_out,
                    int *count_out);
/* Writes <path>.tmp now and renames it into place after its fsync
 * completes. Do not overlap two writes of one path; checkpoint_write_then's
 * done (may be NULL) tells when the last one landed. */
int checkpoint_write(struct env *env, const char *path, const struct checkpoint_entry *entries,
                     int count);
int checkpoint_write_then(struct env *env, const char *path,
                          const struct checkpoint_entry *entries, int count, env_fsync_fn done,
                          void *ctx);

void checkpoint_format(const struct checkpoint_entry *entries, int count, struct buf *out);
int checkpoint_parse(const char *text, size_t len, struct checkpoint_entry **entries_out,
                     int *count_out);

/* Parses the frame: version 0, the count, then exactly `count` lines of
 * exactly `fields` space-separated tokens, each handed to line(ctx, index,
 * tokens) (NUL-terminated; a non-zero return stops with that error).
 * ENV_EINVAL when the frame is malformed. */
typedef int (*checkpoint_line_fn)(void *ctx, int64_t index, char **fields);
int checkpoint_text_parse(const char *text, size_t len, int fields, checkpoint_line_fn line,
                          void *ctx, int64_t *count_out);

#endif
