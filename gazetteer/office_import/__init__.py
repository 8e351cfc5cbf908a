"""Bring an office's own place-name database in: read, map, convert, check, preview, write.

Modules: ``readers`` (Shapefile zip, GeoPackage, File Geodatabase, GeoJSON, CSV, Excel, in
chunks), ``fields`` (registry fields and the census form's column names), ``coords``
(coordinate systems: stated, guessed, converted to CGCS2000), ``checks`` (per-row
validation, naming rules, duplicates, divisions), ``runs`` (the run: configure, preview,
write in one transaction), ``tables`` (import_runs, import_mappings).
"""
