"""pyproject.toml, environment.yml, the README and CI agree with one another."""

import re
import subprocess
import tomllib

import yaml
from packaging.requirements import Requirement

CONDA_NAMES = {"pytorch": "torch"}


def pyproject_requirements(root):
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    listed = list(project["dependencies"])
    for name, extra in project["optional-dependencies"].items():
        listed += extra
    requirements = {}
    for text in listed:
        requirement = Requirement(text)
        if requirement.name == "effnotes":
            continue
        requirements[requirement.name.lower()] = str(requirement.specifier)
    return requirements


def conda_requirements(root):
    env = yaml.safe_load((root / "environment.yml").read_text())
    found, pip_section = {}, []
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            pip_section = entry["pip"]
            continue
        match = re.match(r"^([A-Za-z0-9_.\-]+)(.*)$", entry)
        name, spec = match.group(1).lower(), match.group(2).strip()
        if name in ("python", "pip"):
            continue
        found[CONDA_NAMES.get(name, name)] = str(Requirement(f"x{spec}").specifier)
    return found, pip_section


def test_environment_yml_matches_pyproject(repo_root):
    conda, pip_section = conda_requirements(repo_root)
    assert conda == pyproject_requirements(repo_root)
    assert "-e ." in pip_section


def test_jupyter_book_is_pinned_to_1x(repo_root):
    assert pyproject_requirements(repo_root)["jupyter-book"] == "<2,>=1.0.4.post1"


def readme_command(root, name):
    script = ('awk -v marker="<!-- command: %s -->" \'$0 == marker { found = 1; next } '
              'found && /^```bash/ { inside = 1; next } inside && /^```/ { exit } '
              'inside { print }\' README.md') % name
    return subprocess.run(["bash", "-c", script], cwd=root, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_readme_has_the_two_commands_ci_runs(repo_root):
    test, build = readme_command(repo_root, "test"), readme_command(repo_root, "build")
    assert test.endswith("-m pytest") and '".[test]"' in test
    assert build.endswith("-m effnotes build") and '".[book]"' in build
    ci = (repo_root / ".ci" / "run").read_text()
    assert "readme_command test" in ci and "readme_command build" in ci
    check = readme_command(repo_root, "browser-check")
    assert check.endswith("-m effnotes browser-check") and "readme_command browser-check" in ci


def test_readme_python_example_is_true(repo_root):
    readme = (repo_root / "README.md").read_text()
    example = readme.split("## Using the package")[1].split("```python")[1].split("```")[0]
    namespace = {}
    exec(example.replace("speedup_at(base, new, 0.93)", "result = speedup_at(base, new, 0.93)"), namespace)
    claimed = float(re.search(r"speedup_at\(base, new, 0\.93\)\s+# ([0-9.]+)", example).group(1))
    assert abs(namespace["result"] - claimed) < 1e-9


def test_readme_maddness_example_is_true(repo_root):
    readme = (repo_root / "README.md").read_text()
    example = readme.split("MADDNESS reads like")[1].split("```python")[1].split("```")[0]
    last = example.strip().splitlines()[-1]
    claimed = float(re.search(r"# ([0-9.]+):", last).group(1))
    namespace = {}
    exec(example.replace(last, "result = " + last.split("#")[0]), namespace)
    assert abs(namespace["result"] - claimed) < 0.005
