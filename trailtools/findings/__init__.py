"""Findings: what an analysis concluded, with its evidence (``model``), and the versioned findings JSON written
beside every report (``schema``).
"""
