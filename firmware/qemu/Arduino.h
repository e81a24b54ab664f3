// Stand-in for the Arduino mbed core's Arduino.h, for the emulated image (qemu-system-arm -M mps2-an386): the real
// Arduino API (../shared/vendor/ArduinoCore-API) and the Nano 33 BLE's pin names (its pins_arduino.h), with a
// serial port that prints through semihosting. What the sketch calls of the rest of the core (millis, delay,
// analogWrite) is in arduino_glue.cpp.
#ifndef KWS_QEMU_ARDUINO_H_
#define KWS_QEMU_ARDUINO_H_

#include "api/ArduinoAPI.h"
#include "api/HardwareSerial.h"
#include "api/RingBuffer.h"  // the mbed core's Serial.h brings it; TFLM's system_setup.cpp uses it

using namespace arduino;  // as the mbed core's Arduino.h

#include "pins_arduino.h"

// The USB serial port: writes go to the emulator's standard output, nothing is ever read.
class SerialStandIn : public HardwareSerial {
 public:
  void begin(unsigned long) override {}
  void begin(unsigned long, uint16_t) override {}
  void end() override {}
  int available() override { return 0; }
  int peek() override { return -1; }
  int read() override { return -1; }
  void flush() override;
  size_t write(uint8_t c) override { return write(&c, 1); }
  size_t write(const uint8_t* buffer, size_t size) override;
  using Print::write;
  operator bool() override { return true; }
};

extern SerialStandIn Serial;

#endif  // KWS_QEMU_ARDUINO_H_
