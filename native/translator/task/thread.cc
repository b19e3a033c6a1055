#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "translator/syscall/dispatch.h"
#include "translator/task/process.h"
#include "translator/task/signal.h"
#include "translator/util/log.h"
#include "translator/util/stats.h"

namespace noah {
namespace {

// RFLAGS bits a returning system call may carry back from r11, as sysret allows: no RF, no VM.
constexpr uint64_t kReturnFlagsMask = 0x254dd5;  // CF PF AF ZF SF TF IF DF OF NT AC ID
constexpr uint64_t kFlagsReserved = 0x2;

// Whether an interrupted call may restart after a handler with SA_RESTART. Calls that wait
// with a timeout or for a signal return EINTR instead, as Linux's ERESTARTNOHAND ones do.
bool restartable(uint64_t number) {
  switch (number) {
    case 7:    // poll
    case 23:   // select
    case 34:   // pause
    case 35:   // nanosleep
    case 128:  // rt_sigtimedwait
    case 130:  // rt_sigsuspend
    case 202:  // futex
    case 230:  // clock_nanosleep
    case 232:  // epoll_wait
    case 270:  // pselect6
    case 271:  // ppoll
    case 281:  // epoll_pwait
      return false;
    default:
      return true;
  }
}

struct FaultSignal {
  int signal;
  int code;  // si_code
  bool uses_cr2;
};

FaultSignal signal_for_vector(int vector) {
  switch (vector) {
    case arch::kDivideError:
      return {SIGFPE, FPE_INTDIV, false};
    case arch::kX87Error:
    case arch::kSimdError:
      return {SIGFPE, 0, false};
    case arch::kDebug:
      return {SIGTRAP, TRAP_TRACE, false};
    case arch::kBreakpoint:
      return {SIGTRAP, SI_KERNEL, false};
    case arch::kInvalidOpcode:
      return {SIGILL, ILL_ILLOPN, false};
    case arch::kStackFault:
    case arch::kAlignmentCheck:
      return {SIGBUS, BUS_ADRALN, false};
    case arch::kPageFault:
      return {SIGSEGV, SEGV_MAPERR, true};
    default:
      return {SIGSEGV, SI_KERNEL, false};
  }
}

}  // namespace

Thread::Thread(Process& process, int index)
    : process(process),
      cpu(process.page_tables, index),
      index(index),
      tid(static_cast<pid_t>(gettid())),
      resume_rip(process.system.return_entry()) {
  attach_new_vcpu();
}

void Thread::attach_new_vcpu() {
  cpu.attach(*process.vm);
  vcpu = process.vm->create_vcpu(index);
  arch::setup_vcpu(*process.vm, *vcpu, process.system, cpu, process.page_tables);
}

void Thread::run() {
  for (;;) {
    if (signals::end_requested()) end_thread();
    if (signals::pending()) signals::deliver_pending(*this);
    uint64_t started = stats::enabled ? stats::now_ns() : 0;
    int result = vcpu->run();
    if (stats::enabled) {
      stats::record_run(result < 0 ? 10 : vcpu->exit().exit_reason, stats::now_ns() - started);
    }
    if (result == -EINTR || result == -EAGAIN) {
      // A host signal interrupted KVM_RUN. If the vCPU got past the return stub's iretq and
      // ran the program, the return frame is used up: the registers are the program's own.
      if (resume_frame_pending && vcpu->regs().rip != resume_rip) resume_frame_pending = false;
      vcpu->exit().immediate_exit = 0;
      continue;
    }
    if (result == -EFAULT) {
      // The guest reached memory the host cannot back (a bad physical address it set up).
      kill_process(process, SIGBUS);
    }
    if (result < 0) {
      log::error("KVM_RUN failed: %s", strerror(-result));
      kill_process(process, SIGKILL);
    }
    if (vcpu->exit().exit_reason != KVM_EXIT_INTR) resume_frame_pending = false;
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
          resume_rip = process.system.syscall_entry() + 2;
          handle_syscall();
          return;
        }
        if (port >= arch::kExceptionPort && port < arch::kExceptionPort + arch::kExceptionVectors) {
          int vector = port - arch::kExceptionPort;
          uint64_t stub = process.system.exception_entry(vector);
          if (rip == stub || rip == stub + 2) {
            resume_rip = stub + 2;
            handle_exception(vector);
            return;
          }
        }
      }
      // An I/O instruction of the program's own: Linux sends SIGSEGV for it.
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

void Thread::end_thread() {
  process.live_threads.fetch_sub(1);
  exited = true;
  pthread_exit(nullptr);
}

void Thread::resume_user(uint64_t rip, uint64_t rsp, uint64_t rflags) {
  kvm_regs& regs = vcpu->regs();
  regs.rsp = cpu.write_return_frame(rip, rsp, (rflags & kReturnFlagsMask) | kFlagsReserved);
  regs.rip = resume_rip;
  resume_frame_pending = true;
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
  uint64_t number = regs.rax;
  int64_t result = syscall::dispatch(*this, number, args);
  if (registers_replaced) return;  // execve and rt_sigreturn called resume_user themselves
  if (result == -EINTR && signals::pending() && restartable(number) &&
      signals::first_pending_restarts(*this)) {
    // SA_RESTART: the handler returns to the syscall instruction, which runs the call again.
    regs.rax = number;
    resume_user(return_address - 2, user_stack, return_flags);
    return;
  }
  regs.rax = static_cast<uint64_t>(result);
  resume_user(return_address, user_stack, return_flags);
}

void Thread::handle_exception(int vector) {
  kvm_regs& regs = vcpu->regs();
  arch::ExceptionFrame frame = cpu.read_frame(vector, regs.rsp);
  FaultSignal fault = signal_for_vector(vector);
  uint64_t fault_address = 0;
  if (fault.uses_cr2) {
    uint64_t address = vcpu->get_sregs().cr2;
    fault_address = address;
    // A fault on an access the mapping allows comes from a translation cached before the
    // mapping changed. Changing the host protection of the page makes KVM drop it; retry once.
    std::optional<mm::Vma> vma = process.mm.find(address);
    bool write = frame.error_code & 2, fetch = frame.error_code & 16;
    if (process.vfork_tracking && write && vma.has_value() && (vma->prot & PROT_WRITE)) {
      // A vfork child's first write to a page: note it for the parent and let it through.
      process.vfork_dirty_pages.insert(mm::page_down(address));
      process.mm.restore_page(address);
      resume_user(frame.rip, frame.rsp, frame.rflags);
      return;
    }
    bool allowed = vma.has_value() && (vma->prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) &&
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
  if (process.options.trace) {
    log::info("fault: vector %d at rip %#llx, error code %#llx", vector,
              static_cast<unsigned long long>(frame.rip),
              static_cast<unsigned long long>(frame.error_code));
  }
  // The program's state at the fault becomes the state its handler's frame saves.
  resume_user(frame.rip, frame.rsp, frame.rflags);
  last_fault_vector = vector;
  last_fault_error = frame.error_code;
  siginfo_t info{};
  info.si_signo = fault.signal;
  info.si_code = fault.code;
  if (fault.uses_cr2) {
    info.si_addr = reinterpret_cast<void*>(fault_address);
    info.si_code = process.mm.find(fault_address).has_value() ? SEGV_ACCERR : SEGV_MAPERR;
  } else if (vector != arch::kGeneralProtection) {
    info.si_addr = reinterpret_cast<void*>(frame.rip);
  }
  signals::deliver_now(*this, fault.signal, info);
}

}  // namespace noah
