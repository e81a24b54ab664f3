#include "kws_frontend.h"

#include <math.h>
#include <string.h>

#include "kws_tables.h"

namespace kws {

static_assert((kFftSize & (kFftSize - 1)) == 0, "the radix-2 FFT needs a power-of-two size");
static_assert(kHopLength <= kWindowLength && kWindowLength <= kFftSize, "need hop <= window <= FFT size");

MfccStream::MfccStream() {
  const double kTwoPi = 6.283185307179586;
  for (int k = 0; k < kFftSize / 2; ++k) {
    tw_re_[k] = static_cast<float>(cos(kTwoPi * k / kFftSize));
    tw_im_[k] = static_cast<float>(-sin(kTwoPi * k / kFftSize));
  }
  reset();
}

void MfccStream::reset() { fill_ = 0; }

bool MfccStream::push(float sample, float* mfcc) {
  samples_[fill_++] = sample;
  if (fill_ < kWindowLength) return false;
  compute(mfcc);
  // The next frame starts one hop later: keep the overlap.
  memmove(samples_, samples_ + kHopLength, (kWindowLength - kHopLength) * sizeof(float));
  fill_ = kWindowLength - kHopLength;
  return true;
}

void MfccStream::compute(float* mfcc) {
  for (int i = 0; i < kFftSize; ++i) {
    re_[i] = i < kWindowLength ? samples_[i] * kWindow[i] : 0.0f;
    im_[i] = 0.0f;
  }
  fft();
  float* power = re_;  // bins 0 .. kFftSize / 2, in place
  for (int k = 0; k < kNumBins; ++k) power[k] = re_[k] * re_[k] + im_[k] * im_[k];

  float log_mel[kNumMels];
  const float* weight = kMelWeights;
  for (int b = 0; b < kNumMels; ++b) {
    const float* bins = power + kMelFirst[b];
    float mel = 0.0f;
    for (int j = 0; j < kMelCount[b]; ++j) mel += weight[j] * bins[j];
    weight += kMelCount[b];
    log_mel[b] = 10.0f * log10f(mel > kLogFloor ? mel : kLogFloor);
  }
  for (int c = 0; c < kNumMfcc; ++c) {
    const float* row = kDct + c * kNumMels;
    float acc = 0.0f;
    for (int m = 0; m < kNumMels; ++m) acc += row[m] * log_mel[m];
    mfcc[c] = acc;
  }
}

// In-place iterative radix-2 FFT of re_ + i im_.
void MfccStream::fft() {
  for (int i = 1, j = 0; i < kFftSize; ++i) {  // bit-reversal permutation
    int bit = kFftSize >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const float r = re_[i], m = im_[i];
      re_[i] = re_[j], im_[i] = im_[j];
      re_[j] = r, im_[j] = m;
    }
  }
  for (int len = 2; len <= kFftSize; len <<= 1) {
    const int half = len / 2, step = kFftSize / len;
    for (int start = 0; start < kFftSize; start += len) {
      for (int k = 0; k < half; ++k) {
        const int a = start + k, b = a + half;
        const float wr = tw_re_[k * step], wi = tw_im_[k * step];
        const float tr = re_[b] * wr - im_[b] * wi, ti = re_[b] * wi + im_[b] * wr;
        re_[b] = re_[a] - tr, im_[b] = im_[a] - ti;
        re_[a] += tr, im_[a] += ti;
      }
    }
  }
}

}  // namespace kws
