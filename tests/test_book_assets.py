"""The book's vendored browser scripts: pinned, verified, installed where _config.yml points."""

import io
import tarfile

import pytest
import yaml

from effnotes import book_assets
from effnotes.book_assets import (ASSETS, MATHJAX_PATH, REQUIREJS_PATH, WIDGETS_PATH, AssetError,
                                  NpmAsset, fetch_asset, install_asset, tarball_integrity)


def fake_package(tmp_path, files):
    """A tarball laid out like npm's (everything under package/) and its asset pin."""
    cache = tmp_path / "cache"
    cache.mkdir()
    tarball = cache / "fake-1.0.0.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    asset = NpmAsset(name="fake", version="1.0.0", integrity=tarball_integrity(tarball),
                     files=("LICENSE", "dist/*.js"), folder="fake")
    return cache, tarball, asset


def test_config_points_at_the_vendored_files(repo_root):
    config = yaml.safe_load((repo_root / "_config.yml").read_text())["sphinx"]["config"]
    assert config["mathjax_path"] == MATHJAX_PATH
    # the vendored scripts, and the book's own style sheet (not in a top-level _static)
    assert config["html_static_path"] == [book_assets.STAGE_FOLDER, "book/_static"]
    assert config["html_css_files"] == ["effnotes.css"]
    assert not (repo_root / "_static").exists()
    assert [p.name for p in (repo_root / "book" / "_static").iterdir()] == ["effnotes.css"]
    assert list(config["nb_ipywidgets_js"]) == [REQUIREJS_PATH, book_assets.REQUIREJS_PATHS_PATH,
                                                WIDGETS_PATH]
    by_folder = {asset.folder: asset for asset in ASSETS}
    for path in (MATHJAX_PATH, REQUIREJS_PATH, WIDGETS_PATH):  # each is a pinned file
        _, folder, relative = path.split("/", 2)
        assert relative in by_folder[folder].files
    assert all(asset.integrity.startswith("sha512-") and "@" not in asset.version for asset in ASSETS)


def test_install_copies_only_the_wanted_files(tmp_path):
    cache, tarball, asset = fake_package(
        tmp_path, {"LICENSE": "licence", "dist/a.js": "a", "dist/a.js.map": "map", "src/b.js": "b"})
    assert fetch_asset(asset, cache) == tarball  # cached and verified: npm is not asked
    written = install_asset(tarball, asset, tmp_path / "_static")
    target = tmp_path / "_static" / "vendor" / "fake"
    assert sorted(p.relative_to(target).as_posix() for p in written) == ["LICENSE", "dist/a.js"]
    assert (target / "LICENSE").read_text() == "licence"


def test_a_missing_licence_fails_the_install(tmp_path):
    cache, tarball, asset = fake_package(tmp_path, {"dist/a.js": "a"})
    with pytest.raises(AssetError, match="has no LICENSE"):
        install_asset(tarball, asset, tmp_path / "_static")


def test_a_tampered_tarball_is_refetched_and_rejected(tmp_path, monkeypatch):
    cache, tarball, asset = fake_package(tmp_path, {"LICENSE": "x", "dist/a.js": "a"})
    fetched = []
    monkeypatch.setattr(book_assets, "_npm_pack",
                        lambda a, c: fetched.append(a) or tarball.write_bytes(b"still wrong"))
    tarball.write_bytes(b"tampered")  # a cached file that is not the pinned one is fetched again
    with pytest.raises(AssetError, match="not the pinned"):
        fetch_asset(asset, cache)
    assert fetched == [asset]


def test_no_npm_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(book_assets.shutil, "which", lambda name: None)
    _, _, asset = fake_package(tmp_path, {"LICENSE": "x"})
    with pytest.raises(AssetError, match="npm is not on PATH.*apt-get install -y npm"):
        fetch_asset(asset, tmp_path / "empty")
