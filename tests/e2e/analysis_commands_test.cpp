// End-to-end tests of the commands that make a trace readable, on a real recording (the NVMe
// example against the nvme model): report (text and JSON, symbolized PCs, threads), diff (exit
// 0/1/2 like diff(1), --json), dump --regs (register and field names; a bad map named with its
// line and column) and convert --to perfetto (a timeline that parses, with the tracks it needs).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "program_runner.hpp"

namespace mmiotrace::e2e {
namespace {

using nlohmann::json;

class AnalysisCommandsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    directory_ = new TemporaryDirectory();
    for (auto [name, extra] : {std::pair<const char*, const char*>{"normal.bin", nullptr},
                               std::pair<const char*, const char*>{"again.bin", nullptr},
                               std::pair<const char*, const char*>{"abrupt.bin", "--abrupt"}}) {
      std::vector<std::string> command = {MMIOTRACE_COMMAND,
                                          "record",
                                          "-o",
                                          path(name),
                                          "--device",
                                          "nvme@/dev/fake-nvme",
                                          "--",
                                          EXAMPLES_DIR "/nvme_init"};
      if (extra != nullptr) command.push_back(extra);
      command.push_back("/dev/fake-nvme");
      ProgramResult result = run_program(command, directory_->path());
      ASSERT_EQ(describe_status(result.status), "exited 0") << result.err;
    }
  }
  static void TearDownTestSuite() {
    delete directory_;
    directory_ = nullptr;
  }
  static std::string path(const std::string& name) { return directory_->path() + "/" + name; }
  static ProgramResult mmiotrace(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), MMIOTRACE_COMMAND);
    return run_program(arguments, directory_->path());
  }
  static void write(const std::string& name, const std::string& content) {
    std::ofstream(path(name), std::ios::binary) << content;
  }
  // One line, naming mmiotrace, containing `needle`, and the exit status.
  static void expect_error(const ProgramResult& result, int status, const std::string& needle) {
    EXPECT_EQ(describe_status(result.status), "exited " + std::to_string(status));
    EXPECT_EQ(result.err.rfind("mmiotrace: ", 0), 0u) << result.err;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
    EXPECT_NE(result.err.find(needle), std::string::npos) << result.err;
  }

  static TemporaryDirectory* directory_;
};

TemporaryDirectory* AnalysisCommandsTest::directory_ = nullptr;

TEST_F(AnalysisCommandsTest, ReportNamesRegistersAndSymbolizesInstructions) {
  ProgramResult result = mmiotrace({"report", path("normal.bin")});
  ASSERT_EQ(describe_status(result.status), "exited 0") << result.err;
  EXPECT_TRUE(result.err.empty()) << "no progress bar when stderr is not a terminal";
  EXPECT_NE(result.out.find("device nvme@/dev/fake-nvme"), std::string::npos) << result.out;
  // CC: read once, written twice (enable, then shutdown), from main.
  EXPECT_TRUE(std::regex_search(result.out, std::regex(R"(0x14 +CC +R 1 +W 2 )"))) << result.out;
  EXPECT_TRUE(std::regex_search(result.out, std::regex(R"(values \(3\): 0x0 0x460001 0x464001)")));
  // CSTS is polled from wait_for_status, a function of the example, named with its offset and
  // (the example has DWARF) its source line.
  EXPECT_TRUE(std::regex_search(result.out, std::regex(R"(\d+ x nvme_init\+0x[0-9a-f]+ )"
                                                       R"(\(wait_for_status\+0x[0-9a-f]+\) )"
                                                       R"(at nvme_init\.c:\d+\n)")))
      << result.out;
  // One thread: its five writes, and its reads (how many polls CSTS takes varies with the load).
  EXPECT_TRUE(std::regex_search(result.out,
                                std::regex(R"(threads:\n  pid \d+ +tid \d+ +R [1-9]\d* +W 5 )")))
      << result.out;
}

TEST_F(AnalysisCommandsTest, ReportNamesNoFunctionsOfAFileRebuiltSinceTheRecording) {
  // The trace as text, with nvme_init's recorded build ID changed: as if it had been rebuilt.
  std::string text = mmiotrace({"dump", path("normal.bin")}).out;
  std::smatch found;
  ASSERT_TRUE(std::regex_search(
      text, found, std::regex(R"(module \d+ \S+ \S+ build-id=([0-9a-f]+) \S*/nvme_init\n)")))
      << text;
  text.replace(static_cast<size_t>(found.position(1)), static_cast<size_t>(found.length(1)),
               "00112233");
  std::ofstream(path("rebuilt.txt")) << text;
  ProgramResult result = mmiotrace({"report", path("rebuilt.txt")});
  ASSERT_EQ(describe_status(result.status), "exited 0") << result.err;
  EXPECT_TRUE(std::regex_search(
      result.err, std::regex(R"(^report: warning: \S*/nvme_init: build ID [0-9a-f]+, the trace )"
                             R"(recorded 00112233: another build of the file; its functions are )"
                             R"(not named\n$)")))
      << result.err;
  EXPECT_TRUE(std::regex_search(result.out, std::regex(R"(\d+ x nvme_init\+0x[0-9a-f]+\n)")))
      << result.out;
  EXPECT_EQ(result.out.find("wait_for_status"), std::string::npos) << result.out;
}

TEST_F(AnalysisCommandsTest, ReportJsonCountsWhatDumpShows) {
  ProgramResult result = mmiotrace({"report", "--json", path("normal.bin")});
  ASSERT_EQ(describe_status(result.status), "exited 0") << result.err;
  json report = json::parse(result.out);
  ProgramResult dumped = mmiotrace({"dump", path("normal.bin")});
  uint64_t reads = 0, writes = 0;
  std::istringstream lines(dumped.out);
  for (std::string line; std::getline(lines, line);) {
    reads += line.rfind("R ", 0) == 0;
    writes += line.rfind("W ", 0) == 0;
  }
  ASSERT_EQ(report["mappings"].size(), 1u);
  uint64_t report_reads = 0, report_writes = 0;
  for (const json& reg : report["mappings"][0]["registers"]) {
    report_reads += reg["reads"].get<uint64_t>();
    report_writes += reg["writes"].get<uint64_t>();
  }
  EXPECT_EQ(report_reads, reads);
  EXPECT_EQ(report_writes, writes);
  EXPECT_EQ(report["lost"], 0);
  EXPECT_EQ(report["mappings"][0]["device"], "nvme@/dev/fake-nvme");
}

// A trace names a plugin in its device marker, as the traced program can make it do
// (mmiotrace_mark()): reading the trace loads no code; naming the plugin with --model does.
TEST_F(AnalysisCommandsTest, ATraceNeverMakesMmiotraceLoadAPlugin) {
  write("plugin.txt", std::string("VERSION 20070824\n"
                                  "MAP 1.000000 1 0xfe000000 0x7f0000000000 0x1000 0x0 77\n"
                                  "MARK 1.000001 device ") +
                          HOSTILE_PLUGIN +
                          "@/dev/fake is map 1\n"
                          "R 4 1.000002 1 0xfe000000 0x1234abcd 0x401000 77\n");
  std::string ran = path("plugin-ran");
  std::vector<std::string> environment = {"HOSTILE_PLUGIN_RAN=" + ran};
  for (std::vector<std::string> command :
       {std::vector<std::string>{"dump", "--annotate", path("plugin.txt")},
        std::vector<std::string>{"report", path("plugin.txt")},
        std::vector<std::string>{"report", "--json", path("plugin.txt")},
        std::vector<std::string>{"convert", path("plugin.txt"), path("plugin.json")}}) {
    command.insert(command.begin(), MMIOTRACE_COMMAND);
    ProgramResult result = run_program(command, directory_->path(), environment);
    EXPECT_EQ(describe_status(result.status), "exited 0") << command[1] << ": " << result.err;
    EXPECT_NE(access(ran.c_str(), F_OK), 0) << command[1] << " loaded the plugin the trace names";
  }
  ProgramResult dumped = run_program({MMIOTRACE_COMMAND, "dump", "--annotate", path("plugin.txt")},
                                     directory_->path(), environment);
  EXPECT_NE(dumped.out.find("  ; offset 0x0\n"), std::string::npos) << dumped.out;
  EXPECT_EQ(dumped.err, std::string("mmiotrace: dump: map 1 was recorded against a plugin device "
                                    "model, which mmiotrace does not load when a trace names it: "
                                    "registers left unnamed; to load it and name them, add "
                                    "--model 1=") +
                            HOSTILE_PLUGIN + "\n");
  // What the test would see if it were loaded: a person names it.
  ProgramResult named = run_program({MMIOTRACE_COMMAND, "report", "--model",
                                     std::string("1=") + HOSTILE_PLUGIN, path("plugin.txt")},
                                    directory_->path(), environment);
  EXPECT_EQ(describe_status(named.status), "exited 118") << named.err;  // it has no model
  EXPECT_EQ(access(ran.c_str(), F_OK), 0);
}

// Bytes that are not UTF-8 in a trace's paths and texts: every JSON output stays valid JSON.
TEST_F(AnalysisCommandsTest, JsonOutputsStayValidWithBytesThatAreNotUtf8) {
  write("bytes.txt",
        "VERSION 20070824\n"
        "MARK 1.000000 module 77 0x400000-0x402000 0x400000 /opt/\xff\xfe/driver\n"
        "MAP 1.000000 1 0xfe000000 0x7f0000000000 0x1000 0x0 77\n"
        "MARK 1.000001 device nvme@/dev/fake-\xff is map 1\n"
        "MARK 1.000002 phase \xc0\xaf one\n"
        "R 4 1.000003 1 0xfe00001c 0x1 0x401000 77\n");
  ProgramResult report = mmiotrace({"report", "--json", path("bytes.txt")});
  ASSERT_EQ(describe_status(report.status), "exited 0") << report.err;  // was 70, type_error.316
  json parsed = json::parse(report.out);
  EXPECT_EQ(parsed["mappings"][0]["device"], "nvme@/dev/fake-\xef\xbf\xbd");
  ProgramResult timeline = mmiotrace({"convert", path("bytes.txt"), path("bytes.json")});
  ASSERT_EQ(describe_status(timeline.status), "exited 0") << timeline.err;
  EXPECT_NO_THROW(json::parse(read_file(path("bytes.json"))));
}

TEST_F(AnalysisCommandsTest, DiffExitsLikeDiff) {
  // Two runs poll CSTS a different number of times (the model's ready delay against the
  // scheduler): --squash-polls counts a run of equal reads as one.
  ProgramResult same = mmiotrace({"diff", "--squash-polls", path("normal.bin"), path("again.bin")});
  EXPECT_EQ(describe_status(same.status), "exited 0") << same.out << same.err;
  EXPECT_NE(same.out.find("the traces match"), std::string::npos) << same.out;

  ProgramResult differ =
      mmiotrace({"diff", "--squash-polls", path("normal.bin"), path("abrupt.bin")});
  EXPECT_EQ(describe_status(differ.status), "exited 1") << differ.err;
  // The shutdown notification: CC.SHN normal (01b) against abrupt (10b).
  EXPECT_TRUE(std::regex_search(
      differ.out,
      std::regex(
          R"(the first difference\n-W 4 map 1 \+0x14 0x464001 .*\n\+W 4 map 1 \+0x14 0x468001 )")))
      << differ.out;

  ProgramResult as_json =
      mmiotrace({"diff", "--json", "--squash-polls", path("normal.bin"), path("abrupt.bin")});
  EXPECT_EQ(describe_status(as_json.status), "exited 1");
  std::istringstream lines(as_json.out);
  std::string line, last;
  int differences = 0;
  while (std::getline(lines, line)) {
    json record = json::parse(line);  // one JSON document per line
    differences += record.contains("difference");
    last = line;
  }
  EXPECT_EQ(differences, 1);
  EXPECT_EQ(json::parse(last)["same"], false);

  expect_error(mmiotrace({"diff", path("normal.bin"), path("missing.bin")}), 2, "missing.bin");
}

// A recording whose tail is cut (the recorder killed mid-write, a full disk): report and convert
// give what they could read and say so; --strict refuses it as before.
TEST_F(AnalysisCommandsTest, CutTraceIsReportedAndConvertedUpToTheCutUnlessStrict) {
  std::ifstream in(path("normal.bin"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  write("cut.bin", bytes.substr(0, bytes.size() - 10));

  ProgramResult report = mmiotrace({"report", path("cut.bin")});
  EXPECT_EQ(describe_status(report.status), "exited 0") << report.err;
  EXPECT_NE(report.out.find("device nvme@/dev/fake-nvme"), std::string::npos) << report.out;
  EXPECT_NE(report.err.find("mmiotrace: report: warning: " + path("cut.bin") + ": offset "),
            std::string::npos)
      << report.err;
  EXPECT_NE(report.err.find("the last record is cut short (the trace is read up to there"),
            std::string::npos)
      << report.err;
  EXPECT_NE(report.err.find("1 record not read (1 cut short)"), std::string::npos) << report.err;

  ProgramResult convert = mmiotrace({"convert", path("cut.bin"), path("cut.txt")});
  EXPECT_EQ(describe_status(convert.status), "exited 0") << convert.err;
  EXPECT_NE(convert.err.find("cut short"), std::string::npos) << convert.err;
  ProgramResult whole = mmiotrace({"dump", path("normal.bin")});
  std::ifstream text_in(path("cut.txt"));
  std::string text((std::istreambuf_iterator<char>(text_in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(text.empty());
  // Everything but the last event.
  EXPECT_EQ(text, whole.out.substr(0, whole.out.rfind('\n', whole.out.size() - 2) + 1));

  expect_error(mmiotrace({"report", "--strict", path("cut.bin")}), 121, "cut short");
  expect_error(mmiotrace({"convert", "--strict", path("cut.bin"), path("cut2.txt")}), 121,
               "cut short");
  expect_error(mmiotrace({"diff", "--strict", path("cut.bin"), path("normal.bin")}), 2,
               "cut short");
}

// dump prints each line as it reads it: the lines before a bad one are out whether the bad one
// is skipped (by default) or stops it (--strict).
TEST_F(AnalysisCommandsTest, DumpSkipsBadLinesAndStreamsTheRest) {
  const std::string kGood1 = "R 4 81.403200 1 0xfd000000 0x40a200a2 0x0 0\n";
  const std::string kGood2 = "W 4 81.403300 1 0xfd000140 0x0 0x0 0\n";
  write("damaged.txt", "VERSION 20070824\n" + kGood1 + "wrapped text\n" + kGood2);
  ProgramResult lenient = mmiotrace({"dump", path("damaged.txt")});
  EXPECT_EQ(describe_status(lenient.status), "exited 0") << lenient.err;
  EXPECT_EQ(lenient.out, "VERSION 20070824\n" + kGood1 + kGood2);
  EXPECT_EQ(lenient.err, "mmiotrace: dump: warning: " + path("damaged.txt") +
                             ": line 3: unknown record \"wrapped\" in \"wrapped text\" (skipped; "
                             "--strict refuses the trace)\nmmiotrace: dump: warning: " +
                             path("damaged.txt") + ": 1 line not read (1 unknown record)\n");
  ProgramResult strict = mmiotrace({"dump", "--strict", path("damaged.txt")});
  expect_error(strict, 121, path("damaged.txt") + ": line 3: unknown record");
  EXPECT_EQ(strict.out, "VERSION 20070824\n" + kGood1);

  write("empty.txt", "");
  expect_error(mmiotrace({"dump", path("empty.txt")}), 121, "the file is empty");
}

// A trace names files for report to read symbols from, and the traced program can write such
// markers itself: a FIFO, a device or a file that is no ELF gives no function names, never a
// hang, a crash or a write.
TEST_F(AnalysisCommandsTest, HostileModuleMarkersGiveNoNamesNeverAHang) {
  std::string fifo = path("fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  write("hostile.txt",
        "VERSION 20070824\n"
        "MARK 1.000000 module 7 0x400000-0x500000 0x400000 " +
            fifo +
            "\n"
            "MARK 1.000000 module 7 0x500000-0x600000 0x500000 /dev/zero\n"
            "MARK 1.000000 module 7 0x600000-0x700000 0x600000 " +
            path("hostile.txt") +
            "\n"
            "MAP 1.000000 1 0xfd000000 0x7f0000000000 0x1000 0x400010 7\n"
            "R 4 1.000001 1 0xfd000010 0x5 0x400100 7\n"
            "R 4 1.000002 1 0xfd000010 0x5 0x500200 7\n"
            "R 4 1.000003 1 0xfd000010 0x5 0x600300 7\n");
  ProgramResult report = run_program(
      {"timeout", "60", MMIOTRACE_COMMAND, "report", path("hostile.txt")}, directory_->path());
  ASSERT_EQ(describe_status(report.status), "exited 0") << report.err;
  EXPECT_NE(report.out.find("fifo+0x100\n"), std::string::npos) << report.out;
  EXPECT_NE(report.out.find("zero+0x200\n"), std::string::npos) << report.out;
  EXPECT_NE(report.out.find("hostile.txt+0x300\n"), std::string::npos) << report.out;
  struct stat status;
  ASSERT_EQ(stat(fifo.c_str(), &status), 0);
  EXPECT_TRUE(S_ISFIFO(status.st_mode));
}

TEST_F(AnalysisCommandsTest, DumpRegsNamesRegistersAndFields) {
  write("nvme.yaml",
        "device: nvme\n"
        "blocks:\n"
        "  - name: NVME\n"
        "    base: 0\n"
        "    registers:\n"
        "      - name: CC\n"
        "        offset: 0x14\n"
        "        fields:\n"
        "          - {name: EN, bits: \"0\", values: {DISABLED: 0, ENABLED: 1}}\n"
        "          - {name: SHN, bits: \"15:14\", values: {NONE: 0, NORMAL: 1, ABRUPT: 2}}\n");
  ProgramResult result = mmiotrace({"dump", "--regs", path("nvme.yaml"), path("abrupt.bin")});
  ASSERT_EQ(describe_status(result.status), "exited 0") << result.err;
  EXPECT_TRUE(std::regex_search(
      result.out,
      std::regex(R"(\nW 4 \S+ 1 0x14 0x460001 \S+ \d+  ; NVME\.CC EN=ENABLED SHN=NONE\n)")))
      << result.out;
  EXPECT_TRUE(std::regex_search(
      result.out,
      std::regex(R"(\nW 4 \S+ 1 0x14 0x468001 \S+ \d+  ; NVME\.CC EN=ENABLED SHN=ABRUPT\n)")))
      << result.out;
  // Placed at map 1's first byte, the same names.
  ProgramResult placed =
      mmiotrace({"dump", "--regs", "1=" + path("nvme.yaml"), path("abrupt.bin")});
  EXPECT_EQ(placed.out, result.out);

  // The example maps (the README's and docs/cli.md's): three formats, one decoding.
  std::string by_format[3];
  int i = 0;
  for (const char* name : {"nvme.svd", "nvme.json", "nvme.yaml"}) {
    ProgramResult example = mmiotrace(
        {"dump", "--regs", std::string(MMIOTRACE_SOURCE_DIR "/examples/register-maps/") + name,
         path("normal.bin")});
    ASSERT_EQ(describe_status(example.status), "exited 0") << example.err;
    by_format[i++] = example.out;
  }
  EXPECT_EQ(by_format[0], by_format[1]);
  EXPECT_EQ(by_format[0], by_format[2]);
  EXPECT_TRUE(std::regex_search(
      by_format[0],
      std::regex(
          R"(\nW 4 \S+ 1 0x14 0x460001 \S+ \d+  ; NVME\.CC EN=ENABLED CSS=NVM MPS=0x0 AMS=RR )"
          R"(SHN=NONE IOSQES=0x6 IOCQES=0x4\n)")))
      << by_format[0];
  EXPECT_TRUE(std::regex_search(
      by_format[0],
      std::regex(R"(\nR 4 \S+ 1 0x1c 0x1 \S+ \d+  ; NVME\.CSTS RDY=READY CFS=0x0 SHST=NORMAL )"
                 R"(NSSRO=0x0\n)")))
      << by_format[0];

  write("bad.yaml",
        "blocks:\n  - name: NVME\n    registers:\n      - {name: CC, offset: 0x14, size: 12}\n");
  expect_error(mmiotrace({"dump", "--regs", path("bad.yaml"), path("normal.bin")}), 116,
               path("bad.yaml") + ":4:40: blocks[0].registers[0].size: 12 is not a register size");
  write("bad.svd", "<device><name>x</name>\n<peripherals><peripheral></device>\n");
  ProgramResult bad_svd = mmiotrace({"dump", "--regs", path("bad.svd"), path("normal.bin")});
  expect_error(bad_svd, 116, path("bad.svd") + ":2:");
  expect_error(mmiotrace({"dump", "--regs", path("none.json"), path("normal.bin")}), 116,
               "none.json: cannot open");
}

TEST_F(AnalysisCommandsTest, ReportAndTimelineNameRegistersWithAMap) {
  const std::string map = MMIOTRACE_SOURCE_DIR "/examples/register-maps/nvme.svd";
  ProgramResult report = mmiotrace({"report", "--regs", map, path("normal.bin")});
  ASSERT_EQ(describe_status(report.status), "exited 0") << report.err;
  // CSTS is polled: once a wait at least, more as the model's delays and the machine's load
  // decide (a count is not a timing this test may assert).
  std::smatch polled;
  ASSERT_TRUE(std::regex_search(report.out, polled, std::regex(R"(0x1c +NVME\.CSTS +R (\d+) )")))
      << report.out;
  EXPECT_GE(std::stoul(polled[1]), 3u) << report.out;
  ProgramResult converted = mmiotrace({"convert", "--to", "perfetto", "--regs", "1=" + map,
                                       path("normal.bin"), path("named.json")});
  ASSERT_EQ(describe_status(converted.status), "exited 0") << converted.err;
  json timeline = json::parse(read_file(path("named.json")));
  int named = 0;
  for (const json& event : timeline["traceEvents"]) {
    if (event["ph"] == "X" && event["name"] == "W NVME.CC") {
      EXPECT_EQ(event["args"]["register"].get<std::string>().rfind("NVME.CC EN=", 0), 0u) << event;
      ++named;
    }
  }
  EXPECT_EQ(named, 2);  // enable, then shut down
  expect_error(
      mmiotrace({"convert", "--to", "text", "--regs", map, path("normal.bin"), path("x.txt")}), 125,
      "perfetto timeline only");
}

TEST_F(AnalysisCommandsTest, ConvertToPerfettoMakesATimelineWithThreadAndMappingTracks) {
  ProgramResult result =
      mmiotrace({"convert", "--to", "perfetto", path("normal.bin"), path("timeline.json")});
  ASSERT_EQ(describe_status(result.status), "exited 0") << result.err;
  json timeline = json::parse(read_file(path("timeline.json")));
  std::set<std::string> track_names;
  int accesses = 0, markers = 0, mapping_begins = 0;
  for (const json& event : timeline["traceEvents"]) {
    if (event["ph"] == "M" && event["name"] == "thread_name")
      track_names.insert(event["args"]["name"]);
    if (event["ph"] == "X" && event["cat"] == "mmio") ++accesses;
    if (event["ph"] == "i" && event["cat"] == "marker") ++markers;
    if (event["ph"] == "B") ++mapping_begins;
  }
  EXPECT_TRUE(track_names.count("map 1 @0x0 (0x4000 bytes)")) << timeline.dump();
  EXPECT_TRUE(std::any_of(track_names.begin(), track_names.end(),
                          [](const std::string& name) { return name.rfind("TID ", 0) == 0; }));
  ProgramResult report = mmiotrace({"report", "--json", path("normal.bin")});
  json summary = json::parse(report.out);
  EXPECT_EQ(accesses, summary["mappings"][0]["accesses"].get<int>());
  // The trace's markers are all mmiotrace's bookkeeping (modules, the device): no instants; the
  // device names the mapping's track.
  EXPECT_EQ(markers, 0);
  EXPECT_TRUE(track_names.count("map 1 @0x0 (0x4000 bytes) nvme@/dev/fake-nvme"));
  EXPECT_GE(timeline["metadata"]["modules"].get<int>(), 2);  // nvme_init, libc
  EXPECT_EQ(mapping_begins, 1);

  // The name says the format; a bad target is a usage error.
  ProgramResult by_name = mmiotrace({"convert", path("normal.bin"), path("by-name.json")});
  EXPECT_EQ(describe_status(by_name.status), "exited 0") << by_name.err;
  EXPECT_EQ(read_file(path("by-name.json")), read_file(path("timeline.json")));
  expect_error(mmiotrace({"convert", "--to", "svg", path("normal.bin"), path("x.svg")}), 125,
               "unknown format 'svg'");
}

TEST_F(AnalysisCommandsTest, OptionsMayFollowTheOperands) {
  ProgramResult converted =
      mmiotrace({"convert", path("normal.bin"), path("after.out"), "--to", "text"});
  ASSERT_EQ(describe_status(converted.status), "exited 0") << converted.err;
  EXPECT_EQ(read_file(path("after.out")), mmiotrace({"dump", path("normal.bin")}).out);

  ProgramResult annotated = mmiotrace({"dump", path("normal.bin"), "--annotate"});
  ASSERT_EQ(describe_status(annotated.status), "exited 0") << annotated.err;
  EXPECT_NE(annotated.out.find("  ; CSTS\n"), std::string::npos);
  EXPECT_EQ(annotated.out, mmiotrace({"dump", "--annotate", path("normal.bin")}).out);

  ProgramResult report = mmiotrace({"report", path("normal.bin"), "--json"});
  ASSERT_EQ(describe_status(report.status), "exited 0") << report.err;
  EXPECT_EQ(json::parse(report.out)["events"],
            json::parse(mmiotrace({"report", "--json", path("normal.bin")}).out)["events"]);

  ProgramResult diff = mmiotrace({"diff", path("normal.bin"), path("normal.bin"), "--json"});
  EXPECT_EQ(describe_status(diff.status), "exited 0") << diff.err;
  EXPECT_EQ(json::parse(diff.out)["same"], true) << diff.out;

  // An unknown option is named wherever it stands; "--" makes the rest operands.
  expect_error(mmiotrace({"dump", path("normal.bin"), "--frobnicate"}), 125,
               "dump: unknown option '--frobnicate'");
  expect_error(mmiotrace({"dump", "--", "--annotate"}), 121, "--annotate");
  expect_error(mmiotrace({"diff", path("normal.bin"), path("again.bin"), "--window"}), 2,
               "diff: option '--window' needs a value");
}

TEST_F(AnalysisCommandsTest, HelpForASubcommandThreeWaysAndVersionTwoWays) {
  ProgramResult usage = mmiotrace({"convert", "--help"});
  ASSERT_EQ(describe_status(usage.status), "exited 0");
  ASSERT_EQ(usage.out.rfind("usage: mmiotrace convert ", 0), 0u) << usage.out;
  EXPECT_EQ(mmiotrace({"help", "convert"}).out, usage.out);
  ProgramResult late = mmiotrace({"convert", path("normal.bin"), "x.txt", "-h"});
  EXPECT_EQ(describe_status(late.status), "exited 0");
  EXPECT_EQ(late.out, usage.out);
  EXPECT_FALSE(std::ifstream(path("x.txt")).good()) << "--help converts nothing";
  expect_error(mmiotrace({"help", "frob"}), 125, "unknown subcommand 'frob'");

  ProgramResult version = mmiotrace({"-V"});
  EXPECT_EQ(describe_status(version.status), "exited 0");
  EXPECT_EQ(version.out.rfind("mmiotrace ", 0), 0u);
  EXPECT_EQ(version.out, mmiotrace({"--version"}).out);

  // The main help names every format convert writes.
  std::string main_help = mmiotrace({"--help"}).out;
  size_t convert = main_help.find("\n  convert ");
  ASSERT_NE(convert, std::string::npos) << main_help;
  std::string summary = main_help.substr(convert, main_help.find('\n', convert + 1) - convert);
  for (const char* format : {"text", "binary", "compressed", "Perfetto"}) {
    EXPECT_NE(summary.find(format), std::string::npos) << format << " in" << summary;
  }
}

}  // namespace
}  // namespace mmiotrace::e2e
