// Program loading for execve: ELF executables (static, static-PIE, dynamic with PT_INTERP, PIE
// and fixed-address) and "#!" scripts, with the initial stack and auxiliary vector Linux builds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace noah {
class Process;
}

namespace noah::loader {

// Where the new program starts.
struct StartState {
  uint64_t entry = 0;
  uint64_t stack_pointer = 0;
};

// Loads the program at guest path `path` into `process`, whose address space must hold no
// program yet, with `argv` and `envp`. Returns 0 or the errno execve would return: ENOENT,
// EACCES, ENOEXEC, ELOOP, E2BIG, ENOMEM, ENAMETOOLONG.
int exec(Process& process, const std::string& path, std::vector<std::string> argv,
         const std::vector<std::string>& envp, StartState& start);

}  // namespace noah::loader
