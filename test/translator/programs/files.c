// openat with directory descriptors, O_CLOEXEC, getdents64 over a large directory and statx.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CHECK(condition)                                                    \
  do {                                                                      \
    if (!(condition)) {                                                     \
      printf("FAIL line %d: %s (errno %d)\n", __LINE__, #condition, errno); \
      return 1;                                                             \
    }                                                                       \
  } while (0)

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  CHECK(mkdir(argv[1], 0755) == 0);
  int dir = open(argv[1], O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  CHECK(dir >= 0);
  CHECK(fcntl(dir, F_GETFD) == FD_CLOEXEC);
  int plain = openat(dir, "plain", O_CREAT | O_WRONLY, 0600);
  CHECK(plain >= 0);
  CHECK(fcntl(plain, F_GETFD) == 0);
  CHECK(write(plain, "12345", 5) == 5);
  CHECK(fcntl(plain, F_SETFD, FD_CLOEXEC) == 0);
  CHECK(fcntl(plain, F_GETFD) == FD_CLOEXEC);
  // Descriptor numbers are the lowest free ones, as on Linux.
  close(plain);
  int again = openat(dir, "plain", O_RDONLY);
  CHECK(again == plain);
  int duplicate = fcntl(again, F_DUPFD, 100);
  CHECK(duplicate == 100);
  CHECK(dup2(again, 200) == 200);
  CHECK(close(200) == 0);
  CHECK(close(200) == -1);
  CHECK(errno == EBADF);
  struct stat status;
  CHECK(fstatat(dir, "plain", &status, 0) == 0);
  CHECK(status.st_size == 5);
  CHECK((status.st_mode & 0777) == 0600);
  CHECK(openat(dir, "missing", O_RDONLY) == -1);
  CHECK(errno == ENOENT);
  CHECK(openat(dir, "plain/x", O_RDONLY) == -1);
  CHECK(errno == ENOTDIR);
  CHECK(openat(dir, "plain", O_CREAT | O_EXCL | O_WRONLY, 0600) == -1);
  CHECK(errno == EEXIST);
  CHECK(mkdirat(dir, "sub", 0700) == 0);
  CHECK(unlinkat(dir, "sub", 0) == -1);
  CHECK(errno == EISDIR);
  CHECK(renameat(dir, "plain", dir, "renamed") == 0);
  CHECK(faccessat(dir, "renamed", R_OK, 0) == 0);
  // statx on the renamed file.
  struct statx extended;
  CHECK(statx(dir, "renamed", 0, STATX_BASIC_STATS | STATX_BTIME, &extended) == 0);
  CHECK(extended.stx_size == 5);
  CHECK((extended.stx_mask & STATX_SIZE));
  CHECK(statx(again, "", AT_EMPTY_PATH, STATX_SIZE, &extended) == 0);
  CHECK(extended.stx_size == 5);
  // 3000 entries, read back with getdents64 through readdir.
  int big = openat(dir, "sub", O_DIRECTORY | O_RDONLY);
  CHECK(big >= 0);
  char name[32];
  for (int i = 0; i < 3000; i++) {
    snprintf(name, sizeof name, "entry-%04d", i);
    int fd = openat(big, name, O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0);
    close(fd);
  }
  DIR* listing = fdopendir(big);
  CHECK(listing != NULL);
  int count = 0;
  long sum = 0;
  struct dirent* entry;
  while ((entry = readdir(listing)) != NULL) {
    if (entry->d_name[0] == '.') continue;
    count++;
    int number;
    CHECK(sscanf(entry->d_name, "entry-%d", &number) == 1);
    sum += number;
  }
  printf("entries %d sum %ld\n", count, sum);
  CHECK(count == 3000);
  CHECK(sum == 2999L * 3000 / 2);
  printf("ok\n");
  return 0;
}
