// execve from a program with a spinning thread and a thread blocked in read: the other threads
// end and the new program runs. Re-executes itself through /proc/self/exe.
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static void* spin(void* a) { (void)a; for (;;) { } return NULL; }
static void* block(void* a) { (void)a; char b; read(0, &b, 1); return NULL; }
int main(int argc, char** argv) {
  if (argc > 1) { printf("exec'd with %s\n", argv[1]); return 0; }
  pthread_t t1, t2;
  pthread_create(&t1, NULL, spin, NULL);
  pthread_create(&t2, NULL, block, NULL);
  usleep(100000);
  execl("/proc/self/exe", argv[0], "arg", (char*)NULL);
  perror("execl");
  return 1;
}
