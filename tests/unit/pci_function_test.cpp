// Unit tests for virtual PCI functions (devices/pci_function.hpp): addresses, identities, the
// lspci dump parser, the configuration space and its write mask, the shim's attachment lines.
#include "devices/pci_function.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace mmiotrace::devices {
namespace {

// `lspci -xxx -s 00:03.0` of a virtio network device: a 64-bit BAR0 and six capabilities.
const char kVirtioNet[] =
    "00:03.0 Ethernet controller: Red Hat, Inc. Virtio 1.0 network device (rev 01)\n"
    "00: f4 1a 41 10 06 04 10 00 01 00 00 02 00 00 00 00\n"
    "10: 04 00 10 00 40 00 00 00 00 00 00 00 00 00 00 00\n"
    "20: 00 00 00 00 00 00 00 00 00 00 00 00 f4 1a 41 10\n"
    "30: 00 00 00 00 40 00 00 00 00 00 00 00 00 00 00 00\n"
    "40: 09 50 10 01 00 00 00 00 00 00 00 00 38 00 00 00\n"
    "50: 09 60 10 03 00 00 00 00 00 20 00 00 01 00 00 00\n"
    "60: 09 70 10 04 00 00 00 00 00 40 00 00 00 10 00 00\n"
    "70: 09 84 14 02 00 00 00 00 00 60 00 00 00 10 00 00\n"
    "80: 04 00 00 00 09 98 14 05 00 00 00 00 00 00 00 00\n"
    "90: 00 00 00 00 00 00 00 00 11 00 02 80 00 80 00 00\n"
    "a0: 00 80 04 00 00 00 00 00 00 00 00 00 00 00 00 00\n"
    "b0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n"
    "c0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n"
    "d0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n"
    "e0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n"
    "f0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n";

uint32_t read32(const uint8_t* at) {
  uint32_t value;
  memcpy(&value, at, 4);
  return value;
}

TEST(PciFunction, AddressesParseInBothFormsAndPrintAsSysfsNamesThem) {
  std::string error;
  std::optional<PciAddress> short_form = parse_pci_address("03:00.1", &error);
  ASSERT_TRUE(short_form) << error;
  EXPECT_EQ(short_form->text(), "0000:03:00.1");
  EXPECT_EQ(short_form->root_text(), "pci0000:03");
  std::optional<PciAddress> long_form = parse_pci_address("0001:ff:1f.7", &error);
  ASSERT_TRUE(long_form) << error;
  EXPECT_EQ(long_form->text(), "0001:ff:1f.7");
  for (const char* bad : {"", "3:0", "03:00", "03:20.0", "03:00.8", "100:00.0", "0:0:0:0.0",
                          "03.00:0", "g3:00.0", "10000:00:00.0"}) {
    EXPECT_FALSE(parse_pci_address(bad, &error)) << bad;
    EXPECT_NE(error.find("DDDD:BB:DD.F"), std::string::npos) << error;
  }
}

TEST(PciFunction, ADumpParsesToTheBytesLspciPrinted) {
  std::string error;
  std::optional<PciConfigDump> dump = parse_pci_config_dump("net.txt", kVirtioNet, &error);
  ASSERT_TRUE(dump) << error;
  EXPECT_EQ(dump->size, 256u);
  EXPECT_EQ(read32(dump->bytes.data()), 0x10411af4u);
  EXPECT_EQ(dump->bytes[0x98], 0x11);  // MSI-X
}

TEST(PciFunction, AMalformedDumpIsRefusedWithItsLineAndColumn) {
  std::string error;
  EXPECT_FALSE(parse_pci_config_dump("d.txt", "00: f4 1a zz\n", &error));
  EXPECT_EQ(error.rfind("d.txt:1:11: ", 0), 0u) << error;
  EXPECT_FALSE(parse_pci_config_dump("d.txt",
                                     "00: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n"
                                     "20: 00\n",
                                     &error));
  EXPECT_EQ(error.rfind("d.txt:2:1: ", 0), 0u) << error;
  std::string short_dump = std::string(kVirtioNet).substr(0, 200);
  short_dump = short_dump.substr(0, short_dump.rfind('\n') + 1);
  EXPECT_FALSE(parse_pci_config_dump("d.txt", short_dump, &error));
  EXPECT_NE(error.find("64, 256 or 4096"), std::string::npos) << error;
  EXPECT_FALSE(parse_pci_config_dump("d.txt", std::string(kVirtioNet) + kVirtioNet, &error));
  EXPECT_NE(error.find("one device"), std::string::npos) << error;
}

TEST(PciFunction, AFunctionKeepsTheDumpsCapabilitiesAndTakesItsOwnIdentityAndBar) {
  std::string error;
  std::optional<PciConfigDump> dump = parse_pci_config_dump("net.txt", kVirtioNet, &error);
  ASSERT_TRUE(dump);
  PciBar bar = pci_bar_type(&*dump, 0);
  EXPECT_TRUE(bar.is64);
  EXPECT_EQ(bar.address, 0x4000100000u);
  bar.address = 0x8000000000;
  bar.size = 0x80000;
  std::array<PciBar, kPciBars> bars = {};
  bars[0] = bar;
  PciIdentity identity = {0x8086, 0x100e, 0x8086, 0x001e, 0x020000, 3};
  std::optional<PciFunction> function =
      make_pci_function(*parse_pci_address("05:00.0", &error), identity, bars, &*dump, &error);
  ASSERT_TRUE(function) << error;
  const uint8_t* config = function->config.data();
  EXPECT_EQ(read32(config), 0x100e8086u);
  EXPECT_EQ(read32(config + 8), 0x02000003u);
  EXPECT_EQ(read32(config + 0x2c), 0x001e8086u);
  EXPECT_EQ(read32(config + 0x10), 0x00000004u);  // 64-bit, address bits 31:0 zero
  EXPECT_EQ(read32(config + 0x14), 0x80u);
  EXPECT_EQ(0, memcmp(config + 0x40, dump->bytes.data() + 0x40, 0xc0));
  EXPECT_EQ(function->config_size, 256u);
}

TEST(PciFunction, WritingAllOnesToABarReadsBackItsSize) {
  std::array<PciBar, kPciBars> bars = {};
  bars[2] = {0xe0000000, 0x10000, false, false, false};
  std::string error;
  std::optional<PciFunction> function =
      make_pci_function(*parse_pci_address("00:10.0", &error), default_pci_identity("regfile"),
                        bars, nullptr, &error);
  ASSERT_TRUE(function);
  auto config = function->config;
  auto mask = pci_write_mask(config, bars);
  const uint8_t ones[4] = {0xff, 0xff, 0xff, 0xff};
  pci_config_write(config.data(), mask.data(), 0x18, ones, 4);
  EXPECT_EQ(read32(config.data() + 0x18), 0xffff0000u);
  pci_config_write(config.data(), mask.data(), 0x10, ones, 4);
  EXPECT_EQ(read32(config.data() + 0x10), 0u) << "an unimplemented BAR stays 0";
  pci_config_write(config.data(), mask.data(), 0x00, ones, 4);
  EXPECT_EQ(read32(config.data()), 0x00051b36u) << "the identity is read-only";
  const uint8_t address[4] = {0x00, 0x00, 0x00, 0xe0};
  pci_config_write(config.data(), mask.data(), 0x18, address, 4);
  EXPECT_EQ(read32(config.data() + 0x18), 0xe0000000u);
}

TEST(PciFunction, CapabilityHeadersStayPutWhileTheirRegistersChange) {
  std::string error;
  std::optional<PciConfigDump> dump = parse_pci_config_dump("net.txt", kVirtioNet, &error);
  ASSERT_TRUE(dump);
  std::array<PciBar, kPciBars> bars = {};
  auto config = dump->bytes;
  auto mask = pci_write_mask(config, bars);
  const uint8_t bytes[4] = {0xaa, 0xbb, 0x00, 0xc0};
  pci_config_write(config.data(), mask.data(), 0x98, bytes, 4);
  EXPECT_EQ(config[0x98], 0x11);  // MSI-X ID
  EXPECT_EQ(config[0x99], 0x00);  // next
  EXPECT_EQ(config[0x9b], 0xc0);  // message control: enable and mask
}

TEST(PciFunction, ModelsRefuseIdentitiesTheyCannotPresent) {
  PciIdentity identity = default_pci_identity("nvme");
  EXPECT_FALSE(pci_identity_problem("nvme", identity));
  identity.class_code = 0x030000;
  EXPECT_TRUE(pci_identity_problem("nvme", identity));
  EXPECT_FALSE(pci_identity_problem("regfile", identity));
  identity.vendor = 0xffff;
  EXPECT_TRUE(pci_identity_problem("regfile", identity));
  EXPECT_TRUE(pci_identity_problem("uart16550", default_pci_identity("regfile")));
}

TEST(PciFunction, AnAttachmentLineReadsBackAsItWasWritten) {
  PciAttachment attachment;
  std::string error;
  attachment.address = *parse_pci_address("0002:03:04.5", &error);
  attachment.bar = 2;
  attachment.layout = {0x8000000000, 0x200000, false, true, true};
  attachment.driver = "vfio-pci";
  attachment.group = 7;
  attachment.model = "regfile";
  attachment.arguments = "size=2M,image=/tmp/a b.bin";
  std::optional<PciAttachment> back = parse_pci_attachment(format_pci_attachment(attachment));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->address, attachment.address);
  EXPECT_EQ(back->bar, 2u);
  EXPECT_EQ(back->layout.address, 0x8000000000u);
  EXPECT_EQ(back->layout.size, 0x200000u);
  EXPECT_TRUE(back->layout.is64);
  EXPECT_TRUE(back->layout.prefetchable);
  EXPECT_EQ(back->driver, "vfio-pci");
  EXPECT_EQ(back->uio, -1);
  EXPECT_EQ(back->group, 7);
  EXPECT_EQ(back->model, "regfile");
  EXPECT_EQ(back->arguments, "size=2M,image=/tmp/a b.bin");
  EXPECT_FALSE(parse_pci_attachment("nonsense"));
}

}  // namespace
}  // namespace mmiotrace::devices
