/* The node's parts, each with a life cycle (TigerBeetle's and Kafka's
 * brokers are built the same way: a list of components started in order and
 * stopped in reverse).
 *
 * node.c runs every subsystem's init in table order, then every start; a
 * clean shutdown runs the shutdowns in reverse order, each after the one
 * before it finished; free runs in reverse order too, after a shutdown or
 * instead of one (a crash, a failed start). The table and the reasons for
 * its order are in node.c. */
#ifndef SLUICE_SUBSYSTEM_H
#define SLUICE_SUBSYSTEM_H

struct node;

struct subsystem {
  const char *name;
  /* State from config and disk; nothing runs yet. Returns 0 or ENV_E*
   * (the reason logged); the node is then freed. NULL: nothing to do. */
  int (*init)(struct node *node);
  /* Begin work: timers, listeners, peers. Returns 0 or ENV_E*. NULL:
   * nothing to begin. */
  int (*start)(struct node *node);
  /* Finish what is in flight, then call node_subsystem_stopped(node),
   * at once or later. NULL: stops at once. */
  void (*shutdown)(struct node *node);
  /* Frees what init made; never fails; safe on a zeroed or failed init. */
  void (*free)(struct node *node);
};

/* node.c: the shutdown of the current subsystem is done. */
void node_subsystem_stopped(struct node *node);

extern const struct subsystem subsystem_log_manager;      /* log_manager.c */
extern const struct subsystem subsystem_server;           /* listeners.c */
extern const struct subsystem subsystem_metadata;         /* metadata.c */
extern const struct subsystem subsystem_broker_lifecycle; /* broker_lifecycle.c */
extern const struct subsystem subsystem_raft;             /* raft_node.c */
extern const struct subsystem subsystem_groups;           /* group_coordinator.c */

#endif
