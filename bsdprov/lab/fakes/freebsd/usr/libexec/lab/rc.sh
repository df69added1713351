# rc.sh: the parts of FreeBSD's rc.subr/network.subr the lab's rc.d scripts need (sourced
# after lib.sh). rc.conf files are sh fragments and are sourced, as rc does.
# shellcheck shell=sh

# load_rc_config NAME: defaults, then rc_conf_files, then /etc/rc.conf.d/NAME (file or dir);
# later files win.
load_rc_config() {
	# shellcheck source=/dev/null
	. "$LAB_ROOT/etc/defaults/rc.conf"
	for _rcf in ${rc_conf_files:-/etc/rc.conf /etc/rc.conf.local}; do
		# shellcheck source=/dev/null
		[ -r "$LAB_ROOT$_rcf" ] && . "$LAB_ROOT$_rcf"
	done
	for _rcd in /etc /usr/local/etc; do
		_rcf=$LAB_ROOT$_rcd/rc.conf.d/$1
		if [ -f "$_rcf" ]; then
			# shellcheck source=/dev/null
			. "$_rcf"
		elif [ -d "$_rcf" ]; then
			for _rcx in "$_rcf"/*; do
				# shellcheck source=/dev/null
				[ -f "$_rcx" ] && . "$_rcx"
			done
		fi
	done
}

# ltr: interface names map . - / + to _ in variable names (em0.10 -> ifconfig_em0_10).
ifvar() { echo "$1" | tr '.\-/+' '____'; }

# getvar NAME: the value of the variable NAME (empty when unset).
getvar() { eval "printf '%s' \"\${$1:-}\""; }
isset() { eval "[ -n \"\${$1+x}\" ]"; }

checkyesno() {
	case $(getvar "$1") in
	[Yy][Ee][Ss] | [Tt][Rr][Uu][Ee] | [Oo][Nn] | 1) return 0 ;;
	*) return 1 ;;
	esac
}

# alias_numbers IF: the N of every ifconfig_IF_aliasN that is set, in numeric order.
alias_numbers() {
	set | sed -n "s/^ifconfig_$(ifvar "$1")_alias\\([0-9][0-9]*\\)=.*/\\1/p" | sort -n
}
