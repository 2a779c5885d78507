"""Build the Cython kernels in gradlite/_kernels/.

Metadata lives in pyproject.toml; this file only lists the compiled extensions.
Every ``gradlite/_kernels/*.pyx`` becomes one extension module, compiled with OpenMP so
the kernels' ``prange`` loops use all cores. The build targets the compiler's default
instruction set (baseline x86-64 on x86), so one build runs on any CPU of its
architecture; the direct conv kernels' register tiles (``conv_tiles.h``) carry their
own AVX2 and AVX-512 copies and pick one at run time.
"""
import os
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
OPTIMIZE = ["/O2"] if sys.platform == "win32" else ["-O3"]

KERNELS = Path("gradlite/_kernels")

# Plain Python modules that Cython also compiles: the .py stays the source to read (and
# runs as is when uncompiled); a .pxd next to it declares the C types. The tensor engine's
# hot path (the graph, Tensor, the most used ops) is among them unless the build is asked
# for the plain Python engine, GRADLITE_PLAIN_ENGINE=1 (CI tests that build too).
ENGINE = ["autograd", "tensor", "ops.util", "ops.elementwise", "ops.activation", "ops.reduce"]
PLAIN_ENGINE = os.environ.get("GRADLITE_PLAIN_ENGINE", "") not in ("", "0")
PURE_PYTHON_COMPILED = ["scalar"] + ([] if PLAIN_ENGINE else ENGINE)

extensions = [
    Extension(
        f"gradlite._kernels.{pyx.stem}",
        [str(pyx)],
        include_dirs=[np.get_include(), str(KERNELS)],
        depends=[str(h) for h in sorted(KERNELS.glob("*.h"))],
        extra_compile_args=[*OPTIMIZE, *OPENMP_COMPILE],
        extra_link_args=OPENMP_LINK,
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    for pyx in sorted(KERNELS.glob("*.pyx"))
]
pure_python_extensions = [
    Extension(f"gradlite.{name}", [f"gradlite/{name.replace('.', '/')}.py"],
              extra_compile_args=OPTIMIZE)
    for name in PURE_PYTHON_COMPILED
]

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False,
                             "cdivision": True, "initializedcheck": False},
    ) + cythonize(pure_python_extensions, language_level=3)
)
