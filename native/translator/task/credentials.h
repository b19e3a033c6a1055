// Guest credentials, and the host identity that enforces them. When the translator runs as host
// root, every host thread that runs a guest thread carries the guest's filesystem uid, gid and
// supplementary groups. The host kernel then checks each file access of the guest as Linux
// checks a process with those ids, and a filesystem uid other than 0 also drops
// CAP_DAC_OVERRIDE, CAP_FOWNER and the other filesystem capabilities. Work the translator does
// for itself (its container records, copy-up, synthesized files, /dev/kvm) runs under an
// OwnIdentity scope.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <new>
#include <vector>

namespace noah {

// Docker's default capability set as a mask of CAP_* bits: what root in a container gets.
constexpr uint64_t kDockerCapabilities = 0xa80425fb;

// Linux credentials as the guest's calls report them.
struct Credentials {
  uid_t uid = 0, euid = 0, suid = 0, fsuid = 0;
  gid_t gid = 0, egid = 0, sgid = 0, fsgid = 0;
  std::vector<gid_t> groups;
  // Capability sets as masks of CAP_* bits. The host enforces none of them: the guest's file
  // access is checked by its ids, and the other checks are the translator's.
  uint64_t permitted = kDockerCapabilities, effective = kDockerCapabilities, inheritable = 0;
  bool keep_capabilities = false;  // prctl(PR_SET_KEEPCAPS)

  bool capable(int capability) const { return (effective >> capability) & 1; }
  // Changes the credentials as execve does. A set-user-ID or set-group-ID file makes its owner
  // (`file_uid`) or group (`file_gid`) the effective id, and -1 means neither. The saved and
  // filesystem ids then copy the effective ones. The capabilities become those of a file
  // without file capabilities: the bounding set (Docker's) is permitted when the real or
  // effective uid is 0 and also effective for effective uid 0, and other users get none.
  void apply_exec(int64_t file_uid, int64_t file_gid);
  // Whether the new program must run in glibc's secure mode (AT_SECURE): its effective ids
  // differ from its real ones.
  bool secure() const { return euid != uid || egid != gid; }
  // Updates the capabilities after a change of uid from `old` by the set*id calls, as Linux
  // does without SECBIT_NO_SETUID_FIXUP.
  void adjust_capabilities_for_uid_change(const Credentials& old);
};

// The credentials of one guest process, shared by its threads. Linux keeps credentials per
// thread, but glibc's set*id functions change them on every thread of the process, so one copy
// is what glibc programs see. NOTE: a raw set*id system call from one thread changes them for
// every thread here, where Linux changes only the caller's.
class GuestCredentials {
 public:
  Credentials get() const;
  // The credentials and the generation they belong to.
  Credentials get(uint64_t& generation) const;
  void set(const Credentials& value);
  // Runs `change` on a copy of the credentials under the lock and keeps the copy when it
  // returns 0. Returns what `change` returns: 0 or -errno.
  template <typename Change>
  int64_t update(Change change) {
    std::lock_guard lock(mutex_);
    Credentials copy = value_;
    int64_t result = change(copy);
    if (result == 0) {
      value_ = std::move(copy);
      generation_.fetch_add(1, std::memory_order_release);
    }
    return result;
  }
  // A counter that grows with every change, so a thread can tell that its host identity is
  // stale without taking the lock.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // In a forked child, where the thread that held the lock does not exist.
  void reset_lock_after_fork() { new (&mutex_) std::mutex(); }

 private:
  mutable std::mutex mutex_;
  Credentials value_;
  std::atomic<uint64_t> generation_{1};
};

namespace credentials {

// The ids the host kernel checks file access with: fsuid, fsgid and supplementary groups.
struct FilesystemIdentity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  bool operator==(const FilesystemIdentity&) const = default;
};

// Records the translator's own identity and whether it can take the guest's. Call once in
// main, before any other thread starts.
void init();
// Whether host threads take the guest's filesystem identity: true when the translator runs as
// host root.
bool enforced();
// Gives the calling host thread the filesystem identity of `guest`, unless it already has the
// current one. Called before each system call of the guest and before the first program loads.
void follow(const GuestCredentials& guest);

// Switches the calling host thread to the translator's own filesystem identity for the life of
// the object, then back. Nested scopes cost nothing, and errno survives both switches.
class OwnIdentity {
 public:
  OwnIdentity();
  ~OwnIdentity();
  OwnIdentity(const OwnIdentity&) = delete;
  OwnIdentity& operator=(const OwnIdentity&) = delete;

 private:
  bool switched_ = false;
  FilesystemIdentity saved_;
};

}  // namespace credentials
}  // namespace noah
