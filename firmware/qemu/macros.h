// Stand-in for the mbed core's macros.h, which the Nano 33 BLE's pins_arduino.h includes for mbed's PinName.
#ifndef KWS_QEMU_MACROS_H_
#define KWS_QEMU_MACROS_H_

typedef int PinName;

#endif  // KWS_QEMU_MACROS_H_
