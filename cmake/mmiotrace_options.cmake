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
# tools/check-signal-safe (run by the test suite) checks their object files mechanically.

# mmiotrace_signal_safe_sources(<target>): compiles the target's sources that carry the marker
# without exceptions, so that no unwinding machinery is reachable from a handler either.
function(mmiotrace_signal_safe_sources target)
  get_target_property(sources ${target} SOURCES)
  foreach(source IN LISTS sources)
    get_filename_component(path ${source} ABSOLUTE)
    file(STRINGS ${path} first_line LIMIT_COUNT 1)
    if(first_line STREQUAL "// mmiotrace: signal-safe")
      set_property(SOURCE ${source} APPEND PROPERTY COMPILE_OPTIONS -fno-exceptions)
    endif()
  endforeach()
endfunction()
