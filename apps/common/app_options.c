#include "apps/common/app_options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/common/dotenv.h"

static bool parse_long(const char *s, long lo, long hi, long *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < lo || v > hi) return false;
  *out = v;
  return true;
}

static void defaults(struct app_options *o) {
  memset(o, 0, sizeof *o);
  o->topic = "test-topic";
  o->env_file = ".env";
  o->group = "test-group";
  o->body_bytes_max = 1048576;
  o->delivery_timeout_ms = 30000;
}

/* One option with its value; 0, or 2 on an error. */
static int option(struct app_options *o, const char *name, const char *value) {
  long v;
  if (strcmp(name, "--bootstrap-server") == 0) {
    o->bootstrap = value;
  } else if (strcmp(name, "--topic") == 0) {
    o->topic = value;
  } else if (strcmp(name, "--group") == 0) {
    o->group = value;
  } else if (strcmp(name, "--env-file") == 0) {
    o->env_file = value;
  } else if (strcmp(name, "--port") == 0 && parse_long(value, 0, 65535, &v)) {
    o->port = (int)v;
  } else if (strcmp(name, "--max-body-bytes") == 0 && parse_long(value, 1, 1L << 30, &v)) {
    o->body_bytes_max = v;
  } else if (strcmp(name, "--delivery-timeout-ms") == 0 && parse_long(value, 1, 1L << 31, &v)) {
    o->delivery_timeout_ms = v;
  } else if (strcmp(name, "-X") == 0 && strchr(value, '=') != NULL &&
             o->property_count < APP_PROPERTIES_MAX) {
    o->properties[o->property_count++] = value;
  } else {
    fprintf(stderr, "error: bad option or value: %s %s (see --help)\n", name, value);
    return 2;
  }
  return 0;
}

int app_options_parse(struct app_options *o, int argc, char **argv, const char *usage) {
  defaults(o);
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(usage, stdout);
      return 1;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "error: %s needs a value (see --help)\n", argv[i]);
      return 2;
    }
    int rc = option(o, argv[i], argv[i + 1]);
    if (rc != 0) return rc;
    i++;
  }
  if (dotenv_load(o->env_file) < 0) return 2;
  if (o->bootstrap == NULL) o->bootstrap = getenv("KAFKA_BOOTSTRAP_SERVERS");
  if (o->bootstrap == NULL) o->bootstrap = "localhost:9092";
  return 0;
}

bool app_options_apply(const struct app_options *o, rd_kafka_conf_t *conf) {
  char err[256];
  if (rd_kafka_conf_set(conf, "bootstrap.servers", o->bootstrap, err, sizeof err) !=
      RD_KAFKA_CONF_OK) {
    fprintf(stderr, "error: bootstrap.servers: %s\n", err);
    return false;
  }
  for (int i = 0; i < o->property_count; i++) {
    char name[256];
    const char *eq = strchr(o->properties[i], '=');
    size_t len = (size_t)(eq - o->properties[i]);
    if (len >= sizeof name) len = sizeof name - 1;
    memcpy(name, o->properties[i], len);
    name[len] = '\0';
    if (rd_kafka_conf_set(conf, name, eq + 1, err, sizeof err) != RD_KAFKA_CONF_OK) {
      fprintf(stderr, "error: -X %s: %s\n", o->properties[i], err);
      return false;
    }
  }
  return true;
}

void app_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value) {
  char err[256];
  if (rd_kafka_conf_set(conf, name, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "error: %s=%s: %s\n", name, value, err);
    exit(1);
  }
}
