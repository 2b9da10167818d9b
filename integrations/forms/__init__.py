"""HTML forms of Settings › Integrations. They parse input; the rules live in the services
(integrations/connections.py, sync_settings.py, user_links.py), whose field-keyed errors are
shown next to the inputs."""

from integrations.forms.connection import AUTH_METHOD_HELP, ConnectForm, ConnectionUpdateForm, PasswordLoginForm
from integrations.forms.settings import SettingsForm, input_id
from integrations.forms.settings_post import parse_settings_json

__all__ = ["AUTH_METHOD_HELP", "ConnectForm", "ConnectionUpdateForm", "PasswordLoginForm", "SettingsForm", "input_id",
           "parse_settings_json"]
