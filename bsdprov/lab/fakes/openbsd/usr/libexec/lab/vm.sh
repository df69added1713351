# vm.sh: what the lab's vmd does, shared by vmd, vmctl and rcctl (sourced after lib.sh).
# shellcheck shell=sh disable=SC2016 # awk programs are single-quoted on purpose
#
# State in /var/lab/state/vm/:
#   vmd        exists while vmd runs; holds the last VM id handed out
#   switches   "ID NAME BRIDGE ENABLED GROUP LOCKED" from the loaded vm.conf
#   NAME       one file per registered VM, "key value" lines: id, state (running|stopped),
#              mem (MB), owner, enable, if "IDX TAP SWITCH LLADDR LOCKED GROUP", disk PATH,
#              conf (1: defined in the loaded vm.conf), and while running tty, pid and
#              tap "IDX TAPn"

VM=$LAB_STATE/vm

# vm_parse FILE: the parsed vm.conf records (see vmconf.awk); exit status 1 on errors.
vm_parse() (
	lab_awk -v file="$1" -v root="$LAB_ROOT" "$(cat "$LAB_LIB/vmconf.awk")"
)

vmd_running() { [ -f "$VM/vmd" ]; }

# vm_load RECORDS: register switches and VMs from parsed records. Running VMs keep their
# configuration (vmctl reload); stopped ones are dropped and registered again.
vm_load() (
	mkdir -p "$VM"
	printf '%s\n' "$1" | awk '$1 == "S" { print $2, $3, $4, $5, $6, $7 }' >"$VM/switches"
	for _f in "$VM"/*; do
		case ${_f##*/} in vmd | switches) continue ;; esac
		[ -f "$_f" ] && [ "$(lab_kv_get "$_f" state)" != running ] && rm -f "$_f"
	done
	_last=$(cat "$VM/vmd")
	for _v in $(printf '%s\n' "$1" | awk '$1 == "V" { print $2 ":" $3 }'); do
		_n=${_v#*:} _i=${_v%%:*}
		[ -f "$VM/$_n" ] && continue
		_last=$((_last + 1))
		printf '%s\n' "$1" | awk -v i="$_i" -v id="$_last" '
			$1 == "V" && $2 == i { print "id " id; print "state stopped"; print "mem " $4; print "enable " $5; print "owner " $6 }
			$1 == "D" && $2 == i { print "disk " $3 }
			$1 == "I" && $2 == i { print "if " $3, $4, $5, $6, $7, $8 }' >"$VM/$_n"
	done
	echo "$_last" >"$VM/vmd"
	# "conf 0": a running VM the new vm.conf no longer has; it goes away once stopped.
	_defined=" $(printf '%s\n' "$1" | awk '$1 == "V" { print $3 }' | tr '\n' ' ') "
	for _n in $(vm_names); do
		case $_defined in *" $_n "*) _c=1 ;; *) _c=0 ;; esac
		lab_kv_set "$VM/$_n" conf "$_c"
	done
)

# vm_switches: vmd names its bridges after the switches and brings them up; a missing bridge
# is fatal to vmd, as in the real privsep code.
vm_switches() (
	while read -r _id _name _br _en _g _lk; do
		[ "$_en" = 1 ] || continue
		if ! lab_if_exists "$_br"; then
			lab_err "vmd: bridge \"$_br\" does not exist"
			return 1
		fi
		lab_if_set "$_br" descr "switch$_id-$_name"
		lab_if_set "$_br" up 1
	done <"$VM/switches"
)

# vm_start NAME: allocate the taps (pinned tapN or the first free), describe them
# vmID-ifIDX-NAME, put them on their switch's bridge, and mark the VM running.
vm_start() (
	_vf=$VM/$1
	[ -f "$_vf" ] || { lab_err "vmctl: start vm command failed: No such file or directory"; return 1; }
	[ "$(lab_kv_get "$_vf" state)" = running ] && {
		lab_err "vmctl: start vm command failed: Operation already in progress"
		return 1
	}
	_id=$(lab_kv_get "$_vf" id)
	_taps=''
	# "if" values are "IDX TAP SWITCH LLADDR LOCKED GROUP"; MACs hold colons, so use commas.
	for _l in $(lab_kv_get "$_vf" if | tr ' ' ','); do
		_tap=$(echo "$_l" | cut -d, -f2)
		if [ "$_tap" = tap ]; then
			_u=0
			while lab_if_exists "tap$_u" || echo " $_taps " | grep -q " tap$_u "; do
				_u=$((_u + 1))
			done
			_tap=tap$_u
		elif lab_if_exists "$_tap"; then
			lab_err "vmctl: start vm command failed: Device busy"
			for _t in $_taps; do lab_if_destroy "$_t"; done
			return 1
		fi
		_taps="$_taps $_tap"
	done
	_ni=0
	for _l in $(lab_kv_get "$_vf" if | tr ' ' ','); do
		_tap=$(echo "$_taps" | awk -v n=$((_ni + 1)) '{ print $n }')
		_sw=$(echo "$_l" | cut -d, -f3)
		_g=$(echo "$_l" | cut -d, -f6)
		lab_if_new "$_tap" tap
		lab_if_set "$_tap" descr "vm$_id-if$_ni-$1"
		lab_if_set "$_tap" up 1
		[ "$_g" = - ] || lab_kv_add "$(lab_iff "$_tap")" group "$_g"
		# The switch's own `group` applies to every tap on it, besides the interface's.
		_g=$(awk -v s="$_sw" '$2 == s && $4 == 1 { print $5 }' "$VM/switches")
		[ "${_g:--}" = - ] || lab_kv_add "$(lab_iff "$_tap")" group "$_g"
		_br=$(awk -v s="$_sw" '$2 == s && $4 == 1 { print $3 }' "$VM/switches")
		[ -n "$_br" ] && lab_if_exists "$_br" && lab_kv_add "$(lab_iff "$_br")" member "$_tap"
		lab_kv_add "$_vf" tap "$_ni $_tap"
		_ni=$((_ni + 1))
	done
	_tty=0
	while grep -qx "tty ttyp$_tty" "$VM"/* 2>/dev/null; do _tty=$((_tty + 1)); done
	lab_kv_set "$_vf" state running
	lab_kv_set "$_vf" tty "ttyp$_tty"
	lab_kv_set "$_vf" pid $((47000 + _id))
	lab_err "vmctl: started vm $_id successfully, tty /dev/ttyp$_tty"
)

# vm_stop NAME: the VM's taps disappear with it (and leave their bridges).
vm_stop() (
	_vf=$VM/$1
	for _t in $(lab_kv_get "$_vf" tap | awk '{ print $2 }'); do lab_if_destroy "$_t"; done
	lab_kv_del "$_vf" tap
	lab_kv_del "$_vf" tty
	lab_kv_del "$_vf" pid
	lab_kv_set "$_vf" state stopped
)

# vm_names: registered VMs in id order.
vm_names() (
	for _f in "$VM"/*; do
		case ${_f##*/} in vmd | switches) continue ;; esac
		[ -f "$_f" ] && echo "$(lab_kv_get "$_f" id) ${_f##*/}"
	done | sort -n | awk '{ print $2 }'
)

# vmd_start: parse /etc/vm.conf, set up the switches, start the enabled VMs.
vmd_start() (
	_recs=$(vm_parse /etc/vm.conf) || {
		printf '%s\n' "$_recs" | sed -n 's/^E	//p' >&2
		return 1
	}
	mkdir -p "$VM"
	rm -f "$VM"/*
	echo 0 >"$VM/vmd"
	vm_load "$_recs"
	vm_switches || {
		rm -f "$VM"/*
		return 1
	}
	for _n in $(vm_names); do
		[ "$(lab_kv_get "$VM/$_n" enable)" = 1 ] && vm_start "$_n" 2>/dev/null
	done
	return 0
)

vmd_stop() (
	for _n in $(vm_names); do
		[ "$(lab_kv_get "$VM/$_n" state)" = running ] && vm_stop "$_n"
	done
	rm -f "$VM"/*
)

# vmd_reload: re-read vm.conf; running VMs stay as they are, the others are registered anew
# (new ids) and start unless disabled.
vmd_reload() (
	_recs=$(vm_parse /etc/vm.conf) || {
		printf '%s\n' "$_recs" | sed -n 's/^E	//p' >&2
		return 1
	}
	_before=$(for _n in $(vm_names); do [ "$(lab_kv_get "$VM/$_n" state)" = running ] && echo "$_n"; done)
	vm_load "$_recs"
	vm_switches || return 1
	for _n in $(vm_names); do
		case " $(echo "$_before" | tr '\n' ' ') " in *" $_n "*) continue ;; esac
		[ "$(lab_kv_get "$VM/$_n" enable)" = 1 ] && vm_start "$_n" 2>/dev/null
	done
	return 0
)
