/*
 * The floor for the reconcile benchmarks: the bare syscalls a cold reconcile of N tenants needs
 * (three mkdirs, the subtree_control writes and the limit writes per tenant), with nothing else;
 * with "read", the read-back a pass over tenants in sync needs (each of those files read once, the
 * two leaves stat'ed).
 * Usage: floor ROOT N [read]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int get(const char *path) {
  char buf[256];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  ssize_t n = read(fd, buf, sizeof buf);
  int rc = n < 0 ? -errno : 0;
  close(fd);
  return rc;
}

static int put(const char *path, const char *value) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  ssize_t n = write(fd, value, strlen(value));
  int rc = n < 0 ? -errno : 0;
  close(fd);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "read") != 0)) {
    fprintf(stderr, "usage: floor ROOT N [read]\n");
    return 2;
  }
  int reading = argc == 4;
  const char *root = argv[1];
  long n = strtol(argv[2], NULL, 10);
  static const char *const files[][2] = {
      {"cpu.max", "50000 100000"}, {"cpu.weight", "100"}, {"memory.max", "268435456"}, {"memory.high", "251658240"},
      {"memory.low", "0"},         {"memory.min", "0"},   {"pids.max", "100"},
  };
  char path[4096];
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  struct stat st;
  for (long i = 0; i < n && reading; i++) {
    snprintf(path, sizeof path, "%s/tenants/t%ld/cgroup.subtree_control", root, i);
    if (get(path) != 0) return perror(path), 1;
    snprintf(path, sizeof path, "%s/tenants/t%ld/attached", root, i);
    if (stat(path, &st) != 0) return perror(path), 1;
    snprintf(path, sizeof path, "%s/tenants/t%ld/workloads", root, i);
    if (stat(path, &st) != 0) return perror(path), 1;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
      snprintf(path, sizeof path, "%s/tenants/t%ld/%s", root, i, files[f][0]);
      if (get(path) != 0) return perror(path), 1;
    }
  }
  for (long i = 0; i < n && !reading; i++) {
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
