"""Prints a Fernet token Keystone itself issued the keys for, but which
expired five minutes ago: the test fixture's Keystone cannot be asked for
a token that lives less than its [token] expiration.

Usage (Debian's python, which has the keystone package):
  /usr/bin/python3 keystone_expired_token.py KEYSTONE_CONF USER_ID PROJECT_ID
"""
import datetime
import sys

from keystone import conf
from keystone.token import provider
from keystone.token import token_formatters

conf_file, user_id, project_id = sys.argv[1:4]
conf.configure()
conf.CONF(args=[], project="keystone", default_config_files=[conf_file])
expired = datetime.datetime.utcnow() - datetime.timedelta(minutes=5)
token = token_formatters.TokenFormatter().create_token(
    user_id, expired.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
    [provider.random_urlsafe_str()],
    token_formatters.ProjectScopedPayload, methods=["password"],
    project_id=project_id)
print(token)
