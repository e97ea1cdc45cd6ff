// The version of libmmiotrace.so as an ELF note, owner "mmiotrace", type 1, whose descriptor is
// the version string (MMIOTRACE_LIBRARY_VERSION, the project's version): `mmiotrace record`
// reads it before it preloads the library, and refuses a library of another version than its
// own (cli/shim_library.hpp). No header: nothing refers to it by name.

        .section .note.mmiotrace, "a", @note
        .balign 4
        .long .Lname_end - .Lname
        .long .Lversion_end - .Lversion
        .long 1
.Lname:
        .asciz "mmiotrace"
.Lname_end:
        .balign 4
.Lversion:
        .asciz MMIOTRACE_LIBRARY_VERSION
.Lversion_end:
        .balign 4

        .section .note.GNU-stack, "", @progbits
