// Counters of the translator's work, printed at exit when NOAH_STATS=1 (or --stats): system
// calls by name with the host time they took, VM exits by reason, and the time spent in
// KVM_RUN (the guest, plus the exit and entry costs) against the time spent in the translator.
#pragma once

#include <cstdint>
#include <ctime>

namespace noah::stats {

extern bool enabled;

inline uint64_t now_ns() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1000000000ull + static_cast<uint64_t>(t.tv_nsec);
}

void record_syscall(uint64_t number, uint64_t nanoseconds);
void record_run(uint32_t exit_reason, uint64_t nanoseconds);
// Writes the counters to the translator's log, one line each.
void print();
// Starts the counters afresh, in a forked child, so a child does not report its parent's work.
void reset();

}  // namespace noah::stats
