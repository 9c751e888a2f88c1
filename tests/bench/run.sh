#!/usr/bin/env bash
# Benchmark natterd against the peers that are installed (ngIRCd, InspIRCd).
#
#   sh tests/bench/run.sh            full run (3 repetitions, a few minutes)
#   BENCH_QUICK=1 sh tests/bench/run.sh   small sizes, 1 repetition, < 30 s
#
# Needs server/natterd (run "make" first).  Builds build/bench/loadgen
# itself if it is missing or older than its source; builds nothing else.  Every server runs in the
# foreground on a free 127.0.0.1 port with a throwaway working directory
# under build/bench/; each run of a scenario gets a fresh server process.
# Environment: BENCH_REPS (repetitions), BENCH_SCENARIOS (names),
# BENCH_SERVERS (natterd ngircd inspircd; also natterd-db with a history
# file, natterd-db-normal with that file at --db-sync normal, and
# natterd-old: the natterd binary BENCH_OLD names, e.g. an earlier
# build; natterd-h1: natterd with --hash-threads 1, for the login
# scenario), BENCH_KEEP=1 keeps the logs.  The login scenario (SASL
# PLAIN logins with the default hash settings) runs against natterd
# servers only: the peers have no accounts without services.
# wsfanout and wsidle are fanout and idle over WebSocket: natterd with
# --web-port, the loadgen with --ws /irc, shown as the server natterd-ws
# in the fanout and idle tables beside the TCP figures of the same run
# (natterd only: the peers have no WebSocket).
# roofline (tests/bench/roofline.c, built here like the loadgen) is a
# minimal single-threaded epoll server doing only registration, JOIN and
# PRIVMSG relay: the practical upper bound on this machine; each table
# gives every server's figure as a fraction of it (server/roofline).
# Exit status 1 when a natterd run stalls, loses messages or does not
# register every client, or a server does not start.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
BENCH=build/bench
LOADGEN=$BENCH/loadgen
ROOFLINE=$BENCH/roofline
NATTERD=server/natterd
NATTERD_OLD=${BENCH_OLD:-}
PEERS=tests/bench/peers
CC=${CC:-cc}

QUICK=${BENCH_QUICK:-0}
[ "$QUICK" = 0 ] || QUICK=1
if [ "$QUICK" = 1 ]; then
	REPS=${BENCH_REPS:-1}
else
	REPS=${BENCH_REPS:-3}
fi
SCENARIOS=${BENCH_SCENARIOS:-fanout wsfanout rooms paced slow connect idle wsidle login}
# natterd-db runs in rooms only, unless BENCH_SERVERS names it.
WANT_SERVERS=${BENCH_SERVERS:-natterd natterd-db ngircd inspircd roofline}

say() { printf '%s\n' "$*"; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# Scenario sizes.  --max-secs caps a message phase so the whole run stays
# within its time budget; a capped run reports rates over what was sent.
scenario_args() {
	if [ "$QUICK" = 1 ]; then
		case $1 in
		fanout)  echo "-n 100 -r 1 -s 2 -m 300 -w 20 --max-secs 1" ;;
		rooms)   echo "-n 200 -r 20 -s 20 -m 200 -w 20 --max-secs 1" ;;
		paced)   echo "-n 100 -r 1 -s 2 --rate 20 -m 20" ;;
		slow)    echo "-n 200 -r 20 -s 20 -m 1000 -w 20 --stalled 5 --pad 200 --max-secs 1" ;;
		connect) echo "-n 300 -k 50 --reg-timeout 2" ;;
		idle)    echo "-n 500 --idle-secs 1 --reg-timeout 5" ;;
		login)   echo "-n 100 --reg-timeout 60 $LOGIN_ARGS" ;;
		esac
		return
	fi
	case $1 in
	fanout)  echo "-n 500 -r 1 -s 5 -m 2000 -w 20 --max-secs 3" ;;
	rooms)   echo "-n 1000 -r 100 -s 100 -m 2000 -w 20 --max-secs 3" ;;
	paced)   echo "-n 500 -r 1 -s 5 --rate 20 -m 30" ;;
	slow)    echo "-n 1000 -r 100 -s 100 -m 2000 -w 20 --stalled 5 --pad 200 --max-secs 3" ;;
	connect) echo "-n 2000 -k 200 --reg-timeout 4" ;;
	idle)    echo "-n 10000 --idle-secs 3 --reg-timeout 25" ;;
	login)   echo "-n 500 --reg-timeout 120 $LOGIN_ARGS" ;;
	esac
}

# The account every client of the login scenario logs in to.
LOGIN_USER=bench
LOGIN_PASS=bench-password-1
LOGIN_ARGS="--sasl-user $LOGIN_USER --sasl-pass $LOGIN_PASS"

# Registrations in flight while setting up the other scenarios (connect
# always uses its own -k).  ngIRCd listens with a fixed backlog of 10, so
# more parallel connects only get SYNs dropped and retried a second later;
# InspIRCd completes registrations on a once-a-second timer, so it needs
# many in flight to set up quickly.
setup_inflight() {
	case $1 in
	ngircd) echo 8 ;;
	inspircd) echo 2000 ;;
	*) echo 200 ;;
	esac
}

# login: every client starts its login at once (a burst).
scenario_inflight_login() {
	[ "$QUICK" = 1 ] && echo 100 || echo 500
}

# --- processes -------------------------------------------------------------

SPID=
LPID=
WORK=
WEB_PORT=	# natterd-ws: its --web-port, where the loadgen connects
cleanup() {
	trap - EXIT INT TERM
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null
	if [ -n "$SPID" ]; then
		kill "$SPID" 2>/dev/null
		wait "$SPID" 2>/dev/null
	fi
	if [ -n "$WORK" ] && [ "${BENCH_KEEP:-0}" = 0 ]; then
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
	local p i
	for i in $(seq 1 200); do
		p=$((20000 + RANDOM % 30000))
		if port_free "$p"; then
			echo "$p"
			return 0
		fi
	done
	die "no free port on 127.0.0.1"
}

wait_listen() {
	local i
	for i in $(seq 1 100); do
		if ! port_free "$1"; then
			return 0
		fi
		kill -0 "$SPID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

stop_server() {
	local i
	[ -n "$SPID" ] || return 0
	kill "$SPID" 2>/dev/null
	for i in $(seq 1 50); do
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
	SPID=
}

# start_server NAME PORT: start NAME in the foreground (as a child of this
# script) and wait until it listens.
start_server() {
	local name=$1 port=$2 dir="$WORK/$1" uid gid db bin sync web=
	mkdir -p "$dir"
	case $name in
	natterd|natterd-db|natterd-db-normal|natterd-old|natterd-h1|natterd-ws)
		# natterd runs with the store off, as the peers keep no
		# history; natterd-db keeps it in a file, to measure what
		# the store costs.
		bin=$NATTERD sync=
		case $name in
		natterd-old) bin=$NATTERD_OLD ;;
		natterd-db-normal) sync="--db-sync normal" ;;
		natterd-h1) sync="--hash-threads 1" ;;
		natterd-ws)
			# The web listener (plain HTTP: no --tls-cert).
			WEB_PORT=$(free_port)
			while [ "$WEB_PORT" = "$port" ]; do
				WEB_PORT=$(free_port)
			done
			web="--web-port $WEB_PORT"
			;;
		esac
		if [ "${CUR_SCENARIO:-}" = login ]; then
			# One account in a fresh file, made on the stopped
			# database as an administrator would.
			db=$dir/history.db
			rm -f "$db" "$db-wal" "$db-shm"
			chmod 700 "$dir"
			printf '%s\n' "$LOGIN_PASS" | "$bin" --db "$db" \
			    --add-account "$LOGIN_USER" >>"$dir/log" 2>&1 ||
			    return 1
			# A burst of 500 hashes can take longer than the
			# default 30 s to register the last one: give it
			# the loadgen's 120 s, to measure the rate.
			sync="$sync --reg-timeout 120"
		elif [ "$name" != natterd ] && [ "$name" != natterd-old ] &&
		    [ "$name" != natterd-h1 ] && [ "$name" != natterd-ws ]; then
			# A fresh file each start: replayed lines of an
			# earlier run would reach the new run's clients as
			# messages sent long ago.
			db=$dir/history.db
			rm -f "$db" "$db-wal" "$db-shm"
		else
			db=off
		fi
		# slow runs with the default SendQ, to see stalled readers
		# dropped at it; the others with room for any burst.  No
		# flood control or connection throttle, as the peers run.
		# shellcheck disable=SC2086
		"$bin" -l 127.0.0.1 -p "$port" -n bench.test $sync $web \
		    --max-clients 20000 --max-per-ip 0 --db "$db" \
		    --flood-burst 0 --throttle 0 \
		    --sendq "$([ "${CUR_SCENARIO:-}" = slow ] && echo 262144 || echo 4194304)" \
		    --ping-interval 3600 --ping-timeout 3600 --no-unix \
		    >>"$dir/log" 2>&1 &
		;;
	roofline)
		"$ROOFLINE" -p "$port" --sendq \
		    "$([ "${CUR_SCENARIO:-}" = slow ] && echo 262144 || echo 4194304)" \
		    >>"$dir/log" 2>&1 &
		;;
	ngircd)
		# ngIRCd refuses to run as root without ServerUID.
		if [ "$(id -u)" = 0 ]; then
			uid=$(id -u nobody) gid=$(id -g nobody)
		else
			uid=$(id -u) gid=$(id -g)
		fi
		sed -e "s|@PORT@|$port|" -e "s|@UID@|$uid|" \
		    -e "s|@GID@|$gid|" "$PEERS/ngircd.conf" >"$dir/ngircd.conf"
		chmod 755 "$dir"
		chmod 644 "$dir/ngircd.conf"
		ngircd -n -f "$dir/ngircd.conf" >>"$dir/log" 2>&1 &
		;;
	inspircd)
		sed -e "s|@PORT@|$port|" -e "s|@DIR@|$dir|g" \
		    "$PEERS/inspircd.conf" >"$dir/inspircd.conf"
		if [ "$(id -u)" = 0 ]; then
			inspircd --nofork --nopid --runasroot \
			    --config "$dir/inspircd.conf" >>"$dir/log" 2>&1 &
		else
			inspircd --nofork --nopid \
			    --config "$dir/inspircd.conf" >>"$dir/log" 2>&1 &
		fi
		;;
	esac
	SPID=$!
	if ! wait_listen "$port" ||
	    { [ -n "$web" ] && ! wait_listen "$WEB_PORT"; }; then
		tail -n 20 "$dir/log" >&2
		stop_server
		return 1
	fi
}

# --- setup -----------------------------------------------------------------

[ -x "$NATTERD" ] || die "$NATTERD not built: run make first"
mkdir -p "$BENCH"
if [ ! -x "$LOADGEN" ] || [ tests/bench/loadgen.c -nt "$LOADGEN" ]; then
	say "building $LOADGEN"
	$CC -std=c11 -D_GNU_SOURCE -Wall -Wextra -O2 -o "$LOADGEN" \
	    tests/bench/loadgen.c -lcrypto || die "cannot build $LOADGEN"
fi
if [ ! -x "$ROOFLINE" ] || [ tests/bench/roofline.c -nt "$ROOFLINE" ]; then
	say "building $ROOFLINE"
	$CC -std=c11 -D_GNU_SOURCE -Wall -Wextra -O2 -o "$ROOFLINE" \
	    tests/bench/roofline.c || die "cannot build $ROOFLINE"
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null
WORK=$(mktemp -d "$ROOT/$BENCH/run.XXXXXX") || die "mktemp failed"
chmod 755 "$WORK"
RESULTS=$WORK/results

SERVERS=
for s in $WANT_SERVERS; do
	case $s in
	natterd|natterd-db|natterd-db-normal|natterd-h1|roofline)
		SERVERS="$SERVERS $s" ;;
	natterd-old)
		[ -x "$NATTERD_OLD" ] || die "natterd-old needs BENCH_OLD=path"
		SERVERS="$SERVERS $s" ;;
	ngircd|inspircd)
		if command -v "$s" >/dev/null 2>&1; then
			SERVERS="$SERVERS $s"
		else
			say "skipping $s: not installed (apt-get install ngircd inspircd)"
		fi
		;;
	*) die "unknown server $s" ;;
	esac
done
# shellcheck disable=SC2086
set -- $SERVERS
NSERVERS=$#
SERVER_LIST=("$@")

say "natterd benchmark: ${SERVERS# } x ($SCENARIOS), $REPS repetition(s)$([ "$QUICK" = 1 ] && echo ', quick sizes'), $(nproc) CPUs"
START=$(date +%s)
FAILED=0

# --- runs ------------------------------------------------------------------

for rep in $(seq 1 "$REPS"); do
	for sc in $SCENARIOS; do
		# wsfanout, wsidle: the loadgen's fanout and idle over
		# WebSocket, against natterd-ws alone.
		lsc=$sc ws= list=("${SERVER_LIST[@]}")
		case $sc in
		wsfanout|wsidle) lsc=${sc#ws} ws="--ws /irc" list=(natterd-ws) ;;
		esac
		CUR_SCENARIO=$lsc
		# Alternate the order of the servers from one repetition
		# to the next.
		for i in $(seq 0 $((${#list[@]} - 1))); do
			srv=${list[$(((i + rep - 1) % ${#list[@]}))]}
			case $sc/$srv in
			login/ngircd|login/inspircd|login/roofline) continue ;;
			rooms/natterd-db) ;;
			*/natterd-db) [ -z "${BENCH_SERVERS:-}" ] && continue ;;
			esac
			port=$(free_port)
			if ! start_server "$srv" "$port"; then
				say "rep $rep $sc $srv: server did not start"
				FAILED=1
				continue
			fi
			args=$(scenario_args "$lsc")
			case $lsc in
			connect) ;;
			login) args="$args -k $(scenario_inflight_login)" ;;
			*) args="$args -k $(setup_inflight "$srv")" ;;
			esac
			[ -n "$ws" ] && port=$WEB_PORT
			# shellcheck disable=SC2086
			"$LOADGEN" -p "$port" --server-pid "$SPID" --label "$srv" \
			    $args $ws "$lsc" >"$WORK/out" 2>&1 &
			LPID=$!
			wait "$LPID"
			rc=$?
			LPID=
			cat "$WORK/out" >>"$WORK/loadgen.log"
			line=$(grep '^RESULT ' "$WORK/out" | tail -n 1)
			if [ -z "$line" ]; then
				line="RESULT scenario=$sc server=$srv ok=0"
			fi
			# idle: what the clients cost the machine (SYSMEM).
			mem=$(grep '^SYSMEM ' "$WORK/out" | tail -n 1)
			[ -n "$mem" ] && line="$line ${mem#SYSMEM }"
			if [ "$rc" != 0 ]; then
				# Peers hitting their own limits (e.g. in
				# connect) are reported, not failures.
				case $srv in natterd*) FAILED=1 ;; esac
				grep -E 'error|closed' "$WORK/out" | head -n 3 |
				    sed "s/^/rep $rep $sc $srv: /"
			fi
			echo "rep=$rep ${line#RESULT }" >>"$RESULTS"
			printf 'rep %d %-7s %-8s %s\n' "$rep" "$sc" "$srv" \
			    "$(echo "$line" | tr ' ' '\n' | grep -E '^(ok|deliveries_per_s|p99_us|lost|reg_per_s|rss_per_client_kb|cpu_s|reg_p99_us)=' | tr '\n' ' ')"
			stop_server
			# Let the kernel tear down thousands of sockets
			# before the next measurement.
			case $lsc in connect|idle|login) sleep 1 ;; esac
		done
	done
done

# --- tables ----------------------------------------------------------------

# table SCENARIO "key:label ..." prints medians per server and the ratio
# natterd/peer for each key.
table() {
	local sc=$1 keys=$2
	say ""
	say "== $sc: $(scenario_args "$sc" | sed 's/ *--max-secs [0-9]*//') (median of $REPS)"
	awk -v sc="$sc" -v keys="$keys" -v servers="$SERVERS natterd-ws" '
	function median(arr, n,    i, j, t) {
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && arr[j - 1] > arr[j]; j--) {
				t = arr[j]; arr[j] = arr[j - 1]; arr[j - 1] = t
			}
		if (n % 2)
			return arr[(n + 1) / 2]
		return (arr[n / 2] + arr[n / 2 + 1]) / 2
	}
	function fmt(v) {
		if (v == "")
			return "-"
		if (v >= 100)
			return sprintf("%.0f", v)
		return sprintf("%.2f", v)
	}
	{
		delete kv
		for (i = 1; i <= NF; i++) {
			split($i, p, "=")
			kv[p[1]] = p[2]
		}
		if (kv["scenario"] != sc)
			next
		s = kv["server"]
		if (kv["ok"] != 1)
			bad[s]++
		for (k in kv) {
			n = ++cnt[s, k]
			val[s, k, n] = kv[k]
		}
	}
	END {
		# Only the servers that ran this scenario.
		nall = split(servers, all, " ")
		ns = 0
		for (j = 1; j <= nall; j++)
			if (cnt[all[j], "ok"] > 0)
				srv[++ns] = all[j]
		nk = split(keys, key, " ")
		hdr = sprintf("%-22s", "")
		for (j = 1; j <= ns; j++)
			hdr = hdr sprintf(" %12s", srv[j])
		for (j = 1; j <= ns; j++)
			if (srv[j] != "natterd" && srv[j] != "roofline")
				hdr = hdr sprintf(" %16s", "natterd/" srv[j])
		roof = 0
		for (j = 1; j <= ns; j++)
			if (srv[j] == "roofline")
				roof = 1
		for (j = 1; j <= ns && roof; j++)
			if (srv[j] != "roofline")
				hdr = hdr sprintf(" %16s", srv[j] "/roofline")
		print hdr
		for (i = 1; i <= nk; i++) {
			split(key[i], kl, ":")
			line = sprintf("%-22s", kl[2])
			for (j = 1; j <= ns; j++) {
				s = srv[j]
				n = cnt[s, kl[1]]
				for (m = 1; m <= n; m++)
					a[m] = val[s, kl[1], m] + 0
				med[s] = n > 0 ? median(a, n) : ""
				line = line sprintf(" %12s", fmt(med[s]))
			}
			for (j = 1; j <= ns; j++) {
				s = srv[j]
				if (s == "natterd" || s == "roofline")
					continue
				if (med["natterd"] == "" || med[s] == "" || med[s] == 0)
					r = "-"
				else
					r = sprintf("%.2f", med["natterd"] / med[s])
				line = line sprintf(" %16s", r)
			}
			for (j = 1; j <= ns && roof; j++) {
				s = srv[j]
				if (s == "roofline")
					continue
				if (med[s] == "" || med["roofline"] == "" || med["roofline"] == 0)
					r = "-"
				else
					r = sprintf("%.2f", med[s] / med["roofline"])
				line = line sprintf(" %16s", r)
			}
			print line
		}
		for (j = 1; j <= ns; j++)
			if (bad[srv[j]])
				printf("  (%s: %d run(s) not ok: stalled, lost messages or incomplete registration)\n", srv[j], bad[srv[j]])
	}' "$RESULTS"
}

# One fanout and one idle table, with natterd-ws beside the TCP servers.
ws_note() {
	case " $SCENARIOS " in
	*" ws$1 "*)
		say "  (natterd-ws: natterd over WebSocket, --web-port and loadgen --ws /irc,"
		say "  one text frame per line; natterd only, the peers have no WebSocket;"
		say "  natterd/natterd-ws: TCP against WebSocket)" ;;
	esac
}
TABLES=
for sc in $SCENARIOS; do
	case $sc in wsfanout|wsidle) sc=${sc#ws} ;; esac
	case " $TABLES " in *" $sc "*) continue ;; esac
	TABLES="$TABLES $sc"
	case $sc in
	fanout|rooms)
		table "$sc" "deliveries_per_s:deliveries/s p50_us:p50_us p99_us:p99_us max_us:max_us lost:lost cpu_s:server_cpu_s gen_cpu_s:loadgen_cpu_s"
		[ "$sc" = fanout ] && ws_note fanout ;;
	paced)
		table "$sc" "p50_us:p50_us p99_us:p99_us max_us:max_us lost:lost deliveries_per_s:deliveries/s cpu_s:server_cpu_s" ;;
	slow)
		table "$sc" "deliveries_per_s:reader_deliveries/s p99_us:p99_us lost:lost stalled_dropped:stalled_dropped cpu_s:server_cpu_s" ;;
	connect)
		table "$sc" "reg_per_s:registrations/s reg_p50_us:reg_p50_us reg_p99_us:reg_p99_us clients:registered cpu_s:server_cpu_s" ;;
	idle)
		table "$sc" "avail_drop_kb:MemAvailable_drop_kB pcp_kb:..on_per-CPU_lists used_kb:..in_use_kB kstack_kb:KernelStack_kB sunreclaim_kb:SUnreclaim_kB sreclaim_kb:SReclaimable_kB pagetables_kb:PageTables_kB rss_per_client_kb:server_RSS_kB gen_rss_kb:loadgen_RSS_kB clients:registered peak_rss_kb:peak_rss_kb reg_per_s:registrations/s cpu_s:idle_cpu_s"
		say "  (_kB: per idle client, whole machine, /proc/meminfo before the first"
		say "  connect against after --idle-secs; the generator's end of each socket"
		say "  is in it, and the roofline's figure bounds that share.  Per-CPU lists:"
		say "  free pages the kernel holds back (/proc/zoneinfo) for some seconds"
		say "  after a burst of frees, in the drop but not in use; in use: the drop"
		say "  less those.  Other programs running meanwhile move these figures: run"
		say "  on a quiet machine.)"
		ws_note idle ;;
	login)
		table "$sc" "reg_per_s:logins/s clients:logged_in peak_rss_kb:peak_rss_kb cpu_s:server_cpu_s" ;;
	esac
done
say ""
say "total time: $(($(date +%s) - START)) s; raw results: $([ "${BENCH_KEEP:-0}" = 0 ] && echo "set BENCH_KEEP=1 to keep $WORK" || echo "$RESULTS")"
exit "$FAILED"
