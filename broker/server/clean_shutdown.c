/* KIP-966's clean shutdown marker: after a shutdown that flushed every log
 * and wrote the checkpoints, <log.dirs>/.kafka_cleanshutdown holds the broker
 * epoch the node ran in ({"version":0,"brokerEpoch":N}, Kafka's file). The
 * next start takes it (reads and deletes it) and registers with it as
 * PreviousBrokerEpoch; a start without it (a crash, a power loss) registers
 * with -1, and the controller then knows this broker's log may have lost a
 * tail that was never flushed (meta/elr.h). A stale marker that survives
 * its deletion names an older epoch than the registration the controller
 * holds, so it reads as unclean too. */
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "log/atomic_file.h"
#include "server/server.h"

#define CLEAN_SHUTDOWN_FILE ".kafka_cleanshutdown"

static void marker_path(const struct node *node, char *out, size_t cap) {
  str_fmt(out, cap, "%s/%s", node->cfg.log_dirs, CLEAN_SHUTDOWN_FILE);
}

/* The brokerEpoch of the marker's text, or -1 when it has none. */
static int64_t epoch_of(const char *text, size_t len) {
  static const char key[] = "\"brokerEpoch\":";
  char copy[256];
  if (len >= sizeof copy) return -1;
  memcpy(copy, text, len);
  copy[len] = '\0';
  const char *at = strstr(copy, key);
  if (at == NULL) return -1;
  at += sizeof key - 1;
  char digits[32];
  size_t n = 0;
  while (n + 1 < sizeof digits &&
         ((at[n] >= '0' && at[n] <= '9') || (n == 0 && at[n] == '-'))) {
    digits[n] = at[n];
    n++;
  }
  digits[n] = '\0';
  int64_t epoch = -1;
  return n > 0 && str_to_i64(digits, &epoch) && epoch >= 0 ? epoch : -1;
}

int64_t clean_shutdown_take(struct node *node) {
  ASSERT(node != NULL && node->env != NULL);
  char path[600];
  marker_path(node, path, sizeof path);
  struct buf text;
  buf_init(&text);
  int rc = atomic_file_read(node->env, path, &text);
  int64_t epoch = rc == 0 ? epoch_of((const char *)text.data, text.len) : -1;
  buf_free(&text);
  if (rc != 0) return -1;
  (void)node->env->unlink(node->env, path); /* a crash from now on is unclean */
  env_log(node->env, ENV_LOG_INFO, "the last shutdown was clean (broker epoch %lld)",
          (long long)epoch);
  return epoch;
}

int clean_shutdown_mark(struct node *node, int64_t broker_epoch, env_fsync_fn done, void *ctx) {
  ASSERT(node != NULL && broker_epoch >= 0);
  char path[600], text[96];
  marker_path(node, path, sizeof path);
  str_fmt(text, sizeof text, "{\"version\":0,\"brokerEpoch\":%lld}", (long long)broker_epoch);
  return atomic_file_write(node->env, path, text, strlen(text), done, ctx);
}
