#include "kvm/vm.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kvm/ioctls.h"

namespace noah::kvm {
namespace {

// The most CPUID leaves a vCPU gets; KVM itself allows 256 (KVM_MAX_CPUID_ENTRIES).
constexpr uint32_t kMaxCpuidEntries = 256;

}  // namespace

Error::Error(const std::string& operation, const std::string& object, int error_number)
    : std::runtime_error(operation + " " + object + ": " + strerror(error_number)),
      error_number_(error_number) {}

Vm::Vm() {
  kvm_fd_ = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm_fd_ < 0) throw Error("open", "/dev/kvm", errno);
  int version = ioctl(kvm_fd_, KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION) throw Error("KVM_GET_API_VERSION", "/dev/kvm", EINVAL);
  vm_fd_ = ioctl(kvm_fd_, KVM_CREATE_VM, 0);
  if (vm_fd_ < 0) throw Error("KVM_CREATE_VM", "/dev/kvm", errno);
  run_size_ = ioctl(kvm_fd_, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (run_size_ <= 0) throw Error("KVM_GET_VCPU_MMAP_SIZE", "/dev/kvm", errno);
  int slots = ioctl(kvm_fd_, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
  max_slots_ = slots > 0 ? static_cast<uint32_t>(slots) : 32;

  auto cpuid = std::make_unique<CpuidList<kMaxCpuidEntries>>();
  cpuid->count = kMaxCpuidEntries;
  if (ioctl(kvm_fd_, kGetSupportedCpuid, cpuid.get()) < 0) {
    throw Error("KVM_GET_SUPPORTED_CPUID", "/dev/kvm", errno);
  }
  cpuid_.assign(cpuid->entries, cpuid->entries + cpuid->count);
}

Vm::~Vm() {
  if (vm_fd_ >= 0) close(vm_fd_);
  if (kvm_fd_ >= 0) close(kvm_fd_);
}

uint32_t Vm::add_slot(uint64_t gpa, void* host, uint64_t size) {
  std::lock_guard lock(slots_mutex_);
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
  } else if (next_slot_ < max_slots_) {
    slot = next_slot_;
  } else {
    throw Error("KVM_SET_USER_MEMORY_REGION", "slot table", ENOSPC);
  }
  kvm_userspace_memory_region region{};
  region.slot = slot;
  region.guest_phys_addr = gpa;
  region.memory_size = size;
  region.userspace_addr = reinterpret_cast<uint64_t>(host);
  if (ioctl(vm_fd_, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
    throw Error("KVM_SET_USER_MEMORY_REGION", "slot " + std::to_string(slot), errno);
  }
  if (!free_slots_.empty()) {
    free_slots_.pop_back();
  } else {
    next_slot_++;
  }
  return slot;
}

void Vm::remove_slot(uint32_t slot) {
  std::lock_guard lock(slots_mutex_);
  kvm_userspace_memory_region region{};
  region.slot = slot;  // a size of zero deletes the slot
  if (ioctl(vm_fd_, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
    throw Error("KVM_SET_USER_MEMORY_REGION", "delete slot " + std::to_string(slot), errno);
  }
  free_slots_.push_back(slot);
}

std::unique_ptr<Vcpu> Vm::create_vcpu(int id) {
  int fd = ioctl(vm_fd_, KVM_CREATE_VCPU, id);
  if (fd < 0) throw Error("KVM_CREATE_VCPU", "vcpu " + std::to_string(id), errno);
  void* run = mmap(nullptr, run_size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (run == MAP_FAILED) {
    int error = errno;
    close(fd);
    throw Error("mmap", "kvm_run of vcpu " + std::to_string(id), error);
  }
  return std::make_unique<Vcpu>(fd, static_cast<kvm_run*>(run), run_size_, id);
}

Vcpu::Vcpu(int fd, kvm_run* run, int run_size, int id)
    : fd_(fd), run_(run), run_size_(run_size), id_(id) {
  fcntl(fd_, F_SETFD, FD_CLOEXEC);
  run_->kvm_valid_regs = KVM_SYNC_X86_REGS;
}

Vcpu::~Vcpu() {
  munmap(run_, run_size_);
  close(fd_);
}

int Vcpu::run() {
  if (ioctl(fd_, KVM_RUN, 0) < 0) return -errno;
  return 0;
}

kvm_sregs Vcpu::get_sregs() {
  kvm_sregs sregs{};
  if (ioctl(fd_, KVM_GET_SREGS, &sregs) < 0) throw Error("KVM_GET_SREGS", "vcpu", errno);
  return sregs;
}

void Vcpu::set_sregs(const kvm_sregs& sregs) {
  if (ioctl(fd_, KVM_SET_SREGS, &sregs) < 0) throw Error("KVM_SET_SREGS", "vcpu", errno);
}

void Vcpu::set_msr(uint32_t index, uint64_t value) {
  OneMsr msrs{1, 0, {index, 0, value}};
  if (ioctl(fd_, kSetMsrs, &msrs) != 1) {
    throw Error("KVM_SET_MSRS", "MSR " + std::to_string(index), errno ? errno : EINVAL);
  }
}

uint64_t Vcpu::get_msr(uint32_t index) {
  OneMsr msrs{1, 0, {index, 0, 0}};
  if (ioctl(fd_, kGetMsrs, &msrs) != 1) {
    throw Error("KVM_GET_MSRS", "MSR " + std::to_string(index), errno ? errno : EINVAL);
  }
  return msrs.entry.data;
}

void Vcpu::set_cpuid(const std::vector<kvm_cpuid_entry2>& entries) {
  if (entries.size() > kMaxCpuidEntries) throw Error("KVM_SET_CPUID2", "vcpu", E2BIG);
  auto cpuid = std::make_unique<CpuidList<kMaxCpuidEntries>>();
  cpuid->count = static_cast<uint32_t>(entries.size());
  memcpy(cpuid->entries, entries.data(), entries.size() * sizeof(kvm_cpuid_entry2));
  if (ioctl(fd_, kSetCpuid2, cpuid.get()) < 0) throw Error("KVM_SET_CPUID2", "vcpu", errno);
}

void Vcpu::set_xcr0(uint64_t value) {
  kvm_xcrs xcrs{};
  xcrs.nr_xcrs = 1;
  xcrs.xcrs[0].xcr = 0;
  xcrs.xcrs[0].value = value;
  if (ioctl(fd_, KVM_SET_XCRS, &xcrs) < 0) throw Error("KVM_SET_XCRS", "XCR0", errno);
}

kvm_xsave Vcpu::get_xsave() {
  kvm_xsave state{};
  if (ioctl(fd_, kGetXsave, &state) < 0) throw Error("KVM_GET_XSAVE", "vcpu", errno);
  return state;
}

void Vcpu::set_xsave(const kvm_xsave& state) {
  if (ioctl(fd_, kSetXsave, &state) < 0) throw Error("KVM_SET_XSAVE", "vcpu", errno);
}

}  // namespace noah::kvm
