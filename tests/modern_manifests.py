"""A differential case generator: the bundled 2019 projects rewritten the way 2021-2026 manifests
are written, each case answered by cargo 1.95 and by ``registry check``.

The projects in ``tests/fixtures/projects`` are copied, every manifest is parsed into a mapping,
one or more *transforms* edit the mappings (and sometimes the files around them), and the result
is written back with a seeded TOML style (inline tables, ``[dependencies.x]`` sub-tables, dotted
keys). A transform has *variants*; the variant states what the generator means to produce:

``same``    an equivalent manifest: the lock is still up to date;
``relock``  a change the lock does not reflect yet, followed by ``cargo update --workspace``
            (unlocked, against the served index), so the lock is up to date again;
``stale``   a change that needs a new lock;
``refuse``  a manifest (or workspace) cargo refuses to load.

The variant is only the generator's intent. The expectation is always cargo's answer: every case
runs ``cargo update --workspace --locked --offline`` and ``registry --offline check``
(``python -m registry`` in a subprocess) in the same directory, and the two must agree:

=================================  ===================================  =======================
cargo                              how it is recognised                 registry check must exit
=================================  ===================================  =======================
exit 0                             --                                   0
exit 101, the lock must change     ``--locked was passed to prevent``   1
exit 101, no resolve from the lock ``failed to select a version``,      1
                                   ``no matching package named``, ...
exit 101, anything else            manifest, workspace, lockfile load   2
=================================  ===================================  =======================

Cases come from :func:`generate` (seeded): every transform in every variant it supports on the
projects it applies to, then random combinations of several ``same``/``relock`` transforms with,
sometimes, one ``stale`` or ``refuse`` step last. ``python -m tests.modern_manifests`` runs them
all and writes a report of every disagreement (see :func:`main`).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import tomllib
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
INDEX = FIXTURES / "index"
PROJECTS = FIXTURES / "projects"
CARGO = shutil.which("cargo")

Doc = dict[str, Any]

# ---------------------------------------------------------------------------------------------
# TOML writer (the manifests are parsed with tomllib and written back in a seeded style)

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")
_DEP_TABLES = ("dependencies", "dev-dependencies", "build-dependencies")
_DEP_TABLES_ALL = (*_DEP_TABLES, "dev_dependencies", "build_dependencies")


def _key(key: str) -> str:
    return key if _BARE.match(key) else json.dumps(key, ensure_ascii=False)


def _string(value: str) -> str:
    # JSON strings are TOML basic strings, except that TOML has no \/ (json.dumps never emits it)
    return json.dumps(value, ensure_ascii=False)


def _value(value: Any, multiline: bool = False) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        if multiline:  # TOML 1.1: newlines and a trailing comma inside an inline table
            inner = "".join(f"    {_key(k)} = {_value(v)},\n" for k, v in value.items())
            return "{\n" + inner + "}"
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


@dataclass
class Style:
    """How one manifest is written. ``dep`` picks, per dependency entry: ``inline``
    (``x = { ... }``), ``table`` (``[dependencies.x]``), ``dotted`` (``x.workspace = true`` and
    ``x.version = "1"`` when the entry has one key) or ``mixed`` (a seeded choice per entry).
    ``toml11`` writes multi-line inline tables with trailing commas (TOML 1.1, cargo 1.95's parser
    accepts them); ``bom`` and ``crlf`` change the bytes, not the mapping."""

    dep: str = "inline"
    toml11: bool = False
    bom: bool = False
    crlf: bool = False
    seed: int = 0

    @classmethod
    def random(cls, rng: random.Random) -> Style:
        return cls(
            dep=rng.choice(("inline", "table", "dotted", "mixed")), seed=rng.randrange(1 << 30)
        )


def _is_dep_table(path: tuple[str, ...]) -> bool:
    if not path:
        return False
    last = path[-1]
    if last in _DEP_TABLES_ALL and (len(path) == 1 or (len(path) == 3 and path[0] == "target")):
        return True
    if path in (("workspace", "dependencies"), ("replace",)):
        return True
    return len(path) == 2 and path[0] == "patch"


def dumps(doc: Doc, style: Style | None = None) -> str:
    """``doc`` as TOML text. Tables nest as ``[a.b]`` headers, lists of tables as ``[[a]]``."""
    style = style or Style()
    rng = random.Random(style.seed)
    out: list[str] = []

    def entry_style() -> str:
        return rng.choice(("inline", "table", "dotted")) if style.dep == "mixed" else style.dep

    def emit(path: tuple[str, ...], table: Doc, header: bool) -> None:
        if header:
            out.append(f"\n[{'.'.join(_key(p) for p in path)}]\n")
        later: list[tuple[tuple[str, ...], Any, str]] = []
        dep_table = _is_dep_table(path)
        for key, value in table.items():
            sub = (*path, key)
            if isinstance(value, dict):
                if dep_table:
                    how = entry_style()
                    if how == "table" and value:
                        later.append((sub, value, "table"))
                    elif how == "dotted" and len(value) == 1:
                        ((k, v),) = value.items()
                        if isinstance(v, dict):
                            out.append(f"{_key(key)} = {_value(value, style.toml11)}\n")
                        else:
                            out.append(f"{_key(key)}.{_key(k)} = {_value(v)}\n")
                    else:
                        out.append(f"{_key(key)} = {_value(value, style.toml11)}\n")
                elif _inline_small(path, key, value):
                    out.append(f"{_key(key)} = {_value(value, style.toml11)}\n")
                else:
                    later.append((sub, value, "table"))
            elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                later.append((sub, value, "array"))
            else:
                out.append(f"{_key(key)} = {_value(value)}\n")
        for sub, value, kind in later:
            if kind == "table":
                emit(sub, value, True)
            else:
                for item in value:
                    out.append(f"\n[[{'.'.join(_key(p) for p in sub)}]]\n")
                    emit(sub, item, False)

    top = dict(doc)
    first = {k: top.pop(k) for k in ("cargo-features",) if k in top}
    emit((), {**first, **top}, False)
    text = "".join(out).lstrip("\n")
    if style.crlf:
        text = text.replace("\n", "\r\n")
    if style.bom:
        text = "\ufeff" + text
    return text


def _inline_small(path: tuple[str, ...], key: str, value: Doc) -> bool:
    """Small leaf tables outside dependency tables (badges, lint configs) stay inline."""
    if path and path[0] == "badges":
        return True
    return (len(path) == 2 and path[0] == "lints") or (
        len(path) == 3 and path[:2] == ("workspace", "lints")
    )


# ---------------------------------------------------------------------------------------------
# the index and the lock


def index_path(name: str) -> str:
    lowered = name.lower()
    if len(lowered) <= 2:
        return f"{len(lowered)}/{lowered}"
    if len(lowered) == 3:
        return f"3/{lowered[0]}/{lowered}"
    return f"{lowered[:2]}/{lowered[2:4]}/{lowered}"


_INDEX_CACHE: dict[str, list[Doc]] = {}


def index_lines(name: str) -> list[Doc]:
    if name not in _INDEX_CACHE:
        path = INDEX / index_path(name)
        lines = path.read_text().splitlines() if path.is_file() else []
        _INDEX_CACHE[name] = [json.loads(line) for line in lines if line.strip()]
    return _INDEX_CACHE[name]


def index_entry(name: str, version: str) -> Doc | None:
    for line in index_lines(name):
        if line["vers"] == version:
            return line
    return None


def index_names() -> list[str]:
    return sorted(p.name for p in INDEX.rglob("*") if p.is_file() and p.name != "config.json")


def _vkey(version: str) -> tuple[int, ...]:
    core = version.split("+", maxsplit=1)[0].split("-", maxsplit=1)[0]
    try:
        return tuple(int(x) for x in core.split("."))
    except ValueError:
        return (0,)


@lru_cache(maxsize=64)
def _lock_packages(text: str) -> tuple[Doc, ...]:
    """The ``[[package]]`` tables of a lockfile's text, parsed once per text: the transforms
    ask a case's lock for versions over and over (a list comprehension may re-read it once per
    dependency), and tomllib on a 2,000-line lock is ~20 ms. Read only: never mutate them."""
    return tuple(tomllib.loads(text).get("package", []))


@dataclass
class Lock:
    text: str

    @property
    def packages(self) -> tuple[Doc, ...]:
        return _lock_packages(self.text)

    def versions(self, name: str, registry: bool = True) -> list[str]:
        return sorted(
            (
                p["version"]
                for p in self.packages
                if p["name"] == name and ("source" in p) == registry
            ),
            key=_vkey,
        )

    def registry_packages(self) -> list[tuple[str, str]]:
        return [(p["name"], p["version"]) for p in self.packages if "source" in p]


# ---------------------------------------------------------------------------------------------
# the project tree


@dataclass
class Dep:
    """One dependency entry of a manifest, with a handle to write it back."""

    rel: str  # the manifest's directory, relative to the project root
    table: tuple[str, ...]  # e.g. ("dependencies",) or ("target", "cfg(unix)", "dev-dependencies")
    key: str
    spec: Doc  # normalized: a plain version string becomes {"version": ...}

    @property
    def name(self) -> str:
        return str(self.spec.get("package", self.key))

    @property
    def kind(self) -> str:
        last = self.table[-1].replace("_", "-")
        return {"dependencies": "normal", "dev-dependencies": "dev", "build-dependencies": "build"}[
            last
        ]

    @property
    def is_registry(self) -> bool:
        return not any(
            k in self.spec for k in ("path", "git", "registry", "workspace", "registry-index")
        )

    @property
    def target(self) -> str | None:
        return self.table[1] if self.table[0] == "target" else None


class Tree:
    """The copied project on disk, with its manifests held as mappings until :meth:`flush`."""

    def __init__(self, base: Path, project: str) -> None:
        self.base = base  # the case directory; the project is base/project, siblings are allowed
        self.project = project
        self.dir = base / project
        self.docs: dict[str, Doc] = {}
        for path in sorted(self.dir.rglob("Cargo.toml")):
            rel = path.parent.relative_to(self.dir).as_posix()
            self.docs[rel] = tomllib.loads(path.read_text())
        self.styles: dict[str, Style] = {}

    # -- manifests -----------------------------------------------------------------------------

    def doc(self, rel: str = ".") -> Doc:
        return self.docs[rel]

    def path(self, rel: str) -> Path:
        return Path(os.path.normpath(self.dir / rel))

    def new_crate(self, rel: str, doc: Doc, lib: bool = True, build: bool = False) -> None:
        directory = self.path(rel)
        (directory / "src").mkdir(parents=True, exist_ok=True)
        (directory / "src" / ("lib.rs" if lib else "main.rs")).write_text("")
        if build:
            (directory / "build.rs").write_text("fn main() {}\n")
        self.docs[rel] = doc

    def remove_crate(self, rel: str) -> None:
        shutil.rmtree(self.path(rel))
        del self.docs[rel]

    def write(self, rel: str, text: str | bytes) -> None:
        path = self.path(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)

    def flush(self, rng: random.Random) -> None:
        for rel, doc in self.docs.items():
            style = self.styles.get(rel) or Style.random(rng)
            self.styles[rel] = style
            text = dumps(doc, style)
            self.path(rel).joinpath("Cargo.toml").write_bytes(text.encode())

    # -- locks ---------------------------------------------------------------------------------

    def lock(self, rel: str = ".") -> Lock:
        return Lock(self.path(rel).joinpath("Cargo.lock").read_text())

    def set_lock(self, text: str, rel: str = ".") -> None:
        self.path(rel).joinpath("Cargo.lock").write_text(text)

    # -- the workspace, as cargo sees it from the root ----------------------------------------

    def is_virtual(self) -> bool:
        return "package" not in self.docs["."]

    def workspace(self) -> Doc | None:
        ws = self.docs["."].get("workspace")
        return ws if isinstance(ws, dict) else None

    def members(self) -> list[str]:
        """Workspace members from the root (root package, ``members``, path dependencies inside
        the root that are not excluded), as cargo's ``find_members`` would find them."""
        ws = self.workspace()
        if ws is None:
            return [] if self.is_virtual() else ["."]
        found: list[str] = []
        exclude = [PurePosixPath(e) for e in ws.get("exclude", [])]
        listed: list[str] = []
        for pattern in ws.get("members", []):
            if any(c in pattern for c in "*?["):
                listed += sorted(
                    p.parent.relative_to(self.dir).as_posix()
                    for p in self.dir.glob(pattern + "/Cargo.toml")
                )
            else:
                listed.append(os.path.normpath(pattern))

        def visit(rel: str, is_path_dep: bool) -> None:
            rel = os.path.normpath(rel)
            if rel in found or rel not in self.docs:
                return
            if is_path_dep and (
                rel.startswith("..") or any(PurePosixPath(rel).is_relative_to(e) for e in exclude)
            ):
                return
            found.append(rel)
            for dep in self.deps(rel):
                if "path" in dep.spec:
                    visit(os.path.normpath(os.path.join(rel, dep.spec["path"])), True)

        for rel in listed:
            visit(rel, False)
        if not self.is_virtual():
            visit(".", False)
        return found

    def packages(self) -> list[str]:
        return [rel for rel, doc in self.docs.items() if "package" in doc]

    def deps(self, rel: str) -> list[Dep]:
        doc = self.docs[rel]
        found: list[Dep] = []

        def scan(table_path: tuple[str, ...], table: Any) -> None:
            if not isinstance(table, dict):
                return
            for key in list(table):
                spec = table[key]
                if isinstance(spec, str):
                    spec = table[key] = {"version": spec}
                if isinstance(spec, dict):
                    found.append(Dep(rel, table_path, key, spec))

        for name in _DEP_TABLES_ALL:
            scan((name,), doc.get(name))
        for cfg, platform in doc.get("target", {}).items():
            for name in _DEP_TABLES_ALL:
                scan(("target", cfg, name), platform.get(name))
        return found

    def table(self, rel: str, path: tuple[str, ...], create: bool = True) -> Doc:
        node = self.docs[rel]
        for part in path:
            if part not in node:
                if not create:
                    raise KeyError(part)
                node[part] = {}
            node = node[part]
        return node

    def set_dep(self, dep: Dep, spec: Doc | None) -> None:
        table = self.table(dep.rel, dep.table)
        if spec is None:
            del table[dep.key]
        else:
            table[dep.key] = spec
            dep.spec = spec

    def package_name(self, rel: str) -> str:
        return str(self.docs[rel]["package"]["name"])


# ---------------------------------------------------------------------------------------------
# transforms


class NotApplicable(Exception):
    """The transform found nothing to work on in this project."""


class SetupError(Exception):
    """Building the case failed (a relock that cargo refused, ...)."""


@dataclass
class Ctx:
    """What a transform works with."""

    tree: Tree
    rng: random.Random
    runner: Runner
    target: str = "."  # where cargo and registry run, relative to the project root
    home_config: str = ""  # extra $CARGO_HOME/config.toml text (then the case gets its own home)
    notes: list[str] = field(default_factory=list)
    relocked: bool = False
    kind: str | None = None  # the sub-kind this step was generated for (None: a seeded choice)

    def choose(self, options: Iterable[str] | dict[str, Any]) -> Any:
        """The step's sub-kind when the case names one of ``options``, else a seeded choice.
        ``options`` is a sequence of labels, or a mapping from labels to the values used."""
        if isinstance(options, dict):
            label = self.kind if self.kind in options else self.rng.choice(sorted(options))
            return options[label]
        labels = list(options)
        return self.kind if self.kind in labels else self.rng.choice(labels)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def relock(self, rel: str | None = None) -> None:
        """Write everything and let cargo rewrite the lock (``cargo update --workspace``, online
        against the served index): the lock is up to date with the manifests again."""
        self.tree.flush(self.rng)
        where = self.tree.path(rel if rel is not None else self.target)
        done = self.runner.cargo(where, locked=False, offline=False, home=self.home())
        if done.returncode != 0:
            if "no matching package named" in done.stderr:
                # the bundled index holds the crates the 2019 locks use, not every crate a
                # feature of theirs could turn on
                raise NotApplicable(f"the bundled index lacks a crate: {first_error(done.stderr)}")
            raise SetupError(f"relock in {where.name} failed: {first_error(done.stderr)}")
        self.relocked = True
        self.note("relocked" + (f" in {rel}" if rel not in (None, ".") else ""))

    def home(self) -> Path | None:
        return self.runner.case_home(self.tree.base, self.home_config) if self.home_config else None

    # -- choices -------------------------------------------------------------------------------

    def pick(self, items: Iterable[Any]) -> Any:
        items = list(items)
        if not items:
            raise NotApplicable("nothing to pick from")
        return self.rng.choice(items)

    def member_deps(
        self, registry_only: bool = True, kinds: Iterable[str] = ("normal", "dev", "build")
    ) -> list[Dep]:
        kinds = tuple(kinds)
        found = []
        for rel in self.tree.members():
            for dep in self.tree.deps(rel):
                if dep.kind in kinds and (dep.is_registry or not registry_only):
                    found.append(dep)
        return found

    def locked_version(self, name: str) -> str | None:
        versions = self.tree.lock().versions(name)
        return versions[-1] if versions else None


@dataclass(frozen=True)
class Transform:
    name: str
    fn: Callable[[Ctx, str], None]
    variants: tuple[str, ...]
    projects: tuple[str, ...]
    doc: str
    combinable: bool = True  # may appear in combinations (in its same/relock variants)
    only: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (variant, projects) narrower than projects
    kinds: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (variant, sub-kinds it enumerates)

    def kinds_for(self, variant: str) -> tuple[str, ...]:
        for v, kinds in self.kinds:
            if v == variant:
                return kinds
        return ()

    def projects_for(self, variant: str) -> tuple[str, ...]:
        """Projects for ``variant`` (``refuse``) or one of its sub-kinds (``refuse.x``)."""
        for key in (variant, variant.partition(".")[0]):
            for v, projects in self.only:
                if v == key:
                    return projects
        return self.projects


TRANSFORMS: dict[str, Transform] = {}
ALL = ("ripgrep", "fd", "bat", "starship", "mdbook", "alacritty", "nushell")
WORKSPACES = ("ripgrep", "alacritty")
ROOT_PACKAGES = ("ripgrep", "fd", "bat", "starship", "mdbook", "nushell")


def transform(
    variants: tuple[str, ...],
    projects: tuple[str, ...] = ALL,
    combinable: bool = True,
    only: dict[str, tuple[str, ...]] | None = None,
    kinds: dict[str, Iterable[str]] | None = None,
) -> Callable[[Callable[[Ctx, str], None]], Callable[[Ctx, str], None]]:
    def register(fn: Callable[[Ctx, str], None]) -> Callable[[Ctx, str], None]:
        name = fn.__name__.removeprefix("t_")
        doc = (fn.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        TRANSFORMS[name] = Transform(
            name,
            fn,
            variants,
            projects,
            doc,
            combinable,
            tuple((only or {}).items()),
            tuple((v, tuple(k)) for v, k in (kinds or {}).items()),
        )
        return fn

    return register


def ensure_workspace(tree: Tree) -> Doc:
    """The root's ``[workspace]`` table (an empty one is added to a lone package: it then is the
    root of a one-member workspace, which changes nothing for the lock)."""
    root = tree.doc(".")
    ws = root.setdefault("workspace", {})
    return ws


def bump(version: str, part: int = 2) -> str:
    nums = [*_vkey(version), 0, 0, 0]
    nums = nums[:3]
    nums[part] += 1
    for i in range(part + 1, 3):
        nums[i] = 0
    return ".".join(str(n) for n in nums)


# -- workspace inheritance ------------------------------------------------------------------------


WS_DEPS_REFUSE = ("missing-key", "optional", "no-table", "workspace-false", "public", "no-source")


@transform(("same", "stale", "refuse"), kinds={"refuse": WS_DEPS_REFUSE})
def t_ws_dependencies(ctx: Ctx, variant: str) -> None:
    """Member dependencies move to ``[workspace.dependencies]`` and are inherited
    (``x.workspace = true``, with the member's own ``features``/``optional`` kept)."""
    tree = ctx.tree
    candidates = [d for d in ctx.member_deps() if "version" in d.spec and d.target is None]
    if not candidates:
        raise NotApplicable("no registry dependency")
    ws = ensure_workspace(tree)
    wsdeps = ws.setdefault("dependencies", {})
    chosen = ctx.rng.sample(candidates, min(len(candidates), ctx.rng.randint(1, 4)))
    moved: list[Dep] = []
    for dep in chosen:
        entry = {
            k: v
            for k, v in dep.spec.items()
            if k in ("version", "package", "default-features", "features")
        }
        if dep.key in wsdeps and wsdeps[dep.key] != entry:
            continue
        if ctx.rng.random() < 0.5 and "features" in entry:
            entry.pop("features")  # the member keeps them
        wsdeps[dep.key] = dict(entry)
        member = {"workspace": True}
        if "features" in dep.spec and "features" not in entry:
            member["features"] = dep.spec["features"]
        if dep.spec.get("optional"):
            member["optional"] = True
        tree.set_dep(dep, member)
        moved.append(dep)
        ctx.note(f"{dep.rel}: {dep.key} inherited from [workspace.dependencies]")
    if variant == "stale":
        dep = ctx.pick(moved)
        locked = ctx.locked_version(dep.name)
        if locked is None:
            raise NotApplicable("not locked")
        wsdeps[dep.key]["version"] = bump(locked)
        ctx.note(f"[workspace.dependencies] {dep.key} raised to {bump(locked)} (locked {locked})")
    elif variant == "refuse":
        how = ctx.choose(WS_DEPS_REFUSE)
        dep = ctx.pick(moved)
        if how == "missing-key":
            tree.table(dep.rel, dep.table)["no-such-dep"] = {"workspace": True}
        elif how == "optional":
            wsdeps[dep.key]["optional"] = True
        elif how == "no-table":
            del ws["dependencies"]
        elif how == "workspace-false":
            tree.table(dep.rel, dep.table)[dep.key] = {"workspace": False}
        elif how == "public":
            wsdeps[dep.key]["public"] = True
        else:  # the inherited entry names no version, path or git
            wsdeps[dep.key] = {"features": []}
        ctx.note(f"refuse: {how}")


WS_DEPS_ODD = ("plain", "self-inherit", "missing-path", "odd-key", "no-source", "git")


@transform(("same",), kinds={"same": WS_DEPS_ODD})
def t_ws_dependencies_unused_oddities(ctx: Ctx, variant: str) -> None:
    """``[workspace.dependencies]`` entries nobody inherits, including ones cargo only warns about
    (``foo = { workspace = true }``, an unknown key, a path that does not exist)."""
    ws = ensure_workspace(ctx.tree)
    wsdeps = ws.setdefault("dependencies", {})
    how = ctx.choose(WS_DEPS_ODD)
    wsdeps[f"unused-{how}"] = {
        "plain": {"version": "1"},
        "self-inherit": {"workspace": True},
        "missing-path": {"path": "no/such/dir"},
        "odd-key": {"version": "1", "no-such-key": True},
        "no-source": {"features": ["std"]},
        "git": {"git": "https://127.0.0.1:9/nothing.git"},
    }[how]
    ctx.note(f"unused [workspace.dependencies] entry: {how}")


WS_PACKAGE_REFUSE = ("license", "rust-version", "homepage", "no-table", "workspace-false")


@transform(("same", "stale", "refuse"), kinds={"refuse": WS_PACKAGE_REFUSE})
def t_ws_package(ctx: Ctx, variant: str) -> None:
    """Package fields move to ``[workspace.package]`` and members say ``field.workspace = true``."""
    tree = ctx.tree
    ws = ensure_workspace(tree)
    wp = ws.setdefault("package", {})
    members = [m for m in tree.members() if "package" in tree.doc(m)]
    if not members:
        raise NotApplicable("no member package")
    versions = [tree.doc(m)["package"].get("version") for m in members]
    versions = [v for v in versions if isinstance(v, str)]
    if not versions:
        raise NotApplicable("every member inherits its version already")
    common = max(set(versions), key=versions.count)
    wp["version"] = common
    inheritors = [m for m in members if tree.doc(m)["package"].get("version") == common]
    for m in inheritors:
        pkg = tree.doc(m)["package"]
        pkg["version"] = {"workspace": True}
        for field_ in ("authors", "license", "edition", "repository", "description"):
            if field_ in pkg and ctx.rng.random() < 0.5:
                value = pkg[field_]
                if field_ not in wp:
                    wp[field_] = value
                if wp[field_] == value:
                    pkg[field_] = {"workspace": True}
    ctx.note(f"[workspace.package] version = {common}, inherited by {', '.join(inheritors)}")
    if variant == "stale":
        wp["version"] = bump(common)
        ctx.note(f"workspace version bumped to {wp['version']}")
    elif variant == "refuse":
        how = ctx.choose(WS_PACKAGE_REFUSE)
        pkg = tree.doc(ctx.pick(inheritors))["package"]
        if how == "no-table":
            del ws["package"]
        elif how == "workspace-false":
            pkg["homepage"] = {"workspace": False}
        else:
            wp.pop(how, None)
            pkg[how] = {"workspace": True}
        ctx.note(f"refuse: {how}")


WS_LINTS_REFUSE = (
    "no-ws-lints",
    "override",
    "bad-name",
    "bad-level",
    "check-cfg-not-list",
    "virtual-lints",
)


@transform(
    ("same", "refuse"),
    kinds={"refuse": WS_LINTS_REFUSE},
    only={"refuse.virtual-lints": ("alacritty",)},
)
def t_ws_lints(ctx: Ctx, variant: str) -> None:
    """``[workspace.lints]`` and ``[lints] workspace = true`` in members (lints never change the
    lock; the refusals are cargo's lint-table errors)."""
    tree = ctx.tree
    ws = ensure_workspace(tree)
    ws["lints"] = {
        "rust": {"unsafe_code": "forbid"},
        "clippy": {"all": {"level": "warn", "priority": -1}},
    }
    members = [m for m in tree.members() if "package" in tree.doc(m)]
    if not members:
        raise NotApplicable("no member package")
    for m in members:
        tree.doc(m)["lints"] = {"workspace": True}
    if ctx.rng.random() < 0.5:
        ws["lints"]["unknown-tool"] = {"x": "warn"}  # a warning only
    ctx.note("[workspace.lints] inherited by every member")
    if variant == "refuse":
        how = ctx.choose(WS_LINTS_REFUSE)
        if how == "virtual-lints" and not tree.is_virtual():
            raise NotApplicable("not a virtual root")
        m = ctx.pick(members)
        if how == "no-ws-lints":
            del ws["lints"]
        elif how == "override":
            tree.doc(m)["lints"] = {"workspace": True, "rust": {"unused": "deny"}}
        elif how == "bad-name":
            ws["lints"]["rust"]["clippy::all"] = "warn"
        elif how == "bad-level":
            ws["lints"]["rust"]["unsafe_code"] = "forbidden"
        elif how == "check-cfg-not-list":
            ws["lints"]["rust"]["unexpected_cfgs"] = {"level": "warn", "check-cfg": "cfg(foo)"}
        else:
            tree.doc(".")["lints"] = {"rust": {"unsafe_code": "forbid"}}
        ctx.note(f"refuse: {how}")


@transform(("same", "refuse"))
def t_default_features_inherit(ctx: Ctx, variant: str) -> None:
    """A member says ``default-features = false`` on an inherited dependency whose workspace entry
    keeps default features: ignored with a warning before edition 2024, an error from 2024."""
    tree = ctx.tree
    candidates = [
        d
        for d in ctx.member_deps(kinds=("normal",))
        if "version" in d.spec and d.spec.get("default-features", True) and d.target is None
    ]
    dep = ctx.pick(candidates)
    ws = ensure_workspace(tree)
    wsdeps = ws.setdefault("dependencies", {})
    if dep.key in wsdeps:
        raise NotApplicable("already inherited")
    wsdeps[dep.key] = {k: v for k, v in dep.spec.items() if k in ("version", "package")}
    member: Doc = {"workspace": True, "default-features": False}
    if "features" in dep.spec:
        member["features"] = dep.spec["features"]
    if dep.spec.get("optional"):
        member["optional"] = True
    tree.set_dep(dep, member)
    edition = "2024" if variant == "refuse" else ctx.rng.choice(("2018", "2021"))
    tree.doc(dep.rel)["package"]["edition"] = edition
    _keep_rust_version_legal(tree.doc(dep.rel)["package"], edition)
    ctx.note(
        f"{dep.rel} (edition {edition}): {dep.key} = "
        "{ workspace = true, default-features = false }"
    )


# -- editions, resolver, rust-version, cargo-features, spellings ---------------------------------

EDITION_MSRV = {"2015": None, "2018": "1.31", "2021": "1.56", "2024": "1.85"}


def _keep_rust_version_legal(pkg: Doc, edition: str) -> None:
    """Raise a package's ``rust-version`` to what its new ``edition`` needs: cargo refuses a
    rust-version older than the edition (found with MODERN_SEED=777: rust_version then
    default_features_inherit moved a 1.31 package to edition 2021)."""
    msrv = EDITION_MSRV[edition]
    rust_version = pkg.get("rust-version")
    if msrv and isinstance(rust_version, str) and _vkey(rust_version) < _vkey(msrv):
        pkg["rust-version"] = msrv


def _set_edition(ctx: Ctx, rel: str, edition: str) -> None:
    pkg = ctx.tree.doc(rel)["package"]
    if isinstance(pkg.get("edition"), dict):
        return  # inherited: leave it
    pkg["edition"] = edition
    _keep_rust_version_legal(pkg, edition)
    doc = ctx.tree.doc(rel)
    if edition == "2024" and (
        any(k in doc for k in ("dev_dependencies", "build_dependencies", "project"))
        or any("default_features" in d.spec for d in ctx.tree.deps(rel))
        or any(
            d.spec.get("workspace") is True and d.spec.get("default-features") is False
            for d in ctx.tree.deps(rel)
        )
    ):
        pkg["edition"] = "2021"  # 2024 would refuse the deprecated spellings


EDITION_BAD = {
    "2019": "2019",
    "2027": "2027",
    "future": "future",
    "trailing-space": "2024 ",
    "empty": "",
    "integer": 2021,
}


@transform(("same", "refuse"), kinds={"refuse": EDITION_BAD})
def t_edition(ctx: Ctx, variant: str) -> None:
    """Packages move to edition 2021 or 2024 (2024 implies resolver 3 for a root package)."""
    tree = ctx.tree
    packages = tree.packages()
    chosen = ctx.rng.sample(packages, ctx.rng.randint(1, len(packages)))
    for rel in chosen:
        edition = ctx.rng.choice(("2015", "2018", "2021", "2024", "2024"))
        _set_edition(ctx, rel, edition)
    listed = ", ".join(f"{r}={tree.doc(r)['package'].get('edition')}" for r in chosen)
    ctx.note(f"editions: {listed}")
    if variant == "refuse":
        rel = ctx.pick(chosen)
        bad = ctx.choose(EDITION_BAD)
        tree.doc(rel)["package"]["edition"] = bad
        ctx.note(f"refuse: {rel} edition = {bad!r}")


RESOLVER_BAD = ("4", "v2", "empty", "integer", "both")


@transform(("same", "refuse"), kinds={"refuse": RESOLVER_BAD})
def t_resolver(ctx: Ctx, variant: str) -> None:
    """``resolver = "1" | "2" | "3"`` in ``[workspace]`` or the root ``[package]``."""
    tree = ctx.tree
    value = ctx.rng.choice(("1", "2", "3"))
    where = "package" if not tree.is_virtual() and ctx.rng.random() < 0.5 else "workspace"
    if where == "package":
        tree.doc(".")["package"]["resolver"] = value
    else:
        ensure_workspace(tree)["resolver"] = value
    ctx.note(f"{where}.resolver = {value}")
    if variant == "refuse":
        how = ctx.choose(RESOLVER_BAD)
        if how == "both" and not tree.is_virtual():
            tree.doc(".")["package"]["resolver"] = "2"
            ensure_workspace(tree)["resolver"] = "2"
        else:
            bad: Any = {"empty": "", "integer": 2, "both": "0"}.get(how, how)
            if where == "package":
                tree.doc(".")["package"]["resolver"] = bad
            else:
                tree.doc(".")["workspace"]["resolver"] = bad
        ctx.note(f"refuse: resolver {how!r}")


def _edition_of(tree: Tree, rel: str) -> str:
    edition = tree.doc(rel)["package"].get("edition", "2015")
    if isinstance(edition, dict):
        edition = tree.doc(".").get("workspace", {}).get("package", {}).get("edition", "2015")
    return str(edition)


RUST_VERSION_BAD: dict[str, str] = {
    "caret": "^1.70",
    "ge": ">=1.70",
    "pre": "1.70.0-beta.1",
    "build": "1.70.0+abc",
    "x-wildcard": "1.x",
    "v-prefix": "v1.70",
    "empty": "",
    "four-parts": "1.70.0.0",
    "latest": "latest",
    "tilde": "~1.70",
    "star": "1.*",
    "older-than-edition": "",
    "two-point-oh": "",
    "two": "",
    "one": "",
}
RUST_VERSION_EDITION_BOUND = ("older-than-edition", "two-point-oh", "two", "one")
RUST_VERSION_ODD_OK = {"trailing-space": "1.70 ", "leading-space": " 1.70", "major-only": "1"}


@transform(("same", "refuse"), kinds={"refuse": RUST_VERSION_BAD, "same": RUST_VERSION_ODD_OK})
def t_rust_version(ctx: Ctx, variant: str) -> None:
    """``rust-version`` on packages (own or inherited from ``[workspace.package]``); refused when
    malformed or older than the package's edition allows."""
    tree = ctx.tree
    packages = tree.packages()
    chosen = ctx.rng.sample(packages, ctx.rng.randint(1, len(packages)))
    for rel in chosen:
        msrv = EDITION_MSRV[_edition_of(tree, rel)] or "1.0"
        minor = msrv.split(".")[1]
        value = ctx.rng.choice(
            (msrv, f"{msrv}.0", f"1.{int(minor) + 7}", f"1.{int(minor) + 3}.2", "1.90")
        )
        tree.doc(rel)["package"]["rust-version"] = value
    ctx.note(f"rust-version on {', '.join(chosen)}")
    if variant == "same" and ctx.kind in RUST_VERSION_ODD_OK:
        rel = ctx.pick(chosen)
        if ctx.kind == "major-only" and _edition_of(tree, rel) != "2015":
            if isinstance(tree.doc(rel)["package"].get("edition"), dict):
                raise NotApplicable("rust-version 1 needs edition 2015")
            tree.doc(rel)["package"]["edition"] = "2015"
        value = RUST_VERSION_ODD_OK[ctx.kind]
        tree.doc(rel)["package"]["rust-version"] = value
        ctx.note(f"{rel}: rust-version = {value!r}")
    if variant == "refuse":
        rel = ctx.pick(chosen)
        edition = _edition_of(tree, rel)
        how = ctx.choose(tuple(RUST_VERSION_BAD))
        if how in RUST_VERSION_EDITION_BOUND:
            if edition == "2015":
                if isinstance(tree.doc(rel)["package"].get("edition"), dict):
                    raise NotApplicable("inherited edition 2015")
                edition = tree.doc(rel)["package"]["edition"] = "2021"
            msrv = EDITION_MSRV[edition]
            older = f"1.{int(msrv.split('.')[1]) - 1}"
            value = {"older-than-edition": older, "two-point-oh": "2.0", "two": "2", "one": "1"}[
                how
            ]
        else:
            value = RUST_VERSION_BAD[how]
        tree.doc(rel)["package"]["rust-version"] = value
        ctx.note(f"refuse: {rel} (edition {edition}) rust-version = {value!r}")


CARGO_FEATURES_OK: dict[str, list[str]] = {
    "edition2024": ["edition2024"],
    "resolver+edition2021": ["resolver", "edition2021"],
    "workspace-inheritance": ["workspace-inheritance"],
    "rust-version": ["rust-version"],
    "named-profiles": ["named-profiles"],
}
CARGO_FEATURES_BAD: dict[str, Any] = {
    "unstable": ["test-dummy-unstable"],
    "open-namespaces": ["open-namespaces"],
    "unknown": ["no-such-feature"],
    "removed": ["publish-lockfile"],
    "underscore": ["edition_2024"],
    "twice": ["edition2024", "edition2024"],
    "in-package": "in-package",
}


@transform(("same", "refuse"), kinds={"same": CARGO_FEATURES_OK, "refuse": CARGO_FEATURES_BAD})
def t_cargo_features(ctx: Ctx, variant: str) -> None:
    """``cargo-features``: a stabilized feature is a warning, an unstable, unknown or removed one
    an error on stable cargo."""
    tree = ctx.tree
    rel = ctx.pick(tree.packages() if variant == "same" or ctx.rng.random() < 0.7 else ["."])
    if variant == "same":
        value = ctx.choose(CARGO_FEATURES_OK)
        tree.doc(rel)["cargo-features"] = value
    else:
        value = ctx.choose(CARGO_FEATURES_BAD)
        if value == "in-package":
            if "package" not in tree.doc(rel):
                rel = ctx.pick(tree.packages())
            tree.doc(rel)["package"]["cargo-features"] = ["edition2024"]
        else:
            tree.doc(rel)["cargo-features"] = value
    ctx.note(f"{rel}: cargo-features {value}")


UNDERSCORE_KINDS = ("table", "key", "both-tables")


@transform(("same", "refuse"), kinds={"same": UNDERSCORE_KINDS, "refuse": UNDERSCORE_KINDS})
def t_underscore_spelling(ctx: Ctx, variant: str) -> None:
    """``dev_dependencies``/``build_dependencies``/``default_features``: deprecated spellings,
    warnings before edition 2024 and errors from 2024. With both ``dev-dependencies`` and
    ``dev_dependencies`` cargo warns and reads only the first: entries of the second do not
    count."""
    tree = ctx.tree
    how = ctx.choose(UNDERSCORE_KINDS)
    options = []
    for rel in tree.packages():
        doc = tree.doc(rel)
        if how in ("table", "both-tables"):
            for table in ("dev-dependencies", "build-dependencies"):
                if table in doc:
                    options.append((rel, table))
        else:
            for dep in tree.deps(rel):
                if "default-features" in dep.spec:
                    options.append((rel, dep))
    rel, what = ctx.pick(options)
    doc = tree.doc(rel)
    if how == "table":
        doc[what.replace("-", "_")] = doc.pop(what)
        label = what.replace("-", "_")
    elif how == "both-tables":
        extra, version = unlocked_index_crate(ctx)
        doc[what.replace("-", "_")] = {**doc[what], extra: {"version": version}}
        label = f"{what} and {what.replace('-', '_')} (with {extra}, ignored)"
    else:
        spec = dict(what.spec)
        spec["default_features"] = spec.pop("default-features")
        tree.set_dep(what, spec)
        label = f"{what.key}.default_features"
    if not isinstance(doc["package"].get("edition"), dict):
        doc["package"]["edition"] = (
            "2024" if variant == "refuse" else ctx.rng.choice(("2015", "2018", "2021"))
        )
    ctx.note(f"{rel}: {label} (edition {doc['package'].get('edition')})")


@transform(("same", "refuse"), combinable=False)
def t_project_table(ctx: Ctx, variant: str) -> None:
    """``[project]`` instead of ``[package]``: deprecated (a warning) before edition 2024, an error
    from 2024."""
    tree = ctx.tree
    rel = ctx.pick(tree.packages())
    doc = tree.doc(rel)
    pkg = doc.pop("package")
    if not isinstance(pkg.get("edition"), dict):
        pkg["edition"] = "2024" if variant == "refuse" else ctx.rng.choice(("2015", "2018", "2021"))
    doc["project"] = pkg
    tree.docs[rel] = {"project": doc.pop("project"), **doc}
    ctx.note(f"{rel}: [project] (edition {pkg.get('edition')})")


# -- features: dep:, ?/, validation ---------------------------------------------------------------


def _feature_values(entry: Doc) -> dict[str, list[str]]:
    features = dict(entry.get("features", {}))
    features.update(entry.get("features2", {}) or {})
    return features


def feature_enables(entry: Doc, feature: str, seen: set[str] | None = None) -> set[str]:
    """Optional dependencies (names in toml) that turning ``feature`` on activates, in the index
    entry ``entry``."""
    seen = seen if seen is not None else set()
    if feature in seen:
        return set()
    seen.add(feature)
    optional = {d["name"] for d in entry["deps"] if d.get("optional")}
    features = _feature_values(entry)
    found: set[str] = set()
    values = features.get(feature)
    if values is None:
        return {feature} if feature in optional else set()
    for value in values:
        if value.startswith("dep:"):
            found.add(value[4:])
        elif "/" in value:
            dep, _ = value.split("/", 1)
            if not dep.endswith("?") and dep in optional:
                found.add(dep)
        elif value in features:
            found |= feature_enables(entry, value, seen)
        elif value in optional:
            found.add(value)
    return found


def _lock_dep_names(lock: Lock, name: str, version: str) -> set[str]:
    for pkg in lock.packages:
        if pkg["name"] == name and pkg["version"] == version and "source" in pkg:
            return {d.split(" ")[0] for d in pkg.get("dependencies", [])}
    return set()


def new_feature_of(ctx: Ctx, dep: Dep) -> tuple[str, str] | None:
    """A feature of the locked version of ``dep`` that would add a package the lock does not have
    under it, and that package's name."""
    version = ctx.locked_version(dep.name)
    if version is None:
        return None
    entry = index_entry(dep.name, version)
    if entry is None:
        return None
    locked_deps = _lock_dep_names(ctx.tree.lock(), dep.name, version)
    real = {d["name"]: d.get("package", d["name"]) for d in entry["deps"]}
    options = []
    for feature in sorted(_feature_values(entry)):
        if feature == "default":
            continue
        for opt in sorted(feature_enables(entry, feature)):
            if real.get(opt, opt) not in locked_deps and opt in real:
                target = next(d for d in entry["deps"] if d["name"] == opt)
                if target.get("kind", "normal") != "dev":
                    options.append((feature, real[opt]))
    return ctx.rng.choice(options) if options else None


FEATURES_STALE = ("weak", "direct", "dep-feature")
FEATURES_REFUSE = (
    "dep-not-optional",
    "dep-unknown",
    "slash-unknown",
    "weak-not-optional",
    "dep-and-slash",
    "unknown-feature",
    "bad-name-dep",
    "bad-name-slash",
    "bad-name-start",
    "dep-features-slash",
    "dep-features-dep",
    "hidden-optional",
    "optional-dev",
)


@transform(("same", "stale", "refuse"), kinds={"stale": FEATURES_STALE, "refuse": FEATURES_REFUSE})
def t_features(ctx: Ctx, variant: str) -> None:
    """Namespaced (``dep:x``) and weak (``x?/f``) features on member dependencies. Members are
    resolved with all their features on, so hiding a dependency behind a feature changes
    nothing; a feature that reaches a new optional dependency of a registry crate does."""
    tree = ctx.tree
    candidates = [
        d
        for d in ctx.member_deps(kinds=("normal", "build"))
        if "version" in d.spec and not d.spec.get("optional") and "package" in tree.doc(d.rel)
    ]
    dep = ctx.pick(candidates)
    features = tree.doc(dep.rel).setdefault("features", {})
    spec = dict(dep.spec)
    spec["optional"] = True
    tree.set_dep(dep, spec)
    fname = f"with-{dep.key}"
    features[fname] = [f"dep:{dep.key}"]
    if "default" in features and ctx.rng.random() < 0.5:
        features["default"] = [*features["default"], fname]
    ctx.note(f'{dep.rel}: {dep.key} optional behind {fname} = ["dep:{dep.key}"]')
    if spec.get("features") and ctx.rng.random() < 0.7:
        feat = ctx.rng.choice(spec["features"])
        features[f"weak-{dep.key}"] = [f"{dep.key}?/{feat}"]
        ctx.note(f"weak feature {dep.key}?/{feat}")
    if variant == "stale":
        others = [d for d in candidates if d is not dep] + [dep]
        for other in ctx.rng.sample(others, len(others)):
            found = new_feature_of(ctx, other)
            if found:
                feature, adds = found
                how = ctx.choose(FEATURES_STALE)
                if how == "direct":
                    ospec = dict(other.spec)
                    ospec["features"] = [*ospec.get("features", []), feature]
                    tree.set_dep(other, ospec)
                else:
                    sep = "?/" if how == "weak" and other.spec.get("optional") else "/"
                    tree.doc(other.rel).setdefault("features", {})[f"more-{other.key}"] = [
                        f"{other.key}{sep}{feature}"
                    ]
                ctx.note(f"stale: {other.rel}: {other.key} feature {feature} ({how}) adds {adds}")
                return
        raise NotApplicable("no feature adds a package")
    if variant == "refuse":
        how = ctx.choose(FEATURES_REFUSE)
        plain = [
            d
            for d in ctx.member_deps()
            if not d.spec.get("optional") and d.rel == dep.rel and d.kind != "dev"
        ]
        if how == "dep-not-optional":
            other = ctx.pick(plain)
            features["x"] = [f"dep:{other.key}"]
        elif how == "dep-unknown":
            features["x"] = ["dep:no-such-dep"]
        elif how == "slash-unknown":
            features["x"] = ["no-such-dep/std"]
        elif how == "weak-not-optional":
            other = ctx.pick(plain)
            features["x"] = [f"{other.key}?/std"]
        elif how == "dep-and-slash":
            features["x"] = [f"dep:{dep.key}/std"]
        elif how == "unknown-feature":
            features["x"] = ["no-such-feature"]
        elif how == "bad-name-dep":
            features["dep:x"] = []
        elif how == "bad-name-slash":
            features["a/b"] = []
        elif how == "bad-name-start":
            features["-x"] = []
        elif how == "dep-features-slash":
            spec = dict(dep.spec)
            spec["features"] = [*spec.get("features", []), "a/b"]
            tree.set_dep(dep, spec)
        elif how == "dep-features-dep":
            spec = dict(dep.spec)
            spec["features"] = [*spec.get("features", []), "dep:x"]
            tree.set_dep(dep, spec)
        elif how == "hidden-optional":
            # a feature named like the optional dependency, and no dep: anywhere: nothing enables it
            features[dep.key] = []
            features[fname] = []
        else:
            dev = tree.doc(dep.rel).setdefault("dev-dependencies", {})
            dev[dep.key + "-dev"] = {
                "package": dep.name,
                "version": spec["version"],
                "optional": True,
            }
        ctx.note(f"refuse: {how}")


@transform(("refuse",))
def t_optional_dev_dependency(ctx: Ctx, variant: str) -> None:
    """An optional dev-dependency (cargo: "dev-dependencies are not allowed to be optional")."""
    dep = ctx.pick([d for d in ctx.member_deps(kinds=("dev",)) if "version" in d.spec])
    spec = dict(dep.spec)
    spec["optional"] = True
    ctx.tree.set_dep(dep, spec)
    if ctx.rng.random() < 0.5:
        ctx.tree.doc(dep.rel).setdefault("features", {})["devfeat"] = [f"dep:{dep.key}"]
    ctx.note(f"{dep.rel}: dev-dependency {dep.key} optional")


DEFAULT_MEMBERS_REFUSE = ("missing-dir", "non-member-crate", "glob-nothing")


@transform(("same", "refuse"), kinds={"refuse": DEFAULT_MEMBERS_REFUSE})
def t_default_members(ctx: Ctx, variant: str) -> None:
    """``default-members`` (only the listed members are built by default; the lock still covers
    the whole workspace). Refused when an entry is not a member."""
    tree = ctx.tree
    ws = ensure_workspace(tree)
    members = tree.members()
    chosen = ctx.rng.sample(members, ctx.rng.randint(1, len(members)))
    ws["default-members"] = [m if m != "." else "." for m in chosen]
    ctx.note(f"default-members = {chosen}")
    if variant == "refuse":
        how = ctx.choose(DEFAULT_MEMBERS_REFUSE)
        if how == "missing-dir":
            ws["default-members"].append("no-such-dir")
        elif how == "non-member-crate":
            tree.new_crate(
                "extra/not-a-member", {"package": {"name": "not-a-member", "version": "0.1.0"}}
            )
            ws["default-members"].append("extra/not-a-member")
        else:
            ws["default-members"].append("nothing-*")
        ctx.note(f"refuse: default-members {how}")


VIRTUAL_REFUSE = (
    "dependencies",
    "dev-dependencies",
    "features",
    "lib",
    "badges",
    "target",
    "no-workspace",
)


@transform(("refuse",), projects=("alacritty",), kinds={"refuse": VIRTUAL_REFUSE})
def t_virtual_manifest(ctx: Ctx, variant: str) -> None:
    """A virtual manifest with a section only packages may have (``[dependencies]``,
    ``[features]``, ``[lib]``, ``[badges]``, ``[target.x.dependencies]``) or without
    ``[workspace]`` at all."""
    root = ctx.tree.doc(".")
    how = ctx.choose(VIRTUAL_REFUSE)
    if how == "dependencies":
        root["dependencies"] = {"log": "0.4"}
    elif how == "dev-dependencies":
        root["dev-dependencies"] = {"log": "0.4"}
    elif how == "features":
        root["features"] = {"x": []}
    elif how == "lib":
        root["lib"] = {"path": "lib.rs"}
    elif how == "badges":
        root["badges"] = {"maintenance": {"status": "actively-developed"}}
    elif how == "target":
        root["target"] = {"cfg(unix)": {"dependencies": {"log": "0.4"}}}
    else:
        ctx.tree.docs["."] = {k: v for k, v in root.items() if k not in ("workspace",)}
    ctx.note(f"refuse: virtual manifest with {how}")


# -- local packages: copies of registry crates, non-member path packages -------------------------


def crate_doc(entry: Doc, version: str | None = None, name: str | None = None) -> tuple[Doc, bool]:
    """A manifest reproducing index entry ``entry`` (normal and build dependencies, features),
    and whether it needs a build script (``links``)."""
    pkg: Doc = {"name": name or entry["name"], "version": version or entry["vers"]}
    doc: Doc = {"package": pkg}
    needs_build = bool(entry.get("links"))
    if needs_build:
        pkg["links"] = entry["links"]
        pkg["build"] = "build.rs"
    for d in entry["deps"]:
        kind = d.get("kind") or "normal"
        if kind == "dev":
            continue
        spec: Doc = {"version": d["req"]}
        features = [f for f in d.get("features", []) if f]
        if features:
            spec["features"] = features
        if d.get("optional"):
            spec["optional"] = True
        if not d.get("default_features", True):
            spec["default-features"] = False
        if d.get("package"):
            spec["package"] = d["package"]
        table = "dependencies" if kind == "normal" else "build-dependencies"
        if d.get("target"):
            holder = doc.setdefault("target", {}).setdefault(d["target"], {})
        else:
            holder = doc
        holder.setdefault(table, {})[d["name"]] = spec
    features = {k: [v for v in vals if v] for k, vals in _feature_values(entry).items()}
    if features:
        doc["features"] = features
    return doc, needs_build


def copy_crate(ctx: Ctx, rel: str, name: str, version: str, new_version: str | None = None) -> None:
    entry = index_entry(name, version)
    if entry is None:
        raise NotApplicable(f"{name} {version} not in the index")
    doc, build = crate_doc(entry, new_version)
    ctx.tree.new_crate(rel, doc, build=build)


def pick_locked_crate(ctx: Ctx, leaf_bias: float = 0.7) -> tuple[str, str]:
    """A locked registry package (name, version) with an index entry; leaves preferred with
    probability ``leaf_bias``, never chosen when it is 0."""
    packages = [(n, v) for n, v in ctx.tree.lock().registry_packages() if index_entry(n, v)]
    leaves = [
        (n, v)
        for n, v in packages
        if not [d for d in index_entry(n, v)["deps"] if d.get("kind") != "dev"]
    ]
    if not leaf_bias:
        return ctx.pick([p for p in packages if p not in leaves] or packages)
    if leaves and ctx.rng.random() < leaf_bias:
        return ctx.pick(leaves)
    return ctx.pick(packages)


def unlocked_index_crate(ctx: Ctx) -> tuple[str, str]:
    """A crate of the index the lock does not have (newest version without normal deps)."""
    locked = {n for n, _ in ctx.tree.lock().registry_packages()}
    options = []
    for name in index_names():
        if name in locked:
            continue
        lines = [e for e in index_lines(name) if not e.get("yanked")]
        lines = [e for e in lines if not [d for d in e["deps"] if d.get("kind") != "dev"]]
        if lines:
            options.append((name, max(lines, key=lambda e: _vkey(e["vers"]))["vers"]))
    return ctx.pick(options)


def _rel_from(src: str, dst: str) -> str:
    return os.path.relpath(dst, src).replace(os.sep, "/")


def patch_target(ctx: Ctx, kind: str) -> tuple[str, str, str, str]:
    """(key, crate, version of the copy, rel dir of the copy) for a [patch] of ``kind``:
    ``used`` (a copy of a locked version), ``newer`` (same crate, next patch version: unused
    while the lock pins the old one), ``incompatible`` (next major: unused), ``unused-name``
    (a crate nobody depends on)."""
    inside = ctx.rng.random() < 0.6
    if kind == "unused-name":
        name, version = unlocked_index_crate(ctx)
        new = version
    else:
        name, version = pick_locked_crate(ctx, 0.0 if kind == "used-with-deps" else 0.7)
        new = {
            "used": version,
            "used-with-deps": version,
            "newer": bump(version, 2),
            "incompatible": bump(version, 0),
        }[kind]
    rel = f"patches/{name}-{new}" if inside else f"../patch-{name}-{new}"
    copy_crate(ctx, rel, name, version, new)
    return name, name, new, rel


PATCH_KINDS = ("used", "used-with-deps", "newer", "incompatible", "unused-name", "member")
PATCH_STALE = ("no-relock", "relock-then-edit")
PATCH_REFUSE = (
    "bad-registry-name",
    "version-only",
    "missing-path",
    "with-replace",
    "git-and-path",
    "same-source-dep",
)


@transform(
    ("relock", "stale", "refuse"),
    kinds={"relock": PATCH_KINDS, "stale": PATCH_STALE, "refuse": PATCH_REFUSE},
)
def t_patch_manifest(ctx: Ctx, variant: str) -> None:
    """``[patch.crates-io]`` in the root manifest: a path copy of a locked crate (used), a newer
    compatible or an incompatible version or a crate nobody uses (recorded under
    ``[[patch.unused]]``); the patched copy is a non-member whose dev-dependencies and
    unrequested optional dependencies do not count."""
    tree = ctx.tree
    if "replace" in tree.doc("."):
        raise NotApplicable("the root has [replace] (cannot have both)")
    kind = ctx.choose(PATCH_KINDS) if variant == "relock" else ctx.rng.choice(PATCH_KINDS)
    if variant == "stale" or (kind == "member" and variant != "relock"):
        kind = "used"
    if kind == "member":
        # a patch pointing at a workspace member: in the graph, so cargo counts it as used
        members = [m for m in tree.members() if "package" in tree.doc(m)]
        rel = ctx.pick(members)
        name = key = tree.package_name(rel)
        version = tree.doc(rel)["package"].get("version")
        if not isinstance(version, str):
            raise NotApplicable("the member's version is inherited")
    else:
        key, name, version, rel = patch_target(ctx, kind)
    entry: Doc = {"path": rel}
    if ctx.rng.random() < 0.3:
        key = f"{name}-patched"
        entry["package"] = name
    if ctx.rng.random() < 0.3:
        entry["version"] = version
    tree.doc(".").setdefault("patch", {}).setdefault("crates-io", {})[key] = entry
    ctx.note(f"[patch.crates-io] {key} = {entry} ({kind})")
    if variant == "stale" and ctx.choose(PATCH_STALE) == "relock-then-edit":
        ctx.relock()
        _non_member_stale_edit(ctx, rel)
    if variant == "relock":
        ctx.relock()
        if ctx.rng.random() < 0.5 and kind != "member":
            _non_member_same_edit(ctx, rel)
    elif variant == "refuse":
        how = ctx.choose(PATCH_REFUSE)
        patches = tree.doc(".")["patch"]
        if how == "bad-registry-name":
            patches["crates"] = patches.pop("crates-io")
        elif how == "version-only":
            patches["crates-io"][key] = {"version": version}
        elif how == "missing-path":
            patches["crates-io"][key] = {"path": "no/such/dir"}
        elif how == "with-replace":
            tree.doc(".")["replace"] = {f"{name}:{version}": {"path": rel}}
        elif how == "git-and-path":
            patches["crates-io"][key] = {"path": rel, "git": "https://127.0.0.1:9/x.git"}
        else:
            patches["crates-io"][key] = {"version": version, "registry": "crates-io"}
        ctx.note(f"refuse: {how}")


def _non_member_stale_edit(ctx: Ctx, rel: str) -> None:
    """An edit of a used non-member local package (a [patch] or [replace] copy) that changes
    the resolve: a new normal or build dependency, a version bump."""
    doc = ctx.tree.doc(rel)
    how = ctx.rng.choice(("new-normal-dep", "new-build-dep", "version-bump"))
    if how == "version-bump":
        doc["package"]["version"] = bump(str(doc["package"]["version"]))
    else:
        other, version = unlocked_index_crate(ctx)
        table = "dependencies" if how == "new-normal-dep" else "build-dependencies"
        doc.setdefault(table, {})[other] = {"version": version}
    ctx.note(f"stale: non-member {rel}: {how}")


SAME_EDITS = ("dev-dep-missing", "dev-dep-index", "optional-unrequested", "target-dev-dep")


def _non_member_same_edit(ctx: Ctx, rel: str) -> None:
    """An edit of a non-member local package that cargo's resolve ignores: a dev-dependency
    (even on a crate that does not exist), an optional dependency no feature of a dependent
    turns on."""
    doc = ctx.tree.doc(rel)
    how = ctx.choose(SAME_EDITS)
    if how == "dev-dep-missing":
        doc.setdefault("dev-dependencies", {})["no-such-crate-at-all"] = {"version": "1"}
    elif how == "dev-dep-index":
        name, version = unlocked_index_crate(ctx)
        doc.setdefault("dev-dependencies", {})[name] = {"version": version}
    elif how == "target-dev-dep":
        doc.setdefault("target", {}).setdefault("cfg(unix)", {}).setdefault("dev-dependencies", {})[
            "no-such-crate-either"
        ] = {"version": "2"}
    else:
        name, version = unlocked_index_crate(ctx)
        doc.setdefault("dependencies", {})[name] = {"version": version, "optional": True}
        doc.setdefault("features", {})[f"opt-{name}"] = [f"dep:{name}"]
    ctx.note(f"non-member {rel}: {how} (ignored by the resolve)")


CONFIG_PLACES = ("project", "project-noext", "ancestor", "home", "home-absolute")
CONFIG_RELOCK = (*CONFIG_PLACES, "shadowed", "manifest-too", "field-merge", "url-key")
CONFIG_REFUSE = ("bad-registry-name", "missing-path", "version-only")


@transform(
    ("relock", "stale", "same", "refuse"),
    only={"same": WORKSPACES},
    kinds={"relock": CONFIG_RELOCK, "stale": CONFIG_PLACES, "refuse": CONFIG_REFUSE},
)
def t_patch_config(ctx: Ctx, variant: str) -> None:
    """``[patch.crates-io]`` in a cargo configuration file: the project's ``.cargo/config.toml``
    (or ``.cargo/config``), an ancestor directory's, or ``$CARGO_HOME/config.toml``; paths are
    relative to the directory holding ``.cargo`` (for ``$CARGO_HOME/config.toml``: the parent of
    ``$CARGO_HOME``). A config patch wins over a manifest patch of the same name."""
    tree = ctx.tree
    extra = "none"
    if variant == "relock":
        chosen = ctx.choose(CONFIG_RELOCK)
        place, extra = (chosen, "none") if chosen in CONFIG_PLACES else ("project", chosen)
    elif variant == "stale":
        place = ctx.choose(CONFIG_PLACES)
    else:
        place = ctx.rng.choice(CONFIG_PLACES)
    kind = (
        "used" if variant == "stale" else ctx.rng.choice(("used", "used", "newer", "unused-name"))
    )
    if variant == "same":
        # a config file the run does not read: a member directory's (cargo reads from the cwd up)
        members = [m for m in tree.members() if m != "."]
        if not members or ctx.target != ".":
            raise NotApplicable("no member directory")
        member = ctx.pick(members)
        key, _, _, rel = patch_target(ctx, "used")
        text = f'[patch.crates-io]\n{key} = {{ path = "{_rel_from(member, rel)}" }}\n'
        tree.write(f"{member}/.cargo/config.toml", text)
        ctx.note(f"{member}/.cargo/config.toml patches {key} (not read: cargo starts at the root)")
        return
    key, _, version, rel = patch_target(ctx, kind)
    absolute = tree.path(rel)
    if place in ("project", "project-noext"):
        path_text = rel
    elif place == "ancestor":
        path_text = _rel_from(str(tree.base), str(absolute))
    elif place == "home":
        path_text = _rel_from(str(tree.base), str(absolute))  # case home is base/home
    else:
        path_text = str(absolute)
    body = f'[patch.crates-io]\n{key} = {{ path = "{path_text}" }}\n'
    if extra == "url-key":
        # the crates.io index named by its URL: the same source as `crates-io`
        body = body.replace(
            "[patch.crates-io]", '[patch."https://github.com/rust-lang/crates.io-index"]'
        )
    if extra == "field-merge":
        # the nearer file gives only the version, an ancestor's the path: the tables merge
        body = f'[patch.crates-io]\n{key} = {{ version = "{version}" }}\n'
        far = _rel_from(str(tree.base), str(absolute))
        (tree.base / ".cargo").mkdir(exist_ok=True)
        (tree.base / ".cargo" / "config.toml").write_text(
            f'[patch.crates-io]\n{key} = {{ path = "{far}" }}\n'
        )
        ctx.note("the ancestor's config holds the path, the project's the version (merged)")
    if place in ("home", "home-absolute"):
        ctx.home_config = body
    elif place == "ancestor":
        (tree.base / ".cargo").mkdir(exist_ok=True)
        (tree.base / ".cargo" / "config.toml").write_text(body)
    else:
        name_ = "config" if place == "project-noext" else "config.toml"
        tree.write(f".cargo/{name_}", body)
    ctx.note(f"config patch ({place}): {key} -> {path_text} ({kind})")
    if variant == "relock":
        if extra == "shadowed":
            # an ancestor's config patches the same name elsewhere: the nearer file wins
            (tree.base / ".cargo").mkdir(exist_ok=True)
            (tree.base / ".cargo" / "config.toml").write_text(
                f'[patch.crates-io]\n{key} = {{ path = "no/such/dir" }}\n'
            )
            ctx.note("an ancestor config patches the same name to a missing path (shadowed)")
        elif extra == "manifest-too":
            tree.doc(".").setdefault("patch", {}).setdefault("crates-io", {})[key] = {
                "path": "no/such/dir"
            }
            ctx.note("the manifest patches the same name to a missing path (config wins)")
        ctx.relock()
        if ctx.rng.random() < 0.4:
            _non_member_same_edit(ctx, rel)
    elif variant == "refuse":
        how = ctx.choose(CONFIG_REFUSE)
        if how == "bad-registry-name":
            body = body.replace("[patch.crates-io]", "[patch.crates]")
        elif how == "missing-path":
            body = body.replace(path_text, "no/such/dir")
        else:
            body = f'[patch.crates-io]\n{key} = {{ version = "{version}" }}\n'
        if place in ("home", "home-absolute"):
            ctx.home_config = body
        elif place == "ancestor":
            (tree.base / ".cargo" / "config.toml").write_text(body)
        else:
            tree.write(f".cargo/{'config' if place == 'project-noext' else 'config.toml'}", body)
        ctx.note(f"refuse: {how}")


REPLACE_SPECS = ("name-colon", "name-at", "url", "with-deps")
REPLACE_REFUSE = ("no-version", "with-version", "with-patch")


@transform(
    ("relock", "stale", "same", "refuse"),
    projects=ROOT_PACKAGES,
    kinds={"relock": REPLACE_SPECS, "stale": PATCH_STALE, "refuse": REPLACE_REFUSE},
)
def t_replace(ctx: Ctx, variant: str) -> None:
    """``[replace]``: a locked crate replaced by a path copy of the same version (the lock says
    ``replace = ...``); an unused ``[replace]`` to a path that does not exist is accepted."""
    tree = ctx.tree
    if "patch" in tree.doc("."):
        raise NotApplicable("the root has [patch] (cannot have both)")
    if variant == "same":
        tree.doc(".")["replace"] = {"no-such-crate:1.0.0": {"path": "no/such/dir"}}
        ctx.note("[replace] no-such-crate:1.0.0 -> missing path (unused)")
        return
    name, version = pick_locked_crate(ctx, 0.0 if ctx.kind == "with-deps" else 0.7)
    rel = f"replacements/{name}" if ctx.rng.random() < 0.5 else f"../replace-{name}"
    copy_crate(ctx, rel, name, version)
    spec = {
        "name-colon": f"{name}:{version}",
        "name-at": f"{name}@{version}",
        "url": f"https://github.com/rust-lang/crates.io-index#{name}@{version}",
        "with-deps": f"{name}:{version}",
    }[ctx.choose(REPLACE_SPECS) if variant == "relock" else ctx.rng.choice(REPLACE_SPECS)]
    tree.doc(".")["replace"] = {spec: {"path": rel}}
    ctx.note(f"[replace] {spec} -> {rel}")
    if variant == "stale" and ctx.choose(PATCH_STALE) == "relock-then-edit":
        ctx.relock()
        how = ctx.rng.choice(("new-normal-dep", "new-build-dep"))
        other, other_version = unlocked_index_crate(ctx)
        table = "dependencies" if how == "new-normal-dep" else "build-dependencies"
        tree.doc(rel).setdefault(table, {})[other] = {"version": other_version}
        ctx.note(f"stale: the replacement gets a {how}")
    if variant == "relock":
        ctx.relock()
        if ctx.rng.random() < 0.4:
            _non_member_same_edit(ctx, rel)
    elif variant == "refuse":
        how = ctx.choose(REPLACE_REFUSE)
        if how == "no-version":
            tree.doc(".")["replace"] = {name: {"path": rel}}
        elif how == "with-version":
            tree.doc(".")["replace"] = {spec: {"path": rel, "version": version}}
        else:
            tree.doc(".").setdefault("patch", {}).setdefault("crates-io", {})["unused-x"] = {
                "path": rel
            }
        ctx.note(f"refuse: {how}")


NON_MEMBER_STALE = (
    "enable-optional",
    "disable-optional",
    "default-enables",
    "new-normal-dep",
    "new-build-dep",
    "normal-to-dev",
    "version-bump",
    "raise-requirement",
)
NON_MEMBER_REFUSE = ("inherits-without-root", "optional-dev", "dep-not-optional", "bad-requirement")
NON_MEMBER_WHERE = ("outside", "excluded", "outside-own-workspace")


@transform(
    ("relock", "stale", "refuse"),
    kinds={"relock": SAME_EDITS, "stale": NON_MEMBER_STALE, "refuse": NON_MEMBER_REFUSE},
)
def t_non_member_path_package(ctx: Ctx, variant: str) -> None:
    """A local package outside the workspace: a path dependency outside the root, a crate listed
    in ``exclude`` that is still a path dependency, or (starship) a path dependency of a root
    without ``[workspace]``. cargo resolves its normal and build dependencies and the optional
    ones its dependents' features turn on, never its dev-dependencies."""
    tree = ctx.tree
    where = ctx.rng.choice(NON_MEMBER_WHERE)
    name = "ext-helper"
    if where == "excluded":
        rel = "vendor/ext-helper"
        ws = ensure_workspace(tree)
        ws.setdefault("exclude", []).append(ctx.rng.choice(("vendor", "vendor/ext-helper")))
    else:
        rel = "../ext-helper"
    dep_name, dep_version = pick_locked_crate(ctx)
    doc: Doc = {
        "package": {"name": name, "version": "0.1.0", "edition": "2021"},
        "dependencies": {dep_name: {"version": f"^{dep_version}"}},
    }
    opt_name, opt_version = unlocked_index_crate(ctx)
    doc["dependencies"][opt_name] = {"version": opt_version, "optional": True}
    doc["features"] = {"extra": [f"dep:{opt_name}"]}
    if where == "outside-own-workspace":
        doc["workspace"] = {"package": {"version": "0.1.0"}}
        doc["package"]["version"] = {"workspace": True}
    tree.new_crate(rel, doc)
    members = [m for m in tree.members() if "package" in tree.doc(m)]
    member = ctx.pick(members)
    link: Doc = {"path": _rel_from(member, rel)}
    if ctx.rng.random() < 0.5:
        link["version"] = "0.1"
    tree.doc(member).setdefault("dependencies", {})[name] = link
    ctx.note(f"{member} depends on {name} ({where}, {rel})")
    how = ""
    if variant == "stale":
        how = ctx.choose(NON_MEMBER_STALE)
    if how == "disable-optional":
        link["features"] = ["extra"]  # locked with the optional dependency on
    if how == "normal-to-dev":
        solo, solo_version = unlocked_index_crate(ctx)
        if solo == opt_name:
            raise NotApplicable("the same crate twice")
        doc["dependencies"][solo] = {"version": solo_version}
    ctx.relock()
    if variant == "relock":
        _non_member_same_edit(ctx, rel)
        return
    if variant == "stale":
        if how == "disable-optional":
            del link["features"]
        elif how == "normal-to-dev":
            doc.setdefault("dev-dependencies", {})[solo] = doc["dependencies"].pop(solo)
        elif how == "enable-optional":
            tree.doc(member)["dependencies"][name]["features"] = ["extra"]
        elif how == "default-enables":
            doc["features"]["default"] = ["extra"]
        elif how == "new-normal-dep":
            other, v = unlocked_index_crate(ctx)
            doc["dependencies"][other] = {"version": v}
        elif how == "new-build-dep":
            other, v = unlocked_index_crate(ctx)
            doc.setdefault("build-dependencies", {})[other] = {"version": v}
        elif how == "version-bump":
            if isinstance(doc["package"]["version"], dict):
                doc["workspace"]["package"]["version"] = "0.1.1"
            else:
                doc["package"]["version"] = "0.1.1"
        else:
            doc["dependencies"][dep_name]["version"] = f"^{bump(dep_version)}"
        ctx.note(f"stale: {how}")
        return
    how = ctx.choose(NON_MEMBER_REFUSE)
    if how == "inherits-without-root":
        doc.pop("workspace", None)
        doc["package"]["version"] = {"workspace": True}
    elif how == "optional-dev":
        doc.setdefault("dev-dependencies", {})["no-such-crate"] = {"version": "1", "optional": True}
    elif how == "dep-not-optional":
        doc["features"]["bad"] = [f"dep:{dep_name}"]
    else:
        doc["dependencies"][dep_name]["version"] = "latest"
    ctx.note(f"refuse: {how} in the non-member")


@transform(("same", "relock"), projects=("starship",))
def t_non_member_starship(ctx: Ctx, variant: str) -> None:
    """starship's ``starship_module_config_derive`` is a path dependency of a root without
    ``[workspace]``: not a member. Its dev-dependencies and unrequested optional dependencies
    do not count."""
    if "starship_module_config_derive" not in ctx.tree.docs:
        raise NotApplicable("starship only")
    _non_member_same_edit(ctx, "starship_module_config_derive")
    if variant == "relock":
        ctx.relock()


# -- nested workspaces: cargo-fuzz, excluded packages with their own lock -------------------------


FUZZ_STALE = ("fuzz-new-dep", "parent-version", "parent-new-dep", "parent-build-dep")
FUZZ_REFUSE = ("parent-inherits-missing", "fuzz-no-workspace", "fuzz-inherits")


FUZZ_RELOCK = ("fields", "inherits-deps")


@transform(
    ("relock", "stale", "refuse"),
    kinds={"relock": FUZZ_RELOCK, "stale": FUZZ_STALE, "refuse": FUZZ_REFUSE},
)
def t_fuzz_workspace(ctx: Ctx, variant: str) -> None:
    """The cargo-fuzz layout: ``<crate>/fuzz/`` is its own workspace (``[workspace] members =
    ["."]``) with its own Cargo.lock and a path dependency on ``<crate>`` (the root package or
    a member), which inherits ``version``/``edition`` from the root's ``[workspace.package]``.
    Checked in ``fuzz/``: the parent crate is a non-member there, and cargo resolves its
    ``workspace = true`` fields by walking up from the parent crate to its own workspace."""
    tree = ctx.tree
    hosts = [m for m in tree.members() if "package" in tree.doc(m)]
    host = ctx.pick(hosts)
    host_pkg = tree.doc(host)["package"]
    ws = ensure_workspace(tree)
    wp = ws.setdefault("package", {})
    if (
        not isinstance(host_pkg["version"], dict)
        and wp.get("version", host_pkg["version"]) == (host_pkg["version"])
    ):
        wp["version"] = host_pkg["version"]
        host_pkg["version"] = {"workspace": True}
    edition = host_pkg.get("edition", "2015")
    if not isinstance(edition, dict) and wp.get("edition", edition) == edition:
        wp["edition"] = edition
        host_pkg["edition"] = {"workspace": True}
    host_name = host_pkg["name"]
    dep_name, dep_version = pick_locked_crate(ctx)
    fuzz_rel = os.path.normpath(f"{host}/fuzz")
    fuzz: Doc = {
        "package": {
            "name": f"{host_name}-fuzz",
            "version": "0.0.0",
            "publish": False,
            "edition": "2021",
        },
        "dependencies": {host_name: {"path": ".."}, dep_name: {"version": dep_version}},
        "workspace": {"members": ["."]},
        "bin": [
            {
                "name": "fuzz_target_1",
                "path": "fuzz_targets/fuzz_target_1.rs",
                "test": False,
                "doc": False,
            }
        ],
    }
    if ctx.rng.random() < 0.5:
        fuzz["package"]["metadata"] = {"cargo-fuzz": True}
    if ctx.rng.random() < 0.3:
        fuzz["profile"] = {"release": {"debug": 1}}
    tree.new_crate(fuzz_rel, fuzz)
    tree.write(f"{fuzz_rel}/fuzz_targets/fuzz_target_1.rs", "fn main() {}\n")
    ctx.target = fuzz_rel
    inherited = [k for k in ("version", "edition") if isinstance(host_pkg.get(k), dict)]
    ctx.note(f"{fuzz_rel}/ workspace depending on {host_name} ({host}; inherits {inherited})")
    if variant == "relock" and ctx.choose(FUZZ_RELOCK) == "inherits-deps":
        _fuzz_host_inherits_dependencies(ctx, host, ws)
    ctx.relock(fuzz_rel)
    if variant == "stale":
        how = ctx.choose(FUZZ_STALE)
        if how == "fuzz-new-dep":
            other, v = unlocked_index_crate(ctx)
            fuzz["dependencies"][other] = {"version": v}
        elif how == "parent-version" and "version" in inherited:
            wp["version"] = bump(str(wp["version"]))
        elif how == "parent-build-dep":
            # the parent is a non-member of fuzz/'s workspace: a dev-dependency does not count,
            # so make it a normal one
            other, v = unlocked_index_crate(ctx)
            tree.doc(host).setdefault("build-dependencies", {})[other] = {"version": v}
        else:
            other, v = unlocked_index_crate(ctx)
            tree.doc(host).setdefault("dependencies", {})[other] = {"version": v}
        ctx.note(f"stale: {how}")
    elif variant == "refuse":
        how = ctx.choose(FUZZ_REFUSE)
        if how == "parent-inherits-missing":
            host_pkg["license"] = {"workspace": True}
            wp.pop("license", None)
        elif how == "fuzz-no-workspace":
            del fuzz["workspace"]  # fuzz/ falls into the parent's workspace without being a member
        else:
            fuzz["package"]["authors"] = {"workspace": True}
        ctx.note(f"refuse: {how}")


def _fuzz_host_inherits_dependencies(ctx: Ctx, host: str, ws: Doc) -> None:
    """ruff's fuzz layout: the parent crate inherits a registry dependency and a path
    dependency on another member from ``[workspace.dependencies]`` (the path written relative
    to the workspace root, re-based by cargo to the inheriting crate)."""
    tree = ctx.tree
    wsdeps = ws.setdefault("dependencies", {})
    deps = [
        d
        for d in tree.deps(host)
        if d.kind == "normal" and d.target is None and d.is_registry and "version" in d.spec
    ]
    if deps:
        dep = ctx.pick(deps)
        if dep.key not in wsdeps:
            wsdeps[dep.key] = {k: v for k, v in dep.spec.items() if k in ("version", "package")}
            member: Doc = {"workspace": True}
            for key in ("features", "optional", "default-features"):
                if key in dep.spec:
                    member[key] = dep.spec[key]
            tree.set_dep(dep, member)
            ctx.note(f"{host}: {dep.key} inherited from [workspace.dependencies]")

    def path_deps(rel: str) -> set[str]:
        return {
            os.path.normpath(os.path.join(rel, d.spec["path"]))
            for d in tree.deps(rel)
            if "path" in d.spec
        }

    others = [
        m
        for m in tree.members()
        if m != host
        and "package" in tree.doc(m)
        and host not in path_deps(m)
        and m not in path_deps(host)
    ]
    if not others:
        return
    other = ctx.pick(others)
    name = tree.package_name(other)
    if name in wsdeps or any(d.key == name for d in tree.deps(host)):
        return
    wsdeps[name] = {"path": other}
    tree.doc(host).setdefault("dependencies", {})[name] = {"workspace": True}
    ctx.note(f"{host}: {name} = {{ workspace = true }} (path {other} from the root)")


EXCLUDED_HOW = ("exclude-dir", "exclude-exact", "own-workspace")
EXCLUDED_REFUSE = ("pointer-to-root", "inherits", "exclude-removed", "members-prefix-wins")


@transform(("relock", "stale", "refuse"), kinds={"relock": EXCLUDED_HOW, "refuse": EXCLUDED_REFUSE})
def t_excluded_with_own_lock(ctx: Ctx, variant: str) -> None:
    """A package under the root, listed in ``exclude``, with its own Cargo.lock (checked in its
    directory): its workspace is itself, found by walking up past the root that excludes it."""
    tree = ctx.tree
    ws = ensure_workspace(tree)
    rel = "tools/sub"
    dep_name, dep_version = pick_locked_crate(ctx)
    doc: Doc = {
        "package": {"name": "tools-sub", "version": "0.1.0", "edition": "2021"},
        "dependencies": {dep_name: {"version": dep_version}},
    }
    members = [m for m in tree.members() if "package" in tree.doc(m)]
    if members and ctx.rng.random() < 0.6:
        member = ctx.pick(members)
        doc["dependencies"][tree.package_name(member)] = {"path": _rel_from(rel, member)}
        ctx.note(f"tools/sub depends on member {member} by path (a non-member there)")
    how = ctx.choose(EXCLUDED_REFUSE) if variant == "refuse" else ""
    if variant == "relock":
        how_excluded = ctx.choose(EXCLUDED_HOW)
    elif how in ("exclude-removed", "members-prefix-wins"):
        how_excluded = ctx.rng.choice(EXCLUDED_HOW[:2])
    else:
        how_excluded = ctx.rng.choice(EXCLUDED_HOW)
    if how_excluded == "own-workspace":
        doc["workspace"] = {}
    else:
        ws.setdefault("exclude", []).append("tools" if how_excluded == "exclude-dir" else rel)
    tree.new_crate(rel, doc)
    ctx.target = rel
    ctx.note(f"tools/sub ({how_excluded}) with its own Cargo.lock")
    ctx.relock(rel)
    if variant == "stale":
        other, v = unlocked_index_crate(ctx)
        doc["dependencies"][other] = {"version": v}
        ctx.note(f"stale: tools/sub adds {other}")
    elif variant == "refuse":
        if how == "pointer-to-root":
            doc.pop("workspace", None)
            doc["package"]["workspace"] = "../.."
        elif how == "inherits":
            doc["package"]["version"] = {"workspace": True}
            ws.setdefault("package", {})["version"] = "0.1.0"
        elif how == "exclude-removed":
            ws["exclude"] = [e for e in ws["exclude"] if e not in ("tools", rel)]
        else:
            # a members entry that is a path prefix of the package beats exclude
            ws.setdefault("members", []).append("tools")
            tree.new_crate("tools", {"package": {"name": "tools-root", "version": "0.1.0"}})
        ctx.note(f"refuse: {how}")


@transform(("same", "refuse"))
def t_nested_workspace_member_dep(ctx: Ctx, variant: str) -> None:
    """A member's path dependency under the root that has its own ``[workspace]``: fine when it
    is excluded (a non-member), refused otherwise (two roots in one workspace)."""
    tree = ctx.tree
    ws = ensure_workspace(tree)
    rel = "nested/inner"
    tree.new_crate(rel, {"package": {"name": "nested-inner", "version": "0.1.0"}, "workspace": {}})
    member = ctx.pick([m for m in tree.members() if "package" in tree.doc(m)])
    if variant == "same":
        ws.setdefault("exclude", []).append("nested")
    tree.doc(member).setdefault("dev-dependencies", {})["nested-inner"] = {
        "path": _rel_from(member, rel)
    }
    ctx.note(
        f"{member} dev-depends on nested/inner (own [workspace]"
        + (", excluded)" if variant == "same" else ")")
    )
    if variant == "same":
        ctx.relock()


@transform(("same", "stale"), projects=WORKSPACES, only={"stale": ("alacritty",)})
def t_deleted_glob_member(ctx: Ctx, variant: str) -> None:
    """Members written as a glob; a matched member directory is deleted (nothing depends on it
    by path), the lock still lists it. cargo's --locked comparison drops lock entries of path
    packages that no longer exist, so this is accepted when nothing else in the lock changes
    (every package the deleted member used has another dependent), and stale otherwise. For
    ``same`` a new member with only shared dependencies is added, locked, then deleted."""
    tree = ctx.tree
    ws = tree.workspace()
    assert ws is not None
    path_deps = {
        os.path.normpath(os.path.join(d.rel, d.spec["path"]))
        for rel in tree.docs
        for d in tree.deps(rel)
        if "path" in d.spec
    }
    lock = tree.lock()
    owners: dict[str, set[str]] = {}
    for pkg in lock.packages:
        for d in pkg.get("dependencies", []):
            owners.setdefault(d.split(" ")[0], set()).add(pkg["name"])

    def lonely(name: str) -> list[str]:
        used = [
            d.split(" ")[0]
            for p in lock.packages
            if p["name"] == name
            for d in p.get("dependencies", [])
        ]
        return [d for d in used if owners.get(d, set()) <= {name}]

    members = [m for m in ws.get("members", []) if "/" not in m and not any(c in m for c in "*?[")]
    deletable = [m for m in members if m not in path_deps and m in tree.docs]
    if variant == "stale":
        options = [m for m in deletable if lonely(tree.package_name(m))]
        victim = ctx.pick(options)
    else:
        # a new member, sharing only dependencies other packages have too
        base_name = ctx.pick(members)
        victim = f"{base_name}-extra"
        shared = [n for n, who in owners.items() if len(who) >= 2 and lock.versions(n)]
        deps = {
            n: {"version": lock.versions(n)[-1]}
            for n in ctx.rng.sample(shared, min(3, len(shared)))
        }
        tree.new_crate(
            victim,
            {
                "package": {"name": victim.replace("_", "-"), "version": "0.1.0"},
                "dependencies": deps,
            },
        )
        ws["members"] = [*ws["members"], victim]
        ctx.note(f"new member {victim} using {', '.join(deps)}")
        ctx.relock()
        lock = tree.lock()
    prefix = victim.split("-")[0].split("_")[0]
    matched = [m for m in ws["members"] if m.startswith(prefix)]
    ws["members"] = [m for m in ws["members"] if not m.startswith(prefix)] + [prefix + "*"]
    name = tree.package_name(victim)
    tree.remove_crate(victim)
    ctx.note(
        f"members glob {prefix}* ({', '.join(matched)}); {victim} deleted "
        f"(packages only it used: {', '.join(lonely(name)) or 'none'})"
    )
    if len(matched) < 2:
        raise NotApplicable("the glob would match nothing after the deletion")


@transform(("same", "refuse"), projects=WORKSPACES)
def t_members_glob(ctx: Ctx, variant: str) -> None:
    """``members`` written as globs matching the same directories (``exclude`` keeping a
    matched directory out); refused when a glob matches a directory without a Cargo.toml that
    ``exclude`` does not remove."""
    tree = ctx.tree
    ws = tree.workspace()
    assert ws is not None
    members = [m for m in ws.get("members", []) if "/" not in m and "*" not in m]
    prefixes = sorted({m.split("-")[0].split("_")[0] for m in members})
    prefix = ctx.pick([p for p in prefixes if sum(m.startswith(p) for m in members) >= 1])
    matched = [m for m in members if m.startswith(prefix)]
    strays = sorted(
        p.name
        for p in tree.dir.glob(prefix + "*")
        if p.is_dir() and p.name not in matched and p.name != "target"
    )
    ws["members"] = [m for m in ws["members"] if m not in matched] + [prefix + "*"]
    if strays:
        ws.setdefault("exclude", []).extend(strays)
    ctx.note(f"members {matched} as {prefix}*" + (f", exclude {strays}" if strays else ""))
    stray = f"{prefix}-docs"
    tree.write(f"{stray}/README.md", "not a crate\n")
    if variant == "same":
        ws.setdefault("exclude", []).append(stray)
        ctx.note(f"{stray}/ (no Cargo.toml) excluded")
    else:
        ctx.note(f"refuse: {stray}/ (no Cargo.toml) matched by the glob")


POINTER_REFUSE = ("to-member", "to-missing", "to-self")


@transform(("same", "refuse"), projects=WORKSPACES, kinds={"refuse": POINTER_REFUSE})
def t_workspace_pointer(ctx: Ctx, variant: str) -> None:
    """``package.workspace`` in members: a pointer to the root is what cargo would find anyway;
    a pointer to a directory that is not a workspace root is refused."""
    tree = ctx.tree
    members = [m for m in tree.members() if m != "." and "package" in tree.doc(m)]
    chosen = ctx.rng.sample(members, ctx.rng.randint(1, len(members)))
    for m in chosen:
        tree.doc(m)["package"]["workspace"] = _rel_from(m, ".")
    ctx.note(f"package.workspace pointing at the root in {', '.join(chosen)}")
    if variant == "refuse":
        m = ctx.pick(chosen)
        how = ctx.choose(POINTER_REFUSE)
        target = {
            "to-member": _rel_from(m, ctx.pick([x for x in members if x != m] or ["."])),
            "to-missing": "../no-such-dir",
            "to-self": ".",
        }[how]
        if how == "to-member" and target == _rel_from(m, "."):
            target = "../no-such-dir"
        tree.doc(m)["package"]["workspace"] = target
        ctx.note(f"refuse: {m} package.workspace = {target!r} ({how})")


# -- the lockfile itself --------------------------------------------------------------------------

_PKG_HEADER = re.compile(r"^\[\[package\]\]\n", re.M)


def _blocks(text: str) -> list[tuple[int, int]]:
    starts = [m.start() for m in _PKG_HEADER.finditer(text)]
    ends = [*starts[1:], len(text)]
    out = []
    for s, e in zip(starts, ends, strict=True):
        block = text[s:e]
        first = block.index("\n") + 1
        other = re.search(r"^\[", block[first:], re.M)
        out.append((s, s + first + other.start() if other else e))
    return out


LOCK_SAME = (
    "no-such-name",
    "no-such-version",
    "no-such-source",
    "header-dropped",
    "own-comment",
    "blank-lines",
)
LOCK_EDIT_STALE = ("edge-removed", "checksum-changed")
LOCK_REFUSE = ("duplicate-package", "bad-version", "future-format", "not-toml")


@transform(
    ("same", "stale", "refuse"),
    kinds={"same": LOCK_SAME, "stale": LOCK_EDIT_STALE, "refuse": LOCK_REFUSE},
)
def t_lock_edit(ctx: Ctx, variant: str) -> None:
    """Edits of Cargo.lock itself. cargo compares the lock it would write with the existing one
    after parsing both into a resolve graph against the workspace: dependency strings naming no
    package, comments and formatting do not count; a missing edge does."""
    tree = ctx.tree
    text = tree.lock().text
    blocks = [(s, e) for s, e in _blocks(text) if "dependencies = [" in text[s:e]]
    if not blocks:
        raise NotApplicable("no package with dependencies")
    s, e = ctx.pick(blocks)
    block = text[s:e]
    names = sorted({p["name"] for p in tree.lock().packages})
    if variant == "same":
        how = ctx.choose(LOCK_SAME)
        if how in ("no-such-name", "no-such-version", "no-such-source"):
            ref = {
                "no-such-name": "no-such-package",
                "no-such-version": f"{ctx.pick(names)} 99.99.99",
                "no-such-source": f"{ctx.pick(names)} 0.0.1 (registry+https://example.invalid/index)",
            }[how]
            block = block.replace("dependencies = [\n", f'dependencies = [\n "{ref}",\n', 1)
            text = text[:s] + block + text[e:]
        elif how == "header-dropped":
            text = "\n".join(x for x in text.split("\n") if not x.startswith("# ")).lstrip("\n")
        elif how == "own-comment":
            text = "# checked in by hand\n" + text
        else:
            text = text.replace("\n[[package]]", "\n\n\n[[package]]")
        ctx.note(f"Cargo.lock: {how}")
    elif variant == "stale" and ctx.choose(LOCK_EDIT_STALE) == "checksum-changed":
        sums = list(re.finditer(r"[0-9a-f]{64}", text))
        if not sums:
            raise NotApplicable("no checksum")
        m = ctx.pick(sums)
        flipped = ("1" if m.group()[0] != "1" else "2") + m.group()[1:]
        text = text[: m.start()] + flipped + text[m.end() :]
        ctx.note("Cargo.lock: one checksum changed")
    elif variant == "stale":
        lines = block.split("\n")
        deps = [i for i, x in enumerate(lines) if x.startswith(' "')]
        if not deps:
            raise NotApplicable("no edge")
        del lines[ctx.pick(deps)]
        text = text[:s] + "\n".join(lines) + text[e:]
        ctx.note("Cargo.lock: one dependency edge removed")
    else:
        how = ctx.choose(LOCK_REFUSE)
        if how == "duplicate-package":
            text = text[:e] + "\n" + block + text[e:]
        elif how == "bad-version":
            text = (
                text[:s]
                + re.sub(r'^version = "[^"]*"', 'version = "1.0"', block, count=1, flags=re.M)
                + text[e:]
            )
        elif how == "future-format":
            text = re.sub(r"^version = \d+\n", "", text, count=1, flags=re.M)
            text = "version = 9\n" + text
        else:
            text = text.replace("[[package]]", "[[package]", 1)
        ctx.note(f"refuse: Cargo.lock {how}")
    tree.set_lock(text)


# -- requirement strings, TOML spelling -----------------------------------------------------------


#: Requirement spellings, as templates over the original requirement ``r``, the locked version
#: ``v`` and its ``major``/``minor`` (``M``/``m``) and the next versions (``next``/``nextm``).
REQ_SAME = {
    "caret": "^{v}",
    "exact": "={v}",
    "at-least": ">={v}",
    "leading-space": " {r}",
    "trailing-space": "{r} ",
    "build-metadata": "{v}+build.1",
    "range": ">={v}, <{M1}",
    "star": "*",
    "minor-wildcard": "{M}.{m}.*",
    "tilde": "~{M}.{m}",
    "spaced-range": ">= {v} , < {M1}.0.0",
    "upper-x": "{M}.{m}.X",
    "x-alone": "x",
}
REQ_STALE = {
    "greater": ">{v}",
    "less": "<{v}",
    "exact-next": "={next}",
    "caret-next": "^{next}",
    "tilde-next-minor": "~{nextm}",
}
REQ_BAD = {
    "v-prefix": "v{v}",
    "or": "{M}.{m} || {M}.{m1}",
    "latest": "latest",
    "space-separated-range": ">={M}.{m} <{M1}.0",
    "hyphen-range": "{v} - {M1}.0.0",
    "leading-zero": "0{v}",
    "empty": "",
    "four-parts": "{v}.0",
    "double-equals": "=={v}",
    "x-then-number": "{M}.{m}.x.1",
    "tab": "\t{v}",
    "empty-pre": "^{v}-",
    "bare-operator": ">",
    "trailing-comma": "{v},",
}


@transform(
    ("same", "stale", "refuse"),
    kinds={"same": REQ_SAME, "stale": REQ_STALE, "refuse": REQ_BAD},
)
def t_requirement_syntax(ctx: Ctx, variant: str) -> None:
    """A member's requirement rewritten: equivalent spellings (``^``, ``=``, ranges, wildcards,
    spaces, ``+build`` metadata, a warning), ones that exclude the locked version, and strings
    semver rejects (``v1.3``, ``1.3 || 1.4``, ``latest``, ``>=1.0 <2.0``, hyphen ranges,
    leading zeros, an empty string)."""
    tree = ctx.tree
    # a crate locked once: with two versions locked, which one a dependency uses is not
    # known here (found with MODERN_SEED=31337: hex 0.3.2 and 0.4.0 in nushell's lock)
    candidates = [
        d
        for d in ctx.member_deps()
        if "version" in d.spec and len(ctx.tree.lock().versions(d.name)) == 1
    ]
    dep = ctx.pick(candidates)
    locked = ctx.locked_version(dep.name)
    assert locked is not None
    req = str(dep.spec["version"])
    major, minor = [*_vkey(locked), 0, 0][:2]
    template = ctx.choose({"same": REQ_SAME, "stale": REQ_STALE, "refuse": REQ_BAD}[variant])
    if template == REQ_BAD["empty-pre"] and "-" in locked:
        # "1.0.0-alpha.4-" is a valid pre-release ("alpha.4-"), not an empty one (seed 31337)
        raise NotApplicable("the locked version has a pre-release already")
    new = template.format(
        r=req,
        v=locked,
        M=major,
        m=minor,
        M1=major + 1,
        m1=minor + 1,
        next=bump(locked),
        nextm=bump(locked, 1),
    )
    if variant == "same" and template == "{M}.{m}.*" and major == 0 and minor == 0:
        new = "0.0.*"
    spec = dict(dep.spec)
    spec["version"] = new
    tree.set_dep(dep, spec)
    ctx.note(f"{dep.rel}: {dep.key} {req!r} -> {new!r} (locked {locked})")


TOML_SPELLINGS = ("bom", "crlf", "toml11", "all")


@transform(("same",), kinds={"same": TOML_SPELLINGS})
def t_toml_spelling(ctx: Ctx, variant: str) -> None:
    """The same mappings written differently: a UTF-8 BOM, CRLF line ends, TOML 1.1 multi-line
    inline tables with trailing commas (cargo 1.95 reads TOML 1.1), and every dependency style."""
    tree = ctx.tree
    for rel in ctx.rng.sample(sorted(tree.docs), ctx.rng.randint(1, len(tree.docs))):
        style = Style.random(ctx.rng)
        how = ctx.choose(TOML_SPELLINGS)
        style.bom = how in ("bom", "all")
        style.crlf = how in ("crlf", "all")
        style.toml11 = how in ("toml11", "all")
        tree.styles[rel] = style
        ctx.note(f"{rel}: {how} ({style.dep})")


@transform(("same",))
def t_target_tables(ctx: Ctx, variant: str) -> None:
    """Dependencies moved under ``[target.'cfg(...)'.*]`` tables (also a cfg that is never true):
    the lock covers every target, so nothing changes."""
    tree = ctx.tree
    deps = [d for d in ctx.member_deps() if d.target is None and "version" in d.spec]
    for dep in ctx.rng.sample(deps, min(len(deps), ctx.rng.randint(1, 3))):
        cfg = ctx.rng.choice(
            (
                "cfg(any())",
                "cfg(unix)",
                "cfg(windows)",
                "x86_64-pc-windows-msvc",
                'cfg(target_os = "none")',
            )
        )
        spec = dict(dep.spec)
        tree.set_dep(dep, None)
        doc = tree.doc(dep.rel)
        doc.setdefault("target", {}).setdefault(cfg, {}).setdefault(dep.table[-1], {})[dep.key] = (
            spec
        )
        ctx.note(f"{dep.rel}: {dep.key} under [target.'{cfg}'.{dep.table[-1]}]")


@transform(("same", "refuse"))
def t_public_dependency(ctx: Ctx, variant: str) -> None:
    """``public = true``: ignored with a warning on stable for a normal dependency; an error in
    ``[workspace.dependencies]``."""
    tree = ctx.tree
    dep = ctx.pick([d for d in ctx.member_deps(kinds=("normal",)) if "version" in d.spec])
    spec = dict(dep.spec)
    if variant == "same":
        spec["public"] = True
        tree.set_dep(dep, spec)
        ctx.note(f"{dep.rel}: {dep.key} public = true")
    else:
        ws = ensure_workspace(tree)
        ws.setdefault("dependencies", {})[dep.key] = {"version": spec["version"], "public": True}
        tree.set_dep(dep, {"workspace": True})
        ctx.note(f"refuse: [workspace.dependencies] {dep.key} public = true")


MANIFEST_ERRORS = (
    "package-version-partial",
    "package-name-digit",
    "package-name-space",
    "workspace-and-pointer",
    "neither-package-nor-workspace",
    "branch-without-git",
    "git-and-path",
    "no-source",
    "links-without-build",
    "path-base",
    "missing-member",
    "duplicate-member-name",
    "artifact",
    "lib-without-artifact",
    "bad-cfg",
    "bad-profile-panic",
    "default-run-missing",
    "registry-and-git",
    "profile-name-reserved",
)


@transform(("refuse",), kinds={"refuse": MANIFEST_ERRORS})
def t_manifest_errors(ctx: Ctx, variant: str) -> None:
    """Other manifests cargo refuses to load, one kind per case."""
    tree = ctx.tree
    packages = tree.packages()
    rel = ctx.pick(packages)
    doc = tree.doc(rel)
    pkg = doc["package"]
    dep = ctx.pick([d for d in tree.deps(rel)] or [None])
    how = ctx.choose(MANIFEST_ERRORS)
    if dep is None and how in (
        "branch-without-git",
        "git-and-path",
        "no-source",
        "path-base",
        "artifact",
        "lib-without-artifact",
        "registry-and-git",
    ):
        how = "package-version-partial"
    if how == "package-version-partial":
        pkg["version"] = "1.0"
    elif how == "package-name-digit":
        pkg["name"] = "1" + str(pkg["name"])
    elif how == "package-name-space":
        pkg["name"] = "a b"
    elif how == "workspace-and-pointer":
        ensure_workspace(tree)
        tree.doc(".").setdefault("package", {"name": "x", "version": "0.1.0"})["workspace"] = "."
    elif how == "neither-package-nor-workspace":
        tree.docs[rel] = {
            k: v
            for k, v in doc.items()
            if k not in ("package", "workspace")
            and k
            not in (
                "dependencies",
                "dev-dependencies",
                "build-dependencies",
                "features",
                "lib",
                "bin",
                "badges",
                "target",
                "test",
                "bench",
                "example",
                "lints",
            )
        }
    elif how == "branch-without-git":
        dep.spec["branch"] = "main"
    elif how == "git-and-path":
        dep.spec["git"] = "https://127.0.0.1:9/x.git"
        dep.spec["path"] = "x"
    elif how == "no-source":
        tree.set_dep(dep, {"features": ["std"]})
    elif how == "links-without-build":
        pkg["links"] = "foo"
        pkg["build"] = False
    elif how == "path-base":
        dep.spec.pop("version", None)
        dep.spec["path"] = "x"
        dep.spec["base"] = "workspace"
    elif how == "missing-member":
        ensure_workspace(tree).setdefault("members", []).append("no-such-member")
    elif how == "duplicate-member-name":
        ws = ensure_workspace(tree)
        tree.new_crate(
            "dup/copy",
            {
                "package": {
                    "name": tree.package_name(ctx.pick(tree.members() or packages)),
                    "version": "9.0.0",
                }
            },
        )
        ws.setdefault("members", []).append("dup/copy")
    elif how == "artifact":
        dep.spec["artifact"] = "bin"
    elif how == "lib-without-artifact":
        dep.spec["lib"] = True
    elif how == "bad-cfg":
        spec = dict(dep.spec)
        tree.set_dep(dep, None)
        doc.setdefault("target", {})["cfg(unix"] = {"dependencies": {dep.key: spec}}
    elif how == "bad-profile-panic":
        tree.doc(".").setdefault("profile", {}).setdefault("release", {})["panic"] = "bogus"
    elif how == "default-run-missing":
        pkg["default-run"] = "no-such-bin"
    elif how == "registry-and-git":
        dep.spec["git"] = "https://127.0.0.1:9/x.git"
        dep.spec["registry"] = "crates-io"
    else:
        tree.doc(".").setdefault("profile", {})["build"] = {"debug": 1}
    ctx.note(f"refuse: {rel}: {how}")


# -- more of cargo's manifest rules (toml/mod.rs, targets.rs, cargo-platform) ----------------------

ANCESTOR_SAME = ("package-with-lib", "workspace-excluding", "pointer-elsewhere")
ANCESTOR_REFUSE = ("not-toml", "workspace-not-listing", "package-without-targets", "bad-package")


@transform(
    ("same", "stale", "refuse"),
    projects=("fd", "bat", "nushell", "mdbook"),
    kinds={"same": ANCESTOR_SAME, "refuse": ANCESTOR_REFUSE},
    combinable=False,
)
def t_ancestor_manifest(ctx: Ctx, variant: str) -> None:
    """A ``Cargo.toml`` in the directory above a project that is not a workspace root: cargo
    parses every ancestor manifest while it looks for a root (``find_root_iter``). A package
    there is passed over (after loading it fully), a root that excludes the project too; a root
    that does not exclude it claims it (then the project must be a member), and a manifest that
    does not load breaks the project."""
    tree = ctx.tree
    if tree.workspace() is not None:
        raise NotApplicable("the project is its own root")
    outer = tree.base
    how = ctx.choose(ANCESTOR_SAME if variant == "same" else ANCESTOR_REFUSE)
    text = ""
    if variant == "stale":
        how = "workspace-listing"
        # the project joins the outer workspace: its lock would be ../Cargo.lock (absent)
        text = f'[workspace]\nmembers = ["{tree.project}"]\n'
    elif how == "package-with-lib":
        text = '[package]\nname = "outer"\nversion = "0.1.0"\n'
        (outer / "src").mkdir(exist_ok=True)
        (outer / "src" / "lib.rs").write_text("")
    elif how == "workspace-excluding":
        text = f'[workspace]\nmembers = []\nexclude = ["{tree.project}"]\n'
    elif how == "pointer-elsewhere":
        # a package pointing at a root that does not exist: cargo follows the pointer and
        # finds nothing there, then... it is the search's answer (a missing root)
        raise NotApplicable("not modelled as same")
    elif how == "not-toml":
        text = "this is [not toml\n"
    elif how == "workspace-not-listing":
        text = "[workspace]\nmembers = []\n"
    elif how == "package-without-targets":
        text = '[package]\nname = "outer"\nversion = "0.1.0"\n'
    else:
        text = '[package]\nname = "outer"\nversion = "0.1.0"\nedition = "2019"\n'
        (outer / "src").mkdir(exist_ok=True)
        (outer / "src" / "lib.rs").write_text("")
    (outer / "Cargo.toml").write_text(text)
    ctx.note(f"../Cargo.toml: {how}")


TARGET_NAMES_SAME = ("triple", "cfg-all", "cfg-not", "cfg-keypair", "cfg-raw-ident")
TARGET_NAMES_REFUSE = ("space", "unquoted-value", "empty-cfg", "unclosed-any", "trailing-comma-2")


@transform(
    ("same", "refuse"),
    kinds={"same": TARGET_NAMES_SAME, "refuse": TARGET_NAMES_REFUSE},
)
def t_target_names(ctx: Ctx, variant: str) -> None:
    """``[target.<platform>.dependencies]`` keys: a target triple (alphanumerics, ``_``, ``-``,
    ``.``) or a ``cfg(...)`` expression that cargo-platform parses."""
    tree = ctx.tree
    deps = [d for d in ctx.member_deps() if d.target is None and "version" in d.spec]
    dep = ctx.pick(deps)
    how = ctx.choose(TARGET_NAMES_SAME if variant == "same" else TARGET_NAMES_REFUSE)
    name = {
        "triple": "x86_64-unknown-linux-gnu",
        "cfg-all": 'cfg(all(unix, target_pointer_width = "64"))',
        "cfg-not": "cfg(not(windows))",
        "cfg-keypair": 'cfg(target_os = "linux")',
        "cfg-raw-ident": "cfg(any(r#unix, windows,))",
        "space": "x86 64",
        "unquoted-value": "cfg(target_os = linux)",
        "empty-cfg": "cfg()",
        "unclosed-any": "cfg(any(unix)",
        "trailing-comma-2": "cfg(not(unix,))",
    }[how]
    spec = dict(dep.spec)
    tree.set_dep(dep, None)
    tree.doc(dep.rel).setdefault("target", {}).setdefault(name, {}).setdefault(dep.table[-1], {})[
        dep.key
    ] = spec
    ctx.note(f"{dep.rel}: {dep.key} under [target.'{name}'.{dep.table[-1]}] ({how})")


DEP_SAME = ("crates-io-registry", "both-tables", "build-metadata", "unused-key", "public-dev")
DEP_REFUSE = (
    "source-per-target",
    "unknown-registry",
    "boolean",
    "integer",
    "bad-key-name",
    "bad-package-name",
    "git-not-url",
    "base-without-path",
    "registry-and-index",
    "empty-features-entry",
)


@transform(("same", "refuse"), kinds={"same": DEP_SAME, "refuse": DEP_REFUSE})
def t_dependency_forms(ctx: Ctx, variant: str) -> None:
    """Dependency entries cargo accepts with a warning, and ones ``dep_to_dependency`` or the
    deserializer refuses."""
    tree = ctx.tree
    dep = ctx.pick([d for d in ctx.member_deps(kinds=("normal",)) if "version" in d.spec])
    table = tree.table(dep.rel, dep.table)
    how = ctx.choose(DEP_SAME if variant == "same" else DEP_REFUSE)
    spec = dict(dep.spec)
    if how == "crates-io-registry":
        spec["registry"] = "crates-io"
    elif how == "both-tables":
        dev = tree.doc(dep.rel).setdefault("dev-dependencies", {})
        if dep.key in dev:
            raise NotApplicable("already a dev-dependency")
        dev[dep.key] = {k: v for k, v in spec.items() if k != "optional"}
    elif how == "build-metadata":
        if str(spec["version"]).count(".") != 2 or not str(spec["version"])[0].isdigit():
            raise NotApplicable("build metadata needs a full version")
        spec["version"] = str(spec["version"]) + "+meta"
    elif how == "unused-key":
        spec["no-such-key"] = "ignored"
    elif how == "public-dev":
        dev = tree.doc(dep.rel).setdefault("dev-dependencies", {})
        if dep.key in dev:
            raise NotApplicable("already a dev-dependency")
        dev[dep.key] = {**{k: v for k, v in spec.items() if k != "optional"}, "public": True}
    elif how == "source-per-target":
        holder = tree.doc(dep.rel).setdefault("target", {}).setdefault("cfg(windows)", {})
        holder.setdefault("dependencies", {})[dep.key] = {"path": "no/such/dir"}
    elif how == "unknown-registry":
        spec["registry"] = "no-such-registry"
    elif how == "boolean":
        table[dep.key] = True
        ctx.note(f"refuse: {dep.rel}: {dep.key} = true")
        return
    elif how == "integer":
        table[dep.key] = 1
        ctx.note(f"refuse: {dep.rel}: {dep.key} = 1")
        return
    elif how == "bad-key-name":
        table["bad name"] = {"version": "1"}
    elif how == "bad-package-name":
        spec["package"] = "1" + dep.name
    elif how == "git-not-url":
        spec.pop("version", None)
        spec["git"] = "not a url"
    elif how == "base-without-path":
        spec["base"] = "workspace"
    elif how == "registry-and-index":
        spec["registry"] = "crates-io"
        spec["registry-index"] = "https://example.invalid/index"
    else:
        spec["features"] = [*spec.get("features", []), ""]
        ctx.note(f"{variant}: {dep.rel}: {dep.key} {how}")
        tree.set_dep(dep, spec)
        raise NotApplicable("an empty feature name is a resolver matter")
    tree.set_dep(dep, spec)
    ctx.note(f"{variant}: {dep.rel}: {dep.key} {how}")


PROFILE_SAME = {
    "lto-thin": {"release": {"lto": "thin", "opt-level": "s", "codegen-units": 1}},
    "debug-names": {"dev": {"debug": "line-tables-only", "split-debuginfo": "unpacked"}},
    "custom": {"ci": {"inherits": "release", "strip": "symbols", "panic": "abort"}},
    "package-star": {"dev": {"package": {"*": {"opt-level": 2}}}},
    "build-override": {"release": {"build-override": {"opt-level": 0, "debug": False}}},
}
PROFILE_REFUSE = {
    "lto-string-true": {"release": {"lto": "true"}},
    "dir-name": {"ci": {"inherits": "release", "dir-name": "x"}},
    "inherits-debug": {"ci": {"inherits": "debug"}},
    "opt-level-4": {"release": {"opt-level": "4"}},
    "debug-3": {"dev": {"debug": 3}},
    "codegen-units-negative": {"release": {"codegen-units": -1}},
    "override-panic": {"dev": {"build-override": {"panic": "abort"}}},
    "package-lto": {"dev": {"package": {"*": {"lto": True}}}},
    "nested-package": {"dev": {"package": {"*": {"package": {"x": {}}}}}},
    "rustflags": {"dev": {"rustflags": ["-C", "x"]}},
    "trim-paths": {"release": {"trim-paths": "all"}},
    "name-space": {"my profile": {"inherits": "dev"}},
    "name-cargo": {"cargo-ci": {"inherits": "dev"}},
}


@transform(("same", "refuse"), kinds={"same": PROFILE_SAME, "refuse": PROFILE_REFUSE})
def t_profiles(ctx: Ctx, variant: str) -> None:
    """``[profile.*]`` tables (``validate_profiles``, the ``TomlProfile`` deserializer): they
    never change the lock, but a malformed one stops cargo, in any manifest it loads (a
    member's profiles are ignored with a warning, yet still validated)."""
    tree = ctx.tree
    rel = ctx.pick(["."] + [m for m in tree.members() if m != "."])
    table = ctx.choose(PROFILE_SAME if variant == "same" else PROFILE_REFUSE)
    tree.doc(rel)["profile"] = json.loads(json.dumps(table))
    ctx.note(f"{variant}: {rel}: [profile] {table}")


PACKAGE_SAME = ("readme-false", "metadata", "publish-registries")
PACKAGE_REFUSE = (
    "publish-without-version",
    "four-part-version",
    "teapot",
    "default-target",
    "build-list",
    "metabuild",
    "keywords-string",
    "namespaced-name",
    "build-not-found-links",
)


@transform(("same", "refuse"), kinds={"same": PACKAGE_SAME, "refuse": PACKAGE_REFUSE})
def t_package_fields(ctx: Ctx, variant: str) -> None:
    """``[package]`` keys cargo checks: a missing version needs ``publish = false`` (cargo
    >= 1.75 then uses 0.0.0), keys behind unstable features, types."""
    tree = ctx.tree
    rel = ctx.pick(tree.packages())
    pkg = tree.doc(rel)["package"]
    how = ctx.choose(PACKAGE_SAME if variant == "same" else PACKAGE_REFUSE)
    if how == "publish-without-version" and isinstance(pkg.get("version"), dict):
        raise NotApplicable("inherited version")
    if how == "readme-false":
        pkg["readme"] = False
    elif how == "metadata":
        pkg["metadata"] = {"docs": {"rs": {"all-features": True}}, "x": [1, 2.5]}
    elif how == "publish-registries":
        pkg["publish"] = ["crates-io"]
    elif how == "publish-without-version":
        pkg.pop("version")
        pkg["publish"] = True
    elif how == "four-part-version":
        if isinstance(pkg.get("version"), dict):
            raise NotApplicable("inherited version")
        pkg["version"] = str(pkg["version"]) + ".0"
    elif how == "teapot":
        pkg["im-a-teapot"] = True
    elif how == "default-target":
        pkg["default-target"] = "x86_64-unknown-linux-gnu"
    elif how == "build-list":
        pkg["build"] = ["build.rs", "build2.rs"]
    elif how == "metabuild":
        pkg["metabuild"] = "mb"
    elif how == "keywords-string":
        pkg["keywords"] = "cli"
    elif how == "namespaced-name":
        pkg["name"] = "foo::bar"
    else:
        pkg["links"] = "z"
        pkg["build"] = "no-such-build.rs"
        raise NotApplicable("a missing build script file is a build-time error")
    ctx.note(f"{variant}: {rel}: {how}")


LINT_SAME = ("own-priority", "tool-unknown", "cargo-tool", "check-cfg-list")
LINT_REFUSE = (
    "priority-overflow",
    "level-typo",
    "value-integer",
    "workspace-false",
    "missing-level",
)


@transform(("same", "refuse"), kinds={"same": LINT_SAME, "refuse": LINT_REFUSE})
def t_lint_tables(ctx: Ctx, variant: str) -> None:
    """A package's own ``[lints]`` (``TomlLints``, ``verify_lints``)."""
    tree = ctx.tree
    rel = ctx.pick(tree.packages())
    how = ctx.choose(LINT_SAME if variant == "same" else LINT_REFUSE)
    lints: Doc = {
        "own-priority": {"clippy": {"pedantic": {"level": "warn", "priority": -1}}},
        "tool-unknown": {"rustfmt": {"x": "warn"}},
        "cargo-tool": {"cargo": {"x": "warn"}},
        "check-cfg-list": {"rust": {"unexpected_cfgs": {"level": "warn", "check-cfg": ["cfg(x)"]}}},
        "priority-overflow": {"clippy": {"all": {"level": "warn", "priority": 300}}},
        "level-typo": {"rust": {"unsafe_code": "warning"}},
        "value-integer": {"rust": {"unused": 1}},
        "workspace-false": {"workspace": False},
        "missing-level": {"rust": {"unused": {"priority": 1}}},
    }[how]
    tree.doc(rel)["lints"] = lints
    ctx.note(f"{variant}: {rel}: [lints] {how}")


PATCH_CHECK_REFUSE = ("version-mismatch", "two-same-version", "name-mismatch")


@transform(("refuse",), kinds={"refuse": PATCH_CHECK_REFUSE})
def t_patch_checks(ctx: Ctx, variant: str) -> None:
    """What registering ``[patch]`` refuses (``PackageRegistry::patch``): a path whose package
    does not match the entry's name or ``version``, two entries resolving to the same package."""
    tree = ctx.tree
    if "replace" in tree.doc("."):
        raise NotApplicable("the root has [replace]")
    key, name, version, rel = patch_target(ctx, "used")
    how = ctx.choose(PATCH_CHECK_REFUSE)
    patches = tree.doc(".").setdefault("patch", {}).setdefault("crates-io", {})
    if how == "version-mismatch":
        patches[key] = {"path": rel, "version": f"={bump(version, 0)}"}
    elif how == "two-same-version":
        patches[key] = {"path": rel}
        patches[f"{key}-again"] = {"path": rel, "package": name}
    else:
        patches[key] = {"path": rel}
        tree.doc(rel)["package"]["name"] = f"{name}-renamed"
    ctx.note(f"refuse: [patch.crates-io] {key} -> {rel}: {how}")


@transform(("relock",), projects=WORKSPACES)
def t_patch_config_both_names(ctx: Ctx, variant: str) -> None:
    """``.cargo/config`` and ``.cargo/config.toml`` both present: cargo reads ``config`` (with
    a warning) and ignores ``config.toml``, here patching the same crate to a missing path."""
    tree = ctx.tree
    key, _, _, rel = patch_target(ctx, "used")
    tree.write(".cargo/config", f'[patch.crates-io]\n{key} = {{ path = "{rel}" }}\n')
    tree.write(".cargo/config.toml", f'[patch.crates-io]\n{key} = {{ path = "no/such/dir" }}\n')
    ctx.note(f".cargo/config patches {key}; .cargo/config.toml (ignored) to a missing path")
    ctx.relock()


TARGETS_SAME = (
    "bin-with-path",
    "bin-main",
    "bin-in-dir",
    "example-file",
    "lib-renamed",
    "example-missing-file",
)
TARGETS_REFUSE = (
    "bin-without-name",
    "bin-forbidden-name",
    "bin-duplicate",
    "bin-missing-file",
    "lib-hyphen",
    "lib-crate-type-2024",
    "no-targets",
    "bench-empty-name",
)


@transform(("same", "refuse"), kinds={"same": TARGETS_SAME, "refuse": TARGETS_REFUSE})
def t_targets(ctx: Ctx, variant: str) -> None:
    """Target tables (``util/toml/targets.rs``): each needs a name and a file, found at its
    ``path`` or where cargo looks (``src/bin/<name>.rs``, ``examples/<name>.rs``...); a
    package needs at least one target; a library name has no ``-``."""
    tree = ctx.tree
    rel = ctx.pick(tree.packages())
    doc = tree.doc(rel)
    pkg = doc["package"]
    root = tree.path(rel)
    # (a missing example, test or bench file is only reported, not fatal, in cargo 1.95)
    how = ctx.choose(TARGETS_SAME if variant == "same" else TARGETS_REFUSE)
    bins = doc.setdefault("bin", [])
    if how == "bin-with-path":
        tree.write(f"{rel}/tools/extra.rs", "fn main() {}\n")
        bins.append({"name": "extra-tool", "path": "tools/extra.rs"})
    elif how == "bin-main":
        if not (root / "src" / "main.rs").exists():
            (root / "src").mkdir(exist_ok=True)
            (root / "src" / "main.rs").write_text("fn main() {}\n")
        if any(b.get("name") == pkg["name"] for b in bins):
            raise NotApplicable("already listed")
        bins.append({"name": pkg["name"]})
    elif how == "bin-in-dir":
        tree.write(f"{rel}/src/bin/helper/main.rs", "fn main() {}\n")
        bins.append({"name": "helper"})
    elif how == "example-file":
        tree.write(f"{rel}/examples/demo.rs", "fn main() {}\n")
        doc.setdefault("example", []).append({"name": "demo"})
    elif how == "lib-renamed":
        if not (root / "src" / "lib.rs").exists() or "lib" in doc:
            raise NotApplicable("no plain library")
        doc["lib"] = {"name": "renamed_lib"}
    elif how == "bin-without-name":
        bins.append({"path": "src/main.rs"})
    elif how == "bin-forbidden-name":
        tree.write(f"{rel}/src/bin/deps.rs", "fn main() {}\n")
        bins.append({"name": "deps"})
    elif how == "bin-duplicate":
        tree.write(f"{rel}/src/bin/twice.rs", "fn main() {}\n")
        bins.extend([{"name": "twice"}, {"name": "twice", "path": "src/bin/twice.rs"}])
    elif how == "bin-missing-file":
        bins.append({"name": "no-such-binary"})
    elif how == "example-missing-file":
        doc.setdefault("example", []).append({"name": "no-such-example"})
    elif how == "lib-hyphen":
        doc["lib"] = {"name": "has-hyphen", "path": "src/lib.rs"}
    elif how == "lib-crate-type-2024":
        if isinstance(pkg.get("edition"), dict) or not (root / "src" / "lib.rs").exists():
            raise NotApplicable("inherited edition, or no library")
        _set_edition(ctx, rel, "2024")
        if pkg.get("edition") != "2024":
            raise NotApplicable("edition 2024 not possible here")
        doc["lib"] = {"crate_type": ["rlib"]}
    elif how == "no-targets":
        if bins or any(doc.get(k) for k in ("lib", "example", "test", "bench")):
            raise NotApplicable("explicit targets")
        for sub in ("src", "examples", "tests", "benches"):
            shutil.rmtree(root / sub, ignore_errors=True)
    else:
        doc.setdefault("bench", []).append({"name": " ", "path": "benches/x.rs"})
    if not bins:
        doc.pop("bin")
    ctx.note(f"{variant}: {rel}: {how}")


OUTSIDE_MEMBER = ("pointer-back", "no-pointer")


@transform(
    ("relock", "refuse"),
    projects=WORKSPACES,
    kinds={"relock": ("pointer-back",), "refuse": ("no-pointer",)},
    combinable=False,
)
def t_outside_member(ctx: Ctx, variant: str) -> None:
    """``members = ["../x"]``: a member outside the root directory is a member only when its
    own root is this workspace (``validate_members``): with ``package.workspace`` pointing
    back it is; without, cargo refuses ("not hierarchically below the workspace root")."""
    tree = ctx.tree
    ws = tree.workspace()
    assert ws is not None
    dep_name, dep_version = pick_locked_crate(ctx)
    doc: Doc = {
        "package": {"name": "outside-member", "version": "0.1.0", "edition": "2021"},
        "dependencies": {dep_name: {"version": dep_version}},
    }
    if variant == "relock":
        doc["package"]["workspace"] = f"../{tree.project}"
    tree.new_crate("../outside-member", doc)
    ws.setdefault("members", []).append("../outside-member")
    ctx.note(f"member ../outside-member ({ctx.choose(OUTSIDE_MEMBER)})")
    if variant == "relock":
        ctx.relock()


# ---------------------------------------------------------------------------------------------
# running cargo and registry

#: The cargo errors that mean "the lock cannot stay as it is" (registry check exit 1); any other
#: error is a manifest, workspace or lockfile cargo refuses to load (exit 2).
LOCK_STALE = ("was passed to prevent this",)
RESOLVE_FAILED = (
    "failed to select a version for",
    "no matching package named",
    "no matching package found",
    "which satisfies dependency",
    "does not have that feature",
    "does not have these features",
    "does not have feature",
    "cyclic package dependency",
    "checksum for `",
    # a git source the lock does not have yet: online cargo would fetch it and relock
    "you are in the offline mode",
)
LOAD_FAILED = (
    "failed to parse manifest",
    "failed to load manifest",
    "failed to read `",
    "failed to parse lock file",
    "could not load Cargo configuration",
)


def classify(returncode: int, stderr: str) -> str:
    """``ok``, ``stale`` (the lock must change), ``unresolvable`` (no resolve keeps the lock) or
    ``refused`` (cargo would not load the workspace)."""
    if returncode == 0:
        return "ok"
    if any(s in stderr for s in LOCK_STALE):
        return "stale"
    if any(s in stderr for s in LOAD_FAILED):
        return "refused"
    if any(s in stderr for s in RESOLVE_FAILED):
        return "unresolvable"
    return "refused"


EXPECTED_EXIT = {"ok": 0, "stale": 1, "unresolvable": 1, "refused": 2}
INTENT = {"same": "ok", "relock": "ok", "stale": "stale", "refuse": "refused"}


def first_error(stderr: str) -> str:
    """cargo's error, as one line: ``error: ...`` and its ``Caused by:`` chain."""
    lines = stderr.splitlines()
    start = next((i for i, x in enumerate(lines) if x.startswith("error")), None)
    if start is None:
        return " ".join(x.strip() for x in lines[-3:])
    chain = [lines[start]]
    for line in lines[start + 1 :]:
        text = line.strip()
        if not text or text == "Caused by:" or text.startswith(("|", "-->", "=", "note:", "help:")):
            continue
        if text.startswith("warning:"):
            break
        chain.append(text)
    return " / ".join(chain)[:600]


class Runner:
    """A served copy of the bundled index, one CARGO_HOME whose config replaces crates.io with it
    (like ``tests/test_check_cargo.py``), one registry cache, and both tools on top."""

    def __init__(self, base: Path, url: str, home: Path, cache: Path, env: dict[str, str]) -> None:
        self.base = base
        self.url = url  # sparse+http://127.0.0.1:PORT/
        self.home = home
        self.cache = cache
        self.env = env
        self.home_text = (home / "config.toml").read_text()

    def _env(self, home: Path | None) -> dict[str, str]:
        env = dict(self.env)
        if home is not None:
            env["CARGO_HOME"] = str(home)
        return env

    def cargo(
        self,
        directory: Path,
        *,
        locked: bool = True,
        offline: bool = True,
        home: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        assert CARGO is not None
        args = [CARGO, "update", "--workspace"]
        args += ["--locked"] if locked else []
        args += ["--offline"] if offline else []
        return subprocess.run(
            args,
            cwd=directory,
            env=self._env(home),
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )

    def registry(
        self, directory: Path, home: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        args = [
            sys.executable,
            "-m",
            "registry",
            "--index-url",
            self.url,
            "--cache-dir",
            str(self.cache),
            "--offline",
            "check",
            "--no-fingerprint",
            "--manifest-path",
            str(directory / "Cargo.toml"),
        ]
        return subprocess.run(
            args,
            cwd=directory,
            env=self._env(home),
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )

    def case_home(self, base: Path, extra: str) -> Path:
        """A CARGO_HOME of the case's own: the shared config plus ``extra``, and the shared
        registry cache (a symlink)."""
        home = base / "home"
        if not home.exists():
            home.mkdir()
            (home / "registry").symlink_to(self.home / "registry", target_is_directory=True)
        (home / "config.toml").write_text(self.home_text + "\n" + extra)
        return home

    def warm(self, projects: Iterable[str]) -> None:
        """cargo online once per project (fills its cache), registry ``fetch`` for every crate
        of the index (fills ours): both then answer offline."""
        for project in projects:
            scratch = self.base / "warm" / project
            if scratch.exists():
                continue
            shutil.copytree(PROJECTS / project, scratch)
            done = self.cargo(scratch, offline=False)
            assert done.returncode == 0, done.stderr
        if not (self.base / "warm" / ".registry").exists():
            args = [
                sys.executable,
                "-m",
                "registry",
                "--index-url",
                self.url,
                "--cache-dir",
                str(self.cache),
                "fetch",
                *index_names(),
            ]
            done = subprocess.run(args, env=self.env, capture_output=True, text=True, check=False)
            assert done.returncode == 0, done.stdout + done.stderr
            (self.base / "warm" / ".registry").write_text("")


def world_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARGO_", "REGISTRY_"))}
    for name in (
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ):
        env.pop(name, None)
    env.update(CARGO_HOME=str(home), CARGO_TERM_COLOR="never")
    return env


def open_runner(base: Path, server_url: str) -> Runner:
    home = base / "cargo-home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        '[source.crates-io]\nreplace-with = "local-sparse"\n\n'
        f'[source.local-sparse]\nregistry = "sparse+{server_url}"\n'
    )
    return Runner(base, "sparse+" + server_url, home, base / "registry-cache", world_env(home))


# ---------------------------------------------------------------------------------------------
# cases


@dataclass(frozen=True)
class Case:
    project: str
    steps: tuple[tuple[str, str], ...]
    seed: int

    @property
    def id(self) -> str:
        steps = "+".join(f"{t}/{v}" for t, v in self.steps)
        return f"{self.project}:{steps}:s{self.seed % 10000:04d}"

    def step_seeds(self) -> Iterator[tuple[str, str, int]]:
        seen: dict[str, int] = {}
        for name, variant in self.steps:
            n = seen[name] = seen.get(name, 0) + 1
            yield name, variant, zlib.crc32(f"{self.seed}:{name}:{variant}:{n}".encode())

    def without(self, index: int) -> Case:
        return Case(self.project, self.steps[:index] + self.steps[index + 1 :], self.seed)

    @property
    def intent(self) -> str:
        intents = [INTENT[v.partition(".")[0]] for _, v in self.steps]
        for worst in ("refused", "stale"):
            if worst in intents:
                return worst
        return "ok"

    @property
    def slug(self) -> str:
        text = re.sub(r"[^A-Za-z0-9]+", "-", self.id).strip("-")
        return f"{text[:80]}-{zlib.crc32(self.id.encode()):08x}"


@dataclass
class Outcome:
    case: Case
    status: str  # "ran", "not-applicable", "setup-failed"
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    target: str = "."
    cargo_code: int = 0
    cargo_class: str = ""
    cargo_error: str = ""
    registry_code: int = -1
    registry_output: str = ""
    seconds: float = 0.0

    @property
    def expected(self) -> int:
        return EXPECTED_EXIT[self.cargo_class]

    @property
    def agrees(self) -> bool:
        return self.status != "ran" or self.registry_code == self.expected

    def detail(self) -> str:
        return (
            f"case {self.case.id} (run in {self.target}):\n  - "
            + "\n  - ".join(self.notes)
            + f"\ncargo: exit {self.cargo_code} ({self.cargo_class}) {self.cargo_error}"
            + f"\nregistry: exit {self.registry_code} (expected {self.expected})\n"
            + self.registry_output
        )


TARGET_SETTERS = ("fuzz_workspace", "excluded_with_own_lock")


def run_case(runner: Runner, case: Case) -> Outcome:
    import time

    started = time.monotonic()
    base = runner.base / "cases" / case.slug
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    shutil.copytree(PROJECTS / case.project, base / case.project)
    for extra in ("Cargo.lock.v3", "Cargo.lock.v4"):
        (base / case.project / extra).unlink(missing_ok=True)
    tree = Tree(base, case.project)
    ctx = Ctx(tree, random.Random(case.seed), runner)
    outcome = Outcome(case, "ran", notes=ctx.notes)
    try:
        for name, variant, seed in case.step_seeds():
            ctx.rng = random.Random(seed)  # a step's choices do not depend on the steps before it
            base_variant, _, kind = variant.partition(".")
            ctx.kind = kind or None
            TRANSFORMS[name].fn(ctx, base_variant)
        ctx.rng = random.Random(case.seed)
        tree.flush(ctx.rng)
    except NotApplicable as exc:
        outcome.status, outcome.reason = "not-applicable", str(exc)
        return outcome
    except SetupError as exc:
        outcome.status, outcome.reason = "setup-failed", str(exc)
        return outcome
    except Exception as exc:  # noqa: BLE001 - a generator bug: reported with the case, not fatal
        outcome.status, outcome.reason = "setup-failed", f"generator error: {exc!r}"
        return outcome
    outcome.target = ctx.target
    where = tree.path(ctx.target)
    home = ctx.home()
    cargo = runner.cargo(where, home=home)
    outcome.cargo_code = cargo.returncode
    outcome.cargo_class = classify(cargo.returncode, cargo.stderr)
    outcome.cargo_error = first_error(cargo.stderr) if cargo.returncode else ""
    reg = runner.registry(where, home=home)
    outcome.registry_code = reg.returncode
    outcome.registry_output = (reg.stdout + reg.stderr).strip()[:1500]
    outcome.seconds = time.monotonic() - started
    return outcome


SEED = 20260321
SINGLES_PER_VARIANT = 2
COMBINATIONS = 120


#: Transforms that cannot meet in one case (cargo: "cannot specify both [replace] and [patch]").
CONFLICTS = (
    {"replace", "patch_manifest"},
    {"replace", "patch_config"},
    {"replace", "patch_config_both_names"},
)


def _compatible(names: Iterable[str]) -> bool:
    names = set(names)
    return not any(pair <= names for pair in CONFLICTS)


def generate(
    seed: int = SEED, singles: int = SINGLES_PER_VARIANT, combinations: int = COMBINATIONS
) -> list[Case]:
    """Every transform in every variant on ``singles`` of its projects (seeded choice), then
    ``combinations`` seeded combinations: 2-4 ``same``/``relock`` steps on one project, then
    sometimes a ``stale`` or ``refuse`` step, or a step that moves the check into a nested
    workspace (cargo-fuzz, an excluded package with its own lock)."""
    rng = random.Random(seed)
    cases: list[Case] = []
    for t in TRANSFORMS.values():
        for variant in t.variants:
            projects = t.projects_for(variant)
            kinds = t.kinds_for(variant)
            if kinds:  # each sub-kind once, on a seeded choice of project
                for kind in kinds:
                    project = rng.choice(t.projects_for(f"{variant}.{kind}"))
                    step = (t.name, f"{variant}.{kind}")
                    cases.append(Case(project, (step,), rng.randrange(1 << 30)))
                continue
            for project in sorted(rng.sample(projects, min(singles, len(projects)))):
                cases.append(Case(project, ((t.name, variant),), rng.randrange(1 << 30)))
    kind_ok = ("same", "relock")
    while combinations > 0:
        project = rng.choice(ALL)
        pool = [
            t
            for t in TRANSFORMS.values()
            if t.combinable
            and t.name not in TARGET_SETTERS
            and any(v in kind_ok and project in t.projects_for(v) for v in t.variants)
        ]
        chosen = rng.sample(pool, rng.randint(2, 4))
        steps = [
            (
                t.name,
                rng.choice(
                    [v for v in t.variants if v in kind_ok and project in t.projects_for(v)]
                ),
            )
            for t in chosen
        ]
        roll = rng.random()
        last: list[tuple[str, str]] = []
        wanted = (
            "stale" if roll < 0.3 else "refuse" if roll < 0.55 else "target" if roll < 0.7 else ""
        )
        if wanted == "target":
            last = [(n, "relock") for n in TARGET_SETTERS if project in TRANSFORMS[n].projects]
        elif wanted:
            last = [
                (t.name, wanted)
                for t in TRANSFORMS.values()
                if wanted in t.variants
                and project in t.projects_for(wanted)
                and t.name not in TARGET_SETTERS
            ]
        if last:
            steps.append(rng.choice(last))
        if not _compatible(n for n, _ in steps):
            continue
        cases.append(Case(project, tuple(steps), rng.randrange(1 << 30)))
        combinations -= 1
    return cases


# ---------------------------------------------------------------------------------------------
# running everything: the disagreement report


def run_all(runner: Runner, cases: list[Case], jobs: int = 3) -> list[Outcome]:
    """Every case, ``jobs`` at a time (cargo serialises on its package cache lock; registry and
    the file work overlap)."""
    from concurrent.futures import ThreadPoolExecutor

    runner.warm(sorted({c.project for c in cases}))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda c: run_case(runner, c), cases))


def minimize_all(runner: Runner, outcomes: list[Outcome], jobs: int = 3) -> dict[str, Outcome]:
    from concurrent.futures import ThreadPoolExecutor

    bad = [o for o in outcomes if o.status == "ran" and not o.agrees and len(o.case.steps) > 1]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        smaller = list(pool.map(lambda o: minimize(runner, o), bad))
    return {o.case.id: m for o, m in zip(bad, smaller, strict=True)}


def minimize(runner: Runner, outcome: Outcome) -> Outcome:
    """The disagreeing ``outcome`` with as many steps dropped as still leave the same kind of
    disagreement (each step keeps its own seed, so the others choose as before)."""
    kind = kind_of(outcome)
    best = outcome
    changed = True
    while changed and len(best.case.steps) > 1:
        changed = False
        for i in range(len(best.case.steps)):
            trial = run_case(runner, best.case.without(i))
            if trial.status == "ran" and not trial.agrees and kind_of(trial) == kind:
                best, changed = trial, True
                break
    return best


def kind_of(outcome: Outcome) -> str:
    """The disagreement's kind: what cargo said against what registry said."""
    ran = outcome.cargo_class
    got = outcome.registry_code
    if ran == "ok":
        return f"false alarm: cargo accepts, registry exits {got}"
    if ran == "refused":
        if got == 0:
            return "missed refusal: cargo refuses to load, registry says up to date"
        return f"wrong exit: cargo refuses to load (expected 2), registry exits {got}"
    if got == 0:
        return f"missed: cargo says the lock must change ({ran}), registry says up to date"
    return f"wrong exit: cargo says the lock must change ({ran}, expected 1), registry exits {got}"


def _deciding(case: Case) -> str:
    """The step a case is about (the last one, or the first stale/refuse step), as
    ``transform/variant`` without the sub-kind."""
    step = case.steps[-1]
    if case.intent != "ok":
        step = next(s for s in case.steps if INTENT[s[1].partition(".")[0]] == case.intent)
    return f"{step[0]}/{step[1].partition('.')[0]}"


def report(
    outcomes: list[Outcome], seconds: float, smaller: dict[str, Outcome] | None = None
) -> str:
    smaller = smaller or {}
    ran = [o for o in outcomes if o.status == "ran"]
    bad = [o for o in ran if not o.agrees]
    shown = [smaller.get(o.case.id, o) for o in bad]
    lines = [
        "# `registry check` against cargo 1.95: disagreements from the modern-manifest generator",
        "",
        f"Generated by `python -m tests.modern_manifests` (seed {SEED}): {len(outcomes)} cases, "
        f"{len(ran)} ran, {len(bad)} disagree; "
        f"{sum(o.status == 'not-applicable' for o in outcomes)} not applicable, "
        f"{sum(o.status == 'setup-failed' for o in outcomes)} setup failures; {seconds:.0f} s.",
        "",
        "Each entry: the case id (`project:transform/variant+...:sSEED`; a combination is shown",
        "minimized to the steps that still give the same disagreement, the original id after",
        "`from`), what the generator did, cargo's answer (`cargo update --workspace --locked",
        "--offline`) and registry's (`registry --offline check`).",
        "",
    ]
    by_kind: dict[str, list[tuple[Outcome, Outcome]]] = {}
    for o, m in zip(bad, shown, strict=True):
        by_kind.setdefault(kind_of(m), []).append((o, m))
    lines += ["## Counts", "", "| kind | cases | by transform |", "|---|---|---|"]
    order = sorted(by_kind.items(), key=lambda kv: -len(kv[1]))
    for kind, items in order:
        per: dict[str, int] = {}
        for _, m in items:
            per[_deciding(m.case)] = per.get(_deciding(m.case), 0) + 1
        listed = ", ".join(f"{k} {v}" for k, v in sorted(per.items(), key=lambda kv: -kv[1]))
        lines.append(f"| {kind} | {len(items)} | {listed} |")
    lines.append("")
    for kind, items in order:
        lines += [f"## {kind} ({len(items)})", ""]
        groups: dict[str, list[tuple[Outcome, Outcome]]] = {}
        for o, m in items:
            groups.setdefault(_deciding(m.case), []).append((o, m))
        for name, group in sorted(groups.items()):
            lines += [f"### {name} ({len(group)})", ""]
            for o, m in group:
                origin = f" from `{o.case.id}`" if m is not o else ""
                lines.append(f"- `{m.case.id}`{origin}, run in `{m.target}`")
                for note in m.notes:
                    lines.append(f"  - {note}")
                lines.append(
                    f"  - cargo: exit {m.cargo_code}, {m.cargo_class}"
                    + (f": `{m.cargo_error}`" if m.cargo_error else "")
                )
                reg = " / ".join(x.strip() for x in m.registry_output.splitlines()[:4] if x.strip())
                lines.append(f"  - registry: exit {m.registry_code}: `{reg[:500]}`")
            lines.append("")
    intent = [
        o
        for o in ran
        if o.cargo_class != o.case.intent
        and not (o.case.intent == "stale" and o.cargo_class == "unresolvable")
    ]
    lines += [
        f"## Generator intent differing from cargo ({len(intent)})",
        "",
        "Not registry's problem: cases where cargo's answer is not what the generator meant",
        "(cargo's answer is still the expectation).",
        "",
    ]
    for o in intent:
        lines.append(
            f"- `{o.case.id}`: meant {o.case.intent}, cargo {o.cargo_class}: "
            f"{'; '.join(o.notes)}" + (f" (`{o.cargo_error[:300]}`)" if o.cargo_error else "")
        )
    failed = [o for o in outcomes if o.status == "setup-failed"]
    if failed:
        lines += ["", f"## Setup failures ({len(failed)})", ""]
        for o in failed:
            lines.append(f"- `{o.case.id}`: {o.reason}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.modern_manifests [--out FILE] [--seed N] [--singles N]
    [--combinations N] [--jobs N] [--keep DIR] [-k SUBSTRING]``: run the generated cases and
    write the disagreement report (stdout by default)."""
    import argparse
    import time

    from tests.httpserver import IndexServer

    parser = argparse.ArgumentParser(prog="python -m tests.modern_manifests")
    parser.add_argument("--out")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--singles", type=int, default=SINGLES_PER_VARIANT)
    parser.add_argument("--combinations", type=int, default=COMBINATIONS)
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("--keep", help="work directory to keep (default: a temporary one)")
    parser.add_argument("-k", dest="select", help="only cases whose id contains this")
    parser.add_argument("--json", help="also write every outcome as JSON lines here")
    parser.add_argument(
        "--no-minimize",
        dest="minimize",
        action="store_false",
        help="report disagreeing combinations as generated",
    )
    parser.add_argument(
        "--known",
        help="write the ids of the disagreeing cases here (the "
        "strict-xfail list of tests/test_check_modern.py)",
    )
    args = parser.parse_args(argv)
    if CARGO is None:
        print("cargo is not installed", file=sys.stderr)
        return 2
    cases = generate(args.seed, args.singles, args.combinations)
    if args.select:
        cases = [c for c in cases if args.select in c.id]
    started = time.monotonic()
    with contextlib_dir(args.keep) as base, IndexServer(INDEX) as server:
        runner = open_runner(Path(base), server.url)
        outcomes = run_all(runner, cases, args.jobs)
        seconds = time.monotonic() - started
        smaller = minimize_all(runner, outcomes, args.jobs) if args.minimize else {}
    text = report(outcomes, seconds, smaller)
    if args.json:
        with open(args.json, "w") as fh:
            for o in outcomes:
                fh.write(
                    json.dumps(
                        {
                            "id": o.case.id,
                            "status": o.status,
                            "reason": o.reason,
                            "notes": o.notes,
                            "target": o.target,
                            "cargo": o.cargo_code,
                            "class": o.cargo_class,
                            "cargo_error": o.cargo_error,
                            "registry": o.registry_code,
                            "registry_output": o.registry_output,
                            "intent": o.case.intent,
                            "agrees": o.agrees,
                            "seconds": round(o.seconds, 2),
                        }
                    )
                    + "\n"
                )
    if args.known:
        ids = sorted(o.case.id for o in outcomes if o.status == "ran" and not o.agrees)
        Path(args.known).write_text(
            "# Case ids of tests/test_check_modern.py where registry check disagrees with cargo\n"
            f"# (seed {args.seed}); written by python -m tests.modern_manifests --known FILE.\n"
            + "".join(f"{i}\n" for i in ids)
        )
    if args.out:
        Path(args.out).write_text(text)
    else:
        sys.stdout.write(text)
    ran = [o for o in outcomes if o.status == "ran"]
    print(
        f"{len(ran)} ran, {sum(not o.agrees for o in ran)} disagree, {seconds:.0f} s",
        file=sys.stderr,
    )
    return 0


def contextlib_dir(keep: str | None) -> Any:
    import contextlib
    import tempfile

    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        return contextlib.nullcontext(keep)
    return tempfile.TemporaryDirectory(prefix="modern-manifests-")


if __name__ == "__main__":
    raise SystemExit(main())
