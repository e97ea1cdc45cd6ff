// Whole programs under the tracer: the wall time of each real client of the test bed
// (memtester, sqlite3, fio) traced against untraced, in the same run, and the events per second
// the traced run recorded. Run: build/bin/client_bench [--quick] (--quick: smaller workloads,
// and no memtester, whose traced run takes about a minute on a virtual machine).
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "trace/trace_reader.hpp"

namespace {

double now_seconds() {
  struct timespec time;
  clock_gettime(CLOCK_MONOTONIC, &time);
  return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_nsec) / 1e9;
}

// Runs `argv` in `directory` with its output discarded; returns the wall time, or -1 when it
// fails.
double timed_run(const std::vector<std::string>& argv, const std::string& directory) {
  double start = now_seconds();
  pid_t child = fork();
  if (child == 0) {
    if (chdir(directory.c_str()) != 0) _exit(126);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    std::vector<char*> args;
    for (const std::string& arg : argv)
      args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(child, &status, 0);
  double elapsed = now_seconds() - start;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? elapsed : -1;
}

uint64_t count_accesses(const std::string& trace) {
  uint64_t count = 0;
  auto reader = mmiotrace::trace::TraceReader::open(trace);
  mmiotrace::trace::Event event;
  while (reader->next(event)) {
    count += event.kind == mmiotrace::trace::EventKind::Read ||
             event.kind == mmiotrace::trace::EventKind::Write;
  }
  return count;
}

struct Client {
  std::string name;
  std::vector<std::string> command;  // run in a fresh directory
  std::string glob;                  // relative to that directory, or absolute
  std::string setup;                 // a file to write first ("name=content"), or empty
  bool divert = false;               // with the code cache (the default); false: --no-divert
  bool discard_trace = false;        // record into /dev/null (its accesses are not counted)
};

}  // namespace

int main(int argc, char** argv) {
  bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
  std::string mmiotrace = mmiotrace::bench::mmiotrace_command();
  int rows = quick ? 500 : 3000;
  std::string script =
      "PRAGMA journal_mode=WAL;\nPRAGMA mmap_size=268435456;\n"
      "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, value REAL);\n"
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<" +
      std::to_string(rows) +
      ")\n  INSERT INTO t SELECT x, printf('name-%d', x), x*1.5 FROM c;\n"
      "CREATE INDEX t_name ON t(name);\nUPDATE t SET value = value * 2 WHERE id % 7 = 0;\n"
      "SELECT count(*), sum(value) FROM t;\nPRAGMA integrity_check;\n.sha3sum\n";
  std::vector<Client> clients;
  if (!quick) {
    clients.push_back(
        {"memtester", {"memtester", "-p", "0", "-d", "/dev/zero", "16K", "1"}, "/dev/zero", ""});
  }
  if (!quick) {
    // Issue 9's measure: memtester on 256 KiB with the code cache. Its trace (about 127 million
    // accesses, 5 GB) goes to /dev/null.
    clients.push_back({"memtester-divert",
                       {"memtester", "-p", "0", "-d", "/dev/zero", "256K", "1"},
                       "/dev/zero",
                       "",
                       true,
                       true});
  }
  clients.push_back({"sqlite3",
                     {"sqlite3", "-batch", "test.db", ".read script.sql"},
                     "test.db*",
                     "script.sql=" + script});
  clients.push_back(
      {"fio",
       {"fio", "--name=job", "--filename=data.dat", quick ? "--size=256k" : "--size=4M", "--bs=4k",
        "--rw=randwrite", "--ioengine=mmap", "--verify=crc32c", "--do_verify=1", "--randseed=1"},
       "*.dat",
       ""});

  printf("%-16s %12s %12s %8s %12s %14s\n", "client", "untraced s", "traced s", "ratio", "accesses",
         "accesses/s");
  int failures = 0;
  for (const Client& client : clients) {
    char directory_template[] = "/tmp/mmiotrace-client-bench-XXXXXX";
    std::string directory = mkdtemp(directory_template);
    auto prepare = [&] {
      std::system(("rm -rf '" + directory + "'/*").c_str());
      if (!client.setup.empty()) {
        size_t equals = client.setup.find('=');
        std::ofstream(directory + "/" + client.setup.substr(0, equals))
            << client.setup.substr(equals + 1);
      }
    };
    std::vector<double> untraced;
    for (int run = 0; run < 3; ++run) {
      prepare();
      untraced.push_back(timed_run(client.command, directory));
    }
    std::sort(untraced.begin(), untraced.end());
    prepare();
    std::string glob = client.glob[0] == '/' ? client.glob : directory + "/" + client.glob;
    std::string trace = directory + "/../" + client.name + "-client-bench.bin";
    std::vector<std::string> traced_command = {
        mmiotrace, "record", "--format", "binary", "-o", client.discard_trace ? "/dev/null" : trace,
        "--trace", glob};
    if (!client.divert) traced_command.push_back("--no-divert");
    traced_command.push_back("--");
    traced_command.insert(traced_command.end(), client.command.begin(), client.command.end());
    double traced = timed_run(traced_command, directory);
    if (untraced[1] < 0 || traced < 0) {
      printf("%-10s failed (is it installed? scripts/setup installs it)\n", client.name.c_str());
      ++failures;
      continue;
    }
    if (client.discard_trace) {
      std::system(("rm -rf '" + directory + "'").c_str());
      printf("%-16s %12.3f %12.3f %8.1f %12s %14s\n", client.name.c_str(), untraced[1], traced,
             traced / untraced[1], "-", "-");
      continue;
    }
    uint64_t accesses = count_accesses(trace);
    unlink(trace.c_str());
    std::system(("rm -rf '" + directory + "'").c_str());
    printf("%-16s %12.3f %12.3f %8.1f %12llu %14.0f\n", client.name.c_str(), untraced[1], traced,
           traced / untraced[1], static_cast<unsigned long long>(accesses),
           static_cast<double>(accesses) / traced);
  }
  return failures == 0 ? 0 : 1;
}
