// Process creation and reaping: fork, vfork, clone and clone3 as a host fork() plus a new VM in
// the child, and wait4/waitid on the host's own children. Guest process ids are host ids.
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include "translator/syscall/guest.h"
#include "translator/syscall/handlers.h"
#include "translator/task/signal.h"
#include "translator/util/log.h"
#include "translator/vfs/registry.h"

namespace noah::syscall {
namespace {

constexpr uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
                                     CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWTIME;

// The clone arguments common to clone and clone3.
struct CloneRequest {
  uint64_t flags = 0;
  uint64_t stack = 0;
  uint64_t parent_tid = 0;
  uint64_t child_tid = 0;
  uint64_t tls = 0;
};

// The vCPU state a forked child starts from: the parent's at its clone system call.
struct ForkedState {
  kvm_regs regs;
  uint64_t fs_base;
  uint64_t gs_base;
};

// The state a new thread starts from, handed over by the thread that creates it.
struct ThreadStart {
  Thread* thread;
  CloneRequest request;
  std::promise<pid_t> tid;
};

void* thread_main(void* argument) {
  auto* start = static_cast<ThreadStart*>(argument);
  Thread& thread = *start->thread;
  thread.tid = static_cast<pid_t>(gettid());
  signals::retarget(thread);
  // Both ids are written before the thread runs: a thread that exits at once clears the word
  // it was given, and a later write would leave its joiner waiting for ever.
  auto tid = static_cast<int32_t>(thread.tid);
  if (start->request.flags & CLONE_PARENT_SETTID) {
    write_guest(thread, GuestPtr<int32_t>{start->request.parent_tid}, tid);
  }
  if (start->request.flags & CLONE_CHILD_SETTID) {
    write_guest(thread, GuestPtr<int32_t>{start->request.child_tid}, tid);
  }
  start->tid.set_value(thread.tid);
  thread.run();
}

// clone(CLONE_VM | CLONE_THREAD): a vCPU in the same VM, run by a new host thread.
int64_t create_thread(Thread& parent, const CloneRequest& request) {
  uint64_t required = CLONE_VM | CLONE_SIGHAND;
  if ((request.flags & required) != required) return -EINVAL;
  Process& process = parent.process;
  int index = process.next_thread_index.fetch_add(1);
  std::unique_ptr<Thread> thread;
  try {
    // The new vCPU's system structures change the page tables.
    std::unique_lock lock(process.mm.mutex());
    thread = std::make_unique<Thread>(process, index);
  } catch (const kvm::Error& error) {
    log::error("clone: %s", error.what());
    return -EAGAIN;
  }
  auto xsave = std::make_unique<kvm_xsave>(parent.vcpu->get_xsave());
  thread->vcpu->set_xsave(*xsave);
  uint64_t fs_base = parent.vcpu->get_msr(arch::kMsrFsBase);
  thread->vcpu->set_msr(arch::kMsrFsBase, (request.flags & CLONE_SETTLS) ? request.tls : fs_base);
  thread->vcpu->set_msr(arch::kMsrGsBase, parent.vcpu->get_msr(arch::kMsrGsBase));
  thread->signal_mask = parent.signal_mask;
  if (request.flags & CLONE_CHILD_CLEARTID) thread->clear_child_tid = request.child_tid;
  const kvm_regs& parent_regs = parent.vcpu->regs();
  kvm_regs& regs = thread->vcpu->regs();
  regs = parent_regs;
  regs.rax = 0;
  thread->resume_user(parent_regs.rcx, request.stack != 0 ? request.stack : parent_regs.rsp,
                      parent_regs.r11);

  ThreadStart start{thread.get(), request, {}};
  std::future<pid_t> tid = start.tid.get_future();
  pthread_t host_thread;
  {
    std::lock_guard lock(process.threads_mutex);
    process.threads.push_back(std::move(thread));
  }
  process.live_threads.fetch_add(1);
  int error = pthread_create(&host_thread, nullptr, thread_main, &start);
  if (error != 0) {
    process.live_threads.fetch_sub(1);
    return -error;
  }
  pthread_detach(host_thread);
  return tid.get();
}

int64_t fork_process(Thread& thread, const CloneRequest& request) {
  if (request.flags & kNamespaceFlags) return -EPERM;
  if (request.flags & CLONE_THREAD) return create_thread(thread, request);
  if (request.flags & CLONE_SIGHAND) return -EINVAL;
  bool vfork = (request.flags & CLONE_VFORK) != 0;

  ForkedState state{};
  state.regs = thread.vcpu->regs();
  auto xsave = std::make_unique<kvm_xsave>(thread.vcpu->get_xsave());
  state.fs_base = thread.vcpu->get_msr(arch::kMsrFsBase);
  state.gs_base = thread.vcpu->get_msr(arch::kMsrGsBase);

  // The child's /proc shows its host parent as its parent only when that has a record too.
  vfs::registry::prepare_fork(thread.process);
  int vfork_pipe[2] = {-1, -1};
  if (vfork && pipe2(vfork_pipe, O_CLOEXEC) < 0) return -errno;
  // No other thread may hold the address space lock across the fork: the child would inherit
  // it locked by a thread it does not have.
  std::unique_lock mm_lock(thread.process.mm.mutex());
  pid_t child = fork();
  if (child != 0) {
    mm_lock.unlock();
  } else {
    // The child cannot unlock it: glibc's rwlock records the writer's thread id, which the
    // fork changed. The child's locks start afresh instead, none held.
    mm_lock.release();
    thread.process.reset_locks_after_fork();
  }
  if (child < 0) {
    int error = errno;
    if (vfork) {
      close(vfork_pipe[0]);
      close(vfork_pipe[1]);
    }
    return -error;
  }
  if (child > 0) {
    if (request.flags & CLONE_PARENT_SETTID) {
      write_guest(thread, GuestPtr<int32_t>{request.parent_tid}, static_cast<int32_t>(child));
    }
    if (vfork) {
      // The parent waits until the child execs or exits, when its end of the pipe closes.
      close(vfork_pipe[1]);
      char byte;
      while (read(vfork_pipe[0], &byte, 1) < 0 && errno == EINTR) {
      }
      close(vfork_pipe[0]);
    }
    return child;
  }

  // The child: a VM of its own, then the parent's registers with rax = 0.
  Process& process = thread.process;
  if (vfork) {
    close(vfork_pipe[0]);
    process.vfork_done_fd = vfork_pipe[1];
  }
  // Only the calling thread exists in the child.
  {
    std::lock_guard lock(process.threads_mutex);
    for (auto& other : process.threads) {
      if (other.get() != &thread) other.release();  // their vCPUs belong to the parent
    }
    process.threads.clear();
  }
  process.live_threads.store(1);
  process.main_thread = &thread;
  try {
    process.rebuild_vm_after_fork(thread);
  } catch (const kvm::Error& error) {
    log::error("fork: %s", error.what());
    _exit(127);
  }
  vfs::registry::publish_forked_child(process, vfork);
  if (vfork && (request.flags & CLONE_VM)) {
    process.vfork_tracking = true;
    process.mm.write_protect_private();
  }
  thread.vcpu->set_xsave(*xsave);
  thread.vcpu->set_msr(arch::kMsrFsBase,
                       (request.flags & CLONE_SETTLS) ? request.tls : state.fs_base);
  thread.vcpu->set_msr(arch::kMsrGsBase, state.gs_base);
  if (request.flags & CLONE_CHILD_SETTID) {
    write_guest(thread, GuestPtr<int32_t>{request.child_tid}, static_cast<int32_t>(thread.tid));
  }
  if (request.flags & CLONE_CHILD_CLEARTID) thread.clear_child_tid = request.child_tid;
  kvm_regs& regs = thread.vcpu->regs();
  regs = state.regs;
  regs.rax = 0;
  uint64_t stack = request.stack != 0 ? request.stack : state.regs.rsp;
  thread.resume_user(state.regs.rcx, stack, state.regs.r11);
  thread.registers_replaced = true;
  return 0;
}

}  // namespace

int64_t sys_clone(Thread& thread, Flags flags, uint64_t stack, GuestPtr<int32_t> parent_tid,
                  GuestPtr<int32_t> child_tid, uint64_t tls) {
  CloneRequest request{flags.value, stack, parent_tid.address, child_tid.address, tls};
  return fork_process(thread, request);
}

int64_t sys_clone3(Thread& thread, GuestPtr<void> arguments, uint64_t size) {
  clone_args values{};
  if (size < CLONE_ARGS_SIZE_VER0 || size > 4096) return -EINVAL;
  if (!copy_from_guest(thread, &values, arguments.address,
                       std::min<uint64_t>(size, sizeof values))) {
    return -EFAULT;
  }
  // clone3 gives the stack's lowest address and its size. The child starts at its top.
  uint64_t stack = values.stack != 0 ? values.stack + values.stack_size : 0;
  CloneRequest request{values.flags | (values.exit_signal & 0xff), stack, values.parent_tid,
                       values.child_tid, values.tls};
  return fork_process(thread, request);
}

int64_t sys_fork(Thread& thread) {
  return fork_process(thread, CloneRequest{SIGCHLD, 0, 0, 0, 0});
}

int64_t sys_vfork(Thread& thread) {
  return fork_process(thread, CloneRequest{CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0, 0});
}

int64_t sys_wait4(Thread& thread, int pid, GuestPtr<int> status, Flags options,
                  GuestPtr<void> usage) {
  if (!status.null() && !thread.process.mm.check(status.address, sizeof(int), mm::kWrite)) {
    return -EFAULT;
  }
  if (!usage.null() && !thread.process.mm.check(usage.address, sizeof(rusage), mm::kWrite)) {
    return -EFAULT;
  }
  pid_t result = ::wait4(pid, reinterpret_cast<int*>(status.address),
                         static_cast<int>(options.value), reinterpret_cast<rusage*>(usage.address));
  return result < 0 ? -errno : result;
}

int64_t sys_waitid(Thread& thread, int type, int id, GuestPtr<void> info, Flags options,
                   GuestPtr<void> usage) {
  if (!info.null() && !thread.process.mm.check(info.address, sizeof(siginfo_t), mm::kWrite)) {
    return -EFAULT;
  }
  if (!usage.null() && !thread.process.mm.check(usage.address, sizeof(rusage), mm::kWrite)) {
    return -EFAULT;
  }
  // The raw system call takes the rusage pointer that glibc's waitid does not pass.
  long result = ::syscall(SYS_waitid, type, id, info.address, options.value, usage.address);
  return result < 0 ? -errno : result;
}

}  // namespace noah::syscall
