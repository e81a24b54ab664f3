"""Model: the DS-CNN, its training, int8 quantization, evaluation, and the metadata that travels in the .tflite."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up INFO/WARNING lines are noise to users
