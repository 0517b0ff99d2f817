"""The model: an RGB image to wall and opening probabilities.

* :mod:`~model_code.model.checkpoint` - the one checkpoint format (``model.safetensors`` +
  ``model.json``): spec, metadata, reading and writing;
* :mod:`~model_code.model.network` - the smp U-Net a spec describes, with a checkpoint's weights;
* :mod:`~model_code.model.runtimes` - every way to run the forward pass (eager, TorchScript, ONNX Runtime);
* :mod:`~model_code.model.export_cache` - each checkpoint's ONNX export, made once and cached;
* :mod:`~model_code.model.loader` - :func:`~model_code.model.loader.load_model`, the one loader;
* :mod:`~model_code.model.inference` - probabilities for an image: resize, tiling, blending;
* :mod:`~model_code.model.baseline` - the classical OpenCV mask producer (``backend=opencv``).

Configuration (threads, runtime, cache folder) comes in as arguments or the environment
variables documented per function, never by importing serving code.
"""
