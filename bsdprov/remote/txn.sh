#!/bin/sh
# bsdprov's on-host transaction: one deploy (or rollback) run, carried out on the host itself so
# that a dropped SSH session or a killed controller cannot leave it half-configured.
#
#   sh txn.sh start RUN      lock, re-check, back up, install, check, arm the timer, activate,
#                            verify; ends "awaiting-confirm" (or "applied" with no timer)
#   sh txn.sh wait RUN SECS  print the state once it is awaiting-confirm or final (or SECS pass)
#   sh txn.sh confirm RUN    the controller's new SSH login proves access: keep the change
#   sh txn.sh timer RUN      (started by start) roll back unless confirmed in time
#   sh txn.sh rollback RUN REASON
#   sh txn.sh boot           from rc.local: roll back a run a reboot left unconfirmed
#   sh txn.sh history        one line per run: id state started user kind targets
#
# RUN is a run id; its directory /var/db/bsdprov/runs/RUN holds what the controller uploaded:
#   manifest   "put NAME MODE OWNER GROUP BEFORE TARGET" or "remove - - - - BEFORE TARGET";
#              BEFORE is "absent" or "CRC:SIZE" (POSIX cksum) of the target when planned
#   files/     the new contents, by NAME
#   prepare    commands that create what the checks need (a VM's missing disk image); what
#              they make is kept by a rollback, and they never touch an existing path
#   checks     commands that must pass on the installed files before anything is activated
#   steps      activation commands; a leading "- " marks one that may fail
#   verify     "REGEX COMMAND...": the command's output must match REGEX once activated
#   settings   confirm_timeout=SECS (0: no timer), step_timeout=SECS, user=..., kind=...
# Every line of checks/steps/verify is shell-quoted by the controller (python shlex.join).
# BSDPROV_ROOT prefixes every host path; it is empty on real hosts and set by the tests.

set -u
PATH=/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/pkg/sbin:/usr/pkg/bin
LC_ALL=C
export PATH LC_ALL
umask 077

R=${BSDPROV_ROOT:-}
BASE=$R/var/db/bsdprov
KEEP_RUNS=20
FINAL="applied failed rolled-back rollback-failed"

die() { printf 'txn: %s\n' "$*" >&2; exit 2; }

stamp() { date -u +%Y-%m-%dT%H:%M:%SZ; }

# Journal lines reuse a time taken at each state change and after each command: a date(1)
# per line was a good part of a run's processes, which is what a busy host pays for.
tick() { NOW=$(stamp); }

log() { printf '%s %s\n' "${NOW:-$(stamp)}" "$*" >>"$RUN/journal"; }

# Keep a command's output in the journal, indented, at most 20 lines.
log_output() { [ -n "$1" ] && printf '%s\n' "$1" | tail -n 20 | sed 's/^/    | /' >>"$RUN/journal"; }

# read_state sets STATE without a subshell or cat: the wait and timer loops poll it.
read_state() {
	STATE=
	IFS= read -r STATE 2>/dev/null <"$RUN/state" || :
	[ -n "$STATE" ] || STATE=none
}

state() {
	read_state
	printf '%s\n' "$STATE"
}

# The last lines of a command's output, on one line, for a reason.
gist() { printf '%s\n' "$1" | tail -n 3 | tr '\n' ' ' | sed 's/ *$//'; }

set_state() {
	printf '%s\n' "$1" >"$RUN/state.tmp" && mv -f "$RUN/state.tmp" "$RUN/state"
	tick
	log "state $1"
}

is_final() {
	case " $FINAL " in *" $1 "*) return 0 ;; esac
	return 1
}

setting() { sed -n "s/^$1=//p" "$RUN/settings" 2>/dev/null | tail -n 1; }

# The run's settings as S_confirm_timeout, S_step_timeout, S_user and S_kind (the last line of
# a key wins, as in setting): read once, not with sed and tail before every command.
load_settings() {
	S_confirm_timeout='' S_step_timeout='' S_user='' S_kind=''
	[ -f "$RUN/settings" ] || return 0
	while IFS='=' read -r key value; do
		case $key in
		confirm_timeout) S_confirm_timeout=$value ;;
		step_timeout) S_step_timeout=$value ;;
		user) S_user=$value ;;
		kind) S_kind=$value ;;
		esac
	done <"$RUN/settings"
}

open_run() {
	[ -n "${1:-}" ] || die "no run id"
	case $1 in *[!A-Za-z0-9._-]*) die "bad run id: $1" ;; esac
	RUN_ID=$1
	RUN=$BASE/runs/$1
	[ -d "$RUN" ] || die "no run $1"
	load_settings
}

fingerprint() {
	if [ -e "$1" ]; then
		# shellcheck disable=SC2046 # cksum prints CRC and size
		set -- $(cksum <"$1")
		printf '%s:%s\n' "${1-}" "${2-}"
	else
		echo absent
	fi
}

# Run one shell-quoted line with a time limit; sets OUT and RC. Output goes to a file, not a
# pipe, so a hung grandchild cannot hold the run once the command itself is killed; the guard
# polls and ends by itself within a second of the command (no signal races).
run_line() {
	eval "set -- $1"
	run_argv "$@"
}

run_argv() {
	limit=$S_step_timeout
	"$@" >"$RUN/output" 2>&1 </dev/null &
	pid=$!
	(
		waited=0
		while [ "$waited" -lt "${limit:-120}" ] && kill -0 "$pid" 2>/dev/null; do
			sleep 1
			waited=$((waited + 1))
		done
		kill "$pid" 2>/dev/null
	) >/dev/null 2>&1 &
	wait "$pid"
	RC=$?
	OUT=$(cat "$RUN/output")
	tick
}

# --- the lock --------------------------------------------------------------------------------

# Roll back run $1, whose process died, on behalf of the current run.
undo_interrupted() {
	own_run=$RUN
	own_id=$RUN_ID
	RUN=$BASE/runs/$1
	RUN_ID=$1
	load_settings
	log "interrupted with no bsdprov process left; rolled back by run $own_id"
	decide && roll_back "interrupted; rolled back before run $own_id"
	RUN=$own_run
	RUN_ID=$own_id
	load_settings
}

# Whether a run still has a process working on it (its start or its timer).
alive() {
	for pid_file in "$1/pid" "$1/timer.pid"; do
		pid=$(cat "$pid_file" 2>/dev/null) || continue
		kill -0 "$pid" 2>/dev/null && return 0
	done
	return 1
}

lock() {
	[ -d "$BASE/runs" ] || mkdir -p "$BASE/runs"
	if mkdir "$BASE/lock" 2>/dev/null; then
		echo "$RUN_ID" >"$BASE/lock/run"
		return 0
	fi
	holder=$(cat "$BASE/lock/run" 2>/dev/null || echo unknown)
	held=$(cat "$BASE/runs/$holder/state" 2>/dev/null || echo none)
	if ! is_final "$held" && [ -d "$BASE/runs/$holder" ] && ! alive "$BASE/runs/$holder"; then
		# Its process died mid-run (killed, or --no-confirm with no timer): undo it first,
		# so the host is never left half-configured.
		undo_interrupted "$holder"
		held=$(cat "$BASE/runs/$holder/state" 2>/dev/null || echo none)
	fi
	if is_final "$held" || [ ! -d "$BASE/runs/$holder" ]; then
		rm -rf "$BASE/lock"
		mkdir "$BASE/lock" 2>/dev/null || return 1
		echo "$RUN_ID" >"$BASE/lock/run"
		return 0
	fi
	who=$(sed -n 's/^user=//p' "$BASE/runs/$holder/settings" 2>/dev/null)
	REASON="another run holds the lock: $holder by ${who:-unknown}, state $held"
	return 1
}

unlock() {
	# Names of their own: lock() and cmd_boot use holder and pending around this call.
	lock_run=
	IFS= read -r lock_run 2>/dev/null <"$BASE/lock/run" || :
	[ "$lock_run" = "$RUN_ID" ] && rm -rf "$BASE/lock"
	pending_run=
	IFS= read -r pending_run 2>/dev/null <"$BASE/pending" || :
	[ "$pending_run" = "$RUN_ID" ] && rm -f "$BASE/pending"
	return 0
}

finish() {
	printf '%s\n' "$2" >"$RUN/reason"
	log "$1: $2"
	set_state "$1"
	unlock
	prune
}

prune() {
	set -- "$BASE"/runs/*
	excess=$(($# - KEEP_RUNS))
	for old in "$@"; do
		[ "$excess" -gt 0 ] || break
		[ "${old##*/}" = "$RUN_ID" ] || rm -rf "$old"
		excess=$((excess - 1))
	done
}

# --- files -------------------------------------------------------------------------------------

# The decision between confirm and rollback is taken once: whoever creates "decided" first.
decide() { mkdir "$RUN/decided" 2>/dev/null; }

changed_since_plan() {
	while read -r action name mode owner group before target; do
		now=$(fingerprint "$R$target")
		if [ "$now" != "$before" ]; then
			REASON="changed since plan: $target (planned $before, now $now)"
			return 0
		fi
	done <"$RUN/manifest"
	return 1
}

back_up() {
	[ -d "$RUN/backup" ] || mkdir -p "$RUN/backup"
	: >"$RUN/backup/index"
	n=0
	while read -r action name mode owner group before target; do
		n=$((n + 1))
		if [ -e "$R$target" ]; then
			cp -p "$R$target" "$RUN/backup/$n" || return 1
			echo "present $n $target" >>"$RUN/backup/index"
		else
			echo "absent $n $target" >>"$RUN/backup/index"
		fi
	done <"$RUN/manifest"
	sync
}

# Write through a temporary file in the target's directory, then rename: never half a file.
install_files() {
	while read -r action name mode owner group before target; do
		if [ "$action" = remove ]; then
			rm -f "$R$target" || return 1
			continue
		fi
		dir=$R${target%/*} # targets are absolute paths; no dirname process
		dir=${dir:-/}
		[ -d "$dir" ] || mkdir -p "$dir" || return 1
		tmp=$dir/.bsdprov.$RUN_ID.tmp
		if ! { cp "$RUN/files/$name" "$tmp" && chown "$owner:$group" "$tmp" &&
			chmod "$mode" "$tmp" && mv -f "$tmp" "$R$target"; }; then
			rm -f "$tmp"
			return 1
		fi
		log "installed $target ($mode $owner:$group)"
	done <"$RUN/manifest"
	sync
}

restore_files() {
	while read -r presence n target; do
		if [ "$presence" = absent ]; then
			rm -f "$R$target"
		else
			tmp=$R${target%/*}/.bsdprov.$RUN_ID.tmp
			cp -p "$RUN/backup/$n" "$tmp" && mv -f "$tmp" "$R$target" || return 1
		fi
		log "restored $target"
	done <"$RUN/backup/index"
	sync
}

# --- commands ----------------------------------------------------------------------------------

# run_checks FILE LABEL: run each line of FILE; the first failure stops.
run_checks() {
	[ -f "$1" ] || return 0
	while IFS= read -r line; do
		run_line "$line"
		log "$2 ($RC): $line"
		log_output "$OUT"
		if [ "$RC" -ne 0 ]; then
			out=$(gist "$OUT")
			REASON="$2 failed: $line${out:+: $out}"
			return 1
		fi
	done <"$1"
}

# $1 = strict|tolerant. Tolerant (rollback) runs every step whatever fails.
run_steps() {
	[ -f "$RUN/steps" ] || return 0
	failures=0
	while IFS= read -r line; do
		if [ "$1" = strict ] && [ -d "$RUN/decided" ]; then
			REASON="stopped: the timer decided while steps ran"
			return 1
		fi
		may_fail=no
		case $line in "- "*) may_fail=yes line=${line#- } ;; esac
		run_line "$line"
		log "step ($RC): $line"
		log_output "$OUT"
		if [ "$RC" -ne 0 ] && [ "$may_fail" = no ]; then
			failures=$((failures + 1))
			if [ "$1" = strict ]; then
				out=$(gist "$OUT")
				REASON="step failed (exit $RC): $line${out:+: $out}"
				return 1
			fi
		fi
	done <"$RUN/steps"
	[ "$failures" -eq 0 ]
}

# shellcheck disable=SC2120 # $1 and $* come from each line's "set --", not from callers
run_verify() {
	[ -f "$RUN/verify" ] || return 0
	ran=
	while IFS= read -r line; do
		eval "set -- $line"
		regex=$1
		shift
		command=$*
		# Consecutive checks of one command (ifconfig IF, an address each) share one run of it:
		# nothing changes the system between them.
		if [ "$#:$command" != "$ran" ]; then
			run_argv "$@"
			ran=$#:$command
		fi
		if printf '%s\n' "$OUT" | grep -E -q -- "$regex"; then
			log "verified: $command ~ /$regex/"
		else
			log "verify failed: $command ~ /$regex/"
			log_output "$OUT"
			REASON="verify failed: '$command' does not show /$regex/"
			return 1
		fi
	done <"$RUN/verify"
}

# --- phases ------------------------------------------------------------------------------------

ensure_boot_hook() {
	rc=$R/etc/rc.local
	grep -q 'bsdprov/txn.sh boot' "$rc" 2>/dev/null && return 0
	tmp=$R/etc/.bsdprov.rc.local.tmp
	if [ -f "$rc" ]; then cp -p "$rc" "$tmp" || return 1; else : >"$tmp" && chmod 644 "$tmp"; fi
	printf '%s\n' '[ -f /var/db/bsdprov/txn.sh ] && sh /var/db/bsdprov/txn.sh boot # bsdprov' >>"$tmp"
	mv -f "$tmp" "$rc"
	log "added the boot check to /etc/rc.local"
}

install_tools() {
	mkdir -p "$BASE/lib"
	cp "$RUN/txn.sh" "$BASE/.txn.sh.tmp" && mv -f "$BASE/.txn.sh.tmp" "$BASE/txn.sh" || return 1
	[ -d "$RUN/lib" ] || return 0
	for tool in "$RUN"/lib/*; do
		[ -f "$tool" ] || continue
		cp "$tool" "$BASE/lib/.tmp" && mv -f "$BASE/lib/.tmp" "$BASE/lib/${tool##*/}" || return 1
	done
}

roll_back() {
	set_state rolling-back
	log "rolling back: $1"
	if restore_files && run_steps tolerant; then
		finish rolled-back "$1"
	else
		finish rollback-failed "$1; the rollback itself failed, see the journal"
	fi
}

cmd_start() {
	open_run "$1"
	echo $$ >"$RUN/pid"
	log "start by $S_user ($S_kind)"
	REASON=
	if ! lock; then
		printf '%s\n' "$REASON" >"$RUN/reason"
		set_state failed
		return 1
	fi
	set_state locked
	changed_since_plan && { finish failed "$REASON"; return 1; }
	back_up || { finish failed "backup failed"; return 1; }
	set_state backed-up
	if ! install_files; then
		restore_files
		finish failed "installing the files failed; the old files are back"
		return 1
	fi
	set_state installed
	if ! run_checks "$RUN/prepare" prepare; then
		restore_files
		finish failed "$REASON; the old files are back, nothing was activated"
		return 1
	fi
	if ! run_checks "$RUN/checks" check; then
		restore_files
		finish failed "$REASON; the old files are back, nothing was activated"
		return 1
	fi
	install_tools || { restore_files; finish failed "cannot install bsdprov's tools"; return 1; }
	timeout=$S_confirm_timeout
	if [ "${timeout:-0}" -gt 0 ]; then
		ensure_boot_hook
		echo "$RUN_ID" >"$BASE/pending"
		date +%s >"$RUN/armed"
		nohup sh "$BASE/txn.sh" timer "$RUN_ID" </dev/null >/dev/null 2>&1 &
		echo $! >"$RUN/timer.pid"
		log "timer armed: ${timeout}s"
	fi
	set_state activating
	if ! run_steps strict || ! run_verify; then
		decide && roll_back "$REASON"
		return 1
	fi
	if [ "${timeout:-0}" -gt 0 ]; then
		set_state awaiting-confirm
	else
		finish applied "applied without a confirm timer"
	fi
}

cmd_timer() {
	open_run "$1"
	armed=$(cat "$RUN/armed")
	deadline=$((armed + ${S_confirm_timeout:-0}))
	while :; do
		read_state
		is_final "$STATE" && return 0
		[ "$(date +%s)" -ge "$deadline" ] && break
		sleep 1
	done
	decide || return 0
	roll_back "not confirmed within ${S_confirm_timeout}s"
}

cmd_confirm() {
	open_run "$1"
	current=$(state)
	if [ "$current" = awaiting-confirm ] && decide; then
		finish applied "confirmed over a new SSH connection"
		kill "$(cat "$RUN/timer.pid" 2>/dev/null)" 2>/dev/null
		current=applied
	fi
	printf 'state=%s\nreason=%s\n' "$(state)" "$(cat "$RUN/reason" 2>/dev/null)"
	[ "$current" = applied ]
}

cmd_wait() {
	open_run "$1"
	end=$(($(date +%s) + ${2:-60}))
	while :; do
		read_state
		case $STATE in awaiting-confirm) break ;; esac
		is_final "$STATE" && break
		[ "$(date +%s)" -ge "$end" ] && break
		sleep 0.2
	done
	printf 'state=%s\nreason=%s\n' "$(state)" "$(cat "$RUN/reason" 2>/dev/null)"
	echo "journal:"
	tail -n 40 "$RUN/journal" 2>/dev/null
}

cmd_boot() {
	pending=$(cat "$BASE/pending" 2>/dev/null) || return 0
	open_run "$pending"
	is_final "$(state)" && { rm -f "$BASE/pending"; return 0; }
	decide && roll_back "the host restarted before the run was confirmed"
}

cmd_history() {
	[ -d "$BASE/runs" ] || return 0
	for dir in "$BASE"/runs/*; do
		[ -d "$dir" ] || continue
		RUN=$dir
		targets=$(awk '{ printf "%s%s", sep, $7; sep = "," }' "$dir/manifest" 2>/dev/null)
		started=$(head -n 1 "$dir/journal" 2>/dev/null | cut -d ' ' -f 1)
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "${dir##*/}" "$(state)" "${started:--}" \
			"$(setting user)" "$(setting kind)" "${targets:--}" "$(cat "$dir/reason" 2>/dev/null)"
	done
}

command=${1:-}
[ $# -gt 0 ] && shift
case $command in
start) cmd_start "$@" ;;
timer) cmd_timer "$@" ;;
confirm) cmd_confirm "$@" ;;
wait) cmd_wait "$@" ;;
rollback)
	open_run "$1"
	decide || die "run $1 is already decided: $(state)"
	roll_back "${2:-rolled back on request}"
	;;
boot) cmd_boot ;;
history) cmd_history ;;
*) die "usage: txn.sh start|wait|confirm|timer|rollback|boot|history RUN" ;;
esac
