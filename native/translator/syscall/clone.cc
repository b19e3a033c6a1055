// Process creation and reaping: fork, vfork, clone and clone3 as a host fork() plus a new VM in
// the child, and wait4/waitid on the host's own children. Guest process ids are host ids.
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "translator/syscall/guest.h"
#include "translator/syscall/handlers.h"
#include "translator/util/log.h"

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

int64_t fork_process(Thread& thread, const CloneRequest& request) {
  if (request.flags & kNamespaceFlags) return -EPERM;
  // TODO: threads (CLONE_THREAD) need a vCPU on a new host thread; they are not supported yet.
  if (request.flags & (CLONE_THREAD | CLONE_SIGHAND)) return -ENOSYS;
  bool vfork = (request.flags & CLONE_VFORK) != 0;

  ForkedState state{};
  state.regs = thread.vcpu->regs();
  auto xsave = std::make_unique<kvm_xsave>(thread.vcpu->get_xsave());
  state.fs_base = thread.vcpu->get_msr(arch::kMsrFsBase);
  state.gs_base = thread.vcpu->get_msr(arch::kMsrGsBase);

  int vfork_pipe[2] = {-1, -1};
  if (vfork && pipe2(vfork_pipe, O_CLOEXEC) < 0) return -errno;
  pid_t child = fork();
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
  try {
    process.rebuild_vm_after_fork(thread);
  } catch (const kvm::Error& error) {
    log::error("fork: %s", error.what());
    _exit(127);
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
  // clone3 gives the stack's lowest address and its size; the child starts at its top.
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
