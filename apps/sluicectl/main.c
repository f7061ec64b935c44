/* sluicectl: the operator's tool, with the commands and output of Kafka's
 * kafka-storage.sh and kafka-metadata-quorum.sh, and (through librdkafka's
 * admin API, apps/sluicectl/admin.h) kafka-topics.sh, kafka-consumer-groups.sh
 * and kafka-configs.sh; kafka-reassign-partitions.sh and
 * kafka-leader-election.sh over the broker's own client (reassign.h).
 *
 *   sluicectl storage random-uuid
 *   sluicectl storage format -t CLUSTER_ID -c server.properties [--ignore-formatted]
 *   sluicectl metadata-quorum (--bootstrap-controller | --bootstrap-server) HOST:PORT[,...]
 *             describe --status
 *
 * The work is done by broker/ code the node and the simulator share
 * (server/storage_format.h, client/quorum_status.h), here over the OS world.
 * Exit status: 0 on success, 1 on an error (the reason on stderr), as the
 * Kafka tools do. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apps/sluicectl/admin.h"
#include "apps/sluicectl/reassign.h"
#include "base/assert.h"
#include "client/kclient.h"
#include "client/quorum_status.h"
#include "net/dispatch.h"
#include "os/world.h"
#include "server/config.h"
#include "server/files.h"
#include "server/storage_format.h"

enum { CONFIG_FILE_BYTES_MAX = 1 << 20, QUERY_TIMEOUT_MS = 30000, BOOTSTRAP_MAX = 16 };

static int usage(void) {
  fprintf(
      stderr,
      "usage: sluicectl storage random-uuid\n"
      "       sluicectl storage format -t CLUSTER_ID -c server.properties "
      "[--ignore-formatted]\n"
      "       sluicectl metadata-quorum (--bootstrap-controller|--bootstrap-server) "
      "HOST:PORT[,HOST:PORT...] describe --status\n"
      "       sluicectl topics --bootstrap-server HOST:PORT "
      "(--list|--describe|--create|--alter|--delete) ...\n"
      "       sluicectl consumer-groups --bootstrap-server HOST:PORT "
      "(--list|--describe|--delete|"
      "--reset-offsets) ...\n"
      "       sluicectl configs --bootstrap-server HOST:PORT (--describe|--alter) (--topic "
      "T|--broker ID) ...\n"
      "       sluicectl partitions reassign --bootstrap-server HOST:PORT "
      "(--generate|--execute|--verify|--cancel) ...\n"
      "       sluicectl leader-election --bootstrap-server HOST:PORT --election-type "
      "preferred|unclean ...\n"
      "       sluicectl cluster describe --bootstrap-server HOST:PORT\n"
      "       sluicectl produce --bootstrap-server HOST:PORT --topic T < lines\n"
      "       sluicectl consume --bootstrap-server HOST:PORT --topic T [--from-beginning] ...\n"
      "       sluicectl COMMAND --help\n");
  return 1;
}

/* The whole file, NUL-terminated, malloc()ed; NULL with errno set. */
static char *file_read(const char *path, size_t *len_out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  char *text = malloc(CONFIG_FILE_BYTES_MAX + 1);
  ASSERT(text != NULL);
  size_t len = 0;
  for (;;) {
    ssize_t r = read(fd, text + len, CONFIG_FILE_BYTES_MAX - len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int err = errno;
      close(fd);
      free(text);
      errno = err;
      return NULL;
    }
    if (r == 0 || (len += (size_t)r) == CONFIG_FILE_BYTES_MAX) break;
  }
  close(fd);
  text[len] = 0;
  *len_out = len;
  return text;
}

/* mkdir -p, as kafka-storage.sh creates missing directories. */
static int mkdir_parents(const char *dir) {
  char path[CONFIG_STR_MAX];
  size_t len = strlen(dir);
  if (len == 0 || len >= sizeof path) return ENAMETOOLONG;
  memcpy(path, dir, len + 1);
  for (size_t i = 1; i <= len; i++) {
    if (path[i] != '/' && path[i] != 0) continue;
    char saved = path[i];
    path[i] = 0;
    if (mkdir(path, 0755) != 0 && errno != EEXIST) return errno;
    path[i] = saved;
  }
  return 0;
}

static int random_uuid(struct env *env) {
  char id[23];
  uuid_to_string(uuid_random(env), id);
  printf("%s\n", id);
  return 0;
}

struct wait {
  bool done;
  int err;
};

static void format_done(void *ctx, int err) {
  struct wait *w = ctx;
  w->done = true;
  w->err = err;
}

static void say(void *ctx, const char *line) {
  (void)ctx;
  printf("%s\n", line);
  fflush(stdout);
}

static bool load_config(const char *path, struct env *env, struct config *cfg) {
  size_t len = 0;
  char *text = file_read(path, &len);
  if (!text) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return false;
  }
  char err[512];
  config_defaults(cfg);
  bool ok = config_parse(cfg, text, len, env, err, sizeof err);
  free(text);
  if (!ok) fprintf(stderr, "%s: %s\n", path, err);
  return ok;
}

static int storage_format_cmd(struct os_world *world, int argc, char **argv) {
  const char *cluster_id = NULL, *config_path = NULL;
  bool ignore_formatted = false;
  for (int i = 0; i < argc; i++) {
    bool more = i + 1 < argc;
    if ((!strcmp(argv[i], "-t") || !strcmp(argv[i], "--cluster-id")) && more)
      cluster_id = argv[++i];
    else if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && more)
      config_path = argv[++i];
    else if (!strcmp(argv[i], "-g") || !strcmp(argv[i], "--ignore-formatted"))
      ignore_formatted = true;
    else
      return usage();
  }
  if (!cluster_id || !config_path) return usage();
  struct env *env = os_world_env(world);
  struct config cfg;
  if (!load_config(config_path, env, &cfg)) return 1;
  const char *dirs[STORAGE_DIRS_MAX];
  int n = storage_dirs(&cfg, dirs);
  for (int i = 0; i < n; i++) {
    int e = mkdir_parents(dirs[i]);
    if (e != 0) {
      fprintf(stderr, "cannot create %s: %s\n", dirs[i], strerror(e));
      return 1;
    }
  }
  struct wait w = {0};
  char err[1024];
  int rc = storage_format(env, &cfg, cluster_id, ignore_formatted, say, NULL, err, sizeof err,
                          format_done, &w);
  if (rc == STORAGE_NOTHING_TO_DO) return 0;
  if (rc != 0) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  for (int i = 0; !w.done && i < 1 << 20; i++) os_world_run_once(world, 100);
  if (!w.done || w.err != 0) {
    fprintf(stderr, "writing meta.properties failed: error %d\n", w.err);
    return 1;
  }
  return 0;
}

struct quorum_wait {
  bool done;
  int err;
  struct buf text;
  char why[400];
};

static void quorum_done(void *ctx, int err, const struct quorum_status *s, const char *why) {
  struct quorum_wait *w = ctx;
  w->done = true;
  w->err = err;
  if (err == 0) quorum_status_text(s, &w->text);
  snprintf(w->why, sizeof w->why, "%s", why);
}

static void timed_out(void *ctx) {
  struct quorum_wait *w = ctx;
  w->done = true;
  w->err = ENV_ETIMEDOUT;
  snprintf(w->why, sizeof w->why, "timed out after %d ms", QUERY_TIMEOUT_MS);
}

/* One bootstrap address: its status, or 1 with the reason printed. */
static int describe_one(struct os_world *world, struct kclient *k, const char *host,
                        uint16_t port, struct quorum_wait *w) {
  struct env *env = os_world_env(world);
  struct quorum_query q;
  *w = (struct quorum_wait){0};
  buf_init(&w->text);
  env_timer_id t = env->timer_start(env, (uint64_t)QUERY_TIMEOUT_MS * NS_PER_MS, timed_out, w);
  quorum_query_start(&q, k, host, port, quorum_done, w);
  while (!w->done) os_world_run_once(world, 100);
  env->timer_cancel(env, t);
  return w->err == 0 ? 0 : 1;
}

static bool host_port(const char *s, char *host, size_t cap, uint16_t *port) {
  const char *colon = strrchr(s, ':');
  if (!colon || colon == s || (size_t)(colon - s) >= cap) return false;
  char *end = NULL;
  long p = strtol(colon + 1, &end, 10);
  if (*end || p <= 0 || p > 65535) return false;
  memcpy(host, s, (size_t)(colon - s));
  host[colon - s] = 0;
  if (host[0] == '[' && host[strlen(host) - 1] == ']') {
    memmove(host, host + 1, strlen(host));
    host[strlen(host) - 1] = 0;
  }
  *port = (uint16_t)p;
  return true;
}

static int metadata_quorum_cmd(struct os_world *world, int argc, char **argv) {
  const char *bootstrap = NULL;
  bool describe = false, status = false;
  for (int i = 0; i < argc; i++) {
    bool more = i + 1 < argc;
    if ((!strcmp(argv[i], "--bootstrap-controller") ||
         !strcmp(argv[i], "--bootstrap-server")) &&
        more)
      bootstrap = argv[++i];
    else if (!strcmp(argv[i], "describe"))
      describe = true;
    else if (!strcmp(argv[i], "--status"))
      status = true;
    else if (!strcmp(argv[i], "--command-config") && more)
      i++; /* client security settings: sluice listens in PLAINTEXT only */
    else
      return usage();
  }
  if (!bootstrap || !describe || !status) return usage();
  struct env *env = os_world_env(world);
  struct net_dispatch net;
  net_dispatch_init(&net, env);
  struct kclient k;
  kclient_init(&k, &net);
  char list[1024];
  snprintf(list, sizeof list, "%s", bootstrap);
  int rc = 1, tried = 0;
  struct quorum_wait w = {0};
  buf_init(&w.text);
  for (char *save = NULL, *item = strtok_r(list, ",", &save);
       item && rc != 0 && tried < BOOTSTRAP_MAX; item = strtok_r(NULL, ",", &save), tried++) {
    char host[256];
    uint16_t port;
    if (!host_port(item, host, sizeof host, &port)) {
      fprintf(stderr, "bad address %s: expected HOST:PORT\n", item);
      return 1;
    }
    buf_free(&w.text);
    rc = describe_one(world, &k, host, port, &w);
    if (rc != 0) fprintf(stderr, "%s:%u: %s\n", host, port, w.why);
  }
  if (rc == 0) fwrite(w.text.data, 1, w.text.len, stdout);
  buf_free(&w.text);
  kclient_close_all(&k);
  return rc;
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "topics")) return topics_cmd(argc - 2, argv + 2);
  if (argc >= 2 && !strcmp(argv[1], "consumer-groups")) return groups_cmd(argc - 2, argv + 2);
  if (argc >= 2 && !strcmp(argv[1], "configs")) return configs_cmd(argc - 2, argv + 2);
  if (argc >= 2 && !strcmp(argv[1], "cluster")) return cluster_cmd(argc - 2, argv + 2);
  if (argc >= 2 && !strcmp(argv[1], "produce")) return produce_cmd(argc - 2, argv + 2);
  if (argc >= 2 && !strcmp(argv[1], "consume")) return consume_cmd(argc - 2, argv + 2);
  if (argc >= 2 && !strcmp(argv[1], "partitions")) return partitions_cmd(argc - 2, argv + 2);
  if (argc >= 2 && !strcmp(argv[1], "leader-election"))
    return leader_election_cmd(argc - 2, argv + 2);
  if (argc < 3) return usage();
  struct os_world *world = os_world_create(-1);
  os_world_set_log_level(world, ENV_LOG_WARN); /* config notes stay out of the output */
  int rc;
  if (!strcmp(argv[1], "storage") && !strcmp(argv[2], "random-uuid") && argc == 3)
    rc = random_uuid(os_world_env(world));
  else if (!strcmp(argv[1], "storage") && !strcmp(argv[2], "format"))
    rc = storage_format_cmd(world, argc - 3, argv + 3);
  else if (!strcmp(argv[1], "metadata-quorum"))
    rc = metadata_quorum_cmd(world, argc - 2, argv + 2);
  else
    rc = usage();
  os_world_destroy(world);
  return rc;
}
