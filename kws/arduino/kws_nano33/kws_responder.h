// What the board does when it hears a keyword (micro_speech's "command responder"): edit kws_responder.cpp to
// make it do something else, such as switch a pin or send a BLE notification. kws_nano33.ino calls these.
#ifndef KWS_RESPONDER_H_
#define KWS_RESPONDER_H_

#include "kws_detector.h"

namespace kws {

// Once, first thing in setup(): the LED off.
void responder_begin();
// Each detection: the LED in the keyword's colour for kLedOnMs, and "label time s score" on the serial port.
void respond(const Detection& d);
// Each loop(): the LED off when its time is up.
void responder_update();
// A startup error: repeats `why` on the serial port and blinks the LED red, once a second; never returns.
void respond_to_error(const char* why);

}  // namespace kws

#endif  // KWS_RESPONDER_H_
