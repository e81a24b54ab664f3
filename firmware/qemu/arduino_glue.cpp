// The parts of the Arduino mbed core the sketch calls, for the emulated image: the serial port writes to the
// emulator's standard output (semihosting), the clock is the audio the microphone has delivered, the LEDs are
// not emulated.
#include <stdio.h>
#include <stdlib.h>

#include "Arduino.h"
#include "board.h"

SerialStandIn Serial;

size_t SerialStandIn::write(const uint8_t* buffer, size_t size) { return fwrite(buffer, 1, size, stdout); }

void SerialStandIn::flush() { fflush(stdout); }

unsigned long millis() { return pdm_samples() / 16; }  // 16 kHz microphone

// The sketch only waits in fail(), which never returns: end the run there, with the message already printed.
void delay(unsigned long) {
  fflush(stdout);
  exit(2);
}

void analogWrite(pin_size_t, int) {}
