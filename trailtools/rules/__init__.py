"""The rules library: small detections over the events frame, one module per family (``defense_evasion``,
``exposure``, ``execution``, ``collection``), each rule with its MITRE ATT&CK mapping, the events it needs, its
explanation, what to check next, and labelled example events (``examples/<family>.json``). docs/rules.md is
generated from them (:mod:`trailtools.rules.docs`); ``trailtools hunt`` runs them over a window."""
