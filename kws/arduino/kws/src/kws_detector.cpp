#include "kws_detector.h"

#include <math.h>
#include <string.h>

#include "kws_tables.h"

namespace kws {

int8_t quantize_input(float x) {
  const float q = rintf(x / kInputScale) + kInputZeroPoint;  // rintf: round half to even, as numpy
  return static_cast<int8_t>(q < -128.0f ? -128.0f : q > 127.0f ? 127.0f : q);
}

float dequantize_output(int8_t q) { return (static_cast<float>(q) - kOutputZeroPoint) * kOutputScale; }

bool Decider::step(double time_s, const float* posteriors, Detection* out) {
  int best = 0;  // first maximum, as numpy.argmax
  for (int k = 1; k < kNumLabels; ++k) {
    if (posteriors[k] > posteriors[best]) best = k;
  }
  if (!kIsKeyword[best] || !(static_cast<double>(posteriors[best]) >= kThreshold)) {
    armed_ = true;
    return false;
  }
  if (!armed_ || (fired_ && !((time_s - last_fire_) * 1000.0 >= kSuppressionMs))) return false;
  fired_ = true;
  armed_ = false;
  last_fire_ = time_s;
  out->label = best;
  out->time_s = time_s;
  out->score = posteriors[best];
  return true;
}

Detector::Detector(InferFn infer, void* user) : infer_(infer), user_(user) { reset(); }

void Detector::reset() {
  frontend_.reset();
  decider_.reset();
  memset(window_, kInputZeroPoint, sizeof(window_));  // zero features, as the host starts from
  frames_ = 0;
  history_count_ = 0;
  updates_ = 0;
  memset(posteriors_, 0, sizeof(posteriors_));
}

double Detector::time_s() const {
  if (frames_ == 0) return 0.0;
  return (static_cast<double>(kWindowLength) + static_cast<double>(frames_ - 1) * kHopLength) / kSampleRate;
}

bool Detector::push(const int16_t* samples, int n, Detection* out) {
  float features[kNumFeatures];
  return frontend_.push(samples, n, features) && on_frame(features, out);
}

bool Detector::on_frame(const float* features, Detection* out) {
  const int last = (kNumFrames - 1) * kNumFeatures;
  memmove(window_, window_ + kNumFeatures, last);
  for (int c = 0; c < kNumFeatures; ++c) window_[last + c] = quantize_input(features[c]);
  ++frames_;
  // A streaming model (it takes the newest kInputFrames a call and keeps what it needs of them) runs from the first
  // stride on; its output after frame t answers for the window that ends at t + 1. A window model waits for a window.
  // (The host's rule is kws.detector.model_calls; tests/test_firmware.py checks both make the same decisions.)
  const bool streaming = kInputFrames < kNumFrames;
  const uint32_t ready = streaming ? kNumFrames - 1 : kNumFrames;  // frames heard when an output is the window's
  if (frames_ % kStrideFrames != 0 || (!streaming && frames_ < ready)) return false;

  int8_t raw[kNumLabels];
  if (!infer_(window_, raw, user_) || frames_ < ready) return false;
  if (history_count_ == kSmoothInferences) {  // drop the oldest
    memmove(history_[0], history_[1], sizeof(history_[0]) * (kSmoothInferences - 1));
    --history_count_;
  }
  for (int k = 0; k < kNumLabels; ++k) history_[history_count_][k] = dequantize_output(raw[k]);
  ++history_count_;
  ++updates_;
  for (int k = 0; k < kNumLabels; ++k) {  // mean, summed oldest first as numpy does
    float sum = 0.0f;
    for (int i = 0; i < history_count_; ++i) sum += history_[i][k];
    posteriors_[k] = sum / static_cast<float>(history_count_);
  }
  return decider_.step(time_s(), posteriors_, out);
}

}  // namespace kws
