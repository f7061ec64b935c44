/* This node's channels to the voters of controller.quorum.voters (KIP-595):
 * one per voter but this node, in the order the config names them. The
 * Raft subsystem (server/raft_node.c) sends the core's requests over them:
 * Vote, BeginQuorumEpoch, EndQuorumEpoch, the metadata log's Fetch and
 * FetchSnapshot. A request that gets no answer within
 * controller.quorum.request.timeout.ms takes its channel down, which is how
 * a silent partition shows; the channel reconnects with backoff. */
#ifndef SLUICE_QUORUM_PEERS_H
#define SLUICE_QUORUM_PEERS_H

#include "net/channel.h"
#include "server/config.h"

struct quorum_peers {
  struct channel channels[CONFIG_VOTERS_MAX]; /* in controller.quorum.voters order */
  int count;
};

/* Opens a channel to every voter but this node; none if voters are unset.
 * The listener hears each channel go up and down. */
void quorum_peers_start(struct quorum_peers *q, struct net_dispatch *net,
                        const struct config *cfg, const struct channel_listener *listener);
/* Closes every channel; requests in flight fail; no up or down afterwards. */
void quorum_peers_stop(struct quorum_peers *q);
/* The channel to voter `id`, or NULL. */
struct channel *quorum_peers_channel(struct quorum_peers *q, int32_t id);
const struct channel *quorum_peers_channel_const(const struct quorum_peers *q, int32_t id);

#endif
