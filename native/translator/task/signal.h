// Signal delivery to the guest. The host kernel does the queueing, because each guest
// disposition and the guest's signal mask are mirrored onto the translator process. A signal
// whose guest action is the default or "ignore" gets exactly that action from the host kernel:
// a stop signal stops the translator, SIGTERM ends it. Only signals with a guest handler reach
// the translator's own handler, which queues them for delivery on the next return to the guest.
#pragma once

#include <signal.h>

#include <cstdint>

namespace noah {
class Process;
class Thread;
struct SignalAction;
}  // namespace noah

namespace noah::signals {

constexpr int kMaxSignal = 64;

inline uint64_t bit(int signal) {
  return 1ull << (signal - 1);
}

// SIGKILL and SIGSTOP, which no mask or handler can hold back.
constexpr uint64_t kUnblockable = (1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1));

// Takes the initial dispositions and mask from the host, as exec inherits them, and lets the
// translator's handler interrupt `thread`'s KVM_RUN.
void start(Thread& thread);
// Points the handler's KVM_RUN interruption at `thread`'s current vCPU (after a fork).
void retarget(Thread& thread);
// Mirrors the guest action for `signal` onto the host.
void apply_action(int signal, const SignalAction& action);
// Mirrors the guest signal mask onto the host thread.
void apply_mask(uint64_t guest_mask);
// Whether a guest handler's signal was caught and waits for delivery.
bool pending();
// The signals caught and not yet delivered, as a mask.
uint64_t pending_mask();

// Delivers every caught signal to the guest, building a Linux rt_sigframe for each on the user
// stack. Called when the guest is about to resume in user mode.
void deliver_pending(Thread& thread);
// Delivers a fault signal the guest caused; a fault without a handler ends the process.
void deliver_now(Thread& thread, int signal, const siginfo_t& info);
// Whether the first caught signal's handler has SA_RESTART.
bool first_pending_restarts(Thread& thread);
// rt_sigreturn: restores the state saved in the frame at the guest's stack.
int64_t sigreturn(Thread& thread);

// The host signal the translator uses to end a thread when another thread calls execve.
// NOTE: the guest cannot use it, although Linux programs may use it as SIGRTMAX.
constexpr int kEndThreadSignal = 64;
// Asks the thread with host id `tid` to end at its next return to the translator.
void request_end(pid_t process, pid_t tid);
// Whether this thread was asked to end.
bool end_requested();

}  // namespace noah::signals
