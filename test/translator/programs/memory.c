// mmap, mprotect, munmap, mremap and brk semantics. With no argument it checks what must work
// and prints "ok". With a fault name it ends by making that bad access, and the test expects
// the signal Linux sends for it.
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHECK(condition)                                              \
  do {                                                                \
    if (!(condition)) {                                               \
      printf("FAIL line %d: %s (errno %d)\n", __LINE__, #condition, errno); \
      return 1;                                                       \
    }                                                                 \
  } while (0)

static int works(void) {
  long page = sysconf(_SC_PAGESIZE);
  char* a = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(a != MAP_FAILED);
  CHECK(a[0] == 0);
  CHECK(a[4 * page - 1] == 0);
  memset(a, 'x', 4 * page);
  CHECK(mprotect(a + page, page, PROT_READ) == 0);
  CHECK(a[page] == 'x');
  CHECK(munmap(a + 2 * page, page) == 0);
  CHECK(a[3 * page] == 'x');
  // Unaligned and empty requests fail as on Linux.
  CHECK(munmap(a + 1, page) == -1);
  CHECK(errno == EINVAL);
  CHECK(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED);
  CHECK(errno == EINVAL);
  CHECK(mprotect(a + 2 * page, page, PROT_READ) == -1);
  CHECK(errno == ENOMEM);
  // A fixed mapping replaces what was there.
  char* fixed = mmap(a, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  CHECK(fixed == a);
  CHECK(a[0] == 0);
  CHECK(mmap(a, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) == MAP_FAILED);
  CHECK(errno == EEXIST);
  // mremap keeps the contents when it grows a mapping.
  char* b = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(b != MAP_FAILED);
  strcpy(b, "kept");
  char* c = mremap(b, page, 64 * page, MREMAP_MAYMOVE);
  CHECK(c != MAP_FAILED);
  CHECK(strcmp(c, "kept") == 0);
  CHECK(c[64 * page - 1] == 0);
  // Shared anonymous memory and MADV_DONTNEED zero-fill.
  char* s = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  CHECK(s != MAP_FAILED);
  s[0] = 5;
  c[0] = 7;
  CHECK(madvise(c, page, MADV_DONTNEED) == 0);
  CHECK(c[0] == 0);
  // The program break grows and shrinks.
  char* start = sbrk(0);
  CHECK(sbrk(1 << 20) == start);
  start[(1 << 20) - 1] = 1;
  CHECK(sbrk(-(1 << 19)) != (void*)-1);
  CHECK(sbrk(0) == start + (1 << 19));
  // A large mapping is usable at both ends.
  char* big = mmap(NULL, 256 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(big != MAP_FAILED);
  big[0] = 1;
  big[(256 << 20) - 1] = 2;
  CHECK(munmap(big, 256 << 20) == 0);
  printf("ok\n");
  return 0;
}

int main(int argc, char** argv) {
  long page = sysconf(_SC_PAGESIZE);
  if (argc < 2) return works();
  char* a = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  fflush(stdout);
  if (strcmp(argv[1], "write-readonly") == 0) {
    mprotect(a, page, PROT_READ);
    *(volatile char*)a = 1;
  } else if (strcmp(argv[1], "read-unmapped") == 0) {
    munmap(a, page);
    return *(volatile char*)a;
  } else if (strcmp(argv[1], "read-prot-none") == 0) {
    mprotect(a + page, page, PROT_NONE);
    return *(volatile char*)(a + page);
  } else if (strcmp(argv[1], "execute-data") == 0) {
    a[0] = (char)0xc3;  // ret
    ((void (*)(void))a)();
  } else if (strcmp(argv[1], "null") == 0) {
    return *(volatile int*)16;
  } else if (strcmp(argv[1], "invalid-opcode") == 0) {
    __asm__ volatile("ud2");
  } else if (strcmp(argv[1], "divide-by-zero") == 0) {
    // In assembly: the compiler may turn 1 / x into a comparison that never divides.
    __asm__ volatile("xor %%ecx, %%ecx; mov $1, %%eax; cltd; idivl %%ecx" ::: "eax", "ecx", "edx");
  } else if (strcmp(argv[1], "breakpoint") == 0) {
    __asm__ volatile("int3");
  } else if (strcmp(argv[1], "privileged") == 0) {
    __asm__ volatile("hlt");
  } else if (strcmp(argv[1], "port-io") == 0) {
    __asm__ volatile("outb %%al, $0x10" ::"a"(0));
  } else if (strcmp(argv[1], "stub-jump") == 0) {
    // Jumping into the translator's syscall stub address acts as a syscall at most.
    ((void (*)(void))0xffffff8000000000ul)();
  }
  printf("no fault\n");
  return 0;
}
