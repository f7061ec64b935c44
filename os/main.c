/* sluice: one Kafka-compatible broker process.
 *
 *   sluice --config server.properties [--override key=value ...]
 *   sluice --version | --help
 *
 * Reads server.properties (Kafka's key names), takes log.dirs/.lock so two
 * processes never share a log directory (Kafka locks the same file), starts
 * the node and runs the loop. SIGTERM or SIGINT asks the node for a clean
 * shutdown; a second one exits at once. Exit status: 0 after a clean
 * shutdown, 1 when the node cannot start, 2 for a bad command line or
 * configuration. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/assert.h"
#include "os/metrics_http.h"
#include "os/world.h"
#include "server/config.h"
#include "server/node.h"

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "0.0.0"
#endif

enum { CONFIG_FILE_BYTES_MAX = 1 << 20, OVERRIDES_MAX = 256, EXIT_USAGE = 2 };

struct args {
  const char *config_path;
  const char *overrides[OVERRIDES_MAX];
  int override_count;
};

static void usage(FILE *out) {
  fprintf(out, "usage: sluice --config server.properties [--override key=value ...]\n"
               "       sluice --version\n"
               "       sluice --help\n"
               "\n"
               "  --config FILE           server.properties, with Kafka's key names\n"
               "  --override KEY=VALUE    set one key after the file (repeatable)\n"
               "\n"
               "Environment: SLUICE_LOG_LEVEL=debug|info|warn|error (default info).\n");
}

/* Returns -1 to go on, or the exit status (--help, --version, bad usage). */
static int args_parse(int argc, char **argv, struct args *a) {
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    bool has_value = i + 1 < argc;
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(arg, "--version") == 0) {
      printf("sluice %s\n", SLUICE_VERSION);
      return 0;
    } else if (strcmp(arg, "--config") == 0 && has_value) {
      a->config_path = argv[++i];
    } else if (strncmp(arg, "--config=", 9) == 0) {
      a->config_path = arg + 9;
    } else if (strcmp(arg, "--override") == 0 && has_value) {
      if (a->override_count == OVERRIDES_MAX) {
        fprintf(stderr, "sluice: more than %d --override options\n", OVERRIDES_MAX);
        return EXIT_USAGE;
      }
      a->overrides[a->override_count++] = argv[++i];
    } else if (arg[0] != '-' && !a->config_path) {
      a->config_path = arg; /* kafka-server-start.sh style: the file as the argument */
    } else {
      fprintf(stderr, "sluice: unexpected argument '%s'\n", arg);
      usage(stderr);
      return EXIT_USAGE;
    }
  }
  if (!a->config_path) {
    usage(stderr);
    return EXIT_USAGE;
  }
  return -1;
}

/* Reads the whole file (at most CONFIG_FILE_BYTES_MAX) into a malloc()ed,
 * NUL-terminated buffer; on failure returns NULL with errno set (EFBIG when
 * too large). */
static char *file_read(const char *path, size_t *len_out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  char *text = malloc(CONFIG_FILE_BYTES_MAX + 2);
  ASSERT(text != NULL);
  size_t len = 0;
  for (int n = 0; len <= CONFIG_FILE_BYTES_MAX && n < 1 << 20; n++) {
    ssize_t r = read(fd, text + len, CONFIG_FILE_BYTES_MAX + 1 - len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      if (r == 0) break;
      int err = errno;
      close(fd);
      free(text);
      errno = err;
      return NULL;
    }
    len += (size_t)r;
  }
  close(fd);
  if (len > CONFIG_FILE_BYTES_MAX) {
    free(text);
    errno = EFBIG;
    return NULL;
  }
  text[len] = '\0';
  *len_out = len;
  return text;
}

/* Applies the file, then each --override; prints the first error. */
static bool config_load(struct config *cfg, const struct args *a, struct env *env) {
  size_t len;
  char *text = file_read(a->config_path, &len);
  if (!text) {
    fprintf(stderr, "sluice: %s: %s\n", a->config_path,
            errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
    return false;
  }
  char err[512];
  config_defaults(cfg);
  bool ok = config_parse(cfg, text, len, env, err, sizeof err);
  free(text);
  if (!ok) {
    fprintf(stderr, "sluice: %s: %s\n", a->config_path, err);
    return false;
  }
  for (int i = 0; i < a->override_count; i++) {
    char kv[1024];
    snprintf(kv, sizeof kv, "%s", a->overrides[i]);
    char *eq = strchr(kv, '=');
    if (eq) *eq = '\0';
    if (!eq || kv[0] == '\0' || !config_set(cfg, kv, eq + 1, env, err, sizeof err)) {
      fprintf(stderr, "sluice: --override %s: %s\n", a->overrides[i],
              eq && kv[0] ? err : "expected key=value");
      return false;
    }
  }
  return true;
}

static void log_level_from_environment(struct os_world *w) {
  static const struct {
    const char *name;
    enum env_log_level level;
  } levels[] = {{"debug", ENV_LOG_DEBUG},
                {"info", ENV_LOG_INFO},
                {"warn", ENV_LOG_WARN},
                {"warning", ENV_LOG_WARN},
                {"error", ENV_LOG_ERROR}};
  const char *value = getenv("SLUICE_LOG_LEVEL");
  if (!value || value[0] == '\0') return;
  for (size_t i = 0; i < ARRAY_LEN(levels); i++) {
    if (strcasecmp(value, levels[i].name) == 0) {
      os_world_set_log_level(w, levels[i].level);
      return;
    }
  }
  env_log(os_world_env(w), ENV_LOG_WARN,
          "SLUICE_LOG_LEVEL=%s is not debug, info, warn or error", value);
}

/* mkdir -p: log.dirs may name a directory whose parents do not exist yet. */
static int mkdir_parents(const char *dir) {
  char path[CONFIG_STR_MAX];
  size_t len = strlen(dir);
  if (len == 0 || len >= sizeof path) return ENAMETOOLONG;
  memcpy(path, dir, len + 1);
  for (size_t i = 1; i <= len; i++) {
    if (path[i] != '/' && path[i] != '\0') continue;
    char saved = path[i];
    path[i] = '\0';
    if (mkdir(path, 0755) != 0 && errno != EEXIST) return errno;
    path[i] = saved;
  }
  return 0;
}

/* Returns the fd holding an exclusive flock on <dir>/.lock, or exits. */
static int log_dirs_lock(const char *dir) {
  int err = mkdir_parents(dir);
  if (err != 0) {
    fprintf(stderr, "sluice: log.dirs %s: %s\n", dir, strerror(err));
    exit(1);
  }
  char path[CONFIG_STR_MAX + 16];
  snprintf(path, sizeof path, "%s/.lock", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    fprintf(stderr, "sluice: %s: %s\n", path, strerror(errno));
    exit(1);
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      fprintf(stderr, "sluice: log.dirs %s is in use by another process\n", dir);
    else
      fprintf(stderr, "sluice: %s: %s\n", path, strerror(errno));
    exit(1);
  }
  return fd;
}

struct app {
  struct os_world *world;
  struct node *node;
  int signals_seen;
};

static void on_shutdown_done(void *ctx) {
  struct app *app = ctx;
  os_world_stop(app->world); /* the node has logged its clean shutdown */
}

/* One line for make bench (bench/run.sh reads it): how late the loop ran
 * its timers over the process's life, which shows whether anything (a
 * disk, a slow callback) held it up. */
static void timer_lateness_log(struct os_world *w) {
  uint64_t p50_us, p99_us, max_us;
  uint64_t count = os_world_timer_lateness(w, &p50_us, &p99_us, &max_us);
  env_log(os_world_env(w), ENV_LOG_INFO,
          "timer lateness: p50 %" PRIu64 " us, p99 %" PRIu64 " us, max %" PRIu64 " us (%" PRIu64
          " timers)",
          p50_us, p99_us, max_us, count);
}

static void on_signal(void *ctx, int signo) {
  struct app *app = ctx;
  ASSERT(app->node != NULL);
  if (app->signals_seen++ > 0) {
    env_log(os_world_env(app->world), ENV_LOG_WARN, "second %s: exiting without shutdown",
            strsignal(signo));
    _exit(1);
  }
  env_log(os_world_env(app->world), ENV_LOG_INFO, "%s: shutting down", strsignal(signo));
  node_shutdown(app->node, on_shutdown_done, app);
}

int main(int argc, char **argv) {
  struct args a = {0};
  int status = args_parse(argc, argv, &a);
  if (status >= 0) return status;
  signal(SIGPIPE, SIG_IGN);

  /* The world comes first so config warnings reach the log; its node id is
   * known once the file is read. */
  struct app app = {.world = os_world_create(-1)};
  struct env *env = os_world_env(app.world);
  log_level_from_environment(app.world);
  struct config cfg;
  if (!config_load(&cfg, &a, env)) {
    os_world_destroy(app.world);
    return EXIT_USAGE;
  }
  env->node_id = cfg.node_id;
  int lock_fd = log_dirs_lock(cfg.log_dirs);

  /* Blocked from here on: a signal during recovery waits for the loop. */
  int signos[] = {SIGTERM, SIGINT};
  int rc = os_world_watch_signals(app.world, signos, 2, on_signal, &app);
  if (rc != 0) {
    fprintf(stderr, "sluice: cannot watch signals: error %d\n", rc);
    os_world_destroy(app.world);
    return 1;
  }
  if (node_create(env, &cfg, &app.node) != 0) { /* the reason is logged */
    os_world_destroy(app.world);
    return 1;
  }
  if (node_start(app.node) != 0) {
    node_destroy(app.node);
    os_world_destroy(app.world);
    return 1;
  }
  struct os_metrics *metrics = NULL;
  if (cfg.metrics_listener[0] != '\0') {
    metrics = os_metrics_start(app.world, app.node, cfg.metrics_listener);
    if (metrics == NULL) { /* the reason is printed: a listener asked for must work */
      node_destroy(app.node);
      os_world_destroy(app.world);
      return 1;
    }
  }
  os_world_run(app.world);
  os_metrics_stop(metrics);
  timer_lateness_log(app.world);
  node_destroy(app.node);
  os_world_destroy(app.world);
  close(lock_fd);
  return 0;
}
