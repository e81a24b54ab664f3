// The board's response to a detection: the RGB LED and the serial port (see kws_responder.h).
#include "kws_responder.h"

#include <Arduino.h>

#include "kws_tables.h"

namespace kws {
namespace {

constexpr unsigned long kLedOnMs = 1000;
// One colour (R, G, B) per keyword, in label order; cycled if a model has more keywords.
const uint8_t kColours[][3] = {{255, 0, 0},   {0, 255, 0},     {0, 0, 255},  {255, 255, 0}, {255, 0, 255},
                               {0, 255, 255}, {255, 255, 255}, {255, 96, 0}, {96, 0, 255},  {0, 255, 96}};

unsigned long led_off_at = 0;
bool led_on = false;

void set_led(uint8_t r, uint8_t g, uint8_t b) {  // the RGB LED is active-low
  analogWrite(LEDR, 255 - r);
  analogWrite(LEDG, 255 - g);
  analogWrite(LEDB, 255 - b);
}

}  // namespace

void responder_begin() { set_led(0, 0, 0); }

void respond(const Detection& d) {
  int keyword = 0;  // position among the keywords, for the colour
  for (int i = 0; i < d.label; ++i) keyword += kIsKeyword[i];
  const uint8_t* c = kColours[keyword % (sizeof(kColours) / sizeof(kColours[0]))];
  set_led(c[0], c[1], c[2]);
  led_on = true;
  led_off_at = millis() + kLedOnMs;
  Serial.print(kLabels[d.label]);
  Serial.print(' ');
  Serial.print(d.time_s, 2);
  Serial.print(" s score ");
  Serial.println(d.score, 2);
}

void responder_update() {
  if (led_on && (long)(millis() - led_off_at) >= 0) {
    set_led(0, 0, 0);
    led_on = false;
  }
}

void respond_to_error(const char* why) {
  for (;;) {
    Serial.println(why);
    set_led(255, 0, 0);
    delay(250);
    set_led(0, 0, 0);
    delay(750);
  }
}

}  // namespace kws
