from conftest import REPO


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text().splitlines()
    command = readme[readme.index("# 2. install and run the tests") + 1]
    assert command in (REPO / ".ci" / "run").read_text().splitlines()
