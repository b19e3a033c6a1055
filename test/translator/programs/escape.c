// Paths that try to leave the root: "..", absolute and relative symlinks, dirfds and chdir.
// Each attempt must read the marker inside the root, never the one the test put outside it.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void show(const char* label, const char* path, int dirfd) {
  char buffer[64] = {0};
  int fd = openat(dirfd, path, O_RDONLY);
  if (fd < 0) {
    printf("%s: error %s\n", label, strerror(errno));
    return;
  }
  ssize_t n = read(fd, buffer, sizeof buffer - 1);
  close(fd);
  if (n > 0 && buffer[n - 1] == '\n') buffer[n - 1] = 0;
  printf("%s: %s\n", label, buffer);
}

int main(int argc, char** argv) {
  // argv[1]: a scratch folder inside the root; argv[2]: the marker's name under the host's /tmp
  // and the root's /tmp.
  if (argc < 3 || chdir(argv[1]) != 0) return 2;
  char path[512];
  snprintf(path, sizeof path, "../../../../../../../../tmp/%s", argv[2]);
  show("dotdot", path, AT_FDCWD);
  snprintf(path, sizeof path, "/../../../tmp/%s", argv[2]);
  show("root-dotdot", path, AT_FDCWD);
  symlink("/", "to-root");
  snprintf(path, sizeof path, "to-root/../../tmp/%s", argv[2]);
  show("absolute-symlink", path, AT_FDCWD);
  symlink("../../../../../../../../../..", "up");
  snprintf(path, sizeof path, "up/tmp/%s", argv[2]);
  show("relative-symlink", path, AT_FDCWD);
  snprintf(path, sizeof path, "/tmp/%s", argv[2]);
  symlink(path, "marker-link");
  show("symlink-to-marker", "marker-link", AT_FDCWD);
  int root = open("/", O_DIRECTORY | O_RDONLY);
  snprintf(path, sizeof path, "../tmp/%s", argv[2]);
  show("dirfd-dotdot", path, root);
  if (chdir("/../..") != 0) return 3;
  char cwd[256];
  printf("getcwd: %s\n", getcwd(cwd, sizeof cwd) ? cwd : strerror(errno));
  snprintf(path, sizeof path, "tmp/%s", argv[2]);
  show("after-chdir", path, AT_FDCWD);
  // Creating through a symlink that points out of the root lands inside it.
  snprintf(path, sizeof path, "/tmp/%s-created", argv[2]);
  if (chdir(argv[1]) != 0) return 4;
  symlink(path, "create-link");
  int fd = open("create-link", O_CREAT | O_WRONLY, 0644);
  printf("create-through-symlink: %s\n", fd >= 0 ? "created" : strerror(errno));
  if (fd >= 0) close(fd);
  return 0;
}
