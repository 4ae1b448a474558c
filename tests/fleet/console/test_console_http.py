"""The console's rules as an attacker or a careless operator meets them, over real HTTP
against a real ``kiosk-fleet serve``: CSRF, roles, cookie flags, login throttling shared
by replicas, the language switch, the CSV export."""

from __future__ import annotations

import csv
import io
import re
import tomllib
from pathlib import Path

from tests.fleet.conftest import healthy

from .conftest import PASSWORDS, csrf_of

I18N = Path(__file__).resolve().parents[3] / "fleet" / "console" / "i18n"


def test_a_command_post_without_the_csrf_token_is_refused_and_queues_nothing(sqlite_console):
    term = sqlite_console.terminal(district="天河区", hall="天河政务服务中心")
    s = sqlite_console.session("operator")
    page = s.get(f"{sqlite_console.url}/console/terminals/{term.id}", timeout=30)
    token = csrf_of(page.text)
    path = f"{sqlite_console.url}/console/terminals/{term.id}/command"
    for data in ({"command": "maintenance_on"},
                 {"command": "maintenance_on", "csrf": "forged"}):
        refused = s.post(path, data=data, allow_redirects=False, timeout=30)
        assert refused.status_code == 403
    assert sqlite_console.commands(term.id) == []
    done = s.post(path, data={"command": "maintenance_on", "csrf": token},
                  allow_redirects=False, timeout=30)
    assert done.status_code == 303
    assert [c["command"] for c in sqlite_console.commands(term.id)] == ["maintenance_on"]
    # and the terminal gets it on its next heartbeat, with the TTL the store gave it
    reply = term.beat(healthy()).json()
    assert [c["command"] for c in reply["commands"]] == ["maintenance_on"]


def test_a_viewer_sees_the_terminal_but_has_no_buttons_and_cannot_post(sqlite_console):
    term = sqlite_console.terminal()
    s = sqlite_console.session("viewer")
    page = s.get(f"{sqlite_console.url}/console/terminals/{term.id}", timeout=30)
    assert page.status_code == 200 and term.id in page.text
    assert 'id="cmd-maintenance_on"' not in page.text
    refused = s.post(f"{sqlite_console.url}/console/terminals/{term.id}/command",
                     data={"command": "restart_app", "csrf": csrf_of(page.text)},
                     allow_redirects=False, timeout=30)
    assert refused.status_code == 403
    assert sqlite_console.commands(term.id) == []
    # nor manage rollouts or accounts
    for path, data in (("/console/rollouts", {"kind": "catalog", "version": "9"}),
                       ("/console/users", {"username": "mallory", "password": "x" * 12,
                                           "role": "admin"})):
        r = s.post(sqlite_console.url + path, data={**data, "csrf": csrf_of(page.text)},
                   allow_redirects=False, timeout=30)
        assert r.status_code == 403, path
    assert s.get(sqlite_console.url + "/console/users", timeout=30).status_code == 403


def test_an_anonymous_visitor_is_sent_to_the_login_page_and_cannot_post(sqlite_console):
    import requests

    term = sqlite_console.terminal()
    r = requests.get(sqlite_console.url + "/console/", allow_redirects=False, timeout=30)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
    r = requests.post(f"{sqlite_console.url}/console/terminals/{term.id}/command",
                      data={"command": "restart_app"}, allow_redirects=False, timeout=30)
    assert r.status_code == 403
    assert sqlite_console.commands(term.id) == []


def test_the_session_cookie_is_httponly_and_samesite_and_logout_ends_it(sqlite_console):
    import requests

    login = requests.get(sqlite_console.url + "/console/login", timeout=30)
    token = csrf_of(login.text)
    r = requests.post(sqlite_console.url + "/console/login",
                      data={"csrf": token, "username": "admin",
                            "password": PASSWORDS["admin"]},
                      cookies=login.cookies, allow_redirects=False, timeout=30)
    cookie = r.headers["set-cookie"]
    assert "fleet_session=" in cookie and "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower() and "Path=/console" in cookie
    assert "Secure" not in cookie  # plain http on 127.0.0.1: a Secure cookie would be lost
    # behind a TLS-terminating proxy (uvicorn trusts X-Forwarded-Proto from 127.0.0.1)
    https = {"X-Forwarded-Proto": "https"}
    login = requests.get(sqlite_console.url + "/console/login", headers=https, timeout=30)
    r = requests.post(sqlite_console.url + "/console/login",
                      data={"csrf": csrf_of(login.text), "username": "admin",
                            "password": PASSWORDS["admin"]}, headers=https,
                      cookies={"fleet_login_csrf": login.cookies["fleet_login_csrf"]},
                      allow_redirects=False, timeout=30)
    assert "fleet_session=" in r.headers["set-cookie"] and "Secure" in r.headers["set-cookie"]
    s = sqlite_console.session("operator")
    home = s.get(sqlite_console.url + "/console/", timeout=30)
    assert home.status_code == 200
    old = dict(s.cookies)
    s.post(sqlite_console.url + "/console/logout", data={"csrf": csrf_of(home.text)},
           timeout=30)
    # the old cookie, replayed, is dead: the session row is gone from the database
    again = requests.get(sqlite_console.url + "/console/", cookies=old, allow_redirects=False,
                         timeout=30)
    assert again.status_code == 303


def test_login_without_its_form_token_is_refused(sqlite_console):
    import requests

    r = requests.post(sqlite_console.url + "/console/login",
                      data={"username": "admin", "password": PASSWORDS["admin"]},
                      allow_redirects=False, timeout=30)
    assert r.status_code == 403 and "fleet_session" not in r.headers.get("set-cookie", "")


def _try_login(url: str, username: str, password: str) -> str:
    import requests

    page = requests.get(url + "/console/login", timeout=30)
    r = requests.post(url + "/console/login", data={"csrf": csrf_of(page.text),
                                                    "username": username,
                                                    "password": password},
                      cookies=page.cookies, allow_redirects=False, timeout=30)
    assert r.status_code == 303
    return r.headers["location"]


def test_login_throttling_holds_across_replicas(sqlite_console):
    """Five wrong passwords through one replica lock the account on the other too, even
    with the right password; other accounts are not locked by it."""
    other = sqlite_console.serve()
    for _ in range(5):
        assert "error=login_failed" in _try_login(sqlite_console.url, "operator", "wrong-guess")
    assert "error=login_throttled" in _try_login(other, "operator", PASSWORDS["operator"])
    page = sqlite_console.session("admin").get(sqlite_console.url + "/console/audit",
                                               timeout=30)
    assert page.text.count("login.fail") >= 5


def test_the_language_switch_changes_every_string_and_both_files_have_the_same_keys(
        sqlite_console):
    zh = tomllib.loads((I18N / "zh_CN.toml").read_text(encoding="utf-8"))
    en = tomllib.loads((I18N / "en.toml").read_text(encoding="utf-8"))
    assert set(zh) == set(en)
    s = sqlite_console.session("viewer")
    page = s.get(sqlite_console.url + "/console/", timeout=30)
    assert zh["nav_alerts"] in page.text and "<html lang=\"zh-CN\">" in page.text
    s.get(sqlite_console.url + "/console/lang?to=en&next=/console/", timeout=30)
    page = s.get(sqlite_console.url + "/console/", timeout=30)
    assert en["nav_alerts"] in page.text and zh["nav_alerts"] not in page.text
    # an outside "next" does not turn the switch into an open redirect
    r = s.get(sqlite_console.url + "/console/lang?to=zh_CN&next=https://evil.example/",
              allow_redirects=False, timeout=30)
    assert r.headers["location"] == "/console/"


def test_usage_counts_telemetry_and_exports_csv(sqlite_console):
    term = sqlite_console.terminal(district="越秀区", hall="越秀政务服务中心")
    at = "2026-11-30T10:00:00+08:00"
    sqlite_console.telemetry(term, [
        {"kind": "visit", "service": "sb_cert", "at": at},
        {"kind": "visit", "service": "sb_cert", "at": at},
        {"kind": "failure", "service": "sb_cert", "at": at, "reason": "printer_out"},
        {"kind": "rating", "service": "sb_cert", "at": at, "rating": 5},
        {"kind": "rating", "service": "sb_cert", "at": at, "rating": 2}])
    s = sqlite_console.session("viewer")
    page = s.get(sqlite_console.url + "/console/usage?since=2026-11-01", timeout=30)
    assert page.status_code == 200 and "<svg" in page.text and "50.0 %" in page.text
    r = s.get(sqlite_console.url + "/console/usage.csv?since=2026-11-01", timeout=30)
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows == [{"day": "2026-11-30", "district": "越秀区", "hall": "越秀政务服务中心",
                     "service": "sb_cert", "visits": "2", "failures": "1", "rating_1": "0",
                     "rating_2": "1", "rating_3": "0", "rating_4": "0", "rating_5": "1"}]


def test_one_address_trying_many_accounts_is_throttled_too(sqlite_console):
    """Spraying one guess over many names: each account stays under its own limit, the
    address does not (20 failures in the window)."""
    for n in range(20):
        assert "error=login_failed" in _try_login(sqlite_console.url, f"user{n}", "Winter2026!")
    assert "error=login_throttled" in _try_login(sqlite_console.url, "admin",
                                                 PASSWORDS["admin"])


def test_an_admin_adds_an_account_and_the_audit_log_shows_it(sqlite_console):
    s = sqlite_console.session("admin")
    page = s.get(sqlite_console.url + "/console/users", timeout=30)
    r = s.post(sqlite_console.url + "/console/users",
               data={"csrf": csrf_of(page.text), "username": "wang.tech",
                     "password": "a-long-password", "role": "operator"},
               allow_redirects=False, timeout=30)
    assert r.status_code == 303
    assert "error=login_failed" not in _try_login(sqlite_console.url, "wang.tech",
                                                  "a-long-password")
    audit = s.get(sqlite_console.url + "/console/audit", timeout=30).text
    assert "user.add" in audit and "wang.tech" in audit
    # a weak password is refused with a clear message and creates nothing
    weak = s.post(sqlite_console.url + "/console/users",
                  data={"csrf": csrf_of(page.text), "username": "li.tech", "password": "short",
                        "role": "viewer"}, allow_redirects=False, timeout=30)
    assert weak.status_code == 400 and "10" in weak.text
    assert "li.tech" not in s.get(sqlite_console.url + "/console/users", timeout=30).text


def _png() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    raw = b"".join(b"\x00" + b"\x80\x80\x80" * 4 for _ in range(4))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_the_terminal_page_shows_the_screenshot_the_terminal_uploaded(sqlite_console):
    term = sqlite_console.terminal()
    s = sqlite_console.session("viewer")
    page = s.get(f"{sqlite_console.url}/console/terminals/{term.id}", timeout=30).text
    assert "screenshot.png" not in page
    png = _png()
    sent = term.post(f"/v1/terminals/{term.id}/screenshot", png, content_type="image/png")
    assert sent.status_code == 200, sent.text
    page = s.get(f"{sqlite_console.url}/console/terminals/{term.id}", timeout=30).text
    src = re.search(r'src="(/console/terminals/[^"]+/screenshot\.png[^"]*)"', page)
    assert src, "no screenshot on the page"
    shot = s.get(sqlite_console.url + src.group(1).replace("&amp;", "&"), timeout=30)
    assert shot.headers["content-type"] == "image/png" and shot.content == png
    # not for anyone without a session
    import requests
    assert requests.get(sqlite_console.url + src.group(1), allow_redirects=False,
                        timeout=30).status_code == 303
