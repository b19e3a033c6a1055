// Signal delivery checks: siginfo fields, SA_RESTART, nested handlers on an alternate stack,
// FPU state across a handler, sigsuspend, timers, timerfd, a SIGSEGV handler's si_addr, and
// waitid on stopped and continued children. Prints one "name ok" line per check.
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHECK(condition)                                                               \
  do {                                                                                 \
    if (!(condition)) {                                                                \
      printf("FAIL %s line %d: %s (errno %d)\n", __func__, __LINE__, #condition, errno); \
      exit(1);                                                                         \
    }                                                                                  \
  } while (0)

static volatile sig_atomic_t hits;
static siginfo_t last_info;
static char alternate[65536];
static volatile uintptr_t handler_sp[2];

static void on_info(int signal, siginfo_t* info, void* context) {
  (void)signal;
  (void)context;
  last_info = *info;
  hits++;
}

static void install(int signal, void (*handler)(int, siginfo_t*, void*), int flags) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = handler;
  action.sa_flags = SA_SIGINFO | flags;
  sigemptyset(&action.sa_mask);
  CHECK(sigaction(signal, &action, NULL) == 0);
}

static void siginfo_fields(void) {
  install(SIGUSR1, on_info, 0);
  hits = 0;
  CHECK(kill(getpid(), SIGUSR1) == 0);
  CHECK(hits == 1);
  CHECK(last_info.si_signo == SIGUSR1);
  CHECK(last_info.si_code == SI_USER);
  CHECK(last_info.si_pid == getpid());
  union sigval value = {.sival_int = 42};
  CHECK(sigqueue(getpid(), SIGUSR1, value) == 0);
  CHECK(hits == 2);
  CHECK(last_info.si_value.sival_int == 42);
  printf("siginfo ok\n");
}

static void interrupted_read(int flags, const char* name) {
  install(SIGALRM, on_info, flags);
  int fds[2];
  CHECK(pipe(fds) == 0);
  pid_t writer = fork();
  CHECK(writer >= 0);
  if (writer == 0) {
    // Without SA_RESTART nothing is written: only the signal can end the read.
    usleep(500000);
    if (flags & SA_RESTART) write(fds[1], "x", 1);
    _exit(0);
  }
  struct itimerval timer = {{0, 0}, {0, 100000}};
  CHECK(setitimer(ITIMER_REAL, &timer, NULL) == 0);
  char byte;
  ssize_t n = read(fds[0], &byte, 1);
  if (flags & SA_RESTART) {
    CHECK(n == 1);
    CHECK(byte == 'x');
  } else {
    CHECK(n == -1);
    CHECK(errno == EINTR);
  }
  CHECK(waitpid(writer, NULL, 0) == writer);
  close(fds[0]);
  close(fds[1]);
  printf("%s ok\n", name);
}

static void on_second(int signal, siginfo_t* info, void* context) {
  (void)signal;
  (void)info;
  (void)context;
  int local;
  handler_sp[1] = (uintptr_t)&local;
}

static void on_first(int signal, siginfo_t* info, void* context) {
  (void)signal;
  (void)info;
  (void)context;
  int local;
  handler_sp[0] = (uintptr_t)&local;
  raise(SIGUSR2);
}

static void nested_alternate_stack(void) {
  stack_t stack = {.ss_sp = alternate, .ss_size = sizeof alternate, .ss_flags = 0};
  CHECK(sigaltstack(&stack, NULL) == 0);
  install(SIGUSR1, on_first, SA_ONSTACK);
  install(SIGUSR2, on_second, SA_ONSTACK);
  raise(SIGUSR1);
  uintptr_t low = (uintptr_t)alternate, high = low + sizeof alternate;
  CHECK(handler_sp[0] > low);
  CHECK(handler_sp[0] < high);
  CHECK(handler_sp[1] > low);
  CHECK(handler_sp[1] < handler_sp[0]);
  stack_t current;
  CHECK(sigaltstack(NULL, &current) == 0);
  CHECK(!(current.ss_flags & SS_ONSTACK));
  printf("altstack ok\n");
}

static void on_clobber(int signal, siginfo_t* info, void* context) {
  (void)signal;
  (void)info;
  (void)context;
  __asm__ volatile("pcmpeqd %%xmm0, %%xmm0; vpcmpeqd %%ymm1, %%ymm1, %%ymm1" ::: "xmm0", "xmm1");
}

static void fpu_preserved(void) {
  install(SIGUSR1, on_clobber, 0);
  uint64_t before[2] = {0x1122334455667788ull, 0x99aabbccddeeff00ull}, after[2];
  __asm__ volatile("movdqu %1, %%xmm0; movl $10, %%eax; movl %2, %%edi; movl %3, %%esi;"
                   "movl $62, %%eax; syscall; movdqu %%xmm0, %0"
                   : "=m"(after)
                   : "m"(before), "r"(getpid()), "r"(SIGUSR1)
                   : "rax", "rdi", "rsi", "rcx", "r11", "xmm0", "memory");
  CHECK(memcmp(before, after, sizeof before) == 0);
  printf("fpu ok\n");
}

static void suspend(void) {
  install(SIGUSR1, on_info, 0);
  sigset_t block, empty, current;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigemptyset(&empty);
  CHECK(sigprocmask(SIG_BLOCK, &block, NULL) == 0);
  hits = 0;
  CHECK(kill(getpid(), SIGUSR1) == 0);
  CHECK(hits == 0);
  sigset_t pending;
  CHECK(sigpending(&pending) == 0);
  CHECK(sigismember(&pending, SIGUSR1));
  CHECK(sigsuspend(&empty) == -1);
  CHECK(errno == EINTR);
  CHECK(hits == 1);
  CHECK(sigprocmask(SIG_SETMASK, NULL, &current) == 0);
  CHECK(sigismember(&current, SIGUSR1));
  CHECK(sigprocmask(SIG_UNBLOCK, &block, NULL) == 0);
  printf("sigsuspend ok\n");
}

static void timers(void) {
  install(SIGALRM, on_info, SA_RESTART);
  hits = 0;
  timer_t timer;
  struct sigevent event = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGALRM};
  CHECK(timer_create(CLOCK_MONOTONIC, &event, &timer) == 0);
  struct itimerspec period = {{0, 20000000}, {0, 20000000}};
  CHECK(timer_settime(timer, 0, &period, NULL) == 0);
  while (hits < 3) pause();
  CHECK(timer_delete(timer) == 0);
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  CHECK(fd >= 0);
  struct itimerspec once = {{0, 0}, {0, 30000000}};
  CHECK(timerfd_settime(fd, 0, &once, NULL) == 0);
  uint64_t expirations = 0;
  CHECK(read(fd, &expirations, sizeof expirations) == 8);
  CHECK(expirations == 1);
  close(fd);
  printf("timers ok\n");
}

// make's jobserver pattern: SIGCHLD blocked except during pselect, which a child's exit must
// interrupt.
static void pselect_mask(void) {
  install(SIGCHLD, on_info, 0);
  sigset_t block, empty;
  sigemptyset(&block);
  sigaddset(&block, SIGCHLD);
  sigemptyset(&empty);
  CHECK(sigprocmask(SIG_BLOCK, &block, NULL) == 0);
  int fds[2];
  CHECK(pipe(fds) == 0);
  hits = 0;
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    usleep(100000);
    _exit(0);
  }
  fd_set readable;
  FD_ZERO(&readable);
  FD_SET(fds[0], &readable);
  CHECK(pselect(fds[0] + 1, &readable, NULL, NULL, NULL, &empty) == -1);
  CHECK(errno == EINTR);
  CHECK(hits == 1);
  CHECK(last_info.si_signo == SIGCHLD);
  CHECK(last_info.si_pid == child);
  sigset_t current;
  CHECK(sigprocmask(SIG_SETMASK, NULL, &current) == 0);
  CHECK(sigismember(&current, SIGCHLD));
  CHECK(waitpid(child, NULL, 0) == child);
  CHECK(sigprocmask(SIG_UNBLOCK, &block, NULL) == 0);
  close(fds[0]);
  close(fds[1]);
  signal(SIGCHLD, SIG_DFL);
  printf("pselect ok\n");
}

static sigjmp_buf recover;

static void on_segv(int signal, siginfo_t* info, void* context) {
  (void)context;
  last_info = *info;
  last_info.si_signo = signal;
  siglongjmp(recover, 1);
}

static void segv_handler(void) {
  install(SIGSEGV, on_segv, 0);
  if (sigsetjmp(recover, 1) == 0) {
    *(volatile int*)0x1234 = 1;
    CHECK(0);
  }
  CHECK(last_info.si_signo == SIGSEGV);
  CHECK(last_info.si_addr == (void*)0x1234);
  CHECK(last_info.si_code == SEGV_MAPERR);
  printf("sigsegv ok\n");
}

static void stopped_and_continued(void) {
  // The child waits on a pipe after it is continued, so it cannot exit before the parent has
  // seen the continue.
  int go[2];
  CHECK(pipe(go) == 0);
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    char byte;
    raise(SIGSTOP);
    read(go[0], &byte, 1);
    _exit(5);
  }
  siginfo_t info;
  CHECK(waitid(P_PID, child, &info, WSTOPPED) == 0);
  CHECK(info.si_code == CLD_STOPPED);
  CHECK(info.si_status == SIGSTOP);
  CHECK(kill(child, SIGCONT) == 0);
  CHECK(waitid(P_PID, child, &info, WCONTINUED) == 0);
  CHECK(info.si_code == CLD_CONTINUED);
  CHECK(write(go[1], "x", 1) == 1);
  CHECK(waitid(P_PID, child, &info, WEXITED) == 0);
  CHECK(info.si_code == CLD_EXITED);
  CHECK(info.si_status == 5);
  close(go[0]);
  close(go[1]);
  printf("waitid ok\n");
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  siginfo_fields();
  interrupted_read(SA_RESTART, "restart");
  interrupted_read(0, "eintr");
  nested_alternate_stack();
  fpu_preserved();
  suspend();
  timers();
  segv_handler();
  pselect_mask();
  stopped_and_continued();
  return 0;
}
