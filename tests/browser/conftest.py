"""The browser tests' fixtures (chromium_browser, page, screenshot, login) live in
tests/browser_fixtures.py, a plugin of the root conftest, so every package's browser tests share
one session browser."""

from tests.browser_fixtures import ARTIFACTS, PASSWORD  # noqa: F401 - imported from here by some tests
