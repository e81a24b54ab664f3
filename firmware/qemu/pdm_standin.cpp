// Stand-in for the Nano 33 BLE's PDM driver (ArduinoCore-mbed libraries/PDM/src/nrf52/PDM.cpp) on the emulated
// board: the real PDM.h and PDMDoubleBuffer, with the microphone replaced by kws_audio.raw (16-bit mono 16 kHz
// samples, read through semihosting). Each interrupt hands the sketch one buffer of samples, as the nRF52's DMA
// does, and calls its onReceive callback; like the real driver, available() and read() mask the interrupt.
#include <stdio.h>

#include "PDM.h"
#include "board.h"

namespace {

// The nRF52840's PDM interrupt number, kept on the emulated board; NVIC registers of the Cortex-M4.
constexpr uint32_t kPdmIrq = 30;
volatile uint32_t* const kNvicIser = reinterpret_cast<volatile uint32_t*>(0xE000E100);
volatile uint32_t* const kNvicIcer = reinterpret_cast<volatile uint32_t*>(0xE000E180);
volatile uint32_t* const kNvicIspr = reinterpret_cast<volatile uint32_t*>(0xE000E200);

FILE* audio = nullptr;
volatile bool ended = false;  // shared with the interrupt
volatile uint32_t samples = 0;
uint64_t callback_ticks = 0;

void mask(bool masked) {
  (masked ? kNvicIcer : kNvicIser)[0] = 1u << kPdmIrq;
  __asm volatile("dsb\n isb" ::: "memory");
}

}  // namespace

PDMClass::PDMClass(int dinPin, int clkPin, int pwrPin)
    : _dinPin(dinPin), _clkPin(clkPin), _pwrPin(pwrPin), _channels(-1), _samplerate(-1), _gain(-1), _init(-1),
      _cutSamples(0), _onReceive(nullptr) {}

PDMClass::~PDMClass() {}

int PDMClass::begin(int channels, int sampleRate) {
  if (channels != 1 || sampleRate != 16000) return 0;  // the file holds mono 16 kHz audio
  audio = fopen("kws_audio.raw", "rb");
  if (audio == nullptr) return 0;
  _channels = channels;
  _samplerate = sampleRate;
  _doubleBuffer.reset();
  mask(false);
  return 1;
}

void PDMClass::end() { mask(true); }

int PDMClass::available() {
  mask(true);
  const int n = _doubleBuffer.available();
  mask(false);
  return n;
}

int PDMClass::read(void* buffer, size_t size) {
  mask(true);
  const int n = _doubleBuffer.read(buffer, size);
  mask(false);
  return n;
}

void PDMClass::onReceive(void (*function)(void)) { _onReceive = function; }

void PDMClass::setGain(int gain) { _gain = gain; }

void PDMClass::setBufferSize(int bufferSize) { _doubleBuffer.setSize(bufferSize); }

size_t PDMClass::getBufferSize() { return _doubleBuffer.getSize(); }

void PDMClass::IrqHandler(bool) {
  if (_doubleBuffer.available() != 0) {  // the sketch has not read the last buffer: the real driver stops
    ended = true;
    return;
  }
  uint8_t block[DEFAULT_PDM_BUFFER_SIZE];
  const size_t n = fread(block, 1, _doubleBuffer.getSize() < sizeof(block) ? _doubleBuffer.getSize() : sizeof(block),
                         audio) & ~size_t{1};
  if (n == 0) {
    ended = true;
    return;
  }
  _doubleBuffer.swap(0);
  _doubleBuffer.write(block, n);
  samples += n / 2;
  if (_onReceive) {
    const uint32_t start = board_ticks();
    _onReceive();
    callback_ticks += board_ticks() - start;
  }
}

extern "C" void PDM_IRQHandler_v(void) { PDM.IrqHandler(true); }

PDMClass PDM(PIN_PDM_DIN, PIN_PDM_CLK, PIN_PDM_PWR);

bool pdm_raise_interrupt() {
  kNvicIspr[0] = 1u << kPdmIrq;
  __asm volatile("dsb\n isb" ::: "memory");
  return !ended;
}

uint32_t pdm_samples() { return samples; }

uint64_t pdm_callback_ticks() { return callback_ticks; }
