# What `cmake --install` puts where (GNUInstallDirs): the command, libmmiotrace.so, the public
# headers, the CMake package and the pkg-config file for other projects, the man pages, the shell
# completions, the examples and the docs. Included by the top-level CMakeLists.txt after the
# targets are defined; GNUInstallDirs itself is included before them, since the command is
# compiled with the path from its bindir to its libdir (src/cli/installation.hpp.in).

include(CMakePackageConfigHelpers)

# mmiotrace::device in the CMake package: the device-model ABI, a C99 header that links nothing.
add_library(mmiotrace_device_abi INTERFACE)
set_target_properties(mmiotrace_device_abi PROPERTIES EXPORT_NAME device)
target_include_directories(mmiotrace_device_abi INTERFACE
                           $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>)

# The command, and the library into the (multiarch, under /usr on Debian) libdir: the
# libmmiotrace.so.0 the command preloads, and the libmmiotrace.so programs link to.
install(TARGETS mmiotrace_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS mmiotrace mmiotrace_device_abi EXPORT mmiotrace_targets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/mmiotrace/mmiotrace.h
              ${PROJECT_SOURCE_DIR}/include/mmiotrace/mmiotrace.hpp
              ${PROJECT_SOURCE_DIR}/include/mmiotrace/device.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/mmiotrace)

# find_package(mmiotrace 0.2): mmiotrace::mmiotrace (the probe and marker API, linking
# libmmiotrace.so) and mmiotrace::device (the device-model ABI, a header only). A 0.x release
# keeps its API within its minor version only.
set(mmiotrace_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/mmiotrace)
install(EXPORT mmiotrace_targets NAMESPACE mmiotrace:: FILE mmiotraceTargets.cmake
        DESTINATION ${mmiotrace_cmake_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/mmiotraceConfig.cmake.in
  ${PROJECT_BINARY_DIR}/install/mmiotraceConfig.cmake INSTALL_DESTINATION ${mmiotrace_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/install/mmiotraceConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/install/mmiotraceConfig.cmake
              ${PROJECT_BINARY_DIR}/install/mmiotraceConfigVersion.cmake
        DESTINATION ${mmiotrace_cmake_dir})

# pkg-config: mmiotrace.pc (the API) and mmiotrace-device.pc (the device ABI's header). Their
# prefix is the one installed to, which `cmake --install --prefix` may change after configuring:
# the files are written at install time.
foreach(pc IN ITEMS mmiotrace mmiotrace-device)
  set(template ${PROJECT_SOURCE_DIR}/cmake/${pc}.pc.in)
  set(written ${PROJECT_BINARY_DIR}/install/${pc}.pc)
  install(CODE "
    file(READ \"${template}\" pc)
    string(REPLACE \"@prefix@\" \"\${CMAKE_INSTALL_PREFIX}\" pc \"\${pc}\")
    string(REPLACE \"@libdir@\" \"${CMAKE_INSTALL_LIBDIR}\" pc \"\${pc}\")
    string(REPLACE \"@includedir@\" \"${CMAKE_INSTALL_INCLUDEDIR}\" pc \"\${pc}\")
    string(REPLACE \"@version@\" \"${PROJECT_VERSION}\" pc \"\${pc}\")
    file(WRITE \"${written}\" \"\${pc}\")")
  install(FILES ${written} DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()

# Man pages (cmake/mmiotrace_man.cmake makes them) and shell completions, where man(1),
# bash-completion and zsh look. Debian's zsh reads vendor-completions; zsh built elsewhere reads
# site-functions.
install(FILES ${MMIOTRACE_MAN_PAGES_1} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${MMIOTRACE_MAN_PAGES_3} DESTINATION ${CMAKE_INSTALL_MANDIR}/man3)
install(FILES ${MMIOTRACE_MAN_PAGES_5} DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES ${PROJECT_SOURCE_DIR}/completions/mmiotrace.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME mmiotrace)
if(EXISTS /etc/debian_version)
  set(zsh_completions ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
else()
  set(zsh_completions ${CMAKE_INSTALL_DATADIR}/zsh/site-functions)
endif()
install(FILES ${PROJECT_SOURCE_DIR}/completions/_mmiotrace DESTINATION ${zsh_completions})

# The examples: the drivers' sources (nvme_init.c is the README's demo) and the register maps.
install(FILES ${PROJECT_SOURCE_DIR}/examples/README.md ${PROJECT_SOURCE_DIR}/examples/nvme_init.c
              ${PROJECT_SOURCE_DIR}/examples/uart_hello.c ${PROJECT_SOURCE_DIR}/examples/regpoke.c
              ${PROJECT_SOURCE_DIR}/examples/probe_api.c
              ${PROJECT_SOURCE_DIR}/examples/rpi_gpio.c
        DESTINATION ${CMAKE_INSTALL_DATADIR}/mmiotrace/examples)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples/register-maps
        DESTINATION ${CMAKE_INSTALL_DATADIR}/mmiotrace)

# The docs, laid out as in the source tree so that their links hold: the README and the
# changelog, and docs/ beside them.
file(GLOB mmiotrace_docs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/CHANGELOG.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
# The license: as LICENSE, and under the name Debian's policy gives it in a package.
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR}
        RENAME copyright)
install(FILES ${mmiotrace_docs} DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
