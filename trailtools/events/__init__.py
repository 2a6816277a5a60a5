"""The engine: a source's files -> the normalized events frame and its load statistics.

- ``query``: the query spec (window, regions, accounts, names, resource, principal), built once, pushed down;
- ``layout``: what a file in a CloudTrail tree is, from its path alone; the day folders a window needs;
- ``reader`` (+ the C scanner ``_scan.c``): one file -> records, whatever container it came in; ``records``: their
  typed shape;
- ``chunk``, ``parallel``: chunks of files parsed on all cores; ``cache``: chunks already parsed, as Arrow IPC files;
- ``table``, ``derive``, ``frame``: records -> Arrow tables -> the events frame (duplicates, query, sort);
- ``stats``, ``result``, ``load``: what every load returns, and ``load_events``.
"""
