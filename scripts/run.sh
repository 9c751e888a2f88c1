#!/bin/sh
# scripts/run.sh: `make run`.  Starts natterd on the first free loopback
# port from 6667 up, with the web chat on the matching port from 8080 up
# (6667 and 8080, else 6668 and 8081, ...), prints the page's address,
# opens natter on it in room #lobby, and stops the server when natter
# exits.  Extra arguments go to natter.
#
# The demo is a guest on the user's machine: its history goes to
# build/run/history.db, never to natterd's default database
# ($XDG_STATE_HOME/natterd/history.db, where a real natterd keeps its
# own), and it opens no Unix socket (natterd's default path may be a
# real natterd's); natter dials the TCP port printed below.  HELP
# answers from the repository's help file, not an installed one.
set -u
cd "$(dirname "$0")/.." || exit 1

rundir=build/run
mkdir -p "$rundir" || exit 1

log=$(mktemp "${TMPDIR:-/tmp}/natterd-run.XXXXXX") || exit 1
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -f "$log"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

port=6667
while [ "$port" -lt 6700 ]; do
	: >"$log"
	webport=$((port + 1413))
	./server/natterd -l 127.0.0.1 -p "$port" -n irc.local \
	    --web-port "$webport" \
	    --db "$rundir/history.db" --no-unix \
	    --help-file server/natterd.help 2>"$log" &
	pid=$!
	# Ready once it logs "listening"; "in use" makes it exit 1 at once.
	tries=0
	while [ "$tries" -lt 100 ]; do
		if grep -q 'listening on' "$log"; then
			break 2
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			break
		fi
		sleep 0.05
		tries=$((tries + 1))
	done
	wait "$pid" 2>/dev/null
	pid=
	if ! grep -q 'in use' "$log"; then
		echo "run.sh: natterd did not start:" >&2
		cat "$log" >&2
		exit 1
	fi
	port=$((port + 1))
done
if [ -z "$pid" ]; then
	echo "run.sh: no free port in 6667-6699" >&2
	exit 1
fi

echo "natterd is on 127.0.0.1:$port (pid $pid)"
echo "web chat: http://127.0.0.1:$webport/ (open it in a browser on this machine)"
echo "starting natter in #lobby"
sleep 1
./tui/natter -j lobby "$@" "127.0.0.1:$port"
