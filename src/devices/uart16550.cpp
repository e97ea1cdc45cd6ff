// mmiotrace: signal-safe
// The uart16550 model's register logic: a 16550A with instant transmission and a 16-byte FIFO.
#include "devices/uart16550.hpp"

#include "core/syscall.hpp"

namespace mmiotrace::devices {
namespace {

using namespace uart;

uint32_t receiver_capacity(const Uart16550State& state) {
  return state.fifos_enabled ? kFifoSize : 1;
}

void clear_receiver(Uart16550State& state) {
  state.receiver_head = 0;
  state.receiver_count = 0;
}

// A byte reaches the receiver. When it is full the byte is an overrun: in FIFO mode it is lost,
// in 16450 mode it replaces the unread one (16550A datasheet, LSR bit 1).
void receive(Uart16550State& state, uint8_t byte) {
  if (state.receiver_count < receiver_capacity(state)) {
    state.receiver[(state.receiver_head + state.receiver_count) % kFifoSize] = byte;
    ++state.receiver_count;
    return;
  }
  state.overrun = true;
  if (!state.fifos_enabled) state.receiver[state.receiver_head] = byte;
}

// The line delivers the next input byte when the receiver is empty and not in loopback, so
// input is never overrun and nothing arrives before the program first looks (LSR or IIR).
void receive_from_line(Uart16550State& state) {
  if (state.mcr & kMcrLoopback || state.receiver_count > 0) return;
  if (state.input_position < state.input_size) receive(state, state.input[state.input_position++]);
}

uint8_t take_received(Uart16550State& state) {
  if (state.receiver_count == 0) return state.last_received;
  state.last_received = state.receiver[state.receiver_head];
  state.receiver_head = (state.receiver_head + 1) % kFifoSize;
  --state.receiver_count;
  return state.last_received;
}

// Loopback ties CTS to RTS, DSR to DTR, RI to OUT1 and DCD to OUT2; otherwise the other end
// of the line is a ready null modem: CTS, DSR and DCD asserted, RI not.
uint8_t modem_inputs_now(const Uart16550State& state) {
  if (!(state.mcr & kMcrLoopback)) return kMsrCts | kMsrDsr | kMsrDcd;
  uint8_t inputs = 0;
  if (state.mcr & 0x01) inputs |= kMsrDsr;
  if (state.mcr & 0x02) inputs |= kMsrCts;
  if (state.mcr & 0x04) inputs |= kMsrRi;
  if (state.mcr & 0x08) inputs |= kMsrDcd;
  return inputs;
}

void update_modem_inputs(Uart16550State& state) {
  uint8_t inputs = modem_inputs_now(state);
  uint8_t changed = inputs ^ state.modem_inputs;
  if (changed & kMsrCts) state.modem_deltas |= 0x01;                       // DCTS
  if (changed & kMsrDsr) state.modem_deltas |= 0x02;                       // DDSR
  if (changed & kMsrRi && !(inputs & kMsrRi)) state.modem_deltas |= 0x04;  // TERI
  if (changed & kMsrDcd) state.modem_deltas |= 0x08;                       // DDCD
  state.modem_inputs = inputs;
}

// The highest-priority pending interrupt the IER enables (datasheet table 4).
uint8_t interrupt_id(const Uart16550State& state) {
  if (state.ier & kIerLineStatus && state.overrun) return kIirLineStatus;
  if (state.ier & kIerReceivedData && state.receiver_count > 0) return kIirReceivedData;
  if (state.ier & kIerThrEmpty && state.thr_interrupt) return kIirThrEmpty;
  if (state.ier & kIerModemStatus && state.modem_deltas != 0) return kIirModemStatus;
  return kIirNoInterrupt;
}

void transmit(Uart16550State& state, uint8_t byte) {
  if (state.mcr & kMcrLoopback) {
    receive(state, byte);
  } else if (sys::write_all(state.out_fd, &byte, 1) < 0) {
    ++state.output_errors;
  }
  // The byte left at once: THR is empty again, which raises the THR-empty interrupt anew.
  state.thr_interrupt = true;
}

uint8_t read_register(Uart16550State& state, uint32_t number) {
  bool dlab = state.lcr & kLcrDlab;
  switch (number) {
    case kRbrThrDll:
      return dlab ? state.dll : take_received(state);
    case kIerDlm:
      return dlab ? state.dlm : state.ier;
    case kIirFcr: {
      receive_from_line(state);
      uint8_t id = interrupt_id(state);
      if (id == kIirThrEmpty) state.thr_interrupt = false;  // reading IIR clears it
      return id | (state.fifos_enabled ? kIirFifosEnabled : 0);
    }
    case kLcr:
      return state.lcr;
    case kMcr:
      return state.mcr;
    case kLsr: {
      receive_from_line(state);
      uint8_t lsr = kLsrThrEmpty | kLsrTransmitterEmpty;
      if (state.receiver_count > 0) lsr |= kLsrDataReady;
      if (state.overrun) lsr |= kLsrOverrun;
      state.overrun = false;  // reading LSR clears the error bits
      return lsr;
    }
    case kMsr: {
      uint8_t msr = state.modem_inputs | state.modem_deltas;
      state.modem_deltas = 0;
      return msr;
    }
    default:
      return state.scr;
  }
}

void write_fcr(Uart16550State& state, uint8_t value) {
  bool enable = value & kFcrEnable;
  if (enable != state.fifos_enabled) clear_receiver(state);  // changing mode empties the FIFOs
  state.fifos_enabled = enable;
  if (!enable) return;  // the other bits are programmed only with bit 0 set
  if (value & kFcrClearReceiver) clear_receiver(state);
  // kFcrClearTransmitter: the transmitter is always empty.
  state.fcr_trigger = value & 0xc0;
}

void write_register(Uart16550State& state, uint32_t number, uint8_t value) {
  bool dlab = state.lcr & kLcrDlab;
  switch (number) {
    case kRbrThrDll:
      if (dlab) {
        state.dll = value;
      } else {
        transmit(state, value);
      }
      return;
    case kIerDlm:
      if (dlab) {
        state.dlm = value;
        return;
      }
      // Enabling the THR-empty interrupt while THR is empty raises it.
      if (!(state.ier & kIerThrEmpty) && value & kIerThrEmpty) state.thr_interrupt = true;
      state.ier = value & 0x0f;
      return;
    case kIirFcr:
      write_fcr(state, value);
      return;
    case kLcr:
      state.lcr = value;
      return;
    case kMcr:
      state.mcr = value & 0x1f;
      update_modem_inputs(state);
      return;
    case kScr:
      state.scr = value;
      return;
    default:
      return;  // LSR and MSR: writes are for factory testing only
  }
}

// The register an access at `offset` addresses, or -1.
int register_number(const Uart16550State& state, uint64_t offset) {
  if (offset & ((uint64_t{1} << state.shift) - 1)) return -1;
  uint64_t number = offset >> state.shift;
  return number < 8 ? static_cast<int>(number) : -1;
}

}  // namespace

uint64_t uart16550_read(Uart16550State& uart, uint64_t offset, uint32_t /*width*/) {
  int number = register_number(uart, offset);
  return number < 0 ? 0 : read_register(uart, static_cast<uint32_t>(number));
}

void uart16550_write(Uart16550State& uart, uint64_t offset, uint32_t /*width*/, uint64_t value) {
  int number = register_number(uart, offset);
  if (number >= 0) write_register(uart, static_cast<uint32_t>(number), static_cast<uint8_t>(value));
}

void uart16550_reset(Uart16550State& uart) {
  uart.input_position = 0;
  uart.ier = 0;
  uart.lcr = 0;
  uart.mcr = 0;
  uart.scr = 0;
  uart.dll = 0;
  uart.dlm = 0;
  uart.fifos_enabled = false;
  uart.fcr_trigger = 0;
  uart.overrun = false;
  uart.thr_interrupt = false;
  uart.modem_inputs = modem_inputs_now(uart);
  uart.modem_deltas = 0;
  clear_receiver(uart);
  uart.last_received = 0;
}

uint64_t uart16550_abi_size(void* /*device*/) {
  return kSize;
}
uint64_t uart16550_abi_read(void* device, uint64_t offset, uint32_t width) {
  return uart16550_read(*static_cast<Uart16550State*>(device), offset, width);
}
void uart16550_abi_write(void* device, uint64_t offset, uint32_t width, uint64_t value) {
  uart16550_write(*static_cast<Uart16550State*>(device), offset, width, value);
}
void uart16550_abi_reset(void* device) {
  uart16550_reset(*static_cast<Uart16550State*>(device));
}

}  // namespace mmiotrace::devices
