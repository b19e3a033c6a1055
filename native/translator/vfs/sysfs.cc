// The guest's /sys: the CPU files that glibc and nproc read, the transparent huge page settings
// that memory allocators read, and an empty /sys/fs/cgroup.
#include <dirent.h>

#include <cstdlib>

#include "translator/vfs/synthetic.h"

namespace noah::vfs::sysfs {
namespace {

constexpr StaticFile kFiles[] = {
    {"devices/system/cpu/online", "/sys/devices/system/cpu/online", nullptr},
    {"devices/system/cpu/possible", "/sys/devices/system/cpu/possible", nullptr},
    {"devices/system/cpu/present", "/sys/devices/system/cpu/present", nullptr},
    {"devices/system/cpu/kernel_max", "/sys/devices/system/cpu/kernel_max", nullptr},
    {"fs/cgroup", nullptr, nullptr},
    {"kernel/mm/transparent_hugepage/enabled", "/sys/kernel/mm/transparent_hugepage/enabled",
     nullptr},
    {"kernel/mm/transparent_hugepage/defrag", "/sys/kernel/mm/transparent_hugepage/defrag",
     nullptr},
    {"kernel/mm/transparent_hugepage/hpage_pmd_size",
     "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", nullptr},
};
constexpr size_t kFileCount = sizeof kFiles / sizeof kFiles[0];

// The highest CPU number in the host's "possible" list, such as "0-3" or "0,2-5".
int last_cpu() {
  std::string text = read_host_file("/sys/devices/system/cpu/possible");
  size_t at = text.find_last_of(",-");
  return atoi(text.c_str() + (at == std::string::npos ? 0 : at + 1));
}

// Whether `parts` is devices/system/cpu/cpuN with N a possible CPU.
bool cpu_directory(const std::vector<std::string>& parts) {
  if (parts.size() != 4 || parts[0] != "devices" || parts[1] != "system" || parts[2] != "cpu") {
    return false;
  }
  const std::string& name = parts[3];
  if (name.size() < 4 || name.size() > 7 || name.compare(0, 3, "cpu") != 0) return false;
  if (name.find_first_not_of("0123456789", 3) != std::string::npos) return false;
  if (name.size() > 4 && name[3] == '0') return false;
  return atoi(name.c_str() + 3) <= last_cpu();
}

}  // namespace

std::optional<Node> lookup(const std::vector<std::string>& parts) {
  if (cpu_directory(parts)) {
    Node node;
    node.type = Node::Type::kDirectory;
    return node;
  }
  std::optional<Node> node = static_lookup(kFiles, kFileCount, parts);
  if (node) return node;
  Node missing;
  missing.number = -ENOENT;
  return missing;
}

bool list(const std::vector<std::string>& parts, std::vector<DirectoryEntry>& entries) {
  // TODO: the cpuN directories are empty; topology and cpufreq files are not synthesized.
  if (cpu_directory(parts)) return true;
  if (!static_list(kFiles, kFileCount, parts, entries)) return false;
  if (parts.size() == 3 && parts[0] == "devices" && parts[1] == "system" && parts[2] == "cpu") {
    // glibc's get_nprocs_conf counts these entries.
    for (int cpu = 0; cpu <= last_cpu(); cpu++) {
      entries.push_back({"cpu" + std::to_string(cpu), DT_DIR});
    }
  }
  return true;
}

}  // namespace noah::vfs::sysfs
