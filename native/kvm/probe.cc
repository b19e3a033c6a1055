#include "kvm/probe.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

// Debian 12's kernel headers (6.1) predate this capability.
#ifndef KVM_CAP_MEMORY_FAULT_INFO
#define KVM_CAP_MEMORY_FAULT_INFO 232
#endif

namespace noah::kvm {
namespace {

struct CapabilityQuery {
  const char* name;
  long id;
  bool required;
};

// The capabilities the translator's vCPU loop and memory model use.
constexpr CapabilityQuery kQueries[] = {
    {"KVM_CAP_USER_MEMORY", KVM_CAP_USER_MEMORY, true},
    {"KVM_CAP_SYNC_REGS", KVM_CAP_SYNC_REGS, true},
    {"KVM_CAP_IMMEDIATE_EXIT", KVM_CAP_IMMEDIATE_EXIT, true},
    {"KVM_CAP_EXT_CPUID", KVM_CAP_EXT_CPUID, true},
    {"KVM_CAP_XCRS", KVM_CAP_XCRS, true},
    {"KVM_CAP_NR_MEMSLOTS", KVM_CAP_NR_MEMSLOTS, true},
    {"KVM_CAP_MAX_VCPUS", KVM_CAP_MAX_VCPUS, false},
    {"KVM_CAP_MEMORY_FAULT_INFO", KVM_CAP_MEMORY_FAULT_INFO, false},
};

std::string detect_platform() {
  if (access("/sys/module/kvm_pvm", F_OK) == 0) return "pvm";
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string word;
  while (cpuinfo >> word) {
    if (word == "vmx") return "vmx";
    if (word == "svm") return "svm";
  }
  return "unknown";
}

}  // namespace

ProbeResult probe(const std::string& device) {
  ProbeResult result{device, false, "", -1, detect_platform(), {}};
  int fd = open(device.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    result.error =
        "open " + device + ": " + strerror(errno) +
        (errno == EACCES ? " (add your user to the kvm group or fix the permissions)" : "");
    return result;
  }
  result.api_version = ioctl(fd, KVM_GET_API_VERSION, 0);
  if (result.api_version != KVM_API_VERSION) {
    result.error = "KVM API version " + std::to_string(result.api_version) + ", expected " +
                   std::to_string(KVM_API_VERSION);
  }
  for (const auto& query : kQueries) {
    long value = ioctl(fd, KVM_CHECK_EXTENSION, query.id);
    if (value < 0) value = 0;
    bool present = value > 0;
    // The vCPU loop needs the general-purpose registers in the shared kvm_run page.
    if (query.id == KVM_CAP_SYNC_REGS) present = (value & KVM_SYNC_X86_REGS) != 0;
    result.capabilities.push_back({query.name, present, value, query.required});
    if (query.required && !present && result.error.empty()) {
      result.error = std::string(query.name) + " is missing";
    }
  }
  close(fd);
  result.usable = result.error.empty();
  return result;
}

}  // namespace noah::kvm
