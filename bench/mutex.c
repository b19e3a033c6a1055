// Starts THREADS threads (default 8) that each add 1 to a shared counter ITERATIONS times
// (default 100000) under one pthread mutex, then prints the counter. The contention makes
// every thread block and wake in futex calls, so this measures thread scheduling and futexes.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static long iterations;

static void* work(void* unused) {
  (void)unused;
  for (long i = 0; i < iterations; i++) {
    pthread_mutex_lock(&lock);
    counter++;
    pthread_mutex_unlock(&lock);
  }
  return NULL;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 8;
  iterations = argc > 2 ? atol(argv[2]) : 100000;
  if (threads < 1 || threads > 64 || iterations < 1) {
    fprintf(stderr, "usage: %s [THREADS 1-64] [ITERATIONS]\n", argv[0]);
    return 2;
  }
  pthread_t ids[64];
  for (int t = 0; t < threads; t++) {
    int error = pthread_create(&ids[t], NULL, work, NULL);
    if (error != 0) {
      fprintf(stderr, "pthread_create: %s\n", strerror(error));
      return 1;
    }
  }
  for (int t = 0; t < threads; t++) pthread_join(ids[t], NULL);
  printf("%ld\n", counter);
  return counter == threads * iterations ? 0 : 1;
}
