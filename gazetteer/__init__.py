"""Standard place names (地名) of Guangdong: registry, workflows, naming rules and search.

This package is the bottom of the dependency graph (webmap -> boundaries -> gazetteer).
It also holds the shared infrastructure every domain uses: the store (``store``), typed
errors (``errors``), settings (``settings``), geodesy (``geodesy``) and coordinate
reference systems (``crs``). Nothing here imports Flask.
"""
