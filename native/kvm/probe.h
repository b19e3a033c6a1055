// Checks that /dev/kvm can run the translator: shared by the addon (`noah info`) and the
// translator's start-up check.
#pragma once

#include <string>
#include <vector>

namespace noah::kvm {

struct Capability {
  std::string name;
  bool present;
  long value;  // the KVM_CHECK_EXTENSION result, 0 when absent
  bool required;
};

struct ProbeResult {
  std::string device;
  bool usable;           // opened read-write, API 12, and every required capability present
  std::string error;     // why it is not usable, empty when usable
  int api_version;       // KVM_GET_API_VERSION, -1 when the device could not be opened
  std::string platform;  // "pvm" for the paravirtual kvm_pvm module, else "vmx", "svm" or "unknown"
  std::vector<Capability> capabilities;
};

// Opens `device` and queries the API version and the capabilities the translator relies on.
ProbeResult probe(const std::string& device = "/dev/kvm");

}  // namespace noah::kvm
