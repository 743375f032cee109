# SPDX-License-Identifier: GPL-2.0
#
# wsr-restore-lib.sh - shell functions of wsr-demo and wsr-bench (busybox
# sh, sourced): one restore, one recording, one batch of concurrent
# restores, each appending wsr-vmm's JSON lines to a file.
#
# The caller sets: VMM (wsr-vmm), WSRCTL (wsrctl), DIR (scratch space),
# OUT (restores' JSON lines), CONC_OUT (batches' JSON lines), RECORD (the
# inputs recorded: "1 2 3"), SINGLE and UNION (the inputs of the
# single-input and the union recordings: "1" and "1+2+3"), WSRFS (mounted
# wsrfs), BASE_PREFIX (named bases are $BASE_PREFIX<snapshot dir name>),
# p (the payload, for messages), fail (set to 1 on a failure); optionally
# TAGS, JSON members ('"k":v,') prepended to every line written.
#
# Working-set files in a snapshot directory SNAP: reap-T.ws,
# faasnap-T.ls, wsr-T.ws for T = $SINGLE and U (the union); compressed
# copies of SNAP/mem: mem.lz4.zsnap, mem.zstd.zsnap.

# vmm_restore SNAPSHOT BACKEND[:1|:U] INPUT [ARGS...]: exec one restore of
# the snapshot through BACKEND with its working set recorded on the
# single input (:1) or the union (:U) (the JSON line goes to stdout).  It
# replaces the shell it runs in: call it in a subshell.
vmm_restore() {
	snap=$1 b=$2 in=$3
	shift 3
	case $b in
	*:1) tag=$SINGLE recorded=$SINGLE ;;
	*:U) tag=U recorded=$UNION ;;
	*) tag= recorded= ;;
	esac
	b=${b%%:*}
	case $b in
	reap) set -- "$@" --ws "$snap/reap-$tag.ws" ;;
	faasnap|faasnap-mincore) set -- "$@" --ws "$snap/faasnap-$tag.ls" ;;
	wsr) set -- "$@" --ws "$snap/wsr-$tag.ws" ;;
	wsr-async) b=wsr; set -- "$@" --ws "$snap/wsr-$tag.ws" --async ;;
	wsr-async-lazy)
		b=wsr; set -- "$@" --ws "$snap/wsr-$tag.ws" --async --lazy ;;
	wsr-lz4|wsr-zstd)
		set -- "$@" --ws "$snap/wsr-$tag.ws" \
			--zsnap "$snap/mem.${b#wsr-}.zsnap"
		b=wsr ;;
	# any other wsr-NAME: wsr with a knob changed by the caller
	# (wsr-bench's ablations and knob variants)
	wsr-*) b=wsr; set -- "$@" --ws "$snap/wsr-$tag.ws" ;;
	file@base) b=file; set -- "$@" --mem-file "$WSRFS/$BASE_PREFIX${snap##*/}" ;;
	file@base-async)
		b=file; set -- "$@" --mem-file "$WSRFS/$BASE_PREFIX${snap##*/}" \
			--ws "$snap/wsr-$tag.ws" ;;
	esac
	[ -n "$recorded" ] && set -- "$@" --recorded "$recorded"
	exec "$VMM" restore --snapshot "$snap" --backend "$b" --input "$in" \
		--json "$@"
}

# base_up SNAPSHOT BACKEND, base_down SNAPSHOT BACKEND: the named base
# that file@base rows map, made for their run only: a named base keeps its
# chunks' modes (wsr_base.c) while it lives, so one kept over all runs
# would carry the first run's decisions (an ablation's among them) into
# every later restore of the snapshot, the wsr rows' too
base_up() {
	case $2 in
	file@base*) "$WSRCTL" base create "$BASE_PREFIX${1##*/}" \
		--snapshot "$1/mem" >&2 || fail=1 ;;
	esac
}

base_down() {
	case $2 in
	file@base*) "$WSRCTL" base drop "$BASE_PREFIX${1##*/}" >&2 || fail=1 ;;
	esac
}

# restore SNAPSHOT BACKEND INPUT CACHE [ARGS...]
restore() {
	snap=$1 b=$2 in=$3 cache=$4
	shift 4
	[ "$cache" = cold ] && set -- "$@" --cold
	base_up "$snap" "$b"
	if ! (vmm_restore "$snap" "$b" "$in" "$@") > "$DIR/restore.json"; then
		echo "${0##*/}: FAILED: restore $snap $b input $in $cache" >&2
		fail=1
	fi
	base_down "$snap" "$b"
	sed "s/^{/{${TAGS:-}/" "$DIR/restore.json" >> "$OUT"
}

# blkdev FILE: /sys/dev/block/M:m of the block device holding FILE, as
# wsr-vmm's metrics find it (the st_dev of the file, decoded as glibc's
# major() and minor() do)
blkdev() {
	dev=$(stat -c %d "$1") || return 1
	echo "/sys/dev/block/$(((dev >> 8) & 0xfff)):$(((dev & 0xff) |
		((dev >> 12) & 0xfff00)))"
}

# sectors_read SYSDIR: 512-byte sectors the device has read (stat field 3)
sectors_read() {
	read -r _ _ sec _ < "$1/stat" && echo "$sec"
}

# proc_state PID: R, S, D, T (stopped), Z..., or nothing when gone
proc_state() {
	{ read -r _ _ st _ < "/proc/$1/stat"; } 2>/dev/null && echo "$st"
}

# batch SNAPSHOT BACKEND N: sync and drop the page cache once, start N
# restores of input 1 at once, wait for all; append their JSON lines,
# tagged "n":N, and a summary line to $CONC_OUT: the device's reads over
# the whole batch and, as a cross-check of the instances' shared_kb, what
# the wsr bases hold after it (/sys/kernel/mm/wsr/base_pages; a base
# keeps its pages when its last region goes).  The instances get no
# --cold: one dropping the cache under the others would not be one cold
# batch.
batch() {
	snap=$1 b=$2 n=$3
	tmp=$DIR/batch
	rm -rf "$tmp"
	mkdir -p "$tmp" || { fail=1; return; }
	sys=$(blkdev "$snap/mem") || { fail=1; return; }
	sync
	echo 1 > /proc/sys/vm/drop_caches
	base_up "$snap" "$b"
	s0=$(sectors_read "$sys")
	pids=
	i=0
	while [ $i -lt "$n" ]; do
		i=$((i + 1))
		# --batch: each stops itself (SIGSTOP) once ready to restore
		vmm_restore "$snap" "$b" 1 --batch > "$tmp/$i.json" &
		pids="$pids $!"
	done
	# until every instance has stopped (or died), then start them all
	t=0
	for pid in $pids; do
		while st=$(proc_state "$pid"); [ -n "$st" ] &&
		      [ "$st" != T ] && [ "$st" != Z ] && [ $t -lt 600 ]; do
			sleep 0.1
			t=$((t + 1))
		done
	done
	[ $t -lt 600 ] || step "$p: $b x$n: instances not ready after 60 s"
	kill -CONT $pids 2>/dev/null
	failed=0
	for pid in $pids; do
		wait "$pid" || failed=$((failed + 1))
	done
	s1=$(sectors_read "$sys")
	base=$(cat /sys/kernel/mm/wsr/base_pages 2>/dev/null || echo -1)
	base_down "$snap" "$b"
	sed -e "s/^{/{${TAGS:-}\"n\":$n,/" -e 's/"cache":"warm"/"cache":"batch"/' \
		"$tmp"/*.json >> "$CONC_OUT"
	[ "$base" -ge 0 ] && base=$((base * 4))
	disk=$(basename "$(readlink "$sys")")
	# the instances' lines name the backend without :1 or :U
	printf '{%s"batch":true,"payload":"%s","backend":"%s","n":%s,' \
		"${TAGS:-}" "$p" "${b%%:*}" "$n" >> "$CONC_OUT"
	printf '"read_bytes":%s,"failed":%s,"base_kb_after":%s,"disk":"%s"}\n' \
		$(((s1 - s0) * 512)) "$failed" "$base" "$disk" >> "$CONC_OUT"
	if [ $failed != 0 ]; then
		echo "${0##*/}: FAILED: $failed of $n concurrent restores $snap $b" >&2
		fail=1
	fi
	rm -rf "$tmp"
}

# record SNAPSHOT BACKEND INPUT FILE [ARGS...]
record() {
	snap=$1 b=$2 in=$3 file=$4
	shift 4
	if ! "$VMM" restore --snapshot "$snap" --backend "$b" --input "$in" \
		--record "$file" --json "$@" > "$DIR/record.json"; then
		echo "${0##*/}: FAILED: record $snap $b input $in" >&2
		fail=1
	fi
	sed "s/^{/{${TAGS:-}/" "$DIR/record.json" >> "$DIR/recordings.jsonl"
}

# record_working_sets SNAPSHOT: each method (REAP, FaaSnap, wsr) records
# every input of $RECORD cold, then each method's union of them (T = U);
# 1 when a union fails (a failed recording sets fail)
record_working_sets() {
	snap=$1
	for i in $RECORD; do
		record "$snap" reap "$i" "$snap/reap-$i.ws" --cold
		record "$snap" faasnap "$i" "$snap/faasnap-$i.ls" --cold
		record "$snap" wsr "$i" "$snap/wsr-$i.ws" --cold
	done
	set --
	for i in $RECORD; do set -- "$@" "$snap/reap-$i.ws"; done
	"$VMM" union --snapshot "$snap" --backend reap -o "$snap/reap-U.ws" \
		"$@" >&2 || return 1
	set --
	for i in $RECORD; do set -- "$@" "$snap/faasnap-$i.ls"; done
	"$VMM" union --snapshot "$snap" --backend faasnap \
		-o "$snap/faasnap-U.ls" "$@" >&2 || return 1
	set --
	for i in $RECORD; do set -- "$@" "$snap/wsr-$i.ws"; done
	"$WSRCTL" ws merge -o "$snap/wsr-U.ws" "$@" >&2 || return 1
}
