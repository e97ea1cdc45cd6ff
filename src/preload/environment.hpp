// The environment through which `mmiotrace record` configures the preload shim in the traced
// program (and in every program it executes).
#pragma once

#include <string>
#include <vector>

namespace mmiotrace::preload {

// File descriptor, inherited from `mmiotrace record`, of the trace buffer: a memfd holding the
// per-thread rings the traced processes write their events into (trace/trace_buffer.hpp).
inline constexpr const char* kBufferFdVariable = "MMIOTRACE_BUFFER_FD";
// A descriptor, and a path, to which the traced programs may write markers (one per line).
inline constexpr const char* kMarkerFdVariable = "MMIOTRACE_MARKER_FD";
inline constexpr const char* kMarkerPathVariable = "MMIOTRACE_MARKER";
// How trapped instructions are carried out: "emulate" (the default) or "single-step".
inline constexpr const char* kStrategyVariable = "MMIOTRACE_STRATEGY";
// "1": accesses are diverted into the code cache (kmmio/code_cache.hpp).
inline constexpr const char* kDivertVariable = "MMIOTRACE_DIVERT";
// "0": while diverting, no site of the program's code is patched with a jump into the code
// cache (codecache/entry_patch.hpp).
inline constexpr const char* kPatchVariable = "MMIOTRACE_PATCH";
// "adaptive" (the default) or "eager": when the code cache translates a site and sweeps a code
// mapping for its patches (codecache/policy.hpp). `mmiotrace record` rejects any other value.
inline constexpr const char* kCodeCachePolicyVariable = "MMIOTRACE_CODE_CACHE_POLICY";
inline bool is_code_cache_policy(const char* name) {
  return std::string(name) == "adaptive" || std::string(name) == "eager";
}
inline constexpr const char* kCodeCachePolicyNames = "adaptive, eager";
// "1": each traced process says on stderr, as it exits, how its engine handled the traps.
inline constexpr const char* kStatsVariable = "MMIOTRACE_STATS";
// Globs of the files whose mappings are traced, separated by newlines.
inline constexpr const char* kTraceGlobsVariable = "MMIOTRACE_TRACE_GLOBS";
// Virtual devices the shim makes exist, one per line: MODEL[:ARGS]@PATH, or replay:MAPID@PATH
// for a mapping of a replayed trace.
inline constexpr const char* kDevicesVariable = "MMIOTRACE_DEVICES";
// Virtual PCI functions (`mmiotrace record --pci`), one per line, as
// devices::format_pci_attachment() writes them.
inline constexpr const char* kPciDevicesVariable = "MMIOTRACE_PCI_DEVICES";
// File descriptor of the replay script (backend/replay_script.hpp) of `mmiotrace replay`.
inline constexpr const char* kReplayFdVariable = "MMIOTRACE_REPLAY_FD";

// The globs traced when `mmiotrace record` is given no --trace option (a function, not a
// global: the shim's constructor needs them before the library's globals are initialized).
inline std::vector<std::string> default_trace_globs() {
  return {"/dev/mem", "/sys/bus/pci/devices/*/resource*", "/dev/uio*", "/dev/vfio/*"};
}

// Overrides where `mmiotrace record` looks for the shim library it puts into LD_PRELOAD
// (cli/shim_library.hpp).
inline constexpr const char* kLibraryOverrideVariable = "MMIOTRACE_LIBRARY";
// The same for the AArch64 shim, preloaded into an AArch64 command run under qemu-aarch64.
inline constexpr const char* kArm64LibraryOverrideVariable = "MMIOTRACE_ARM64_LIBRARY";

}  // namespace mmiotrace::preload
