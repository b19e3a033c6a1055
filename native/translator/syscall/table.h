// The system call table: the single source of truth for each x86-64 Linux system call's name,
// handler, support level and note. Dispatch, the unimplemented-call message and the tracer all
// read it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "translator/syscall/types.h"

namespace noah::syscall {

enum class Support : uint8_t {
  kMissing,  // no handler yet: -ENOSYS, logged once
  kFull,     // as Linux behaves
  kPartial,  // works for common uses; the note says what differs
  kNone,     // returns an errno on purpose (the note says which and why)
};

using Handler = int64_t (*)(Thread&, const uint64_t* args);

struct Entry {
  const char* name;
  Handler handler;  // nullptr: no handler, -ENOSYS
  Support support;
  const char* note;
  int argc;
  std::array<ArgKind, 6> kinds;
};

constexpr int kMaxSyscall = 463;

// The entry for `number`, or nullptr when the number is out of range.
const Entry* lookup(uint64_t number);
// The Linux name of `number`, or nullptr.
const char* name_of(uint64_t number);

// Decodes raw registers into the handler's parameter types and calls it.
template <typename... Args, std::size_t... I>
int64_t call_with(int64_t (*fn)(Thread&, Args...), Thread& thread, const uint64_t* args,
                  std::index_sequence<I...>) {
  return fn(thread, decode<Args>(args[I])...);
}

template <typename F>
struct HandlerTraits;

template <typename... Args>
struct HandlerTraits<int64_t (*)(Thread&, Args...)> {
  static_assert(sizeof...(Args) <= 6, "x86-64 system calls take at most six arguments");
  static constexpr int argc = sizeof...(Args);
  static constexpr std::array<ArgKind, 6> kinds() {
    std::array<ArgKind, 6> result{};
    int i = 0;
    ((result[i++] = kind_of<Args>()), ...);
    return result;
  }
  template <int64_t (*Fn)(Thread&, Args...)>
  static int64_t invoke(Thread& thread, const uint64_t* args) {
    return call_with(Fn, thread, args, std::index_sequence_for<Args...>{});
  }
};

template <auto Fn>
constexpr Entry make_entry(const char* name, Support support, const char* note) {
  using Traits = HandlerTraits<decltype(Fn)>;
  return Entry{name, &Traits::template invoke<Fn>, support, note, Traits::argc, Traits::kinds()};
}

}  // namespace noah::syscall
