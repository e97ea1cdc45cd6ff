# The AArch64 shim's Debian package (scripts/package builds it beside the x86-64 one whenever the
# cross toolchain is installed): libmmiotrace.so.0 for AArch64 alone, in the AArch64 multiarch
# libdir (/usr/lib/aarch64-linux-gnu), where the installed x86-64 command finds it to trace
# AArch64 programs under qemu-aarch64 (src/cli/shim_library.cpp). It installs on an x86-64
# machine with the arm64 architecture added (dpkg --add-architecture arm64), beside the C and C++
# libraries of arm64 it needs; an AArch64 board has no use for it without the command, which is
# x86-64 only in this version. Included by the top-level CMakeLists.txt in the AArch64 build.

# Where the x86-64 command looks (src/cli/shim_library.cpp): beside its own multiarch libdir
# (lib/x86_64-linux-gnu under /usr), or in a folder aarch64-linux-gnu of its plain one.
get_filename_component(mmiotrace_libdir_name ${CMAKE_INSTALL_LIBDIR} NAME)
if(mmiotrace_libdir_name STREQUAL "aarch64-linux-gnu")
  set(mmiotrace_shim_libdir ${CMAKE_INSTALL_LIBDIR})
else()
  set(mmiotrace_shim_libdir ${CMAKE_INSTALL_LIBDIR}/aarch64-linux-gnu)
endif()
install(TARGETS mmiotrace LIBRARY DESTINATION ${mmiotrace_shim_libdir} NAMELINK_SKIP)

# Stripped with the cross toolchain's strip, which CMake found beside its g++.
include(${CMAKE_CURRENT_LIST_DIR}/mmiotrace_debian.cmake)
set(CPACK_PACKAGE_NAME mmiotrace-shim-arm64)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "mmiotrace's AArch64 shim, to trace AArch64 programs under qemu-aarch64")
set(CPACK_PACKAGE_DESCRIPTION [=[
mmiotrace traces the memory-mapped I/O of user-space programs. This package holds
libmmiotrace.so.0 built for AArch64: with it, the mmiotrace command of the x86-64 package
records an AArch64 program (mmiotrace record -- ./arm64-program) by running it under
qemu-aarch64 with this library preloaded. The trace is the program's: its PCs and its pid.]=])
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE arm64)
# What the library links (readelf -d): the arm64 builds of these. dpkg-shlibdeps is not run: on
# an x86-64 machine it reads the host's libraries, not the arm64 ones.
string(CONCAT CPACK_DEBIAN_PACKAGE_DEPENDS "libc6 (>= 2.34), libgcc-s1 (>= 3.0), "
              "libstdc++6 (>= 11), libzstd1 (>= 1.5), zlib1g (>= 1:1.2), liblzma5 (>= 5.2)")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "mmiotrace:amd64 (= ${PROJECT_VERSION}), qemu-user:amd64")
include(CPack)
