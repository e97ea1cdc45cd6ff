// Unit tests for devices/uart16550: transmission to a file, the receiver and its input file,
// line and modem status, DLAB, interrupt identification, loopback, FIFOs and the arguments.
#include "devices/uart16550.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "devices/builtin_models.hpp"

namespace mmiotrace::devices {
namespace {

using namespace uart;

// Per process: ctest runs each test in a process of its own, several at once.
std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "uart16550_test_" + std::to_string(getpid()) + "_" + name;
}

std::string write_temp_file(const std::string& name, const std::string& content) {
  std::string path = temp_path(name);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  return path;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// A uart16550 made by the model's create, destroyed at the end of the scope (or by close()).
// Unless the arguments say otherwise, its output goes to a temporary file, not to stdout.
class Uart {
 public:
  explicit Uart(const std::string& arguments = "", const std::string& out_name = "out") {
    out_path_ = temp_path(out_name);
    std::remove(out_path_.c_str());  // out= appends
    std::string all = arguments;
    if (all.find("out=") == std::string::npos) all += (all.empty() ? "out=" : ",out=") + out_path_;
    char error[256] = "";
    device_ = kUart16550Model.create(all.c_str(), error, sizeof error);
    error_ = error;
  }
  ~Uart() { close(); }
  Uart(const Uart&) = delete;
  Uart& operator=(const Uart&) = delete;

  void close() {
    if (device_) kUart16550Model.destroy(device_);
    device_ = nullptr;
  }
  bool made() const { return device_ != nullptr; }
  const std::string& error() const { return error_; }
  Uart16550State& state() { return *static_cast<Uart16550State*>(device_); }
  std::string output() const { return read_file(out_path_); }

  // Register `number`, at its offset for the device's shift.
  uint8_t get(uint32_t number) {
    return static_cast<uint8_t>(kUart16550Model.read(device_, offset(number), 1));
  }
  void set(uint32_t number, uint8_t value) {
    kUart16550Model.write(device_, offset(number), 1, value);
  }
  std::string receive_all() {
    std::string received;
    while (get(kLsr) & kLsrDataReady)
      received += static_cast<char>(get(kRbrThrDll));
    return received;
  }

 private:
  uint64_t offset(uint32_t number) { return uint64_t{number} << state().shift; }

  void* device_ = nullptr;
  std::string error_;
  std::string out_path_;
};

std::string make_error(const std::string& arguments) {
  Uart uart(arguments);
  EXPECT_FALSE(uart.made()) << arguments;
  return uart.error();
}

TEST(Uart16550, PowerOnValuesFollowTheDatasheet) {
  Uart uart;
  ASSERT_TRUE(uart.made()) << uart.error();
  EXPECT_EQ(uart.get(kIerDlm), 0u);
  EXPECT_EQ(uart.get(kIirFcr), 0x01u);
  EXPECT_EQ(uart.get(kLcr), 0u);
  EXPECT_EQ(uart.get(kMcr), 0u);
  EXPECT_EQ(uart.get(kLsr), 0x60u);  // THRE and TEMT: transmission is instant
  EXPECT_EQ(uart.get(kMsr), 0xb0u);  // DCD, DSR and CTS from a ready null modem
  EXPECT_EQ(kUart16550Model.size(&uart.state()), 4096u);
  EXPECT_EQ(kUart16550Model.advance, nullptr);
}

TEST(Uart16550, OutFileIsAppendedTo) {
  std::string path = write_temp_file("appended", "before\n");
  {
    char error[256] = "";
    void* device = kUart16550Model.create(("out=" + path).c_str(), error, sizeof error);
    ASSERT_NE(device, nullptr) << error;
    kUart16550Model.write(device, 0, 1, 'x');
    kUart16550Model.destroy(device);
  }
  EXPECT_EQ(read_file(path), "before\nx") << "every process that uses the UART adds to the file";
}

TEST(Uart16550, TransmittedBytesGoToTheOutFileAtOnce) {
  Uart uart;
  for (char c : std::string("hello\n")) {
    EXPECT_EQ(uart.get(kLsr) & kLsrThrEmpty, kLsrThrEmpty);
    uart.set(kRbrThrDll, static_cast<uint8_t>(c));
  }
  EXPECT_EQ(uart.output(), "hello\n");  // written before destroy: nothing is buffered
  EXPECT_EQ(uart.get(kLsr), 0x60u);
  EXPECT_EQ(uart.state().output_errors, 0u);
}

TEST(Uart16550, OutDashIsStandardOutput) {
  Uart uart("out=-");
  ASSERT_TRUE(uart.made()) << uart.error();
  EXPECT_EQ(uart.state().out_fd, 1);
}

TEST(Uart16550, DlabSelectsTheDivisorLatch) {
  Uart uart;
  uart.set(kIerDlm, 0x05);
  uart.set(kLcr, kLcrDlab | 0x03);
  uart.set(kRbrThrDll, 0x01);  // 115200 baud from 1.8432 MHz
  uart.set(kIerDlm, 0x00);
  EXPECT_EQ(uart.get(kRbrThrDll), 0x01u);
  EXPECT_EQ(uart.get(kIerDlm), 0x00u);
  EXPECT_EQ(uart.get(kLcr), 0x83u);
  uart.set(kLcr, 0x03);
  EXPECT_EQ(uart.get(kIerDlm), 0x05u);  // IER was not touched
  uart.set(kRbrThrDll, 'x');
  EXPECT_EQ(uart.output(), "x");  // the DLL write was not transmitted
  EXPECT_EQ(uart.state().dll, 0x01u);
}

TEST(Uart16550, ShiftSpacesTheRegistersAndAllowsWordAccess) {
  Uart uart("shift=2");
  ASSERT_TRUE(uart.made()) << uart.error();
  kUart16550Model.write(&uart.state(), 3 << 2, 4, 0x03);  // LCR
  EXPECT_EQ(kUart16550Model.read(&uart.state(), 3 << 2, 4), 0x03u);
  EXPECT_EQ(kUart16550Model.read(&uart.state(), 5 << 2, 4), 0x60u);  // LSR
  EXPECT_EQ(kUart16550Model.read(&uart.state(), 5 << 2, 1), 0x60u);
  kUart16550Model.write(&uart.state(), 0, 4, 0xffffff41);  // THR: the low byte
  EXPECT_EQ(uart.output(), "A");
  kUart16550Model.write(&uart.state(), 7 << 2, 4, 0x5a);  // SCR
  EXPECT_EQ(kUart16550Model.read(&uart.state(), 7 << 2, 4), 0x5au);
  EXPECT_EQ(kUart16550Model.read(&uart.state(), 7 << 2 | 1, 1), 0u);  // not a register
  EXPECT_EQ(kUart16550Model.read(&uart.state(), 8 << 2, 4), 0u);      // past the registers
  EXPECT_EQ(kUart16550Model.read(&uart.state(), 3, 1), 0u);
}

TEST(Uart16550, InputIsDeliveredByteByByte) {
  std::string in = write_temp_file("in", "xyz");
  Uart uart("in=" + in);
  ASSERT_TRUE(uart.made()) << uart.error();
  EXPECT_EQ(uart.get(kLsr), 0x61u);
  EXPECT_EQ(uart.get(kRbrThrDll), 'x');
  EXPECT_EQ(uart.receive_all(), "yz");
  EXPECT_EQ(uart.get(kLsr), 0x60u);
  EXPECT_EQ(uart.get(kRbrThrDll), 'z');  // with nothing waiting, RBR keeps the last byte
}

TEST(Uart16550, InputSurvivesEnablingTheFifos) {
  std::string in = write_temp_file("in_fifo", "abc");
  Uart uart("in=" + in);
  uart.set(kIirFcr, kFcrEnable | kFcrClearReceiver | kFcrClearTransmitter);
  EXPECT_EQ(uart.receive_all(), "abc");
}

TEST(Uart16550, ClearingTheReceiverDropsWhatWaits) {
  Uart uart;
  uart.set(kIirFcr, kFcrEnable);
  uart.set(kMcr, kMcrLoopback);
  uart.set(kRbrThrDll, '1');
  uart.set(kRbrThrDll, '2');
  EXPECT_EQ(uart.get(kLsr) & kLsrDataReady, kLsrDataReady);
  uart.set(kIirFcr, kFcrEnable | kFcrClearReceiver);
  EXPECT_EQ(uart.get(kLsr) & kLsrDataReady, 0u);
  uart.set(kRbrThrDll, '3');
  uart.set(kIirFcr, 0);  // leaving FIFO mode empties the FIFOs too
  EXPECT_EQ(uart.get(kLsr) & kLsrDataReady, 0u);
}

TEST(Uart16550, LoopbackSendsTransmittedBytesToTheReceiver) {
  Uart uart;
  uart.set(kIirFcr, kFcrEnable);
  uart.set(kMcr, kMcrLoopback);
  for (char c : std::string("loop"))
    uart.set(kRbrThrDll, static_cast<uint8_t>(c));
  EXPECT_EQ(uart.receive_all(), "loop");
  EXPECT_EQ(uart.output(), "");
  uart.set(kMcr, 0);
  uart.set(kRbrThrDll, '!');
  EXPECT_EQ(uart.output(), "!");
  EXPECT_EQ(uart.get(kLsr) & kLsrDataReady, 0u);
}

TEST(Uart16550, LoopbackHidesTheInput) {
  std::string in = write_temp_file("in_loop", "i");
  Uart uart("in=" + in);
  uart.set(kMcr, kMcrLoopback);
  EXPECT_EQ(uart.get(kLsr) & kLsrDataReady, 0u);
  uart.set(kMcr, 0);
  EXPECT_EQ(uart.receive_all(), "i");
}

TEST(Uart16550, OverrunLosesTheNewByteInFifoMode) {
  Uart uart;
  uart.set(kIirFcr, kFcrEnable);
  uart.set(kMcr, kMcrLoopback);
  for (int i = 0; i < 17; ++i)
    uart.set(kRbrThrDll, static_cast<uint8_t>('a' + i));
  EXPECT_EQ(uart.get(kLsr), 0x63u);  // DR, OE
  EXPECT_EQ(uart.get(kLsr), 0x61u);  // reading LSR cleared OE
  EXPECT_EQ(uart.receive_all(), "abcdefghijklmnop");
}

TEST(Uart16550, OverrunReplacesTheUnreadByteWithoutFifos) {
  Uart uart;
  uart.set(kMcr, kMcrLoopback);
  uart.set(kRbrThrDll, 'a');
  uart.set(kRbrThrDll, 'b');
  EXPECT_EQ(uart.get(kLsr), 0x63u);
  EXPECT_EQ(uart.receive_all(), "b");
}

TEST(Uart16550, InterruptIdentificationFollowsPriority) {
  Uart uart;
  EXPECT_EQ(uart.get(kIirFcr), 0x01u);
  uart.set(kIirFcr, kFcrEnable);
  EXPECT_EQ(uart.get(kIirFcr), 0xc1u);  // bits 7:6 say the FIFOs are on

  // THR empty: raised by enabling ETBEI while THR is empty, cleared by reading IIR.
  uart.set(kIerDlm, kIerThrEmpty);
  EXPECT_EQ(uart.get(kIirFcr), 0xc2u);
  EXPECT_EQ(uart.get(kIirFcr), 0xc1u);
  uart.set(kRbrThrDll, 'a');  // THR empties again at once
  EXPECT_EQ(uart.get(kIirFcr), 0xc2u);

  // Received data ranks above THR empty.
  uart.set(kMcr, kMcrLoopback);
  uart.set(kIerDlm, kIerThrEmpty | kIerReceivedData);
  uart.set(kRbrThrDll, 'b');
  EXPECT_EQ(uart.get(kIirFcr), 0xc4u);
  EXPECT_EQ(uart.get(kIirFcr), 0xc4u);  // reading IIR does not clear it
  EXPECT_EQ(uart.get(kRbrThrDll), 'b');
  EXPECT_EQ(uart.get(kIirFcr), 0xc2u);  // THR empty was still pending under it
  EXPECT_EQ(uart.get(kIirFcr), 0xc1u);

  // Line status (overrun) ranks above received data; reading LSR clears it.
  uart.set(kIerDlm, kIerLineStatus | kIerReceivedData);
  for (int i = 0; i < 17; ++i)
    uart.set(kRbrThrDll, 'c');
  EXPECT_EQ(uart.get(kIirFcr), 0xc6u);
  uart.get(kLsr);
  EXPECT_EQ(uart.get(kIirFcr), 0xc4u);
  uart.set(kIirFcr, kFcrEnable | kFcrClearReceiver);
  EXPECT_EQ(uart.get(kIirFcr), 0xc1u);

  // Modem status, lowest: a change of the modem inputs; cleared by reading MSR.
  uart.set(kIerDlm, kIerModemStatus);
  uart.get(kMsr);
  uart.set(kMcr, kMcrLoopback | 0x02);  // RTS -> CTS
  EXPECT_EQ(uart.get(kIirFcr), 0xc0u);
  EXPECT_EQ(uart.get(kMsr), 0x11u);  // CTS, DCTS
  EXPECT_EQ(uart.get(kIirFcr), 0xc1u);
}

TEST(Uart16550, DisabledInterruptsAreNotReported) {
  std::string in = write_temp_file("in_irq", "q");
  Uart uart("in=" + in);
  uart.set(kRbrThrDll, 'a');
  EXPECT_EQ(uart.get(kIirFcr), 0x01u);
  uart.set(kIerDlm, kIerReceivedData);
  EXPECT_EQ(uart.get(kIirFcr), 0x04u);  // input arrives when the program looks
}

TEST(Uart16550, LoopbackReflectsModemControlInModemStatus) {
  Uart uart;
  uart.set(kMcr, kMcrLoopback);      // the inputs drop from CTS, DSR, DCD to nothing
  EXPECT_EQ(uart.get(kMsr), 0x0bu);  // DDCD, DDSR, DCTS
  EXPECT_EQ(uart.get(kMsr), 0x00u);
  uart.set(kMcr, kMcrLoopback | 0x0f);  // DTR, RTS, OUT1, OUT2
  EXPECT_EQ(uart.get(kMsr), 0xfbu);     // all four inputs; RI rose, so no TERI
  uart.set(kMcr, kMcrLoopback | 0x0b);  // OUT1 off: RI's trailing edge
  EXPECT_EQ(uart.get(kMsr), 0xb4u);
  EXPECT_EQ(uart.get(kMcr), 0x1bu);
  uart.set(kMcr, 0xff);  // bits 7:5 do not exist
  EXPECT_EQ(uart.get(kMcr), 0x1fu);
}

TEST(Uart16550, ScratchAndLineControlHoldTheirValues) {
  Uart uart;
  uart.set(kScr, 0xa5);
  uart.set(kLcr, 0x1b);
  uart.set(kLsr, 0x00);  // LSR and MSR ignore writes
  uart.set(kMsr, 0x00);
  EXPECT_EQ(uart.get(kScr), 0xa5u);
  EXPECT_EQ(uart.get(kLcr), 0x1bu);
  EXPECT_EQ(uart.get(kLsr), 0x60u);
  EXPECT_EQ(uart.get(kMsr), 0xb0u);
  uart.set(kIerDlm, 0xff);
  EXPECT_EQ(uart.get(kIerDlm), 0x0fu);
}

TEST(Uart16550, ResetRestoresPowerOnAndReplaysTheInput) {
  std::string in = write_temp_file("in_reset", "rs");
  Uart uart("in=" + in);
  EXPECT_EQ(uart.receive_all(), "rs");
  uart.set(kLcr, 0x83);
  uart.set(kRbrThrDll, 1);
  uart.set(kIirFcr, kFcrEnable);
  uart.set(kScr, 9);
  uart.set(kMcr, kMcrLoopback);
  kUart16550Model.reset(&uart.state());
  EXPECT_EQ(uart.get(kLcr), 0u);
  EXPECT_EQ(uart.get(kIirFcr), 0x01u);
  EXPECT_EQ(uart.get(kScr), 0u);
  EXPECT_EQ(uart.get(kMcr), 0u);
  EXPECT_EQ(uart.get(kMsr), 0xb0u);
  EXPECT_EQ(uart.state().dll, 0u);
  EXPECT_EQ(uart.receive_all(), "rs");
}

TEST(Uart16550, BadArgumentsAreReportedInOneLine) {
  EXPECT_EQ(make_error("shift=9"), "uart16550: shift=9 is out of range (0 to 3)");
  EXPECT_EQ(make_error("baud=9600"),
            "uart16550: unknown argument 'baud' (it takes shift=, out=, in=)");
  std::string missing = temp_path("no_such_dir") + "/out";
  EXPECT_EQ(make_error("out=" + missing),
            "uart16550: cannot open out='" + missing + "': No such file or directory");
  EXPECT_EQ(make_error("out="), "uart16550: out= is empty (expected a file, or - for stdout)");
  std::string no_input = temp_path("no_such_input");
  EXPECT_EQ(make_error("in=" + no_input),
            "uart16550: cannot open in='" + no_input + "': No such file or directory");
  std::string large = write_temp_file("large", std::string((1 << 20) + 1, 'x'));
  EXPECT_EQ(make_error("in=" + large), "uart16550: in='" + large + "' is larger than 1M");
  std::string fits = write_temp_file("fits", std::string(1 << 20, 'x'));
  EXPECT_TRUE(Uart("in=" + fits).made());
}

}  // namespace
}  // namespace mmiotrace::devices
