"""Builds install/redisai.so: the C shim (src/) and the Cython core (redisai_module/) in ONE
shared object, linked against the libpython of the virtual environment it will embed.

    .venv/bin/python setup.py build_ext      (run by opt/setup.sh after get_deps.py)
"""
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
CYTHON_OUT = ROOT / "build" / "cython"
GENERATED = ROOT / "build" / "generated"  # rendered templates, found through the include path
INSTALL = ROOT / "install" / "redisai.so"
TORCH_NATIVE = "redisai_module.backends.torch_native"

LIBDIR = sysconfig.get_config_var("LIBDIR")
PYLIB = sysconfig.get_config_var("LDLIBRARY")          # libpython3.X.so
SONAME = sysconfig.get_config_var("INSTSONAME") or PYLIB  # libpython3.X.so.1.0
VENV = sys.prefix                                        # the venv running this build


def git_sha():
    """The commit being built, for INFO's ai_git_sha; "unknown" outside a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


class BuildModule(build_ext):
    """The Redis module (plain file name, copied to install/) and the TORCH adapter's native half
    (a Python extension, copied next to the adapter it belongs to)."""

    def get_ext_filename(self, ext_name):
        return ext_name + ".so" if ext_name == "redisai" else super().get_ext_filename(ext_name)

    def run(self):
        super().run()
        native = self.get_ext_fullpath(TORCH_NATIVE)
        shutil.copy2(native, ROOT / "redisai_module" / "backends" / Path(native).name)
        INSTALL.parent.mkdir(exist_ok=True)
        # Copy then rename: servers that have the old file mapped keep it intact.
        staging = INSTALL.with_suffix(".so.tmp")
        shutil.copy2(self.get_ext_fullpath("redisai"), staging)
        os.replace(staging, INSTALL)
        print(f"module installed at {INSTALL}")


def render_templates():
    """Each redisai_module/**/X.pxi.in (Tempita, as pandas' _libs) to build/generated/**/X.pxi.
    Written only when the text changes: cythonize rebuilds whatever includes a newer file."""
    from Cython import Tempita
    for template in (ROOT / "redisai_module").rglob("*.pxi.in"):
        out = GENERATED / template.relative_to(ROOT / "redisai_module").with_suffix("")
        text = Tempita.Template(template.read_text(), name=str(template)).substitute()
        if not out.exists() or out.read_text() != text:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text)


render_templates()
core = cythonize(
    [Extension("redisai_core", ["redisai_module/redisai_core.pyx"])],
    build_dir=str(CYTHON_OUT),
    include_path=[str(ROOT), str(GENERATED)],
    compiler_directives={"language_level": 3},
    quiet=True,
)[0]

module = Extension(
    "redisai",
    sources=core.sources + ["src/module.c", "src/python_embed.c", "src/command_table.c",
                            "src/data_types.c", "src/onnx_allocator.cpp"],
    include_dirs=[str(ROOT / "deps" / "redis"), str(ROOT / "src"),
                  str(CYTHON_OUT / "redisai_module"), sysconfig.get_paths()["include"]],
    # RAI_SOURCE_ROOT: where the Python backend adapters (redisai_module/backends/) are imported
    # from when the module runs outside this checkout (src/python_embed.c)
    define_macros=[("RAI_LIBPYTHON_SONAME", f'"{SONAME}"'), ("RAI_DEFAULT_VENV", f'"{VENV}"'),
                   ("RAI_SOURCE_ROOT", f'"{ROOT}"'), ("REDISAI_GIT_SHA", f'"{git_sha()}"')],
    libraries=[PYLIB[3:].split(".so")[0], "stdc++"],  # C++ runtime: src/onnx_allocator.cpp throws
    library_dirs=[LIBDIR],
    runtime_library_dirs=[LIBDIR],
    extra_compile_args=["-fvisibility=hidden",  # only RedisModule_OnLoad (and RegisterCustomOps)
                        "-Wno-unused-function"],
    extra_link_args=["-Wl,--no-undefined"],
)


def torch_native_extension():
    """Built against the pinned torch wheel's headers and libraries (requirements/runtime.txt),
    the way torch's own C++ extensions are; the adapter checks the versions match at load."""
    import torch
    from torch.utils.cpp_extension import include_paths, library_paths
    source = cythonize([Extension(TORCH_NATIVE, ["redisai_module/backends/torch_native.pyx"])],
                       build_dir=str(CYTHON_OUT), compiler_directives={"language_level": 3},
                       quiet=True)[0]
    return Extension(
        TORCH_NATIVE, sources=source.sources, language="c++",
        depends=[str(p) for p in (ROOT / "redisai_module" / "backends").glob("*.hpp")] + [str(ROOT / "src" / "native_runner.h")],
        include_dirs=include_paths() + [str(ROOT / "src"), str(ROOT / "redisai_module" / "backends")],
        define_macros=[("_GLIBCXX_USE_CXX11_ABI", str(int(torch._C._GLIBCXX_USE_CXX11_ABI)))],
        libraries=["torch", "torch_cpu", "c10", "torch_python"],
        library_dirs=library_paths(), runtime_library_dirs=library_paths(),
        extra_compile_args=["-std=c++20", "-O2", "-Wno-unused-function"],
    )


setup(name="redisai-module", ext_modules=[module, torch_native_extension()], cmdclass={"build_ext": BuildModule},
      script_args=sys.argv[1:] or ["build_ext"])
