#include "translator/vfs/registry.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <new>

#include "translator/task/credentials.h"
#include "translator/task/process.h"
#include "translator/util/log.h"

namespace noah::vfs::registry {
namespace {

// A record is a few kilobytes; anything larger is not one of ours.
constexpr size_t kMaxRecordSize = 1 << 20;
// The argument and environment copies are kept to this size each.
constexpr size_t kMaxStringsCopy = 64 * 1024;

constexpr const char* kPrivatePrefix = "noah-container-";

std::optional<ProcessRecord> find_in(const std::string& directory, pid_t pid);
void remove_abandoned(const std::string& base);

struct State {
  std::string directory;  // "" until configured or made
  bool private_directory = true;
  uint64_t arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
  pid_t start_time_pid = 0;  // the pid start_time belongs to; a forked child reads its own
  uint64_t start_time = 0;
  bool warned = false;
  bool published = false;  // whether this process's record exists
};

State state;
// Guards `state` between the threads of this process, which also share the temporary record
// name. Recursive because prepare_fork publishes and pids() finds.
std::recursive_mutex state_mutex;

void warn_once(const char* what, int error) {
  if (state.warned) return;
  state.warned = true;
  log::error("process directory %s: %s: %s", state.directory.c_str(), what, strerror(error));
}

bool write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Reads a whole file of at most `limit` bytes; false when it cannot be read.
bool read_file(const std::string& path, std::string& out, size_t limit) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out.clear();
  char buffer[8192];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || out.size() + static_cast<size_t>(n) > limit) {
      close(fd);
      return n == 0;
    }
    out.append(buffer, static_cast<size_t>(n));
  }
}

// Fields are "KEY LENGTH\nVALUE\n", so values may contain any byte.
void add_field(std::string& text, const char* key, const std::string& value) {
  text += key;
  text += ' ';
  text += std::to_string(value.size());
  text += '\n';
  text += value;
  text += '\n';
}

std::string numbers(const uint32_t* values, size_t count) {
  std::string text;
  for (size_t i = 0; i < count; i++) {
    if (i > 0) text += ' ';
    text += std::to_string(values[i]);
  }
  return text;
}

std::string joined(const std::vector<std::string>& values) {
  std::string text;
  for (const auto& value : values) {
    if (text.size() + value.size() + 1 > kMaxStringsCopy) break;
    text += value;
    text += '\0';
  }
  return text;
}

uint64_t own_start_time() {
  pid_t pid = getpid();
  if (state.start_time_pid != pid) {
    pid_t parent;
    if (!host_stat(pid, parent, state.start_time)) state.start_time = 0;
    state.start_time_pid = pid;
  }
  return state.start_time;
}

std::string record_text(Process& process) {
  const Credentials c = process.credentials.get();
  uint32_t uid[4] = {c.uid, c.euid, c.suid, c.fsuid};
  uint32_t gid[4] = {c.gid, c.egid, c.sgid, c.fsgid};
  std::string cwd = process.fs.guest_path(process.fs.cwd()->host_fd);
  if (cwd.empty()) cwd = process.fs.cwd()->guest_path;
  std::string groups;
  for (gid_t group : c.groups) {
    if (!groups.empty()) groups += ' ';
    groups += std::to_string(group);
  }
  char areas[128];
  snprintf(areas, sizeof areas, "%llu %llu %llu %llu",
           static_cast<unsigned long long>(state.arg_start),
           static_cast<unsigned long long>(state.arg_end),
           static_cast<unsigned long long>(state.env_start),
           static_cast<unsigned long long>(state.env_end));
  std::string text;
  add_field(text, "start_time", std::to_string(own_start_time()));
  add_field(text, "exe", process.exe);
  add_field(text, "comm", process.comm);
  add_field(text, "cwd", cwd);
  add_field(text, "uid", numbers(uid, 4));
  add_field(text, "gid", numbers(gid, 4));
  add_field(text, "groups", groups);
  add_field(text, "areas", areas);
  add_field(text, "argv", joined(process.argv));
  add_field(text, "envp", joined(process.envp));
  return text;
}

// Parses space-separated unsigned numbers into `out`; false on anything else.
bool parse_numbers(const std::string& text, std::vector<uint64_t>& out) {
  out.clear();
  const char* p = text.c_str();
  while (*p != '\0') {
    if (*p == ' ') {
      p++;
      continue;
    }
    char* end;
    errno = 0;
    unsigned long long value = strtoull(p, &end, 10);
    if (end == p || errno != 0) return false;
    out.push_back(value);
    p = end;
  }
  return true;
}

bool assign_field(ProcessRecord& record, const std::string& key, const std::string& value) {
  std::vector<uint64_t> values;
  if (key == "exe") {
    record.exe = value;
  } else if (key == "comm") {
    record.comm = value;
  } else if (key == "cwd") {
    record.cwd = value;
  } else if (key == "argv") {
    record.argv = value;
  } else if (key == "envp") {
    record.envp = value;
  } else if (!parse_numbers(value, values)) {
    return false;
  } else if (key == "start_time" && values.size() == 1) {
    record.start_time = values[0];
  } else if ((key == "uid" || key == "gid") && values.size() == 4) {
    uint32_t* ids = key == "uid" ? record.uid : record.gid;
    for (int i = 0; i < 4; i++) ids[i] = static_cast<uint32_t>(values[i]);
  } else if (key == "groups") {
    for (uint64_t group : values) record.groups.push_back(static_cast<uint32_t>(group));
  } else if (key == "areas" && values.size() == 4) {
    record.arg_start = values[0];
    record.arg_end = values[1];
    record.env_start = values[2];
    record.env_end = values[3];
  }
  return true;
}

bool parse_record(const std::string& text, ProcessRecord& record) {
  size_t at = 0;
  while (at < text.size()) {
    size_t space = text.find(' ', at);
    size_t newline = text.find('\n', at);
    if (space == std::string::npos || newline == std::string::npos || space > newline) return false;
    std::string key = text.substr(at, space - at);
    std::string length_text = text.substr(space + 1, newline - space - 1);
    char* end;
    unsigned long long length = strtoull(length_text.c_str(), &end, 10);
    if (length_text.empty() || *end != '\0' || length > text.size() - newline - 1) return false;
    std::string value = text.substr(newline + 1, length);
    at = newline + 1 + length;
    if (at >= text.size() || text[at] != '\n') return false;
    at++;
    if (!assign_field(record, key, value)) return false;
  }
  return true;
}

// Parses a decimal pid from a directory entry name; 0 when it is not one.
pid_t pid_of_name(const char* name) {
  if (*name < '1' || *name > '9' || strlen(name) > 9) return 0;
  for (const char* p = name; *p != '\0'; p++) {
    if (*p < '0' || *p > '9') return 0;
  }
  return static_cast<pid_t>(atoi(name));
}

bool make_directory(const std::string& path) {
  return mkdir(path.c_str(), 0700) == 0 || errno == EEXIST;
}

// Makes the private directory, once per process tree.
bool ensure_directory() {
  if (!state.directory.empty()) return true;
  if (!state.private_directory) return false;
  const char* tmp = getenv("TMPDIR");
  std::string base = tmp != nullptr && tmp[0] == '/' ? tmp : "/tmp";
  remove_abandoned(base);
  std::string pattern = base + "/" + kPrivatePrefix + "XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  if (mkdtemp(name.data()) == nullptr) {
    if (!state.warned) log::error("make %s: %s", pattern.c_str(), strerror(errno));
    state.warned = true;
    return false;
  }
  state.directory = name.data();
  if (!make_directory(state.directory + "/pids")) warn_once("make pids", errno);
  return true;
}

// Removes `name` under `parent` and everything below it; errors leave the rest in place.
void remove_tree(int parent, const char* name) {
  if (unlinkat(parent, name, 0) == 0 || errno != EISDIR) return;
  int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    close(fd);
    return;
  }
  while (dirent* entry = readdir(dir)) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    remove_tree(dirfd(dir), entry->d_name);
  }
  closedir(dir);
  unlinkat(parent, name, AT_REMOVEDIR);
}

// Removes every record in `folder` when none of their processes is alive; false, removing
// nothing, as soon as one is. A pid reused by an unrelated process counts as alive, which only
// leaves the folder for remove_abandoned.
bool remove_dead_records(const std::string& folder) {
  DIR* dir = opendir(folder.c_str());
  if (dir == nullptr) return false;
  std::vector<std::string> dead;
  bool all_dead = true;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    pid_t pid = pid_of_name(entry->d_name);
    if (pid != 0 && (kill(pid, 0) == 0 || errno != ESRCH)) {
      all_dead = false;
      break;
    }
    dead.push_back(entry->d_name);
  }
  if (all_dead) {
    for (const auto& name : dead) unlinkat(dirfd(dir), name.c_str(), 0);
  }
  closedir(dir);
  return all_dead;
}

}  // namespace

bool configure(const std::string& directory, std::string& error) {
  if (directory.empty()) return true;
  char resolved[PATH_MAX];
  if (realpath(directory.c_str(), resolved) == nullptr) {
    error = "container directory " + directory + ": " + strerror(errno);
    return false;
  }
  state.directory = resolved;
  state.private_directory = false;
  for (const char* folder : {"/pids", "/shm"}) {
    if (!make_directory(state.directory + folder)) {
      error = "make " + state.directory + folder + ": " + strerror(errno);
      return false;
    }
  }
  return true;
}

void set_string_areas(uint64_t arg_start, uint64_t arg_end, uint64_t env_start, uint64_t env_end) {
  std::lock_guard lock(state_mutex);
  state.arg_start = arg_start;
  state.arg_end = arg_end;
  state.env_start = env_start;
  state.env_end = env_end;
}

namespace {

// Reads a guest word of this process; false when the guest could not read it either.
bool read_word(Process& process, uint64_t address, uint64_t& value) {
  if (!process.mm.check(address, sizeof value, mm::kRead)) return false;
  memcpy(&value, reinterpret_cast<const void*>(address), sizeof value);
  return true;
}

// The address after the NUL that ends the guest string at `address`, or 0.
uint64_t string_end(Process& process, uint64_t address) {
  for (uint64_t at = address; at - address < kMaxStringsCopy * 4;) {
    uint64_t page_end = (at | (mm::kPageSize - 1)) + 1;
    if (!process.mm.check(at, page_end - at, mm::kRead)) return 0;
    const void* nul = memchr(reinterpret_cast<const void*>(at), 0, page_end - at);
    if (nul != nullptr) return reinterpret_cast<uint64_t>(nul) + 1;
    at = page_end;
  }
  return 0;
}

// The area from the first to the end of the last of `count` string pointers at `pointers`.
bool string_area(Process& process, uint64_t pointers, uint64_t count, uint64_t& start,
                 uint64_t& end) {
  start = end = 0;
  if (count == 0) return true;
  uint64_t last;
  if (!read_word(process, pointers, start) ||
      !read_word(process, pointers + (count - 1) * 8, last)) {
    return false;
  }
  end = string_end(process, last);
  return end > start;
}

}  // namespace

void record_program_start(Process& process, uint64_t stack_pointer) {
  // The loader has just built this stack, and no other thread runs yet.
  uint64_t argc, areas[4] = {};
  set_string_areas(0, 0, 0, 0);
  if (!read_word(process, stack_pointer, argc) || argc > (1u << 20)) return;
  uint64_t envp = stack_pointer + 8 * (argc + 2);
  uint64_t envc = 0;
  for (uint64_t pointer; read_word(process, envp + envc * 8, pointer) && pointer != 0;) {
    if (++envc > (1u << 20)) return;
  }
  if (!string_area(process, stack_pointer + 8, argc, areas[0], areas[1]) ||
      !string_area(process, envp, envc, areas[2], areas[3])) {
    return;
  }
  set_string_areas(areas[0], areas[1], areas[2], areas[3]);
}

void string_areas(uint64_t areas[4]) {
  std::lock_guard lock(state_mutex);
  areas[0] = state.arg_start;
  areas[1] = state.arg_end;
  areas[2] = state.env_start;
  areas[3] = state.env_end;
}

namespace {

// Writes the record under a temporary name and renames it into place. Returns 0, or the errno
// with `step` naming what failed.
int write_record(Process& process, const std::string& pids, const std::string& name,
                 const char*& step) {
  std::string temporary = pids + "." + name;
  int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    step = "create record";
    return errno;
  }
  bool written = write_all(fd, record_text(process));
  int error = errno;
  if (close(fd) < 0 && written) {
    written = false;
    error = errno;
  }
  step = "write record";
  if (written) {
    if (rename(temporary.c_str(), (pids + name).c_str()) == 0) return 0;
    error = errno;
    step = "rename record";
  }
  unlink(temporary.c_str());
  return error;
}

}  // namespace

void publish(Process& process) {
  credentials::OwnIdentity own_identity;  // the records are the translator's, mode 0600
  std::lock_guard lock(state_mutex);
  if (state.directory.empty()) return;
  std::string pids = state.directory + "/pids/";
  std::string name = std::to_string(getpid());
  const char* step = nullptr;
  int error = write_record(process, pids, name, step);
  if (error == ENOENT && state.private_directory) {
    // The tree's last other process removed the private directory while this one forked or
    // wrote its record.
    make_directory(state.directory);
    make_directory(pids);
    error = write_record(process, pids, name, step);
  }
  if (error != 0) return warn_once(step, error);
  state.published = true;
}

void prepare_fork(Process& process) {
  credentials::OwnIdentity own_identity;
  std::lock_guard lock(state_mutex);
  if (!ensure_directory()) return;
  // A private directory is made lazily, so this process may not have published itself yet.
  if (!state.published) publish(process);
}

void publish_forked_child(Process& process, bool vfork) {
  // The parent's threads that held these locks at the fork do not exist in the child.
  new (&state_mutex) std::recursive_mutex();
  state.published = false;
  if (!vfork) publish(process);
}

void unpublish() {
  credentials::OwnIdentity own_identity;
  std::lock_guard lock(state_mutex);
  if (state.directory.empty()) return;
  std::string pids = state.directory + "/pids";
  unlink((pids + "/" + std::to_string(getpid())).c_str());
  if (!state.private_directory) return;
  // rmdir succeeds only when no other process of the tree remains. Records of processes that
  // a signal killed stay behind, so when every other pid is gone they are removed first.
  if (rmdir(pids.c_str()) < 0 &&
      (errno != ENOTEMPTY || !remove_dead_records(pids) || rmdir(pids.c_str()) < 0)) {
    return;
  }
  size_t slash = state.directory.rfind('/');
  int parent = open(state.directory.substr(0, slash + 1).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (parent < 0) return;
  remove_tree(parent, state.directory.c_str() + slash + 1);
  close(parent);
}

std::vector<pid_t> pids() {
  credentials::OwnIdentity own_identity;
  std::lock_guard lock(state_mutex);
  std::vector<pid_t> result{getpid()};
  if (state.directory.empty()) return result;
  std::string folder = state.directory + "/pids";
  DIR* dir = opendir(folder.c_str());
  if (dir == nullptr) return result;
  while (dirent* entry = readdir(dir)) {
    pid_t pid = pid_of_name(entry->d_name);
    if (pid == 0 || pid == result[0]) continue;
    if (find(pid)) {
      result.push_back(pid);
    } else if (kill(pid, 0) < 0 && errno == ESRCH) {
      // A process that a signal killed, so it never removed its record. NOTE: should the pid be
      // reused by a new process of the container between the check and the unlink, its
      // record goes too, until it publishes again.
      unlinkat(dirfd(dir), entry->d_name, 0);
    }
  }
  closedir(dir);
  std::sort(result.begin(), result.end());
  return result;
}

std::optional<ProcessRecord> find(pid_t pid) {
  credentials::OwnIdentity own_identity;
  std::lock_guard lock(state_mutex);
  if (state.directory.empty()) return std::nullopt;
  return find_in(state.directory, pid);
}

namespace {

std::optional<ProcessRecord> find_in(const std::string& directory, pid_t pid) {
  if (pid <= 0) return std::nullopt;
  std::string text;
  if (!read_file(directory + "/pids/" + std::to_string(pid), text, kMaxRecordSize)) {
    return std::nullopt;
  }
  ProcessRecord record;
  record.pid = pid;
  if (!parse_record(text, record)) return std::nullopt;
  pid_t parent;
  uint64_t start_time;
  if (!host_stat(pid, parent, start_time) || start_time != record.start_time) return std::nullopt;
  return record;
}

// Whether a process of the private folder `directory` is alive.
bool has_live_record(const std::string& directory) {
  DIR* dir = opendir((directory + "/pids").c_str());
  if (dir == nullptr) return false;
  bool live = false;
  while (dirent* entry = readdir(dir)) {
    pid_t pid = pid_of_name(entry->d_name);
    if (pid != 0 && find_in(directory, pid)) live = true;
  }
  closedir(dir);
  return live;
}

// Removes the private folders under `base` that earlier process trees left behind when their
// last process was killed by a signal, which skips unpublish. A folder younger than a minute
// may belong to a tree that is starting and is left alone.
void remove_abandoned(const std::string& base) {
  DIR* dir = opendir(base.c_str());
  if (dir == nullptr) return;
  time_t now = time(nullptr);
  while (dirent* entry = readdir(dir)) {
    struct stat status;
    if (strncmp(entry->d_name, kPrivatePrefix, strlen(kPrivatePrefix)) != 0 ||
        fstatat(dirfd(dir), entry->d_name, &status, AT_SYMLINK_NOFOLLOW) < 0 ||
        !S_ISDIR(status.st_mode) || status.st_uid != geteuid() || now - status.st_mtime < 60) {
      continue;
    }
    if (!has_live_record(base + "/" + entry->d_name)) remove_tree(dirfd(dir), entry->d_name);
  }
  closedir(dir);
}

}  // namespace

bool contains(pid_t pid) {
  return pid == getpid() || find(pid).has_value();
}

std::string directory() {
  credentials::OwnIdentity own_identity;
  std::lock_guard lock(state_mutex);
  ensure_directory();
  return state.directory;
}

bool host_stat(pid_t pid, pid_t& parent, uint64_t& start_time) {
  credentials::OwnIdentity own_identity;
  std::string text;
  if (!read_file("/proc/" + std::to_string(pid) + "/stat", text, 4096)) return false;
  // "PID (COMM) STATE PPID ...": the name may contain spaces and parentheses.
  size_t close = text.rfind(')');
  if (close == std::string::npos) return false;
  std::vector<std::string> fields;
  size_t at = close + 2;
  while (at < text.size()) {
    size_t space = text.find(' ', at);
    if (space == std::string::npos) space = text.size();
    fields.push_back(text.substr(at, space - at));
    at = space + 1;
  }
  // fields[0] is field 3 (state); the parent is field 4 and the start time field 22.
  if (fields.size() < 20) return false;
  parent = static_cast<pid_t>(atoi(fields[1].c_str()));
  start_time = strtoull(fields[19].c_str(), nullptr, 10);
  return true;
}

}  // namespace noah::vfs::registry
