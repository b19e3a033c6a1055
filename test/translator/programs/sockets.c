// Socket calls whose results a comparison of outputs cannot show: descriptors and
// credentials passed in control messages, batches of messages, socket options, Unix socket
// names, the socket families a container may open, and network interface ioctls. Prints one line per check and the
// number of failures; the same output is expected natively and under noah.
//
// Usage:
//   sockets DIR        runs every check, with Unix sockets under the directory DIR.
//   sockets connect P  connects a stream socket to the Unix path P and prints the result.
//   sockets bind P     binds a stream socket at the Unix path P and prints the result.
//   sockets recvfrom P prints the bound name of the sender of one datagram to P.
//   sockets sendto F P binds a datagram socket at F and sends one datagram to P.
//   sockets fuzz S N   makes N rounds of message and option calls with random input, seed S.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int failures = 0;

static void check(int ok, const char* name) {
  if (ok) {
    printf("%s ok\n", name);
  } else {
    printf("%s FAIL (errno %s)\n", name, strerrorname_np(errno) ? strerrorname_np(errno) : "0");
    failures++;
  }
}

// Sends `count` descriptors in one SCM_RIGHTS message with one data byte.
static ssize_t send_fds(int socket, const int* fds, int count) {
  char byte = 'x';
  struct iovec vector = {&byte, 1};
  char control[CMSG_SPACE(8 * sizeof(int))];
  memset(control, 0, sizeof control);
  struct msghdr message = {0};
  message.msg_iov = &vector;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = CMSG_SPACE(count * sizeof(int));
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&message);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(count * sizeof(int));
  memcpy(CMSG_DATA(cmsg), fds, count * sizeof(int));
  return sendmsg(socket, &message, 0);
}

// Receives one message with room for `room` descriptors; stores them in `fds` and returns
// how many arrived, or -1. `flags` gets the message's msg_flags.
static int receive_fds(int socket, int room, int receive_flags, int* fds, int* flags) {
  char byte;
  struct iovec vector = {&byte, 1};
  char control[CMSG_SPACE(8 * sizeof(int))];
  struct msghdr message = {0};
  message.msg_iov = &vector;
  message.msg_iovlen = 1;
  message.msg_control = control;

  // CMSG_LEN, not CMSG_SPACE: the padding of CMSG_SPACE could hold one more descriptor.
  message.msg_controllen = CMSG_LEN(room * sizeof(int));
  if (recvmsg(socket, &message, receive_flags) != 1) return -1;
  *flags = message.msg_flags;
  int count = 0;
  for (struct cmsghdr* cmsg = CMSG_FIRSTHDR(&message); cmsg; cmsg = CMSG_NXTHDR(&message, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
    int n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    memcpy(fds + count, CMSG_DATA(cmsg), n * sizeof(int));
    count += n;
  }
  return count;
}

static void check_rights(void) {
  int pair[2];
  check(socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0, "socketpair");
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) abort();

  // A pipe's read end goes over the socket; data written to the pipe arrives through it.
  check(send_fds(pair[0], &pipe_fds[0], 1) == 1, "rights-send");
  int received[8];
  int flags = 0;
  int count = receive_fds(pair[1], 1, 0, received, &flags);
  check(count == 1 && received[0] != pipe_fds[0], "rights-receive-one");
  check(write(pipe_fds[1], "pipe", 4) == 4, "rights-write-pipe");
  char buffer[8] = {0};
  check(count == 1 && read(received[0], buffer, 4) == 4 && memcmp(buffer, "pipe", 4) == 0,
        "rights-read-through-received");
  check(count == 1 && fcntl(received[0], F_GETFD) == 0, "rights-no-cloexec");

  // MSG_CMSG_CLOEXEC marks the new descriptors close-on-exec.
  send_fds(pair[0], &pipe_fds[1], 1);
  count = receive_fds(pair[1], 1, MSG_CMSG_CLOEXEC, received + 1, &flags);
  check(count == 1 && fcntl(received[1], F_GETFD) == FD_CLOEXEC, "rights-cmsg-cloexec");

  // Three descriptors with room for one: one arrives, MSG_CTRUNC reports that the rest were dropped.
  int three[3] = {pipe_fds[0], pipe_fds[1], pair[0]};
  send_fds(pair[0], three, 3);
  count = receive_fds(pair[1], 1, 0, received + 2, &flags);
  check(count == 1 && (flags & MSG_CTRUNC), "rights-truncated");

  // A closed descriptor cannot be sent.
  int closed = received[2];
  close(closed);
  errno = 0;
  check(send_fds(pair[0], &closed, 1) == -1 && errno == EBADF, "rights-bad-descriptor");

  // A control length that overruns the buffer.
  char byte = 'x';
  struct iovec vector = {&byte, 1};
  char control[CMSG_SPACE(sizeof(int))] = {0};
  struct msghdr message = {.msg_iov = &vector, .msg_iovlen = 1, .msg_control = control,
                           .msg_controllen = sizeof control};
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&message);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = sizeof control + 64;
  errno = 0;
  check(sendmsg(pair[0], &message, 0) == -1 && errno == EINVAL, "rights-bad-cmsg-length");
  message.msg_control = (void*)16;
  errno = 0;
  check(sendmsg(pair[0], &message, 0) == -1 && errno == EFAULT, "control-efault");

  // SCM_MAX_FD is 253 descriptors in one message.
  static union {
    char bytes[CMSG_SPACE(254 * sizeof(int))];
    struct cmsghdr align;
  } many;
  for (int count = 253; count <= 254; count++) {
    struct msghdr batch = {.msg_iov = &vector, .msg_iovlen = 1, .msg_control = many.bytes,
                           .msg_controllen = CMSG_SPACE(count * sizeof(int))};
    struct cmsghdr* header = CMSG_FIRSTHDR(&batch);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(count * sizeof(int));
    for (int i = 0; i < count; i++) memcpy(CMSG_DATA(header) + i * sizeof(int), &pipe_fds[0], 4);
    errno = 0;
    ssize_t sent = sendmsg(pair[0], &batch, 0);
    if (count == 253) {
      check(sent == 1, "rights-max");
      int kept[8];
      int received_flags = 0;
      int arrived = receive_fds(pair[1], 0, 0, kept, &received_flags);
      check(arrived == 0 && (received_flags & MSG_CTRUNC), "rights-max-dropped");
    } else {
      check(sent == -1 && errno == EINVAL, "rights-too-many");
    }
  }

  // More iovecs than UIO_MAXIOV, and an iovec array the program cannot read.
  message.msg_control = NULL;
  message.msg_controllen = 0;
  message.msg_iovlen = 1025;
  errno = 0;
  check(sendmsg(pair[0], &message, 0) == -1 && errno == EMSGSIZE, "iovecs-too-many");
  message.msg_iov = (struct iovec*)16;
  message.msg_iovlen = 1;
  errno = 0;
  check(sendmsg(pair[0], &message, 0) == -1 && errno == EFAULT, "iovecs-efault");
  errno = 0;
  check(sendmsg(pair[0], (struct msghdr*)16, 0) == -1 && errno == EFAULT, "msghdr-efault");
  message.msg_iov = &vector;

  // A bad control buffer matters only when there is control data to write.
  send(pair[0], "q", 1, 0);
  message.msg_control = (void*)16;
  message.msg_controllen = 64;
  check(recvmsg(pair[1], &message, MSG_DONTWAIT) == 1 && byte == 'q', "receive-control-unused");

  close(received[0]);
  close(received[1]);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  close(pair[0]);
  close(pair[1]);
}

// The control buffer of a send that another thread changes while the call runs.
static volatile int* racing_slot;
static volatile int racing_done;
static int racing_values[2];

static void* flip_descriptor(void* unused) {
  (void)unused;
  for (unsigned i = 0; !racing_done; i++) *racing_slot = racing_values[i % 2];
  return NULL;
}

// Sends a descriptor while another thread switches the number in the control buffer between
// it and a number the guest has not opened. Every descriptor that arrives must be the file
// sent, never one of the translator's own.
static void check_rights_race(void) {
  int pair[2];
  socketpair(AF_UNIX, SOCK_DGRAM, 0, pair);
  int file = open("/", O_RDONLY | O_DIRECTORY);
  struct stat expected;
  fstat(file, &expected);
  char byte = 'r';
  struct iovec vector = {&byte, 1};
  union {
    char bytes[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct msghdr message = {.msg_iov = &vector, .msg_iovlen = 1, .msg_control = control.bytes,
                           .msg_controllen = sizeof control.bytes};
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&message);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  racing_slot = (volatile int*)CMSG_DATA(cmsg);
  racing_values[0] = file;
  // Low numbers are where the translator keeps its own descriptors, such as the KVM ones.
  racing_values[1] = 5;
  close(5);
  *racing_slot = file;
  racing_done = 0;
  pthread_t flipper;
  pthread_create(&flipper, NULL, flip_descriptor, NULL);
  int wrong = 0;
  for (int i = 0; i < 500; i++) {
    if (sendmsg(pair[0], &message, 0) != 1) continue;
    int received[1];
    int flags;
    if (receive_fds(pair[1], 1, 0, received, &flags) != 1) continue;
    struct stat status;
    if (fstat(received[0], &status) != 0 || status.st_ino != expected.st_ino ||
        status.st_dev != expected.st_dev) {
      wrong++;
    }
    close(received[0]);
  }
  racing_done = 1;
  pthread_join(flipper, NULL);
  check(wrong == 0, "rights-race");
  close(file);
  close(pair[0]);
  close(pair[1]);
}

static ssize_t send_credentials(int socket, pid_t pid, uid_t uid, gid_t gid) {
  char byte = 'c';
  struct iovec vector = {&byte, 1};
  char control[CMSG_SPACE(sizeof(struct ucred))] = {0};
  struct msghdr message = {.msg_iov = &vector, .msg_iovlen = 1, .msg_control = control,
                           .msg_controllen = sizeof control};
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&message);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_CREDENTIALS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(struct ucred));
  struct ucred credentials = {pid, uid, gid};
  memcpy(CMSG_DATA(cmsg), &credentials, sizeof credentials);
  return sendmsg(socket, &message, 0);
}

static int receive_credentials(int socket, struct ucred* credentials) {
  char byte;
  struct iovec vector = {&byte, 1};
  char control[CMSG_SPACE(sizeof(struct ucred))];
  struct msghdr message = {.msg_iov = &vector, .msg_iovlen = 1, .msg_control = control,
                           .msg_controllen = sizeof control};
  if (recvmsg(socket, &message, 0) != 1) return -1;
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&message);
  if (cmsg == NULL || cmsg->cmsg_type != SCM_CREDENTIALS) return -1;
  memcpy(credentials, CMSG_DATA(cmsg), sizeof *credentials);
  return 0;
}

static void check_credentials(void) {
  int pair[2];
  socketpair(AF_UNIX, SOCK_DGRAM, 0, pair);
  int on = 1;
  check(setsockopt(pair[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == 0, "passcred");
  check(send_credentials(pair[0], getpid(), getuid(), getgid()) == 1, "credentials-send");
  struct ucred got = {0};
  check(receive_credentials(pair[1], &got) == 0 && got.pid == getpid() && got.uid == getuid() &&
            got.gid == getgid(),
        "credentials-receive");

  // Without a control message the kernel attaches the sender's own credentials.
  check(send(pair[0], "p", 1, 0) == 1, "credentials-implicit-send");
  memset(&got, 0, sizeof got);
  check(receive_credentials(pair[1], &got) == 0 && got.pid == getpid() && got.uid == getuid(),
        "credentials-implicit");
  errno = 0;
  check(send_credentials(pair[0], getpid() + 1, getuid(), getgid()) == -1 && errno == EPERM,
        "credentials-other-pid");
  struct ucred peer;
  socklen_t length = sizeof peer;
  check(getsockopt(pair[0], SOL_SOCKET, SO_PEERCRED, &peer, &length) == 0 &&
            length == sizeof peer && peer.pid == getpid() && peer.uid == getuid(),
        "peercred");
  close(pair[0]);
  close(pair[1]);
}

static void check_batches(void) {
  int pair[2];
  socketpair(AF_UNIX, SOCK_DGRAM, 0, pair);
  char* words[3] = {"one", "three", "seventeen"};
  struct mmsghdr out[3];
  struct iovec out_vectors[3];
  memset(out, 0, sizeof out);
  for (int i = 0; i < 3; i++) {
    out_vectors[i].iov_base = words[i];
    out_vectors[i].iov_len = strlen(words[i]);
    out[i].msg_hdr.msg_iov = &out_vectors[i];
    out[i].msg_hdr.msg_iovlen = 1;
  }
  check(sendmmsg(pair[0], out, 3, 0) == 3 && out[2].msg_len == 9, "sendmmsg");
  char buffers[4][16];
  struct mmsghdr in[4];
  struct iovec in_vectors[4];
  memset(in, 0, sizeof in);
  for (int i = 0; i < 4; i++) {
    in_vectors[i].iov_base = buffers[i];
    in_vectors[i].iov_len = sizeof buffers[i];
    in[i].msg_hdr.msg_iov = &in_vectors[i];
    in[i].msg_hdr.msg_iovlen = 1;
  }
  struct timespec timeout = {1, 0};
  int got = recvmmsg(pair[1], in, 4, MSG_DONTWAIT, &timeout);
  check(got == 3 && in[0].msg_len == 3 && in[1].msg_len == 5 && in[2].msg_len == 9 &&
            memcmp(buffers[2], "seventeen", 9) == 0,
        "recvmmsg");
  errno = 0;
  check(recvmmsg(pair[1], in, 4, MSG_DONTWAIT, NULL) == -1 && errno == EAGAIN, "recvmmsg-empty");

  // A batch whose second message has a bad iovec: the first one is sent.
  out[1].msg_hdr.msg_iov = (struct iovec*)16;
  check(sendmmsg(pair[0], out, 3, 0) == 1, "sendmmsg-partial");
  recv(pair[1], buffers[0], sizeof buffers[0], 0);
  errno = 0;
  check(sendmmsg(pair[0], &out[1], 1, 0) == -1 && errno == EFAULT, "sendmmsg-efault");

  // Descriptors in a batch.
  int fds[1] = {pair[0]};
  char byte = 'f';
  struct iovec vector = {&byte, 1};
  char control[CMSG_SPACE(sizeof(int))] = {0};
  struct mmsghdr rights = {0};
  rights.msg_hdr.msg_iov = &vector;
  rights.msg_hdr.msg_iovlen = 1;
  rights.msg_hdr.msg_control = control;
  rights.msg_hdr.msg_controllen = sizeof control;
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&rights.msg_hdr);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), fds, sizeof fds);
  check(sendmmsg(pair[0], &rights, 1, 0) == 1, "sendmmsg-rights");
  char in_control[CMSG_SPACE(sizeof(int))];
  in[0].msg_hdr.msg_control = in_control;
  in[0].msg_hdr.msg_controllen = sizeof in_control;
  got = recvmmsg(pair[1], in, 1, MSG_CMSG_CLOEXEC, NULL);
  cmsg = CMSG_FIRSTHDR(&in[0].msg_hdr);
  int passed = -1;
  if (got == 1 && cmsg != NULL && cmsg->cmsg_type == SCM_RIGHTS) {
    memcpy(&passed, CMSG_DATA(cmsg), sizeof passed);
  }
  int type = 0;
  socklen_t length = sizeof type;
  check(passed >= 0 && getsockopt(passed, SOL_SOCKET, SO_TYPE, &type, &length) == 0 &&
            type == SOCK_DGRAM && fcntl(passed, F_GETFD) == FD_CLOEXEC,
        "recvmmsg-rights");
  close(passed);
  close(pair[0]);
  close(pair[1]);
}

static void check_options(void) {
  int tcp = socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;
  int value = 0;
  socklen_t length = sizeof value;
  check(setsockopt(tcp, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == 0 &&
            getsockopt(tcp, IPPROTO_TCP, TCP_NODELAY, &value, &length) == 0 && value == 1,
        "tcp-nodelay");
  int size = 65536;
  length = sizeof value;
  check(setsockopt(tcp, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) == 0 &&
            getsockopt(tcp, SOL_SOCKET, SO_RCVBUF, &value, &length) == 0 && value >= size,
        "rcvbuf");

  // A short buffer gets the first bytes and the length that was copied.
  char small[2] = {0};
  length = sizeof small;
  check(getsockopt(tcp, SOL_SOCKET, SO_TYPE, small, &length) == 0 && length == 2 &&
            small[0] == SOCK_STREAM,
        "getsockopt-short");
  length = sizeof value;
  errno = 0;
  check(getsockopt(tcp, SOL_SOCKET, SO_TYPE, (void*)16, &length) == -1 && errno == EFAULT,
        "getsockopt-efault");
  errno = 0;
  check(getsockopt(tcp, SOL_SOCKET, SO_TYPE, &value, (socklen_t*)16) == -1 && errno == EFAULT,
        "getsockopt-length-efault");
  errno = 0;
  check(setsockopt(tcp, SOL_SOCKET, SO_RCVBUF, (void*)16, sizeof size) == -1 && errno == EFAULT,
        "setsockopt-efault");
  errno = 0;
  check(setsockopt(tcp, SOL_SOCKET, SO_RCVBUF, &size, -1) == -1 && errno == EINVAL,
        "setsockopt-negative-length");

  // A classic BPF filter: its instructions are behind a pointer in the option value.
  struct sock_filter accept_all[2] = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
                                      BPF_STMT(BPF_RET | BPF_K, 0xffff)};
  struct sock_fprog program = {2, accept_all};
  int udp = socket(AF_INET, SOCK_DGRAM, 0);
  check(setsockopt(udp, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) == 0,
        "attach-filter");

  // SO_GET_FILTER counts in instructions: a length of 0 returns the count.
  length = 0;
  check(getsockopt(udp, SOL_SOCKET, SO_GET_FILTER, NULL, &length) == 0 && length == 2,
        "get-filter-count");
  struct sock_filter back[2];
  memset(back, 0, sizeof back);
  length = 2;
  check(getsockopt(udp, SOL_SOCKET, SO_GET_FILTER, back, &length) == 0 && length == 2 &&
            back[1].k == 0xffff,
        "get-filter");
  struct sock_fprog bad = {2, (struct sock_filter*)16};
  errno = 0;
  check(setsockopt(udp, SOL_SOCKET, SO_ATTACH_FILTER, &bad, sizeof bad) == -1 && errno == EFAULT,
        "attach-filter-efault");
  close(udp);
  close(tcp);
}

// Binds a Unix socket at `path` and checks getsockname; returns the socket or -1.
static int bind_unix(int type, const char* path, const char* name) {
  int fd = socket(AF_UNIX, type, 0);
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  strncpy(address.sun_path, path, sizeof address.sun_path - 1);
  if (bind(fd, (struct sockaddr*)&address, sizeof address) != 0) {
    check(0, name);
    return -1;
  }
  struct sockaddr_un bound;
  socklen_t length = sizeof bound;
  check(getsockname(fd, (struct sockaddr*)&bound, &length) == 0 &&
            length == offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1 &&
            strcmp(bound.sun_path, path) == 0,
        name);
  return fd;
}

static void check_unix_names(const char* directory) {
  char server_path[256], client_path[256];
  snprintf(server_path, sizeof server_path, "%s/server.sock", directory);
  snprintf(client_path, sizeof client_path, "%s/client.sock", directory);
  unlink(server_path);
  unlink(client_path);
  int server = bind_unix(SOCK_STREAM, server_path, "unix-bind-getsockname");
  struct stat status;
  check(stat(server_path, &status) == 0 && S_ISSOCK(status.st_mode), "unix-socket-file");
  check(listen(server, 4) == 0, "unix-listen");
  int client = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  strcpy(address.sun_path, server_path);
  check(connect(client, (struct sockaddr*)&address, sizeof address) == 0, "unix-connect");
  struct sockaddr_un peer;
  socklen_t length = sizeof peer;
  check(getpeername(client, (struct sockaddr*)&peer, &length) == 0 &&
            strcmp(peer.sun_path, server_path) == 0,
        "unix-getpeername");
  length = sizeof peer;
  int accepted = accept4(server, (struct sockaddr*)&peer, &length, SOCK_CLOEXEC);
  check(accepted >= 0 && length == sizeof(sa_family_t) && fcntl(accepted, F_GETFD) == FD_CLOEXEC,
        "unix-accept4-unnamed-peer");
  check(write(client, "hi", 2) == 2, "unix-write");
  char buffer[4] = {0};
  check(read(accepted, buffer, 2) == 2 && strcmp(buffer, "hi") == 0, "unix-read");
  check(shutdown(client, SHUT_WR) == 0 && read(accepted, buffer, 2) == 0, "unix-shutdown");

  // A second bind at the same path fails.
  int again = socket(AF_UNIX, SOCK_STREAM, 0);
  errno = 0;
  check(bind(again, (struct sockaddr*)&address, sizeof address) == -1 && errno == EADDRINUSE,
        "unix-bind-in-use");

  // A relative path: connect resolves it from the working directory.
  if (chdir(directory) != 0) abort();
  struct sockaddr_un relative = {.sun_family = AF_UNIX, .sun_path = "server.sock"};
  int client2 = socket(AF_UNIX, SOCK_STREAM, 0);
  check(connect(client2, (struct sockaddr*)&relative, sizeof relative) == 0, "unix-relative");
  // getpeername reports the name the server bound, not the relative path connected to.
  length = sizeof peer;
  memset(&peer, 0, sizeof peer);
  check(getpeername(client2, (struct sockaddr*)&peer, &length) == 0 &&
            strcmp(peer.sun_path, server_path) == 0,
        "unix-relative-getpeername");

  // A name of 100 bytes, longer than what fits after the translator's /proc/self/fd/N/ prefix.
  char long_name[101];
  memset(long_name, 'n', 100);
  long_name[100] = '\0';
  unlink(long_name);
  int long_server = bind_unix(SOCK_STREAM, long_name, "unix-bind-long-name");
  struct stat long_status;
  check(stat(long_name, &long_status) == 0 && S_ISSOCK(long_status.st_mode),
        "unix-long-name-file");
  struct sockaddr_un long_address = {.sun_family = AF_UNIX};
  memcpy(long_address.sun_path, long_name, sizeof long_name);
  int long_client = socket(AF_UNIX, SOCK_STREAM, 0);
  check(listen(long_server, 1) == 0 &&
            connect(long_client, (struct sockaddr*)&long_address, sizeof long_address) == 0,
        "unix-long-name-connect");
  int long_again = socket(AF_UNIX, SOCK_STREAM, 0);
  errno = 0;
  check(bind(long_again, (struct sockaddr*)&long_address, sizeof long_address) == -1 &&
            errno == EADDRINUSE,
        "unix-long-name-in-use");
  close(long_again);
  close(long_client);
  close(long_server);
  if (chdir("/") != 0) abort();

  // Datagrams carry the sender's bound name, which recvfrom returns.
  snprintf(server_path, sizeof server_path, "%s/dgram.sock", directory);
  unlink(server_path);
  int receiver = bind_unix(SOCK_DGRAM, server_path, "unix-dgram-bind");
  int sender = bind_unix(SOCK_DGRAM, client_path, "unix-dgram-bind-sender");
  strcpy(address.sun_path, server_path);
  check(sendto(sender, "d", 1, 0, (struct sockaddr*)&address, sizeof address) == 1,
        "unix-sendto");
  length = sizeof peer;
  memset(&peer, 0, sizeof peer);
  check(recvfrom(receiver, buffer, 1, 0, (struct sockaddr*)&peer, &length) == 1 &&
            strcmp(peer.sun_path, client_path) == 0 &&
            length == offsetof(struct sockaddr_un, sun_path) + strlen(client_path) + 1,
        "unix-recvfrom-name");

  // recvmsg with a name buffer too short for the name: cut, with the full length reported.
  sendto(sender, "e", 1, 0, (struct sockaddr*)&address, sizeof address);
  char short_name[6];
  struct iovec vector = {buffer, 1};
  struct msghdr message = {.msg_name = short_name, .msg_namelen = sizeof short_name,
                           .msg_iov = &vector, .msg_iovlen = 1};
  check(recvmsg(receiver, &message, 0) == 1 &&
            message.msg_namelen == offsetof(struct sockaddr_un, sun_path) + strlen(client_path) + 1 &&
            memcmp(short_name + 2, client_path, 4) == 0,
        "unix-recvmsg-short-name");

  // Abstract names pass through.
  struct sockaddr_un abstract = {.sun_family = AF_UNIX};
  snprintf(abstract.sun_path + 1, sizeof abstract.sun_path - 1, "noah-test-%d", getpid());
  socklen_t abstract_length = offsetof(struct sockaddr_un, sun_path) + 1 +
                              strlen(abstract.sun_path + 1);
  int abstract_socket = socket(AF_UNIX, SOCK_STREAM, 0);
  check(bind(abstract_socket, (struct sockaddr*)&abstract, abstract_length) == 0, "abstract-bind");
  memset(&peer, 0, sizeof peer);
  length = sizeof peer;
  check(getsockname(abstract_socket, (struct sockaddr*)&peer, &length) == 0 &&
            length == abstract_length && peer.sun_path[0] == '\0' &&
            strcmp(peer.sun_path + 1, abstract.sun_path + 1) == 0,
        "abstract-getsockname");

  // Autobind: a bare family gets an abstract name.
  int autobound = socket(AF_UNIX, SOCK_DGRAM, 0);
  struct sockaddr_un family_only = {.sun_family = AF_UNIX};
  length = sizeof peer;
  check(bind(autobound, (struct sockaddr*)&family_only, sizeof(sa_family_t)) == 0 &&
            getsockname(autobound, (struct sockaddr*)&peer, &length) == 0 &&
            peer.sun_path[0] == '\0' && length > sizeof(sa_family_t),
        "autobind");
  errno = 0;
  check(bind(again, (struct sockaddr*)&address, sizeof address + 1) == -1 && errno == EINVAL,
        "unix-bind-too-long");

  // A received file keeps its path, as /proc/self/fd shows it.
  char file_path[256], link_path[64], target[256];
  snprintf(file_path, sizeof file_path, "%s/passed-file", directory);
  int file = open(file_path, O_CREAT | O_RDWR | O_TRUNC, 0600);
  int pair[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
  send_fds(pair[0], &file, 1);
  int flags = 0;
  int passed = -1;
  ssize_t target_length = -1;
  if (receive_fds(pair[1], 1, 0, &passed, &flags) == 1) {
    snprintf(link_path, sizeof link_path, "/proc/self/fd/%d", passed);
    target_length = readlink(link_path, target, sizeof target - 1);
  }
  if (target_length >= 0) target[target_length] = '\0';
  check(target_length >= 0 && strcmp(target, file_path) == 0, "rights-file-path");
  close(passed);
  close(file);
  close(pair[0]);
  close(pair[1]);

  close(autobound);
  close(abstract_socket);
  close(receiver);
  close(sender);
  close(client2);
  close(again);
  close(accepted);
  close(client);
  close(server);
}

// Sends an RTM_SETLINK of the loopback device (index 1) without attributes, which changes
// nothing even where it is allowed, and returns the error of the kernel's acknowledgement.
static int set_loopback(int use_write) {
  int route = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  struct {
    struct nlmsghdr header;
    struct ifinfomsg link;
  } request = {{sizeof request, RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, 1, 0}, {.ifi_index = 1}};
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  ssize_t sent = use_write ? write(route, &request, sizeof request)
                           : sendto(route, &request, sizeof request, 0,
                                    (struct sockaddr*)&kernel, sizeof kernel);
  char reply[512];
  int acked = 1;
  if (sent == sizeof request &&
      recv(route, reply, sizeof reply, 0) >= (ssize_t)(NLMSG_HDRLEN + sizeof(struct nlmsgerr))) {
    struct nlmsgerr error;
    memcpy(&error, reply + NLMSG_HDRLEN, sizeof error);
    acked = error.error;
  }
  close(route);
  errno = acked < 0 ? -acked : 0;
  return acked;
}

static void check_families(void) {
  errno = 0;
  check(socket(AF_PACKET, SOCK_RAW, htons(3)) == -1 && errno == EPERM, "packet-eperm");
  errno = 0;
  check(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) == -1 && errno == EPERM, "raw-eperm");
  int six = socket(AF_INET6, SOCK_STREAM, 0);
  check(six >= 0, "inet6");
  close(six);

  // getifaddrs queries the kernel over a NETLINK_ROUTE socket.
  struct ifaddrs* list = NULL;
  int loopback = 0;
  if (getifaddrs(&list) == 0) {
    for (struct ifaddrs* entry = list; entry; entry = entry->ifa_next) {
      if (entry->ifa_addr && entry->ifa_addr->sa_family == AF_INET &&
          ((struct sockaddr_in*)entry->ifa_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK)) {
        loopback = 1;
      }
    }
    freeifaddrs(list);
  }
  check(loopback, "netlink-getifaddrs");

  // Changing a link needs CAP_NET_ADMIN, which a container lacks, whether the request goes
  // through sendto or write.
  check(set_loopback(0) == -EPERM, "netlink-setlink-eperm");
  check(set_loopback(1) == -EPERM, "netlink-setlink-write-eperm");
}

static void check_tcp_loopback(void) {
  int server = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t length = sizeof address;
  check(bind(server, (struct sockaddr*)&address, sizeof address) == 0 && listen(server, 1) == 0 &&
            getsockname(server, (struct sockaddr*)&address, &length) == 0 && address.sin_port != 0,
        "tcp-bind-port-zero");
  int client = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int started = connect(client, (struct sockaddr*)&address, sizeof address);
  check(started == 0 || errno == EINPROGRESS, "tcp-connect-nonblocking");
  struct sockaddr_in peer;
  length = sizeof peer;
  int accepted = accept(server, (struct sockaddr*)&peer, &length);
  check(accepted >= 0 && length == sizeof peer && peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK),
        "tcp-accept-peer");
  int error = -1;
  length = sizeof error;
  check(getsockopt(client, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0,
        "tcp-so-error");
  close(accepted);
  close(client);
  close(server);
}

// Binds a datagram socket at `path`, prints "ready", and prints the name of the sender of the
// first datagram.
static int receive_one(const char* path) {
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  strncpy(address.sun_path, path, sizeof address.sun_path - 1);
  unlink(path);
  if (bind(fd, (struct sockaddr*)&address, sizeof address) != 0) {
    printf("bind: %s\n", strerrorname_np(errno));
    return 1;
  }
  printf("ready\n");
  struct sockaddr_un sender;
  memset(&sender, 0, sizeof sender);
  socklen_t length = sizeof sender;
  char byte;
  if (recvfrom(fd, &byte, 1, 0, (struct sockaddr*)&sender, &length) != 1) {
    printf("recvfrom: %s\n", strerrorname_np(errno));
    return 1;
  }
  printf("from: %s\n", sender.sun_path);
  return 0;
}

// Binds a datagram socket at `from` and sends one datagram to `to`.
static int send_one(const char* from, const char* to) {
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  strncpy(address.sun_path, from, sizeof address.sun_path - 1);
  unlink(from);
  if (bind(fd, (struct sockaddr*)&address, sizeof address) != 0) {
    printf("bind: %s\n", strerrorname_np(errno));
    return 1;
  }
  strncpy(address.sun_path, to, sizeof address.sun_path - 1);
  if (sendto(fd, "s", 1, 0, (struct sockaddr*)&address, sizeof address) != 1) {
    printf("sendto: %s\n", strerrorname_np(errno));
    return 1;
  }
  printf("sent\n");
  return 0;
}

// Sends messages with random control data and makes option calls with random values and
// lengths, to check that the translator does not crash. Prints how many calls failed.
static int fuzz(unsigned seed, int count) {
  srandom(seed);
  int pair[2];
  socketpair(AF_UNIX, SOCK_DGRAM, 0, pair);
  int on = 1;
  setsockopt(pair[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
  int tcp = socket(AF_INET, SOCK_STREAM, 0);
  int netlink = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
  int targets[4] = {pair[0], pair[1], tcp, netlink};
  long buffer[64];
  int errors = 0;
  for (int i = 0; i < count; i++) {
    for (size_t word = 0; word < sizeof buffer / sizeof buffer[0]; word++) {
      buffer[word] = random() % 4 == 0 ? random() % 16 : random();
    }
    // Often a well-formed header with a random payload, sometimes random bytes throughout.
    if (random() % 2) {
      struct cmsghdr* cmsg = (struct cmsghdr*)buffer;
      cmsg->cmsg_len = CMSG_LEN(random() % 64);
      cmsg->cmsg_level = random() % 3 == 0 ? SOL_IP : SOL_SOCKET;
      cmsg->cmsg_type = 1 + random() % 3;
    }
    char byte = 'z';
    struct iovec vector = {&byte, 1};
    struct msghdr message = {.msg_iov = &vector, .msg_iovlen = 1, .msg_control = buffer,
                             .msg_controllen = random() % (sizeof buffer + 32)};
    if (sendmsg(pair[0], &message, MSG_DONTWAIT) < 0) errors++;
    message.msg_controllen = random() % sizeof buffer;
    message.msg_flags = 0;
    int received = recvmsg(pair[1], &message, MSG_DONTWAIT | (random() % 2 ? MSG_CMSG_CLOEXEC : 0));
    if (received < 0) errors++;
    // Close the descriptors that arrived, so the table does not fill up.
    if (received >= 0) {
      for (struct cmsghdr* cmsg = CMSG_FIRSTHDR(&message); cmsg;
           cmsg = CMSG_NXTHDR(&message, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
        int n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (int k = 0; k < n; k++) {
          int fd;
          memcpy(&fd, CMSG_DATA(cmsg) + k * sizeof(int), sizeof fd);
          close(fd);
        }
      }
    }
    int target = targets[random() % 4];
    int level = random() % 2 ? SOL_SOCKET : (int)(random() % 300);
    int name = random() % 80;
    socklen_t length = random() % 300;
    if (level == SOL_SOCKET && (name == SO_ATTACH_FILTER || name == SO_ATTACH_REUSEPORT_CBPF)) {
      // Keep the program pointer valid or null, so the check is of the length and contents.
      buffer[1] = random() % 2 ? (long)(buffer + 8) : 0;
    }
    if (random() % 2) {
      if (setsockopt(target, level, name, buffer, length) < 0) errors++;
    } else if (getsockopt(target, level, name, buffer, &length) < 0) {
      errors++;
    }
    // SO_PEERPIDFD gives a descriptor.
    if (level == SOL_SOCKET && name == 77 && length == sizeof(int)) close((int)buffer[0]);
  }
  close(tcp);
  close(netlink);
  close(pair[0]);
  close(pair[1]);
  printf("fuzz: %d calls failed\n", errors);
  return 0;
}

static int run_one(const char* operation, const char* path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  strncpy(address.sun_path, path, sizeof address.sun_path - 1);
  int result = strcmp(operation, "connect") == 0
                   ? connect(fd, (struct sockaddr*)&address, sizeof address)
                   : bind(fd, (struct sockaddr*)&address, sizeof address);
  if (result == 0) {
    printf("%s: ok\n", operation);
  } else {
    printf("%s: %s\n", operation, strerrorname_np(errno));
  }
  return 0;
}

// Interface queries by ioctl, as ifconfig and if_nametoindex make them, on the loopback
// interface that every host has. Changes need CAP_NET_ADMIN, which a container lacks.
static void check_interfaces(void) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  unsigned index = if_nametoindex("lo");
  check(index > 0, "ifindex-lo");
  char name[IF_NAMESIZE] = "";
  check(if_indextoname(index, name) != NULL && strcmp(name, "lo") == 0, "ifname-lo");

  struct ifreq request;
  memset(&request, 0, sizeof request);
  strcpy(request.ifr_name, "lo");
  check(ioctl(s, SIOCGIFFLAGS, &request) == 0 && (request.ifr_flags & IFF_LOOPBACK) &&
            (request.ifr_flags & IFF_UP),
        "ifflags-lo");
  check(ioctl(s, SIOCGIFADDR, &request) == 0 &&
            ((struct sockaddr_in*)&request.ifr_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK),
        "ifaddr-lo");
  check(ioctl(s, SIOCGIFMTU, &request) == 0 && request.ifr_mtu > 0, "ifmtu-lo");
  int mtu = request.ifr_mtu;
  strcpy(request.ifr_name, "no-such-if");
  errno = 0;
  check(ioctl(s, SIOCGIFINDEX, &request) == -1 && errno == ENODEV, "ifindex-missing-enodev");

  struct ifreq found[64];
  struct ifconf list = {.ifc_len = sizeof found, .ifc_req = found};
  int loopback = 0;
  if (ioctl(s, SIOCGIFCONF, &list) == 0) {
    for (size_t i = 0; i < list.ifc_len / sizeof found[0]; i++) {
      loopback |= strcmp(found[i].ifr_name, "lo") == 0;
    }
  }
  check(loopback, "ifconf-lo");
  struct ifconf bad = {.ifc_len = sizeof found, .ifc_buf = (char*)8};
  errno = 0;
  check(ioctl(s, SIOCGIFCONF, &bad) == -1 && errno == EFAULT, "ifconf-efault");
  errno = 0;
  check(ioctl(s, SIOCGIFFLAGS, (void*)8) == -1 && errno == EFAULT, "ifflags-efault");

  // The MTU it already has, so that the native run, as host root, changes nothing.
  memset(&request, 0, sizeof request);
  strcpy(request.ifr_name, "lo");
  request.ifr_mtu = mtu;
  errno = 0;
  check(ioctl(s, SIOCSIFMTU, &request) == -1 && errno == EPERM, "ifmtu-set-eperm");
  close(s);
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 4 && strcmp(argv[1], "fuzz") == 0) return fuzz(atoi(argv[2]), atoi(argv[3]));
  if (argc == 3 && strcmp(argv[1], "recvfrom") == 0) return receive_one(argv[2]);
  if (argc == 4 && strcmp(argv[1], "sendto") == 0) return send_one(argv[2], argv[3]);
  if (argc == 3) return run_one(argv[1], argv[2]);
  if (argc != 2) {
    fprintf(stderr,
            "usage: sockets DIR | connect|bind|recvfrom PATH | sendto FROM PATH | fuzz SEED N\n");
    return 2;
  }
  check_rights();
  check_rights_race();
  check_credentials();
  check_batches();
  check_options();
  check_unix_names(argv[1]);
  check_families();
  check_tcp_loopback();
  check_interfaces();
  printf("failures %d\n", failures);
  return failures == 0 ? 0 : 1;
}
