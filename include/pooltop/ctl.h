/*
 * pooltop control socket: a Unix stream socket on which `pooltop send`,
 * `pooltop ctl` (and any program) hand tasks to a running pooltop and
 * act on its workers through the commands layer.
 *
 * Wire format (documented in pooltop(1), CONTROL SOCKET):
 *
 *   request  u32 length (big-endian; bytes that follow, 1..CTL_MAX_REQUEST)
 *            header line: words separated by one space, ended by "\n",
 *            at most CTL_MAX_HEADER bytes (newline included); in a word,
 *            '%', space, control bytes and bytes over 0x7e are written %XX
 *            payload: the rest of the length (send only)
 *   reply    u32 length (big-endian), "ok\n" or "error\n", then the data
 *            (the result, the outcome message, or the error message)
 *
 * A connection carries any number of requests; they may be pipelined and
 * the replies come back in the order of the requests.
 *
 * One request has more than one reply: "logs ... follow" is answered
 * with the backlog, then with one more ok reply per batch of new lines
 * for as long as the connection is open; it must be the connection's
 * last request (what comes after it is not read).  The data of a logs
 * reply are records, one per line (pooltop/logtail.h).
 */
#ifndef POOLTOP_CTL_H
#define POOLTOP_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct engine;

#define CTL_LEN_SIZE		4		/* the length field */
#define CTL_MAX_HEADER		4096		/* header line, newline included */
#define CTL_MAX_PAYLOAD		(16u << 20)	/* the engine's frame limit */
#define CTL_MAX_REQUEST		(CTL_MAX_HEADER + CTL_MAX_PAYLOAD)
#define CTL_MAX_WORDS		8
#define CTL_MAX_TASK_NAME	255
#define CTL_MAX_SCALE		4096		/* scale POOL N: N is 1 to this (the
					   engine's POOL_WORKERS_MAX) */
#define CTL_SOCKET_NAME		"pooltop.sock"

enum ctl_op {
	CTL_OP_SEND,		/* send POOL TASK [key=K] [timeout=MS] + payload */
	CTL_OP_LIST,		/* list [text|json] */
	CTL_OP_KILL,		/* kill TARGET SIGNAL */
	CTL_OP_SLEEP,		/* sleep TARGET */
	CTL_OP_WAKE,		/* wake TARGET */
	CTL_OP_RESTART,		/* restart TARGET */
	CTL_OP_SCALE,		/* scale POOL N */
	CTL_OP_STRATEGY,	/* strategy POOL NAME */
	CTL_OP_PING,		/* ping: "pooltop VERSION (pid N)" */
	CTL_OP_LOGS,		/* logs [lines=N] [follow] [TARGET]: log records */
	CTL_OP_RELOAD,		/* reload POOL: answered when the reload ends */
};

#define CTL_LOGS_LINES		20		/* default lines per worker */
#define CTL_LOGS_MAX_LINES	1000000		/* largest lines=N */

/*
 * A parsed request.  The strings point into words[] (decoded, each
 * NUL-terminated); payload points into the buffer that was parsed.
 */
struct ctl_request {
	enum ctl_op	 op;
	const char	*pool;		/* send, scale, strategy, reload */
	const char	*task;		/* send */
	const char	*target;	/* kill, sleep, wake, restart: POOL/N or pid;
					   logs: POOL, POOL/N, pid or NULL (all) */
	const char	*strategy;	/* strategy */
	const char	*key;		/* send: sticky key (may hold NULs); NULL: none */
	size_t		 key_len;
	uint64_t	 timeout_ms;	/* send: 0 for the pool's task_timeout */
	int		 sig;		/* kill */
	unsigned	 workers;	/* scale */
	bool		 json;		/* list */
	size_t		 lines;		/* logs: per worker */
	bool		 follow;	/* logs */
	const uint8_t	*payload;	/* send */
	size_t		 payload_len;
	char		 words[CTL_MAX_HEADER + CTL_MAX_WORDS];
};

/* ctl_parse_request() results. */
enum ctl_parse_status {
	CTL_PARSE_NEED_MORE	= 1,	/* *frame_len: bytes needed, if known */
	CTL_PARSE_OK		= 0,	/* *frame_len: bytes the request took */
	CTL_PARSE_EINVAL	= -1,	/* malformed; skip *frame_len bytes */
	CTL_PARSE_ETOOBIG	= -2,	/* length over the limit: cannot resync */
};

/*
 * Parses the request at the start of buf[0..len).  Pure: no I/O, no
 * allocation, never reads outside the buffer.  On CTL_PARSE_EINVAL and
 * CTL_PARSE_ETOOBIG writes the reason for a person into err.
 */
int	ctl_parse_request(const uint8_t *buf, size_t len,
	    struct ctl_request *req, size_t *frame_len, char *err,
	    size_t errlen);

/*
 * Appends word (len bytes) to out[0..cap) %-encoded, at *pos; returns 0
 * or -ENOSPC.
 */
int	ctl_encode_word(char *out, size_t cap, size_t *pos, const void *word,
	    size_t len);

/*
 * The socket path: path when not NULL, else $XDG_RUNTIME_DIR/pooltop.sock,
 * else /tmp/pooltop-UID/pooltop.sock.  That private directory is created
 * (mode 0700) when create is set, and in any case must be a directory
 * owned by us with mode 0700.  Returns 0, or a negative errno with the
 * reason in err.
 */
int	ctl_socket_path(const char *path, bool create, char *out,
	    size_t outlen, char *err, size_t errlen);

/* ---- server (on the app's loop) ------------------------------------------ */

struct ctl_server;

/*
 * Listens on path (mode 0600).  A stale socket left by a dead pooltop is
 * replaced; a live one is refused: -EADDRINUSE with "another pooltop is
 * running on PATH (pid N)" in err.  The server's handles do not keep the
 * loop alive.
 */
int	ctl_server_new(struct ctl_server **out, uv_loop_t *loop,
	    struct engine *engine, const char *path, char *err,
	    size_t errlen);
/*
 * Stops listening, removes the socket file, closes every connection
 * (answers of tasks still running are dropped when they end); memory goes
 * once the last handle is closed.  NULL ok.
 */
void	ctl_server_free(struct ctl_server *);
const char *ctl_server_path(const struct ctl_server *);
/* Connections open now. */
size_t	ctl_server_clients(const struct ctl_server *);

/* ---- client (blocking) ---------------------------------------------------- */

/*
 * Connects to path; returns the socket or a negative errno with
 * "cannot connect to PATH: REASON" in err.
 */
int	ctl_connect(const char *path, char *err, size_t errlen);

struct ctl_reply {
	bool		 ok;
	uint8_t		*data;		/* malloc'd, NUL-terminated for convenience */
	size_t		 len;
};

/*
 * Reads one reply (for the requests with more than one: logs follow).
 * Returns 0 (reply filled; the caller frees reply->data), -EPIPE when
 * pooltop closed the connection before a reply began, or a negative
 * errno, with the reason in err.
 */
int	ctl_read_reply(int fd, struct ctl_reply *reply, char *err,
	    size_t errlen);

/*
 * Sends one request made of nwords words and a payload, and reads its
 * reply.  Returns 0 (reply filled; the caller frees reply->data), or a
 * negative errno with the reason in err.
 */
int	ctl_call(int fd, const char *const *words, const size_t *lens,
	    size_t nwords, const void *payload, size_t payload_len,
	    struct ctl_reply *reply, char *err, size_t errlen);

#endif
