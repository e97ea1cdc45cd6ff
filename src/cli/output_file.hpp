// The files the mmiotrace command writes trace data to (record's and replay's -o, convert's OUT):
// private, never written through another user's link or file, and put in place only when they
// are worth keeping, so that a mistake never costs an existing trace (docs/cli.md, "Output
// files").
#pragma once

#include <string>

namespace mmiotrace::cli {

class OutputFile {
 public:
  // What becomes of the file the path names when the new one takes its place (commit()).
  enum class Previous {
    Replaced,  // gone (convert: the user asked for OUT)
    KeptOld,   // a non-empty regular file is renamed PATH.old first, as perf does (record)
  };

  // Prepares to write `path` ("-": standard output); its messages start with `failure`, e.g.
  // "convert: cannot write", then name the path and say why:
  // - a symbolic link at `path` (and at each link it leads to) is followed only where the
  //   kernel's protected_symlinks would follow it, even where that is off: it belongs to the
  //   caller, or its directory is not sticky and world-writable, or the directory's owner owns
  //   it too;
  // - an existing file of another user in a sticky, group- or world-writable directory is not
  //   written (protected_regular's rule, FIFOs included);
  // - a regular file (or none yet) is written as a new file, mode 0600, in the same directory
  //   under a temporary name (".NAME.XXXXXX"), and takes the name at commit(); anything else (a
  //   FIFO, a character device such as /dev/null) is written in place.
  // Throws CliError (kExitCannotWriteTrace) saying why, having changed nothing.
  OutputFile(std::string failure, const std::string& path, Previous previous);
  // Before commit(): removes the new file.
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // A descriptor of the new file (close-on-exec), for the caller to write and close.
  int take_descriptor();
  // The output's name for messages: the path, or "standard output".
  const std::string& name() const { return name_; }

  // Until commit() or the destructor: SIGINT, SIGTERM and SIGHUP remove the new file before they
  // end mmiotrace as they would have (convert). One OutputFile at a time may ask it.
  void remove_on_interrupt();

  // Gives the new file its name: the previous file's goes first (Previous), then the new one
  // is renamed over it. Throws CliError (kExitCannotWriteTrace) when a rename fails: the new file
  // is then still under its temporary name, temporary_path(), until the destructor removes it
  // (unless keep_temporary() was called). Nothing to do for a file written in place.
  void commit();
  // Where the new file is before commit() ("" when written in place).
  const std::string& temporary_path() const { return temporary_; }
  // The new file stays where it is, uncommitted (record, when commit() failed while its command
  // runs: the trace goes on in the temporary file, which a message names).
  void keep_temporary();

 private:
  void stop_removing_on_interrupt();
  // Throws CliError (kExitCannotWriteTrace): "FAILURE 'PATH': WHY".
  [[noreturn]] void fail(const std::string& why) const;

  std::string failure_;
  std::string name_;
  std::string target_;     // the path the new file takes at commit(), links resolved
  std::string temporary_;  // the new file until commit(); "" when written in place
  Previous previous_;
  int fd_ = -1;
  bool removing_on_interrupt_ = false;
};

}  // namespace mmiotrace::cli
