// The receiving end of --console-socket, run on the host as runc's callers do: listens on the
// Unix socket argv[1], prints "listening", accepts one connection and takes the pseudo-terminal
// master passed with SCM_RIGHTS. Then prints "message: " and the data sent with it, writes
// argv[2] to the master, and copies the master's output to stdout until no process has the
// slave open. Exits 1 on any failure, naming the call that failed.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int fail(const char* what) {
  fprintf(stderr, "console-receiver: %s: %s\n", what, strerror(errno));
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: console-receiver SOCKET INPUT\n");
    return 2;
  }
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  if (strlen(argv[1]) >= sizeof address.sun_path) return fail("socket path too long");
  strcpy(address.sun_path, argv[1]);
  int listener = socket(AF_UNIX, SOCK_STREAM, 0);
  if (listener < 0) return fail("socket");
  if (bind(listener, (struct sockaddr*)&address, sizeof address) < 0) return fail("bind");
  if (listen(listener, 1) < 0) return fail("listen");
  printf("listening\n");
  fflush(stdout);

  int connection = accept(listener, NULL, NULL);
  if (connection < 0) return fail("accept");
  char message[256] = {0};
  struct iovec data = {message, sizeof message - 1};
  union {
    struct cmsghdr header;
    char space[CMSG_SPACE(sizeof(int))];
  } control;
  struct msghdr header = {.msg_iov = &data, .msg_iovlen = 1, .msg_control = &control,
                          .msg_controllen = sizeof control};
  if (recvmsg(connection, &header, 0) < 0) return fail("recvmsg");
  struct cmsghdr* rights = CMSG_FIRSTHDR(&header);
  if (rights == NULL || rights->cmsg_level != SOL_SOCKET || rights->cmsg_type != SCM_RIGHTS) {
    errno = EPROTO;
    return fail("no SCM_RIGHTS descriptor in the message");
  }
  int master;
  memcpy(&master, CMSG_DATA(rights), sizeof master);
  printf("message: %s\n", message);
  fflush(stdout);

  size_t length = strlen(argv[2]);
  if (write(master, argv[2], length) != (ssize_t)length) return fail("write to the master");
  char buffer[4096];
  for (;;) {
    ssize_t n = read(master, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    // EIO: every process holding the slave has closed it.
    if (n < 0 && errno == EIO) break;
    if (n < 0) return fail("read from the master");
    if (n == 0) break;
    if (fwrite(buffer, 1, (size_t)n, stdout) != (size_t)n) return fail("write to stdout");
  }
  return 0;
}
