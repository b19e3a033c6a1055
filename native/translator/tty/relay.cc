// The parent's side of --tty: copies the translator's stdin to the pseudo-terminal's master and
// the master's output to the translator's stdout, passes window sizes and signals on, and ends
// as the child running the program ended.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "translator/tty/console.h"
#include "translator/util/die.h"
#include "translator/util/log.h"

namespace noah::tty {
namespace {

// Signals sent to the relay that it sends on to the child, as `docker run` does with its
// signal proxy. Stop signals stop the relay itself, and fault signals stay with the process
// that caused them.
constexpr int kForwarded[] = {SIGHUP,  SIGINT,    SIGQUIT, SIGABRT, SIGUSR1, SIGUSR2, SIGALRM,
                              SIGTERM, SIGVTALRM, SIGPROF, SIGIO,   SIGPWR,  SIGCONT};

// How long the relay keeps reading the master after the child ended while another process
// still has the slave open. Output that arrives later is dropped.
constexpr int kDrainQuietMs = 100;

// The translator's own terminal in raw mode, restored by restore() on every exit path.
struct OuterTerminal {
  int fd = -1;  // a terminal among stdin and stdout, whose size the master follows
  bool raw = false;
  termios saved{};

  void make_raw() {
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved) < 0) return;
    termios settings = saved;
    cfmakeraw(&settings);
    raw = tcsetattr(STDIN_FILENO, TCSANOW, &settings) == 0;
  }
  void restore() {
    if (raw && tcsetattr(STDIN_FILENO, TCSADRAIN, &saved) < 0) {
      log::error("--tty: restoring the terminal settings failed: %s", strerror(errno));
    }
    raw = false;
  }
};

struct RelayState {
  int master = -1;
  pid_t child = -1;
  int signals = -1;  // signalfd
  OuterTerminal outer;
  bool input_open = true;   // the translator's stdin has not reached end of file
  bool output_open = true;  // the master still delivers output
  bool stdout_open = true;  // writes to the translator's stdout still succeed
  bool child_ended = false;
  int child_status = 0;
  std::string pending_input;  // read from stdin, not yet accepted by the master
};

// Writes all of `data` to the translator's stdout, waiting while it is full. After a failed
// write (a closed pipe) the relay drops all further output, so the program can still write.
void write_output(RelayState& state, const char* data, size_t size) {
  while (size > 0 && state.stdout_open) {
    ssize_t n = write(STDOUT_FILENO, data, size);
    if (n < 0 && errno == EAGAIN) {
      pollfd wait{STDOUT_FILENO, POLLOUT, 0};
      poll(&wait, 1, -1);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      state.stdout_open = false;
      return;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
}

// Reads what the master has. Linux returns EIO once no process has the slave open.
void read_master(RelayState& state) {
  char buffer[65536];
  ssize_t n = read(state.master, buffer, sizeof buffer);
  if (n > 0) {
    write_output(state, buffer, static_cast<size_t>(n));
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    state.output_open = false;
  }
}

// Reads the translator's stdin into pending_input. At end of file, queues the terminal's EOF
// character (VEOF) once, so a program reading the terminal in canonical mode sees end of file.
void read_input(RelayState& state) {
  char buffer[65536];
  ssize_t n = read(STDIN_FILENO, buffer, sizeof buffer);
  if (n > 0) {
    state.pending_input.append(buffer, static_cast<size_t>(n));
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  state.input_open = false;
  termios settings;
  if (tcgetattr(state.master, &settings) == 0 && settings.c_cc[VEOF] != _POSIX_VDISABLE) {
    state.pending_input.push_back(static_cast<char>(settings.c_cc[VEOF]));
  }
}

void write_input(RelayState& state) {
  ssize_t n = write(state.master, state.pending_input.data(), state.pending_input.size());
  if (n > 0) {
    state.pending_input.erase(0, static_cast<size_t>(n));
  } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
    state.pending_input.clear();
  }
}

void copy_window_size(RelayState& state) {
  winsize size;
  if (state.outer.fd >= 0 && ioctl(state.outer.fd, TIOCGWINSZ, &size) == 0) {
    if (ioctl(state.master, TIOCSWINSZ, &size) < 0) {
      log::error("--tty: TIOCSWINSZ on the master failed: %s", strerror(errno));
    }
  }
}

void handle_signals(RelayState& state) {
  signalfd_siginfo info;
  while (read(state.signals, &info, sizeof info) == sizeof info) {
    int signal = static_cast<int>(info.ssi_signo);
    if (signal == SIGWINCH) {
      copy_window_size(state);
    } else if (signal != SIGCHLD) {
      kill(state.child, signal);
    }
  }
  int status;
  if (!state.child_ended && waitpid(state.child, &status, WNOHANG) == state.child) {
    state.child_ended = true;
    state.child_status = status;
  }
}

// Polls once and handles what is ready. Returns false when poll itself fails.
bool relay_once(RelayState& state) {
  pollfd fds[3] = {{state.signals, POLLIN, 0}, {state.master, 0, 0}, {STDIN_FILENO, POLLIN, 0}};
  if (state.output_open) fds[1].events |= POLLIN;
  if (!state.pending_input.empty()) fds[1].events |= POLLOUT;
  // Input waits while the master has not taken the last read, which bounds the buffer.
  bool want_input = state.input_open && state.pending_input.empty() && state.output_open;
  fds[2].fd = want_input ? STDIN_FILENO : -1;
  if (fds[1].events == 0) fds[1].fd = -1;
  if (poll(fds, 3, -1) < 0) return errno == EINTR;
  if (fds[0].revents & POLLIN) handle_signals(state);
  if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) read_master(state);
  if ((fds[1].revents & POLLOUT) && !state.pending_input.empty()) write_input(state);
  if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) read_input(state);
  if (fds[2].revents & POLLNVAL) state.input_open = false;
  return true;
}

// After the child ended: copies what the master still has until no process has the slave open
// (EIO), or until it stays quiet for kDrainQuietMs because a background process keeps it open.
void drain_master(RelayState& state) {
  while (state.output_open) {
    pollfd ready{state.master, POLLIN, 0};
    int n = poll(&ready, 1, kDrainQuietMs);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    read_master(state);
  }
}

// Ends the relay as the child ended: with its exit status, or by the same signal.
[[noreturn]] void exit_like_child(RelayState& state) {
  state.outer.restore();
  if (WIFEXITED(state.child_status)) _exit(WEXITSTATUS(state.child_status));
  int signal = WTERMSIG(state.child_status);
  die_by_signal(signal);
}

}  // namespace

sigset_t relay_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGWINCH);
  for (int signal : kForwarded) sigaddset(&set, signal);
  return set;
}

void relay(int master, pid_t child, const sigset_t& handled) {
  RelayState state;
  state.master = master;
  state.child = child;
  // A closed stdout must end output, not the relay.
  signal(SIGPIPE, SIG_IGN);
  state.signals = signalfd(-1, &handled, SFD_NONBLOCK | SFD_CLOEXEC);
  int flags = fcntl(master, F_GETFL);
  if (state.signals < 0 || flags < 0 || fcntl(master, F_SETFL, flags | O_NONBLOCK) < 0) {
    log::error("--tty: setting up the relay failed: %s", strerror(errno));
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    _exit(125);
  }
  state.outer.fd = isatty(STDIN_FILENO) ? STDIN_FILENO : isatty(STDOUT_FILENO) ? STDOUT_FILENO : -1;
  state.outer.make_raw();
  while (!state.child_ended) {
    if (!relay_once(state)) {
      log::error("--tty: poll failed: %s", strerror(errno));
      state.outer.restore();
      kill(child, SIGKILL);
      waitpid(child, nullptr, 0);
      _exit(125);
    }
  }
  drain_master(state);
  exit_like_child(state);
}

}  // namespace noah::tty
