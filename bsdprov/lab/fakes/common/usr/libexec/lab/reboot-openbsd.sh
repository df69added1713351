# reboot-openbsd.sh: OpenBSD's /etc/rc (7.6), the parts that make the state the lab simulates, in
# its order. Sourced by /usr/libexec/lab/reboot after lib.sh; defines lab_boot.
# shellcheck shell=sh disable=SC2016 # awk programs are single-quoted on purpose
#
# Left out: fsck and mounts, random seeds, library relinking, savecore, /tmp and /var/run
# clean-up, pkg_scripts, carp demotion, and daemons the lab has no rc.conf line for.

# stripcom FILE: rc's stripcom: lines without comments, blank ones dropped (read trims).
stripcom() {
	[ -s "$LAB_ROOT$1" ] || return 0
	# shellcheck disable=SC2162 # rc reads without -r
	while read _sc_line; do
		_sc_line=${_sc_line%%#*}
		[ -n "$_sc_line" ] && printf '%s\n' "$_sc_line"
	done <"$LAB_ROOT$1"
}

# rcvar NAME: NAME as rc.subr's _rc_parse_conf reads /etc/rc.conf then /etc/rc.conf.local:
# "name=value" lines, comments and blanks around the value dropped, one level of quotes
# removed, the last assignment wins. Prints nothing when NAME is not set.
rcvar() {
	for _rv_f in /etc/rc.conf /etc/rc.conf.local; do
		[ -f "$LAB_ROOT$_rv_f" ] && cat "$LAB_ROOT$_rv_f"
	done | awk -v k="$1" '
	{ l = $0; sub(/^[ \t]+/, "", l) }
	l ~ /^[^#=]+=/ {
		key = l; sub(/[ \t]*=.*/, "", key)
		if (key != k) next
		v = l; sub(/^[^=]*=[ \t]*/, "", v); sub(/#.*/, "", v); sub(/[ \t]+$/, "", v)
		if (v ~ /^".*"$/ || v ~ /^\047.*\047$/) v = substr(v, 2, length(v) - 2)
		val = v; found = 1
	}
	END { if (found) print val }'
}

# start_daemon NAME...: rc's start_daemon, for the daemons rcctl says are on.
start_daemon() {
	for _sd_d; do
		case " $BOOT_ON " in *" $_sd_d "*) rcctl start "$_sd_d" ;; esac
	done
}

# sysctl_conf: rc's sysctl_conf: every word of the stripped /etc/sysctl.conf is one sysctl.
sysctl_conf() {
	set -f
	# shellcheck disable=SC2046 # split into words, as rc's `set -- $(stripcom ...)`
	set -- $(stripcom /etc/sysctl.conf)
	set +f
	for _sy_a; do sysctl "$_sy_a"; done
}

# The initial ruleset rc loads before the network is up. The lab's pfctl does not know the
# port names dhcpv6-client/dhcpv6-server nor `!received-on`, so the three rules using them
# are left out; what stays blocks as the real one does.
TEMP_PF_RULES='block all
pass on lo0
pass in proto tcp from any to any port ssh keep state
pass out proto { tcp, udp } from any to any port domain keep state
pass out inet proto icmp all icmp-type echoreq keep state
pass out inet proto udp from any port bootpc to any port bootps
pass in inet proto udp from any port bootps to any port bootpc
pass out inet6 proto icmp6 all icmp6-type neighbrsol
pass in inet6 proto icmp6 all icmp6-type neighbradv
pass out inet6 proto icmp6 all icmp6-type routersol
pass in inet6 proto icmp6 all icmp6-type routeradv
pass in proto carp keep state (no-sync)'

lab_boot() {
	if [ -f "$LAB_ROOT/etc/myname" ]; then
		hostname "$(stripcom /etc/myname)"
	fi
	BOOT_ON=$(rcctl ls on | tr '\n' ' ')
	pf=$(rcvar pf)
	if [ "$pf" != NO ]; then
		printf '%s\n' "$TEMP_PF_RULES" | pfctl -f -
		pfctl -e
	fi
	sysctl_conf
	start_daemon slaacd dhcpleased resolvd >/dev/null 2>&1
	echo 'starting network'
	sh "$LAB_ROOT/etc/netstart"
	start_daemon unwind >/dev/null 2>&1
	if [ "$pf" != NO ] && [ -f "$LAB_ROOT/etc/pf.conf" ]; then
		pfctl -f /etc/pf.conf
	fi
	echo 'starting early daemons:'
	start_daemon syslogd ldattach pflogd nsd unbound ntpd
	start_daemon iscsid isakmpd iked sasyncd ldapd npppd
	echo 'starting network daemons:'
	start_daemon ldomd sshd switchd snmpd ldpd ripd ospfd ospf6d bgpd ifstated
	start_daemon relayd dhcpd dhcrelay mrouted dvmrpd radiusd eigrpd route6d
	start_daemon rad hostapd lpd smtpd slowcgi httpd ftpd
	start_daemon ftpproxy ftpproxy6 tftpd tftpproxy identd inetd rarpd bootparamd
	start_daemon rbootd mopd vmd spamd spamlogd sndiod
	[ -f "$LAB_ROOT/etc/rc.local" ] && run_file /etc/rc.local sh
	echo 'starting local daemons:'
	start_daemon apmd sensorsd hotplugd watchdogd cron wsmoused xenodm
}
