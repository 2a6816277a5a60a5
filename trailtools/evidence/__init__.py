"""What investigations read besides the trail: AWS Health, EC2 (scheduled events, status, console output),
CloudWatch status checks, the guest's own logs, GeoIP databases, and the cost data (``cost/``).

Each AWS module keeps ``transform_*`` (a raw response -> a frame), ``read_*`` (saved responses) and ``get_*`` (live
calls) apart; :mod:`.saved` holds what they share.
"""
