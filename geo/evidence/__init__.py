"""Evidence packs for grant writers: the numbers (SQL), charts, PDF and data files.

``query`` reads the numbers, ``budget`` turns them into a funding request,
``charts`` and ``pdf`` draw them, ``pack`` writes the files; ``exports`` keeps the
request records and ``links`` signs download links. No Flask, RQ or Redis here.
"""
