// mmiotrace: signal-safe
// Writing events in the kernel's text format (see text_format.hpp).
#include "trace/text_format.hpp"

namespace mmiotrace::trace {
namespace {

uint64_t little_endian(const uint8_t* bytes, unsigned width) {
  uint64_t value = 0;
  for (unsigned i = 0; i < width && i < 8; ++i)
    value |= uint64_t{bytes[i]} << (8 * i);
  return value;
}

// "R %d %u.%06lu %d 0x%llx 0x%lx 0x%lx %d\n"
void format_access_line(char letter, unsigned width, uint64_t time_ns, int map_id, uint64_t phys,
                        uint64_t value, uint64_t pc, int pid, TextSpan& out) {
  AccessLineShared shared(time_ns, map_id, pid);
  char line[kMaxAccessLine];
  char* end = put_access_line(line, letter, width, shared, phys, value, pc);
  out.text(std::string_view(line, static_cast<size_t>(end - line)));
}

}  // namespace

AccessLineShared::AccessLineShared(uint64_t time_ns, int32_t map_id, int32_t pid)
    : middle{}, end{} {
  FixedText<sizeof(middle)> text;
  text.character(' ');
  format_timestamp(time_ns, text);
  text.character(' ').signed_decimal(map_id).text(" 0x");
  std::memcpy(middle, text.view().data(), text.size());
  middle_size = static_cast<uint8_t>(text.size());
  text.clear();
  text.character(' ').signed_decimal(pid).character('\n');
  std::memcpy(end, text.view().data(), text.size());
  end_size = static_cast<uint8_t>(text.size());
}

void format_timestamp(uint64_t time_ns, TextSpan& out) {
  uint64_t microseconds = (time_ns + 500) / 1000;
  out.decimal(microseconds / 1000000).character('.').decimal_padded(microseconds % 1000000, 6);
}

void format_text(const Event& event, TextSpan& out) {
  switch (event.kind) {
    case EventKind::Read:
    case EventKind::Write: {
      char letter = event.kind == EventKind::Read ? 'R' : 'W';
      if (event.width <= 8) {
        format_access_line(letter, event.width, event.time_ns, event.map_id, event.phys,
                           little_endian(event.value, event.width), event.pc, event.pid, out);
        break;
      }
      // Wider than the kernel's machine word: consecutive 8-byte lines, lowest address first,
      // all with the access's time and PC (docs/trace-format.md).
      for (unsigned offset = 0; offset < event.width && offset < kMaxEventWidth; offset += 8) {
        format_access_line(letter, 8, event.time_ns, event.map_id, event.phys + offset,
                           little_endian(event.value + offset, 8), event.pc, event.pid, out);
      }
      break;
    }
    case EventKind::Unknown:
      // "UNKNOWN %u.%06lu %d 0x%llx %02lx,%02lx,%02lx 0x%lx %d\n"
      out.text("UNKNOWN ");
      format_timestamp(event.time_ns, out);
      out.character(' ').signed_decimal(event.map_id).character(' ').hex0x(event.phys);
      out.character(' ').hex(event.insn[0], 2).character(',').hex(event.insn[1], 2);
      out.character(',').hex(event.insn[2], 2).character(' ').hex0x(event.pc).character(' ');
      out.signed_decimal(event.pid).character('\n');
      break;
    case EventKind::Map:
      // "MAP %u.%06lu %d 0x%llx 0x%lx 0x%lx 0x%lx %d\n"
      out.text("MAP ");
      format_timestamp(event.time_ns, out);
      out.character(' ').signed_decimal(event.map_id).character(' ').hex0x(event.phys);
      out.character(' ').hex0x(event.virt).character(' ').hex0x(event.length).character(' ');
      out.hex0x(event.pc).character(' ').signed_decimal(event.pid).character('\n');
      break;
    case EventKind::Unmap:
      // "UNMAP %u.%06lu %d 0x%lx %d\n"
      out.text("UNMAP ");
      format_timestamp(event.time_ns, out);
      out.character(' ').signed_decimal(event.map_id).character(' ').hex0x(event.pc);
      out.character(' ').signed_decimal(event.pid).character('\n');
      break;
    case EventKind::Mark: {
      // "MARK %u.%06lu %s": the text carries its own newline; one is added when it lacks it.
      out.text("MARK ");
      format_timestamp(event.time_ns, out);
      out.character(' ');
      std::string_view text(event.text ? event.text : "", event.text_length);
      size_t room = kMaxFormattedEvent > out.size() + 2 ? kMaxFormattedEvent - out.size() - 2 : 0;
      if (text.size() > room) text = text.substr(0, room);
      out.text(text);
      if (text.empty() || text.back() != '\n') out.character('\n');
      break;
    }
    case EventKind::Lost:
      // "MARK 0.000000 Lost %lu events.\n"
      out.text("MARK 0.000000 Lost ").decimal(event.length).text(" events.\n");
      break;
    case EventKind::Ioctl: {
      // Not a record of the kernel's format: a marker, which every reader passes through.
      // "MARK %u.%06lu ioctl fd %d request 0x%lx arg 0x%lx size %u result %ld before HEX after HEX"
      out.text("MARK ");
      format_timestamp(event.time_ns, out);
      out.text(" ioctl fd ").signed_decimal(event.fd).text(" request ").hex0x(event.request);
      out.text(" arg ").hex0x(event.virt).text(" size ").decimal(event.argument_size);
      out.text(" result ").signed_decimal(event.result);
      for (int side = 0; side < 2; ++side) {
        const uint8_t* bytes = side == 0 ? event.before : event.after;
        out.text(side == 0 ? " before " : " after ");
        if (bytes == nullptr || event.logged_size == 0) {
          out.character('-');
          continue;
        }
        for (uint32_t i = 0; i < event.logged_size && i < kMaxIoctlLogged; ++i)
          out.hex(bytes[i], 2);
      }
      out.character('\n');
      break;
    }
    case EventKind::Segment:
      out.text(kTextVersionLine);
      break;
    case EventKind::Comment:
    case EventKind::PciDevice: {
      // The line as it was made (pci_devices.cpp) or read.
      std::string_view text(event.text ? event.text : "", event.text_length);
      out.text(text);
      if (text.empty() || text.back() != '\n') out.character('\n');
      break;
    }
  }
}

}  // namespace mmiotrace::trace
