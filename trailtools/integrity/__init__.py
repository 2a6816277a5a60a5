"""Can the evidence be trusted? CloudTrail's signed digests (``digests``, ``verify``) and the logging coverage of a
window read from the trail itself (``coverage``).
"""
