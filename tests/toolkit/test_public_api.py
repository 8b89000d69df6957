"""`toolkit.__all__` is the public API: every name resolves, and importing the package stays light."""

from __future__ import annotations

import subprocess
import sys

import toolkit


def test_every_public_name_resolves() -> None:
    for name in toolkit.__all__:
        assert getattr(toolkit, name) is not None, name


def test_importing_toolkit_does_not_import_torch_or_the_model_stack() -> None:
    code = "import sys, toolkit; toolkit.ToolRegistry; toolkit.Trajectory; print(sorted(m for m in ('torch', 'transformers', 'trl') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"


def test_the_core_never_imports_synthesizers_or_trainers() -> None:
    code = ("import sys, toolkit\n"
            "for n in toolkit.__all__: getattr(toolkit, n)\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'synthesizers', 'trainers'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"
