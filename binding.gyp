{
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
    "cflags_cc": ["-std=c++20", "-Wall", "-Wextra", "-fexceptions"],
    "include_dirs": ["native"]
  },
  "targets": [
    {
      "target_name": "noah_addon",
      "sources": [
        "native/addon/addon.cc",
        "native/addon/clone_tree.cc",
        "native/kvm/probe.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"]
    },
    {
      "target_name": "noah-translator",
      "type": "executable",
      "sources": ["<!@(sh native/sources.sh)"],
      "libraries": ["-lpthread"]
    }
  ]
}
