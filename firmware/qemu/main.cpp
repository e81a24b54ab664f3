// The emulated board's main: the sketch's setup(), then the PDM interrupt and loop() in turn until the audio ends.
// The interrupt comes between loop() calls, so the ring never overruns and a run is deterministic. Every
// inference's int8 input and output tensors go to kws_tensors.bin (a wrapper around MicroInterpreter::Invoke,
// linked with --wrap, as are the interpreter's constructors, to give it layers.cpp's profiler), and the run ends
// with a line per layer (layers.cpp) and a line of counts: instructions (emulated time) and the stack's depth.
#include <stdio.h>

#include "Arduino.h"
#include "board.h"
#include "tensorflow/lite/micro/micro_interpreter.h"

namespace {

// CMSDK APB timer 0 of the MPS2 board, a 32-bit down counter at 25 MHz.
volatile uint32_t* const kTimerCtrl = reinterpret_cast<volatile uint32_t*>(0x40000000);
volatile uint32_t* const kTimerValue = reinterpret_cast<volatile uint32_t*>(0x40000004);
volatile uint32_t* const kTimerReload = reinterpret_cast<volatile uint32_t*>(0x40000008);

// The stack's deepest use: the 64 KB below its top are painted at start and checked at the end.
extern "C" uint32_t __stack_top;
constexpr uint32_t kPaint = 0x5354434bu;
constexpr int kPaintedWords = 16 * 1024;

FILE* tensors = nullptr;
uint32_t inferences = 0;
uint64_t invoke_ticks = 0;
uint64_t record_ticks = 0;  // the harness's own time in loop(), left out of the sketch's counts

void print_count(const char* name, uint64_t n) {  // newlib-nano's printf has no %llu
  printf(" %s %lu%09lu", name, static_cast<unsigned long>(n / 1000000000u), static_cast<unsigned long>(n % 1000000000u));
}

void paint_stack() {
  uint32_t* sp;
  __asm volatile("mov %0, sp" : "=r"(sp));
  for (uint32_t* p = &__stack_top - kPaintedWords; p < sp - 16; ++p) *p = kPaint;
}

uint32_t stack_used() {
  const uint32_t* p = &__stack_top - kPaintedWords;
  while (*p == kPaint) ++p;
  return static_cast<uint32_t>(&__stack_top - p) * 4;
}

}  // namespace

uint32_t board_ticks() { return 0xffffffffu - *kTimerValue; }

// The sketch's interpreter, either constructor, is built with the per-layer profiler (layers.cpp) instead of none.
extern "C" tflite::MicroInterpreter*
__real__ZN6tflite16MicroInterpreterC1EPKNS_5ModelERKNS_15MicroOpResolverEPhjPNS_22MicroResourceVariablesEPNS_22MicroProfilerInterfaceE(
    tflite::MicroInterpreter* self, const tflite::Model* model, const tflite::MicroOpResolver& resolver,
    uint8_t* arena, size_t arena_size, tflite::MicroResourceVariables* variables, tflite::MicroProfilerInterface*);
extern "C" tflite::MicroInterpreter*
__wrap__ZN6tflite16MicroInterpreterC1EPKNS_5ModelERKNS_15MicroOpResolverEPhjPNS_22MicroResourceVariablesEPNS_22MicroProfilerInterfaceE(
    tflite::MicroInterpreter* self, const tflite::Model* model, const tflite::MicroOpResolver& resolver,
    uint8_t* arena, size_t arena_size, tflite::MicroResourceVariables* variables, tflite::MicroProfilerInterface*) {
  return __real__ZN6tflite16MicroInterpreterC1EPKNS_5ModelERKNS_15MicroOpResolverEPhjPNS_22MicroResourceVariablesEPNS_22MicroProfilerInterfaceE(
      self, model, resolver, arena, arena_size, variables, layers_profiler());
}
extern "C" tflite::MicroInterpreter*
__real__ZN6tflite16MicroInterpreterC1EPKNS_5ModelERKNS_15MicroOpResolverEPNS_14MicroAllocatorEPNS_22MicroResourceVariablesEPNS_22MicroProfilerInterfaceE(
    tflite::MicroInterpreter* self, const tflite::Model* model, const tflite::MicroOpResolver& resolver,
    tflite::MicroAllocator* allocator, tflite::MicroResourceVariables* variables, tflite::MicroProfilerInterface*);
extern "C" tflite::MicroInterpreter*
__wrap__ZN6tflite16MicroInterpreterC1EPKNS_5ModelERKNS_15MicroOpResolverEPNS_14MicroAllocatorEPNS_22MicroResourceVariablesEPNS_22MicroProfilerInterfaceE(
    tflite::MicroInterpreter* self, const tflite::Model* model, const tflite::MicroOpResolver& resolver,
    tflite::MicroAllocator* allocator, tflite::MicroResourceVariables* variables, tflite::MicroProfilerInterface*) {
  return __real__ZN6tflite16MicroInterpreterC1EPKNS_5ModelERKNS_15MicroOpResolverEPNS_14MicroAllocatorEPNS_22MicroResourceVariablesEPNS_22MicroProfilerInterfaceE(
      self, model, resolver, allocator, variables, layers_profiler());
}

extern "C" TfLiteStatus __real__ZN6tflite16MicroInterpreter6InvokeEv(tflite::MicroInterpreter* interpreter);

extern "C" TfLiteStatus __wrap__ZN6tflite16MicroInterpreter6InvokeEv(tflite::MicroInterpreter* interpreter) {
  const uint32_t start = board_ticks();
  const TfLiteTensor* in = interpreter->input(0);  // written before the model runs: its memory is reused
  fwrite(in->data.int8, 1, in->bytes, tensors);
  layers_begin_inference();
  const uint32_t invoking = board_ticks();
  const TfLiteStatus status = __real__ZN6tflite16MicroInterpreter6InvokeEv(interpreter);
  const uint32_t invoked = board_ticks();
  const TfLiteTensor* out = interpreter->output(0);
  fwrite(out->data.int8, 1, out->bytes, tensors);
  invoke_ticks += invoked - invoking;
  record_ticks += (invoking - start) + (board_ticks() - invoked);
  ++inferences;
  return status;
}

int main() {
  paint_stack();
  *kTimerReload = 0xffffffffu;
  *kTimerValue = 0xffffffffu;
  *kTimerCtrl = 1;  // enable, no interrupt
  tensors = fopen("kws_tensors.bin", "wb");
  if (tensors == nullptr) {
    printf("qemu: cannot write kws_tensors.bin\n");
    return 1;
  }
  setup();
  uint64_t loop_ticks = 0;
  bool more = true;
  while (more) {
    more = pdm_raise_interrupt();
    const uint32_t start = board_ticks();
    loop();
    loop_ticks += board_ticks() - start;
  }
  fclose(tensors);
  layers_report();
  printf("qemu:");
  print_count("samples", pdm_samples());
  print_count("inferences", inferences);
  print_count("loop_ticks", loop_ticks);
  print_count("invoke_ticks", invoke_ticks);
  print_count("record_ticks", record_ticks);
  print_count("callback_ticks", pdm_callback_ticks());
  print_count("stack_bytes", stack_used());
  printf("\n");
  return 0;
}
