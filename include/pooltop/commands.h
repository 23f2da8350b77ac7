/*
 * pooltop commands: the one place that acts on workers.  The dashboard's
 * keys and the control socket both call these; nothing else signals.
 *
 * Each command returns 0 or a negative errno and writes a one-line
 * outcome for a person into msg ("sent SIGTERM to web/2 (pid 1234)",
 * "no worker web/9: pool web has 4 slots").
 */
#ifndef POOLTOP_COMMANDS_H
#define POOLTOP_COMMANDS_H

#include <stddef.h>
#include <sys/types.h>

#include "pooltop/pool.h"

/* A worker: its pool and slot. */
struct cmd_target {
	struct pool	*pool;
	int		 slot;
};

/*
 * Resolves "POOL/N" or a pid (of a live worker) to a target; 0, or
 * -ENOENT / -EINVAL with the reason in msg.
 */
int	cmd_resolve(struct engine *, const char *spec, struct cmd_target *,
	    char *msg, size_t msglen);

int	cmd_kill(struct engine *, const struct cmd_target *, int sig,
	    char *msg, size_t msglen);
int	cmd_sleep(struct engine *, const struct cmd_target *, char *msg,
	    size_t msglen);
int	cmd_wake(struct engine *, const struct cmd_target *, char *msg,
	    size_t msglen);
int	cmd_restart(struct engine *, const struct cmd_target *, char *msg,
	    size_t msglen);
int	cmd_scale(struct engine *, struct pool *, unsigned workers,
	    char *msg, size_t msglen);
int	cmd_strategy(struct engine *, struct pool *, const char *name,
	    char *msg, size_t msglen);
/*
 * Starts a reload of the pool's workers (the pool's reload mode); msg
 * says it began ("reloading pool web (rolling, 4 workers)") or that one
 * more pass follows the one under way.  cb (NULL ok) runs once at its
 * end with the outcome (see pool_reload()).
 */
int	cmd_reload(struct engine *, struct pool *, pool_reload_cb cb,
	    void *arg, char *msg, size_t msglen);

/* Signal names for menus and the command line: "TERM" or "SIGTERM" or "15". */
int	cmd_signal_parse(const char *name);
const char *cmd_signal_name(int sig);	/* "TERM"; NULL if unknown */

#endif
