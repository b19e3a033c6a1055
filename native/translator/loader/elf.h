// Program loading for execve: ELF executables (static, static-PIE, dynamic with PT_INTERP, PIE
// and fixed-address) and "#!" scripts, with the initial stack and auxiliary vector Linux builds.
#pragma once

#include <cstdint>
#include <memory>
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

// A program opened and checked for execve, not yet loaded: everything that can fail without
// harm to the running image happens while preparing it.
struct Program {
  Program();
  ~Program();
  struct Files;
  std::unique_ptr<Files> files;
  std::vector<std::string> argv;  // after "#!" lines have put their interpreters in front
  std::string execfn;
};

// Opens the program at guest path `path`, following "#!" interpreters. Returns 0 or the errno
// execve returns for it: ENOENT, EACCES, ENOEXEC, ELOOP, ELIBBAD, ENAMETOOLONG.
int prepare(Process& process, const std::string& path, std::vector<std::string> argv,
            Program& program);
// Maps a prepared program into `process`, whose address space must hold no program, and builds
// its stack with `envp`. Returns 0, or -E2BIG or -ENOMEM.
int load(Process& process, Program& program, const std::vector<std::string>& envp,
         StartState& start);

}  // namespace noah::loader
