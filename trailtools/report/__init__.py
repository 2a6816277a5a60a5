"""Reports that travel: ``run`` executes a notebook with papermill, ``html`` renders one offline, XSS-safe page,
``redact`` masks identifiers, ``provenance`` lists the inputs with their SHA-256.
"""
