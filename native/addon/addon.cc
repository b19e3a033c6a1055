// The Node.js addon: host helpers that TypeScript calls in-process.
#include <fcntl.h>
#include <napi.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "addon/clone_tree.h"
#include "kvm/probe.h"

namespace {

// probeKvm(device?: string): the KVM device's state as a plain object.
Napi::Value ProbeKvm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string device = "/dev/kvm";
  if (info.Length() > 0 && info[0].IsString()) device = info[0].As<Napi::String>().Utf8Value();

  noah::kvm::ProbeResult result = noah::kvm::probe(device);
  Napi::Object out = Napi::Object::New(env);
  out.Set("device", result.device);
  out.Set("usable", result.usable);
  out.Set("error", result.error);
  out.Set("apiVersion", result.api_version);
  out.Set("platform", result.platform);
  Napi::Array capabilities = Napi::Array::New(env, result.capabilities.size());
  for (size_t i = 0; i < result.capabilities.size(); i++) {
    const auto& capability = result.capabilities[i];
    Napi::Object item = Napi::Object::New(env);
    item.Set("name", capability.name);
    item.Set("present", capability.present);
    item.Set("value", Napi::Number::New(env, static_cast<double>(capability.value)));
    item.Set("required", capability.required);
    capabilities.Set(i, item);
  }
  out.Set("capabilities", capabilities);
  return out;
}

// cloneTree(imageTree, containerRoot, inodesFile): makes a container's root as a hardlink farm
// of the image tree and returns the counts of what it made. Throws an Error naming the path.
Napi::Value CloneTree(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsString() || !info[2].IsString()) {
    throw Napi::TypeError::New(env,
                               "cloneTree(imageTree, containerRoot, inodesFile) takes strings");
  }
  noah::layer::CloneCounts counts;
  try {
    counts = noah::layer::clone_tree(info[0].As<Napi::String>().Utf8Value(),
                                     info[1].As<Napi::String>().Utf8Value(),
                                     info[2].As<Napi::String>().Utf8Value());
  } catch (const std::runtime_error& error) {
    throw Napi::Error::New(env, error.what());
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("directories", Napi::Number::New(env, static_cast<double>(counts.directories)));
  out.Set("files", Napi::Number::New(env, static_cast<double>(counts.files)));
  out.Set("others", Napi::Number::New(env, static_cast<double>(counts.others)));
  return out;
}

// pipe(): makes a pipe and returns [readFd, writeFd], both close-on-exec: a child gets the write
// end as its stdout through spawn's stdio, which duplicates it. Node's own stdio 'pipe' is a
// socket pair, where a writer whose reader closed with data unread gets ECONNRESET instead of
// EPIPE and SIGPIPE.
Napi::Value Pipe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) {
    throw Napi::Error::New(env, std::string("pipe: ") + std::strerror(errno));
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, fds[0]));
  out.Set(1u, Napi::Number::New(env, fds[1]));
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("pipe", Napi::Function::New(env, Pipe));
  exports.Set("probeKvm", Napi::Function::New(env, ProbeKvm));
  exports.Set("cloneTree", Napi::Function::New(env, CloneTree));
  return exports;
}

}  // namespace

NODE_API_MODULE(noah_addon, Init)
