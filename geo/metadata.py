"""Every table of CivicPulse in one ``MetaData``, for Alembic and for tests.

The domain schemas (:mod:`geo.schema`, :mod:`geo.accounts.schema`, :mod:`geo.hotspots.schema`,
:mod:`geo.evidence.schema`, :mod:`geo.evaluation.schema`) each declare their tables
on the shared ``Base``. This module imports all of them so that ``metadata`` is
complete; nothing in the library imports this module, so the schemas never import
one another in a circle.
"""

from __future__ import annotations

from geo import schema
from geo.accounts import schema as accounts_schema
from geo.evaluation import schema as evaluation_schema
from geo.evidence import schema as evidence_schema
from geo.hotspots import schema as hotspot_schema

__all__ = ["metadata"]

metadata = schema.Base.metadata
# The imports above register the domain tables; name them so linters keep them.
_DOMAIN_SCHEMAS = (accounts_schema, evaluation_schema, evidence_schema, hotspot_schema)
