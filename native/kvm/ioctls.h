// KVM ioctl numbers whose argument ends in a flexible array. Linux 6.1's uapi headers declare
// those arrays with __DECLARE_FLEX_ARRAY, which makes the structs larger in C++ than in C, so
// the header's macros encode a wrong size there and KVM rejects them with EINVAL. These are
// the numbers the kernel expects, computed from the C sizes.
#pragma once

#include <linux/ioctl.h>
#include <linux/kvm.h>

#include <cstdint>

namespace noah::kvm {

// The C layouts of kvm_cpuid2 and kvm_msrs with their arrays, for the same reason.
template <uint32_t N>
struct CpuidList {
  uint32_t count;
  uint32_t padding;
  kvm_cpuid_entry2 entries[N];
};

struct OneMsr {
  uint32_t count;
  uint32_t padding;
  kvm_msr_entry entry;
};

constexpr unsigned long kGetSupportedCpuid = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x05, 8);
constexpr unsigned long kSetCpuid2 = _IOC(_IOC_WRITE, KVMIO, 0x90, 8);
constexpr unsigned long kGetMsrs = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x88, 8);
constexpr unsigned long kSetMsrs = _IOC(_IOC_WRITE, KVMIO, 0x89, 8);
constexpr unsigned long kGetXsave = _IOC(_IOC_READ, KVMIO, 0xa4, 4096);
constexpr unsigned long kSetXsave = _IOC(_IOC_WRITE, KVMIO, 0xa5, 4096);

}  // namespace noah::kvm
