// Microphone ring buffer: one producer (the PDM interrupt) writes, one consumer (loop()) reads.
// When the consumer falls more than kSize samples behind, the oldest samples are skipped and counted.
#ifndef KWS_RING_H_
#define KWS_RING_H_

#include <stdint.h>

#include <atomic>

namespace kws {

class SampleRing {
 public:
  static constexpr uint32_t kSize = 8192;  // samples (512 ms at 16 kHz), a power of two

  void write(const int16_t* samples, int n) {  // producer
    uint32_t head = head_.load(std::memory_order_relaxed);
    for (int i = 0; i < n; ++i) buf_[head++ & (kSize - 1)] = samples[i];
    head_.store(head, std::memory_order_release);
  }

  int read(int16_t* samples, int max) {  // consumer: up to `max` of the oldest samples; 0 when empty
    const uint32_t head = head_.load(std::memory_order_acquire);
    if (head - tail_ > kSize) {
      dropped_ += head - tail_ - kSize;
      tail_ = head - kSize;
    }
    const int n = head - tail_ < static_cast<uint32_t>(max) ? static_cast<int>(head - tail_) : max;
    for (int i = 0; i < n; ++i) samples[i] = buf_[tail_++ & (kSize - 1)];
    return n;
  }

  uint32_t dropped() const { return dropped_; }  // samples skipped so far

 private:
  int16_t buf_[kSize];
  std::atomic<uint32_t> head_{0};  // samples written, ever
  uint32_t tail_ = 0;              // samples read, ever
  uint32_t dropped_ = 0;
};

}  // namespace kws

#endif  // KWS_RING_H_
