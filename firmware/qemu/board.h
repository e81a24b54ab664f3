// What the emulated board's stand-ins share with its main (main.cpp).
#ifndef KWS_QEMU_BOARD_H_
#define KWS_QEMU_BOARD_H_

#include <stdint.h>

// Emulated time in ticks of the board's 25 MHz timer (wraps after 171 s); under `-icount shift=0` one
// instruction takes 1 ns of it, so a tick is 40 instructions.
uint32_t board_ticks();

// Raises the PDM interrupt, which hands the sketch the next block of the audio file; false once the audio has ended.
bool pdm_raise_interrupt();
// Samples delivered so far, and ticks spent in the sketch's onReceive callback.
uint32_t pdm_samples();
uint64_t pdm_callback_ticks();

// Per-layer counts (layers.cpp): the profiler the interpreter times its operators with; a new inference starts;
// one line per layer at the end of the run.
namespace tflite {
class MicroProfilerInterface;
}
tflite::MicroProfilerInterface* layers_profiler();
void layers_begin_inference();
void layers_report();

#endif  // KWS_QEMU_BOARD_H_
