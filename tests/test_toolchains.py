"""The reference rows' toolchains: where their builds live (a hash of their sources), what a
missing one says, and what a present one records."""

import json

import pytest

from suite.measure import toolchains
from suite.record.catalog import load_catalog


def test_the_build_directory_follows_the_sources(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.rs").write_text("fn main() {}")
    (tmp_path / "Cargo.toml").write_text("[package]")
    first = toolchains.source_hash(tmp_path)
    assert len(first) == 12 and first == toolchains.source_hash(tmp_path)
    (tmp_path / "target").mkdir()                       # cargo's output is not a source
    (tmp_path / "target" / "x").write_text("built")
    assert toolchains.source_hash(tmp_path) == first
    (tmp_path / "src" / "main.rs").write_text("fn main() { }")
    assert toolchains.source_hash(tmp_path) != first


def _fresh(monkeypatch, tmp_path):
    monkeypatch.setattr(toolchains, "CACHE", tmp_path)
    for probe in (toolchains._node, toolchains._jvm, toolchains._native):
        probe.cache_clear()


def test_a_missing_build_is_one_line_naming_make_setup(monkeypatch, tmp_path):
    _fresh(monkeypatch, tmp_path)
    catalog = load_catalog()
    for name in ("jvm-netty", "rust-hyper"):
        with pytest.raises(toolchains.ToolchainMissing, match=r"run `make setup`") as caught:
            toolchains.toolchain(catalog[name])
        assert "\n" not in str(caught.value)
    monkeypatch.setattr(toolchains, "NODE_MODULES", tmp_path / "nowhere")
    with pytest.raises(toolchains.ToolchainMissing, match="node-mongodb"):
        toolchains.toolchain(catalog["node-cluster"])


def test_a_built_ceiling_records_its_program_and_crates(monkeypatch, tmp_path):
    _fresh(monkeypatch, tmp_path)
    binary = toolchains.rust_build_dir() / "release" / toolchains.RUST_BINARY
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    found = toolchains.toolchain(load_catalog()["rust-hyper"])
    assert found.program == str(binary) and found.build["toolchain"] == "native"
    assert found.build["production"] and {"hyper", "tokio", "mongodb"} <= found.versions.keys()


def test_node_records_the_driver_it_will_load(monkeypatch, tmp_path):
    _fresh(monkeypatch, tmp_path)
    (tmp_path / "mongodb").mkdir()
    (tmp_path / "mongodb" / "package.json").write_text(json.dumps({"version": "3.6.4"}))
    monkeypatch.setattr(toolchains, "NODE_MODULES", tmp_path)
    monkeypatch.setattr(toolchains.shutil, "which", lambda name: "/bin/echo")
    found = toolchains.toolchain(load_catalog()["node-cluster"])
    assert found.versions["mongodb (node)"] == "3.6.4"
    assert found.placeholders == {"node_modules": str(tmp_path)}
