// Threads: N threads increment a counter under a futex-based mutex, signal a condition
// variable, and are joined; then a fork from the threaded program runs in a child with one
// thread. Prints "counter C expected E" and "fork ok".
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long counter = 0;
static int finished = 0;

static void* work(void* arg) {
  long n = (long)arg;
  for (long i = 0; i < n; i++) {
    pthread_mutex_lock(&lock);
    counter++;
    pthread_mutex_unlock(&lock);
  }
  pthread_mutex_lock(&lock);
  finished++;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&lock);
  return (void*)(long)syscall(SYS_gettid);
}

static void* sleeper(void* arg) {
  (void)arg;
  pause();
  return NULL;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 8;
  long n = argc > 2 ? atol(argv[2]) : 10000;
  pthread_t t[64];
  for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, work, (void*)n);
  pthread_mutex_lock(&lock);
  while (finished < threads) pthread_cond_wait(&cond, &lock);
  pthread_mutex_unlock(&lock);
  for (int i = 0; i < threads; i++) {
    void* tid;
    pthread_join(t[i], &tid);
    if ((long)tid == getpid()) printf("thread %d has the process id\n", i);
  }
  printf("counter %ld expected %ld\n", counter, threads * n);
  // fork while another thread is running: only the caller survives in the child.
  pthread_t background;
  pthread_create(&background, NULL, sleeper, NULL);
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    pthread_mutex_lock(&lock);
    counter++;
    pthread_mutex_unlock(&lock);
    _exit(counter == threads * n + 1 ? 0 : 1);
  }
  int status;
  waitpid(child, &status, 0);
  printf(WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "fork ok\n" : "fork FAIL\n");
  return counter == threads * n ? 0 : 1;
}
