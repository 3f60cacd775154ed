#!/usr/bin/env bash
# shellcheck disable=SC2317 # cleanup functions are reached through the EXIT trap
# End-to-end suite for smtp_exporter: real Postfix, firewalled ports in a
# network namespace, the built exporter binary (twice: two vantage points), a
# real Prometheus with the shipped alert rules, a real Alertmanager and a
# headless Chromium.
#
# Usage:  e2e/run.sh [extra go test args, e.g. -run TestStartTLS]
#
# Environment:
#   CI=true              missing tools are a failure, never a skip
#   E2E_SUBMISSION=0     skip the issue-4 part (submission prober, AUTH,
#                        auth enforcement: e2e/submission_test.go, build tag
#                        e2e_submission), which runs by default
#   E2E_KEEP_TMP=1       keep the temp dir (logs, configs) after the run, with
#                        the browser screenshots (landing.png, probe-result.png,
#                        probe-log.png), dashboard-queries.txt (every dashboard
#                        query and its result count) and alert-timing.txt
#   E2E_CMD='...'        run this shell command instead of `go test` (with the
#                        same E2E_* environment), e.g. E2E_CMD=bash for a shell
#   E2E_NO_EXPORTER=1    do not build/start the exporter (harness development)
#   E2E_SOAK_SECONDS=120 the soak after the main tests (e2e/soak.sh): healthy
#                        servers behind a delay-injecting proxy and 2 % packet
#                        loss, the shipped rules verbatim; 0 skips it (the
#                        default when extra go test args are given)
#   E2E_SOAK_LOSS=server the soak's loss on the packets the server side sends;
#                        `both` also on the exporter's (see e2e/soak.sh)
#
# What it sets up (addresses are exported to the tests as E2E_*):
#   Postfix "pf-lo", a private instance (postfix -c TMP/pf-lo/etc) on loopback:
#     127.0.0.10:25    smtpd, STARTTLS offered (may), no AUTH
#     127.0.0.10:587   submission: STARTTLS required, Cyrus sasldb AUTH only after
#                      TLS, relay only when authenticated
#     127.0.0.10:465   implicit TLS (wrappermode), AUTH
#     127.0.0.10:2525  like 587
#     127.0.0.11:587   deliberately broken: open relay for loopback clients and
#                      AUTH offered before STARTTLS (issue 4's negative cases)
#     127.0.0.12:25    refuses every client: 554 greeting
#     [::1]:25         like 127.0.0.10:25 (when the machine has ::1)
#   A port already taken on this machine is replaced by a free one.
#   Network namespace smtpe2e<PID>, veth pair, 198.18.N.0/24, no default route,
#   Postfix "pf-ns" inside it (listeners behind every firewall rule):
#     198.18.N.2  25, 465 open; 587 DROP; 2525 REJECT --reject-with tcp-reset
#     198.18.N.3  2525 open; 587 and 465 DROP
#     198.18.N.4  nothing listens (RST)
#     198.18.N.5  587, 465, 2525 open, but 587 DROPped for vantage B's address
#   A second namespace smtpe2e<PID>b ("vantage B", 198.18.M.2, another /24),
#   linked to the first by a veth pair, the first namespace routing between it
#   and this host; a second exporter runs in it.
#   Nothing is ever delivered: every transport is "error", DATA is refused.
#   Exim 4 on 127.0.0.20 (25/587/465) and Dovecot submission on 127.0.0.21
#   (587/465, relaying to that Exim), from private configs: e2e/mtas.sh.
#   A test CA and a leaf for mail.e2e.test; the exporter built from this tree
#   with a suite config (vantage A, on 127.0.0.1) and the same binary in
#   vantage B's namespace; Prometheus composed from examples/prometheus-
#   vantages.yml and examples/prometheus.yml (addresses substituted) loading
#   dashboards/smtp_exporter.rules.yml with for:, ranges and offsets shortened; Alertmanager with
#   examples/alertmanager.yml, its webhooks pointed at a receiver the Go tests
#   run; headless Chromium with a DevTools port, all on 127.0.0.1 at free
#   ports.
#
# Traffic goes only to 127.0.0.0/8, ::1 and the namespace addresses created
# here. Everything started here is stopped by PID on exit, also on failure.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin:/usr/local/go/bin"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CI="${CI:-false}"
E2E_SUBMISSION="${E2E_SUBMISSION:-1}"
START_TIME=$(date +%s)

log() { printf 'e2e: %s\n' "$*" >&2; }
die() { printf 'e2e: FATAL: %s\n' "$*" >&2; exit 1; }
# A missing prerequisite: hard failure under CI, a visible skip otherwise.
skip_or_die() {
	if [[ "$CI" == "true" ]]; then die "$* (CI=true: a missing tool is a failure)"; fi
	printf 'e2e: SKIPPED: %s\n' "$*" >&2
	exit 0
}

[[ $(id -u) -eq 0 ]] || skip_or_die "must run as root (network namespaces, iptables, Postfix)"

# ---------------------------------------------------------------- install ---
# command -> Debian package
declare -A NEED=(
	[postfix]=postfix
	[saslpasswd2]=sasl2-bin
	[prometheus]=prometheus
	[promtool]=prometheus
	[iptables]=iptables
	[ip]=iproute2
	[ss]=iproute2
	[openssl]=openssl
	[curl]=curl
	[prometheus-alertmanager]=prometheus-alertmanager
	[amtool]=prometheus-alertmanager
	[chromium]=chromium
	[python3]=python3
)
SASL_PLUGIN_DIRS=(/usr/lib/x86_64-linux-gnu/sasl2 /usr/lib/aarch64-linux-gnu/sasl2 /usr/lib/sasl2)

have_sasl_plugins() {
	local d
	for d in "${SASL_PLUGIN_DIRS[@]}"; do
		[[ -e "$d/libplain.so.2" && -e "$d/libsasldb.so.2" ]] && return 0
	done
	return 1
}

missing_packages() {
	local cmd pkgs=()
	for cmd in "${!NEED[@]}"; do
		command -v "$cmd" >/dev/null 2>&1 || [[ -x "/usr/sbin/$cmd" ]] || pkgs+=("${NEED[$cmd]}")
	done
	have_sasl_plugins || pkgs+=(libsasl2-modules libsasl2-modules-db)
	((${#pkgs[@]})) && printf '%s\n' "${pkgs[@]}" | sort -u
	return 0
}

install_missing() {
	local pkgs
	mapfile -t pkgs < <(missing_packages)
	((${#pkgs[@]})) || return 0
	log "installing: ${pkgs[*]}"
	command -v apt-get >/dev/null || skip_or_die "missing packages (${pkgs[*]}) and no apt-get"
	# Keep the packages' maintainer scripts from starting a system Postfix
	# (port 25), a system Prometheus (port 9090) or Alertmanager (9093, and
	# 9094 for its cluster gossip). A policy-rc.d that is
	# already there is left alone.
	local created_policy=0
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\n# temporary, from smtp_exporter e2e/run.sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		created_policy=1
	fi
	# Postfix: no system mail configuration.
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
	local rc=0
	{
		DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
				-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${pkgs[@]}"
	} >"${TMPDIR:-/tmp}/smtp_exporter-e2e-apt.log" 2>&1 || rc=$?
	if ((created_policy)); then rm -f /usr/sbin/policy-rc.d; fi
	if ((rc)); then
		tail -n 30 "${TMPDIR:-/tmp}/smtp_exporter-e2e-apt.log" >&2 || true
		skip_or_die "apt-get install ${pkgs[*]} failed (rc=$rc)"
	fi
	mapfile -t pkgs < <(missing_packages)
	((${#pkgs[@]} == 0)) || skip_or_die "still missing after install: ${pkgs[*]}"
}

install_missing
# shellcheck source=e2e/mtas.sh
source "$REPO_ROOT/e2e/mtas.sh"
mtas_install
command -v go >/dev/null || skip_or_die "go toolchain not found"

# ------------------------------------------------------------- teardown ---
T=""
NS=""
EXPORTER_PID=""
EXPORTER_B_PID=""
PROM_PID=""
AM_PID=""
CHROME_PID=""
GOTEST_PID=""
VB=""
PF_INSTANCES=() # "dir" or "dir@netns"

wait_gone() { # pid, tenths of a second
	local pid=$1 n=$2 i
	for ((i = 0; i < n; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

stop_pid() {
	local pid=$1
	[[ -n "$pid" ]] || return 0
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	wait_gone "$pid" 50 || { kill -KILL "$pid" 2>/dev/null || true; wait_gone "$pid" 20 || true; }
	wait "$pid" 2>/dev/null || true
}

# A process started with setsid (its own process group): the group, so that
# Chromium's zygote and renderers go with it.
stop_group() {
	local pid=$1
	[[ -n "$pid" ]] || return 0
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	wait_gone "$pid" 50 || kill -KILL -- "-$pid" 2>/dev/null || true
	wait_gone "$pid" 20 || true
	kill -KILL -- "-$pid" 2>/dev/null || true # stragglers of the group
	wait "$pid" 2>/dev/null || true
}

stop_postfix() {
	local spec=$1 dir ns="" pid=""
	dir=${spec%@*}
	[[ "$spec" == *@* ]] && ns=${spec#*@}
	[[ -f "$dir/queue/pid/master.pid" ]] && pid=$(tr -dc '0-9' <"$dir/queue/pid/master.pid")
	if [[ -n "$ns" ]] && ip netns list 2>/dev/null | grep -qw "$ns"; then
		ip netns exec "$ns" postfix -c "$dir/etc" stop >/dev/null 2>&1 || true
	else
		postfix -c "$dir/etc" stop >/dev/null 2>&1 || true
	fi
	if [[ -n "$pid" ]] && ! wait_gone "$pid" 50; then
		# Only the master whose PID our own instance wrote.
		kill -KILL "$pid" 2>/dev/null || true
	fi
}

show_logs() {
	local f
	for f in "$T"/exporter.log "$T"/exporter-b.log "$T"/prometheus.log "$T"/alertmanager.log "$T"/soak-*.log "$T"/pf-*/maillog \
		"$T"/mtas/exim/log/mainlog "$T"/mtas/dovecot/dovecot.log; do
		[[ -s "$f" ]] || continue
		printf '\n----- last lines of %s -----\n' "$f" >&2
		tail -n 40 "$f" >&2 || true
	done
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	if [[ -n "$GOTEST_PID" ]] && kill -0 "$GOTEST_PID" 2>/dev/null; then
		kill -TERM -- "-$GOTEST_PID" 2>/dev/null
		wait_gone "$GOTEST_PID" 50 || kill -KILL -- "-$GOTEST_PID" 2>/dev/null
	fi
	if ((rc != 0)) && [[ -n "$T" ]]; then show_logs; fi
	stop_group "$CHROME_PID"
	stop_pid "$PROM_PID"
	stop_pid "$AM_PID"
	stop_pid "$EXPORTER_B_PID"
	stop_pid "$EXPORTER_PID"
	if declare -F soak_cleanup >/dev/null; then soak_cleanup; fi
	local p
	for p in "${PF_INSTANCES[@]}"; do stop_postfix "$p"; done
	mtas_stop
	if [[ -n "$VB" ]]; then ip netns del "$VB" 2>/dev/null; fi
	if [[ -n "$NS" ]]; then ip netns del "$NS" 2>/dev/null; fi
	if [[ -n "$T" && -d "$T" ]]; then
		if [[ "${E2E_KEEP_TMP:-0}" == 1 ]]; then
			log "kept $T"
		else
			rm -rf "$T"
		fi
	fi
	log "finished in $(($(date +%s) - START_TIME))s, exit $rc"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

T=$(mktemp -d /tmp/smtp_exporter-e2e.XXXXXX)
# Postfix's unprivileged daemons (user postfix) read files under here.
chmod 755 "$T"
log "temp dir $T"

# --------------------------------------------------------------- helpers ---
port_in_use() { ss -Hltn "( sport = :$1 )" 2>/dev/null | grep -q .; }

free_port() {
	local i p
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + RANDOM % 30000))
		port_in_use "$p" || { echo "$p"; return 0; }
	done
	die "no free port found"
}

# The standard port if nothing listens on it anywhere (a system MTA on *:25
# would make 127.0.0.10:25 unbindable), otherwise a free one not handed out
# before. Sets PORT (not echoed: the list of ports handed out must persist).
TAKEN=" "
pick_port() { # [standard port]
	local p="${1:-}"
	if [[ -z "$p" ]] || port_in_use "$p"; then
		p=$(free_port)
		while [[ "$TAKEN" == *" $p "* ]]; do p=$(free_port); done
	fi
	TAKEN+="$p "
	PORT=$p
}

# Bounded poll: wait_for DESCRIPTION SECONDS CMD...  (CMD itself must be bounded)
wait_for() {
	local what=$1 deadline=$(($(date +%s) + $2)) i
	shift 2
	for ((i = 0; i < 1000; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		(($(date +%s) < deadline)) || break
		sleep 0.1
	done
	die "timed out waiting for $what"
}

tcp_open() { # host port [netns]
	if [[ -n "${3:-}" ]]; then
		ip netns exec "$3" bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
	else
		bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
	fi
}

# SMTP greeting seen (not just a TCP accept): host port [netns]
smtp_greets() {
	local cmd="exec 3<>/dev/tcp/$1/$2; IFS= read -r -t 2 line <&3; printf 'QUIT\r\n' >&3; [[ \$line == 220* ]]"
	if [[ -n "${3:-}" ]]; then ip netns exec "$3" timeout 5 bash -c "$cmd"; else timeout 5 bash -c "$cmd"; fi
}

tls_greets() { # host port [netns]
	local cmd="echo QUIT | timeout 5 openssl s_client -quiet -connect '$1:$2' -CAfile '$PKI/ca.pem' 2>/dev/null | grep -q '^220 '"
	if [[ -n "${3:-}" ]]; then ip netns exec "$3" bash -c "$cmd"; else bash -c "$cmd"; fi
}

# ------------------------------------------------------------------- PKI ---
PKI="$T/pki"
mkdir -p "$PKI"
CERT_SERIAL=1e2e0587
gen_pki() {
	local o="$PKI"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 3650 \
		-keyout "$o/ca.key" -out "$o/ca.pem" -subj "/O=smtp_exporter e2e/CN=smtp_exporter e2e test CA" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
		-keyout "$o/server.key" -out "$o/server.csr" -subj "/O=smtp_exporter e2e/CN=mail.e2e.test" 2>/dev/null
	cat >"$o/server.ext" <<-EOF
		basicConstraints=critical,CA:FALSE
		keyUsage=critical,digitalSignature
		extendedKeyUsage=serverAuth
		subjectAltName=DNS:mail.e2e.test,DNS:localhost,IP:127.0.0.10,IP:127.0.0.11,IP:::1,IP:$NS_A,IP:$NS_B
	EOF
	# 47 days: the leaf expires long before the CA, so it is the earliest expiry.
	openssl x509 -req -in "$o/server.csr" -CA "$o/ca.pem" -CAkey "$o/ca.key" -set_serial "0x$CERT_SERIAL" \
		-days 47 -sha256 -extfile "$o/server.ext" -out "$o/server.pem" 2>/dev/null
	openssl verify -CAfile "$o/ca.pem" "$o/server.pem" >/dev/null || die "generated certificate does not verify"
	chmod 600 "$o"/*.key
}

# ------------------------------------------------------------- netns addr ---
# A /24 in 198.18.0.0/15 (RFC 2544 benchmarking range) not used on this host.
pick_subnet() {
	local n
	for ((n = 0; n < 250; n++)); do
		ip -4 addr show 2>/dev/null | grep -q "inet 198\.18\.$n\." && continue
		ip -4 route show 2>/dev/null | grep -q "^198\.18\.$n\." && continue
		echo "198.18.$n"
		return 0
	done
	die "no free 198.18.x.0/24 subnet"
}
SUBNET=$(pick_subnet)
NS_HOST="$SUBNET.1" # host end of the veth pair
NS_A="$SUBNET.2"    # 25, 465 open; 587 DROPped; 2525 REJECTed (tcp-reset)
NS_B="$SUBNET.3"    # 2525 open; 587 and 465 DROPped
NS_C="$SUBNET.4"    # nothing listens: every port refused (RST)
NS_D="$SUBNET.5"    # 587, 465, 2525 open, but 587 DROPped for vantage B only
NS_GW="$SUBNET.254" # the namespace as a router towards vantage B's network

gen_pki
CERT_NOT_AFTER=$(date -u -d "$(openssl x509 -noout -enddate -in "$PKI/server.pem" | cut -d= -f2)" +%s)
CERT_FINGERPRINT=$(openssl x509 -noout -fingerprint -sha256 -in "$PKI/server.pem" | cut -d= -f2 | tr -d ':' | tr 'A-F' 'a-f')
log "certificate notAfter=$CERT_NOT_AFTER serial=$CERT_SERIAL"

# ------------------------------------------------------------- SASL user ---
SASL_DOMAIN=e2e.test
SASL_USER=probe
E2E_USER="$SASL_USER@$SASL_DOMAIN"
E2E_PASSWORD="e2e-$(openssl rand -hex 12)"
printf '%s' "$E2E_PASSWORD" >"$T/password"
printf '%s' "wrong-$(openssl rand -hex 8)" >"$T/password.wrong"
chmod 600 "$T/password" "$T/password.wrong"
SASLDB="$T/sasldb2"
printf '%s' "$E2E_PASSWORD" | saslpasswd2 -p -c -f "$SASLDB" -u "$SASL_DOMAIN" "$SASL_USER"
chown postfix:postfix "$SASLDB"
chmod 640 "$SASLDB"

# ---------------------------------------------------------------- Postfix ---
MESSAGE_SIZE_LIMIT=12345678

# write_postfix DIR LISTENER_LINES...
# Each listener: "KIND ADDR:PORT" with KIND one of smtp | submission | smtps | openrelay.
# Layout: DIR/etc (config directory, given to postfix -c), DIR/queue, DIR/data,
# DIR/maillog.
write_postfix() {
	local d=$1 c=$1/etc l kind addr
	shift
	mkdir -p "$c/sasl" "$d/queue" "$d/data"
	chown postfix:postfix "$d/data"
	cat >"$c/sasl/smtpd.conf" <<-EOF
		pwcheck_method: auxprop
		auxprop_plugin: sasldb
		sasldb_path: $SASLDB
		mech_list: PLAIN LOGIN CRAM-MD5
	EOF
	cat >"$c/main.cf" <<-EOF
		# Private Postfix instance for the smtp_exporter e2e suite. Nothing is
		# ever delivered: every transport is "error" and DATA is refused.
		compatibility_level = 3.6
		queue_directory = $d/queue
		data_directory = $d/data
		mail_owner = postfix
		setgid_group = postdrop
		myhostname = mail.e2e.test
		mydomain = e2e.test
		myorigin = \$myhostname
		mydestination =
		relay_domains =
		mynetworks =
		inet_interfaces = loopback-only
		inet_protocols = all
		maillog_file = $d/maillog
		maillog_file_prefixes = $d
		alias_maps =
		alias_database =
		local_recipient_maps =
		biff = no
		# No DNS: the suite sends traffic only to loopback and the namespace.
		smtpd_peername_lookup = no
		smtpd_banner = \$myhostname ESMTP Postfix (e2e)
		message_size_limit = $MESSAGE_SIZE_LIMIT
		default_transport = error:5.7.1 e2e: delivery disabled
		relay_transport = error:5.7.1 e2e: delivery disabled
		local_transport = error:5.7.1 e2e: delivery disabled
		virtual_transport = error:5.7.1 e2e: delivery disabled
		smtpd_data_restrictions = reject
		smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
		smtpd_tls_chain_files = $PKI/server.key, $PKI/server.pem
		smtpd_tls_security_level = may
		smtpd_tls_loglevel = 1
		smtpd_sasl_auth_enable = no
		smtpd_sasl_type = cyrus
		smtpd_sasl_path = smtpd
		cyrus_sasl_config_path = $c/sasl
		smtpd_sasl_local_domain = $SASL_DOMAIN
		smtpd_sasl_security_options = noanonymous
		smtpd_client_connection_rate_limit = 0
		smtpd_client_connection_count_limit = 0
		anvil_rate_time_unit = 60s
		smtpd_error_sleep_time = 0
		smtpd_soft_error_limit = 1000
		smtpd_hard_error_limit = 1000
	EOF
	{
		echo "# service type  private unpriv  chroot  wakeup  maxproc command + args"
		for l in "$@"; do
			kind=${l%% *}
			addr=${l#* }
			case $kind in
			smtp)
				printf '%s inet n - n - - smtpd\n  -o syslog_name=postfix/smtp-%s\n  -o smtpd_tls_security_level=may\n  -o smtpd_sasl_auth_enable=no\n' \
					"$addr" "${addr##*:}"
				;;
			submission)
				printf '%s inet n - n - - smtpd\n  -o syslog_name=postfix/submission-%s\n  -o smtpd_tls_security_level=encrypt\n  -o smtpd_sasl_auth_enable=yes\n  -o smtpd_tls_auth_only=yes\n  -o smtpd_reject_unlisted_recipient=no\n  -o smtpd_recipient_restrictions=\n  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n' \
					"$addr" "${addr##*:}"
				;;
			smtps)
				printf '%s inet n - n - - smtpd\n  -o syslog_name=postfix/smtps-%s\n  -o smtpd_tls_wrappermode=yes\n  -o smtpd_sasl_auth_enable=yes\n  -o smtpd_reject_unlisted_recipient=no\n  -o smtpd_recipient_restrictions=\n  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n' \
					"$addr" "${addr##*:}"
				;;
			openrelay)
				# Deliberately broken submission port (issue 4): an open relay
				# for loopback clients, the classic "mynetworks too wide" mistake
				# (MAIL and RCPT accepted without AUTH -> auth_not_enforced) that
				# also offers AUTH before STARTTLS (-> auth_before_tls). Nothing
				# can be sent: DATA is refused and every transport is "error".
				printf '%s inet n - n - - smtpd\n  -o syslog_name=postfix/openrelay-%s\n  -o smtpd_tls_security_level=may\n  -o smtpd_sasl_auth_enable=yes\n  -o smtpd_tls_auth_only=no\n  -o smtpd_reject_unlisted_recipient=no\n  -o mynetworks=127.0.0.0/8\n  -o smtpd_relay_restrictions=permit_mynetworks,reject_unauth_destination\n  -o smtpd_recipient_restrictions=\n  -o smtpd_data_restrictions=reject\n' \
					"$addr" "${addr##*:}"
				;;
			refuse)
				# Refuses every client at connect time: a 554 greeting.
				printf '%s inet n - n - - smtpd\n  -o syslog_name=postfix/refuse-%s\n  -o smtpd_delay_reject=no\n  -o smtpd_client_restrictions=reject\n' \
					"$addr" "${addr##*:}"
				;;
			*) die "unknown listener kind $kind" ;;
			esac
		done
		cat <<-'EOF'
			pickup    unix  n       -       n       60      1       pickup
			cleanup   unix  n       -       n       -       0       cleanup
			qmgr      unix  n       -       n       300     1       qmgr
			tlsmgr    unix  -       -       n       1000?   1       tlsmgr
			rewrite   unix  -       -       n       -       -       trivial-rewrite
			bounce    unix  -       -       n       -       0       bounce
			defer     unix  -       -       n       -       0       bounce
			trace     unix  -       -       n       -       0       bounce
			verify    unix  -       -       n       -       1       verify
			flush     unix  n       -       n       1000?   0       flush
			proxymap  unix  -       -       n       -       -       proxymap
			proxywrite unix -       -       n       -       1       proxymap
			smtp      unix  -       -       n       -       -       smtp
			relay     unix  -       -       n       -       -       smtp
			showq     unix  n       -       n       -       -       showq
			error     unix  -       -       n       -       -       error
			retry     unix  -       -       n       -       -       error
			discard   unix  -       -       n       -       -       discard
			local     unix  -       n       n       -       -       local
			virtual   unix  -       n       n       -       -       virtual
			lmtp      unix  -       -       n       -       -       lmtp
			anvil     unix  -       -       n       -       1       anvil
			scache    unix  -       -       n       -       1       scache
			postlog   unix-dgram n  -       n       -       1       postlogd
		EOF
	} >"$c/master.cf"
}

start_postfix() { # DIR [NETNS]
	local d=$1 ns=${2:-} out
	if [[ -n "$ns" ]]; then
		PF_INSTANCES+=("$d@$ns")
		out=$(ip netns exec "$ns" postfix -c "$d/etc" start 2>&1) || { echo "$out" >&2; die "postfix -c $d start (netns $ns) failed"; }
	else
		PF_INSTANCES+=("$d")
		out=$(postfix -c "$d/etc" start 2>&1) || { echo "$out" >&2; die "postfix -c $d start failed"; }
	fi
}

# Loopback instance. Standard ports unless something on this machine already
# listens on one (then a free port; the tests read the ports from E2E_*).
LO=127.0.0.10
LO_RELAY=127.0.0.11
LO_REFUSE=127.0.0.12
pick_port 25 && P25=$PORT
pick_port 587 && P587=$PORT
pick_port 465 && P465=$PORT
pick_port 2525 && P2525=$PORT
pick_port 587 && PRELAY=$PORT # another address: 587 again unless taken
pick_port 25 && PREFUSE=$PORT
LO_LISTENERS=("smtp $LO:$P25" "submission $LO:$P587" "smtps $LO:$P465" "submission $LO:$P2525"
	"openrelay $LO_RELAY:$PRELAY" "refuse $LO_REFUSE:$PREFUSE")
LO6=""
if ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1/'; then
	pick_port 25 && P6=$PORT
	LO6="[::1]:$P6"
	LO_LISTENERS+=("smtp [::1]:$P6")
fi
write_postfix "$T/pf-lo" "${LO_LISTENERS[@]}"

# ------------------------------------------------------ network namespace ---
NS="smtpe2e$$"
VETH_H="se2e$$h"
VETH_N="se2e$$n"
ip netns add "$NS"
ip link add "$VETH_H" type veth peer name "$VETH_N"
ip link set "$VETH_N" netns "$NS"
ip addr add "$NS_HOST/24" dev "$VETH_H"
ip link set "$VETH_H" up
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" ip addr add "$NS_A/24" dev "$VETH_N"
ip netns exec "$NS" ip addr add "$NS_B/24" dev "$VETH_N"
ip netns exec "$NS" ip addr add "$NS_C/24" dev "$VETH_N"
ip netns exec "$NS" ip addr add "$NS_D/24" dev "$VETH_N"
ip netns exec "$NS" ip addr add "$NS_GW/24" dev "$VETH_N"
ip netns exec "$NS" ip link set "$VETH_N" up
if ip netns exec "$NS" ip route show default | grep -q .; then die "namespace $NS has a default route"; fi
if ip netns exec "$NS" ip -6 route show default | grep -q .; then die "namespace $NS has an IPv6 default route"; fi
# The firewall, inside the namespace only.
nsipt() { ip netns exec "$NS" iptables -w 5 "$@"; }
nsipt -A INPUT -p tcp -d "$NS_A" --dport 587 -j DROP
nsipt -A INPUT -p tcp -d "$NS_A" --dport 2525 -j REJECT --reject-with tcp-reset
nsipt -A INPUT -p tcp -d "$NS_B" --dport 587 -j DROP
nsipt -A INPUT -p tcp -d "$NS_B" --dport 465 -j DROP

# Vantage B: a second network (namespace VB, its own veth pair into the
# namespace above, which routes between the two) with a second exporter in it.
# The path from B to NS_D:587 is filtered (DROP matching B's source address);
# from the root namespace (vantage A, the first exporter) NS_D:587 is open.
# The root namespace reaches B's exporter through NS_GW (forwarding enabled in
# the namespace only).
VB="smtpe2e$$b"
VSUBNET=$(pick_subnet)
VB_GW="$VSUBNET.1"   # the namespace's end
VB_ADDR="$VSUBNET.2" # vantage B's exporter
VETH_VN="se2e$$v"
VETH_VB="se2e$$w"
ip netns add "$VB"
ip link add "$VETH_VN" netns "$NS" type veth peer name "$VETH_VB" netns "$VB"
ip netns exec "$NS" ip addr add "$VB_GW/24" dev "$VETH_VN"
ip netns exec "$NS" ip link set "$VETH_VN" up
ip netns exec "$NS" sysctl -qw net.ipv4.ip_forward=1
ip netns exec "$VB" ip link set lo up
ip netns exec "$VB" ip addr add "$VB_ADDR/24" dev "$VETH_VB"
ip netns exec "$VB" ip link set "$VETH_VB" up
ip netns exec "$VB" ip route add "$SUBNET.0/24" via "$VB_GW"
ip route add "$VSUBNET.0/24" via "$NS_GW" dev "$VETH_H"
if ip netns exec "$VB" ip route show default | grep -q .; then die "namespace $VB has a default route"; fi
nsipt -A INPUT -p tcp -s "$VB_ADDR" -d "$NS_D" --dport 587 -j DROP
# Real listeners behind every rule, so the firewall (not a closed port) decides.
write_postfix "$T/pf-ns" \
	"smtp $NS_A:25" "smtps $NS_A:465" "submission $NS_A:587" "submission $NS_A:2525" \
	"smtps $NS_B:465" "submission $NS_B:587" "submission $NS_B:2525" \
	"submission $NS_D:587" "smtps $NS_D:465" "submission $NS_D:2525"

start_postfix "$T/pf-lo"
start_postfix "$T/pf-ns" "$NS"

wait_for "Postfix $LO:$P25" 15 smtp_greets "$LO" "$P25"
wait_for "Postfix $LO:$P587" 15 smtp_greets "$LO" "$P587"
wait_for "Postfix $LO:$P2525" 15 smtp_greets "$LO" "$P2525"
wait_for "Postfix $LO_RELAY:$PRELAY" 15 smtp_greets "$LO_RELAY" "$PRELAY"
wait_for "Postfix $LO_REFUSE:$PREFUSE" 15 tcp_open "$LO_REFUSE" "$PREFUSE"
wait_for "Postfix $LO:$P465 (TLS)" 15 tls_greets "$LO" "$P465"
[[ -z "$LO6" ]] || wait_for "Postfix $LO6" 15 smtp_greets ::1 "$P6"
# The namespace: the open ports through the veth pair, and the listeners
# behind the DROP/REJECT rules as listening sockets (connecting to them is
# what the rules prevent, from inside the namespace too).
ns_listening() { # ADDR:PORT...
	local have a
	have=$(ip netns exec "$NS" ss -Hltn | awk '{print $4}')
	for a in "$@"; do grep -qxF "$a" <<<"$have" || return 1; done
}
wait_for "Postfix listeners behind the firewall" 15 ns_listening "$NS_A:587" "$NS_A:2525" "$NS_B:587" "$NS_B:465"
wait_for "Postfix $NS_A:25" 15 smtp_greets "$NS_A" 25
wait_for "Postfix $NS_A:465 (TLS)" 15 tls_greets "$NS_A" 465
wait_for "Postfix $NS_B:2525" 15 smtp_greets "$NS_B" 2525
wait_for "Postfix $NS_D:587" 15 smtp_greets "$NS_D" 587
wait_for "Postfix $NS_D:465 (TLS) from vantage B" 15 tls_greets "$NS_D" 465 "$VB"
log "Postfix up: $LO ports $P25/$P587/$P465/$P2525, open relay $LO_RELAY:$PRELAY, refusing $LO_REFUSE:$PREFUSE${LO6:+, $LO6}; namespace $NS $NS_A $NS_B $NS_C $NS_D; vantage B $VB $VB_ADDR"
mtas_setup "$T" "$PKI" "$E2E_USER" "$T/password"

# ---------------------------------------------------------- exporter ---
pick_port && EXPORTER_PORT=$PORT
EXPORTER="127.0.0.1:$EXPORTER_PORT"
DROP_TIMEOUT=3
CFG="$T/exporter.yml"
{
	cat <<-EOF
		# smtp_exporter config for the e2e suite (generated by e2e/run.sh).
		modules:
		  tcp:
		    prober: tcp
		    timeout: 5s
		    smtp:
		      ehlo: probe.e2e.test
		  starttls:
		    prober: starttls
		    timeout: 5s
		    smtp:
		      ehlo: probe.e2e.test
		    tls_config:
		      ca_file: $PKI/ca.pem
		      server_name: mail.e2e.test
		  tls:
		    prober: tls
		    timeout: 5s
		    smtp:
		      ehlo: probe.e2e.test
		    tls_config:
		      ca_file: $PKI/ca.pem
		      server_name: mail.e2e.test
		  tcp_short:
		    prober: tcp
		    timeout: ${DROP_TIMEOUT}s
		    smtp:
		      ehlo: probe.e2e.test
		  starttls_short:
		    prober: starttls
		    timeout: ${DROP_TIMEOUT}s
		    smtp:
		      ehlo: probe.e2e.test
		    tls_config:
		      ca_file: $PKI/ca.pem
		      server_name: mail.e2e.test
		  starttls_untrusted:
		    prober: starttls
		    timeout: 5s
		    smtp:
		      ehlo: probe.e2e.test
		    tls_config:
		      server_name: mail.e2e.test
		  tls_untrusted:
		    prober: tls
		    timeout: 5s
		    smtp:
		      ehlo: probe.e2e.test
		    tls_config:
		      server_name: mail.e2e.test
		  starttls_strict:
		    prober: starttls
		    timeout: 5s
		    tls_verification: strict
		    smtp:
		      ehlo: probe.e2e.test
		    tls_config:
		      server_name: mail.e2e.test
		  starttls_opportunistic:
		    prober: starttls
		    timeout: 5s
		    tls_verification: opportunistic
		    smtp:
		      ehlo: probe.e2e.test
		    tls_config:
		      server_name: mail.e2e.test
		  starttls_wronghost:
		    prober: starttls
		    timeout: 5s
		    smtp:
		      ehlo: probe.e2e.test
		    tls_config:
		      ca_file: $PKI/ca.pem
		      server_name: wrong.e2e.test
		  starttls_ip6:
		    prober: starttls
		    timeout: 5s
		    preferred_ip_protocol: ip6
		    smtp:
		      ehlo: probe.e2e.test
		    tls_config:
		      ca_file: $PKI/ca.pem
		      server_name: mail.e2e.test
		  # Always there: examples/prometheus.yml and prometheus-vantages.yml
		  # have a submission job.
		  submission:
		    prober: submission
		    timeout: ${DROP_TIMEOUT}s
		    smtp:
		      ehlo: probe.e2e.test
		    tls_config:
		      ca_file: $PKI/ca.pem
		      server_name: mail.e2e.test
	EOF
	if [[ "$E2E_SUBMISSION" == 1 ]]; then
		cat <<-EOF
			  submission_auth:
			    prober: submission
			    timeout: ${DROP_TIMEOUT}s
			    smtp:
			      ehlo: probe.e2e.test
			      auth:
			        username: $E2E_USER
			        password_file: $T/password
			    tls_config:
			      ca_file: $PKI/ca.pem
			      server_name: mail.e2e.test
			  starttls_auth:
			    prober: starttls
			    timeout: 5s
			    smtp:
			      ehlo: probe.e2e.test
			      auth:
			        username: $E2E_USER
			        password_file: $T/password
			    tls_config:
			      ca_file: $PKI/ca.pem
			      server_name: mail.e2e.test
			  starttls_auth_plain:
			    prober: starttls
			    timeout: 5s
			    smtp:
			      ehlo: probe.e2e.test
			      auth:
			        username: $E2E_USER
			        password_file: $T/password
			        mechanism: PLAIN
			    tls_config:
			      ca_file: $PKI/ca.pem
			      server_name: mail.e2e.test
			  starttls_auth_login:
			    prober: starttls
			    timeout: 5s
			    smtp:
			      ehlo: probe.e2e.test
			      auth:
			        username: $E2E_USER
			        password_file: $T/password
			        mechanism: LOGIN
			    tls_config:
			      ca_file: $PKI/ca.pem
			      server_name: mail.e2e.test
			  starttls_auth_inline:
			    prober: starttls
			    timeout: 5s
			    smtp:
			      ehlo: probe.e2e.test
			      auth:
			        username: $E2E_USER
			        password: $E2E_PASSWORD
			    tls_config:
			      ca_file: $PKI/ca.pem
			      server_name: mail.e2e.test
			  starttls_auth_wrong:
			    prober: starttls
			    timeout: 5s
			    smtp:
			      ehlo: probe.e2e.test
			      auth:
			        username: $E2E_USER
			        password_file: $T/password.wrong
			    tls_config:
			      ca_file: $PKI/ca.pem
			      server_name: mail.e2e.test
			  tls_auth:
			    prober: tls
			    timeout: 5s
			    smtp:
			      ehlo: probe.e2e.test
			      auth:
			        username: $E2E_USER
			        password_file: $T/password
			    tls_config:
			      ca_file: $PKI/ca.pem
			      server_name: mail.e2e.test
			  starttls_enforced:
			    prober: starttls
			    timeout: 5s
			    smtp:
			      ehlo: probe.e2e.test
			      check_auth_enforced: true
			      mail_from: probe@e2e.test
			      rcpt_to: probe@example.invalid
			    tls_config:
			      ca_file: $PKI/ca.pem
			      server_name: mail.e2e.test
			  starttls_enforced_auth:
			    prober: starttls
			    timeout: 5s
			    smtp:
			      ehlo: probe.e2e.test
			      check_auth_enforced: true
			      mail_from: probe@e2e.test
			      rcpt_to: probe@example.invalid
			      auth:
			        username: $E2E_USER
			        password_file: $T/password
			    tls_config:
			      ca_file: $PKI/ca.pem
			      server_name: mail.e2e.test
			  starttls_no_auth_before_tls:
			    prober: starttls
			    timeout: 5s
			    smtp:
			      ehlo: probe.e2e.test
			      fail_if_auth_before_tls: true
			    tls_config:
			      ca_file: $PKI/ca.pem
			      server_name: mail.e2e.test
		EOF
	fi
	mtas_exporter_modules "$E2E_USER" "$T/password" "$T/password.wrong"
} >"$CFG"

pick_port && PROM_PORT=$PORT
PROMETHEUS="127.0.0.1:$PROM_PORT"

# Vantage B's exporter listens in its own namespace (nothing else there, so
# the default port), reached from here through the firewalled namespace.
EXPORTER_B="$VB_ADDR:10587"

if [[ "${E2E_NO_EXPORTER:-0}" != 1 ]]; then
	log "building the exporter"
	(cd "$REPO_ROOT" && go build -o "$T/smtp_exporter" .) || die "go build failed"
	"$T/smtp_exporter" --config.check --config.file="$CFG" >"$T/config-check.log" 2>&1 ||
		{ cat "$T/config-check.log" >&2; die "exporter rejected the suite config (--config.check)"; }
	"$T/smtp_exporter" --config.file="$CFG" --web.listen-address="$EXPORTER" --log.level=debug \
		>"$T/exporter.log" 2>&1 &
	EXPORTER_PID=$!
	# `ip netns exec` execs the command: $! is the exporter's PID.
	ip netns exec "$VB" "$T/smtp_exporter" --config.file="$CFG" --web.listen-address="$EXPORTER_B" \
		--log.level=debug >"$T/exporter-b.log" 2>&1 &
	EXPORTER_B_PID=$!
	wait_for "exporter /-/ready" 15 curl -fsS -m 2 "http://$EXPORTER/-/ready"
	wait_for "vantage B exporter /-/ready (through the namespace)" 15 curl -fsS -m 2 "http://$EXPORTER_B/-/ready"
	log "exporter up at $EXPORTER (pid $EXPORTER_PID), vantage B's at $EXPORTER_B (pid $EXPORTER_B_PID)"
fi

# ------------------------------------------------------------ alert rules ---
# The shipped rule file (generated from mixin/) with every `for:`, every range
# selector and every `offset` shortened to $RULE_FOR, so that alerts fire
# within seconds: the outage alerts have no `for:` and measure the failure's
# duration with [5m] and `offset 5m` on dialogue:probe_smtp_failing:bool. The
# expressions, labels and annotations are otherwise used verbatim.
RULES_SRC="$REPO_ROOT/dashboards/smtp_exporter.rules.yml"
RULES="$T/smtp_exporter.rules.yml"
RULE_FOR=5s
EVAL_INTERVAL=1s
SCRAPE_INTERVAL=2s
[[ -f "$RULES_SRC" ]] || die "$RULES_SRC is missing"
promtool check rules "$RULES_SRC" >"$T/promtool-rules.log" 2>&1 || { cat "$T/promtool-rules.log" >&2; die "promtool rejected $RULES_SRC"; }
sed -E -e "s/^([[:space:]]*for:[[:space:]]*)[0-9][0-9a-z]*[[:space:]]*$/\1$RULE_FOR/" \
	-e "s/\[[0-9]+[smhdwy]\]/[$RULE_FOR]/g" -e "s/offset [0-9]+[smhdwy]/offset $RULE_FOR/g" "$RULES_SRC" >"$RULES"
nfor=$(grep -cE '^[[:space:]]*for:' "$RULES" || true)
grep -E '^[[:space:]]*for:' "$RULES" | grep -vqE "for: $RULE_FOR\$" && die "a for: in $RULES_SRC was not shortened"
grep -qE "offset $RULE_FOR" "$RULES" || die "no offset shortened in $RULES (the outage alerts' window)"
# Nothing but the for: lines, range selectors and offsets may differ.
diff <(grep -vE '^[[:space:]]*for:' "$RULES_SRC" | sed -E -e 's/\[[0-9]+[smhdwy]\]/[R]/g' -e 's/offset [0-9]+[smhdwy]/offset R/g') \
	<(grep -vE '^[[:space:]]*for:' "$RULES" | sed -E -e "s/\[$RULE_FOR\]/[R]/g" -e "s/offset $RULE_FOR/offset R/g") >/dev/null ||
	die "the suite copy of the rules differs from $RULES_SRC beyond for:, ranges and offsets"
promtool check rules "$RULES" >>"$T/promtool-rules.log" 2>&1 || { cat "$T/promtool-rules.log" >&2; die "promtool rejected $RULES"; }
log "rules: $RULES_SRC with $nfor for:, every range and offset shortened to $RULE_FOR, evaluated every $EVAL_INTERVAL"

# ----------------------------------------------------------- Alertmanager ---
# Generated from examples/alertmanager.yml: its webhook receivers point at the
# receiver the Go tests run (E2E_WEBHOOK), group_wait/group_interval are
# shortened, and the example's vantage names become the suite's (eu-west -> B,
# us-east -> A), so the per-network route is exercised.
pick_port && AM_PORT=$PORT
ALERTMANAGER="127.0.0.1:$AM_PORT"
pick_port && WEBHOOK_PORT=$PORT
WEBHOOK="127.0.0.1:$WEBHOOK_PORT"
AM_SRC="$REPO_ROOT/examples/alertmanager.yml"
AM_CFG="$T/alertmanager.yml"
[[ -f "$AM_SRC" ]] || die "$AM_SRC is missing"
amtool check-config "$AM_SRC" >"$T/amtool.log" 2>&1 || { cat "$T/amtool.log" >&2; die "amtool rejected $AM_SRC"; }
sed -e "s#http://127\.0\.0\.1:5001/#http://$WEBHOOK/#g" \
	-e "s/\(group_wait:\).*/\1 1s/" \
	-e "s/\(group_interval:\).*/\1 2s/" \
	-e "s/eu-west/B/g" -e "s/us-east/A/g" \
	"$AM_SRC" >"$AM_CFG"
grep -v '^ *#' "$AM_CFG" | grep -q '127\.0\.0\.1:5001' && die "examples/alertmanager.yml changed shape: 127.0.0.1:5001 left in $AM_CFG"
for want in "url: http://$WEBHOOK/smtp" "group_wait: 1s" 'vantage = "B"'; do
	grep -qF -- "$want" "$AM_CFG" || die "examples/alertmanager.yml changed shape: no '$want' after substitution"
done
amtool check-config "$AM_CFG" >>"$T/amtool.log" 2>&1 || { cat "$T/amtool.log" >&2; die "amtool rejected $AM_CFG"; }
# No clustering (it would listen on 0.0.0.0:9094 and gossip).
prometheus-alertmanager --config.file="$AM_CFG" --storage.path="$T/am" --web.listen-address="$ALERTMANAGER" \
	--cluster.listen-address= --log.level=info >"$T/alertmanager.log" 2>&1 &
AM_PID=$!
wait_for "Alertmanager /-/ready" 30 curl -fsS -m 2 "http://$ALERTMANAGER/-/ready"
log "Alertmanager up at $ALERTMANAGER (pid $AM_PID), webhooks to $WEBHOOK"

# ------------------------------------------------------------ Prometheus ---
# Composed from the examples, so the documented files are what runs:
#  1. examples/prometheus-vantages.yml: global, rule_files (the suite copy of
#     the rules), alerting (the Alertmanager above) and the per-vantage jobs.
#     Its eu-west exporter is vantage B's, its us-east one the first exporter
#     (vantage A); smtp.example.com is NS_D (587 blocked from B only) and
#     mx.example.org:587 is NS_A:587 (dropped for everyone).
#  2. the scrape_configs of examples/prometheus.yml (loopback targets).
#  3. a suite job for what the examples do not cover: the REJECTed port, a
#     port nothing listens on, a 554 greeting, and (issue 4's modules) AUTH,
#     the open relay's missing auth enforcement.
EXAMPLE="$REPO_ROOT/examples/prometheus.yml"
VEXAMPLE="$REPO_ROOT/examples/prometheus-vantages.yml"
PROM_CFG="$T/prometheus.yml"
[[ -f "$VEXAMPLE" ]] || die "$VEXAMPLE is missing"
last_key() { awk '/^[A-Za-z_]+:/ {k = $1} END {print k}' "$1"; }
for f in "$EXAMPLE" "$VEXAMPLE"; do
	[[ $(last_key "$f") == scrape_configs: ]] || die "$f changed shape: scrape_configs is not its last section"
done
sed -e "s/127\.0\.0\.1:10587/$EXPORTER/g" \
	-e "s/smtp\.example\.com:587/$LO:$P587/g" \
	-e "s/smtp\.example\.com:465/$LO:$P465/g" \
	-e "s/smtp\.example\.com/$LO/g" \
	-e "s/^\(  scrape_interval:\).*/\1 $SCRAPE_INTERVAL/" \
	-e "s/^\(  scrape_timeout:\).*/\1 2s/" \
	"$EXAMPLE" >"$T/prometheus-example.yml"
leftover=$(grep -v '^ *#' "$T/prometheus-example.yml" | grep -c 'example\.com\|10587' || true)
((leftover == 0)) || die "examples/prometheus.yml changed shape: placeholders left in $T/prometheus-example.yml"
for want in "replacement: $EXPORTER" "- $LO:$P587" "- $LO:$P465" "scrape_interval: $SCRAPE_INTERVAL" "scrape_timeout: 2s"; do
	grep -qF -- "$want" "$T/prometheus-example.yml" || die "examples/prometheus.yml changed shape: no '$want' after substitution"
done
promtool check config "$T/prometheus-example.yml" >"$T/promtool.log" 2>&1 || { cat "$T/promtool.log" >&2; die "promtool rejected $T/prometheus-example.yml"; }
promtool check config "$VEXAMPLE" >>"$T/promtool.log" 2>&1 || { cat "$T/promtool.log" >&2; die "promtool rejected $VEXAMPLE"; }
sed -e "s#\(^ *- \).*smtp_exporter\.rules\.yml.*#\1$RULES#" \
	-e "s/127\.0\.0\.1:9093/$ALERTMANAGER/g" \
	-e "s/10\.0\.1\.10:10587/$EXPORTER_B/g" \
	-e "s/10\.1\.1\.10:10587/$EXPORTER/g" \
	-e "s/eu-west/B/g" -e "s/us-east/A/g" \
	-e "s/smtp\.example\.com:587/$NS_D:587/g" \
	-e "s/mx\.example\.org:587/$NS_A:587/g" \
	-e "s/smtp\.example\.com/$NS_D/g" \
	-e "s/^\(  scrape_interval:\).*/\1 $SCRAPE_INTERVAL/" \
	-e "s/^\(  scrape_timeout:\).*/\1 2s/" \
	-e "s/^\(  evaluation_interval:\).*/\1 $EVAL_INTERVAL/" \
	"$VEXAMPLE" >"$T/prometheus-vantages.yml"
leftover=$(grep -v '^ *#' "$T/prometheus-vantages.yml" | grep -c 'example\.com\|example\.org\|10\.[01]\.1\.10\|:9093\|\.\./dashboards' || true)
((leftover == 0)) || die "examples/prometheus-vantages.yml changed shape: placeholders left in $T/prometheus-vantages.yml"
for want in "- $RULES" "- $ALERTMANAGER" "replacement: $EXPORTER_B" "replacement: $EXPORTER" "- $NS_D:587" "- $NS_A:587" "- $NS_D" \
	"replacement: A" "replacement: B" "evaluation_interval: $EVAL_INTERVAL" "scrape_interval: $SCRAPE_INTERVAL"; do
	grep -qF -- "$want" "$T/prometheus-vantages.yml" || die "examples/prometheus-vantages.yml changed shape: no '$want' after substitution"
done
{
	cat "$T/prometheus-vantages.yml"
	echo
	echo "  # ---- the scrape_configs of examples/prometheus.yml (added by e2e/run.sh)"
	sed '1,/^scrape_configs:/d' "$T/prometheus-example.yml"
	echo
	cat <<-EOF
		  # ---- suite job (e2e/run.sh): one module per target group, from the
		  # target's module label.
		  - job_name: smtp_e2e
		    metrics_path: /probe
		    static_configs:
		      - targets: ["$NS_A:2525", "$NS_C:587"]   # REJECT (RST), nothing listening
		        labels: {module: starttls}
		      - targets: ["$LO_REFUSE:$PREFUSE"]         # 554 greeting
		        labels: {module: tcp}
	EOF
	if [[ "$E2E_SUBMISSION" == 1 ]]; then
		cat <<-EOF
			      - targets: ["$LO:$P587"]                   # AUTH succeeds (healthy)
			        labels: {module: starttls_auth}
			      - targets: ["$LO_RELAY:$PRELAY"]           # open relay: AUTH not enforced, AUTH before TLS
			        labels: {module: starttls_enforced}
		EOF
	fi
	cat <<-EOF
		    relabel_configs:
		      - source_labels: [__address__]
		        target_label: __param_target
		      - source_labels: [module]
		        target_label: __param_module
		      - source_labels: [__param_target]
		        target_label: instance
		      - target_label: __address__
		        replacement: $EXPORTER
	EOF
} >"$PROM_CFG"
promtool check config "$PROM_CFG" >>"$T/promtool.log" 2>&1 || { cat "$T/promtool.log" >&2; die "promtool rejected $PROM_CFG"; }
prometheus --config.file="$PROM_CFG" --storage.tsdb.path="$T/prom" \
	--web.listen-address="$PROMETHEUS" --log.level=info >"$T/prometheus.log" 2>&1 &
PROM_PID=$!
wait_for "Prometheus /-/ready" 30 curl -fsS -m 2 "http://$PROMETHEUS/-/ready"
log "Prometheus up at $PROMETHEUS (pid $PROM_PID), scraping every $SCRAPE_INTERVAL"

# --------------------------------------------------------------- Chromium ---
# Headless, its own process group (stopped as a group), a fresh profile, no
# background or component traffic, and a host resolver that resolves nothing:
# pages are loaded from 127.0.0.1 only. The DevTools port is chosen by
# Chromium (port 0) and read from DevToolsActivePort. The real binary, not
# Debian's wrapper script (which adds remote extensions and API keys).
CHROMIUM_BIN=/usr/lib/chromium/chromium
[[ -x "$CHROMIUM_BIN" ]] || CHROMIUM_BIN=$(command -v chromium)
mkdir -p "$T/chromium-profile"
setsid "$CHROMIUM_BIN" --headless --no-sandbox --disable-gpu --disable-background-networking --disable-quic \
	--no-first-run --disable-component-update --disable-sync --disable-dev-shm-usage --disable-extensions \
	--disable-default-apps --no-pings --disable-domain-reliability --disable-breakpad \
	--disable-client-side-phishing-detection --metrics-recording-only --no-default-browser-check \
	--host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" \
	--user-data-dir="$T/chromium-profile" --remote-debugging-address=127.0.0.1 --remote-debugging-port=0 \
	--window-size=1280,900 about:blank >"$T/chromium.log" 2>&1 &
CHROME_PID=$!
wait_for "Chromium DevToolsActivePort" 30 test -s "$T/chromium-profile/DevToolsActivePort"
CHROME_DEVTOOLS="127.0.0.1:$(head -n 1 "$T/chromium-profile/DevToolsActivePort")"
wait_for "Chromium DevTools /json/version" 15 curl -fsS -m 2 "http://$CHROME_DEVTOOLS/json/version"
log "Chromium $("$CHROMIUM_BIN" --version 2>/dev/null | head -n 1) up, DevTools at $CHROME_DEVTOOLS (pid $CHROME_PID)"

# ------------------------------------------------------------------ tests ---
export E2E_EXPORTER="$EXPORTER" E2E_PROMETHEUS="$PROMETHEUS" E2E_EXPORTER_BIN="$T/smtp_exporter" \
	E2E_CONFIG_FILE="$CFG" E2E_EXPORTER_LOG="$T/exporter.log" E2E_SUBMISSION \
	E2E_CA_FILE="$PKI/ca.pem" E2E_CERT_NOT_AFTER="$CERT_NOT_AFTER" E2E_CERT_FINGERPRINT="$CERT_FINGERPRINT" \
	E2E_CERT_SERIAL="$CERT_SERIAL" E2E_SERVER_NAME=mail.e2e.test E2E_SIZE_LIMIT="$MESSAGE_SIZE_LIMIT" \
	E2E_LO_SMTP="$LO:$P25" E2E_LO_SUBMISSION="$LO:$P587" E2E_LO_SMTPS="$LO:$P465" E2E_LO_ALT="$LO:$P2525" \
	E2E_LO_OPENRELAY="$LO_RELAY:$PRELAY" E2E_LO_REFUSE="$LO_REFUSE:$PREFUSE" E2E_LO6_SMTP="$LO6" E2E_LO_HOST="$LO" \
	E2E_NS_A="$NS_A" E2E_NS_B="$NS_B" E2E_NS_C="$NS_C" E2E_NS="$NS" E2E_DROP_TIMEOUT="$DROP_TIMEOUT" \
	E2E_USER E2E_PASSWORD E2E_PASSWORD_FILE="$T/password" E2E_WRONG_PASSWORD_FILE="$T/password.wrong" \
	E2E_MAILLOG_LO="$T/pf-lo/maillog" E2E_MAILLOG_NS="$T/pf-ns/maillog" E2E_TMP="$T" \
	E2E_NS_D="$NS_D" E2E_EXPORTER_B="$EXPORTER_B" E2E_VANTAGE_A=A E2E_VANTAGE_B=B \
	E2E_ALERTMANAGER="$ALERTMANAGER" E2E_WEBHOOK="$WEBHOOK" E2E_RULE_FOR="$RULE_FOR" \
	E2E_EVAL_INTERVAL="$EVAL_INTERVAL" E2E_SCRAPE_INTERVAL="$SCRAPE_INTERVAL" \
	E2E_CHROMIUM_DEVTOOLS="$CHROME_DEVTOOLS" E2E_REPO_ROOT="$REPO_ROOT"
mtas_env

if [[ -n "${E2E_CMD:-}" ]]; then
	log "running E2E_CMD"
	bash -c "$E2E_CMD"
	exit $?
fi

TAGS=e2e
[[ "$E2E_SUBMISSION" == 1 ]] && TAGS=e2e,e2e_submission
log "go test -tags $TAGS ./e2e/..."
cd "$REPO_ROOT"
# In its own process group, waited for in the background, so that a signal
# to this script tears everything down at once (the trap kills the group).
setsid go test -tags "$TAGS" -count=1 -timeout 5m -v "$@" ./e2e/... &
GOTEST_PID=$!
rc=0
wait "$GOTEST_PID" || rc=$?
GOTEST_PID=""
((rc != 0)) || [[ "${E2E_NO_EXPORTER:-0}" == 1 ]] || . "$REPO_ROOT/e2e/soak.sh"
exit "$rc"
