// mmiotrace: signal-safe
// The uart16550 model: a memory-mapped 16550A UART whose register r sits at offset r << shift.
// Transmission is instant: THR writes go to a descriptor (or, in loopback, to the receiver);
// received bytes come from a buffer read from a file in create. The state is made by
// builtin_models.cpp; the functions run in signal handlers.
#pragma once

#include <cstdint>

namespace mmiotrace::devices {

namespace uart {

// Register numbers (the offset is the number << shift). DLAB (LCR bit 7) turns 0 and 1 into
// the divisor latch.
inline constexpr uint32_t kRbrThrDll = 0;
inline constexpr uint32_t kIerDlm = 1;
inline constexpr uint32_t kIirFcr = 2;
inline constexpr uint32_t kLcr = 3;
inline constexpr uint32_t kMcr = 4;
inline constexpr uint32_t kLsr = 5;
inline constexpr uint32_t kMsr = 6;
inline constexpr uint32_t kScr = 7;

inline constexpr uint8_t kIerReceivedData = 1u << 0;  // ERBFI
inline constexpr uint8_t kIerThrEmpty = 1u << 1;      // ETBEI
inline constexpr uint8_t kIerLineStatus = 1u << 2;    // ELSI
inline constexpr uint8_t kIerModemStatus = 1u << 3;   // EDSSI

inline constexpr uint8_t kIirNoInterrupt = 0x01;
inline constexpr uint8_t kIirLineStatus = 0x06;
inline constexpr uint8_t kIirReceivedData = 0x04;
inline constexpr uint8_t kIirThrEmpty = 0x02;
inline constexpr uint8_t kIirModemStatus = 0x00;
inline constexpr uint8_t kIirFifosEnabled = 0xc0;

inline constexpr uint8_t kFcrEnable = 1u << 0;
inline constexpr uint8_t kFcrClearReceiver = 1u << 1;
inline constexpr uint8_t kFcrClearTransmitter = 1u << 2;

inline constexpr uint8_t kLcrDlab = 1u << 7;
inline constexpr uint8_t kMcrLoopback = 1u << 4;

inline constexpr uint8_t kLsrDataReady = 1u << 0;
inline constexpr uint8_t kLsrOverrun = 1u << 1;
inline constexpr uint8_t kLsrThrEmpty = 1u << 5;
inline constexpr uint8_t kLsrTransmitterEmpty = 1u << 6;

inline constexpr uint8_t kMsrCts = 1u << 4;
inline constexpr uint8_t kMsrDsr = 1u << 5;
inline constexpr uint8_t kMsrRi = 1u << 6;
inline constexpr uint8_t kMsrDcd = 1u << 7;

inline constexpr uint32_t kFifoSize = 16;
inline constexpr uint64_t kSize = 4096;  // the register page

}  // namespace uart

// One uart16550 device. Only the functions below touch it once it is made; `input` and
// `out_fd` are owned by whoever made the state.
struct Uart16550State {
  uint32_t shift = 0;              // 0 to 3
  int out_fd = 1;                  // where transmitted bytes go
  const uint8_t* input = nullptr;  // the bytes the line delivers, in order
  uint64_t input_size = 0;
  uint64_t input_position = 0;  // the next byte of `input` to deliver
  uint64_t output_errors = 0;   // transmitted bytes that write(2) refused

  uint8_t ier = 0;  // bits 3:0
  uint8_t lcr = 0;
  uint8_t mcr = 0;  // bits 4:0
  uint8_t scr = 0;
  uint8_t dll = 0;
  uint8_t dlm = 0;
  bool fifos_enabled = false;              // FCR bit 0
  uint8_t fcr_trigger = 0;                 // FCR bits 7:6, kept but not modelled
  bool overrun = false;                    // LSR.OE until LSR is read
  bool thr_interrupt = false;              // the THR-empty interrupt is pending
  uint8_t modem_inputs = 0;                // MSR bits 7:4
  uint8_t modem_deltas = 0;                // MSR bits 3:0 until MSR is read
  uint8_t receiver[uart::kFifoSize] = {};  // the receive FIFO (one byte when FIFOs are off)
  uint32_t receiver_head = 0;
  uint32_t receiver_count = 0;
  uint8_t last_received = 0;  // what RBR returns when nothing waits
};

// An access at `offset`: the register whose offset it is, its value in the low byte (other bytes
// read 0). Offsets that are not a register's read 0 and ignore writes.
uint64_t uart16550_read(Uart16550State& uart, uint64_t offset, uint32_t width);
void uart16550_write(Uart16550State& uart, uint64_t offset, uint32_t width, uint64_t value);
// Power-on state (the datasheet's reset values, divisor and scratch zeroed); the input replays
// from its start.
void uart16550_reset(Uart16550State& uart);

// The model ABI's entry points; `device` is a Uart16550State*.
uint64_t uart16550_abi_size(void* device);
uint64_t uart16550_abi_read(void* device, uint64_t offset, uint32_t width);
void uart16550_abi_write(void* device, uint64_t offset, uint32_t width, uint64_t value);
void uart16550_abi_reset(void* device);

}  // namespace mmiotrace::devices
