#!/usr/bin/env python3
"""
run.py: the natterd end-to-end test runner.

    python3 tests/e2e/run.py --server server/natterd [-k SUBSTRING] [-j N]
        [--server-wrapper "setarch x86_64 -R"] [--name e2e] [-v]

Runs every function test_* in tests/e2e/test_*.py, each in its own Python
process (at most -j at once) with a Fixture (harness.py).  Prints one line
per test, then the failures' details, and last
"<name>: N passed, N failed, N skipped".  Exits 1 if anything failed.

A test fails when it raises, when it outlives its timeout, or when a
server it started printed a sanitizer report or died of a signal.
"""

import argparse
import glob
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

DEFAULT_TIMEOUT = 30


def load_module(path):
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def discover(pattern, exclude=()):
    """[(test id, path, function name, timeout, slow)] in file order:
    those whose id contains pattern and none of exclude."""
    tests = []
    for path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
        mod = load_module(path)
        modname = os.path.splitext(os.path.basename(path))[0]
        funcs = [(getattr(fn, "__code__").co_firstlineno, name, fn)
                 for name, fn in vars(mod).items()
                 if name.startswith("test_") and callable(fn)
                 and getattr(fn, "__module__", None) == mod.__name__]
        for _, name, fn in sorted(funcs):
            tid = "%s::%s" % (modname, name)
            if pattern and pattern not in tid:
                continue
            if any(x in tid for x in exclude):
                continue
            tests.append((tid, path, name, getattr(fn, "timeout", None),
                          getattr(fn, "slow", False)))
    return tests


# --- worker: runs one test in this process ---

class TestTimeout(Exception):
    pass


def worker(args):
    import harness
    path, name = args.worker_path, args.worker_test
    tid = "%s::%s" % (os.path.splitext(os.path.basename(path))[0], name)
    result = {"id": tid, "status": "ok", "message": "", "details": ""}
    f = harness.Fixture(args.server, args.server_wrapper or "", tid,
                        args.verbose, pidfile=args.worker_result + ".pids")

    def on_alarm(signum, frame):
        raise TestTimeout("timed out after %gs" % args.worker_timeout)

    def on_term(signum, frame):
        raise TestTimeout("stopped by the runner (SIGTERM)")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    start = time.monotonic()
    try:
        fn = getattr(load_module(path), name)
        signal.setitimer(signal.ITIMER_REAL, args.worker_timeout)
        try:
            fn(f)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except harness.Skip as e:
        result["status"] = "skip"
        result["message"] = str(e)
    except (AssertionError, TestTimeout) as e:
        result["status"] = "fail"
        result["message"] = str(e) or "assertion failed"
        result["trace"] = _short_trace()
    except Exception as e:  # an error in the test itself
        result["status"] = "fail"
        result["message"] = "%s: %s" % (type(e).__name__, e)
        result["trace"] = traceback.format_exc()
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            signal.setitimer(signal.ITIMER_REAL, 30)
            f.cleanup()
            signal.setitimer(signal.ITIMER_REAL, 0)
        except Exception as e:
            f.problems.append("cleanup failed: %s: %s" % (type(e).__name__, e))
    if f.problems and result["status"] != "fail":
        result["status"] = "fail"
        result["message"] = f.problems[0].splitlines()[0]
        result["trace"] = ""
    if f.problems:
        result["problems"] = f.problems
    result["duration"] = time.monotonic() - start
    if result["status"] == "fail" or args.verbose:
        result["details"] = f.details(60 if args.verbose else 20)
    f.remove_tmpdir()
    with open(args.worker_result, "w") as fp:
        json.dump(result, fp)
    return 0


def _short_trace():
    """The test-file frames of the current exception, innermost last."""
    tb = traceback.extract_tb(sys.exc_info()[2])
    keep = [fr for fr in tb if os.path.basename(fr.filename).startswith("test_")]
    return "".join(traceback.format_list(keep or tb[-3:]))


# --- parent: schedules workers ---

def time_scale(server, wrapper):
    env = os.environ.get("NATTER_E2E_SLOW")
    if env:
        return float(env)
    base = os.path.basename(os.path.dirname(os.path.abspath(server)))
    if base == "tsan" or "tsan" in server:
        return 3.0
    if base == "asan" or "asan" in server:
        return 2.0
    return 1.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--server", required=True, help="natterd binary")
    ap.add_argument("--server-wrapper", default="",
                    help='command prefix for the server, e.g. "setarch x86_64 -R"')
    ap.add_argument("--name", default="e2e", help="suite name for the summary")
    ap.add_argument("-k", dest="pattern", default="",
                    help="only tests whose id contains this")
    ap.add_argument("--exclude", action="append", default=[],
                    metavar="TEXT", help="leave out tests whose id contains "
                    "TEXT (repeatable)")
    ap.add_argument("-j", dest="jobs", type=int, default=2,
                    help="tests run at once (default 2)")
    ap.add_argument("-v", dest="verbose", action="store_true",
                    help="show traffic for passing tests too")
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                    help="per-test timeout in seconds (default %d)"
                    % DEFAULT_TIMEOUT)
    ap.add_argument("--worker-path", help=argparse.SUPPRESS)
    ap.add_argument("--worker-test", help=argparse.SUPPRESS)
    ap.add_argument("--worker-result", help=argparse.SUPPRESS)
    ap.add_argument("--worker-timeout", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker_test:
        return worker(args)

    summary = lambda p, f, s: print("%s: %d passed, %d failed, %d skipped"
                                    % (args.name, p, f, s), flush=True)
    if not os.access(args.server, os.X_OK):
        print("run.py: %s is not an executable" % args.server, flush=True)
        summary(0, 1, 0)
        return 1
    scale = time_scale(args.server, args.server_wrapper)
    os.environ["NATTER_E2E_SLOW"] = str(scale)
    try:
        tests = discover(args.pattern, args.exclude)
    except Exception:
        traceback.print_exc()
        summary(0, 1, 0)
        return 1
    if not tests:
        print("run.py: no tests match %r" % args.pattern, flush=True)
    # Slow tests first, so they overlap the many quick ones.
    order = sorted(range(len(tests)), key=lambda i: (not tests[i][4], i))
    queue = [tests[i] for i in order]
    resdir = tempfile.mkdtemp(prefix="natter-e2e-results-")
    running = {}    # Popen -> (test, result path, hard deadline, start)
    results = []
    started = time.monotonic()
    jobs = max(1, args.jobs)

    def launch(test):
        tid, path, name, tmo, _ = test
        tmo = (tmo or args.timeout) * scale
        rpath = os.path.join(resdir, tid.replace(":", "_") + ".json")
        cmd = [sys.executable, os.path.abspath(__file__),
               "--server", args.server, "--name", args.name,
               "--worker-path", path, "--worker-test", name,
               "--worker-result", rpath, "--worker-timeout", str(tmo)]
        if args.server_wrapper:
            cmd += ["--server-wrapper", args.server_wrapper]
        if args.verbose:
            cmd.append("-v")
        out = open(rpath + ".out", "wb")
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                             stdout=out, stderr=subprocess.STDOUT,
                             start_new_session=True)
        out.close()
        running[p] = (test, rpath, time.monotonic() + tmo + 45,
                      time.monotonic())

    def finish(p, note=None):
        test, rpath, _, t0 = running.pop(p)
        out = _read_text(rpath + ".out")
        try:
            with open(rpath) as fp:
                r = json.load(fp)
        except (OSError, ValueError):
            _kill_leftovers(rpath + ".pids")
            r = {"id": test[0], "status": "fail",
                 "message": note or "worker exited with status %s and no result"
                 % p.returncode, "details": ""}
            r["duration"] = time.monotonic() - t0
        if out.strip():
            r["details"] = (r.get("details") or "") + \
                "\n  worker output:\n" + "\n".join(
                    "    " + l for l in out.rstrip().splitlines()[-40:])
        results.append(r)
        if r["status"] == "ok":
            print("ok   %s (%.2fs)" % (r["id"], r["duration"]), flush=True)
        elif r["status"] == "skip":
            print("skip %s: %s" % (r["id"], r["message"]), flush=True)
        else:
            print("FAIL %s: %s" % (r["id"], r["message"].splitlines()[0]
                                   if r["message"] else "failed"), flush=True)

    interrupted = False
    try:
        while queue or running:
            while queue and len(running) < jobs:
                launch(queue.pop(0))
            time.sleep(0.02)
            for p in list(running):
                if p.poll() is not None:
                    finish(p)
                elif time.monotonic() > running[p][2]:
                    _kill_group(p)
                    finish(p, "worker hung past its timeout and was killed")
    except KeyboardInterrupt:
        interrupted = True
        for p in list(running):
            _kill_group(p)
            finish(p, "interrupted")

    failed = [r for r in results if r["status"] == "fail"]
    if failed:
        print("\n==== failure details ====", flush=True)
        for r in failed:
            print("\n---- %s" % r["id"])
            print("  " + r["message"].replace("\n", "\n  "))
            for prob in r.get("problems", []):
                lines = prob.splitlines()
                if lines and lines[0] == r["message"]:
                    lines = lines[1:]      # already shown
                for line in lines:
                    print("  " + line)
            if r.get("trace"):
                print("  at:\n    " + r["trace"].rstrip().replace("\n", "\n    "))
            if r.get("details"):
                print(r["details"].rstrip())
    elif args.verbose:
        for r in results:
            if r.get("details"):
                print("\n---- %s\n%s" % (r["id"], r["details"].rstrip()))
    try:
        for n in os.listdir(resdir):
            os.unlink(os.path.join(resdir, n))
        os.rmdir(resdir)
    except OSError:
        pass
    npass = sum(r["status"] == "ok" for r in results)
    nskip = sum(r["status"] == "skip" for r in results)
    print("\n(%d tests in %.1fs, -j %d%s)" % (
        len(results), time.monotonic() - started, jobs,
        ", time scale %g" % scale if scale != 1 else ""), flush=True)
    summary(npass, len(failed) + (1 if interrupted else 0), nskip)
    return 1 if failed or interrupted else 0


def _read_text(path):
    try:
        with open(path, "rb") as fp:
            return fp.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _kill_leftovers(pidfile):
    """SIGKILLs the process groups of servers a worker started and did not
    stop (a worker killed mid-cleanup).  Each started its own session, so
    its pid is its group id."""
    for word in _read_text(pidfile).split():
        try:
            pid = int(word)
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
        except (ValueError, ProcessLookupError, PermissionError):
            pass


def _kill_group(p):
    """SIGTERM the worker (it cleans up its servers), then SIGKILL its
    whole process group."""
    try:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=15)
    except (ProcessLookupError, PermissionError):
        pass
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    p.wait()


if __name__ == "__main__":
    sys.exit(main())
