// A guest process and its threads. One host process runs one guest process; each guest thread
// is a host thread driving one vCPU.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kvm/vm.h"
#include "translator/arch/x86_64.h"
#include "translator/mm/address_space.h"
#include "translator/mm/page_table.h"
#include "translator/task/credentials.h"
#include "translator/vfs/file_table.h"
#include "translator/vfs/path.h"

namespace noah {

// A signal disposition as rt_sigaction stores it (the kernel's struct sigaction layout).
struct SignalAction {
  uint64_t handler = 0;  // SIG_DFL (0), SIG_IGN (1) or a guest address
  uint64_t flags = 0;
  uint64_t restorer = 0;
  uint64_t mask = 0;
};

// Options from the translator's command line that stay fixed for the process.
struct Options {
  bool trace = false;
  std::string hostname;  // uname's nodename; the host's when empty
};

class Thread;

class Process {
 public:
  Process(const std::string& host_root, const Options& options);

  Options options;
  mm::PageTables page_tables;
  arch::SystemArea system;
  mm::AddressSpace mm;
  std::unique_ptr<kvm::Vm> vm;
  vfs::FileTable files;
  vfs::Filesystem fs;
  GuestCredentials credentials;
  std::array<SignalAction, 65> signal_actions{};  // indexed by signal number
  std::string exe;                                // guest path of the running program
  std::vector<std::string> argv;
  std::vector<std::string> envp;
  std::string comm;  // the name prctl(PR_SET_NAME) and /proc/PID/comm show
  pid_t pid;
  // The write end of a pipe the parent of a vfork child reads until it closes: at execve or
  // exit, when the parent may go on. -1 when this process is no vfork child.
  int vfork_done_fd = -1;
  // In a vfork child: the pages the program wrote, which go back to the parent's memory when
  // the child execs or exits, as if the two shared it (CLONE_VM). posix_spawn reports an exec
  // error to its caller through such a write.
  bool vfork_tracking = false;
  std::set<uint64_t> vfork_dirty_pages;
  // Threads created by clone(CLONE_THREAD); the first thread lives in main(). Guarded by
  // threads_mutex.
  std::mutex threads_mutex;
  std::vector<std::unique_ptr<Thread>> threads;
  std::atomic<int> next_thread_index{1};
  std::atomic<int> live_threads{1};

  // XSAVE features the vCPUs enable (XCR0) and the size of their state, for signal frames.
  uint64_t xcr0 = 3;
  uint64_t xstate_size = 576;

  // In a child after a host fork(): builds a VM of its own over the inherited (copy-on-write)
  // memory, as KVM descriptors work only in the process that created them. `thread` is the
  // one thread that survives the fork.
  void rebuild_vm_after_fork(Thread& thread);
  // Lets a waiting vfork parent continue.
  void release_vfork_parent();
  // In a forked child: makes every lock of the process unlocked, whatever thread of the parent
  // held it at the fork.
  void reset_locks_after_fork();
  // The threads that have not exited: the first one and those in `threads`.
  std::vector<Thread*> live_thread_list();
  Thread* main_thread = nullptr;
};

class Thread {
 public:
  Thread(Process& process, int index);

  // Creates this thread's vCPU in the process's current VM and puts it in user mode.
  void attach_new_vcpu();
  // Ends this host thread because another thread calls execve.
  [[noreturn]] void end_thread();

  // Runs the guest until the process exits; never returns.
  [[noreturn]] void run();
  // Makes the next KVM_RUN resume the program in user mode at `rip` with `rsp` and `rflags`,
  // through the return stub. The other registers are taken as they are in vcpu->regs().
  void resume_user(uint64_t rip, uint64_t rsp, uint64_t rflags);

  Process& process;
  arch::CpuArea cpu;
  std::unique_ptr<kvm::Vcpu> vcpu;
  int index;
  pid_t tid;
  uint64_t clear_child_tid = 0;
  uint64_t robust_list = 0;
  uint64_t signal_mask = 0;
  uint64_t fs_base = 0;
  stack_t alternate_stack{nullptr, SS_DISABLE, 0};
  // Set once the thread has called exit.
  std::atomic<bool> exited{false};
  // Set by a handler that loaded every register itself (execve, rt_sigreturn).
  bool registers_replaced = false;
  // The `iretq` of the stub the vCPU last left through; returns go through it.
  uint64_t resume_rip;
  // Whether the return frame contains the program's rip, rsp and rflags: from resume_user until
  // the vCPU has run the program again.
  bool resume_frame_pending = false;
  // The mask a signal frame saves instead of the current one, after rt_sigsuspend.
  std::optional<uint64_t> restore_mask_after_signal;
  // The last exception, for the trapno and err fields of a fault's signal frame.
  int last_fault_vector = 0;
  uint64_t last_fault_error = 0;

 private:
  void handle_syscall();
  void handle_exception(int vector);
  void handle_exit();

  // The last page fault retried as stale, so that a second identical one is delivered.
  uint64_t last_fault_address = 0;
  uint64_t last_fault_rip = 0;
};

// Ends the process with `status`, as exit_group does.
[[noreturn]] void exit_process(Process& process, int status);
// Ends the process as signal `signal` would, so the host parent's wait status shows it.
[[noreturn]] void kill_process(Process& process, int signal);

}  // namespace noah
