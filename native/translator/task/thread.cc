#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "translator/syscall/dispatch.h"
#include "translator/task/process.h"
#include "translator/util/log.h"

namespace noah {
namespace {

// RFLAGS bits a returning system call may carry back from r11, as sysret allows: no RF, no VM.
constexpr uint64_t kReturnFlagsMask = 0x254dd5;  // CF PF AF ZF SF TF IF DF OF NT AC ID
constexpr uint64_t kFlagsReserved = 0x2;

struct FaultSignal {
  int signal;
  bool uses_cr2;
};

FaultSignal signal_for_vector(int vector) {
  switch (vector) {
    case arch::kDivideError:
    case arch::kX87Error:
    case arch::kSimdError:
      return {SIGFPE, false};
    case arch::kDebug:
    case arch::kBreakpoint:
      return {SIGTRAP, false};
    case arch::kInvalidOpcode:
      return {SIGILL, false};
    case arch::kStackFault:
    case arch::kAlignmentCheck:
      return {SIGBUS, false};
    case arch::kPageFault:
      return {SIGSEGV, true};
    default:
      return {SIGSEGV, false};
  }
}

}  // namespace

Thread::Thread(Process& process, int index)
    : process(process),
      cpu(process.page_tables, index),
      index(index),
      tid(static_cast<pid_t>(gettid())) {
  attach_new_vcpu();
}

void Thread::attach_new_vcpu() {
  cpu.attach(*process.vm);
  vcpu = process.vm->create_vcpu(index);
  arch::setup_vcpu(*process.vm, *vcpu, process.system, cpu, process.page_tables);
}

void Thread::run() {
  for (;;) {
    int result = vcpu->run();
    if (result == -EINTR || result == -EAGAIN) continue;
    if (result == -EFAULT) {
      // The guest reached memory the host cannot back (a bad physical address it set up).
      kill_process(process, SIGBUS);
    }
    if (result < 0) {
      log::error("KVM_RUN failed: %s", strerror(-result));
      kill_process(process, SIGKILL);
    }
    handle_exit();
  }
}

void Thread::handle_exit() {
  kvm_run& exit = vcpu->exit();
  switch (exit.exit_reason) {
    case KVM_EXIT_IO: {
      uint16_t port = exit.io.port;
      if (exit.io.direction == KVM_EXIT_IO_OUT && exit.io.size == 1) {
        uint64_t rip = vcpu->regs().rip;
        if (port == arch::kSyscallPort &&
            (rip == process.system.syscall_entry() || rip == process.system.syscall_entry() + 2)) {
          handle_syscall();
          return;
        }
        if (port >= arch::kExceptionPort && port < arch::kExceptionPort + arch::kExceptionVectors) {
          int vector = port - arch::kExceptionPort;
          uint64_t stub = process.system.exception_entry(vector);
          if (rip == stub || rip == stub + 2) {
            handle_exception(vector);
            return;
          }
        }
      }
      // An I/O instruction of the program's own: Linux answers it with SIGSEGV.
      kill_process(process, SIGSEGV);
    }
    case KVM_EXIT_INTR:
      return;
    case KVM_EXIT_HLT:
    case KVM_EXIT_SHUTDOWN:
    case KVM_EXIT_MMIO:
      kill_process(process, SIGSEGV);
    case KVM_EXIT_INTERNAL_ERROR:
      log::error("KVM internal error %u at rip %#llx", exit.internal.suberror,
                 static_cast<unsigned long long>(vcpu->regs().rip));
      for (unsigned i = 0; i < exit.internal.ndata && i < 16; i++) {
        log::error("  data[%u] = %#llx", i, static_cast<unsigned long long>(exit.internal.data[i]));
      }
      kill_process(process, SIGSEGV);
    default:
      log::error("unexpected KVM exit %u at rip %#llx", exit.exit_reason,
                 static_cast<unsigned long long>(vcpu->regs().rip));
      kill_process(process, SIGSEGV);
  }
}

void Thread::resume_user(uint64_t rip, uint64_t rsp, uint64_t rflags) {
  kvm_regs& regs = vcpu->regs();
  regs.rsp = cpu.write_return_frame(rip, rsp, (rflags & kReturnFlagsMask) | kFlagsReserved);
  regs.rip = process.system.return_entry();
  vcpu->mark_regs_dirty();
}

void Thread::handle_syscall() {
  kvm_regs& regs = vcpu->regs();
  const uint64_t args[6] = {regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9};
  // syscall left the return address in rcx and the flags in r11, and kept the user rsp.
  uint64_t return_address = regs.rcx;
  uint64_t return_flags = regs.r11;
  uint64_t user_stack = regs.rsp;
  registers_replaced = false;
  int64_t result = syscall::dispatch(*this, regs.rax, args);
  if (registers_replaced) return;  // execve and rt_sigreturn called resume_user themselves
  regs.rax = static_cast<uint64_t>(result);
  resume_user(return_address, user_stack, return_flags);
}

void Thread::handle_exception(int vector) {
  kvm_regs& regs = vcpu->regs();
  arch::ExceptionFrame frame = cpu.read_frame(vector, regs.rsp);
  FaultSignal fault = signal_for_vector(vector);
  if (fault.uses_cr2) {
    uint64_t address = vcpu->get_sregs().cr2;
    // A fault on an access the mapping allows comes from a translation cached before the
    // mapping changed. Changing the host protection of the page makes KVM drop it; retry once.
    const mm::Vma* vma = process.mm.find(address);
    bool write = frame.error_code & 2, fetch = frame.error_code & 16;
    bool allowed = vma != nullptr && (vma->prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) &&
                   (!write || (vma->prot & PROT_WRITE)) && (!fetch || (vma->prot & PROT_EXEC));
    if (allowed && !(last_fault_address == address && last_fault_rip == frame.rip)) {
      last_fault_address = address;
      last_fault_rip = frame.rip;
      void* page = reinterpret_cast<void*>(mm::page_down(address));
      int host = (vma->prot & PROT_WRITE) ? PROT_READ | PROT_WRITE : PROT_READ;
      ::mprotect(page, mm::kPageSize, PROT_NONE);
      ::mprotect(page, mm::kPageSize, host);
      resume_user(frame.rip, frame.rsp, frame.rflags);
      return;
    }
  }
  last_fault_address = last_fault_rip = 0;
  // TODO: deliver the signal to a guest handler; every fault is fatal until signals exist.
  if (process.options.trace) {
    log::info("fault: vector %d at rip %#llx, error code %#llx", vector,
              static_cast<unsigned long long>(frame.rip),
              static_cast<unsigned long long>(frame.error_code));
  }
  kill_process(process, fault.signal);
}

}  // namespace noah
