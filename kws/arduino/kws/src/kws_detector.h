// The streaming detector, as kws/detector.py: feature frames -> sliding window of kNumFrames -> the int8 model every
// kStrideFrames frames (a streaming model: on the newest kInputFrames) -> average of the last kSmoothInferences
// posteriors -> threshold and suppression.
// Portable C++: the model runs behind a function pointer (TFLM on the board, anything in host tests).
#ifndef KWS_DETECTOR_H_
#define KWS_DETECTOR_H_

#include <stdint.h>

#include "kws_config.h"
#include "kws_frontend.h"

namespace kws {

// Runs the model on the window's kNumFrames * kNumFeatures int8 inputs (a streaming model reads the newest
// kInputFrames), writes kNumLabels int8 outputs; false on failure.
typedef bool (*InferFn)(const int8_t* input, int8_t* output, void* user);

struct Detection {
  int label;      // index into kLabels
  double time_s;  // end of the audio consumed when it fired, seconds from the start of the stream
  float score;    // smoothed posterior of the label
};

// q = clamp(round_half_even(x / scale) + zero_point, -128, 127), as kws.runtime.Model.quantize_input.
int8_t quantize_input(float x);
// (q - zero_point) * scale, as kws.runtime.Model.predict.
float dequantize_output(int8_t q);

// Fires when a keyword is the best label with a score at or above the threshold, once per run of such
// inferences and at most once per suppression window (kws.detector.Decider).
class Decider {
 public:
  Decider() { reset(); }
  void reset() {
    fired_ = false;
    armed_ = true;
  }
  bool step(double time_s, const float* posteriors, Detection* out);

 private:
  bool fired_;
  bool armed_;  // false from a detection until no keyword is above the threshold
  double last_fire_;
};

class Detector {
 public:
  Detector(InferFn infer, void* user);
  void reset();
  // Feeds n <= kHopLength 16-bit samples (at most one frame); returns true when they fired a detection, then in
  // `out`.
  bool push(const int16_t* samples, int n, Detection* out);
  const float* posteriors() const { return posteriors_; }  // the latest smoothed posteriors
  uint32_t updates() const { return updates_; }  // how often posteriors() changed: once per output that counts
  double time_s() const;  // end of the audio consumed, at frame resolution

 private:
  bool on_frame(const float* features, Detection* out);

  InferFn infer_;
  void* user_;
  FeatureStream frontend_;
  Decider decider_;
  int8_t window_[kNumFrames * kNumFeatures];  // the model input, quantized frame by frame, oldest first
  uint32_t frames_;
  float history_[kSmoothInferences][kNumLabels];  // posteriors of the last inferences, oldest first
  int history_count_;
  float posteriors_[kNumLabels];
  uint32_t updates_;
};

}  // namespace kws

#endif  // KWS_DETECTOR_H_
