"""What every domain uses: the store and its migrations runner, settings, typed errors,
coordinate systems and geodesy, dates, the audit log, backup, and accounts.

Nothing here imports the domain packages (``gazetteer`` proper, ``boundaries``) or the web
layer; they import from here.
"""
