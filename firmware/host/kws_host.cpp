// Host harness for the sketch's portable C++ (tests/test_firmware.py builds it with g++).
// Reads 16-bit mono PCM on stdin in chunks of the given sizes (cycled), e.g. "1,7,333"; in detect mode the chunks
// go through the sketch's SampleRing, so keep them under its 8192 samples.
//   kws_host mfcc CHUNKS                   writes the feature frames to stdout as float32, kNumFeatures per frame
//   kws_host detect CHUNKS OUTPUTS INPUTS  runs the Detector with recorded int8 model outputs (OUTPUTS, kNumLabels
//                                          per inference) as the model, writes its int8 inputs to INPUTS and
//                                          prints "P time p0 .. pN" per output that counts and "D label time score" per
//                                          detection
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

#include "kws_detector.h"
#include "kws_frontend.h"
#include "kws_ring.h"
#include "kws_tables.h"

namespace {

struct Playback {
  FILE* outputs;
  FILE* inputs;
};

bool play(const int8_t* input, int8_t* output, void* user) {
  Playback* p = static_cast<Playback*>(user);
  fwrite(input, 1, kws::kNumFrames * kws::kNumFeatures, p->inputs);
  if (fread(output, 1, kws::kNumLabels, p->outputs) != static_cast<size_t>(kws::kNumLabels)) return false;
  return true;
}

std::vector<int> parse_chunks(const char* text) {  // "1,7,333" -> {1, 7, 333}; empty if any size is < 1
  std::vector<int> sizes;
  char* end = nullptr;
  for (const char* s = text;; s = end + 1) {
    const long n = strtol(s, &end, 10);
    if (n < 1 || end == s) return {};
    sizes.push_back(static_cast<int>(n));
    if (*end != ',') return *end ? std::vector<int>() : sizes;
  }
}

FILE* open_or_die(const char* path, const char* mode) {
  FILE* f = fopen(path, mode);
  if (!f) {
    perror(path);
    exit(2);
  }
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  const bool detect = argc == 5 && strcmp(argv[1], "detect") == 0;
  const std::vector<int> chunks = argc > 2 ? parse_chunks(argv[2]) : std::vector<int>();
  if ((!detect && !(argc == 3 && strcmp(argv[1], "mfcc") == 0)) || chunks.empty()) {
    fprintf(stderr, "usage: kws_host mfcc CHUNKS | kws_host detect CHUNKS OUTPUTS INPUTS (CHUNKS like 1,7,333)\n");
    return 2;
  }
  static kws::FeatureStream frontend;
  Playback playback = {detect ? open_or_die(argv[3], "rb") : nullptr, detect ? open_or_die(argv[4], "wb") : nullptr};
  static kws::Detector detector(play, &playback);
  static kws::SampleRing ring;  // the sketch's path: microphone chunks -> ring -> detector

  std::vector<int16_t> chunk;
  float features[kws::kNumFeatures];
  for (size_t i = 0;; ++i) {
    chunk.resize(chunks[i % chunks.size()]);
    const size_t n = fread(chunk.data(), sizeof(int16_t), chunk.size(), stdin);
    if (n == 0) break;
    if (!detect) {
      for (size_t j = 0; j < n; j += kws::kHopLength) {  // at most a hop at a time
        const int m = n - j < static_cast<size_t>(kws::kHopLength) ? static_cast<int>(n - j) : kws::kHopLength;
        if (frontend.push(chunk.data() + j, m, features)) fwrite(features, sizeof(float), kws::kNumFeatures, stdout);
      }
      continue;
    }
    ring.write(chunk.data(), static_cast<int>(n));
    int16_t samples[kws::kHopLength];
    kws::Detection d;
    for (int m; (m = ring.read(samples, kws::kHopLength)) > 0;) {
      const uint32_t before = detector.updates();
      const bool fired = detector.push(samples, m, &d);
      if (detector.updates() != before) {
        printf("P %.17g", detector.time_s());
        for (int k = 0; k < kws::kNumLabels; ++k) printf(" %.9g", detector.posteriors()[k]);
        printf("\n");
      }
      if (fired) printf("D %s %.17g %.9g\n", kws::kLabels[d.label], d.time_s, d.score);
    }
  }
  return 0;
}
