// Clocks and sleeps, answered by the host's clocks.
#include <sys/time.h>
#include <time.h>

#include <cerrno>

#include "translator/syscall/guest.h"
#include "translator/syscall/handlers.h"

namespace noah::syscall {
int64_t sys_clock_gettime(Thread& thread, int clock, GuestPtr<void> time) {
  timespec value;
  if (::clock_gettime(clock, &value) < 0) return -errno;
  if (!copy_to_guest(thread, time.address, &value, sizeof value)) return -EFAULT;
  return 0;
}

int64_t sys_clock_getres(Thread& thread, int clock, GuestPtr<void> resolution) {
  timespec value;
  if (::clock_getres(clock, &value) < 0) return -errno;
  if (!resolution.null() && !copy_to_guest(thread, resolution.address, &value, sizeof value)) {
    return -EFAULT;
  }
  return 0;
}

int64_t sys_gettimeofday(Thread& thread, GuestPtr<void> time, GuestPtr<void> zone) {
  timeval value;
  ::gettimeofday(&value, nullptr);
  if (!time.null() && !copy_to_guest(thread, time.address, &value, sizeof value)) return -EFAULT;
  if (!zone.null()) {
    struct timezone utc {};
    if (!copy_to_guest(thread, zone.address, &utc, sizeof utc)) return -EFAULT;
  }
  return 0;
}

int64_t sys_time(Thread& thread, GuestPtr<int64_t> time) {
  int64_t now = ::time(nullptr);
  if (!time.null() && !write_guest(thread, time, now)) return -EFAULT;
  return now;
}

int64_t sys_nanosleep(Thread& thread, GuestPtr<void> request, GuestPtr<void> remaining) {
  return sys_clock_nanosleep(thread, CLOCK_MONOTONIC, Flags{0}, request, remaining);
}

int64_t sys_clock_nanosleep(Thread& thread, int clock, Flags flags, GuestPtr<void> request,
                            GuestPtr<void> remaining) {
  timespec wanted, left{};
  if (!copy_from_guest(thread, &wanted, request.address, sizeof wanted)) return -EFAULT;
  if (wanted.tv_sec < 0 || wanted.tv_nsec < 0 || wanted.tv_nsec >= 1000000000) return -EINVAL;
  int result = ::clock_nanosleep(clock, static_cast<int>(flags.value), &wanted, &left);
  if (result == EINTR && !remaining.null() && !(flags.value & TIMER_ABSTIME)) {
    if (!copy_to_guest(thread, remaining.address, &left, sizeof left)) return -EFAULT;
  }
  // TODO: restart the sleep when a host signal that the guest does not handle interrupts it.
  return -result;
}

}  // namespace noah::syscall
