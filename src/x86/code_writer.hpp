// mmiotrace: signal-safe
// Writing x86-64 code with the Zydis encoder into a fixed buffer: the small vocabulary the
// emulation stubs and the code cache's instrumentation are made of (src/x86, src/codecache).
#pragma once

#include <Zydis/Zydis.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace mmiotrace::x86 {

// Appends encoded instructions to a buffer; remembers the first failure.
class CodeWriter {
 public:
  CodeWriter(uint8_t* buffer, size_t capacity) : buffer_(buffer), capacity_(capacity) {}

  void emit(const ZydisEncoderRequest& request) {
    if (!ok_) return;
    ZyanUSize length = capacity_ - size_;
    if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(&request, buffer_ + size_, &length))) {
      ok_ = false;
      return;
    }
    size_ += length;
  }
  void raw(const uint8_t* bytes, size_t length) {
    if (!ok_ || size_ + length > capacity_) {
      ok_ = false;
      return;
    }
    std::memcpy(buffer_ + size_, bytes, length);
    size_ += length;
  }

  static ZydisEncoderRequest request(ZydisMnemonic mnemonic) {
    ZydisEncoderRequest request;
    std::memset(&request, 0, sizeof(request));
    request.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
    request.mnemonic = mnemonic;
    return request;
  }
  static void set_register(ZydisEncoderOperand& operand, ZydisRegister reg) {
    operand.type = ZYDIS_OPERAND_TYPE_REGISTER;
    operand.reg.value = reg;
  }
  static void set_memory(ZydisEncoderOperand& operand, ZydisRegister base, int32_t displacement,
                         uint16_t size) {
    operand.type = ZYDIS_OPERAND_TYPE_MEMORY;
    operand.mem.base = base;
    operand.mem.displacement = displacement;
    operand.mem.size = size;
  }

  // mov reg, [base + displacement] (64-bit, or 32-bit for an E register)
  void load(ZydisRegister reg, ZydisRegister base, int32_t displacement, uint16_t size = 8) {
    ZydisEncoderRequest r = request(ZYDIS_MNEMONIC_MOV);
    r.operand_count = 2;
    set_register(r.operands[0], reg);
    set_memory(r.operands[1], base, displacement, size);
    emit(r);
  }
  // mov [base + displacement], reg
  void store(ZydisRegister base, int32_t displacement, ZydisRegister reg) {
    ZydisEncoderRequest r = request(ZYDIS_MNEMONIC_MOV);
    r.operand_count = 2;
    set_memory(r.operands[0], base, displacement, 8);
    set_register(r.operands[1], reg);
    emit(r);
  }
  void move(ZydisRegister to, ZydisRegister from) {
    ZydisEncoderRequest r = request(ZYDIS_MNEMONIC_MOV);
    r.operand_count = 2;
    set_register(r.operands[0], to);
    set_register(r.operands[1], from);
    emit(r);
  }
  void push(ZydisRegister reg) {
    ZydisEncoderRequest r = request(ZYDIS_MNEMONIC_PUSH);
    r.operand_count = 1;
    set_register(r.operands[0], reg);
    emit(r);
  }
  void pop(ZydisRegister reg) {
    ZydisEncoderRequest r = request(ZYDIS_MNEMONIC_POP);
    r.operand_count = 1;
    set_register(r.operands[0], reg);
    emit(r);
  }
  // An instruction whose only operand is memory: push/pop [m], ldmxcsr, xrstor64...
  void memory_only(ZydisMnemonic mnemonic, ZydisRegister base, int32_t displacement,
                   uint16_t size) {
    ZydisEncoderRequest r = request(mnemonic);
    r.operand_count = 1;
    set_memory(r.operands[0], base, displacement, size);
    emit(r);
  }
  void plain(ZydisMnemonic mnemonic) {
    ZydisEncoderRequest r = request(mnemonic);
    emit(r);
  }

  bool ok() const { return ok_; }
  size_t size() const { return size_; }

 private:
  uint8_t* buffer_;
  size_t capacity_;
  size_t size_ = 0;
  bool ok_ = true;
};

}  // namespace mmiotrace::x86
