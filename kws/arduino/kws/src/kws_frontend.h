// Streaming MFCC front end, as kws/features.py: frame k covers samples [k * hop, k * hop + window), periodic Hann
// window, zero-padded real FFT, power spectrum, mel filterbank, 10 * log10(max(mel, floor)), DCT with lifter.
// Portable C++ (no Arduino or TFLM includes); the tables come from kws_tables.cpp (generated).
#ifndef KWS_FRONTEND_H_
#define KWS_FRONTEND_H_

#include "kws_config.h"

namespace kws {

class MfccStream {
 public:
  MfccStream();
  void reset();
  // Appends one sample (full scale +-1). Returns true when it completed a frame; the frame's kNumMfcc
  // coefficients are then in `mfcc`.
  bool push(float sample, float* mfcc);

 private:
  void compute(float* mfcc);
  void fft();

  float samples_[kWindowLength];  // the frame being filled, oldest sample first
  int fill_;
  float re_[kFftSize], im_[kFftSize];
  float tw_re_[kFftSize / 2], tw_im_[kFftSize / 2];  // twiddles exp(-2 pi i k / kFftSize)
};

}  // namespace kws

#endif  // KWS_FRONTEND_H_
