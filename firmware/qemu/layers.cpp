// Per-layer instruction counts of the emulated board: the CMSIS-NN functions TFLM's kernels call for each layer are
// wrapped at link time (--wrap, see the Makefile) and timed, and the kernel each one dispatched to is noted by a
// two-instruction trampoline in front of it. Layers are numbered by their order within an inference;
// layers_report() prints one line per layer: "qemu-layer INDEX FUNCTION KERNEL TICKS" (ticks over all inferences).
#include <stdint.h>
#include <stdio.h>

#include "board.h"
#include "third_party/cmsis_nn/Include/arm_nnfunctions.h"

namespace {

constexpr int kMaxLayers = 64;
const char* layer_function[kMaxLayers];
const char* layer_kernel[kMaxLayers];
uint64_t layer_ticks[kMaxLayers];
int layer = 0;  // the next layer of the current inference

}  // namespace

// The kernel the last wrapped function dispatched to (set by the trampolines below).
extern "C" {
const char* kws_kernel = nullptr;
}

void layers_begin_inference() { layer = 0; }

void layers_report() {
  for (int i = 0; i < kMaxLayers && layer_function[i] != nullptr; ++i) {
    printf("qemu-layer %d %s %s %lu\n", i, layer_function[i], layer_kernel[i] ? layer_kernel[i] : "-",
           static_cast<unsigned long>(layer_ticks[i]));
  }
}

namespace {

// Times `call` as the current layer, named `function`.
template <typename Call>
auto timed(const char* function, Call call) -> decltype(call()) {
  kws_kernel = nullptr;
  const uint32_t start = board_ticks();
  const auto result = call();
  const uint32_t ticks = board_ticks() - start;
  if (layer < kMaxLayers) {
    layer_function[layer] = function;
    layer_kernel[layer] = kws_kernel;
    layer_ticks[layer] += ticks;
  }
  ++layer;
  return result;
}

}  // namespace

// The top-level functions: C++ wrappers with their signatures.
#define KWS_CONV_ARGS(T, QUANT)                                                                               \
  const cmsis_nn_context *ctx, const T *params, const QUANT *quant_params, const cmsis_nn_dims *input_dims,   \
      const q7_t *input_data, const cmsis_nn_dims *filter_dims, const q7_t *filter_data,                      \
      const cmsis_nn_dims *bias_dims, const int32_t *bias_data, const cmsis_nn_dims *output_dims,             \
      q7_t *output_data
#define KWS_CONV_NAMES \
  ctx, params, quant_params, input_dims, input_data, filter_dims, filter_data, bias_dims, bias_data, output_dims, output_data
#define KWS_WRAP_CONV(NAME, T, QUANT)                                                                 \
  extern "C" arm_cmsis_nn_status __real_##NAME(KWS_CONV_ARGS(T, QUANT));                             \
  extern "C" arm_cmsis_nn_status __wrap_##NAME(KWS_CONV_ARGS(T, QUANT)) {                            \
    return timed(#NAME, [&] { return __real_##NAME(KWS_CONV_NAMES); });                              \
  }

KWS_WRAP_CONV(arm_convolve_wrapper_s8, cmsis_nn_conv_params, cmsis_nn_per_channel_quant_params)
KWS_WRAP_CONV(arm_depthwise_conv_wrapper_s8, cmsis_nn_dw_conv_params, cmsis_nn_per_channel_quant_params)
KWS_WRAP_CONV(arm_fully_connected_s8, cmsis_nn_fc_params, cmsis_nn_per_tensor_quant_params)

extern "C" arm_cmsis_nn_status __real_arm_avgpool_s8(const cmsis_nn_context *ctx, const cmsis_nn_pool_params *params,
                                                     const cmsis_nn_dims *input_dims, const q7_t *input_data,
                                                     const cmsis_nn_dims *filter_dims,
                                                     const cmsis_nn_dims *output_dims, q7_t *output_data);
extern "C" arm_cmsis_nn_status __wrap_arm_avgpool_s8(const cmsis_nn_context *ctx, const cmsis_nn_pool_params *params,
                                                     const cmsis_nn_dims *input_dims, const q7_t *input_data,
                                                     const cmsis_nn_dims *filter_dims,
                                                     const cmsis_nn_dims *output_dims, q7_t *output_data) {
  return timed("arm_avgpool_s8", [&] {
    return __real_arm_avgpool_s8(ctx, params, input_dims, input_data, filter_dims, output_dims, output_data);
  });
}

extern "C" void __real_arm_softmax_s8(const int8_t *input, const int32_t num_rows, const int32_t row_size,
                                      const int32_t mult, const int32_t shift, const int32_t diff_min,
                                      int8_t *output);
extern "C" void __wrap_arm_softmax_s8(const int8_t *input, const int32_t num_rows, const int32_t row_size,
                                      const int32_t mult, const int32_t shift, const int32_t diff_min,
                                      int8_t *output) {
  timed("arm_softmax_s8", [&] {
    __real_arm_softmax_s8(input, num_rows, row_size, mult, shift, diff_min, output);
    return 0;
  });
}

// The kernels the wrappers dispatch to: a trampoline notes the kernel's name in kws_kernel and jumps on, leaving
// the arguments (r0-r3 and the stack) as they were.
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
