// The guest's /proc. This process is described from the translator's own state. The
// container's other processes are described from their records in the process directory
// (vfs/registry.h), from their guest memory (process_vm_readv, since guest addresses are host
// addresses) and from the host's /proc entry of their translator, with the guest's name and
// parent put in.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "translator/syscall/guest.h"
#include "translator/task/process.h"
#include "translator/vfs/mounts.h"
#include "translator/vfs/registry.h"
#include "translator/vfs/synthetic.h"

namespace noah::vfs::procfs {
namespace {

// The kernel release and version the guest's uname reports (syscall/process.cc).
constexpr const char* kRelease = "6.1.0-noah";
constexpr const char* kVersion = "#1 SMP PREEMPT_DYNAMIC noah";
// The most of a process's argument or environment strings /proc/PID/cmdline returns here.
constexpr uint64_t kMaxStrings = 256 * 1024;

// uname's nodename: --hostname, or the host's.
std::string hostname_text(Thread& thread) {
  const std::string& hostname = thread.process.options.hostname;
  if (!hostname.empty()) return hostname + "\n";
  utsname name{};
  if (uname(&name) < 0) return "localhost\n";
  return std::string(name.nodename) + "\n";
}
std::string no_text() {
  return "";
}
std::string domainname_text() {
  return "(none)\n";
}
std::string osrelease_text() {
  return std::string(kRelease) + "\n";
}
std::string ostype_text() {
  return "Linux\n";
}
std::string kernel_version_text() {
  return std::string(kVersion) + "\n";
}
std::string version_text() {
  return std::string("Linux version ") + kRelease + " (noah) " + kVersion + "\n";
}

// Files of /proc outside the pid directories. The host's describe the machine, which the
// container shares.
constexpr StaticFile kFiles[] = {
    {"cpuinfo", "/proc/cpuinfo", nullptr},
    {"meminfo", "/proc/meminfo", nullptr},
    {"stat", "/proc/stat", nullptr},
    {"uptime", "/proc/uptime", nullptr},
    {"loadavg", "/proc/loadavg", nullptr},
    {"filesystems", "/proc/filesystems", nullptr},
    {"swaps", "/proc/swaps", nullptr},
    {"vmstat", "/proc/vmstat", nullptr},
    {"partitions", "/proc/partitions", nullptr},
    {"diskstats", "/proc/diskstats", nullptr},
    {"version", nullptr, version_text},
    {"sys/kernel/hostname", nullptr, no_text},  // hostname_text, which needs the process
    {"sys/kernel/domainname", nullptr, domainname_text},
    {"sys/kernel/osrelease", nullptr, osrelease_text},
    {"sys/kernel/ostype", nullptr, ostype_text},
    {"sys/kernel/version", nullptr, kernel_version_text},
    {"sys/kernel/pid_max", "/proc/sys/kernel/pid_max", nullptr},
    {"sys/kernel/threads-max", "/proc/sys/kernel/threads-max", nullptr},
    {"sys/kernel/ngroups_max", "/proc/sys/kernel/ngroups_max", nullptr},
    {"sys/kernel/cap_last_cap", "/proc/sys/kernel/cap_last_cap", nullptr},
    {"sys/kernel/overflowuid", "/proc/sys/kernel/overflowuid", nullptr},
    {"sys/kernel/overflowgid", "/proc/sys/kernel/overflowgid", nullptr},
    {"sys/kernel/random/boot_id", "/proc/sys/kernel/random/boot_id", nullptr},
    {"sys/kernel/random/uuid", "/proc/sys/kernel/random/uuid", nullptr},
    {"sys/kernel/random/entropy_avail", "/proc/sys/kernel/random/entropy_avail", nullptr},
    {"sys/kernel/random/poolsize", "/proc/sys/kernel/random/poolsize", nullptr},
    {"sys/vm/overcommit_memory", "/proc/sys/vm/overcommit_memory", nullptr},
    {"sys/vm/max_map_count", "/proc/sys/vm/max_map_count", nullptr},
    {"sys/fs/file-max", "/proc/sys/fs/file-max", nullptr},
    {"sys/fs/nr_open", "/proc/sys/fs/nr_open", nullptr},
    {"sys/net/core/somaxconn", "/proc/sys/net/core/somaxconn", nullptr},
    // The container shares the host's network, so its interfaces, sockets and routes.
    {"net/dev", "/proc/net/dev", nullptr},
    {"net/if_inet6", "/proc/net/if_inet6", nullptr},
    {"net/route", "/proc/net/route", nullptr},
    {"net/ipv6_route", "/proc/net/ipv6_route", nullptr},
    {"net/arp", "/proc/net/arp", nullptr},
    {"net/tcp", "/proc/net/tcp", nullptr},
    {"net/tcp6", "/proc/net/tcp6", nullptr},
    {"net/udp", "/proc/net/udp", nullptr},
    {"net/udp6", "/proc/net/udp6", nullptr},
    {"net/unix", "/proc/net/unix", nullptr},
    {"net/snmp", "/proc/net/snmp", nullptr},
    {"net/netstat", "/proc/net/netstat", nullptr},
    {"net/sockstat", "/proc/net/sockstat", nullptr},
};
constexpr size_t kFileCount = sizeof kFiles / sizeof kFiles[0];

// Files of each /proc/PID and /proc/PID/task/TID directory.
constexpr const char* kPidFiles[] = {"cmdline", "comm",      "environ",      "stat",   "statm",
                                     "status",  "maps",      "mounts",       "limits", "cgroup",
                                     "io",      "mountinfo", "oom_score_adj"};
constexpr const char* kPidLinks[] = {"exe", "cwd", "root"};

// The process a /proc/PID directory describes.
struct Target {
  pid_t pid = 0;
  pid_t tid = 0;                                  // the thread of a task/TID path; pid otherwise
  Thread* thread = nullptr;                       // this process: the thread described
  std::optional<registry::ProcessRecord> record;  // another process of the container
  bool own() const { return thread != nullptr; }
};

Node make(Node::Type type, std::string text = "", int number = -ENOENT) {
  Node node;
  node.type = type;
  node.text = std::move(text);
  node.number = number;
  return node;
}

// Parses a decimal pid; 0 when `text` is not one.
pid_t parse_pid(const std::string& text) {
  if (text.empty() || text.size() > 9 || text[0] == '0' ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return 0;
  }
  return static_cast<pid_t>(atoi(text.c_str()));
}

Thread* own_thread(Thread& caller, pid_t tid) {
  if (tid == caller.tid) return &caller;
  for (Thread* thread : caller.process.live_thread_list()) {
    if (thread->tid == tid) return thread;
  }
  return nullptr;
}

// Resolves the PID component; false when no process of the container has that id.
bool resolve(Thread& caller, pid_t pid, Target& target) {
  if (pid == 0) return false;
  target.pid = pid;
  target.tid = pid;
  if (pid == caller.process.pid) {
    Thread* main = caller.process.main_thread;
    target.thread = main != nullptr && !main->exited ? main : &caller;
    return true;
  }
  // Linux also resolves /proc/TID for a thread that is not a process leader.
  if (Thread* thread = own_thread(caller, pid)) {
    target.pid = caller.process.pid;
    target.thread = thread;
    return true;
  }
  target.record = registry::find(pid);
  return target.record.has_value();
}

// The thread ids of another process of the container. KVM adds a kernel worker thread
// ("kvm-nx-lpage-recovery") to each process with a VM, which is the translator's, not the
// guest's.
std::vector<std::string> guest_tasks(pid_t pid) {
  std::vector<std::string> tids;
  std::string folder = "/proc/" + std::to_string(pid) + "/task";
  DIR* dir = opendir(folder.c_str());
  if (dir == nullptr) return tids;
  while (dirent* entry = readdir(dir)) {
    if (parse_pid(entry->d_name) == 0) continue;
    std::string comm = read_host_file(folder + "/" + entry->d_name + "/comm");
    if (comm.compare(0, 4, "kvm-") != 0) tids.push_back(entry->d_name);
  }
  closedir(dir);
  return tids;
}

std::string host_path(const Target& target, const std::string& file) {
  std::string path = "/proc/" + std::to_string(target.pid);
  if (target.tid != target.pid) path += "/task/" + std::to_string(target.tid);
  return path + "/" + file;
}

std::string comm_of(const Target& target) {
  return target.own() ? target.thread->process.comm : target.record->comm;
}

// The guest's parent: the host parent when it belongs to the container, else 0, as for a
// container's first process.
pid_t guest_parent(pid_t pid) {
  pid_t parent;
  uint64_t start_time;
  if (!registry::host_stat(pid, parent, start_time)) return 0;
  return registry::contains(parent) ? parent : 0;
}

uint64_t guest_size(Process& process) {
  uint64_t size = 0;
  for (const mm::Vma& vma : process.mm.snapshot()) size += vma.end - vma.start;
  return size;
}

std::vector<std::string> split_fields(const std::string& text) {
  std::vector<std::string> fields;
  std::istringstream stream(text);
  for (std::string field; stream >> field;) fields.push_back(field);
  return fields;
}

std::string join_fields(const std::vector<std::string>& fields) {
  std::string text;
  for (const auto& field : fields) {
    if (!text.empty()) text += ' ';
    text += field;
  }
  return text;
}

// /proc/PID/stat: the host's line for the translator, with the guest's name and parent, and
// for this process its thread count and mapped size.
std::string stat_text(const Target& target) {
  std::string host = read_host_file(host_path(target, "stat"));
  size_t close = host.rfind(')');
  if (close == std::string::npos) return "";
  std::vector<std::string> fields = split_fields(host.substr(close + 1));
  // fields[0] is field 3 of proc(5): state. Field N is fields[N - 3].
  if (fields.size() < 21) return "";
  fields[1] = std::to_string(guest_parent(target.pid));
  if (target.own()) {
    Process& process = target.thread->process;
    fields[17] = std::to_string(process.live_threads.load());
    fields[20] = std::to_string(guest_size(process));
  } else {
    // NOTE: vsize and rss of another process are its translator's, guest memory included.
    fields[17] = std::to_string(guest_tasks(target.pid).size());
  }
  return std::to_string(target.tid) + " (" + comm_of(target) + ") " + join_fields(fields) + "\n";
}

std::string statm_text(const Target& target) {
  std::vector<std::string> fields = split_fields(read_host_file(host_path(target, "statm")));
  if (target.own() && !fields.empty()) {
    fields[0] = std::to_string(guest_size(target.thread->process) / sysconf(_SC_PAGESIZE));
  }
  return join_fields(fields) + "\n";
}

std::string ids_line(const char* key, const uint32_t ids[4]) {
  char line[96];
  snprintf(line, sizeof line, "%s:\t%u\t%u\t%u\t%u\n", key, ids[0], ids[1], ids[2], ids[3]);
  return line;
}

std::string hex_line(const char* key, uint64_t value) {
  char line[64];
  snprintf(line, sizeof line, "%s:\t%016llx\n", key, static_cast<unsigned long long>(value));
  return line;
}

// The status lines that come from the translator's state for this process.
std::string own_status_line(const Target& target, const std::string& key) {
  Thread& thread = *target.thread;
  Process& process = thread.process;
  if (key == "Umask") {
    char line[32];
    snprintf(line, sizeof line, "Umask:\t%04o\n", static_cast<unsigned>(process.fs.umask));
    return line;
  }
  if (key == "Threads") return "Threads:\t" + std::to_string(process.live_threads.load()) + "\n";
  if (key == "VmSize") return "VmSize:\t" + std::to_string(guest_size(process) / 1024) + " kB\n";
  if (key == "SigBlk") return hex_line("SigBlk", thread.signal_mask);
  if (key == "SigIgn" || key == "SigCgt") {
    uint64_t ignored = 0, caught = 0;
    for (int signal = 1; signal < static_cast<int>(process.signal_actions.size()); signal++) {
      uint64_t handler = process.signal_actions[signal].handler;
      if (handler == 1) ignored |= 1ull << (signal - 1);
      if (handler > 1) caught |= 1ull << (signal - 1);
    }
    return hex_line(key.c_str(), key == "SigIgn" ? ignored : caught);
  }
  return "";
}

// /proc/PID/status: the host's lines for the translator with the guest's name, parent,
// credentials and (for this process) signal state and mapped size put in.
std::string status_text(const Target& target) {
  uint32_t uid[4], gid[4];
  std::string groups;
  if (target.own()) {
    const Credentials c = target.thread->process.credentials.get();
    uint32_t own_uid[4] = {c.uid, c.euid, c.suid, c.fsuid};
    uint32_t own_gid[4] = {c.gid, c.egid, c.sgid, c.fsgid};
    std::copy(own_uid, own_uid + 4, uid);
    std::copy(own_gid, own_gid + 4, gid);
    for (gid_t group : c.groups) groups += std::to_string(group) + " ";
  } else {
    std::copy(target.record->uid, target.record->uid + 4, uid);
    std::copy(target.record->gid, target.record->gid + 4, gid);
    for (uint32_t group : target.record->groups) groups += std::to_string(group) + " ";
  }
  std::istringstream host(read_host_file(host_path(target, "status")));
  std::string text;
  for (std::string line; std::getline(host, line);) {
    std::string key = line.substr(0, line.find(':'));
    std::string own = target.own() ? own_status_line(target, key) : "";
    if (!own.empty()) {
      text += own;
    } else if (key == "Name") {
      text += "Name:\t" + comm_of(target) + "\n";
    } else if (key == "Umask") {
      // Another translator's host umask is 0, which is not the guest's; leave it out.
    } else if (key == "PPid") {
      text += "PPid:\t" + std::to_string(guest_parent(target.pid)) + "\n";
    } else if (key == "Threads") {
      text += "Threads:\t" + std::to_string(guest_tasks(target.pid).size()) + "\n";
    } else if (key == "TracerPid") {
      text += "TracerPid:\t0\n";
    } else if (key == "Uid") {
      text += ids_line("Uid", uid);
    } else if (key == "Gid") {
      text += ids_line("Gid", gid);
    } else if (key == "Groups") {
      text += "Groups:\t" + groups + "\n";
    } else {
      text += line + "\n";
    }
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

// Reads [start, end) of the guest memory of another process of the container. False when the
// host does not allow it or the range is gone.
bool read_remote(pid_t pid, uint64_t start, uint64_t end, std::string& out) {
  if (end <= start || end - start > kMaxStrings) return false;
  out.resize(end - start);
  iovec local{out.data(), out.size()};
  iovec remote{reinterpret_cast<void*>(start), out.size()};
  ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
  if (n != static_cast<ssize_t>(out.size())) return false;
  return true;
}

// /proc/PID/cmdline (`environment` false) or environ: the strings as they are now in the
// program's memory, which a program may rewrite, or as they were at execve.
std::string strings_text(Thread& caller, const Target& target, bool environment) {
  std::string text;
  if (target.own()) {
    uint64_t areas[4];
    registry::string_areas(areas);
    uint64_t start = areas[environment ? 2 : 0], end = areas[environment ? 3 : 1];
    if (end > start && end - start <= kMaxStrings) {
      text.resize(end - start);
      if (syscall::copy_from_guest(caller, text.data(), start, text.size())) return text;
    }
    Process& process = target.thread->process;
    return joined(environment ? process.envp : process.argv);
  }
  const registry::ProcessRecord& record = *target.record;
  uint64_t start = environment ? record.env_start : record.arg_start;
  uint64_t end = environment ? record.env_end : record.arg_end;
  if (read_remote(record.pid, start, end, text)) return text;
  return environment ? record.envp : record.argv;
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

std::string fdinfo_text(Process& process, int fd) {
  auto file = process.files.get(fd);
  if (!file) return "";
  off_t position = lseek(file->host_fd, 0, SEEK_CUR);
  int flags = fcntl(file->host_fd, F_GETFL);
  struct stat status {};
  fstat(file->host_fd, &status);
  if (flags < 0) flags = 0;
  if (process.files.cloexec(fd)) flags |= O_CLOEXEC;
  char text[160];
  snprintf(text, sizeof text, "pos:\t%lld\nflags:\t0%o\nmnt_id:\t21\nino:\t%llu\n",
           static_cast<long long>(position < 0 ? 0 : position), static_cast<unsigned>(flags),
           static_cast<unsigned long long>(status.st_ino));
  return text;
}

std::string cwd_of(const Target& target) {
  if (!target.own()) return target.record->cwd;
  vfs::Filesystem& fs = target.thread->process.fs;
  std::string path = fs.guest_path(fs.cwd()->host_fd);
  return path.empty() ? fs.cwd()->guest_path : path;
}

std::string mounts_of(Thread& caller, bool info) {
  vfs::Filesystem& fs = caller.process.fs;
  std::vector<MountEntry> table;
  for (const vfs::Mount& mount : fs.mounts()) {
    table.push_back({mount.type, mount.source, mount.target, mount.read_only});
  }
  return mounts_text(table, fs.root_fd(), fs.read_only, info);
}

std::optional<Node> file_node(Thread& caller, const Target& target, const std::string& name) {
  if (name == "stat") return make(Node::Type::kFile, stat_text(target));
  if (name == "statm") return make(Node::Type::kFile, statm_text(target));
  if (name == "status") return make(Node::Type::kFile, status_text(target));
  if (name == "cmdline") return make(Node::Type::kFile, strings_text(caller, target, false));
  if (name == "environ") return make(Node::Type::kFile, strings_text(caller, target, true));
  if (name == "comm") return make(Node::Type::kFile, comm_of(target) + "\n");
  if (name == "mounts") return make(Node::Type::kFile, mounts_of(caller, false));
  if (name == "mountinfo") return make(Node::Type::kFile, mounts_of(caller, true));
  if (name == "cgroup") return make(Node::Type::kFile, "0::/\n");
  if (name == "limits" || name == "io" || name == "oom_score_adj") {
    return make(Node::Type::kFile, read_host_file(host_path(target, name)));
  }
  if (name == "maps") {
    // TODO: another process's guest mappings are not published; Linux would show them to a
    // process that may ptrace it.
    if (!target.own()) return make(Node::Type::kError, "", -EACCES);
    return make(Node::Type::kFile, maps_text(target.thread->process));
  }
  return std::nullopt;
}

// fd/ and fdinfo/ entries of this process.
std::optional<Node> descriptor_node(const Target& target, const std::vector<std::string>& parts,
                                    size_t at) {
  // TODO: another process's descriptor table is not published, so its fd/ is not readable.
  if (!target.own()) return make(Node::Type::kError, "", -EACCES);
  if (parts.size() == at + 1) return make(Node::Type::kDirectory);
  const std::string& number = parts[at + 1];
  if (number.empty() || number.size() > 9 ||
      number.find_first_not_of("0123456789") != std::string::npos) {
    return make(Node::Type::kError);
  }
  int fd = atoi(number.c_str());
  Process& process = target.thread->process;
  if (!process.files.get(fd)) return make(Node::Type::kError);
  if (parts[at] == "fdinfo") {
    if (parts.size() > at + 2) return make(Node::Type::kError, "", -ENOTDIR);
    return make(Node::Type::kFile, fdinfo_text(process, fd));
  }
  Node node = make(Node::Type::kDescriptor, "", fd);
  // /proc/self/fd/N/NAME: NAME inside the directory descriptor N is open on.
  node.through = parts.size() > at + 2;
  for (size_t i = at + 2; i < parts.size(); i++) node.text += "/" + parts[i];
  return node;
}

Node link_node(const Target& target, const std::string& name, const std::vector<std::string>& parts,
               size_t at) {
  std::string destination = name == "root"  ? "/"
                            : name == "cwd" ? cwd_of(target)
                            : target.own()  ? target.thread->process.exe
                                            : target.record->exe;
  Node node = make(Node::Type::kSymlink, destination);
  if (parts.size() > at + 1) {
    node.through = true;
    for (size_t i = at + 1; i < parts.size(); i++) {
      if (node.text.empty() || node.text.back() != '/') node.text += '/';
      node.text += parts[i];
    }
  }
  return node;
}

// parts[at..] below a /proc/PID or /proc/PID/task/TID directory.
std::optional<Node> pid_lookup(Thread& caller, Target& target,
                               const std::vector<std::string>& parts, size_t at) {
  if (parts.size() == at) return make(Node::Type::kDirectory);
  const std::string& name = parts[at];
  for (const char* link : kPidLinks) {
    if (name == link) return link_node(target, name, parts, at);
  }
  if (name == "fd" || name == "fdinfo") return descriptor_node(target, parts, at);
  if (name == "task" && target.tid == target.pid && at == 1) {
    if (parts.size() == 2) return make(Node::Type::kDirectory);
    pid_t tid = parse_pid(parts[2]);
    bool found =
        target.own()
            ? own_thread(caller, tid) != nullptr
            : access(
                  ("/proc/" + std::to_string(target.pid) + "/task/" + std::to_string(tid)).c_str(),
                  F_OK) == 0;
    if (tid == 0 || !found) return make(Node::Type::kError);
    target.tid = tid;
    if (target.own()) target.thread = own_thread(caller, tid);
    return pid_lookup(caller, target, parts, 3);
  }
  if (parts.size() > at + 1) return make(Node::Type::kError, "", -ENOTDIR);
  std::optional<Node> file = file_node(caller, target, name);
  return file ? file : make(Node::Type::kError);
}

void pid_list(bool task_level, std::vector<DirectoryEntry>& entries) {
  for (const char* file : kPidFiles) entries.push_back({file, DT_REG});
  for (const char* link : kPidLinks) entries.push_back({link, DT_LNK});
  entries.push_back({"fd", DT_DIR});
  entries.push_back({"fdinfo", DT_DIR});
  if (!task_level) entries.push_back({"task", DT_DIR});
}

void task_list(Thread& caller, const Target& target, std::vector<DirectoryEntry>& entries) {
  if (target.own()) {
    for (Thread* thread : caller.process.live_thread_list()) {
      entries.push_back({std::to_string(thread->tid), DT_DIR});
    }
    return;
  }
  for (const std::string& tid : guest_tasks(target.pid)) entries.push_back({tid, DT_DIR});
}

}  // namespace

std::optional<Node> lookup(Thread& thread, const std::vector<std::string>& parts) {
  if (parts.empty()) return make(Node::Type::kDirectory);
  std::string pid_text = std::to_string(thread.process.pid);
  const std::string& first = parts[0];
  if (parts.size() == 1 && first == "self") return make(Node::Type::kSymlink, pid_text);
  if (parts.size() == 1 && first == "thread-self") {
    return make(Node::Type::kSymlink, pid_text + "/task/" + std::to_string(thread.tid));
  }
  if (parts.size() == 1 && first == "mounts") return make(Node::Type::kSymlink, "self/mounts");
  Target target;
  if (first == "self" || first == "thread-self") {
    resolve(thread, thread.process.pid, target);
    if (first == "thread-self") {
      target.tid = thread.tid;
      target.thread = &thread;
    }
    return pid_lookup(thread, target, parts, 1);
  }
  if (pid_t pid = parse_pid(first)) {
    if (!resolve(thread, pid, target)) return make(Node::Type::kError);
    return pid_lookup(thread, target, parts, 1);
  }
  if (parts.size() == 3 && parts[0] == "sys" && parts[1] == "kernel" && parts[2] == "hostname") {
    return make(Node::Type::kFile, hostname_text(thread));
  }
  std::optional<Node> node = static_lookup(kFiles, kFileCount, parts);
  return node ? node : make(Node::Type::kError);
}

bool list(Thread& thread, const std::vector<std::string>& given,
          std::vector<DirectoryEntry>& entries) {
  // A directory opened as /proc/self/ or /proc/thread-self/ is the one the link leads to.
  std::vector<std::string> parts = given;
  if (!parts.empty() && (parts[0] == "self" || parts[0] == "thread-self")) {
    bool thread_self = parts[0] == "thread-self";
    parts[0] = std::to_string(thread.process.pid);
    if (thread_self) parts.insert(parts.begin() + 1, {"task", std::to_string(thread.tid)});
  }
  if (parts.empty()) {
    for (pid_t pid : registry::pids()) entries.push_back({std::to_string(pid), DT_DIR});
    entries.push_back({"self", DT_LNK});
    entries.push_back({"thread-self", DT_LNK});
    entries.push_back({"mounts", DT_LNK});
    return static_list(kFiles, kFileCount, parts, entries);
  }
  std::optional<Node> node = lookup(thread, parts);
  if (!node || node->type != Node::Type::kDirectory) return false;
  if (parts[0] == "sys" || parts[0] == "net")
    return static_list(kFiles, kFileCount, parts, entries);
  Target target;
  if (!resolve(thread, parse_pid(parts[0]), target)) return false;
  const std::string& last = parts.back();
  bool task_level = parts.size() >= 3 && parts[1] == "task";
  if (parts.size() == 1 || (task_level && parts.size() == 3)) {
    pid_list(task_level, entries);
  } else if (parts.size() == 2 && last == "task") {
    task_list(thread, target, entries);
  } else if (last == "fd" || last == "fdinfo") {
    unsigned char type = last == "fd" ? DT_LNK : DT_REG;
    for (int fd : thread.process.files.open_descriptors()) {
      entries.push_back({std::to_string(fd), type});
    }
  }
  return true;
}

}  // namespace noah::vfs::procfs
