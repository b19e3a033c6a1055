// The guest's /dev: the host's character devices that every container has, pseudo-terminals
// from the host's devpts, the standard descriptor links, and /dev/shm in the container
// directory. Names not synthesized here come from the root's own /dev folder.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "translator/task/process.h"
#include "translator/vfs/synthetic.h"

namespace noah::vfs::devfs {
namespace {

// Devices opened as the host's own; their stat shows Linux's major and minor numbers.
constexpr const char* kHostDevices[] = {"null", "zero", "full", "random", "urandom", "tty", "ptmx"};

struct Link {
  const char* name;
  const char* target;
};
constexpr Link kLinks[] = {{"fd", "/proc/self/fd"},
                           {"stdin", "/proc/self/fd/0"},
                           {"stdout", "/proc/self/fd/1"},
                           {"stderr", "/proc/self/fd/2"}};

bool all_digits(const std::string& text) {
  return !text.empty() && text.size() <= 9 &&
         text.find_first_not_of("0123456789") == std::string::npos;
}

Node make(Node::Type type, std::string text = "") {
  Node node;
  node.type = type;
  node.text = std::move(text);
  return node;
}

std::optional<Node> lookup_top(const std::string& name, bool more, int flags) {
  for (const char* device : kHostDevices) {
    if (name == device && !more)
      return make(Node::Type::kHostDevice, std::string("/dev/") + device);
  }
  if (name == "console" && !more) {
    // The container's console is the controlling terminal. Its stat is the host's console
    // node (5, 1), which an O_PATH open reaches without opening the device.
    return make(Node::Type::kHostDevice, (flags & O_PATH) ? "/dev/console" : "/dev/tty");
  }
  for (const Link& link : kLinks) {
    if (name == link.name) {
      Node node = make(Node::Type::kSymlink, link.target);
      node.through = more;
      return node;
    }
  }
  if (name == "pts" || name == "mqueue") return make(Node::Type::kDirectory);
  return std::nullopt;
}

}  // namespace

std::optional<Node> lookup(Thread&, const std::vector<std::string>& parts, int flags) {
  if (parts.empty()) return make(Node::Type::kDirectory);
  const std::string& name = parts[0];
  if (name == "shm") {
    std::string rest;
    for (size_t i = 1; i < parts.size(); i++) {
      if (!rest.empty()) rest += '/';
      rest += parts[i];
    }
    return make(Node::Type::kShm, rest);
  }
  if (name == "fd" && parts.size() > 1) {
    Node node = make(Node::Type::kSymlink, "/proc/self/fd/" + parts[1]);
    node.through = true;
    for (size_t i = 2; i < parts.size(); i++) node.text += "/" + parts[i];
    return node;
  }
  if (name == "pts" && parts.size() == 2 && (parts[1] == "ptmx" || all_digits(parts[1]))) {
    return make(Node::Type::kHostDevice, "/dev/pts/" + parts[1]);
  }
  if (name == "pts" && parts.size() > 1) return make(Node::Type::kError);
  if (name == "mqueue" && parts.size() > 1) return make(Node::Type::kError);
  return lookup_top(name, parts.size() > 1, flags);
}

bool list(Thread& thread, const std::vector<std::string>& parts,
          std::vector<DirectoryEntry>& entries) {
  if (parts.size() == 1 && parts[0] == "mqueue") return true;
  if (parts.size() == 1 && parts[0] == "pts") {
    entries.push_back({"ptmx", DT_CHR});
    // NOTE: the host's devpts is shared, so only the terminals of this host user are listed,
    // not only the container's.
    DIR* dir = opendir("/dev/pts");
    if (dir == nullptr) return true;
    while (dirent* entry = readdir(dir)) {
      struct stat status;
      if (!all_digits(entry->d_name) || fstatat(dirfd(dir), entry->d_name, &status, 0) < 0 ||
          status.st_uid != geteuid()) {
        continue;
      }
      entries.push_back({entry->d_name, DT_CHR});
    }
    closedir(dir);
    return true;
  }
  if (!parts.empty()) return false;
  std::set<std::string> names;
  for (const char* device : kHostDevices) entries.push_back({device, DT_CHR});
  entries.push_back({"console", DT_CHR});
  for (const Link& link : kLinks) entries.push_back({link.name, DT_LNK});
  for (const char* folder : {"pts", "shm", "mqueue"}) entries.push_back({folder, DT_DIR});
  for (const auto& entry : entries) names.insert(entry.name);
  // Then whatever the root's own /dev holds.
  int fd = thread.process.fs.open(vfs::base_of(*thread.process.fs.cwd()), "/dev",
                                  O_RDONLY | O_DIRECTORY, 0);
  if (fd < 0) return true;
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    close(fd);
    return true;
  }
  while (dirent* entry = readdir(dir)) {
    if (names.insert(entry->d_name).second) entries.push_back({entry->d_name, entry->d_type});
  }
  closedir(dir);
  return true;
}

}  // namespace noah::vfs::devfs
