# The Debian package, by CPack (`cpack -G DEB` in a build folder; scripts/package configures one
# for /usr, builds it and runs cpack): what `cmake --install` installs, stripped, with its
# dependencies found by dpkg-shlibdeps.

include(${CMAKE_CURRENT_LIST_DIR}/mmiotrace_debian.cmake)
set(CPACK_PACKAGE_NAME mmiotrace)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "trace and emulate the memory-mapped I/O of user-space programs")
set(CPACK_PACKAGE_DESCRIPTION [=[
mmiotrace traces the memory-mapped I/O of user-space programs on Linux/x86-64: every load and
store a program makes to a mapped device (/dev/mem, PCI resource files, UIO, VFIO regions, or
any file named) is recorded with its register offset, direction, width, value, time,
instruction and process, in the kernel mmiotrace's log format or a compact binary one. Each
access is trapped and emulated on an alias of the mapping, so that every thread's every access
is seen and the device is touched exactly once; hot loops run in a code cache.
.
Device models (NVMe, a 16550 UART, plain registers, or plugins) and recorded traces can stand
in for the hardware, so that a driver runs with no device present. The trace readers summarize
a trace per register, name registers and fields from CMSIS-SVD maps, compare two traces and
convert them into a Perfetto timeline.
.
This package holds the mmiotrace command, libmmiotrace (its preload library, and the probe and
marker API for programs), the headers, the CMake and pkg-config files, man pages, shell
completions, the example drivers and register maps.]=])
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
include(CPack)
