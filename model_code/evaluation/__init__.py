"""The evaluation suite: run backends over a dataset, score them, write side-by-side reports.

* :mod:`~model_code.evaluation.backends` - parse ``--backend`` specs and load their pipelines;
* :mod:`~model_code.evaluation.truth` - the ground truth of one plan in any dataset layout;
* :mod:`~model_code.evaluation.scoring` - one plan's scores for one backend (from :mod:`.metrics`);
* :mod:`~model_code.evaluation.runner` - the loop over plans (optionally in worker processes);
* :mod:`~model_code.evaluation.report` - aggregation with bootstrap CIs, ``report.md``/``report.json``;
* :mod:`~model_code.evaluation.pictures` - overlays, rooms by type, galleries of the worst plans.

The ``floorplan evaluate`` command lives in :mod:`model_code.evaluation.cli`.
"""
