/* At the end of every run, each live broker's metrics text (what its
 * sluice.metrics.listener would serve) must be valid Prometheus text
 * exposition: comment lines are HELP or TYPE, every sample is a metric
 * name, optional {label="value",...}, a space and a number. A malformed
 * line fails the run as an assertion, with the line. */
#ifndef SLUICE_SIM_METRICS_CHECK_H
#define SLUICE_SIM_METRICS_CHECK_H

#include <stdint.h>

struct node;

/* Asserts the text is well formed; returns how many partitions the node
 * reports leading (sluice_partitions_led). */
int64_t metrics_check_node(const struct node *node);

#endif
