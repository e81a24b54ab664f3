"""Model: the DS-CNN, its training, int8 quantization and evaluation."""

import os

# TensorFlow's C++ log lines are noise to users (Keras 3.15 on TF 2.21 logs an "error" for every epoch about an
# unknown tf.data attribute); real failures still raise Python exceptions.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
