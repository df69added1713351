# bhyve.sh: the lab's bhyve guests, shared by the vm(8) fake and pgrep/pkill (sourced after
# lib.sh). A running guest is a file /var/lab/state/bhyve/NAME: "pid N", then one
# "tap NUM TAPn OWN" line per NIC (OWN 1: vm-bhyve created the tap and destroys it when bhyve
# exits; 0: a networkN_device tap, left as it is). Its process is "bhyve: NAME", the title
# bhyve sets (setproctitle in bhyverun.c) and vm-bhyve looks for (vm::running_load).
# shellcheck shell=sh

RUNS=$LAB_STATE/bhyve
[ -d "$RUNS" ] || mkdir -p "$RUNS"

# bhyve_procs: "PID bhyve: NAME" for each running guest.
bhyve_procs() {
	for _bp_f in "$RUNS"/*; do
		[ -f "$_bp_f" ] || continue
		case $_bp_f in *.new) continue ;; esac
		printf '%s bhyve: %s\n' "$(lab_kv_get "$_bp_f" pid)" "${_bp_f##*/}"
	done
}

# bhyve_halt NAME: bhyve exits; vm::run's loop then destroys the taps it created.
bhyve_halt() {
	while read -r _bh_k _bh_n _bh_tap _bh_own; do
		[ "$_bh_k" = tap ] && [ "$_bh_own" = 1 ] && ifconfig "$_bh_tap" destroy >/dev/null 2>&1
	done <"$RUNS/$1"
	rm -f "$RUNS/$1"
}
