// Bad pointers give EFAULT, not a crash of the translator and not a read or write of memory
// outside the program's mappings. The first line of stdin may name one more address to try,
// such as one inside the translator's own memory.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static int failures = 0;

static void expect_efault(const char* what, long result) {
  if (result == -1 && errno == EFAULT) {
    printf("%s EFAULT\n", what);
  } else {
    printf("%s UNEXPECTED result %ld errno %d\n", what, result, errno);
    failures++;
  }
}

static void try_address(const char* label, char* bad) {
  char name[64];
  int fds[2];
  if (pipe(fds) != 0) abort();
  write(fds[1], "data", 4);
  snprintf(name, sizeof name, "%s read", label);
  expect_efault(name, read(fds[0], bad, 4));
  snprintf(name, sizeof name, "%s write", label);
  expect_efault(name, write(fds[1], bad, 4));
  snprintf(name, sizeof name, "%s stat-buffer", label);
  expect_efault(name, syscall(SYS_newfstatat, AT_FDCWD, "/", bad, 0));
  snprintf(name, sizeof name, "%s open-path", label);
  expect_efault(name, syscall(SYS_openat, AT_FDCWD, bad, O_RDONLY));
  struct iovec vector = {bad, 4};
  snprintf(name, sizeof name, "%s readv", label);
  expect_efault(name, readv(fds[0], &vector, 1));
  snprintf(name, sizeof name, "%s iovec-array", label);
  expect_efault(name, syscall(SYS_writev, fds[1], bad, 1));
  snprintf(name, sizeof name, "%s getcwd", label);
  expect_efault(name, syscall(SYS_getcwd, bad, 64));
  snprintf(name, sizeof name, "%s clock_gettime", label);
  expect_efault(name, syscall(SYS_clock_gettime, 0, bad));
  close(fds[0]);
  close(fds[1]);
}

int main(void) {
  try_address("null", NULL);
  try_address("low", (char*)16);
  try_address("kernel", (char*)0xffff880000000000ul);
  try_address("noncanonical", (char*)0x800000000000ul);
  char line[64];
  if (fgets(line, sizeof line, stdin) != NULL && line[0] != '\n') {
    try_address("host", (char*)strtoul(line, NULL, 16));
  }
  printf("failures %d\n", failures);
  return failures == 0 ? 0 : 1;
}
