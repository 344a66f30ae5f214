"""Residents' reports: intake, reading and changing them, search, photos, bulk import.

``intake`` checks a new report and writes it with its contact, history and signal in
one statement; ``queries`` reads, lists, confirms and changes existing reports;
``search`` is the privacy-aware Open311 ``GET /requests``; ``photos`` checks, strips,
stores and thumbnails uploads; ``importer`` bulk-loads history through COPY, one row
at a time checked by ``import_rows``. No Flask, RQ or Redis here.
"""
