/* sluicectl cluster describe: the cluster id, the active controller as the
 * brokers report it, each broker and where it listens, and how many
 * partitions are under-replicated or without a leader. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/sluicectl/admin.h"

static const char CLUSTER_HELP[] =
    "usage: sluicectl cluster describe --bootstrap-server H:P[,H:P]\n"
    "  also: --command-config FILE, -X key=value (librdkafka client properties)\n";

static const char *const SWITCHES[] = {"--help", NULL};

static int by_broker_id(const void *a, const void *b) {
  return ((const rd_kafka_metadata_broker_t *)a)->id -
         ((const rd_kafka_metadata_broker_t *)b)->id;
}

static int describe_cluster(rd_kafka_t *rk) {
  const rd_kafka_metadata_t *md = NULL;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, ADMIN_TIMEOUT_MS);
  if (err) return fail("metadata: %s", rd_kafka_err2str(err));
  char *id = rd_kafka_clusterid(rk, ADMIN_TIMEOUT_MS);
  int32_t controller = rd_kafka_controllerid(rk, ADMIN_TIMEOUT_MS);
  printf("Cluster ID: %s\n", id ? id : "(unknown)");
  if (controller >= 0)
    printf("Controller: %d\n", (int)controller);
  else
    printf("Controller: (unknown)\n");
  rd_kafka_metadata_broker_t *brokers = md->brokers;
  qsort(brokers, (size_t)md->broker_cnt, sizeof *brokers, by_broker_id);
  printf("Brokers: %d\n", md->broker_cnt);
  for (int i = 0; i < md->broker_cnt; i++)
    printf("  %d at %s:%d\n", (int)brokers[i].id, brokers[i].host, brokers[i].port);
  int partitions = 0, under = 0, offline = 0;
  for (int t = 0; t < md->topic_cnt; t++)
    for (int p = 0; p < md->topics[t].partition_cnt; p++) {
      const rd_kafka_metadata_partition_t *mp = &md->topics[t].partitions[p];
      partitions++;
      under += mp->isr_cnt < mp->replica_cnt;
      offline += mp->leader < 0;
    }
  printf(
      "Topics: %d\nPartitions: %d\nUnder-replicated partitions: %d\nOffline partitions: %d\n",
      md->topic_cnt, partitions, under, offline);
  if (id) rd_kafka_mem_free(rk, id);
  rd_kafka_metadata_destroy(md);
  return 0;
}

int cluster_cmd(int argc, char **argv) {
  if (argc < 1 || strcmp(argv[0], "describe") != 0) {
    fputs(CLUSTER_HELP, argc && strcmp(argv[0], "--help") == 0 ? stdout : stderr);
    return argc && strcmp(argv[0], "--help") == 0 ? 0 : 1;
  }
  struct flags f;
  if (!flags_parse(&f, argc - 1, argv + 1, SWITCHES)) return 1;
  if (flag_on(&f, "--help")) {
    fputs(CLUSTER_HELP, stdout);
    return 0;
  }
  rd_kafka_t *rk = admin_open(&f);
  if (rk == NULL) return 1;
  int rc = describe_cluster(rk);
  rd_kafka_destroy(rk);
  return rc;
}
