"""Datasets: the three folder layouts, splits, masks from annotations, augmentation, upload."""
