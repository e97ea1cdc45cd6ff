# Compiler settings shared by every mmiotrace target: warnings, sanitizers, and the rules for
# code that runs inside signal handlers.

set(MMIOTRACE_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wcast-align -Wmissing-declarations
    -Wformat=2 -Wundef $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor>)
if(MMIOTRACE_WERROR)
  list(APPEND MMIOTRACE_WARNINGS -Werror)
endif()

add_compile_options(-fno-omit-frame-pointer -fvisibility=hidden
                    "$<$<COMPILE_LANGUAGE:C,CXX>:${MMIOTRACE_WARNINGS}>")

if(MMIOTRACE_SANITIZE)
  add_compile_options(-fsanitize=${MMIOTRACE_SANITIZE} -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${MMIOTRACE_SANITIZE})
endif()

# Code reachable from a signal handler lives in files that open with "// mmiotrace: signal-safe".
# tools/check-signal-safe (run by the test suite) checks their object files mechanically, and
# that the functions where signal context starts (tools/signal-context-roots) are in them.
#
# Some of them open with "// mmiotrace: signal-safe, vector-free" instead: the code that flushes
# the code cache's log into the trace (codecache/access_log.hpp). Translated code calls it in the
# middle of the program's work, so it must leave every register as it was; compiled to use the
# general registers only, and no library function that may use others (memcpy and memset are
# inlined), it lets the flush thunk save the general registers instead of the whole extended
# state, which costs more than the flush itself. tools/check-signal-safe checks the result in
# the built library. Only GCC has -minline-all-stringops (for x86 only), and sanitizers call
# their own runtime: other builds compile these files as usual and the thunk always saves
# everything (MMIOTRACE_VECTOR_FREE_FLUSH is 0).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND NOT MMIOTRACE_SANITIZE AND
   MMIOTRACE_ARCH STREQUAL "x86_64")
  set(MMIOTRACE_VECTOR_FREE_FLUSH ON CACHE INTERNAL "")
  add_compile_definitions(MMIOTRACE_VECTOR_FREE_FLUSH=1)
else()
  set(MMIOTRACE_VECTOR_FREE_FLUSH OFF CACHE INTERNAL "")
  add_compile_definitions(MMIOTRACE_VECTOR_FREE_FLUSH=0)
endif()

# mmiotrace_signal_safe_sources(<target>): compiles the target's sources that carry the marker
# without exceptions, so that no unwinding machinery is reachable from a handler either, and
# the vector-free ones as above.
function(mmiotrace_signal_safe_sources target)
  get_target_property(sources ${target} SOURCES)
  foreach(source IN LISTS sources)
    get_filename_component(path ${source} ABSOLUTE)
    file(STRINGS ${path} first_line LIMIT_COUNT 1)
    if(first_line STREQUAL "// mmiotrace: signal-safe" OR
       first_line STREQUAL "// mmiotrace: signal-safe, vector-free")
      set_property(SOURCE ${source} APPEND PROPERTY COMPILE_OPTIONS -fno-exceptions)
    endif()
    if(first_line STREQUAL "// mmiotrace: signal-safe, vector-free" AND MMIOTRACE_VECTOR_FREE_FLUSH)
      set_property(SOURCE ${source} APPEND PROPERTY COMPILE_OPTIONS
                   -mgeneral-regs-only -minline-all-stringops)
    endif()
  endforeach()
endfunction()
