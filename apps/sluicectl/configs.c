/* sluicectl configs: kafka-configs.sh's --describe and --alter for topics
 * and brokers.
 *   --describe (--topic T | --broker B | --entity-type topics|brokers
 *              --entity-name N) [--all]
 *   --alter (the same entity) [--add-config k=v[,k=v]] [--delete-config k[,k]]
 * librdkafka 2.0 has no IncrementalAlterConfigs, so --alter reads the
 * entity's dynamic configs and writes them back with the change
 * (AlterConfigs replaces the whole dynamic set); a concurrent change by
 * another tool between the two can be lost, as with Kafka's old tool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/sluicectl/admin.h"

static const char CONFIGS_HELP[] =
    "usage: sluicectl configs --bootstrap-server H:P[,H:P] COMMAND ENTITY\n"
    "  --describe [--all]           the entity's own (dynamic) configs, or all with --all\n"
    "  --alter [--add-config k=v[,k=v...]] [--delete-config k[,k...]]\n"
    "ENTITY: --topic T | --broker ID | --entity-type topics|brokers --entity-name N\n"
    "  also: --command-config FILE, -X key=value (librdkafka client properties)\n";

static const char *const SWITCHES[] = {"--describe", "--alter", "--all", "--help", NULL};

enum { CONFIG_NAME_BYTES_MAX = 256, CONFIG_CHANGES_MAX = 128 };

struct entity {
  rd_kafka_ResourceType_t type;
  const char *name;
  const char *noun; /* "topic" or "broker", for the messages */
  rd_kafka_ConfigSource_t dynamic;
};

static bool entity_of(const struct flags *f, struct entity *e) {
  const char *type = flag(f, "--entity-type"), *name = flag(f, "--entity-name");
  if (flag_on(f, "--topic")) type = "topics", name = flag(f, "--topic");
  if (flag_on(f, "--broker")) type = "brokers", name = flag(f, "--broker");
  if (type == NULL || name == NULL || *name == '\0')
    return fail("name the entity: --topic T, --broker ID, or --entity-type and --entity-name"),
           false;
  if (strcmp(type, "topics") == 0) {
    *e = (struct entity){RD_KAFKA_RESOURCE_TOPIC, name, "topic",
                         RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG};
  } else if (strcmp(type, "brokers") == 0) {
    *e = (struct entity){RD_KAFKA_RESOURCE_BROKER, name, "broker",
                         RD_KAFKA_CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG};
  } else {
    return fail("--entity-type must be topics or brokers, not '%s'", type), false;
  }
  return true;
}

/* DescribeConfigs of one entity; the event owns *out. */
static rd_kafka_event_t *describe(rd_kafka_t *rk, const struct entity *e,
                                  const rd_kafka_ConfigResource_t **out) {
  rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(e->type, e->name);
  struct admin_call call;
  admin_call_begin(&call, rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
  rd_kafka_DescribeConfigs(rk, &res, 1, call.options, call.q);
  rd_kafka_event_t *ev =
      admin_call_result(&call, RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT, "describe");
  rd_kafka_ConfigResource_destroy(res);
  size_t n = 0;
  const rd_kafka_ConfigResource_t **r = NULL;
  if (ev)
    r = rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev),
                                                  &n);
  if (n == 1 && rd_kafka_ConfigResource_error(r[0]) == 0) {
    *out = r[0];
    return ev;
  }
  if (n == 1) fail("%s '%s': %s", e->noun, e->name, rd_kafka_ConfigResource_error_string(r[0]));
  if (ev) rd_kafka_event_destroy(ev);
  return NULL;
}

static void print_entry(const rd_kafka_ConfigEntry_t *c) {
  const char *v = rd_kafka_ConfigEntry_value(c);
  bool sensitive = rd_kafka_ConfigEntry_is_sensitive(c);
  printf("  %s=%s sensitive=%s synonyms={", rd_kafka_ConfigEntry_name(c),
         sensitive ? "null" : (v ? v : "null"), sensitive ? "true" : "false");
  size_t n = 0;
  const rd_kafka_ConfigEntry_t **syn = rd_kafka_ConfigEntry_synonyms(c, &n);
  for (size_t i = 0; i < n; i++) {
    const char *sv = rd_kafka_ConfigEntry_value(syn[i]);
    printf("%s%s:%s=%s", i ? ", " : "",
           rd_kafka_ConfigSource_name(rd_kafka_ConfigEntry_source(syn[i])),
           rd_kafka_ConfigEntry_name(syn[i]), sensitive ? "null" : (sv ? sv : "null"));
  }
  printf("}\n");
}

static int by_name(const void *a, const void *b) {
  return strcmp(rd_kafka_ConfigEntry_name(*(const rd_kafka_ConfigEntry_t *const *)a),
                rd_kafka_ConfigEntry_name(*(const rd_kafka_ConfigEntry_t *const *)b));
}

static int describe_cmd(rd_kafka_t *rk, const struct flags *f, const struct entity *e) {
  const rd_kafka_ConfigResource_t *res = NULL;
  rd_kafka_event_t *ev = describe(rk, e, &res);
  if (ev == NULL) return 1;
  bool all = flag_on(f, "--all");
  printf("%s configs for %s %s are:\n", all ? "All" : "Dynamic", e->noun, e->name);
  size_t n = 0;
  const rd_kafka_ConfigEntry_t **entries = rd_kafka_ConfigResource_configs(res, &n);
  const rd_kafka_ConfigEntry_t **sorted = calloc(n ? n : 1, sizeof *sorted);
  if (sorted == NULL) abort();
  memcpy(sorted, entries, n * sizeof *sorted);
  qsort(sorted, n, sizeof *sorted, by_name);
  for (size_t i = 0; i < n; i++)
    if (all || rd_kafka_ConfigEntry_source(sorted[i]) == e->dynamic) print_entry(sorted[i]);
  free(sorted);
  rd_kafka_event_destroy(ev);
  return 0;
}

/* "a,b,c" into up to max names (copied into store). */
static int split_list(const char *list, char store[][CONFIG_NAME_BYTES_MAX * 4], int max) {
  int n = 0;
  for (const char *s = list; s && *s && n < max;) {
    const char *comma = strchr(s, ',');
    size_t len = comma ? (size_t)(comma - s) : strlen(s);
    if (len >= CONFIG_NAME_BYTES_MAX * 4) len = CONFIG_NAME_BYTES_MAX * 4 - 1;
    memcpy(store[n], s, len);
    store[n][len] = '\0';
    if (len) n++;
    s = comma ? comma + 1 : NULL;
  }
  return n;
}

/* The dynamic set after the change, on res (each name once). */
static bool merged_set(const rd_kafka_ConfigResource_t *old, const struct entity *e,
                       const struct flags *f, rd_kafka_ConfigResource_t *res) {
  static char adds[CONFIG_CHANGES_MAX][CONFIG_NAME_BYTES_MAX * 4];
  static char dels[CONFIG_CHANGES_MAX][CONFIG_NAME_BYTES_MAX * 4];
  int nadd = split_list(flag(f, "--add-config"), adds, CONFIG_CHANGES_MAX);
  int ndel = split_list(flag(f, "--delete-config"), dels, CONFIG_CHANGES_MAX);
  if (nadd + ndel == 0) return fail("--alter needs --add-config or --delete-config"), false;
  for (int i = 0; i < nadd; i++)
    if (strchr(adds[i], '=') == NULL)
      return fail("--add-config wants k=v, not '%s'", adds[i]), false;
  size_t n = 0;
  const rd_kafka_ConfigEntry_t **entries = rd_kafka_ConfigResource_configs(old, &n);
  for (size_t i = 0; i < n; i++) {
    const char *name = rd_kafka_ConfigEntry_name(entries[i]);
    bool changed = false;
    for (int k = 0; k < nadd; k++)
      changed |= strncmp(adds[k], name, strlen(name)) == 0 && adds[k][strlen(name)] == '=';
    for (int k = 0; k < ndel; k++) changed |= strcmp(dels[k], name) == 0;
    if (!changed && rd_kafka_ConfigEntry_source(entries[i]) == e->dynamic)
      rd_kafka_ConfigResource_set_config(res, name, rd_kafka_ConfigEntry_value(entries[i]));
  }
  for (int k = 0; k < nadd; k++) {
    char *eq = strchr(adds[k], '=');
    *eq = '\0';
    rd_kafka_ConfigResource_set_config(res, adds[k], eq + 1);
  }
  return true;
}

static int alter_cmd(rd_kafka_t *rk, const struct flags *f, const struct entity *e) {
  const rd_kafka_ConfigResource_t *old = NULL;
  rd_kafka_event_t *before = describe(rk, e, &old);
  if (before == NULL) return 1;
  rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(e->type, e->name);
  bool ok = merged_set(old, e, f, res);
  rd_kafka_event_destroy(before);
  int rc = 1;
  if (ok) {
    struct admin_call call;
    admin_call_begin(&call, rk, RD_KAFKA_ADMIN_OP_ALTERCONFIGS);
    rd_kafka_AlterConfigs(rk, &res, 1, call.options, call.q);
    rd_kafka_event_t *ev =
        admin_call_result(&call, RD_KAFKA_EVENT_ALTERCONFIGS_RESULT, "alter");
    if (ev) {
      size_t n = 0;
      const rd_kafka_ConfigResource_t **r =
          rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &n);
      if (n == 1 && rd_kafka_ConfigResource_error(r[0]) == 0) {
        printf("Completed updating config for %s %s.\n", e->noun, e->name);
        rc = 0;
      } else if (n == 1) {
        fail("%s '%s': %s", e->noun, e->name, rd_kafka_ConfigResource_error_string(r[0]));
      }
    }
    if (ev) rd_kafka_event_destroy(ev);
  }
  rd_kafka_ConfigResource_destroy(res);
  return rc;
}

int configs_cmd(int argc, char **argv) {
  struct flags f;
  if (!flags_parse(&f, argc, argv, SWITCHES)) return 1;
  if (flag_on(&f, "--help") || f.count == 0) {
    fputs(CONFIGS_HELP, f.count ? stdout : stderr);
    return f.count ? 0 : 1;
  }
  if (flag_on(&f, "--describe") == flag_on(&f, "--alter"))
    return fail("give one of --describe, --alter");
  struct entity e;
  if (!entity_of(&f, &e)) return 1;
  rd_kafka_t *rk = admin_open(&f);
  if (rk == NULL) return 1;
  int rc = flag_on(&f, "--describe") ? describe_cmd(rk, &f, &e) : alter_cmd(rk, &f, &e);
  rd_kafka_destroy(rk);
  return rc;
}
