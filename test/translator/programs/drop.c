// Dropping root as su and daemons do, with a second thread running: setgroups, setgid and
// setuid to 1000, then checks which files and ids each thread may still reach. Prints one
// "name result" line per check, where the result is "ok" or the errno name. Run as root with
// /etc/shadow readable by root only.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

static int to_thread[2], from_thread[2];

static void report(const char* name, int result) {
  printf("%s %s\n", name, result < 0 ? strerrorname_np(errno) : "ok");
}

static int open_shadow(void) {
  int fd = open("/etc/shadow", O_RDONLY);
  if (fd >= 0) close(fd);
  return fd;
}

// Waits for a byte, opens /etc/shadow and sends back 0 or errno.
static void* shadow_opener(void* unused) {
  (void)unused;
  char byte;
  while (read(to_thread[0], &byte, 1) == 1) {
    int error = open_shadow() < 0 ? errno : 0;
    if (write(from_thread[1], &error, sizeof error) != sizeof error) break;
  }
  return NULL;
}

static void report_thread(const char* name) {
  char byte = 'x';
  int error = -1;
  if (write(to_thread[1], &byte, 1) != 1 || read(from_thread[0], &error, sizeof error) < 0) {
    printf("%s thread-failed\n", name);
    return;
  }
  errno = error;
  report(name, error == 0 ? 0 : -1);
}

int main(void) {
  if (pipe(to_thread) < 0 || pipe(from_thread) < 0) return 2;
  pthread_t early;
  if (pthread_create(&early, NULL, shadow_opener, NULL) != 0) return 2;
  report("root-open-shadow", open_shadow());
  report_thread("root-thread-open-shadow");

  report("setgroups", setgroups(0, NULL));
  report("setgid", setgid(1000));
  report("setuid", setuid(1000));
  printf("ids %d %d %d %d\n", getuid(), geteuid(), getgid(), getegid());

  report("open-shadow", open_shadow());
  report_thread("thread-open-shadow");
  report("open-tmp-file", open("/tmp/drop-file", O_WRONLY | O_CREAT | O_TRUNC, 0644));

  report("setuid-0", setuid(0));
  report("seteuid-0", seteuid(0));
  report("setresuid-0", setresuid(0, 0, 0));
  report("setgid-0", setgid(0));
  gid_t none[1] = {0};
  report("setgroups-0", setgroups(1, none));
  printf("setfsuid-0 %d\n", setfsuid(0));
  printf("fsuid %d\n", setfsuid(-1));

  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  report("capget", syscall(SYS_capget, &header, data));
  printf("capabilities %x %x\n", data[0].effective, data[0].permitted);
  return 0;
}
