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
#   sh txn.sh resume RUN     redo what a rollback that failed half-way left (rollback-failed)
#   sh txn.sh boot           from rc.local: roll back a run a reboot left unconfirmed
#   sh txn.sh history        one line per run: id state started user kind targets
#
# States (bsdprov/run.py RunState): none locked backed-up installed activating awaiting-confirm
# rolling-back; final: applied failed rolled-back rollback-failed. RUN/state holds one; none is
# what a run with no state file reads as.
#
# RUN is a run id; its directory /var/db/bsdprov/runs/RUN holds what the controller uploaded:
#   manifest   "put NAME MODE OWNER GROUP BEFORE TARGET" or "remove - - - - BEFORE TARGET";
#              BEFORE is "absent" or "CRC:SIZE" (POSIX cksum) of the target when planned
#   files/     the new contents, by NAME
#   make       commands run before any file is installed, two lines each: the command, then
#              the one that undoes it. Exit 0: it made something, and its undo line goes to
#              RUN/made before the next; 3: it found it there already (kept, never undone);
#              else the run fails. This run's rollback runs RUN/made's lines, last first (a ZFS
#              dataset a vm-bhyve guest's files go into: lib/zfs-dataset)
#   prepare    commands that create what the checks need (a VM's missing disk image); what
#              they make is kept by a rollback, and they never touch an existing path
#   checks     commands that must pass on the installed files before anything is activated
#   steps      activation commands; a leading "- " marks one that may fail
#   undo-checks, undo-steps  the same for this run's rollback, planned from the files it
#              restores; remaining  (written by a rollback that failed) the steps left to redo
#   verify     "REGEX COMMAND...": the command's output must match REGEX once activated
#   settings   confirm_timeout=SECS (0: no timer), step_timeout=SECS, user=..., kind=...
#
# Ownership: until a process creates RUN/decided (the timer, confirm, the boot hook, an explicit
# rollback, or start itself on a failure), start owns the run's state; after it, only that
# process does. A process that lost the run writes no state (set_state refuses), and a rollback
# first stops the activation still running (take_over), so files are never restored under it.
#
# Tools the run needs, besides the shell's builtins (bsdprov/facts.py RUN_TOOLS lists the same,
# so the probe names any the host lacks before a run starts): awk cat chmod chown cksum cp cut
# date dd df grep head ls mkdir mv nohup rm sed sleep sync tail tr wc; ps where it takes -p.
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

# Whether this process decided the run (created RUN/decided): only then may it write a state
# once the run is decided.
DECIDED_BY_ME=no

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

# Another process decided the run: this one no longer owns its state.
yielded() { [ "$DECIDED_BY_ME" != yes ] && [ -d "$RUN/decided" ]; }

set_state() {
	if yielded; then
		log "not recording state $1: another process decided the run"
		return 1
	fi
	if ! { printf '%s\n' "$1" >"$RUN/state.tmp" && mv -f "$RUN/state.tmp" "$RUN/state"; }; then
		rm -f "$RUN/state.tmp"
		# The reserve is kept for this: freeing it leaves room for the record of the end.
		rm -f "$RUN/reserve"
		printf '%s\n' "$1" >"$RUN/state" || UNRECORDED=$1
	fi
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

# The last line start prints on stderr when the state directory could not take its record.
UNRECORDED=

# A file system's free space in KB: df -P -k, field 4 of its second line (POSIX output format).
free_kb() { df -P -k "$1" 2>/dev/null | awk 'NR == 2 { print $4 }'; }

# The host path of $1 (a path under $R): what messages show.
shown() { printf '%s\n' "${1#"$R"}"; }

# Why a write into directory $1 failed: "no space left on DIR" when its file system is (nearly)
# full, else the command's message $2.
write_cause() {
	avail=$(free_kb "$1")
	if [ -n "$avail" ] && [ "$avail" -lt 64 ]; then
		printf 'no space left on %s (%s KB free)\n' "$(shown "$1")" "$avail"
	else
		printf '%s\n' "$2" | tail -n 1
	fi
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
	line=$1
	eval "set -- $1"
	run_argv "$@"
}

run_argv() {
	limit=$S_step_timeout
	"$@" >"$RUN/output" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$RUN/step.pid" 2>/dev/null
	# The guard also ends the command once start ($$ in the subshell too) is gone, killed on
	# its own: a step left running would go on activating under the rollback that follows.
	(
		waited=0
		while [ "$waited" -lt "${limit:-120}" ] && kill -0 "$pid" 2>/dev/null; do
			kill -0 $$ 2>/dev/null || break
			sleep 1
			waited=$((waited + 1))
		done
		kill "$pid" 2>/dev/null
	) >/dev/null 2>&1 &
	wait "$pid"
	RC=$?
	OUT=$(cat "$RUN/output")
	tick
	if yielded; then
		# The timer (or a rollback) took the run over and stopped this command: it restores the
		# files once this process is gone, so nothing more may happen here.
		log "start stopped: the run was decided while it ran ($line)"
		exit 3
	fi
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
	DECIDED_BY_ME=no
	load_settings
}

# Whether a run still has a process working on it (its start or its timer). $2 = quick: a
# live pid is enough (wait's 0.2 s poll, which ends at its deadline anyway); else the process
# must be running txn.sh, since a dead run's pid number may belong to another process by now
# (after a reboot above all), which would keep the run "alive" and its lock held for good.
alive() {
	for pid_file in "$1/pid" "$1/timer.pid"; do
		pid=$(cat "$pid_file" 2>/dev/null) || continue
		if [ "${2:-}" = quick ]; then
			kill -0 "$pid" 2>/dev/null && return 0
		else
			is_txn "$pid" && return 0
		fi
	done
	return 1
}

lock() {
	[ -d "$BASE/runs" ] || mkdir -p "$BASE/runs"
	if mkdir "$BASE/lock" 2>/dev/null; then
		take_lock
		return
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
		take_lock
		return
	fi
	who=$(sed -n 's/^user=//p' "$BASE/runs/$holder/settings" 2>/dev/null)
	REASON="another run holds the lock: $holder by ${who:-unknown}, state $held"
	return 1
}

# A lock whose holder cannot be recorded is no lock: the next run could not tell whose it is.
take_lock() {
	echo "$RUN_ID" >"$BASE/lock/run" 2>/dev/null && return 0
	rm -rf "$BASE/lock"
	REASON="cannot take the lock: $(write_cause "$BASE" "cannot write $(shown "$BASE")/lock/run")"
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
	# The run is over: its reserve makes room for this record on a full state directory.
	rm -f "$RUN/reserve"
	printf '%s\n' "$2" 2>/dev/null >"$RUN/reason" || UNRECORDED=$1
	log "$1: $2"
	set_state "$1"
	unlock
	prune
	# Said on stderr too (the controller's session shows it) when the journal could not be.
	[ -z "$UNRECORDED" ] ||
		printf 'txn: run %s %s (not recorded on the host): %s\n' "$RUN_ID" "$1" "$2" >&2
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

# The decision between confirm and rollback is taken once: whoever creates "decided" first. On a
# full state directory the run's reserve makes room for it.
decide() {
	if ! mkdir "$RUN/decided" 2>/dev/null; then
		if [ -d "$RUN/decided" ]; then
			decider_gone || return 1
			# The process that decided died before it ended the run (killed mid-rollback, a
			# reboot): the decision passes to this one, or the run would stay unfinished for good.
			rm -rf "$RUN/decided"
			log "the process that decided the run is gone; process $$ takes the run over"
		else
			rm -f "$RUN/reserve"
		fi
		mkdir "$RUN/decided" 2>/dev/null || return 1
	fi
	DECIDED_BY_ME=yes
	echo $$ >"$RUN/decided/pid" 2>/dev/null
	return 0
}

# Whether a decided run is left with no decision being carried out: not final, and none of its
# processes (the decider, start, the timer) alive but this one.
decider_gone() {
	read_state
	is_final "$STATE" && return 1
	for pid_file in "$RUN/decided/pid" "$RUN/pid" "$RUN/timer.pid"; do
		other=
		IFS= read -r other 2>/dev/null <"$pid_file" || continue
		[ -n "$other" ] && [ "$other" != "$$" ] && is_txn "$other" && return 1
	done
	return 0
}

# Whether $1 is a live process running txn.sh (a pid file outlives its process, and its number
# may be reused). ps -ww -p PID -o args= is what the BSDs' ps take (-ww: no cut at 79
# columns, FreeBSD's width when not on a terminal); where ps lacks -p (busybox), the live pid
# has to do.
is_txn() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
	args=$(ps -ww -p "$1" -o args= 2>/dev/null) || return 0
	case $args in *txn.sh*) return 0 ;; esac
	return 1
}

# start is gone, killed on its own: the guard of the command it ran ends that command within
# a second. Wait for it (3 s at most: the recorded pid may be another process's by now).
stop_orphan_step() {
	[ -f "$RUN/step.pid" ] || return 0
	step_pid=
	IFS= read -r step_pid 2>/dev/null <"$RUN/step.pid" || :
	waited=0
	while [ -n "$step_pid" ] && [ "$waited" -lt 3 ] && kill -0 "$step_pid" 2>/dev/null; do
		sleep 1
		waited=$((waited + 1))
	done
}

# After deciding to roll back: stop the activation that start may still be running, so no file
# is restored under it and it writes nothing after. Its current command is ended (as the step
# timeout would); start then sees the run decided and exits. Ten seconds later it is killed.
take_over() {
	start_pid=
	IFS= read -r start_pid 2>/dev/null <"$RUN/pid" || :
	if [ "$start_pid" = "$$" ] || ! is_txn "$start_pid"; then
		stop_orphan_step
		return 0
	fi
	log "stopping the activation still running (process $start_pid) before rolling back"
	waited=0
	while kill -0 "$start_pid" 2>/dev/null; do
		step_pid=
		IFS= read -r step_pid 2>/dev/null <"$RUN/step.pid" || :
		[ -n "$step_pid" ] && kill "$step_pid" 2>/dev/null
		[ "$waited" -ge 10 ] && kill "$start_pid" 2>/dev/null
		[ "$waited" -ge 15 ] && kill -9 "$start_pid" 2>/dev/null
		sleep 1
		waited=$((waited + 1))
	done
	tick
	log "the activation has stopped"
}

# Write through a symbolic link, never replace it: REAL is the file a path finally names
# (ls -l shows a link's contents as "NAME -> TARGET"; readlink(1) is not in POSIX). A link's
# absolute target is a host path, under $R.
resolve() {
	REAL=$1
	hops=0
	while [ -h "$REAL" ]; do
		hops=$((hops + 1))
		[ "$hops" -le 16 ] || { REASON="too many symbolic links: $(shown "$1")"; return 1; }
		link=$(ls -ld "$REAL") || return 1
		# ls prints the path as given: cut up to it, since the link's name or its target can
		# contain " -> " too.
		link=${link#*"$REAL -> "}
		case $link in
		/*) REAL=$R$link ;;
		*) REAL=${REAL%/*}/$link ;;
		esac
	done
}

# Room for the run, checked before anything is written: in the state directory the backups of
# the targets and bsdprov's tools, and in each target's file system the new file beside the old one plus room to
# restore the old one (a restore writes its copy beside the file it replaces, then renames). A
# file system holding both counts both. Sizes are in bytes; df -P -k gives free KB.
check_space() {
	needs=
	backup_bytes=0
	while read -r action name mode owner group before target; do
		if [ "$action" = remove ] && [ -h "$R$target" ]; then
			REASON="refusing to remove $target: it is a symbolic link"
			return 1
		fi
		resolve "$R$target" || return 1
		old=0
		[ -f "$REAL" ] && old=$(wc -c <"$REAL")
		new=0
		[ "$action" = put ] && new=$(wc -c <"$RUN/files/$name")
		backup_bytes=$((backup_bytes + old))
		dir=${REAL%/*}
		while [ -n "$dir" ] && [ ! -d "$dir" ]; do dir=${dir%/*}; done
		needs="$needs$(df -P -k "${dir:-/}" | awk 'NR == 2 { print $6, $4 }') $((new + old)) $(shown "${REAL%/*}")
"
	done <"$RUN/manifest"
	# The tools are copied into the state directory too; 16 KB more for the journal and state.
	tools=$(cat "$RUN/txn.sh" "$RUN"/lib/* 2>/dev/null | wc -c)
	needs="$needs$(df -P -k "$BASE" | awk 'NR == 2 { print $6, $4 }') $((backup_bytes + tools + 16384)) $(shown "$BASE")
"
	REASON=$(printf '%s' "$needs" | awk '
		NF >= 4 { need[$1] += $3; free[$1] = $2; if (!($1 in dir)) dir[$1] = $4 }
		END {
			for (fs in need) {
				kb = int((need[fs] + 1023) / 1024) + 8
				if (kb > free[fs]) {
					printf "no space left on %s: the run needs %d KB there, %d KB are free", dir[fs], kb, free[fs]
					exit
				}
			}
		}')
	[ -z "$REASON" ]
}

changed_since_plan() {
	while read -r action name mode owner group before target; do
		resolve "$R$target" || return 0
		now=$(fingerprint "$REAL")
		if [ "$now" != "$before" ]; then
			REASON="changed since plan: $target (planned $before, now $now)"
			return 0
		fi
	done <"$RUN/manifest"
	return 1
}

# Every write is checked: a backup that was not written must stop the run before any install.
back_up() {
	if ! err=$({ [ -d "$RUN/backup" ] || mkdir -p "$RUN/backup"; } 2>&1 && : 2>&1 >"$RUN/backup/index"); then
		REASON="cannot back up: $(write_cause "$BASE" "$err")"
		return 1
	fi
	n=0
	while read -r action name mode owner group before target; do
		n=$((n + 1))
		resolve "$R$target" || return 1
		if [ -e "$REAL" ]; then
			err=$({ cp -p "$REAL" "$RUN/backup/$n" && echo "present $n $target" >>"$RUN/backup/index"; } 2>&1)
		else
			err=$({ echo "absent $n $target" >>"$RUN/backup/index"; } 2>&1)
		fi || {
			REASON="cannot back up $target: $(write_cause "$BASE" "$err")"
			return 1
		}
	done <"$RUN/manifest"
	sync
}

# Recorded before the first file is installed: a reboot from then on (during the checks too)
# leaves the boot hook a run to roll back.
mark_pending() {
	err=$({ echo "$RUN_ID" >"$BASE/pending.tmp" && mv -f "$BASE/pending.tmp" "$BASE/pending" &&
		: >"$RUN/installing"; } 2>&1) && return 0
	rm -f "$BASE/pending.tmp"
	REASON="cannot record the run as pending: $(write_cause "$BASE" "$err")"
	return 1
}

# Write through a temporary file in the target's directory, then rename: never half a file. A
# symbolic link is written through (its final target is renamed onto), never replaced.
install_files() {
	while read -r action name mode owner group before target; do
		if [ "$action" = remove ]; then
			err=$(rm -f "$R$target" 2>&1) || {
				REASON="cannot remove $target: $err"
				return 1
			}
			log "removed $target"
			continue
		fi
		resolve "$R$target" || return 1
		dir=${REAL%/*} # targets are absolute paths; no dirname process
		dir=${dir:-/}
		tmp=$dir/.bsdprov.$RUN_ID.tmp
		if ! err=$({ { [ -d "$dir" ] || mkdir -p "$dir"; } && cp "$RUN/files/$name" "$tmp" &&
			chown "$owner:$group" "$tmp" && chmod "$mode" "$tmp" && mv -f "$tmp" "$REAL"; } 2>&1); then
			rm -f "$tmp"
			REASON="cannot install $target: $(write_cause "$dir" "$err")"
			return 1
		fi
		via=
		[ "$REAL" = "$R$target" ] || via=", through the link to $(shown "$REAL")"
		log "installed $target ($mode $owner:$group$via)"
	done <"$RUN/manifest"
	sync
}

# Whether copy $1 can be written over file $2 in place: the space the truncation frees plus
# the free space hold it, in KB (sizes rounded up, as df counts; a file system's block
# rounding can still make a copy that "fits" fail, see docs/deploy.md). Sets REASON when not.
fits_in_place() {
	avail=$(free_kb "${2%/*}")
	copy_kb=$((($(wc -c <"$1") + 1023) / 1024))
	file_kb=$((($(wc -c <"$2" 2>/dev/null || echo 0) + 1023) / 1024))
	[ -n "$avail" ] && [ $((avail + file_kb)) -ge "$copy_kb" ] && return 0
	REASON="no space left on $(shown "${2%/*}") (${avail:-?} KB free, the old file needs $copy_kb KB)"
	return 1
}

# Put every backup back (through links, as installed). A copy that does not fit beside the
# file is written over it in place instead, which needs no more room than the file had: not
# atomic, but the old file back beats the new one left. Temporary files never stay.
restore_files() {
	if [ ! -f "$RUN/installing" ]; then
		log "no file was installed: nothing to restore"
		return 0
	fi
	restore_failed=
	while read -r presence n target; do
		if [ "$presence" = absent ]; then
			# Through a link (one that named no file yet): the file the run created goes, the
			# admin's link stays.
			resolve "$R$target" || { restore_failed=yes; continue; }
			if ! err=$(rm -f "$REAL" 2>&1); then
				REASON="cannot remove $target: $err"
				restore_failed=yes
				continue
			fi
		else
			resolve "$R$target" || { restore_failed=yes; continue; }
			tmp=${REAL%/*}/.bsdprov.$RUN_ID.tmp
			if ! err=$({ cp -p "$RUN/backup/$n" "$tmp" && mv -f "$tmp" "$REAL"; } 2>&1); then
				rm -f "$tmp"
				log "restoring $target beside it failed ($(write_cause "${REAL%/*}" "$err")): writing it in place"
				# cp -p over an existing file rewrites it in place, mode and owner included. It
				# truncates the file first: one that would not fit then would be left half written,
				# so the new file is kept whole instead.
				if ! fits_in_place "$RUN/backup/$n" "$REAL"; then
					REASON="cannot restore $target: $REASON; the new file is left in place, whole"
					log "$REASON"
					restore_failed=yes
					continue
				fi
				if ! err=$(cp -p "$RUN/backup/$n" "$REAL" 2>&1); then
					REASON="cannot restore $target: $(write_cause "${REAL%/*}" "$err")"
					log "$REASON"
					restore_failed=yes
					continue
				fi
			fi
		fi
		log "restored $target"
	done <"$RUN/backup/index"
	sync
	[ -z "$restore_failed" ]
}

# --- commands ----------------------------------------------------------------------------------

# Run the make commands (two lines each: the command, its undo), before any file is installed.
# Each undo of a thing made is recorded in RUN/made, and synced, before the next command runs:
# a rollback then undoes exactly what this run made, never what it found.
make_all() {
	[ -f "$RUN/make" ] || return 0
	while IFS= read -r line && IFS= read -r undo; do
		run_line "$line"
		log "make (exit $RC): $line"
		log_output "$OUT"
		case $RC in
		0)
			if ! printf '%s\n' "$undo" 2>/dev/null >>"$RUN/made"; then
				# Unrecorded, it could not be undone later: undone now.
				run_line "$undo"
				log "undone at once (exit $RC), the record failed: $undo"
				REASON="cannot record what the run made: $(write_cause "$BASE" "cannot write $(shown "$RUN")/made")"
				return 1
			fi
			sync
			;;
		3) ;;
		*)
			out=$(gist "$OUT")
			REASON="make failed: $line${out:+: $out}"
			return 1
			;;
		esac
	done <"$RUN/make"
}

# What the run made, undone: RUN/made's lines, last first, each whatever the others do. One that
# fails goes to RUN/remaining (a resume runs it again; FAILED names the first). RUN/made becomes
# RUN/made.undone first, so nothing is ever undone twice.
unmake() {
	[ -s "$RUN/made" ] || return 0
	awk '{ l[NR] = $0 } END { for (i = NR; i > 0; i--) print l[i] }' "$RUN/made" >"$RUN/unmake"
	mv -f "$RUN/made" "$RUN/made.undone"
	unmade=0
	while IFS= read -r line; do
		run_line "$line"
		log "unmake (exit $RC): $line"
		log_output "$OUT"
		if [ "$RC" -ne 0 ]; then
			printf '%s\n' "$line" >>"$RUN/remaining"
			out=$(gist "$OUT")
			[ -n "${FAILED:-}" ] || FAILED="$line (exit $RC)${out:+: $out}"
			unmade=1
		fi
	done <"$RUN/unmake"
	return "$unmade"
}

# start failed before activating: the old files are back (or were never replaced); what the run
# made is undone. $1 is the reason; a make that cannot be undone leaves the run rollback-failed
# (a resume or the next run retries it), since the host is not as before.
fail_after_make() {
	rm -f "$RUN/remaining"
	FAILED=
	if unmake; then
		finish failed "$1"
	else
		finish rollback-failed "$1; undoing what the run made failed at $FAILED; $(left_to_redo)"
	fi
}

# run_checks FILE LABEL: run each line of FILE; the first failure stops.
run_checks() {
	[ -f "$1" ] || return 0
	while IFS= read -r line; do
		run_line "$line"
		log "$2 (exit $RC): $line"
		log_output "$OUT"
		if [ "$RC" -ne 0 ]; then
			out=$(gist "$OUT")
			REASON="$2 failed: $line${out:+: $out}"
			return 1
		fi
	done <"$1"
}

# run_steps strict|tolerant [FILE]: the steps of FILE (default: the run's steps). Strict
# stops at the first failure. Tolerant (a rollback) runs every step whatever fails, and writes
# each failed one to $RUN/remaining (FAILED names the first): what a resume runs again.
run_steps() {
	steps_file=${2:-$RUN/steps}
	[ -f "$steps_file" ] || return 0
	failures=0
	FAILED=
	while IFS= read -r line; do
		if [ "$1" = strict ] && [ -d "$RUN/decided" ]; then
			REASON="stopped: the timer decided while steps ran"
			return 1
		fi
		may_fail=no
		case $line in "- "*) may_fail=yes line=${line#- } ;; esac
		run_line "$line"
		log "step (exit $RC): $line"
		log_output "$OUT"
		if [ "$RC" -ne 0 ] && [ "$may_fail" = no ]; then
			failures=$((failures + 1))
			out=$(gist "$OUT")
			if [ "$1" = strict ]; then
				REASON="step failed (exit $RC): $line${out:+: $out}"
				return 1
			fi
			printf '%s\n' "$line" >>"$RUN/remaining"
			[ -n "$FAILED" ] || FAILED="$line (exit $RC)${out:+: $out}"
		fi
	done <"$steps_file"
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

install_tools() {
	err=$({
		mkdir -p "$BASE/lib" && cp "$RUN/txn.sh" "$BASE/.txn.sh.tmp" &&
			mv -f "$BASE/.txn.sh.tmp" "$BASE/txn.sh" || exit 1
		for tool in "$RUN"/lib/*; do
			[ -f "$tool" ] || continue
			cp "$tool" "$BASE/lib/.tmp" && mv -f "$BASE/lib/.tmp" "$BASE/lib/${tool##*/}" || exit 1
		done
	} 2>&1) && return 0
	rm -f "$BASE/.txn.sh.tmp" "$BASE/lib/.tmp"
	REASON="cannot install bsdprov's tools: $(write_cause "$BASE" "$err")"
	return 1
}

# The rollback's own checks and steps, planned from the files it restores (undo-checks,
# undo-steps); a run planned before they existed re-runs its own steps.
roll_back() {
	if [ ! -f "$RUN/installing" ]; then
		finish failed "$1; no file had been installed, nothing changed"
		return
	fi
	set_state rolling-back
	log "rolling back: $1"
	undo=$RUN/undo-steps
	[ -f "$undo" ] || undo=$RUN/steps
	rm -f "$RUN/remaining"
	if ! restore_files; then
		# What the run made goes last, once the files and the steps are redone.
		{ echo restore && cat "$undo" &&
			if [ -s "$RUN/made" ]; then
				awk '{ l[NR] = $0 } END { for (i = NR; i > 0; i--) print l[i] }' "$RUN/made"
			fi; } >"$RUN/remaining" 2>/dev/null
		[ -s "$RUN/made" ] && mv -f "$RUN/made" "$RUN/made.undone"
		unrestored="the old files could not be put back"
		finish rollback-failed "$1; the rollback itself failed: $unrestored; $(left_to_redo)"
		return
	fi
	# A failed check of a restored file is noted, not obeyed: those are the host's old files,
	# and nothing better can be put back.
	if [ -f "$RUN/undo-checks" ] && ! run_checks "$RUN/undo-checks" "rollback check"; then
		log "$REASON; activating the restored files all the same"
	fi
	stepped=yes
	run_steps tolerant "$undo" || stepped=no
	# Last, once the guests are stopped and the files gone: what the run made (its datasets).
	unmake || stepped=no
	if [ "$stepped" = yes ]; then
		finish rolled-back "$1"
	else
		finish rollback-failed "$1; the rollback itself failed at $FAILED; $(left_to_redo)"
	fi
}

# start fails before anything was installed: the old files are in place, and said so.
fail_unchanged() {
	finish failed "$1; nothing was changed"
	return 1
}

# What a failed rollback still has to do, for its reason.
left_to_redo() {
	printf 'left to redo: '
	awk '{ printf "%s%s", sep, ($0 == "restore" ? "restoring the files" : $0); sep = " | " }' \
		"$RUN/remaining"
	printf ' (the next deploy or rollback to this host retries them)'
}

# Finish a rollback that failed half-way: restore the files if that failed, then the steps
# that failed, in order. Prints the state and reason as wait does; exits 0 once rolled back.
cmd_resume() {
	open_run "$1"
	read_state
	if [ "$STATE" = rollback-failed ] && [ -s "$RUN/remaining" ]; then
		REASON=
		if ! lock; then
			printf 'state=rollback-failed\nreason=cannot resume: %s\n' "$REASON"
			return 1
		fi
		echo $$ >"$RUN/pid"
		# The run was decided (rolled back) long ago and its decider is gone: this process
		# carries that decision on.
		mkdir -p "$RUN/decided" && echo $$ >"$RUN/decided/pid"
		DECIDED_BY_ME=yes
		first=$(cat "$RUN/reason" 2>/dev/null)
		first=${first%%"; the rollback itself failed"*}
		mv -f "$RUN/remaining" "$RUN/resumed"
		set_state rolling-back
		log "resuming the rollback: $(wc -l <"$RUN/resumed" | tr -d ' ') left to redo"
		failed=no
		if [ "$(head -n 1 "$RUN/resumed")" = restore ]; then
			restore_files || failed=restore
		fi
		if [ "$failed" = restore ]; then
			cp "$RUN/resumed" "$RUN/remaining"
			unrestored="the old files could not be put back"
			finish rollback-failed "$first; the rollback itself failed again: $unrestored; $(left_to_redo)"
		else
			grep -v '^restore$' "$RUN/resumed" >"$RUN/resumed.steps" || :
			if run_steps tolerant "$RUN/resumed.steps"; then
				finish rolled-back "$first (the rollback was resumed and completed)"
			else
				again="the rollback itself failed again at $FAILED"
				finish rollback-failed "$first; $again; $(left_to_redo)"
			fi
		fi
	fi
	read_state
	printf 'state=%s\nreason=%s\n' "$STATE" "$(cat "$RUN/reason" 2>/dev/null)"
	echo "remaining:"
	cat "$RUN/remaining" 2>/dev/null
	[ "$STATE" != rollback-failed ]
}

cmd_start() {
	open_run "$1"
	REASON=
	# The reserve: 32 KB set aside so that, should the state directory fill up during the run,
	# its end (state, reason, journal) can still be recorded once the reserve is freed.
	if ! err=$({ echo $$ >"$RUN/pid" && dd if=/dev/zero of="$RUN/reserve" bs=1024 count=32; } 2>&1); then
		rm -f "$RUN/reserve"
		REASON=$(write_cause "$BASE" "$(printf '%s\n' "$err" | grep -v records)")
		log "start by $S_user ($S_kind)"
		fail_unchanged "cannot start: $REASON"
		return 1
	fi
	log "start by $S_user ($S_kind)"
	if ! lock; then
		finish failed "$REASON"
		return 1
	fi
	set_state locked
	changed_since_plan && { finish failed "$REASON"; return 1; }
	check_space || { fail_unchanged "$REASON"; return; }
	back_up || { fail_unchanged "$REASON"; return; }
	# The tools go first: the boot hook runs the installed txn.sh once a file is installed.
	install_tools || { fail_unchanged "$REASON"; return; }
	mark_pending || { fail_unchanged "$REASON"; return; }
	set_state backed-up
	if ! make_all; then
		fail_after_make "$REASON; nothing else was changed"
		return 1
	fi
	if ! install_files; then
		installed_reason=$REASON
		restore_files
		fail_after_make "$installed_reason; the old files are back"
		return 1
	fi
	set_state installed
	if ! run_checks "$RUN/prepare" prepare; then
		restore_files
		fail_after_make "$REASON; the old files are back, nothing was activated"
		return 1
	fi
	if ! run_checks "$RUN/checks" check; then
		restore_files
		fail_after_make "$REASON; the old files are back, nothing was activated"
		return 1
	fi
	timeout=$S_confirm_timeout
	if [ "${timeout:-0}" -gt 0 ]; then
		nohup sh "$BASE/txn.sh" timer "$RUN_ID" </dev/null >/dev/null 2>&1 &
		echo $! >"$RUN/timer.pid"
		log "timer armed: ${timeout}s"
	fi
	set_state activating || return 1
	if ! run_steps strict || ! run_verify; then
		decide && roll_back "$REASON"
		return 1
	fi
	if [ "${timeout:-0}" -gt 0 ]; then
		set_state awaiting-confirm
	else
		decide && finish applied "applied without a confirm timer"
	fi
}

# Seconds are counted in sleeps, never read from date(1): a step of the wall clock (ntpd, an
# admin's date) would fire a date-based deadline at once, or put it off by the size of the step
# (a lock-out for hours), while sleep(1) waits a span the clock's setting does not change (POSIX:
# setting CLOCK_REALTIME does not affect a relative nanosleep). POSIX sh has no monotonic clock
# to read; each round's overhead (one read, one fork) makes the deadline late by well under 1%.
cmd_timer() {
	open_run "$1"
	waited=0
	while [ "$waited" -lt "${S_confirm_timeout:-0}" ]; do
		read_state
		is_final "$STATE" && return 0
		sleep 1
		waited=$((waited + 1))
	done
	decide || return 0
	take_over
	roll_back "not confirmed within ${S_confirm_timeout}s"
}

cmd_confirm() {
	open_run "$1"
	current=$(state)
	if [ "$current" = awaiting-confirm ] && decide; then
		finish applied "confirmed over a new SSH connection"
		# The timer ends by itself within a second; this spares the wait, and only a live
		# txn.sh is signalled (a dead timer's pid may be another process's by now).
		timer_pid=$(cat "$RUN/timer.pid" 2>/dev/null)
		is_txn "$timer_pid" && kill "$timer_pid" 2>/dev/null
		current=applied
	fi
	printf 'state=%s\nreason=%s\n' "$(state)" "$(cat "$RUN/reason" 2>/dev/null)"
	[ "$current" = applied ]
}

cmd_wait() {
	open_run "$1"
	# Counted in rounds of 0.2 s, as the timer counts seconds: a clock step cannot end it early
	# or stretch it.
	rounds=$((${2:-60} * 5))
	while :; do
		read_state
		case $STATE in awaiting-confirm) break ;; esac
		is_final "$STATE" && break
		# No process works on the run (start never began, or died): no other state will come.
		alive "$RUN" quick || break
		[ "$rounds" -gt 0 ] || break
		rounds=$((rounds - 1))
		sleep 0.2
	done
	printf 'state=%s\nreason=%s\n' "$(state)" "$(cat "$RUN/reason" 2>/dev/null)"
	if alive "$RUN"; then echo alive=yes; else echo alive=no; fi
	echo "journal:"
	tail -n 40 "$RUN/journal" 2>/dev/null
}

cmd_boot() {
	pending=$(cat "$BASE/pending" 2>/dev/null) || return 0
	open_run "$pending"
	is_final "$(state)" && { rm -f "$BASE/pending"; return 0; }
	# No take_over: the restart ended every process, and a recorded pid may now be another's.
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
	take_over
	roll_back "${2:-rolled back on request}"
	# Said in the exit status too, for an admin's "txn.sh rollback RUN && ...".
	read_state
	if [ "$STATE" = rollback-failed ]; then
		printf 'txn: run %s rollback-failed: %s\n' "$1" "$(cat "$RUN/reason" 2>/dev/null)" >&2
		exit 1
	fi
	;;
resume) cmd_resume "$@" ;;
boot) cmd_boot ;;
history) cmd_history ;;
*) die "usage: txn.sh start|wait|confirm|timer|rollback|resume|boot|history RUN" ;;
esac
