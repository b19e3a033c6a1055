// execve and execveat: the new program replaces the old one inside the same host process and
// VM, as Linux replaces a process image.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "translator/loader/elf.h"
#include "translator/syscall/fd.h"
#include "translator/syscall/guest.h"
#include "translator/syscall/handlers.h"
#include "translator/task/signal.h"
#include "translator/vfs/registry.h"

namespace noah::syscall {
namespace {

// Resets what execve resets: handled signals go back to their default, the alternate signal
// stack and the thread's TLS base are dropped, and the FPU starts from its initial state.
void reset_thread_state(Thread& thread) {
  auto& actions = thread.process.signal_actions;
  for (int signal = 1; signal < static_cast<int>(actions.size()); signal++) {
    if (actions[signal].handler > 1) {
      actions[signal] = SignalAction{};
      signals::apply_action(signal, actions[signal]);
    }
  }
  thread.alternate_stack = stack_t{nullptr, SS_DISABLE, 0};
  thread.clear_child_tid = 0;
  thread.robust_list = 0;
  thread.vcpu->set_msr(arch::kMsrFsBase, 0);
  thread.vcpu->set_msr(arch::kMsrGsBase, 0);
  kvm_xsave initial{};
  const uint16_t control_word = 0x37f;  // x87 FCW after FNINIT
  const uint32_t mxcsr = 0x1f80;        // SSE MXCSR at reset
  memcpy(reinterpret_cast<uint8_t*>(initial.region), &control_word, sizeof control_word);
  memcpy(reinterpret_cast<uint8_t*>(initial.region) + 24, &mxcsr, sizeof mxcsr);
  thread.vcpu->set_xsave(initial);
}

// The guest path execveat names: `path` itself, relative to dirfd, or dirfd's own file.
int resolve_target(Thread& thread, DirFd dirfd, const std::string& path, uint64_t flags,
                   std::string& out) {
  if (path.empty()) {
    if (!(flags & AT_EMPTY_PATH)) return -ENOENT;
    auto file = file_of(thread, dirfd.value);
    if (!file) return -EBADF;
    out = thread.process.fs.guest_path(file->host_fd);
    return out.empty() ? -ENOENT : 0;
  }
  if (path[0] == '/' || dirfd.value == AT_FDCWD) {
    out = path;
    return 0;
  }
  auto file = file_of(thread, dirfd.value);
  if (!file) return -EBADF;
  std::string directory = thread.process.fs.guest_path(file->host_fd);
  if (directory.empty()) return -ENOENT;
  out = directory + "/" + path;
  return 0;
}

// Asks every other thread to end and waits until they have; a thread blocked in a host call is
// interrupted by the request.
void end_other_threads(Thread& thread) {
  Process& process = thread.process;
  for (Thread* other : process.live_thread_list()) {
    if (other != &thread) signals::request_end(process.pid, other->tid);
  }
  for (int waited = 0; process.live_threads.load() > 1 && waited < 5000; waited++) {
    usleep(1000);
  }
}

}  // namespace

int64_t sys_execve(Thread& thread, GuestString path, GuestPtr<uint64_t> argv,
                   GuestPtr<uint64_t> envp) {
  return sys_execveat(thread, DirFd{AT_FDCWD}, path, argv, envp, Flags{0});
}

int64_t sys_execveat(Thread& thread, DirFd dirfd, GuestString path, GuestPtr<uint64_t> argv,
                     GuestPtr<uint64_t> envp, Flags flags) {
  if (flags.value & ~uint64_t{AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW}) return -EINVAL;
  std::string value;
  int result = read_string(thread, path.address, value);
  if (result < 0) return result;
  std::vector<std::string> arguments, environment;
  result = read_string_array(thread, argv.address, arguments);
  if (result < 0) return result;
  result = read_string_array(thread, envp.address, environment);
  if (result < 0) return result;
  std::string target;
  result = resolve_target(thread, dirfd, value, flags.value, target);
  if (result < 0) return result;
  // /proc/self/exe is synthesized; re-executing it runs the current program again.
  std::string self = "/proc/" + std::to_string(thread.process.pid) + "/exe";
  if (target == "/proc/self/exe" || target == self) target = thread.process.exe;

  Process& process = thread.process;
  loader::Program program;
  result = loader::prepare(process, target, std::move(arguments), program);
  if (result < 0) return result;

  // The other threads end first, as Linux's execve ends them.
  end_other_threads(thread);

  // The point of no return: from here a failure kills the process, as on Linux. A vfork
  // parent continues now, with the child's writes so far.
  process.release_vfork_parent();
  process.mm.clear();
  loader::StartState start;
  if (loader::load(process, program, environment, start) < 0) kill_process(process, SIGSEGV);
  process.files.close_on_exec();
  reset_thread_state(thread);
  vfs::registry::record_program_start(process, start.stack_pointer);
  vfs::registry::publish(process);
  kvm_regs& regs = thread.vcpu->regs();
  regs = kvm_regs{};
  thread.resume_user(start.entry, start.stack_pointer, 0x202);
  thread.registers_replaced = true;
  return 0;
}

}  // namespace noah::syscall
