"""Build the Cython kernels in gradlite/_kernels/.

Metadata lives in pyproject.toml; this file only lists the compiled extensions.
Every ``gradlite/_kernels/*.pyx`` becomes one extension module, compiled with
OpenMP so the kernels' ``prange`` loops use all cores.
"""
import sys
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

if sys.platform == "win32":
    OPENMP_COMPILE, OPENMP_LINK = ["/openmp"], []
elif sys.platform == "darwin":  # Apple clang needs libomp from Homebrew
    OPENMP_COMPILE, OPENMP_LINK = ["-Xpreprocessor", "-fopenmp"], ["-lomp"]
else:
    OPENMP_COMPILE, OPENMP_LINK = ["-fopenmp"], ["-fopenmp"]

extensions = [
    Extension(
        f"gradlite._kernels.{pyx.stem}",
        [str(pyx)],
        include_dirs=[np.get_include()],
        extra_compile_args=["-O3", *OPENMP_COMPILE],
        extra_link_args=OPENMP_LINK,
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    for pyx in sorted(Path("gradlite/_kernels").glob("*.pyx"))
]

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False,
                             "cdivision": True, "initializedcheck": False},
    )
)
