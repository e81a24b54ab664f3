// Streaming front end, as kws/features.py: frame k covers samples [k * hop, k * hop + window), periodic Hann
// window, zero-padded real FFT, power spectrum, mel filterbank, 10 * log10(max(mel, floor)), then for MFCCs a DCT
// with the lifter (KWS_FEATURES_MFCC), for log-mel features the bands themselves.
// Portable C++ (no Arduino or TFLM includes); the tables come from kws_tables.cpp (generated).
#ifndef KWS_FRONTEND_H_
#define KWS_FRONTEND_H_

#include <stdint.h>

#include "kws_config.h"

namespace kws {

class FeatureStream {
 public:
  FeatureStream();
  void reset();
  // Appends n <= kHopLength 16-bit samples (so at most one frame completes). Returns true when they completed a
  // frame; its kNumFeatures features are then in `features`.
  bool push(const int16_t* samples, int n, float* features);

 private:
  // The real FFT of kFftSize points is a complex FFT of half as many points (even samples real, odd imaginary:
  // radix-4 stages, decimation in frequency, then one radix-2 stage if needed) and a split step, taken only for
  // the bins the filterbank reads.
  static constexpr int kHalf = kFftSize / 2;

  void compute(float* features);
  void fft();
  template <int kLive>
  void first_stage(int from, int to);
  // The first stage's butterflies n < first_live(j) have input j (z[n + j kHalf / 4]) inside the window.
  static constexpr int first_live(int j) {
    return kWindowLength / 2 - j * (kHalf / 4) < 0 ? 0
           : kWindowLength / 2 - j * (kHalf / 4) > kHalf / 4 ? kHalf / 4 : kWindowLength / 2 - j * (kHalf / 4);
  }

  float samples_[kWindowLength];  // the frame being filled, oldest sample first
  int fill_;
  int bins_;  // FFT bins the mel filterbank reads: 0 .. bins_ - 1
  float z_[2 * kHalf];  // the half-size complex FFT, in place: real and imaginary parts interleaved
  static constexpr int kTwiddles = 3 * kFftSize / 4;  // the first stage's w^3n reach 3/4 of the circle
  float twiddle_[2 * kTwiddles];  // exp(-2 pi i k / kFftSize), interleaved
  uint16_t where_[kHalf];  // where in z_ the FFT leaves frequency k (its output is in digit-reversed order)
};

}  // namespace kws

#endif  // KWS_FRONTEND_H_
