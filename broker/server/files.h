/* Small text files the node keeps beside the logs (meta.properties,
 * partition.metadata, topic configs), read and replaced with
 * log/atomic_file.h, and Kafka's topic-id text form. */
#ifndef SLUICE_FILES_H
#define SLUICE_FILES_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "env.h"
#include "proto/wire.h"

/* Finds "key=value" (or "key: value") in properties text; copies the value. */
bool properties_get(const char *text, size_t len, const char *key, char *out, size_t cap);

/* Kafka's Uuid text form: URL-safe base64 without padding (22 chars). */
struct kuuid uuid_random(struct env *env);
void uuid_to_string(struct kuuid id, char out[23]);
bool uuid_from_string(const char *s, struct kuuid *out);
bool uuid_is_zero(struct kuuid id);

#endif
