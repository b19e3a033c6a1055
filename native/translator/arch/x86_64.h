// The x86-64 machine the guest program sees: long mode with the program at CPL 3, a CPL 0
// syscall entry stub, an IDT whose gates all run on an IST stack, and the CPUID/XSAVE features
// of the host.
//
// The program runs in user mode because on PVM (the paravirtual KVM of these machines) CPL 0
// code never runs natively: KVM's instruction emulator executes it one instruction at a time,
// and it cannot execute SSE or int3. CPL 3 code runs on the CPU. The stubs run at CPL 0 and are
// two instructions each: `out` to leave KVM_RUN, and `iretq` back to the program from a frame
// the host writes, so no guest stack is touched and the red zone stays intact.
//
// System structures sit in the upper half of the guest's virtual address space, where no Linux
// user mapping can be. Their guest physical address equals their host virtual address, as for
// all guest memory, and each is a KVM memory slot of its own.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

#include "kvm/vm.h"
#include "translator/mm/page_table.h"

namespace noah::arch {

// Port numbers the stubs write to: the syscall stub uses kSyscallPort, the stub of exception
// vector V uses kExceptionPort + V.
constexpr uint16_t kSyscallPort = 0x10;
constexpr uint16_t kExceptionPort = 0x20;
constexpr int kExceptionVectors = 32;

// Exception vectors that Linux turns into signals.
enum Vector : int {
  kDivideError = 0,
  kDebug = 1,
  kBreakpoint = 3,
  kOverflow = 4,
  kBoundRange = 5,
  kInvalidOpcode = 6,
  kDeviceNotAvailable = 7,
  kDoubleFault = 8,
  kInvalidTss = 10,
  kSegmentNotPresent = 11,
  kStackFault = 12,
  kGeneralProtection = 13,
  kPageFault = 14,
  kX87Error = 16,
  kAlignmentCheck = 17,
  kMachineCheck = 18,
  kSimdError = 19,
};

// Whether the CPU pushes an error code for `vector`.
bool has_error_code(int vector);

// The frame the CPU pushed on the IST stack when an exception arrived.
struct ExceptionFrame {
  int vector;
  uint64_t error_code;
  uint64_t rip;
  uint64_t rflags;
  uint64_t rsp;
};

// The code page (stubs) and the IDT, shared by every vCPU of a VM.
class SystemArea {
 public:
  explicit SystemArea(mm::PageTables& tables);
  ~SystemArea();
  SystemArea(const SystemArea&) = delete;
  SystemArea& operator=(const SystemArea&) = delete;

  void attach(kvm::Vm& vm);
  // Guest virtual address of the syscall stub, the LSTAR target.
  uint64_t syscall_entry() const;
  // Guest virtual address of the syscall stub's `iretq`, for returns not after an exit.
  uint64_t return_entry() const;
  uint64_t exception_entry(int vector) const;
  uint64_t idt() const;

 private:
  uint8_t* host_;
};

// Selectors of the Linux x86-64 GDT layout. PVM requires the user code selector to be Linux's.
constexpr uint16_t kKernelCode = 0x10;
constexpr uint16_t kKernelData = 0x18;
constexpr uint16_t kUser32Code = 0x23;
constexpr uint16_t kUserData = 0x2b;
constexpr uint16_t kUserCode = 0x33;
constexpr uint16_t kTaskState = 0x40;

// Per-vCPU structures: GDT, TSS, the IST stack and the frame the return stub pops.
class CpuArea {
 public:
  CpuArea(mm::PageTables& tables, int index);
  ~CpuArea();
  CpuArea(const CpuArea&) = delete;
  CpuArea& operator=(const CpuArea&) = delete;

  void attach(kvm::Vm& vm);
  uint64_t gdt() const;
  uint64_t tss_virt() const;
  uint64_t ist_top() const;
  uint64_t return_frame() const;
  // Reads the frame of an exception whose stub exited with the stack pointer `rsp`. The
  // values are whatever the guest left there: callers treat them as untrusted numbers.
  ExceptionFrame read_frame(int vector, uint64_t rsp) const;
  // Writes the iretq frame that resumes the program at `rip` with `rsp` and `rflags`, and
  // returns the stack pointer the return stub needs.
  uint64_t write_return_frame(uint64_t rip, uint64_t rsp, uint64_t rflags);
  // Reads back the frame write_return_frame wrote.
  void read_return_frame(uint64_t& rip, uint64_t& rsp, uint64_t& rflags) const;

 private:
  uint8_t* host_;
  uint64_t virt_;
};

// Puts `vcpu` into 64-bit user mode with paging from `tables`, the syscall MSRs aimed at the
// stub, the host's CPUID and every XSAVE feature KVM offers.
void setup_vcpu(kvm::Vm& vm, kvm::Vcpu& vcpu, const SystemArea& system, const CpuArea& cpu,
                const mm::PageTables& tables);

// MSR numbers used outside this file.
constexpr uint32_t kMsrFsBase = 0xc0000100;
constexpr uint32_t kMsrGsBase = 0xc0000101;

}  // namespace noah::arch
