#include "translator/vfs/mounts.h"

#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include <cstdio>
#include <cstring>
#include <sstream>

#include "translator/vfs/synthetic.h"

namespace noah::vfs {
namespace {

struct Line {
  std::string source, target, type;
  std::string options;        // per-mount options, such as "rw,nosuid"
  std::string super_options;  // file system options, such as "rw,size=65536k"
  std::string root = "/";     // the folder of the file system mounted
  dev_t device;
};

// Device numbers for the synthesized file systems, which have no host device. Linux gives
// such file systems major 0; these minors are outside what a small host usually hands out.
constexpr unsigned kFirstAnonymousMinor = 200;

struct SyntheticDevice {
  const char* target;
  unsigned minor;
};
// Most specific first.
constexpr SyntheticDevice kSyntheticDevices[] = {
    {"/dev/shm", kFirstAnonymousMinor + 5},    {"/dev/pts", kFirstAnonymousMinor + 2},
    {"/dev/mqueue", kFirstAnonymousMinor + 4}, {"/dev", kFirstAnonymousMinor + 1},
    {"/proc", kFirstAnonymousMinor},           {"/sys", kFirstAnonymousMinor + 3},
};
constexpr unsigned kSyntheticDeviceCount = 6;

// Escapes spaces, tabs, newlines and backslashes as octal, as Linux does in these files.
std::string escaped(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\\') {
      char code[5];
      snprintf(code, sizeof code, "\\%03o", static_cast<unsigned char>(c));
      out += code;
    } else {
      out += c;
    }
  }
  return out;
}

// The name Linux gives the file system type of a host folder, for bind mounts.
std::string host_type(const std::string& path) {
  struct statfs status;
  if (statfs(path.c_str(), &status) < 0) return "none";
  switch (static_cast<unsigned long>(status.f_type)) {
    case 0xEF53:
      return "ext4";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x01021994:
      return "tmpfs";
    case 0x794c7630:
      return "overlay";
    case 0x6969:
      return "nfs";
    case 0x2fc12fc1:
      return "zfs";
    default:
      return "none";
  }
}

// The source field of the host's mountinfo line for `device`, such as "/dev/sda1".
std::string host_source(dev_t device) {
  std::istringstream host(read_host_file("/proc/self/mountinfo"));
  char wanted[32];
  snprintf(wanted, sizeof wanted, "%u:%u", major(device), minor(device));
  for (std::string line; std::getline(host, line);) {
    std::istringstream fields(line);
    std::string id, parent, numbers;
    fields >> id >> parent >> numbers;
    if (numbers != wanted) continue;
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string type, source;
    tail >> type >> source;
    return source;
  }
  return "none";
}

std::vector<Line> fixed_lines(int root_fd, bool read_only_root) {
  struct stat root {};
  fstat(root_fd, &root);
  const char* access = read_only_root ? "ro" : "rw";
  std::vector<Line> lines;
  lines.push_back(
      {"overlay", "/", "overlay", std::string(access) + ",relatime", access, "/", root.st_dev});
  lines.push_back({"proc", "/proc", "proc", "rw,nosuid,nodev,noexec,relatime", "rw", "/", 0});
  lines.push_back({"tmpfs", "/dev", "tmpfs", "rw,nosuid", "rw,size=65536k,mode=755", "/", 0});
  lines.push_back({"devpts", "/dev/pts", "devpts", "rw,nosuid,noexec,relatime",
                   "rw,gid=5,mode=620,ptmxmode=666", "/", 0});
  lines.push_back({"sysfs", "/sys", "sysfs", "ro,nosuid,nodev,noexec,relatime", "ro", "/", 0});
  lines.push_back(
      {"mqueue", "/dev/mqueue", "mqueue", "rw,nosuid,nodev,noexec,relatime", "rw", "/", 0});
  lines.push_back(
      {"shm", "/dev/shm", "tmpfs", "rw,nosuid,nodev,noexec,relatime", "rw,size=65536k", "/", 0});
  for (size_t i = 1; i < lines.size(); i++)
    lines[i].device = synthetic_mount_device(lines[i].target);
  return lines;
}

Line table_line(const MountEntry& mount, dev_t anonymous, dev_t root_device) {
  const char* access = mount.read_only ? "ro" : "rw";
  if (mount.type == "tmpfs") {
    return {"tmpfs", mount.target, "tmpfs",  std::string(access) + ",nosuid,nodev,noexec,relatime",
            access,  "/",          anonymous};
  }
  struct stat source {};
  if (stat(mount.source.c_str(), &source) < 0) source.st_dev = anonymous;
  std::string device = host_source(source.st_dev);
  // df keeps one mount per device and prefers a source with a slash, so a bind mount from the
  // root's own host device would hide "/". NOTE: stat gives the root and such mounts one
  // st_dev, where Docker's overlay root has a device of its own.
  if (source.st_dev == root_device && device.compare(0, 5, "/dev/") == 0) device.erase(0, 5);
  return {
      device,       mount.target, host_type(mount.source), std::string(access) + ",relatime", "rw",
      mount.source, source.st_dev};
}

// The mount id of the deepest earlier line whose target contains `target`.
int parent_id(const std::vector<Line>& lines, size_t index, int first_id) {
  int parent = first_id - 1;
  size_t best = 0;
  for (size_t i = 0; i < index; i++) {
    const std::string& folder = lines[i].target;
    const std::string& target = lines[index].target;
    bool contains =
        folder == "/" || (target.compare(0, folder.size(), folder) == 0 &&
                          target.size() > folder.size() && target[folder.size()] == '/');
    if (contains && folder.size() >= best) {
      best = folder.size();
      parent = first_id + static_cast<int>(i);
    }
  }
  return parent;
}

}  // namespace

dev_t synthetic_mount_device(const std::string& absolute) {
  for (unsigned i = 0; i < kSyntheticDeviceCount; i++) {
    const SyntheticDevice& device = kSyntheticDevices[i];
    size_t length = strlen(device.target);
    if (absolute.compare(0, length, device.target) == 0 &&
        (absolute.size() == length || absolute[length] == '/')) {
      return makedev(0, device.minor);
    }
  }
  return 0;
}

std::string mounts_text(const std::vector<MountEntry>& table, int root_fd, bool read_only_root,
                        bool info) {
  std::vector<Line> lines = fixed_lines(root_fd, read_only_root);
  unsigned minor_number = kFirstAnonymousMinor + kSyntheticDeviceCount;
  for (const MountEntry& mount : table) {
    lines.push_back(table_line(mount, makedev(0, minor_number++), lines[0].device));
  }
  constexpr int kFirstId = 21;
  std::string text;
  char numbers[64];
  for (size_t i = 0; i < lines.size(); i++) {
    const Line& line = lines[i];
    if (!info) {
      std::string extra = line.super_options.size() > 3 ? line.super_options.substr(2) : "";
      text += escaped(line.source) + " " + escaped(line.target) + " " + line.type + " " +
              line.options + extra + " 0 0\n";
      continue;
    }
    snprintf(numbers, sizeof numbers, "%d %d %u:%u ", kFirstId + static_cast<int>(i),
             i == 0 ? kFirstId - 1 : parent_id(lines, i, kFirstId), major(line.device),
             minor(line.device));
    text += numbers + escaped(line.root) + " " + escaped(line.target) + " " + line.options + " - " +
            line.type + " " + escaped(line.source) + " " + line.super_options + "\n";
  }
  return text;
}

}  // namespace noah::vfs
