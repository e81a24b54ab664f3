"""Data: the Speech Commands folder layout and splits, augmentation, and the on-disk cache."""
