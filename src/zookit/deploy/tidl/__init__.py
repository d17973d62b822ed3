"""TI Deep Learning (TIDL): import packages, TI's prototxt schemas, the accelerator operator check."""
