"""The Nano 33 BLE sketch's detection response (kws/arduino/kws_nano33/kws_responder.cpp), built on the host against a stand-in
Arduino.h that logs the LED pins and the serial port and lets the test set the clock."""

import subprocess

from kws.firmware import LIBRARY, boards

SKETCH, SOURCES = boards()["nano33"], LIBRARY / "src"
ARDUINO_H = r"""#pragma once
#include <stdint.h>
#include <stdio.h>
enum { LEDR = 1, LEDG = 2, LEDB = 3 };
extern unsigned long now_ms;
inline unsigned long millis() { return now_ms; }
inline void delay(unsigned long ms) { now_ms += ms; }
inline void analogWrite(int pin, int value) { printf("pin %d %d\n", pin, value); }
struct FakeSerial {
  void print(const char* s) { printf("%s", s); }
  void print(char c) { printf("%c", c); }
  void print(double x, int digits) { printf("%.*f", digits, x); }
  void println(const char* s) { printf("%s\n", s); }
  void println(double x, int digits) { printf("%.*f\n", digits, x); }
};
extern FakeSerial Serial;
"""
MAIN = r"""#include <Arduino.h>
#include "kws_responder.h"
unsigned long now_ms = 0;
FakeSerial Serial;
int main() {
  kws::responder_begin();
  now_ms = 5000;
  kws::respond(kws::Detection{6, 12.5, 0.875f});  // "left", the fifth keyword
  now_ms = 5999;
  kws::responder_update();
  printf("5999 ms\n");
  now_ms = 6000;
  kws::responder_update();
  return 0;
}
"""


def test_a_detection_lights_the_keywords_colour_for_a_second_and_prints_one_line(tmp_path):
    (tmp_path / "Arduino.h").write_text(ARDUINO_H)
    (tmp_path / "main.cpp").write_text(MAIN)
    exe = tmp_path / "responder"
    build = subprocess.run(["g++", "-std=c++17", "-Wall", "-Wextra", f"-I{tmp_path}", f"-I{SKETCH}", f"-I{SOURCES}",
                            str(tmp_path / "main.cpp"), str(SKETCH / "kws_responder.cpp"),
                            str(SOURCES / "kws_tables.cpp"), "-o", str(exe)], capture_output=True, text=True)
    assert build.returncode == 0 and not build.stderr, build.stderr
    off = ["pin 1 255", "pin 2 255", "pin 3 255"]  # active-low
    magenta = ["pin 1 0", "pin 2 255", "pin 3 0"]
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == off + magenta + ["left 12.50 s score 0.88", "5999 ms"] + off
