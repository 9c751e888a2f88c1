"""The web page in a real browser: headless Chromium (Debian's chromium
and chromium-driver) driven by Selenium (python3-selenium) against a
real natterd with --web-port.  Two browser users chat; a browser user
and natter in tmux talk; the last lines show on opening a room; a
server restart ends in a reconnect that catches up exactly once; the
injection table shows as text; scrolling up loads older lines; a
phone-sized window has no horizontal scroll.

NATTER_SCREENSHOT=1 makes test_web_two_browsers_chat write
docs/web.png (the README's picture); make check leaves it alone.

Chromium runs with TZ=UTC, so a line's HH:MM is its server-time's."""

import datetime
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from harness import (FULL_SPEED, NO_THROTTLE, Server, _listening, free_port,
                     rx, scaled, timeout)
from test_history import say, v3
from tmuxlib import ROOT, STAMP, Tmux

CHROMIUM = os.environ.get("NATTER_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("NATTER_CHROMEDRIVER", "/usr/bin/chromedriver")
TAGS = ("batch", "message-tags", "server-time", "echo-message")
SCREENSHOT = os.path.join(ROOT, "docs", "web.png")


def _selenium():
    """The selenium modules, or a clear failure (make deps installs
    python3-selenium).  Debian's package sits in the system python's
    dist-packages, which a python3 of one's own (pyenv, a venv) does
    not search: that folder is tried second."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        sys.path.append("/usr/lib/python3/dist-packages")
    try:
        from selenium import webdriver
        from selenium.common.exceptions import NoAlertPresentException
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys
        from selenium.webdriver.common import utils
    except ImportError as e:
        raise AssertionError("python3-selenium is missing (%s): run make "
                             "deps" % e)

    class LoopbackService(Service):
        """chromedriver at 127.0.0.1, not at "localhost": the tests
        talk to loopback addresses only, and a host without /etc/hosts
        (a minimal Debian root) resolves no "localhost"."""

        @property
        def service_url(self):
            return "http://127.0.0.1:%d" % self.port

        def is_connectable(self):
            return utils.is_connectable(self.port, "127.0.0.1")

    return {"webdriver": webdriver, "Options": Options,
            "Service": LoopbackService,
            "By": By, "Keys": Keys, "ActionChains": ActionChains,
            "NoAlert": NoAlertPresentException}


def web_server(f, *flags, port=None):
    """natterd with its web listener on a free port (or port); returns
    (server, page URL)."""
    wp = port or free_port()
    s = Server(f, "--web-port", wp, *NO_THROTTLE, *flags)
    wait_web(s, wp)
    return s, "http://127.0.0.1:%d/" % wp


def wait_web(s, wp):
    deadline = time.monotonic() + scaled(10)
    while not _listening(wp):
        assert s.alive(), "natterd exited:\n" + s.log_text()[-2000:]
        assert time.monotonic() < deadline, \
            "nothing listens on the web port %d:\n%s" % (
                wp, s.log_text()[-2000:])
        time.sleep(0.02)


# The page's lines, one JS call: what the tests compare.
LINES_JS = """
return Array.from(document.querySelectorAll('#log .line')).map(l => {
    const one = (sel) => { const e = l.querySelector(sel);
        return e ? e.textContent : null; };
    return { cls: l.className, msgid: l.dataset.msgid || '',
        time: one('.time'), text: one('.text'), desc: one('.desc'),
        nicks: Array.from(l.querySelectorAll('.nick'))
            .map(e => e.textContent),
        shown: l.innerText };
});
"""


class Browser:
    """One headless Chromium (through chromedriver) with its own
    profile; closed by the with block (and, should the test die, by
    the fixture: chromedriver leads its own process group)."""

    def __init__(self, f, url, width=1000, height=650, name="browser"):
        for path, pkg in ((CHROMIUM, "chromium"),
                          (CHROMEDRIVER, "chromium-driver")):
            if not os.access(path, os.X_OK):
                raise AssertionError("%s is missing: run make deps "
                                     "(Debian package %s)" % (path, pkg))
        self.se = _selenium()
        self.f = f
        self.url = url
        self.name = name
        self.profile = tempfile.mkdtemp(prefix="chromium-",
                                        dir=f.tmpdir)
        self.d = None
        self.chromium = None
        # Chromium is started here and chromedriver attached to it at
        # 127.0.0.1: launched by chromedriver, it is reached at
        # "localhost", which a host without /etc/hosts (a minimal Debian
        # root) does not resolve.
        args = [CHROMIUM, "--headless=new", "--disable-dev-shm-usage",
                "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking",
                "--disable-background-timer-throttling",
                "--disable-renderer-backgrounding",
                "--disable-backgrounding-occluded-windows",
                "--force-device-scale-factor=1", "--lang=en-US",
                "--hide-scrollbars",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "--user-data-dir=" + self.profile,
                "--window-size=%d,%d" % (width, height)]
        if os.geteuid() == 0:
            args.append("--no-sandbox")
        args.append("about:blank")
        env = dict(os.environ, TZ="UTC", LANG="en_US.UTF-8")
        with open(os.path.join(f.tmpdir, name + "-chromium.log"),
                  "w") as log:
            self.chromium = subprocess.Popen(
                args, env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=log, start_new_session=True)
        f.procs.append(("chromium " + name, self.chromium))
        f.note_pid(self.chromium.pid)
        # It names the port it took in its profile.
        active = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + scaled(20)
        port = None
        while port is None:
            try:
                with open(active) as fp:
                    port = int(fp.readline())
            except (OSError, ValueError):
                if self.chromium.poll() is not None or \
                        time.monotonic() > deadline:
                    raise AssertionError("chromium did not start (%s)"
                                         % active)
                time.sleep(0.05)
        opts = self.se["Options"]()
        opts.debugger_address = "127.0.0.1:%d" % port
        # The console: a Content-Security-Policy refusal shows there.
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = self.se["Service"](
            CHROMEDRIVER, env=env,
            log_path=os.path.join(f.tmpdir, name + "-chromedriver.log"),
            popen_kw={"start_new_session": True})
        self.d = self.se["webdriver"].Chrome(service=service, options=opts)
        self.service = service
        f.procs.append(("chromedriver " + name, service.process))
        f.note_pid(service.process.pid)
        # The page gets exactly width x height (the window's own frame
        # would take some); a narrow one is a phone's.
        self.d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1,
            "mobile": width < 600})
        self.d.get(url)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        if self.d is not None:
            try:
                # Chromium closes itself, and reaps its own children.
                self.d.execute_cdp_cmd("Browser.close", {})
            except Exception:
                pass
            try:
                self.d.quit()
            except Exception:
                pass
            self.d = None
        # Attached to, not launched by, chromedriver: quit leaves it.
        if self.chromium is not None and self.chromium.poll() is None:
            try:
                os.killpg(self.chromium.pid, signal.SIGTERM)
                self.chromium.wait(timeout=scaled(10))
            except (OSError, subprocess.TimeoutExpired):
                os.killpg(self.chromium.pid, signal.SIGKILL)
                self.chromium.wait()

    # --- reading the page ---

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def by_id(self, id_):
        return self.d.find_element(self.se["By"].ID, id_)

    def lines(self):
        return self.js(LINES_JS)

    def msgs(self):
        """(nick, text) of each message line, in order."""
        return [(ln["nicks"][0], ln["text"]) for ln in self.lines()
                if "msg" in ln["cls"].split()]

    def text_of(self, id_):
        return self.js("return document.getElementById(arguments[0])"
                       ".textContent;", id_)

    def state(self):
        return self.text_of("state")

    def tabs(self):
        """[(name, unread, active)] of the tabs."""
        return [tuple(t) for t in self.js("""
return Array.from(document.querySelectorAll('#tabs .tab')).map(t =>
    [t.querySelector('.name').textContent,
     t.querySelector('.unread').textContent,
     t.classList.contains('active')]);""")]

    def nicklist(self):
        return self.js("""
return Array.from(document.querySelectorAll('#nicklist li.member')).map(
    li => li.innerText.replace(/\\s+/g, ''));""")

    def wait(self, cond, what, limit=10):
        """Polls cond() until it returns something true; returns it."""
        deadline = time.monotonic() + scaled(limit)
        while True:
            got = cond()
            if got:
                return got
            if time.monotonic() > deadline:
                raise AssertionError("%s: no %s within %gs; state %r, "
                                     "tabs %r, lines:\n%s" % (
                                         self.name, what, scaled(limit),
                                         self.state(), self.tabs(),
                                         self.dump()))
            time.sleep(0.05)

    def dump(self, n=25):
        return "\n".join("  | %s  [%s]" % (ln["shown"].replace("\n", "\\n"),
                                           ln["cls"])
                         for ln in self.lines()[-n:])

    def wait_msg(self, nick, text, limit=10):
        """Waits for a message line from nick saying exactly text."""
        return self.wait(lambda: [ln for ln in self.lines()
                                  if "msg" in ln["cls"].split() and
                                  ln["nicks"] == [nick] and
                                  ln["text"] == text],
                         "message <%s> %r" % (nick, text), limit)[0]

    def wait_event(self, nick, desc, limit=10):
        return self.wait(lambda: [ln for ln in self.lines()
                                  if ln["nicks"][:1] == [nick] and
                                  ln["desc"] == desc],
                         "line %s %s" % (nick, desc), limit)[0]

    # --- using it ---

    def login(self, nick, room, as_nick=None):
        """Fills the form and waits until we are in the room (as
        as_nick if the server gives us another nick)."""
        self.by_id("nick").clear()
        self.by_id("nick").send_keys(nick)
        self.by_id("room").clear()
        self.by_id("room").send_keys(room)
        self.by_id("connect").click()
        want = room if room.startswith("#") else "#" + room
        self.wait_event(as_nick or nick, "has joined " + want)
        self.wait(lambda: self.state() == "", "connected state")

    def type(self, text):
        """Types text into the box and presses Enter."""
        box = self.by_id("input")
        box.send_keys(text)
        box.send_keys(self.se["Keys"].ENTER)

    def type_lines(self, lines):
        """Types lines with Shift-Enter between them, then Enter."""
        box = self.by_id("input")
        keys = self.se["Keys"]
        for i, ln in enumerate(lines):
            if i > 0:
                self.se["ActionChains"](self.d).key_down(keys.SHIFT) \
                    .send_keys(keys.ENTER).key_up(keys.SHIFT).perform()
            box.send_keys(ln)
        box.send_keys(keys.ENTER)

    def console_errors(self):
        """The console's errors since the last call (a CSP refusal, a
        script error, a missing file)."""
        return [e["message"] for e in self.d.get_log("browser")
                if e.get("level") == "SEVERE"]

    def no_alert(self):
        try:
            alert = self.d.switch_to.alert
            text = alert.text
        except self.se["NoAlert"]:
            return
        raise AssertionError("%s: an alert appeared: %r" % (self.name, text))


def hhmm(server_time):
    """HH:MM (UTC) of an IRC server-time tag."""
    t = datetime.datetime.strptime(server_time, "%Y-%m-%dT%H:%M:%S.%fZ")
    return t.strftime("%H:%M")


# --- 1. two browser users ---

@timeout(60)
def test_web_two_browsers_chat(f):
    s, url = web_server(f)
    with Browser(f, url, name="alice") as a, Browser(f, url, name="bob") as b:
        a.login("alice", "7")               # a bare number is #7
        assert a.tabs() == [("#7", "", True)], a.tabs()
        a.type("/topic Friday lunch: noodles at 12:30")
        a.wait(lambda: a.text_of("topic") ==
               "Friday lunch: noodles at 12:30", "topic bar")
        b.login("bob", "7")
        b.wait(lambda: b.text_of("topic") ==
               "Friday lunch: noodles at 12:30", "topic bar")
        a.wait_event("bob", "has joined #7")
        a.wait(lambda: a.nicklist() == ["@alice", "bob"], "nick list")
        b.wait(lambda: b.nicklist() == ["@alice", "bob"], "nick list")

        a.type("hello bob")
        b.wait_msg("alice", "hello bob")
        a.wait_msg("alice", "hello bob")    # our own, echoed
        b.type("hi alice, how are you?")
        line = a.wait_msg("bob", "hi alice, how are you?")
        assert re.fullmatch(r"\d\d:\d\d", line["time"]), line
        assert line["shown"] == "%s bob hi alice, how are you?" % \
            line["time"], line
        assert "mention" in line["cls"].split(), line   # names alice
        b.type("/me waves")
        line = a.wait(lambda: [ln for ln in a.lines()
                               if "action" in ln["cls"].split()], "action")[0]
        assert line["shown"] == "%s * bob waves" % line["time"], line

        # Shift-Enter: one multiline message; Up recalls it.
        a.type_lines(["first line", "second line"])
        b.wait_msg("alice", "first line\nsecond line")
        a.by_id("input").send_keys(a.se["Keys"].ARROW_UP)
        assert a.js("return document.getElementById('input').value") == \
            "first line\nsecond line"
        a.by_id("input").clear()

        # A private message opens a tab with an unread count.
        b.type("/msg alice psst, lunch?")
        a.wait(lambda: ("bob", "1", False) in a.tabs(), "bob's tab")
        assert a.d.title == "(1) natter", a.d.title
        a.js("document.querySelectorAll('#tabs .tab')[1].click()")
        a.wait_msg("bob", "psst, lunch?")
        assert a.tabs() == [("#7", "", False), ("bob", "", True)], a.tabs()
        assert a.d.title == "natter", a.d.title
        assert a.text_of("topic") == "Private conversation with bob"
        a.type("sure")
        b.wait_msg("alice", "sure")         # bob looks at that tab

        # /help says what the commands are; another /command goes to
        # the server as it is.
        a.type("/help")
        a.wait(lambda: [ln for ln in a.lines() if "info" in
                        ln["cls"].split() and "/join #room" in ln["desc"]
                        and "sent to the server as it is" in ln["desc"]],
               "the help line")
        a.type("/whois bob")
        a.wait(lambda: [ln for ln in a.lines()
                        if ln["desc"] == "bob :End of /WHOIS list"
                        or ln["desc"] == "bob End of /WHOIS list"],
               "the end of the WHOIS reply")

        if os.environ.get("NATTER_SCREENSHOT") == "1":
            screenshot(a, b)
        a.no_alert()
        b.no_alert()
        errors = a.console_errors() + b.console_errors()
        assert errors == [], errors


def screenshot(a, b):
    """docs/web.png: alice's window in #7 with a short conversation."""
    for who in (a, b):
        who.js("document.querySelectorAll('#tabs .tab')[0].click()")
    for who, text in ((b, "the usual place?"),
                      (a, "yes, I booked a table for six"),
                      (b, "great, see you there")):
        who.type(text)
        a.wait_msg(who.name, text)
    os.makedirs(os.path.dirname(SCREENSHOT), exist_ok=True)
    a.d.save_screenshot(SCREENSHOT)


# --- 2. a browser user and natter in tmux ---

@timeout(60)
def test_web_and_tui_talk(f):
    s, url = web_server(f)
    with Tmux(f) as t:
        carol = t.natter("carol", s.port, "-j", "7")
        carol.wait(rx(STAMP + r" carol \(carol@127\.0\.0\.1\) has joined #7"),
                   timeout=10)
        with Browser(f, url, name="alice") as a:
            a.login("alice", "#7")
            a.wait(lambda: a.nicklist() == ["@carol", "alice"],
                   "nick list")
            carol.wait(re.compile(STAMP + r" alice \(\S+@127\.0\.0\.1\) "
                                  r"has joined #7"))
            a.type("hello from the browser")
            carol.wait(re.compile(STAMP + r" <alice> hello from the browser"))
            carol.line("hello from the terminal")
            a.wait_msg("carol", "hello from the terminal")
            carol.line("/me waves back")
            a.wait(lambda: [ln for ln in a.lines()
                            if ln["shown"].endswith("* carol waves back")],
                   "carol's action")


# --- 3. the last lines on opening a room ---

@timeout(60)
def test_web_room_shows_last_lines(f):
    s, url = web_server(f)
    poster = v3(s, "poster", *TAGS)
    poster.join("#news")
    poster.drain(0.1)
    texts = ["news item %d" % i for i in range(12)]
    msgs = say(poster, "#news", texts, poster)
    with Browser(f, url, name="reader") as r:
        r.login("reader", "news")
        r.wait(lambda: len(r.msgs()) == len(texts), "12 messages")
        got = [ln for ln in r.lines() if "msg" in ln["cls"].split()]
        assert [(ln["nicks"], ln["text"]) for ln in got] == \
            [(["poster"], t) for t in texts], got
        assert [ln["time"] for ln in got] == [hhmm(m.time) for m in msgs]
        assert [ln["msgid"] for ln in got] == [m.msgid for m in msgs]
        assert all("history" in ln["cls"].split() for ln in got)
        # The nick and the room are remembered for the next visit.
        r.d.refresh()
        # app.js is deferred: the form is filled once it has run.
        r.wait(lambda: r.js("return [document.getElementById('nick').value, "
                            "document.getElementById('room').value]") ==
               ["reader", "news"], "nick and room remembered")
        # (Another nick: the old page's connection may not be gone yet.)
        r.login("reader2", "news")
        r.wait(lambda: len(r.msgs()) == len(texts), "12 messages again")
        # Then live lines, below them.
        poster.send("PRIVMSG #news :live now")
        r.wait_msg("poster", "live now")
        assert r.msgs()[-1] == ("poster", "live now"), r.msgs()


@timeout(60)
def test_web_room_asks_when_not_replayed(f):
    """--history-lines 0: no replay on JOIN, so the page asks
    (CHATHISTORY LATEST)."""
    s, url = web_server(f, "--history-lines", "0")
    poster = v3(s, "poster", *TAGS)
    poster.join("#quiet")
    poster.drain(0.1)
    say(poster, "#quiet", ["one", "two", "three"], poster)
    with Browser(f, url, name="reader") as r:
        r.login("reader", "quiet")
        r.wait(lambda: r.msgs() == [("poster", t) for t in
                                    ("one", "two", "three")],
               "the three lines")


# --- 4. a restart: reconnect and catch up exactly once ---

@timeout(90)
def test_web_restart_catches_up_once(f):
    db = f.path("h.db")
    s, url = web_server(f, "--db", db)
    wp = int(url.rsplit(":", 1)[1].strip("/"))
    bob = v3(s, "bob", *TAGS)
    bob.join("#r")
    with Browser(f, url, name="alice") as a:
        a.login("alice", "r")
        bob.expect(rx(r"(@\S+ )?:alice!\S+ JOIN #r"))
        say(bob, "#r", ["before 1", "before 2"], bob)
        a.wait_msg("bob", "before 2")
        s.stop()
        # Two failed attempts: the next one is 4 s away, time enough
        # to start natterd again and talk in the room first.
        a.wait(lambda: "reconnecting in 4 s" in a.state(),
               "second failed reconnect", 15)
        s.start()
        wait_web(s, wp)
        carol = v3(s, "carol", *TAGS)
        carol.join("#r")
        away = say(carol, "#r", ["while away 1", "while away 2"], carol)
        a.wait_event("alice", "has joined #r")   # the reconnect's join
        a.wait(lambda: [ln for ln in a.lines()
                        if ln["nicks"] == ["alice"] and
                        ln["desc"] == "has joined #r"][1:],
               "a second join of #r", 15)
        a.wait(lambda: a.state() == "", "connected state")
        carol.send("PRIVMSG #r :after reconnect")
        a.wait_msg("carol", "after reconnect")
        # The catch-up (CHATHISTORY AFTER) went out before that line
        # came: give its answer a moment anyway.
        time.sleep(scaled(0.3))
        got = a.msgs()
        assert got == [("bob", "before 1"), ("bob", "before 2"),
                       ("carol", "while away 1"), ("carol", "while away 2"),
                       ("carol", "after reconnect")], got
        ids = [ln["msgid"] for ln in a.lines() if ln["msgid"]]
        assert len(ids) == len(set(ids)), ids
        assert away[0].msgid in ids and away[1].msgid in ids


@timeout(60)
def test_web_reconnect_shows_no_line_twice(f):
    """Killed, the page reconnects to a room that lived on: the JOIN
    replay and CHATHISTORY AFTER both bring lines it has; each shows
    once."""
    s, url = web_server(f, "--oper", "admin:secret")
    bob = v3(s, "bob", *TAGS)
    bob.join("#r")
    bob.send("OPER admin secret")
    bob.expect(rx(r".* 381 bob :.*"))
    with Browser(f, url, name="alice") as a:
        a.login("alice", "r")
        say(bob, "#r", ["before 1", "before 2"], bob)
        a.wait_msg("bob", "before 2")
        bob.send("KILL alice :come back")
        a.wait(lambda: "reconnecting" in a.state(), "reconnecting state")
        say(bob, "#r", ["while away 1", "while away 2"], bob)
        a.wait(lambda: [ln for ln in a.lines()
                        if ln["nicks"] == ["alice"] and
                        ln["desc"] == "has joined #r"][1:],
               "a second join of #r", 15)
        a.wait(lambda: a.state() == "", "connected state")
        bob.send("PRIVMSG #r :after reconnect")
        a.wait_msg("bob", "after reconnect")
        time.sleep(scaled(0.3))
        got = a.msgs()
        assert got == [("bob", t) for t in (
            "before 1", "before 2", "while away 1", "while away 2",
            "after reconnect")], got
        ids = [ln["msgid"] for ln in a.lines() if ln["msgid"]]
        assert len(ids) == len(set(ids)), ids


# --- 5. the injection table ---

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "javascript:alert(1)",
    "<a href=\"javascript:alert(1)\">click</a>",
    "\"><svg onload=alert(1)>",
    "\u202eevil\u202c txt.exe",
    "zero\u200bwidth\u200b space",
    "&lt;b&gt;not bold&lt;/b&gt; &amp;",
]
# Nicks as natterd's rules allow them (ASCII letters, digits, -, and
# []\`_^{|}).
HOSTILE_NICKS = ["[x]{y}|z", "a\\b`c^_", "x-1"]
# Room names may hold anything but space, comma, colon and controls.
HOSTILE_ROOM = "#<img/src=x/onerror=alert(1)>\u202e"


@timeout(60)
def test_web_injection_shows_as_text(f):
    s, url = web_server(f, *FULL_SPEED)
    op = v3(s, "op", *TAGS)
    op.join("#t")
    with Browser(f, url, name="alice") as a:
        a.login("alice", "t")
        op.expect(rx(r"(@\S+ )?:alice!\S+ JOIN #t"))
        for text in HOSTILE:
            op.send("PRIVMSG #t :" + text)
            a.wait_msg("op", text)
            op.send("PRIVMSG #t :\x01ACTION " + text + "\x01")
            op.send("TOPIC #t :" + text)
            a.wait(lambda: a.text_of("topic") == text, "topic %r" % text)
        acts = [ln["text"] for ln in a.lines()
                if "action" in ln["cls"].split()]
        assert acts == HOSTILE, acts
        topics = [ln["text"] for ln in a.lines()
                  if "topic" in ln["cls"].split()]
        assert topics == HOSTILE, topics
        # Typed in the page itself, echoed back.
        a.type(HOSTILE[0])
        a.wait_msg("alice", HOSTILE[0])
        # Odd nicks: joining, talking, in the nick list, in a private tab.
        for n in HOSTILE_NICKS:
            c = s.user(n)
            c.join("#t")
            c.send("PRIVMSG #t :" + HOSTILE[1])
            a.wait_msg(n, HOSTILE[1])
            c.send("PRIVMSG alice :" + HOSTILE[0])
            a.wait(lambda: n in [t[0] for t in a.tabs()], "tab %r" % n)
        assert set(HOSTILE_NICKS) <= {x.lstrip("@+")
                                      for x in a.nicklist()}, a.nicklist()
        # A room with a hostile name: its tab shows the name as text.
        op.send("JOIN " + HOSTILE_ROOM)
        op.send("PRIVMSG alice :come to " + HOSTILE_ROOM)
        a.type("/join " + HOSTILE_ROOM)
        a.wait(lambda: HOSTILE_ROOM in [t[0] for t in a.tabs()], "odd tab")
        a.wait_event("alice", "has joined " + HOSTILE_ROOM)
        # Nothing became markup, nothing ran.
        found = a.js("""
return document.querySelectorAll(
    '#log img, #log script, #log a, #log svg, #log iframe, ' +
    '#tabs img, #tabs script, #tabs a, #topic *, #nicklist img, ' +
    '#nicklist a, #nicklist script').length;""")
        assert found == 0, found
        assert a.js("return document.querySelectorAll('script').length") == 1
        # Each nick and text is isolated: an RTL override inside one
        # cannot reorder the rest of its line.
        bidi = a.js("""
return Array.from(document.querySelectorAll('#log .nick, #log .text')).map(
    e => e.dir + ' ' + getComputedStyle(e).unicodeBidi);""")
        assert bidi and set(bidi) == {"auto isolate"}, set(bidi)
        a.no_alert()
        errors = a.console_errors()
        assert errors == [], errors
        # mIRC formatting is removed for display.
        op.send("PRIVMSG " + HOSTILE_ROOM + " :\x02bold\x02 \x0304,01red\x03"
                " \x1ditalic\x1d\x0f")
        a.wait_msg("op", "bold red italic")
        a.no_alert()


# --- 6. scrolling up loads older lines ---

@timeout(60)
def test_web_scroll_up_loads_older(f):
    s, url = web_server(f, *FULL_SPEED)
    poster = v3(s, "poster", *TAGS)
    poster.join("#long")
    poster.drain(0.1)
    texts = ["line %02d" % i for i in range(80)]
    say(poster, "#long", texts, poster)
    with Browser(f, url, name="reader") as r:
        r.login("reader", "long")
        # The JOIN shows the last 50 (natterd's --history-lines).
        r.wait(lambda: len(r.msgs()) == 50, "50 lines")
        assert [t for _, t in r.msgs()] == texts[30:]
        assert r.js("const l = document.getElementById('log');"
                    "return l.scrollHeight - l.scrollTop - l.clientHeight;"
                    ) < 30, "not scrolled to the newest line"
        top = r.js("""
const l = document.getElementById('log');
l.scrollTop = 0;
const first = Array.from(l.querySelectorAll('.line.msg'))[0];
return first.dataset.msgid;""")
        r.wait(lambda: len(r.msgs()) == 80, "80 lines")
        assert [t for _, t in r.msgs()] == texts
        # The line that was on top stays in view where it was.
        off = r.js("""
const l = document.getElementById('log');
const e = l.querySelector('.line[data-msgid="' + arguments[0] + '"]');
return e.offsetTop - l.scrollTop;""", top)
        assert 0 <= off < 60, off
        # Scrolling to the top again finds nothing older: no repeat.
        r.js("document.getElementById('log').scrollTop = 0;")
        time.sleep(scaled(0.3))
        assert len(r.msgs()) == 80


# --- a phone-sized screen ---

@timeout(60)
def test_web_phone_layout(f):
    s, url = web_server(f)
    bob = s.user("bob")
    bob.join("#7")
    s.user("alice")             # the nick is taken: the page takes alice_
    with Browser(f, url, width=390, height=760, name="phone") as p:
        p.login("alice", "7", as_nick="alice_")
        p.type("a fairly long line of text that has to wrap on a small "
               "screen instead of making the page scroll sideways, "
               "with_a_very_long_word_" + "x" * 80)
        p.wait(lambda: len(p.msgs()) == 1, "the message")
        geo = p.js("""
const r = (id) => document.getElementById(id).getBoundingClientRect();
return { sw: document.documentElement.scrollWidth,
         cw: document.documentElement.clientWidth,
         list: getComputedStyle(document.getElementById('nicklist')).display,
         button: getComputedStyle(
             document.getElementById('nicksbutton')).display,
         inputBottom: r('sendform').bottom, h: window.innerHeight,
         logW: document.getElementById('log').scrollWidth,
         logCW: document.getElementById('log').clientWidth };""")
        assert geo["sw"] <= geo["cw"], geo
        assert geo["logW"] <= geo["logCW"], geo
        assert geo["list"] == "none" and geo["button"] != "none", geo
        assert abs(geo["inputBottom"] - geo["h"]) < 2, geo
        p.by_id("nicksbutton").click()
        p.wait(lambda: p.js("return getComputedStyle(document."
                            "getElementById('nicklist')).display") != "none",
               "nick list shown")
        assert sorted(p.nicklist()) == ["@bob", "alice_"], p.nicklist()
        # /quit: back to the form, no reconnecting.
        p.type("/quit off to bed")
        bob.expect(rx(r":alice_!\S+ QUIT :Quit: off to bed"))
        p.wait(lambda: p.js("return !document.getElementById('login')"
                            ".hidden && document.getElementById('chat')"
                            ".hidden"), "the form again")
        assert p.state() == "disconnected", p.state()


# --- mentions, unread counts, notifications ---

# The page's Notification and document.hidden, replaced: a headless
# browser shows no notification and its page is never hidden.
HIDE_JS = """
window.shown = window.shown || [];
window.Notification = function (title, opts) {
    window.shown.push([title, opts.body]);
    this.close = () => {};
};
window.Notification.permission = 'granted';
Object.defineProperty(document, 'hidden', { configurable: true,
    get: () => arguments[0] });
if (!arguments[0])
    document.dispatchEvent(new Event('visibilitychange'));
"""


@timeout(60)
def test_web_mention_notifies(f):
    s, url = web_server(f)
    bob = s.user("bob")
    bob.join("#7")
    with Browser(f, url, name="alice") as a:
        a.login("alice", "7")
        # Permission is asked for from a click on this button only.
        assert a.js("return document.getElementById('notify').hidden") \
            is False
        a.js(HIDE_JS, True)
        bob.send("PRIVMSG #7 :just chatting")
        bob.send("PRIVMSG #7 :Alice, lunch?")
        line = a.wait_msg("bob", "Alice, lunch?")
        assert "mention" in line["cls"].split(), line
        assert [("mention" in ln["cls"].split()) for ln in a.lines()
                if ln["text"] == "just chatting"] == [False]
        assert a.js("return window.shown") == [["bob in #7",
                                                "Alice, lunch?"]]
        assert a.tabs() == [("#7", "2", True)], a.tabs()
        assert a.d.title == "(2) natter", a.d.title
        assert a.js("return document.querySelector('.tab')"
                    ".classList.contains('mentioned')")
        a.js(HIDE_JS, False)                # looking again
        a.wait(lambda: a.d.title == "natter", "title without count")
        assert a.tabs() == [("#7", "", True)], a.tabs()
        # Seen: no notification, no count.
        bob.send("PRIVMSG #7 :alice: still there?")
        a.wait_msg("bob", "alice: still there?")
        assert a.js("return window.shown.length") == 1
        assert a.d.title == "natter"
        # A private message while away notifies too.
        a.js(HIDE_JS, True)
        bob.send("PRIVMSG alice :psst")
        a.wait(lambda: ("bob", "1", False) in a.tabs(), "bob's tab")
        assert a.js("return window.shown")[1:] == [["bob", "psst"]]
        assert a.d.title == "(1) natter", a.d.title


# --- the nick list follows the room ---

@timeout(60)
def test_web_nick_list_follows(f):
    s, url = web_server(f)
    op = s.user("op")
    op.join("#n")
    with Browser(f, url, name="alice") as a:
        a.login("alice", "n")
        a.wait(lambda: a.nicklist() == ["@op", "alice"], "nick list")
        users = {}
        for n in ("bob", "carol", "dave", "erin"):
            users[n] = s.user(n)
            users[n].join("#n")
        a.wait(lambda: a.nicklist() == ["@op", "alice", "bob", "carol",
                                        "dave", "erin"], "six members")
        op.send("MODE #n +v carol")
        a.wait(lambda: a.nicklist() == ["@op", "+carol", "alice", "bob",
                                        "dave", "erin"], "+carol")
        op.send("MODE #n +o-v carol carol")
        a.wait(lambda: a.nicklist() == ["@carol", "@op", "alice", "bob",
                                        "dave", "erin"], "@carol")
        for who, line, want in (
                ("bob", "NICK bobby", ["@carol", "@op", "alice", "bobby",
                                       "dave", "erin"]),
                ("dave", "PART #n :see you", ["@carol", "@op", "alice",
                                              "bobby", "erin"]),
                ("erin", "QUIT :gone home", ["@carol", "@op", "alice",
                                             "bobby"]),
                ("op", "KICK #n carol :enough", ["@op", "alice", "bobby"])):
            (op if who == "op" else users[who]).send(line)
            a.wait(lambda: a.nicklist() == want, "the list after " + line)
        got = [ln["shown"].split(" ", 1)[1] for ln in a.lines()
               if "event" in ln["cls"].split()][-7:]
        assert got == [
            "erin has joined #n",
            "op sets mode +v carol",
            "op sets mode +o-v carol carol",
            "bob is now known as bobby",
            "dave has left #n see you",
            "erin has quit Quit: gone home",
            "carol was kicked by op enough"], got
        assert "3 people" == a.js("return document.querySelector("
                                  "'#nicklist .count').textContent")
