#include "kws_frontend.h"

#include <math.h>
#include <string.h>

#include <limits>

#include "kws_tables.h"

namespace kws {

static_assert((kFftSize & (kFftSize - 1)) == 0 && kFftSize >= 32, "the FFT needs a power-of-two size >= 32");
static_assert(std::numeric_limits<float>::is_iec559, "decibels() reads IEEE 754 floats");

namespace {

// The FFT's stages: radix 4 down to a last block of 8 (radix 8) or 4 (radix 4).
int radix_at(int length) { return length == 8 ? 8 : 4; }

constexpr float kSqrtHalf = 0.70710678118654752f;

// 10 * log10(x) for a normal float x > 0: x = m 2^e with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(t) with
// t = (m - 1) / (m + 1), |t| < 0.172, from its series to t^9 (truncation error < 1e-9, below float rounding);
// a quarter of log10f's instructions on the Cortex-M4.
float decibels(float x) {
  uint32_t bits;
  memcpy(&bits, &x, sizeof(bits));
  int e = static_cast<int>(bits >> 23) - 127;
  bits = (bits & 0x007fffffu) | 0x3f800000u;  // m in [1, 2)
  float m;
  memcpy(&m, &bits, sizeof(m));
  if (m > 1.41421356f) m *= 0.5f, ++e;
  const float t = (m - 1.0f) / (m + 1.0f), t2 = t * t;
  const float ln_m = 2.0f * t * (1.0f + t2 * (1.0f / 3 + t2 * (1.0f / 5 + t2 * (1.0f / 7 + t2 * (1.0f / 9)))));
  return 4.34294481903251828f * (ln_m + 0.693147180559945309f * static_cast<float>(e));  // 10 / ln 10
}

// A radix-4 decimation-in-frequency butterfly: (a0, a1, a2, a3) -> p0 = sum and p1..p3 = the DFT's outputs 1..3
// times w1..w3, each complex as (real, imaginary).
// Always inlined: a call passing 15 arguments costs as much as the butterfly (the sketch is built with -Os).
__attribute__((always_inline)) inline void butterfly4(float a0r, float a0i, float a1r, float a1i, float a2r,
                                                      float a2i, float a3r, float a3i, const float* w1,
                                                      const float* w2, const float* w3, float* p0, float* p1,
                                                      float* p2, float* p3) {
  const float w1r = w1[0], w1i = w1[1], w2r = w2[0], w2i = w2[1], w3r = w3[0], w3i = w3[1];
  const float b0r = a0r + a2r, b0i = a0i + a2i, b1r = a0r - a2r, b1i = a0i - a2i;
  const float b2r = a1r + a3r, b2i = a1i + a3i, b3r = a1i - a3i, b3i = a3r - a1r;  // b3 = -i (a1 - a3)
  const float y1r = b1r + b3r, y1i = b1i + b3i, y2r = b0r - b2r, y2i = b0i - b2i;
  const float y3r = b1r - b3r, y3i = b1i - b3i;
  p0[0] = b0r + b2r, p0[1] = b0i + b2i;
  p1[0] = y1r * w1r - y1i * w1i, p1[1] = y1r * w1i + y1i * w1r;
  p2[0] = y2r * w2r - y2i * w2i, p2[1] = y2r * w2i + y2i * w2r;
  p3[0] = y3r * w3r - y3i * w3i, p3[1] = y3r * w3i + y3i * w3r;
}

}  // namespace

static_assert(kHopLength <= kWindowLength && kWindowLength <= kFftSize, "need hop <= window <= FFT size");
static_assert(kWindowLength % 2 == 0, "samples go into the half-size FFT in pairs");

FeatureStream::FeatureStream() {
  const double kTwoPi = 6.283185307179586;
  for (int k = 0; k < kTwiddles; ++k) {
    twiddle_[2 * k] = static_cast<float>(cos(kTwoPi * k / kFftSize));
    twiddle_[2 * k + 1] = static_cast<float>(-sin(kTwoPi * k / kFftSize));
  }
  // Each stage of length L and radix r leaves frequency r * m + q of its block in sub-block q, at the position the
  // next stages give frequency m.
  for (int k = 0; k < kHalf; ++k) {
    int position = 0, rest = k;
    for (int length = kHalf; length > 1;) {
      const int radix = radix_at(length);
      length /= radix;
      position += (rest % radix) * length;
      rest /= radix;
    }
    where_[k] = static_cast<uint16_t>(2 * position);
  }
  bins_ = 0;
  for (int b = 0; b < kNumMels; ++b) {
    if (kMelFirst[b] + kMelCount[b] > bins_) bins_ = kMelFirst[b] + kMelCount[b];
  }
  reset();
}

void FeatureStream::reset() { fill_ = 0; }

bool FeatureStream::push(const int16_t* samples, int n, float* features) {
  const int now = n < kWindowLength - fill_ ? n : kWindowLength - fill_;
  for (int i = 0; i < now; ++i) samples_[fill_ + i] = samples[i] * (1.0f / 32768.0f);
  fill_ += now;
  if (fill_ < kWindowLength) return false;
  compute(features);
  // The next frame starts one hop later: keep the overlap, then the rest of the samples.
  memmove(samples_, samples_ + kHopLength, (kWindowLength - kHopLength) * sizeof(float));
  fill_ = kWindowLength - kHopLength;
  for (int i = now; i < n; ++i) samples_[fill_++] = samples[i] * (1.0f / 32768.0f);
  return true;
}

void FeatureStream::compute(float* features) {
  fft();

  // Split: X[k] = (Z[k] + conj Z[M - k]) / 2 - i w^k (Z[k] - conj Z[M - k]) / 2, with M = kHalf, Z[M] = Z[0] and
  // w = exp(-2 pi i / kFftSize); only the power of the bins the filterbank reads, 4 |X[k]|^2 (the 1/4 is taken once
  // per band: a power of two, so the same floats).
  float power[kHalf + 1];
  power[0] = 4.0f * (z_[0] + z_[1]) * (z_[0] + z_[1]);  // Z[0] = Z[M]: X[0] = Re Z[0] + Im Z[0]
  const int last = bins_ < kHalf ? bins_ : kHalf;
  for (int k = 1; k < last; ++k) {
    const float* a = z_ + where_[k];
    const float* b = z_ + where_[kHalf - k];
    const float sr = a[0] + b[0], si = a[1] - b[1];  // Z[k] + conj Z[M - k]
    const float dr = a[0] - b[0], di = a[1] + b[1];  // Z[k] - conj Z[M - k]
    const float wr = twiddle_[2 * k], wi = twiddle_[2 * k + 1];
    const float xr = sr + wr * di + wi * dr, xi = si + wi * di - wr * dr;  // 2 X[k]
    power[k] = xr * xr + xi * xi;
  }
  if (bins_ > kHalf) power[kHalf] = 4.0f * (z_[0] - z_[1]) * (z_[0] - z_[1]);  // X[M] = Re Z[0] - Im Z[0]

  float log_mel[kNumMels];
  const float* weight = kMelWeights;
  for (int b = 0; b < kNumMels; ++b) {
    const float* bins = power + kMelFirst[b];
    float mel = 0.0f;
    for (int j = 0; j < kMelCount[b]; ++j) mel += weight[j] * bins[j];
    mel *= 0.25f;
    weight += kMelCount[b];
    log_mel[b] = decibels(mel > kLogFloor ? mel : kLogFloor);
  }
#if KWS_FEATURES_MFCC
  for (int c = 0; c < kNumFeatures; ++c) {
    const float* row = kDct + c * kNumMels;
    float acc = 0.0f;
    for (int m = 0; m < kNumMels; ++m) acc += row[m] * log_mel[m];
    features[c] = acc;
  }
#else
  memcpy(features, log_mel, sizeof(log_mel));
#endif
}

// Butterflies [from, to) of the FFT's first stage, the inputs j >= kLive zero.
template <int kLive>
void FeatureStream::first_stage(int from, int to) {
  constexpr int kQuarter = kHalf / 4;
  const float* x = samples_ + 2 * from;
  const float* w = kWindow + 2 * from;
  float* p = z_ + 2 * from;
  constexpr int kStep = 2 * (kFftSize / kHalf);  // w_kHalf^j = twiddle_[j * kStep]
  const float *w1 = twiddle_ + kStep * from, *w2 = w1 + kStep * from, *w3 = w2 + kStep * from;
  for (int n = from; n < to; ++n, x += 2, w += 2, p += 2, w1 += kStep, w2 += 2 * kStep, w3 += 3 * kStep) {
    const float a0r = x[0] * w[0], a0i = x[1] * w[1];
    const float a1r = kLive > 1 ? x[2 * kQuarter] * w[2 * kQuarter] : 0.0f;
    const float a1i = kLive > 1 ? x[2 * kQuarter + 1] * w[2 * kQuarter + 1] : 0.0f;
    const float a2r = kLive > 2 ? x[4 * kQuarter] * w[4 * kQuarter] : 0.0f;
    const float a2i = kLive > 2 ? x[4 * kQuarter + 1] * w[4 * kQuarter + 1] : 0.0f;
    const float a3r = kLive > 3 ? x[6 * kQuarter] * w[6 * kQuarter] : 0.0f;
    const float a3i = kLive > 3 ? x[6 * kQuarter + 1] * w[6 * kQuarter + 1] : 0.0f;
    butterfly4(a0r, a0i, a1r, a1i, a2r, a2i, a3r, a3i, w1, w2, w3, p, p + 2 * kQuarter, p + 4 * kQuarter,
               p + 6 * kQuarter);
  }
}

// In-place complex FFT of z_ (kHalf points), decimation in frequency: radix-4 stages, then a radix-8 stage when
// kHalf is twice a power of 4; the output is where_-ordered.
void FeatureStream::fft() {
  // The first radix-4 stage reads the frame itself, windowed: z[n] = x[2n] + i x[2n + 1], zero from
  // kWindowLength / 2 on, so butterfly n has live inputs j < kLive wherever n + j quarter < kWindowLength / 2.
  first_stage<4>(0, first_live(3));
  first_stage<3>(first_live(3), first_live(2));
  first_stage<2>(first_live(2), first_live(1));
  first_stage<1>(first_live(1), kHalf / 4);
  int length = kHalf / 4;
  for (; radix_at(length) == 4 && length >= 4; length /= 4) {
    const int quarter = length / 4, step = 2 * (kFftSize / length);  // w_length^j = twiddle_[j * step]
    for (float* block = z_; block < z_ + 2 * kHalf; block += 2 * length) {
      float *p0 = block, *p1 = p0 + 2 * quarter, *p2 = p1 + 2 * quarter, *p3 = p2 + 2 * quarter;
      const float *w1 = twiddle_, *w2 = twiddle_, *w3 = twiddle_;
      for (int n = 0; n < quarter; ++n, p0 += 2, p1 += 2, p2 += 2, p3 += 2, w1 += step, w2 += 2 * step,
               w3 += 3 * step) {
        butterfly4(p0[0], p0[1], p1[0], p1[1], p2[0], p2[1], p3[0], p3[1], w1, w2, w3, p0, p1, p2, p3);
      }
    }
  }
  if (length != 8) return;
  // A DFT of 8 on each block, output in order: a radix-2 step (twiddles 1, (1 - i) / sqrt 2, -i,
  // -(1 + i) / sqrt 2), then a DFT of 4 on the sums (even outputs) and one on the twiddled differences (odd).
  for (float* p = z_; p < z_ + 2 * kHalf; p += 16) {
    const float x0r = p[0], x0i = p[1], x1r = p[2], x1i = p[3], x2r = p[4], x2i = p[5], x3r = p[6], x3i = p[7];
    const float x4r = p[8], x4i = p[9], x5r = p[10], x5i = p[11], x6r = p[12], x6i = p[13], x7r = p[14], x7i = p[15];
    const float u0r = x0r + x4r, u0i = x0i + x4i, u1r = x1r + x5r, u1i = x1i + x5i;
    const float u2r = x2r + x6r, u2i = x2i + x6i, u3r = x3r + x7r, u3i = x3i + x7i;
    const float d1r = x1r - x5r, d1i = x1i - x5i, d3r = x3r - x7r, d3i = x3i - x7i;
    const float v0r = x0r - x4r, v0i = x0i - x4i;
    const float v1r = kSqrtHalf * (d1r + d1i), v1i = kSqrtHalf * (d1i - d1r);
    const float v2r = x2i - x6i, v2i = x6r - x2r;
    const float v3r = kSqrtHalf * (d3i - d3r), v3i = -kSqrtHalf * (d3r + d3i);
    // DFT of 4 of u (even outputs) and of v (odd): s = x0 + x2, d = x0 - x2, t = x1 + x3, e = -i (x1 - x3)
    float sr = u0r + u2r, si = u0i + u2i, dr = u0r - u2r, di = u0i - u2i;
    float tr = u1r + u3r, ti = u1i + u3i, er = u1i - u3i, ei = u3r - u1r;
    p[0] = sr + tr, p[1] = si + ti, p[4] = dr + er, p[5] = di + ei;
    p[8] = sr - tr, p[9] = si - ti, p[12] = dr - er, p[13] = di - ei;
    sr = v0r + v2r, si = v0i + v2i, dr = v0r - v2r, di = v0i - v2i;
    tr = v1r + v3r, ti = v1i + v3i, er = v1i - v3i, ei = v3r - v1r;
    p[2] = sr + tr, p[3] = si + ti, p[6] = dr + er, p[7] = di + ei;
    p[10] = sr - tr, p[11] = si - ti, p[14] = dr - er, p[15] = di - ei;
  }
}

}  // namespace kws
