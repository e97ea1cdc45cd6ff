// Unit tests for devices/model_catalog: the built-in models, plugins loaded by path, the
// MODEL[:ARGS]@PATH form and naming accesses by register.
#include "devices/model_catalog.hpp"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstring>

#include <cstdlib>
#include <string>

namespace mmiotrace::devices {
namespace {

const char* const kPlugin = MMIOTRACE_TEST_DEVICE_PLUGIN;

std::string name_at(const mmiotrace_register* map, uint64_t offset, uint32_t width) {
  const mmiotrace_register* entry = register_at(map, offset, width);
  return entry ? entry->name : "(none)";
}

std::string find_error(const std::string& name) {
  std::string error;
  EXPECT_EQ(find_model(name, &error), nullptr) << name;
  return error;
}

std::string spec_error(const std::string& text) {
  std::string error;
  EXPECT_FALSE(parse_device_spec(text, &error).has_value()) << text;
  return error;
}

TEST(ModelCatalog, BuiltinModelsAreRegfileNvmeAndUart16550) {
  std::vector<const mmiotrace_device_model*> models = builtin_models();
  ASSERT_EQ(models.size(), 3u);
  EXPECT_STREQ(models[0]->name, "regfile");
  EXPECT_STREQ(models[1]->name, "nvme");
  EXPECT_STREQ(models[2]->name, "uart16550");
  for (const mmiotrace_device_model* model : models) {
    SCOPED_TRACE(model->name);
    EXPECT_EQ(model->abi_version, static_cast<uint32_t>(MMIOTRACE_DEVICE_ABI_VERSION));
    EXPECT_NE(model->description, nullptr);
    EXPECT_NE(model->arguments_help, nullptr);
    std::string error;
    EXPECT_EQ(find_model(model->name, &error), model) << error;
  }
}

TEST(ModelCatalog, UnknownNameListsTheBuiltins) {
  EXPECT_EQ(find_error("foo"),
            "no device model 'foo' (built in: regfile, nvme, uart16550; or the path of a plugin "
            ".so)");
  EXPECT_EQ(find_error(""),
            "no device model '' (built in: regfile, nvme, uart16550; or the path of a plugin .so)");
}

TEST(ModelCatalog, LoadsAPluginByPath) {
  std::string error;
  const mmiotrace_device_model* model = find_model(kPlugin, &error);
  ASSERT_NE(model, nullptr) << error;
  EXPECT_STREQ(model->name, "test_plugin");
  char create_error[128] = "";
  void* device = model->create("", create_error, sizeof create_error);
  ASSERT_NE(device, nullptr) << create_error;
  EXPECT_EQ(model->read(device, 0, 4), 0x1234abcdu);
  model->write(device, 4, 4, 42);
  EXPECT_EQ(model->read(device, 4, 4), 42u);
  model->destroy(device);
  EXPECT_EQ(name_at(model->registers, 8, 4), "SCRATCH1");
  EXPECT_EQ(find_model(kPlugin, &error), model);  // loaded once
}

TEST(ModelCatalog, PluginProblemsAreReportedInOneLine) {
  EXPECT_EQ(
      find_error("./no-such-plugin.so").rfind("cannot load plugin './no-such-plugin.so': ", 0), 0u);
  EXPECT_EQ(
      find_error("/no/such/dir/plugin").rfind("cannot load plugin '/no/such/dir/plugin': ", 0), 0u);
  // A shared object that is not a plugin: the C library this test runs with, wherever the
  // architecture keeps it.
  Dl_info found;
  ASSERT_NE(dladdr(reinterpret_cast<void*>(&strlen), &found), 0);
  std::string libc = found.dli_fname;
  EXPECT_EQ(find_error(libc), "plugin '" + libc +
                                  "' does not export mmiotrace_device_model() (see "
                                  "docs/devices.md)");

  std::string plugin = kPlugin;
  setenv("MMIOTRACE_TEST_PLUGIN_BROKEN", "abi", 1);
  EXPECT_EQ(find_error(plugin), "plugin '" + plugin +
                                    "': its model has device ABI version 2, this mmiotrace "
                                    "implements version 1");
  setenv("MMIOTRACE_TEST_PLUGIN_BROKEN", "read", 1);
  EXPECT_EQ(find_error(plugin), "plugin '" + plugin +
                                    "': its model 'test_plugin' has no read function (create, "
                                    "destroy, size, read, write and reset are required)");
  unsetenv("MMIOTRACE_TEST_PLUGIN_BROKEN");
}

TEST(ModelCatalog, ParsesModelArgumentsAndPath) {
  std::string error;
  auto plain = parse_device_spec("nvme@/dev/nvme-bar0", &error);
  ASSERT_TRUE(plain) << error;
  EXPECT_EQ(plain->model, "nvme");
  EXPECT_EQ(plain->arguments, "");
  EXPECT_EQ(plain->path, "/dev/nvme-bar0");

  auto with_arguments = parse_device_spec("uart16550:shift=2,out=/tmp/a@b@/dev/ttyS0", &error);
  ASSERT_TRUE(with_arguments) << error;
  EXPECT_EQ(with_arguments->model, "uart16550");
  EXPECT_EQ(with_arguments->arguments, "shift=2,out=/tmp/a@b");  // ARGS run to the last '@'
  EXPECT_EQ(with_arguments->path, "/dev/ttyS0");

  auto empty_arguments = parse_device_spec("regfile:@/x", &error);
  ASSERT_TRUE(empty_arguments) << error;
  EXPECT_EQ(empty_arguments->arguments, "");

  auto plugin = parse_device_spec("./plugins/my.dev.so:rate=3@/dev/my:dev", &error);
  ASSERT_TRUE(plugin) << error;
  EXPECT_EQ(plugin->model, "./plugins/my.dev.so");
  EXPECT_EQ(plugin->arguments, "rate=3");
  EXPECT_EQ(plugin->path, "/dev/my:dev");

  auto absolute_plugin = parse_device_spec("/opt/dev.so@/sys/bus/pci/x/resource0", &error);
  ASSERT_TRUE(absolute_plugin) << error;
  EXPECT_EQ(absolute_plugin->model, "/opt/dev.so");
  EXPECT_EQ(absolute_plugin->path, "/sys/bus/pci/x/resource0");
}

TEST(ModelCatalog, MalformedSpecsAreReportedInOneLine) {
  const std::string form = " (expected MODEL[:ARGS]@PATH, e.g. nvme:delay_ms=10@/tmp/nvme-bar0)";
  EXPECT_EQ(spec_error("nvme"), "device 'nvme': no @PATH" + form);
  EXPECT_EQ(spec_error("nvme:delay_ms=1"), "device 'nvme:delay_ms=1': no @PATH" + form);
  EXPECT_EQ(spec_error(""), "device '': no @PATH" + form);
  EXPECT_EQ(spec_error("@/dev/x"), "device '@/dev/x': no MODEL before '@'" + form);
  EXPECT_EQ(spec_error(":a=1@/dev/x"), "device ':a=1@/dev/x': no MODEL before ':'" + form);
  EXPECT_EQ(spec_error("nvme@"), "device 'nvme@': no PATH after '@'" + form);
  EXPECT_EQ(spec_error("nvme@dev/x"),
            "device 'nvme@dev/x': the path 'dev/x' is not absolute" + form);
  EXPECT_EQ(spec_error("nvme@x@/dev/y"),
            "device 'nvme@x@/dev/y': '@' after the PATH's '@'; ARGS go after ':'" + form);
}

// Found by fuzzing: a user's argument holding a newline made a two-line message.
TEST(ModelCatalog, MessagesStayOneLineWhateverTheArgumentsHold) {
  std::string error;
  EXPECT_FALSE(
      parse_device_spec("\x94\x86\xca"
                        "e\ntuart",
                        &error));
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  EXPECT_NE(error.find("\\x94\\x86\\xcae\\ntuart"), std::string::npos) << error;
  EXPECT_EQ(find_model("no\nsuch", &error), nullptr);
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  for (const mmiotrace_device_model* model : builtin_models()) {
    char why[256] = "";
    EXPECT_EQ(model->create("size=1\n2,\tshift=\x01", why, sizeof(why)), nullptr) << model->name;
    EXPECT_EQ(std::strchr(why, '\n'), nullptr) << why;
    EXPECT_EQ(std::strchr(why, '\t'), nullptr) << why;
  }
  EXPECT_EQ(printable("a\tb\x7f\xff"), "a\\tb\\x7f\\xff");
}

TEST(ModelCatalog, RegisterAtFindsTheRegisterAnAccessFallsIn) {
  std::string error;
  const mmiotrace_device_model& nvme = *find_model("nvme", &error);
  auto name = [&](uint64_t offset, uint32_t width) {
    const mmiotrace_register* entry = register_at(nvme, offset, width);
    return std::string(entry ? entry->name : "(none)");
  };
  EXPECT_EQ(name(0x00, 8), "CAP");
  EXPECT_EQ(name(0x04, 4), "CAP");  // the high half
  EXPECT_EQ(name(0x03, 1), "CAP");
  EXPECT_EQ(name(0x08, 4), "VS");
  EXPECT_EQ(name(0x0c, 4), "INTMS");
  EXPECT_EQ(name(0x10, 4), "INTMC");
  EXPECT_EQ(name(0x14, 4), "CC");
  EXPECT_EQ(name(0x18, 4), "(none)");  // reserved
  EXPECT_EQ(name(0x1c, 4), "CSTS");
  EXPECT_EQ(name(0x20, 4), "NSSR");
  EXPECT_EQ(name(0x24, 4), "AQA");
  EXPECT_EQ(name(0x2c, 4), "ASQ");
  EXPECT_EQ(name(0x30, 8), "ACQ");
  EXPECT_EQ(name(0x38, 4), "(none)");
  EXPECT_EQ(name(0x1000, 4), "SQ0TDBL");
  EXPECT_EQ(name(0x1004, 4), "CQ0HDBL");
  EXPECT_EQ(name(0x1008, 4), "SQ1TDBL");
  EXPECT_EQ(name(0x1054, 4), "CQ10HDBL");
  EXPECT_EQ(name(0x11fc, 4), "CQ63HDBL");
  EXPECT_EQ(name(0x1200, 4), "(none)");
  EXPECT_EQ(register_at(*find_model("regfile", &error), 0, 4), nullptr);

  const mmiotrace_device_model& uart = *find_model("uart16550", &error);
  EXPECT_EQ(name_at(uart.registers, 0, 1), "RBR/THR/DLL");
  EXPECT_EQ(name_at(uart.registers, 1, 1), "IER/DLM");
  EXPECT_EQ(name_at(uart.registers, 2, 1), "IIR/FCR");
  EXPECT_EQ(name_at(uart.registers, 5, 1), "LSR");
  EXPECT_EQ(name_at(uart.registers, 7, 1), "SCR");
  EXPECT_EQ(name_at(uart.registers, 8, 1), "(none)");
}

TEST(ModelCatalog, RegisterMapFollowsTheArguments) {
  std::string error;
  const mmiotrace_device_model& uart = *find_model("uart16550", &error);
  const mmiotrace_register* shifted = register_map(uart, "shift=2,out=/dev/null");
  EXPECT_EQ(name_at(shifted, 0x0, 4), "RBR/THR/DLL");
  EXPECT_EQ(name_at(shifted, 0x4, 4), "IER/DLM");
  EXPECT_EQ(name_at(shifted, 0xc, 4), "LCR");
  EXPECT_EQ(name_at(shifted, 0x14, 1), "LSR");
  EXPECT_EQ(name_at(shifted, 0x15, 1), "(none)");
  EXPECT_EQ(name_at(register_map(uart, "shift=3"), 0x38, 1), "SCR");
  EXPECT_EQ(register_map(uart, ""), uart.registers);
  EXPECT_EQ(register_map(uart, "shift=9"), uart.registers);

  const mmiotrace_device_model& nvme = *find_model("nvme", &error);
  const mmiotrace_register* strided = register_map(nvme, "delay_ms=1,dstrd=2");
  EXPECT_EQ(name_at(strided, 0x14, 4), "CC");
  EXPECT_EQ(name_at(strided, 0x1010, 4), "CQ0HDBL");
  EXPECT_EQ(name_at(strided, 0x1020, 4), "SQ1TDBL");
  EXPECT_EQ(name_at(strided, 0x1004, 4), "(none)");
  EXPECT_EQ(register_map(nvme, "dstrd=0"), nvme.registers);

  const mmiotrace_device_model& regfile = *find_model("regfile", &error);
  EXPECT_EQ(register_map(regfile, "size=4K"), nullptr);
}

}  // namespace
}  // namespace mmiotrace::devices
