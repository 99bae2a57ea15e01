"""Waits for a fresh Keystone, then creates the test identities.

Usage: keystone_seed.py URL PASSWORD. Prints KEY=VALUE lines (project ids).
"""
import json
import sys
import time
import urllib.error
import urllib.request

url, password = sys.argv[1], sys.argv[2]


def call(method, path, body=None, token=None):
    req = urllib.request.Request(url + path, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(req, data, timeout=30) as resp:
        text = resp.read()
        return resp, json.loads(text) if text else None


def token(user, project):
    body = {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": user, "domain": {"id": "default"},
                 "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
    resp, _ = call("POST", "/auth/tokens", body)
    return resp.headers["X-Subject-Token"]


deadline = time.time() + 60
while True:
    try:
        admin = token("admin", "admin")
        break
    except (urllib.error.URLError, ConnectionError):
        if time.time() > deadline:
            raise
        time.sleep(0.2)

roles = {r["name"]: r["id"] for r in call("GET", "/roles", token=admin)[1]["roles"]}
if "service" not in roles:
    roles["service"] = call("POST", "/roles", {"role": {"name": "service"}},
                            admin)[1]["role"]["id"]
projects = {}
for name in ("service", "demo", "other"):
    projects[name] = call("POST", "/projects", {"project": {
        "name": name, "domain_id": "default"}}, admin)[1]["project"]["id"]
for user, project, granted in (("nova", "service", ("admin", "service")),
                               ("alice", "demo", ("member", "reader")),
                               ("bob", "demo", ("reader",)),
                               ("eve", "other", ("member", "reader"))):
    uid = call("POST", "/users", {"user": {
        "name": user, "domain_id": "default", "password": password,
        "default_project_id": projects[project]}}, admin)[1]["user"]["id"]
    for role in granted:
        call("PUT", "/projects/%s/users/%s/roles/%s" % (
            projects[project], uid, roles[role]), token=admin)
for name, pid in projects.items():
    print("KEYSTONE_PROJECT_%s=%s" % (name.upper(), pid))
