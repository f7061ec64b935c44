#include "apps/sluicectl/kcall.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/sluicectl/admin.h"
#include "base/assert.h"
#include "client/admin.h"
#include "os/world.h"

static bool parse_address(struct kcall *c, const char *item) {
  const char *colon = strrchr(item, ':');
  size_t host_len = colon ? (size_t)(colon - item) : 0;
  char *end = NULL;
  long port = colon ? strtol(colon + 1, &end, 10) : 0;
  if (!colon || host_len == 0 || host_len >= sizeof c->hosts[0] || *end || port <= 0 ||
      port > 65535)
    return fail("bad --bootstrap-server address '%s': expected HOST:PORT", item), false;
  if (c->count == KCALL_BOOTSTRAP_MAX)
    return fail("more than %d --bootstrap-server addresses", KCALL_BOOTSTRAP_MAX), false;
  char *host = c->hosts[c->count];
  memcpy(host, item, host_len);
  host[host_len] = '\0';
  if (host[0] == '[' && host[host_len - 1] == ']') { /* [::1]:9092 */
    memmove(host, host + 1, host_len - 2);
    host[host_len - 2] = '\0';
  }
  c->ports[c->count++] = (uint16_t)port;
  return true;
}

bool kcall_open(struct kcall *c, const char *bootstrap) {
  memset(c, 0, sizeof *c);
  if (bootstrap == NULL || *bootstrap == '\0')
    return fail("--bootstrap-server is required"), false;
  char list[4096];
  if (strlen(bootstrap) >= sizeof list) return fail("--bootstrap-server is too long"), false;
  snprintf(list, sizeof list, "%s", bootstrap);
  for (char *save = NULL, *item = strtok_r(list, ",", &save); item;
       item = strtok_r(NULL, ",", &save))
    if (!parse_address(c, item)) return false;
  if (c->count == 0) return fail("--bootstrap-server has no address"), false;
  c->world = os_world_create(-1);
  os_world_set_log_level(c->world, ENV_LOG_WARN);
  net_dispatch_init(&c->net, os_world_env(c->world));
  kclient_init(&c->k, &c->net);
  return true;
}

void kcall_close(struct kcall *c) {
  ASSERT(c->world != NULL);
  kclient_close_all(&c->k);
  os_world_destroy(c->world);
  c->world = NULL;
}

struct call_wait {
  bool done;
  int err;
  kcall_use_fn use;
  void *ctx;
};

static void answered(void *ctx, int err, int16_t version, const void *response) {
  struct call_wait *w = ctx;
  if (w->done) return; /* timed out before: the connection's close fails it */
  w->done = true;
  w->err = err;
  if (err == 0) w->use(w->ctx, version, response);
}

static void timed_out(void *ctx) {
  struct call_wait *w = ctx;
  w->done = true;
  w->err = ENV_ETIMEDOUT;
}

static const char *reason(int err) {
  if (err == ENV_EINVAL) return "the broker's answer did not decode";
  if (err == ENV_ETIMEDOUT) return "no answer within 30000 ms";
  if (err < 0 && err > ENV_EOTHER) return strerror(-err);
  return "connection failed";
}

static void link_changed(void *ctx, struct kconn *conn, int err) {
  (void)conn;
  struct call_wait *w = ctx;
  w->done = true;
  w->err = err;
}

/* Runs the world until w->done; the timer bounds it (each turn waits at
 * most 100 ms for an event). */
static int wait_done(struct kcall *c, struct call_wait *w) {
  struct env *env = os_world_env(c->world);
  w->done = false;
  w->err = 0;
  env_timer_id t = env->timer_start(env, (uint64_t)KCALL_TIMEOUT_MS * NS_PER_MS, timed_out, w);
  for (long turn = 0; !w->done && turn < 1L << 24; turn++) os_world_run_once(c->world, 100);
  env->timer_cancel(env, t);
  return w->done ? w->err : ENV_ETIMEDOUT;
}

/* Connected (ApiVersions answered, so versions are known), or the error. */
static int connect_to(struct kcall *c, struct kconn *conn) {
  if (kconn_connected(conn)) return 0;
  struct call_wait w = {0};
  kconn_watch(conn, &(struct kconn_watch){.ctx = &w, .changed = link_changed});
  int err = wait_done(c, &w);
  kconn_watch(conn, &(struct kconn_watch){0});
  return err;
}

/* One try on address i: 0, or the error. */
static int try_one(struct kcall *c, int i, int16_t api_key, int16_t min, int16_t max,
                   const void *request, struct call_wait *w) {
  struct kconn *conn = kclient_conn(&c->k, c->hosts[i], c->ports[i], "sluicectl");
  int err = connect_to(c, conn);
  if (err != 0) {
    kconn_close(conn);
    return err;
  }
  w->done = false;
  int rc = kadmin_request(conn, api_key, min, max, request, answered, w);
  if (rc != 0) return rc;
  err = wait_done(c, w);
  if (err == ENV_ETIMEDOUT) kconn_close(conn); /* fails the request: answered ignores it */
  return err;
}

bool kcall_request(struct kcall *c, int16_t api_key, int16_t min, int16_t max,
                   const void *request, kcall_use_fn use, void *ctx, const char *what) {
  ASSERT(c->world != NULL && use != NULL);
  struct call_wait w = {false, 0, use, ctx};
  int err = ENV_ECONNREFUSED;
  for (int n = 0; n < c->count; n++) {
    int i = (c->current + n) % c->count;
    err = try_one(c, i, api_key, min, max, request, &w);
    if (err == ENV_EINVAL && !w.done)
      return fail("%s: the broker at %s:%u does not serve this request", what, c->hosts[i],
                  c->ports[i]),
             false;
    if (err == 0) {
      c->current = i;
      return true;
    }
    if (err == ENV_EINVAL) break; /* an answer we cannot read: another broker would agree */
  }
  fail("%s: %s", what, reason(err));
  return false;
}
