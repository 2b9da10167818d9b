# Temporary until the root tests/conftest.py registers `pytest_plugins = ["tests.emulator_process"]`
# (pytest refuses pytest_plugins in a non-root conftest, so the fixtures are imported instead).
from tests.emulator_process import emulator, emulator_reset  # noqa: F401
