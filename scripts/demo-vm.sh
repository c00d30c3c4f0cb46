#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# make demo-vm: two QEMU Linux guests (TCG) on vhu-switch ping each other,
# first through server ports, then with a client port against a QEMU
# chardev server. The scenario is the switch_qemu peer test; here its log
# is shown as it runs.
set -u
cd "$(dirname "$0")/.."
VHU_TEST_GROUPS=peers VHU_PEER_FILTER='^switch_qemu$' tests/run.sh
rc=$?
echo "== guest consoles and switch log: build/test-logs/peer-switch_qemu.log"
grep -E "VHU-GUEST: (eth0|ping)|RESULT" build/test-logs/peer-switch_qemu.log | sed 's/^/   /'
exit $rc
