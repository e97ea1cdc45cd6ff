# Cross-building for AArch64 Linux with Debian's cross toolchain (g++-aarch64-linux-gnu) and the
# multiarch :arm64 development packages (scripts/setup installs both). The tests run under
# qemu-user.
# Used by scripts/build --arch arm64.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_ASM_COMPILER aarch64-linux-gnu-gcc)

# The arm64 packages are multiarch: headers under /usr/include, libraries and their pkg-config
# files under /usr/lib/aarch64-linux-gnu. Programs (python3, pkg-config itself) are the host's.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)

# qemu-aarch64 runs what was built (ctest, gtest_discover_tests), on the loader and libraries that
# `mmiotrace record` gives AArch64 programs (src/cli/arm64_libraries.hpp): the multiarch ones in
# / when libc6:arm64 and libstdc++6:arm64 are installed, else -L the cross toolchain's. Never
# the cross loader with the multiarch C library: threads hang in pthread_create.
if(EXISTS /lib/ld-linux-aarch64.so.1 AND EXISTS /lib/aarch64-linux-gnu/libc.so.6 AND
   (EXISTS /usr/lib/aarch64-linux-gnu/libstdc++.so.6 OR
    EXISTS /lib/aarch64-linux-gnu/libstdc++.so.6))
  set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)
else()
  set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /usr/aarch64-linux-gnu)
endif()
