"""The C extension only; everything else about the package is in pyproject.toml.

`engine._zipdrain` is the bundle export's fast path (see engine/zip_drain.py). It is
optional: without a C compiler the install still succeeds and the export runs in Python.
(setuptools' `ext-modules` table in pyproject.toml is still marked experimental.)
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("engine._zipdrain", sources=["engine/_zipdrain.c"],
                             libraries=["z"], extra_compile_args=["-O2"], optional=True)])
