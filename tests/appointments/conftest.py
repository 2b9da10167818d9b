"""The appointment configuration's fixtures live in fixtures.py, so the browser test can use them too."""

from tests.appointments.fixtures import (  # noqa: F401
    _no_cached_member_sessions,
    admin_connected,
    admin_sf,
    rep_login,
    riley_staff_id,
)
