// posix_spawn of a missing program reports ENOENT to the caller, and of /bin/true success.
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
extern char** environ;
int main(void) {
  pid_t pid;
  char* argv[] = {"missing", NULL};
  int r = posix_spawn(&pid, "/no/such/program", NULL, NULL, argv, environ);
  printf("missing: %s\n", r == 0 ? "success" : strerror(r));
  char* argv2[] = {"true", NULL};
  r = posix_spawn(&pid, "/bin/true", NULL, NULL, argv2, environ);
  int status = -1;
  if (r == 0) waitpid(pid, &status, 0);
  printf("true: %s status %d\n", r == 0 ? "success" : strerror(r), WEXITSTATUS(status));
  return 0;
}
