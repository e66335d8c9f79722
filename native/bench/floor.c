/*
 * The floor for the reconcile benchmark: the bare syscalls a cold reconcile of N tenants needs
 * (three mkdirs, the subtree_control writes and the limit writes per tenant), with nothing else.
 * Usage: floor ROOT N
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int put(const char *path, const char *value) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  ssize_t n = write(fd, value, strlen(value));
  int rc = n < 0 ? -errno : 0;
  close(fd);
  return rc;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: floor ROOT N\n");
    return 2;
  }
  const char *root = argv[1];
  long n = strtol(argv[2], NULL, 10);
  static const char *const files[][2] = {
      {"cpu.max", "50000 100000"}, {"cpu.weight", "100"}, {"memory.max", "268435456"}, {"memory.high", "251658240"},
      {"memory.low", "0"},         {"memory.min", "0"},   {"pids.max", "100"},
  };
  char path[4096];
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (long i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/tenants/t%ld", root, i);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) return perror(path), 1;
    snprintf(path, sizeof path, "%s/tenants/t%ld/cgroup.subtree_control", root, i);
    if (put(path, "+cpu +memory +pids") != 0) return perror(path), 1;
    snprintf(path, sizeof path, "%s/tenants/t%ld/attached", root, i);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) return perror(path), 1;
    snprintf(path, sizeof path, "%s/tenants/t%ld/workloads", root, i);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) return perror(path), 1;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
      snprintf(path, sizeof path, "%s/tenants/t%ld/%s", root, i, files[f][0]);
      if (put(path, files[f][1]) != 0) return perror(path), 1;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  printf("%.6f\n", (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9);
  return 0;
}
