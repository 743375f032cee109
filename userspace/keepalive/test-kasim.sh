#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host tests of wsr-kasim: replays whose evictions and priorities are
# computed by hand from the formula in module/wsr_keepalive.c.  TAP.
set -u
SIM=${1:-./wsr-kasim}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0 fail=0

check() {	# check NAME EXPECTED-FILE INPUT-FILE
	n=$((n + 1))
	if "$SIM" replay "$3" > "$T/out" 2>&1 && diff -u "$2" "$T/out" > "$T/diff"; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		sed 's/^/# /' "$T/diff" "$T/out"
		fail=$((fail + 1))
	fi
}

# Three bases of 64 KiB, cold restores of 1000 us; A restored 4 times, B
# twice, C once, in the order A, B, C (so LRU drops A first).
# prio = clock + freq * cost_us * 1024 / 64 = freq * 16000.
seq3() {
	cat <<EOT
policy $1
get 1 10
restore 1 20 0 1 65536 1000000 65536
get 2 30
restore 2 40 0 1 65536 1000000 65536
get 3 50
restore 3 60 0 1 65536 1000000 65536
restore 1 70 1 0 0 5000 65536
restore 1 80 1 0 0 5000 65536
restore 1 90 1 0 0 5000 65536
restore 2 100 1 0 0 5000 65536
put 1 110
put 2 120
put 3 130
cap 131072
trim 140
cap 65536
trim 150
EOT
}
seq3 gdsf > "$T/gdsf.in"
cat > "$T/gdsf.exp" <<EOT
evict 3 1
evict 2 1
base 1 freq 4 prio 64000
clock 32000
EOT
check "gdsf: lowest frequency first, clock raised" "$T/gdsf.exp" "$T/gdsf.in"

seq3 lru > "$T/lru.in"
cat > "$T/lru.exp" <<EOT
evict 1 1
evict 2 1
base 3 freq 1 prio 16000
clock 0
EOT
check "lru: released first goes first" "$T/lru.exp" "$T/lru.in"

# GDSF aging: after the clock reached 32000, a new base D restored once
# (prio 32000 + 16000 = 48000) outlives A (64000)? No: A goes after D.
# A base E restored once with cost 4000 us: 32000 + 64000 = 96000 > A.
{ seq3 gdsf; cat <<EOT
cap 0
get 4 200
restore 4 210 0 1 65536 4000000 65536
put 4 220
get 5 230
restore 5 240 0 1 65536 1000000 65536
put 5 250
cap 131072
trim 260
cap 65536
trim 270
EOT
} > "$T/age.in"
cat > "$T/age.exp" <<EOT
evict 3 1
evict 2 1
evict 5 1
evict 1 1
base 4 freq 1 prio 96000
clock 64000
EOT
check "gdsf: clock ages old priorities, cost counts" "$T/age.exp" "$T/age.in"

# TTL: unused for ttl seconds goes whatever the budget; in use stays.
cat > "$T/ttl.in" <<EOT
policy ttl
ttl 10
get 1 0
restore 1 1000 0 1 4096 1000 4096
put 1 2000
get 2 3000000000
restore 2 3000001000 0 1 4096 1000 4096
put 2 4000000000
get 3 5000000000
restore 3 12000002000 0 1 4096 1000 4096
trim 13999999999
trim 14000000000
EOT
cat > "$T/ttl.exp" <<EOT
evict 1 2
evict 2 2
base 3 freq 1 prio 256
clock 0
EOT
check "ttl: expired unused bases go, in-use stay" "$T/ttl.exp" "$T/ttl.in"

# Size: same frequency and cost, the bigger base goes first.
cat > "$T/size.in" <<EOT
policy gdsf
get 1 1
restore 1 2 0 1 8192 1000000 1048576
put 1 3
get 2 4
restore 2 5 0 1 8192 1000000 65536
put 2 6
cap 65536
trim 7
EOT
cat > "$T/size.exp" <<EOT
evict 1 1
base 2 freq 1 prio 16000
clock 1000
EOT
check "gdsf: the bigger base goes first" "$T/size.exp" "$T/size.in"

n=$((n + 1))
if "$SIM" replay /dev/stdin <<< "policy fifo" > /dev/null 2>&1; then
	echo "not ok $n - a bad policy is refused"
	fail=$((fail + 1))
else
	echo "ok $n - a bad policy is refused"
fi
echo "1..$n"
exit $((fail != 0))
