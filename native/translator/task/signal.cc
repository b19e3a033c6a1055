#include "translator/task/signal.h"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include "translator/syscall/guest.h"
#include "translator/task/process.h"

namespace noah::signals {
namespace {

// Signals the CPU raises for the program's own faults. The translator keeps their host default,
// so a fault of the translator itself is not mistaken for the guest's.
bool synchronous(int signal) {
  return signal == SIGSEGV || signal == SIGBUS || signal == SIGFPE || signal == SIGILL ||
         signal == SIGTRAP;
}

bool mirrored(int signal) {
  return signal != SIGKILL && signal != SIGSTOP && !synchronous(signal) && signal != 32 &&
         signal != 33 &&  // glibc reserves 32 and 33 for its own threads in the translator
         signal != kEndThreadSignal;
}

// Caught signals waiting for delivery: one slot per signal, filled by the host handler. They
// are per thread: the host kernel picks a thread that does not block the signal, and the
// guest's mask is mirrored per thread, so that thread is one the guest would pick too.
struct Slot {
  std::atomic<int> count{0};
  siginfo_t info;
};
thread_local Slot slots[kMaxSignal + 1];
thread_local std::atomic<uint64_t> caught{0};
thread_local kvm_run* kick_target = nullptr;
thread_local volatile sig_atomic_t end_flag = 0;

void on_end_thread(int) {
  end_flag = 1;
  if (kick_target != nullptr) kick_target->immediate_exit = 1;
}

void on_host_signal(int signal, siginfo_t* info, void*) {
  slots[signal].info = *info;
  slots[signal].count.fetch_add(1);
  caught.fetch_or(bit(signal));
  // Makes a KVM_RUN that is about to start return at once, so the signal is not held back
  // until the next exit of a busy guest.
  if (kick_target != nullptr) kick_target->immediate_exit = 1;
}

// The layout of Linux's x86-64 signal frame (arch/x86/include/uapi/asm/sigcontext.h).
struct SigContext {
  uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
  uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
  uint16_t cs, gs, fs, ss;
  uint64_t err, trapno, oldmask, cr2;
  uint64_t fpstate;
  uint64_t reserved[8];
};
static_assert(sizeof(SigContext) == 256);

struct UContext {
  uint64_t flags;
  uint64_t link;
  stack_t stack;
  SigContext mcontext;
  uint64_t sigmask;
};
static_assert(sizeof(UContext) == 304);

struct RtSigFrame {
  uint64_t restorer;  // the return address the handler's ret pops
  UContext uc;
  siginfo_t info;
};
static_assert(sizeof(RtSigFrame) == 440);

constexpr uint64_t kUcFpXstate = 1, kUcSigcontextSs = 2, kUcStrictRestoreSs = 4;
constexpr uint32_t kFpXstateMagic1 = 0x46505853, kFpXstateMagic2 = 0x46505845;
constexpr uint64_t kSaRestorer = 0x04000000;
constexpr uint64_t kSaOnStack = 0x08000000, kSaRestart = 0x10000000, kSaNoDefer = 0x40000000;
constexpr uint64_t kSaResetHand = 0x80000000;
constexpr uint64_t kRedZone = 128;
// RFLAGS bits sigreturn may restore: CF PF AF ZF SF TF DF OF NT AC and RF, as Linux's FIX_EFLAGS.
constexpr uint64_t kRestorableFlags = 0x254dd5 | 0x10000;
constexpr uint64_t kHandlerClearedFlags = 0x100 | 0x400 | 0x10000;  // TF DF RF

// The program's registers as it left user mode. Once the host prepared its return, the resume
// frame contains rip, rsp and rflags.
kvm_regs user_registers(Thread& thread) {
  kvm_regs regs = thread.vcpu->regs();
  if (thread.resume_frame_pending) {
    uint64_t rip, rsp, rflags;
    thread.cpu.read_return_frame(rip, rsp, rflags);
    regs.rip = rip;
    regs.rsp = rsp;
    regs.rflags = rflags;
  }
  return regs;
}

bool in_stubs(Thread& thread, uint64_t rip) {
  uint64_t base = thread.process.system.syscall_entry();
  return rip >= base && rip < base + mm::kPageSize;
}

bool on_alternate_stack(const stack_t& stack, uint64_t sp) {
  auto base = reinterpret_cast<uint64_t>(stack.ss_sp);
  return !(stack.ss_flags & SS_DISABLE) && sp > base && sp <= base + stack.ss_size;
}

[[noreturn]] void force_default(Thread& thread, int signal) {
  kill_process(thread.process, signal);
}

void build_frame(Thread& thread, int signal, const siginfo_t& info, const kvm_regs& regs,
                 uint64_t saved_mask) {
  Process& process = thread.process;
  SignalAction action = process.signal_actions[signal];
  if (!(action.flags & kSaRestorer)) force_default(thread, SIGSEGV);

  uint64_t sp = regs.rsp - kRedZone;
  const stack_t& alternate = thread.alternate_stack;
  if ((action.flags & kSaOnStack) && !(alternate.ss_flags & SS_DISABLE) &&
      !on_alternate_stack(alternate, regs.rsp)) {
    sp = reinterpret_cast<uint64_t>(alternate.ss_sp) + alternate.ss_size;
  }
  uint64_t xstate_size = process.xstate_size;
  sp = (sp - xstate_size - 4) & ~63ull;
  uint64_t fpstate = sp;
  sp = ((sp - sizeof(RtSigFrame)) & ~15ull) - 8;
  uint64_t frame_address = sp;

  // The whole frame must be writable user memory, else the program dies of SIGSEGV. The lock
  // keeps other threads from unmapping it while the frame is written.
  std::shared_lock lock(process.mm.mutex());
  if (!process.mm.check_locked(frame_address, fpstate + xstate_size + 4 - frame_address,
                               mm::kWrite)) {
    force_default(thread, SIGSEGV);
  }
  auto xsave = std::make_unique<kvm_xsave>(thread.vcpu->get_xsave());
  auto* fp = reinterpret_cast<uint8_t*>(xsave->region);
  // The software-reserved bytes of the XSAVE legacy area describe the extended state.
  uint32_t sw[12] = {};
  sw[0] = kFpXstateMagic1;
  sw[1] = static_cast<uint32_t>(xstate_size + 4);
  uint64_t features = process.xcr0;
  memcpy(&sw[2], &features, 8);
  sw[4] = static_cast<uint32_t>(xstate_size);
  memcpy(fp + 464, sw, sizeof sw);
  memcpy(reinterpret_cast<void*>(fpstate), fp, xstate_size);
  memcpy(reinterpret_cast<void*>(fpstate + xstate_size), &kFpXstateMagic2, 4);

  RtSigFrame frame{};
  frame.restorer = action.restorer;
  frame.uc.flags = kUcFpXstate | kUcSigcontextSs | kUcStrictRestoreSs;
  frame.uc.stack = alternate;
  if (on_alternate_stack(alternate, regs.rsp)) frame.uc.stack.ss_flags |= SS_ONSTACK;
  SigContext& c = frame.uc.mcontext;
  c.r8 = regs.r8, c.r9 = regs.r9, c.r10 = regs.r10, c.r11 = regs.r11;
  c.r12 = regs.r12, c.r13 = regs.r13, c.r14 = regs.r14, c.r15 = regs.r15;
  c.rdi = regs.rdi, c.rsi = regs.rsi, c.rbp = regs.rbp, c.rbx = regs.rbx;
  c.rdx = regs.rdx, c.rax = regs.rax, c.rcx = regs.rcx, c.rsp = regs.rsp;
  c.rip = regs.rip, c.eflags = regs.rflags;
  c.cs = arch::kUserCode;
  c.ss = arch::kUserData;
  c.oldmask = saved_mask;
  c.fpstate = fpstate;
  if (synchronous(signal)) {
    c.trapno = static_cast<uint64_t>(thread.last_fault_vector);
    c.err = thread.last_fault_error;
    c.cr2 = reinterpret_cast<uint64_t>(info.si_addr);
  }
  frame.uc.sigmask = saved_mask;
  frame.info = info;
  memcpy(reinterpret_cast<void*>(frame_address), &frame, sizeof frame);
  lock.unlock();

  // The handler runs with the signal and its sa_mask blocked.
  uint64_t mask = thread.signal_mask | action.mask;
  if (!(action.flags & kSaNoDefer)) mask |= bit(signal);
  thread.signal_mask = mask & ~kUnblockable;
  apply_mask(thread.signal_mask);
  if (action.flags & kSaResetHand) {
    process.signal_actions[signal] = SignalAction{};
    apply_action(signal, process.signal_actions[signal]);
  }
  constexpr int kStackAutoDisarm = 1 << 31;  // SS_AUTODISARM
  if ((alternate.ss_flags & kStackAutoDisarm) && !(frame.uc.stack.ss_flags & SS_ONSTACK) &&
      sp >= reinterpret_cast<uint64_t>(alternate.ss_sp)) {
    thread.alternate_stack.ss_flags = SS_DISABLE;
  }

  kvm_regs& out = thread.vcpu->regs();
  out = regs;
  out.rdi = static_cast<uint64_t>(signal);
  out.rsi = frame_address + offsetof(RtSigFrame, info);
  out.rdx = frame_address + offsetof(RtSigFrame, uc);
  out.rax = 0;
  thread.resume_user(action.handler, frame_address, regs.rflags & ~kHandlerClearedFlags);
}

}  // namespace

void start(Thread& thread) {
  Process& process = thread.process;
  sigset_t host_mask;
  pthread_sigmask(SIG_SETMASK, nullptr, &host_mask);
  for (int signal = 1; signal <= kMaxSignal; signal++) {
    if (sigismember(&host_mask, signal) == 1 && mirrored(signal)) {
      thread.signal_mask |= bit(signal);
    }
    struct sigaction host {};
    if (sigaction(signal, nullptr, &host) == 0 && host.sa_handler == SIG_IGN && mirrored(signal)) {
      process.signal_actions[signal].handler = 1;  // ignored signals stay ignored across exec
    }
  }
  struct sigaction end {};
  end.sa_handler = on_end_thread;
  sigemptyset(&end.sa_mask);
  sigaction(kEndThreadSignal, &end, nullptr);
  retarget(thread);
}

void retarget(Thread& thread) {
  kick_target = &thread.vcpu->exit();
}

void request_end(pid_t process, pid_t tid) {
  ::syscall(SYS_tgkill, process, tid, kEndThreadSignal);
}

bool end_requested() {
  return end_flag != 0;
}

void apply_action(int signal, const SignalAction& action) {
  if (!mirrored(signal)) return;
  struct sigaction host {};
  sigemptyset(&host.sa_mask);
  // The host handler must interrupt blocking host calls (no SA_RESTART): whether the guest's
  // call restarts is decided by the guest's own flags when the signal is delivered.
  host.sa_flags = static_cast<int>(action.flags & (SA_NOCLDSTOP | SA_NOCLDWAIT));
  if (action.handler == 0) {
    host.sa_handler = SIG_DFL;
  } else if (action.handler == 1) {
    host.sa_handler = SIG_IGN;
  } else {
    host.sa_sigaction = on_host_signal;
    host.sa_flags |= SA_SIGINFO;
  }
  sigaction(signal, &host, nullptr);
}

void apply_mask(uint64_t guest_mask) {
  sigset_t host;
  sigemptyset(&host);
  for (int signal = 1; signal <= kMaxSignal; signal++) {
    if ((guest_mask & bit(signal)) && mirrored(signal)) sigaddset(&host, signal);
  }
  pthread_sigmask(SIG_SETMASK, &host, nullptr);
}

bool pending() {
  return caught.load() != 0;
}

uint64_t pending_mask() {
  return caught.load();
}

bool first_pending_restarts(Thread& thread) {
  uint64_t mask = caught.load();
  if (mask == 0) return false;
  int signal = __builtin_ctzll(mask) + 1;
  return (thread.process.signal_actions[signal].flags & kSaRestart) != 0;
}

void deliver_pending(Thread& thread) {
  thread.vcpu->exit().immediate_exit = 0;
  while (caught.load() != 0) {
    kvm_regs regs = user_registers(thread);
    // Entered a stub but not yet left through its `out`: that exit comes first.
    if (!thread.resume_frame_pending && in_stubs(thread, regs.rip)) return;
    uint64_t mask = caught.load();
    int signal = __builtin_ctzll(mask) + 1;
    siginfo_t info = slots[signal].info;
    // Standard signals coalesce: one delivery for however many arrived.
    // TODO: real-time signals should queue one delivery per signal sent.
    slots[signal].count.store(0);
    caught.fetch_and(~bit(signal));
    const SignalAction& action = thread.process.signal_actions[signal];
    if (action.handler == 0 || action.handler == 1) continue;  // changed since it was caught
    uint64_t saved = thread.restore_mask_after_signal.value_or(thread.signal_mask);
    thread.restore_mask_after_signal.reset();
    build_frame(thread, signal, info, regs, saved);
  }
}

void deliver_now(Thread& thread, int signal, const siginfo_t& info) {
  const SignalAction& action = thread.process.signal_actions[signal];
  bool blocked = (thread.signal_mask & bit(signal)) != 0;
  // A fault the program cannot handle takes the default action, as Linux forces it.
  if (action.handler == 0 || action.handler == 1 || blocked) force_default(thread, signal);
  build_frame(thread, signal, info, user_registers(thread), thread.signal_mask);
}

int64_t sigreturn(Thread& thread) {
  kvm_regs regs = user_registers(thread);
  uint64_t frame_address = regs.rsp - 8;
  RtSigFrame frame;
  if (!syscall::copy_from_guest(thread, &frame, frame_address, sizeof frame)) {
    force_default(thread, SIGSEGV);
  }
  const SigContext& c = frame.uc.mcontext;
  Process& process = thread.process;
  if (c.fpstate != 0) {
    auto xsave = std::make_unique<kvm_xsave>();
    if (!syscall::copy_from_guest(thread, xsave->region, c.fpstate, process.xstate_size)) {
      force_default(thread, SIGSEGV);
    }
    try {
      thread.vcpu->set_xsave(*xsave);
    } catch (const kvm::Error&) {
      force_default(thread, SIGSEGV);  // a corrupt FPU state, as Linux treats it
    }
  }
  thread.signal_mask = frame.uc.sigmask & ~kUnblockable;
  apply_mask(thread.signal_mask);
  // sigreturn restores the alternate stack the frame recorded, as sigaltstack would set it.
  stack_t restored = frame.uc.stack;
  restored.ss_flags &= ~SS_ONSTACK;
  if (!(restored.ss_flags & SS_DISABLE) && restored.ss_size == 0) restored.ss_flags = SS_DISABLE;
  thread.alternate_stack = restored;
  kvm_regs& out = thread.vcpu->regs();
  out.r8 = c.r8, out.r9 = c.r9, out.r10 = c.r10, out.r11 = c.r11;
  out.r12 = c.r12, out.r13 = c.r13, out.r14 = c.r14, out.r15 = c.r15;
  out.rdi = c.rdi, out.rsi = c.rsi, out.rbp = c.rbp, out.rbx = c.rbx;
  out.rdx = c.rdx, out.rax = c.rax, out.rcx = c.rcx;
  uint64_t flags = (regs.rflags & ~kRestorableFlags) | (c.eflags & kRestorableFlags);
  thread.resume_user(c.rip, c.rsp, flags);
  thread.registers_replaced = true;
  return static_cast<int64_t>(c.rax);
}

}  // namespace noah::signals
