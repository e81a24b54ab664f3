// Stand-in for the mbed core's I2C library, which TensorFlow Lite Micro's peripherals.h includes; the sketch uses no I2C.
