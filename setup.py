"""Builds the reader's optional native fast path (trailtools/_scan.c); everything else is in pyproject.toml.

``optional=True``: where no C compiler is available the package installs without it and the reader uses its pure
Python path, which gives the same frame, only slower.
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("trailtools._scan", ["trailtools/_scan.c"], optional=True,
                             extra_compile_args=["-O2", "-std=c11"])])
