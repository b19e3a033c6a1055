// Thin owners of the KVM file descriptors: the VM with its memory slots, and one vCPU with its
// shared kvm_run page. Everything x86-64 specific lives in translator/arch.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace noah::kvm {

// A failed host call while setting up or running the VM: names the operation, the object and
// the cause, as in "KVM_CREATE_VCPU vcpu 1: Cannot allocate memory".
class Error : public std::runtime_error {
 public:
  Error(const std::string& operation, const std::string& object, int error_number);
  int error_number() const { return error_number_; }

 private:
  int error_number_;
};

class Vcpu;

class Vm {
 public:
  // Opens /dev/kvm and creates a VM. Throws kvm::Error.
  Vm();
  ~Vm();
  Vm(const Vm&) = delete;
  Vm& operator=(const Vm&) = delete;

  // Registers host memory [host, host+size) at guest physical address `gpa`, returning the slot.
  uint32_t add_slot(uint64_t gpa, void* host, uint64_t size);
  // Unregisters `slot`; the guest loses access to its memory at once.
  void remove_slot(uint32_t slot);
  // Creates vCPU number `id`.
  std::unique_ptr<Vcpu> create_vcpu(int id);
  // The CPUID leaves this KVM can give a guest.
  const std::vector<kvm_cpuid_entry2>& supported_cpuid() const { return cpuid_; }

  int fd() const { return vm_fd_; }

 private:
  int kvm_fd_ = -1;
  int vm_fd_ = -1;
  int run_size_ = 0;
  std::mutex slots_mutex_;  // threads add slots concurrently
  std::vector<uint32_t> free_slots_;
  uint32_t next_slot_ = 0;
  uint32_t max_slots_ = 0;
  std::vector<kvm_cpuid_entry2> cpuid_;
};

class Vcpu {
 public:
  Vcpu(int fd, kvm_run* run, int run_size, int id);
  ~Vcpu();
  Vcpu(const Vcpu&) = delete;
  Vcpu& operator=(const Vcpu&) = delete;

  // Enters the guest until the next exit. Returns 0, or -errno from KVM_RUN (-EINTR when a
  // host signal arrived).
  int run();

  // The general-purpose registers, valid after each exit through KVM_CAP_SYNC_REGS.
  kvm_regs& regs() { return run_->s.regs.regs; }
  // Makes KVM load regs() on the next entry.
  void mark_regs_dirty() { run_->kvm_dirty_regs |= KVM_SYNC_X86_REGS; }
  kvm_run& exit() { return *run_; }

  kvm_sregs get_sregs();
  void set_sregs(const kvm_sregs& sregs);
  void set_msr(uint32_t index, uint64_t value);
  uint64_t get_msr(uint32_t index);
  void set_cpuid(const std::vector<kvm_cpuid_entry2>& entries);
  void set_xcr0(uint64_t value);
  kvm_xsave get_xsave();
  void set_xsave(const kvm_xsave& state);

  int id() const { return id_; }
  int fd() const { return fd_; }

 private:
  int fd_;
  kvm_run* run_;
  int run_size_;
  int id_;
};

}  // namespace noah::kvm
