/*
 * `pooltop send` and `pooltop ctl`: blocking clients of a running
 * pooltop's control socket.
 */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pooltop/commands.h"
#include "pooltop/config.h"
#include "pooltop/ctl.h"
#include "pooltop/logline.h"
#include "pooltop/logtail.h"

#include "cli.h"
#include "console.h"

static const char send_usage[] =
    "usage: pooltop send [-s SOCKET] [--key K] [--timeout D] POOL TASK "
    "[PAYLOAD | -]\n";
static const char ctl_usage[] =
    "usage: pooltop ctl [-s SOCKET] list [--json]\n"
    "       pooltop ctl [-s SOCKET] kill [-SIGNAL] TARGET\n"
    "       pooltop ctl [-s SOCKET] sleep|wake|restart TARGET\n"
    "       pooltop ctl [-s SOCKET] scale POOL N\n"
    "       pooltop ctl [-s SOCKET] strategy POOL NAME\n"
    "       pooltop ctl [-s SOCKET] reload POOL\n"
    "       pooltop ctl [-s SOCKET] logs [-f] [-n N] [POOL | POOL/N | PID]\n"
    "       pooltop ctl [-s SOCKET] ping\n"
    "TARGET is POOL/N (a pool and a slot) or the pid of a worker.\n";

static int
client_usage(const char *cmd, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reports a usage error (what was expected) and returns exit status 2. */
static int
client_usage(const char *cmd, const char *usage, const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "pooltop %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage);
	return CLI_EXIT_USAGE;
}

const char *
cli_optname(char **argv)
{
	static char	 buf[8];
	const char	*s = optind > 0 ? argv[optind - 1] : "";

	if (strncmp(s, "--", 2) == 0 || optopt == 0)
		return s;
	snprintf(buf, sizeof buf, "-%c", optopt);
	return buf;
}

/* Connects to the socket (given or default); exit status 3 on failure. */
static int
client_connect(const char *socket, int *fd)
{
	char	path[256], err[512];
	int	rc;

	rc = ctl_socket_path(socket, false, path, sizeof path, err,
	    sizeof err);
	if (rc != 0) {
		fprintf(stderr, "pooltop: %s\n", err);
		return CLI_EXIT_NOCONNECT;
	}
	*fd = ctl_connect(path, err, sizeof err);
	if (*fd < 0) {
		fprintf(stderr, "pooltop: %s\n", err);
		return CLI_EXIT_NOCONNECT;
	}
	return CLI_EXIT_OK;
}

/* Reads all of stdin, up to the payload limit. */
static int
client_read_stdin(char **out, size_t *len)
{
	char	*buf = NULL, *nb;
	size_t	 cap = 0, n = 0;
	ssize_t	 r;

	for (;;) {
		if (n == cap) {
			cap = cap == 0 ? 65536 : cap * 2;
			if (cap > CTL_MAX_PAYLOAD + 1)
				cap = CTL_MAX_PAYLOAD + 1;
			if (n == cap) {
				free(buf);
				return -E2BIG;
			}
			nb = realloc(buf, cap);
			if (nb == NULL) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		r = read(STDIN_FILENO, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return -errno;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* Writes all of data to stdout; false on failure (a closed pipe, a full disk). */
static bool
client_write_out(const void *data, size_t len)
{
	if (len > 0 && fwrite(data, 1, len, stdout) != len)
		return false;
	return fflush(stdout) == 0;
}

/* Makes one call and reports it; returns the exit status. */
static int
client_call(const char *socket, const char *const *words, const size_t *lens,
    size_t nwords, const void *payload, size_t payload_len, bool newline)
{
	struct ctl_reply	 reply;
	char			 err[512];
	int			 fd, status, rc;

	status = client_connect(socket, &fd);
	if (status != CLI_EXIT_OK)
		return status;
	rc = ctl_call(fd, words, lens, nwords, payload, payload_len, &reply,
	    err, sizeof err);
	close(fd);
	if (rc != 0) {
		fprintf(stderr, "pooltop: %s\n", err);
		return CLI_EXIT_FAIL;
	}
	if (!reply.ok) {
		fprintf(stderr, "pooltop: %.*s\n", (int)reply.len,
		    (const char *)reply.data);
		free(reply.data);
		return CLI_EXIT_FAIL;
	}
	status = CLI_EXIT_OK;
	if (!client_write_out(reply.data, reply.len) ||
	    (newline && !client_write_out("\n", 1))) {
		fprintf(stderr, "pooltop: cannot write the result: %s\n",
		    strerror(errno));
		status = CLI_EXIT_FAIL;
	}
	free(reply.data);
	return status;
}

int
client_send(int argc, char **argv, const char *socket)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "key", required_argument, NULL, 'k' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*words[5];
	size_t		 lens[5], nwords = 0, payload_len = 0;
	const char	*key = NULL, *pool, *task;
	char		*payload = NULL, *keyword = NULL, tword[40];
	uint64_t	 timeout_ms = 0;
	int		 ch, rc, status;

	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+:s:k:t:h", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 's':
			socket = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 't':
			if (config_parse_duration(optarg, &timeout_ms) != 0 ||
			    timeout_ms == 0)
				return client_usage("send", send_usage, "bad "
				    "--timeout \"%s\" (expected a duration "
				    "such as 500ms, 5s or 2m)", optarg);
			break;
		case 'h':
			printf("%s", send_usage);
			return CLI_EXIT_OK;
		case ':':
			return client_usage("send", send_usage, "option %s "
			    "needs a value", cli_optname(argv));
		default:
			return client_usage("send", send_usage, "unknown "
			    "option %s", cli_optname(argv));
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2)
		return client_usage("send", send_usage, "expected POOL and "
		    "TASK%s", argc == 0 ? "" : " (got only POOL)");
	if (argc > 3)
		return client_usage("send", send_usage, "unexpected argument "
		    "\"%s\" after the payload (quote a payload with spaces)",
		    argv[3]);
	pool = argv[0];
	task = argv[1];
	if (*task == '\0' || strlen(task) > CTL_MAX_TASK_NAME)
		return client_usage("send", send_usage, "bad TASK \"%s\" "
		    "(expected a name of 1 to 255 bytes)", task);
	if (argc == 3 && strcmp(argv[2], "-") == 0) {
		rc = client_read_stdin(&payload, &payload_len);
		if (rc != 0) {
			if (rc == -E2BIG)
				fprintf(stderr, "pooltop send: the payload "
				    "on stdin is over the limit of %u bytes\n",
				    CTL_MAX_PAYLOAD);
			else
				fprintf(stderr, "pooltop send: cannot read "
				    "the payload from stdin: %s\n",
				    strerror(-rc));
			return CLI_EXIT_FAIL;
		}
	} else if (argc == 3) {
		payload_len = strlen(argv[2]);
		if ((payload = malloc(payload_len + 1)) == NULL) {
			fprintf(stderr, "pooltop send: out of memory\n");
			return CLI_EXIT_FAIL;
		}
		memcpy(payload, argv[2], payload_len + 1);
	}

	words[nwords++] = "send";
	words[nwords++] = pool;
	words[nwords++] = task;
	if (key != NULL) {
		if (asprintf(&keyword, "key=%s", key) < 0) {
			free(payload);
			fprintf(stderr, "pooltop send: out of memory\n");
			return CLI_EXIT_FAIL;
		}
		words[nwords++] = keyword;
	}
	if (timeout_ms != 0) {
		snprintf(tword, sizeof tword, "timeout=%llu",
		    (unsigned long long)timeout_ms);
		words[nwords++] = tword;
	}
	for (size_t i = 0; i < nwords; i++)
		lens[i] = strlen(words[i]);
	status = client_call(socket, words, lens, nwords, payload,
	    payload_len, false);
	free(keyword);
	free(payload);
	return status;
}

/* Prints the records of a logs reply; false when stdout is gone. */
static bool
client_logs_print(struct console *con, const char *data, size_t len,
    int *status)
{
	struct logtail_record	 rec;
	const char		*p = data, *end = data + len, *nl;
	char			 who[LOGLINE_WHO_MAX], text[128];
	int			 n, r;

	/* The names first, so the column is as wide as this batch needs. */
	for (p = data; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		if (logtail_parse(p, (size_t)(nl - p), &rec) != 0)
			continue;
		snprintf(who, sizeof who, "%.*s/%d", (int)rec.pool_len,
		    rec.pool, rec.slot);
		console_add(con, who);
	}
	for (p = data; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (logtail_parse(p, (size_t)(nl - p), &rec) != 0) {
			fprintf(stderr, "pooltop: malformed log record: "
			    "%.*s\n", (int)(nl - p > 200 ? 200 : nl - p), p);
			*status = CLI_EXIT_FAIL;
			continue;
		}
		snprintf(who, sizeof who, "%.*s/%d", (int)rec.pool_len,
		    rec.pool, rec.slot);
		if (rec.dropped) {
			n = snprintf(text, sizeof text, "%llu line%s dropped "
			    "here (the worker wrote faster than this reader "
			    "read)", (unsigned long long)rec.count,
			    rec.count == 1 ? "" : "s");
			console_line(con, false, rec.time_ms, who, LOG_POOLTOP,
			    text, n > 0 ? (size_t)n : 0);
		} else
			console_line(con, false, rec.time_ms, who, rec.stream,
			    rec.text, rec.len);
	}
	r = console_flush(con);
	if (r == -EPIPE)
		return false;	/* `pooltop ctl logs | head`: done */
	if (r != 0) {
		fprintf(stderr, "pooltop: cannot write the log: %s\n",
		    strerror(-r));
		*status = CLI_EXIT_FAIL;
		return false;
	}
	return true;
}

/*
 * `pooltop ctl logs [-f] [-n N] [TARGET]`: the last lines of the
 * workers' logs, merged in time order, then with -f the new ones as they
 * come, until interrupted or pooltop stops.
 */
static int
client_logs(int argc, char **argv, const char *socket)
{
	static const struct option longopts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "lines", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct console_options	 copts;
	struct console		*con;
	struct ctl_reply	 reply;
	const char		*words[4];
	char			 lines[32], err[512], *end;
	unsigned long		 n = CTL_LOGS_LINES;
	size_t			 nwords = 0;
	bool			 follow = false;
	int			 ch, fd, rc, status;

	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, ":fn:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			follow = true;
			break;
		case 'n':
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' ||
			    errno != 0 || n > CTL_LOGS_MAX_LINES)
				return client_usage("ctl logs", ctl_usage,
				    "bad line count \"%s\" (expected a number "
				    "from 0 to %d)", optarg, CTL_LOGS_MAX_LINES);
			break;
		case ':':
			return client_usage("ctl logs", ctl_usage, "option %s "
			    "needs a value", cli_optname(argv));
		default:
			return client_usage("ctl logs", ctl_usage, "unknown "
			    "option %s", cli_optname(argv));
		}
	}
	if (argc - optind > 1)
		return client_usage("ctl logs", ctl_usage, "expected one "
		    "POOL, POOL/N or PID at most (got \"%s\" and \"%s\")",
		    argv[optind], argv[optind + 1]);
	snprintf(lines, sizeof lines, "lines=%lu", n);
	words[nwords++] = "logs";
	words[nwords++] = lines;
	if (follow)
		words[nwords++] = "follow";
	if (optind < argc)
		words[nwords++] = argv[optind];

	status = client_connect(socket, &fd);
	if (status != CLI_EXIT_OK)
		return status;
	rc = ctl_call(fd, words, NULL, nwords, NULL, 0, &reply, err,
	    sizeof err);
	if (rc != 0) {
		close(fd);
		fprintf(stderr, "pooltop: %s\n", err);
		return CLI_EXIT_FAIL;
	}
	if (!reply.ok) {
		close(fd);
		fprintf(stderr, "pooltop: %.*s\n", (int)reply.len,
		    (const char *)reply.data);
		free(reply.data);
		return CLI_EXIT_FAIL;
	}
	memset(&copts, 0, sizeof copts);
	copts.out_fd = STDOUT_FILENO;
	copts.err_fd = STDERR_FILENO;
	copts.color_out = console_want_color(STDOUT_FILENO, true);
	if (console_new(&con, &copts) != 0) {
		close(fd);
		free(reply.data);
		fprintf(stderr, "pooltop: out of memory\n");
		return CLI_EXIT_FAIL;
	}
	/* The backlog, then (-f) a reply per batch of new lines. */
	for (;;) {
		bool more = client_logs_print(con, (const char *)reply.data,
		    reply.len, &status);

		free(reply.data);
		if (!more || !follow)
			break;
		rc = ctl_read_reply(fd, &reply, err, sizeof err);
		if (rc == -EPIPE) {
			fprintf(stderr, "pooltop: pooltop closed the "
			    "connection (it stopped)\n");
			break;
		}
		if (rc != 0) {
			fprintf(stderr, "pooltop: %s\n", err);
			status = CLI_EXIT_FAIL;
			break;
		}
		if (!reply.ok) {
			fprintf(stderr, "pooltop: %.*s\n", (int)reply.len,
			    (const char *)reply.data);
			free(reply.data);
			status = CLI_EXIT_FAIL;
			break;
		}
	}
	console_free(con);
	close(fd);
	return status;
}

int
client_ctl(int argc, char **argv, const char *socket)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*words[4], *verb;
	char		 signum[16], *end;
	size_t		 nwords = 0;
	unsigned long	 n;
	int		 ch, sig;
	bool		 newline = true;

	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+:s:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			socket = optarg;
			break;
		case 'h':
			printf("%s", ctl_usage);
			return CLI_EXIT_OK;
		case ':':
			return client_usage("ctl", ctl_usage, "option %s needs "
			    "a value", cli_optname(argv));
		default:
			return client_usage("ctl", ctl_usage, "unknown option "
			    "%s", cli_optname(argv));
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		return client_usage("ctl", ctl_usage, "expected a command: "
		    "list, kill, sleep, wake, restart, scale, strategy, "
		    "reload, logs or ping");
	verb = argv[0];
	words[nwords++] = verb;
	if (strcmp(verb, "list") == 0) {
		newline = false;
		if (argc == 1)
			words[nwords++] = "text";
		else if (argc == 2 && strcmp(argv[1], "--json") == 0)
			words[nwords++] = "json";
		else
			return client_usage("ctl list", ctl_usage, "unexpected "
			    "argument \"%s\" (expected --json or nothing)",
			    argv[1]);
	} else if (strcmp(verb, "kill") == 0) {
		sig = SIGTERM;
		argc--;
		argv++;
		if (argc > 0 && argv[0][0] == '-' && argv[0][1] != '\0') {
			sig = cmd_signal_parse(argv[0] + 1);
			if (sig <= 0)
				return client_usage("ctl kill", ctl_usage,
				    "unknown signal \"%s\" (expected a name "
				    "such as -TERM or -KILL, or a number such "
				    "as -9)", argv[0]);
			argc--;
			argv++;
		}
		if (argc != 1)
			return client_usage("ctl kill", ctl_usage, "expected "
			    "one TARGET (POOL/N or a pid)");
		snprintf(signum, sizeof signum, "%d", sig);
		words[nwords++] = argv[0];
		words[nwords++] = signum;
	} else if (strcmp(verb, "sleep") == 0 || strcmp(verb, "wake") == 0 ||
	    strcmp(verb, "restart") == 0) {
		if (argc != 2)
			return client_usage(strcmp(verb, "sleep") == 0 ?
			    "ctl sleep" : strcmp(verb, "wake") == 0 ?
			    "ctl wake" : "ctl restart", ctl_usage, "expected one "
			    "TARGET (POOL/N or a pid)");
		words[nwords++] = argv[1];
	} else if (strcmp(verb, "scale") == 0) {
		if (argc != 3)
			return client_usage("ctl scale", ctl_usage, "expected "
			    "POOL and N");
		errno = 0;
		n = strtoul(argv[2], &end, 10);
		if (argv[2][0] < '0' || argv[2][0] > '9' || *end != '\0' ||
		    errno != 0 || n == 0 || n > CTL_MAX_SCALE)
			return client_usage("ctl scale", ctl_usage, "bad "
			    "worker count \"%s\" (expected a number from 1 to "
			    "%d)", argv[2], CTL_MAX_SCALE);
		words[nwords++] = argv[1];
		words[nwords++] = argv[2];
	} else if (strcmp(verb, "strategy") == 0) {
		if (argc != 3)
			return client_usage("ctl strategy", ctl_usage,
			    "expected POOL and NAME");
		words[nwords++] = argv[1];
		words[nwords++] = argv[2];
	} else if (strcmp(verb, "reload") == 0) {
		/* The reply comes when the reload ended: its outcome. */
		if (argc != 2)
			return client_usage("ctl reload", ctl_usage, "expected "
			    "one POOL");
		words[nwords++] = argv[1];
	} else if (strcmp(verb, "logs") == 0) {
		return client_logs(argc, argv, socket);
	} else if (strcmp(verb, "ping") == 0) {
		if (argc != 1)
			return client_usage("ctl ping", ctl_usage, "unexpected "
			    "argument \"%s\"", argv[1]);
	} else
		return client_usage("ctl", ctl_usage, "unknown command \"%s\" "
		    "(expected list, kill, sleep, wake, restart, scale, "
		    "strategy, reload, logs or ping)", verb);
	return client_call(socket, words, NULL, nwords, NULL, 0, newline);
}
