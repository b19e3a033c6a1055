#include "translator/vfs/synthetic.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <set>

#include "translator/task/credentials.h"
#include "translator/vfs/registry.h"

// The synthesized trees are generated from the translator's own files and the host's, so their
// lookups and scratch files run with the translator's identity (task/credentials.h). The host
// devices and /dev/shm files they lead to are opened with the guest's.
namespace noah::vfs {
namespace {

std::vector<std::string> split(const std::string& absolute) {
  std::vector<std::string> parts;
  size_t at = 1;
  while (at < absolute.size()) {
    size_t slash = absolute.find('/', at);
    if (slash == std::string::npos) slash = absolute.size();
    if (slash > at) parts.push_back(absolute.substr(at, slash - at));
    at = slash + 1;
  }
  return parts;
}

std::string scratch_root() {
  std::string directory = registry::directory();
  return directory.empty() ? "" : directory + "/synthetic";
}

// Makes each missing folder of `path` below `root`; `path` is lexical, without "." or "..".
bool make_folders(const std::string& root, const std::string& path) {
  if (mkdir(root.c_str(), 0700) < 0 && errno != EEXIST) return false;
  size_t at = 1;
  while (at <= path.size()) {
    size_t slash = path.find('/', at);
    if (slash == std::string::npos) slash = path.size();
    std::string prefix = root + path.substr(0, slash);
    if (mkdir(prefix.c_str(), 0755) < 0 && errno != EEXIST) return false;
    at = slash + 1;
  }
  return true;
}

}  // namespace

bool synthetic::in_tree(const std::string& absolute) {
  for (const char* top : {"/proc", "/sys", "/dev"}) {
    size_t length = strlen(top);
    if (absolute.compare(0, length, top) == 0 &&
        (absolute.size() == length || absolute[length] == '/')) {
      return true;
    }
  }
  return false;
}

std::optional<Node> synthetic::lookup(Thread& thread, const std::string& absolute, int flags) {
  if (!in_tree(absolute)) return std::nullopt;
  credentials::OwnIdentity own_identity;
  std::vector<std::string> parts = split(absolute);
  std::string top = parts[0];
  parts.erase(parts.begin());
  if (top == "proc") return procfs::lookup(thread, parts);
  if (top == "sys") return sysfs::lookup(parts);
  return devfs::lookup(thread, parts, flags);
}

bool synthetic::list(Thread& thread, const std::string& absolute,
                     std::vector<DirectoryEntry>& entries) {
  if (!in_tree(absolute)) return false;
  credentials::OwnIdentity own_identity;
  std::vector<std::string> parts = split(absolute);
  std::string top = parts[0];
  parts.erase(parts.begin());
  entries = {{".", DT_DIR}, {"..", DT_DIR}};
  if (top == "proc") return procfs::list(thread, parts, entries);
  if (top == "sys") return sysfs::list(parts, entries);
  return devfs::list(thread, parts, entries);
}

int synthetic::open_directory(const std::string& absolute, int flags) {
  credentials::OwnIdentity own_identity;
  std::string root = scratch_root();
  if (root.empty()) return -EIO;
  std::string path = root + absolute;
  int open_flags = O_DIRECTORY | O_CLOEXEC | ((flags & O_PATH) ? O_PATH : O_RDONLY);
  int fd = open(path.c_str(), open_flags);
  if (fd < 0 && errno == ENOENT && make_folders(root, absolute))
    fd = open(path.c_str(), open_flags);
  return fd < 0 ? -errno : fd;
}

bool synthetic::is_scratch_directory(int host_fd) {
  credentials::OwnIdentity own_identity;
  std::string root = scratch_root();
  if (root.empty()) return false;
  char link[64], target[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", host_fd);
  ssize_t length = readlink(link, target, sizeof target - 1);
  if (length <= 0) return false;
  std::string path(target, static_cast<size_t>(length));
  return path.compare(0, root.size(), root) == 0 &&
         (path.size() == root.size() || path[root.size()] == '/');
}

int synthetic::symlink_descriptor(const std::string& target) {
  credentials::OwnIdentity own_identity;
  std::string root = scratch_root();
  if (root.empty() || !make_folders(root, "/links")) return -EIO;
  static std::atomic<uint64_t> counter{0};
  std::string path =
      root + "/links/" + std::to_string(getpid()) + "-" + std::to_string(counter.fetch_add(1));
  if (symlink(target.c_str(), path.c_str()) < 0) return -errno;
  int fd = open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  int error = errno;
  // The descriptor keeps the symlink's inode; the name is no longer needed.
  unlink(path.c_str());
  return fd < 0 ? -error : fd;
}

std::string synthetic::shm_directory() {
  credentials::OwnIdentity own_identity;
  std::string directory = registry::directory();
  if (directory.empty()) return "";
  std::string shm = directory + "/shm";
  if (mkdir(shm.c_str(), 01777) < 0 && errno != EEXIST) return "";
  return shm;
}

std::optional<Node> static_lookup(const StaticFile* files, size_t count,
                                  const std::vector<std::string>& parts) {
  std::string path;
  for (const auto& part : parts) {
    if (!path.empty()) path += '/';
    path += part;
  }
  for (size_t i = 0; i < count; i++) {
    const StaticFile& file = files[i];
    if (path == file.path) {
      Node node;
      if (file.host_path != nullptr) {
        node.type = Node::Type::kFile;
        node.text = read_host_file(file.host_path);
      } else if (file.generate != nullptr) {
        node.type = Node::Type::kFile;
        node.text = file.generate();
      } else {
        node.type = Node::Type::kDirectory;
      }
      return node;
    }
    if (path.empty() ||
        (strncmp(file.path, path.c_str(), path.size()) == 0 && file.path[path.size()] == '/')) {
      Node node;
      node.type = Node::Type::kDirectory;
      return node;
    }
  }
  return std::nullopt;
}

bool static_list(const StaticFile* files, size_t count, const std::vector<std::string>& parts,
                 std::vector<DirectoryEntry>& entries) {
  std::string path;
  for (const auto& part : parts) path += part + "/";
  std::set<std::string> seen;
  bool found = path.empty();
  for (size_t i = 0; i < count; i++) {
    std::string file = files[i].path;
    if (file + "/" == path) found = true;
    if (file.compare(0, path.size(), path) != 0 || file.size() == path.size()) continue;
    found = true;
    std::string rest = file.substr(path.size());
    size_t slash = rest.find('/');
    std::string name = rest.substr(0, slash);
    if (!seen.insert(name).second) continue;
    bool directory = slash != std::string::npos ||
                     (files[i].host_path == nullptr && files[i].generate == nullptr);
    entries.push_back({name, static_cast<unsigned char>(directory ? DT_DIR : DT_REG)});
  }
  return found;
}

std::string read_host_file(const std::string& path) {
  credentials::OwnIdentity own_identity;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string text;
  char buffer[8192];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || text.size() > (4u << 20)) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return text;
}

}  // namespace noah::vfs
