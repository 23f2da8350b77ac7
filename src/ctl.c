/*
 * The control socket: a request parser (pure, the fuzz target's entry
 * point), a server on the app's libuv loop and a blocking client.
 *
 * The server reads requests from each connection into a buffer, parses
 * as many as are complete, and queues one pending reply per request in a
 * FIFO, so replies leave in request order even though tasks finish in any
 * order.  A task whose client went away still ends exactly once inside
 * the engine: its pending reply is detached from the connection and freed,
 * unsent, when the task's callback runs.
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "pooltop/balance.h"
#include "pooltop/commands.h"
#include "pooltop/ctl.h"
#include "pooltop/logtail.h"
#include "pooltop/pool.h"
#include "pooltop/sampler.h"

_Static_assert(CTL_MAX_SCALE == POOL_WORKERS_MAX,
    "ctl scale takes the engine's worker range");

#ifndef POOLTOP_VERSION
#define POOLTOP_VERSION "unknown"
#endif

#define CTL_SUN_PATH_MAX	(sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
#define CTL_BACKLOG		128
#define CTL_MAX_CLIENTS		512	/* connections served at once */
#define CTL_MAX_PENDING		256	/* unanswered requests per connection */
#define CTL_MAX_WRITES		256	/* replies being written per connection */
#define CTL_READ_CHUNK		65536
#define CTL_MAX_REPLY		(CTL_MAX_REQUEST + 65536)	/* client side */
#define CTL_LOGS_BACKLOG	(8u << 20)	/* bytes of a logs backlog reply */
#define CTL_LOGS_BATCH		(64u * 1024)	/* bytes of a follow reply */
#define CTL_LOGS_QUEUED		(256u * 1024)	/* a follower's unsent bytes before
						   the server waits for it */

/* ---- parser ---------------------------------------------------------------- */

static void
ctl_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
ctl_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static uint32_t
ctl_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void
ctl_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/*
 * Writes a word as printable text for an error message: bytes outside
 * printable ASCII become \xNN, and long words are cut with "...".
 */
static const char *
ctl_quote(const char *s, size_t len, char *out, size_t outlen)
{
	size_t	i, o = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (o + 8 >= outlen) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			out[o++] = c;
		else
			o += snprintf(out + o, outlen - o, "\\x%02x", c);
	}
	out[o] = '\0';
	return out;
}

static int
ctl_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses a plain decimal number (no sign, no spaces) up to max. */
static int
ctl_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t	v = 0;
	size_t		i;

	if (len == 0 || len > 20)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (v > (max - (uint64_t)(s[i] - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

struct ctl_verb {
	const char	*name;
	enum ctl_op	 op;
	size_t		 min_words;
	size_t		 max_words;
	const char	*usage;
};

static const struct ctl_verb ctl_verbs[] = {
	{ "send", CTL_OP_SEND, 3, 5, "send POOL TASK [key=K] [timeout=MS]" },
	{ "list", CTL_OP_LIST, 1, 2, "list [text|json]" },
	{ "kill", CTL_OP_KILL, 3, 3, "kill TARGET SIGNAL" },
	{ "sleep", CTL_OP_SLEEP, 2, 2, "sleep TARGET" },
	{ "wake", CTL_OP_WAKE, 2, 2, "wake TARGET" },
	{ "restart", CTL_OP_RESTART, 2, 2, "restart TARGET" },
	{ "scale", CTL_OP_SCALE, 3, 3, "scale POOL N" },
	{ "strategy", CTL_OP_STRATEGY, 3, 3, "strategy POOL NAME" },
	{ "ping", CTL_OP_PING, 1, 1, "ping" },
	{ "logs", CTL_OP_LOGS, 1, 4, "logs [lines=N] [follow] [TARGET]" },
	{ "reload", CTL_OP_RELOAD, 2, 2, "reload POOL" },
};
#define CTL_NVERBS (sizeof ctl_verbs / sizeof ctl_verbs[0])

/* The arguments of logs: [lines=N] [follow] [TARGET], in any order. */
static int
ctl_parse_logs(struct ctl_request *req, const char **word,
    const size_t *wlen, size_t nw, char *err, size_t errlen)
{
	char		q[64];
	uint64_t	n;
	size_t		i;
	bool		lines = false;

	req->lines = CTL_LOGS_LINES;
	for (i = 1; i < nw; i++) {
		if (wlen[i] >= 6 && memcmp(word[i], "lines=", 6) == 0) {
			if (lines) {
				ctl_errf(err, errlen, "bad logs request: "
				    "lines given twice");
				return -1;
			}
			if (ctl_parse_u64(word[i] + 6, wlen[i] - 6,
			    CTL_LOGS_MAX_LINES, &n) != 0) {
				ctl_errf(err, errlen, "bad logs request: lines "
				    "\"%s\" (expected a number from 0 to %d)",
				    ctl_quote(word[i] + 6, wlen[i] - 6, q,
				    sizeof q), CTL_LOGS_MAX_LINES);
				return -1;
			}
			req->lines = (size_t)n;
			lines = true;
		} else if (strcmp(word[i], "follow") == 0) {
			if (req->follow) {
				ctl_errf(err, errlen, "bad logs request: "
				    "follow given twice");
				return -1;
			}
			req->follow = true;
		} else if (req->target != NULL) {
			ctl_errf(err, errlen, "bad logs request: a second "
			    "target \"%s\" (expected one POOL, POOL/N or pid "
			    "at most)", ctl_quote(word[i], wlen[i], q,
			    sizeof q));
			return -1;
		} else
			req->target = word[i];
	}
	return 0;
}

/* Checks the arguments of a parsed header and fills the request. */
static int
ctl_parse_words(struct ctl_request *req, const char **word,
    const size_t *wlen, size_t nw, char *err, size_t errlen)
{
	const struct ctl_verb	*v = NULL;
	char			 q[64];
	uint64_t		 n;
	size_t			 i;
	int			 rc;

	for (i = 0; i < CTL_NVERBS; i++) {
		if (strlen(ctl_verbs[i].name) == wlen[0] &&
		    memcmp(ctl_verbs[i].name, word[0], wlen[0]) == 0) {
			v = &ctl_verbs[i];
			break;
		}
	}
	if (v == NULL) {
		ctl_errf(err, errlen, "unknown request \"%s\" (expected send, "
		    "list, kill, sleep, wake, restart, scale, strategy, logs, "
		    "reload or ping)", ctl_quote(word[0], wlen[0], q,
		    sizeof q));
		return -1;
	}
	if (nw < v->min_words || nw > v->max_words) {
		ctl_errf(err, errlen, "bad %s request: %zu argument%s given "
		    "(expected \"%s\")", v->name, nw - 1, nw == 2 ? "" : "s",
		    v->usage);
		return -1;
	}
	/* Only a send's key may hold NUL bytes; names never do. */
	for (i = 1; i < nw; i++) {
		if (v->op == CTL_OP_SEND && i >= 3 && wlen[i] >= 4 &&
		    memcmp(word[i], "key=", 4) == 0)
			continue;
		if (memchr(word[i], '\0', wlen[i]) != NULL) {
			ctl_errf(err, errlen, "bad %s request: argument %zu "
			    "holds a NUL byte", v->name, i);
			return -1;
		}
	}
	if (v->op != CTL_OP_SEND && req->payload_len != 0) {
		ctl_errf(err, errlen, "bad %s request: it takes no payload "
		    "(%zu bytes given)", v->name, req->payload_len);
		return -1;
	}

	req->op = v->op;
	switch (v->op) {
	case CTL_OP_SEND:
		req->pool = word[1];
		req->task = word[2];
		if (wlen[2] > CTL_MAX_TASK_NAME) {
			ctl_errf(err, errlen, "bad send request: task name of "
			    "%zu bytes (at most %d)", wlen[2],
			    CTL_MAX_TASK_NAME);
			return -1;
		}
		for (i = 3; i < nw; i++) {
			if (wlen[i] >= 4 && memcmp(word[i], "key=", 4) == 0) {
				if (req->key != NULL) {
					ctl_errf(err, errlen, "bad send "
					    "request: key given twice");
					return -1;
				}
				req->key = word[i] + 4;
				req->key_len = wlen[i] - 4;
			} else if (wlen[i] >= 8 &&
			    memcmp(word[i], "timeout=", 8) == 0) {
				if (req->timeout_ms != 0) {
					ctl_errf(err, errlen, "bad send "
					    "request: timeout given twice");
					return -1;
				}
				rc = ctl_parse_u64(word[i] + 8, wlen[i] - 8,
				    UINT64_C(1) << 53, &n);
				if (rc != 0 || n == 0) {
					ctl_errf(err, errlen, "bad send "
					    "request: timeout \"%s\" (expected "
					    "milliseconds, 1 or more)",
					    ctl_quote(word[i] + 8, wlen[i] - 8,
					    q, sizeof q));
					return -1;
				}
				req->timeout_ms = n;
			} else {
				ctl_errf(err, errlen, "bad send request: "
				    "unknown option \"%s\" (expected key=K or "
				    "timeout=MS)", ctl_quote(word[i], wlen[i],
				    q, sizeof q));
				return -1;
			}
		}
		break;
	case CTL_OP_LIST:
		if (nw == 2) {
			if (strcmp(word[1], "json") == 0)
				req->json = true;
			else if (strcmp(word[1], "text") != 0) {
				ctl_errf(err, errlen, "bad list request: "
				    "format \"%s\" (expected text or json)",
				    ctl_quote(word[1], wlen[1], q, sizeof q));
				return -1;
			}
		}
		break;
	case CTL_OP_KILL:
		req->target = word[1];
		req->sig = cmd_signal_parse(word[2]);
		if (req->sig <= 0) {
			ctl_errf(err, errlen, "bad kill request: unknown "
			    "signal \"%s\" (expected a name such as TERM or "
			    "a number)", ctl_quote(word[2], wlen[2], q,
			    sizeof q));
			return -1;
		}
		break;
	case CTL_OP_SLEEP:
	case CTL_OP_WAKE:
	case CTL_OP_RESTART:
		req->target = word[1];
		break;
	case CTL_OP_SCALE:
		req->pool = word[1];
		if (ctl_parse_u64(word[2], wlen[2], CTL_MAX_SCALE, &n) != 0 ||
		    n == 0) {
			ctl_errf(err, errlen, "bad scale request: worker "
			    "count \"%s\" (expected a number from 1 to %d)",
			    ctl_quote(word[2], wlen[2], q, sizeof q),
			    CTL_MAX_SCALE);
			return -1;
		}
		req->workers = (unsigned)n;
		break;
	case CTL_OP_STRATEGY:
		req->pool = word[1];
		req->strategy = word[2];
		break;
	case CTL_OP_PING:
		break;
	case CTL_OP_LOGS:
		if (ctl_parse_logs(req, word, wlen, nw, err, errlen) != 0)
			return -1;
		break;
	case CTL_OP_RELOAD:
		req->pool = word[1];
		break;
	}
	return 0;
}

int
ctl_parse_request(const uint8_t *buf, size_t len, struct ctl_request *req,
    size_t *frame_len, char *err, size_t errlen)
{
	const char	*word[CTL_MAX_WORDS];
	size_t		 wlen[CTL_MAX_WORDS];
	const uint8_t	*body, *nl, *p, *q, *end;
	char		*out;
	uint32_t	 length;
	size_t		 hlen, nw = 0;
	int		 hi, lo;

	memset(req, 0, offsetof(struct ctl_request, words));
	req->words[0] = '\0';
	*frame_len = CTL_LEN_SIZE;
	if (len < CTL_LEN_SIZE)
		return CTL_PARSE_NEED_MORE;
	length = ctl_get_be32(buf);
	if (length > CTL_MAX_REQUEST) {
		ctl_errf(err, errlen, "request of %" PRIu32 " bytes is over "
		    "the limit of %u bytes", length, CTL_MAX_REQUEST);
		return CTL_PARSE_ETOOBIG;
	}
	*frame_len = CTL_LEN_SIZE + (size_t)length;
	if (length == 0) {
		ctl_errf(err, errlen, "empty request (length 0)");
		return CTL_PARSE_EINVAL;
	}
	if (len - CTL_LEN_SIZE < length)
		return CTL_PARSE_NEED_MORE;

	body = buf + CTL_LEN_SIZE;
	nl = memchr(body, '\n', length < CTL_MAX_HEADER ? length :
	    CTL_MAX_HEADER);
	if (nl == NULL) {
		if (length >= CTL_MAX_HEADER)
			ctl_errf(err, errlen, "header line longer than %d "
			    "bytes", CTL_MAX_HEADER - 1);
		else
			ctl_errf(err, errlen, "request has no header line "
			    "(no newline in %" PRIu32 " bytes)", length);
		return CTL_PARSE_EINVAL;
	}
	hlen = (size_t)(nl - body);
	req->payload = nl + 1;
	req->payload_len = length - hlen - 1;
	if (hlen == 0) {
		ctl_errf(err, errlen, "empty header line (expected a request "
		    "such as \"list\")");
		return CTL_PARSE_EINVAL;
	}

	/* Split on single spaces and %-decode each word into req->words. */
	out = req->words;
	end = body + hlen;
	for (p = body; p <= end; p = q + 1) {
		q = memchr(p, ' ', (size_t)(end - p));
		if (q == NULL)
			q = end;
		if (q == p) {
			ctl_errf(err, errlen, "empty word in the header line "
			    "(words are separated by one space)");
			return CTL_PARSE_EINVAL;
		}
		if (nw == CTL_MAX_WORDS) {
			ctl_errf(err, errlen, "too many words in the header "
			    "line (at most %d)", CTL_MAX_WORDS);
			return CTL_PARSE_EINVAL;
		}
		word[nw] = out;
		for (; p < q; p++) {
			if (*p != '%') {
				*out++ = (char)*p;
				continue;
			}
			if (q - p < 3 || (hi = ctl_hexval(p[1])) < 0 ||
			    (lo = ctl_hexval(p[2])) < 0) {
				ctl_errf(err, errlen, "bad %%-escape in word "
				    "%zu of the header line (expected %%XX "
				    "with two hex digits)", nw + 1);
				return CTL_PARSE_EINVAL;
			}
			*out++ = (char)(hi << 4 | lo);
			p += 2;
		}
		wlen[nw] = (size_t)(out - word[nw]);
		*out++ = '\0';
		nw++;
	}
	if (ctl_parse_words(req, word, wlen, nw, err, errlen) != 0)
		return CTL_PARSE_EINVAL;
	return CTL_PARSE_OK;
}

int
ctl_encode_word(char *out, size_t cap, size_t *pos, const void *word,
    size_t len)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*w = word;
	size_t			 i, o = *pos;

	for (i = 0; i < len; i++) {
		if (w[i] > 0x20 && w[i] < 0x7f && w[i] != '%') {
			if (o + 1 > cap)
				return -ENOSPC;
			out[o++] = (char)w[i];
		} else {
			if (o + 3 > cap)
				return -ENOSPC;
			out[o++] = '%';
			out[o++] = hex[w[i] >> 4];
			out[o++] = hex[w[i] & 15];
		}
	}
	*pos = o;
	return 0;
}

/* ---- socket path -------------------------------------------------------- */

int
ctl_socket_path(const char *path, bool create, char *out, size_t outlen,
    char *err, size_t errlen)
{
	const char	*xdg;
	char		 dir[64];
	struct stat	 st;
	int		 n;

	if (path != NULL)
		n = snprintf(out, outlen, "%s", path);
	else if ((xdg = getenv("XDG_RUNTIME_DIR")) != NULL && *xdg != '\0')
		n = snprintf(out, outlen, "%s/%s", xdg, CTL_SOCKET_NAME);
	else {
		/*
		 * /tmp is shared: use a directory of our own and make sure
		 * nobody else made it (or a symlink) first.
		 */
		snprintf(dir, sizeof dir, "/tmp/pooltop-%u",
		    (unsigned)geteuid());
		if (create && mkdir(dir, 0700) != 0 && errno != EEXIST) {
			ctl_errf(err, errlen, "cannot create %s: %s", dir,
			    strerror(errno));
			return -errno;
		}
		if (lstat(dir, &st) != 0) {
			if (errno != ENOENT || create) {
				ctl_errf(err, errlen, "cannot use %s: %s", dir,
				    strerror(errno));
				return -errno;
			}
		} else if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
		    (st.st_mode & 07777) != 0700) {
			ctl_errf(err, errlen, "%s is not a private directory "
			    "of ours (expected a directory owned by uid %u "
			    "with mode 0700; found %s owned by uid %u with "
			    "mode %04o): remove it, or give a socket path "
			    "with -s", dir, (unsigned)geteuid(),
			    S_ISDIR(st.st_mode) ? "a directory" :
			    S_ISLNK(st.st_mode) ? "a symbolic link" :
			    "a file", (unsigned)st.st_uid,
			    (unsigned)(st.st_mode & 07777));
			return -EPERM;
		}
		n = snprintf(out, outlen, "%s/%s", dir, CTL_SOCKET_NAME);
	}
	if (n < 0 || (size_t)n >= outlen || (size_t)n > CTL_SUN_PATH_MAX) {
		ctl_errf(err, errlen, "socket path too long (%d bytes, at "
		    "most %zu): %s", n, CTL_SUN_PATH_MAX, path != NULL ? path :
		    out);
		return -ENAMETOOLONG;
	}
	if (n == 0) {
		ctl_errf(err, errlen, "empty socket path");
		return -EINVAL;
	}
	return 0;
}

/* Connects a blocking Unix socket to path; returns the fd or -errno. */
static int
ctl_dial(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd, e;

	if (strlen(path) > CTL_SUN_PATH_MAX)
		return -ENAMETOOLONG;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	while (connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		if (errno == EINTR)
			continue;
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* ---- server --------------------------------------------------------------- */

struct ctl_conn;

struct ctl_pending {
	struct ctl_pending	*next;
	struct ctl_conn		*conn;	/* NULL: the client went away */
	bool			 done;
	uint8_t			*frame;	/* the encoded reply, once done */
	size_t			 frame_len;
};

struct ctl_conn {
	struct ctl_server	*srv;
	uv_pipe_t		 pipe;
	struct ctl_conn		*prev;
	struct ctl_conn		*next;
	uint8_t			*buf;	/* bytes read, not yet parsed */
	size_t			 len;
	size_t			 cap;
	struct ctl_pending	*head;	/* replies, in request order */
	struct ctl_pending	*tail;
	size_t			 npending;
	unsigned		 nwrites;
	bool			 reading;
	bool			 processing;	/* in ctl_conn_process() */
	bool			 stalled;	/* requests wait in buf (limits) */
	bool			 eof;	/* the client sent all it will */
	bool			 fatal;	/* close once the replies are out */
	bool			 closing;
	struct logtail		*logs;	/* logs follow: the reader of the rings */
	bool			 following;	/* no more requests are read */
};

struct ctl_write {
	uv_write_t		 req;
	struct ctl_conn		*conn;
	uint8_t			*frame;
};

struct ctl_server {
	uv_loop_t		*loop;
	struct engine		*engine;
	uv_pipe_t		 listener;
	char			*path;
	dev_t			 dev;	/* of the socket file we made */
	ino_t			 ino;
	struct ctl_conn		*conns;
	size_t			 nconns;
	unsigned		 nopen;	/* handles not yet closed */
	bool			 closing;
	struct ctl_request	 req;	/* scratch for the parser */
	/* logs follow: new lines are sent from an idle callback. */
	uv_idle_t		 idle;
	bool			 idle_open;
	bool			 listening;	/* to the engine's events */
	size_t			 nfollowers;
};

static void	ctl_connection_cb(uv_stream_t *, int);
static void	ctl_alloc_cb(uv_handle_t *, size_t, uv_buf_t *);
static void	ctl_read_cb(uv_stream_t *, ssize_t, const uv_buf_t *);
static void	ctl_write_cb(uv_write_t *, int);
static void	ctl_conn_close_cb(uv_handle_t *);
static void	ctl_listener_close_cb(uv_handle_t *);
static void	ctl_task_cb(bool, const void *, size_t, void *);
static void	ctl_conn_process(struct ctl_conn *);
static void	ctl_logs_event_cb(const struct pool_event *, void *);
static void	ctl_logs_idle_cb(uv_idle_t *);
static void	ctl_logs_stop(struct ctl_conn *);

/* Encodes a reply frame: length, "ok\n" or "error\n", data. */
static uint8_t *
ctl_reply_frame(bool ok, const void *data, size_t len, size_t *frame_len)
{
	const char	*status = ok ? "ok\n" : "error\n";
	size_t		 slen = strlen(status);
	uint8_t		*f;

	if (len > CTL_MAX_REPLY - CTL_LEN_SIZE - slen) {
		/* Cannot happen with the engine's frame limit; stay safe. */
		ok = false;
		status = "error\n";
		slen = strlen(status);
		data = "reply too large";
		len = strlen(data);
	}
	f = malloc(CTL_LEN_SIZE + slen + len);
	if (f == NULL)
		return NULL;
	ctl_put_be32(f, (uint32_t)(slen + len));
	memcpy(f + CTL_LEN_SIZE, status, slen);
	if (len != 0)
		memcpy(f + CTL_LEN_SIZE + slen, data, len);
	*frame_len = CTL_LEN_SIZE + slen + len;
	return f;
}

static void
ctl_server_maybe_free(struct ctl_server *srv)
{
	if (srv->closing && srv->nopen == 0) {
		free(srv->path);
		free(srv);
	}
}

/* Closes a connection; pending tasks are detached and answered to nobody. */
static void
ctl_conn_close(struct ctl_conn *c)
{
	struct ctl_pending	*p, *next;

	if (c->closing)
		return;
	c->closing = true;
	ctl_logs_stop(c);
	for (p = c->head; p != NULL; p = next) {
		next = p->next;
		if (p->done) {
			free(p->frame);
			free(p);
		} else
			p->conn = NULL;
	}
	c->head = c->tail = NULL;
	c->npending = 0;
	uv_close((uv_handle_t *)&c->pipe, ctl_conn_close_cb);
}

static void
ctl_conn_close_cb(uv_handle_t *h)
{
	struct ctl_conn		*c = h->data;
	struct ctl_server	*srv = c->srv;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->nconns--;
	logtail_free(c->logs);
	free(c->buf);
	free(c);
	srv->nopen--;
	ctl_server_maybe_free(srv);
}

/* Starts or stops reading so that one client cannot pile up work. */
static void
ctl_conn_update_reading(struct ctl_conn *c)
{
	bool	want;

	want = !c->closing && !c->eof && !c->fatal && !c->stalled &&
	    c->npending < CTL_MAX_PENDING && c->nwrites < CTL_MAX_WRITES;
	if (c->following)
		want = !c->closing;	/* only to see the client leave */
	if (want && !c->reading) {
		if (uv_read_start((uv_stream_t *)&c->pipe, ctl_alloc_cb,
		    ctl_read_cb) == 0)
			c->reading = true;
		else
			ctl_conn_close(c);
	} else if (!want && c->reading) {
		uv_read_stop((uv_stream_t *)&c->pipe);
		c->reading = false;
	}
}

/* Writes the replies at the head of the FIFO that are ready, in order. */
static void
ctl_conn_write_ready(struct ctl_conn *c)
{
	struct ctl_pending	*p;
	struct ctl_write	*w;
	uv_buf_t		 b;

	while (!c->closing && (p = c->head) != NULL && p->done) {
		c->head = p->next;
		if (c->head == NULL)
			c->tail = NULL;
		c->npending--;
		w = malloc(sizeof *w);
		if (w == NULL || p->frame == NULL) {
			free(w);
			free(p->frame);
			free(p);
			ctl_conn_close(c);
			return;
		}
		w->conn = c;
		w->frame = p->frame;
		w->req.data = w;
		b = uv_buf_init((char *)p->frame, (unsigned)p->frame_len);
		free(p);
		if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1,
		    ctl_write_cb) != 0) {
			free(w->frame);
			free(w);
			ctl_conn_close(c);
			return;
		}
		c->nwrites++;
	}
}

/*
 * Writes what is ready, then decides what the connection does next:
 * close (all answered after the client's end), parse requests that were
 * held back by the limits, or read again.
 */
static void
ctl_conn_flush(struct ctl_conn *c)
{
	ctl_conn_write_ready(c);
	if (c->closing || c->processing)
		return;
	if ((c->eof || c->fatal) && c->head == NULL && c->nwrites == 0) {
		ctl_conn_close(c);
		return;
	}
	if (c->stalled && c->npending < CTL_MAX_PENDING &&
	    c->nwrites < CTL_MAX_WRITES)
		ctl_conn_process(c);
	else
		ctl_conn_update_reading(c);
}

static void
ctl_write_cb(uv_write_t *req, int status)
{
	struct ctl_write	*w = req->data;
	struct ctl_conn		*c = w->conn;

	free(w->frame);
	free(w);
	c->nwrites--;
	if (c->closing)
		return;
	if (status < 0) {
		/* The client went away: drop the rest of its answers. */
		ctl_conn_close(c);
		return;
	}
	ctl_conn_flush(c);
	if (c->following && !c->closing && !c->srv->closing)
		uv_idle_start(&c->srv->idle, ctl_logs_idle_cb);
}

/* Queues a new pending reply at the tail of the FIFO. */
static struct ctl_pending *
ctl_pending_add(struct ctl_conn *c)
{
	struct ctl_pending	*p;

	p = calloc(1, sizeof *p);
	if (p == NULL)
		return NULL;
	p->conn = c;
	if (c->tail != NULL)
		c->tail->next = p;
	else
		c->head = p;
	c->tail = p;
	c->npending++;
	return p;
}

static void
ctl_pending_finish(struct ctl_pending *p, bool ok, const void *data,
    size_t len)
{
	p->frame = ctl_reply_frame(ok, data, len, &p->frame_len);
	p->done = true;
}

/* Answers a request at once (ok with data, or an error message). */
static void
ctl_reply_now(struct ctl_conn *c, bool ok, const void *data, size_t len)
{
	struct ctl_pending	*p;

	p = ctl_pending_add(c);
	if (p == NULL) {
		ctl_conn_close(c);
		return;
	}
	ctl_pending_finish(p, ok, data, len);
}

static void
ctl_reply_str(struct ctl_conn *c, bool ok, const char *s)
{
	ctl_reply_now(c, ok, s, strlen(s));
}

static void
ctl_task_cb(bool ok, const void *data, size_t len, void *arg)
{
	struct ctl_pending	*p = arg;
	struct ctl_conn		*c = p->conn;

	if (c == NULL) {
		/* The client is gone; the task ended all the same. */
		free(p);
		return;
	}
	ctl_pending_finish(p, ok, data, len);
	ctl_conn_flush(c);
}

/* A reload ended: its outcome is the reply (as a task's result is). */
static void
ctl_reload_cb(struct pool *pool, bool ok, const char *text, void *arg)
{
	(void)pool;
	ctl_task_cb(ok, text, strlen(text), arg);
}

/* Looks a pool up by name; on failure writes "no pool ..." into msg. */
static struct pool *
ctl_find_pool(struct engine *e, const char *name, char *msg, size_t msglen)
{
	struct pool	*pools[64];
	struct pool	*pool;
	size_t		 n, i, o;
	int		 k;

	pool = engine_pool(e, name);
	if (pool != NULL)
		return pool;
	n = engine_pools(e, pools, 64);
	k = snprintf(msg, msglen, "no pool \"%s\"", name);
	o = k > 0 && (size_t)k < msglen ? (size_t)k : 0;
	for (i = 0; i < n && i < 64 && o < msglen; i++) {
		k = snprintf(msg + o, msglen - o, "%s%s", i == 0 ?
		    " (pools: " : ", ", pool_name(pools[i]));
		if (k < 0)
			break;
		o += (size_t)k;
	}
	if (n > 0 && o < msglen)
		snprintf(msg + o, msglen - o, ")");
	return NULL;
}

/* Collects a pool's worker rows; the caller frees *rows. */
static size_t
ctl_snapshot(struct pool *pool, struct pool_worker_info **rows)
{
	size_t	n, max = 16;

	for (;;) {
		*rows = calloc(max, sizeof **rows);
		if (*rows == NULL)
			return 0;
		n = pool_snapshot(pool, *rows, max);
		if (n <= max)
			return n;
		free(*rows);
		max = n;
	}
}

static void
ctl_json_string(FILE *f, const char *s)
{
	const unsigned char	*p;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

#define CTL_NCOLS 10

/* Formats the RSS of a text table cell: 12.3M. */
static void
ctl_human_size(char *out, size_t len, uint64_t bytes)
{
	static const char	 units[] = "KMGT";
	double			 v = (double)bytes / 1024;
	int			 u = 0;

	if (bytes == 0) {
		snprintf(out, len, "-");
		return;
	}
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	snprintf(out, len, v < 10 ? "%.1f%c" : "%.0f%c", v, units[u]);
}

/* Builds the reply to "list": an aligned table or a JSON document. */
static char *
ctl_list(struct engine *e, bool json, size_t *len)
{
	static const char *const heads[CTL_NCOLS] = { "POOL", "SLOT", "PID",
	    "STATE", "CPU%", "RSS", "DONE", "FLIGHT", "ERRORS", "RESTARTS" };
	struct pool		*pools[256];
	struct pool_worker_info	*rows;
	struct pool_info	 info;
	struct proc_sample	 s;
	struct sampler		*sampler = engine_sampler(e);
	char			 (*cells)[CTL_NCOLS][32] = NULL, (*tmp)[CTL_NCOLS][32];
	size_t			 np, i, j, k, nrows, ncells = 0, w[CTL_NCOLS];
	char			*text = NULL;
	FILE			*f;
	bool			 first = true;

	f = open_memstream(&text, len);
	if (f == NULL)
		return NULL;
	np = engine_pools(e, pools, 256);
	if (np > 256)
		np = 256;
	if (json) {
		fprintf(f, "{\n  \"pid\": %ld,\n  \"pools\": [", (long)getpid());
		for (i = 0; i < np; i++) {
			pool_get_info(pools[i], &info);
			fprintf(f, "%s\n    {\"name\": ", i == 0 ? "" : ",");
			ctl_json_string(f, info.name);
			fprintf(f, ", \"strategy\": ");
			ctl_json_string(f, balance_strategy_name(info.strategy)
			    != NULL ? balance_strategy_name(info.strategy) :
			    "?");
			fprintf(f, ", \"workers\": %u, \"live\": %u, "
			    "\"queued\": %zu, \"queue_cap\": %zu, "
			    "\"tasks_done\": %" PRIu64 ", \"errors\": %"
			    PRIu64 ", \"failed\": %s, \"stopping\": %s, "
			    "\"reloading\": %s, \"reloads\": %u, "
			    "\"reload_error\": ",
			    info.workers, info.live, info.queued,
			    info.queue_cap, info.tasks_done,
			    info.tasks_failed, info.failed ? "true" : "false",
			    info.stopping ? "true" : "false",
			    info.reloading ? "true" : "false", info.reloads);
			if (info.reload_error != NULL)
				ctl_json_string(f, info.reload_error);
			else
				fprintf(f, "null");
			fprintf(f, "}");
		}
		fprintf(f, "%s],\n  \"workers\": [", np > 0 ? "\n  " : "");
	}
	for (i = 0; i < np; i++) {
		nrows = ctl_snapshot(pools[i], &rows);
		for (j = 0; j < nrows; j++) {
			const struct pool_worker_info *r = &rows[j];

			memset(&s, 0, sizeof s);
			if (r->pid <= 0 || sampler == NULL ||
			    sampler_get(sampler, r->pid, &s) != 0)
				memset(&s, 0, sizeof s);
			if (json) {
				fprintf(f, "%s\n    {\"pool\": ", first ? "" :
				    ",");
				ctl_json_string(f, pool_name(pools[i]));
				fprintf(f, ", \"slot\": %d, \"pid\": %ld, "
				    "\"state\": ", r->slot, (long)r->pid);
				ctl_json_string(f, worker_state_name(r->state));
				fprintf(f, ", \"service\": %s, \"cpu\": %.1f, "
				    "\"rss\": %" PRIu64 ", \"tasks_done\": %"
				    PRIu64 ", \"in_flight\": %u, \"errors\": %"
				    PRIu64 ", \"restarts\": %u}",
				    r->service ? "true" : "false",
				    isfinite(s.cpu) ? s.cpu : 0.0, s.rss,
				    r->tasks_done, r->in_flight,
				    r->tasks_failed, r->restarts);
				first = false;
				continue;
			}
			tmp = realloc(cells, (ncells + 1) * sizeof *cells);
			if (tmp == NULL)
				break;
			cells = tmp;
			snprintf(cells[ncells][0], 32, "%s", pool_name(pools[i]));
			snprintf(cells[ncells][1], 32, "%d", r->slot);
			if (r->pid > 0)
				snprintf(cells[ncells][2], 32, "%ld",
				    (long)r->pid);
			else
				snprintf(cells[ncells][2], 32, "-");
			snprintf(cells[ncells][3], 32, "%s%s",
			    worker_state_name(r->state), r->service ?
			    " (service)" : "");
			snprintf(cells[ncells][4], 32, "%.1f", s.cpu);
			ctl_human_size(cells[ncells][5], 32, s.rss);
			snprintf(cells[ncells][6], 32, "%" PRIu64,
			    r->tasks_done);
			snprintf(cells[ncells][7], 32, "%u", r->in_flight);
			snprintf(cells[ncells][8], 32, "%" PRIu64,
			    r->tasks_failed);
			snprintf(cells[ncells][9], 32, "%u", r->restarts);
			ncells++;
		}
		free(rows);
	}
	if (json)
		fprintf(f, "%s]\n}\n", first ? "" : "\n  ");
	else {
		for (k = 0; k < CTL_NCOLS; k++) {
			w[k] = strlen(heads[k]);
			for (j = 0; j < ncells; j++)
				if (strlen(cells[j][k]) > w[k])
					w[k] = strlen(cells[j][k]);
		}
		/* Names and states left-aligned, numbers right-aligned. */
		for (j = 0; j <= ncells; j++) {
			for (k = 0; k < CTL_NCOLS; k++) {
				const char *cell = j == 0 ? heads[k] :
				    cells[j - 1][k];
				bool left = k == 0 || k == 3;

				if (k == CTL_NCOLS - 1)
					fprintf(f, "%*s\n", (int)w[k], cell);
				else
					fprintf(f, left ? "%-*s  " : "%*s  ",
					    (int)w[k], cell);
			}
		}
	}
	free(cells);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* ---- logs ---------------------------------------------------------------- */

/*
 * Answers "logs": the backlog now, and with follow, the connection
 * becomes a follower: new lines go out in batches from an idle callback
 * that engine events start.  A follower's lines wait in the engine's
 * rings, not here: while the client is slow (its unsent bytes over
 * CTL_LOGS_QUEUED) nothing more is read for it, and lines the rings drop
 * meanwhile become a dropped record.
 */
static int
ctl_logs_start(struct ctl_conn *c, const struct ctl_request *req, char *msg,
    size_t msglen)
{
	struct ctl_server	*srv = c->srv;
	struct engine		*e = srv->engine;
	struct cmd_target	 t;
	struct logtail		*tail;
	struct pool		*pool = NULL;
	const char		*s = req->target;
	char			*data;
	size_t			 len;
	int			 slot = -1, rc;

	if (s != NULL) {
		if (strchr(s, '/') != NULL || strspn(s, "0123456789") ==
		    strlen(s)) {
			if ((rc = cmd_resolve(e, s, &t, msg, msglen)) != 0)
				return rc;
			pool = t.pool;
			slot = t.slot;
		} else if ((pool = ctl_find_pool(e, s, msg, msglen)) == NULL)
			return -ENOENT;
	}
	if (logtail_new(&tail, e, pool, slot) != 0 ||
	    logtail_backlog(tail, req->lines, CTL_LOGS_BACKLOG, &data,
	    &len) != 0) {
		logtail_free(tail);
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	ctl_reply_now(c, true, data, len);
	free(data);
	if (!req->follow || c->closing) {
		logtail_free(tail);
		return 0;
	}
	if (!srv->idle_open) {
		uv_idle_init(srv->loop, &srv->idle);
		srv->idle.data = srv;
		srv->idle_open = true;
		srv->nopen++;
		uv_unref((uv_handle_t *)&srv->idle);
	}
	if (!srv->listening) {
		if (engine_listen(e, ctl_logs_event_cb, srv) != 0) {
			logtail_free(tail);
			c->fatal = true;	/* the backlog, then the end */
			return 0;
		}
		srv->listening = true;
	}
	c->logs = tail;
	c->following = true;
	srv->nfollowers++;
	/* Lines that came between the backlog and now. */
	uv_idle_start(&srv->idle, ctl_logs_idle_cb);
	return 0;
}

/* A follower leaves (its connection closes). */
static void
ctl_logs_stop(struct ctl_conn *c)
{
	struct ctl_server	*srv = c->srv;

	if (!c->following)
		return;
	c->following = false;
	if (--srv->nfollowers == 0 && srv->listening) {
		srv->listening = false;
		engine_unlisten(srv->engine, ctl_logs_event_cb, srv);
	}
}

/* An engine event may come with a new line in some ring: look soon. */
static void
ctl_logs_event_cb(const struct pool_event *ev, void *arg)
{
	struct ctl_server	*srv = arg;

	if (ev->type == POOL_EV_TASK_STARTED ||
	    ev->type == POOL_EV_TASK_FINISHED || srv->closing)
		return;
	uv_idle_start(&srv->idle, ctl_logs_idle_cb);
}

/*
 * Sends each follower that has room a batch of the lines that came;
 * runs again while some had more than a batch.
 */
static void
ctl_logs_idle_cb(uv_idle_t *h)
{
	struct ctl_server	*srv = h->data;
	struct ctl_conn		*c, *next;
	char			*data;
	size_t			 len;
	bool			 more, again = false;
	int			 rc;

	uv_idle_stop(h);
	for (c = srv->conns; c != NULL && !srv->closing; c = next) {
		next = c->next;
		if (!c->following || c->closing || c->head != NULL ||
		    uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) >
		    CTL_LOGS_QUEUED)
			continue;	/* its write callback calls again */
		if ((rc = logtail_next(c->logs, CTL_LOGS_BATCH, &data, &len,
		    &more)) != 0) {
			/* Its pool was removed (a config reload): the end. */
			ctl_logs_stop(c);
			c->fatal = true;
			ctl_reply_str(c, false, rc == -ENOENT ? "the pool was "
			    "removed (pooltop's config changed)" :
			    "out of memory");
			ctl_conn_flush(c);
			continue;
		}
		if (len > 0) {
			ctl_reply_now(c, true, data, len);
			ctl_conn_flush(c);
		}
		free(data);
		again |= more;
	}
	if (again && !srv->closing)
		uv_idle_start(h, ctl_logs_idle_cb);
}

/* Runs a parsed request; its reply joins the connection's FIFO. */
static void
ctl_dispatch(struct ctl_conn *c, const struct ctl_request *req)
{
	struct engine		*e = c->srv->engine;
	struct pool_send_opts	 opts;
	struct cmd_target	 t;
	struct ctl_pending	*p;
	struct pool		*pool;
	char			 msg[1024], *text;
	size_t			 len;
	int			 rc;

	msg[0] = '\0';
	switch (req->op) {
	case CTL_OP_SEND:
		if ((pool = ctl_find_pool(e, req->pool, msg, sizeof msg)) ==
		    NULL) {
			ctl_reply_str(c, false, msg);
			return;
		}
		p = ctl_pending_add(c);
		if (p == NULL) {
			ctl_conn_close(c);
			return;
		}
		memset(&opts, 0, sizeof opts);
		opts.key = req->key;
		opts.key_len = req->key_len;
		opts.timeout_ms = req->timeout_ms;
		rc = pool_send(pool, req->task, req->payload, req->payload_len,
		    &opts, ctl_task_cb, p);
		if (rc != 0) {
			snprintf(msg, sizeof msg, "%s",
			    pool_send_error(pool, rc));
			ctl_pending_finish(p, false, msg, strlen(msg));
		}
		return;
	case CTL_OP_LIST:
		text = ctl_list(e, req->json, &len);
		if (text == NULL)
			ctl_reply_str(c, false, "out of memory");
		else
			ctl_reply_now(c, true, text, len);
		free(text);
		return;
	case CTL_OP_KILL:
	case CTL_OP_SLEEP:
	case CTL_OP_WAKE:
	case CTL_OP_RESTART:
		rc = cmd_resolve(e, req->target, &t, msg, sizeof msg);
		if (rc == 0) {
			if (req->op == CTL_OP_KILL)
				rc = cmd_kill(e, &t, req->sig, msg, sizeof msg);
			else if (req->op == CTL_OP_SLEEP)
				rc = cmd_sleep(e, &t, msg, sizeof msg);
			else if (req->op == CTL_OP_WAKE)
				rc = cmd_wake(e, &t, msg, sizeof msg);
			else
				rc = cmd_restart(e, &t, msg, sizeof msg);
		}
		break;
	case CTL_OP_SCALE:
	case CTL_OP_STRATEGY:
		if ((pool = ctl_find_pool(e, req->pool, msg, sizeof msg)) ==
		    NULL) {
			rc = -ENOENT;
			break;
		}
		if (req->op == CTL_OP_SCALE)
			rc = cmd_scale(e, pool, req->workers, msg, sizeof msg);
		else
			rc = cmd_strategy(e, pool, req->strategy, msg,
			    sizeof msg);
		break;
	case CTL_OP_PING:
		snprintf(msg, sizeof msg, "pooltop %s (pid %ld)",
		    POOLTOP_VERSION, (long)getpid());
		rc = 0;
		break;
	case CTL_OP_LOGS:
		if ((rc = ctl_logs_start(c, req, msg, sizeof msg)) == 0)
			return;
		break;
	case CTL_OP_RELOAD:
		/* Answered when the reload ends, with its outcome. */
		if ((pool = ctl_find_pool(e, req->pool, msg, sizeof msg)) ==
		    NULL) {
			rc = -ENOENT;
			break;
		}
		if ((p = ctl_pending_add(c)) == NULL) {
			ctl_conn_close(c);
			return;
		}
		if (cmd_reload(e, pool, ctl_reload_cb, p, msg, sizeof msg) != 0)
			ctl_pending_finish(p, false, msg, strlen(msg));
		return;
	default:
		rc = -EINVAL;
		snprintf(msg, sizeof msg, "unknown request");
		break;
	}
	if (rc != 0 && msg[0] == '\0')
		snprintf(msg, sizeof msg, "%s", strerror(-rc));
	ctl_reply_str(c, rc == 0, msg);
}

/*
 * Parses and runs the complete requests in the connection's buffer, as
 * many as the limits on unanswered requests and queued writes allow (a
 * loop, not recursion, however many requests wait).
 */
static void
ctl_conn_process(struct ctl_conn *c)
{
	struct ctl_request	*req = &c->srv->req;
	char			 err[512];
	size_t			 off = 0, flen;
	int			 rc;

	if (c->processing || c->closing)
		return;
	c->processing = true;
	do {
		c->stalled = false;
		while (!c->closing && !c->fatal && !c->following &&
		    off < c->len) {
			if (c->npending >= CTL_MAX_PENDING ||
			    c->nwrites >= CTL_MAX_WRITES) {
				c->stalled = true;
				break;
			}
			rc = ctl_parse_request(c->buf + off, c->len - off, req,
			    &flen, err, sizeof err);
			if (rc == CTL_PARSE_NEED_MORE)
				break;
			if (rc == CTL_PARSE_ETOOBIG) {
				/* No way to find the next request: answer,
				 * then close. */
				ctl_reply_str(c, false, err);
				c->fatal = true;
				off = c->len;
				break;
			}
			if (rc == CTL_PARSE_EINVAL)
				ctl_reply_str(c, false, err);
			else
				ctl_dispatch(c, req);
			off += flen;
		}
		ctl_conn_write_ready(c);
	} while (!c->closing && c->stalled && c->npending < CTL_MAX_PENDING &&
	    c->nwrites < CTL_MAX_WRITES);
	c->processing = false;
	if (c->closing)
		return;
	if (c->following)
		off = c->len;	/* nothing after a follow is read */
	if (off > 0) {
		memmove(c->buf, c->buf + off, c->len - off);
		c->len -= off;
	}
	if (c->cap > 4 * CTL_READ_CHUNK && c->len < CTL_READ_CHUNK) {
		uint8_t *nb = realloc(c->buf, CTL_READ_CHUNK);

		if (nb != NULL) {
			c->buf = nb;
			c->cap = CTL_READ_CHUNK;
		}
	}
	ctl_conn_flush(c);
}

static void
ctl_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct ctl_conn	*c = h->data;
	size_t		 want, limit = CTL_LEN_SIZE + CTL_MAX_REQUEST +
	    CTL_READ_CHUNK;
	uint8_t		*nb;

	(void)suggested;
	if (c->cap - c->len < CTL_READ_CHUNK / 4 && c->cap < limit) {
		want = c->cap * 2;
		if (want < c->len + CTL_READ_CHUNK)
			want = c->len + CTL_READ_CHUNK;
		if (want > limit)
			want = limit;
		nb = realloc(c->buf, want);
		if (nb != NULL) {
			c->buf = nb;
			c->cap = want;
		}
	}
	buf->base = (char *)c->buf + c->len;
	buf->len = c->cap - c->len;
	if (c->buf == NULL)
		buf->len = 0;	/* libuv reports UV_ENOBUFS */
}

static void
ctl_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ctl_conn	*c = s->data;

	(void)buf;
	if (c->closing)
		return;
	if (nread > 0) {
		c->len += (size_t)nread;
		ctl_conn_process(c);
		return;
	}
	if (nread == 0)
		return;
	if (nread == UV_EOF && c->following) {
		/* The follower is done. */
		ctl_conn_close(c);
		return;
	}
	if (nread == UV_EOF) {
		/* Half-close: answer what was asked, then close. */
		c->eof = true;
		ctl_conn_update_reading(c);
		ctl_conn_process(c);
		return;
	}
	ctl_conn_close(c);
}

static void
ctl_connection_cb(uv_stream_t *listener, int status)
{
	struct ctl_server	*srv = listener->data;
	struct ctl_conn		*c;

	if (status < 0 || srv->closing)
		return;
	c = calloc(1, sizeof *c);
	if (c == NULL)
		return;
	c->srv = srv;
	if (uv_pipe_init(srv->loop, &c->pipe, 0) != 0) {
		free(c);
		return;
	}
	c->pipe.data = c;
	srv->nopen++;
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	uv_unref((uv_handle_t *)&c->pipe);
	if (uv_accept(listener, (uv_stream_t *)&c->pipe) != 0) {
		ctl_conn_close(c);
		return;
	}
	if (srv->nconns > CTL_MAX_CLIENTS) {
		c->fatal = true;
		ctl_reply_str(c, false, "too many connections");
		ctl_conn_flush(c);
		return;
	}
	ctl_conn_update_reading(c);
}

static void
ctl_listener_close_cb(uv_handle_t *h)
{
	struct ctl_server	*srv = h->data;

	srv->nopen--;
	ctl_server_maybe_free(srv);
}

/*
 * Makes sure path is free to bind: nothing there, or a socket nobody
 * listens on any more (a pooltop that died without cleaning up).
 */
static int
ctl_claim_path(const char *path, char *err, size_t errlen)
{
	struct ucred	 cred;
	socklen_t	 clen = sizeof cred;
	struct stat	 st;
	int		 fd;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		ctl_errf(err, errlen, "cannot use %s: %s", path,
		    strerror(errno));
		return -errno;
	}
	if (!S_ISSOCK(st.st_mode)) {
		ctl_errf(err, errlen, "%s exists and is not a socket: remove "
		    "it, or give another path with -s", path);
		return -EEXIST;
	}
	fd = ctl_dial(path);
	if (fd >= 0) {
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0
		    && cred.pid > 0)
			ctl_errf(err, errlen, "another pooltop is running on "
			    "%s (pid %ld)", path, (long)cred.pid);
		else
			ctl_errf(err, errlen, "another pooltop is running on "
			    "%s", path);
		close(fd);
		return -EADDRINUSE;
	}
	if (fd != -ECONNREFUSED) {
		ctl_errf(err, errlen, "cannot check %s: %s", path,
		    strerror(-fd));
		return fd;
	}
	/* Stale: its pooltop is gone. */
	if (unlink(path) != 0 && errno != ENOENT) {
		ctl_errf(err, errlen, "cannot remove the stale socket %s: %s",
		    path, strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * Says why bind failed.  libuv reports a missing directory as EACCES
 * (as on Windows), so look at the directory to tell the two apart.
 */
static void
ctl_bind_error(const char *path, int rc, char *err, size_t errlen)
{
	const char	*slash = strrchr(path, '/');
	char		 dir[PATH_MAX];
	struct stat	 st;

	if (rc == UV_EACCES && slash != NULL && slash != path &&
	    (size_t)(slash - path) < sizeof dir) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
		if (stat(dir, &st) != 0) {
			ctl_errf(err, errlen, "cannot listen on %s: %s: %s",
			    path, dir, strerror(errno));
			return;
		}
		if (!S_ISDIR(st.st_mode)) {
			ctl_errf(err, errlen, "cannot listen on %s: %s is not "
			    "a directory", path, dir);
			return;
		}
	}
	ctl_errf(err, errlen, "cannot listen on %s: %s", path,
	    uv_strerror(rc));
}

int
ctl_server_new(struct ctl_server **out, uv_loop_t *loop,
    struct engine *engine, const char *path, char *err, size_t errlen)
{
	struct ctl_server	*srv;
	struct stat		 st;
	mode_t			 old;
	int			 rc;

	*out = NULL;
	if (path == NULL || strlen(path) == 0 ||
	    strlen(path) > CTL_SUN_PATH_MAX) {
		ctl_errf(err, errlen, "bad socket path (%zu bytes, expected "
		    "1 to %zu): %s", path != NULL ? strlen(path) : 0,
		    CTL_SUN_PATH_MAX, path != NULL ? path : "(none)");
		return -ENAMETOOLONG;
	}
	rc = ctl_claim_path(path, err, errlen);
	if (rc != 0)
		return rc;
	srv = calloc(1, sizeof *srv);
	if (srv == NULL || (srv->path = strdup(path)) == NULL) {
		free(srv);
		ctl_errf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	srv->loop = loop;
	srv->engine = engine;
	rc = uv_pipe_init(loop, &srv->listener, 0);
	if (rc != 0)
		goto fail;
	srv->listener.data = srv;
	srv->nopen = 1;

	/* Born private: no window in which others could connect. */
	old = umask(0177);
	rc = uv_pipe_bind(&srv->listener, path);
	umask(old);
	if (rc != 0) {
		ctl_bind_error(path, rc, err, errlen);
		goto fail_close;
	}
	if (chmod(path, 0600) != 0 || lstat(path, &st) != 0) {
		rc = -errno;
		ctl_errf(err, errlen, "cannot set the mode of %s: %s", path,
		    strerror(errno));
		unlink(path);
		goto fail_close;
	}
	srv->dev = st.st_dev;
	srv->ino = st.st_ino;
	rc = uv_listen((uv_stream_t *)&srv->listener, CTL_BACKLOG,
	    ctl_connection_cb);
	if (rc != 0) {
		ctl_errf(err, errlen, "cannot listen on %s: %s", path,
		    uv_strerror(rc));
		unlink(path);
		goto fail_close;
	}
	uv_unref((uv_handle_t *)&srv->listener);
	*out = srv;
	return 0;

fail_close:
	/* The handle is initialized: memory goes in its close callback. */
	srv->closing = true;
	uv_close((uv_handle_t *)&srv->listener, ctl_listener_close_cb);
	return rc;
fail:
	ctl_errf(err, errlen, "cannot listen on %s: %s", path,
	    uv_strerror(rc));
	free(srv->path);
	free(srv);
	return rc;
}

void
ctl_server_free(struct ctl_server *srv)
{
	struct ctl_conn	*c;
	struct stat	 st;

	if (srv == NULL || srv->closing)
		return;
	srv->closing = true;
	/* Remove the socket only if it is still the one we made. */
	if (lstat(srv->path, &st) == 0 && st.st_dev == srv->dev &&
	    st.st_ino == srv->ino)
		unlink(srv->path);
	for (c = srv->conns; c != NULL; c = c->next)
		ctl_conn_close(c);
	if (srv->listening) {
		srv->listening = false;
		engine_unlisten(srv->engine, ctl_logs_event_cb, srv);
	}
	if (srv->idle_open) {
		srv->idle_open = false;
		uv_close((uv_handle_t *)&srv->idle, ctl_listener_close_cb);
	}
	uv_close((uv_handle_t *)&srv->listener, ctl_listener_close_cb);
}

const char *
ctl_server_path(const struct ctl_server *srv)
{
	return srv->path;
}

size_t
ctl_server_clients(const struct ctl_server *srv)
{
	return srv->nconns;
}

/* ---- client --------------------------------------------------------------- */

int
ctl_connect(const char *path, char *err, size_t errlen)
{
	int	fd;

	fd = ctl_dial(path);
	if (fd >= 0)
		return fd;
	if (fd == -ENOENT || fd == -ECONNREFUSED)
		ctl_errf(err, errlen, "cannot connect to %s: %s (is pooltop "
		    "running?)", path, strerror(-fd));
	else
		ctl_errf(err, errlen, "cannot connect to %s: %s", path,
		    strerror(-fd));
	return fd;
}

/* Sends all of iov; MSG_NOSIGNAL so a closed server is an error, not death. */
static int
ctl_send_all(int fd, struct iovec *iov, int iovcnt)
{
	struct msghdr	 mh;
	ssize_t		 n;

	while (iovcnt > 0) {
		memset(&mh, 0, sizeof mh);
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)iovcnt;
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* Reads exactly len bytes; -EPIPE on a clean end of stream. */
static int
ctl_recv_all(int fd, void *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = read(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EPIPE;
		buf = (char *)buf + n;
		len -= (size_t)n;
	}
	return 0;
}

int
ctl_read_reply(int fd, struct ctl_reply *reply, char *err, size_t errlen)
{
	uint8_t		 lenbuf[CTL_LEN_SIZE], *body;
	uint32_t	 rlen;
	size_t		 pos;
	int		 rc;

	memset(reply, 0, sizeof *reply);
	rc = ctl_recv_all(fd, lenbuf, sizeof lenbuf);
	if (rc == -EPIPE) {
		ctl_errf(err, errlen, "pooltop closed the connection without "
		    "a reply");
		return rc;
	}
	if (rc != 0) {
		ctl_errf(err, errlen, "cannot read the reply: %s",
		    strerror(-rc));
		return rc;
	}
	rlen = ctl_get_be32(lenbuf);
	if (rlen > CTL_MAX_REPLY) {
		ctl_errf(err, errlen, "malformed reply (length %" PRIu32 ")",
		    rlen);
		return -EPROTO;
	}
	body = malloc((size_t)rlen + 1);
	if (body == NULL) {
		ctl_errf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = ctl_recv_all(fd, body, rlen);
	if (rc != 0) {
		free(body);
		if (rc == -EPIPE)
			ctl_errf(err, errlen, "pooltop closed the connection "
			    "in the middle of a reply");
		else
			ctl_errf(err, errlen, "cannot read the reply: %s",
			    strerror(-rc));
		return rc;
	}
	body[rlen] = '\0';
	if (rlen >= 3 && memcmp(body, "ok\n", 3) == 0) {
		reply->ok = true;
		pos = 3;
	} else if (rlen >= 6 && memcmp(body, "error\n", 6) == 0) {
		reply->ok = false;
		pos = 6;
	} else {
		free(body);
		ctl_errf(err, errlen, "malformed reply (no status line)");
		return -EPROTO;
	}
	memmove(body, body + pos, rlen - pos + 1);
	reply->data = body;
	reply->len = rlen - pos;
	return 0;
}

int
ctl_call(int fd, const char *const *words, const size_t *lens,
    size_t nwords, const void *payload, size_t payload_len,
    struct ctl_reply *reply, char *err, size_t errlen)
{
	char		 hdr[CTL_MAX_HEADER];
	uint8_t		 lenbuf[CTL_LEN_SIZE];
	struct iovec	 iov[3];
	size_t		 pos = 0, i, total;
	int		 rc;

	memset(reply, 0, sizeof *reply);
	for (i = 0; i < nwords; i++) {
		if (i > 0) {
			if (pos + 1 >= sizeof hdr)
				goto too_long;
			hdr[pos++] = ' ';
		}
		if (ctl_encode_word(hdr, sizeof hdr - 1, &pos, words[i],
		    lens != NULL ? lens[i] : strlen(words[i])) != 0)
			goto too_long;
	}
	hdr[pos++] = '\n';
	total = pos + payload_len;
	if (payload_len > CTL_MAX_PAYLOAD || total > CTL_MAX_REQUEST) {
		ctl_errf(err, errlen, "payload of %zu bytes is over the limit "
		    "of %u bytes", payload_len, CTL_MAX_PAYLOAD);
		return -E2BIG;
	}
	ctl_put_be32(lenbuf, (uint32_t)total);
	iov[0].iov_base = lenbuf;
	iov[0].iov_len = sizeof lenbuf;
	iov[1].iov_base = hdr;
	iov[1].iov_len = pos;
	iov[2].iov_base = (void *)(uintptr_t)payload;
	iov[2].iov_len = payload_len;
	rc = ctl_send_all(fd, iov, payload_len > 0 ? 3 : 2);
	if (rc != 0) {
		ctl_errf(err, errlen, "cannot send the request: %s",
		    strerror(-rc));
		return rc;
	}
	return ctl_read_reply(fd, reply, err, errlen);

too_long:
	ctl_errf(err, errlen, "request too long (the header line takes at "
	    "most %d bytes)", CTL_MAX_HEADER - 1);
	return -E2BIG;
}
