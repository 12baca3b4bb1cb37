/* bench/spawn-each.c: runs a program once per message, each time with the
 * message on standard input, the way an MTA's delivery agent runs maildrop
 * (fork and exec, wait for the exit code), and prints the wall time in
 * seconds.  The bench's driver, so that what is measured is the program
 * and not a shell loop's own forks.
 *
 *   spawn-each LIST FIRST COUNT PROGRAM [ARG...]
 *
 * LIST is a file of message paths, one a line; messages FIRST to
 * FIRST+COUNT-1 are run, cycling through the list.  Exits 1 when a run
 * does not exit 0. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static char **read_list(const char *path, size_t *count_r)
{
	FILE *f = fopen(path, "r");
	char **v = NULL, *line = NULL;
	size_t n = 0, cap = 0, len = 0;
	ssize_t got;

	if (f == NULL) {
		perror(path);
		exit(2);
	}
	while ((got = getline(&line, &len, f)) > 0) {
		if (line[got - 1] == '\n')
			line[got - 1] = '\0';
		if (line[0] == '\0')
			continue;
		if (n == cap) {
			cap = cap == 0 ? 256 : cap * 2;
			v = realloc(v, cap * sizeof(*v));
			if (v == NULL)
				exit(2);
		}
		v[n] = strdup(line);
		if (v[n++] == NULL)
			exit(2);
	}
	free(line);
	fclose(f);
	*count_r = n;
	return v;
}

int main(int argc, char **argv)
{
	struct timespec a, b;
	size_t count, first, n;
	char **list;

	if (argc < 5) {
		fprintf(stderr, "usage: spawn-each LIST FIRST COUNT PROGRAM "
			"[ARG...]\n");
		return 2;
	}
	list = read_list(argv[1], &n);
	first = strtoul(argv[2], NULL, 10);
	count = strtoul(argv[3], NULL, 10);
	if (n == 0)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (size_t i = first; i < first + count; i++) {
		posix_spawn_file_actions_t fa;
		const char *msg = list[i % n];
		int status;
		pid_t pid;

		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 0, msg, O_RDONLY, 0);
		if (posix_spawn(&pid, argv[4], &fa, NULL, argv + 4,
				environ) != 0) {
			perror(argv[4]);
			return 1;
		}
		posix_spawn_file_actions_destroy(&fa);
		if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			fprintf(stderr, "spawn-each: %s failed on %s\n",
				argv[4], msg);
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.6f\n", (double)(b.tv_sec - a.tv_sec) +
				 (double)(b.tv_nsec - a.tv_nsec) / 1e9);
	return 0;
}
