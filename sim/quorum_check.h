/* The quorum checkers: Raft's safety properties (the Raft paper, figure 3;
 * KIP-595's rules) judged over a whole multi-node run, after every event of
 * the world, from each node's core read through raft.h's queries (never
 * changed). Like canonical/raft's fixture, each check is incremental and
 * cheap: a node whose epoch, role, log end, high watermark and last epoch
 * did not move costs a few comparisons.
 *
 *   election-safety     at most one leader per epoch, over the whole run
 *                       (restarts included)
 *   epoch-monotonic     a node's epoch never goes back: not within a
 *                       process, and a restarted process starts at least at
 *                       the epoch its quorum-state file held (fsynced) and at
 *                       the last epoch it led
 *   leader-append-only  a leader never removes or rewrites an entry of its
 *                       own log while it leads that epoch
 *   log-matching        two logs with an entry of one epoch at one offset
 *                       hold the same entry, and the same entry before it
 *                       (so, by induction, the same prefix)
 *   committed-kept      an entry once below some node's high watermark is
 *                       forever at that offset, with that epoch, in every
 *                       later leader's log and below every node's high
 *                       watermark (leader completeness)
 *   minority-progress   a node cut off from a majority of the voters does
 *                       not commit past what a majority held when it was
 *                       cut off
 *   check-quorum        a leader cut off from a majority resigns (KIP-595
 *                       check-quorum: within controller.quorum.fetch.timeout.ms;
 *                       the bound is twice that)
 *   leader-stable       (when the scenario asks: expect: leader_stable_after)
 *                       from then on the leader's epoch does not change
 *   quorum-converged    at the end of the liveness phase the nodes that are
 *                       up agree on one leader and hold the same log, all of
 *                       it committed
 *   applied-prefix      every broker's applied metadata is a prefix of the
 *                       committed log (quorum_check_applied: the runner
 *                       feeds each node's loader offset after every event)
 */
#ifndef SLUICE_SIM_QUORUM_CHECK_H
#define SLUICE_SIM_QUORUM_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/history.h"

enum { QUORUM_CHECKERS = 10, QUORUM_ELECTIONS_MAX = 64 };

struct raft;
struct quorum_check;

/* What the runner sees of node i now. */
struct quorum_view {
  const struct raft *core; /* NULL: no process (or no quorum) */
  bool voter;
  bool cut_off; /* the network cuts it from a majority of the voters */
  bool paused;  /* its process is stopped: it decides nothing (check-quorum waits) */
};

struct quorum_check_config {
  int nodes;
  int64_t fetch_timeout_ms; /* controller.quorum.fetch.timeout.ms */
  /* leader-stable: from this virtual time on (0: not asked) */
  uint64_t leader_stable_from_ns;
};

struct quorum_check *quorum_check_create(const struct quorum_check_config *cfg);
void quorum_check_free(struct quorum_check *q);
/* After every event: every node's view (cfg->nodes of them). */
void quorum_check_observe(struct quorum_check *q, uint64_t now_ns,
                          const struct quorum_view *views);
/* As quorum_check_observe when the caller knows that only node `changed`
 * (an index) may have moved since the last observation, or none
 * (SIM_LOOK_NONE), or any (SIM_LOOK_ALL), the views of the others
 * unchanged: the nodes not named get only what time decides (check-quorum's
 * bound for a cut-off node), which is all quorum_check_observe would find. */
void quorum_check_observe_node(struct quorum_check *q, uint64_t now_ns,
                               const struct quorum_view *views, int changed);
/* Node i's process ended (power loss, exit); durable_epoch: the epoch its
 * quorum-state file holds now, on what the disk kept (-1: no file). */
void quorum_check_process_ended(struct quorum_check *q, int index, int32_t durable_epoch);
/* The node index the observations so far saw leading in the highest epoch
 * (the lowest index of a tie), among the nodes up; -1: none. Right after an
 * observation whose views were the processes' own, the node the cores name
 * as runner_raft_leader does, without asking them again. */
int quorum_check_leader(struct quorum_check *q);
/* The leader was taken away by a fault (killed, isolated, paused) at now:
 * the time to the next leader of a higher epoch is measured. */
void quorum_check_leader_lost(struct quorum_check *q, uint64_t now_ns);
/* The hook for the metadata loader: broker i has applied the metadata log
 * below applied_offset; it must be a prefix of the committed log. */
void quorum_check_applied(struct quorum_check *q, int index, int64_t applied_offset);
/* The safety phase ended (faults stop): leader-stable stops here. */
void quorum_check_faults_ended(struct quorum_check *q, uint64_t now_ns);
/* Whether quorum-converged would hold on the views now. Entries keep being
 * appended to the end (an ISR change, a registration), so one may be in
 * flight at the instant the run ends: the runner steps on briefly until
 * this holds (a bounded settle), then judges. */
bool quorum_check_settled(const struct quorum_check *q, const struct quorum_view *views);
/* The verdicts, quorum-converged judged on the views now; returns how many
 * results were written (QUORUM_CHECKERS at most). */
int quorum_check_finish(struct quorum_check *q, const struct quorum_view *views,
                        struct check_result *out, int max);
/* Virtual milliseconds from each quorum_check_leader_lost to the next
 * leader (a lost leader with no successor yet is not counted). */
int quorum_check_elections(const struct quorum_check *q, uint64_t *ms, int max);

#endif
