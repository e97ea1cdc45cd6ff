# The man pages, made with pandoc from docs/ by tools/cli-docs: mmiotrace(1) and one page per
# subcommand from docs/cli.md (the source of the help texts too), mmiotrace(3) from docs/api.md,
# mmiotrace-device(3) from docs/devices.md and mmiotrace-trace(5) from docs/trace-format.md.
# Sets MMIOTRACE_MAN_PAGES_1, _3 and _5, the gzipped pages of each section, for the install.

set(MMIOTRACE_MAN_PAGES_1)
set(MMIOTRACE_MAN_PAGES_3)
set(MMIOTRACE_MAN_PAGES_5)
if(NOT MMIOTRACE_MAN_PAGES)
  return()
endif()

find_program(MMIOTRACE_PANDOC pandoc)
if(NOT MMIOTRACE_PANDOC)
  message(FATAL_ERROR "pandoc makes the man pages from docs/: install it (scripts/setup does), "
                      "or configure with -DMMIOTRACE_MAN_PAGES=OFF to build without them")
endif()

# The pages follow the subcommands docs/cli.md has: configure again when it changes.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${PROJECT_SOURCE_DIR}/docs/cli.md ${PROJECT_SOURCE_DIR}/tools/cli-docs)
execute_process(COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tools/cli-docs pages
                        ${PROJECT_SOURCE_DIR}/docs
                OUTPUT_VARIABLE pages OUTPUT_STRIP_TRAILING_WHITESPACE
                COMMAND_ERROR_IS_FATAL ANY)
string(REPLACE "\n" ";" pages "${pages}")
set(man_dir ${PROJECT_BINARY_DIR}/man)
set(man_outputs)
foreach(page IN LISTS pages)
  string(REGEX MATCH "[0-9]$" section ${page})
  list(APPEND MMIOTRACE_MAN_PAGES_${section} ${man_dir}/${page}.gz)
  list(APPEND man_outputs ${man_dir}/${page}.gz)
endforeach()

file(GLOB man_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
add_custom_command(OUTPUT ${man_outputs}
  COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tools/cli-docs man
          ${PROJECT_SOURCE_DIR}/docs ${man_dir} ${PROJECT_VERSION} ${CMAKE_INSTALL_FULL_DOCDIR}
  DEPENDS ${man_sources} ${PROJECT_SOURCE_DIR}/tools/cli-docs
  COMMENT "Making the man pages from docs/ with pandoc")
add_custom_target(man_pages ALL DEPENDS ${man_outputs})
