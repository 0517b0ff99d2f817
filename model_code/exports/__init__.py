"""The result document turned into other forms.

* :mod:`~model_code.exports.overlay` draws walls, openings and rooms over the plan (PNG);
* :mod:`~model_code.exports.svg`, :mod:`~model_code.exports.geojson` and
  :mod:`~model_code.exports.dxf` write it as an SVG drawing, a GeoJSON FeatureCollection and a
  DXF drawing; :mod:`~model_code.exports.formats` finds them by name or media type and
  :mod:`~model_code.exports.shapes` holds what they share (units, bands, room labels).
"""
