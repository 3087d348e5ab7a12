"""The browser suite: a package, so that its conftest is imported as ``browser.conftest`` and
never replaces the ``conftest`` module that the rest of tests/ imports from."""
