/*
 * libFuzzer target for config_parse(): any bytes as a config file.  It
 * must never crash, leak or read out of bounds; a NUL in the input ends
 * the text, as it does for config_load().
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pooltop/config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	 cfg;
	uint64_t	 v;
	char		*text;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (config_parse(&cfg, "fuzz.conf", text, NULL) == 0)
		config_free(&cfg);
	/* The value parsers the command line shares. */
	(void)config_parse_duration(text, &v);
	(void)config_parse_size(text, &v);
	free(text);
	return 0;
}
