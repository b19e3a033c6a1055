// Prints the auxiliary vector entries a Linux program receives, one "name value" per line,
// with values that differ between runs replaced by a property the test can compare.
#include <elf.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

int main(int argc, char** argv) {
  (void)argc;
  const unsigned char* random = (const unsigned char*)getauxval(AT_RANDOM);
  int random_nonzero = 0;
  for (int i = 0; i < 16; i++) random_nonzero |= random[i];
  printf("AT_PAGESZ %lu\n", getauxval(AT_PAGESZ));
  printf("AT_PHENT %lu\n", getauxval(AT_PHENT));
  printf("AT_PHNUM_positive %d\n", getauxval(AT_PHNUM) > 0);
  printf("AT_PHDR_set %d\n", getauxval(AT_PHDR) != 0);
  printf("AT_ENTRY_set %d\n", getauxval(AT_ENTRY) != 0);
  printf("AT_UID %lu AT_EUID %lu AT_GID %lu AT_EGID %lu\n", getauxval(AT_UID), getauxval(AT_EUID),
         getauxval(AT_GID), getauxval(AT_EGID));
  printf("AT_SECURE %lu\n", getauxval(AT_SECURE));
  printf("AT_RANDOM_nonzero %d\n", random_nonzero != 0);
  printf("AT_HWCAP_set %d\n", getauxval(AT_HWCAP) != 0);
  printf("AT_CLKTCK %lu\n", getauxval(AT_CLKTCK));
  printf("AT_PLATFORM %s\n", (const char*)getauxval(AT_PLATFORM));
  printf("AT_EXECFN %s\n", (const char*)getauxval(AT_EXECFN));
  printf("argv0 %s\n", argv[0]);
  printf("sysconf_pagesize %ld\n", sysconf(_SC_PAGESIZE));
  return 0;
}
