/* The consumer app's last messages: a ring of MESSAGES_KEPT, newest last,
 * each with a sequence number so that a live view (Server-Sent Events)
 * sends each message once and a slow viewer skips what was overwritten.
 * One lock; waiters are woken on every new message and at stop. */
#ifndef SLUICE_APPS_MESSAGES_H
#define SLUICE_APPS_MESSAGES_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apps/common/text.h"

enum {
  MESSAGES_KEPT = 10,
  MESSAGE_VALUE_BYTES_SHOWN = 65536, /* a larger value is shown cut, marked so */
  MESSAGE_KEY_BYTES_SHOWN = 1024,
};

struct message {
  uint64_t seq; /* 1, 2, ...; 0: an empty slot */
  int32_t partition;
  int64_t offset;
  int64_t timestamp_ms;
  bool has_key;
  char *key;
  size_t key_len;
  char *value;
  size_t value_len;
  bool value_cut;
};

struct messages {
  pthread_mutex_t lock;
  pthread_cond_t changed;
  struct message ring[MESSAGES_KEPT];
  uint64_t seq_last;
  bool stopping;
};

void messages_init(struct messages *m);
void messages_destroy(struct messages *m);
void messages_add(struct messages *m, int32_t partition, int64_t offset, int64_t timestamp_ms,
                  const void *key, size_t key_len, const void *value, size_t value_len);
void messages_stop(struct messages *m);

/* Appends each kept message newer than *seq to t, newest first (as_json:
 * a JSON array's members; else HTML table rows), and sets *seq to the
 * newest. Returns the number appended. */
int messages_render(struct messages *m, struct text *t, bool as_json, uint64_t *seq);
/* For Server-Sent Events: waits until a message newer than *seq arrives
 * (true, with the events appended oldest first), wait_ms pass or the app
 * stops (false). */
bool messages_wait_events(struct messages *m, struct text *t, uint64_t *seq, int wait_ms);
/* One message as a JSON object: the value embedded as JSON when it is
 * valid JSON, else as a string. */
void message_json(const struct message *msg, struct text *t);

#endif
