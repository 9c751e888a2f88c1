#!/bin/bash
# Run every test suite against binaries `make all asan tsan tests` built.
#
#   bash tests/check.sh              all suites
#   bash tests/check.sh unit man     only those suites
#
# Suites: unit, unit-asan, e2e, e2e-asan, e2e-tsan, man, fuzz.  Each suite's output
# is shown and kept in build/test-logs/<suite>.log.  The last line is always
# "total: N passed, N failed, N skipped"; the exit status is non-zero when
# anything failed, or a suite crashed or reported no count (counted as one
# failure).  Timeouts (seconds) can be changed through the environment.

set -u
set -o pipefail
cd "$(dirname "$0")/.." || exit 1

LOGDIR=build/test-logs
UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}
E2E_TIMEOUT=${E2E_TIMEOUT:-1800}
ALL_SUITES="unit unit-asan e2e e2e-asan e2e-tsan man fuzz"
FUZZ_CHECK_SECONDS=${FUZZ_CHECK_SECONDS:-10}
# Tests run at once.  The e2e tests mostly wait on sockets and tmux (about
# a quarter of a core each), so more than one per core; the sanitizer
# builds use more CPU, so fewer there (at 4 a third of the CPU still
# idled in the TSan suite on 2 cores).
E2E_JOBS=${E2E_JOBS:-6}
E2E_SAN_JOBS=${E2E_SAN_JOBS:-5}

total_pass=0
total_fail=0
total_skip=0
bad_logs=""

mkdir -p "$LOGDIR" || exit 1

# note_failure SUITE: remember the log to point at.
note_failure() {
	case " $bad_logs " in
	*" $LOGDIR/$1.log "*) ;;
	*) bad_logs="$bad_logs $LOGDIR/$1.log" ;;
	esac
}

# add SUITE PASS FAIL SKIP
add() {
	total_pass=$((total_pass + $2))
	total_fail=$((total_fail + $3))
	total_skip=$((total_skip + $4))
	echo "== $1: $2 passed, $3 failed, $4 skipped"
	if [ "$3" -ne 0 ]; then
		note_failure "$1"
	fi
}

# cmocka_count LOG FIELD: sum of "[  FIELD  ] N test(s)" summary lines.
cmocka_count() {
	sed -n "s/^\[ *$2 *\] \([0-9][0-9]*\) test(s).*/\1/p" "$1" |
	    awk '{ n += $1 } END { print n + 0 }'
}

# run_unit SUITE DIR: every cmocka binary in DIR.
run_unit() {
	local suite=$1 dir=$2 log=$LOGDIR/$1.log
	local p=0 f=0 s=0 ran=0 t tlog rc tp tf ts terr
	: >"$log"
	for t in "$dir"/test_*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		ran=1
		tlog=$LOGDIR/$suite.$(basename "$t").log
		echo "-- $t" | tee -a "$log"
		CMOCKA_MESSAGE_OUTPUT=STDOUT timeout -k 10 "$UNIT_TIMEOUT" \
		    "$t" 2>&1 | tee "$tlog" | tee -a "$log"
		rc=${PIPESTATUS[0]}
		tp=$(cmocka_count "$tlog" PASSED)
		tf=$(cmocka_count "$tlog" FAILED)
		ts=$(cmocka_count "$tlog" SKIPPED)
		terr=$(cmocka_count "$tlog" ERROR)
		tf=$((tf + terr))
		if [ "$rc" -ne 0 ] && [ "$tf" -eq 0 ]; then
			echo "-- $t: exit status $rc without a failure count:" \
			    "counted as 1 failed" | tee -a "$log"
			tf=1
		elif [ "$rc" -eq 0 ] && ! grep -q '^\[  PASSED  \] [0-9]* test(s)' "$tlog"; then
			echo "-- $t: no cmocka summary: counted as 1 failed" |
			    tee -a "$log"
			tf=$((tf + 1))
		fi
		rm -f "$tlog"
		p=$((p + tp)); f=$((f + tf)); s=$((s + ts))
	done
	if [ "$ran" -eq 0 ]; then
		echo "-- no unit tests in $dir (run make tests asan)" | tee -a "$log"
		f=1
	fi
	add "$suite" "$p" "$f" "$s"
}

# run_e2e SUITE SERVER [WRAPPER]: the python runner against SERVER.
run_e2e() {
	local suite=$1 server=$2 wrapper=${3:-} log=$LOGDIR/$1.log
	local rc line p f s
	local -a cmd=(python3 tests/e2e/run.py --server "$server" --name "$suite")
	if [ -n "$wrapper" ]; then
		cmd+=(--server-wrapper "$wrapper")
	fi
	cmd+=("${E2E_ARGS[@]}")
	: >"$log"
	if [ ! -x "$server" ]; then
		echo "-- $server is missing (run make all asan tsan)" | tee -a "$log"
		add "$suite" 0 1 0
		return
	fi
	if [ ! -f tests/e2e/run.py ]; then
		echo "-- tests/e2e/run.py is missing" | tee -a "$log"
		add "$suite" 0 1 0
		return
	fi
	echo "-- $(printf '%q ' "${cmd[@]}")" | tee -a "$log"
	timeout -k 30 "$E2E_TIMEOUT" "${cmd[@]}" </dev/null 2>&1 | tee -a "$log"
	rc=${PIPESTATUS[0]}
	line=$(grep -E "^$suite: [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?[[:space:]]*$" "$log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "-- $suite: exit status $rc and no \"$suite: N passed, N failed, N skipped\" line:" \
		    "counted as 1 failed" | tee -a "$log"
		add "$suite" 0 1 0
		return
	fi
	p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
	s=$(echo "$line" | sed -nE 's/.* ([0-9]+) skipped.*/\1/p')
	s=${s:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "-- $suite: exit status $rc with no failure counted:" \
		    "counted as 1 failed" | tee -a "$log"
		f=1
	fi
	add "$suite" "$p" "$f" "$s"
}

# tsan_wrapper: print the wrapper the TSan server needs, if any.  gcc-12's
# TSan runtime aborts with "FATAL: ThreadSanitizer: unexpected memory
# mapping" when the kernel randomises mmap with more bits than it expects
# (vm.mmap_rnd_bits above 28, common on newer kernels); running it with
# address randomisation off (setarch -R) avoids that.  Probe with a tiny
# threaded program built the same way, a few runs each, since the failure
# depends on where the random layout lands.
tsan_wrapper() {
	local d=build/tsan/probe i ok
	local wrap
	wrap="setarch $(uname -m) -R"
	mkdir -p "$d"
	cat >"$d/probe.c" <<-'EOF'
	#include <pthread.h>
	static int n;
	static void *run(void *arg) { (void)arg; __atomic_add_fetch(&n, 1, __ATOMIC_SEQ_CST); return 0; }
	int main(void) { pthread_t t; if (pthread_create(&t, 0, run, 0) != 0) return 1; pthread_join(t, 0); return n != 1; }
	EOF
	if ! ${CC:-cc} -fsanitize=thread -O1 -o "$d/probe" "$d/probe.c" -lpthread >"$d/build.log" 2>&1; then
		echo "tsan probe: cannot build a -fsanitize=thread program (see $d/build.log)" >&2
		return 1
	fi
	ok=1
	for i in 1 2 3 4 5; do
		"$d/probe" >"$d/plain.log" 2>&1 || { ok=0; break; }
	done
	if [ "$ok" -eq 1 ]; then
		echo "tsan probe: runs as is" >&2
		return 0
	fi
	echo "tsan probe: fails without a wrapper: $(head -n 1 "$d/plain.log")" >&2
	for i in 1 2 3; do
		$wrap "$d/probe" >"$d/wrapped.log" 2>&1 || {
			echo "tsan probe: fails under $wrap too: $(head -n 1 "$d/wrapped.log")" >&2
			return 1
		}
	done
	echo "tsan probe: works under $wrap; using it" >&2
	echo "$wrap"
}

suite_unit() { run_unit unit build/tests; }
suite_unit_asan() {
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    run_unit unit-asan build/asan/tests
}
suite_e2e() {
	E2E_ARGS=(-j "$E2E_JOBS")
	run_e2e e2e server/natterd
	E2E_ARGS=()
}
# Extra run.py arguments for the next run_e2e.
E2E_ARGS=()
# The sanitizer builds of the server, and of the client: e2e-asan runs
# the TUI tests with natter built with ASan+UBSan (a report fails the
# test: harness.py check_client_reports); e2e-tsan is for the server's
# threads and leaves the TUI and browser tests to the other two.
suite_e2e_asan() {
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
	if [ -x build/asan/natter ]; then
		export NATTER_CLIENT=build/asan/natter
	fi
	# The 200-line paste waits 99 s on natter's own pacing (2 lines a
	# second); suite e2e runs it, and the other paste tests drive the
	# ASan client's send queue here.
	E2E_ARGS=(-j "$E2E_SAN_JOBS" --exclude test_tui_paste_200_lines_default_flood)
	run_e2e e2e-asan build/asan/natterd
	E2E_ARGS=()
	unset ASAN_OPTIONS UBSAN_OPTIONS NATTER_CLIENT
}
suite_e2e_tsan() {
	local wrap log=$LOGDIR/e2e-tsan.log
	if ! wrap=$(tsan_wrapper 2>"$LOGDIR/tsan-probe.log"); then
		cat "$LOGDIR/tsan-probe.log" | tee "$log"
		add e2e-tsan 0 1 0
		return
	fi
	cat "$LOGDIR/tsan-probe.log"
	export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
	# Nor the browser tests: the page's, not the server's threads
	# (test_web_bad and test_attack_web drive WebSockets here).
	E2E_ARGS=(-j "$E2E_SAN_JOBS" --exclude test_tui --exclude test_web_browser)
	run_e2e e2e-tsan build/tsan/natterd "$wrap"
	E2E_ARGS=()
	unset TSAN_OPTIONS
}
suite_man() {
	local log=$LOGDIR/man.log p=0 f=0 page out
	: >"$log"
	for page in man/*.[0-9]; do
		[ -f "$page" ] || continue
		if ! command -v mandoc >/dev/null 2>&1; then
			echo "-- mandoc is not installed (make deps)" | tee -a "$log"
			f=$((f + 1))
			continue
		fi
		out=$(mandoc -Tlint -Wwarning "$page" 2>&1)
		if [ $? -eq 0 ] && [ -z "$out" ]; then
			echo "-- $page: clean" | tee -a "$log"
			p=$((p + 1))
		else
			echo "-- $page: mandoc -Tlint -Wwarning:" | tee -a "$log"
			echo "$out" | tee -a "$log"
			f=$((f + 1))
		fi
	done
	if [ $((p + f)) -eq 0 ]; then
		echo "-- no man pages in man/" | tee -a "$log"
		f=1
	fi
	add man "$p" "$f" 0
}

# suite_fuzz: each libFuzzer target (make fuzz builds them with clang)
# for FUZZ_CHECK_SECONDS on a copy of its seed corpus; a target passes
# when it finds nothing.  One test per target.
suite_fuzz() {
	local log=$LOGDIR/fuzz.log p=0 f=0 t corpus
	: >"$log"
	if ! make -s build/fuzz/fuzz_irc build/fuzz/fuzz_frame >>"$log" 2>&1; then
		echo "-- cannot build the fuzz targets (clang and libclang-rt: make deps):" | tee -a "$log"
		tail -n 20 "$log"
		add fuzz 0 1 0
		return
	fi
	for t in irc frame; do
		corpus=build/fuzz/check-corpus-$t
		rm -rf "$corpus" && mkdir -p "$corpus" &&
		    cp -p tests/fuzz/corpus_$t/* "$corpus"/
		echo "-- fuzz_$t for ${FUZZ_CHECK_SECONDS}s" | tee -a "$log"
		if build/fuzz/fuzz_$t -max_total_time="$FUZZ_CHECK_SECONDS" \
		    -max_len=9000 -print_final_stats=1 \
		    -artifact_prefix=build/fuzz/check-$t- "$corpus" \
		    >"$LOGDIR/fuzz.$t.log" 2>&1; then
			echo "-- fuzz_$t: $(grep -E '^stat::number_of_executed_units' "$LOGDIR/fuzz.$t.log" | awk '{print $2}') runs, nothing found" | tee -a "$log"
			p=$((p + 1))
		else
			echo "-- fuzz_$t FAILED; the input is in build/fuzz/check-$t-*:" | tee -a "$log"
			tail -n 30 "$LOGDIR/fuzz.$t.log" | tee -a "$log"
			f=$((f + 1))
		fi
	done
	add fuzz "$p" "$f" 0
}

suites=${*:-$ALL_SUITES}
for suite in $suites; do
	case " $ALL_SUITES " in
	*" $suite "*) ;;
	*) echo "check.sh: unknown suite '$suite' (have: $ALL_SUITES)" >&2; exit 2 ;;
	esac
	echo "== $suite"
	"suite_${suite//-/_}"
done

if [ -n "$bad_logs" ]; then
	echo "failed; logs:$bad_logs"
fi
echo "total: $total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
