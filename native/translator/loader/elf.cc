#include "translator/loader/elf.h"

#include <cpuid.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "translator/task/process.h"

namespace noah::loader {
namespace {

constexpr size_t kScriptHeaderSize = 256;  // Linux's BINPRM_BUF_SIZE
constexpr int kMaxScriptDepth = 4;         // Linux allows this many nested interpreters
constexpr uint64_t kDefaultStack = 8ull << 20;
constexpr uint64_t kMaxStack = 256ull << 20;
constexpr size_t kMaxArgumentBytes = 2ull << 20;

// An executable file opened for loading.
struct Binary {
  vfs::UniqueFd fd;
  std::string guest_path;  // canonical guest path, for /proc/self/exe and the vma names
  struct stat status {};
  Elf64_Ehdr header{};
  std::vector<Elf64_Phdr> segments;
};

// The addresses at which one ELF image was loaded.
struct Image {
  uint64_t bias = 0;
  uint64_t entry = 0;
  uint64_t phdr = 0;
  uint64_t end = 0;  // highest byte of any segment, for the program break
  uint64_t phnum = 0;
  uint64_t room_end = 0;  // end of the room reserved after the image for the break
};

int open_binary(Process& process, const std::string& path, Binary& binary) {
  auto cwd = process.fs.cwd();
  int fd = process.fs.open(vfs::base_of(*cwd), path, O_RDONLY, 0);
  if (fd < 0) return fd;
  binary.fd.reset(fd);
  if (fstat(fd, &binary.status) < 0) return -errno;
  if (!S_ISREG(binary.status.st_mode)) return -EACCES;
  // Root may execute a file when any execute bit is set. Another user needs a bit that applies
  // to it, which a root host checks with the guest's ids (task/credentials.h).
  if ((binary.status.st_mode & 0111) == 0) return -EACCES;
  if (credentials::enforced() &&
      syscall(SYS_faccessat2, fd, "", X_OK, AT_EACCESS | AT_EMPTY_PATH) < 0 && errno != ENOSYS) {
    return -errno;
  }
  binary.guest_path = process.fs.guest_path(fd);
  if (binary.guest_path.empty()) binary.guest_path = path;
  return 0;
}

bool read_exact(int fd, void* buffer, size_t size, off_t offset) {
  ssize_t done = pread(fd, buffer, size, offset);
  return done == static_cast<ssize_t>(size);
}

int parse_elf(Binary& binary) {
  Elf64_Ehdr& h = binary.header;
  if (!read_exact(binary.fd.get(), &h, sizeof h, 0)) return -ENOEXEC;
  if (memcmp(h.e_ident, ELFMAG, SELFMAG) != 0) return -ENOEXEC;
  if (h.e_ident[EI_CLASS] != ELFCLASS64 || h.e_ident[EI_DATA] != ELFDATA2LSB) return -ENOEXEC;
  if (h.e_machine != EM_X86_64 || (h.e_type != ET_EXEC && h.e_type != ET_DYN)) return -ENOEXEC;
  if (h.e_phentsize != sizeof(Elf64_Phdr) || h.e_phnum == 0) return -ENOEXEC;
  // Linux's limit: the program headers fit in 64 KiB.
  if (h.e_phnum > 65536 / sizeof(Elf64_Phdr)) return -ENOEXEC;
  binary.segments.resize(h.e_phnum);
  if (!read_exact(binary.fd.get(), binary.segments.data(), h.e_phnum * sizeof(Elf64_Phdr),
                  static_cast<off_t>(h.e_phoff))) {
    return -ENOEXEC;
  }
  return 0;
}

int segment_prot(const Elf64_Phdr& segment) {
  int prot = 0;
  if (segment.p_flags & PF_R) prot |= PROT_READ;
  if (segment.p_flags & PF_W) prot |= PROT_WRITE;
  if (segment.p_flags & PF_X) prot |= PROT_EXEC;
  return prot;
}

int map_segment(Process& process, const Binary& binary, const Elf64_Phdr& segment, uint64_t bias) {
  if (segment.p_filesz > segment.p_memsz) return -ENOEXEC;
  if ((segment.p_offset & mm::kPageMask) != (segment.p_vaddr & mm::kPageMask)) return -ENOEXEC;
  uint64_t start = bias + segment.p_vaddr;
  uint64_t map_start = mm::page_down(start);
  uint64_t file_end = start + segment.p_filesz;
  uint64_t memory_end = start + segment.p_memsz;
  if (memory_end < start || memory_end > mm::kUserEnd) return -ENOMEM;
  int prot = segment_prot(segment);
  mm::MapSource file{binary.fd.get(), segment.p_offset - (start - map_start), binary.status.st_dev,
                     binary.status.st_ino, binary.guest_path};
  bool zero_tail = memory_end > file_end && (file_end & mm::kPageMask) != 0;
  if (segment.p_filesz > 0) {
    // Map writable while the tail of the last file page is zeroed, then apply the real prot.
    int map_prot = zero_tail ? (prot | PROT_WRITE) : prot;
    int64_t result = process.mm.mmap(map_start, mm::page_up(file_end) - map_start, map_prot,
                                     MAP_PRIVATE | MAP_FIXED, file);
    if (result < 0) return static_cast<int>(result);
    if (zero_tail) {
      memset(reinterpret_cast<void*>(file_end), 0, mm::page_up(file_end) - file_end);
      if (map_prot != prot) process.mm.mprotect(map_start, mm::page_up(file_end) - map_start, prot);
    }
  }
  uint64_t anonymous_start = segment.p_filesz > 0 ? mm::page_up(file_end) : map_start;
  if (mm::page_up(memory_end) > anonymous_start) {
    mm::MapSource zero{};
    int64_t result = process.mm.mmap(anonymous_start, mm::page_up(memory_end) - anonymous_start,
                                     prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, zero);
    if (result < 0) return static_cast<int>(result);
  }
  return 0;
}

// Room kept after a position-independent program for its break to grow into. Without it the
// host's next mappings would sit right after the program and brk would fail at once.
constexpr uint64_t kBrkRoom = 64ull << 20;

int load_image(Process& process, const Binary& binary, Image& image, uint64_t brk_room = 0) {
  uint64_t low = UINT64_MAX, high = 0;
  for (const auto& segment : binary.segments) {
    if (segment.p_type != PT_LOAD) continue;
    low = std::min(low, mm::page_down(segment.p_vaddr));
    uint64_t end = segment.p_vaddr + segment.p_memsz;
    if (end < segment.p_vaddr) return -ENOEXEC;
    high = std::max(high, end);
  }
  if (high == 0) return -ENOEXEC;
  uint64_t span = mm::page_up(high) - low;
  if (binary.header.e_type == ET_DYN) {
    // Let the address space choose room for the whole image, then place segments in it.
    mm::MapSource none{};
    int64_t base =
        process.mm.mmap(0, span + brk_room, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, none);
    if (base < 0) return static_cast<int>(base);
    process.mm.munmap(static_cast<uint64_t>(base), span + brk_room);
    image.bias = static_cast<uint64_t>(base) - low;
    image.room_end = static_cast<uint64_t>(base) + span + brk_room;
  }
  for (const auto& segment : binary.segments) {
    if (segment.p_type != PT_LOAD) continue;
    int result = map_segment(process, binary, segment, image.bias);
    if (result < 0) return result;
  }
  image.entry = image.bias + binary.header.e_entry;
  image.phnum = binary.header.e_phnum;
  image.end = image.bias + high;
  for (const auto& segment : binary.segments) {
    if (segment.p_type == PT_PHDR) image.phdr = image.bias + segment.p_vaddr;
  }
  if (image.phdr == 0) {
    for (const auto& segment : binary.segments) {
      uint64_t offset = binary.header.e_phoff;
      if (segment.p_type == PT_LOAD && offset >= segment.p_offset &&
          offset < segment.p_offset + segment.p_filesz) {
        image.phdr = image.bias + segment.p_vaddr + (offset - segment.p_offset);
      }
    }
  }
  return 0;
}

int read_interpreter_path(const Binary& binary, std::string& path) {
  for (const auto& segment : binary.segments) {
    if (segment.p_type != PT_INTERP) continue;
    if (segment.p_filesz < 2 || segment.p_filesz > 4096) return -ENOEXEC;
    path.resize(segment.p_filesz);
    if (!read_exact(binary.fd.get(), path.data(), path.size(),
                    static_cast<off_t>(segment.p_offset))) {
      return -ENOEXEC;
    }
    if (path.back() != '\0') return -ENOEXEC;
    path.pop_back();
    return 1;
  }
  return 0;
}

// Parses a "#!" line into the interpreter and its optional single argument, as Linux does:
// blanks around both are dropped and the rest of the line is one argument.
int parse_script(const char* buffer, size_t size, std::string& interpreter, std::string& arg) {
  std::string line(buffer + 2, size - 2);
  size_t newline = line.find('\n');
  bool complete = newline != std::string::npos;
  if (complete) line.resize(newline);
  size_t begin = line.find_first_not_of(" \t");
  if (begin == std::string::npos) return -ENOEXEC;
  size_t name_end = line.find_first_of(" \t", begin);
  // Without a newline the interpreter name must end inside the buffer.
  if (!complete && name_end == std::string::npos) return -ENOEXEC;
  if (name_end == std::string::npos) name_end = line.size();
  interpreter = line.substr(begin, name_end - begin);
  size_t arg_begin = line.find_first_not_of(" \t", name_end);
  arg.clear();
  if (arg_begin != std::string::npos) {
    size_t arg_end = line.find_last_not_of(" \t");
    arg = line.substr(arg_begin, arg_end - arg_begin + 1);
  }
  return 0;
}

uint64_t stack_size() {
  rlimit limit{};
  if (getrlimit(RLIMIT_STACK, &limit) < 0 || limit.rlim_cur == RLIM_INFINITY) return kDefaultStack;
  return std::clamp<uint64_t>(mm::page_up(limit.rlim_cur), 128 * 1024, kMaxStack);
}

// Builds the initial stack: strings at the top, then AT_RANDOM bytes, the auxiliary vector,
// envp and argv pointers and argc, with the stack pointer 16-byte aligned at argc.
int build_stack(Process& process, const std::vector<std::string>& argv,
                const std::vector<std::string>& envp, const std::string& execfn, const Image& main,
                const Image* interpreter, uint64_t& stack_pointer) {
  size_t bytes = execfn.size() + 1;
  for (const auto& s : argv) bytes += s.size() + 1;
  for (const auto& s : envp) bytes += s.size() + 1;
  if (bytes > kMaxArgumentBytes) return -E2BIG;

  uint64_t size = stack_size();
  mm::MapSource stack{-1, 0, 0, 0, "[stack]"};
  int64_t base =
      process.mm.mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, stack);
  if (base < 0) return static_cast<int>(base);
  uint64_t top = static_cast<uint64_t>(base) + size;
  uint64_t cursor = top - 8;

  auto push_string = [&](const std::string& value) {
    cursor -= value.size() + 1;
    memcpy(reinterpret_cast<void*>(cursor), value.c_str(), value.size() + 1);
    return cursor;
  };
  uint64_t execfn_address = push_string(execfn);
  std::vector<uint64_t> envp_addresses, argv_addresses;
  for (auto it = envp.rbegin(); it != envp.rend(); ++it) envp_addresses.push_back(push_string(*it));
  for (auto it = argv.rbegin(); it != argv.rend(); ++it) argv_addresses.push_back(push_string(*it));
  std::reverse(envp_addresses.begin(), envp_addresses.end());
  std::reverse(argv_addresses.begin(), argv_addresses.end());
  uint64_t platform = push_string("x86_64");
  cursor &= ~15ull;
  cursor -= 16;
  uint64_t random_address = cursor;
  if (getrandom(reinterpret_cast<void*>(cursor), 16, 0) != 16) return -EAGAIN;

  unsigned eax, ebx, ecx, edx;
  __cpuid(1, eax, ebx, ecx, edx);
  const Credentials c = process.credentials.get();
  std::vector<uint64_t> auxv = {
      AT_PHDR,     main.phdr,
      AT_PHENT,    sizeof(Elf64_Phdr),
      AT_PHNUM,    main.phnum,
      AT_PAGESZ,   mm::kPageSize,
      AT_BASE,     interpreter ? interpreter->bias : 0,
      AT_FLAGS,    0,
      AT_ENTRY,    main.entry,
      AT_UID,      c.uid,
      AT_EUID,     c.euid,
      AT_GID,      c.gid,
      AT_EGID,     c.egid,
      AT_SECURE,   c.secure() ? 1u : 0u,
      AT_RANDOM,   random_address,
      AT_HWCAP,    edx,
      AT_HWCAP2,   2,  // HWCAP2_FSGSBASE: the guest may use rdfsbase and wrfsbase
      AT_CLKTCK,   100,
      AT_EXECFN,   execfn_address,
      AT_PLATFORM, platform,
      51,          8192,  // AT_MINSIGSTKSZ: room for a signal frame with AVX-512 state
      AT_NULL,     0,
  };

  size_t words = 1 + argv.size() + 1 + envp.size() + 1 + auxv.size();
  cursor -= words * 8;
  cursor &= ~15ull;
  auto* out = reinterpret_cast<uint64_t*>(cursor);
  size_t i = 0;
  out[i++] = argv.size();
  for (uint64_t a : argv_addresses) out[i++] = a;
  out[i++] = 0;
  for (uint64_t e : envp_addresses) out[i++] = e;
  out[i++] = 0;
  for (uint64_t value : auxv) out[i++] = value;
  stack_pointer = cursor;
  return 0;
}

}  // namespace

struct Program::Files {
  Binary binary;
  Binary interpreter;
  bool has_interpreter = false;
};

Program::Program() : files(std::make_unique<Files>()) {}
Program::~Program() = default;

int prepare(Process& process, const std::string& path, std::vector<std::string> argv,
            Program& program) {
  program.execfn = path;
  std::string current = path;
  Binary& binary = program.files->binary;
  for (int depth = 0;; depth++) {
    binary = Binary{};
    int result = open_binary(process, current, binary);
    if (result < 0) return result;
    char buffer[kScriptHeaderSize];
    ssize_t size = pread(binary.fd.get(), buffer, sizeof buffer, 0);
    if (size < 0) return -EIO;
    if (size >= 2 && buffer[0] == '#' && buffer[1] == '!') {
      if (depth >= kMaxScriptDepth) return -ELOOP;
      std::string interpreter, arg;
      result = parse_script(buffer, static_cast<size_t>(size), interpreter, arg);
      if (result < 0) return result;
      // The script's path replaces argv[0]; the interpreter and its argument go in front.
      std::vector<std::string> script_argv{interpreter};
      if (!arg.empty()) script_argv.push_back(arg);
      script_argv.push_back(current);
      script_argv.insert(script_argv.end(), argv.begin() + (argv.empty() ? 0 : 1), argv.end());
      argv = std::move(script_argv);
      current = interpreter;
      continue;
    }
    result = parse_elf(binary);
    if (result < 0) return result;
    break;
  }
  program.argv = std::move(argv);

  std::string interpreter_path;
  int has_interpreter = read_interpreter_path(binary, interpreter_path);
  if (has_interpreter < 0) return has_interpreter;
  program.files->has_interpreter = has_interpreter > 0;
  if (has_interpreter) {
    Binary& interpreter = program.files->interpreter;
    int result = open_binary(process, interpreter_path, interpreter);
    if (result < 0) return result;
    result = parse_elf(interpreter);
    if (result < 0) return -ELIBBAD;
  }
  return 0;
}

namespace {

// The owner and group a set-user-ID or set-group-ID program runs as, -1 for none. Linux ignores
// the bits on a nosuid mount, under PR_SET_NO_NEW_PRIVS, and the set-group-ID bit without
// group execute permission, which marks mandatory locking.
void set_ids_of(const Binary& binary, int64_t& file_uid, int64_t& file_gid) {
  file_uid = file_gid = -1;
  mode_t mode = binary.status.st_mode;
  if (!(mode & (S_ISUID | S_ISGID))) return;
  // NOTE: a host that is not root keeps the image's files as the host user's, whose uid means
  // root to the guest, so the bits are ignored there.
  if (!credentials::enforced()) return;
  struct statvfs mount;
  if (fstatvfs(binary.fd.get(), &mount) == 0 && (mount.f_flag & ST_NOSUID)) return;
  if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1) return;
  if (mode & S_ISUID) file_uid = binary.status.st_uid;
  if ((mode & S_ISGID) && (mode & S_IXGRP)) file_gid = binary.status.st_gid;
}

}  // namespace

int load(Process& process, Program& program, const std::vector<std::string>& envp,
         StartState& start) {
  Program::Files& files = *program.files;
  int64_t file_uid, file_gid;
  set_ids_of(files.binary, file_uid, file_gid);
  process.credentials.update([&](Credentials& c) -> int64_t {
    c.apply_exec(file_uid, file_gid);
    return 0;
  });
  Image main_image, interpreter_image;
  int result = load_image(process, files.binary, main_image, kBrkRoom);
  if (result < 0) return result;
  // Set the break before anything else is mapped, so nothing takes its room.
  process.mm.set_brk_start(main_image.end, main_image.room_end);
  if (files.has_interpreter) {
    result = load_image(process, files.interpreter, interpreter_image);
    if (result < 0) return result;
  }

  uint64_t stack_pointer = 0;
  result = build_stack(process, program.argv, envp, program.execfn, main_image,
                       files.has_interpreter ? &interpreter_image : nullptr, stack_pointer);
  if (result < 0) return result;

  start.entry = files.has_interpreter ? interpreter_image.entry : main_image.entry;
  start.stack_pointer = stack_pointer;
  process.exe = files.binary.guest_path;
  process.argv = program.argv;
  process.envp = envp;
  size_t slash = program.execfn.rfind('/');
  process.comm = program.execfn.substr(slash == std::string::npos ? 0 : slash + 1, 15);
  return 0;
}

}  // namespace noah::loader
