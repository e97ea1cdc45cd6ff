// The environment through which `mmiotrace record` configures the preload shim in the traced
// program (and in every program it executes).
#pragma once

namespace mmiotrace::preload {

// File descriptor, inherited from `mmiotrace record`, that receives the trace.
inline constexpr const char* kTraceFdVariable = "MMIOTRACE_TRACE_FD";
// File descriptor of the trace's shared state (a memfd of one page, starting with the last map
// id given out), inherited like the trace descriptor.
inline constexpr const char* kStateFdVariable = "MMIOTRACE_STATE_FD";
// How trapped instructions are carried out: "emulate" (the default) or "single-step".
inline constexpr const char* kStrategyVariable = "MMIOTRACE_STRATEGY";
// Globs of the files whose mappings are traced, separated by newlines.
inline constexpr const char* kTraceGlobsVariable = "MMIOTRACE_TRACE_GLOBS";
// The shim library (libmmiotrace.so); `mmiotrace record` puts it into LD_PRELOAD.
inline constexpr const char* kPreloadLibraryName = "libmmiotrace.so";
// Overrides where `mmiotrace record` looks for the shim library.
inline constexpr const char* kLibraryOverrideVariable = "MMIOTRACE_LIBRARY";

}  // namespace mmiotrace::preload
