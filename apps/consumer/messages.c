#include "apps/consumer/messages.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apps/common/json.h"

void messages_init(struct messages *m) {
  memset(m, 0, sizeof *m);
  pthread_mutex_init(&m->lock, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&m->changed, &attr);
  pthread_condattr_destroy(&attr);
}

static void message_clear(struct message *msg) {
  free(msg->key);
  free(msg->value);
  memset(msg, 0, sizeof *msg);
}

void messages_destroy(struct messages *m) {
  for (int i = 0; i < MESSAGES_KEPT; i++) message_clear(&m->ring[i]);
  pthread_cond_destroy(&m->changed);
  pthread_mutex_destroy(&m->lock);
}

static char *copy_bytes(const void *src, size_t len) {
  char *dst = malloc(len + 1);
  if (dst == NULL) abort();
  if (len) memcpy(dst, src, len);
  dst[len] = '\0';
  return dst;
}

void messages_add(struct messages *m, int32_t partition, int64_t offset, int64_t timestamp_ms,
                  const void *key, size_t key_len, const void *value, size_t value_len) {
  struct message msg = {.partition = partition, .offset = offset, .timestamp_ms = timestamp_ms};
  msg.has_key = key != NULL;
  msg.key_len = key_len < MESSAGE_KEY_BYTES_SHOWN ? key_len : MESSAGE_KEY_BYTES_SHOWN;
  msg.key = copy_bytes(key, msg.key_len);
  msg.value_cut = value_len > MESSAGE_VALUE_BYTES_SHOWN;
  msg.value_len = msg.value_cut ? MESSAGE_VALUE_BYTES_SHOWN : value_len;
  msg.value = copy_bytes(value, value != NULL ? msg.value_len : 0);
  if (value == NULL) msg.value_len = 0;
  pthread_mutex_lock(&m->lock);
  msg.seq = ++m->seq_last;
  struct message *slot = &m->ring[msg.seq % MESSAGES_KEPT];
  message_clear(slot);
  *slot = msg;
  pthread_cond_broadcast(&m->changed);
  pthread_mutex_unlock(&m->lock);
}

void messages_stop(struct messages *m) {
  pthread_mutex_lock(&m->lock);
  m->stopping = true;
  pthread_cond_broadcast(&m->changed);
  pthread_mutex_unlock(&m->lock);
}

void message_json(const struct message *msg, struct text *t) {
  text_addf(t, "{\"partition\":%d,\"offset\":%lld,\"timestamp\":%lld,\"key\":",
            (int)msg->partition, (long long)msg->offset, (long long)msg->timestamp_ms);
  if (msg->has_key)
    text_add_json_string(t, msg->key, msg->key_len);
  else
    text_adds(t, "null");
  text_adds(t, ",\"value\":");
  if (!msg->value_cut && msg->value_len > 0 && json_valid(msg->value, msg->value_len, NULL))
    text_add(t, msg->value, msg->value_len);
  else
    text_add_json_string(t, msg->value, msg->value_len);
  text_addf(t, ",\"truncated\":%s}", msg->value_cut ? "true" : "false");
}

static void message_row(const struct message *msg, struct text *t) {
  text_addf(t, "<tr><td>%d</td><td>%lld</td><td>", (int)msg->partition, (long long)msg->offset);
  if (msg->has_key) text_add_html(t, msg->key, msg->key_len);
  text_addf(t, "</td><td class=ts data-ms=%lld>%lld</td><td><code>",
            (long long)msg->timestamp_ms, (long long)msg->timestamp_ms);
  text_add_html(t, msg->value, msg->value_len);
  text_adds(t, msg->value_cut ? "…</code></td></tr>\n" : "</code></td></tr>\n");
}

int messages_render(struct messages *m, struct text *t, bool as_json, uint64_t *seq) {
  int count = 0;
  pthread_mutex_lock(&m->lock);
  uint64_t newest = m->seq_last;
  for (uint64_t s = newest; s > *seq && s > 0 && newest - s < MESSAGES_KEPT; s--) {
    const struct message *msg = &m->ring[s % MESSAGES_KEPT];
    if (as_json) {
      if (count > 0) text_adds(t, ",\n");
      message_json(msg, t);
    } else {
      message_row(msg, t);
    }
    count++;
  }
  *seq = newest;
  pthread_mutex_unlock(&m->lock);
  return count;
}

static void deadline_after(struct timespec *ts, int wait_ms) {
  clock_gettime(CLOCK_MONOTONIC, ts);
  ts->tv_sec += wait_ms / 1000;
  ts->tv_nsec += (long)(wait_ms % 1000) * 1000000L;
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec++;
    ts->tv_nsec -= 1000000000L;
  }
}

bool messages_wait_events(struct messages *m, struct text *t, uint64_t *seq, int wait_ms) {
  struct timespec deadline;
  deadline_after(&deadline, wait_ms);
  pthread_mutex_lock(&m->lock);
  int rc = 0;
  while (!m->stopping && m->seq_last <= *seq && rc != ETIMEDOUT)
    rc = pthread_cond_timedwait(&m->changed, &m->lock, &deadline);
  bool fresh = !m->stopping && m->seq_last > *seq;
  if (fresh) {
    uint64_t oldest = m->seq_last >= MESSAGES_KEPT ? m->seq_last - MESSAGES_KEPT + 1 : 1;
    for (uint64_t s = *seq + 1 > oldest ? *seq + 1 : oldest; s <= m->seq_last; s++) {
      text_addf(t, "id: %llu\nevent: message\ndata: ", (unsigned long long)s);
      message_json(&m->ring[s % MESSAGES_KEPT], t);
      text_adds(t, "\n\n");
    }
    *seq = m->seq_last;
  }
  pthread_mutex_unlock(&m->lock);
  return fresh;
}
