"""Hotspot runs: where reports cluster far beyond chance, per H3 cell.

``schema`` holds the tables; ``params`` checks a run's parameters once; ``runs``
queues, coalesces and describes run records; ``aggregate`` keeps the per-cell-day and
per-week aggregates the runs read; ``read`` loads per-cell totals, the study area and
the trend cube; ``engine`` runs the statistics of :mod:`geo.stats` over them;
``publish`` writes a run's cells and areas in one transaction; ``outputs`` is what
readers (OGC, tiles, the API, evidence packs) see of them. No Flask, RQ or Redis.
"""
