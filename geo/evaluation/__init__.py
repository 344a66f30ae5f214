"""Interventions and programme evaluation: what the city did, and whether it worked.

Modules:

- ``schema``: the ``interventions`` and ``intervention_evaluations`` tables.
- ``interventions``: check, record, change and delete interventions (API and import).
- ``importer``: interventions from GeoJSON, GeoPackage, Shapefile or CSV with WKT.
- ``records``: the evaluation's job record (queue through the outbox, claim, publish).
- ``cells``: treated cells of a footprint, eligible and matched control cells, the
  monthly panel of report counts.
- ``model``: difference-in-differences on counts (Poisson GLM with cell and period
  effects, cluster-robust by cell), the pre-trend check; plain arrays in and out.
- ``evaluate``: one intervention end to end: windows, data rules, estimate, placebo,
  hotspot change, cost per avoided report and the caveats.

The method and its references are in docs/evaluation.md.
"""
