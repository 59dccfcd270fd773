"""Packaging beyond pyproject.toml: the julia driver ships inside the package.

``julia/generate.jl`` stays in the repository's top-level ``julia/`` folder (docs/architecture.md);
the build maps that folder to the package ``hallctl.julia``, so a wheel installs it as
``hallctl/julia/generate.jl``, where :func:`hallctl.backends.julia.driver_path` looks first.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["hallctl*"]), "hallctl.julia"],
    package_dir={"hallctl.julia": "julia"},
    package_data={"hallctl": ["py.typed"], "hallctl.julia": ["*.jl"]},
)
