"""Model: the DS-CNN, its training, int8 quantization, evaluation, and the metadata that travels in the .tflite."""
