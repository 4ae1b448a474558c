"""The console in a real Chromium: an operator logs in through the page, reads the fleet
list, filters it, opens a terminal, presses maintenance on and sees the command queued and
then acknowledged, takes a work order, moves a catalog rollout from the canary group to all
as the terminals report the new version, and logs out; a viewer sees no buttons. Terminals
are real enrolled terminals sending signed heartbeats through the API.

Screenshots of every page in both languages land in var/console-shots/ (looked at by eye).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.fleet.conftest import healthy

from .conftest import PASSWORDS, SHOTS, Console


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    """Poll ``check`` until it is truthy (a condition, never a bare sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except Exception:  # element not there yet
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def navigate(driver: Any, element: Any) -> None:
    """Click something that loads a page and wait until the old page is gone."""
    from selenium.common.exceptions import StaleElementReferenceException

    old = driver.find_element(By.TAG_NAME, "html")
    element.click()

    def gone() -> bool:
        try:
            old.is_enabled()
        except StaleElementReferenceException:
            return True
        return False
    wait_for(gone, "the next page")


def log_in(driver: Any, console: Console, role: str) -> None:
    driver.get(console.url + "/console/")
    wait_for(lambda: driver.find_element(By.ID, "username"), "the login form")
    driver.find_element(By.ID, "username").send_keys(role)
    driver.find_element(By.ID, "password").send_keys(PASSWORDS[role])
    navigate(driver, driver.find_element(By.ID, "login-submit"))
    wait_for(lambda: driver.find_element(By.ID, "fleet-table"), "the fleet list")


def rows(driver: Any) -> list[str]:
    return [r.get_attribute("data-terminal") for r in
            driver.find_elements(By.CSS_SELECTOR, "#fleet-table tbody tr[data-terminal]")]


def shoot(driver: Any, name: str) -> None:
    """The whole page (the window grows to the page's height for the picture)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = driver.get_window_size()
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(size["width"], max(size["height"], int(height) + 140))
    driver.save_screenshot(str(SHOTS / f"{name}.png"))
    driver.set_window_size(size["width"], size["height"])


def follow_targets(term: Any, beat: dict[str, Any]) -> dict[str, Any]:
    """Beat, and report any catalog target the reply names as installed (what the kiosk
    does after fetching it through TUF); the reply."""
    sent = term.beat(beat)
    assert sent.status_code == 200, sent.text
    reply: dict[str, Any] = sent.json()
    target = reply["targets"].get("catalog")
    if target:
        beat["versions"]["catalog"] = target["version"]
        assert term.beat(beat).status_code == 200
    return reply


def test_an_operator_works_the_fleet_from_the_browser(console, browser):
    driver = browser
    kind = console.kind
    paper_out = healthy(receipt_printer={"state": "error", "fault": "paper_out",
                                         "detail": "paper out"})
    beats = {"a": healthy(), "b": paper_out, "c": healthy()}
    beats["c"]["versions"]["software"] = "0.2.0"
    a = console.terminal(district="天河区", hall="天河政务服务中心", beat=beats["a"])
    b = console.terminal(district="越秀区", hall="越秀政务服务中心", beat=beats["b"])
    c = console.terminal(district="海珠区", hall="海珠政务服务中心", beat=beats["c"])
    console.telemetry(a, [{"kind": "visit", "service": "sb_cert", "at": "2026-11-30T09:00:00+08:00"},
                          {"kind": "rating", "service": "sb_cert", "rating": 5,
                           "at": "2026-11-30T09:01:00+08:00"}])

    log_in(driver, console, "admin")
    assert sorted(rows(driver)) == sorted([a.id, b.id, c.id])
    assert driver.find_element(By.ID, "count-online").text == "3"
    assert driver.find_element(By.ID, "count-faulty").text == "1"
    shoot(driver, f"{kind}-zh-fleet")

    # filter: paper out → only b; software 0.2.0 → only c
    Select(driver.find_element(By.ID, "f-fault")).select_by_value("paper_out")
    navigate(driver, driver.find_element(By.ID, "filter-submit"))
    wait_for(lambda: rows(driver) == [b.id], "the paper-out filter")
    driver.get(console.url + "/console/?version=0.2.0")
    assert rows(driver) == [c.id]
    driver.get(console.url + "/console/?fault=paper_out")

    # the terminal page: the fault with its time, and the maintenance button
    navigate(driver, driver.find_element(By.LINK_TEXT, b.id))
    wait_for(lambda: driver.find_element(By.ID, "terminal-id"), "the terminal page")
    assert "缺纸" in driver.find_element(By.ID, "devices").text
    navigate(driver, driver.find_element(By.ID, "cmd-maintenance_on"))
    flash = wait_for(lambda: driver.find_element(By.ID, "flash"), "the queued message")
    assert "进入维护" in flash.text
    row = driver.find_element(By.CSS_SELECTOR, "#commands tr[data-command=maintenance_on]")
    assert row.get_attribute("data-status") == "pending"
    [queued] = console.commands(b.id)
    assert queued["command"] == "maintenance_on" and queued["created_by"] == "admin"
    # the terminal takes it with its next heartbeat and acknowledges it with the one after
    reply = b.beat(paper_out).json()
    assert [cmd["id"] for cmd in reply["commands"]] == [queued["id"]]
    paper_out["maintenance"] = True
    paper_out["acks"] = [{"id": queued["id"], "ok": True, "detail": "out of service"}]
    assert b.beat(paper_out).status_code == 200
    paper_out["acks"] = []
    driver.refresh()
    wait_for(lambda: driver.find_element(
        By.CSS_SELECTOR, "#commands tr[data-command=maintenance_on]")
        .get_attribute("data-status") == "done", "the acknowledgement")
    shoot(driver, f"{kind}-zh-terminal")

    # the alert from the heartbeat is a work order: acknowledge it, assigned to a technician
    navigate(driver, driver.find_element(By.LINK_TEXT, "告警工单"))
    alert = wait_for(lambda: driver.find_element(By.CSS_SELECTOR, "#alerts tr[data-alert]"),
                     "the paper-out alert")
    assert alert.get_attribute("data-state") == "open" and b.id in alert.text
    alert.find_element(By.NAME, "assign_to").send_keys("张工")
    navigate(driver, alert.find_element(By.CSS_SELECTOR, "button.ack"))
    wait_for(lambda: driver.find_element(By.CSS_SELECTOR, "#alerts tr[data-alert]")
             .get_attribute("data-state") == "acknowledged", "the acknowledged alert")
    assert "张工" in driver.find_element(By.ID, "alerts").text
    [stored] = [al for al in console_alerts(console) if al["terminal_id"] == b.id]
    assert stored["state"] == "acknowledged" and stored["assigned_to"] == "张工"
    shoot(driver, f"{kind}-zh-alerts")

    # a catalog rollout: canary 5 % → all, moved on as the terminals report the version
    navigate(driver, driver.find_element(By.LINK_TEXT, "发布"))
    Select(driver.find_element(By.ID, "r-kind")).select_by_value("catalog")
    driver.find_element(By.ID, "r-version").send_keys("2026.12.1")
    navigate(driver, driver.find_element(By.ID, "r-create"))
    section = wait_for(lambda: driver.find_element(By.CSS_SELECTOR, "section.rollout"),
                       "the new rollout")
    assert section.get_attribute("data-state") == "draft"

    def press(button: str) -> None:
        found = driver.find_element(By.CSS_SELECTOR, f"section.rollout button.{button}")
        assert found.is_enabled(), driver.find_element(By.CSS_SELECTOR, "section.rollout").text
        navigate(driver, found)
        wait_for(lambda: driver.find_element(By.ID, "flash"), f"the {button} result")

    press("advance")  # start: the canary group
    started = driver.find_elements(By.CSS_SELECTOR, "section.rollout tr.group[data-started='1']")
    assert [g.get_attribute("data-group") for g in started] == ["canary"]
    for term, key in ((a, "a"), (b, "b"), (c, "c")):
        follow_targets(term, beats[key] if key != "b" else paper_out)
    driver.refresh()
    press("advance")  # the canary is at its threshold: all
    for term, key in ((a, "a"), (b, "b"), (c, "c")):
        follow_targets(term, beats[key] if key != "b" else paper_out)
    driver.refresh()
    versions = driver.find_element(By.CSS_SELECTOR,
                                   "#versions tr[data-kind=catalog][data-version='2026.12.1']")
    assert versions.text.split()[-1] == "3"
    started = driver.find_elements(By.CSS_SELECTOR, "section.rollout tr.group[data-started='1']")
    assert [g.get_attribute("data-group") for g in started] == ["canary", "all"]
    press("advance")  # nothing left: done
    assert driver.find_element(By.CSS_SELECTOR, "section.rollout").get_attribute(
        "data-state") == "done"
    shoot(driver, f"{kind}-zh-rollouts")
    navigate(driver, driver.find_element(By.LINK_TEXT, "使用统计"))
    wait_for(lambda: driver.find_element(By.CSS_SELECTOR, "svg.plot"), "the usage plots")
    shoot(driver, f"{kind}-zh-usage")

    # English: the same pages
    navigate(driver, driver.find_element(By.ID, "lang-en"))
    wait_for(lambda: driver.find_element(By.LINK_TEXT, "Alerts"), "the English console")
    for name, path in (("usage", "/console/usage"), ("fleet", "/console/"),
                       ("terminal", f"/console/terminals/{b.id}"),
                       ("alerts", "/console/alerts?state=all"),
                       ("rollouts", "/console/rollouts")):
        driver.get(console.url + path)
        assert "Log out" in driver.find_element(By.ID, "logout").text
        shoot(driver, f"{kind}-en-{name}")
    driver.set_window_size(820, 1180)  # a tablet, portrait
    driver.get(console.url + "/console/")
    shoot(driver, f"{kind}-en-fleet-tablet")

    navigate(driver, driver.find_element(By.ID, "logout"))
    wait_for(lambda: driver.find_element(By.ID, "login-submit"), "the login page")
    driver.get(console.url + "/console/")
    assert driver.find_elements(By.ID, "login-submit"), "logged out means logged out"
    audit = [e["action"] for e in console_audit(console)]
    for action in ("command.queue", "alert.acknowledge", "rollout.create", "rollout.advance",
                   "login", "logout"):
        assert action in audit, action


def console_alerts(console: Console) -> list[dict[str, Any]]:
    from fleet import store

    with console.engine.begin() as conn:
        return store.list_alerts(conn, now=store.now())


def console_audit(console: Console) -> list[dict[str, Any]]:
    from fleet import store

    with console.engine.begin() as conn:
        return store.list_audit(conn, limit=500)


def test_a_viewer_in_the_browser_sees_everything_and_can_press_nothing(sqlite_console,
                                                                        browser):
    term = sqlite_console.terminal(district="天河区", beat=healthy(
        receipt_printer={"state": "error", "fault": "paper_out"}))
    log_in(browser, sqlite_console, "viewer")
    browser.get(f"{sqlite_console.url}/console/terminals/{term.id}")
    wait_for(lambda: browser.find_element(By.ID, "terminal-id"), "the terminal page")
    assert not browser.find_elements(By.CSS_SELECTOR, "#buttons button")
    browser.get(sqlite_console.url + "/console/alerts")
    wait_for(lambda: browser.find_element(By.CSS_SELECTOR, "#alerts tr[data-alert]"),
             "the alert")
    assert not browser.find_elements(By.CSS_SELECTOR, "#alerts button")
    browser.get(sqlite_console.url + "/console/rollouts")
    assert not browser.find_elements(By.ID, "new-rollout")
    assert sqlite_console.commands(term.id) == []


def test_the_fleet_list_refreshes_itself_when_a_printer_runs_out_of_paper(sqlite_console,
                                                                          browser):
    """No reload: the page's script fetches the list fragment and the counts change."""
    term = sqlite_console.terminal(district="天河区")
    log_in(browser, sqlite_console, "operator")
    browser.get(sqlite_console.url + "/console/?refresh=2")
    page = browser.find_element(By.TAG_NAME, "html")
    assert browser.find_element(By.ID, "count-faulty").text == "0"
    assert term.beat(healthy(receipt_printer={"state": "error", "fault": "paper_out"})
                     ).status_code == 200
    wait_for(lambda: browser.find_element(By.ID, "count-faulty").text == "1",
             "the refreshed counts")
    assert "缺纸" in browser.find_element(By.ID, "fleet-table").text
    assert page.is_enabled()  # the same page: refreshed in place, not reloaded
