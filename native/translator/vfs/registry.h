// The container's process directory. Each translator process of a container registers itself
// as DIR/pids/PID with the guest state that the host's /proc lacks: the guest program's name,
// path, arguments and credentials. The synthesized /proc of every process reads these records
// to list and describe the others. Guest pids are host pids.
//
// DIR is --container-dir. Without it, the first process makes a private directory under
// $TMPDIR (or /tmp) when it first forks or needs scratch space, and the last process of the
// tree removes it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace noah {
class Process;
}

namespace noah::vfs::registry {

// The record a process of the container publishes about itself.
struct ProcessRecord {
  pid_t pid = 0;
  // Host start time in clock ticks after boot (field 22 of /proc/PID/stat): a record whose pid
  // now belongs to another host process has another start time.
  uint64_t start_time = 0;
  std::string exe;
  std::string comm;
  std::string cwd;
  uint32_t uid[4] = {};  // real, effective, saved, filesystem
  uint32_t gid[4] = {};
  std::vector<uint32_t> groups;
  // The guest's argument and environment strings, [start, end) in its memory.
  uint64_t arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
  // Copies of the same strings at execve, NUL-separated, for when that memory cannot be read.
  std::string argv, envp;
};

// Uses `directory` as the container directory, creating its pids/ folder. An empty string
// selects a private directory made on first use. Returns false with a message on failure.
bool configure(const std::string& directory, std::string& error);

// Records where the running program's argument and environment strings are (after execve).
void set_string_areas(uint64_t arg_start, uint64_t arg_end, uint64_t env_start, uint64_t env_end);
// Finds the argument and environment strings from the initial stack a program starts with
// (argc, argv pointers, NULL, envp pointers, NULL) and records their areas.
void record_program_start(Process& process, uint64_t stack_pointer);
// The areas set_string_areas recorded: arg_start, arg_end, env_start, env_end.
void string_areas(uint64_t areas[4]);

// Writes this process's record, when the directory exists. Called at start, in a forked child,
// after execve and when the guest changes its name, working directory or credentials.
void publish(Process& process);
// publish() in a child after fork(), whatever locks the parent's other threads held. A vfork
// child, which execs or exits at once while its parent waits, publishes at execve instead.
void publish_forked_child(Process& process, bool vfork);
// Makes the directory exist and publishes this process, before a fork, so that the child
// and the parent find each other.
void prepare_fork(Process& process);
// Removes this process's record at exit, and a private directory with its last process.
void unpublish();

// The pids of the container's live processes, this one included, ascending.
std::vector<pid_t> pids();
// The record of live process `pid`, or nothing when it is not one of the container's.
std::optional<ProcessRecord> find(pid_t pid);
// Whether `pid` is one of the container's live processes.
bool contains(pid_t pid);

// The container directory, made on first use in private mode; "" when it cannot be made.
std::string directory();

// Host process facts from /proc/PID/stat: the parent pid and the start time. False when the
// process does not exist.
bool host_stat(pid_t pid, pid_t& parent, uint64_t& start_time);

}  // namespace noah::vfs::registry
