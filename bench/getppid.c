// Calls getppid in a loop and prints the mean time per call in nanoseconds: the cost of one
// system call round trip.
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  long count = argc > 1 ? atol(argv[1]) : 100000;
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (long i = 0; i < count; i++) syscall(SYS_getppid);
  clock_gettime(CLOCK_MONOTONIC, &end);
  double nanoseconds = (end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec);
  printf("%.1f\n", nanoseconds / count);
  return 0;
}
