// Unit tests for register maps: the CMSIS-SVD, JSON and YAML readers, their one-line errors with
// exact positions, the decoding of accesses into register and field names, and the example maps
// of the nvme model in examples/register-maps/.
#include "analysis/register_map.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include "devices/model_catalog.hpp"

namespace mmiotrace::analysis {
namespace {

// The message of the RegisterMapError `parse` throws, or "no error".
std::string error_of(const std::function<void()>& parse) {
  try {
    parse();
  } catch (const RegisterMapError& error) {
    return error.what();
  }
  return "no error";
}

std::string svd_error(const std::string& text) {
  return error_of([&] { parse_svd(text, "m.svd"); });
}
std::string json_error(const std::string& text) {
  return error_of([&] { parse_json_register_map(text, "m.json"); });
}
std::string yaml_error(const std::string& text) {
  return error_of([&] { parse_yaml_register_map(text, "m.yaml"); });
}

// An SVD device whose <peripherals> hold `peripherals`; the first peripheral line is line 3.
std::string svd_device(const std::string& peripherals, const std::string& device_extra = "") {
  return "<?xml version=\"1.0\"?>\n<device><name>DEV</name>" + device_extra + "<peripherals>\n" +
         peripherals + "</peripherals></device>\n";
}

// One peripheral P at `base` holding `registers`.
std::string svd_peripheral(const std::string& registers, const std::string& base = "0x1000") {
  return "<peripheral><name>P</name><baseAddress>" + base + "</baseAddress>\n<registers>\n" +
         registers + "</registers></peripheral>\n";
}

RegisterMap svd(const std::string& registers) {
  return parse_svd(svd_device(svd_peripheral(registers)), "m.svd");
}

const char* access_name(RegisterAccess access) {
  switch (access) {
    case RegisterAccess::Unspecified:
      return "-";
    case RegisterAccess::ReadWrite:
      return "rw";
    case RegisterAccess::ReadOnly:
      return "ro";
    case RegisterAccess::WriteOnly:
      return "wo";
    case RegisterAccess::WriteOnce:
      return "w1";
    case RegisterAccess::ReadWriteOnce:
      return "rw1";
  }
  return "?";
}

std::string hex(uint64_t value) {
  char text[24];
  snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

// Everything a map holds but descriptions and the source, one line per item, for comparing maps.
std::string dump(const RegisterMap& map, bool with_descriptions = false) {
  std::string out = "device " + map.device() + "\n";
  for (const RegisterBlock& block : map.blocks()) {
    out += "block " + block.name + " base=" + hex(block.base) + " size=" + hex(block.size);
    if (with_descriptions) out += " '" + block.description + "'";
    out += "\n";
    for (const Register& reg : block.registers) {
      out += " reg " + reg.name + " offset=" + hex(reg.offset) +
             " bits=" + std::to_string(reg.size_bits) + " access=" + access_name(reg.access) +
             " reset=" + (reg.reset_value ? hex(*reg.reset_value) : "-");
      if (with_descriptions) out += " '" + reg.description + "'";
      out += "\n";
      for (const Field& field : reg.fields) {
        out += "  field " + field.name + " " + std::to_string(field.bit_offset) + "+" +
               std::to_string(field.bit_width) + " access=" + access_name(field.access);
        if (with_descriptions) out += " '" + field.description + "'";
        out += "\n";
        for (const EnumeratedValue& value : field.values) {
          const char* usage = value.usage == ValueUsage::Read    ? "read"
                              : value.usage == ValueUsage::Write ? "write"
                                                                 : "read-write";
          out += "   value " + value.name + "=" + hex(value.value) +
                 (value.dont_care ? " x=" + hex(value.dont_care) : "") +
                 (value.is_default ? " default" : "") + " " + usage;
          if (with_descriptions) out += " '" + value.description + "'";
          out += "\n";
        }
      }
    }
  }
  return out;
}

// A file in the test's temporary folder, removed at the end of the test.
class TemporaryFile {
 public:
  TemporaryFile(const std::string& name, const std::string& content) {
    const char* tmp = std::getenv("TMPDIR");
    path_ = std::string(tmp != nullptr ? tmp : "/tmp") + "/mmiotrace-regmap-" +
            std::to_string(getpid()) + "-" + name;
    FILE* file = std::fopen(path_.c_str(), "wb");
    EXPECT_NE(file, nullptr);
    if (file != nullptr) {
      std::fwrite(content.data(), 1, content.size(), file);
      std::fclose(file);
    }
  }
  ~TemporaryFile() { std::remove(path_.c_str()); }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// --- CMSIS-SVD ----------------------------------------------------------------------------------

TEST(RegisterMapSvd, ReadsPeripheralsRegistersAndFieldsInEachBitForm) {
  RegisterMap map = parse_svd(R"(<?xml version="1.0" encoding="utf-8"?>
<device schemaVersion="1.3">
  <vendor>Acme</vendor>
  <name>CHIP</name>
  <cpu><name>CM4</name></cpu>
  <peripherals>
    <peripheral>
      <name>UART0</name>
      <description>A serial
        port</description>
      <groupName>UART</groupName>
      <baseAddress>0x40001000</baseAddress>
      <addressBlock><offset>0</offset><size>0x400</size><usage>registers</usage></addressBlock>
      <interrupt><name>UART0</name><value>5</value></interrupt>
      <registers>
        <register>
          <name>CR</name>
          <description>Control</description>
          <addressOffset>0x4</addressOffset>
          <size>32</size>
          <access>read-write</access>
          <resetValue>0x00000010</resetValue>
          <resetMask>0xFFFFFFFF</resetMask>
          <fields>
            <field><name>EN</name><description>Enable</description>
              <bitOffset>0</bitOffset><bitWidth>1</bitWidth></field>
            <field><name>MODE</name><bitRange>[7:4]</bitRange><access>read-only</access></field>
            <field><name>DIV</name><lsb>8</lsb><msb>23</msb></field>
          </fields>
        </register>
        <register><name>DR</name><addressOffset>8</addressOffset><size>8</size></register>
      </registers>
    </peripheral>
  </peripherals>
  <vendorExtensions><anything><name>ignored</name></anything></vendorExtensions>
</device>
)",
                              "chip.svd");
  EXPECT_EQ(map.source(), "chip.svd");
  EXPECT_EQ(dump(map, true),
            "device CHIP\n"
            "block UART0 base=0x40001000 size=0x400 'A serial port'\n"
            " reg CR offset=0x4 bits=32 access=rw reset=0x10 'Control'\n"
            "  field EN 0+1 access=rw 'Enable'\n"
            "  field MODE 4+4 access=ro ''\n"
            "  field DIV 8+16 access=rw ''\n"
            " reg DR offset=0x8 bits=8 access=- reset=- ''\n");
}

TEST(RegisterMapSvd, RegistersInheritSizeAccessAndResetFromDeviceAndPeripheral) {
  RegisterMap map = parse_svd(
      svd_device("<peripheral><name>A</name><baseAddress>0</baseAddress><registers>"
                 "<register><name>R</name><addressOffset>0</addressOffset></register>"
                 "<register><name>W</name><addressOffset>2</addressOffset>"
                 "<access>write-only</access><resetValue>0x1234</resetValue></register>"
                 "</registers></peripheral>\n"
                 "<peripheral><name>B</name><baseAddress>0x100</baseAddress><size>8</size>"
                 "<access>read-writeOnce</access><registers>"
                 "<register><name>R</name><addressOffset>0</addressOffset>"
                 "<fields><field><name>F</name><bitRange>[7:0]</bitRange>"
                 "<access>writeOnce</access></field>"
                 "<field><name>G</name><bitRange>[3:0]</bitRange></field></fields></register>"
                 "<register><name>Q</name><addressOffset>1</addressOffset><size>64</size>"
                 "</register>"
                 "</registers></peripheral>\n",
                 "<size>16</size><access>read-only</access><resetValue>0xABCDEF</resetValue>"),
      "m.svd");
  // The device's reset value is cut to each register's size.
  EXPECT_EQ(dump(map),
            "device DEV\n"
            "block A base=0x0 size=0x0\n"
            " reg R offset=0x0 bits=16 access=ro reset=0xcdef\n"
            " reg W offset=0x2 bits=16 access=wo reset=0x1234\n"
            "block B base=0x100 size=0x0\n"
            " reg R offset=0x0 bits=8 access=rw1 reset=0xef\n"
            "  field F 0+8 access=w1\n"
            "  field G 0+4 access=rw1\n"
            " reg Q offset=0x1 bits=64 access=rw1 reset=0xabcdef\n");
}

TEST(RegisterMapSvd, BlockSizeIsTheEndOfTheFurthestAddressBlock) {
  RegisterMap map = parse_svd(
      svd_device("<peripheral><name>P</name><baseAddress>0x2000</baseAddress>"
                 "<addressBlock><offset>0x200</offset><size>0x100</size></addressBlock>"
                 "<addressBlock><offset>0</offset><size>0x100</size></addressBlock>"
                 "<registers><register><name>R</name><addressOffset>0</addressOffset></register>"
                 "</registers></peripheral>\n"),
      "m.svd");
  ASSERT_EQ(map.blocks().size(), 1u);
  EXPECT_EQ(map.blocks()[0].size, 0x300u);
  // Inside the address blocks but no register: the block and the offset.
  EXPECT_EQ(map.describe(0x22fc, 4, 0), "P+0x2fc");
  EXPECT_EQ(map.describe(0x2300, 4, 0), "");
}

TEST(RegisterMapSvd, NumbersAreDecimalHexadecimalOrBinary) {
  RegisterMap map =
      svd("<register><name>A</name><addressOffset>+16</addressOffset>"
          "<resetValue>#1010</resetValue></register>"
          "<register><name>B</name><addressOffset>0X1C</addressOffset>"
          "<resetValue>0b11</resetValue></register>"
          "<register><name>C</name><addressOffset> 32\n</addressOffset>"
          "<resetValue>0xffffffff</resetValue></register>");
  EXPECT_EQ(dump(map),
            "device DEV\n"
            "block P base=0x1000 size=0x0\n"
            " reg A offset=0x10 bits=32 access=- reset=0xa\n"
            " reg B offset=0x1c bits=32 access=- reset=0x3\n"
            " reg C offset=0x20 bits=32 access=- reset=0xffffffff\n");
}

TEST(RegisterMapSvd, EnumeratedValuesKeepUsageDefaultsAndDontCareBits) {
  RegisterMap map = svd(R"(<register><name>CR</name><addressOffset>0</addressOffset><fields>
<field><name>MODE</name><bitOffset>0</bitOffset><bitWidth>3</bitWidth>
  <enumeratedValues><name>ModeRead</name><usage>read</usage>
    <enumeratedValue><name>IDLE</name><description>Idle</description>
      <value>0</value></enumeratedValue>
    <enumeratedValue><name>SOME</name><value>#1x0</value></enumeratedValue>
    <enumeratedValue><name>OTHER</name><isDefault>true</isDefault></enumeratedValue>
  </enumeratedValues>
  <enumeratedValues><usage>write</usage>
    <enumeratedValue><name>START</name><value>0b001</value></enumeratedValue>
    <enumeratedValue><name>STOP</name><value>2</value></enumeratedValue>
  </enumeratedValues>
</field>
<field><name>EN</name><bitOffset>3</bitOffset><bitWidth>1</bitWidth>
  <enumeratedValues>
    <enumeratedValue><name>OFF</name><value>0</value></enumeratedValue>
    <enumeratedValue><name>ON</name><value>1</value><isDefault>false</isDefault></enumeratedValue>
  </enumeratedValues>
</field>
</fields></register>
)");
  EXPECT_EQ(dump(map, true),
            "device DEV\n"
            "block P base=0x1000 size=0x0 ''\n"
            " reg CR offset=0x0 bits=32 access=- reset=- ''\n"
            "  field MODE 0+3 access=- ''\n"
            "   value IDLE=0x0 read 'Idle'\n"
            "   value SOME=0x4 x=0x2 read ''\n"
            "   value OTHER=0x0 default read ''\n"
            "   value START=0x1 write ''\n"
            "   value STOP=0x2 write ''\n"
            "  field EN 3+1 access=- ''\n"
            "   value OFF=0x0 read-write ''\n"
            "   value ON=0x1 read-write ''\n");
  // Reads name read values (and the default), writes name write values.
  EXPECT_EQ(map.describe(0x1000, 4, 0x0, AccessDirection::Read), "P.CR MODE=IDLE EN=OFF");
  EXPECT_EQ(map.describe(0x1000, 4, 0x4, AccessDirection::Read), "P.CR MODE=SOME EN=OFF");
  EXPECT_EQ(map.describe(0x1000, 4, 0x6, AccessDirection::Read), "P.CR MODE=SOME EN=OFF");
  EXPECT_EQ(map.describe(0x1000, 4, 0xf, AccessDirection::Read), "P.CR MODE=OTHER EN=ON");
  EXPECT_EQ(map.describe(0x1000, 4, 0x1, AccessDirection::Read), "P.CR MODE=OTHER EN=OFF");
  EXPECT_EQ(map.describe(0x1000, 4, 0x1, AccessDirection::Write), "P.CR MODE=START EN=OFF");
  EXPECT_EQ(map.describe(0x1000, 4, 0x2, AccessDirection::Write), "P.CR MODE=STOP EN=OFF");
  EXPECT_EQ(map.describe(0x1000, 4, 0x4, AccessDirection::Write), "P.CR MODE=0x4 EN=OFF");
  // Direction unknown: the first entry in the map's order that matches, else the default.
  EXPECT_EQ(map.describe(0x1000, 4, 0x2), "P.CR MODE=STOP EN=OFF");
  EXPECT_EQ(map.describe(0x1000, 4, 0x3), "P.CR MODE=OTHER EN=OFF");
  EXPECT_EQ(map.describe(0x1000, 4, 0x1), "P.CR MODE=START EN=OFF");
}

TEST(RegisterMapSvd, DerivedFromCopiesPeripheralsRegistersFieldsAndValues) {
  RegisterMap map =
      parse_svd(svd_device(R"(<peripheral><name>T0</name><description>Timer</description>
<baseAddress>0x100</baseAddress>
<addressBlock><offset>0</offset><size>0x20</size></addressBlock>
<registers>
  <register><name>CTRL</name><addressOffset>0</addressOffset><size>16</size><fields>
    <field><name>EN</name><bitRange>[0:0]</bitRange>
      <enumeratedValues><name>OnOff</name>
        <enumeratedValue><name>OFF</name><value>0</value></enumeratedValue>
        <enumeratedValue><name>ON</name><value>1</value></enumeratedValue>
      </enumeratedValues></field>
    <field derivedFrom="EN"><name>EN2</name><bitRange>[1:1]</bitRange></field>
    <field><name>RUN</name><bitRange>[2:2]</bitRange>
      <enumeratedValues derivedFrom="T0.CTRL.EN.OnOff"></enumeratedValues></field>
  </fields></register>
  <register derivedFrom="CTRL"><name>CTRL2</name><addressOffset>4</addressOffset></register>
</registers></peripheral>
<peripheral derivedFrom="T0"><name>T1</name><baseAddress>0x200</baseAddress></peripheral>
<peripheral><name>T2</name><baseAddress>0x300</baseAddress><registers>
  <register derivedFrom="T0.CTRL"><name>C</name><addressOffset>8</addressOffset>
    <size>32</size></register>
</registers></peripheral>
)"),
                "m.svd");
  std::string t0_registers =
      " reg CTRL offset=0x0 bits=16 access=- reset=-\n"
      "  field EN 0+1 access=-\n"
      "   value OFF=0x0 read-write\n"
      "   value ON=0x1 read-write\n"
      "  field EN2 1+1 access=-\n"
      "   value OFF=0x0 read-write\n"
      "   value ON=0x1 read-write\n"
      "  field RUN 2+1 access=-\n"
      "   value OFF=0x0 read-write\n"
      "   value ON=0x1 read-write\n";
  std::string ctrl2 = t0_registers;
  ctrl2.replace(ctrl2.find("CTRL offset=0x0"), 15, "CTRL2 offset=0x4");
  EXPECT_EQ(dump(map),
            "device DEV\n"
            "block T0 base=0x100 size=0x20\n" +
                t0_registers + ctrl2 + "block T1 base=0x200 size=0x20\n" + t0_registers + ctrl2 +
                "block T2 base=0x300 size=0x0\n"
                " reg C offset=0x8 bits=32 access=- reset=-\n" +
                t0_registers.substr(t0_registers.find("  field")));
  EXPECT_EQ(map.blocks()[1].description, "Timer");
  EXPECT_EQ(map.describe(0x200, 2, 0x5), "T1.CTRL EN=ON EN2=OFF RUN=ON");
}

TEST(RegisterMapSvd, DimArraysNameTheirElementsByIndex) {
  RegisterMap map = svd(R"(
<register><name>DATA%s</name><addressOffset>0x10</addressOffset><dim>3</dim>
  <dimIncrement>4</dimIncrement></register>
<register><name>PIN_%s</name><addressOffset>0x20</addressOffset><size>8</size><dim>2</dim>
  <dimIncrement>1</dimIncrement><dimIndex>A-B</dimIndex></register>
<register><name>MODE_%s</name><addressOffset>0x30</addressOffset><size>8</size><dim>2</dim>
  <dimIncrement>2</dimIncrement><dimIndex>rx, tx</dimIndex></register>
<register><name>BUF[%s]</name><addressOffset>0x40</addressOffset><size>16</size><dim>2</dim>
  <dimIncrement>2</dimIncrement><dimIndex>6-7</dimIndex>
  <fields><field><name>B%s</name><bitOffset>0</bitOffset><bitWidth>4</bitWidth><dim>4</dim>
    <dimIncrement>4</dimIncrement></field></fields>
</register>
)");
  EXPECT_EQ(dump(map),
            "device DEV\n"
            "block P base=0x1000 size=0x0\n"
            " reg DATA0 offset=0x10 bits=32 access=- reset=-\n"
            " reg DATA1 offset=0x14 bits=32 access=- reset=-\n"
            " reg DATA2 offset=0x18 bits=32 access=- reset=-\n"
            " reg PIN_A offset=0x20 bits=8 access=- reset=-\n"
            " reg PIN_B offset=0x21 bits=8 access=- reset=-\n"
            " reg MODE_rx offset=0x30 bits=8 access=- reset=-\n"
            " reg MODE_tx offset=0x32 bits=8 access=- reset=-\n"
            " reg BUF[6] offset=0x40 bits=16 access=- reset=-\n"
            "  field B0 0+4 access=-\n"
            "  field B1 4+4 access=-\n"
            "  field B2 8+4 access=-\n"
            "  field B3 12+4 access=-\n"
            " reg BUF[7] offset=0x42 bits=16 access=- reset=-\n"
            "  field B0 0+4 access=-\n"
            "  field B1 4+4 access=-\n"
            "  field B2 8+4 access=-\n"
            "  field B3 12+4 access=-\n");
  EXPECT_EQ(map.describe(0x1042, 2, 0x4321), "P.BUF[7] B0=0x1 B1=0x2 B2=0x3 B3=0x4");
}

TEST(RegisterMapSvd, ClustersPrefixTheirRegistersAndNest) {
  RegisterMap map = svd(R"(
<cluster><name>CH%s</name><addressOffset>0x100</addressOffset><dim>2</dim>
  <dimIncrement>0x20</dimIncrement>
  <size>16</size>
  <register><name>CCR</name><addressOffset>0</addressOffset></register>
  <cluster><name>SUB</name><addressOffset>0x10</addressOffset>
    <register><name>X</name><addressOffset>2</addressOffset><size>8</size></register>
  </cluster>
</cluster>
<register><name>AFTER</name><addressOffset>0x200</addressOffset></register>
)");
  EXPECT_EQ(dump(map),
            "device DEV\n"
            "block P base=0x1000 size=0x0\n"
            " reg CH0.CCR offset=0x100 bits=16 access=- reset=-\n"
            " reg CH0.SUB.X offset=0x112 bits=8 access=- reset=-\n"
            " reg CH1.CCR offset=0x120 bits=16 access=- reset=-\n"
            " reg CH1.SUB.X offset=0x132 bits=8 access=- reset=-\n"
            " reg AFTER offset=0x200 bits=32 access=- reset=-\n");
  EXPECT_EQ(map.describe(0x1132, 1, 7), "P.CH1.SUB.X");
}

TEST(RegisterMapSvd, PeripheralArraysRepeatTheBlock) {
  RegisterMap map = parse_svd(
      svd_device("<peripheral><name>GPIO%s</name><baseAddress>0x4000</baseAddress>"
                 "<dim>3</dim><dimIncrement>0x400</dimIncrement><dimIndex>A,B,C</dimIndex>"
                 "<registers><register><name>ODR</name><addressOffset>0x14</addressOffset>"
                 "</register></registers></peripheral>\n"),
      "m.svd");
  EXPECT_EQ(dump(map),
            "device DEV\n"
            "block GPIOA base=0x4000 size=0x0\n"
            " reg ODR offset=0x14 bits=32 access=- reset=-\n"
            "block GPIOB base=0x4400 size=0x0\n"
            " reg ODR offset=0x14 bits=32 access=- reset=-\n"
            "block GPIOC base=0x4800 size=0x0\n"
            " reg ODR offset=0x14 bits=32 access=- reset=-\n");
}

TEST(RegisterMapSvd, OverlappingFieldsAreKeptAndAllDecoded) {
  RegisterMap map =
      svd("<register><name>R</name><addressOffset>0</addressOffset><fields>"
          "<field><name>ALL</name><bitRange>[7:0]</bitRange></field>"
          "<field><name>LOW</name><bitRange>[3:0]</bitRange></field>"
          "</fields></register>");
  EXPECT_EQ(map.describe(0x1000, 4, 0xa5), "P.R ALL=0xa5 LOW=0x5");
}

TEST(RegisterMapSvd, FileWithoutPeripheralsIsAnEmptyMap) {
  RegisterMap map = parse_svd("<device><name>EMPTY</name></device>", "m.svd");
  EXPECT_EQ(map.device(), "EMPTY");
  EXPECT_TRUE(map.blocks().empty());
  EXPECT_EQ(map.describe(0, 4, 0), "");
  EXPECT_EQ(map.lowest_base(), 0u);
}

// --- SVD errors ---------------------------------------------------------------------------------

TEST(RegisterMapSvdErrors, MalformedXmlIsRefusedWithItsPosition) {
  EXPECT_EQ(svd_error("<device>\n  <name>X</nam>\n</device>"),
            "m.svd:2:12: not well-formed XML: mismatched tag");
  EXPECT_EQ(svd_error(""), "m.svd:1:1: not well-formed XML: no element found");
  EXPECT_EQ(svd_error("<device>\n<name>&bogus;</name></device>"),
            "m.svd:2:7: not well-formed XML: undefined entity");
  EXPECT_EQ(svd_error("<device></device>\n<device/>"),
            "m.svd:2:1: not well-formed XML: junk after document element");
}

TEST(RegisterMapSvdErrors, RootMustBeDevice) {
  EXPECT_EQ(svd_error("<?xml version=\"1.0\"?>\n  <chip/>"),
            "m.svd:2:3: not a CMSIS-SVD file: the root element is <chip>, not <device>");
}

TEST(RegisterMapSvdErrors, MissingElementsNameTheirParent) {
  // The peripheral starts on line 3, column 1.
  EXPECT_EQ(svd_error(svd_device("<peripheral><name>P</name></peripheral>\n")),
            "m.svd:3:1: <peripheral> 'P' has no <baseAddress>");
  EXPECT_EQ(svd_error(svd_device(svd_peripheral("  <register><name>R</name></register>\n"))),
            "m.svd:5:3: <register> 'R' has no <addressOffset>");
  EXPECT_EQ(svd_error(svd_device(
                svd_peripheral("<register><addressOffset>0</addressOffset></register>\n"))),
            "m.svd:5:1: <register> has no <name>");
}

TEST(RegisterMapSvdErrors, BadNumbersAreRefusedAtTheirElement) {
  EXPECT_EQ(svd_error(svd_device(svd_peripheral("", "0x10G0"))),
            "m.svd:3:27: <baseAddress> '0x10G0' is not a number (decimal, 0x hexadecimal or "
            "#binary, below 2^64)");
  EXPECT_EQ(svd_error(svd_device(svd_peripheral("", "18446744073709551616"))),
            "m.svd:3:27: <baseAddress> '18446744073709551616' is not a number (decimal, 0x "
            "hexadecimal or #binary, below 2^64)");
  EXPECT_EQ(svd_error(svd_device(svd_peripheral("", "4k"))),
            "m.svd:3:27: <baseAddress> '4k': scaled numbers (k, M, G, T) are not supported");
  EXPECT_EQ(svd_error(svd_device(svd_peripheral(
                "<register><name>R</name><addressOffset>-4</addressOffset></register>\n"))),
            "m.svd:5:25: <addressOffset> '-4' is not a number (decimal, 0x hexadecimal or "
            "#binary, below 2^64)");
}

TEST(RegisterMapSvdErrors, UnsupportedSizesAndUnitsAreRefused) {
  EXPECT_EQ(svd_error(svd_device(svd_peripheral(
                "<register><name>R</name><addressOffset>0</addressOffset><size>12</size>"
                "</register>\n"))),
            "m.svd:5:57: register size 12 is not supported (8 to 64 bits, a multiple of 8)");
  EXPECT_EQ(svd_error(svd_device("", "<addressUnitBits>16</addressUnitBits>")),
            "m.svd:2:25: addressUnitBits other than 8 are not supported");
  EXPECT_EQ(
      svd_error(svd_device(svd_peripheral("<register><name>R</name><addressOffset>0</addressOffset>"
                                          "<access>rw</access></register>\n"))),
      "m.svd:5:57: 'rw' is not an access (read-only, write-only, read-write, writeOnce, "
      "read-writeOnce)");
}

TEST(RegisterMapSvdErrors, FieldsMustFitTheirRegister) {
  EXPECT_EQ(svd_error(svd_device(svd_peripheral(
                "<register><name>R</name><addressOffset>0</addressOffset><size>16</size>\n"
                "<fields>\n"
                "  <field><name>F</name><bitOffset>12</bitOffset><bitWidth>8</bitWidth></field>\n"
                "</fields></register>\n"))),
            "m.svd:7:3: field 'F' (bits 19:12) does not fit in the 16-bit register 'R'");
  EXPECT_EQ(svd_error(svd_device(svd_peripheral(
                "<register><name>R</name><addressOffset>0</addressOffset><fields>\n"
                "<field><name>F</name><bitOffset>0</bitOffset><bitWidth>0</bitWidth></field>\n"
                "</fields></register>\n"))),
            "m.svd:6:1: field bits 0 and width 0 do not make a field of 1 to 64 bits");
  EXPECT_EQ(svd_error(svd_device(
                svd_peripheral("<register><name>R</name><addressOffset>0</addressOffset><fields>\n"
                               "<field><name>F</name><bitRange>[3:4]</bitRange></field>\n"
                               "</fields></register>\n"))),
            "m.svd:6:22: bitRange '[3:4]' is not [MSB:LSB]");
  EXPECT_EQ(svd_error(svd_device(
                svd_peripheral("<register><name>R</name><addressOffset>0</addressOffset><fields>\n"
                               "<field><name>F</name><lsb>5</lsb><msb>4</msb></field>\n"
                               "</fields></register>\n"))),
            "m.svd:6:34: msb 4 is below lsb 5");
  EXPECT_EQ(svd_error(svd_device(svd_peripheral(
                "<register><name>R</name><addressOffset>0</addressOffset><fields>\n"
                "<field><name>F</name><lsb>4</lsb><msb>5</msb><bitRange>[5:3]</bitRange></field>\n"
                "</fields></register>\n"))),
            "m.svd:6:46: <bitRange> disagrees with the field's other bit position");
  EXPECT_EQ(svd_error(svd_device(
                svd_peripheral("<register><name>R</name><addressOffset>0</addressOffset><fields>\n"
                               "<field><name>F</name></field>\n"
                               "</fields></register>\n"))),
            "m.svd:6:1: field 'F' has no bit position (bitOffset and bitWidth, lsb and msb, or "
            "bitRange)");
}

TEST(RegisterMapSvdErrors, EnumeratedValuesAreChecked) {
  auto field = [](const std::string& values) {
    return svd_device(
        svd_peripheral("<register><name>R</name><addressOffset>0</addressOffset><fields>\n"
                       "<field><name>F</name><bitRange>[1:0]</bitRange>\n" +
                       values + "</field></fields></register>\n"));
  };
  EXPECT_EQ(svd_error(field("<enumeratedValues><enumeratedValue><name>BIG</name>"
                            "<value>4</value></enumeratedValue></enumeratedValues>\n")),
            "m.svd:7:52: value '4' of 'BIG' does not fit in the 2-bit field");
  EXPECT_EQ(svd_error(field("<enumeratedValues><enumeratedValue><name>B</name>"
                            "<value>#1x2</value></enumeratedValue></enumeratedValues>\n")),
            "m.svd:7:50: '#1x2' is not a binary value (0, 1, or x for either)");
  EXPECT_EQ(svd_error(field("<enumeratedValues><usage>sometimes</usage></enumeratedValues>\n")),
            "m.svd:7:19: usage 'sometimes' is not read, write or read-write");
  EXPECT_EQ(svd_error(field("<enumeratedValues><enumeratedValue><name>D</name>"
                            "<isDefault>yes</isDefault></enumeratedValue></enumeratedValues>\n")),
            "m.svd:7:50: isDefault 'yes' is not true or false");
  EXPECT_EQ(svd_error(field("<enumeratedValues><enumeratedValue><name>V</name>"
                            "</enumeratedValue></enumeratedValues>\n")),
            "m.svd:7:19: <enumeratedValue> 'V' has no <value>");
  EXPECT_EQ(svd_error(field("<enumeratedValues/><enumeratedValues/>\n<enumeratedValues/>\n")),
            "m.svd:8:1: a field has at most two <enumeratedValues> (read and write)");
}

TEST(RegisterMapSvdErrors, NamesMustStandInATraceLine) {
  EXPECT_EQ(svd_error(svd_device(svd_peripheral(
                "<register><name>A B</name><addressOffset>0</addressOffset></register>\n"))),
            "m.svd:5:11: 'A B' is not a name (no spaces, control characters, ';' or '=')");
  EXPECT_EQ(svd_error(svd_device(svd_peripheral(
                "<register><name>R%s</name><addressOffset>0</addressOffset><dim>2</dim>"
                "<dimIncrement>4</dimIncrement><dimIndex>a;,b</dimIndex></register>\n"))),
            "m.svd:5:1: 'Ra;' is not a name (no spaces, control characters, ';' or '=')");
}

TEST(RegisterMapSvdErrors, ElementsThatMayAppearOnceAreRefusedTwice) {
  EXPECT_EQ(svd_error(svd_device(
                svd_peripheral("<register><name>R</name>\n  <name>S</name></register>\n"))),
            "m.svd:6:3: <name> appears twice in <register>");
}

TEST(RegisterMapSvdErrors, DimMustBeUsable) {
  auto reg = [](const std::string& inside) {
    return svd_device(svd_peripheral("<register><name>R%s</name><addressOffset>0</addressOffset>" +
                                     inside + "</register>\n"));
  };
  EXPECT_EQ(svd_error(reg("<dim>0</dim><dimIncrement>4</dimIncrement>")),
            "m.svd:5:59: dim 0 is not from 1 to 65536");
  EXPECT_EQ(svd_error(reg("<dim>65537</dim><dimIncrement>4</dimIncrement>")),
            "m.svd:5:59: dim 65537 is not from 1 to 65536");
  EXPECT_EQ(svd_error(reg("<dim>2</dim>")), "m.svd:5:1: <register> 'R%s' has no <dimIncrement>");
  EXPECT_EQ(svd_error(reg("")), "m.svd:5:1: 'R%s' has %s but no <dim>");
  EXPECT_EQ(svd_error(reg("<dim>3</dim><dimIncrement>4</dimIncrement><dimIndex>0-1</dimIndex>")),
            "m.svd:5:101: dimIndex names 2 elements, dim is 3");
  EXPECT_EQ(svd_error(reg("<dim>2</dim><dimIncrement>4</dimIncrement><dimIndex>a,</dimIndex>")),
            "m.svd:5:101: dimIndex 'a,' has an empty element");
  EXPECT_EQ(svd_error(reg("<dim>2</dim><dimIncrement>4</dimIncrement><dimIndex>A-9</dimIndex>")),
            "m.svd:5:101: dimIndex 'A-9' is not a range (0-7, A-D) or a list (a,b,c)");
  EXPECT_EQ(svd_error(svd_device(svd_peripheral(
                "<register><name>R</name><addressOffset>0</addressOffset><dim>2</dim>"
                "<dimIncrement>4</dimIncrement></register>\n"))),
            "m.svd:5:57: 'R' has a <dim> but no %s to put the index in");
}

TEST(RegisterMapSvdErrors, DerivedFromMustNameAnElementAndNotLoop) {
  EXPECT_EQ(svd_error(svd_device("<peripheral derivedFrom=\"NOPE\"><name>P</name>"
                                 "<baseAddress>0</baseAddress></peripheral>\n")),
            "m.svd:3:1: derivedFrom 'NOPE': no <peripheral> of that name to derive from");
  EXPECT_EQ(svd_error(svd_device("<peripheral derivedFrom=\"B\"><name>A</name></peripheral>\n"
                                 "<peripheral derivedFrom=\"A\"><name>B</name></peripheral>\n")),
            "m.svd:3:1: derivedFrom 'B' leads back to this element");
  EXPECT_EQ(svd_error(svd_device(svd_peripheral(
                "<register><name>R</name><addressOffset>0</addressOffset></register>\n"
                "<register derivedFrom=\"P.Q\"><name>S</name></register>\n"))),
            "m.svd:6:1: derivedFrom 'P.Q': no <register> of that name to derive from");
}

TEST(RegisterMapSvdErrors, ClusterDerivedFromItsOwnAncestorIsRefused) {
  // Each copy of B holds another B: without a limit the clusters would nest for ever.
  std::string error = svd_error(svd_device(svd_peripheral(
      "<cluster><name>A</name><addressOffset>0</addressOffset>\n"
      "  <cluster derivedFrom=\"P.A\"><name>B</name><addressOffset>4</addressOffset></cluster>\n"
      "</cluster>\n")));
  EXPECT_EQ(error, "m.svd:6:3: clusters nested deeper than 64 levels");
}

TEST(RegisterMapSvdErrors, ClustersThatDoubleAtEveryLevelAreRefused) {
  // C1 holds two copies of C0, C2 two of C1...: 2^30 clusters, none with a register.
  std::string clusters = "<cluster><name>C0</name><addressOffset>0</addressOffset></cluster>\n";
  for (int i = 1; i <= 30; i++) {
    std::string base = "P.C" + std::to_string(i - 1);
    clusters += "<cluster><name>C" + std::to_string(i) + "</name><addressOffset>0</addressOffset>" +
                "<cluster derivedFrom=\"" + base + "\"><name>A</name></cluster>" +
                "<cluster derivedFrom=\"" + base + "\"><name>B</name></cluster></cluster>\n";
  }
  std::string error = svd_error(svd_device(svd_peripheral(clusters)));
  EXPECT_EQ(error.substr(0, 6), "m.svd:");
  EXPECT_NE(error.find(": more than 131072 clusters"), std::string::npos) << error;
}

TEST(RegisterMapSvdErrors, TooManyRegistersFieldsOrValuesAreRefused) {
  // 65536 x 65536 registers.
  EXPECT_EQ(svd_error(svd_device(svd_peripheral(
                "<cluster><name>C%s</name><addressOffset>0</addressOffset><dim>65536</dim>"
                "<dimIncrement>0</dimIncrement>\n"
                "<register><name>R%s</name><addressOffset>0</addressOffset><dim>65536</dim>"
                "<dimIncrement>0</dimIncrement></register></cluster>\n"))),
            "m.svd:6:1: more than 131072 registers");
  // 65536 registers of 65536 one-bit fields each.
  std::string error = svd_error(svd_device(svd_peripheral(
      "<register><name>R%s</name><addressOffset>0</addressOffset><dim>65536</dim>"
      "<dimIncrement>0</dimIncrement><fields>\n"
      "<field><name>F%s</name><bitOffset>0</bitOffset><bitWidth>1</bitWidth><dim>65536</dim>"
      "<dimIncrement>0</dimIncrement></field></fields></register>\n")));
  EXPECT_EQ(error, "m.svd:5:1: more than 1048576 fields and values");
}

TEST(RegisterMapSvdErrors, ElementsNestedTooDeeplyAreRefused) {
  std::string clusters;
  for (int i = 0; i < 70; i++)
    clusters += "<cluster>";
  // device, peripherals, peripheral, registers and 60 clusters make 64 levels.
  EXPECT_EQ(svd_error("<device>\n<peripherals><peripheral><registers>" + clusters),
            "m.svd:2:577: elements nested deeper than 64 levels");
}

TEST(RegisterMapSvdErrors, AddressesPastTheTopAreRefused) {
  EXPECT_EQ(svd_error(svd_device(svd_peripheral(
                "<register><name>R</name><addressOffset>0xfffffffffffffffe</addressOffset>"
                "</register>\n",
                "0"))),
            "m.svd:5:1: the register passes the top of the 64-bit address space");
  EXPECT_EQ(svd_error(svd_device(svd_peripheral(
                "<register><name>R</name><addressOffset>0xfffffffffffffff0</addressOffset>"
                "</register>\n",
                "0x100"))),
            "m.svd:3:1: register 'R' passes the top of the 64-bit address space");
}

TEST(RegisterMapSvdErrors, MessagesAreOneLine) {
  std::string error = svd_error(svd_device(svd_peripheral(
      "<register><name>R\n\tX</name><addressOffset>0</addressOffset></register>\n")));
  EXPECT_EQ(error, "m.svd:5:11: 'R??X' is not a name (no spaces, control characters, ';' or '=')");
  EXPECT_EQ(error_of([] { parse_svd("<chip/>", "a\nb.svd"); }),
            "a b.svd:1:1: not a CMSIS-SVD file: the root element is <chip>, not <device>");
}

// --- JSON and YAML ------------------------------------------------------------------------------

constexpr const char* kJsonMap = R"({
  "device": "UART16550",
  "description": "A serial port",
  "blocks": [
    {
      "name": "UART",
      "base": "0x3f8",
      "size": 8,
      "description": "COM1",
      "registers": [
        {"name": "RBR", "offset": 0, "size": 8, "access": "ro", "description": "Receive"},
        {"name": "LCR", "offset": "3", "size": 8, "access": "read-write", "reset": "0b11",
         "fields": [
           {"name": "WLS", "bits": "1:0",
            "values": {"BITS5": 0, "BITS6": 1, "BITS7": 2, "BITS8": 3}},
           {"name": "STB", "bits": 2, "access": "rw"},
           {"name": "PEN", "bits": "3", "description": "Parity enable",
            "values": [{"name": "OFF", "value": 0, "description": "No parity"},
                       {"name": "ON", "value": "0x1"}]},
           {"name": "DLAB", "bits": "7:7", "access": "w1"}
         ]},
        {"name": "SCR", "offset": 7, "size": 8, "access": "rw1"},
        {"name": "WIDE", "offset": 16, "access": "wo", "reset": 4294967295}
      ]
    },
    {"name": "EMPTY", "base": 4096, "registers": []}
  ]
})";

constexpr const char* kYamlMap = R"(# The same map as kJsonMap.
device: UART16550
description: A serial port
blocks:
  - name: UART
    base: 0x3f8
    size: 8
    description: COM1
    registers:
      - {name: RBR, offset: 0, size: 8, access: ro, description: Receive}
      - name: LCR
        offset: 3
        size: 8
        access: read-write
        reset: 0b11
        fields:
          - name: WLS
            bits: 1:0
            values: {BITS5: 0, BITS6: 1, BITS7: 2, BITS8: 3}
          - {name: STB, bits: 2, access: rw}
          - name: PEN
            bits: "3"
            description: Parity enable
            values:
              - {name: OFF, value: 0, description: No parity}
              - name: ON
                value: 0x1
          - {name: DLAB, bits: "7:7", access: w1}
      - name: SCR
        offset: 7
        size: 8
        access: rw1
      - {name: WIDE, offset: 16, access: wo, reset: 4294967295}
  - name: EMPTY
    base: 4096
    registers: []
)";

constexpr const char* kExpectedUart =
    "device UART16550\n"
    "block UART base=0x3f8 size=0x8 'COM1'\n"
    " reg RBR offset=0x0 bits=8 access=ro reset=- 'Receive'\n"
    " reg LCR offset=0x3 bits=8 access=rw reset=0x3 ''\n"
    "  field WLS 0+2 access=rw ''\n"
    "   value BITS5=0x0 read-write ''\n"
    "   value BITS6=0x1 read-write ''\n"
    "   value BITS7=0x2 read-write ''\n"
    "   value BITS8=0x3 read-write ''\n"
    "  field STB 2+1 access=rw ''\n"
    "  field PEN 3+1 access=rw 'Parity enable'\n"
    "   value OFF=0x0 read-write 'No parity'\n"
    "   value ON=0x1 read-write ''\n"
    "  field DLAB 7+1 access=w1 ''\n"
    " reg SCR offset=0x7 bits=8 access=rw1 reset=- ''\n"
    " reg WIDE offset=0x10 bits=32 access=wo reset=0xffffffff ''\n"
    "block EMPTY base=0x1000 size=0x0 ''\n";

TEST(RegisterMapJsonYaml, JsonMapIsReadWithEveryKey) {
  // WIDE lies outside the 8-byte block: sizes are checked, so give the block room.
  std::string json = kJsonMap;
  json.replace(json.find("\"size\": 8,\n      \"description\": \"COM1\""), 9, "\"size\": 20");
  RegisterMap map = parse_json_register_map(json, "m.json");
  std::string expected = kExpectedUart;
  expected.replace(expected.find("size=0x8"), 8, "size=0x14");
  EXPECT_EQ(dump(map, true), expected);
  EXPECT_EQ(map.source(), "m.json");
}

TEST(RegisterMapJsonYaml, YamlAndJsonOfOneDocumentMakeTheSameMap) {
  std::string json = kJsonMap;
  json.replace(json.find("\"size\": 8,\n      \"description\": \"COM1\""), 9, "\"size\": 20");
  std::string yaml = kYamlMap;
  yaml.replace(yaml.find("size: 8\n    description: COM1"), 7, "size: 20");
  RegisterMap from_json = parse_json_register_map(json, "m.json");
  RegisterMap from_yaml = parse_yaml_register_map(yaml, "m.yaml");
  EXPECT_EQ(dump(from_json, true), dump(from_yaml, true));
  EXPECT_EQ(from_yaml.describe(0x3fb, 1, 0x8b, AccessDirection::Write),
            "UART.LCR WLS=BITS8 STB=0x0 PEN=ON DLAB=0x1");
}

TEST(RegisterMapJsonYaml, RegisterSizeDefaultsTo32BitsAndBaseTo0) {
  RegisterMap map = parse_yaml_register_map(
      "blocks:\n- name: B\n  registers:\n  - {name: R, offset: 4}\n", "m.yaml");
  EXPECT_EQ(dump(map),
            "device \n"
            "block B base=0x0 size=0x0\n"
            " reg R offset=0x4 bits=32 access=- reset=-\n");
}

TEST(RegisterMapJsonYaml, SixtyFourBitRegistersTakeSixtyFourBitValues) {
  RegisterMap map = parse_json_register_map(
      R"({"blocks": [{"name": "B", "registers": [{"name": "R", "offset": 0, "size": 64,
          "reset": "0xffffffffffffffff", "fields": [{"name": "ALL", "bits": "63:0",
          "values": {"MAX": 18446744073709551615}}]}]}]})",
      "m.json");
  EXPECT_EQ(dump(map),
            "device \n"
            "block B base=0x0 size=0x0\n"
            " reg R offset=0x0 bits=64 access=- reset=0xffffffffffffffff\n"
            "  field ALL 0+64 access=-\n"
            "   value MAX=0xffffffffffffffff read-write\n");
  EXPECT_EQ(map.describe(0, 8, ~uint64_t{0}), "B.R ALL=MAX");
  EXPECT_EQ(map.describe(0, 8, 5), "B.R ALL=0x5");
}

// --- JSON errors --------------------------------------------------------------------------------

TEST(RegisterMapJsonErrors, SyntaxErrorsGiveTheirPosition) {
  EXPECT_EQ(json_error("{\n  \"blocks\": [\n    x\n  ]\n}"),
            "m.json:3:5: JSON: syntax error while parsing value - invalid literal; last read: "
            "'\"blocks\": [<U+000A>    x'");
  EXPECT_EQ(json_error(""),
            "m.json:1:1: JSON: syntax error while parsing value - unexpected end of input; "
            "expected '[', '{', or a literal");
  EXPECT_EQ(json_error("{\"blocks\": []}\n}"),
            "m.json:2:1: JSON: syntax error while parsing value - unexpected '}'; expected end "
            "of input");
}

TEST(RegisterMapJsonErrors, UnknownAndRepeatedKeysAreRefused) {
  EXPECT_EQ(json_error("{\"blocks\": [], \"devise\": \"X\"}"),
            "m.json:1:16: unknown key 'devise' (known: device, description, blocks)");
  EXPECT_EQ(json_error("{\"blocks\": [\n  {\"name\": \"B\", \"registers\": [],\n   \"bass\": 4}]}"),
            "m.json:3:4: blocks[0]: unknown key 'bass' (known: name, base, size, description, "
            "registers)");
  EXPECT_EQ(json_error("{\"blocks\": [], \"blocks\": []}"),
            "m.json:1:16: key 'blocks' appears twice");
}

TEST(RegisterMapJsonErrors, WrongTypesAreRefusedAtTheValue) {
  EXPECT_EQ(json_error("[]"), "m.json:1:1: expected an object (KEY: VALUE), not a list");
  EXPECT_EQ(json_error("{\"blocks\": {}}"),
            "m.json:1:12: blocks: expected a list, not an object (KEY: VALUE)");
  EXPECT_EQ(json_error("{\"device\": 5, \"blocks\": []}"),
            "m.json:1:12: device: expected a string, not a number");
  EXPECT_EQ(json_error("{\"blocks\": [{\"name\": null, \"registers\": []}]}"),
            "m.json:1:22: blocks[0].name: expected a string, not null");
  EXPECT_EQ(json_error("{\"blocks\": [{\"name\": \"B\", \"base\": true, \"registers\": []}]}"),
            "m.json:1:35: blocks[0].base: expected a number, not true");
  EXPECT_EQ(
      json_error("{\"blocks\": [{\"name\": \"B\", \"registers\": [\n"
                 "  {\"name\": \"R\", \"offset\": 0, \"fields\": [{\"name\": \"F\", \"bits\": "
                 "[1]}]}]}]}"),
      "m.json:2:63: blocks[0].registers[0].fields[0].bits: expected a string, not a list");
  EXPECT_EQ(json_error("{}"), "m.json:1:1: missing 'blocks'");
}

TEST(RegisterMapJsonErrors, BadNumbersAreRefused) {
  const char* start = "{\"blocks\": [{\"name\": \"B\", \"registers\": [\n  {\"name\": \"R\", ";
  EXPECT_EQ(json_error(std::string(start) + "\"offset\": -4}]}]}"),
            "m.json:2:27: blocks[0].registers[0].offset: '-4' is not a number (decimal, 0x "
            "hexadecimal or 0b binary, 0 to 2^64-1)");
  EXPECT_EQ(json_error(std::string(start) + "\"offset\": 1.5}]}]}"),
            "m.json:2:27: blocks[0].registers[0].offset: '1.5' is not a number (decimal, 0x "
            "hexadecimal or 0b binary, 0 to 2^64-1)");
  EXPECT_EQ(json_error(std::string(start) + "\"offset\": \"0x1g\"}]}]}"),
            "m.json:2:27: blocks[0].registers[0].offset: '0x1g' is not a number (decimal, 0x "
            "hexadecimal or 0b binary, 0 to 2^64-1)");
  EXPECT_EQ(json_error(std::string(start) + "\"offset\": \"0x10000000000000000\"}]}]}"),
            "m.json:2:27: blocks[0].registers[0].offset: '0x10000000000000000' is not a number "
            "(decimal, 0x hexadecimal or 0b binary, 0 to 2^64-1)");
  EXPECT_EQ(json_error(std::string(start) + "\"offset\": 0, \"size\": 12}]}]}"),
            "m.json:2:38: blocks[0].registers[0].size: 12 is not a register size (8, 16, 24... "
            "64 bits)");
  EXPECT_EQ(json_error(std::string(start) + "\"offset\": 0, \"size\": 8, \"reset\": 256}]}]}"),
            "m.json:2:50: blocks[0].registers[0].reset: reset value 256 does not fit in 8 bits");
  EXPECT_EQ(json_error(std::string(start) + "\"offset\": 0, \"access\": \"rx\"}]}]}"),
            "m.json:2:40: blocks[0].registers[0].access: 'rx' is not an access (rw, ro, wo, w1, "
            "rw1, or SVD's read-write, read-only, write-only, writeOnce, read-writeOnce)");
}

TEST(RegisterMapJsonErrors, FieldsMustFitAndNotOverlap) {
  const char* start =
      "{\"blocks\": [{\"name\": \"B\", \"registers\": [{\"name\": \"R\", \"offset\": 0, "
      "\"size\": 16, \"fields\": [\n";
  EXPECT_EQ(json_error(std::string(start) + "  {\"name\": \"F\", \"bits\": \"16:9\"}]}]}]}"),
            "m.json:2:25: blocks[0].registers[0].fields[0]: bits 16:9 do not fit in a 16-bit "
            "register");
  EXPECT_EQ(json_error(std::string(start) + "  {\"name\": \"F\", \"bits\": \"3:7\"}]}]}]}"),
            "m.json:2:25: blocks[0].registers[0].fields[0].bits: bits 3:7 run the wrong way: "
            "write the high bit first (7:3)");
  EXPECT_EQ(json_error(std::string(start) + "  {\"name\": \"F\", \"bits\": \"7-3\"}]}]}]}"),
            "m.json:2:25: blocks[0].registers[0].fields[0].bits: '7-3' is not a bit (\"5\") or "
            "bit range (\"7:4\")");
  EXPECT_EQ(json_error(std::string(start) + "  {\"name\": \"F\", \"bits\": \"7:4\"},\n"
                                            "  {\"name\": \"G\", \"bits\": \"4:0\"}]}]}]}"),
            "m.json:3:3: blocks[0].registers[0].fields[1]: bits 4:0 overlap field 'F' (bits 7:4)");
  EXPECT_EQ(json_error(std::string(start) + "  {\"name\": \"F\", \"bits\": 8},\n"
                                            "  {\"name\": \"F\", \"bits\": 9}]}]}]}"),
            "m.json:3:3: blocks[0].registers[0].fields[1]: field name 'F' appears twice");
}

TEST(RegisterMapJsonErrors, DuplicateNamesAreRefused) {
  EXPECT_EQ(json_error("{\"blocks\": [{\"name\": \"B\", \"registers\": []},\n"
                       "  {\"name\": \"B\", \"registers\": []}]}"),
            "m.json:2:3: blocks[1]: block name 'B' appears twice");
  EXPECT_EQ(
      json_error("{\"blocks\": [{\"name\": \"B\", \"registers\": [\n"
                 "  {\"name\": \"R\", \"offset\": 0},\n  {\"name\": \"R\", \"offset\": 4}]}]}"),
      "m.json:3:3: blocks[0].registers[1]: register name 'R' appears twice in the block");
  EXPECT_EQ(
      json_error("{\"blocks\": [{\"name\": \"B\", \"registers\": [\n"
                 "  {\"name\": \"R\", \"offset\": 0, \"fields\": [{\"name\": \"F\", \"bits\": 0,"
                 " \"values\": [\n"
                 "    {\"name\": \"V\", \"value\": 0},\n"
                 "    {\"name\": \"V\", \"value\": 1}]}]}]}]}"),
      "m.json:4:14: blocks[0].registers[0].fields[0].values[1]: value name 'V' appears "
      "twice");
}

TEST(RegisterMapJsonErrors, ValuesMustFitTheirFieldAndBeNames) {
  const char* start =
      "{\"blocks\": [{\"name\": \"B\", \"registers\": [{\"name\": \"R\", \"offset\": 0, "
      "\"fields\": [\n  {\"name\": \"F\", \"bits\": \"1:0\", \"values\": ";
  EXPECT_EQ(json_error(std::string(start) + "{\"A\": 4}}]}]}]}"),
            "m.json:2:48: blocks[0].registers[0].fields[0].values.A: value 4 does not fit in the "
            "2-bit field");
  EXPECT_EQ(json_error(std::string(start) + "{\"A=B\": 1}}]}]}]}"),
            "m.json:2:43: blocks[0].registers[0].fields[0].values: 'A=B' is not a name (no "
            "spaces, control characters, ';' or '=')");
  EXPECT_EQ(json_error(std::string(start) + "[{\"name\": \"A\", \"valu\": 1}]}]}]}]}"),
            "m.json:2:57: blocks[0].registers[0].fields[0].values[0]: unknown key 'valu' (known: "
            "name, value, description)");
  EXPECT_EQ(json_error(std::string(start) + "\"A\"}]}]}]}"),
            "m.json:2:42: blocks[0].registers[0].fields[0].values: expected a list, not a string");
}

TEST(RegisterMapJsonErrors, RegistersMustLieInsideTheBlockAndTheAddressSpace) {
  EXPECT_EQ(json_error("{\"blocks\": [{\"name\": \"B\", \"size\": 8, \"registers\": [\n"
                       "  {\"name\": \"R\", \"offset\": 6, \"size\": 32}]}]}"),
            "m.json:2:3: blocks[0].registers[0]: the register (offset 6, 4 bytes) lies outside "
            "the 8-byte block");
  EXPECT_EQ(json_error("{\"blocks\": [{\"name\": \"B\", \"base\": \"0xfffffffffffffff0\", "
                       "\"registers\": [\n  {\"name\": \"R\", \"offset\": 14}]}]}"),
            "m.json:2:3: blocks[0].registers[0]: the register passes the top of the 64-bit "
            "address space");
}

TEST(RegisterMapJsonErrors, DocumentsNestedTooDeeplyAreRefused) {
  std::string deep = "{\"blocks\": ";
  for (int i = 0; i < 100; i++)
    deep += "[";
  // The 64th open container is the last allowed; the 65th bracket is refused where it stands.
  EXPECT_EQ(json_error(deep), "m.json:1:75: JSON: nested deeper than 64 levels");
}

TEST(RegisterMapJsonErrors, MessagesAreOneLine) {
  std::string error = json_error("{\"blocks\": [{\"name\": \"a\\nb\", \"registers\": []}]}");
  EXPECT_EQ(error,
            "m.json:1:22: blocks[0].name: 'a?b' is not a name (no spaces, control characters, ';' "
            "or '=')");
  EXPECT_EQ(error.find('\n'), std::string::npos);
}

// --- YAML errors --------------------------------------------------------------------------------

TEST(RegisterMapYamlErrors, SyntaxErrorsGiveTheirPosition) {
  EXPECT_EQ(yaml_error("blocks:\n  - name: B\n    registers: [\n"),
            "m.yaml:4:1: YAML: end of sequence flow not found");
  EXPECT_EQ(yaml_error("blocks: []\n  bad: indent\n"), "m.yaml:2:3: YAML: end of map not found");
}

TEST(RegisterMapYamlErrors, UnknownKeysWrongTypesAndBadNumbersGiveTheirPosition) {
  EXPECT_EQ(yaml_error("blocks:\n  - name: B\n    registers: []\n    colour: red\n"),
            "m.yaml:4:5: blocks[0]: unknown key 'colour' (known: name, base, size, description, "
            "registers)");
  EXPECT_EQ(yaml_error("blocks:\n  - name: B\n    registers:\n      name: R\n"),
            "m.yaml:4:7: blocks[0].registers: expected a list, not an object (KEY: VALUE)");
  EXPECT_EQ(yaml_error("blocks:\n  - name: B\n    base: 0x12345678901234567\n    registers: []\n"),
            "m.yaml:3:11: blocks[0].base: '0x12345678901234567' is not a number (decimal, 0x "
            "hexadecimal or 0b binary, 0 to 2^64-1)");
  EXPECT_EQ(yaml_error("blocks:\n  - name: B\n    registers:\n      - name: R\n        offset: 0\n"
                       "        size: [8]\n"),
            "m.yaml:6:15: blocks[0].registers[0].size: expected a number, not a list");
  EXPECT_EQ(yaml_error("blocks:\n  - name: B\n    registers:\n      - name: R\n"),
            "m.yaml:4:9: blocks[0].registers[0]: missing 'offset'");
  EXPECT_EQ(yaml_error("blocks:\n  - name: B\n    registers:\n      - name: R\n        offset: 0\n"
                       "        access: rx\n"),
            "m.yaml:6:17: blocks[0].registers[0].access: 'rx' is not an access (rw, ro, wo, w1, "
            "rw1, or SVD's read-write, read-only, write-only, writeOnce, read-writeOnce)");
  EXPECT_EQ(yaml_error("blocks:\n  - name: B\n    registers:\n      - {name: R, offset: 0}\n"
                       "      - {name: R, offset: 4}\n"),
            "m.yaml:5:9: blocks[0].registers[1]: register name 'R' appears twice in the block");
  EXPECT_EQ(yaml_error("? [a, b]\n: 1\n"), "m.yaml:1:3: YAML: a key must be a plain string");
}

TEST(RegisterMapYamlErrors, OverlappingAndMisplacedFieldsGiveTheirPosition) {
  const char* start =
      "blocks:\n"
      "  - name: B\n"
      "    registers:\n"
      "      - name: R\n"
      "        offset: 0\n"
      "        size: 8\n"
      "        fields:\n";
  EXPECT_EQ(yaml_error(std::string(start) + "          - {name: A, bits: \"3:0\"}\n"
                                            "          - {name: B, bits: \"5:2\"}\n"),
            "m.yaml:9:13: blocks[0].registers[0].fields[1]: bits 5:2 overlap field 'A' (bits 3:0)");
  EXPECT_EQ(yaml_error(std::string(start) + "          - {name: A, bits: 8}\n"),
            "m.yaml:8:29: blocks[0].registers[0].fields[0]: bits 8 do not fit in a 8-bit register");
  EXPECT_EQ(
      yaml_error(std::string(start) + "          - name: A\n"
                                      "            bits: 1:0\n"
                                      "            values: {X: 0, X: 1}\n"),
      "m.yaml:10:28: blocks[0].registers[0].fields[0].values.X: value name 'X' appears twice");
}

TEST(RegisterMapYamlErrors, NullValuesAndEmptyDocumentsAreRefused) {
  EXPECT_EQ(yaml_error(""), "m.yaml:1:1: expected an object (KEY: VALUE), not null");
  EXPECT_EQ(yaml_error("blocks:\n  - name:\n    registers: []\n"),
            "m.yaml:2:5: blocks[0].name: expected a string, not null");
}

TEST(RegisterMapYamlErrors, DocumentsNestedTooDeeplyAreRefused) {
  std::string deep = "blocks: ";
  for (int i = 0; i < 100; i++)
    deep += "[";
  for (int i = 0; i < 100; i++)
    deep += "]";
  EXPECT_EQ(yaml_error(deep), "m.yaml:1:72: YAML: nested deeper than 64 levels");
  // Far deeper than yaml-cpp's own recursion can take.
  std::string very_deep(1000000, '[');
  EXPECT_EQ(yaml_error(very_deep), "m.yaml:1:65: YAML: nested deeper than 64 levels");
}

TEST(RegisterMapYamlErrors, AliasBombsAreRefused) {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char previous = 'a';
  for (char name = 'b'; name <= 'j'; name++) {
    bomb += std::string(1, name) + ": &" + name + " [";
    for (int i = 0; i < 10; i++)
      bomb += std::string(i ? ", *" : "*") + previous;
    bomb += "]\n";
    previous = name;
  }
  std::string error = yaml_error(bomb);
  EXPECT_NE(error.find("YAML: more than 2097152 values (aliases?)"), std::string::npos) << error;
}

// --- Decoding -----------------------------------------------------------------------------------

constexpr const char* kDecodeMap = R"(
device: TEST
blocks:
  - name: DEV
    base: 0x1000
    size: 0x40
    registers:
      - name: CTRL
        offset: 0
        fields:
          - {name: EN, bits: 0, values: {OFF: 0, ON: 1}}
          - {name: MODE, bits: "3:1", values: {SLOW: 1, FAST: 2}}
          - {name: COUNT, bits: "19:4"}
          - {name: TOP, bits: "31:28"}
      - {name: STATUS, offset: 4, size: 16}
      - {name: DATA, offset: 8, size: 64}
      - {name: LOW, offset: 0x10, size: 8}
      - {name: HIGH, offset: 0x11, size: 8}
      - {name: WORD, offset: 0x10, size: 16}
      - {name: FAR, offset: 0x20}
  - name: OTHER
    base: 0x2000
    registers:
      - {name: R, offset: 0}
)";

RegisterMap decode_map() {
  return parse_yaml_register_map(kDecodeMap, "d.yaml");
}

TEST(RegisterMapDecode, WholeRegisterNamesEveryFieldInBitOrder) {
  RegisterMap map = decode_map();
  EXPECT_EQ(map.describe(0x1000, 4, 0x30001235), "DEV.CTRL EN=ON MODE=FAST COUNT=0x123 TOP=0x3");
  EXPECT_EQ(map.describe(0x1000, 4, 0), "DEV.CTRL EN=OFF MODE=0x0 COUNT=0x0 TOP=0x0");
  EXPECT_EQ(map.describe(0x1004, 2, 0xbeef), "DEV.STATUS");
  EXPECT_EQ(map.describe(0x1008, 8, 0x1122334455667788), "DEV.DATA");
}

TEST(RegisterMapDecode, PartialAccessNamesTheBitsItCovers) {
  RegisterMap map = decode_map();
  // Byte 1 of CTRL: bits 15:8, all inside COUNT (19:4), which shows its bits 11:4.
  EXPECT_EQ(map.describe(0x1001, 1, 0x12), "DEV.CTRL[15:8] COUNT[11:4]=0x12");
  // Byte 0: EN and MODE whole, COUNT's low nibble.
  EXPECT_EQ(map.describe(0x1000, 1, 0xf3), "DEV.CTRL[7:0] EN=ON MODE=SLOW COUNT[3:0]=0xf");
  // The high half: COUNT's bits 15:12 and TOP whole; the value is the access's.
  EXPECT_EQ(map.describe(0x1002, 2, 0x700a), "DEV.CTRL[31:16] COUNT[15:12]=0xa TOP=0x7");
  EXPECT_EQ(map.describe(0x100c, 4, 0), "DEV.DATA[63:32]");
  EXPECT_EQ(map.describe(0x1003, 1, 0x0f), "DEV.CTRL[31:24] TOP=0x0");
}

TEST(RegisterMapDecode, DecodeMasksTheValueToTheAccess) {
  RegisterMap map = decode_map();
  const Register* ctrl = map.find(0x1000, 4);
  ASSERT_NE(ctrl, nullptr);
  EXPECT_EQ(map.decode(*ctrl, 0xffffff01, 1, 0x1000),
            "DEV.CTRL[7:0] EN=ON MODE=0x0 COUNT[3:0]=0x0");
  // An address outside the register names the register only.
  EXPECT_EQ(map.decode(*ctrl, 1, 4, 0x1004), "DEV.CTRL");
  EXPECT_EQ(map.decode(*ctrl, 1, 0, 0x1000), "DEV.CTRL");
}

TEST(RegisterMapDecode, RegistersStackedOnOneAddressStayCheapAndTheFirstStillWins) {
  std::vector<RegisterBlock> blocks(1);
  blocks[0].name = "DEV";
  for (int i = 0; i < 100000; ++i) {
    Register reg;
    reg.name = "R" + std::to_string(i);
    reg.size_bits = i == 7 ? 64 : 32;  // R7 is the first that holds 8 bytes
    blocks[0].registers.push_back(reg);
  }
  RegisterMap map("m.json", "dev", std::move(blocks));
  for (int repeat = 0; repeat < 100000; ++repeat)
    ASSERT_EQ(map.find(0, 4)->name, "R0");
  EXPECT_EQ(map.find(0, 8)->name, "R7");
  EXPECT_EQ(map.describe(4, 4, 0), "DEV.R7[63:32]");
}

TEST(RegisterMapDecode, TheFirstRegisterInTheMapsOrderWins) {
  RegisterMap map = decode_map();
  EXPECT_EQ(map.describe(0x1010, 1, 1), "DEV.LOW");
  EXPECT_EQ(map.describe(0x1011, 1, 1), "DEV.HIGH");
  // Only WORD holds both bytes.
  EXPECT_EQ(map.describe(0x1010, 2, 0x0201), "DEV.WORD");
  EXPECT_EQ(map.find(0x1010, 2)->name, "WORD");
  EXPECT_EQ(map.find(0x1010, 1)->name, "LOW");
}

TEST(RegisterMapDecode, AccessSpanningRegistersNamesEachPiece) {
  RegisterMap map = decode_map();
  // 8 bytes at CTRL: CTRL whole, then STATUS, then two bytes no register holds.
  EXPECT_EQ(map.describe(0x1000, 8, 0x0000beef30001235),
            "DEV.CTRL EN=ON MODE=FAST COUNT=0x123 TOP=0x3; DEV.STATUS");
  // Two bytes across CTRL's top byte and STATUS's low byte.
  EXPECT_EQ(map.describe(0x1003, 2, 0xef70), "DEV.CTRL[31:24] TOP=0x7; DEV.STATUS[7:0]");
}

TEST(RegisterMapDecode, GapsInsideABlockNameTheBlockAndOffset) {
  RegisterMap map = decode_map();
  EXPECT_EQ(map.describe(0x1006, 2, 0), "DEV+0x6");
  EXPECT_EQ(map.describe(0x103c, 4, 0), "DEV+0x3c");
  // OTHER has no size: its span ends with its last register.
  EXPECT_EQ(map.describe(0x2004, 4, 0), "");
}

TEST(RegisterMapDecode, AccessesOutsideTheMapDescribeNothing) {
  RegisterMap map = decode_map();
  EXPECT_EQ(map.describe(0xfff, 1, 0), "");
  EXPECT_EQ(map.describe(0x1040, 4, 0), "");
  EXPECT_EQ(map.describe(0x1000, 0, 0), "");
  EXPECT_EQ(map.describe(UINT64_MAX, 8, 0), "");
  EXPECT_EQ(map.find(0x3000, 4), nullptr);
  EXPECT_EQ(map.find_block(0x3000), nullptr);
}

TEST(RegisterMapDecode, FindsBlocksAndTheBlockOfARegister) {
  RegisterMap map = decode_map();
  EXPECT_EQ(map.device(), "TEST");
  ASSERT_NE(map.find_block(0x1020), nullptr);
  EXPECT_EQ(map.find_block(0x1020)->name, "DEV");
  EXPECT_EQ(map.find_block(0x2003)->name, "OTHER");
  const Register* r = map.find(0x2000, 4);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(map.block_of(*r).name, "OTHER");
}

TEST(RegisterMapDecode, MovedMapKeepsItsLayout) {
  RegisterMap map = decode_map();
  EXPECT_EQ(map.lowest_base(), 0x1000u);
  RegisterMap moved = map.moved_to(0x7f0000000000);
  EXPECT_EQ(moved.lowest_base(), 0x7f0000000000u);
  EXPECT_EQ(moved.blocks()[1].base, 0x7f0000001000u);
  EXPECT_EQ(moved.describe(0x7f0000000000, 4, 1), "DEV.CTRL EN=ON MODE=0x0 COUNT=0x0 TOP=0x0");
  EXPECT_EQ(moved.describe(0x7f0000001000, 4, 0), "OTHER.R");
  EXPECT_EQ(moved.describe(0x1000, 4, 0), "");
  RegisterMap down = moved.moved_to(0);
  EXPECT_EQ(down.describe(0x1000, 4, 0), "OTHER.R");
  EXPECT_EQ(down.source(), "d.yaml");
  EXPECT_EQ(down.device(), "TEST");
  // The original is untouched.
  EXPECT_EQ(map.describe(0x1000, 4, 0), "DEV.CTRL EN=OFF MODE=0x0 COUNT=0x0 TOP=0x0");
}

// --- Loading files ------------------------------------------------------------------------------

constexpr const char* kSmallSvd =
    "<device><name>S</name><peripherals><peripheral><name>P</name><baseAddress>0x10"
    "</baseAddress><registers><register><name>R</name><addressOffset>0</addressOffset>"
    "</register></registers></peripheral></peripherals></device>\n";
constexpr const char* kSmallJson =
    "{\"device\": \"S\", \"blocks\": [{\"name\": \"P\", \"base\": 16, \"registers\": "
    "[{\"name\": \"R\", \"offset\": 0}]}]}\n";
constexpr const char* kSmallYaml =
    "device: S\nblocks:\n  - name: P\n    base: 16\n    registers:\n      - {name: R, offset: 0}\n";
constexpr const char* kSmallDump =
    "device S\nblock P base=0x10 size=0x0\n reg R offset=0x0 bits=32 access=- reset=-\n";

TEST(RegisterMapLoad, ChoosesTheReaderByExtension) {
  for (auto [name, text] : {std::pair{"a.svd", kSmallSvd}, std::pair{"a.XML", kSmallSvd},
                            std::pair{"a.json", kSmallJson}, std::pair{"a.yaml", kSmallYaml},
                            std::pair{"a.yml", kSmallYaml},
                            // JSON is YAML too.
                            std::pair{"b.yaml", kSmallJson}}) {
    TemporaryFile file(name, text);
    RegisterMap map = load_register_map(file.path());
    EXPECT_EQ(dump(map), kSmallDump) << name;
    EXPECT_EQ(map.source(), file.path());
  }
  // The extension decides even when the content says otherwise.
  TemporaryFile svd_named_json("c.json", kSmallSvd);
  EXPECT_EQ(error_of([&] { load_register_map(svd_named_json.path()); }),
            svd_named_json.path() +
                ":1:1: JSON: syntax error while parsing value - invalid literal; last read: '<'");
}

TEST(RegisterMapLoad, ChoosesTheReaderByContentForOtherNames) {
  for (auto [name, text] : {std::pair{"a.map", kSmallSvd}, std::pair{"b.map", kSmallJson},
                            std::pair{"c", kSmallYaml}}) {
    TemporaryFile file(name, std::string("\xEF\xBB\xBF \n") + text);
    EXPECT_EQ(dump(load_register_map(file.path())), kSmallDump) << name;
  }
  // Shorter than one look at the content.
  TemporaryFile tiny("tiny.regs", "<device/>");
  EXPECT_EQ(dump(load_register_map(tiny.path())), "device \n");
}

TEST(RegisterMapLoad, LargeSvdFileIsReadInPiecesWithTheRightPositions) {
  std::string registers;
  for (int i = 0; i < 4000; i++) {
    registers += "<register><name>R" + std::to_string(i) + "</name><addressOffset>" +
                 std::to_string(4 * i) + "</addressOffset></register>\n";
  }
  std::string good = svd_device(svd_peripheral(registers));
  ASSERT_GT(good.size(), 200000u);
  for (const char* name : {"big.svd", "big.regs"}) {
    TemporaryFile file(name, good);
    RegisterMap map = load_register_map(file.path());
    EXPECT_EQ(dump(map), dump(parse_svd(good, "x")));
    EXPECT_EQ(map.describe(0x1000 + 4 * 3999, 4, 0), "P.R3999");
  }
  // A mistake near the end: line 5 + 3990.
  std::string bad = svd_device(
      svd_peripheral(registers.substr(0, registers.find("<register><name>R3990")) +
                     "<register><name>BAD</name><addressOffset>0x</addressOffset></register>\n"));
  TemporaryFile file("bad.svd", bad);
  EXPECT_EQ(error_of([&] { load_register_map(file.path()); }),
            file.path() +
                ":3995:27: <addressOffset> '0x' is not a number (decimal, 0x "
                "hexadecimal or #binary, below 2^64)");
}

TEST(RegisterMapLoad, MissingFileSaysSo) {
  EXPECT_EQ(error_of([] { load_register_map("/nonexistent/map.yaml"); }),
            "/nonexistent/map.yaml: cannot open: No such file or directory");
}

TEST(RegisterMapLoad, ParseRegisterMapPicksTheNamedFormat) {
  EXPECT_EQ(dump(parse_register_map(kSmallSvd, RegisterMapFormat::Svd, "x")), kSmallDump);
  EXPECT_EQ(dump(parse_register_map(kSmallJson, RegisterMapFormat::Json, "x")), kSmallDump);
  EXPECT_EQ(dump(parse_register_map(kSmallYaml, RegisterMapFormat::Yaml, "x")), kSmallDump);
}

TEST(RegisterMapLoad, RegisterAtTheTopOfTheAddressSpaceKeepsItsBlockWhole) {
  RegisterMap map =
      svd("<register><name>LOW</name><addressOffset>0</addressOffset></register>"
          "<register><name>TOP</name><addressOffset>0xffffffffffffeffc</addressOffset></register>");
  EXPECT_EQ(map.describe(UINT64_MAX - 3, 4, 0), "P.TOP");
  EXPECT_EQ(map.describe(0x2000, 4, 0), "P+0x1000");
  EXPECT_EQ(map.find_block(UINT64_MAX)->name, "P");
  // Moved up, TOP would pass the top: it is left out of lookups, LOW is not.
  RegisterMap moved = map.moved_to(0x2000);
  EXPECT_EQ(moved.describe(0x2000, 4, 0), "P.LOW");
  EXPECT_EQ(moved.describe(0xfff, 4, 0), "");
}

// --- The nvme examples --------------------------------------------------------------------------

std::string example(const std::string& name) {
  return std::string(MMIOTRACE_SOURCE_DIR) + "/examples/register-maps/" + name;
}

TEST(RegisterMapNvmeExamples, YamlJsonAndSvdSayTheSame) {
  RegisterMap yaml = load_register_map(example("nvme.yaml"));
  RegisterMap json = load_register_map(example("nvme.json"));
  RegisterMap svd_map = load_register_map(example("nvme.svd"));
  EXPECT_EQ(dump(yaml, true), dump(json, true));
  EXPECT_EQ(dump(yaml, true), dump(svd_map, true));
  EXPECT_EQ(yaml.device(), "nvme");
  ASSERT_EQ(yaml.blocks().size(), 1u);
  EXPECT_EQ(yaml.blocks()[0].base, 0u);
  EXPECT_EQ(yaml.blocks()[0].size, 0x1000u);
}

TEST(RegisterMapNvmeExamples, RegistersAreTheNvmeModels) {
  std::string error;
  const mmiotrace_device_model* model = devices::find_model("nvme", &error);
  ASSERT_NE(model, nullptr) << error;
  RegisterMap map = load_register_map(example("nvme.yaml"));
  const std::vector<Register>& registers = map.blocks()[0].registers;
  size_t i = 0;
  for (const mmiotrace_register* reg = model->registers; reg->name != nullptr; reg++) {
    if (reg->offset >= 0x1000) continue;  // the doorbells are not in the examples
    ASSERT_LT(i, registers.size());
    EXPECT_EQ(registers[i].name, reg->name);
    EXPECT_EQ(registers[i].offset, reg->offset) << reg->name;
    EXPECT_EQ(registers[i].size_bytes(), reg->width) << reg->name;
    i++;
  }
  EXPECT_EQ(i, registers.size());
  EXPECT_EQ(i, 10u);
}

TEST(RegisterMapNvmeExamples, DecodeTheSameAccessesTheSameWay) {
  for (const char* name : {"nvme.yaml", "nvme.json", "nvme.svd"}) {
    SCOPED_TRACE(name);
    RegisterMap map = load_register_map(example(name));
    EXPECT_EQ(map.describe(0x14, 4, 0x00460001, AccessDirection::Write),
              "NVME.CC EN=ENABLED CSS=NVM MPS=0x0 AMS=RR SHN=NONE IOSQES=0x6 IOCQES=0x4");
    EXPECT_EQ(map.describe(0x14, 4, 0x00464001, AccessDirection::Write),
              "NVME.CC EN=ENABLED CSS=NVM MPS=0x0 AMS=RR SHN=NORMAL IOSQES=0x6 IOCQES=0x4");
    EXPECT_EQ(map.describe(0x15, 1, 0x80, AccessDirection::Write),
              "NVME.CC[15:8] MPS[3:1]=0x0 AMS=RR SHN=ABRUPT");
    EXPECT_EQ(map.describe(0x1c, 4, 0x9, AccessDirection::Read),
              "NVME.CSTS RDY=READY CFS=0x0 SHST=COMPLETE NSSRO=0x0");
    EXPECT_EQ(map.describe(0x1c, 4, 0x4, AccessDirection::Read),
              "NVME.CSTS RDY=NOT_READY CFS=0x0 SHST=OCCURRING NSSRO=0x0");
    // The examples of docs/cli.md.
    EXPECT_EQ(map.describe(0x1c, 4, 0x1, AccessDirection::Read),
              "NVME.CSTS RDY=READY CFS=0x0 SHST=NORMAL NSSRO=0x0");
    EXPECT_EQ(map.describe(0x15, 1, 0x40, AccessDirection::Write),
              "NVME.CC[15:8] MPS[3:1]=0x0 AMS=RR SHN=NORMAL");
    EXPECT_EQ(map.describe(0x00, 8, 0x00400030040103ff, AccessDirection::Read),
              "NVME.CAP MQES=0x3ff CQR=0x1 AMS=0x0 TO=0x4 DSTRD=0x0 NSSRS=0x1 CSS=0x1 MPSMIN=0x0 "
              "MPSMAX=0x4");
    EXPECT_EQ(map.describe(0x04, 4, 0x00400030, AccessDirection::Read),
              "NVME.CAP[63:32] DSTRD=0x0 NSSRS=0x1 CSS=0x1 MPSMIN=0x0 MPSMAX=0x4");
    EXPECT_EQ(map.describe(0x08, 4, 0x00010400, AccessDirection::Read),
              "NVME.VS TER=0x0 MNR=0x4 MJR=0x1");
    EXPECT_EQ(map.describe(0x20, 4, 0x4e564d65, AccessDirection::Write), "NVME.NSSR NSSRC=RESET");
    EXPECT_EQ(map.describe(0x24, 4, 0x001f001f, AccessDirection::Write),
              "NVME.AQA ASQS=0x1f ACQS=0x1f");
    EXPECT_EQ(map.describe(0x28, 8, 0x12345000, AccessDirection::Write), "NVME.ASQ ASQB=0x12345");
    // An 8-byte access at AQA spans AQA and the low half of ASQ.
    EXPECT_EQ(map.describe(0x24, 8, 0x0000100000070007, AccessDirection::Write),
              "NVME.AQA ASQS=0x7 ACQS=0x7; NVME.ASQ[31:0] ASQB[19:0]=0x1");
    EXPECT_EQ(map.describe(0x18, 4, 0), "NVME+0x18");
    EXPECT_EQ(map.describe(0x1000, 4, 0), "");
  }
}

}  // namespace
}  // namespace mmiotrace::analysis
