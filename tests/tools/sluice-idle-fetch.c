/* make bench's idle consumers: opens --fetchers connections to a broker on
 * 127.0.0.1 and keeps each one in a long-polling Fetch (max_wait_ms, min_bytes
 * 1) of a topic nobody produces to, sending the next Fetch as soon as one
 * returns. It creates that topic first (CreateTopics), prints "ready" once
 * every connection has had an answer (all of them cycling through the
 * broker's fetch waiters and timers), and runs until SIGTERM or SIGINT, at
 * most --seconds; then it prints one line of key=value figures. A producer
 * (sluice-bench) runs beside it. Requests are encoded and responses decoded
 * with the broker's own codecs (broker/proto). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/arena.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "proto/wire.h"

enum {
  FETCHERS_MAX = 10000,
  SECONDS_MAX = 3600,
  FETCH_VERSION = 11,        /* topic names, classic (non-flexible) encoding */
  CREATE_TOPICS_VERSION = 4, /* classic encoding too */
  FRAME_BYTES_MAX = 1 << 20, /* an empty fetch answer is about 100 bytes */
  READ_ROUNDS_MAX = 64,      /* reads per readable connection per wake-up */
  FDS_SPARE = 64,            /* stdio, epoll, the broker's stray descriptors */
  READY_WAIT_MS = 30000,
  EPOLL_BATCH = 256,
};

struct opts {
  int port;
  const char *topic;
  int fetchers;
  int max_wait_ms;
  int seconds;
};

struct fetcher {
  int fd;
  int32_t correlation_id;
  uint8_t *in; /* the frame being read: 4-byte length, then the body */
  size_t in_len, in_cap;
  long answers;
  bool closed;
};

struct state {
  const struct opts *o;
  struct fetcher *fetchers;
  struct wr request; /* one Fetch, encoded once; its correlation id is patched per send */
  size_t correlation_at;
  long answers, errors, closed;
};

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int signo) {
  (void)signo;
  stop_requested = 1;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "sluice-idle-fetch: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* One descriptor per fetcher plus spares: raise the soft limit if needed. */
static void nofile_raise(int fetchers) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) die("getrlimit");
  rlim_t need = (rlim_t)fetchers + FDS_SPARE;
  if (rl.rlim_cur >= need) return;
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
    fprintf(stderr, "sluice-idle-fetch: ulimit -Hn %lu is below the %lu descriptors needed\n",
            (unsigned long)rl.rlim_max, (unsigned long)need);
    exit(2);
  }
  rl.rlim_cur = need;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) die("setrlimit");
}

static int connect_local(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) die("connect 127.0.0.1");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/* Size prefix, request header v1 (classic), then the body. */
static size_t request_begin(struct wr *w, int16_t api_key, int16_t version,
                            int32_t correlation_id) {
  wr_i32(w, 0); /* the frame size, patched at the end */
  wr_i16(w, api_key);
  wr_i16(w, version);
  size_t correlation_at = w->mem.len;
  wr_i32(w, correlation_id);
  wr_string(w, KSTR_LIT("sluice-idle-fetch"), false);
  return correlation_at;
}

static void request_end(struct wr *w) { wr_patch_i32(w, 0, (int32_t)(w->mem.len - 4)); }

static bool write_all(int fd, const uint8_t *p, size_t len) {
  for (int n = 0; len > 0 && n < 1000; n++) {
    ssize_t r = write(fd, p, len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false; /* EAGAIN too: one small request never fills a socket */
    p += r;
    len -= (size_t)r;
  }
  return len == 0;
}

/* Blocking: reads one whole frame body into a malloc()ed buffer. */
static uint8_t *read_frame(int fd, size_t *len_out) {
  uint8_t size_be[4];
  if (recv(fd, size_be, 4, MSG_WAITALL) != 4) return NULL;
  size_t len =
      (size_t)size_be[0] << 24 | (size_t)size_be[1] << 16 | size_be[2] << 8 | size_be[3];
  if (len > FRAME_BYTES_MAX) return NULL;
  uint8_t *body = malloc(len ? len : 1);
  if (!body || (len > 0 && recv(fd, body, len, MSG_WAITALL) != (ssize_t)len)) {
    free(body);
    return NULL;
  }
  *len_out = len;
  return body;
}

/* The idle topic: one partition; it may exist from an earlier run. */
static void topic_create(const struct opts *o) {
  int fd = connect_local(o->port);
  struct create_topics_request_creatable_topic t;
  create_topics_request_creatable_topic_init(&t);
  t.name = kstr_of(o->topic);
  t.num_partitions = 1;
  t.replication_factor = 1;
  struct create_topics_request m;
  create_topics_request_init(&m);
  m.topics = &t;
  m.topics_count = 1;
  struct wr w;
  wr_init(&w);
  request_begin(&w, API_CREATE_TOPICS, CREATE_TOPICS_VERSION, 1);
  create_topics_request_encode(&w, CREATE_TOPICS_VERSION, &m);
  request_end(&w);
  if (!write_all(fd, w.mem.data, w.mem.len)) die("CreateTopics write");
  wr_free(&w);
  size_t len;
  uint8_t *body = read_frame(fd, &len);
  if (!body) die("CreateTopics read");
  struct rd r;
  rd_init(&r, body, len);
  rd_i32(&r); /* correlation id; response header v0 */
  struct arena a;
  arena_init(&a);
  struct create_topics_response resp;
  bool ok = create_topics_response_decode(&r, CREATE_TOPICS_VERSION, &resp, &a) &&
            resp.topics_count == 1 &&
            (resp.topics[0].error_code == KERR_NONE ||
             resp.topics[0].error_code == KERR_TOPIC_ALREADY_EXISTS);
  if (!ok) {
    fprintf(stderr, "sluice-idle-fetch: cannot create topic %s\n", o->topic);
    exit(1);
  }
  arena_free(&a);
  free(body);
  close(fd);
}

/* The Fetch every connection repeats: partition 0 of the idle topic from
 * offset 0 (its end: nobody produces to it), no fetch session. */
static void fetch_encode(struct state *s) {
  struct fetch_request_fetch_partition p;
  fetch_request_fetch_partition_init(&p);
  p.partition = 0;
  p.fetch_offset = 0;
  p.partition_max_bytes = 1 << 20;
  struct fetch_request_fetch_topic t;
  fetch_request_fetch_topic_init(&t);
  t.topic = kstr_of(s->o->topic);
  t.partitions = &p;
  t.partitions_count = 1;
  struct fetch_request m;
  fetch_request_init(&m);
  m.max_wait_ms = s->o->max_wait_ms;
  m.min_bytes = 1;
  m.max_bytes = 1 << 20;
  m.topics = &t;
  m.topics_count = 1;
  m.rack_id = KSTR_LIT("");
  wr_init(&s->request);
  s->correlation_at = request_begin(&s->request, API_FETCH, FETCH_VERSION, 0);
  fetch_request_encode(&s->request, FETCH_VERSION, &m);
  request_end(&s->request);
}

static bool fetch_send(struct state *s, struct fetcher *f) {
  f->correlation_id++;
  wr_patch_i32(&s->request, s->correlation_at, f->correlation_id);
  return write_all(f->fd, s->request.mem.data, s->request.mem.len);
}

/* Counts an answer with any error code (or one that does not decode) as an
 * error: the figure is only meaningful while every fetch long-polls. */
static bool fetch_answer_ok(const struct fetcher *f, const uint8_t *body, size_t len) {
  struct rd r;
  rd_init(&r, body, len);
  if (rd_i32(&r) != f->correlation_id) return false;
  struct arena a;
  arena_init(&a);
  struct fetch_response resp;
  bool ok = fetch_response_decode(&r, FETCH_VERSION, &resp, &a) && resp.error_code == 0 &&
            resp.responses_count == 1 && resp.responses[0].partitions_count == 1 &&
            resp.responses[0].partitions[0].error_code == KERR_NONE;
  arena_free(&a);
  return ok;
}

static void fetcher_close(struct state *s, struct fetcher *f) {
  if (f->closed) return;
  close(f->fd); /* also leaves the epoll set */
  f->closed = true;
  s->closed++;
}

/* Takes the whole frames out of f->in; each answer sends the next Fetch. */
static void frames_take(struct state *s, struct fetcher *f) {
  for (int n = 0; f->in_len >= 4 && n < READ_ROUNDS_MAX; n++) {
    const uint8_t *p = f->in;
    size_t len = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
    if (len > FRAME_BYTES_MAX) {
      fetcher_close(s, f);
      return;
    }
    if (f->in_len < 4 + len) return;
    if (!fetch_answer_ok(f, p + 4, len)) s->errors++;
    f->answers++;
    s->answers++;
    memmove(f->in, f->in + 4 + len, f->in_len - 4 - len);
    f->in_len -= 4 + len;
    if (!fetch_send(s, f)) {
      fetcher_close(s, f);
      return;
    }
  }
}

static void fetcher_readable(struct state *s, struct fetcher *f) {
  for (int n = 0; n < READ_ROUNDS_MAX && !f->closed; n++) {
    if (f->in_cap - f->in_len < 4096) {
      f->in_cap = f->in_cap ? f->in_cap * 2 : 8192;
      if (f->in_cap > 2 * FRAME_BYTES_MAX) {
        fetcher_close(s, f);
        return;
      }
      f->in = realloc(f->in, f->in_cap);
      if (!f->in) die("realloc");
    }
    ssize_t r = read(f->fd, f->in + f->in_len, f->in_cap - f->in_len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) return;
    if (r <= 0) {
      fetcher_close(s, f);
      return;
    }
    f->in_len += (size_t)r;
    frames_take(s, f);
  }
}

static int fetchers_open(struct state *s) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  for (int i = 0; i < s->o->fetchers; i++) {
    struct fetcher *f = &s->fetchers[i];
    f->fd = connect_local(s->o->port);
    if (!fetch_send(s, f)) die("Fetch write");
    if (fcntl(f->fd, F_SETFL, O_NONBLOCK) != 0) die("fcntl");
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = f};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, f->fd, &ev) != 0) die("epoll_ctl");
  }
  return ep;
}

static bool all_answered(const struct state *s) {
  for (int i = 0; i < s->o->fetchers; i++)
    if (s->fetchers[i].answers == 0 && !s->fetchers[i].closed) return false;
  return true;
}

/* Runs until stopped or the deadline; prints "ready" once, when every
 * connection has been answered. */
static void run(struct state *s, int ep, double deadline_s) {
  bool ready = false;
  double ready_by_s = now_s() + READY_WAIT_MS / 1000.0;
  while (!stop_requested && now_s() < deadline_s) {
    struct epoll_event evs[EPOLL_BATCH];
    int n = epoll_wait(ep, evs, EPOLL_BATCH, 100);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int i = 0; i < n; i++) fetcher_readable(s, evs[i].data.ptr);
    if (!ready && all_answered(s)) {
      ready = true;
      printf("ready fetchers=%d\n", s->o->fetchers);
      fflush(stdout);
    }
    if (!ready && now_s() > ready_by_s) {
      fprintf(stderr, "sluice-idle-fetch: not every connection answered in %d ms\n",
              READY_WAIT_MS);
      exit(1);
    }
  }
}

static int usage(void) {
  fprintf(stderr, "usage: sluice-idle-fetch --port P [--topic T] [--fetchers N] "
                  "[--max-wait-ms MS] [--seconds S]\n");
  return 2;
}

int main(int argc, char **argv) {
  struct opts o = {.topic = "idle", .fetchers = 1000, .max_wait_ms = 500, .seconds = 300};
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--port"))
      o.port = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--topic"))
      o.topic = argv[i + 1];
    else if (!strcmp(argv[i], "--fetchers"))
      o.fetchers = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--max-wait-ms"))
      o.max_wait_ms = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--seconds"))
      o.seconds = atoi(argv[i + 1]);
    else
      return usage();
  }
  if (o.port <= 0 || o.port > 65535 || o.fetchers < 1 || o.fetchers > FETCHERS_MAX ||
      o.max_wait_ms < 1 || o.seconds < 1 || o.seconds > SECONDS_MAX)
    return usage();
  signal(SIGPIPE, SIG_IGN);
  signal(SIGTERM, on_stop_signal);
  signal(SIGINT, on_stop_signal);
  nofile_raise(o.fetchers);
  topic_create(&o);
  struct state s = {.o = &o, .fetchers = calloc((size_t)o.fetchers, sizeof *s.fetchers)};
  if (!s.fetchers) die("calloc");
  fetch_encode(&s);
  double t0 = now_s();
  int ep = fetchers_open(&s);
  run(&s, ep, t0 + o.seconds);
  double secs = now_s() - t0;
  printf("mode=idle-fetch fetchers=%d answers=%ld errors=%ld closed=%ld secs=%.3f "
         "answers_per_s=%.0f\n",
         o.fetchers, s.answers, s.errors, s.closed, secs, s.answers / secs);
  int rc = s.errors || s.closed > 0 ? 1 : 0;
  for (int i = 0; i < o.fetchers; i++) {
    fetcher_close(&s, &s.fetchers[i]);
    free(s.fetchers[i].in);
  }
  close(ep);
  wr_free(&s.request);
  free(s.fetchers);
  return rc;
}
