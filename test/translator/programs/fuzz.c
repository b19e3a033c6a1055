// Random system call numbers with random arguments, bounded in count. Calls that would end the
// program, block, or change its own memory, descriptors 0-2 or signal state are skipped: the
// test is about the translator staying up, and every call must return.
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static uint64_t state;
// Pointer arguments land here or at invalid addresses, never on the program's own stack or
// heap, which random writes would corrupt.
static char scratch[1 << 16];

static uint64_t next_random(void) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

static int skipped(long number) {
  static const long skip[] = {
      SYS_exit, SYS_exit_group, SYS_rt_sigreturn, SYS_pause, SYS_execve, SYS_execveat,
      SYS_fork, SYS_vfork, SYS_clone, SYS_clone3, SYS_kill, SYS_tkill, SYS_tgkill,
      SYS_munmap, SYS_mprotect, SYS_mremap, SYS_brk, SYS_madvise, SYS_close, SYS_close_range,
      SYS_dup2, SYS_dup3, SYS_read, SYS_readv, SYS_pread64, SYS_preadv, SYS_preadv2,
      SYS_recvfrom, SYS_recvmsg, SYS_accept, SYS_accept4, SYS_wait4, SYS_waitid, SYS_nanosleep,
      SYS_clock_nanosleep, SYS_select, SYS_pselect6, SYS_poll, SYS_ppoll, SYS_epoll_wait,
      SYS_epoll_pwait, SYS_rt_sigsuspend, SYS_rt_sigtimedwait, SYS_futex, SYS_flock, SYS_fcntl,
      SYS_setsid, SYS_setpgid, SYS_prctl, SYS_arch_prctl, SYS_rt_sigprocmask, SYS_rt_sigaction,
      SYS_sigaltstack, SYS_setrlimit, SYS_prlimit64, SYS_chdir, SYS_fchdir, SYS_chroot,
      SYS_sync, SYS_syncfs, SYS_reboot, SYS_ptrace, SYS_sched_setaffinity, SYS_setpriority,
      SYS_ioctl, SYS_sendfile, SYS_splice, SYS_tee, SYS_copy_file_range, SYS_connect,
      SYS_unlink, SYS_unlinkat, SYS_rmdir, SYS_rename, SYS_renameat, SYS_renameat2,
      SYS_truncate, SYS_ftruncate, SYS_fallocate, SYS_umask, SYS_setuid, SYS_setgid,
      SYS_setreuid, SYS_setregid, SYS_setresuid, SYS_setresgid, SYS_setgroups, SYS_mmap,
      SYS_set_robust_list, SYS_set_tid_address, SYS_rseq, SYS_msync, SYS_mlockall};
  for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++) {
    if (skip[i] == number) return 1;
  }
  return 0;
}

static uint64_t random_argument(void) {
  switch (next_random() % 6) {
    case 0:
      return 0;
    case 1:
      return next_random() % 64;
    case 2:
      return (uint64_t)-1 - next_random() % 16;
    case 3:
      return next_random();
    case 4:
      return 0x7fffffff0000ull + next_random() % 0x10000;
    default:
      return (uint64_t)scratch + next_random() % (sizeof scratch - 4096);
  }
}

int main(int argc, char** argv) {
  state = argc > 1 ? strtoull(argv[1], NULL, 0) : 1;
  int count = argc > 2 ? atoi(argv[2]) : 20000;
  int made = 0, errors = 0;
  for (int i = 0; i < count; i++) {
    long number = (long)(next_random() % 470);
    if (skipped(number)) continue;
    uint64_t a[6];
    for (int j = 0; j < 6; j++) a[j] = random_argument();
    // Descriptors 0 to 2 carry the report; keep the calls off them.
    if (a[0] <= 2) a[0] += 3;
    long result = syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
    made++;
    if (result == -1) errors++;
  }
  printf("made %d calls, %d returned an error\n", made, errors);
  return 0;
}
