// Pseudo-terminals for the program: --tty, where the translator relays its own stdin and stdout
// to the terminal's master, and --console-socket, where it hands the master to another process
// as runc does.
#pragma once

#include <sys/ioctl.h>

#include <optional>
#include <string>

namespace noah::tty {

// A pseudo-terminal pair. The slave is open from the start, so the master never reports a
// hang-up before the program has the slave.
struct Pair {
  int master = -1;
  int slave = -1;
  std::string slave_path;  // "/dev/pts/N"
};

// Parses --console-size's "ROWSxCOLS", each from 1 to 65535. Returns false when malformed.
bool parse_size(const std::string& text, winsize& size);

// Opens a pseudo-terminal pair with both descriptors close-on-exec, and gives it `size` when
// set. Logs and returns false on failure.
bool open_pair(const std::optional<winsize>& size, Pair& pair);

// Makes this process the leader of a new session, unless it leads one already. Logs and returns
// false on failure.
bool lead_new_session();

// Makes `slave` the controlling terminal of this process's session, which it must lead, and
// duplicates it onto descriptors 0, 1 and 2. Closes `slave` unless it is one of them. Logs and
// returns false on failure.
bool take_terminal(int slave);

// --tty: opens a pseudo-terminal and forks. The child returns true, with the slave as its
// controlling terminal and descriptors 0-2, to run the program. The parent relays between its
// own stdin/stdout and the master until the child ends, then exits with the child's status or
// dies of its signal, so it never returns. Returns false when set-up fails before the fork.
bool run_under_terminal(const std::optional<winsize>& size);

// --console-socket: opens a pseudo-terminal, sends its master over the AF_UNIX stream socket
// at `socket_path` with SCM_RIGHTS (the message is the slave's path), then takes the slave as
// controlling terminal and descriptors 0-2. Logs and returns false on failure.
bool attach_console_socket(const std::string& socket_path, const std::optional<winsize>& size);

// The path of the terminal `fd` is open on, such as "/dev/pts/3", or "" for any other file.
std::string terminal_name(int fd);

// The parent's side of --tty (relay.cc): relays until `child` ends, then exits as it did.
[[noreturn]] void relay(int master, pid_t child, const sigset_t& handled);

// The signals the relay handles through a signalfd: SIGCHLD, SIGWINCH and those it forwards.
sigset_t relay_signals();

}  // namespace noah::tty
