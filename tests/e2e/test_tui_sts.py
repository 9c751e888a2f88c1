"""natter and IRCv3 Strict Transport Security (sts), end to end: natter
runs in tmux against natterd with a plain port and --tls-port (which
advertises sts=port=<tls port> on the plain port and
sts=duration=<--sts-duration> on the TLS one).  The upgrade from plain
text to TLS, the policy stored in sts_policies and used by the next run,
--no-tls (with and without a stored policy), --tls-insecure storing
nothing, and --sts-duration 0 changing nothing.

The TLS certificate is trusted without a prompt: its pin is written to
known_servers first (--tls-fingerprint would make natter speak TLS to
the plain port).  Every natter gets XDG_CONFIG_HOME and HOME in the
test's own folder."""

import os
import re
import time

from harness import prefix, rx
from tmuxlib import STAMP, Tmux

import test_tui_tls as tt

WIDTH = 160


def policies_path(cfg):
    return os.path.join(cfg.dir, "sts_policies")


def read_policies(cfg):
    with open(policies_path(cfg)) as fp:
        return fp.read()


def pin(cfg, port, fp):
    """Trusts the certificate for 127.0.0.1:port through known_servers."""
    os.makedirs(cfg.dir, mode=0o700, exist_ok=True)
    with open(cfg.pins, "a") as out:
        out.write("127.0.0.1:%d SHA256:%s\n" % (port, fp))


def until(expiry):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(expiry))


def upgrade_notice(tport, port):
    return tt.row("The server requires TLS (sts): reconnecting to "
                  "127.0.0.1 port %d with TLS instead of %d" % (tport, port))


def setup(f, *flags):
    tt.need_tls(f)
    crt, key, fp = tt.gen_cert(f)
    s = tt.tls_server(f, crt, key, *flags)
    bob = s.user("bob")
    bob.join("#lobby")
    return s, fp, bob


def chat(a, bob, nick):
    a.line("hello from %s" % nick)
    bob.expect(":%s PRIVMSG #lobby :hello from %s" % (prefix(nick), nick))


# --- the tests ---

def test_tui_sts_upgrade_then_policy(f):
    s, fp, bob = setup(f)
    cfg = tt.Config(f)
    pin(cfg, s.tls_port, fp)
    plain = "127.0.0.1:%d" % s.port
    secure = "127.0.0.1:%d" % s.tls_port
    with Tmux(f, width=WIDTH) as t:
        a = tt.natter(t, cfg, "alice", s.port, "-j", "lobby")
        tt.joined(a, "alice", "#lobby")
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        assert re.fullmatch(r"\[%s\] \[alice\] \[TLS\] \[2:#lobby\]" % STAMP,
                            a.status()), a.status()
        chat(a, bob, "alice")
        a.keys("M-1")
        rows = a.wait(tt.row("Connected to %s (TLS 1.3, pinned certificate)"
                             % secure))
        # In this order: plain text, the notice, TLS; and the title
        # names the port in use.
        order = [tt.row("natter-0.1.0: connecting to %s as alice" % plain),
                 tt.row("Connected to %s" % plain),
                 upgrade_notice(s.tls_port, s.port),
                 tt.row("Connected to %s (TLS 1.3, pinned certificate)"
                        % secure)]
        at = [next((i for i, r in enumerate(rows) if p.fullmatch(r)), -1)
              for p in order]
        assert -1 not in at and at == sorted(at), (at, rows)
        assert tt.count_rows(a, upgrade_notice(s.tls_port, s.port)) == 1, \
            rows
        assert rows[0].startswith("natter-0.1.0 - %s" % secure), rows[0]
        assert not any("Reconnecting in" in r for r in rows), rows
        assert not any("Trust this" in r for r in rows), rows
    # The plain connection never registered: it closed before CAP END.
    log = s.log_text()
    assert log.count("registered as alice!") == 1, log
    assert "(alice) closed" in log, log

    # The policy: this host, the TLS port, about 300 s ahead.
    now = time.time()
    st = os.stat(policies_path(cfg))
    assert st.st_mode & 0o777 == 0o600, oct(st.st_mode)
    assert os.stat(cfg.dir).st_mode & 0o777 == 0o700
    text = read_policies(cfg)
    m = re.fullmatch(r"127\.0\.0\.1 %d (\d+)\n" % s.tls_port, text)
    assert m, text
    expiry = int(m.group(1))
    assert now + 280 <= expiry <= now + 301, (expiry, now)

    # A second run to the plain port goes straight to TLS.
    with Tmux(f, width=WIDTH) as t:
        c = tt.natter(t, cfg, "carol", s.port, "-j", "lobby")
        tt.joined(c, "carol", "#lobby")
        chat(c, bob, "carol")
        c.keys("M-1")
        rows = c.wait(tt.row("Connected to %s (TLS 1.3, pinned certificate)"
                             % secure))
        assert any(tt.row("Using TLS on 127.0.0.1 port %d instead of %d "
                          "(sts policy until %s)"
                          % (s.tls_port, s.port, until(expiry))).fullmatch(r)
                   for r in rows), rows
        assert not any(tt.row("Connected to %s" % plain).fullmatch(r)
                       for r in rows), rows
        assert not any("requires TLS" in r for r in rows), rows
        assert rows[0].startswith("natter-0.1.0 - %s" % secure), rows[0]
    log = s.log_text()
    assert log.count("registered as carol!") == 1, log
    # Its only connection was the TLS one that registered: it closed
    # when natter quit, after registering.
    closed = [ln for ln in log.splitlines() if "(carol) closed" in ln]
    assert len(closed) <= 1, closed
    assert log.index("registered as carol!") < (
        log.index("(carol) closed") if closed else len(log)), log
    # The policy was renewed on the TLS connection.
    m = re.fullmatch(r"127\.0\.0\.1 %d (\d+)\n" % s.tls_port,
                     read_policies(cfg))
    assert m and int(m.group(1)) >= expiry, read_policies(cfg)


def test_tui_sts_no_tls_notice(f):
    s, fp, bob = setup(f)
    cfg = tt.Config(f)
    pin(cfg, s.tls_port, fp)
    notice = tt.row("The server offers TLS on port %d (sts); staying on "
                    "plain text (--no-tls)" % s.tls_port)
    with Tmux(f, width=WIDTH) as t:
        a = tt.natter(t, cfg, "alice", s.port, "--no-tls", "-j", "lobby")
        tt.joined(a, "alice", "#lobby")
        assert "[TLS]" not in a.status(), a.status()
        chat(a, bob, "alice")
        a.keys("M-1")
        rows = a.wait(notice)
        assert tt.count_rows(a, notice) == 1, rows
        assert any(tt.row("Connected to 127.0.0.1:%d" % s.port).fullmatch(r)
                   for r in rows), rows
        assert not any("requires TLS" in r or "(TLS 1." in r for r in rows), rows
    assert not os.path.exists(policies_path(cfg))
    assert "registered as alice!" in s.log_text()


def test_tui_sts_no_tls_overrides_policy(f):
    s, fp, bob = setup(f)
    cfg = tt.Config(f)
    os.makedirs(cfg.dir, mode=0o700, exist_ok=True)
    expiry = int(time.time()) + 1000
    with open(policies_path(cfg), "w") as out:
        out.write("127.0.0.1 %d %d\n" % (s.tls_port, expiry))
    with Tmux(f, width=WIDTH) as t:
        a = tt.natter(t, cfg, "alice", s.port, "--no-tls", "-j", "lobby")
        tt.joined(a, "alice", "#lobby")
        chat(a, bob, "alice")
        a.keys("M-1")
        warn = tt.row("127.0.0.1 has an sts policy (TLS on port %d until %s); "
                      "connecting without TLS (--no-tls)"
                      % (s.tls_port, until(expiry)))
        rows = a.wait(warn)
        assert tt.count_rows(a, warn) == 1, rows
        assert any(tt.row("Connected to 127.0.0.1:%d" % s.port).fullmatch(r)
                   for r in rows), rows
        assert not any("(TLS 1." in r for r in rows), rows
    # --no-tls leaves the policy alone.
    assert read_policies(cfg) == "127.0.0.1 %d %d\n" % (s.tls_port, expiry)


def test_tui_sts_insecure_stores_nothing(f):
    s, fp, bob = setup(f)
    cfg = tt.Config(f)
    secure = "127.0.0.1:%d" % s.tls_port
    with Tmux(f, width=WIDTH) as t:
        a = tt.natter(t, cfg, "alice", s.tls_port, "--tls-insecure",
                      "-j", "lobby")
        tt.joined(a, "alice", "#lobby")
        chat(a, bob, "alice")
        a.keys("M-1")
        a.wait(tt.row("Connected to %s (TLS 1.3, certificate not checked)"
                      % secure))
    assert "registered as alice!" in s.log_text()
    assert not os.path.exists(policies_path(cfg))
    # The same server, trusted this time, does give a policy.
    with Tmux(f, width=WIDTH) as t:
        c = tt.natter(t, cfg, "carol", s.tls_port, "--tls-fingerprint", fp,
                      "-j", "lobby")
        tt.joined(c, "carol", "#lobby")
        chat(c, bob, "carol")
    assert re.fullmatch(r"127\.0\.0\.1 %d \d+\n" % s.tls_port,
                        read_policies(cfg)), read_policies(cfg)


def test_tui_sts_duration_zero_offers_nothing(f):
    s, fp, bob = setup(f, "--sts-duration", "0")
    cfg = tt.Config(f)
    pin(cfg, s.tls_port, fp)
    plain = "127.0.0.1:%d" % s.port
    with Tmux(f, width=WIDTH) as t:
        a = tt.natter(t, cfg, "alice", s.port, "-j", "lobby")
        tt.joined(a, "alice", "#lobby")
        assert "[TLS]" not in a.status(), a.status()
        chat(a, bob, "alice")
        a.keys("M-1")
        rows = a.wait(tt.row("Connected to %s" % plain))
        assert not any("sts" in r or "(TLS 1." in r for r in rows), rows
        assert rows[0].startswith("natter-0.1.0 - %s" % plain), rows[0]
    assert not os.path.exists(policies_path(cfg))
    assert s.log_text().count("registered as alice!") == 1
