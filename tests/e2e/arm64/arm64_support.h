/* Helpers for the AArch64 end-to-end programs: those of the x86-64 ones that know no instruction
 * set (tests/progs/prog_support.h: register files to map). */
#ifndef MMIOTRACE_ARM64_SUPPORT_H
#define MMIOTRACE_ARM64_SUPPORT_H

#if !defined(__aarch64__)
#error "the AArch64 end-to-end programs are built for AArch64 only"
#endif

#include "../../progs/prog_support.h"

#endif
