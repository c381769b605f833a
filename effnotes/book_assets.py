"""The book's browser-side scripts, shipped with the book so that its pages load nothing from
outside the build: MathJax (typesets the maths), RequireJS and the Jupyter widgets HTML manager
(render the embedded widget state).

Each is a pinned npm package, fetched once with ``npm pack`` into a cache folder, checked
against its pinned sha512 integrity, and copied (only the files the pages use, with the
package's licence) into the staged book when it is built, to land in ``_static/vendor/``. Nothing is
fetched while a chapter runs; a cached tarball with the right integrity is never fetched again.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

VENDOR_DIR = "vendor"  # under _static in the built HTML
# The staged book's folder that Sphinx copies into _static (html_static_path in _config.yml).
# Not _static itself: Jupyter Book adds every .js file under a _static source folder to every
# page, which would load all of MathJax's components on each one.
STAGE_FOLDER = "_vendor"


class AssetError(RuntimeError):
    """A vendored script could not be fetched, verified or installed."""


@dataclass(frozen=True)
class NpmAsset:
    """One pinned npm package and the files of it that the book's pages use.

    ``files`` are glob patterns relative to the package root (``*`` crosses folders);
    ``folder`` is where they go under ``_static/vendor/``.
    """

    name: str
    version: str
    integrity: str  # the registry's "sha512-<base64>" of the tarball
    files: tuple[str, ...]
    folder: str

    @property
    def spec(self) -> str:
        """``name@version``, as ``npm pack`` takes it."""
        return f"{self.name}@{self.version}"

    @property
    def tarball_name(self) -> str:
        """The file name ``npm pack`` gives the tarball (scope folded into the name)."""
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"


ASSETS: tuple[NpmAsset, ...] = (
    NpmAsset(
        name="mathjax", version="3.2.2",
        integrity="sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
        # the combined TeX component, the extensions it autoloads, its fonts, and the
        # accessibility/menu parts that its context menu loads on demand
        files=("LICENSE", "es5/tex-mml-chtml.js", "es5/input/*", "es5/output/chtml.js",
               "es5/output/chtml/*", "es5/a11y/*", "es5/ui/*", "es5/sre/*"),
        folder="mathjax"),
    NpmAsset(
        name="requirejs", version="2.3.7",
        integrity="sha512-DouTG8T1WanGok6Qjg2SXuCMzszOo0eHeH9hDZ5Y4x8Je+9JB38HdTLT4/VA8OaUhBa0JPVHJ0pyBkM1z+pDsw==",
        # require.js carries its MIT licence notice in its header; package.json names it
        files=("require.js", "package.json"),
        folder="requirejs"),
    NpmAsset(
        name="@jupyter-widgets/html-manager", version="1.0.12",
        integrity="sha512-gy1+0LQl64sj2OLcnYkGjun6nCKRh1UTTwfLgLqJL9ttS+7s9oYXVj5ODHeOk4estGbWf7IrJZGYMhLhf3kcQQ==",
        # embed-amd.js and the font files it loads from its own folder
        files=("LICENSE", "dist/embed-amd.js", "dist/*.LICENSE.txt", "dist/*.woff2", "dist/*.woff",
               "dist/*.ttf", "dist/*.eot", "dist/*.svg"),
        folder="html-manager"),
)

# Paths (relative to _static) that _config.yml points Sphinx and myst-nb at.
MATHJAX_PATH = f"{VENDOR_DIR}/mathjax/es5/tex-mml-chtml.js"
REQUIREJS_PATH = f"{VENDOR_DIR}/requirejs/require.js"
REQUIREJS_PATHS_PATH = f"{VENDOR_DIR}/requirejs-paths.js"
WIDGETS_PATH = f"{VENDOR_DIR}/html-manager/dist/embed-amd.js"

# Loaded between require.js and embed-amd.js. The widgets manager finds its font files from
# the URL that RequireJS gives its module, which by default is the page's own folder; this
# maps the module to the vendored copy, so its fonts load from beside it.
REQUIREJS_PATHS_JS = """\
// Written by effnotes/book_assets.py: RequireJS finds the vendored widgets manager here.
(function () {
  var here = document.currentScript.src;
  var vendor = here.slice(0, here.lastIndexOf("/") + 1);
  require.config({paths: {"@jupyter-widgets/html-manager": vendor + "html-manager"}});
})();
"""


def default_cache_dir(book_root: Path) -> Path:
    """Where the tarballs are kept: ``$EFFNOTES_ASSET_CACHE`` or ``_build/asset-cache``."""
    override = os.environ.get("EFFNOTES_ASSET_CACHE")
    return Path(override) if override else book_root / "_build" / "asset-cache"


def tarball_integrity(path: Path) -> str:
    """The npm-style ``sha512-<base64>`` integrity string of a file."""
    digest = hashlib.sha512(path.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode("ascii")


def _npm_pack(asset: NpmAsset, cache_dir: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise AssetError(
            f"building the book needs {asset.spec} (npm package) for offline maths and widgets, "
            f"and npm is not on PATH to fetch it: install Node.js and npm (Debian: "
            f"`apt-get install -y npm`), or put {asset.tarball_name} in {cache_dir}")
    command = [npm, "pack", asset.spec, "--pack-destination", str(cache_dir), "--json",
               "--ignore-scripts", "--silent"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    except subprocess.TimeoutExpired as error:
        raise AssetError(f"`npm pack {asset.spec}` did not finish in 300 s") from error
    if done.returncode != 0:
        raise AssetError(f"`npm pack {asset.spec}` failed (exit {done.returncode}) fetching the "
                         f"book's offline scripts; is the npm registry reachable?\n"
                         f"{done.stderr.strip()[-2000:]}")
    try:
        reported = json.loads(done.stdout)[0]["filename"]
    except (ValueError, LookupError, TypeError):
        reported = asset.tarball_name
    if reported != asset.tarball_name and (cache_dir / reported).is_file():
        (cache_dir / reported).replace(cache_dir / asset.tarball_name)


def fetch_asset(asset: NpmAsset, cache_dir: Path) -> Path:
    """The verified tarball of ``asset`` in ``cache_dir``, fetched with ``npm pack`` if it is
    not there yet. Raises :class:`AssetError` if it cannot be fetched or its integrity is not
    the pinned one."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    tarball = cache_dir / asset.tarball_name
    if not tarball.is_file() or tarball_integrity(tarball) != asset.integrity:
        tarball.unlink(missing_ok=True)
        print(f"fetching {asset.spec} with npm pack into {cache_dir}", flush=True)
        _npm_pack(asset, cache_dir)
        if not tarball.is_file():
            raise AssetError(f"`npm pack {asset.spec}` wrote no {asset.tarball_name} in {cache_dir}")
    found = tarball_integrity(tarball)
    if found != asset.integrity:
        raise AssetError(f"{tarball} has integrity {found}, not the pinned {asset.integrity} "
                         f"of {asset.spec}; it was not used")
    return tarball


def _wanted(relative: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(relative, pattern) for pattern in patterns)


def install_asset(tarball: Path, asset: NpmAsset, static_dir: Path) -> list[Path]:
    """Copy the files of ``asset`` that the book uses from ``tarball`` into
    ``static_dir/vendor/<folder>``; returns the files written."""
    target = static_dir / VENDOR_DIR / asset.folder
    if target.exists():
        shutil.rmtree(target)
    written = []
    with tarfile.open(tarball, "r:gz") as archive:
        for member in archive.getmembers():
            if not member.isfile():
                continue
            parts = Path(member.name).parts
            if len(parts) < 2 or ".." in parts:
                continue
            relative = "/".join(parts[1:])  # drop npm's leading "package/"
            if not _wanted(relative, asset.files):
                continue
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(member)
            assert source is not None
            destination.write_bytes(source.read())
            written.append(destination)
    for pattern in asset.files:
        if "*" not in pattern and not (target / pattern).is_file():
            raise AssetError(f"{tarball.name} has no {pattern}, which the book needs from {asset.spec}")
    return written


def install_book_assets(static_dir: Path, cache_dir: Path,
                        assets: tuple[NpmAsset, ...] = ASSETS) -> list[Path]:
    """Fetch (or reuse from ``cache_dir``) and install every vendored package into
    ``static_dir``; returns the files written."""
    written = []
    for asset in assets:
        written += install_asset(fetch_asset(asset, cache_dir), asset, static_dir)
    return written + [write_requirejs_paths(static_dir)]


def write_requirejs_paths(static_dir: Path) -> Path:
    """Write the small RequireJS configuration that points at the vendored widgets manager."""
    target = static_dir / REQUIREJS_PATHS_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(REQUIREJS_PATHS_JS, encoding="utf-8")
    return target
