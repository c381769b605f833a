"""The API reference (book/api) is reachable from the table of contents, the package's docstrings
are valid reStructuredText, the chapters link the package's names they mention, and those
cross-references resolve the way Sphinx resolves them in
the book's nitpicky build.

Building the reference takes a minute, so the reference check here follows Sphinx's rules
instead: autodoc documents, for a module with ``:members:``, the functions and classes defined
there (or everything its ``__all__`` lists), their public methods and attributes, and only those
module constants that carry a ``#:`` comment; a role such as ``:data:`NAME``` then resolves
against the current module and class, or as a full dotted name (a leading ``.`` also allows a
unique suffix match). Names outside the package are left to the ``nitpick_ignore_regex`` of
_config.yml, as in the build."""

import ast
import builtins
import importlib
import inspect
import re

import nbformat
import yaml
from docutils import nodes
from docutils.core import publish_doctree
from sphinx.pycode import ModuleAnalyzer

from effnotes.chapters import chapters

ROLE = re.compile(r":(?:py:)?(func|meth|class|exc|data|const|attr|mod|obj):`([^`]+)`")
# the object kinds a role may name when Sphinx searches by suffix (a target with a leading ".")
ROLE_KINDS = {"func": {"function"}, "meth": {"method"}, "class": {"class"}, "exc": {"class"},
              "data": {"data"}, "const": {"data"}, "attr": {"attribute"}, "mod": {"module"},
              "obj": {"function", "method", "class", "data", "attribute", "module"}}


# any interpreted-text role (":func:`x`", ":cite:p:`key`"): plain docutils knows few of them
ANY_ROLE = re.compile(r":(?:[\w.+-]+:)+`([^`]*)`")
# a MyST role of the Python domain in a chapter's markdown: {py:func}`effnotes.timing.interleaved_times`
MYST_ROLE = re.compile(r"\{py:(func|meth|class|exc|data|const|attr|mod|obj)\}`([^`]+)`")
# a name of the package written as plain code in a chapter's prose, not as a role; a command
# (`python -m effnotes.maddness.bench`, `effnotes experiment ...`) is not one
UNLINKED = re.compile(r"(?<![}\w])`(effnotes(?:\.\w+)*)`")
# Chapters whose prose does not link the package's names yet. An entry fails once the chapter
# links them all (remove it then).
NOT_YET_LINKED: set[str] = set()


def toc_files(entries):
    for entry in entries:
        if "file" in entry:
            yield entry["file"]
        yield from toc_files(entry.get("sections", []))
        yield from toc_files(entry.get("chapters", []))


def api_pages(repo_root):
    return sorted((repo_root / "book" / "api").glob("*.md"))


def automodules(repo_root):
    """``{module name: whether its members are documented}`` over the API pages."""
    found = {}
    for page in api_pages(repo_root):
        lines = page.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if line.startswith(".. automodule::"):
                options = []
                for option in lines[i + 1:]:
                    if not option.startswith("   :"):
                        break
                    options.append(option.strip())
                found[line.split("::", 1)[1].strip()] = ":members:" in options
    return found


def attr_docs(module_name):
    return ModuleAnalyzer.for_module(module_name).find_attr_docs()


def documented_objects(modules):
    """``{dotted name: kind}`` of every object the API pages document."""
    objects = {name: "module" for name in modules}
    for name, with_members in modules.items():
        if not with_members:
            continue
        module = importlib.import_module(name)
        comments = attr_docs(name)
        listed = getattr(module, "__all__", None)
        for member in listed if listed is not None else list(vars(module)):
            if member.startswith("_"):
                continue
            value = getattr(module, member)
            if ("", member) in comments:
                objects[f"{name}.{member}"] = "data"
            elif inspect.isclass(value) or inspect.isroutine(value):
                if listed is None and getattr(value, "__module__", None) != name:
                    continue  # imported here: documented where it is defined
                kind = "class" if inspect.isclass(value) else "function"
                objects[f"{name}.{member}"] = kind
                if kind == "class":
                    objects.update(class_members(f"{name}.{member}", value))
    return objects


def class_members(qualified, cls):
    members = {f"{qualified}.{n}": "attribute" for n in vars(cls).get("__annotations__", {})}
    for member, value in vars(cls).items():
        if member.startswith("_"):
            continue
        target = getattr(value, "__func__", value)
        if inspect.isclass(value):
            kind = "class"
        elif inspect.isroutine(target):
            kind = "method"
        else:
            kind = "attribute"
        members[f"{qualified}.{member}"] = kind
    return members


def docstrings(module_name, objects):
    """``(class name or None, text)`` for each docstring and ``#:`` comment of a documented
    module that the API pages render (the class is Sphinx's context for short names)."""
    module = importlib.import_module(module_name)
    tree = ast.parse(inspect.getsource(module))
    yield None, ast.get_docstring(tree) or ""
    for node in tree.body:
        if f"{module_name}.{getattr(node, 'name', '')}" not in objects:
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield None, ast.get_docstring(node) or ""
        elif isinstance(node, ast.ClassDef):
            yield node.name, ast.get_docstring(node) or ""
            for child in node.body:
                if (isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
                        and f"{module_name}.{node.name}.{child.name}" in objects):
                    yield node.name, ast.get_docstring(child) or ""
    for (namespace, name), lines in attr_docs(module_name).items():
        if f"{module_name}.{namespace + '.' if namespace else ''}{name}" in objects:
            yield namespace or None, "\n".join(lines)


def ignored_patterns(repo_root):
    config = yaml.safe_load((repo_root / "_config.yml").read_text())["sphinx"]["config"]
    return [re.compile(target) for domain, target in config.get("nitpick_ignore_regex", [])
            if re.fullmatch(domain, "py:class")]


def resolves(role, target, module, classname, objects):
    """Whether Sphinx's Python domain finds ``target`` (as written in the role) from a
    docstring in ``module`` (and ``classname``): the exact search, or, for a leading ".",
    the search by object kind that ends in a unique suffix match."""
    target = target.split("<")[-1].rstrip(">").strip().lstrip("~")
    if role in ("func", "meth"):
        target = target.removesuffix("()")
    specific = target.startswith(".")
    name = target.lstrip(".")
    if not specific:
        if name in objects:
            return True
        if role == "mod":
            return False
        candidates = [f"{classname}.{name}" if classname else None, f"{module}.{name}",
                      f"{module}.{classname}.{name}" if classname else None]
        return any(c in objects for c in candidates if c)
    kinds = ROLE_KINDS[role]
    for candidate in (f"{module}.{classname}.{name}" if classname else None,
                      f"{module}.{name}", name):
        if candidate and objects.get(candidate) in kinds:
            return True
    return len([o for o, kind in objects.items() if o.endswith("." + name) and kind in kinds]) == 1


def unresolved_references(repo_root):
    modules = automodules(repo_root)
    objects = documented_objects(modules)
    ignored = ignored_patterns(repo_root)
    checked, missing = 0, []
    for module in modules:
        for classname, text in docstrings(module, objects):
            for role, target in ROLE.findall(text):
                if target.startswith("!"):
                    continue  # "!" asks Sphinx not to link
                bare = target.split("<")[-1].rstrip(">").strip().lstrip("~.")
                if (any(p.fullmatch(bare) for p in ignored) or bare == "None"
                        or inspect.isclass(getattr(builtins, bare, None))):
                    continue  # outside the package: no link, and the build ignores it
                checked += 1
                if not resolves(role, target, module, classname, objects):
                    where = f"{module}.{classname}" if classname else module
                    missing.append(f"{where}: :{role}:`{target}`")
    return checked, missing


def test_every_api_page_is_in_the_table_of_contents(repo_root):
    toc = yaml.safe_load((repo_root / "_toc.yml").read_text())
    files = {toc["root"], *toc_files(toc["parts"])}
    pages = [f"book/api/{page.stem}" for page in api_pages(repo_root)]
    assert pages, "book/api holds no pages"
    assert [page for page in pages if page not in files] == []


def test_the_resolver_follows_sphinx():
    objects = documented_objects({"effnotes.cyclic": False, "effnotes.cyclic.analysis": True,
                                  "effnotes.cyclic.compare": True})
    assert objects["effnotes.cyclic.analysis.STRONG_Z"] == "data"  # it has a #: comment
    # imported names are documented only where they are defined
    assert "effnotes.cyclic.analysis.agreement_checks" not in objects
    assert resolves("func", "agreement_checks", "effnotes.cyclic.compare", None, objects)
    assert not resolves("func", "agreement_checks", "effnotes.cyclic.analysis", None, objects)
    assert resolves("func", "~effnotes.cyclic.compare.agreement_checks",
                    "effnotes.cyclic.analysis", None, objects)
    assert resolves("data", ".STRONG_Z", "effnotes.cyclic.compare", None, objects)
    assert not resolves("func", ".STRONG_Z", "effnotes.cyclic.compare", None, objects)


def rst_problems(text):
    """docutils' warnings and errors on ``text`` (a docstring read as reStructuredText), with
    every role read as literal text (the roles of Sphinx and its extensions are not known to
    plain docutils; whether they resolve is checked apart)."""
    text = ANY_ROLE.sub(lambda match: f"``{match.group(1)}``", text)
    document = publish_doctree(text, settings_overrides={"report_level": 5, "halt_level": 5})
    messages = [*document.findall(nodes.system_message), *document.transform_messages]
    return [message.astext() for message in messages if message["level"] >= 2]


def test_the_rst_check_finds_problems():
    assert rst_problems("the gap |a - b| in units") != []  # read as a substitution
    # a list that follows its paragraph without a blank line, with an indented continuation
    assert rst_problems("Returns\n- ``a``: one,\n  two;\n- ``b``: three.") != []
    assert rst_problems("The gap ``|a - b|`` (:func:`f`). Returns\n\n- ``a``: one,\n  two;\n"
                        "- ``b``: three.") == []
    assert rst_problems(":math:`|x|` after :cite:p:`key` and :py:class:`~a.B`") == []


def test_docstrings_are_valid_rst(repo_root):
    modules = automodules(repo_root)
    objects = documented_objects(modules)
    problems = [f"{module}{'.' + classname if classname else ''}: {problem}" for module in modules
                for classname, text in docstrings(module, objects)
                for problem in rst_problems(text)]
    assert problems == [], "docstrings the API reference cannot render:\n" + "\n".join(problems)


def test_docstring_references_resolve(repo_root):
    checked, missing = unresolved_references(repo_root)
    assert checked > 0, "found no cross-references to check"
    assert missing == [], (f"{len(missing)} of {checked} references would not resolve in the "
                           "book's nitpicky build:\n" + "\n".join(missing))


def chapter_prose(repo_root, chapter):
    notebook = nbformat.read(chapter.notebook_path(repo_root / "book"), as_version=4)
    return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")


def test_the_link_patterns():
    text = ("`effnotes.cyclic` and {py:mod}`effnotes.masking`, `python -m effnotes.maddness.bench`, "
            "`effnotes`' loop, `effnotes experiment x` and {py:func}`quantize <effnotes.a.quantize>`")
    assert UNLINKED.findall(text) == ["effnotes.cyclic", "effnotes"]
    assert MYST_ROLE.findall(text) == [("mod", "effnotes.masking"),
                                       ("func", "quantize <effnotes.a.quantize>")]


def test_chapters_link_the_package_names_they_mention(repo_root):
    unlinked = {chapter.name: UNLINKED.findall(chapter_prose(repo_root, chapter))
                for chapter in chapters()}
    assert {name: found for name, found in unlinked.items()
            if found and name not in NOT_YET_LINKED} == {}
    assert [name for name in NOT_YET_LINKED if not unlinked.get(name)] == [], \
        "these chapters now link the package's names: remove them from NOT_YET_LINKED"


def test_chapter_references_to_the_package_resolve(repo_root):
    objects = documented_objects(automodules(repo_root))
    checked, missing = 0, []
    for chapter in chapters():
        for role, target in MYST_ROLE.findall(chapter_prose(repo_root, chapter)):
            checked += 1
            if not resolves(role, target, "", None, objects):
                missing.append(f"{chapter.name}: {{py:{role}}}`{target}`")
    assert checked > 0, "the chapters link nothing in the API reference"
    assert missing == [], "chapter links the nitpicky build cannot resolve:\n" + "\n".join(missing)
