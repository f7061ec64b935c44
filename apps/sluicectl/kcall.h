/* sluicectl's requests that librdkafka 2.0 cannot make (ElectLeaders,
 * AlterPartitionReassignments, ListPartitionReassignments, KIP-455/460):
 * sent with the broker's own admin client (broker/client/admin.h) over the
 * OS world, to the first --bootstrap-server address that answers. Any
 * broker takes these calls and forwards the writes to the active
 * controller, so no controller lookup is needed. */
#ifndef SLUICECTL_KCALL_H
#define SLUICECTL_KCALL_H

#include <stdbool.h>
#include <stdint.h>

#include "client/kclient.h"
#include "net/dispatch.h"

struct os_world;

enum { KCALL_BOOTSTRAP_MAX = 16, KCALL_TIMEOUT_MS = 30000 };

struct kcall {
  struct os_world *world;
  struct net_dispatch net;
  struct kclient k;
  char hosts[KCALL_BOOTSTRAP_MAX][256];
  uint16_t ports[KCALL_BOOTSTRAP_MAX];
  int count;
  int current; /* the address that answered last */
};

/* Parses "H:P[,H:P...]" and sets up the client; false with "Error: ..."
 * printed. c must stay where it is until kcall_close. */
bool kcall_open(struct kcall *c, const char *bootstrap);
void kcall_close(struct kcall *c);

/* use(ctx, version, response) sees the decoded *_response (valid only
 * during the call). Sends `request` (a *_request of api_key) at the highest
 * version in [min, max] both sides serve, trying the next address when a
 * connection fails. False with "Error: <what>: reason" printed. */
typedef void (*kcall_use_fn)(void *ctx, int16_t version, const void *response);
bool kcall_request(struct kcall *c, int16_t api_key, int16_t min, int16_t max,
                   const void *request, kcall_use_fn use, void *ctx, const char *what);

#endif
