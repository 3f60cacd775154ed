#!/usr/bin/env bash
# shellcheck disable=SC2317 # mtas_stop is reached through an EXIT trap
# More real mail servers for the e2e suite (issue 13): Exim 4 and Dovecot's
# submission service beside run.sh's Postfix, because mail servers differ in
# ways that break SMTP monitors. Exim greets over several lines, refuses
# relaying with "550 relay not permitted" (no enhanced status code) and drops
# a client that talks before its greeting; Dovecot proxies to a relay, answers
# QUIT once its relay session is up, advertises a bare "AUTH" before TLS and
# delays every AUTH from an address that recently failed one.
#
#   Exim 4.96 (exim4-daemon-heavy) on 127.0.0.20:
#     25   STARTTLS, no AUTH
#     587  STARTTLS, AUTH PLAIN/LOGIN only after TLS, against one test user
#     465  implicit TLS (tls_on_connect_ports), AUTH PLAIN/LOGIN
#     A three-line greeting, on 25 and 587 after a 1 s delay with PIPECONNECT
#     off, so that Exim's synchronization check catches a client that talks first.
#     Relaying (RCPT to a foreign domain) needs AUTH: "550 relay not permitted".
#   Dovecot 2.3 submission (dovecot-submissiond) on 127.0.0.21:
#     587  STARTTLS, 465 implicit TLS; AUTH PLAIN/LOGIN after TLS against a
#     passwd-file; relays to Exim's port 25. "530 5.7.0" before AUTH.
#   A port already taken on that address (or on every address) is replaced by
#   a free one; the tests read the ports from E2E_EXIM_* and E2E_DOVECOT_*.
#
# Debian's Exim conflicts with Postfix (one mail-transport-agent), so it is
# not installed: its package is downloaded and unpacked with dpkg -x into
# $MTA_CACHE (kept between runs), and only the libraries it needs are
# installed. Dovecot installs normally, its service kept from starting by a
# policy-rc.d. Neither runs as a system service: each runs in the foreground
# from a config under the suite's temp dir and is stopped by its PID. Nothing
# is ever delivered: Exim refuses DATA and queues nothing, Dovecot can only
# relay to that Exim.
#
# Sourced by run.sh, which calls mtas_install, mtas_setup, mtas_exporter_modules,
# mtas_env and (from its EXIT trap) mtas_stop. On its own (root):
#   bash e2e/mtas.sh standalone [go test args]
# starts only these servers and the exporter built from this tree on a free
# 127.0.0.1 port, and runs go test -tags e2e -run 'TestExim|TestDovecot'.

MTA_CACHE=${MTA_CACHE:-/var/cache/smtp_exporter-e2e}
MTA_EXIM_ADDR=127.0.0.20
MTA_DOVECOT_ADDR=127.0.0.21
MTA_EXIM_BIN="$MTA_CACHE/exim4/usr/sbin/exim4"
MTA_EXIM_PID=""
MTA_DOVECOT_PID=""
MTA_PORTS=" "

# ---------------------------------------------------------------- install ---

mtas_apt_log() { echo "${TMPDIR:-/tmp}/smtp_exporter-e2e-mtas-apt.log"; }

# mtas_apt CMD ARGS...: an apt-get command, once more after apt-get update if
# it fails (a fresh machine has no package lists). A policy-rc.d keeps the
# packages' maintainer scripts from starting a system Dovecot; one that is
# already there is left alone.
mtas_apt() {
	local created=0 rc=0
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\n# temporary, from smtp_exporter e2e/mtas.sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		created=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get "$@" >>"$(mtas_apt_log)" 2>&1 ||
		{ apt-get update -qq >>"$(mtas_apt_log)" 2>&1 && apt-get "$@" >>"$(mtas_apt_log)" 2>&1; } || rc=$?
	if ((created)); then rm -f /usr/sbin/policy-rc.d; fi
	if ((rc)); then
		tail -n 20 "$(mtas_apt_log)" >&2
		skip_or_die "apt-get $* failed (rc=$rc)"
	fi
}

mtas_install_packages() { # packages...
	mtas_apt install -y -q --no-install-recommends \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}

mtas_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# The libraries exim4-daemon-heavy depends on (its Depends less exim4-base
# and debconf, which would bring the MTA itself): first alternatives, no versions.
mtas_exim_libraries() { # Depends field
	tr ',' '\n' <<<"$1" | sed -e 's/|.*//' -e 's/(.*)//' -e 's/:any//' -e 's/[[:space:]]//g' |
		grep -vxE 'exim4-base|debconf|' || true
}

# Downloads and unpacks Exim once into $MTA_CACHE/exim4, with its Depends
# field in $MTA_CACHE/exim4/DEPENDS.
mtas_unpack_exim() {
	local dl="$MTA_CACHE/exim4.download" deb
	[[ -x "$MTA_EXIM_BIN" && -s "$MTA_CACHE/exim4/DEPENDS" ]] && return 0
	log "downloading exim4-daemon-heavy into $MTA_CACHE (unpacked, not installed: it conflicts with Postfix)"
	rm -rf "$dl" "$MTA_CACHE/exim4"
	mkdir -p "$dl"
	(cd "$dl" && mtas_apt -o APT::Sandbox::User=root download exim4-daemon-heavy)
	deb=$(find "$dl" -name 'exim4-daemon-heavy_*.deb' | head -n 1)
	[[ -n "$deb" ]] || die "apt-get download exim4-daemon-heavy left no .deb"
	dpkg -x "$deb" "$dl/root"
	dpkg-deb -f "$deb" Depends >"$dl/root/DEPENDS"
	mv "$dl/root" "$MTA_CACHE/exim4"
	rm -rf "$dl"
}

# Dovecot's packages and Exim's libraries, whichever are missing, in one
# apt-get install; then Exim's user, and a check that the binary runs.
mtas_install() {
	local pkgs=() lib
	command -v dpkg-deb >/dev/null || skip_or_die "dpkg-deb not found: Exim is unpacked from its Debian package"
	mtas_unpack_exim
	[[ -x /usr/sbin/dovecot && -x /usr/lib/dovecot/submission-login ]] || pkgs+=(dovecot-core dovecot-submissiond)
	while read -r lib; do
		mtas_installed "$lib" || pkgs+=("$lib")
	done < <(mtas_exim_libraries "$(cat "$MTA_CACHE/exim4/DEPENDS")")
	if ((${#pkgs[@]})); then
		log "installing: ${pkgs[*]}"
		mtas_install_packages "${pkgs[@]}"
	fi
	# Exim looks its compiled-in user up before reading any config.
	getent passwd Debian-exim >/dev/null ||
		useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin Debian-exim
	"$MTA_EXIM_BIN" -C /dev/null -bV >/dev/null 2>&1 ||
		die "the unpacked exim4 does not run: $(ldd "$MTA_EXIM_BIN" 2>&1 | grep 'not found' | tr -s '\n\t' ' ')"
}

# ------------------------------------------------------------------ ports ---

# Sets MTA_PORT: the standard port unless something listens on it on ADDR
# or on every address, otherwise (or for STD 0) a free port not handed out
# before. Not echoed: the ports handed out must persist.
mtas_port() { # ADDR STD
	local addr=$1 p=$2 i
	if ((p != 0)) && ! ss -Hltn "( sport = :$p )" 2>/dev/null | awk '{print $4}' |
		grep -qxE "(${addr//./\\.}|0\\.0\\.0\\.0|\\*|\\[::\\]):$p"; then
		MTA_PORTS+="$addr:$p "
		MTA_PORT=$p
		return 0
	fi
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + RANDOM % 30000))
		[[ "$MTA_PORTS" == *":$p "* ]] && continue
		ss -Hltn "( sport = :$p )" 2>/dev/null | grep -q . && continue
		MTA_PORTS+="$addr:$p "
		MTA_PORT=$p
		return 0
	done
	die "no free port for $addr"
}

# Greeted with a complete 220 reply (multi-line included), then QUIT and 221.
mtas_greets() { # ADDR PORT
	# shellcheck disable=SC2016 # expanded by the inner shell
	timeout 5 bash -c '
		exec 3<>"/dev/tcp/$1/$2" || exit 1
		while IFS= read -r -t 3 line <&3; do
			[[ $line == 220-* ]] && continue
			[[ $line == "220 "* ]] || exit 1
			printf "QUIT\r\n" >&3
			IFS= read -r -t 3 line <&3
			[[ $line == 221* ]]
			exit
		done
		exit 1' _ "$1" "$2"
}

mtas_tls_greets() { # ADDR PORT CA
	echo QUIT | timeout 5 openssl s_client -quiet -connect "$1:$2" -CAfile "$3" 2>/dev/null | grep -q '^220 '
}

# ------------------------------------------------------------------- Exim ---

# mtas_write_exim DIR PKI USER PASSWORD_FILE: the config, the certificate
# and the password copied where the Exim user (Debian-exim) reads them.
mtas_write_exim() {
	local d=$1 pki=$2 user=$3 pwfile=$4 advertise
	mkdir -p "$d/spool" "$d/log"
	cp "$pki/server.pem" "$pki/server.key" "$d/"
	cp "$pwfile" "$d/password"
	chown -R Debian-exim:Debian-exim "$d"
	chmod 600 "$d/server.key" "$d/password"
	# AUTH after TLS and never on 25.
	advertise="\${if and{{def:tls_in_cipher}{!={\$received_port}{$EXIM_P25}}}}"
	cat >"$d/exim.conf" <<-EOF
		# Private Exim for the smtp_exporter e2e suite (e2e/mtas.sh).
		exim_path = $MTA_EXIM_BIN
		primary_hostname = mail.e2e.test
		local_interfaces = $MTA_EXIM_ADDR
		daemon_smtp_ports = $EXIM_P25 : $EXIM_P587 : $EXIM_P465
		tls_on_connect_ports = $EXIM_P465
		tls_advertise_hosts = *
		tls_certificate = $d/server.pem
		tls_privatekey = $d/server.key
		spool_directory = $d/spool
		log_file_path = $d/log/%slog
		pid_file_path = $d/exim.pid
		log_selector = +smtp_connection +smtp_protocol_error +smtp_syntax_error +smtp_no_mail \\
		  +incoming_interface +incoming_port +tls_cipher +pipelining
		# A multi-line greeting, after a delay: a client that talks first is
		# dropped ("SMTP protocol synchronization error").
		smtp_banner = \${primary_hostname} ESMTP Exim \${version_number} (e2e)\\nsecond line of a multi-line greeting\\nthird line
		smtp_enforce_sync = true
		# Exim 4.96 advertises PIPECONNECT and then accepts an EHLO sent before
		# its greeting: off, or the synchronization check proves nothing.
		pipelining_connect_advertise_hosts = :
		host_lookup = :
		rfc1413_hosts = :
		keep_environment =
		queue_only = true
		acl_smtp_connect = acl_connect
		acl_smtp_rcpt = acl_rcpt
		acl_smtp_predata = acl_refuse

		begin acl
		# The greeting delay on the plaintext ports, where a client could talk
		# first; 465 greets as soon as TLS is up.
		acl_connect:
		  accept condition = \${if ={\$received_port}{$EXIM_P465}}
		  accept delay = 1s
		acl_rcpt:
		  accept authenticated = *
		  deny message = relay not permitted
		acl_refuse:
		  deny message = e2e: DATA refused

		begin authenticators
		plain:
		  driver = plaintext
		  public_name = PLAIN
		  server_prompts = :
		  server_condition = \${if and{{eq{\$auth2}{$user}}{eq{\$auth3}{\${readfile{$d/password}}}}}}
		  server_set_id = \$auth2
		  server_advertise_condition = $advertise
		login:
		  driver = plaintext
		  public_name = LOGIN
		  server_prompts = <| Username: | Password:
		  server_condition = \${if and{{eq{\$auth1}{$user}}{eq{\$auth2}{\${readfile{$d/password}}}}}}
		  server_set_id = \$auth1
		  server_advertise_condition = $advertise
	EOF
	"$MTA_EXIM_BIN" -C "$d/exim.conf" -bV >"$d/config-check.log" 2>&1 ||
		{ cat "$d/config-check.log" >&2; die "Exim rejected $d/exim.conf"; }
}

# ---------------------------------------------------------------- Dovecot ---

# mtas_write_dovecot DIR PKI USER PASSWORD_FILE
mtas_write_dovecot() {
	local d=$1 pki=$2 user=$3 pwfile=$4
	mkdir -p "$d/home"
	chown nobody:nogroup "$d/home"
	printf '%s:{PLAIN}%s\n' "$user" "$(cat "$pwfile")" >"$d/passwd"
	chown root:dovecot "$d/passwd"
	chmod 640 "$d/passwd"
	cat >"$d/dovecot.conf" <<-EOF
		# Private Dovecot for the smtp_exporter e2e suite (e2e/mtas.sh).
		base_dir = $d/run
		state_dir = $d/state
		instance_name = smtp-exporter-e2e
		log_path = $d/dovecot.log
		# Every SMTP command received, for the log check (no DATA, QUIT last).
		log_debug = category=smtp-server
		protocols = submission
		listen = $MTA_DOVECOT_ADDR
		hostname = mail.e2e.test
		ssl = yes
		ssl_cert = <$pki/server.pem
		ssl_key = <$pki/server.key
		disable_plaintext_auth = yes
		auth_mechanisms = plain login
		submission_relay_host = $MTA_EXIM_ADDR
		submission_relay_port = $EXIM_P25
		submission_relay_ssl = no
		first_valid_uid = 1
		mail_location = maildir:~/Maildir
		passdb {
		  driver = passwd-file
		  args = scheme=PLAIN username_format=%u $d/passwd
		}
		userdb {
		  driver = static
		  args = uid=nobody gid=nogroup home=$d/home
		}
		service submission-login {
		  inet_listener submission {
		    port = $DOVECOT_P587
		  }
		  inet_listener submissions {
		    port = $DOVECOT_P465
		    ssl = yes
		  }
		}
	EOF
	doveconf -c "$d/dovecot.conf" -n >"$d/config-check.log" 2>&1 ||
		{ cat "$d/config-check.log" >&2; die "Dovecot rejected $d/dovecot.conf"; }
}

# ------------------------------------------------------------- lifecycle ---

# mtas_setup DIR PKI USER PASSWORD_FILE: writes both configs under DIR,
# starts both servers and waits until each port greets. PKI holds ca.pem,
# server.pem and server.key (a leaf for mail.e2e.test).
mtas_setup() {
	local t=$1 pki=$2 user=$3 pwfile=$4
	MTA_DIR="$t/mtas"
	MTA_CA="$pki/ca.pem"
	mtas_port "$MTA_EXIM_ADDR" 25 && EXIM_P25=$MTA_PORT
	mtas_port "$MTA_EXIM_ADDR" 587 && EXIM_P587=$MTA_PORT
	mtas_port "$MTA_EXIM_ADDR" 465 && EXIM_P465=$MTA_PORT
	mtas_port "$MTA_DOVECOT_ADDR" 587 && DOVECOT_P587=$MTA_PORT
	mtas_port "$MTA_DOVECOT_ADDR" 465 && DOVECOT_P465=$MTA_PORT
	mtas_write_exim "$MTA_DIR/exim" "$pki" "$user" "$pwfile"
	mtas_write_dovecot "$MTA_DIR/dovecot" "$pki" "$user" "$pwfile"

	"$MTA_EXIM_BIN" -C "$MTA_DIR/exim/exim.conf" -bdf >"$MTA_DIR/exim/daemon.log" 2>&1 &
	MTA_EXIM_PID=$!
	dovecot -c "$MTA_DIR/dovecot/dovecot.conf" -F >"$MTA_DIR/dovecot/daemon.log" 2>&1 &
	MTA_DOVECOT_PID=$!

	wait_for "Exim $MTA_EXIM_ADDR:$EXIM_P25" 15 mtas_greets "$MTA_EXIM_ADDR" "$EXIM_P25"
	wait_for "Exim $MTA_EXIM_ADDR:$EXIM_P587" 15 mtas_greets "$MTA_EXIM_ADDR" "$EXIM_P587"
	wait_for "Exim $MTA_EXIM_ADDR:$EXIM_P465 (TLS)" 15 mtas_tls_greets "$MTA_EXIM_ADDR" "$EXIM_P465" "$MTA_CA"
	wait_for "Dovecot $MTA_DOVECOT_ADDR:$DOVECOT_P587" 15 mtas_greets "$MTA_DOVECOT_ADDR" "$DOVECOT_P587"
	wait_for "Dovecot $MTA_DOVECOT_ADDR:$DOVECOT_P465 (TLS)" 15 mtas_tls_greets "$MTA_DOVECOT_ADDR" "$DOVECOT_P465" "$MTA_CA"
	log "Exim up at $MTA_EXIM_ADDR ports $EXIM_P25/$EXIM_P587/$EXIM_P465 (pid $MTA_EXIM_PID)," \
		"Dovecot submission at $MTA_DOVECOT_ADDR ports $DOVECOT_P587/$DOVECOT_P465 (pid $MTA_DOVECOT_PID)"
}

# From the EXIT trap: each server by the PID started here. Dovecot's master
# stops its children; Exim's per-connection processes end with their sessions.
mtas_stop() {
	stop_pid "$MTA_DOVECOT_PID"
	stop_pid "$MTA_EXIM_PID"
}

mtas_env() {
	export E2E_EXIM_HOST="$MTA_EXIM_ADDR" E2E_EXIM_SMTP="$MTA_EXIM_ADDR:$EXIM_P25" \
		E2E_EXIM_SUBMISSION="$MTA_EXIM_ADDR:$EXIM_P587" E2E_EXIM_SMTPS="$MTA_EXIM_ADDR:$EXIM_P465" \
		E2E_EXIM_LOG="$MTA_DIR/exim/log/mainlog" \
		E2E_DOVECOT_HOST="$MTA_DOVECOT_ADDR" E2E_DOVECOT_SUBMISSION="$MTA_DOVECOT_ADDR:$DOVECOT_P587" \
		E2E_DOVECOT_SMTPS="$MTA_DOVECOT_ADDR:$DOVECOT_P465" E2E_DOVECOT_LOG="$MTA_DIR/dovecot/dovecot.log"
}

# --------------------------------------------------------- exporter config ---

# One module: NAME PROBER TIMEOUT [lines under smtp:...]; TLS for every
# prober but tcp, against MTA_MODULE_CA (default: the CA of mtas_setup; empty:
# the system roots, which do not know it).
mtas_module() {
	local name=$1 prober=$2 timeout=$3 ca=${MTA_MODULE_CA-$MTA_CA} l
	shift 3
	printf '  %s:\n    prober: %s\n    timeout: %s\n    smtp:\n      ehlo: probe.e2e.test\n' "$name" "$prober" "$timeout"
	for l in "$@"; do printf '      %s\n' "$l"; done
	[[ "$prober" != tcp ]] || return 0
	printf '    tls_config:\n'
	[[ -z "$ca" ]] || printf '      ca_file: %s\n' "$ca"
	printf '      server_name: mail.e2e.test\n'
}

# The modules the Exim and Dovecot tests use (YAML under `modules:`).
mtas_exporter_modules() { # USER PASSWORD_FILE WRONG_PASSWORD_FILE
	local user=$1 auth=(auth: "  username: $1" "  password_file: $2")
	local enforce=("check_auth_enforced: true" "mail_from: probe@e2e.test" "rcpt_to: probe@example.invalid")
	mtas_module mta_tcp tcp 5s
	mtas_module mta_starttls starttls 5s
	mtas_module mta_tls tls 5s
	mtas_module mta_starttls_no_auth_before_tls starttls 5s "fail_if_auth_before_tls: true"
	MTA_MODULE_CA="" mtas_module mta_starttls_untrusted starttls 5s
	MTA_MODULE_CA="" mtas_module mta_tls_untrusted tls 5s
	mtas_module mta_submission submission 5s
	mtas_module mta_submission_auth submission 5s "${auth[@]}"
	mtas_module mta_starttls_auth starttls 5s "${auth[@]}"
	mtas_module mta_starttls_auth_plain starttls 5s "${auth[@]}" "  mechanism: PLAIN"
	mtas_module mta_starttls_auth_login starttls 5s "${auth[@]}" "  mechanism: LOGIN"
	mtas_module mta_tls_auth tls 5s "${auth[@]}"
	mtas_module mta_starttls_auth_wrong starttls 5s auth: "  username: $user" "  password_file: $3"
	mtas_module mta_starttls_enforced starttls 5s "${enforce[@]}"
	mtas_module mta_tls_enforced tls 5s "${enforce[@]}"
	mtas_module mta_starttls_enforced_auth starttls 5s "${enforce[@]}" "${auth[@]}"
	# Long enough to outlast Dovecot's auth penalty after a failed AUTH.
	mtas_module mta_starttls_auth_patient starttls 20s "${auth[@]}"
}

# ------------------------------------------------------------- standalone ---

mtas_standalone_helpers() {
	log() { printf 'mtas: %s\n' "$*" >&2; }
	die() { printf 'mtas: FATAL: %s\n' "$*" >&2; exit 1; }
	skip_or_die() { die "$@"; }
	wait_for() { # DESCRIPTION SECONDS CMD...
		local what=$1 deadline=$(($(date +%s) + $2)) i
		shift 2
		for ((i = 0; i < 300; i++)); do
			"$@" >/dev/null 2>&1 && return 0
			(($(date +%s) < deadline)) || break
			sleep 0.1
		done
		die "timed out waiting for $what"
	}
	stop_pid() {
		local pid=$1 i
		[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null || true
	}
}

# A CA and a leaf for mail.e2e.test like run.sh's, for the tests' certificate checks.
mtas_standalone_pki() { # DIR
	local o=$1
	mkdir -p "$o"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 30 \
		-keyout "$o/ca.key" -out "$o/ca.pem" -subj "/O=smtp_exporter e2e/CN=smtp_exporter e2e test CA" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
		-keyout "$o/server.key" -out "$o/server.csr" -subj "/O=smtp_exporter e2e/CN=mail.e2e.test" 2>/dev/null
	printf 'extendedKeyUsage=serverAuth\nsubjectAltName=DNS:mail.e2e.test\n' >"$o/server.ext"
	openssl x509 -req -in "$o/server.csr" -CA "$o/ca.pem" -CAkey "$o/ca.key" -set_serial 0x1e2e13 \
		-days 20 -sha256 -extfile "$o/server.ext" -out "$o/server.pem" 2>/dev/null
	chmod 600 "$o"/*.key
	E2E_CERT_NOT_AFTER=$(date -u -d "$(openssl x509 -noout -enddate -in "$o/server.pem" | cut -d= -f2)" +%s)
	E2E_CERT_FINGERPRINT=$(openssl x509 -noout -fingerprint -sha256 -in "$o/server.pem" | cut -d= -f2 | tr -d ':' | tr 'A-F' 'a-f')
	export E2E_CA_FILE="$o/ca.pem" E2E_CERT_SERIAL=1e2e13 E2E_CERT_NOT_AFTER E2E_CERT_FINGERPRINT
}

MTA_SA_DIR=""
MTA_SA_EXPORTER_PID=""

mtas_standalone_cleanup() {
	local rc=$?
	set +e
	mtas_stop
	stop_pid "$MTA_SA_EXPORTER_PID"
	if ((rc)) && [[ -s "$MTA_SA_DIR/exporter.log" ]]; then
		echo "----- last lines of $MTA_SA_DIR/exporter.log -----" >&2
		tail -n 20 "$MTA_SA_DIR/exporter.log" >&2
	fi
	if [[ "${E2E_KEEP_TMP:-0}" == 1 ]]; then echo "kept $MTA_SA_DIR" >&2; else rm -rf "$MTA_SA_DIR"; fi
	exit "$rc"
}

mtas_standalone() {
	set -euo pipefail
	export PATH="$PATH:/usr/sbin:/sbin:/usr/local/go/bin"
	mtas_standalone_helpers
	[[ $(id -u) -eq 0 ]] || die "must run as root (installs packages, starts mail servers)"
	local repo t port
	repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
	t=$(mktemp -d /tmp/smtp_exporter-mtas.XXXXXX)
	MTA_SA_DIR=$t
	chmod 755 "$t"
	trap mtas_standalone_cleanup EXIT
	mtas_install
	mtas_standalone_pki "$t/pki"
	printf '%s' "e2e-$(openssl rand -hex 12)" >"$t/password"
	printf '%s' "wrong-$(openssl rand -hex 8)" >"$t/password.wrong"
	chmod 600 "$t/password" "$t/password.wrong"
	mtas_setup "$t" "$t/pki" probe@e2e.test "$t/password"
	{ echo "modules:"; mtas_exporter_modules probe@e2e.test "$t/password" "$t/password.wrong"; } >"$t/exporter.yml"
	(cd "$repo" && go build -o "$t/smtp_exporter" .) || die "go build failed"
	"$t/smtp_exporter" --config.check --config.file="$t/exporter.yml" >/dev/null ||
		die "the exporter rejected $t/exporter.yml"
	mtas_port 127.0.0.1 0 && port=$MTA_PORT
	"$t/smtp_exporter" --config.file="$t/exporter.yml" --web.listen-address="127.0.0.1:$port" --log.level=debug \
		>"$t/exporter.log" 2>&1 &
	MTA_SA_EXPORTER_PID=$!
	wait_for "exporter /-/ready" 15 curl -fsS -m 2 "http://127.0.0.1:$port/-/ready"
	mtas_env
	export E2E_EXPORTER="127.0.0.1:$port"
	cd "$repo"
	go test -tags e2e -count=1 -timeout 5m -run 'TestExim|TestDovecot' -v "$@" ./e2e/
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	case "${1:-}" in
	standalone)
		shift
		mtas_standalone "$@"
		;;
	*)
		echo "usage: bash e2e/mtas.sh standalone [go test args]   (or source it from run.sh)" >&2
		exit 2
		;;
	esac
fi
