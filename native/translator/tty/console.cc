#include "translator/tty/console.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "translator/util/log.h"

namespace noah::tty {
namespace {

// Parses a decimal number from 1 to 65535 at text[start, end).
bool parse_dimension(const std::string& text, size_t start, size_t end, unsigned short& value) {
  if (start >= end || end - start > 5) return false;
  unsigned number = 0;
  for (size_t i = start; i < end; i++) {
    if (text[i] < '0' || text[i] > '9') return false;
    number = number * 10 + static_cast<unsigned>(text[i] - '0');
  }
  if (number == 0 || number > USHRT_MAX) return false;
  value = static_cast<unsigned short>(number);
  return true;
}

// Opens the slave of `master`. TIOCGPTPEER (Linux 4.13) opens the peer of this very master, so
// no other process can swap the /dev/pts entry in between. Older kernels fall back to the path.
int open_slave(int master, const std::string& path) {
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave >= 0 || (errno != EINVAL && errno != ENOTTY)) return slave;
  return open(path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
}

// Connects an AF_UNIX stream socket to `path`. Logs and returns -1 on failure.
int connect_unix(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    log::error("--console-socket %s: invalid path, longer than %zu bytes", path.c_str(),
               sizeof address.sun_path - 1);
    return -1;
  }
  memcpy(address.sun_path, path.data(), path.size());
  int socket_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (socket_fd < 0) {
    log::error("--console-socket: socket failed: %s", strerror(errno));
    return -1;
  }
  if (connect(socket_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
    log::error("--console-socket %s: connect failed: %s", path.c_str(), strerror(errno));
    close(socket_fd);
    return -1;
  }
  return socket_fd;
}

// Sends `fd` with `message` as the data over the AF_UNIX stream socket at `path`.
bool send_descriptor(const std::string& path, const std::string& message, int fd) {
  int socket_fd = connect_unix(path);
  if (socket_fd < 0) return false;

  iovec data{const_cast<char*>(message.data()), message.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr header{};
  header.msg_iov = &data;
  header.msg_iovlen = 1;
  header.msg_control = control;
  header.msg_controllen = sizeof control;
  cmsghdr* rights = CMSG_FIRSTHDR(&header);
  rights->cmsg_level = SOL_SOCKET;
  rights->cmsg_type = SCM_RIGHTS;
  rights->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(rights), &fd, sizeof fd);
  ssize_t sent;
  do {
    sent = sendmsg(socket_fd, &header, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  int error = errno;
  close(socket_fd);
  if (sent < 0) {
    log::error("--console-socket %s: sendmsg failed: %s", path.c_str(), strerror(error));
    return false;
  }
  return true;
}

// Opens /dev/null on each of descriptors 0-2 that is closed, so that the relay's own
// descriptors never take those numbers and get mistaken for its stdin or stdout.
bool fill_standard_descriptors() {
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) >= 0) continue;
    int null = open("/dev/null", O_RDWR);
    if (null < 0) {
      log::error("pseudo-terminal: opening /dev/null for closed descriptor %d failed: %s", fd,
                 strerror(errno));
      return false;
    }
  }
  return true;
}

}  // namespace

bool parse_size(const std::string& text, winsize& size) {
  size_t separator = text.find('x');
  if (separator == std::string::npos) return false;
  winsize parsed{};
  if (!parse_dimension(text, 0, separator, parsed.ws_row)) return false;
  if (!parse_dimension(text, separator + 1, text.size(), parsed.ws_col)) return false;
  size = parsed;
  return true;
}

bool open_pair(const std::optional<winsize>& size, Pair& pair) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) {
    log::error("pseudo-terminal: opening /dev/ptmx failed: %s", strerror(errno));
    return false;
  }
  char name[128];
  if (grantpt(master) < 0 || unlockpt(master) < 0 || ptsname_r(master, name, sizeof name) != 0) {
    log::error("pseudo-terminal: unlocking the slave failed: %s", strerror(errno));
    close(master);
    return false;
  }
  if (size && ioctl(master, TIOCSWINSZ, &*size) < 0) {
    log::error("pseudo-terminal: TIOCSWINSZ failed: %s", strerror(errno));
    close(master);
    return false;
  }
  int slave = open_slave(master, name);
  if (slave < 0) {
    log::error("pseudo-terminal: opening %s failed: %s", name, strerror(errno));
    close(master);
    return false;
  }
  pair = Pair{master, slave, name};
  return true;
}

bool lead_new_session() {
  // setsid fails for a process group leader. A session leader may keep its session if it has
  // no controlling terminal yet, which TIOCSCTTY then checks.
  if (setsid() < 0 && getsid(0) != getpid()) {
    log::error(
        "pseudo-terminal: setsid failed: %s. The translator leads a process group; start it "
        "as a session leader or inside another process's group",
        strerror(errno));
    return false;
  }
  return true;
}

bool take_terminal(int slave) {
  if (ioctl(slave, TIOCSCTTY, 0) < 0) {
    log::error("pseudo-terminal: TIOCSCTTY failed: %s", strerror(errno));
    return false;
  }
  for (int fd = 0; fd <= 2; fd++) {
    if (fd != slave && dup2(slave, fd) < 0) {
      log::error("pseudo-terminal: dup2 onto descriptor %d failed: %s", fd, strerror(errno));
      return false;
    }
  }
  if (slave > 2) close(slave);
  return true;
}

bool run_under_terminal(const std::optional<winsize>& size) {
  if (!fill_standard_descriptors()) return false;
  std::optional<winsize> initial = size;
  int outer = isatty(STDIN_FILENO) ? STDIN_FILENO : isatty(STDOUT_FILENO) ? STDOUT_FILENO : -1;
  winsize outer_size{};
  if (!initial && outer >= 0 && ioctl(outer, TIOCGWINSZ, &outer_size) == 0) initial = outer_size;
  Pair pair;
  if (!open_pair(initial, pair)) return false;

  // Blocked before the fork so that no SIGCHLD or SIGWINCH is lost before the signalfd exists.
  sigset_t handled = relay_signals(), previous;
  sigprocmask(SIG_BLOCK, &handled, &previous);
  pid_t child = fork();
  if (child < 0) {
    log::error("pseudo-terminal: fork failed: %s", strerror(errno));
    sigprocmask(SIG_SETMASK, &previous, nullptr);
    close(pair.master);
    close(pair.slave);
    return false;
  }
  if (child == 0) {
    // The translator takes the guest's signal mask from the host at start.
    sigprocmask(SIG_SETMASK, &previous, nullptr);
    close(pair.master);
    if (!lead_new_session() || !take_terminal(pair.slave)) _exit(125);
    return true;
  }
  close(pair.slave);
  relay(pair.master, child, handled);
}

bool attach_console_socket(const std::string& socket_path, const std::optional<winsize>& size) {
  // First, so that a failure sends no terminal to the receiver.
  if (!lead_new_session()) return false;
  Pair pair;
  if (!open_pair(size, pair)) return false;
  bool sent = send_descriptor(socket_path, pair.slave_path, pair.master);
  close(pair.master);
  if (!sent) {
    close(pair.slave);
    return false;
  }
  return take_terminal(pair.slave);
}

std::string terminal_name(int fd) {
  char name[PATH_MAX];
  if (ttyname_r(fd, name, sizeof name) != 0) return "";
  return name;
}

}  // namespace noah::tty
