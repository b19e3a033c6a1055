#include "translator/arch/x86_64.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

namespace noah::arch {
namespace {

// Guest virtual layout of the system structures, all in the top 512 GiB (PML4 entry 511).
constexpr uint64_t kSystemBase = 0xffffff8000000000ull;
constexpr uint64_t kCodeOffset = 0x0;    // stubs
constexpr uint64_t kIdtOffset = 0x1000;  // 256 gates of 16 bytes
constexpr uint64_t kSystemSize = 0x2000;
constexpr uint64_t kCpuBase = kSystemBase + 0x100000;
constexpr uint64_t kCpuStride = 0x10000;
constexpr uint64_t kCpuSize = 0x4000;  // GDT and TSS page, then the IST stack
constexpr uint64_t kTssOffset = 0x800;
constexpr uint16_t kIoBitmapOffset = 0x68;                        // right after the 104-byte TSS
constexpr uint16_t kIoBitmapBytes = 8;                            // ports 0 to 63
constexpr uint32_t kTssLimit = kIoBitmapOffset + kIoBitmapBytes;  // includes the 0xff byte
constexpr uint64_t kReturnFrameOffset = 0xf00;                    // five words for iretq
constexpr uint64_t kExceptionStubOffset = 0x100;
constexpr uint64_t kExceptionStubSize = 8;

constexpr uint32_t kMsrStar = 0xc0000081;
constexpr uint32_t kMsrLstar = 0xc0000082;
constexpr uint32_t kMsrCstar = 0xc0000083;
constexpr uint32_t kMsrSyscallMask = 0xc0000084;
constexpr uint32_t kMsrKernelGsBase = 0xc0000102;

constexpr uint64_t kCr0 = 0x80050033;  // PE MP ET NE WP AM PG
constexpr uint64_t kCr4Pae = 1 << 5, kCr4Osfxsr = 1 << 9, kCr4Osxmmexcpt = 1 << 10;
constexpr uint64_t kCr4Fsgsbase = 1 << 16, kCr4Osxsave = 1 << 18;
constexpr uint64_t kEfer = 0xd01;  // SCE LME LMA NXE
// Linux's syscall mask: TF DF IF IOPL NT AC are cleared on entry to the stub.
constexpr uint64_t kSyscallMask = 0x47700;

uint8_t* allocate(uint64_t size, const char* what) {
  void* host = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (host == MAP_FAILED) throw kvm::Error("mmap", what, errno);
  return static_cast<uint8_t*>(host);
}

void write_gate(uint8_t* gate, uint64_t handler) {
  uint64_t low = (handler & 0xffff) | (uint64_t{kKernelCode} << 16) | (1ull << 32) /* IST1 */ |
                 (0x8eull << 40) /* present, DPL 0, interrupt gate */ |
                 (((handler >> 16) & 0xffff) << 48);
  uint64_t high = handler >> 32;
  memcpy(gate, &low, 8);
  memcpy(gate + 8, &high, 8);
}

kvm_segment user_code_segment() {
  kvm_segment s{};
  s.selector = kUserCode;
  s.limit = 0xffffffff;
  s.type = 11;  // execute/read, accessed
  s.present = 1;
  s.dpl = 3;
  s.s = 1;
  s.l = 1;
  s.g = 1;
  return s;
}

kvm_segment user_data_segment() {
  kvm_segment s{};
  s.selector = kUserData;
  s.limit = 0xffffffff;
  s.type = 3;  // read/write, accessed
  s.present = 1;
  s.dpl = 3;
  s.s = 1;
  s.db = 1;
  s.g = 1;
  return s;
}

const kvm_cpuid_entry2* find_leaf(const std::vector<kvm_cpuid_entry2>& cpuid, uint32_t function,
                                  uint32_t index) {
  for (const auto& entry : cpuid) {
    if (entry.function == function && entry.index == index) return &entry;
  }
  return nullptr;
}

}  // namespace

bool has_error_code(int vector) {
  switch (vector) {
    case 8:
    case 10:
    case 11:
    case 12:
    case 13:
    case 14:
    case 17:
    case 21:
    case 29:
    case 30:
      return true;
    default:
      return false;
  }
}

SystemArea::SystemArea(mm::PageTables& tables) : host_(allocate(kSystemSize, "system area")) {
  // Syscall stub: out %al, $kSyscallPort; iretq, from the frame the host writes. On PVM the
  // `out` is emulated and KVM resumes right after it whatever rip the host sets, so the return
  // must be the next instruction.
  const uint8_t syscall_stub[] = {0xe6, kSyscallPort, 0x48, 0xcf};
  memcpy(host_ + kCodeOffset, syscall_stub, sizeof syscall_stub);
  for (int vector = 0; vector < kExceptionVectors; vector++) {
    // out %al, $(kExceptionPort + vector); iretq. The port names the vector; %al is kept.
    const uint8_t stub[] = {0xe6, static_cast<uint8_t>(kExceptionPort + vector), 0x48, 0xcf};
    memcpy(host_ + kCodeOffset + kExceptionStubOffset + vector * kExceptionStubSize, stub,
           sizeof stub);
    write_gate(host_ + kIdtOffset + vector * 16, exception_entry(vector));
  }
  uint64_t phys = reinterpret_cast<uint64_t>(host_);
  tables.map(kSystemBase + kCodeOffset, phys + kCodeOffset, mm::kPageSize,
             {.present = true, .writable = false, .executable = true});
  tables.map(kSystemBase + kIdtOffset, phys + kIdtOffset, mm::kPageSize,
             {.present = true, .writable = false, .executable = false});
}

SystemArea::~SystemArea() {
  munmap(host_, kSystemSize);
}

void SystemArea::attach(kvm::Vm& vm) {
  vm.add_slot(reinterpret_cast<uint64_t>(host_), host_, kSystemSize);
}

uint64_t SystemArea::syscall_entry() const {
  return kSystemBase + kCodeOffset;
}
uint64_t SystemArea::return_entry() const {
  return syscall_entry() + 2;
}

uint64_t SystemArea::exception_entry(int vector) const {
  return kSystemBase + kCodeOffset + kExceptionStubOffset + vector * kExceptionStubSize;
}

uint64_t SystemArea::idt() const {
  return kSystemBase + kIdtOffset;
}

CpuArea::CpuArea(mm::PageTables& tables, int index)
    : host_(allocate(kCpuSize, "vcpu area")), virt_(kCpuBase + index * kCpuStride) {
  auto* gdt = reinterpret_cast<uint64_t*>(host_);
  gdt[kKernelCode / 8] = 0x00af9b000000ffffull;  // 64-bit code, DPL 0, accessed
  gdt[kKernelData / 8] = 0x00cf93000000ffffull;  // data, DPL 0, accessed
  gdt[kUser32Code / 8] = 0x00cffb000000ffffull;  // 32-bit code, DPL 3
  gdt[kUserData / 8] = 0x00cff3000000ffffull;    // data, DPL 3
  gdt[kUserCode / 8] = 0x00affb000000ffffull;    // 64-bit code, DPL 3
  uint64_t tss = tss_virt();
  gdt[kTaskState / 8] =
      kTssLimit | ((tss & 0xffffff) << 16) | (0x8bull << 40) | (((tss >> 24) & 0xff) << 56);
  gdt[kTaskState / 8 + 1] = tss >> 32;
  // RSP0 and IST1 both point at the IST stack; every gate uses IST1.
  uint64_t ist1 = ist_top();
  memcpy(host_ + kTssOffset + 0x4, &ist1, 8);
  memcpy(host_ + kTssOffset + 0x24, &ist1, 8);
  // The I/O permission bitmap allows the stubs' ports. On PVM the stubs' `out` is checked as
  // if it ran at CPL 3, so without the bitmap it would raise #GP. The program may use these
  // ports too; the host accepts an exit only at a stub's own address.
  uint16_t io_map = kIoBitmapOffset;
  memcpy(host_ + kTssOffset + 0x66, &io_map, 2);
  uint8_t* bitmap = host_ + kTssOffset + kIoBitmapOffset;
  memset(bitmap, 0xff, kIoBitmapBytes + 1);  // the byte after the bitmap must be 0xff
  bitmap[kSyscallPort / 8] &= static_cast<uint8_t>(~(1 << (kSyscallPort % 8)));
  for (int vector = 0; vector < kExceptionVectors; vector++) {
    int port = kExceptionPort + vector;
    bitmap[port / 8] &= static_cast<uint8_t>(~(1 << (port % 8)));
  }
  tables.map(virt_, reinterpret_cast<uint64_t>(host_), kCpuSize,
             {.present = true, .writable = true, .executable = false});
}

CpuArea::~CpuArea() {
  munmap(host_, kCpuSize);
}

void CpuArea::attach(kvm::Vm& vm) {
  vm.add_slot(reinterpret_cast<uint64_t>(host_), host_, kCpuSize);
}

uint64_t CpuArea::gdt() const {
  return virt_;
}
uint64_t CpuArea::tss_virt() const {
  return virt_ + kTssOffset;
}
uint64_t CpuArea::ist_top() const {
  return virt_ + kCpuSize;
}
uint64_t CpuArea::return_frame() const {
  return virt_ + kReturnFrameOffset;
}

void CpuArea::read_return_frame(uint64_t& rip, uint64_t& rsp, uint64_t& rflags) const {
  uint64_t frame[5];
  memcpy(frame, host_ + kReturnFrameOffset, sizeof frame);
  rip = frame[0];
  rflags = frame[2];
  rsp = frame[3];
}

uint64_t CpuArea::write_return_frame(uint64_t rip, uint64_t rsp, uint64_t rflags) {
  const uint64_t frame[5] = {rip, kUserCode, rflags, rsp, kUserData};
  memcpy(host_ + kReturnFrameOffset, frame, sizeof frame);
  return return_frame();
}

ExceptionFrame CpuArea::read_frame(int vector, uint64_t rsp) const {
  ExceptionFrame frame{vector, 0, 0, 0, 0};
  // The frame is at most six words below the IST top. A guest that moved rsp elsewhere gets
  // zeros rather than a read outside this area.
  uint64_t words = has_error_code(vector) ? 6 : 5;
  if (rsp != ist_top() - words * 8) return frame;
  uint64_t values[6];
  memcpy(values, host_ + kCpuSize - words * 8, words * 8);
  const uint64_t* v = values;
  if (has_error_code(vector)) frame.error_code = *v++;
  frame.rip = v[0];
  frame.rflags = v[2];
  frame.rsp = v[3];
  return frame;
}

void setup_vcpu(kvm::Vm& vm, kvm::Vcpu& vcpu, const SystemArea& system, const CpuArea& cpu,
                const mm::PageTables& tables) {
  const auto& cpuid = vm.supported_cpuid();
  vcpu.set_cpuid(cpuid);

  kvm_sregs sregs = vcpu.get_sregs();
  sregs.cr0 = kCr0;
  sregs.cr3 = tables.root();
  sregs.cr4 = kCr4Pae | kCr4Osfxsr | kCr4Osxmmexcpt | kCr4Osxsave;
  const kvm_cpuid_entry2* leaf7 = find_leaf(cpuid, 7, 0);
  if (leaf7 != nullptr && (leaf7->ebx & 1)) sregs.cr4 |= kCr4Fsgsbase;
  sregs.efer = kEfer;
  sregs.cs = user_code_segment();
  sregs.ss = sregs.ds = sregs.es = sregs.fs = sregs.gs = user_data_segment();
  sregs.gdt.base = cpu.gdt();
  sregs.gdt.limit = (kTaskState / 8 + 2) * 8 - 1;
  sregs.idt.base = system.idt();
  sregs.idt.limit = 256 * 16 - 1;
  sregs.tr = kvm_segment{};
  sregs.tr.selector = kTaskState;
  sregs.tr.base = cpu.tss_virt();
  sregs.tr.limit = kTssLimit;
  sregs.tr.type = 11;  // busy 64-bit TSS
  sregs.tr.present = 1;
  sregs.ldt = kvm_segment{};
  sregs.ldt.unusable = 1;
  vcpu.set_sregs(sregs);

  // Every XSAVE component KVM supports: x87, SSE, AVX, AVX-512 and more on this CPU.
  const kvm_cpuid_entry2* xsave = find_leaf(cpuid, 0xd, 0);
  uint64_t xcr0 = 3;
  if (xsave != nullptr) xcr0 = (uint64_t{xsave->edx} << 32) | xsave->eax;
  vcpu.set_xcr0(xcr0 | 3);

  // syscall loads CS from STAR[47:32]; sysret would use STAR[63:48] + 16 for 64-bit code.
  vcpu.set_msr(kMsrStar, (uint64_t{kUser32Code} << 48) | (uint64_t{kKernelCode} << 32));
  vcpu.set_msr(kMsrLstar, system.syscall_entry());
  vcpu.set_msr(kMsrCstar, system.syscall_entry());
  vcpu.set_msr(kMsrSyscallMask, kSyscallMask);
  vcpu.set_msr(kMsrFsBase, 0);
  vcpu.set_msr(kMsrGsBase, 0);
  vcpu.set_msr(kMsrKernelGsBase, 0);
}

}  // namespace noah::arch
