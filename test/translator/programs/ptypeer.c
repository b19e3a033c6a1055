// A pseudo-terminal made by the guest itself: opens the master at argv[1] (such as
// /dev/ptmx), unlocks it, opens the slave with TIOCGPTPEER and checks that bytes cross
// from master to slave and that the slave's /proc/self/fd link names /dev/pts/N.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

static int fail(const char* what) {
  printf("%s: %s\n", what, strerror(errno));
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  int master = open(argv[1], O_RDWR | O_NOCTTY);
  if (master < 0) return fail("open master");
  if (unlockpt(master) < 0) return fail("unlockpt");
  unsigned number;
  if (ioctl(master, TIOCGPTN, &number) < 0) return fail("TIOCGPTN");

  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) return fail("TIOCGPTPEER");
  int flags = fcntl(slave, F_GETFD);
  if (flags < 0 || !(flags & FD_CLOEXEC)) {
    printf("slave descriptor flags %d: close-on-exec missing\n", flags);
    return 1;
  }

  char link[64], target[256], expected[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", slave);
  ssize_t length = readlink(link, target, sizeof target - 1);
  if (length < 0) return fail("readlink slave");
  target[length] = '\0';
  snprintf(expected, sizeof expected, "/dev/pts/%u", number);
  if (strcmp(target, expected) != 0) {
    printf("slave link %s, expected %s\n", target, expected);
    return 1;
  }

  struct termios settings;
  if (tcgetattr(slave, &settings) < 0) return fail("tcgetattr");
  cfmakeraw(&settings);
  if (tcsetattr(slave, TCSANOW, &settings) < 0) return fail("tcsetattr");
  if (write(master, "ping", 4) != 4) return fail("write master");
  char buffer[8] = {0};
  if (read(slave, buffer, 4) != 4) return fail("read slave");
  if (strcmp(buffer, "ping") != 0) {
    printf("slave read \"%s\", expected \"ping\"\n", buffer);
    return 1;
  }
  printf("ok\n");
  return 0;
}
