#include "apps/sluicectl/admin.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("Error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return 1;
}

static bool is_switch(const char *name, const char *const *switches) {
  for (int i = 0; switches[i]; i++)
    if (strcmp(switches[i], name) == 0) return true;
  return false;
}

bool flags_parse(struct flags *f, int argc, char **argv, const char *const *switches) {
  memset(f, 0, sizeof *f);
  for (int i = 0; i < argc; i++) {
    const char *name = argv[i];
    if (name[0] != '-') return fail("unexpected argument: %s (see --help)", name), false;
    if (f->count == ADMIN_FLAGS_MAX) return fail("too many flags"), false;
    f->names[f->count] = name;
    if (!is_switch(name, switches)) {
      if (i + 1 >= argc) return fail("%s needs a value (see --help)", name), false;
      f->values[f->count] = argv[++i];
    }
    f->count++;
  }
  return true;
}

const char *flag(const struct flags *f, const char *name) {
  for (int i = f->count - 1; i >= 0; i--)
    if (strcmp(f->names[i], name) == 0) return f->values[i] ? f->values[i] : "";
  return NULL;
}

bool flag_on(const struct flags *f, const char *name) { return flag(f, name) != NULL; }

int flag_all(const struct flags *f, const char *name, const char **out, int max) {
  int n = 0;
  for (int i = 0; i < f->count && n < max; i++)
    if (strcmp(f->names[i], name) == 0 && f->values[i]) out[n++] = f->values[i];
  return n;
}

long flag_long(const struct flags *f, const char *name, long lo, long hi, long dflt, bool *ok) {
  const char *v = flag(f, name);
  if (v == NULL) return dflt;
  char *end;
  long n = strtol(v, &end, 10);
  if (*v == '\0' || *end != '\0' || n < lo || n > hi) {
    fail("%s must be a whole number from %ld to %ld, not '%s'", name, lo, hi, v);
    *ok = false;
  }
  return n;
}

bool flags_only(const struct flags *f, const char *const *allowed) {
  for (int i = 0; i < f->count; i++)
    if (!is_switch(f->names[i], allowed))
      return fail("%s does not apply here (see --help)", f->names[i]), false;
  return true;
}

/* --command-config: a properties file of client settings, as Kafka's tools
 * take one (security settings, for one). */
static bool command_config(rd_kafka_conf_t *conf, const char *path) {
  FILE *file = fopen(path, "r");
  if (file == NULL) return fail("cannot open --command-config %s", path), false;
  char line[1024], err[256];
  bool ok = true;
  for (int n = 1; ok && n < 10000 && fgets(line, sizeof line, file); n++) {
    line[strcspn(line, "\r\n")] = '\0';
    char *eq = strchr(line, '=');
    if (line[0] == '#' || line[0] == '\0') continue;
    if (eq == NULL) {
      fail("%s:%d: not key=value", path, n);
      ok = false;
      break;
    }
    *eq = '\0';
    if (rd_kafka_conf_set(conf, line, eq + 1, err, sizeof err) != RD_KAFKA_CONF_OK) {
      fail("%s:%d: %s", path, n, err);
      ok = false;
    }
  }
  fclose(file);
  return ok;
}

static bool conf_set(rd_kafka_conf_t *conf, const char *kv) {
  char name[256], err[256];
  const char *eq = strchr(kv, '=');
  if (eq == NULL || (size_t)(eq - kv) >= sizeof name)
    return fail("-X wants key=value, not '%s'", kv), false;
  memcpy(name, kv, (size_t)(eq - kv));
  name[eq - kv] = '\0';
  if (rd_kafka_conf_set(conf, name, eq + 1, err, sizeof err) != RD_KAFKA_CONF_OK)
    return fail("-X %s: %s", kv, err), false;
  return true;
}

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *line) {
  (void)rk, (void)level, (void)fac, (void)line;
}

rd_kafka_t *admin_open(const struct flags *f) {
  const char *bootstrap = flag(f, "--bootstrap-server");
  if (bootstrap == NULL || *bootstrap == '\0')
    return fail("--bootstrap-server is required"), NULL;
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  char err[256];
  bool ok = rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err) ==
            RD_KAFKA_CONF_OK;
  if (!ok) fail("--bootstrap-server: %s", err);
  /* librdkafka's own log lines (a broker it cannot reach, say) stay out of
   * the output: a command fails with its one line, or waits out its
   * timeout and says so. */
  rd_kafka_conf_set_log_cb(conf, quiet_log);
  const char *path = flag(f, "--command-config");
  if (ok && path) ok = command_config(conf, path);
  const char *props[ADMIN_LIST_MAX];
  int n = flag_all(f, "-X", props, ADMIN_LIST_MAX);
  for (int i = 0; ok && i < n; i++) ok = conf_set(conf, props[i]);
  if (!ok) {
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == NULL) fail("%s", err);
  return rk;
}

void admin_call_begin(struct admin_call *c, rd_kafka_t *rk, rd_kafka_admin_op_t op) {
  c->q = rd_kafka_queue_new(rk);
  c->options = rd_kafka_AdminOptions_new(rk, op);
  char err[256];
  rd_kafka_AdminOptions_set_request_timeout(c->options, ADMIN_TIMEOUT_MS, err, sizeof err);
}

/* The event of `type` on q; NULL (said) on timeout. */
static rd_kafka_event_t *result_wait(rd_kafka_queue_t *q, rd_kafka_event_type_t type) {
  /* The request timeout bounds it; the extra second lets the timeout's own
   * result arrive instead of a bare "timed out". */
  for (int waited_ms = 0; waited_ms <= ADMIN_TIMEOUT_MS + 1000; waited_ms += 100) {
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);
    if (ev == NULL) continue;
    if (rd_kafka_event_type(ev) == type) return ev;
    rd_kafka_event_destroy(ev);
  }
  fail("no answer from the cluster in %d ms", ADMIN_TIMEOUT_MS);
  return NULL;
}

rd_kafka_event_t *admin_call_result(struct admin_call *c, rd_kafka_event_type_t type,
                                    const char *what) {
  rd_kafka_event_t *ev = result_wait(c->q, type);
  rd_kafka_AdminOptions_destroy(c->options);
  rd_kafka_queue_destroy(c->q);
  c->options = NULL;
  c->q = NULL;
  if (ev == NULL || rd_kafka_event_error(ev) == RD_KAFKA_RESP_ERR_NO_ERROR) return ev;
  if (what) fail("%s: %s", what, rd_kafka_event_error_string(ev));
  rd_kafka_event_destroy(ev);
  return NULL;
}
