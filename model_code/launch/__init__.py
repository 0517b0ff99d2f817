"""Launching work on SageMaker from outside: training jobs, endpoint deploys and batch transforms
(:mod:`~model_code.launch.jobs`, the ``floorplan launch`` command).
"""
