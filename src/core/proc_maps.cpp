// Reading /proc/self/maps (see proc_maps.hpp).
#include "core/proc_maps.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <charconv>
#include <string_view>

namespace mmiotrace {
namespace {

std::string read_whole_file(const char* path) {
  std::string content;
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return content;
  char chunk[16384];
  for (;;) {
    ssize_t got = ::read(fd, chunk, sizeof(chunk));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    content.append(chunk, static_cast<size_t>(got));
  }
  ::close(fd);
  return content;
}

bool parse_hex(std::string_view& text, uint64_t& value) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (error != std::errc{}) return false;
  text.remove_prefix(static_cast<size_t>(end - text.data()));
  return true;
}

void skip(std::string_view& text, char c) {
  if (!text.empty() && text.front() == c) text.remove_prefix(1);
}

// "start-end perms offset dev inode   path"
std::optional<MapsEntry> parse_line(std::string_view line) {
  MapsEntry entry;
  uint64_t begin = 0;
  uint64_t end = 0;
  if (!parse_hex(line, begin)) return std::nullopt;
  skip(line, '-');
  if (!parse_hex(line, end)) return std::nullopt;
  skip(line, ' ');
  if (line.size() < 5) return std::nullopt;
  if (line[0] == 'r') entry.protection |= PROT_READ;
  if (line[1] == 'w') entry.protection |= PROT_WRITE;
  if (line[2] == 'x') entry.protection |= PROT_EXEC;
  entry.shared = line[3] == 's';
  line.remove_prefix(5);
  skip(line, ' ');
  if (!parse_hex(line, entry.offset)) return std::nullopt;
  entry.range = {static_cast<uintptr_t>(begin), static_cast<uintptr_t>(end)};
  // Skip device and inode, then spaces up to the path.
  for (int field = 0; field < 2; ++field) {
    skip(line, ' ');
    size_t space = line.find(' ');
    line.remove_prefix(space == std::string_view::npos ? line.size() : space);
  }
  while (!line.empty() && line.front() == ' ')
    line.remove_prefix(1);
  entry.path = std::string(line);
  return entry;
}

}  // namespace

std::vector<MapsEntry> read_own_maps() {
  std::vector<MapsEntry> entries;
  std::string content = read_whole_file("/proc/self/maps");
  std::string_view rest = content;
  while (!rest.empty()) {
    size_t newline = rest.find('\n');
    std::string_view line = rest.substr(0, newline);
    rest.remove_prefix(newline == std::string_view::npos ? rest.size() : newline + 1);
    if (auto entry = parse_line(line)) entries.push_back(std::move(*entry));
  }
  return entries;
}

std::optional<std::vector<int>> page_protections(AddressRange pages) {
  std::vector<int> protections;
  protections.reserve(pages.size() / kPageSize);
  uintptr_t next = pages.begin;
  for (const MapsEntry& entry : read_own_maps()) {
    if (entry.range.end <= next) continue;
    if (entry.range.begin > next) break;  // a hole
    for (; next < entry.range.end && next < pages.end; next += kPageSize) {
      protections.push_back(entry.protection);
    }
    if (next >= pages.end) return protections;
  }
  return std::nullopt;
}

}  // namespace mmiotrace
