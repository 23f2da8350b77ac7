/*
 * Replays fuzz corpus files through the fuzz target without libFuzzer,
 * so ordinary (gcc, sanitizer) builds keep the target working:
 * run-corpus DIR... runs every file in each directory once.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs one file; returns 0 or -1 when it cannot be read. */
static int
run_file(const char *path)
{
	uint8_t	*buf;
	FILE	*f;
	long	 len;

	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 ||
	    (buf = malloc((size_t)len + 1)) == NULL) {
		fclose(f);
		return -1;
	}
	if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	struct dirent	*de;
	DIR		*d;
	char		 path[4096];
	int		 i, n = 0;

	for (i = 1; i < argc; i++) {
		if ((d = opendir(argv[i])) == NULL) {
			perror(argv[i]);
			return 1;
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path, "%s/%s", argv[i],
			    de->d_name);
			if (run_file(path) != 0) {
				perror(path);
				closedir(d);
				return 1;
			}
			n++;
		}
		closedir(d);
	}
	printf("%d corpus files replayed\n", n);
	return n > 0 ? 0 : 1;
}
