"""Administrative boundaries (行政区域界线): lines derived from the division polygons,
the boundary-marker (界桩) inventory, joint inspections (联检), maintenance tasks and
dispute-risk records, with their reports and exports.

Framework-free: the web layer (``webmap.boundaries_api``, ``webmap.boundaries_pages``)
only adapts HTTP to the functions here. Coordinates are CGCS2000 lon/lat (EPSG:4490).
"""
