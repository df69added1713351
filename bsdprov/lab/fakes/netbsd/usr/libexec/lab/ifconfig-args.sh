# ifconfig-args.sh (netbsd): ifconfig(8)'s argument grammar on netbsd, sourced by the common fake.
# ifconfig_args ARGS...: lab_die with the real tool's message on what netbsd's ifconfig refuses.
# Each rule names the source function or man page it follows.
# shellcheck shell=sh
ifconfig_args() {
	[ $# -ge 2 ] || return 0
	_ia_if=$1
	shift
	case $1 in -*) ;; create | destroy) return 0 ;; esac
	_ia_rel=$(cat "$LAB/release" 2>/dev/null)
	_ia_n=0 _ia_vlan=''
	for _ia_a; do
		_ia_n=$((_ia_n + 1))
		case $_ia_a in
		# ifconfig(8) SYNOPSIS: "interface [address_family] [address [dest_address]]
		# [parameters]": the family is the first word after the interface, or none.
		inet | inet6 | link | atalk | iso)
			[ "$_ia_n" = 1 ] || lab_die "ifconfig: $_ia_a: bad value"
			;;
		# Words of OpenBSD's or FreeBSD's ifconfig that NetBSD's has not (ifconfig(8)):
		# the MAC is `link ADDR active` (af_link.c), a vlan is `vlan N vlanif P` (vlan.c),
		# bridges are brconfig(8)'s, a tunnel is removed with `deletetunnel` (tunnel.c), and
		# there is no `-inet`/`-inet6` to drop every address of a family.
		lladdr | ether | -inet | -inet6 | autoconf | -autoconf | vnetid | -vnetid | parent | \
			-parent | vlandev | -vlandev | vlanpcp | vlanproto | group | -group | llprio | \
			rdomain | txprio | rxprio | add | del | addm | deletem | learn | -learn | discover | \
			-discover | stp | -stp | edge | -edge | protected | -protected | span | -span | \
			blocknonip | -blocknonip | ifcost | ifpriority | maxaddr | timeout | -tunnel | \
			join | wpakey | fib | tunnelfib | txcsum | -txcsum | rxcsum | -rxcsum | tso | -tso | \
			lro | -lro | vlanhwtag | -vlanhwtag | staticarp | -staticarp | monitor | -monitor | \
			ifdisabled | -ifdisabled | auto_linklocal | -auto_linklocal)
			lab_die "ifconfig: $_ia_a: bad value"
			;;
		# `description` came with NetBSD 10 (docs/os/netbsd.md: [U] before the man page of 10).
		description | descr | -description | -descr)
			case $_ia_rel in [1-9].*) lab_die "ifconfig: $_ia_a: bad value" ;; esac
			;;
		# vlan.c getvlan(): "valid only with vlan(4) interfaces".
		vlan | vlanif | -vlanif)
			case $_ia_if in vlan[0-9]*) ;; *) lab_die "ifconfig: valid only with vlan(4) interfaces" ;; esac
			[ "$_ia_a" = vlanif ] && _ia_vlan=1
			;;
		esac
	done
	# vlan_config (sys/net/if_vlan.c) refuses a second parent with EBUSY; setvlanif in
	# vlan.c: err(EXIT_FAILURE, "SIOCSETVLAN").
	if [ -n "$_ia_vlan" ] && [ -n "$(lab_if_get "$_ia_if" parent)" ]; then
		lab_die "ifconfig: SIOCSETVLAN: Device busy"
	fi
	return 0
}
