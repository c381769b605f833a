"""The packages' lazy exports and their module commands."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["effnotes.mil.beats", "effnotes.masking.corpus"])
def test_module_commands_start_without_a_runpy_warning(module):
    done = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m", module, "--help"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout and "RuntimeWarning" not in done.stderr


def test_lazy_package_exports_resolve_and_reject_unknown_names():
    import effnotes.masking as masking
    import effnotes.mil as mil

    for package in (mil, masking):
        assert sorted(dir(package)) == sorted(package.__all__)
        assert all(getattr(package, name) is not None for name in package.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        mil.nothing


def test_a_function_named_like_its_module_survives_the_module_import():
    # importing effnotes.masking.experiment imports effnotes.masking.pretrain, which binds
    # the package attribute `pretrain`; the package must still export the function
    code = ("import effnotes.masking.experiment\n"
            "from effnotes.masking import pretrain, pack_chunks\n"
            "assert callable(pretrain) and callable(pack_chunks), (pretrain, pack_chunks)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


def test_lazy_exports_refuse_a_name_that_is_also_a_submodule():
    from effnotes._lazy import lazy_exports

    with pytest.raises(ValueError, match="'pretrain' is both"):
        lazy_exports("effnotes.masking", {"pretrain": ["pretrain"]})
