#include "meta/config_control.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "proto/errors.h"
#include "server/topic_config.h"

enum { LIST_ITEMS_MAX = 64 }; /* items of one list value (64 bytes hold fewer) */

/* The overrides the resource will have: the image's, changed entry by
 * entry, sorted by name. */
struct overrides {
  int32_t count, cap;
  struct meta_config *items;
};

__attribute__((format(printf, 3, 4))) static void fail(struct meta_topic_result *r,
                                                       int16_t code, const char *fmt, ...) {
  ASSERT(code != KERR_NONE);
  r->error_code = code;
  va_list ap;
  va_start(ap, fmt);
  str_vfmt(r->error_message, sizeof r->error_message, fmt, ap);
  va_end(ap);
}

static bool text_of(struct kstr s, char *out, size_t cap) {
  if (s.len < 0 || (size_t)s.len >= cap) return false;
  memcpy(out, s.ptr, (size_t)s.len);
  out[s.len] = '\0';
  return true;
}

static struct meta_config *override_find(struct overrides *o, const char *name) {
  for (int32_t i = 0; i < o->count; i++)
    if (strcmp(o->items[i].name, name) == 0) return &o->items[i];
  return NULL;
}

static void override_remove(struct overrides *o, const char *name) {
  struct meta_config *c = override_find(o, name);
  if (c == NULL) return;
  int32_t i = (int32_t)(c - o->items);
  memmove(&o->items[i], &o->items[i + 1], (size_t)(o->count - i - 1) * sizeof *c);
  o->count--;
}

static void override_put(struct overrides *o, const char *name, const char *value) {
  struct meta_config *c = override_find(o, name);
  if (c == NULL) {
    ASSERT(o->count < o->cap);
    int32_t i = 0;
    while (i < o->count && strcmp(o->items[i].name, name) < 0) i++;
    memmove(&o->items[i + 1], &o->items[i], (size_t)(o->count - i) * sizeof *c);
    o->count++;
    c = &o->items[i];
    str_fmt(c->name, sizeof c->name, "%s", name);
  }
  str_fmt(c->value, sizeof c->value, "%s", value);
}

/* A comma-separated list's items, trimmed, empty ones dropped (as Kafka's
 * ConfigDef parses a LIST); false when there are too many. */
static bool list_split(char *text, char *items[LIST_ITEMS_MAX], int *count) {
  *count = 0;
  for (char *at = text; at != NULL;) {
    char *comma = strchr(at, ',');
    if (comma) *comma = '\0';
    while (*at == ' ') at++;
    size_t len = strlen(at);
    while (len > 0 && at[len - 1] == ' ') at[--len] = '\0';
    if (len > 0) {
      if (*count == LIST_ITEMS_MAX) return false;
      items[(*count)++] = at;
    }
    at = comma ? comma + 1 : NULL;
  }
  return true;
}

static bool list_has(char *const *items, int count, const char *item) {
  for (int i = 0; i < count; i++)
    if (strcmp(items[i], item) == 0) return true;
  return false;
}

/* Adds ",item" (or "item" first) to out; false, out unchanged past len,
 * when it does not fit in cap with its NUL. */
static bool item_append(char *out, size_t cap, size_t *len, const char *item) {
  size_t need = strlen(item) + (*len > 0 ? 1 : 0);
  if (*len + need >= cap) return false;
  str_fmt(out + *len, cap - *len, "%s%s", *len > 0 ? "," : "", item);
  *len += need;
  return true;
}

/* KIP-339 APPEND / SUBTRACT on a list config: the current value (the
 * override, else Kafka's default) with the given items added (those not
 * there yet) or removed. */
static bool list_edit(const struct config_def *def, const char *current, const char *given,
                      bool append, char *out, size_t cap, struct meta_topic_result *r) {
  char have_text[META_CONFIG_VALUE_BYTES], given_text[META_CONFIG_VALUE_BYTES];
  str_fmt(have_text, sizeof have_text, "%s", current ? current : "");
  str_fmt(given_text, sizeof given_text, "%s", given);
  char *have[LIST_ITEMS_MAX], *add[LIST_ITEMS_MAX];
  int n_have = 0, n_add = 0;
  if (!list_split(have_text, have, &n_have) || !list_split(given_text, add, &n_add)) {
    fail(r, KERR_INVALID_CONFIG, "Too many items for configuration %s", def->name);
    return false;
  }
  size_t len = 0;
  bool fits = true;
  out[0] = '\0';
  for (int i = 0; i < n_have && fits; i++)
    if (append || !list_has(add, n_add, have[i])) fits = item_append(out, cap, &len, have[i]);
  for (int i = 0; i < n_add && append && fits; i++)
    if (!list_has(have, n_have, add[i])) fits = item_append(out, cap, &len, add[i]);
  if (!fits) {
    fail(r, KERR_INVALID_CONFIG, "Invalid value for configuration %s: longer than %d bytes",
         def->name, (int)cap - 1);
    return false;
  }
  return true;
}

/* The catalog entry of a name in the resource's scope; NULL with the
 * result's error. */
static const struct config_def *def_of(bool topic, const char *name,
                                       struct meta_topic_result *r) {
  const struct config_def *def =
      topic ? (topic_config_find(name) >= 0
                   ? topic_config_info((enum topic_config_key)topic_config_find(name))
                   : NULL)
            : config_catalog_find(CONFIG_SCOPE_BROKER, name);
  if (def == NULL)
    fail(r, KERR_INVALID_CONFIG, "Unknown %s config name: %s", topic ? "topic" : "broker",
         name);
  return def;
}

/* The value checked as CreateTopics checks a topic's (what Sluice cannot
 * do refused too), or against the catalog for a broker config. */
static bool value_ok(const struct meta_rules *rules, bool topic, const struct config_def *def,
                     const char *value, struct meta_topic_result *r) {
  char why[META_ERROR_MESSAGE_BYTES];
  bool ok;
  if (topic) {
    struct topic_config scratch;
    topic_config_init(&scratch, rules->cfg);
    ok = topic_config_set(&scratch, def->name, value, why, sizeof why);
  } else {
    ok = config_catalog_check(def, value, why, sizeof why);
  }
  if (!ok) fail(r, KERR_INVALID_CONFIG, "%s", why);
  return ok;
}

/* One entry applied to o; false with the result's error. */
static bool entry_apply(const struct meta_rules *rules, bool topic,
                        const struct meta_alter_config *e, struct overrides *o,
                        struct meta_topic_result *r) {
  char name[META_CONFIG_NAME_BYTES], value[META_CONFIG_VALUE_BYTES];
  if (e->name.len <= 0 || !text_of(e->name, name, sizeof name)) {
    fail(r, KERR_INVALID_CONFIG, "Null or oversized config name.");
    return false;
  }
  const struct config_def *def = def_of(topic, name, r);
  if (def == NULL) return false;
  if (e->op == META_CONFIG_OP_DELETE) {
    override_remove(o, name);
    return true;
  }
  if (e->op < META_CONFIG_OP_SET || e->op > META_CONFIG_OP_SUBTRACT) {
    fail(r, KERR_INVALID_REQUEST, "Unknown config operation %d for %s", e->op, name);
    return false;
  }
  if (e->value.len < 0) {
    fail(r, KERR_INVALID_REQUEST, "Null value not supported for : %s", name);
    return false;
  }
  if (!text_of(e->value, value, sizeof value)) {
    fail(r, KERR_INVALID_CONFIG, "Invalid value for configuration %s: longer than %d bytes",
         name, META_CONFIG_VALUE_BYTES - 1);
    return false;
  }
  if (e->op != META_CONFIG_OP_SET) {
    if (def->type != CONFIG_TYPE_LIST) {
      fail(r, KERR_INVALID_REQUEST, "Config value %s is not allowed for config key: %s",
           e->op == META_CONFIG_OP_APPEND ? "append" : "subtract", name);
      return false;
    }
    const struct meta_config *c = override_find(o, name);
    char edited[META_CONFIG_VALUE_BYTES];
    if (!list_edit(def, c ? c->value : def->default_value, value,
                   e->op == META_CONFIG_OP_APPEND, edited, sizeof edited, r))
      return false;
    memcpy(value, edited, sizeof value);
  }
  if (!value_ok(rules, topic, def, value, r)) return false;
  override_put(o, name, value);
  return true;
}

/* Kafka refuses a request naming a key twice in one resource. */
static bool duplicate_keys(const struct meta_alter_resource *in) {
  for (int32_t i = 0; i < in->config_count; i++)
    for (int32_t j = 0; j < i; j++)
      if (in->configs[i].name.len == in->configs[j].name.len && in->configs[i].name.len >= 0 &&
          memcmp(in->configs[i].name.ptr, in->configs[j].name.ptr,
                 (size_t)in->configs[i].name.len) == 0)
        return true;
  return false;
}

static void config_record(const struct meta_image *image, struct meta_delta *delta, int8_t type,
                          const char *resource, const char *name, const char *value) {
  int64_t next = image->offset + 1;
  if (delta->count > 0 && delta->records[delta->count - 1].offset >= next)
    next = delta->records[delta->count - 1].offset + 1;
  struct meta_record *rec = meta_delta_add(delta, META_CONFIG_RECORD, next);
  ASSERT(rec != NULL);
  struct meta_config_record *c = &rec->config;
  c->resource_type = type;
  str_fmt(c->resource_name, sizeof c->resource_name, "%s", resource);
  str_fmt(c->name, sizeof c->name, "%s", name);
  c->value_null = value == NULL;
  str_fmt(c->value, sizeof c->value, "%s", value ? value : "");
}

/* The records that take the resource from its overrides (was) to o. */
static void records_for(const struct meta_image *image, int8_t type, const char *resource,
                        struct overrides *was, struct overrides *o, struct meta_delta *delta) {
  for (int32_t i = 0; i < was->count; i++) /* gone */
    if (override_find(o, was->items[i].name) == NULL)
      config_record(image, delta, type, resource, was->items[i].name, NULL);
  for (int32_t i = 0; i < o->count; i++) { /* new or changed */
    const struct meta_config *before = override_find(was, o->items[i].name);
    if (before == NULL || strcmp(before->value, o->items[i].value) != 0)
      config_record(image, delta, type, resource, o->items[i].name, o->items[i].value);
  }
}

/* A broker resource is a broker id or "" (every broker, Kafka's cluster
 * default); its overrides, from the image. */
static bool broker_overrides(const struct meta_image *image,
                             const struct meta_alter_resource *in, struct overrides *was,
                             struct meta_topic_result *r) {
  int32_t len = in->resource_name.len;
  bool digits = len >= 0 && len < META_BROKER_RESOURCE_BYTES;
  for (int32_t i = 0; i < len && digits; i++)
    digits = in->resource_name.ptr[i] >= '0' && in->resource_name.ptr[i] <= '9';
  if (!digits) {
    fail(r, KERR_INVALID_REQUEST, "Invalid broker resource name: '%s'", r->name);
    return false;
  }
  for (int32_t i = 0; i < image->broker_config_count; i++) {
    const struct meta_broker_config *c = &image->broker_configs[i];
    if (strcmp(c->resource_name, r->name) != 0) continue;
    ASSERT(was->count < was->cap);
    struct meta_config *m = &was->items[was->count++];
    str_fmt(m->name, sizeof m->name, "%s", c->name);
    str_fmt(m->value, sizeof m->value, "%s", c->value);
  }
  return true;
}

static const struct meta_topic *topic_of(const struct meta_image *image,
                                         const struct meta_alter_resource *in,
                                         struct meta_topic_result *r) {
  const struct meta_topic *t =
      in->resource_name.len > 0 && in->resource_name.len < META_TOPIC_NAME_BYTES
          ? meta_image_topic(image, in->resource_name.ptr, (size_t)in->resource_name.len)
          : NULL;
  if (t == NULL)
    fail(r, KERR_UNKNOWN_TOPIC_OR_PARTITION, "The topic '%s' does not exist.", r->name);
  return t;
}

void meta_rule_alter_configs(const struct meta_rules *rules, const struct meta_image *image,
                             const struct meta_alter_resource *in, struct meta_delta *delta,
                             struct meta_topic_result *r) {
  ASSERT(rules != NULL && image != NULL && in != NULL && delta != NULL && r != NULL);
  ASSERT(in->config_count >= 0);
  memset(r, 0, sizeof *r);
  int len = in->resource_name.len > 0 && in->resource_name.len < META_TOPIC_NAME_BYTES
                ? (int)in->resource_name.len
                : 0;
  str_fmt(r->name, sizeof r->name, "%.*s", len, len ? in->resource_name.ptr : "");
  bool topic = in->resource_type == META_RESOURCE_TOPIC;
  if (!topic && in->resource_type != META_RESOURCE_BROKER) {
    fail(r, KERR_INVALID_REQUEST, "Unexpected resource type %d", in->resource_type);
    return;
  }
  const struct meta_topic *t = topic ? topic_of(image, in, r) : NULL;
  if (topic && t == NULL) return;
  if (duplicate_keys(in)) {
    fail(r, KERR_INVALID_REQUEST, "Error due to duplicate config keys");
    return;
  }
  int32_t cap = META_TOPIC_CONFIGS_MAX + META_BROKER_CONFIGS_MAX + in->config_count;
  struct overrides was = {0, cap, calloc((size_t)cap, sizeof(struct meta_config))};
  struct overrides o = {0, cap, calloc((size_t)cap, sizeof(struct meta_config))};
  ASSERT(was.items != NULL && o.items != NULL);
  bool ok = true;
  if (topic) {
    memcpy(was.items, t->configs, (size_t)t->config_count * sizeof *was.items);
    was.count = t->config_count;
  } else {
    ok = broker_overrides(image, in, &was, r);
  }
  if (ok && in->incremental) {
    memcpy(o.items, was.items, (size_t)was.count * sizeof *o.items);
    o.count = was.count;
  }
  for (int32_t i = 0; i < in->config_count && ok; i++) {
    struct meta_alter_config e = in->configs[i];
    if (!in->incremental) e.op = META_CONFIG_OP_SET;
    ok = entry_apply(rules, topic, &e, &o, r);
  }
  int32_t room = topic ? META_TOPIC_CONFIGS_MAX
                       : META_BROKER_CONFIGS_MAX - image->broker_config_count + was.count;
  if (ok && o.count > room)
    fail(r, KERR_INVALID_CONFIG, "At most %d config overrides fit (%s)", room,
         topic ? "per topic" : "for all brokers together");
  else if (ok)
    records_for(image, in->resource_type, topic ? t->name : r->name, &was, &o, delta);
  free(was.items);
  free(o.items);
}
