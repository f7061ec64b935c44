/* This node's channels to the other voters of controller.quorum.voters.
 *
 * The KRaft quorum (KIP-595) runs over them: Vote, BeginQuorumEpoch and the
 * metadata log's Fetch. Until it lands, a probe keeps each channel in use
 * (ApiVersions every probe interval), so a silent partition is noticed by
 * the channel's request timeout just as the quorum's Fetch will notice it. */
#ifndef SLUICE_QUORUM_PEERS_H
#define SLUICE_QUORUM_PEERS_H

#include "net/channel.h"
#include "server/config.h"

enum { QUORUM_PROBE_INTERVAL_MS = 500 };

struct quorum_peers_stats {
  uint64_t probes_sent;
  uint64_t probes_answered;
};

struct quorum_peers {
  struct env *env;
  struct channel channels[CONFIG_VOTERS_MAX]; /* in controller.quorum.voters order */
  int count;
  env_timer_id probe_timer;
  struct quorum_peers_stats stats;
};

/* Opens a channel to every voter but this node; none if voters are unset. */
void quorum_peers_start(struct quorum_peers *q, struct net_dispatch *net,
                        const struct config *cfg);
/* Closes every channel; no callbacks afterwards. */
void quorum_peers_stop(struct quorum_peers *q);
/* The channel to voter `id`, or NULL. */
const struct channel *quorum_peers_channel(const struct quorum_peers *q, int32_t id);

#endif
