"""The command line: usage errors, --help, --version, port in use."""

import os
import re
import socket

from harness import HOST, Server

# Every flag natterd.8 documents.
FLAGS = ["-h", "--help", "--hash-password", "-l", "--listen", "--max-clients",
         "--max-per-ip", "--motd", "-n", "--server-name", "--network", "--oper",
         "--oper-file", "--password", "--password-file", "--ping-interval",
         "--ping-timeout", "-p", "--port", "--reg-timeout", "--sendq", "-V",
         "--version", "-v", "--verbose"]

# (arguments, why): each must exit 2 with a usage message on stderr.
USAGE_ERRORS = [
    (["--bogus"], "unknown long flag"),
    (["-Z"], "unknown short flag"),
    (["--port", "abc"], "port not a number"),
    (["-p", "70000"], "port out of range"),
    (["--port"], "missing value"),
    (["--max-clients", "-3"], "negative count"),
    (["--max-clients", "lots"], "count not a number"),
    (["--sendq", "12k3"], "junk after a number"),
    (["--ping-interval", "0"], "zero interval"),
    (["--oper", "nocolon"], "--oper without name:password"),
    (["--db-sync", "bogus"], "unknown sync level"),
    (["--nick-grace", "0"], "zero grace"),
    (["--store-hold", "0"], "zero store hold"),
    (["--store-hold", "3601"], "store hold over an hour"),
    (["extra-argument"], "stray operand"),
]


def test_usage_errors(f):
    bad = []
    for args, why in USAGE_ERRORS:
        cp = f.run(*args, "-l", HOST, "-p", "1") if args[0] == "--ping-interval" \
            else f.run(*args)
        if cp.returncode != 2 or "usage" not in cp.stderr.lower():
            bad.append("%s (%s): exit %s, stderr %r" % (" ".join(args), why,
                                                         cp.returncode, cp.stderr[:200]))
    assert not bad, "; ".join(bad)


def test_bogus_flag_exact(f):
    cp = f.run("--bogus")
    assert cp.returncode == 2, cp.returncode
    assert cp.stdout == "", "usage error wrote to stdout: %r" % cp.stdout
    assert re.search(r"(?im)^usage: natterd", cp.stderr), cp.stderr


def test_help(f):
    cp = f.run("--help")
    assert cp.returncode == 0, (cp.returncode, cp.stderr)
    missing = [fl for fl in FLAGS
               if not re.search(r"(^|[\s,\[|])%s\b" % re.escape(fl), cp.stdout)]
    assert not missing, "--help does not mention %s" % missing
    cp2 = f.run("-h")
    assert cp2.returncode == 0 and cp2.stdout == cp.stdout


def test_version(f):
    for flag in ("--version", "-V"):
        cp = f.run(flag)
        assert cp.returncode == 0, (flag, cp.returncode)
        assert re.fullmatch(r"natterd[- ]v?0\.1\.0\s*", cp.stdout), (flag, cp.stdout)


def test_port_in_use(f):
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        holder.bind((HOST, 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        cp = f.run("-l", HOST, "-p", port, "-n", "irc.test")
    finally:
        holder.close()
    assert cp.returncode == 1, "exit %s: %r" % (cp.returncode, cp.stderr)
    lines = cp.stderr.strip().splitlines()
    assert len(lines) == 1 and str(port) in lines[0], \
        "expected one line naming port %d: %r" % (port, cp.stderr)


def test_bad_listen_address(f):
    cp = f.run("-l", "999.1.2.3", "-p", "6667")
    assert cp.returncode in (1, 2), cp.returncode
    assert cp.stderr.strip(), "no message"


def test_missing_files(f):
    for flag in ("--motd", "--oper-file", "--password-file"):
        cp = f.run("-l", HOST, "-p", "1", flag, f.path("does-not-exist"))
        assert cp.returncode in (1, 2), "%s missing file: exit %s" % (flag, cp.returncode)
        assert "does-not-exist" in cp.stderr, (flag, cp.stderr)


def test_hash_password_empty_input(f):
    cp = f.run("--hash-password", input="")
    assert cp.returncode != 0 and cp.stdout == "", (cp.returncode, cp.stdout)


def test_flags_accepted(f):
    """A server with every value flag starts and works."""
    motd = f.write_file("motd", "hi\n")
    s = Server(f, "--network", "Net", "--max-clients", "5", "--max-per-ip", "5",
               "--motd", motd, "--oper", "a:b", "--sendq", "100000",
               "--reg-timeout", "10", "--ping-interval", "30",
               "--ping-timeout", "30", "-v")
    s.user("alice")


def _long_flags(text, pattern):
    return set(re.findall(pattern, text))


def test_help_man_readme_agree(f):
    """Every long flag is in natterd --help, man/natterd.8 and the
    README's server flags, and nowhere only in one or two of them."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    cp = f.run("--help")
    assert cp.returncode == 0, cp.stderr
    helped = _long_flags(cp.stdout, r"(?m)^\s+(?:-\w, )?(--[a-z0-9-]+)")
    with open(os.path.join(root, "man", "natterd.8")) as fp:
        man = _long_flags(fp.read(), r"(?m)^\.It Fl (?:\w , Fl )?\\(-[a-z0-9-]+)")
    man = {"-" + x for x in man}
    with open(os.path.join(root, "README.md")) as fp:
        readme = fp.read()
    section = readme.split("## Server flags", 1)[1].split("\n## ", 1)[0]
    table = _long_flags(section, r"(?m)^\| (?:`-\w`, )?`(--[a-z0-9-]+)")
    assert helped == man == table, (
        "--help only: %s; man only: %s; README only: %s; missing from "
        "--help: %s; from man: %s; from README: %s" % (
            sorted(helped - man - table), sorted(man - helped - table),
            sorted(table - helped - man), sorted((man | table) - helped),
            sorted((helped | table) - man), sorted((helped | man) - table)))
    # The defaults of the account flags read the same in all three.
    for flag, default in (("--max-accounts", "100000"), ("--hash-threads", "2"),
                          ("--argon2-memory", "19456"), ("--argon2-time", "2"),
                          ("--argon2-lanes", "1"),
                          ("--scram-iterations", "100000"),
                          ("--login-fails-account", "5"),
                          ("--login-fails-ip", "10"),
                          ("--nick-grace", "30")):
        row = re.search(r"(?m)^\| `%s [^|]*\|[^|]*\| %s \|$" % (flag, default),
                        section)
        assert row, "README: %s default %s" % (flag, default)
        hm = re.search(r"(?s)%s .*?\(default[\s\n]+%s\)" % (flag, default),
                       cp.stdout)
        assert hm, "--help: %s default %s" % (flag, default)
