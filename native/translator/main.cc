// noah-translator: runs one Linux x86-64 program in a KVM guest with no kernel, carrying out
// its system calls in this host process.
//
//   noah-translator --root DIR [--cwd PATH] [--env NAME=VALUE]... [--env-fd N] [--read-only]
//                   [--trace]
//                   [--stats] [--shared-inodes FILE] [--hostname NAME]
//                   [--user UID:GID[:GID,...]]
//                   [--mount type=bind|tmpfs,source=HOST,target=GUEST[,readonly]]...
//                   [--tty | --console-socket PATH] [--console-size ROWSxCOLS]
//                   [--ready-fd N] [--wait-fifo PATH] [--container-dir DIR]
//                   -- PROGRAM [ARG...]
//
// --env-fd N reads more of the guest's environment from descriptor N until end of file, each
// NAME=VALUE ending in a NUL byte, and closes it: unlike --env, the values stay out of the
// command line that every host user can read in /proc.
// --shared-inodes names the list of inodes the root shares with its image (the container's
// copy-on-write layer, vfs/copy_up.h). --user sets the guest's credentials, and a translator
// running as host root checks the guest's file access with them (task/credentials.h).
// --container-dir names a host folder of the container where each of its processes registers
// itself, so /proc lists them all, and where /dev/shm lives. Without it, the program's own
// process tree shares a private folder.
//
// --tty gives the program a new pseudo-terminal as stdin, stdout, stderr and controlling
// terminal, and relays this process's stdin and stdout to it; --console-socket PATH instead sends
// the terminal's master over the AF_UNIX socket PATH, as runc does. --console-size sets the
// terminal's initial window size.
// --wait-fifo PATH holds the loaded program before its first instruction until a runtime's start
// command opens the FIFO PATH for reading, as runc's exec.fifo does. The translator creates
// the FIFO (mode 0600) unless it exists and opens it for writing, which blocks. Once it opens,
// the translator removes it and writes one byte. --ready-fd N: before that wait, the translator
// writes one byte to descriptor N and closes it, so a runtime that started it detached learns
// that set-up succeeded. End of file with no byte means that set-up failed.
// --trace prints each system call as strace does; --stats (or NOAH_STATS=1) prints counters of
// system calls and VM exits when the process ends.
//
// Exit status: the program's own, or the signal that ended it (this process dies of the same
// signal). 125 when the translator cannot start, 126 when the program cannot be executed and
// 127 when it is not found, as Docker reports them.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "translator/loader/elf.h"
#include "translator/syscall/fd.h"
#include "translator/task/credentials.h"
#include "translator/task/process.h"
#include "translator/task/signal.h"
#include "translator/tty/console.h"
#include "translator/util/log.h"
#include "translator/util/stats.h"
#include "translator/vfs/registry.h"

namespace {

constexpr int kExitTranslatorFailed = 125;
constexpr int kExitCannotExecute = 126;
constexpr int kExitNotFound = 127;
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct CommandLine {
  std::string root;
  std::string cwd = "/";
  std::vector<std::string> env;
  std::vector<std::string> argv;
  std::string container_dir;
  bool read_only = false;
  int ready_fd = -1;
  std::string wait_fifo;
  bool tty = false;
  std::string console_socket;
  std::optional<winsize> console_size;
  std::string shared_inodes;
  std::vector<noah::vfs::Mount> mounts;
  noah::Credentials credentials;
  noah::Options options;
};

[[noreturn]] void usage_error(const std::string& message) {
  noah::log::error("%s", message.c_str());
  noah::log::error(
      "usage: noah-translator --root DIR [--cwd PATH] [--env NAME=VALUE]... [--env-fd N] "
      "[--read-only] [--trace] [--stats] [--shared-inodes FILE] [--hostname NAME] "
      "[--user UID:GID[:GID,...]] [--mount type=bind,source=HOST,target=GUEST[,readonly]]... "
      "[--tty | --console-socket PATH] [--console-size ROWSxCOLS] [--ready-fd N] "
      "[--wait-fifo PATH] [--container-dir DIR] -- PROGRAM [ARG...]");
  _exit(kExitTranslatorFailed);
}

// Parses a decimal id; false when `text` is not one.
bool parse_id(const std::string& text, uint32_t& id) {
  if (text.empty() || text.size() > 10) return false;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value >= 0xffffffffu) return false;  // (uid_t)-1 means "unchanged" to the set*id calls
  id = static_cast<uint32_t>(value);
  return true;
}

// UID:GID[:GID,GID...] into the guest's real, effective, saved and filesystem ids.
bool parse_user(const std::string& text, noah::Credentials& credentials) {
  size_t colon = text.find(':');
  if (colon == std::string::npos) return false;
  size_t groups_colon = text.find(':', colon + 1);
  uint32_t uid, gid;
  if (!parse_id(text.substr(0, colon), uid)) return false;
  std::string gid_text = text.substr(
      colon + 1, groups_colon == std::string::npos ? std::string::npos : groups_colon - colon - 1);
  if (!parse_id(gid_text, gid)) return false;
  credentials.uid = credentials.euid = credentials.suid = credentials.fsuid = uid;
  credentials.gid = credentials.egid = credentials.sgid = credentials.fsgid = gid;
  credentials.groups.clear();
  if (groups_colon != std::string::npos) {
    std::string list = text.substr(groups_colon + 1);
    size_t start = 0;
    while (start <= list.size() && !list.empty()) {
      size_t comma = list.find(',', start);
      if (comma == std::string::npos) comma = list.size();
      uint32_t group;
      if (!parse_id(list.substr(start, comma - start), group)) return false;
      credentials.groups.push_back(group);
      start = comma + 1;
    }
  }
  return true;
}

int parse_fd(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  long fd = strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || fd < 3 || fd > 1024) {
    usage_error("invalid " + flag + " " + text + ": expected a descriptor number from 3 to 1024");
  }
  return static_cast<int>(fd);
}

// Appends the NUL-terminated NAME=VALUE entries readable from `fd` to `env`, and closes `fd`.
void read_env_fd(int fd, std::vector<std::string>& env) {
  constexpr size_t kMaxBytes = 16 << 20;  // far above what execve accepts
  std::string text;
  char buffer[65536];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) usage_error(std::string("--env-fd: read failed: ") + strerror(errno));
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > kMaxBytes) usage_error("--env-fd: more than 16 MiB of environment");
  }
  close(fd);
  if (!text.empty() && text.back() != '\0') usage_error("--env-fd: the last entry has no NUL");
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\0', start);
    std::string entry = text.substr(start, end - start);
    if (entry.find('=') == std::string::npos) {
      usage_error("--env-fd: entry without '=': " + entry.substr(0, 64));
    }
    env.push_back(std::move(entry));
    start = end + 1;
  }
}

CommandLine parse(int argc, char** argv) {
  CommandLine line;
  int i = 1;
  for (; i < argc; i++) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage_error("missing value after " + arg);
      return argv[++i];
    };
    if (arg == "--") {
      i++;
      break;
    }
    if (arg == "--root") {
      line.root = value();
    } else if (arg == "--cwd") {
      line.cwd = value();
    } else if (arg == "--env") {
      line.env.push_back(value());
    } else if (arg == "--env-fd") {
      read_env_fd(parse_fd(arg, value()), line.env);
    } else if (arg == "--trace") {
      line.options.trace = true;
    } else if (arg == "--read-only") {
      line.read_only = true;
    } else if (arg == "--container-dir") {
      line.container_dir = value();
    } else if (arg == "--stats") {
      noah::stats::enabled = true;
    } else if (arg == "--ready-fd") {
      line.ready_fd = parse_fd(arg, value());
    } else if (arg == "--wait-fifo") {
      line.wait_fifo = value();
    } else if (arg == "--tty") {
      line.tty = true;
    } else if (arg == "--console-socket") {
      line.console_socket = value();
    } else if (arg == "--console-size") {
      std::string size = value();
      winsize parsed;
      if (!noah::tty::parse_size(size, parsed)) {
        usage_error("invalid --console-size " + size + ": expected ROWSxCOLS, such as 24x80");
      }
      line.console_size = parsed;
    } else if (arg == "--shared-inodes") {
      line.shared_inodes = value();
    } else if (arg == "--mount") {
      std::string text = value();
      noah::vfs::Mount mount;
      std::string error = noah::vfs::parse_mount(text, mount);
      if (!error.empty()) usage_error("--mount " + text + ": " + error);
      line.mounts.push_back(std::move(mount));
    } else if (arg == "--hostname") {
      line.options.hostname = value();
      if (line.options.hostname.size() > 64) usage_error("--hostname: longer than 64 bytes");
    } else if (arg == "--user") {
      std::string user = value();
      if (!parse_user(user, line.credentials)) {
        usage_error("--user " + user + ": expected UID:GID or UID:GID:GID,GID...");
      }
    } else {
      usage_error("unknown option " + arg);
    }
  }
  for (; i < argc; i++) line.argv.push_back(argv[i]);
  if (line.root.empty()) usage_error("--root is required");
  if (line.argv.empty()) usage_error("no program to run");
  if (line.tty && !line.console_socket.empty()) {
    usage_error("--tty and --console-socket cannot be used together");
  }
  if (line.console_size && !line.tty && line.console_socket.empty()) {
    usage_error("--console-size needs --tty or --console-socket");
  }
  return line;
}

// Finds `name` in the guest's PATH as execvp does, or returns "" when no entry is executable.
std::string search_path(noah::Process& process, const std::string& name,
                        const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) return name;
  std::string path = kDefaultPath;
  for (const auto& entry : env) {
    if (entry.compare(0, 5, "PATH=") == 0) path = entry.substr(5);
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t colon = path.find(':', start);
    if (colon == std::string::npos) colon = path.size();
    std::string directory = path.substr(start, colon - start);
    std::string candidate = (directory.empty() ? "." : directory) + "/" + name;
    int fd = process.fs.open(noah::vfs::base_of(*process.fs.cwd()), candidate, O_PATH, 0);
    if (fd >= 0) {
      struct stat status;
      bool executable =
          fstat(fd, &status) == 0 && S_ISREG(status.st_mode) && (status.st_mode & 0111);
      close(fd);
      if (executable) return candidate;
    }
    start = colon + 1;
  }
  return "";
}

// Gives the terminal the translator made (--tty, --console-socket) to the guest's user, keeping
// its group, as Docker does for a container's terminal. Otherwise a user other than root could
// not reopen it by its /dev/pts name.
void give_terminal_to_user(const CommandLine& line) {
  if (!line.tty && line.console_socket.empty()) return;
  if (!noah::credentials::enforced() || line.credentials.uid == 0) return;
  if (!isatty(STDIN_FILENO)) return;
  if (fchown(STDIN_FILENO, line.credentials.uid, static_cast<gid_t>(-1)) < 0) {
    noah::log::error("chown of the terminal to uid %u failed: %s", line.credentials.uid,
                     strerror(errno));
  }
}

// Gives the guest its own copies of the standard descriptors, and points the host's stdin and
// stdout at /dev/null so that a guest closing its stdout closes the last copy.
void setup_stdio(noah::Process& process) {
  for (int fd = 0; fd <= 2; fd++) {
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (copy < 0) continue;  // closed on the host, so closed in the guest too
    // A terminal keeps its name ("/dev/pts/N") for /proc/self/fd readlinks, which ttyname uses.
    auto file = std::make_shared<noah::vfs::OpenFile>(copy, noah::tty::terminal_name(copy));
    process.files.install_at(fd, std::move(file), false);
  }
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    close(null);
  }
}

// Tells the runtime waiting on `fd` that set-up succeeded.
bool send_ready(int fd) {
  char byte = 'r';
  ssize_t written;
  do {
    written = write(fd, &byte, 1);
  } while (written < 0 && errno == EINTR);
  if (written != 1) noah::log::error("write --ready-fd %d: %s", fd, strerror(errno));
  close(fd);
  return written == 1;
}

// Blocks until a reader opens the FIFO at `path` (the runtime's start command), then writes
// one byte to it. A signal whose guest action is the default (SIGTERM, SIGKILL) ends the
// translator while it waits here, which is how a created container is killed.
bool wait_for_start(const std::string& path) {
  int fd;
  do {
    fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    noah::log::error("open --wait-fifo %s: %s", path.c_str(), strerror(errno));
    return false;
  }
  // The FIFO's name exists exactly while the program is held, so a runtime that crashed during
  // start still finds the container running. The reader keeps its open descriptor.
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    noah::log::error("unlink --wait-fifo %s: %s", path.c_str(), strerror(errno));
  }
  char byte = 0;
  ssize_t written;
  do {
    written = write(fd, &byte, 1);
  } while (written < 0 && errno == EINTR);
  if (written != 1) noah::log::error("write --wait-fifo %s: %s", path.c_str(), strerror(errno));
  close(fd);
  return written == 1;
}

}  // namespace

int main(int argc, char** argv) {
  const char* stats_variable = getenv("NOAH_STATS");
  noah::stats::enabled = stats_variable != nullptr && std::string(stats_variable) == "1";
  CommandLine line = parse(argc, argv);
  // Before anything else: the --tty parent only relays and must hold no VM.
  if (line.tty && !noah::tty::run_under_terminal(line.console_size)) return kExitTranslatorFailed;
  if (!line.console_socket.empty() &&
      !noah::tty::attach_console_socket(line.console_socket, line.console_size)) {
    return kExitTranslatorFailed;
  }
  // The guest's umask is applied by the translator; the host must not apply its own too.
  umask(0);
  noah::credentials::init();
  std::string registry_error;
  if (!noah::vfs::registry::configure(line.container_dir, registry_error)) {
    noah::log::error("%s", registry_error.c_str());
    return kExitTranslatorFailed;
  }
  try {
    noah::Process process(line.root, line.options);
    process.fs.read_only = line.read_only;
    // The loader sets the capabilities, as execve does.
    process.credentials.set(line.credentials);
    if (!line.shared_inodes.empty()) process.fs.share_inodes_with_image(line.shared_inodes);
    for (auto& mount : line.mounts) process.fs.add_mount(std::move(mount));
    give_terminal_to_user(line);
    setup_stdio(process);
    // From here the program's files are opened as the guest's user: the working directory,
    // the PATH search and the program itself.
    noah::credentials::follow(process.credentials);
    int cwd =
        process.fs.open(noah::vfs::base_of(*process.fs.cwd()), line.cwd, O_PATH | O_DIRECTORY, 0);
    if (cwd < 0) {
      noah::log::error("working directory %s: %s", line.cwd.c_str(), strerror(-cwd));
      return kExitTranslatorFailed;
    }
    process.fs.set_cwd(std::make_shared<noah::vfs::OpenFile>(cwd, process.fs.guest_path(cwd)));

    std::string program = search_path(process, line.argv[0], line.env);
    if (program.empty()) {
      noah::log::error("exec: \"%s\": executable file not found in $PATH", line.argv[0].c_str());
      return kExitNotFound;
    }
    noah::Thread thread(process, 0);
    process.main_thread = &thread;
    noah::signals::start(thread);
    noah::loader::StartState start;
    noah::loader::Program prepared;
    int result = noah::loader::prepare(process, program, line.argv, prepared);
    if (result == 0) result = noah::loader::load(process, prepared, line.env, start);
    if (result < 0) {
      noah::log::error("exec %s: %s", program.c_str(), strerror(-result));
      return result == -ENOENT ? kExitNotFound : kExitCannotExecute;
    }
    noah::vfs::registry::record_program_start(process, start.stack_pointer);
    noah::vfs::registry::publish(process);
    if (line.options.trace) {
      std::string args;
      for (const auto& arg : prepared.argv) args += (args.empty() ? "\"" : ", \"") + arg + "\"";
      noah::log::info("[%d] execve(\"%s\", [%s]) = 0", thread.tid, program.c_str(), args.c_str());
    }
    {
      // The FIFO is the runtime's, in its own folder.
      noah::credentials::OwnIdentity own_identity;
      if (!line.wait_fifo.empty() && mkfifo(line.wait_fifo.c_str(), 0600) != 0 && errno != EEXIST) {
        noah::log::error("mkfifo --wait-fifo %s: %s", line.wait_fifo.c_str(), strerror(errno));
        return kExitTranslatorFailed;
      }
      if (line.ready_fd >= 0 && !send_ready(line.ready_fd)) return kExitTranslatorFailed;
      if (!line.wait_fifo.empty() && !wait_for_start(line.wait_fifo)) return kExitTranslatorFailed;
    }
    kvm_regs& regs = thread.vcpu->regs();
    regs = kvm_regs{};
    regs.rip = start.entry;
    regs.rsp = start.stack_pointer;
    regs.rflags = 0x202;
    thread.vcpu->mark_regs_dirty();
    thread.run();
  } catch (const std::exception& error) {
    noah::log::error("%s", error.what());
    noah::vfs::registry::unpublish();
    return kExitTranslatorFailed;
  }
}
