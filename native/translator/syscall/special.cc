// Synthesized files: /dev devices taken from the host, and the parts of /proc that describe
// the guest process itself, generated from the translator's state.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "translator/syscall/fd.h"

namespace noah::syscall {
namespace {

// Host devices the guest's /dev has, whatever the root directory holds.
constexpr const char* kHostDevices[] = {"null", "zero", "full", "random", "urandom", "tty"};

// A read-only file whose contents are `text`, as a host descriptor.
int memory_file(const std::string& name, const std::string& text) {
  int fd = memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return -errno;
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      int error = errno;
      close(fd);
      return -error;
    }
    done += static_cast<size_t>(n);
  }
  lseek(fd, 0, SEEK_SET);
  fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
  return fd;
}

std::string host_file(const char* path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string maps_text(Process& process) {
  std::string text;
  char line[512];
  for (const mm::Vma& vma : process.mm.snapshot()) {
    snprintf(line, sizeof line, "%012llx-%012llx %c%c%c%c %08llx %02x:%02x %-10llu ",
             static_cast<unsigned long long>(vma.start), static_cast<unsigned long long>(vma.end),
             vma.prot & PROT_READ ? 'r' : '-', vma.prot & PROT_WRITE ? 'w' : '-',
             vma.prot & PROT_EXEC ? 'x' : '-', vma.flags & MAP_SHARED ? 's' : 'p',
             static_cast<unsigned long long>(vma.offset), major(vma.device), minor(vma.device),
             static_cast<unsigned long long>(vma.inode));
    text += line;
    text += vma.name.empty() ? "" : "               " + vma.name;
    // Trim the padding when there is no name, as Linux does.
    while (vma.name.empty() && !text.empty() && text.back() == ' ') text.pop_back();
    text += '\n';
  }
  return text;
}

// /proc/PID/status: the guest's identity and signal state, with the memory lines of the host
// process (which also count the translator's own memory).
std::string status_text(Thread& thread) {
  Process& process = thread.process;
  const Credentials& c = process.credentials;
  uint64_t ignored = 0, caught = 0;
  for (int signal = 1; signal < static_cast<int>(process.signal_actions.size()); signal++) {
    uint64_t handler = process.signal_actions[signal].handler;
    if (handler == 1) ignored |= 1ull << (signal - 1);
    if (handler > 1) caught |= 1ull << (signal - 1);
  }
  char buffer[1024];
  snprintf(buffer, sizeof buffer,
           "Name:\t%s\nUmask:\t%04o\nState:\tR (running)\nTgid:\t%d\nPid:\t%d\nPPid:\t%d\n"
           "Uid:\t%u\t%u\t%u\t%u\nGid:\t%u\t%u\t%u\t%u\nThreads:\t%d\n"
           "SigBlk:\t%016llx\nSigIgn:\t%016llx\nSigCgt:\t%016llx\n",
           process.comm.c_str(), static_cast<unsigned>(process.fs.umask), process.pid, thread.tid,
           getppid(), c.uid, c.euid, c.suid, c.fsuid, c.gid, c.egid, c.sgid, c.fsgid,
           process.live_threads.load(), static_cast<unsigned long long>(thread.signal_mask),
           static_cast<unsigned long long>(ignored), static_cast<unsigned long long>(caught));
  std::string text = buffer;
  uint64_t size = 0;
  for (const mm::Vma& vma : process.mm.snapshot()) size += vma.end - vma.start;
  text += "VmSize:\t" + std::to_string(size / 1024) + " kB\n";
  // NOTE: resident memory is the host process's, translator included.
  std::istringstream host(host_file("/proc/self/status"));
  for (std::string line; std::getline(host, line);) {
    if (line.compare(0, 5, "VmRSS") == 0 || line.compare(0, 3, "Rss") == 0) text += line + "\n";
  }
  return text;
}

std::string joined(const std::vector<std::string>& values) {
  std::string text;
  for (const auto& value : values) {
    text += value;
    text += '\0';
  }
  return text;
}

// Splits "/proc/self/REST" or "/proc/PID/REST" for our own pid into REST; false otherwise.
bool own_proc_entry(Thread& thread, const std::string& absolute, std::string& rest) {
  const std::string prefix = "/proc/";
  if (absolute.compare(0, prefix.size(), prefix) != 0) return false;
  std::string tail = absolute.substr(prefix.size());
  size_t slash = tail.find('/');
  std::string who = tail.substr(0, slash);
  std::string pid = std::to_string(thread.process.pid);
  std::string tid = std::to_string(thread.tid);
  if (who != "self" && who != "thread-self" && who != pid && who != tid) return false;
  rest = slash == std::string::npos ? "" : tail.substr(slash + 1);
  return true;
}

// The guest descriptor a /dev/fd/N, /dev/stdin or /proc/self/fd/N path names, or -1.
int descriptor_path(Thread& thread, const std::string& absolute) {
  if (absolute == "/dev/stdin") return 0;
  if (absolute == "/dev/stdout") return 1;
  if (absolute == "/dev/stderr") return 2;
  std::string number;
  std::string rest;
  if (absolute.compare(0, 8, "/dev/fd/") == 0) {
    number = absolute.substr(8);
  } else if (own_proc_entry(thread, absolute, rest) && rest.compare(0, 3, "fd/") == 0) {
    number = rest.substr(3);
  } else {
    return -1;
  }
  if (number.empty() || number.size() > 9 ||
      number.find_first_not_of("0123456789") != std::string::npos) {
    return -1;
  }
  return std::stoi(number);
}

}  // namespace

bool may_be_special(const vfs::Base& base, const std::string& path) {
  auto special_prefix = [](const std::string& p) {
    return p.compare(0, 4, "/dev") == 0 || p.compare(0, 5, "/proc") == 0;
  };
  if (!path.empty() && path[0] == '/') return special_prefix(path);
  return special_prefix(base.guest_path) || path.find("..") != std::string::npos;
}

bool open_special(Thread& thread, const std::string& absolute, int flags, int& result) {
  Process& process = thread.process;
  int host_flags = (flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_DIRECTORY | O_NOFOLLOW)) | O_CLOEXEC;
  if (absolute.compare(0, 5, "/dev/") == 0) {
    std::string name = absolute.substr(5);
    for (const char* device : kHostDevices) {
      if (name == device) {
        int fd = ::open(absolute.c_str(), host_flags);
        result = fd < 0 ? -errno : fd;
        return true;
      }
    }
  }
  int guest_fd = descriptor_path(thread, absolute);
  if (guest_fd >= 0) {
    auto file = process.files.get(guest_fd);
    if (!file) {
      result = -ENOENT;
      return true;
    }
    // Like Linux, open a new description of the same file rather than duplicating the old.
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", file->host_fd);
    int fd = ::open(link, host_flags);
    result = fd < 0 ? -errno : fd;
    return true;
  }
  std::string rest;
  if (own_proc_entry(thread, absolute, rest)) {
    if (rest == "exe") {
      result =
          process.fs.open(vfs::base_of(*process.fs.cwd()), process.exe, flags & ~O_NOFOLLOW, 0);
    } else if (rest == "maps") {
      result = memory_file("maps", maps_text(process));
    } else if (rest == "cmdline") {
      result = memory_file("cmdline", joined(process.argv));
    } else if (rest == "environ") {
      result = memory_file("environ", joined(process.envp));
    } else if (rest == "comm") {
      result = memory_file("comm", process.comm + "\n");
    } else if (rest == "status") {
      result = memory_file("status", status_text(thread));
    } else {
      // TODO: the rest of /proc/PID (stat, status, fd/ listings) comes with containers.
      result = -ENOENT;
    }
    return true;
  }
  static const char* const kHostProcFiles[] = {"/proc/cpuinfo",
                                               "/proc/meminfo",
                                               "/proc/uptime",
                                               "/proc/loadavg",
                                               "/proc/version",
                                               "/proc/filesystems",
                                               "/proc/stat",
                                               "/proc/sys/kernel/osrelease",
                                               "/proc/sys/kernel/ngroups_max",
                                               "/proc/sys/kernel/pid_max"};
  for (const char* path : kHostProcFiles) {
    if (absolute == path) {
      result = memory_file(path, host_file(path));
      return true;
    }
  }
  if (absolute == "/proc/mounts" || absolute == "/proc/self/mounts") {
    result = memory_file("mounts", "rootfs / rootfs rw 0 0\n");
    return true;
  }
  if (absolute.compare(0, 6, "/proc/") == 0 || absolute == "/proc") {
    result = -ENOENT;
    return true;
  }
  return false;
}

bool read_special_link(Thread& thread, const std::string& absolute, std::string& target) {
  Process& process = thread.process;
  if (absolute == "/proc/self") {
    target = std::to_string(process.pid);
    return true;
  }
  if (absolute == "/proc/thread-self") {
    target = std::to_string(process.pid) + "/task/" + std::to_string(thread.tid);
    return true;
  }
  if (absolute == "/dev/fd") {
    target = "/proc/self/fd";
    return true;
  }
  if (absolute == "/dev/stdin" || absolute == "/dev/stdout" || absolute == "/dev/stderr") {
    target = "/proc/self/fd/" + std::to_string(descriptor_path(thread, absolute));
    return true;
  }
  std::string rest;
  if (!own_proc_entry(thread, absolute, rest)) return false;
  if (rest == "exe") {
    target = process.exe;
    return true;
  }
  if (rest == "cwd") {
    target = process.fs.guest_path(process.fs.cwd()->host_fd);
    return true;
  }
  if (rest == "root") {
    target = "/";
    return true;
  }
  int guest_fd = descriptor_path(thread, absolute);
  if (guest_fd < 0) return false;
  auto file = process.files.get(guest_fd);
  if (!file) return false;
  target = process.fs.guest_path(file->host_fd);
  if (target.empty()) {
    // Pipes, sockets and anonymous files: the host's "pipe:[N]" style name is right as it is.
    char link[64], host_target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", file->host_fd);
    ssize_t length = readlink(link, host_target, sizeof host_target - 1);
    target =
        length > 0 && host_target[0] != '/' ? std::string(host_target, length) : file->guest_path;
  }
  return true;
}

}  // namespace noah::syscall
