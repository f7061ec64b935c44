/* The Prometheus endpoint of a real node (sluice.metrics.listener,
 * host:port): GET /metrics on libmicrohttpd's own thread. That thread never
 * touches the node: the event loop renders the text once a second
 * (node_metrics_text, plus this process's fsync latencies and timer
 * lateness) into a snapshot under a mutex, and the HTTP thread serves the
 * latest copy. */
#ifndef SLUICE_OS_METRICS_HTTP_H
#define SLUICE_OS_METRICS_HTTP_H

struct os_world;
struct node;
struct os_metrics;

/* NULL, with the reason printed, when listener is not host:port or cannot
 * be bound. */
struct os_metrics *os_metrics_start(struct os_world *w, struct node *node,
                                    const char *listener);
void os_metrics_stop(struct os_metrics *m);

#endif
