"""The browser annotation tool: pre-annotate a folder of plans, correct them, export the JSON.

:mod:`~model_code.annotate.app` is the Flask app and the ``annotate`` command,
:mod:`~model_code.annotate.store` the folder state with atomic, conflict-checked saves,
:mod:`~model_code.annotate.checks` the validation rules shown on the plan.
"""
