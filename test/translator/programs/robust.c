// A robust, process-shared mutex whose owner exits while holding it: the next locker gets
// EOWNERDEAD, as Linux releases robust futexes at exit.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
  pthread_mutex_t* m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(m, &a);
  pid_t child = fork();
  if (child == 0) { pthread_mutex_lock(m); _exit(0); }
  waitpid(child, NULL, 0);
  int r = pthread_mutex_lock(m);
  printf("lock after owner death: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : "other");
  if (r == EOWNERDEAD) pthread_mutex_consistent(m);
  pthread_mutex_unlock(m);
  return r == EOWNERDEAD ? 0 : 1;
}
