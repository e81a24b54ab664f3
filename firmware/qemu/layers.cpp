// Per-layer instruction counts of the emulated board: TFLM times every operator of an inference through its
// profiler hook (the interpreter is built with `layers_profiler()`: main.cpp wraps MicroInterpreter's constructors
// at link time), and the CMSIS-NN kernel each operator ran is noted by a two-instruction trampoline in front of it
// (--wrap, see the Makefile). Layers are numbered by their order within an inference; layers_report() prints one
// line per layer: "qemu-layer INDEX OP KERNEL TICKS" (ticks over all inferences, "-" for no CMSIS-NN kernel).
#include <stdint.h>
#include <stdio.h>

#include "board.h"
#include "tensorflow/lite/micro/micro_profiler_interface.h"

// The kernel the operator running now called last (set by the trampolines below).
extern "C" {
const char* kws_kernel = nullptr;
}

namespace {

constexpr int kMaxLayers = 96;
const char* layer_op[kMaxLayers];
const char* layer_kernel[kMaxLayers];
uint64_t layer_ticks[kMaxLayers];
int layer = 0;  // the next layer of the current inference

// TFLM calls BeginEvent before an operator runs and EndEvent after (micro_graph.cpp), one operator at a time.
class LayerProfiler : public tflite::MicroProfilerInterface {
 public:
  uint32_t BeginEvent(const char* tag) override {
    if (layer < kMaxLayers) layer_op[layer] = tag;
    kws_kernel = nullptr;
    start_ = board_ticks();
    return 0;
  }

  void EndEvent(uint32_t) override {
    const uint32_t ticks = board_ticks() - start_;
    if (layer < kMaxLayers) {
      layer_kernel[layer] = kws_kernel;
      layer_ticks[layer] += ticks;
    }
    ++layer;
  }

 private:
  uint32_t start_ = 0;
};

LayerProfiler profiler;

}  // namespace

tflite::MicroProfilerInterface* layers_profiler() { return &profiler; }

void layers_begin_inference() { layer = 0; }

void layers_report() {
  for (int i = 0; i < kMaxLayers && layer_op[i] != nullptr; ++i) {
    printf("qemu-layer %d %s %s %lu\n", i, layer_op[i], layer_kernel[i] ? layer_kernel[i] : "-",
           static_cast<unsigned long>(layer_ticks[i]));
  }
}

// The CMSIS-NN kernels: a trampoline notes the kernel's name in kws_kernel and jumps on, leaving the arguments (r0-r3
// and the stack) as they were. A convolution's wrapper is not noted, only the kernel it dispatched to.
#define KWS_NOTE_KERNEL(NAME)                                  \
  extern "C" {                                                  \
  extern const char kws_name_##NAME[];                          \
  const char kws_name_##NAME[] = #NAME;                         \
  }                                                             \
  __asm__(".global __wrap_" #NAME "\n"                          \
          ".thumb_func\n"                                       \
          "__wrap_" #NAME ":\n"                                 \
          "  push {r0, r1}\n"                                   \
          "  ldr r0, =kws_kernel\n"                             \
          "  ldr r1, =kws_name_" #NAME "\n"                     \
          "  str r1, [r0]\n"                                    \
          "  pop {r0, r1}\n"                                    \
          "  b.w __real_" #NAME "\n"                            \
          "  .ltorg\n");

KWS_NOTE_KERNEL(arm_convolve_1x1_s8_fast)
KWS_NOTE_KERNEL(arm_convolve_1_x_n_s8)
KWS_NOTE_KERNEL(arm_convolve_s8)
KWS_NOTE_KERNEL(arm_depthwise_conv_3x3_s8)
KWS_NOTE_KERNEL(arm_depthwise_conv_s8_opt)
KWS_NOTE_KERNEL(arm_depthwise_conv_s8)
KWS_NOTE_KERNEL(arm_fully_connected_s8)
KWS_NOTE_KERNEL(arm_avgpool_s8)
KWS_NOTE_KERNEL(arm_softmax_s8)
