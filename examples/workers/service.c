/*
 * pooltop-example-service: a plain long-running process that speaks no
 * protocol (pooltop supervises it as a service).  It prints a heartbeat
 * line to stdout every second, a line to stderr every fifth beat, and
 * exits 0 with a goodbye line on SIGTERM or SIGINT.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int
main(void)
{
	struct timespec	 tick = { 1, 0 };
	const char	*who;
	sigset_t	 set;
	unsigned long	 beat = 0;
	int		 sig;

	if ((who = getenv("POOLTOP_WORKER")) == NULL || *who == '\0')
		who = "-";

	/*
	 * The stop signals are blocked and taken synchronously with
	 * sigtimedwait(), which doubles as the one-second tick: no handler,
	 * no async-signal-safety concerns around stdio.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);

	printf("service %s started (pid %ld)\n", who, (long)getpid());
	fflush(stdout);
	for (;;) {
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig < 0 && errno != EAGAIN)
			continue;	/* EINTR (SIGCONT after a sleep) */
		beat++;
		printf("service %s heartbeat %lu\n", who, beat);
		fflush(stdout);
		if (beat % 5 == 0) {
			fprintf(stderr, "service %s: still alive after %lu "
			    "beats (a line on stderr)\n", who, beat);
			fflush(stderr);
		}
	}
	printf("service %s got %s after %lu beats, goodbye\n", who,
	    sig == SIGTERM ? "SIGTERM" : "SIGINT", beat);
	fflush(stdout);
	return 0;
}
