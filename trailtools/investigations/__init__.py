"""The investigations. Each has ``gather`` (every read, once: all the I/O) and ``analysis`` (pure functions from
frames to a verdict and findings); their charts are in :mod:`trailtools.views`.
"""
