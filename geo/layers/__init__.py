"""Map layers: features for OGC API – Features and vector tiles, assembled in PostGIS.

``features`` builds feature collections (GeoJSON text) for every family;
``report_features`` applies the privacy rule to reports as features; ``extents``
describes collections (readable runs, extents in space and time); ``tiles`` builds
Mapbox Vector Tiles and the data versions their ETags come from.
"""
