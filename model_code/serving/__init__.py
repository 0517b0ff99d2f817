"""Serving: the SageMaker inference contract and its clients.

* :mod:`~model_code.serving.app` - the Flask app behind gunicorn (``/ping``, ``/invocations``,
  ``/execution-parameters``);
* :mod:`~model_code.serving.admission` - bounded admission and the one inference thread per
  worker, with the request deadline;
* :mod:`~model_code.serving.readiness` - each worker's readiness, shared so ``/ping`` speaks for all;
* :mod:`~model_code.serving.config` - the one place that reads the server's environment;
* :mod:`~model_code.serving.export` - ``floorplan export``: the ONNX export before the fork;
* :mod:`~model_code.serving.client` - ``detect()`` over boto3, a local URL or in-process, and the
  ``floorplan detect`` command.
"""
