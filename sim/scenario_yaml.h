/* The YAML reading and writing that sim/scenario.c (the scenario) and
 * faults/grammar.c (its faults: section) share. A parser stops at the first
 * error and keeps it as "file:line: what is wrong". */
#ifndef SLUICE_SIM_SCENARIO_YAML_H
#define SLUICE_SIM_SCENARIO_YAML_H

#include <libfyaml.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/scenario.h"

struct yaml_parser {
  const char *path;
  char *err;
  size_t err_cap;
  bool failed;
  /* The list item being read: a topic's or a fault's fields go here. */
  struct scenario_topic *topic;
  struct fault *fault;
};

/* A node's line in the file (1-based; 0 if unknown). */
int yaml_line(struct fy_node *n);
/* Records the first error; always false, for `return yaml_fail(...)`. */
__attribute__((format(printf, 3, 4))) bool yaml_fail(struct yaml_parser *p, int line,
                                                     const char *fmt, ...);
/* A single value into out (cap bytes with its NUL). */
bool yaml_scalar(struct yaml_parser *p, struct fy_node *key, struct fy_node *v, char *out,
                 size_t cap);
bool yaml_integer(struct yaml_parser *p, struct fy_node *key, struct fy_node *v, int64_t min,
                  int64_t max, int64_t *out);
/* "250ms", "10s", "2m" (a bare number is refused: say the unit). */
bool yaml_duration(struct yaml_parser *p, struct fy_node *key, struct fy_node *v, int64_t *ms);

/* A mapping of known keys, each read by its function; an unknown key is an
 * error that names `where`. */
typedef bool (*yaml_field_fn)(struct yaml_parser *p, struct scenario *s, struct fy_node *key,
                              struct fy_node *v);
struct yaml_field {
  const char *name;
  yaml_field_fn fn;
};
bool yaml_fields(struct yaml_parser *p, struct scenario *s, struct fy_node *map,
                 struct fy_node *owner, const struct yaml_field *fields, size_t n,
                 const char *where);

/* Appends to a text of cap bytes; len counts what did not fit too, so the
 * caller sees how much it needed. */
struct yaml_out {
  char *p;
  size_t cap, len;
};
__attribute__((format(printf, 2, 3))) void yaml_put(struct yaml_out *o, const char *fmt, ...);

#endif
