#!/bin/sh
# /init of the wsr test VM (busybox).  Kernel command line:
#   wsr.mode=check|demo|bench|shell  what to run (default check)
#   wsr.tests=SUITE[:TEST],...  suites (and optionally one test) to run
#   wsr.timeout=SECONDS         per-suite limit (default: /selftests/settings)
#   wsr.soak_seconds=SECONDS    WSR_SOAK_SECONDS for the soak suite
#   wsr.fuzz_seconds=N          how long the fuzz suite fuzzes (make fuzz)
#   wsr.fuzz_seed=N             its seed
#   wsr.env.WSR_NAME=VALUE      WSR_NAME=VALUE in the environment (wsr-bench)
# Everything the host parses is framed by WSR-* marker lines.
export PATH=/usr/bin:/bin:/sbin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmp /tmp
# Kernel messages are collected with dmesg after each suite, so that they do
# not tear TAP lines; only emergencies go to the console directly.
dmesg -n 1

mode=check
tests=
suite_timeout=
for arg in $(cat /proc/cmdline); do
	case $arg in
	wsr.mode=*) mode=${arg#wsr.mode=} ;;
	wsr.tests=*) tests=$(echo "${arg#wsr.tests=}" | tr ',' ' ') ;;
	wsr.timeout=*) suite_timeout=${arg#wsr.timeout=} ;;
	wsr.soak_seconds=*) export WSR_SOAK_SECONDS=${arg#wsr.soak_seconds=} ;;
	wsr.fuzz_seconds=*) export WSR_FUZZ_SECONDS=${arg#wsr.fuzz_seconds=} ;;
	wsr.fuzz_seed=*) export WSR_FUZZ_SEED=${arg#wsr.fuzz_seed=} ;;
	wsr.env.WSR_*=*) export "${arg#wsr.env.}" ;;
	esac
done
[ -n "$tests" ] || tests=$(cat /selftests/suites)

finish() {
	echo "WSR-DMESG-BEGIN final"
	dmesg -c
	echo "WSR-DMESG-END final"
	sync
	umount /data 2>/dev/null
	echo "WSR-DONE uptime=$(cut -d' ' -f1 /proc/uptime)"
	reboot -f
}

mkdir -p /data
if ! mount -t ext4 /dev/vda /data; then
	echo "WSR-ERROR cannot mount the data disk /dev/vda"
	finish
fi
# Stock QEMU and its Linux guest (scripts/mkmicrovm.sh), when attached.
if [ -b /dev/vdb ]; then
	mkdir -p /opt/microvm
	mount -t ext4 -o ro /dev/vdb /opt/microvm ||
		echo "WSR-ERROR cannot mount the stock-QEMU disk /dev/vdb"
fi
# Manual kmemleak scans only (the periodic one would slow tests down at
# random); boot-time objects are not ours to report.
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo scan=off > /sys/kernel/debug/kmemleak
	echo clear > /sys/kernel/debug/kmemleak
fi

if ! insmod /lib/modules/wsr.ko; then
	echo "WSR-ERROR insmod wsr.ko failed"
fi
echo "WSR-BOOT-OK $(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo) uptime=$(cut -d' ' -f1 /proc/uptime)"
echo "WSR-DMESG-BEGIN boot"
dmesg -c
echo "WSR-DMESG-END boot"

case $mode in
shell)
	setsid cttyhack sh
	finish
	;;
demo)
	echo "WSR-DEMO-BEGIN"
	/usr/bin/wsr-demo
	echo "WSR-DEMO-END rc=$?"
	finish
	;;
bench)
	echo "WSR-BENCH-BEGIN"
	/usr/bin/wsr-bench
	echo "WSR-BENCH-END rc=$?"
	finish
	;;
esac

# settings: timeout=SECONDS for every suite, timeout_SUITE=SECONDS for one.
default_timeout=$(sed -n 's/^timeout=//p' /selftests/settings)
for sel in $tests; do
	suite=${sel%%:*}
	test=
	[ "$suite" != "$sel" ] && test=${sel#*:}
	timeout=${suite_timeout:-$(sed -n "s/^timeout_$suite=//p" /selftests/settings)}
	timeout=${timeout:-$default_timeout}
	echo "WSR-SUITE-BEGIN $suite"
	if [ -x /selftests/wsr_$suite ]; then
		(cd /tmp && WSR_TEST=$test timeout -s KILL "${timeout:-600}" \
			/selftests/wsr_$suite)
		rc=$?
	else
		echo "# no such suite: $suite"
		rc=127
	fi
	echo "WSR-SUITE-END $suite rc=$rc uptime=$(cut -d' ' -f1 /proc/uptime)"
	echo "WSR-DMESG-BEGIN $suite"
	dmesg -c
	echo "WSR-DMESG-END $suite"
done

# Unload first so that anything the module leaked is unreferenced, then let
# kmemleak see it (objects younger than 5 s are never reported).
if [ -e /sys/module/wsr ] && ! rmmod wsr; then
	echo "WSR-ERROR rmmod wsr failed after the tests"
fi
if [ -w /sys/kernel/debug/kmemleak ]; then
	sleep 6
	echo scan > /sys/kernel/debug/kmemleak
	echo "WSR-KMEMLEAK-BEGIN uptime=$(cut -d' ' -f1 /proc/uptime)"
	cat /sys/kernel/debug/kmemleak
	echo "WSR-KMEMLEAK-END"
fi
finish
