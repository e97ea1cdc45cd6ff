# What every Debian package of mmiotrace shares (mmiotrace's, cmake/mmiotrace_package.cmake, and
# the AArch64 shim's, cmake/mmiotrace_shim_package.cmake): CPack's DEB generator, the version,
# the prefix, stripped files, the packager, and folders and control files as Debian wants them.
# Each includes it, sets its name, description and dependencies, then includes CPack.

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
# Installed into a staging DESTDIR under the real prefix, so that what is written at install time
# (the pkg-config files) names the prefix the package installs to, not the staging folder.
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The packager, as Debian's tools take it (DEBFULLNAME and DEBEMAIL; scripts/package passes them).
set(MMIOTRACE_PACKAGE_MAINTAINER "mmiotrace developers" CACHE STRING
    "The Maintainer field of the Debian package: Name <email>")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${MMIOTRACE_PACKAGE_MAINTAINER})
# Folders and control files as Debian wants them: nothing writable by others.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE
    GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
