"""The result document turned into other forms: :mod:`~model_code.exports.overlay` draws walls,
openings and rooms over the plan.  CAD and GIS exports (DXF, GeoJSON) belong here too.
"""
