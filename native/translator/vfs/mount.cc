#include "translator/vfs/mount.h"

namespace noah::vfs {

std::string parse_mount(const std::string& text, Mount& mount) {
  mount = Mount{};
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string field = text.substr(start, comma - start);
    start = comma + 1;
    if (field.empty()) continue;
    size_t equals = field.find('=');
    std::string key = field.substr(0, equals);
    std::string value = equals == std::string::npos ? "" : field.substr(equals + 1);
    if (key == "readonly" || key == "ro") {
      mount.read_only = value.empty() || value == "true" || value == "1";
    } else if (equals == std::string::npos) {
      return "unknown field \"" + field + "\"";
    } else if (key == "type") {
      if (value != "bind" && value != "tmpfs") return "type must be bind or tmpfs, not " + value;
      mount.type = value;
    } else if (key == "source" || key == "src") {
      mount.source = value;
    } else if (key == "target" || key == "destination" || key == "dst") {
      mount.target = value;
    } else {
      return "unknown field \"" + key + "\"";
    }
  }
  if (mount.type.empty()) mount.type = "bind";
  if (mount.source.empty()) return "missing source";
  if (mount.target.empty() || mount.target[0] != '/') return "target must be an absolute path";
  return "";
}

}  // namespace noah::vfs
