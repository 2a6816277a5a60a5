"""Builds the optional native fast paths; everything else is in pyproject.toml.

- trailtools/events/_scan.c: the reader's scanner of CloudTrail JSON into Arrow buffers;
- trailtools/events/_listing.c: counts the files of the folders a query prunes whole.

``optional=True``: where no C compiler is available (or, for _listing, on a system without POSIX folders) the
package installs without them and uses its pure Python paths, which give the same results, only slower.
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("trailtools.events._scan", ["trailtools/events/_scan.c"], optional=True,
                             extra_compile_args=["-O2", "-std=c11"]),
                   Extension("trailtools.events._listing", ["trailtools/events/_listing.c"], optional=True,
                             extra_compile_args=["-O2", "-std=c11"])])
