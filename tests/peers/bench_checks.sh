#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# make bench's run checks reject what they are for (bench/run.sh's header
# lists them). One row, dequeue 64 split-mrg, one short rep a side, three
# times: as it is, every run passes ("ok"); with our backend refusing
# mrg_rxbuf, ours is rejected as "features"; in a 5 s run (4 steady
# seconds asked) with our backend stopping after 3 s, ours is rejected as
# "short" (too few samples). The passing run records the share of
# vhu-fwd's polling time in empty polls (raw.csv be_idle).
# The row is then partial or failed in the results and out of the
# geometric mean.
. "$(dirname "$0")/../lib/common.sh"
need_cmd dpdk-testpmd
need_cmd python3

# bench_row NAME EXTRA: the row with vhu-fwd options EXTRA; prints the
# status of each run as SIDE=STATUS.
bench_row() {
	BENCH_OUT="$T/$1" BENCH_ROWS=dequeue:64:split-mrg BENCH_REPS=1 BENCH_SECONDS=${SECS:-3} \
		BENCH_WARMUP=1 BENCH_MEM=0 BENCH_COST=0 BENCH_TCP=0 BENCH_GSO=0 BENCH_VXLAN=0 BENCH_AFXDP=0 \
		BENCH_FWD_EXTRA="$2" VHU_BUILD="$VHU_BUILD" \
		bash "$VHU_ROOT/bench/run.sh" >"$T/$1.log" 2>&1 || { tail -20 "$T/$1.log"; fail "$1: bench/run.sh broke"; }
	awk -F, 'NR > 1 { printf "%s=%s ", $4, $10 }' "$T/$1/raw.csv"
}

check_row() { # check_row NAME EXTRA WANT_OURS
	local got
	got=$(bench_row "$1" "$2")
	note "$1 (${2:-no extra}): $got"
	case " $got" in *" ours=$3 "*) ;; *) tail -20 "$T/$1.log"; fail "$1: ours should be $3, got: $got" ;; esac
	# A side rejected for its features is not run again, nor is the other
	# side after it: the row cannot be complete.
	if [ "$3" != features ]; then
		case " $got" in *" peer=ok "*) ;; *) tail -20 "$T/$1.log"; fail "$1: the peer's run should pass, got: $got" ;; esac
	fi
	if [ "$3" = ok ]; then
		# vhu-fwd's share of time in empty polls, its steady periods (be_idle).
		local idle; idle=$(awk -F, 'NR > 1 && $4 == "ours" { print $NF }' "$T/$1/raw.csv")
		awk -v x="$idle" 'BEGIN { exit !(x ~ /^[01]\.[0-9]+$/ && x >= 0 && x <= 1) }' ||
			fail "$1: ours' be_idle should be a share of vhu-fwd's time, got '$idle'"
		note "$1: vhu-fwd idle $idle of its polling time"
	fi
	if [ "$3" != ok ]; then
		grep -qE "partial|failed: ours $3" "$T/$1.log" || { tail -5 "$T/$1.log"; fail "$1: the row is not marked partial or failed"; }
		! grep -q "Geometric mean of the Mpps ratios over the 1 complete rows" "$T/$1/benchmarks.md" ||
			fail "$1: the rejected row counts in the geometric mean"
	fi
	result "bench_checks $1: ours $3"
}

check_row plain "" ok
check_row nomrg "--disable-features mrg_rxbuf" features
SECS=5 check_row short "--duration 3" short
echo PASS
