/* mmiotrace.h: the C API of mmiotrace, a tracer of memory-mapped I/O in user space.
 *
 * A probe covers a byte range of the calling process. Once registered, every instruction that
 * touches the range is trapped and reported to the probe's handlers, with the address, width,
 * direction and value of its access. This is the user-space counterpart of the kernel's kmmio
 * probes (see docs/api.md).
 *
 * Contract for handlers: they run inside a signal handler, on the thread that made the access.
 * They may only do what is async-signal-safe: no malloc, no stdio, no locks the program could
 * hold. They must not register or unregister probes, and must not touch traced memory.
 */
#ifndef MMIOTRACE_H
#define MMIOTRACE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MMIOTRACE_EXPORT __attribute__((visibility("default")))

/* Direction of an access. */
enum mmiotrace_access_kind {
  MMIOTRACE_ACCESS_NONE = 0, /* no data access on a traced byte (an instruction fetch) */
  MMIOTRACE_ACCESS_READ = 1,
  MMIOTRACE_ACCESS_WRITE = 2,
  MMIOTRACE_ACCESS_READ_WRITE = 3, /* a read-modify-write instruction */
};

/* One access by one instruction, as the handlers see it. */
struct mmiotrace_access {
  uintptr_t address;       /* first byte the instruction accesses */
  uintptr_t fault_address; /* the byte whose fault revealed the access */
  uintptr_t pc;            /* address of the instruction */
  uint32_t width;          /* bytes accessed; 0 when unknown */
  uint32_t kind;           /* enum mmiotrace_access_kind */
  int decoded;             /* the instruction could be decoded */
  int value_known;         /* `value` holds the data moved: for a write from the pre handler on,
                              for a read in the post handler. When an instruction is not one
                              whose value the tracer understands this stays 0 and the trace
                              records it as UNKNOWN. */
  uint8_t insn_length;     /* bytes of the instruction in `insn` */
  uint8_t insn[15];        /* the instruction; when the tracer could read it, the code after
                              it fills the rest */
  union {
    uint64_t u64;      /* accesses of up to 8 bytes */
    uint8_t bytes[64]; /* in memory order (little-endian) */
  } value;
};

struct mmiotrace_probe;

/* `ucontext` is the ucontext_t of the interrupted thread. */
typedef void (*mmiotrace_handler)(struct mmiotrace_probe* probe,
                                  const struct mmiotrace_access* access, void* ucontext);

/* A traced byte range. The caller owns the structure; it must stay valid and unchanged from
 * mmiotrace_register_probe() until mmiotrace_unregister_probe() returns. */
struct mmiotrace_probe {
  uintptr_t addr;                 /* first byte; need not be page-aligned */
  size_t len;                     /* bytes; > 0 */
  mmiotrace_handler pre_handler;  /* before the access is performed; may be NULL */
  mmiotrace_handler post_handler; /* after it; may be NULL */
  void* user_data;                /* for the caller */
  /* Another mapping of the same memory, for mmiotrace's use only: byte `addr + i` is at
   * `alias + i`, and it covers the same whole pages. Emulation performs the accesses there, so
   * the traced pages are never opened. 0: mmiotrace maps one itself when it can (shared
   * mappings); MMIOTRACE_NO_ALIAS: none, every access is single-stepped. */
  uintptr_t alias;
};

#define MMIOTRACE_NO_ALIAS (~(uintptr_t)0)

/* Arms the pages under the probe. Returns 0, or a negative errno:
 *   -EINVAL  len is 0, the range wraps around, or alias is not at the same offset in its page
 *   -EEXIST  the range overlaps a registered probe
 *   -ENOMEM  part of the range is not mapped, or memory ran out
 *   -EDEADLK called from inside a probe handler
 * A page shared with another probe stays armed until both are unregistered. */
MMIOTRACE_EXPORT int mmiotrace_register_probe(struct mmiotrace_probe* probe);

/* Disarms the probe's pages that no other probe covers, restoring their own protection; their
 * content is untouched. Waits until no thread is inside this probe's handlers. Returns 0, or
 * -ENOENT when the probe is not registered, -EDEADLK from inside a probe handler. */
MMIOTRACE_EXPORT int mmiotrace_unregister_probe(struct mmiotrace_probe* probe);

/* How a trapped instruction is carried out. */
enum mmiotrace_strategy {
  /* As the Linux kernel's mmiotrace does it: open the page, single-step the instruction, re-arm.
   * While the page is open, other threads' accesses to it are not seen. */
  MMIOTRACE_STRATEGY_SINGLE_STEP = 1,
  /* The default: the instruction is emulated; its memory accesses are made once each, with the
   * instruction's own width, on the probe's alias, and the page is never opened. What the
   * emulator cannot do is single-stepped, and reported through the notice handler. */
  MMIOTRACE_STRATEGY_EMULATE = 2,
};

/* Selects the strategy for faults from now on. Returns 0, or -EINVAL. */
MMIOTRACE_EXPORT int mmiotrace_set_strategy(enum mmiotrace_strategy strategy);

/* Experimental (docs/code-cache.md): with `enabled`, a faulting MOV-family access to a probe
 * that has an alias continues in the code cache, which makes the accesses of its loop inline
 * and reports them to the probe's handlers afterwards, in order, with a NULL ucontext. */
MMIOTRACE_EXPORT void mmiotrace_set_divert(int enabled);
/* While diverting: whether a site that keeps trapping into the code cache gets a jump into it
 * written over its first instructions (default 1; see docs/code-cache.md for the rules). */
MMIOTRACE_EXPORT void mmiotrace_set_patch(int enabled);
MMIOTRACE_EXPORT enum mmiotrace_strategy mmiotrace_get_strategy(void);

/* Number of registered probes. */
MMIOTRACE_EXPORT size_t mmiotrace_probe_count(void);

/* Statistics of this process's engine, counted since start. */
struct mmiotrace_stats {
  uint64_t faults_handled;    /* traps on armed pages that were ours */
  uint64_t faults_passed_on;  /* SIGSEGV/SIGBUS/SIGTRAP given to the program or default action */
  uint64_t recursive_faults;  /* faults inside mmiotrace's own handlers */
  uint64_t emulated;          /* instructions emulated */
  uint64_t single_stepped;    /* instructions single-stepped (AArch64: run out of line) */
  uint64_t diverted;          /* traps continued in the code cache (mmiotrace_set_divert) */
  uint64_t diverted_accesses; /* accesses made and logged by the code cache */
  uint64_t entries_patched;   /* sites in the program's code given a jump into the code cache */
};
MMIOTRACE_EXPORT void mmiotrace_get_stats(struct mmiotrace_stats* stats);

/* Where the engine says what the trace should know: an instruction it single-steps because it
 * cannot emulate it (once per instruction), a region it cannot alias. `text` is one line ending
 * in a newline. Called from signal handlers too: the same rules as probe handlers apply. */
typedef void (*mmiotrace_notice_handler)(const char* text, size_t length, void* user_data);
MMIOTRACE_EXPORT void mmiotrace_set_notice_handler(mmiotrace_notice_handler handler,
                                                   void* user_data);

/* --- Recording ---------------------------------------------------------------------------
 * Under `mmiotrace record` the program's mappings are traced into the record's trace. Without
 * it, a program can record itself: mmiotrace_trace_start() starts an in-process writer (a
 * thread that drains the per-thread rings into the file), mmiotrace_trace_range() traces a
 * range as one mapping (MAP, its accesses, UNMAP), and mmiotrace_trace_stop() finishes the
 * file. */

enum mmiotrace_format {
  MMIOTRACE_FORMAT_TEXT = 1,        /* the kernel's mmiotrace text format */
  MMIOTRACE_FORMAT_BINARY = 2,      /* mmiotrace's binary format */
  MMIOTRACE_FORMAT_BINARY_ZSTD = 3, /* ... compressed with zstd */
};

/* Starts recording into `path`. Returns 0, -EBUSY when this process already records (under
 * `mmiotrace record` too), -EINVAL for an unknown format, or -errno from creating the file. */
MMIOTRACE_EXPORT int mmiotrace_trace_start(const char* path, enum mmiotrace_format format);

/* Writes everything recorded so far and closes the file. Returns 0, -ENOENT when no recording
 * was started by mmiotrace_trace_start(), or -errno from writing. */
MMIOTRACE_EXPORT int mmiotrace_trace_stop(void);

/* Traces [address, address + length) as one mapping at physical address `phys`: a MAP event,
 * then its accesses, until mmiotrace_untrace_range(). Returns NULL with errno set when no
 * recording is on (ENOENT) or the range cannot be traced (see mmiotrace_register_probe()). */
struct mmiotrace_mapping;
MMIOTRACE_EXPORT struct mmiotrace_mapping* mmiotrace_trace_range(const volatile void* address,
                                                                 size_t length, uint64_t phys);
MMIOTRACE_EXPORT int mmiotrace_untrace_range(struct mmiotrace_mapping* mapping);

/* Adds a MARK line with `text` to the trace. Async-signal-safe. Returns 0, -ENOENT when no
 * recording is on, or -E2BIG (nothing recorded) when `text` is longer than the 4000 bytes a
 * marker holds. */
MMIOTRACE_EXPORT int mmiotrace_mark(const char* text);

#ifdef __cplusplus
}
#endif

#endif /* MMIOTRACE_H */
