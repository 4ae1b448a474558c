"""The console's serious buttons, over real HTTP against a real ``kiosk-fleet serve``:
revoking a stolen or scrapped terminal (admins only, after typing its id) and enrolling
its replacement under the same id; enrolment codes made from the console, shown once and
listed without the secret; ``check_updates`` beside the other commands; a rollout's
failed installs listed under their group."""

from __future__ import annotations

import re

import requests

from fleet import store
from fleet.console.i18n import Translator
from fleet.console.web import environment
from tests.fleet.conftest import Terminal, healthy

from .conftest import csrf_of


def _flash(html: str) -> str:
    found = re.search(r'<p class="flash" id="flash">([^<]*)</p>', html)
    return found.group(1) if found else ""


def _shown_code(html: str) -> str:
    found = re.search(r'<p class="code" id="code-value">([A-Z0-9-]+)</p>', html)
    assert found, "no code on the page"
    return found.group(1)


def test_check_updates_then_an_admin_revokes_the_terminal_by_its_id_and_enrols_a_replacement(
        sqlite_console):
    c = sqlite_console
    term = c.terminal(district="海珠区", hall="海珠区政务服务中心")
    page_url = f"{c.url}/console/terminals/{term.id}"
    op = c.session("operator")
    page = op.get(page_url, timeout=30).text
    # check_updates sits beside the other commands and reaches the terminal
    assert 'id="cmd-check_updates"' in page and "检查更新" in page
    r = op.post(page_url + "/command", data={"csrf": csrf_of(page), "command": "check_updates"},
                timeout=30)
    assert r.status_code == 200 and "检查更新" in _flash(r.text)
    assert [cmd["command"] for cmd in term.beat(healthy()).json()["commands"]] == [
        "check_updates"]
    # an operator has no revoke form, and a forged POST changes nothing
    assert 'id="revoke-form"' not in page
    r = op.post(page_url + "/revoke", data={"csrf": csrf_of(page), "confirm": term.id},
                allow_redirects=False, timeout=30)
    assert r.status_code == 403
    assert term.beat(healthy()).status_code == 200
    # an admin who types the wrong id (or nothing) revokes nothing
    admin = c.session("admin")
    page = admin.get(page_url, timeout=30).text
    assert 'id="revoke-form"' in page and 'id="revoke-confirm"' in page
    for typed in ("", "T000", term.id[:-1]):
        r = admin.post(page_url + "/revoke", data={"csrf": csrf_of(page), "confirm": typed})
        assert r.status_code == 200 and "不符" in _flash(r.text), typed
        assert 'class="pill state-online" id="terminal-state"' in r.text
    assert term.beat(healthy()).status_code == 200
    # without the CSRF token: refused
    r = admin.post(page_url + "/revoke", data={"confirm": term.id}, allow_redirects=False,
                   timeout=30)
    assert r.status_code == 403
    # typed right: revoked, said so, audited, and its next heartbeat is refused
    r = admin.post(page_url + "/revoke", data={"csrf": csrf_of(page), "confirm": term.id},
                   timeout=30)
    assert r.status_code == 200 and 'class="pill state-revoked"' in r.text
    assert "终端已停用" in _flash(r.text)
    assert 'id="revoke-form"' not in r.text and 'id="buttons"' not in r.text
    refused = term.beat(healthy())
    assert refused.status_code in (401, 403) and "revoked" in refused.text
    audit = admin.get(c.url + "/console/audit", timeout=30).text
    assert "terminal.revoke" in audit and term.id in audit
    # the replacement: the revoked page links to a code for the same id
    link = re.search(r'id="replacement-code" href="([^"]+)"', r.text)
    assert link, r.text
    form = admin.get(c.url + link.group(1).replace("&amp;", "&"), timeout=30).text
    assert f'id="c-terminal" maxlength="64" value="{term.id}"' in form
    made = admin.post(c.url + "/console/enrol-codes",
                      data={"csrf": csrf_of(form), "terminal": term.id, "valid_h": "24"},
                      timeout=30)
    assert made.status_code == 200, made.text
    code = _shown_code(made.text)
    enrolled = requests.post(c.url + "/v1/enroll", json={"code": code}, timeout=30).json()
    assert enrolled["terminal_id"] == term.id
    replacement = Terminal(c.url, term.id, bytes.fromhex(enrolled["key"]))
    assert replacement.beat(healthy()).status_code == 200
    assert term.beat(healthy()).status_code in (401, 403)  # the stolen machine's old key
    page = admin.get(page_url, timeout=30).text
    assert 'class="pill state-online"' in page and "海珠区政务服务中心" in page


def test_enrolment_codes_are_made_in_the_console_shown_once_and_listed_without_the_secret(
        sqlite_console):
    """Shown once also across a reload: the POST redirects, the code waits (sealed) in the
    operator's session, the page it redirects to shows and forgets it."""
    c = sqlite_console
    with c.engine.begin() as conn:  # one that ran out yesterday
        store.create_enrol_code(conn, actor="admin", now=store.now() - 86400, ttl_s=3600,
                                district="荔湾区", hall="荔湾区政务服务中心")
    viewer = c.session("viewer")
    assert viewer.get(c.url + "/console/enrol-codes", timeout=30).status_code == 403
    op = c.session("operator")
    form = op.get(c.url + "/console/enrol-codes", timeout=30).text
    assert 'id="c-terminal"' not in form  # replacement codes are for admins
    made = op.post(c.url + "/console/enrol-codes",
                   data={"csrf": csrf_of(form), "district": "天河区",
                         "hall": "天河区  政务服务中心", "group": "pilot", "valid_h": "8"},
                   allow_redirects=False, timeout=30)
    # Post/Redirect/Get: the answer is a redirect with no secret in it...
    assert made.status_code == 303, made.text
    assert made.headers["location"] == "/console/enrol-codes"
    # ...the code waits in this operator's session only (not in another of theirs)...
    other = c.session("operator").get(c.url + "/console/enrol-codes", timeout=30).text
    assert 'id="code-value"' not in other
    # ...and the page redirected to shows it once, uncached
    shown = op.get(c.url + made.headers["location"], timeout=30)
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    code = _shown_code(shown.text)
    assert f'id="code-text" value="{code}"' in shown.text  # and as text to copy
    assert "sudo -u kiosk kiosk enroll " + code in shown.text
    # a reload (or Back/Forward to it) shows no secret and makes no second code
    listed = op.get(c.url + made.headers["location"], timeout=30).text
    assert 'id="code-value"' not in listed
    assert code not in listed and code.replace("-", "") not in listed
    statuses = re.findall(r'<tr data-status="(\w+)">', listed)
    assert sorted(statuses) == ["expired", "unused"]
    # the terminal enrolled with it stands in that hall; the list now says used, and links it
    enrolled = requests.post(c.url + "/v1/enroll", json={"code": code}, timeout=30).json()
    with c.engine.begin() as conn:
        row = store.terminal_detail(conn, enrolled["terminal_id"], now=store.now())
    assert (row["district"], row["hall"], row["group_name"]) == ("天河区", "天河区 政务服务中心",
                                                                 "pilot")
    listed = op.get(c.url + "/console/enrol-codes", timeout=30).text
    assert sorted(re.findall(r'<tr data-status="(\w+)">', listed)) == ["expired", "used"]
    assert f'/console/terminals/{enrolled["terminal_id"]}"' in listed
    # bad input: a typed 4xx page, and no code made
    for data, status in (({"valid_h": "9999"}, 400), ({"valid_h": "abc"}, 400),
                         ({"valid_h": "24", "hall": "厅" * 129}, 400),
                         ({"valid_h": "24", "terminal": "T123"}, 403)):
        r = op.post(c.url + "/console/enrol-codes", data={"csrf": csrf_of(form), **data},
                    timeout=30)
        assert r.status_code == status, data
        assert 'id="code-value"' not in r.text
    assert 'id="code-value"' not in op.post(c.url + "/console/enrol-codes",
                                            data={"valid_h": "24"}, timeout=30).text
    with c.engine.begin() as conn:
        made_by = [e for e in store.list_audit(conn) if e["action"] == "enrol_code.create"]
    assert [e["actor"] for e in made_by] == ["operator", "admin"]
    # in English too
    op.get(c.url + "/console/lang?to=en&next=/console/enrol-codes", timeout=30)
    page = op.get(c.url + "/console/enrol-codes", timeout=30).text
    assert "Enrolment codes" in page and "已使用" not in page and ">used<" in page


def _rollout_page(groups: list[dict]) -> str:
    t = Translator("en")
    rollout = {"id": 7, "kind": "software", "version": "0.2.0", "state": "paused",
               "success_threshold": 0.95, "failure_limit": 0.05, "created_by": "admin",
               "created_at": 1_790_000_000.0, "progress": groups, "can_advance": False,
               "auto_paused": True}
    return environment().get_template("rollouts.html").render(
        t=t, lang="en", languages=("zh_CN", "en"), user={"username": "admin", "role": "admin"},
        can=lambda role: True, csrf="x", prefix="/console", path="/console/rollouts",
        query="", flash="", now=0, rollouts=[rollout], kinds=store.KINDS, versions={})


def test_a_rollout_lists_each_groups_failed_installs_and_their_reasons():
    canary = {"name": "canary", "started_at": 1_790_000_000.0, "selected": 3, "updated": 1,
              "failed": 2, "success": 1 / 3,
              "failures": [{"terminal": "T0A", "reason": "health check: no heartbeat in 120 s"},
                           {"terminal": "T0B", "reason": "wheel <broken>"}]}
    rest = {"name": "all", "started_at": None, "selected": 9, "updated": 0, "failed": 0,
            "success": 0.0}  # no failures key at all: nothing listed, nothing broken
    html = _rollout_page([canary, rest])
    listed = re.findall(r'<li data-terminal="(\w+)"><a href="/console/terminals/\1">\1</a>: '
                        r'([^<]*)</li>', html)
    assert listed == [("T0A", "health check: no heartbeat in 120 s"),
                      ("T0B", "wheel &lt;broken&gt;")]
    assert html.count('<tr class="failures"') == 1 and "Failed installs" in html
    assert '<tr class="failures"' not in _rollout_page([{**canary, "failures": []}, rest])
