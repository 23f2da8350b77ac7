/*
 * bench-pool-byte: the trivial program of bench-pool's posix_spawn
 * baseline: writes one byte to stdout and exits.
 */
#include <unistd.h>

int
main(void)
{
	return write(1, "!", 1) == 1 ? 0 : 1;
}
